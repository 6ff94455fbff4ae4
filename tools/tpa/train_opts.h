/* SPDX-License-Identifier: Apache-2.0 */
/* The training options that `tpa train` and `tpa run` both accept: their
 * getopt_long entries, their parsing into tpa_train_params and their help
 * lines. Each command keeps its own options (--mode, --init-adapter,
 * --samples, ...) and its own --resume text. Public API only. */
#ifndef TPA_TRAIN_OPTS_H
#define TPA_TRAIN_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* getopt_long's short options of the commands: -h, -q and -o DIR. */
#define TRAIN_OPT_SHORT ":hqo:"

/* getopt_long values of the shared options (besides 'h', 'm', 't', 'd',
 * 'o' and 'q'); a command numbers its own options from TRAIN_OPT_END on. */
enum {
  TRAIN_OPT_BATCH = 256,
  TRAIN_OPT_MAX_SEQ,
  TRAIN_OPT_RANK,
  TRAIN_OPT_ALPHA,
  TRAIN_OPT_EPOCHS,
  TRAIN_OPT_MAX_STEPS,
  TRAIN_OPT_LR,
  TRAIN_OPT_WD,
  TRAIN_OPT_WARMUP,
  TRAIN_OPT_CLIP,
  TRAIN_OPT_DROPOUT,
  TRAIN_OPT_SEED,
  TRAIN_OPT_NO_SHUFFLE,
  TRAIN_OPT_RESUME,
  TRAIN_OPT_SAVE_EVERY,
  TRAIN_OPT_LIMIT,
  TRAIN_OPT_THREADS,
  TRAIN_OPT_TARGETS,
  TRAIN_OPT_END
};

/* The getopt_long entries of the shared options, to put in a command's
 * table (a macro so that the table stays one static array). Short forms:
 * TRAIN_OPT_SHORT. */
/* clang-format off */
#define TRAIN_OPT_LONGOPTS                                        \
  {"help", no_argument, NULL, 'h'},                               \
  {"model", required_argument, NULL, 'm'},                        \
  {"task", required_argument, NULL, 't'},                         \
  {"data", required_argument, NULL, 'd'},                         \
  {"out", required_argument, NULL, 'o'},                          \
  {"quiet", no_argument, NULL, 'q'},                              \
  {"batch-size", required_argument, NULL, TRAIN_OPT_BATCH},       \
  {"max-seq-length", required_argument, NULL, TRAIN_OPT_MAX_SEQ}, \
  {"rank", required_argument, NULL, TRAIN_OPT_RANK},              \
  {"alpha", required_argument, NULL, TRAIN_OPT_ALPHA},            \
  {"epochs", required_argument, NULL, TRAIN_OPT_EPOCHS},          \
  {"max-steps", required_argument, NULL, TRAIN_OPT_MAX_STEPS},    \
  {"lr", required_argument, NULL, TRAIN_OPT_LR},                  \
  {"weight-decay", required_argument, NULL, TRAIN_OPT_WD},        \
  {"warmup-ratio", required_argument, NULL, TRAIN_OPT_WARMUP},    \
  {"max-grad-norm", required_argument, NULL, TRAIN_OPT_CLIP},     \
  {"dropout", required_argument, NULL, TRAIN_OPT_DROPOUT},        \
  {"seed", required_argument, NULL, TRAIN_OPT_SEED},              \
  {"no-shuffle", no_argument, NULL, TRAIN_OPT_NO_SHUFFLE},        \
  {"resume", no_argument, NULL, TRAIN_OPT_RESUME},                \
  {"save-every", required_argument, NULL, TRAIN_OPT_SAVE_EVERY},  \
  {"limit", required_argument, NULL, TRAIN_OPT_LIMIT},            \
  {"threads", required_argument, NULL, TRAIN_OPT_THREADS},        \
  {"target-modules", required_argument, NULL, TRAIN_OPT_TARGETS}, \
  CLI_DATA_LONGOPTS,                                              \
  CLI_DATA_SPLIT_LONGOPTS
/* clang-format on */

/* Help lines of the shared options: the schedule (after the command's
 * --rank and --alpha lines), then the tail (after its --resume line). */
#define TRAIN_OPT_HELP_SCHEDULE                                                                    \
  "  --epochs E            passes over the training set (3)\n"                                     \
  "  --max-steps N         stop after N optimizer steps (overrides --epochs)\n"                    \
  "  --batch-size N        examples per step (32)\n"                                               \
  "  --lr X                peak learning rate (5e-4 LoRA, 2e-5 full)\n"                            \
  "  --weight-decay X      decoupled weight decay on weights (0.01)\n"                             \
  "  --warmup-ratio X      share of steps with linear warmup (0.06)\n"                             \
  "  --max-grad-norm X     global gradient-norm clipping, 0 = off (1.0)\n"                         \
  "  --dropout P           hidden and attention dropout (config.json's)\n"                         \
  "  --seed S              shuffling, dropout and LoRA initialisation (42)\n"                      \
  "  --no-shuffle          keep the training file's order\n"                                       \
  "  --max-seq-length N    truncation length (128, or max_position_embeddings)\n"                  \
  "  --target-modules LIST LoRA on these modules, PEFT's names (query,value;\n"                    \
  "                        intermediate.dense,output.dense; DistilBERT q_lin,lin1);\n"             \
  "                        default the four attention projections\n"
#define TRAIN_OPT_HELP_TAIL                                                                        \
  "  --save-every N        also checkpoint every N steps (at epoch ends only)\n"                   \
  "  --limit N             only the first N training examples\n"                                   \
  "  --threads N           compute threads (sets OMP_NUM_THREADS)\n"                               \
  "  -q, --quiet           nothing on stderr but errors\n"                                         \
  "  -h, --help            show this help\n"                                                       \
  "\n" CLI_DATA_HELP CLI_DATA_SPLIT_HELP

/* What the shared options set. */
typedef struct train_opts {
  const char *model, *data, *out; /* --model, --data, --out (NULL if not given) */
  const char *task_name;          /* --task, for tpa_task_from_name */
  bool quiet;
  tpa_train_params tp; /* everything but the callbacks and checkpoint_dir */
  int32_t rank;        /* LoRA rank of every module (8) */
  const char *targets; /* --target-modules, comma-separated (NULL: all four) */
  int32_t threads;     /* 0: leave OMP_NUM_THREADS alone */
  double alpha;        /* 0 = 2 * rank */
  size_t limit;        /* first N training examples; 0 = all */
  bool epochs_set, lr_set, batch_set, dropout_set; /* given on the command line */
  cli_data_opts table;                             /* your own data (without --task) */
} train_opts;

/* The defaults: tpa_train_params_init's, rank 8, nothing else given. */
void train_opts_init(train_opts *o);

/* The next option of command @p cmd that is not a shared one, like
 * cli_next_option (with TRAIN_OPT_SHORT): the shared options met on the
 * way are recorded in @p o. Returns 0 when parsing stops, with *rc
 * CLI_PARSED, CLI_HELP_SHOWN or CLI_EXIT_USAGE (after printing the
 * problem). Set optind = 1 before the first call. */
int train_opts_next(const char *cmd, const char *help, int argc, char **argv,
                    const struct option *longopts, train_opts *o, int *rc);

/* After a command's parser returned @p parsed: CLI_PARSED to go on (with
 * --threads in effect, see cli_apply_threads), else the exit code: 0 after
 * --help, the usage error's, or CLI_EXIT_FAILURE. */
int train_opts_apply(int parsed, const train_opts *o);

/* --target-modules resolved on @p model's family: keep[k] is true for the
 * LoRA modules to adapt (all when the option is absent). False after
 * printing why an entry names no module LoRA adapts. */
bool train_opts_targets(const train_opts *o, const tpa_model *model,
                        bool keep[TPA_LORA_ALL_MODULES]);

/* Apply keep[] to the per-module ranks ([layers * TPA_LORA_MODULES],
 * the same rank for a block's modules): *ffn_ranks gets the feed-forward
 * ranks ([layers * 2], the block's rank where kept; NULL, nothing
 * allocated, when neither FFN module is kept) and the attention modules
 * not kept get rank 0. False (after printing why) when out of memory. */
bool train_opts_split_ranks(const bool keep[TPA_LORA_ALL_MODULES], int32_t *ranks, int32_t layers,
                            int32_t **ffn_ranks);

/* After parsing: the data options against --task (a usage error and
 * false), and --seed and --metric passed on to the dev split and to
 * training. */
bool train_opts_check_data(const char *cmd, train_opts *o);

#endif /* TPA_TRAIN_OPTS_H */
