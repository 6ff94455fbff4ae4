/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa run`: OUT/metrics.json (every number, for scripts such as
 * tools/reproduce.sh) and OUT/report.md (the paper's tables 2-4 for this
 * run, for people), and OUT/timings.json, which carries what a resumed
 * run reuses but cannot measure again. All are written atomically. Both
 * reports describe the whole run, whatever number of processes --resume
 * spread it over, and give this process's share beside it. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static const char *mode_name(run_mode m) {
  return m == RUN_TPA ? "tpa" : m == RUN_LORA ? "lora" : "full";
}

static json_t *jnum(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jint(uint64_t v) {
  return json_integer((json_int_t)v);
}

static double mean_epoch_seconds(const run_figures *f) {
  double sum = 0;
  int n = 0;
  for (int32_t i = 0; i < f->n_epochs; i++)
    if (isfinite(f->epoch_seconds[i])) {
      sum += f->epoch_seconds[i];
      n++;
    }
  return n > 0 ? sum / n : NAN;
}

static double tokens_per_s(const run_figures *f) {
  return f->train.run_seconds > 0 ? (double)f->train.run_tokens / f->train.run_seconds : NAN;
}

/* Did this process compute importance (tpa mode, importance.json not reused)? */
static bool importance_here(const run_figures *f) {
  return f->o->mode == RUN_TPA && !f->importance_reused;
}

double run_wall_seconds(const run_figures *f) {
  const double earlier_training = f->train.run_seconds - f->train.seconds;
  const double earlier_importance =
      f->o->mode == RUN_TPA && f->importance_reused ? f->importance_seconds : 0.0;
  return f->wall_seconds + earlier_training + earlier_importance;
}

static double speed_ratio(const run_figures *f) {
  return f->orig.seq_per_s > 0 && f->final.measured ? f->final.seq_per_s / f->orig.seq_per_s : NAN;
}

static json_t *infer_json(const run_infer *inf) {
  json_t *o = json_object();
  json_object_set_new(o, "params", jint(inf->params));
  json_object_set_new(o, "heads", json_integer(inf->heads));
  json_object_set_new(o, "sequences_per_second",
                      inf->measured ? jnum(inf->seq_per_s) : json_null());
  json_object_set_new(o, "peak_rss_mb", inf->rss_mb > 0 ? jnum(inf->rss_mb) : json_null());
  json_object_set_new(o, "dev_metric", inf->measured ? jnum(inf->metric) : json_null());
  return o;
}

static json_t *counts_json(const tpa_param_counts *c) {
  json_t *o = json_object();
  json_object_set_new(o, "total", jint(c->total));
  json_object_set_new(o, "embeddings", jint(c->embeddings));
  json_object_set_new(o, "encoder", jint(c->encoder));
  json_object_set_new(o, "pooler", jint(c->pooler));
  json_object_set_new(o, "classifier", jint(c->classifier));
  return o;
}

static bool save_text(const char *path, const char *text) {
  cli_output out;
  if (!cli_output_open(&out, path))
    return false;
  fputs(text, out.fp);
  return cli_output_commit(&out);
}

bool run_write_timings(const char *path, double importance_seconds) {
  json_t *root = json_pack("{s:f}", "importance_seconds", importance_seconds);
  if (root == NULL)
    return cli_fail("out of memory (%s)", path), false;
  bool ok = cli_write_json(path, root);
  json_decref(root);
  return ok;
}

double run_read_timings(const char *path) {
  json_t *root = json_load_file(path, 0, NULL);
  const json_t *v = json_object_get(root, "importance_seconds");
  const double s = json_is_number(v) && json_number_value(v) >= 0 ? json_number_value(v) : NAN;
  json_decref(root);
  return s;
}

bool run_write_metrics(const char *path, const run_figures *f) {
  const run_opts *o = f->o;
  json_t *root = json_object();
  if (root == NULL)
    return cli_fail("out of memory (metrics.json)"), false;
  json_object_set_new(root, "task",
                      tpa_task_name(o->task) ? json_string(tpa_task_name(o->task)) : json_null());
  json_object_set_new(root, "metric", json_string(run_metric_name(o)));
  json_object_set_new(root, "num_labels", json_integer(o->num_labels));
  if (o->held_note)
    json_object_set_new(root, "dev_split", json_string(o->held_note));
  json_object_set_new(root, "mode", json_string(mode_name(o->mode)));
  json_object_set_new(root, "model", json_string(o->t.model));
  json_object_set_new(root, "data", json_string(o->t.data ? o->t.data : o->t.table.train));
  json_object_set_new(root, "default", json_boolean(o->use_default));
  json_object_set_new(root, "train_examples", jint(f->train_examples));
  json_object_set_new(root, "dev_examples", jint(f->dev_examples));
  json_object_set_new(root, "layers", json_integer(f->layers));
  json_object_set_new(root, "heads_per_layer", json_integer(f->heads_per_layer));
  json_object_set_new(root, "heads_pruned", json_integer(f->heads_pruned));
  json_object_set_new(root, "intermediate_size", json_integer(f->ffn_width));
  json_t *widths = json_array();
  for (int32_t l = 0; widths && l < f->layers; l++)
    json_array_append_new(widths, json_integer(f->ffn_widths[l]));
  json_object_set_new(root, "intermediate_kept", widths);
  json_object_set_new(root, "importance_seconds",
                      o->mode == RUN_TPA ? jnum(f->importance_seconds) : json_null());
  json_object_set_new(root, "importance_reused", json_boolean(f->importance_reused));
  json_object_set_new(root, "plan_reused", json_boolean(f->plan_reused));
  if (f->ranks != NULL) {
    json_t *r = json_array();
    for (int32_t l = 0; l < f->layers; l++) {
      json_t *row = json_array();
      for (int m = 0; m < TPA_LORA_MODULES; m++)
        json_array_append_new(row, json_integer(f->ranks[l * TPA_LORA_MODULES + m]));
      json_array_append_new(r, row);
    }
    json_object_set_new(root, "ranks", r);
  } else {
    json_object_set_new(root, "ranks", json_null());
  }
  if (f->ffn_ranks != NULL) { /* [intermediate, output] per block */
    json_t *r = json_array();
    for (int32_t l = 0; l < f->layers; l++)
      json_array_append_new(
          r, json_pack("[ii]", (int)f->ffn_ranks[2 * l], (int)f->ffn_ranks[2 * l + 1]));
    json_object_set_new(root, "ffn_ranks", r);
  }
  json_object_set_new(root, "params_before", counts_json(&f->before));
  json_object_set_new(root, "params_after", counts_json(&f->after));
  json_object_set_new(root, "trainable_params", jint(f->trainable));
  json_object_set_new(root, "trainable_share",
                      f->after.total > 0 ? jnum((double)f->trainable / (double)f->after.total)
                                         : json_null());
  json_t *epochs = json_array();
  for (int32_t i = 0; i < f->n_epochs; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "epoch", json_integer(i + 1));
    json_object_set_new(e, "seconds", jnum(f->epoch_seconds[i]));
    json_object_set_new(e, "dev_metric", jnum(f->epoch_metric[i]));
    json_array_append_new(epochs, e);
  }
  json_object_set_new(root, "epochs", epochs);
  json_object_set_new(root, "best_epoch", json_integer(f->train.best_epoch));
  json_object_set_new(root, "best_metric",
                      f->train.best_epoch > 0 ? jnum(f->train.best_metric) : json_null());
  json_object_set_new(root, "dev_metric", f->final.measured ? jnum(f->final.metric) : json_null());
  json_object_set_new(root, "steps", json_integer((json_int_t)f->train.steps));
  json_object_set_new(root, "final_train_loss", jnum(f->train.final_train_loss));
  json_object_set_new(root, "train_seconds", jnum(f->train.run_seconds));
  json_object_set_new(root, "epoch_seconds_mean", jnum(mean_epoch_seconds(f)));
  json_object_set_new(root, "train_examples_processed", jint(f->train.run_examples));
  json_object_set_new(root, "train_tokens", jint(f->train.run_tokens));
  json_object_set_new(root, "train_tokens_per_second", jnum(tokens_per_s(f)));
  json_object_set_new(root, "train_peak_rss_mb", jnum(f->train_peak_rss_mb));
  json_object_set_new(root, "inference_original", infer_json(&f->orig));
  json_object_set_new(root, "inference_final", infer_json(&f->final));
  json_object_set_new(root, "speedup", jnum(speed_ratio(f)));
  if (f->o->int8) {
    /* The int8 copy beside the f32 export it was made from. */
    json_t *q = infer_json(&f->int8);
    json_object_set_new(q, "dev_metric_f32",
                        f->final.measured ? jnum(f->final.metric) : json_null());
    json_object_set_new(q, "same_class_share",
                        f->int8.measured ? jnum(f->int8_same_class) : json_null());
    json_object_set_new(q, "max_logit_difference",
                        f->int8.measured ? jnum(f->int8_max_logit_diff) : json_null());
    json_object_set_new(q, "speedup_vs_f32_export",
                        f->int8.measured && f->final.seq_per_s > 0
                            ? jnum(f->int8.seq_per_s / f->final.seq_per_s)
                            : json_null());
    json_object_set_new(q, "safetensors_bytes", jint(f->int8_bytes));
    json_object_set_new(q, "safetensors_bytes_f32", jint(f->f32_bytes));
    json_object_set_new(root, "inference_int8", q);
  }
  json_object_set_new(root, "wall_seconds", jnum(run_wall_seconds(f)));
  json_t *here = json_object();
  if (here) {
    json_object_set_new(here, "resumed_from_step", json_integer((json_int_t)f->train.resumed_step));
    json_object_set_new(here, "importance_seconds",
                        importance_here(f) ? jnum(f->importance_seconds) : json_null());
    json_object_set_new(here, "train_examples_processed", jint(f->train.examples));
    json_object_set_new(here, "train_tokens", jint(f->train.tokens));
    json_object_set_new(here, "train_seconds", jnum(f->train.seconds));
    json_object_set_new(here, "wall_seconds", jnum(f->wall_seconds));
  }
  json_object_set_new(root, "this_process", here ? here : json_null());
  bool ok = cli_write_json(path, root);
  json_decref(root);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* report.md                                                                */

/* A growing string for the report. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool failed;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
  if (b->failed)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = true;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = (b->cap ? b->cap : 1024) * 2 + (size_t)n;
    char *q = realloc(b->p, cap);
    if (q == NULL) {
      b->failed = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
}

/* 109483778 -> "109,483,778" */
static const char *grouped(uint64_t v, char *buf, size_t cap) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  size_t k = 0;
  for (int i = 0; i < n && k + 2 < cap; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[k++] = ',';
    buf[k++] = digits[i];
  }
  buf[k] = '\0';
  return buf;
}

static void put_num(sbuf *b, const char *fmt, double v) {
  if (isfinite(v))
    put(b, fmt, v);
  else
    put(b, "-");
}

bool run_write_report(const char *path, const run_figures *f) {
  const run_opts *o = f->o;
  sbuf b = {0};
  char g1[40], g2[40];
  const char *data = o->t.data ? o->t.data : o->t.table.train;
  put(&b, "# tpa run: %s, mode %s\n\n", tpa_task_name(o->task) ? tpa_task_name(o->task) : data,
      mode_name(o->mode));
  put(&b, "Model `%s`%s, data `%s` (%zu training, %zu dev examples).\n\n", o->t.model,
      o->use_default ? " (the shipped default)" : "", data, f->train_examples, f->dev_examples);
  if (o->held_note)
    put(&b,
        "The data has no dev file: the dev set is a seeded (seed %llu), stratified %g%% "
        "share of the training file, held out before training (`dev.jsonl`).\n\n",
        (unsigned long long)o->t.table.seed,
        100.0 * (o->t.table.dev_split < 0 ? 0.1 : o->t.table.dev_split));
  if (o->mode == RUN_TPA) {
    put(&b,
        "Pruned %d of %d heads (`plan.json`; importance in `importance.json`%s, drawn in "
        "`importance.svg` and `importance.png`, the pruned heads outlined in red).\n",
        (int)f->heads_pruned, (int)(f->layers * f->heads_per_layer),
        f->importance_reused ? ", reused from an earlier run" : "");
    bool same = true, pruned = false;
    for (int32_t l = 0; l < f->layers; l++) {
      same = same && f->ffn_widths[l] == f->ffn_widths[0];
      pruned = pruned || f->ffn_widths[l] != f->ffn_width;
    }
    if (pruned && same)
      put(&b, "Every block keeps %d of its %d feed-forward neurons (`--ffn-keep %g`).\n",
          (int)f->ffn_widths[0], (int)f->ffn_width, o->ffn_keep);
    else if (pruned) {
      put(&b, "Feed-forward neurons kept per block, of %d (`--ffn-global %g`):", (int)f->ffn_width,
          o->ffn_global);
      for (int32_t l = 0; l < f->layers; l++)
        put(&b, " %d", (int)f->ffn_widths[l]);
      put(&b, ".\n");
    }
    put(&b,
        "\n![Head importance by layer and head, the pruned heads outlined](importance.svg)\n\n");
  }
  if (f->ranks != NULL) {
    put(&b, "LoRA ranks per block:");
    for (int32_t l = 0; l < f->layers; l++) {
      /* The block's rank: its adapted modules share it. */
      int r = 0;
      for (int m = 0; m < TPA_LORA_MODULES; m++)
        r = f->ranks[l * TPA_LORA_MODULES + m] > r ? f->ranks[l * TPA_LORA_MODULES + m] : r;
      for (int m = 0; f->ffn_ranks && m < 2; m++)
        r = f->ffn_ranks[2 * l + m] > r ? f->ffn_ranks[2 * l + m] : r;
      put(&b, " %d", r);
    }
    put(&b, ".\n");
  }
  put(&b, "\n## Dev metric (%s)\n\n", run_metric_name(o));
  put(&b, "| model | dev metric |\n|---|---|\n");
  put(&b, "| unpruned original, before training | ");
  put_num(&b, "%.4f", f->orig.measured ? f->orig.metric : NAN);
  put(&b, " |\n| this run's exported model (`model/`) | ");
  put_num(&b, "%.4f", f->final.measured ? f->final.metric : NAN);
  put(&b, " |\n\nBest epoch %d of %d.\n", (int)f->train.best_epoch, (int)f->n_epochs);

  put(&b, "\n## Table 2: inference parameters, memory and speed\n\n");
  put(&b, "| | unpruned original | exported model |\n|---|---|---|\n");
  put(&b, "| parameters | %s | %s |\n", grouped(f->orig.params, g1, sizeof g1),
      grouped(f->final.params, g2, sizeof g2));
  put(&b, "| attention heads | %d | %d |\n", (int)f->orig.heads, (int)f->final.heads);
  put(&b, "| peak RSS in inference (MB) | ");
  put_num(&b, "%.1f", f->orig.rss_mb > 0 ? f->orig.rss_mb : NAN);
  put(&b, " | ");
  put_num(&b, "%.1f", f->final.rss_mb > 0 ? f->final.rss_mb : NAN);
  put(&b, " |\n| inference (sequences/s, dev set) | ");
  put_num(&b, "%.1f", f->orig.measured ? f->orig.seq_per_s : NAN);
  put(&b, " | ");
  put_num(&b, "%.1f", f->final.measured ? f->final.seq_per_s : NAN);
  put(&b, " |\n\nSpeed of the exported model relative to the unpruned one: ");
  put_num(&b, "%.2fx", speed_ratio(f));
  put(&b, " (both timed in this process, alternating, warm; peak RSS of a separate "
          "process loading the model and predicting dev, each).\n");

  if (o->int8) {
    put(&b, "\n## int8 export (`model-int8/`)\n\n");
    put(&b, "| | f32 export (`model/`) | int8 export (`model-int8/`) |\n|---|---|---|\n");
    put(&b, "| dev metric (%s) | ", run_metric_name(o));
    put_num(&b, "%.4f", f->final.measured ? f->final.metric : NAN);
    put(&b, " | ");
    put_num(&b, "%.4f", f->int8.measured ? f->int8.metric : NAN);
    put(&b, " |\n| inference (sequences/s, dev set) | ");
    put_num(&b, "%.1f", f->final.measured ? f->final.seq_per_s : NAN);
    put(&b, " | ");
    put_num(&b, "%.1f", f->int8.measured ? f->int8.seq_per_s : NAN);
    put(&b, " |\n| peak RSS in inference (MB) | ");
    put_num(&b, "%.1f", f->final.rss_mb > 0 ? f->final.rss_mb : NAN);
    put(&b, " | ");
    put_num(&b, "%.1f", f->int8.rss_mb > 0 ? f->int8.rss_mb : NAN);
    put(&b, " |\n| model.safetensors (MB) | ");
    put_num(&b, "%.2f", (double)f->f32_bytes / 1e6);
    put(&b, " | ");
    put_num(&b, "%.2f", (double)f->int8_bytes / 1e6);
    put(&b, " |\n\nThe int8 export predicts the same class as the f32 one for ");
    put_num(&b, "%.2f%%", f->int8.measured ? 100.0 * f->int8_same_class : NAN);
    put(&b, " of the dev examples; the largest logit difference is ");
    put_num(&b, "%.4f", f->int8.measured ? f->int8_max_logit_diff : NAN);
    put(&b, ".\n");
  }

  put(&b, "\n## Table 3: trainable parameters\n\n");
  put(&b, "| trainable parameters | share of the model |\n|---|---|\n");
  put(&b, "| %s | ", grouped(f->trainable, g1, sizeof g1));
  put_num(&b, "%.3f%%",
          f->after.total > 0 ? 100.0 * (double)f->trainable / (double)f->after.total : NAN);
  put(&b, " |\n");

  put(&b, "\n## Table 4: training cost\n\n");
  put(&b, "| total training time (s) | per epoch (s) | tokens/s | peak RSS in training (MB) |\n"
          "|---|---|---|---|\n| ");
  put_num(&b, "%.1f", f->train.run_seconds);
  put(&b, " | ");
  put_num(&b, "%.2f", mean_epoch_seconds(f));
  put(&b, " | ");
  put_num(&b, "%.0f", tokens_per_s(f));
  put(&b, " | ");
  put_num(&b, "%.1f", f->train_peak_rss_mb);
  put(&b, " |\n\nWhole run ");
  put_num(&b, "%.1f s", run_wall_seconds(f));
  put(&b, ".");
  if (f->train.resumed_step > 0 || f->importance_reused) {
    /* Said where the numbers come from: several processes made them. */
    put(&b, " The run was resumed");
    if (f->train.resumed_step > 0)
      put(&b, " (training from step %lld of %lld)", (long long)f->train.resumed_step,
          (long long)f->train.steps);
    put(&b, ": its times add the earlier processes' recorded work (");
    put(&b, f->importance_reused ? "importance, training up to the checkpoint"
                                 : "training up to the checkpoint");
    put(&b,
        ") to this process's %.1f s, %.1f s of it training; work lost to the "
        "interruption is not counted.",
        f->wall_seconds, f->train.seconds);
    if (!isfinite(f->train.run_seconds))
      put(&b, " The training time before the resume is unknown: the checkpoint was "
              "written by a libtpa older than 0.8.0.");
    if (o->mode == RUN_TPA && f->importance_reused && !isfinite(f->importance_seconds))
      put(&b, " The time of the reused importance.json is unknown (no `timings.json`).");
  }
  put(&b, " All numbers are in `metrics.json`.\n");
  if (b.failed) {
    free(b.p);
    return cli_fail("out of memory (report.md)"), false;
  }
  bool ok = save_text(path, b.p);
  free(b.p);
  return ok;
}
