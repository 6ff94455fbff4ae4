/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the `tpa` command, one file per job: errors
 * (cli_errors.c), option parsing (cli_options.c), output (cli_output.c),
 * progress and the clock (cli_progress.c), loading models and data, paths
 * and directories (cli_load.c). Uses only the public API in
 * include/tpa/. */
#ifndef TPA_CLI_H
#define TPA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_data.h"
#include "tpa/tpa.h"

/* Exit codes, as documented in docs/cli.md. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* One subcommand: its entry point and its help text (printed for
 * `tpa CMD --help` and `tpa help CMD`). */
typedef struct cli_command {
  const char *name;
  const char *summary;               /* one line for `tpa --help` */
  const char *help;                  /* full usage text */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

extern const cli_command cli_cmd_info;
extern const cli_command cli_cmd_tokenize;
extern const cli_command cli_cmd_predict;
extern const cli_command cli_cmd_eval;
extern const cli_command cli_cmd_train;
extern const cli_command cli_cmd_merge;
extern const cli_command cli_cmd_run;
extern const cli_command cli_cmd_importance;
extern const cli_command cli_cmd_prune;
extern const cli_command cli_cmd_quantize;

/* --- data parallelism (cli_dist.c, docs/distributed.md) ------------------- */

/* Under mpirun (and built with MPI): initialise MPI and create the
 * communicator; ranks other than 0 get stdout silenced. Without mpirun:
 * nothing. Prints why and returns false on failure. */
bool cli_dist_setup(void);
/* The communicator for the library (NULL: single process). */
const tpa_dist *cli_dist(void);
/* True on rank 0 or in a single process: the rank that prints and writes. */
bool cli_dist_lead(void);
/* End MPI if cli_dist_setup started it (MPI_Abort of the whole job when
 * @p rc is a failure, so no rank waits forever); returns @p rc. */
int cli_dist_finish(int rc);

/* --- errors ------------------------------------------------------------ */

/* Print "tpa CMD: <message>" and a hint to use --help on stderr; returns
 * CLI_EXIT_USAGE so callers can `return cli_usage(...)`. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "tpa: <tpa_last_error()>" (or the status text when the message is
 * empty) on stderr; returns CLI_EXIT_FAILURE. */
int cli_fail_lib(tpa_status st);

/* Print "tpa: <message>" on stderr; returns CLI_EXIT_FAILURE. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- options of the data-driven commands --------------------------------- */

/* Bits saying which options a command accepts. */
enum {
  CLI_OPT_MODEL = 1u << 0,
  CLI_OPT_TASK = 1u << 1,
  CLI_OPT_DATA = 1u << 2,
  CLI_OPT_MAX_SEQ = 1u << 3,
  CLI_OPT_BATCH = 1u << 4,
  CLI_OPT_OUT = 1u << 5,
  CLI_OPT_THREADS = 1u << 6,
  CLI_OPT_QUIET = 1u << 7,
  CLI_OPT_LIMIT = 1u << 8,
  /* the data options of cli_data.h; --task becomes optional */
  CLI_OPT_TABLE = 1u << 9,
  /* with CLI_OPT_TABLE: --format is the output's (predict) */
  CLI_OPT_FORMAT_OUT = 1u << 10,
};

typedef struct cli_run_opts {
  const char *model;       /* --model DIR (required) */
  const char *data;        /* --data FILE (required) */
  const char *out;         /* --out FILE, NULL for stdout */
  tpa_task task;           /* --task TASK; TPA_TASK_COUNT: a table of one's own */
  cli_data_opts table;     /* the data options (CLI_OPT_TABLE) */
  cli_classes classes;     /* how cli_load_model_and_data reads labels */
  int32_t max_seq_length;  /* default min(128, max_position_embeddings) */
  bool max_seq_length_set; /* given on the command line */
  int32_t batch_size;      /* default 32 */
  int32_t threads;         /* 0: leave OMP_NUM_THREADS alone */
  size_t limit;            /* --limit N examples, 0 = all */
  bool quiet;
} cli_run_opts;

/* Result of cli_parse_run(). */
enum { CLI_PARSED = -1, CLI_HELP_SHOWN = -2 };

/* Parse the options of a data-driven command (getopt_long, accepting only
 * the options flagged in @p accepted, `--opt value` and `--opt=value`).
 * Returns CLI_PARSED, CLI_HELP_SHOWN (help went to stdout: exit 0) or
 * CLI_EXIT_USAGE after printing the problem. */
int cli_parse_run(const cli_command *cmd, unsigned accepted, int argc, char **argv,
                  cli_run_opts *opts);

/* The option text getopt_long just rejected (for '?' or ':'), for the
 * usage message. The result may point to a static buffer. */
const char *cli_rejected_option(char **argv, int optind_now, int optopt_now);

/* Parse a decimal integer in [lo, hi] given to option @p opt; prints a
 * usage error and returns false when it is not one. */
bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi, long *out);

/* Parse a finite decimal number in [lo, hi] given to option @p opt; prints
 * a usage error and returns false when it is not one. */
bool cli_parse_real(const char *cmd, const char *opt, const char *text, double lo, double hi,
                    double *out);

/* Parse a share in (0, 1] given to option @p opt (--ffn-keep,
 * --ffn-global): 0 would keep nothing, so it is a usage error too. */
bool cli_parse_share(const char *cmd, const char *opt, const char *text, double *out);

/* Look up a task by name (tpa_task_from_name); prints a usage error listing
 * the tasks and returns false when there is no such task. */
bool cli_parse_task(const char *cmd, const char *name, tpa_task *out);

/* Parse the value of option @p opt as one of @p names (NULL-terminated)
 * and store its index; prints a usage error naming the choices and
 * returns false when it is none of them. */
bool cli_parse_choice(const char *cmd, const char *opt, const char *text, const char *const *names,
                      int *out);

/* When @p value is NULL or empty, print the usage error "missing WHAT"
 * (e.g. "--model DIR") and return true. */
bool cli_missing(const char *cmd, const char *value, const char *what);

/* The next option of command @p cmd from getopt_long (with getopt's own
 * messages off; @p shortopts starts with ':' and has 'h' for --help, which
 * prints @p help). Returns the option's value, or 0 when parsing stops:
 * then *rc is CLI_PARSED (all options read, no argument left over),
 * CLI_HELP_SHOWN, or CLI_EXIT_USAGE after printing the problem. Set
 * optind = 1 before the first call:
 *
 *   optind = 1;
 *   while ((c = cli_next_option("cmd", help, argc, argv, ":hq", opts, &rc)))
 *     switch (c) { ... }
 *   if (rc != CLI_PARSED)
 *     return rc;
 */
int cli_next_option(const char *cmd, const char *help, int argc, char **argv, const char *shortopts,
                    const struct option *longopts, int *rc);

/* Make --threads effective. libgomp reads OMP_NUM_THREADS once, when it is
 * loaded (before main), so setting it later does nothing: when the value
 * differs, set it and re-execute this program. Returns only when no
 * re-exec was needed (or it failed, after printing why: then false). */
bool cli_apply_threads(int32_t threads, char **argv_full);

/* Save the full argv for cli_apply_threads (set by main). */
extern char **cli_argv_full;

/* --- output -------------------------------------------------------------- */

/* Destination of a command's results: standard output, or a file written
 * under a temporary name in the same directory and renamed into place only
 * when complete, so a failed run never leaves a half-written file nor
 * truncates an existing one. */
typedef struct cli_output {
  FILE *fp;
  char *path;            /* final path, NULL for stdout */
  tpa_output_file *file; /* the library's atomic writer behind fp */
  char *tmp;             /* its temporary path, for the signal handler */
} cli_output;

/* Write @p s as a JSON string (quoted, escaped); NULL as null. */
void cli_json_string(FILE *fp, const char *s);

/* Open @p path (NULL or "-" for stdout). On failure prints why and
 * returns false. */
bool cli_output_open(cli_output *o, const char *path);

/* Flush, then commit through tpa_output_file_commit (fsync, rename,
 * directory fsync). Prints the problem and returns false on any write
 * error (the temporary file is then removed). */
bool cli_output_commit(cli_output *o);

/* Close and remove the temporary file (no-op for stdout or when already
 * committed). Safe to call twice. */
void cli_output_abort(cli_output *o);

/* @p root (a jansson json_t) as indented JSON with a final newline, written
 * through cli_output (atomically): how metrics.json and the like are saved.
 * Prints the problem and returns false on failure. */
struct json_t;
bool cli_write_json(const char *path, const struct json_t *root);

/* --- progress ------------------------------------------------------------ */

/* State of the progress display on stderr: a redrawn bar when stderr is a
 * terminal, plain lines every few seconds otherwise, nothing when quiet. */
typedef struct cli_progress {
  bool quiet;
  bool tty;
  bool drawn;    /* the bar is on screen and needs a final newline */
  bool finished; /* the final state has been shown */
  double start;  /* monotonic seconds at the first call */
  double last;   /* time of the last update printed */
} cli_progress;

void cli_progress_init(cli_progress *p, bool quiet);

/* A tpa_progress_fn; @p user is a cli_progress. Never cancels. */
bool cli_progress_cb(void *user, const char *stage, uint64_t done, uint64_t total);

/* Finish the line of a bar left on screen (call before printing errors). */
void cli_progress_end(cli_progress *p);

/* Monotonic seconds: the one clock of the command's timings. */
double cli_now(void);

/* Peak resident set of this process so far, in MB. */
double cli_peak_rss_mb(void);

/* --- model and data helpers shared by the commands ------------------------ */

/* The command's tpa_log_fn: the library's INFO and above on stderr. */
void cli_log_stderr(void *user, tpa_log_level level, const char *msg);

/* tpa_model_load() with @p num_labels (0: the checkpoint's; another count
 * gets a new, seeded classifier) and the library's log messages on stderr
 * unless @p quiet; prints the error on failure. */
tpa_status cli_model_load(tpa_model **model, const char *dir, int32_t num_labels, bool quiet);

/* "dir/name" in a new string (free()), NULL after a message when out of
 * memory. */
char *cli_join(const char *dir, const char *name);

/* mkdir -p @p dir, named in messages as the value of option @p opt
 * ("--out"); false after a message. */
bool cli_make_dirs(const char *opt, const char *dir);

/* Load the model and dataset named by @p o (with --limit applied) and,
 * unless --max-seq-length was given, lower the default length to the
 * model's max_position_embeddings. On failure prints the library's message
 * and returns false; nothing leaks. */
bool cli_load_model_and_data(cli_run_opts *o, tpa_model **model, tpa_dataset **ds);

/* Run tpa_model_predict over @p ds with the options of @p o and a progress
 * display. *logits_out (n * num_labels floats, caller frees) and
 * *num_labels_out are set on success. Prints the error and returns false
 * on failure. */
bool cli_predict_all(const cli_run_opts *o, const tpa_model *model, const tpa_dataset *ds,
                     float **logits_out, int32_t *num_labels_out);

#endif /* TPA_CLI_H */
