/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-dataset inference: tokenize every example, sort by length, run
 * batches padded only to their own longest row, and put the logits back in
 * dataset order. One work area, sized for the first (longest) batch, serves
 * every batch, so no memory is allocated inside the loop. With an adapter
 * the batches run through the gradient engine's LoRA forward (unmerged
 * weights) instead of the packed inference kernels. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/params.h"
#include "model/encode.h"
#include "model/forward.h"
#include "model/grad.h"
#include "model/lora_layout.h"
#include "tpa/data.h"
#include "tpa/infer.h"
#include "tpa/tokenizer.h"

static const tpa_predict_params predict_defaults = {
    .size = sizeof(tpa_predict_params),
    .max_seq_length = 0, /* 0: min(128, max_position_embeddings) */
    .batch_size = 32,
    .progress = NULL,
    .user = NULL,
    .adapter = NULL,
};

void tpa_predict_params_init(tpa_predict_params *p, size_t size) {
  tpa__params_init(p, size, &predict_defaults, sizeof predict_defaults);
}

/* Batches are padded up to a multiple of this (never past the longest
 * allowed length): masked padding changes no logit, and rounded lengths
 * give the kernels aligned shapes and the primitive cache fewer of them. */
#define PAD_MULTIPLE 8

static int32_t padded_length(int32_t longest, int32_t limit) {
  int32_t s = (longest + PAD_MULTIPLE - 1) / PAD_MULTIPLE * PAD_MULTIPLE;
  return s > limit ? (longest > limit ? longest : limit) : s;
}

/* The kernels one prediction runs on: the packed inference path, or the
 * gradient engine's forward with an unmerged adapter. */
typedef struct runner {
  const tpa_lora_set *adapter;
  tpa__infer_work infer;
  tpa__grad_work *grad;
  tpa__weights w; /* the model's weights with the adapter's copies swapped in */
  tpa__layer *layers;
} runner;

static tpa_status runner_init(runner *r, const tpa_model *m, const tpa_lora_set *adapter,
                              size_t max_batch, int32_t max_seq) {
  memset(r, 0, sizeof *r);
  r->adapter = adapter;
  if (!adapter)
    return tpa__infer_work_init(&r->infer, m, max_batch, max_seq);
  tpa_status s = tpa__lora_set_check(adapter, m);
  if (s == TPA_OK)
    s = tpa__lora_effective_weights(adapter, m, &r->w, &r->layers);
  if (s == TPA_OK)
    s = tpa__grad_work_create(&r->grad, m, (int32_t)max_batch, max_seq);
  return s;
}

static void runner_free(runner *r) {
  if (r->adapter) {
    tpa__grad_work_free(r->grad);
    free(r->layers);
  } else {
    tpa__infer_work_free(&r->infer);
  }
  memset(r, 0, sizeof *r);
}

static tpa_status runner_run(runner *r, const tpa_model *m, const int32_t *ids,
                             const int32_t *types, const int32_t *mask, int32_t rows, int32_t seq,
                             float *out) {
  if (!r->adapter)
    return tpa__forward_batch(m, &r->infer, ids, types, mask, rows, seq, out);
  const tpa__batch b = {.batch = rows, .seq = seq, .ids = ids, .type_ids = types, .mask = mask};
  return tpa__forward_lora(r->grad, m, &r->w, r->adapter, &b, out);
}

tpa_status tpa_model_predict(const tpa_model *model, const tpa_dataset *ds,
                             const tpa_predict_params *params, float *logits, size_t cap) {
  return tpa__predict_observe(model, ds, params, logits, cap, NULL, 0);
}

tpa_status tpa__predict_observe(const tpa_model *model, const tpa_dataset *ds,
                                const tpa_predict_params *params, float *logits, size_t cap,
                                float *observe, size_t limit) {
  tpa__error_clear();
  if (!model || !ds || !logits)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_predict: NULL %s",
                      !model ? "model"
                      : !ds  ? "dataset"
                             : "logits");
  tpa_predict_params p;
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_predict_params, adapter), params,
                       &predict_defaults, "tpa_model_predict", "tpa_predict_params");
  if (ps != TPA_OK)
    return ps;
  const tpa__config *c = &model->cfg;
  if (!model->infer || !model->tok)
    return tpa__error(TPA_ERR_INTERNAL, "tpa_model_predict: model is incomplete");
  if (p.batch_size <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_predict: batch_size %d must be > 0",
                      p.batch_size);
  int32_t max_len = 0;
  tpa_status s = tpa__resolve_max_seq(model, p.max_seq_length, "tpa_model_predict", &max_len);
  if (s == TPA_OK)
    s = tpa__check_task(model, ds, "tpa_model_predict");
  if (s != TPA_OK)
    return s;
  const size_t nl = (size_t)c->num_labels;
  const size_t n = limit && limit < tpa_dataset_size(ds) ? limit : tpa_dataset_size(ds);
  size_t need;
  if (!tpa__mul_size(n, nl, &need) || cap < need)
    return tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                      "tpa_model_predict: logits holds %zu floats, %zu examples need %zu", cap, n,
                      n * nl);
  if (n == 0)
    return TPA_OK;

  tpa__encoded e;
  s = tpa__encode_dataset(model, ds, n, max_len, false, "predict", &e);
  if (s != TPA_OK)
    return s;
  size_t *order = tpa__malloc_array(n, sizeof *order);
  void *scratch = malloc(tpa__encoded_sort_scratch(n));
  if (!order || !scratch)
    s = TPA__NO_MEMORY("predict order");
  else
    tpa__encoded_by_length(&e, order, scratch);
  free(scratch);
  const size_t bs = (size_t)p.batch_size < n ? (size_t)p.batch_size : n;
  /* The first batch holds the longest rows: it sizes the work area. */
  const int32_t max_seq = s == TPA_OK ? padded_length(e.len[order[0]], c->max_seq) : 0;
  runner run;
  memset(&run, 0, sizeof run);
  int32_t *ids = NULL, *types = NULL, *mask = NULL;
  float *out = NULL;
  if (s == TPA_OK)
    s = runner_init(&run, model, p.adapter, bs, max_seq);
  if (s == TPA_OK && observe)
    run.infer.observe = observe;
  if (s == TPA_OK) {
    ids = tpa__malloc_array(bs * (size_t)max_seq, sizeof *ids);
    types = tpa__malloc_array(bs * (size_t)max_seq, sizeof *types);
    mask = tpa__malloc_array(bs * (size_t)max_seq, sizeof *mask);
    out = tpa__malloc_array(bs * nl, sizeof *out);
    if (!ids || !types || !mask || !out)
      s = TPA__NO_MEMORY("predict batch");
  }
  for (size_t b0 = 0; s == TPA_OK && b0 < n; b0 += bs) {
    const size_t rows = b0 + bs <= n ? bs : n - b0;
    const int32_t seq = padded_length(e.len[order[b0]], c->max_seq);
    tpa__encoded_fill(&e, order + b0, rows, seq, ids, types, mask, NULL);
    s = runner_run(&run, model, ids, types, mask, (int32_t)rows, seq, out);
    for (size_t r = 0; s == TPA_OK && r < rows; r++)
      memcpy(logits + order[b0 + r] * nl, out + r * nl, nl * sizeof *out);
    if (s == TPA_OK)
      s = tpa__progress(p.progress, p.user, "predict", b0 + rows, n);
  }
  free(ids);
  free(types);
  free(mask);
  free(out);
  free(order);
  runner_free(&run);
  tpa__encoded_free(&e);
  return s;
}
