/* SPDX-License-Identifier: Apache-2.0 */
/* The user's own data for the `tpa` commands (see cli_data.h). */
#include "cli_data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void cli_data_init(cli_data_opts *d) {
  memset(d, 0, sizeof *d);
  d->dev_split = -1;
  d->seed = 42;
}

static bool parse_format(const char *cmd, const char *opt, const char *arg, tpa_table_format *out) {
  static const char *const names[] = {"csv", "tsv", "jsonl", NULL};
  int i;
  if (!cli_parse_choice(cmd, opt, arg, names, &i))
    return false;
  *out = (tpa_table_format)(TPA_TABLE_CSV + i);
  return true;
}

int cli_data_option(const char *cmd, int c, const char *arg, bool format_is_output,
                    cli_data_opts *d) {
  bool table = true;
  switch (c) {
  case CLI_DATA_FORMAT:
    if (format_is_output) {
      d->out_format = arg;
      table = false;
    } else if (!parse_format(cmd, "format", arg, &d->format)) {
      return -1;
    }
    break;
  case CLI_DATA_DATA_FORMAT:
    if (!parse_format(cmd, "data-format", arg, &d->format))
      return -1;
    break;
  case CLI_DATA_TEXT: d->text = arg; break;
  case CLI_DATA_PAIR: d->pair = arg; break;
  case CLI_DATA_LABEL: d->label = arg; break;
  case CLI_DATA_LABELS: d->labels = arg; break;
  case CLI_DATA_REGRESSION: d->regression = true; break;
  case CLI_DATA_METRIC:
    table = false; /* GLUE tasks choose among their metrics too */
    if (tpa_metric_from_name(arg, &d->metric) != TPA_OK) {
      cli_usage(cmd,
                "invalid value '%s' for --metric (accuracy, f1, macro_f1, matthews, "
                "pearson or spearman)",
                arg);
      return -1;
    }
    break;
  case CLI_DATA_TRAIN: d->train = arg; break;
  case CLI_DATA_DEV: d->dev = arg; break;
  case CLI_DATA_DEV_SPLIT:
    if (!cli_parse_real(cmd, "dev-split", arg, 0, 0.9, &d->dev_split))
      return -1;
    break;
  default: return 0;
  }
  d->table_opts = d->table_opts || table;
  return 1;
}

bool cli_data_check(const char *cmd, const cli_data_opts *d, bool have_task) {
  if (have_task && d->table_opts) {
    cli_usage(cmd, "--task reads GLUE files; the column, label, format and split options are "
                   "for your own data (leave out --task)");
    return false;
  }
  if (d->labels && d->regression) {
    cli_usage(cmd, "--labels and --regression exclude each other");
    return false;
  }
  return true;
}

/* In the order the reports list them. */
static const struct {
  uint32_t bit;
  const char *name;
} metric_names[] = {
    {TPA_METRIC_ACCURACY, "accuracy"}, {TPA_METRIC_F1, "f1"},
    {TPA_METRIC_MATTHEWS, "matthews"}, {TPA_METRIC_PEARSON, "pearson"},
    {TPA_METRIC_SPEARMAN, "spearman"}, {TPA_METRIC_MACRO_F1, "macro_f1"},
};

const char *cli_metric_name(uint32_t bit) {
  for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
    if (metric_names[i].bit == bit)
      return metric_names[i].name;
  return NULL;
}

void cli_metrics_json(json_t *obj, const tpa_metrics *m, const tpa_metrics_extra *x) {
  for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++) {
    if (!(m->present & metric_names[i].bit))
      continue;
    /* JSON has no NaN (e.g. Matthews of a constant prediction): null. */
    const double v = tpa_metrics_value(m, x, metric_names[i].bit);
    json_object_set_new(obj, metric_names[i].name, isfinite(v) ? json_real(v) : json_null());
  }
}

bool cli_model_has_names(const tpa_model *model) {
  tpa_model_config cfg = {.size = sizeof cfg};
  if (!model || tpa_model_get_config(model, &cfg) != TPA_OK || cfg.num_labels < 2)
    return false;
  for (int32_t i = 0; i < cfg.num_labels; i++) {
    char generic[32];
    snprintf(generic, sizeof generic, "LABEL_%d", (int)i);
    const char *name = tpa_model_label_name(model, i);
    if (name && strcmp(name, generic) != 0)
      return true;
  }
  return false;
}

/* --labels "a,b,c" into a new array of pointers into a new copy. */
static bool split_labels(const char *text, char **copy, const char ***names, int32_t *n) {
  *copy = strdup(text);
  size_t count = 1;
  for (const char *s = text; *s; s++)
    count += *s == ',';
  *names = calloc(count, sizeof **names);
  if (!*copy || !*names) {
    free(*copy);
    free(*names);
    cli_fail("out of memory");
    return false;
  }
  size_t k = 0;
  for (char *s = *copy, *comma;; s = comma + 1) {
    comma = strchr(s, ',');
    if (comma)
      *comma = '\0';
    (*names)[k++] = s;
    if (!comma)
      break;
  }
  *n = (int32_t)k;
  return true;
}

/* The model's class names in a new array (borrowed strings). */
static const char **model_names(const tpa_model *model, int32_t *n) {
  tpa_model_config cfg = {.size = sizeof cfg};
  if (tpa_model_get_config(model, &cfg) != TPA_OK || cfg.num_labels < 2)
    return NULL;
  const char **names = calloc((size_t)cfg.num_labels, sizeof *names);
  for (int32_t i = 0; names && i < cfg.num_labels; i++)
    names[i] = tpa_model_label_name(model, i);
  *n = cfg.num_labels;
  return names;
}

/* The dataset's class names in a new array (borrowed strings). */
static const char **dataset_names(const tpa_dataset *ds) {
  const int32_t k = tpa_dataset_num_labels(ds);
  const char **names = calloc(k > 0 ? (size_t)k : 1, sizeof *names);
  for (int32_t i = 0; names && i < k; i++)
    names[i] = tpa_dataset_label_name(ds, i);
  return names;
}

static bool model_regresses(const tpa_model *model) {
  tpa_model_config cfg = {.size = sizeof cfg};
  return model && tpa_model_get_config(model, &cfg) == TPA_OK && cfg.num_labels == 1;
}

static void say_columns(const char *path, const tpa_dataset *ds) {
  const char *text = tpa_dataset_column(ds, TPA_ROLE_TEXT);
  const char *pair = tpa_dataset_column(ds, TPA_ROLE_TEXT_PAIR);
  const char *label = tpa_dataset_column(ds, TPA_ROLE_LABEL);
  fprintf(stderr, "tpa: %s: %zu examples; text from column \"%s\"", path, tpa_dataset_size(ds),
          text ? text : "?");
  if (pair)
    fprintf(stderr, ", text pair from \"%s\"", pair);
  const int32_t k = tpa_dataset_num_labels(ds);
  if (!label) {
    fputs(", no labels\n", stderr);
    return;
  }
  if (k == 1) {
    fprintf(stderr, ", regression target from \"%s\"\n", label);
    return;
  }
  fprintf(stderr, ", labels from \"%s\": %d classes (", label, (int)k);
  for (int32_t i = 0; i < k && i < 8; i++)
    fprintf(stderr, "%s%s", i ? ", " : "", tpa_dataset_label_name(ds, i));
  fputs(k > 8 ? ", ...)\n" : ")\n", stderr);
}

bool cli_data_load(const cli_data_opts *d, tpa_task task, const char *path, const tpa_model *model,
                   cli_classes how, const tpa_dataset *like, size_t limit, bool quiet,
                   tpa_dataset **out) {
  *out = NULL;
  tpa_status st;
  if (tpa_task_name(task)) {
    tpa_dataset_params dp;
    tpa_dataset_params_init(&dp, sizeof dp);
    dp.max_rows = limit;
    st = tpa_dataset_load(out, task, path, &dp);
    return st == TPA_OK || (cli_fail_lib(st), false);
  }
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  p.format = d->format;
  p.text_column = d->text;
  p.text_pair_column = d->pair;
  p.label_column = how == CLI_CLASSES_NONE ? "" : d->label;
  p.regression = d->regression;
  p.require_labels = how != CLI_CLASSES_NONE;
  p.max_rows = limit;
  char *copy = NULL;
  const char **names = NULL;
  bool from_model = false;
  if (how != CLI_CLASSES_NONE) {
    if (like && tpa_dataset_num_labels(like) == 1) {
      p.regression = true;
    } else if (like) {
      if (!(names = dataset_names(like)))
        return cli_fail("out of memory"), false;
      p.num_labels = tpa_dataset_num_labels(like);
    } else if (d->labels) {
      if (!split_labels(d->labels, &copy, &names, &p.num_labels))
        return false;
    } else if (!d->regression && model &&
               (how == CLI_CLASSES_MODEL ? true : cli_model_has_names(model))) {
      if (model_regresses(model) && how == CLI_CLASSES_MODEL)
        p.regression = true;
      else if ((names = model_names(model, &p.num_labels)) != NULL)
        from_model = true;
    }
  }
  p.labels = names;
  st = tpa_dataset_load_table(out, path, &p);
  if (st == TPA_ERR_DATA && from_model && how == CLI_CLASSES_TRAIN) {
    /* The checkpoint's classes are another task's: learn the data's own. */
    if (!quiet)
      fprintf(stderr,
              "tpa: %s: the labels are not the model's classes (%s); using the "
              "training data's\n",
              path, tpa_last_error());
    p.labels = NULL;
    p.num_labels = 0;
    st = tpa_dataset_load_table(out, path, &p);
  }
  free(names);
  free(copy);
  if (st != TPA_OK)
    return cli_fail_lib(st), false;
  if (!quiet)
    say_columns(path, *out);
  return true;
}

/* DIR/STEM.{csv,tsv,jsonl,ndjson}[.gz]: the one that exists (NULL: none;
 * *err after a message when several do). */
static char *find_split(const char *dir, const char *stem, bool *err) {
  static const char *const ext[] = {".csv",    ".tsv",    ".jsonl",    ".ndjson",
                                    ".csv.gz", ".tsv.gz", ".jsonl.gz", ".ndjson.gz"};
  char *found = NULL;
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s%s", stem, ext[i]);
    char *path = cli_join(dir, name);
    struct stat sb;
    if (path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
      if (found) {
        cli_fail("%s and %s both exist: name one with --%s", found, path,
                 strcmp(stem, "train") == 0 ? "train" : "dev");
        free(found);
        free(path);
        *err = true;
        return NULL;
      }
      found = path;
    } else {
      free(path);
    }
  }
  return found;
}

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *cli_glue_dev_name(tpa_task task) {
  return task == TPA_TASK_MNLI ? "dev_matched.tsv" : "dev.tsv";
}

static bool glue_splits(tpa_task task, const char *data, size_t limit, tpa_dataset **train,
                        tpa_dataset **dev) {
  char *tp = cli_join(data, "train.tsv");
  char *dp = cli_join(data, cli_glue_dev_name(task));
  bool ok = tp && dp;
  tpa_dataset_params p;
  tpa_dataset_params_init(&p, sizeof p);
  p.max_rows = limit;
  tpa_status st = ok ? tpa_dataset_load(train, task, tp, &p) : TPA_ERR_NO_MEMORY;
  if (st == TPA_OK) {
    p.max_rows = 0;
    st = tpa_dataset_load(dev, task, dp, &p);
    if (st == TPA_ERR_NOT_FOUND)
      st = TPA_OK; /* no dev file: training without evaluation */
  }
  if (st != TPA_OK && ok)
    cli_fail_lib(st);
  free(tp);
  free(dp);
  return ok && st == TPA_OK;
}

bool cli_data_splits(const cli_data_opts *d, tpa_task task, const char *data,
                     const tpa_model *model, size_t limit, bool quiet, tpa_dataset **train,
                     tpa_dataset **dev, const char **held_note) {
  *train = *dev = NULL;
  *held_note = NULL;
  if (tpa_task_name(task))
    return glue_splits(task, data, limit, train, dev);
  char *train_path = NULL, *dev_path = NULL;
  bool err = false;
  if (d->train) {
    train_path = strdup(d->train);
  } else if (data && !is_dir(data)) {
    train_path = strdup(data); /* --data FILE: the training file */
  } else if (data) {
    train_path = find_split(data, "train", &err);
    if (!train_path && !err) {
      cli_fail("--data %s: no train.csv, train.tsv, train.jsonl or train.ndjson (optionally "
               ".gz) in it",
               data);
      err = true;
    }
  }
  if (!err && d->dev)
    dev_path = strdup(d->dev);
  else if (!err && !d->train && data && is_dir(data)) {
    dev_path = find_split(data, "dev", &err);
    if (!dev_path && !err)
      dev_path = find_split(data, "validation", &err);
  }
  bool ok = !err && train_path &&
            cli_data_load(d, task, train_path, model, CLI_CLASSES_TRAIN, NULL, limit, quiet, train);
  if (ok && dev_path)
    ok = cli_data_load(d, task, dev_path, model, CLI_CLASSES_TRAIN, *train, 0, quiet, dev);
  if (ok && !dev_path && d->dev_split != 0) {
    const double share = d->dev_split < 0 ? 0.1 : d->dev_split;
    tpa_dataset *kept = NULL;
    tpa_status st = tpa_dataset_split(*train, share, d->seed, &kept, dev);
    if (st != TPA_OK) {
      ok = false;
      cli_fail_lib(st);
    } else {
      tpa_dataset_free(*train);
      *train = kept;
      *held_note = "no dev file: a seeded, stratified share of the training file is held out "
                   "as the dev set";
      if (!quiet)
        fprintf(stderr,
                "tpa: no dev file: holding out %zu of %zu training examples (%g, "
                "stratified, seed %llu) for evaluation\n",
                tpa_dataset_size(*dev), tpa_dataset_size(*dev) + tpa_dataset_size(*train), share,
                (unsigned long long)d->seed);
    }
  }
  if (!ok && train_path == NULL && !err)
    cli_fail("missing --data DIR or --train FILE");
  free(train_path);
  free(dev_path);
  if (!ok) {
    tpa_dataset_free(*train);
    tpa_dataset_free(*dev);
    *train = *dev = NULL;
  }
  return ok;
}

bool cli_data_fit_model(tpa_model **model, const char *dir, const tpa_dataset *train, bool quiet) {
  if (tpa_task_name(tpa_dataset_task(train)))
    return true; /* GLUE: the commands load the task's label count */
  const int32_t k = tpa_dataset_num_labels(train);
  tpa_model_config cfg = {.size = sizeof cfg};
  tpa_status st = tpa_model_get_config(*model, &cfg);
  if (st == TPA_OK && k > 0 && cfg.num_labels != k) {
    if (!quiet)
      fprintf(stderr,
              "tpa: the data has %d output%s, the checkpoint's classifier %d: training "
              "starts from a new classifier\n",
              (int)k, k == 1 ? "" : "s", (int)cfg.num_labels);
    tpa_model_free(*model);
    *model = NULL;
    if (cli_model_load(model, dir, k, quiet) != TPA_OK)
      return false;
  }
  if (st == TPA_OK && k >= 2 && tpa_dataset_label_name(train, 0)) {
    const char **names = dataset_names(train);
    if (!names)
      return cli_fail("out of memory"), false;
    st = tpa_model_set_label_names(*model, names, k);
    free(names);
  }
  return st == TPA_OK || (cli_fail_lib(st), false);
}
