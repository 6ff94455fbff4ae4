/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa run`: the whole TPA pipeline in one command, through the public API:
 * load, head importance, prune plan, structural pruning, rank schedule,
 * LoRA training with dev evaluation, adapter save, merge, export, and a
 * report that measures the result against the unpruned model. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* The shared option lines (train_opts.h) stand on lines of their own. */
/* clang-format off */
static const char run_help[] =
    "Usage: tpa run [--model DIR [--task TASK] --data DIR|FILE] [--out DIR] [OPTIONS]\n"
    "\n"
    "The whole TPA pipeline: task-oriented head importance on the training\n"
    "split, a prune plan, structural head pruning, an importance-oriented rank\n"
    "schedule, LoRA training with dev evaluation, merge into the pruned\n"
    "weights and export; then the pruned model's inference is measured\n"
    "against the unpruned original in the same run.\n"
    "\n"
    "Writes OUT/importance.json, OUT/importance.png, OUT/timings.json,\n"
    "OUT/plan.json (tpa mode),\n"
    "OUT/adapter/ (PEFT, unmerged; not in full mode), OUT/model/ (merged, HF\n"
    "compact), OUT/model-dense/ (--dense), OUT/model-int8/ (--int8),\n"
    "OUT/checkpoint/, OUT/metrics.json\n"
    "(all numbers) and OUT/report.md (the paper's tables 2-4 for this run).\n"
    "\n"
    "Without --model and --data it runs the small default model and task that\n"
    "ship with libtpa (SST-2 format; $TPA_DEFAULT_DIR overrides where they are\n"
    "found) with defaults tuned for it: --epochs 6 --lr 3e-3 --batch-size 16\n"
    "--dropout 0.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --task TASK           GLUE: cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "  --data DIR            GLUE: holds train.tsv and dev.tsv (MNLI:\n"
    "                        dev_matched.tsv); your own data: train.* and dev.*\n"
    "                        (or validation.*) of any format, or the training FILE\n"
    "  --out DIR             output directory (tpa-run-out)\n"
    "  --mode tpa|lora|full  pipeline: tpa (prune + rank-varied LoRA), lora\n"
    "                        (uniform rank, no pruning) or full fine-tuning (tpa)\n"
    "  --samples N           importance examples, first N of train.tsv (2000)\n"
    "  --prune-heads N       heads to remove (round(0.3056 * layers * heads))\n"
    "  --threshold X         instead remove heads whose normalised score < X\n"
    "  --ffn-keep F          also score the feed-forward neurons and keep\n"
    "                        floor(F * I + 0.5) of each layer's I, in (0, 1]\n"
    "  --ffn-global F        instead keep that share of all neurons, ranked\n"
    "                        together (layers then differ in width)\n"
    "  --top-k K             blocks with the high rank (ceil(layers / 3))\n"
    "  --r-high R            rank of the top-k blocks (8)\n"
    "  --r-low R             rank of the other blocks (4)\n"
    "  --rank R              rank of every module in lora mode (8)\n"
    "  --alpha A             LoRA alpha of every module (2 * its rank)\n"
    "  --dense               also export OUT/model-dense/ (original shapes)\n"
    "  --int8                also export OUT/model-int8/ (tpa quantize: int8\n"
    "                        weights, per-token activation scales) and measure\n"
    "                        it beside the f32 export: dev metric, agreement,\n"
    "                        speed, size\n"
    TRAIN_OPT_HELP_SCHEDULE
    "  --resume              continue in OUT: reuse a complete importance.json and\n"
    "                        plan.json, resume training from OUT/checkpoint/\n"
    TRAIN_OPT_HELP_TAIL
    "\n"
    "Exit status: 0 success, 1 failure, 2 bad usage.\n";
/* clang-format on */

enum {
  OPT_MODE = TRAIN_OPT_END,
  OPT_SAMPLES,
  OPT_PRUNE_HEADS,
  OPT_THRESHOLD,
  OPT_FFN_KEEP,
  OPT_FFN_GLOBAL,
  OPT_TOP_K,
  OPT_R_HIGH,
  OPT_R_LOW,
  OPT_DENSE,
  OPT_INT8,
};

static const struct option run_options[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    TRAIN_OPT_LONGOPTS,
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"prune-heads", required_argument, NULL, OPT_PRUNE_HEADS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"ffn-keep", required_argument, NULL, OPT_FFN_KEEP},
    {"ffn-global", required_argument, NULL, OPT_FFN_GLOBAL},
    {"top-k", required_argument, NULL, OPT_TOP_K},
    {"r-high", required_argument, NULL, OPT_R_HIGH},
    {"r-low", required_argument, NULL, OPT_R_LOW},
    {"dense", no_argument, NULL, OPT_DENSE},
    {"int8", no_argument, NULL, OPT_INT8},
    {NULL, 0, NULL, 0},
};

/* Defaults of the shipped default task: a random model learns it only
 * with a high rate and no dropout; measured at 0.95-0.98 dev accuracy
 * after 2-6 epochs for several seeds, ~1 s per epoch on 2 cores
 * (docs/tutorial.md). */
enum { DEFAULT_EPOCHS = 6, DEFAULT_BATCH = 16 };
static const double default_lr = 3e-3;

static bool parse_i32(const char *opt, const char *text, long lo, long hi, int32_t *out) {
  long v = 0;
  if (!cli_parse_int("run", opt, text, lo, hi, &v))
    return false;
  *out = (int32_t)v;
  return true;
}

static int parse_args(int argc, char **argv, run_opts *o) {
  memset(o, 0, sizeof *o);
  train_opts_init(&o->t);
  o->prune_heads = -1;
  o->r_high = 8;
  o->r_low = 4;
  o->task = TPA_TASK_SST2;
  long v = 0;
  bool prune_set = false;
  /* indexed by run_mode */
  static const char *const modes[] = {
      [RUN_TPA] = "tpa", [RUN_LORA] = "lora", [RUN_FULL] = "full", NULL};
  int c, rc = CLI_PARSED, mode;
  optind = 1;
  while ((c = train_opts_next("run", run_help, argc, argv, run_options, &o->t, &rc))) {
    switch (c) {
    case OPT_MODE:
      if (!cli_parse_choice("run", "mode", optarg, modes, &mode))
        return CLI_EXIT_USAGE;
      o->mode = (run_mode)mode;
      break;
    case OPT_SAMPLES:
      if (!cli_parse_int("run", "samples", optarg, 1, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->samples = (size_t)v;
      break;
    case OPT_PRUNE_HEADS:
      if (!parse_i32("prune-heads", optarg, 0, 1 << 20, &o->prune_heads))
        return CLI_EXIT_USAGE;
      prune_set = true;
      break;
    case OPT_THRESHOLD:
      if (!cli_parse_real("run", "threshold", optarg, 0, 1, &o->threshold))
        return CLI_EXIT_USAGE;
      o->use_threshold = true;
      break;
    case OPT_FFN_KEEP:
      if (!cli_parse_share("run", "ffn-keep", optarg, &o->ffn_keep))
        return CLI_EXIT_USAGE;
      break;
    case OPT_FFN_GLOBAL:
      if (!cli_parse_share("run", "ffn-global", optarg, &o->ffn_global))
        return CLI_EXIT_USAGE;
      break;
    case OPT_TOP_K:
      if (!parse_i32("top-k", optarg, 0, 1 << 16, &o->top_k))
        return CLI_EXIT_USAGE;
      break;
    case OPT_R_HIGH:
      if (!parse_i32("r-high", optarg, 1, 1 << 16, &o->r_high))
        return CLI_EXIT_USAGE;
      break;
    case OPT_R_LOW:
      if (!parse_i32("r-low", optarg, 1, 1 << 16, &o->r_low))
        return CLI_EXIT_USAGE;
      break;
    case OPT_DENSE: o->dense = true; break;
    case OPT_INT8: o->int8 = true; break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  const bool have_data = o->t.data != NULL || o->t.table.train != NULL;
  if ((o->t.model == NULL) != !have_data)
    return cli_usage("run", "--model and --data go together (give neither for the default task)");
  o->use_default = o->t.model == NULL;
  if (!train_opts_check_data("run", &o->t))
    return CLI_EXIT_USAGE;
  if (o->t.task_name != NULL) {
    if (!cli_parse_task("run", o->t.task_name, &o->task))
      return CLI_EXIT_USAGE;
    o->task_set = true;
    if (o->t.data == NULL)
      return cli_usage("run", "missing required option --data");
  } else if (!o->use_default) {
    o->task = (tpa_task)TPA_TASK_COUNT; /* your own data */
  }
  if (o->use_default && o->t.table.table_opts)
    return cli_usage("run", "the data options need --model and --data");
  if (o->use_default && o->task != TPA_TASK_SST2)
    return cli_usage("run", "the default task is sst2; give --model and --data for %s",
                     tpa_task_name(o->task));
  if (prune_set && o->use_threshold)
    return cli_usage("run", "--prune-heads and --threshold exclude each other");
  if (o->mode != RUN_TPA && (prune_set || o->use_threshold || o->samples || o->top_k ||
                             o->ffn_keep > 0 || o->ffn_global > 0))
    return cli_usage(
        "run", "--samples, --prune-heads, --threshold, --ffn-keep, --ffn-global and --top-k need "
               "--mode tpa");
  if (o->ffn_keep > 0 && o->ffn_global > 0)
    return cli_usage("run", "give --ffn-keep or --ffn-global, not both");
  if (o->mode == RUN_FULL && o->t.targets)
    return cli_usage("run", "--target-modules chooses LoRA modules: not with --mode full");
  if (o->t.out == NULL)
    o->t.out = "tpa-run-out";
  if (o->use_default) {
    train_opts *t = &o->t;
    if (!t->epochs_set)
      t->tp.epochs = DEFAULT_EPOCHS;
    if (!t->lr_set)
      t->tp.learning_rate = default_lr;
    if (!t->batch_set)
      t->tp.batch_size = DEFAULT_BATCH;
    if (!t->dropout_set)
      t->tp.hidden_dropout = t->tp.attention_dropout = 0;
  }
  return CLI_PARSED;
}

/* ------------------------------------------------------------------------ */
/* Progress: stage headers and the library's per-batch/per-step reports.    */

typedef struct run_ctx {
  const run_opts *o;
  cli_progress prog;
  run_figures *f;
  int stage, n_stages;
  bool keep[TPA_LORA_ALL_MODULES]; /* --target-modules */
} run_ctx;

static void stage(run_ctx *c, const char *name, const char *what) {
  c->stage++;
  cli_progress_end(&c->prog);
  if (!c->o->t.quiet) {
    fprintf(stderr, "tpa: [%d/%d] %s: %s\n", c->stage, c->n_stages, name, what);
    fflush(stderr);
  }
  cli_progress_init(&c->prog, c->o->t.quiet);
}

static void note(const run_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const run_ctx *c, const char *fmt, ...) {
  if (c->o->t.quiet)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("tpa:       ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static bool grow_epochs(run_figures *f, int32_t epoch) {
  if (epoch <= f->n_epochs)
    return true;
  double *s = realloc(f->epoch_seconds, (size_t)epoch * sizeof *s);
  if (s == NULL)
    return false;
  f->epoch_seconds = s;
  double *m = realloc(f->epoch_metric, (size_t)epoch * sizeof *m);
  if (m == NULL)
    return false;
  f->epoch_metric = m;
  for (int32_t i = f->n_epochs; i < epoch; i++)
    s[i] = m[i] = NAN;
  f->n_epochs = epoch;
  return true;
}

static void on_epoch(void *user, const tpa_epoch_report *r) {
  run_ctx *c = user;
  if (r->epoch < 1 || !grow_epochs(c->f, r->epoch))
    return;
  c->f->epoch_seconds[r->epoch - 1] = r->seconds;
  c->f->epoch_metric[r->epoch - 1] = r->dev.present ? r->dev.main : NAN;
  if (c->o->t.quiet)
    return;
  cli_progress_end(&c->prog);
  fprintf(stderr, "tpa: epoch %d: train loss %.4f", (int)r->epoch, r->train_loss);
  if (r->dev.present)
    fprintf(stderr, ", dev %.4f%s", r->dev.main, r->best ? " (best)" : "");
  fprintf(stderr, ", %.1f s\n", r->seconds);
}

static bool on_progress(void *user, const char *name, uint64_t done, uint64_t total) {
  return cli_progress_cb(&((run_ctx *)user)->prog, name, done, total);
}

/* ------------------------------------------------------------------------ */
/* Pipeline                                                                 */

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Importance on the training split, or the complete table a previous run
 * left (with --resume): tpa_importance_save writes atomically, so a file
 * that exists and loads is whole. */
static bool importance_stage(run_ctx *c, const tpa_model *model, const tpa_dataset *train,
                             tpa_importance **imp) {
  const run_opts *o = c->o;
  char *json = cli_join(o->t.out, "importance.json");
  char *timings = cli_join(o->t.out, "timings.json");
  bool ok = false;
  tpa_status st;
  if (json == NULL || timings == NULL)
    goto done;
  const bool ffn = o->ffn_keep > 0 || o->ffn_global > 0;
  if (o->t.tp.resume && file_exists(json) && tpa_importance_load(imp, json) == TPA_OK &&
      (!ffn || tpa_importance_has_ffn(*imp))) {
    stage(c, "importance", "reusing importance.json");
    c->f->importance_reused = true;
    /* The run's importance time is the process's that computed it. */
    c->f->importance_seconds = run_read_timings(timings);
  } else {
    tpa_importance_free(*imp); /* a reused table without the neurons asked for */
    *imp = NULL;
    stage(c, "importance",
          ffn ? "head- and neuron-mask gradients on the training split"
              : "head-mask gradients on the training split");
    tpa_importance_params ip;
    tpa_importance_params_init(&ip, sizeof ip);
    if (o->samples)
      ip.samples = o->samples;
    ip.batch_size = o->t.tp.batch_size;
    ip.max_seq_length = o->t.tp.max_seq_length;
    ip.progress = on_progress;
    ip.user = c;
    ip.dist = cli_dist();
    ip.ffn = ffn;
    /* timings.json describes the importance.json beside it: none while
     * that is being replaced. */
    if (cli_dist_lead() && unlink(timings) != 0 && errno != ENOENT) {
      cli_fail("cannot remove %s: %s", timings, strerror(errno));
      goto done;
    }
    const double t0 = cli_now();
    st = tpa_importance_compute(imp, model, train, &ip);
    cli_progress_end(&c->prog);
    c->f->importance_seconds = cli_now() - t0;
    if (st == TPA_OK && cli_dist_lead()) /* under mpirun rank 0 writes */
      st = tpa_importance_save(*imp, json);
    if (st != TPA_OK) {
      cli_fail_lib(st);
      goto done;
    }
    if (cli_dist_lead() && !run_write_timings(timings, c->f->importance_seconds))
      goto done;
    note(c, "%s (%.1f s)", json, c->f->importance_seconds);
  }
  ok = true;
done:
  if (json == NULL || timings == NULL)
    cli_fail("out of memory");
  free(json);
  free(timings);
  return ok;
}

/* OUT/importance.svg and OUT/importance.png: the table with the heads the
 * plan removes marked, titled by the task (or the data file). */
static bool pictures(const run_ctx *c, const tpa_importance *imp, const tpa_prune_plan *plan) {
  const run_opts *o = c->o;
  if (!cli_dist_lead()) /* under mpirun rank 0 writes */
    return true;
  char *svg = cli_join(o->t.out, "importance.svg"), *png = cli_join(o->t.out, "importance.png");
  if (svg == NULL || png == NULL) {
    free(svg);
    free(png);
    return cli_fail("out of memory"), false;
  }
  tpa_heatmap_params hp;
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.task = tpa_task_name(o->task) ? tpa_task_name(o->task)
            : o->t.data            ? o->t.data
                                   : o->t.table.train;
  hp.plan = plan;
  tpa_status st = tpa_importance_write_svg(imp, svg, &hp);
  if (st == TPA_OK)
    st = tpa_importance_write_png(imp, png, &hp);
  free(svg);
  free(png);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  return true;
}

static bool plan_stage(run_ctx *c, const tpa_importance *imp, tpa_model *model) {
  const run_opts *o = c->o;
  char *path = cli_join(o->t.out, "plan.json");
  tpa_prune_plan *plan = NULL;
  bool ok = false;
  tpa_status st;
  if (path == NULL)
    return false;
  const bool ffn = o->ffn_keep > 0 || o->ffn_global > 0;
  if (o->t.tp.resume && c->f->importance_reused && file_exists(path) &&
      tpa_prune_plan_load(&plan, path) == TPA_OK &&
      (tpa_prune_plan_ffn_width(plan, 0) > 0) == ffn) {
    stage(c, "plan", "reusing plan.json");
    c->f->plan_reused = true;
  } else {
    tpa_prune_plan_free(plan); /* a reused plan for other neurons */
    plan = NULL;
    stage(c, "plan",
          ffn ? "choosing the least important heads and neurons"
              : "choosing the least important heads");
    tpa_prune_params pp;
    tpa_prune_params_init(&pp, sizeof pp);
    pp.num_heads = o->prune_heads;
    pp.use_threshold = o->use_threshold;
    pp.threshold = o->threshold;
    pp.ffn_keep = o->ffn_keep;
    pp.ffn_global = o->ffn_global;
    st = tpa_prune_plan_create(&plan, imp, &pp);
    if (st == TPA_OK && cli_dist_lead())
      st = tpa_prune_plan_save(plan, path);
    if (st != TPA_OK) {
      cli_fail_lib(st);
      goto done;
    }
  }
  c->f->heads_pruned = tpa_prune_plan_num_pruned(plan);
  if (!pictures(c, imp, plan))
    goto done;
  stage(c, "prune",
        ffn ? "removing the planned heads and neurons structurally"
            : "removing the planned heads structurally");
  st = tpa_model_prune(model, plan);
  tpa_model_config cfg = {.size = sizeof cfg};
  if (st == TPA_OK)
    st = tpa_model_get_config(model, &cfg);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    goto done;
  }
  for (int32_t l = 0; l < cfg.num_layers; l++)
    c->f->ffn_widths[l] = tpa_model_layer_ffn_width(model, l);
  note(c, "%d heads removed", (int)c->f->heads_pruned);
  if (ffn) {
    char line[512];
    int used = snprintf(line, sizeof line, "%lld neurons removed; neurons per layer:",
                        (long long)tpa_prune_plan_num_pruned_neurons(plan));
    for (int32_t l = 0; l < cfg.num_layers && used > 0 && (size_t)used < sizeof line; l++)
      used += snprintf(line + used, sizeof line - (size_t)used, " %d", c->f->ffn_widths[l]);
    note(c, "%s (of %d)", line, (int)c->f->ffn_width);
  }
  ok = true;
done:
  tpa_prune_plan_free(plan);
  free(path);
  return ok;
}

/* Ranks per module: the importance schedule (tpa mode) or uniform. */
static bool schedule_stage(run_ctx *c, const tpa_importance *imp) {
  const run_opts *o = c->o;
  run_figures *f = c->f;
  const size_t n = (size_t)f->layers * TPA_LORA_MODULES;
  f->ranks = calloc(n, sizeof *f->ranks);
  if (f->ranks == NULL) {
    cli_fail("out of memory");
    return false;
  }
  if (o->mode == RUN_TPA) {
    stage(c, "schedule", "rank per block from block importance");
    tpa_rank_schedule_params rp;
    tpa_rank_schedule_params_init(&rp, sizeof rp);
    rp.top_k = o->top_k;
    rp.r_high = o->r_high;
    rp.r_low = o->r_low;
    tpa_status st = tpa_rank_schedule(imp, &rp, f->ranks, n);
    if (st != TPA_OK) {
      cli_fail_lib(st);
      return false;
    }
  } else {
    stage(c, "schedule", "uniform rank (plain LoRA)");
    for (size_t i = 0; i < n; i++)
      f->ranks[i] = o->t.rank;
  }
  return train_opts_split_ranks(c->keep, f->ranks, f->layers, &f->ffn_ranks);
}

static int count_heads(const tpa_model *m, int32_t layers) {
  int total = 0;
  for (int32_t l = 0; l < layers; l++)
    total += tpa_model_layer_num_heads(m, l);
  return total;
}

typedef struct run_state {
  tpa_model *model, *orig, *final;
  tpa_dataset *train, *dev;
  tpa_importance *imp;
  tpa_lora_set *set;
  tpa_model *int8; /* OUT/model-int8, reloaded (--int8) */
  char *dev_path, *ckpt, *adapter_dir, *model_dir, *dense_dir, *int8_dir, *metrics, *report;
} run_state;

static void state_free(run_state *s) {
  tpa_model_free(s->model);
  tpa_model_free(s->orig);
  tpa_model_free(s->final);
  tpa_model_free(s->int8);
  tpa_dataset_free(s->train);
  tpa_dataset_free(s->dev);
  tpa_importance_free(s->imp);
  tpa_lora_set_free(s->set);
  free(s->dev_path);
  free(s->ckpt);
  free(s->adapter_dir);
  free(s->model_dir);
  free(s->dense_dir);
  free(s->int8_dir);
  free(s->metrics);
  free(s->report);
}

static bool train_stage(run_ctx *c, run_state *s) {
  const run_opts *o = c->o;
  run_figures *f = c->f;
  tpa_status st;
  if (o->mode != RUN_FULL) {
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.ranks = f->ranks;
    lp.ffn_ranks = f->ffn_ranks;
    lp.alpha = (float)o->t.alpha;
    lp.seed = o->t.tp.seed;
    st = tpa_lora_set_create(&s->set, s->model, &lp);
    if (st != TPA_OK)
      return cli_fail_lib(st), false;
  }
  stage(c, "train", o->mode == RUN_FULL ? "full fine-tuning" : "LoRA, model frozen");
  tpa_train_params tp = o->t.tp;
  tp.checkpoint_dir = s->ckpt;
  tp.progress = on_progress;
  tp.on_epoch = on_epoch;
  tp.log = o->t.quiet ? NULL : cli_log_stderr; /* e.g. "resuming from ... at step N" */
  tp.user = c;
  tp.dist = cli_dist();
  f->train.size = sizeof f->train;
  st = o->mode == RUN_FULL ? tpa_train_full(s->model, s->train, s->dev, &tp, &f->train)
                           : tpa_train_lora(s->model, s->set, s->train, s->dev, &tp, &f->train);
  cli_progress_end(&c->prog);
  f->train_peak_rss_mb = cli_peak_rss_mb();
  if (st != TPA_OK)
    return cli_fail_lib(st), false;
  f->trainable = f->train.trainable_params;
  return true;
}

static bool export_stage(run_ctx *c, run_state *s) {
  const run_opts *o = c->o;
  tpa_status st;
  if (s->set != NULL) {
    stage(c, "adapter", s->adapter_dir);
    st = tpa_lora_set_save(s->set, s->adapter_dir);
    if (st != TPA_OK)
      return cli_fail_lib(st), false;
    stage(c, "merge", "W' = W + (alpha/r) B A into the pruned weights");
    st = tpa_lora_set_merge(s->set, s->model);
    if (st != TPA_OK)
      return cli_fail_lib(st), false;
  }
  stage(c, "export", s->model_dir);
  st = tpa_model_save(s->model, s->model_dir);
  if (st == TPA_OK && o->dense) {
    note(c, "dense copy: %s", s->dense_dir);
    st = tpa_model_save_dense(s->model, s->dense_dir);
  }
  if (st == TPA_OK && o->int8) {
    /* The merged f32 model is saved: quantize it in place for the copy. */
    stage(c, "quantize", s->int8_dir);
    st = tpa_model_quantize(s->model, NULL);
    if (st == TPA_OK)
      st = tpa_model_save(s->model, s->int8_dir);
  }
  if (st != TPA_OK)
    return cli_fail_lib(st), false;
  return true;
}

static uint64_t safetensors_bytes(const char *dir) {
  char *path = cli_join(dir, "model.safetensors");
  struct stat sb;
  uint64_t n = path && stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
  free(path);
  return n;
}

/* Inference side by side: the unpruned original and the exported model,
 * reloaded from OUT/model (which also proves the export loads). */
static bool measure_stage(run_ctx *c, run_state *s, const char *orig_dir) {
  run_figures *f = c->f;
  stage(c, "measure", "inference of the original and the exported model on dev");
  /* The data fixes the label count, as at the start of the run. */
  const int32_t labels = c->o->num_labels;
  tpa_status st = cli_model_load(&s->orig, orig_dir, labels, true);
  if (st == TPA_OK)
    st = cli_model_load(&s->final, s->model_dir, labels, true);
  if (st == TPA_OK && c->o->int8)
    st = cli_model_load(&s->int8, s->int8_dir, labels, true);
  if (st != TPA_OK)
    return false;
  f->f32_bytes = safetensors_bytes(s->model_dir);
  if (c->o->int8) {
    f->int8_bytes = safetensors_bytes(s->int8_dir);
    f->int8.params = f->final.params;
    f->int8.heads = count_heads(s->int8, f->layers);
  }
  f->orig.params = f->before.total;
  f->orig.heads = count_heads(s->orig, f->layers);
  tpa_param_counts pc = {.size = sizeof pc};
  if (tpa_model_param_counts(s->final, &pc) != TPA_OK)
    return cli_fail_lib(TPA_ERR_INTERNAL), false;
  f->final.params = pc.total;
  f->final.heads = count_heads(s->final, f->layers);
  if (s->dev == NULL)
    return true;
  if (!run_measure_speed(c->o, s->orig, s->final, s->int8, s->dev, f))
    return false;
  /* Peak memory of inference alone needs a process of its own: this one
   * has already held the training state. */
  if (!run_measure_child(c->o, orig_dir, s->dev_path, &f->orig) ||
      !run_measure_child(c->o, s->model_dir, s->dev_path, &f->final))
    return false;
  note(c, "unpruned %.1f seq/s, peak RSS %.0f MB", f->orig.seq_per_s, f->orig.rss_mb);
  note(c, "exported %.1f seq/s, peak RSS %.0f MB", f->final.seq_per_s, f->final.rss_mb);
  if (c->o->int8) {
    if (!run_measure_child(c->o, s->int8_dir, s->dev_path, &f->int8))
      return false;
    note(c, "int8 %.1f seq/s, peak RSS %.0f MB, dev %.4f (f32 %.4f), %.2f%% same class",
         f->int8.seq_per_s, f->int8.rss_mb, f->int8.metric, f->final.metric,
         100.0 * f->int8_same_class);
  }
  return true;
}

static int run_pipeline(run_opts *o, const char *default_dir) {
  const double t0 = cli_now();
  run_figures f = {.o = o};
  run_ctx c = {.o = o, .f = &f};
  run_state s = {0};
  int rc = CLI_EXIT_FAILURE;
  cli_progress_init(&c.prog, o->t.quiet);
  /* load, [importance, plan, prune], schedule, train, [adapter, merge],
   * export, measure, report */
  c.n_stages = 6 + (o->mode == RUN_TPA ? 3 : 0) + (o->mode != RUN_FULL ? 2 : 0);
  if (o->mode == RUN_FULL)
    c.n_stages--; /* no schedule */
  if (o->int8)
    c.n_stages++; /* quantize */

  if (!cli_make_dirs("--out", o->t.out))
    goto done;
  s.ckpt = cli_join(o->t.out, "checkpoint");
  s.adapter_dir = cli_join(o->t.out, "adapter");
  s.model_dir = cli_join(o->t.out, "model");
  s.dense_dir = cli_join(o->t.out, "model-dense");
  s.int8_dir = cli_join(o->t.out, "model-int8");
  s.metrics = cli_join(o->t.out, "metrics.json");
  s.report = cli_join(o->t.out, "report.md");
  if (!s.ckpt || !s.adapter_dir || !s.model_dir || !s.dense_dir || !s.int8_dir || !s.metrics ||
      !s.report)
    goto done;

  stage(&c, "load", default_dir ? "the shipped default model and task" : o->t.model);
  /* The task fixes the label count: a pretrained checkpoint (2 labels by
   * HF's default, or none) gets a new, seeded classifier for STS-B or MNLI
   * as HF's ignore_mismatched_sizes would; the same count keeps the
   * checkpoint's head. A table's classes do the same once it is read. */
  const bool glue = tpa_task_name(o->task) != NULL;
  if (cli_model_load(&s.model, o->t.model, glue ? tpa_task_num_labels(o->task) : 0, o->t.quiet) !=
      TPA_OK)
    goto done;
  if (!cli_data_splits(&o->t.table, o->task, o->t.data, s.model, o->t.limit, o->t.quiet, &s.train,
                       &s.dev, &o->held_note) ||
      !cli_data_fit_model(&s.model, o->t.model, s.train, o->t.quiet))
    goto done;
  o->num_labels = glue ? tpa_task_num_labels(o->task) : tpa_dataset_num_labels(s.train);
  if (s.dev && glue) {
    s.dev_path = cli_join(o->t.data, cli_glue_dev_name(o->task));
  } else if (s.dev) {
    /* The inference child reads the dev set (held out or not) from here;
     * under mpirun only rank 0 measures, so only it writes the file. */
    s.dev_path = cli_join(o->t.out, "dev.jsonl");
    if (!s.dev_path || (cli_dist_lead() && !run_write_dev(s.dev_path, s.dev)))
      goto done;
  }
  f.dev_path = s.dev_path;
  f.train_examples = tpa_dataset_size(s.train);
  f.dev_examples = s.dev ? tpa_dataset_size(s.dev) : 0;
  if (s.dev == NULL && !o->t.quiet)
    fprintf(stderr, "tpa: no dev set: no evaluation and no speed comparison\n");
  tpa_model_config cfg = {.size = sizeof cfg};
  f.before.size = f.after.size = sizeof f.before;
  if (tpa_model_get_config(s.model, &cfg) != TPA_OK ||
      tpa_model_param_counts(s.model, &f.before) != TPA_OK) {
    cli_fail_lib(TPA_ERR_INTERNAL);
    goto done;
  }
  f.layers = cfg.num_layers;
  f.heads_per_layer = cfg.num_heads;
  f.ffn_width = cfg.intermediate_size;
  f.ffn_widths = calloc((size_t)cfg.num_layers, sizeof *f.ffn_widths);
  if (f.ffn_widths == NULL) {
    cli_fail("out of memory");
    goto done;
  }
  for (int32_t l = 0; l < cfg.num_layers; l++)
    f.ffn_widths[l] = tpa_model_layer_ffn_width(s.model, l);
  /* Checked before the long stages: a wrong name fails at once. */
  if (!train_opts_targets(&o->t, s.model, c.keep))
    goto done;

  if (o->mode == RUN_TPA) {
    if (!importance_stage(&c, s.model, s.train, &s.imp) || !plan_stage(&c, s.imp, s.model))
      goto done;
  }
  if (o->mode != RUN_FULL && !schedule_stage(&c, s.imp))
    goto done;
  if (tpa_model_param_counts(s.model, &f.after) != TPA_OK) {
    cli_fail_lib(TPA_ERR_INTERNAL);
    goto done;
  }
  if (!train_stage(&c, &s))
    goto done;
  if (!cli_dist_lead()) { /* under mpirun rank 0 merges, exports, measures, reports */
    rc = CLI_EXIT_OK;
    goto done;
  }
  if (!export_stage(&c, &s) || !measure_stage(&c, &s, o->t.model))
    goto done;

  stage(&c, "report", s.report);
  f.wall_seconds = cli_now() - t0;
  if (!run_write_metrics(s.metrics, &f) || !run_write_report(s.report, &f))
    goto done;
  if (!o->t.quiet && s.dev != NULL)
    fprintf(stderr, "tpa: done in %.1f s: dev %.4f, %.2fx the unpruned model's speed\n",
            f.wall_seconds, f.final.metric,
            f.orig.seq_per_s > 0 ? f.final.seq_per_s / f.orig.seq_per_s : 0.0);
  rc = CLI_EXIT_OK;
done:
  cli_progress_end(&c.prog);
  state_free(&s);
  free(f.ranks);
  free(f.ffn_ranks);
  free(f.ffn_widths);
  free(f.epoch_seconds);
  free(f.epoch_metric);
  return rc;
}

static int run_run(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--measure-inference") == 0)
    return run_child_main(argc, argv);
  run_opts o;
  int rc = train_opts_apply(parse_args(argc, argv, &o), &o.t);
  if (rc != CLI_PARSED)
    return rc;
  /* Under mpirun: every rank runs importance and training, rank 0 the rest. */
  if (!cli_dist_setup())
    return CLI_EXIT_FAILURE;
  o.t.quiet = o.t.quiet || !cli_dist_lead();
  char *def = NULL, *model = NULL, *data = NULL;
  if (o.use_default) {
    def = run_default_dir();
    model = def ? cli_join(def, "model") : NULL;
    data = def ? cli_join(def, "task") : NULL;
    if (model == NULL || data == NULL) {
      free(def);
      free(model);
      return CLI_EXIT_FAILURE;
    }
    o.t.model = model;
    o.t.data = data;
  }
  rc = run_pipeline(&o, def);
  free(def);
  free(model);
  free(data);
  return rc;
}

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "the whole TPA pipeline: importance, prune, LoRA, merge, export, report",
    .help = run_help,
    .run = run_run,
};
