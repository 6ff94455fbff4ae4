/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa run`: measuring inference (speed in this process, peak memory in a
 * separate process of its own) and finding the shipped default files. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* The default model and task                                               */

static bool has_default(const char *dir) {
  char path[4096];
  struct stat st;
  int n = snprintf(path, sizeof path, "%s/model/config.json", dir);
  if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0)
    return false;
  n = snprintf(path, sizeof path, "%s/task/train.tsv", dir);
  return n >= 0 && (size_t)n < sizeof path && stat(path, &st) == 0;
}

char *run_default_dir(void) {
  /* The build bakes in both places (tools/tpa/meson.build): an installed
   * tpa finds its data directory, an uninstalled build/tools/tpa/tpa the
   * source tree it was built from. */
  const char *env = getenv("TPA_DEFAULT_DIR");
  const char *dir = NULL;
  if (env != NULL && env[0] != '\0') {
    if (!has_default(env)) {
      cli_fail("TPA_DEFAULT_DIR=%s: no model/config.json and task/train.tsv there", env);
      return NULL;
    }
    dir = env;
  }
#ifdef TPA_DEFAULT_INSTALL_DIR
  if (dir == NULL && has_default(TPA_DEFAULT_INSTALL_DIR))
    dir = TPA_DEFAULT_INSTALL_DIR;
#endif
#ifdef TPA_DEFAULT_SOURCE_DIR
  if (dir == NULL && has_default(TPA_DEFAULT_SOURCE_DIR))
    dir = TPA_DEFAULT_SOURCE_DIR;
#endif
  if (dir == NULL) {
    cli_fail("the default model and task were not found (installed or in the source tree); "
             "set TPA_DEFAULT_DIR or give --model, --task and --data");
    return NULL;
  }
  char *copy = strdup(dir);
  if (copy == NULL)
    cli_fail("out of memory");
  return copy;
}

/* ------------------------------------------------------------------------ */
/* Speed                                                                    */

static bool predict_timed(const run_opts *o, const tpa_model *m, const tpa_dataset *dev,
                          float *logits, size_t cap, double *seconds) {
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = o->t.tp.max_seq_length;
  pp.batch_size = o->t.tp.batch_size;
  const double t0 = cli_now();
  tpa_status st = tpa_model_predict(m, dev, &pp, logits, cap);
  *seconds = cli_now() - t0;
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  return true;
}

static bool dev_metric(const run_opts *o, const tpa_dataset *dev, const float *logits,
                       double *out) {
  const size_t n = tpa_dataset_size(dev);
  float *labels = malloc((n + 1) * sizeof *labels);
  if (labels == NULL) {
    cli_fail("out of memory");
    return false;
  }
  for (size_t i = 0; i < n; i++)
    labels[i] = tpa_dataset_label(dev, i);
  tpa_metrics m = {.size = sizeof m};
  tpa_metrics_extra x = {.size = sizeof x};
  tpa_status st = tpa_dataset_metrics(dev, logits, labels, n, &m, &x);
  free(labels);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  /* --metric chooses `main`, as in training. */
  *out = o->t.tp.metric ? tpa_metrics_value(&m, &x, o->t.tp.metric) : m.main;
  return true;
}

/* Agreement of the int8 export with the f32 one over the same rows: the
 * share of rows whose predicted class is the same (regression: always)
 * and the largest logit difference. */
static void agreement(const float *a, const float *b, size_t n, int32_t width, run_figures *f) {
  size_t same = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    const float *x = a + i * (size_t)width, *y = b + i * (size_t)width;
    int32_t ca = 0, cb = 0;
    for (int32_t k = 0; k < width; k++) {
      ca = x[k] > x[ca] ? k : ca;
      cb = y[k] > y[cb] ? k : cb;
      const double d = fabs((double)x[k] - (double)y[k]);
      worst = d > worst ? d : worst;
    }
    same += ca == cb;
  }
  f->int8_same_class = n ? (double)same / (double)n : 1.0;
  f->int8_max_logit_diff = worst;
}

bool run_measure_speed(const run_opts *o, const tpa_model *orig, const tpa_model *final,
                       const tpa_model *int8, const tpa_dataset *dev, run_figures *f) {
  const size_t n = tpa_dataset_size(dev);
  const int32_t width = o->num_labels;
  const size_t cap = n * (size_t)width;
  const tpa_model *models[3] = {orig, final, int8};
  run_infer *out[3] = {&f->orig, &f->final, &f->int8};
  const int count = int8 ? 3 : 2;
  float *logits[3] = {NULL, NULL, NULL};
  bool ok = false;
  for (int m = 0; m < count; m++)
    if ((logits[m] = calloc(cap + 1, sizeof *logits[m])) == NULL) {
      cli_fail("out of memory (%zu logits)", cap);
      goto done;
    }
  /* Alternate the models so that load from other processes or frequency
   * changes hit all alike. The first pass of each warms the caches
   * (oneDNN primitives, pages) and is not counted, unless it took 10 s or
   * more (a large dev set on BERT-base), where warming is noise and
   * another pass would cost minutes; then passes continue until each
   * model has run at least 1 s (at most 20 passes), so tiny models are
   * not timed on a few milliseconds. */
  double total[3] = {0, 0, 0}, secs[3] = {0, 0, 0};
  int passes = 0;
  for (int i = 0; i < 21; i++) {
    bool slow = false, enough = true;
    for (int m = 0; m < count; m++) {
      if (!predict_timed(o, models[m], dev, logits[m], cap, &secs[m]))
        goto done;
      slow = slow || secs[m] >= 10.0;
    }
    if (i == 0 && !slow)
      continue;
    for (int m = 0; m < count; m++) {
      total[m] += secs[m];
      enough = enough && total[m] >= 1.0;
    }
    passes++;
    if (enough)
      break;
  }
  for (int m = 0; m < count; m++) {
    out[m]->seq_per_s = total[m] > 0 ? (double)n * passes / total[m] : 0;
    if (!dev_metric(o, dev, logits[m], &out[m]->metric))
      goto done;
    out[m]->measured = true;
  }
  if (int8)
    agreement(logits[1], logits[2], n, width, f);
  ok = true;
done:
  for (int m = 0; m < count; m++)
    free(logits[m]);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Peak memory of inference alone, in a process of its own                  */

/* The resident high-water mark of this process's address space (VmHWM).
 * Not getrusage/wait4's ru_maxrss: Linux carries the parent's peak into a
 * spawned child's ru_maxrss (exec records the old address space's peak,
 * and posix_spawn's child shares the parent's), so a child started by a
 * process that trained would report the training peak. */
static double vm_hwm_mb(void) {
  FILE *fp = fopen("/proc/self/status", "r");
  if (fp == NULL)
    return 0;
  char line[256];
  double mb = 0;
  while (fgets(line, sizeof line, fp) != NULL) {
    unsigned long kb = 0;
    if (sscanf(line, "VmHWM: %lu kB", &kb) == 1) {
      mb = (double)kb / 1024.0;
      break;
    }
  }
  fclose(fp);
  return mb;
}

int run_child_main(int argc, char **argv) {
  /* tpa run --measure-inference MODEL TASK DEV MAX_SEQ BATCH LABELS METRIC:
   * the hidden child mode of run_measure_child(); prints
   * {"main":..,"peak_rss_mb":..}. TASK "-" is a table run: DEV is the
   * run's dev.jsonl, with class ids as labels. */
  if (argc != 9)
    return cli_usage("run", "--measure-inference takes 7 arguments");
  run_opts o;
  memset(&o, 0, sizeof o);
  long seq = 0, batch = 0, labels = 0;
  o.task = (tpa_task)TPA_TASK_COUNT;
  if ((strcmp(argv[3], "-") != 0 && tpa_task_from_name(argv[3], &o.task) != TPA_OK) ||
      !cli_parse_int("run", "measure-inference", argv[5], 0, 1 << 20, &seq) ||
      !cli_parse_int("run", "measure-inference", argv[6], 1, 1 << 20, &batch) ||
      !cli_parse_int("run", "measure-inference", argv[7], 1, 1 << 20, &labels) ||
      (strcmp(argv[8], "-") != 0 && tpa_metric_from_name(argv[8], &o.t.tp.metric) != TPA_OK))
    return CLI_EXIT_USAGE;
  o.t.tp.max_seq_length = (int32_t)seq;
  o.t.tp.batch_size = (int32_t)batch;
  o.num_labels = (int32_t)labels;
  tpa_model *model = NULL;
  tpa_dataset *dev = NULL;
  float *logits = NULL;
  char **ids = NULL;
  int rc = CLI_EXIT_FAILURE;
  if (cli_model_load(&model, argv[2], o.num_labels, true) != TPA_OK)
    goto done;
  tpa_status st;
  if (tpa_task_name(o.task)) {
    st = tpa_dataset_load(&dev, o.task, argv[4], NULL);
  } else {
    /* Class ids as names "0".."k-1", so any model's classes fit. */
    tpa_table_params tp;
    tpa_table_params_init(&tp, sizeof tp);
    tp.regression = o.num_labels == 1;
    tp.require_labels = true;
    if (!tp.regression) {
      ids = calloc((size_t)o.num_labels, sizeof *ids);
      for (int32_t i = 0; ids && i < o.num_labels; i++)
        if ((ids[i] = malloc(16)) != NULL)
          snprintf(ids[i], 16, "%d", (int)i);
      tp.labels = (const char *const *)ids;
      tp.num_labels = o.num_labels;
    }
    st = tpa_dataset_load_table(&dev, argv[4], &tp);
  }
  if (st != TPA_OK) {
    cli_fail_lib(st);
    goto done;
  }
  const size_t cap = tpa_dataset_size(dev) * (size_t)o.num_labels;
  logits = calloc(cap + 1, sizeof *logits);
  double secs = 0, metric = 0;
  if (logits == NULL) {
    cli_fail("out of memory");
    goto done;
  }
  if (!predict_timed(&o, model, dev, logits, cap, &secs) || !dev_metric(&o, dev, logits, &metric))
    goto done;
  printf("{\"main\": %.17g, \"peak_rss_mb\": %.3f}\n", metric, vm_hwm_mb());
  rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
done:
  for (int32_t i = 0; ids && i < o.num_labels; i++)
    free(ids[i]);
  free(ids);
  free(logits);
  tpa_dataset_free(dev);
  tpa_model_free(model);
  return rc;
}

bool run_measure_child(const run_opts *o, const char *model_dir, const char *dev_path,
                       run_infer *inf) {
  char seq[16], batch[16], labels[16];
  snprintf(seq, sizeof seq, "%d", (int)o->t.tp.max_seq_length);
  snprintf(batch, sizeof batch, "%d", (int)o->t.tp.batch_size);
  snprintf(labels, sizeof labels, "%d", (int)o->num_labels);
  const char *task = tpa_task_name(o->task);
  char *argv[] = {"tpa",
                  "run",
                  "--measure-inference",
                  (char *)model_dir,
                  (char *)(task ? task : "-"),
                  (char *)dev_path,
                  seq,
                  batch,
                  labels,
                  (char *)(o->t.tp.metric ? run_metric_name(o) : "-"),
                  NULL};

  int fds[2];
  if (pipe(fds) != 0) {
    cli_fail("measuring inference memory: pipe: %s", strerror(errno));
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid = 0;
  int err = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    cli_fail("measuring inference memory: cannot run tpa: %s", strerror(err));
    return false;
  }
  /* The child prints one short JSON line. */
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fds[0], buf + len, sizeof buf - 1 - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
    if (len == sizeof buf - 1)
      break;
  }
  buf[len] = '\0';
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      cli_fail("measuring inference memory: wait: %s", strerror(errno));
      return false;
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    cli_fail("measuring inference memory: predicting with %s in a separate process failed",
             model_dir);
    return false;
  }
  json_error_t je;
  json_t *root = json_loads(buf, 0, &je);
  json_t *main_v = root ? json_object_get(root, "main") : NULL;
  json_t *rss_v = root ? json_object_get(root, "peak_rss_mb") : NULL;
  bool ok = main_v != NULL && json_is_number(main_v) && rss_v != NULL && json_is_number(rss_v);
  if (!ok) {
    cli_fail("measuring inference memory: no result from the separate process (%s)", model_dir);
  } else if (inf->measured && fabs(json_number_value(main_v) - inf->metric) > 1e-9) {
    /* The model reloaded in a fresh process must predict what it did here. */
    cli_fail("%s gives dev metric %.6f in a separate process, %.6f in this one", model_dir,
             json_number_value(main_v), inf->metric);
    ok = false;
  } else {
    inf->rss_mb = json_number_value(rss_v);
  }
  json_decref(root);
  return ok;
}

const char *run_metric_name(const run_opts *o) {
  uint32_t bit = o->t.tp.metric;
  if (!bit && !tpa_task_name(o->task))
    bit = o->num_labels == 1 ? TPA_METRIC_PEARSON : TPA_METRIC_ACCURACY;
  if (cli_metric_name(bit))
    return cli_metric_name(bit);
  /* GLUE's headline figures */
  switch (o->task) {
  case TPA_TASK_COLA: return "matthews";
  case TPA_TASK_STSB: return "mean of pearson and spearman";
  case TPA_TASK_MRPC:
  case TPA_TASK_QQP: return "mean of accuracy and f1";
  default: return "accuracy";
  }
}

bool run_write_dev(const char *path, const tpa_dataset *dev) {
  cli_output out;
  if (!cli_output_open(&out, path))
    return false;
  const bool regression = tpa_dataset_num_labels(dev) == 1;
  for (size_t i = 0; i < tpa_dataset_size(dev); i++) {
    fputs("{\"text\": ", out.fp);
    cli_json_string(out.fp, tpa_dataset_text_a(dev, i));
    if (tpa_dataset_text_b(dev, i)) {
      fputs(", \"text_pair\": ", out.fp);
      cli_json_string(out.fp, tpa_dataset_text_b(dev, i));
    }
    /* %.9g: a float reads back exactly. */
    fprintf(out.fp, regression ? ", \"label\": %.9g}\n" : ", \"label\": %.0f}\n",
            (double)tpa_dataset_label(dev, i));
  }
  return cli_output_commit(&out);
}
