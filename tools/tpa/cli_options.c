/* SPDX-License-Identifier: Apache-2.0 */
/* Option parsing shared by the `tpa` commands, and --threads (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char **cli_argv_full;

/* ------------------------------------------------------------------------ */
/* Option parsing                                                           */

bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                   long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  /* strtol accepts leading blanks and a sign; demand plain digits so
   * "--batch-size ' 8'" or "--batch-size 8x" are rejected, not guessed. */
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    cli_usage(cmd, "invalid value '%s' for --%s (an integer from %ld to %ld)", text, opt, lo, hi);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_real(const char *cmd, const char *opt, const char *text, double lo, double hi,
                    double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
    if (isinf(lo) && isinf(hi))
      cli_usage(cmd, "invalid value '%s' for --%s (a finite number)", text, opt);
    else
      cli_usage(cmd, "invalid value '%s' for --%s (a number from %g to %g)", text, opt, lo, hi);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_share(const char *cmd, const char *opt, const char *text, double *out) {
  if (!cli_parse_real(cmd, opt, text, 0, 1, out))
    return false;
  if (*out == 0) {
    cli_usage(cmd, "--%s 0 would keep no neuron (the share kept, in (0, 1])", opt);
    return false;
  }
  return true;
}

bool cli_parse_task(const char *cmd, const char *name, tpa_task *out) {
  if (tpa_task_from_name(name, out) == TPA_OK)
    return true;
  cli_usage(cmd, "unknown task '%s' (one of cola sst2 mrpc stsb qqp mnli qnli rte wnli)", name);
  return false;
}

bool cli_parse_choice(const char *cmd, const char *opt, const char *text, const char *const *names,
                      int *out) {
  int n = 0;
  while (names[n] != NULL)
    n++;
  for (int i = 0; i < n; i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = i;
      return true;
    }
  }
  /* "a or b", "a, b or c" */
  char list[256];
  size_t len = 0;
  list[0] = '\0';
  for (int i = 0; i < n && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", names[i],
                            i + 2 < n    ? ", "
                            : i + 2 == n ? " or "
                                         : "");
  cli_usage(cmd, "invalid value '%s' for --%s (%s)", text, opt, list);
  return false;
}

bool cli_missing(const char *cmd, const char *value, const char *what) {
  if (value != NULL && *value != '\0')
    return false;
  cli_usage(cmd, "missing %s", what);
  return true;
}

int cli_next_option(const char *cmd, const char *help, int argc, char **argv, const char *shortopts,
                    const struct option *longopts, int *rc) {
  opterr = 0;
  int c = getopt_long(argc, argv, shortopts, longopts, NULL);
  switch (c) {
  case -1:
    *rc = optind < argc ? cli_usage(cmd, "unexpected argument '%s'", argv[optind]) : CLI_PARSED;
    return 0;
  case 'h':
    fputs(help, stdout);
    *rc = CLI_HELP_SHOWN;
    return 0;
  case ':':
    *rc = cli_usage(cmd, "option '%s' needs a value", cli_rejected_option(argv, optind, optopt));
    return 0;
  case '?':
    *rc = cli_usage(cmd, "invalid option '%s'", cli_rejected_option(argv, optind, optopt));
    return 0;
  default: return c;
  }
}

/* Every option a data-driven command may take; each command accepts the
 * subset its flag mask names. */
static const struct {
  unsigned flag;
  struct option opt;
} run_options[] = {
    {CLI_OPT_MODEL, {"model", required_argument, NULL, 'm'}},
    {CLI_OPT_TASK, {"task", required_argument, NULL, 't'}},
    {CLI_OPT_DATA, {"data", required_argument, NULL, 'd'}},
    {CLI_OPT_MAX_SEQ, {"max-seq-length", required_argument, NULL, 'L'}},
    {CLI_OPT_BATCH, {"batch-size", required_argument, NULL, 'b'}},
    {CLI_OPT_OUT, {"out", required_argument, NULL, 'o'}},
    {CLI_OPT_THREADS, {"threads", required_argument, NULL, 'j'}},
    {CLI_OPT_QUIET, {"quiet", no_argument, NULL, 'q'}},
    {CLI_OPT_LIMIT, {"limit", required_argument, NULL, 'n'}},
};
#define RUN_OPTION_COUNT (sizeof run_options / sizeof run_options[0])

const char *cli_rejected_option(char **argv, int optind_now, int optopt_now) {
  /* A long option is the whole argument ("--bogus", "--json=x"); for a
   * short one the argument may hold several letters ("-qx"), so name the
   * letter getopt stopped at. */
  static char shortname[3];
  const char *arg = optind_now > 0 ? argv[optind_now - 1] : "";
  if (strncmp(arg, "--", 2) == 0 || optopt_now == 0)
    return arg;
  shortname[0] = '-';
  shortname[1] = (char)optopt_now;
  shortname[2] = '\0';
  return shortname;
}

static const struct option data_options[] = {CLI_DATA_LONGOPTS};
#define DATA_OPTION_COUNT (sizeof data_options / sizeof data_options[0])

int cli_parse_run(const cli_command *cmd, unsigned accepted, int argc, char **argv,
                  cli_run_opts *opts) {
  struct option longopts[RUN_OPTION_COUNT + DATA_OPTION_COUNT + 2];
  char shortopts[2 * RUN_OPTION_COUNT + 4];
  size_t nl = 0, ns = 0;
  unsigned seen = 0;

  /* A leading ':' makes getopt report a missing argument as ':' instead of
   * printing its own message; cli_next_option silences the rest. */
  shortopts[ns++] = ':';
  shortopts[ns++] = 'h';
  longopts[nl++] = (struct option){"help", no_argument, NULL, 'h'};
  for (size_t i = 0; i < RUN_OPTION_COUNT; i++) {
    if (!(accepted & run_options[i].flag))
      continue;
    longopts[nl++] = run_options[i].opt;
    /* Short forms only for the two flags people type most. */
    if (run_options[i].opt.val == 'o' || run_options[i].opt.val == 'q') {
      shortopts[ns++] = (char)run_options[i].opt.val;
      if (run_options[i].opt.has_arg == required_argument)
        shortopts[ns++] = ':';
    }
  }
  for (size_t i = 0; (accepted & CLI_OPT_TABLE) && i < DATA_OPTION_COUNT; i++)
    longopts[nl++] = data_options[i];
  longopts[nl] = (struct option){NULL, 0, NULL, 0};
  shortopts[ns] = '\0';

  *opts = (cli_run_opts){.max_seq_length = 128, .batch_size = 32, .task = (tpa_task)TPA_TASK_COUNT};
  cli_data_init(&opts->table);
  const char *task_name = NULL;
  long v = 0;

  int c, rc = CLI_PARSED;
  optind = 1;
  while ((c = cli_next_option(cmd->name, cmd->help, argc, argv, shortopts, longopts, &rc))) {
    switch (c) {
    case 'm':
      opts->model = optarg;
      seen |= CLI_OPT_MODEL;
      break;
    case 't':
      task_name = optarg;
      seen |= CLI_OPT_TASK;
      break;
    case 'd':
      opts->data = optarg;
      seen |= CLI_OPT_DATA;
      break;
    case 'o': opts->out = optarg; break;
    case 'q': opts->quiet = true; break;
    case 'L':
      if (!cli_parse_int(cmd->name, "max-seq-length", optarg, 2, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      opts->max_seq_length = (int32_t)v;
      opts->max_seq_length_set = true;
      break;
    case 'b':
      if (!cli_parse_int(cmd->name, "batch-size", optarg, 1, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      opts->batch_size = (int32_t)v;
      break;
    case 'j':
      if (!cli_parse_int(cmd->name, "threads", optarg, 1, 4096, &v))
        return CLI_EXIT_USAGE;
      opts->threads = (int32_t)v;
      break;
    case 'n':
      if (!cli_parse_int(cmd->name, "limit", optarg, 1, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      opts->limit = (size_t)v;
      break;
    default:
      if (cli_data_option(cmd->name, c, optarg, (accepted & CLI_OPT_FORMAT_OUT) != 0,
                          &opts->table) < 0)
        return CLI_EXIT_USAGE;
      break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  /* With the data options --task is optional: without it, a table. */
  if (accepted & CLI_OPT_TABLE) {
    accepted &= ~(unsigned)CLI_OPT_TASK;
    if (!cli_data_check(cmd->name, &opts->table, task_name != NULL))
      return CLI_EXIT_USAGE;
  }

  static const struct {
    unsigned flag;
    const char *name;
  } required[] = {{CLI_OPT_MODEL, "--model"}, {CLI_OPT_TASK, "--task"}, {CLI_OPT_DATA, "--data"}};
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    if ((accepted & required[i].flag) && !(seen & required[i].flag))
      return cli_usage(cmd->name, "missing required option %s", required[i].name);

  if (task_name != NULL && !cli_parse_task(cmd->name, task_name, &opts->task))
    return CLI_EXIT_USAGE;
  return CLI_PARSED;
}

bool cli_apply_threads(int32_t threads, char **argv_full) {
  if (threads <= 0)
    return true;
  char want[16];
  snprintf(want, sizeof want, "%d", (int)threads);
  const char *have = getenv("OMP_NUM_THREADS");
  if (have != NULL && strcmp(have, want) == 0)
    return true; /* already in effect (possibly after our own re-exec) */
  if (setenv("OMP_NUM_THREADS", want, 1) != 0) {
    cli_fail("--threads: cannot set OMP_NUM_THREADS: %s", strerror(errno));
    return false;
  }
  fflush(NULL);
  execv("/proc/self/exe", argv_full);
  cli_fail("--threads: cannot re-execute /proc/self/exe: %s (set OMP_NUM_THREADS=%s instead)",
           strerror(errno), want);
  return false;
}
