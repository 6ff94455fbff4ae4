/* SPDX-License-Identifier: Apache-2.0 */
/* Loading models and data for the `tpa` commands, paths and directories (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* Model and data                                                           */

/* The library's log messages on stderr. INFO matters here: it is how the
 * loader says it created a classifier (a bare BertModel, or another label
 * count), which makes every prediction of an untrained head meaningless,
 * and how training says it resumes. DEBUG stays silent. */
void cli_log_stderr(void *user, tpa_log_level level, const char *msg) {
  (void)user;
  if (level > TPA_LOG_INFO)
    return;
  fprintf(stderr, "tpa: %s%s\n",
          level == TPA_LOG_ERROR  ? "error: "
          : level == TPA_LOG_WARN ? "warning: "
                                  : "",
          msg);
}

tpa_status cli_model_load(tpa_model **model, const char *dir, int32_t num_labels, bool quiet) {
  tpa_model_load_params lp;
  tpa_model_load_params_init(&lp, sizeof lp);
  lp.num_labels = num_labels;
  lp.log = quiet ? NULL : cli_log_stderr;
  tpa_status st = tpa_model_load(model, dir, &lp);
  if (st != TPA_OK)
    cli_fail_lib(st);
  return st;
}

char *cli_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (p == NULL) {
    cli_fail("out of memory");
    return NULL;
  }
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

bool cli_make_dirs(const char *opt, const char *dir) {
  char *p = strdup(dir);
  if (p == NULL)
    return cli_fail("out of memory"), false;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    const char saved = *s;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      cli_fail("%s %s: cannot create %s: %s", opt, dir, p, strerror(errno));
      free(p);
      return false;
    }
    *s = saved;
    if (saved == '\0')
      break;
  }
  free(p);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return cli_fail("%s %s: not a directory", opt, dir), false;
  return true;
}

bool cli_load_model_and_data(cli_run_opts *o, tpa_model **model, tpa_dataset **ds) {
  *model = NULL;
  *ds = NULL;
  tpa_status st = cli_model_load(model, o->model, 0, o->quiet);
  if (st != TPA_OK)
    return false;
  /* The default length must fit the model's position table (small test
   * models have fewer than 128 positions); an explicit value is passed on
   * as given, so a wrong one is reported rather than silently changed. */
  tpa_model_config cfg = {.size = sizeof cfg};
  if (!o->max_seq_length_set && tpa_model_get_config(*model, &cfg) == TPA_OK &&
      cfg.max_sequence_length > 0 && cfg.max_sequence_length < o->max_seq_length)
    o->max_seq_length = cfg.max_sequence_length;
  /* tokenize never reaches the model: refuse a length the model could
   * not run here, for every command alike. */
  if (o->max_seq_length_set && tpa_model_get_config(*model, &cfg) == TPA_OK &&
      o->max_seq_length > cfg.max_sequence_length) {
    cli_fail("--max-seq-length: max_seq_length %d must be in 3..%d (the positions of %s)",
             (int)o->max_seq_length, (int)cfg.max_sequence_length, o->model);
    tpa_model_free(*model);
    *model = NULL;
    return false;
  }
  if (!cli_data_load(&o->table, o->task, o->data, *model, o->classes, NULL, o->limit, o->quiet,
                     ds)) {
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
