/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa train`: fine-tune a model on a GLUE task with LoRA or full
 * fine-tuning; writes OUT/metrics.json and OUT/adapter/ (PEFT) or
 * OUT/model/ (HF), with crash-safe state in OUT/checkpoint/. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "train_opts.h"

/* The shared option lines (train_opts.h) stand on lines of their own. */
/* clang-format off */
static const char train_help[] =
    "Usage: tpa train --model DIR [--task TASK] --data DIR|FILE --out DIR [OPTIONS]\n"
    "\n"
    "Fine-tune a BERT sequence classifier on a GLUE task or on your own data\n"
    "(CSV, TSV, JSON Lines; see below): LoRA on query, key,\n"
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
    "  --task TASK           GLUE: cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "  --data DIR            GLUE: holds train.tsv and dev.tsv (MNLI:\n"
    "                        dev_matched.tsv), without a dev file no evaluation;\n"
    "                        your own data: train.* and dev.* (or validation.*)\n"
    "                        of any format, or the training FILE itself\n"
    "  --out DIR             output directory (created if missing)\n"
    "  --mode lora|full      what to train (lora)\n"
    "  --rank R              LoRA rank of every module (8)\n"
    "  --alpha A             LoRA alpha (2 * rank)\n"
    TRAIN_OPT_HELP_SCHEDULE
    "  --init-adapter DIR    start from this PEFT adapter (LoRA mode)\n"
    "  --resume              continue from OUT/checkpoint/\n"
    TRAIN_OPT_HELP_TAIL;
/* clang-format on */

typedef struct train_cmd_opts {
  const char *init_adapter;
  tpa_task task;
  bool full;
  train_opts t; /* the options shared with `tpa run` */
} train_cmd_opts;

enum { OPT_MODE = TRAIN_OPT_END, OPT_INIT };

static const struct option train_options[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    {"init-adapter", required_argument, NULL, OPT_INIT},
    TRAIN_OPT_LONGOPTS,
    {NULL, 0, NULL, 0},
};

static int parse_train(int argc, char **argv, train_cmd_opts *o) {
  memset(o, 0, sizeof *o);
  train_opts_init(&o->t);
  static const char *const modes[] = {"lora", "full", NULL};
  int c, rc = CLI_PARSED, mode;
  optind = 1;
  while ((c = train_opts_next("train", train_help, argc, argv, train_options, &o->t, &rc))) {
    switch (c) {
    case OPT_MODE:
      if (!cli_parse_choice("train", "mode", optarg, modes, &mode))
        return CLI_EXIT_USAGE;
      o->full = mode == 1;
      break;
    case OPT_INIT: o->init_adapter = optarg; break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  if (!o->t.model || (!o->t.data && !o->t.table.train) || !o->t.out)
    return cli_usage("train", "missing required option %s",
                     !o->t.model                       ? "--model"
                     : !o->t.data && !o->t.table.train ? "--data"
                                                       : "--out");
  if (!train_opts_check_data("train", &o->t))
    return CLI_EXIT_USAGE;
  o->task = (tpa_task)TPA_TASK_COUNT;
  if (o->t.task_name && !cli_parse_task("train", o->t.task_name, &o->task))
    return CLI_EXIT_USAGE;
  if (o->t.task_name && !o->t.data)
    return cli_usage("train", "missing required option --data");
  if (o->full && o->init_adapter)
    return cli_usage("train", "--init-adapter needs --mode lora");
  if (o->t.targets && (o->full || o->init_adapter))
    return cli_usage("train", "--target-modules needs --mode lora without --init-adapter");
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

static void on_step(void *user, const tpa_step_report *r) {
  train_progress *p = user;
  if (p->first_step < 0)
    p->first_step = r->step - 1;
  p->examples += (uint64_t)r->examples;
  if (p->quiet)
    return;
  const double t = cli_now(), elapsed = t - p->start;
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
    const tpa_metrics_extra x = {.size = sizeof x, .macro_f1 = r->dev_macro_f1};
    cli_metrics_json(d, m, &x);
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

/* ------------------------------------------------------------------------ */

/* The step callback needs the progress state; the epoch log carries it. */
static void on_step_elog(void *user, const tpa_step_report *r) {
  on_step(((epoch_log *)user)->prog, r);
}

static int train_main(train_cmd_opts *o) {
  const double t0 = cli_now();
  tpa_model *model = NULL;
  tpa_dataset *train = NULL, *dev = NULL;
  tpa_lora_set *set = NULL;
  char *ckpt = NULL, *outdir = NULL, *metrics_path = NULL;
  json_t *epochs = json_array();
  int rc = CLI_EXIT_FAILURE;
  train_progress prog = {.quiet = o->t.quiet, .tty = isatty(STDERR_FILENO) == 1, .first_step = -1};
  epoch_log elog = {.epochs = epochs, .prog = &prog};
  tpa_train_result res = {.size = sizeof res};
  tpa_status st;

  if (!cli_dist_setup()) /* under mpirun: data-parallel, rank 0 prints and writes */
    goto done;
  o->t.tp.dist = cli_dist();
  prog.quiet = o->t.quiet = o->t.quiet || !cli_dist_lead();
  if (!epochs)
    goto done;
  ckpt = cli_join(o->t.out, "checkpoint");
  outdir = cli_join(o->t.out, o->full ? "model" : "adapter");
  metrics_path = cli_join(o->t.out, "metrics.json");
  if (!ckpt || !outdir || !metrics_path) {
    cli_fail("out of memory");
    goto done;
  }
  if (cli_model_load(&model, o->t.model, 0, o->t.quiet) != TPA_OK)
    goto done;
  const char *held = NULL;
  if (!cli_data_splits(&o->t.table, o->task, o->t.data, model, o->t.limit, o->t.quiet, &train, &dev,
                       &held) ||
      !cli_data_fit_model(&model, o->t.model, train, o->t.quiet))
    goto done;
  if (!dev && !o->t.quiet)
    fprintf(stderr, "tpa: no dev set: training without evaluation\n");
  if (!o->full) {
    if (o->init_adapter) {
      st = tpa_lora_set_load(&set, model, o->init_adapter);
    } else {
      bool keep[TPA_LORA_ALL_MODULES];
      if (!train_opts_targets(&o->t, model, keep))
        goto done;
      tpa_model_config mc = {.size = sizeof mc};
      st = tpa_model_get_config(model, &mc);
      const size_t n = (size_t)mc.num_layers * TPA_LORA_MODULES;
      int32_t *ranks = st == TPA_OK ? malloc(n * sizeof *ranks) : NULL;
      if (st == TPA_OK && !ranks) {
        cli_fail("out of memory");
        goto done;
      }
      for (size_t i = 0; ranks && i < n; i++)
        ranks[i] = o->t.rank;
      int32_t *ffn_ranks = NULL;
      if (ranks && !train_opts_split_ranks(keep, ranks, mc.num_layers, &ffn_ranks)) {
        free(ranks);
        goto done;
      }
      tpa_lora_params lp;
      tpa_lora_params_init(&lp, sizeof lp);
      lp.ranks = ranks;
      lp.ffn_ranks = ffn_ranks;
      lp.alpha = (float)o->t.alpha;
      lp.seed = o->t.tp.seed;
      if (st == TPA_OK)
        st = tpa_lora_set_create(&set, model, &lp);
      free(ranks);
      free(ffn_ranks);
    }
    if (st != TPA_OK) {
      cli_fail_lib(st);
      goto done;
    }
  }
  /* OUT is made only once every input has loaded: a refused input
   * leaves nothing behind, not even an empty directory. */
  if (!cli_make_dirs("--out", o->t.out))
    goto done;
  o->t.tp.checkpoint_dir = ckpt;
  o->t.tp.on_step = on_step_elog;
  o->t.tp.on_epoch = on_epoch;
  /* Both callbacks get the epoch log; it points at the progress state. */
  o->t.tp.user = &elog;
  prog.start = prog.last = cli_now();
  st = o->full ? tpa_train_full(model, train, dev, &o->t.tp, &res)
               : tpa_train_lora(model, set, train, dev, &o->t.tp, &res);
  if (prog.drawn)
    fputc('\n', stderr);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    goto done;
  }
  if (!cli_dist_lead()) { /* rank 0 writes the results */
    rc = CLI_EXIT_OK;
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
  json_object_set_new(root, "task",
                      tpa_task_name(o->task) ? json_string(tpa_task_name(o->task)) : json_null());
  if (held)
    json_object_set_new(root, "dev_split", json_string(held));
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
  /* The whole run, whatever number of processes it took (--resume); the
   * earlier processes' wall time is known only as the training time they
   * saved in the checkpoint (NaN, null here, from a checkpoint of before
   * 0.8.0). This process's share follows. */
  const double wall = cli_now() - t0;
  json_object_set_new(root, "examples_processed", json_integer((json_int_t)res.run_examples));
  json_object_set_new(root, "tokens_processed", json_integer((json_int_t)res.run_tokens));
  json_object_set_new(root, "train_seconds", jnum(res.run_seconds));
  json_object_set_new(root, "wall_seconds", jnum(wall + (res.run_seconds - res.seconds)));
  json_t *here = json_object();
  if (here) {
    json_object_set_new(here, "resumed_from_step", json_integer((json_int_t)res.resumed_step));
    json_object_set_new(here, "examples_processed", json_integer((json_int_t)res.examples));
    json_object_set_new(here, "tokens_processed", json_integer((json_int_t)res.tokens));
    json_object_set_new(here, "train_seconds", jnum(res.seconds));
    json_object_set_new(here, "wall_seconds", jnum(wall));
  }
  json_object_set_new(root, "this_process", here ? here : json_null());
  json_object_set_new(root, "peak_rss_mb", jnum(cli_peak_rss_mb()));
  json_object_set_new(root, "output", json_string(outdir));
  bool ok = cli_write_json(metrics_path, root);
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
  train_cmd_opts o;
  int rc = train_opts_apply(parse_train(argc, argv, &o), &o.t);
  if (rc != CLI_PARSED)
    return rc;
  return train_main(&o);
}

const cli_command cli_cmd_train = {
    .name = "train",
    .summary = "fine-tune a model on a GLUE task (LoRA or full) with checkpoints",
    .help = train_help,
    .run = train_run,
};
