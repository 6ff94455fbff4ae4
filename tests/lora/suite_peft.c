/* SPDX-License-Identifier: Apache-2.0 */
/* The PEFT adapter format: key names and shapes on a pruned model, the
 * adapter_config.json we write, save -> load round trips, an adapter that
 * tests/fixtures/lora/gen_adapter.py wrote from PEFT's documented layout,
 * and rejected inputs with their messages. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/model.h"
#include "stages/lora.h"
#include "util.h"

#define MAXREF 128

static const char *const paths[4] = {"attention.self.query", "attention.self.key",
                                     "attention.self.value", "attention.output.dense"};

static tpa_lora_set *make(const tpa_model *m, const int32_t *ranks, const float *alphas) {
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = ranks;
  p.alphas = alphas;
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_create(&s, m, &p) == TPA_OK, "%s", tpa_last_error());
  return s;
}

static const tpa__tensor_ref *find_ref(const tpa__tensor_ref *r, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(r[i].name, name) == 0)
      return &r[i];
  return NULL;
}

static void expect_ref(const tpa__tensor_ref *r, size_t n, const char *name, int32_t rows,
                       int32_t cols, bool decay) {
  const tpa__tensor_ref *t = find_ref(r, n, name);
  ck_assert_msg(t != NULL, "no tensor %s", name);
  ck_assert_int_eq(t->rows, rows);
  ck_assert_int_eq(t->cols, cols);
  ck_assert_uint_eq(t->count, (size_t)rows * (size_t)cols);
  ck_assert_int_eq(t->decay, decay);
}

/* PEFT's names, with the pruned sizes: layer 2 keeps 2 heads (32 wide). */
START_TEST(tensor_names_pruned) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, NULL, NULL);
  tpa__tensor_ref r[MAXREF];
  size_t n = tpa__lora_set_tensors(s, r, MAXREF);
  /* 12 modules * 2 + embeddings LN 2 + 3 layers * 4 LN + classifier 2. */
  ck_assert_uint_eq(n, 40);
  ck_assert_uint_eq(tpa__lora_set_tensors(s, NULL, 0), 40);
  const char *p = "base_model.model.bert.encoder.layer.";
  char name[160];
#define NAME(fmt, ...) (snprintf(name, sizeof name, fmt, __VA_ARGS__), name)
  expect_ref(r, n, NAME("%s0.attention.self.query.lora_A.weight", p), 8, 96, true);
  expect_ref(r, n, NAME("%s0.attention.self.query.lora_B.weight", p), 64, 8, true);
  expect_ref(r, n, NAME("%s1.attention.self.key.lora_B.weight", p), 96, 8, true);
  expect_ref(r, n, NAME("%s2.attention.self.value.lora_B.weight", p), 32, 8, true);
  expect_ref(r, n, NAME("%s2.attention.output.dense.lora_A.weight", p), 8, 32, true);
  expect_ref(r, n, NAME("%s2.attention.output.dense.lora_B.weight", p), 96, 8, true);
  expect_ref(r, n, NAME("%s1.attention.output.LayerNorm.weight", p), 1, 96, false);
  expect_ref(r, n, NAME("%s2.output.LayerNorm.bias", p), 1, 96, false);
#undef NAME
  expect_ref(r, n, "base_model.model.bert.embeddings.LayerNorm.weight", 1, 96, false);
  expect_ref(r, n, "base_model.model.bert.embeddings.LayerNorm.bias", 1, 96, false);
  expect_ref(r, n, "base_model.model.classifier.weight", 2, 96, true);
  expect_ref(r, n, "base_model.model.classifier.bias", 1, 2, false);
  /* Order: LoRA by block and module, then LayerNorms, then classifier. */
  ck_assert_str_eq(r[0].name, "base_model.model.bert.encoder.layer.0.attention.self.query."
                              "lora_A.weight");
  ck_assert_str_eq(r[23].name, "base_model.model.bert.encoder.layer.2.attention.output.dense."
                               "lora_B.weight");
  ck_assert_str_eq(r[24].name, "base_model.model.bert.embeddings.LayerNorm.weight");
  ck_assert_str_eq(r[39].name, "base_model.model.classifier.bias");
  /* Writing stops at cap but the count stays the total. */
  ck_assert_uint_eq(tpa__lora_set_tensors(s, r, 3), 40);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* Give every value of @p s something recognisable (B non-zero too). */
static void scramble(tpa_lora_set *s) {
  tpa__tensor_ref r[MAXREF];
  size_t n = tpa__lora_set_tensors(s, r, MAXREF);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < r[i].count; j++)
      r[i].data[j] = fixture_value((int)i * 3 + 1, j) * 1.7f;
}

static const int32_t vranks[12] = {8, 8, 8, 8, 4, 0, 4, 4, 4, 4, 1, 16};
static const float valphas[12] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 2.5f, 0};

START_TEST(save_load_roundtrip) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, vranks, valphas), *t = NULL;
  scramble(s);
  char *d1 = temp_dir(), *d2 = temp_dir();
  char *sub = join(d2, "nested/dir");
  ck_assert_msg(tpa_lora_set_save(s, d1) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(count_entries(d1), 2); /* no temporary files left */
  ck_assert_msg(tpa_lora_set_load(&t, m, d1) == TPA_OK, "%s", tpa_last_error());
  for (int32_t i = 0; i < 12; i++) {
    ck_assert_int_eq(tpa_lora_set_rank(t, i / 4, (tpa_lora_module)(i % 4)), vranks[i]);
    ck_assert_float_eq(tpa_lora_set_alpha(t, i / 4, (tpa_lora_module)(i % 4)),
                       tpa_lora_set_alpha(s, i / 4, (tpa_lora_module)(i % 4)));
  }
  tpa__tensor_ref a[MAXREF], b[MAXREF];
  size_t na = tpa__lora_set_tensors(s, a, MAXREF), nb = tpa__lora_set_tensors(t, b, MAXREF);
  ck_assert_uint_eq(na, nb);
  for (size_t i = 0; i < na; i++) {
    ck_assert_str_eq(a[i].name, b[i].name);
    ck_assert_uint_eq(a[i].count, b[i].count);
    ck_assert_mem_eq(a[i].data, b[i].data, a[i].count * sizeof(float));
  }
  /* Saving what was loaded gives the same bytes (into a created path). */
  ck_assert_msg(tpa_lora_set_save(t, sub) == TPA_OK, "%s", tpa_last_error());
  const char *files[2] = {"adapter_config.json", "adapter_model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *p1 = join(d1, files[i]), *p2 = join(sub, files[i]);
    size_t l1, l2;
    char *x = read_all(p1, &l1), *y = read_all(p2, &l2);
    ck_assert_uint_eq(l1, l2);
    ck_assert_msg(memcmp(x, y, l1) == 0, "%s differs after a round trip", files[i]);
    free(x);
    free(y);
    free(p1);
    free(p2);
  }
  remove_dir(sub);
  char *nested = join(d2, "nested");
  remove_dir(nested);
  free(nested);
  remove_dir(d1);
  remove_dir(d2);
  free(sub);
  free(d1);
  free(d2);
  tpa_lora_set_free(s);
  tpa_lora_set_free(t);
  tpa_model_free(m);
}
END_TEST

static const json_t *get(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  ck_assert_msg(v != NULL, "adapter_config.json lacks \"%s\"", key);
  return v;
}

/* What PEFT needs to rebuild the same modules: r and lora_alpha the most
 * common values, patterns for the rest with keys naming one module, the
 * adapted modules only, and modules_to_save. */
START_TEST(config_json) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_set *s = make(m, vranks, valphas);
  char *d = temp_dir(), *path = join(d, "adapter_config.json");
  ck_assert_int_eq(tpa_lora_set_save(s, d), TPA_OK);
  json_error_t err;
  json_t *c = json_load_file(path, 0, &err);
  ck_assert_msg(c != NULL, "%s", err.text);
  ck_assert_str_eq(json_string_value(get(c, "peft_type")), "LORA");
  ck_assert_str_eq(json_string_value(get(c, "task_type")), "SEQ_CLS");
  ck_assert_str_eq(json_string_value(get(c, "bias")), "none");
  /* ranks: 8 x4, 4 x6, 1, 16 -> r = 4; alphas 16, 3, 16, 16, 8 x6, 2.5, 32 -> 8. */
  ck_assert_int_eq(json_integer_value(get(c, "r")), 4);
  ck_assert(json_number_value(get(c, "lora_alpha")) == 8.0);
  const json_t *rp = get(c, "rank_pattern"), *ap = get(c, "alpha_pattern");
  ck_assert_uint_eq(json_object_size(rp), 6);
  ck_assert_int_eq(json_integer_value(json_object_get(rp, "encoder.layer.0.attention.self.query")),
                   8);
  ck_assert_int_eq(
      json_integer_value(json_object_get(rp, "encoder.layer.0.attention.output.dense")), 8);
  ck_assert_int_eq(json_integer_value(json_object_get(rp, "encoder.layer.2.attention.self.value")),
                   1);
  ck_assert_int_eq(
      json_integer_value(json_object_get(rp, "encoder.layer.2.attention.output.dense")), 16);
  /* 16 (x3), 3, 2.5 and 32 differ from 8. */
  ck_assert_uint_eq(json_object_size(ap), 6);
  ck_assert(json_number_value(json_object_get(ap, "encoder.layer.2.attention.output.dense")) ==
            32.0);
  ck_assert(json_number_value(json_object_get(ap, "encoder.layer.0.attention.self.key")) == 3.0);
  ck_assert(json_number_value(json_object_get(ap, "encoder.layer.0.attention.self.value")) == 16.0);
  ck_assert(json_number_value(json_object_get(ap, "encoder.layer.2.attention.self.value")) == 2.5);
  /* Layer 1's key has rank 0: the targets list the 11 adapted modules. */
  const json_t *tm = get(c, "target_modules");
  ck_assert_uint_eq(json_array_size(tm), 11);
  ck_assert_str_eq(json_string_value(json_array_get(tm, 0)),
                   "bert.encoder.layer.0.attention.self.query");
  ck_assert_str_eq(json_string_value(json_array_get(tm, 5)),
                   "bert.encoder.layer.1.attention.self.value");
  const json_t *ms = get(c, "modules_to_save");
  ck_assert_uint_eq(json_array_size(ms), 2);
  ck_assert_str_eq(json_string_value(json_array_get(ms, 0)), "classifier");
  ck_assert_str_eq(json_string_value(json_array_get(ms, 1)), "LayerNorm");
  ck_assert(json_is_false(get(c, "fan_in_fan_out")));
  ck_assert(json_is_string(get(c, "base_model_name_or_path")));
  const json_t *ph = get(get(c, "libtpa"), "pruned_heads");
  ck_assert_uint_eq(json_object_size(ph), 2);
  ck_assert_uint_eq(json_array_size(json_object_get(ph, "0")), 2);
  ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(ph, "0"), 1)), 4);
  ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(ph, "2"), 3)), 5);
  json_decref(c);

  /* A uniform set uses PEFT's suffix targets and empty patterns. */
  tpa_lora_set_free(s);
  s = make(m, NULL, NULL);
  ck_assert_int_eq(tpa_lora_set_save(s, d), TPA_OK);
  c = json_load_file(path, 0, &err);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(json_integer_value(get(c, "r")), 8);
  ck_assert(json_number_value(get(c, "lora_alpha")) == 16.0);
  ck_assert_uint_eq(json_object_size(get(c, "rank_pattern")), 0);
  ck_assert_uint_eq(json_object_size(get(c, "alpha_pattern")), 0);
  tm = get(c, "target_modules");
  ck_assert_uint_eq(json_array_size(tm), 4);
  ck_assert_str_eq(json_string_value(json_array_get(tm, 3)), "attention.output.dense");
  json_decref(c);
  remove_dir(d);
  free(path);
  free(d);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* target_modules of a set with LoRA on the feed-forward: PEFT's suffixes
 * when they pick exactly the adapted modules, full names when BERT's
 * "output.dense" would also pick attention.output.dense; a round trip
 * through the files keeps every rank and value. */
static void expect_targets(const tpa_model *m, const int32_t *att, const int32_t *ffn,
                           const char *const *want, size_t n_want) {
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = att;
  p.ffn_ranks = ffn;
  tpa_lora_set *s = NULL, *t = NULL;
  ck_assert_msg(tpa_lora_set_create(&s, m, &p) == TPA_OK, "%s", tpa_last_error());
  scramble(s);
  char *d = temp_dir(), *path = join(d, "adapter_config.json");
  ck_assert_int_eq(tpa_lora_set_save(s, d), TPA_OK);
  json_error_t err;
  json_t *c = json_load_file(path, 0, &err);
  ck_assert_msg(c != NULL, "%s", err.text);
  const json_t *tm = get(c, "target_modules");
  ck_assert_uint_eq(json_array_size(tm), n_want);
  for (size_t i = 0; i < n_want; i++)
    ck_assert_str_eq(json_string_value(json_array_get(tm, i)), want[i]);
  json_decref(c);
  ck_assert_msg(tpa_lora_set_load(&t, m, d) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < 3; l++)
    for (int k = 0; k < TPA_LORA_ALL_MODULES; k++)
      ck_assert_int_eq(tpa_lora_set_rank(t, l, (tpa_lora_module)k),
                       tpa_lora_set_rank(s, l, (tpa_lora_module)k));
  tpa__tensor_ref a[MAXREF], b[MAXREF];
  size_t na = tpa__lora_set_tensors(s, a, MAXREF), nb = tpa__lora_set_tensors(t, b, MAXREF);
  ck_assert_uint_eq(na, nb);
  for (size_t i = 0; i < na; i++) {
    ck_assert_str_eq(a[i].name, b[i].name);
    ck_assert_mem_eq(a[i].data, b[i].data, a[i].count * sizeof(float));
  }
  remove_dir(d);
  free(path);
  free(d);
  tpa_lora_set_free(s);
  tpa_lora_set_free(t);
}

START_TEST(config_json_ffn) {
  tpa_model *m = load_fixture("tiny-pruned");
  const int32_t all8[12] = {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8}, none[12] = {0};
  const int32_t ffn_all[6] = {8, 8, 8, 8, 8, 8}, ffn_out[6] = {0, 4, 0, 4, 0, 4};
  const char *const six[] = {
      "query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"};
  expect_targets(m, all8, ffn_all, six, 6);
  /* "output.dense" alone would adapt attention.output.dense too. */
  const char *const out_only[] = {"bert.encoder.layer.0.output.dense",
                                  "bert.encoder.layer.1.output.dense",
                                  "bert.encoder.layer.2.output.dense"};
  expect_targets(m, none, ffn_out, out_only, 3);
  const int32_t att_ov[12] = {0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 8};
  const char *const both_out[] = {"attention.output.dense", "output.dense"};
  expect_targets(m, att_ov, ffn_out, both_out, 2);
  tpa_model_free(m);
}
END_TEST

/* gen_adapter.py's seeds: 100 * layer + 10 * module + 1 (A) or 2 (B). */
static void expect_formula(const float *v, size_t n, int seed, const char *what) {
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(v[i] == fixture_value(seed, i), "%s[%zu] = %g, expected %g", what, i,
                  (double)v[i], (double)fixture_value(seed, i));
}

START_TEST(python_adapter_loads) {
  tpa_model *m = load_fixture("tiny-pruned");
  char *dir = fixture("lora/peft-tiny-pruned");
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, dir) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < 3; l++)
    for (int32_t k = 0; k < 4; k++) {
      int32_t want = 4;
      if (l == 1 && k == TPA_LORA_VALUE)
        want = 2; /* rank_pattern "encoder.layer.1.attention.self.value" */
      if (l == 2 && k == TPA_LORA_OUTPUT)
        want = 6; /* rank_pattern "layer.2.attention.output.dense" */
      if (l == 2 && k == TPA_LORA_KEY)
        want = 0; /* no tensors */
      ck_assert_int_eq(tpa_lora_set_rank(s, l, (tpa_lora_module)k), want);
      float alpha = want == 0 ? 0.0f : (l == 0 && k == TPA_LORA_KEY) ? 3.5f : 8.0f;
      ck_assert_float_eq(tpa_lora_set_alpha(s, l, (tpa_lora_module)k), alpha);
      if (want == 0)
        continue;
      const tpa__lora_mod *mod = tpa__lora_at(s, l, k);
      char what[96];
      snprintf(what, sizeof what, "layer %d %s A", l, paths[k]);
      expect_formula(mod->a, (size_t)want * (size_t)mod->in, 100 * l + 10 * k + 1, what);
      snprintf(what, sizeof what, "layer %d %s B", l, paths[k]);
      expect_formula(mod->b, (size_t)mod->out * (size_t)want, 100 * l + 10 * k + 2, what);
    }
  expect_formula(s->emb_ln_g, 96, 900, "embeddings LayerNorm weight");
  expect_formula(s->emb_ln_b, 96, 901, "embeddings LayerNorm bias");
  expect_formula(s->ln1_g, 96, 910, "layer 0 attention LayerNorm weight");
  expect_formula(s->ln1_b, 96, 911, "layer 0 attention LayerNorm bias");
  expect_formula(s->cls_w, 2 * 96, 950, "classifier weight");
  expect_formula(s->cls_b, 2, 951, "classifier bias (F16 in the file)");
  /* LayerNorms absent from the file keep the model's values. */
  ck_assert_mem_eq(s->ln1_g + 96, m->w.layer[1].ln1_g, 96 * sizeof(float));
  ck_assert_mem_eq(s->ln2_b + 2 * 96, m->w.layer[2].ln2_b, 96 * sizeof(float));
  ck_assert_mem_eq(s->ln2_g, m->w.layer[0].ln2_g, 96 * sizeof(float));
  /* 4 * (96 + 64) * 4 + ... counted by hand: layer 0: 4 modules r 4 over
   * 160 = 2560; layer 1: q, k, o r 4 over 192 = 2304, v r 2 = 384; layer
   * 2: q, v r 4 over 128 = 1024, o r 6 = 768. */
  ck_assert_uint_eq(tpa_lora_set_num_params(s), 2560 + 2304 + 384 + 1024 + 768 + 1344 + 194);
  tpa_lora_set_free(s);
  free(dir);
  tpa_model_free(m);
}
END_TEST

static void expect_load_error(const tpa_model *m, const char *dir, tpa_status want, const char *n1,
                              const char *n2) {
  tpa_lora_set *s = (tpa_lora_set *)1;
  tpa_status st = tpa_lora_set_load(&s, m, dir);
  ck_assert_msg(st == want, "status %s, expected %s (%s)", tpa_status_str(st), tpa_status_str(want),
                tpa_last_error());
  ck_assert_ptr_null(s);
  const char *msg = tpa_last_error();
  ck_assert_msg(strstr(msg, n1) != NULL, "message \"%s\" lacks \"%s\"", msg, n1);
  ck_assert_msg(!n2 || strstr(msg, n2) != NULL, "message \"%s\" lacks \"%s\"", msg, n2);
}

/* The Python adapter is for the pruned model: the unpruned one has a
 * 96-row B where the file has 64 rows. */
START_TEST(rejects_wrong_base) {
  tpa_model *full = load_fixture("tiny"), *pruned = load_fixture("tiny-pruned");
  char *dir = fixture("lora/peft-tiny-pruned");
  expect_load_error(full, dir, TPA_ERR_TENSOR_SHAPE,
                    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight",
                    "[64, 4], expected [96, 4]");
  /* Our own adapters say which heads their base lacks. */
  tpa_lora_set *s = make(pruned, NULL, NULL);
  char *d = temp_dir();
  ck_assert_int_eq(tpa_lora_set_save(s, d), TPA_OK);
  expect_load_error(full, d, TPA_ERR_TENSOR_SHAPE, "adapter_config.json", "pruned_heads");
  remove_dir(d);
  free(d);
  free(dir);
  tpa_lora_set_free(s);
  tpa_model_free(full);
  tpa_model_free(pruned);
}
END_TEST

/* Copy the fixture adapter into a temporary directory. */
static char *copy_fixture_adapter(void) {
  char *src = fixture("lora/peft-tiny-pruned"), *d = temp_dir();
  const char *files[2] = {"adapter_config.json", "adapter_model.safetensors"};
  for (int i = 0; i < 2; i++) {
    char *a = join(src, files[i]), *b = join(d, files[i]);
    size_t n;
    char *buf = read_all(a, &n);
    write_all(b, buf, n);
    free(buf);
    free(a);
    free(b);
  }
  free(src);
  return d;
}

static void write_text(const char *dir, const char *name, const char *text) {
  char *p = join(dir, name);
  write_all(p, text, strlen(text));
  free(p);
}

/* An adapter_model.safetensors with the given F32 tensors of value 0. */
static void write_tensors(const char *dir, const char *const *names, const int64_t (*shapes)[2],
                          size_t n) {
  static float zeros[4096];
  tpa__st_out out[8];
  for (size_t i = 0; i < n; i++)
    out[i] = (tpa__st_out){
        .name = names[i], .dtype = TPA__DT_F32, .ndim = 2, .shape = shapes[i], .f32 = zeros};
  char *p = join(dir, "adapter_model.safetensors");
  ck_assert_int_eq(tpa__st_write(p, out, n, NULL, NULL, 0), TPA_OK);
  free(p);
}

START_TEST(rejects_bad_files) {
  tpa_model *m = load_fixture("tiny-pruned");
  const char *cfg_ok = "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8}";
  char *d = copy_fixture_adapter();
  expect_load_error(m, "/nonexistent/adapter", TPA_ERR_NOT_FOUND, "adapter_config.json", NULL);

  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"r\": ");
  expect_load_error(m, d, TPA_ERR_JSON, "adapter_config.json", "line");
  write_text(d, "adapter_config.json", "{\"peft_type\": \"PREFIX_TUNING\"}");
  expect_load_error(m, d, TPA_ERR_UNSUPPORTED, "adapter_config.json", "PREFIX_TUNING");
  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"use_dora\": true}");
  expect_load_error(m, d, TPA_ERR_UNSUPPORTED, "adapter_config.json", "use_dora");
  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"bias\": \"all\"}");
  expect_load_error(m, d, TPA_ERR_UNSUPPORTED, "adapter_config.json", "bias");
  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"r\": \"four\"}");
  expect_load_error(m, d, TPA_ERR_CONFIG, "adapter_config.json", "\"r\"");
  /* The file's r (3) disagrees with the tensors' (4). */
  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"r\": 3, \"lora_alpha\": 8}");
  expect_load_error(m, d, TPA_ERR_TENSOR_SHAPE,
                    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight",
                    "[4, 96], expected [3, 96]");
  write_text(d, "adapter_config.json",
             "{\"peft_type\": \"LORA\", \"r\": 4, \"rank_pattern\": {\"query\": 0}}");
  expect_load_error(m, d, TPA_ERR_CONFIG, "adapter_config.json", "rank 0");
  write_text(d, "adapter_config.json", "{\"peft_type\": \"LORA\", \"lora_alpha\": -2}");
  expect_load_error(m, d, TPA_ERR_CONFIG, "adapter_config.json", "lora_alpha");

  write_text(d, "adapter_config.json", cfg_ok);
  write_text(d, "adapter_model.safetensors", "\xff\xff\xff\xff\xff\xff\xff\x7f{}");
  expect_load_error(m, d, TPA_ERR_HEADER, "adapter_model.safetensors", NULL);
  write_text(d, "adapter_model.safetensors", "abc");
  expect_load_error(m, d, TPA_ERR_TRUNCATED, "adapter_model.safetensors", NULL);
  char *w = join(d, "adapter_model.safetensors");
  remove(w);
  free(w);
  expect_load_error(m, d, TPA_ERR_NOT_FOUND, "adapter_model.safetensors", NULL);

  /* A without B. */
  const char *a_only[1] = {
      "base_model.model.bert.encoder.layer.1.attention.self.key.lora_A.weight"};
  const int64_t a_shape[1][2] = {{4, 96}};
  write_tensors(d, a_only, a_shape, 1);
  expect_load_error(m, d, TPA_ERR_TENSOR_MISSING,
                    "base_model.model.bert.encoder.layer.1.attention.self.key.lora_B.weight",
                    "adapter_model.safetensors");
  /* A module this model does not have (layer 3 of 3). */
  const char *extra[2] = {"base_model.model.bert.encoder.layer.3.attention.self.key.lora_A.weight",
                          "base_model.model.bert.encoder.layer.3.attention.self.key.lora_B.weight"};
  const int64_t ex_shape[2][2] = {{4, 96}, {96, 4}};
  write_tensors(d, extra, ex_shape, 2);
  expect_load_error(m, d, TPA_ERR_UNSUPPORTED, "layer.3.attention.self.key.lora_A.weight",
                    "adapter_model.safetensors");
  const char *ffn[2] = {"base_model.model.bert.encoder.layer.0.intermediate.dense.lora_A.weight",
                        "base_model.model.bert.encoder.layer.0.intermediate.dense.lora_B.weight"};
  /* A LoRA on the FFN loads (0.6); one sized for another intermediate
   * size does not. */
  const int64_t ffn_shape[2][2] = {{4, 96}, {200, 4}};
  write_tensors(d, ffn, ffn_shape, 2);
  tpa_lora_set *fs = NULL;
  ck_assert_msg(tpa_lora_set_load(&fs, m, d) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_lora_set_rank(fs, 0, TPA_LORA_INTERMEDIATE), 4);
  ck_assert_int_eq(tpa_lora_set_rank(fs, 0, TPA_LORA_FFN_OUTPUT), 0);
  ck_assert_int_eq(tpa_lora_set_rank(fs, 0, TPA_LORA_QUERY), 0);
  tpa_lora_set_free(fs);
  const int64_t ffn_bad[2][2] = {{4, 96}, {128, 4}};
  write_tensors(d, ffn, ffn_bad, 2);
  expect_load_error(m, d, TPA_ERR_TENSOR_SHAPE, "intermediate.dense.lora_B.weight",
                    "[128, 4], expected [200, 4]");
  /* A LayerNorm of the wrong size. */
  const char *ln[1] = {"base_model.model.bert.embeddings.LayerNorm.weight"};
  const int64_t ln_shape[1][2] = {{1, 96}};
  write_tensors(d, ln, ln_shape, 1);
  expect_load_error(m, d, TPA_ERR_TENSOR_SHAPE, "embeddings.LayerNorm.weight",
                    "[1, 96], expected [96]");
  /* Only the config and no tensors at all: a valid, empty adapter. */
  write_tensors(d, NULL, NULL, 0);
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, d) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_lora_set_rank(s, 0, TPA_LORA_QUERY), 0);
  ck_assert_mem_eq(s->cls_w, m->w.cls_w, 2 * 96 * sizeof(float));
  tpa_lora_set_free(s);

  ck_assert_int_eq(tpa_lora_set_load(NULL, m, d), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_lora_set_save(NULL, d), TPA_ERR_INVALID_ARGUMENT);
  remove_dir(d);
  free(d);
  tpa_model_free(m);
}
END_TEST

Suite *peft_suite(void) {
  Suite *s = suite_create("lora-peft");
  struct {
    const char *name;
    const TTest *fn;
  } cases[] = {
      {"tensor_names_pruned", tensor_names_pruned},
      {"save_load_roundtrip", save_load_roundtrip},
      {"config_json", config_json},
      {"config_json_ffn", config_json_ffn},
      {"python_adapter_loads", python_adapter_loads},
      {"rejects_wrong_base", rejects_wrong_base},
      {"rejects_bad_files", rejects_bad_files},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cases[i].fn);
    suite_add_tcase(s, tc);
  }
  return s;
}
