/* SPDX-License-Identifier: Apache-2.0 */
/* The training options shared by `tpa train` and `tpa run` (see
 * train_opts.h). */
#include "train_opts.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool train_opts_targets(const train_opts *o, const tpa_model *model,
                        bool keep[TPA_LORA_ALL_MODULES]) {
  /* Without the option: the four attention projections. */
  for (int k = 0; k < TPA_LORA_ALL_MODULES; k++)
    keep[k] = o->targets == NULL && k < TPA_LORA_MODULES;
  if (!o->targets)
    return true;
  char *list = strdup(o->targets);
  if (!list) {
    cli_fail("out of memory");
    return false;
  }
  bool ok = true, any = false;
  char *save = NULL;
  for (char *name = strtok_r(list, ",", &save); ok && name; name = strtok_r(NULL, ",", &save)) {
    uint32_t mask = 0;
    tpa_status st = tpa_lora_module_mask(model, name, &mask);
    if (st != TPA_OK) {
      cli_fail("--target-modules: %s", tpa_last_error());
      ok = false;
    }
    for (int k = 0; ok && k < TPA_LORA_ALL_MODULES; k++)
      if (mask & (1u << k))
        keep[k] = any = true;
  }
  if (ok && !any) {
    cli_fail("--target-modules: the list \"%s\" names no module", o->targets);
    ok = false;
  }
  free(list);
  return ok;
}

bool train_opts_split_ranks(const bool keep[TPA_LORA_ALL_MODULES], int32_t *ranks, int32_t layers,
                            int32_t **ffn_ranks) {
  enum { ATT = TPA_LORA_MODULES, FFN = TPA_LORA_ALL_MODULES - TPA_LORA_MODULES };
  *ffn_ranks = NULL;
  if (keep[ATT] || keep[ATT + 1]) {
    *ffn_ranks = calloc((size_t)layers * FFN, sizeof **ffn_ranks);
    if (!*ffn_ranks) {
      cli_fail("out of memory");
      return false;
    }
    /* The block's rank (the schedule gives its modules one) before the
     * attention's are masked. */
    for (int32_t l = 0; l < layers; l++)
      for (int k = 0; k < FFN; k++)
        (*ffn_ranks)[(size_t)l * FFN + (size_t)k] = keep[ATT + k] ? ranks[(size_t)l * ATT] : 0;
  }
  for (size_t i = 0; i < (size_t)layers * ATT; i++)
    if (!keep[i % ATT])
      ranks[i] = 0;
  return true;
}

void train_opts_init(train_opts *o) {
  memset(o, 0, sizeof *o);
  tpa_train_params_init(&o->tp, sizeof o->tp);
  o->rank = 8;
  cli_data_init(&o->table);
}

/* An integer in [lo, hi] for --opt, stored as int32_t. */
static bool parse_i32(const char *cmd, const char *opt, const char *text, long lo, long hi,
                      int32_t *out) {
  long v = 0;
  if (!cli_parse_int(cmd, opt, text, lo, hi, &v))
    return false;
  *out = (int32_t)v;
  return true;
}

static bool parse_long(const char *cmd, const char *opt, const char *text, long *out) {
  return cli_parse_int(cmd, opt, text, 1, LONG_MAX, out);
}

/* Record shared option @p opt: CLI_PARSED, CLI_EXIT_USAGE after printing
 * why its value is invalid, or NOT_MINE when it is the command's own. */
enum { NOT_MINE = -3 };
static int parse_one(const char *cmd, int opt, const char *arg, train_opts *o) {
  tpa_train_params *tp = &o->tp;
  long v = 0;
  double x = 0;
  bool ok = true;
  switch (opt) {
  case 'm': o->model = arg; break;
  case 't': o->task_name = arg; break;
  case 'd': o->data = arg; break;
  case 'o': o->out = arg; break;
  case 'q': o->quiet = true; break;
  case TRAIN_OPT_BATCH:
    ok = parse_i32(cmd, "batch-size", arg, 1, 1 << 20, &tp->batch_size);
    o->batch_set = ok;
    break;
  case TRAIN_OPT_MAX_SEQ:
    ok = parse_i32(cmd, "max-seq-length", arg, 3, 1 << 20, &tp->max_seq_length);
    break;
  case TRAIN_OPT_RANK: ok = parse_i32(cmd, "rank", arg, 1, 1 << 16, &o->rank); break;
  case TRAIN_OPT_TARGETS: o->targets = arg; break;
  case TRAIN_OPT_ALPHA: ok = cli_parse_real(cmd, "alpha", arg, 1e-6, 1e9, &o->alpha); break;
  case TRAIN_OPT_EPOCHS:
    ok = parse_i32(cmd, "epochs", arg, 1, 1 << 20, &tp->epochs);
    o->epochs_set = ok;
    break;
  case TRAIN_OPT_MAX_STEPS:
    if ((ok = parse_long(cmd, "max-steps", arg, &v)))
      tp->max_steps = v;
    break;
  case TRAIN_OPT_LR:
    ok = cli_parse_real(cmd, "lr", arg, 1e-12, 10, &tp->learning_rate);
    o->lr_set = ok;
    break;
  case TRAIN_OPT_WD: ok = cli_parse_real(cmd, "weight-decay", arg, 0, 10, &tp->weight_decay); break;
  case TRAIN_OPT_WARMUP:
    ok = cli_parse_real(cmd, "warmup-ratio", arg, 0, 1, &tp->warmup_ratio);
    break;
  case TRAIN_OPT_CLIP:
    ok = cli_parse_real(cmd, "max-grad-norm", arg, 0, 1e12, &tp->max_grad_norm);
    break;
  case TRAIN_OPT_DROPOUT:
    if ((ok = cli_parse_real(cmd, "dropout", arg, 0, 0.99, &x))) {
      tp->hidden_dropout = tp->attention_dropout = x;
      o->dropout_set = true;
    }
    break;
  case TRAIN_OPT_SEED:
    if ((ok = cli_parse_int(cmd, "seed", arg, 0, LONG_MAX, &v)))
      tp->seed = (uint64_t)v;
    break;
  case TRAIN_OPT_NO_SHUFFLE: tp->shuffle = false; break;
  case TRAIN_OPT_RESUME: tp->resume = true; break;
  case TRAIN_OPT_SAVE_EVERY:
    if ((ok = parse_long(cmd, "save-every", arg, &v)))
      tp->save_every = v;
    break;
  case TRAIN_OPT_LIMIT:
    if ((ok = parse_long(cmd, "limit", arg, &v)))
      o->limit = (size_t)v;
    break;
  case TRAIN_OPT_THREADS: ok = parse_i32(cmd, "threads", arg, 1, 4096, &o->threads); break;
  default: {
    const int r = cli_data_option(cmd, opt, arg, false, &o->table);
    if (r == 0)
      return NOT_MINE;
    ok = r > 0;
  }
  }
  return ok ? CLI_PARSED : CLI_EXIT_USAGE;
}

int train_opts_next(const char *cmd, const char *help, int argc, char **argv,
                    const struct option *longopts, train_opts *o, int *rc) {
  int c;
  while ((c = cli_next_option(cmd, help, argc, argv, TRAIN_OPT_SHORT, longopts, rc))) {
    const int r = parse_one(cmd, c, optarg, o);
    if (r == NOT_MINE)
      return c;
    if (r != CLI_PARSED) {
      *rc = r;
      return 0;
    }
  }
  return 0;
}

int train_opts_apply(int parsed, const train_opts *o) {
  if (parsed == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (parsed != CLI_PARSED)
    return parsed;
  if (!cli_apply_threads(o->threads, cli_argv_full))
    return CLI_EXIT_FAILURE;
  return CLI_PARSED;
}

bool train_opts_check_data(const char *cmd, train_opts *o) {
  if (!cli_data_check(cmd, &o->table, o->task_name != NULL))
    return false;
  o->table.seed = o->tp.seed;
  o->tp.metric = o->table.metric;
  return true;
}
