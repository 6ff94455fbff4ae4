/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile and malformed input through the public API. Every row of
 * cases.tsv (name, kind, path, expected status, message substring) is one
 * iteration of a loop test: the input is loaded through the public call
 * that reads that kind of file, and the exact status and a substring of
 * tpa_last_error() are checked; a failing case must also name the file
 * (or, for argument errors, the argument) in its message. Rows that
 * expect TPA_OK are controls that prove the harness can load the input;
 * model directories with a reference.tsv (logits from the plain-Python
 * BERT of tests/cli/tpa_model_gen.py) must also predict those logits.
 *
 * Kinds: safetensors, config, vocab, tokenizer_config (the file replaces
 * its namesake in a scratch copy of tests/fixtures/tiny), model (a whole
 * model directory), glue:TASK (tpa_dataset_load), seq:TASK:N (predict
 * with the mini model at max_seq_length N), adapter / adapter_weights
 * (the file replaces adapter_config.json / adapter_model.safetensors of
 * corpus/adapter/good, loaded onto tiny), importance (load, plan, prune
 * tiny), plan (load, prune tiny), csv / jsonl[:FLAGS] (tpa_dataset_load_table
 * with the flags of cases.tsv; a loaded table is read whole and split).
 * Loading runs oneDNN: CK_FORK=no. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"
#include "tpa/tpa.h"

typedef struct hcase {
  char *name, *kind, *path, *status, *substr;
  int line;
} hcase;

static hcase *cases;
static int n_cases;
static const char *hostile_dir;

/* "$TPA_HOSTILE_DIR/rel", malloc'ed. */
static char *corpus(const char *rel) {
  return join(hostile_dir, rel);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* The status whose tpa_status_str() begins with "NAME:"; -1 if none. */
static int status_from_name(const char *name) {
  size_t n = strlen(name);
  for (int s = 0; s < 64; s++) {
    const char *str = tpa_status_str((tpa_status)s);
    if (strncmp(str, name, n) == 0 && str[n] == ':')
      return s;
  }
  return -1;
}

static void copy_file(const char *from, const char *to) {
  size_t len = 0;
  char *data = read_all(from, &len);
  FILE *f = fopen(to, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", to);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
  free(data);
}

/* A scratch directory holding @p files of @p src_dir (symlinks), except
 * @p replace, which is a copy of @p with. */
static char *scratch_dir(const char *src_dir, const char *const *files, const char *replace,
                         const char *with) {
  char *dir = temp_dir();
  for (size_t i = 0; files[i]; i++) {
    char *dst = join(dir, files[i]);
    if (replace && strcmp(files[i], replace) == 0) {
      copy_file(with, dst);
    } else {
      char *src = join(src_dir, files[i]);
      ck_assert_msg(symlink(src, dst) == 0, "symlink %s", dst);
      free(src);
    }
    free(dst);
  }
  return dir;
}

static const char *const model_files[] = {"config.json", "model.safetensors", "vocab.txt",
                                          "tokenizer_config.json", NULL};
static const char *const adapter_files[] = {"adapter_config.json", "adapter_model.safetensors",
                                            NULL};

static tpa_model *load_tiny(void) {
  return load_fixture("tiny");
}

/* Predict corpus/mini-data.tsv with @p m and compare with dir/reference.tsv. */
static void check_reference(const hcase *c, tpa_model *m, const char *dir) {
  char *ref_path = join(dir, "reference.tsv");
  if (access(ref_path, R_OK) != 0) {
    free(ref_path);
    return;
  }
  char *data_path = corpus("corpus/mini-data.tsv");
  tpa_dataset *ds = NULL;
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_SST2, data_path, NULL), TPA_OK);
  size_t n = tpa_dataset_size(ds);
  float *logits = calloc(n * 2, sizeof *logits);
  ck_assert_ptr_nonnull(logits);
  ck_assert_msg(tpa_model_predict(m, ds, NULL, logits, n * 2) == TPA_OK, "%s: predict: %s", c->name,
                tpa_last_error());
  char *ref = read_all(ref_path, NULL);
  char *save = NULL;
  size_t rows = 0;
  for (char *line = strtok_r(ref, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    size_t i;
    double a, b;
    ck_assert_int_eq(sscanf(line, "%zu\t%lf\t%lf", &i, &a, &b), 3);
    ck_assert_uint_lt(i, n);
    ck_assert_msg(fabs(logits[2 * i] - a) < 1e-4 && fabs(logits[2 * i + 1] - b) < 1e-4,
                  "%s: row %zu: logits %.6f %.6f, reference %.6f %.6f", c->name, i, logits[2 * i],
                  logits[2 * i + 1], a, b);
    rows++;
  }
  ck_assert_uint_eq(rows, n);
  free(ref);
  free(logits);
  tpa_dataset_free(ds);
  free(data_path);
  free(ref_path);
}

static tpa_status run_model_dir(const hcase *c, const char *dir) {
  tpa_model *m = (tpa_model *)1;
  tpa_status st = tpa_model_load(&m, dir, NULL);
  if (st != TPA_OK) {
    ck_assert_msg(m == NULL, "%s: failed load left a model", c->name);
    return st;
  }
  check_reference(c, m, dir);
  tpa_model_free(m);
  return st;
}

static tpa_status run_glue(const hcase *c, const char *task_name, const char *path) {
  tpa_task task;
  ck_assert_msg(tpa_task_from_name(task_name, &task) == TPA_OK, "%s: task", c->name);
  tpa_dataset *ds = (tpa_dataset *)1;
  tpa_status st = tpa_dataset_load(&ds, task, path, NULL);
  if (st != TPA_OK) {
    ck_assert_msg(ds == NULL, "%s: failed load left a dataset", c->name);
    return st;
  }
  ck_assert_uint_gt(tpa_dataset_size(ds), 0);
  for (size_t i = 0; i < tpa_dataset_size(ds); i++)
    ck_assert_ptr_nonnull(tpa_dataset_text_a(ds, i));
  tpa_dataset_free(ds);
  return st;
}

/* seq:TASK:N: the mini model (8 positions) predicts @p path at length N. */
static tpa_status run_seq(const hcase *c, const char *spec, const char *path) {
  char task_name[32];
  int max_len = -1;
  ck_assert_msg(sscanf(spec, "%31[^:]:%d", task_name, &max_len) == 2, "%s: kind %s", c->name,
                c->kind);
  tpa_task task;
  ck_assert_int_eq(tpa_task_from_name(task_name, &task), TPA_OK);
  char *dir = corpus("corpus/model/mini");
  tpa_model *m = NULL;
  ck_assert_int_eq(tpa_model_load(&m, dir, NULL), TPA_OK);
  tpa_dataset *ds = NULL;
  ck_assert_int_eq(tpa_dataset_load(&ds, task, path, NULL), TPA_OK);
  size_t n = tpa_dataset_size(ds);
  float *logits = calloc(n * 2, sizeof *logits);
  ck_assert_ptr_nonnull(logits);
  tpa_predict_params p;
  tpa_predict_params_init(&p, sizeof p);
  p.max_seq_length = max_len;
  tpa_status st = tpa_model_predict(m, ds, &p, logits, n * 2);
  for (size_t i = 0; st == TPA_OK && i < n * 2; i++)
    ck_assert_msg(isfinite(logits[i]), "%s: logit %zu is %g", c->name, i, logits[i]);
  free(logits);
  tpa_dataset_free(ds);
  tpa_model_free(m);
  free(dir);
  return st;
}

static tpa_status run_adapter(const hcase *c, const char *replace, const char *path) {
  char *good = corpus("corpus/adapter/good");
  char *dir = scratch_dir(good, adapter_files, replace, path);
  tpa_model *m = load_tiny();
  tpa_lora_set *set = (tpa_lora_set *)1;
  tpa_status st = tpa_lora_set_load(&set, m, dir);
  if (st != TPA_OK)
    ck_assert_msg(set == NULL, "%s: failed load left a LoRA set", c->name);
  else
    ck_assert_int_gt(tpa_lora_set_num_params(set), 0);
  tpa_lora_set_free(st == TPA_OK ? set : NULL);
  tpa_model_free(m);
  remove_tree(dir);
  free(dir);
  free(good);
  return st;
}

/* Prune a fresh tiny model with @p plan (as `tpa prune` does). */
static tpa_status prune_tiny(const tpa_prune_plan *plan) {
  tpa_model *m = load_tiny();
  tpa_status st = tpa_model_prune(m, plan);
  tpa_model_free(m);
  return st;
}

static tpa_status run_importance(const hcase *c, const char *path) {
  tpa_importance *imp = (tpa_importance *)1;
  tpa_status st = tpa_importance_load(&imp, path);
  if (st != TPA_OK) {
    ck_assert_msg(imp == NULL, "%s: failed load left a table", c->name);
    return st;
  }
  tpa_prune_plan *plan = NULL;
  st = tpa_prune_plan_create(&plan, imp, NULL);
  tpa_importance_free(imp);
  if (st == TPA_OK)
    st = prune_tiny(plan);
  tpa_prune_plan_free(plan);
  return st;
}

static tpa_status run_plan(const hcase *c, const char *path) {
  tpa_prune_plan *plan = (tpa_prune_plan *)1;
  tpa_status st = tpa_prune_plan_load(&plan, path);
  if (st != TPA_OK) {
    ck_assert_msg(plan == NULL, "%s: failed load left a plan", c->name);
    return st;
  }
  st = prune_tiny(plan);
  tpa_prune_plan_free(plan);
  return st;
}

/* A table kind: "csv" or "jsonl", then optionally ":" and comma-separated
 * flags (regression, text=C, labels, discovered; cases.tsv). Returns the
 * format, or TPA_TABLE_AUTO when @p kind is no table kind. */
static tpa_table_format table_kind(const char *kind, const char **flags) {
  static const struct {
    const char *name;
    tpa_table_format format;
  } kinds[] = {{"csv", TPA_TABLE_CSV}, {"jsonl", TPA_TABLE_JSONL}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    size_t n = strlen(kinds[i].name);
    if (strncmp(kind, kinds[i].name, n) == 0 && (kind[n] == '\0' || kind[n] == ':')) {
      *flags = kind[n] ? kind + n + 1 : "";
      return kinds[i].format;
    }
  }
  return TPA_TABLE_AUTO;
}

/* Read a loaded table whole: texts, labels, class names, columns, a split. */
static void check_table(const hcase *c, const tpa_dataset *ds) {
  const size_t n = tpa_dataset_size(ds);
  const int32_t k = tpa_dataset_num_labels(ds);
  ck_assert_msg(n > 0, "%s: no examples", c->name);
  ck_assert_ptr_nonnull(tpa_dataset_column(ds, TPA_ROLE_TEXT));
  for (size_t i = 0; i < n; i++) {
    const char *a = tpa_dataset_text_a(ds, i);
    ck_assert_msg(a && *a, "%s: example %zu has no text", c->name, i);
    const float label = tpa_dataset_label(ds, i);
    if (tpa_dataset_has_labels(ds) && k >= 2)
      ck_assert_msg(label >= 0 && label < (float)k, "%s: example %zu: label %g", c->name, i,
                    (double)label);
  }
  for (int32_t id = 0; k >= 2 && id < k; id++)
    ck_assert_ptr_nonnull(tpa_dataset_label_name(ds, id));
  if (tpa_dataset_has_labels(ds)) {
    tpa_dataset *kept = NULL, *held = NULL;
    ck_assert_msg(tpa_dataset_split(ds, 0.3, 1, &kept, &held) == TPA_OK, "%s: split: %s", c->name,
                  tpa_last_error());
    ck_assert_uint_eq(tpa_dataset_size(kept) + tpa_dataset_size(held), n);
    tpa_dataset_free(kept);
    tpa_dataset_free(held);
  }
}

/* csv / jsonl kinds: tpa_dataset_load_table with the row's flags. */
static tpa_status run_table(const hcase *c, tpa_table_format format, const char *flags,
                            const char *path) {
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  p.format = format;
  bool labels_only = false;
  char *copy = strdup(flags), *save = NULL;
  ck_assert_ptr_nonnull(copy);
  for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    if (strcmp(f, "regression") == 0)
      p.regression = true;
    else if (strncmp(f, "text=", 5) == 0)
      p.text_column = f + 5;
    else if (strcmp(f, "labels") == 0)
      labels_only = true;
    else
      ck_assert_msg(strcmp(f, "discovered") == 0, "cases.tsv:%d: unknown flag %s", c->line, f);
  }
  if (labels_only) {
    /* The failure is in the labels: without them (as `tpa predict`
     * reads), the texts load. Before the real load, whose message the
     * caller checks. */
    tpa_table_params q = p;
    q.label_column = "";
    tpa_dataset *texts = NULL;
    ck_assert_msg(tpa_dataset_load_table(&texts, path, &q) == TPA_OK, "%s: without labels: %s",
                  c->name, tpa_last_error());
    ck_assert_msg(!tpa_dataset_has_labels(texts), "%s: labels read", c->name);
    check_table(c, texts);
    tpa_dataset_free(texts);
  }
  tpa_dataset *ds = (tpa_dataset *)1;
  tpa_status st = tpa_dataset_load_table(&ds, path, &p);
  if (st != TPA_OK) {
    ck_assert_msg(ds == NULL, "%s: failed load left a dataset", c->name);
  } else {
    check_table(c, ds);
    tpa_dataset_free(ds);
  }
  free(copy);
  return st;
}

/* The file name a failure message must mention for this kind. */
static const char *placed_name(const hcase *c) {
  if (strcmp(c->kind, "safetensors") == 0 || strcmp(c->kind, "model") == 0)
    return "model.safetensors";
  if (strcmp(c->kind, "config") == 0)
    return "config.json";
  if (strcmp(c->kind, "vocab") == 0)
    return "vocab.txt";
  if (strcmp(c->kind, "tokenizer_config") == 0)
    return "tokenizer_config.json";
  if (strcmp(c->kind, "adapter") == 0)
    return "adapter_config.json";
  if (strcmp(c->kind, "adapter_weights") == 0)
    return "adapter_model.safetensors";
  return base_name(c->path);
}

START_TEST(manifest_case) {
  const hcase *c = &cases[_i];
  int want = status_from_name(c->status);
  ck_assert_msg(want >= 0, "cases.tsv:%d: unknown status %s", c->line, c->status);
  char *path = corpus(c->path);
  ck_assert_msg(access(path, F_OK) == 0, "cases.tsv:%d: %s does not exist", c->line, path);
  tpa_status st;
  char *dir = NULL;
  tpa_table_format format;
  const char *flags = NULL;
  if (strcmp(c->kind, "safetensors") == 0 || strcmp(c->kind, "config") == 0 ||
      strcmp(c->kind, "vocab") == 0 || strcmp(c->kind, "tokenizer_config") == 0) {
    char *tiny = fixture("tiny");
    dir = scratch_dir(tiny, model_files, placed_name(c), path);
    free(tiny);
    st = run_model_dir(c, dir);
  } else if (strcmp(c->kind, "model") == 0) {
    st = run_model_dir(c, path);
  } else if (strncmp(c->kind, "glue:", 5) == 0) {
    st = run_glue(c, c->kind + 5, path);
  } else if (strncmp(c->kind, "seq:", 4) == 0) {
    st = run_seq(c, c->kind + 4, path);
  } else if (strcmp(c->kind, "adapter") == 0) {
    st = run_adapter(c, "adapter_config.json", path);
  } else if (strcmp(c->kind, "adapter_weights") == 0) {
    st = run_adapter(c, "adapter_model.safetensors", path);
  } else if (strcmp(c->kind, "importance") == 0) {
    st = run_importance(c, path);
  } else if (strcmp(c->kind, "plan") == 0) {
    st = run_plan(c, path);
  } else if ((format = table_kind(c->kind, &flags)) != TPA_TABLE_AUTO) {
    st = run_table(c, format, flags, path);
  } else {
    ck_abort_msg("cases.tsv:%d: unknown kind %s", c->line, c->kind);
    return;
  }
  const char *msg = tpa_last_error();
  ck_assert_msg((int)st == want, "%s (cases.tsv:%d): got %s (\"%s\"), want %s", c->name, c->line,
                tpa_status_str(st), msg, c->status);
  if (st != TPA_OK) {
    ck_assert_msg(strstr(msg, c->substr) != NULL, "%s (cases.tsv:%d): message \"%s\" lacks \"%s\"",
                  c->name, c->line, msg, c->substr);
    if (st != TPA_ERR_INVALID_ARGUMENT)
      ck_assert_msg(strstr(msg, placed_name(c)) != NULL,
                    "%s (cases.tsv:%d): message \"%s\" does not name %s", c->name, c->line, msg,
                    placed_name(c));
  }
  if (dir) {
    remove_tree(dir);
    free(dir);
  }
  free(path);
}
END_TEST

/* Parse cases.tsv: '#' lines are comments; five tab-separated columns. */
static int read_manifest(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char line[4096];
  int lineno = 0, cap = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    char *col[5], *save = NULL, *s = line;
    int n = 0;
    for (char *tok = strtok_r(s, "\t", &save); tok && n < 5; tok = strtok_r(NULL, "\t", &save))
      col[n++] = tok;
    if (n != 5) {
      fprintf(stderr, "%s:%d: %d columns, want 5\n", path, lineno, n);
      fclose(f);
      return -1;
    }
    if (n_cases == cap) {
      cap = cap ? 2 * cap : 64;
      hcase *bigger = realloc(cases, (size_t)cap * sizeof *cases);
      if (!bigger) {
        fclose(f);
        return -1;
      }
      cases = bigger;
    }
    cases[n_cases++] = (hcase){strdup(col[0]), strdup(col[1]), strdup(col[2]),
                               strdup(col[3]), strdup(col[4]), lineno};
  }
  fclose(f);
  return n_cases;
}

int main(void) {
  hostile_dir = getenv("TPA_HOSTILE_DIR");
  if (!hostile_dir) {
    fprintf(stderr, "TPA_HOSTILE_DIR is not set\n");
    return 1;
  }
  char manifest[4096];
  snprintf(manifest, sizeof manifest, "%s/cases.tsv", hostile_dir);
  if (read_manifest(manifest) <= 0)
    return 1;
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("manifest");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, manifest_case, 0, n_cases);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  for (int i = 0; i < n_cases; i++) {
    free(cases[i].name);
    free(cases[i].kind);
    free(cases[i].path);
    free(cases[i].status);
    free(cases[i].substr);
  }
  free(cases);
  return failed == 0 ? 0 : 1;
}
