/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa train`: fine-tune a model on a GLUE task with LoRA or full
 * fine-tuning; writes OUT/metrics.json and OUT/adapter/ (PEFT) or
 * OUT/model/ (HF), with crash-safe state in OUT/checkpoint/. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char train_help[] =
    "Usage: tpa train --model DIR --task TASK --data DIR --out DIR [OPTIONS]\n"
    "\n"
    "Fine-tune a BERT sequence classifier on a GLUE task: LoRA on query, key,\n"
    "value and attention output dense (LayerNorms and classifier trained too),\n"
    "or every parameter. AdamW, linear warmup then decay, gradient clipping,\n"
    "dev evaluation after each epoch keeping the best epoch's weights.\n"
    "\n"
    "Writes OUT/metrics.json, OUT/adapter/ (PEFT format, LoRA) or OUT/model/\n"
    "(HF format, full), and training state in OUT/checkpoint/ that --resume\n"
    "continues from after a crash.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --task TASK           cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "  --data DIR            holds train.tsv and dev.tsv (MNLI: dev_matched.tsv);\n"
    "                        without a dev file no evaluation is done\n"
    "  --out DIR             output directory (created if missing)\n"
    "  --mode lora|full      what to train (lora)\n"
    "  --rank R              LoRA rank of every module (8)\n"
    "  --alpha A             LoRA alpha (2 * rank)\n"
    "  --epochs E            passes over the training set (3)\n"
    "  --max-steps N         stop after N optimizer steps (overrides --epochs)\n"
    "  --batch-size N        examples per step (32)\n"
    "  --lr X                peak learning rate (5e-4 LoRA, 2e-5 full)\n"
    "  --weight-decay X      decoupled weight decay on weights (0.01)\n"
    "  --warmup-ratio X      share of steps with linear warmup (0.06)\n"
    "  --max-grad-norm X     global gradient-norm clipping, 0 = off (1.0)\n"
    "  --dropout P           hidden and attention dropout (config.json's)\n"
    "  --seed S              shuffling, dropout and LoRA initialisation (42)\n"
    "  --no-shuffle          keep the training file's order\n"
    "  --max-seq-length N    truncation length (128, or max_position_embeddings)\n"
    "  --init-adapter DIR    start from this PEFT adapter (LoRA mode)\n"
    "  --resume              continue from OUT/checkpoint/\n"
    "  --save-every N        also checkpoint every N steps (at epoch ends only)\n"
    "  --limit N             only the first N training examples\n"
    "  --threads N           compute threads (sets OMP_NUM_THREADS)\n"
    "  -q, --quiet           nothing on stderr but errors\n"
    "  -h, --help            show this help\n";

typedef struct train_opts {
  const char *model, *data, *out, *init_adapter;
  tpa_task task;
  bool full, quiet;
  int32_t rank, threads;
  double alpha;
  size_t limit;
  tpa_train_params tp;
} train_opts;

enum {
  OPT_MODE = 256,
  OPT_RANK,
  OPT_ALPHA,
  OPT_EPOCHS,
  OPT_MAX_STEPS,
  OPT_LR,
  OPT_WD,
  OPT_WARMUP,
  OPT_CLIP,
  OPT_DROPOUT,
  OPT_SEED,
  OPT_NO_SHUFFLE,
  OPT_INIT,
  OPT_RESUME,
  OPT_SAVE_EVERY,
  OPT_LIMIT,
  OPT_THREADS,
};

static const struct option train_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"model", required_argument, NULL, 'm'},
    {"task", required_argument, NULL, 't'},
    {"data", required_argument, NULL, 'd'},
    {"out", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"batch-size", required_argument, NULL, 'b'},
    {"max-seq-length", required_argument, NULL, 'L'},
    {"mode", required_argument, NULL, OPT_MODE},
    {"rank", required_argument, NULL, OPT_RANK},
    {"alpha", required_argument, NULL, OPT_ALPHA},
    {"epochs", required_argument, NULL, OPT_EPOCHS},
    {"max-steps", required_argument, NULL, OPT_MAX_STEPS},
    {"lr", required_argument, NULL, OPT_LR},
    {"weight-decay", required_argument, NULL, OPT_WD},
    {"warmup-ratio", required_argument, NULL, OPT_WARMUP},
    {"max-grad-norm", required_argument, NULL, OPT_CLIP},
    {"dropout", required_argument, NULL, OPT_DROPOUT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"no-shuffle", no_argument, NULL, OPT_NO_SHUFFLE},
    {"init-adapter", required_argument, NULL, OPT_INIT},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"save-every", required_argument, NULL, OPT_SAVE_EVERY},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"threads", required_argument, NULL, OPT_THREADS},
    {NULL, 0, NULL, 0},
};

/* A finite decimal number in [lo, hi] for --opt. */
static bool parse_real(const char *opt, const char *text, double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
    cli_usage("train", "invalid value '%s' for --%s (a number from %g to %g)", text, opt, lo, hi);
    return false;
  }
  *out = v;
  return true;
}

static int parse_train(int argc, char **argv, train_opts *o) {
  memset(o, 0, sizeof *o);
  tpa_train_params_init(&o->tp, sizeof o->tp);
  o->rank = 8;
  const char *task_name = NULL;
  long v = 0;
  double x = 0;
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, ":hqo:", train_options, NULL);
    if (c == -1)
      break;
    switch (c) {
    case 'h': fputs(train_help, stdout); return CLI_HELP_SHOWN;
    case 'm': o->model = optarg; break;
    case 't': task_name = optarg; break;
    case 'd': o->data = optarg; break;
    case 'o': o->out = optarg; break;
    case 'q': o->quiet = true; break;
    case 'b':
      if (!cli_parse_int("train", "batch-size", optarg, 1, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      o->tp.batch_size = (int32_t)v;
      break;
    case 'L':
      if (!cli_parse_int("train", "max-seq-length", optarg, 3, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      o->tp.max_seq_length = (int32_t)v;
      break;
    case OPT_MODE:
      if (strcmp(optarg, "lora") == 0)
        o->full = false;
      else if (strcmp(optarg, "full") == 0)
        o->full = true;
      else
        return cli_usage("train", "invalid value '%s' for --mode (lora or full)", optarg);
      break;
    case OPT_RANK:
      if (!cli_parse_int("train", "rank", optarg, 1, 1 << 16, &v))
        return CLI_EXIT_USAGE;
      o->rank = (int32_t)v;
      break;
    case OPT_ALPHA:
      if (!parse_real("alpha", optarg, 1e-6, 1e9, &o->alpha))
        return CLI_EXIT_USAGE;
      break;
    case OPT_EPOCHS:
      if (!cli_parse_int("train", "epochs", optarg, 1, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      o->tp.epochs = (int32_t)v;
      break;
    case OPT_MAX_STEPS:
      if (!cli_parse_int("train", "max-steps", optarg, 1, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->tp.max_steps = v;
      break;
    case OPT_LR:
      if (!parse_real("lr", optarg, 1e-12, 10, &o->tp.learning_rate))
        return CLI_EXIT_USAGE;
      break;
    case OPT_WD:
      if (!parse_real("weight-decay", optarg, 0, 10, &o->tp.weight_decay))
        return CLI_EXIT_USAGE;
      break;
    case OPT_WARMUP:
      if (!parse_real("warmup-ratio", optarg, 0, 1, &o->tp.warmup_ratio))
        return CLI_EXIT_USAGE;
      break;
    case OPT_CLIP:
      if (!parse_real("max-grad-norm", optarg, 0, 1e12, &o->tp.max_grad_norm))
        return CLI_EXIT_USAGE;
      break;
    case OPT_DROPOUT:
      if (!parse_real("dropout", optarg, 0, 0.99, &x))
        return CLI_EXIT_USAGE;
      o->tp.hidden_dropout = o->tp.attention_dropout = x;
      break;
    case OPT_SEED:
      if (!cli_parse_int("train", "seed", optarg, 0, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->tp.seed = (uint64_t)v;
      break;
    case OPT_NO_SHUFFLE: o->tp.shuffle = false; break;
    case OPT_INIT: o->init_adapter = optarg; break;
    case OPT_RESUME: o->tp.resume = true; break;
    case OPT_SAVE_EVERY:
      if (!cli_parse_int("train", "save-every", optarg, 1, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->tp.save_every = v;
      break;
    case OPT_LIMIT:
      if (!cli_parse_int("train", "limit", optarg, 1, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->limit = (size_t)v;
      break;
    case OPT_THREADS:
      if (!cli_parse_int("train", "threads", optarg, 1, 4096, &v))
        return CLI_EXIT_USAGE;
      o->threads = (int32_t)v;
      break;
    case ':':
      return cli_usage("train", "option '%s' needs a value",
                       cli_rejected_option(argv, optind, optopt));
    default:
      return cli_usage("train", "invalid option '%s'", cli_rejected_option(argv, optind, optopt));
    }
  }
  if (optind < argc)
    return cli_usage("train", "unexpected argument '%s'", argv[optind]);
  if (!o->model || !task_name || !o->data || !o->out)
    return cli_usage("train", "missing required option %s",
                     !o->model    ? "--model"
                     : !task_name ? "--task"
                     : !o->data   ? "--data"
                                  : "--out");
  if (tpa_task_from_name(task_name, &o->task) != TPA_OK)
    return cli_usage("train",
                     "unknown task '%s' (one of cola sst2 mrpc stsb qqp mnli qnli rte wnli)",
                     task_name);
  if (o->full && o->init_adapter)
    return cli_usage("train", "--init-adapter needs --mode lora");
  return CLI_PARSED;
}

/* ------------------------------------------------------------------------ */
/* Progress: a bar on a terminal, plain lines every 10 s otherwise.         */

typedef struct train_progress {
  bool quiet, tty, drawn;
  double start, last;
  int64_t first_step; /* steps already done when this process started */
  uint64_t examples;
} train_progress;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_step(void *user, const tpa_step_report *r) {
  train_progress *p = user;
  if (p->first_step < 0)
    p->first_step = r->step - 1;
  p->examples += (uint64_t)r->examples;
  if (p->quiet)
    return;
  const double t = now_s(), elapsed = t - p->start;
  const bool last = r->step >= r->total_steps;
  if (!last && t - p->last < (p->tty ? 0.1 : 10.0))
    return;
  p->last = t;
  const double rate = elapsed > 0 ? (double)p->examples / elapsed : 0;
  const int64_t done_here = r->step - p->first_step;
  const double eta =
      done_here > 0 ? elapsed / (double)done_here * (double)(r->total_steps - r->step) : 0;
  const double frac = r->total_steps > 0 ? (double)r->step / (double)r->total_steps : 1;
  if (p->tty) {
    enum { WIDTH = 24 };
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
      bar[i] = i < (int)(frac * WIDTH) ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\rtrain [%s] step %lld/%lld epoch %d loss %.4f %.1f ex/s ETA %.0fs  ", bar,
            (long long)r->step, (long long)r->total_steps, (int)r->epoch, r->loss, rate, eta);
    p->drawn = !last;
    if (last)
      fputc('\n', stderr);
  } else {
    fprintf(stderr, "tpa: train step %lld/%lld epoch %d loss %.4f %.1f ex/s ETA %.0fs\n",
            (long long)r->step, (long long)r->total_steps, (int)r->epoch, r->loss, rate, eta);
  }
  fflush(stderr);
}

/* ------------------------------------------------------------------------ */
/* metrics.json                                                             */

typedef struct epoch_log {
  json_t *epochs; /* array of per-epoch objects */
  train_progress *prog;
} epoch_log;

static json_t *jnum(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static void on_epoch(void *user, const tpa_epoch_report *r) {
  epoch_log *log = user;
  json_t *e = json_object();
  if (!e)
    return;
  json_object_set_new(e, "epoch", json_integer(r->epoch));
  json_object_set_new(e, "step", json_integer((json_int_t)r->step));
  json_object_set_new(e, "train_loss", jnum(r->train_loss));
  json_object_set_new(e, "seconds", jnum(r->seconds));
  json_object_set_new(e, "best", json_boolean(r->best));
  if (r->dev.present) {
    json_t *d = json_object();
    const tpa_metrics *m = &r->dev;
    if (m->present & TPA_METRIC_ACCURACY)
      json_object_set_new(d, "accuracy", jnum(m->accuracy));
    if (m->present & TPA_METRIC_F1)
      json_object_set_new(d, "f1", jnum(m->f1));
    if (m->present & TPA_METRIC_MATTHEWS)
      json_object_set_new(d, "matthews", jnum(m->matthews));
    if (m->present & TPA_METRIC_PEARSON)
      json_object_set_new(d, "pearson", jnum(m->pearson));
    if (m->present & TPA_METRIC_SPEARMAN)
      json_object_set_new(d, "spearman", jnum(m->spearman));
    json_object_set_new(d, "main", jnum(m->main));
    json_object_set_new(d, "examples", json_integer((json_int_t)m->count));
    json_object_set_new(e, "dev", d);
  }
  json_array_append_new(log->epochs, e);
  if (log->prog && !log->prog->quiet) {
    if (log->prog->drawn) {
      fputc('\n', stderr);
      log->prog->drawn = false;
    }
    fprintf(stderr, "tpa: epoch %d: train loss %.4f", (int)r->epoch, r->train_loss);
    if (r->dev.present)
      fprintf(stderr, ", dev %s %.4f%s", "main", r->dev.main, r->best ? " (best)" : "");
    fputc('\n', stderr);
  }
}

static bool write_json_file(const char *path, json_t *root) {
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!text) {
    cli_fail("out of memory (metrics.json)");
    return false;
  }
  cli_output out;
  bool ok = cli_output_open(&out, path);
  if (ok) {
    fputs(text, out.fp);
    fputc('\n', out.fp);
    ok = cli_output_commit(&out);
  }
  free(text);
  return ok;
}

static double peak_rss_mb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (double)ru.ru_maxrss / 1024.0; /* Linux reports kB */
}

/* ------------------------------------------------------------------------ */

static bool make_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST)
    return true;
  cli_fail("--out %s: %s", dir, strerror(errno));
  return false;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static bool load_split(const train_opts *o, const char *name, bool required, size_t limit,
                       tpa_dataset **ds) {
  *ds = NULL;
  char *path = join(o->data, name);
  if (!path) {
    cli_fail("out of memory");
    return false;
  }
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = limit;
  tpa_status st = tpa_dataset_load(ds, o->task, path, &dp);
  free(path);
  if (st == TPA_ERR_NOT_FOUND && !required)
    return true;
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  return true;
}

/* The step callback needs the progress state; the epoch log carries it. */
static void on_step_elog(void *user, const tpa_step_report *r) {
  on_step(((epoch_log *)user)->prog, r);
}

static int train_main(train_opts *o) {
  const double t0 = now_s();
  tpa_model *model = NULL;
  tpa_dataset *train = NULL, *dev = NULL;
  tpa_lora_set *set = NULL;
  char *ckpt = NULL, *outdir = NULL, *metrics_path = NULL;
  json_t *epochs = json_array();
  int rc = CLI_EXIT_FAILURE;
  train_progress prog = {.quiet = o->quiet, .tty = isatty(STDERR_FILENO) == 1, .first_step = -1};
  epoch_log elog = {.epochs = epochs, .prog = &prog};
  tpa_train_result res = {.size = sizeof res};
  tpa_status st;

  if (!epochs || !make_dir(o->out))
    goto done;
  ckpt = join(o->out, "checkpoint");
  outdir = join(o->out, o->full ? "model" : "adapter");
  metrics_path = join(o->out, "metrics.json");
  if (!ckpt || !outdir || !metrics_path) {
    cli_fail("out of memory");
    goto done;
  }
  if (cli_model_load(&model, o->model, o->quiet) != TPA_OK)
    goto done;
  if (!load_split(o, "train.tsv", true, o->limit, &train) ||
      !load_split(o, o->task == TPA_TASK_MNLI ? "dev_matched.tsv" : "dev.tsv", false, 0, &dev))
    goto done;
  if (!dev && !o->quiet)
    fprintf(stderr, "tpa: no dev file in %s: training without evaluation\n", o->data);
  if (!o->full) {
    if (o->init_adapter) {
      st = tpa_lora_set_load(&set, model, o->init_adapter);
    } else {
      tpa_lora_params lp;
      tpa_lora_params_init(&lp, sizeof lp);
      lp.rank = o->rank;
      lp.alpha = (float)o->alpha;
      lp.seed = o->tp.seed;
      st = tpa_lora_set_create(&set, model, &lp);
    }
    if (st != TPA_OK) {
      cli_fail_lib(st);
      goto done;
    }
  }
  o->tp.checkpoint_dir = ckpt;
  o->tp.on_step = on_step_elog;
  o->tp.on_epoch = on_epoch;
  /* Both callbacks get the epoch log; it points at the progress state. */
  o->tp.user = &elog;
  prog.start = prog.last = now_s();
  st = o->full ? tpa_train_full(model, train, dev, &o->tp, &res)
               : tpa_train_lora(model, set, train, dev, &o->tp, &res);
  if (prog.drawn)
    fputc('\n', stderr);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    goto done;
  }
  st = o->full ? tpa_model_save(model, outdir) : tpa_lora_set_save(set, outdir);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    goto done;
  }
  tpa_param_counts pc = {.size = sizeof pc};
  if (tpa_model_param_counts(model, &pc) != TPA_OK)
    pc.total = 0;
  json_t *root = json_object();
  if (!root) {
    cli_fail("out of memory (metrics.json)");
    goto done;
  }
  json_object_set_new(root, "task", json_string(tpa_task_name(o->task)));
  json_object_set_new(root, "mode", json_string(o->full ? "full" : "lora"));
  json_object_set_new(root, "epochs", json_incref(epochs));
  json_object_set_new(root, "best_epoch", json_integer(res.best_epoch));
  json_object_set_new(root, "best_metric",
                      res.best_epoch > 0 ? jnum(res.best_metric) : json_null());
  json_object_set_new(root, "steps", json_integer((json_int_t)res.steps));
  json_object_set_new(root, "final_train_loss", jnum(res.final_train_loss));
  json_object_set_new(root, "trainable_params", json_integer((json_int_t)res.trainable_params));
  json_object_set_new(root, "total_params", json_integer((json_int_t)pc.total));
  json_object_set_new(root, "train_examples", json_integer((json_int_t)tpa_dataset_size(train)));
  json_object_set_new(root, "examples_processed", json_integer((json_int_t)res.examples));
  json_object_set_new(root, "tokens_processed", json_integer((json_int_t)res.tokens));
  json_object_set_new(root, "train_seconds", jnum(res.seconds));
  json_object_set_new(root, "wall_seconds", jnum(now_s() - t0));
  json_object_set_new(root, "peak_rss_mb", jnum(peak_rss_mb()));
  json_object_set_new(root, "output", json_string(outdir));
  bool ok = write_json_file(metrics_path, root);
  json_decref(root);
  if (ok)
    rc = CLI_EXIT_OK;

done:
  json_decref(epochs);
  tpa_lora_set_free(set);
  tpa_dataset_free(train);
  tpa_dataset_free(dev);
  tpa_model_free(model);
  free(ckpt);
  free(outdir);
  free(metrics_path);
  return rc;
}

static int train_run(int argc, char **argv) {
  train_opts o;
  int rc = parse_train(argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
  if (!cli_apply_threads(o.threads, cli_argv_full))
    return CLI_EXIT_FAILURE;
  return train_main(&o);
}

const cli_command cli_cmd_train = {
    .name = "train",
    .summary = "fine-tune a model on a GLUE task (LoRA or full) with checkpoints",
    .help = train_help,
    .run = train_run,
};
