/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa run`: the pieces the pipeline command shares between its files:
 * options (cmd_run.c), the figures it measures (run_measure.c) and the
 * files it reports them in (run_report.c). Public API only. */
#ifndef TPA_RUN_H
#define TPA_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "train_opts.h"

typedef enum run_mode { RUN_TPA = 0, RUN_LORA = 1, RUN_FULL = 2 } run_mode;

/* Everything `tpa run` was asked to do. */
typedef struct run_opts {
  tpa_task task;
  run_mode mode;
  bool dense, use_default;
  size_t samples;      /* importance examples (0 = library default, 2000) */
  int32_t prune_heads; /* -1 = the paper's share */
  bool use_threshold;
  double threshold;
  double ffn_keep;   /* share of each layer's neurons kept; 0 = no neuron pruning */
  double ffn_global; /* share of all neurons kept, ranked together; 0 = off */
  bool int8;         /* also export and measure an int8 copy (OUT/model-int8) */
  int32_t top_k, r_high, r_low;
  bool task_set;
  train_opts t; /* the options shared with `tpa train` (out: tpa-run-out) */
  /* Set once the data is loaded: */
  int32_t num_labels;    /* outputs the data needs (the task's, or the table's) */
  const char *held_note; /* the dev set was held out of train (report.md says so) */
} run_opts;

/* Inference of one model over the dev set, measured in this run. */
typedef struct run_infer {
  bool measured;
  double seq_per_s; /* in-process tpa_model_predict, warm passes */
  double rss_mb;    /* peak RSS of a separate `tpa eval` process */
  double metric;    /* dev `main` metric of its predictions */
  uint64_t params;  /* tpa_model_param_counts total */
  int32_t heads;    /* heads kept over all layers */
} run_infer;

/* The numbers of a run, for metrics.json and report.md. */
typedef struct run_figures {
  const run_opts *o;
  const char *dev_path; /* NULL without a dev file */
  size_t train_examples, dev_examples;
  int32_t layers, heads_per_layer, heads_pruned;
  int32_t ffn_width;   /* intermediate size before pruning */
  int32_t *ffn_widths; /* [layers] neurons each layer keeps (owned) */
  int32_t *ranks;      /* layers * TPA_LORA_MODULES, NULL in full mode */
  int32_t *ffn_ranks;  /* layers * 2 (intermediate, output), NULL without FFN LoRA */
  tpa_param_counts before, after;
  uint64_t trainable;
  tpa_train_result train; /* per-run and per-call figures (tpa/train.h) */
  double *epoch_seconds;  /* per epoch (this call and resumed ones) */
  double *epoch_metric;   /* dev main per epoch, NaN without dev */
  int32_t n_epochs;
  double train_peak_rss_mb;
  /* The run's importance time: this process's, or with a reused
   * importance.json the time timings.json recorded (NaN if it has none);
   * and this process's wall time. */
  double importance_seconds, wall_seconds;
  bool importance_reused, plan_reused;
  run_infer orig, final;
  /* --int8: the quantized export beside the f32 one, and how far its
   * predictions on dev are from the f32 export's. */
  run_infer int8;
  double int8_same_class;         /* share of dev rows predicted alike */
  double int8_max_logit_diff;     /* largest |logit difference| on dev */
  uint64_t f32_bytes, int8_bytes; /* model.safetensors of each export */
} run_figures;

/* Where the shipped default model and task live: $TPA_DEFAULT_DIR, else
 * the installed data directory, else the source tree this program was
 * built from. Returns a new string (free()) or NULL with a message. */
char *run_default_dir(void);

/* The name of the metric `main` stands for: the task's GLUE figure, or a
 * table's --metric (accuracy; Pearson for regression). */
const char *run_metric_name(const run_opts *o);

/* Write the dev set as OUT/dev.jsonl for the inference child of a table
 * run: {"text", "text_pair", "label": class id or value} per line. */
bool run_write_dev(const char *path, const tpa_dataset *dev);

/* Time tpa_model_predict over @p dev with @p orig, @p final (the
 * exported model, reloaded) and @p int8 (its int8 copy, or NULL) side by
 * side, and fill their metrics (and the int8 copy's agreement). */
bool run_measure_speed(const run_opts *o, const tpa_model *orig, const tpa_model *final,
                       const tpa_model *int8, const tpa_dataset *dev, run_figures *f);

/* Peak RSS of a separate `tpa eval` process on @p model_dir, and the
 * metric it prints. False (with a message) if it could not be run. */
bool run_measure_child(const run_opts *o, const char *model_dir, const char *dev_path,
                       run_infer *inf);

/* The hidden `tpa run --measure-inference ...` child of run_measure_child. */
int run_child_main(int argc, char **argv);

/* OUT/timings.json, {"importance_seconds": X}: how long importance.json
 * took, for a --resume that reuses it to report. Written atomically after
 * importance.json (and removed before it is recomputed), so a file
 * present always describes the importance.json beside it. */
bool run_write_timings(const char *path, double importance_seconds);
/* Its importance_seconds, or NaN when the file is missing or invalid. */
double run_read_timings(const char *path);

/* The whole run's wall time: this process's, plus what earlier processes
 * did that this one reused (training up to the checkpoint, importance);
 * NaN when any of that is unknown. */
double run_wall_seconds(const run_figures *f);

/* OUT/metrics.json and OUT/report.md, each written atomically. */
bool run_write_metrics(const char *path, const run_figures *f);
bool run_write_report(const char *path, const run_figures *f);

#endif /* TPA_RUN_H */
