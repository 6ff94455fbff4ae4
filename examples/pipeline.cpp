// SPDX-License-Identifier: Apache-2.0
// The TPA pipeline from C++, through the public C API only: handles owned
// by std::unique_ptr with the library's destructors, failures turned into
// exceptions carrying tpa_last_error().
//
//   c++ -std=c++17 pipeline.cpp $(pkg-config --cflags --libs libtpa) -o pipeline-cxx
//   ./pipeline-cxx MODEL_DIR TASK_DIR OUT_DIR
//
// TASK_DIR holds SST-2-format train.tsv and dev.tsv (the shipped default
// task: share/default/task, DATADIR/libtpa/default/task once installed).
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <tpa/tpa.h>

namespace {

// Throw with the library's message when a call fails.
void check(tpa_status st, const char *what) {
  if (st != TPA_OK)
    throw std::runtime_error(std::string(what) + ": " + tpa_last_error() + " (" +
                             tpa_status_str(st) + ")");
}

template <typename T, void (*Free)(T *)> struct deleter {
  void operator()(T *p) const { Free(p); }
};
using model_ptr = std::unique_ptr<tpa_model, deleter<tpa_model, tpa_model_free>>;
using dataset_ptr = std::unique_ptr<tpa_dataset, deleter<tpa_dataset, tpa_dataset_free>>;
using importance_ptr =
    std::unique_ptr<tpa_importance, deleter<tpa_importance, tpa_importance_free>>;
using plan_ptr = std::unique_ptr<tpa_prune_plan, deleter<tpa_prune_plan, tpa_prune_plan_free>>;
using lora_ptr = std::unique_ptr<tpa_lora_set, deleter<tpa_lora_set, tpa_lora_set_free>>;

dataset_ptr load_sst2(const std::string &path) {
  tpa_dataset *ds = nullptr;
  check(tpa_dataset_load(&ds, TPA_TASK_SST2, path.c_str(), nullptr), "load data");
  return dataset_ptr(ds);
}

// Dev accuracy of @p model (optionally with an unmerged adapter).
double dev_metric(const tpa_model *model, const tpa_dataset *dev, const tpa_lora_set *adapter) {
  const size_t n = tpa_dataset_size(dev);
  std::vector<float> logits(n * 2), labels(n);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.adapter = adapter;
  check(tpa_model_predict(model, dev, &pp, logits.data(), logits.size()), "predict");
  for (size_t i = 0; i < n; i++)
    labels[i] = tpa_dataset_label(dev, i);
  tpa_metrics m{};
  m.size = sizeof m;
  check(tpa_metrics_compute(TPA_TASK_SST2, logits.data(), labels.data(), n, &m), "metrics");
  return m.main;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL_DIR TASK_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string task_dir = argv[2], out = argv[3];
  try {
    tpa_model *raw = nullptr;
    check(tpa_model_load(&raw, argv[1], nullptr), "load model");
    model_ptr model(raw);
    dataset_ptr train = load_sst2(task_dir + "/train.tsv");
    dataset_ptr dev = load_sst2(task_dir + "/dev.tsv");
    tpa_model_config cfg{};
    cfg.size = sizeof cfg;
    check(tpa_model_get_config(model.get(), &cfg), "config");

    // Importance, plan, structural pruning.
    tpa_importance *imp_raw = nullptr;
    check(tpa_importance_compute(&imp_raw, model.get(), train.get(), nullptr), "importance");
    importance_ptr imp(imp_raw);
    tpa_prune_plan *plan_raw = nullptr;
    check(tpa_prune_plan_create(&plan_raw, imp.get(), nullptr), "plan");
    plan_ptr plan(plan_raw);
    check(tpa_model_prune(model.get(), plan.get()), "prune");

    // Rank schedule and LoRA set sized to the pruned projections.
    std::vector<int32_t> ranks(static_cast<size_t>(cfg.num_layers) * TPA_LORA_MODULES);
    check(tpa_rank_schedule(imp.get(), nullptr, ranks.data(), ranks.size()), "rank schedule");
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.ranks = ranks.data();
    tpa_lora_set *set_raw = nullptr;
    check(tpa_lora_set_create(&set_raw, model.get(), &lp), "lora set");
    lora_ptr set(set_raw);

    // Train (settings for the small default task), then merge and export.
    tpa_train_params tp;
    tpa_train_params_init(&tp, sizeof tp);
    tp.epochs = 6;
    tp.learning_rate = 3e-3;
    tp.batch_size = 16;
    tp.hidden_dropout = tp.attention_dropout = 0;
    check(tpa_train_lora(model.get(), set.get(), train.get(), dev.get(), &tp, nullptr), "train");
    const double with_adapter = dev_metric(model.get(), dev.get(), set.get());
    check(tpa_lora_set_merge(set.get(), model.get()), "merge");
    const double merged = dev_metric(model.get(), dev.get(), nullptr);
    check(tpa_model_save(model.get(), (out + "-model").c_str()), "export");
    std::printf(
        "pruned %d heads; dev accuracy %.4f with the adapter, %.4f merged; wrote %s-model\n",
        static_cast<int>(tpa_prune_plan_num_pruned(plan.get())), with_adapter, merged, out.c_str());
    // Merging changes the float rounding only: at most a few borderline
    // examples may flip.
    return std::fabs(merged - with_adapter) < 0.01 ? 0 : 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "pipeline-cxx: %s\n", e.what());
    return 1;
  }
}
