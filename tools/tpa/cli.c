/* SPDX-License-Identifier: Apache-2.0 */
/* Shared pieces of the `tpa` command (see cli.h). */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char **cli_argv_full;

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

int cli_usage(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tpa %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'tpa %s --help' for more information.\n", cmd);
  return CLI_EXIT_USAGE;
}

int cli_fail_lib(tpa_status st) {
  const char *msg = tpa_last_error();
  fprintf(stderr, "tpa: %s\n", msg[0] != '\0' ? msg : tpa_status_str(st));
  return CLI_EXIT_FAILURE;
}

int cli_fail(const char *fmt, ...) {
  va_list ap;
  fputs("tpa: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_EXIT_FAILURE;
}

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
    cli_usage(cmd, "invalid value '%s' for --%s (a number from %g to %g)", text, opt, lo, hi);
    return false;
  }
  *out = v;
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

int cli_parse_run(const cli_command *cmd, unsigned accepted, int argc, char **argv,
                  cli_run_opts *opts) {
  struct option longopts[RUN_OPTION_COUNT + 2];
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
  longopts[nl] = (struct option){NULL, 0, NULL, 0};
  shortopts[ns] = '\0';

  *opts = (cli_run_opts){.max_seq_length = 128, .batch_size = 32};
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
    }
  }
  if (rc != CLI_PARSED)
    return rc;

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

/* ------------------------------------------------------------------------ */
/* Atomic output                                                            */

/* The temporary file currently open, removed if SIGINT/SIGTERM/SIGHUP end
 * the run (unlink is async-signal-safe; the path is set before the
 * handler is installed and cleared before it is freed). */
static char *volatile pending_tmp;

static void remove_pending_and_reraise(int sig) {
  char *tmp = pending_tmp;
  if (tmp != NULL)
    unlink(tmp);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void watch_signals(char *tmp) {
  pending_tmp = tmp;
  if (tmp == NULL)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = remove_pending_and_reraise;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/* Remove the ".BASE.tmp.XXXXXX" files in directory @p dir (@p dirlen
 * bytes of @p path, 0 for ".") that a killed run left: ours (same user),
 * regular, and not flock()ed by a live writer. Best effort. */
static void remove_stale_temps(const char *path, size_t dirlen, const char *base) {
  char *dir = dirlen > 0 ? strndup(path, dirlen) : strdup(".");
  size_t plen = strlen(base) + sizeof "..tmp.";
  char *prefix = malloc(plen);
  DIR *d = dir != NULL && prefix != NULL ? opendir(dir) : NULL;
  if (d != NULL) {
    snprintf(prefix, plen, ".%s.tmp.", base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      const char *rest = e->d_name + strlen(prefix);
      if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || strlen(rest) != 6 ||
          strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 6)
        continue;
      int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      struct stat st;
      if (fd < 0)
        continue;
      if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
          flock(fd, LOCK_EX | LOCK_NB) == 0)
        (void)unlinkat(dirfd(d), e->d_name, 0);
      close(fd);
    }
    closedir(d);
  }
  free(prefix);
  free(dir);
}

bool cli_output_open(cli_output *o, const char *path) {
  *o = (cli_output){0};
  if (path == NULL || strcmp(path, "-") == 0) {
    o->fp = stdout;
    return true;
  }
  size_t len = strlen(path);
  if (len == 0) {
    cli_fail("--out: empty file name");
    return false;
  }
  /* Refuse a directory now rather than after the whole computation, when
   * rename() would. */
  struct stat st;
  if (path[len - 1] == '/' || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
    cli_fail("--out %s: is a directory", path);
    return false;
  }
  /* Same directory as the target, so rename() stays on one file system. */
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dirlen;
  static const char suffix[] = ".tmp.XXXXXX";
  o->path = strdup(path);
  o->tmp = malloc(len + 2 + sizeof suffix);
  if (o->path == NULL || o->tmp == NULL) {
    cli_output_abort(o);
    cli_fail("out of memory");
    return false;
  }
  /* "dir/.base.tmp.XXXXXX": hidden, and clearly ours if left by a crash. */
  memcpy(o->tmp, path, dirlen);
  o->tmp[dirlen] = '.';
  memcpy(o->tmp + dirlen + 1, base, len - dirlen);
  memcpy(o->tmp + len + 1, suffix, sizeof suffix);

  remove_stale_temps(path, dirlen, base);
  /* A signal between creating the file and installing the handler would
   * leave the file behind: hold the signals until both are done. */
  sigset_t hold, saved;
  sigemptyset(&hold);
  sigaddset(&hold, SIGINT);
  sigaddset(&hold, SIGTERM);
  sigaddset(&hold, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hold, &saved);
  int fd = mkostemp(o->tmp, O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    free(o->tmp);
    o->tmp = NULL;
    cli_output_abort(o);
    cli_fail("--out %s: cannot create a file in its directory: %s", path, strerror(err));
    return false;
  }
  /* The lock tells remove_stale_temps() in another run that we are alive. */
  (void)flock(fd, LOCK_EX | LOCK_NB);
  watch_signals(o->tmp);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  /* mkstemp makes the file 0600; give it the mode a plain fopen() would. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  o->fp = fdopen(fd, "w");
  if (o->fp == NULL) {
    int err = errno;
    close(fd);
    cli_output_abort(o);
    cli_fail("--out %s: %s", path, strerror(err));
    return false;
  }
  return true;
}

bool cli_output_commit(cli_output *o) {
  if (o->fp == NULL)
    return false;
  if (o->path == NULL) {
    /* stdout: a full disk or closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
      cli_fail("writing standard output: %s", strerror(errno));
      o->fp = NULL;
      return false;
    }
    o->fp = NULL;
    return true;
  }
  int err = 0;
  if (fflush(o->fp) != 0 || ferror(o->fp))
    err = errno != 0 ? errno : EIO;
  else if (fsync(fileno(o->fp)) != 0)
    err = errno;
  if (fclose(o->fp) != 0 && err == 0)
    err = errno;
  o->fp = NULL;
  if (err == 0 && rename(o->tmp, o->path) != 0)
    err = errno;
  if (err != 0) {
    cli_fail("writing %s: %s", o->path, strerror(err));
    cli_output_abort(o);
    return false;
  }
  /* Make the rename itself durable: fsync the directory. The new file is
   * in place already; a failure here is still reported, as the file may
   * not survive a power loss. */
  watch_signals(NULL);
  const char *slash = strrchr(o->path, '/');
  char *dir = slash != NULL ? strndup(o->path, (size_t)(slash - o->path) + 1) : strdup(".");
  int dfd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS))
    err = dir == NULL ? ENOMEM : errno;
  if (dfd >= 0)
    close(dfd);
  if (err != 0)
    cli_fail("writing %s: syncing directory %s: %s", o->path, dir != NULL ? dir : ".",
             strerror(err));
  free(dir);
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
  return err == 0;
}

void cli_output_abort(cli_output *o) {
  if (o->fp != NULL && o->fp != stdout)
    fclose(o->fp);
  o->fp = NULL;
  if (o->tmp != NULL) {
    watch_signals(NULL);
    unlink(o->tmp);
  }
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
}

/* ------------------------------------------------------------------------ */
/* Progress                                                                 */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, bool quiet) {
  /* The clock starts here, before the work, so the rate is right even
   * when the library reports only once. */
  *p = (cli_progress){.quiet = quiet, .tty = isatty(STDERR_FILENO) == 1};
  p->start = p->last = now_seconds();
}

bool cli_progress_cb(void *user, const char *stage, uint64_t done, uint64_t total) {
  cli_progress *p = user;
  if (p->quiet)
    return true;
  double t = now_seconds();
  bool finished = done >= total;
  /* Redraw a bar at most 10 times a second; plain lines every 10 s. */
  double every = p->tty ? 0.1 : 10.0;
  if (!finished && t - p->last < every)
    return true;
  if (finished && p->finished)
    return true; /* the final state was already shown */
  p->last = t;
  p->finished = finished;
  double frac = total > 0 ? (double)done / (double)total : 1.0;
  double elapsed = t - p->start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
  if (p->tty) {
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
      bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %llu/%llu %3.0f%% %.1f/s ", stage, bar, (unsigned long long)done,
            (unsigned long long)total, 100.0 * frac, rate);
    p->drawn = true;
    if (finished) {
      fputc('\n', stderr);
      p->drawn = false;
    }
  } else {
    fprintf(stderr, "tpa: %s %llu/%llu (%.0f%%, %.1f/s)\n", stage, (unsigned long long)done,
            (unsigned long long)total, 100.0 * frac, rate);
  }
  fflush(stderr);
  return true;
}

void cli_progress_end(cli_progress *p) {
  if (p->drawn) {
    fputc('\n', stderr);
    p->drawn = false;
  }
}

/* ------------------------------------------------------------------------ */
/* Model and data                                                           */

/* The library's log messages on stderr. INFO matters here: it is how the
 * loader says it created a random classifier for a bare BertModel, which
 * makes every prediction meaningless. DEBUG stays silent. */
static void log_to_stderr(void *user, tpa_log_level level, const char *msg) {
  (void)user;
  if (level > TPA_LOG_INFO)
    return;
  fprintf(stderr, "tpa: %s%s\n",
          level == TPA_LOG_ERROR  ? "error: "
          : level == TPA_LOG_WARN ? "warning: "
                                  : "",
          msg);
}

tpa_status cli_model_load(tpa_model **model, const char *dir, bool quiet) {
  tpa_model_load_params lp;
  tpa_model_load_params_init(&lp, sizeof lp);
  lp.log = quiet ? NULL : log_to_stderr;
  tpa_status st = tpa_model_load(model, dir, &lp);
  if (st != TPA_OK)
    cli_fail_lib(st);
  return st;
}

bool cli_load_model_and_data(cli_run_opts *o, tpa_model **model, tpa_dataset **ds) {
  *model = NULL;
  *ds = NULL;
  tpa_status st = cli_model_load(model, o->model, o->quiet);
  if (st != TPA_OK)
    return false;
  /* The default length must fit the model's position table (small test
   * models have fewer than 128 positions); an explicit value is passed on
   * as given, so a wrong one is reported rather than silently changed. */
  tpa_model_config cfg = {.size = sizeof cfg};
  if (!o->max_seq_length_set && tpa_model_get_config(*model, &cfg) == TPA_OK &&
      cfg.max_position_embeddings > 0 && cfg.max_position_embeddings < o->max_seq_length)
    o->max_seq_length = cfg.max_position_embeddings;
  /* tokenize never reaches the model: refuse a length the model could
   * not run here, for every command alike. */
  if (o->max_seq_length_set && tpa_model_get_config(*model, &cfg) == TPA_OK &&
      o->max_seq_length > cfg.max_position_embeddings) {
    cli_fail("--max-seq-length: max_seq_length %d must be in 3..%d (max_position_embeddings of %s)",
             (int)o->max_seq_length, (int)cfg.max_position_embeddings, o->model);
    tpa_model_free(*model);
    *model = NULL;
    return false;
  }
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = o->limit;
  st = tpa_dataset_load(ds, o->task, o->data, &dp);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    tpa_model_free(*model);
    *model = NULL;
    return false;
  }
  return true;
}

bool cli_predict_all(const cli_run_opts *o, const tpa_model *model, const tpa_dataset *ds,
                     float **logits_out, int32_t *num_labels_out) {
  *logits_out = NULL;
  tpa_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.size = sizeof cfg;
  tpa_status st = tpa_model_get_config(model, &cfg);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  size_t n = tpa_dataset_size(ds);
  size_t width = cfg.num_labels > 0 ? (size_t)cfg.num_labels : 0;
  if (width == 0 || (n > 0 && width > SIZE_MAX / sizeof(float) / n)) {
    cli_fail("%s: %zu examples of %d labels do not fit in memory", o->data, n, cfg.num_labels);
    return false;
  }
  size_t cap = n * width;
  /* +1 so an empty file still gets a valid, freeable buffer. */
  float *logits = calloc(cap + 1, sizeof *logits);
  if (logits == NULL) {
    cli_fail("out of memory (%zu logits)", cap);
    return false;
  }
  cli_progress prog;
  cli_progress_init(&prog, o->quiet);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = o->max_seq_length;
  pp.batch_size = o->batch_size;
  pp.progress = cli_progress_cb;
  pp.user = &prog;
  st = tpa_model_predict(model, ds, &pp, logits, cap);
  cli_progress_end(&prog);
  if (st != TPA_OK) {
    free(logits);
    cli_fail_lib(st);
    return false;
  }
  *logits_out = logits;
  *num_labels_out = cfg.num_labels;
  return true;
}
