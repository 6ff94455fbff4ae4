/* SPDX-License-Identifier: Apache-2.0 */
/* Checkpoint loading: tiny HF directories written by the test (ckpt.c),
 * loaded, and checked against the values and shapes the test wrote; every
 * kind of bad input gets its own status and a message naming the file and
 * tensor; parameter counts match docs/method.md's bert-base figures. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "io/half.h"
#include "io/json.h"
#include "model/config.h"
#include "model/model.h"
#include "tpa/tpa.h"

/* The model's weights with every block matrix in HF's layout: the loader
 * drops copies it converted once they are packed, and tpa__model_plain
 * unpacks them (exactly, which the tests below also check). */
static tpa__plain plain_of(const tpa_model *m) {
  tpa__plain p;
  ck_assert_int_eq(tpa__model_plain(m, &p), TPA_OK);
  return p;
}

static tpa_model *load_ok(const char *dir, const tpa_model_load_params *p) {
  tpa_model *m = NULL;
  tpa_status st = tpa_model_load(&m, dir, p);
  ck_assert_msg(st == TPA_OK, "loading %s: %s (%s)", dir, tpa_status_str(st), tpa_last_error());
  ck_assert_ptr_nonnull(m);
  return m;
}

/* Loading @p dir fails with @p want, leaves no model, and the message
 * names each of the given substrings (NULL-terminated). */
static void load_fails(const char *dir, tpa_status want, const char *const *needles) {
  tpa_model *m = (tpa_model *)(uintptr_t)1; /* must be reset to NULL */
  tpa_status st = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(st == want, "%s: got %s, want %s (%s)", dir, tpa_status_str(st),
                tpa_status_str(want), tpa_last_error());
  ck_assert_ptr_null(m);
  for (const char *const *n = needles; *n; n++)
    ck_assert_msg(strstr(tpa_last_error(), *n) != NULL, "message \"%s\" does not name \"%s\"",
                  tpa_last_error(), *n);
}

/* Every element of a loaded tensor equals what the test wrote. */
static void expect_tensor(const float *got, const char *name, size_t n) {
  ck_assert_ptr_nonnull(got);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(got[i] == ckpt_value(name, i), "%s[%zu] = %g, wrote %g", name, i, got[i],
                  ckpt_value(name, i));
}

static uint64_t total_params(const tpa_model *m) {
  tpa_param_counts c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_param_counts(m, &c), TPA_OK);
  ck_assert_uint_eq(c.total, c.embeddings + c.encoder + c.head);
  ck_assert_uint_eq(c.head, c.pooler + c.classifier);
  return c.total;
}

/* ---- loading ---- */

static void check_full_model(const char *dir, const char *p, tpa__dtype dtype) {
  ckpt_spec s = ckpt_default();
  s.prefix = p[0] != '\0';
  s.dtype = dtype;
  uint64_t written = ckpt_write(dir, &s);
  tpa_model *m = load_ok(dir, NULL);
  tpa__plain pw = plain_of(m);
  const tpa__weights *w = &pw.w;
  char name[128];
  snprintf(name, sizeof name, "%sembeddings.word_embeddings.weight", p);
  expect_tensor(w->word_emb, name, 16 * 8);
  snprintf(name, sizeof name, "%sembeddings.position_embeddings.weight", p);
  expect_tensor(w->pos_emb, name, 10 * 8);
  snprintf(name, sizeof name, "%sembeddings.LayerNorm.bias", p);
  expect_tensor(w->emb_ln_b, name, 8);
  snprintf(name, sizeof name, "%sencoder.layer.1.attention.self.value.weight", p);
  expect_tensor(w->layer[1].v_w, name, 8 * 8);
  snprintf(name, sizeof name, "%sencoder.layer.0.output.dense.weight", p);
  expect_tensor(w->layer[0].f_w, name, 8 * 12);
  snprintf(name, sizeof name, "%sencoder.layer.1.output.LayerNorm.weight", p);
  expect_tensor(w->layer[1].ln2_g, name, 8);
  snprintf(name, sizeof name, "%spooler.dense.bias", p);
  expect_tensor(w->pool_b, name, 8);
  expect_tensor(w->cls_w, "classifier.weight", 2 * 8);
  expect_tensor(w->cls_b, "classifier.bias", 2);

  tpa_model_config c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_get_config(m, &c), TPA_OK);
  ck_assert_int_eq(c.hidden_size, 8);
  ck_assert_int_eq(c.num_layers, 2);
  ck_assert_int_eq(c.num_heads, 2);
  ck_assert_int_eq(c.head_dim, 4);
  ck_assert_int_eq(c.intermediate_size, 12);
  ck_assert_int_eq(c.vocab_size, 16);
  ck_assert_int_eq(c.max_position_embeddings, 10);
  ck_assert_int_eq(c.type_vocab_size, 2);
  ck_assert_int_eq(c.num_labels, 2);
  ck_assert(c.layer_norm_eps == 1e-12);
  ck_assert(c.hidden_dropout_prob == 0.1);
  ck_assert(c.do_lower_case);
  ck_assert(!c.regression);
  ck_assert_str_eq(tpa_model_label_name(m, 1), "class_1");
  ck_assert_ptr_null(tpa_model_label_name(m, 2));
  ck_assert_ptr_null(tpa_model_label_name(m, -1));
  /* The written tensors minus HF's position_ids buffer are the model. */
  ck_assert_uint_eq(total_params(m), written);
  const tpa_tokenizer *tok = tpa_model_tokenizer(m);
  ck_assert_ptr_nonnull(tok);
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(tok), 11);
  ck_assert_int_eq(tpa_tokenizer_token_id(tok, "cat"), 6);
  tpa__plain_free(&pw);
  tpa_model_free(m);
}

START_TEST(loads_with_bert_prefix) {
  char *dir = ckpt_tmpdir("prefix");
  check_full_model(dir, "bert.", TPA__DT_F32);
  free(dir);
}
END_TEST

START_TEST(loads_without_prefix) {
  char *dir = ckpt_tmpdir("noprefix");
  check_full_model(dir, "", TPA__DT_F32);
  free(dir);
}
END_TEST

START_TEST(loads_f16_exactly) {
  char *dir = ckpt_tmpdir("f16");
  check_full_model(dir, "bert.", TPA__DT_F16);
  free(dir);
}
END_TEST

START_TEST(loads_bf16_exactly) {
  char *dir = ckpt_tmpdir("bf16");
  check_full_model(dir, "bert.", TPA__DT_BF16);
  free(dir);
}
END_TEST

/* Hand-known bit patterns inside a checkpoint: a 6-label classifier bias
 * written as raw F16 (and BF16) bytes. */
static void write_raw_bias(const char *dir, tpa__dtype dt, const uint16_t *bits, int n) {
  ckpt_spec s = ckpt_default();
  s.num_labels = n;
  s.drop = "classifier.bias";
  ckpt_write(dir, &s);
  /* Re-write model.safetensors with the bias added, through the writer. */
  size_t len;
  unsigned char *img = ckpt_read_file(dir, "model.safetensors", &len);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, img, len, "img"), TPA_OK);
  tpa__st_out *out = calloc(f.n + 1, sizeof *out);
  int64_t(*shapes)[TPA__ST_MAX_DIMS] = calloc(f.n + 1, sizeof *shapes);
  for (size_t i = 0; i < f.n; i++) {
    out[i].name = f.t[i].name;
    out[i].dtype = f.t[i].dtype;
    out[i].ndim = f.t[i].ndim;
    for (int d = 0; d < f.t[i].ndim; d++)
      shapes[i][d] = (int64_t)f.t[i].shape[d];
    out[i].shape = shapes[i];
    out[i].raw = f.t[i].data;
  }
  unsigned char raw[64];
  for (int i = 0; i < n; i++) {
    raw[2 * i] = (unsigned char)(bits[i] & 0xFF);
    raw[2 * i + 1] = (unsigned char)(bits[i] >> 8);
  }
  shapes[f.n][0] = n;
  out[f.n] = (tpa__st_out){
      .name = "classifier.bias", .dtype = dt, .ndim = 1, .shape = shapes[f.n], .raw = raw};
  char path[1024];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  ck_assert_int_eq(tpa__st_write(path, out, f.n + 1, NULL, NULL, 0), TPA_OK);
  tpa__st_close(&f);
  free(out);
  free(shapes);
  free(img);
}

START_TEST(f16_bf16_bit_patterns) {
  char *dir = ckpt_tmpdir("bits");
  /* 1.0, 65504 (largest), 2^-24 (smallest subnormal), -0, -2, 2^-14 */
  const uint16_t f16[] = {0x3C00, 0x7BFF, 0x0001, 0x8000, 0xC000, 0x0400};
  const float f16_want[] = {1.0f, 65504.0f, 0x1p-24f, -0.0f, -2.0f, 0x1p-14f};
  write_raw_bias(dir, TPA__DT_F16, f16, 6);
  tpa_model *m = load_ok(dir, NULL);
  for (int i = 0; i < 6; i++) {
    ck_assert_msg(m->w.cls_b[i] == f16_want[i], "F16 %04x -> %a", f16[i], m->w.cls_b[i]);
    ck_assert_int_eq(signbit(m->w.cls_b[i]) != 0, signbit(f16_want[i]) != 0);
  }
  tpa_model_free(m);
  /* BF16: 1.0, -2.0, largest finite, smallest subnormal 2^-133, +inf, 0.5 */
  const uint16_t bf16[] = {0x3F80, 0xC000, 0x7F7F, 0x0001, 0x7F80, 0x3F00};
  const float bf16_want[] = {1.0f, -2.0f, 0x1.FEp127f, 0x1p-133f, INFINITY, 0.5f};
  write_raw_bias(dir, TPA__DT_BF16, bf16, 6);
  m = load_ok(dir, NULL);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(m->w.cls_b[i] == bf16_want[i], "BF16 %04x -> %a", bf16[i], m->w.cls_b[i]);
  tpa_model_free(m);
  free(dir);
}
END_TEST

START_TEST(legacy_layernorm_names) {
  char *dir = ckpt_tmpdir("legacy");
  ckpt_spec s = ckpt_default();
  s.legacy_ln = true;
  ckpt_write(dir, &s);
  tpa_model *m = load_ok(dir, NULL);
  expect_tensor(m->w.emb_ln_g, "bert.embeddings.LayerNorm.gamma", 8);
  expect_tensor(m->w.layer[0].ln1_b, "bert.encoder.layer.0.attention.output.LayerNorm.beta", 8);
  tpa_model_free(m);
  free(dir);
}
END_TEST

START_TEST(tokenizer_config_casing) {
  char *dir = ckpt_tmpdir("cased");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  const char *tc = "{\"do_lower_case\": false, \"model_max_length\": 512}";
  ckpt_write_file(dir, "tokenizer_config.json", tc, strlen(tc));
  tpa_model *m = load_ok(dir, NULL);
  tpa_model_config c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_get_config(m, &c), TPA_OK);
  ck_assert(!c.do_lower_case);
  tpa_model_free(m);
  const char *bad = "{\"do_lower_case\": \"no\"}";
  ckpt_write_file(dir, "tokenizer_config.json", bad, strlen(bad));
  const char *needles[] = {"tokenizer_config.json", "do_lower_case", NULL};
  load_fails(dir, TPA_ERR_CONFIG, needles);
  free(dir);
}
END_TEST

/* ---- pruned heads ---- */

START_TEST(pruned_heads_honoured) {
  char *dir = ckpt_tmpdir("pruned");
  ckpt_spec s = ckpt_default();
  s.heads = 4; /* head_dim 2 */
  s.layers = 3;
  /* layer 0 drops head 1; layer 2 drops 3 and 0; layer 1 keeps all */
  bool pruned[12] = {0};
  pruned[0 * 4 + 1] = pruned[2 * 4 + 3] = pruned[2 * 4 + 0] = true;
  s.pruned = pruned;
  s.pruned_json = "{\"0\": [1], \"2\": [3, 0]}";
  uint64_t written = ckpt_write(dir, &s);
  tpa_model *m = load_ok(dir, NULL);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 0), 3);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 1), 4);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 2), 2);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 3), -1);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, -1), -1);
  int32_t ids[4];
  size_t n = 99;
  ck_assert_int_eq(tpa_model_layer_heads(m, 0, ids, 4, &n), TPA_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(ids[0], 0);
  ck_assert_int_eq(ids[1], 2);
  ck_assert_int_eq(ids[2], 3);
  ck_assert_int_eq(tpa_model_layer_heads(m, 2, ids, 4, &n), TPA_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(ids[0], 1);
  ck_assert_int_eq(ids[1], 2);
  /* size query, short buffer, bad layer */
  ck_assert_int_eq(tpa_model_layer_heads(m, 1, NULL, 0, &n), TPA_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(tpa_model_layer_heads(m, 1, ids, 2, &n), TPA_ERR_BUFFER_TOO_SMALL);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(ids[1], 1);
  ck_assert_int_eq(tpa_model_layer_heads(m, 3, ids, 4, &n), TPA_ERR_INVALID_ARGUMENT);
  /* compact tensors were read with their pruned shapes */
  tpa__plain pw = plain_of(m);
  expect_tensor(pw.w.layer[0].q_w, "bert.encoder.layer.0.attention.self.query.weight", 6 * 8);
  expect_tensor(pw.w.layer[2].o_w, "bert.encoder.layer.2.attention.output.dense.weight", 8 * 4);
  tpa__plain_free(&pw);
  /* counts: what the test wrote, and 3 heads fewer than unpruned by
   * 3 (d H + d) + H d = 3 (2*8 + 2) + 8*2 = 70 each */
  ck_assert_uint_eq(total_params(m), written);
  tpa_model_free(m);

  /* The same layout with the unpruned config fails on shape. */
  ckpt_spec u = s;
  u.pruned_json = NULL;
  ckpt_write(dir, &u);
  /* (u.pruned still shapes the tensors; only config.json lost the map) */
  const char *needles[] = {"model.safetensors", "bert.encoder.layer.0.attention.self.query.weight",
                           "[6, 8]", "[8, 8]", NULL};
  load_fails(dir, TPA_ERR_TENSOR_SHAPE, needles);
  free(dir);
}
END_TEST

START_TEST(pruned_counts_by_hand) {
  char *a = ckpt_tmpdir("pa"), *b = ckpt_tmpdir("pb");
  ckpt_spec s = ckpt_default();
  s.heads = 4;
  ckpt_write(a, &s);
  bool pruned[8] = {0};
  pruned[1] = pruned[4 + 0] = pruned[4 + 2] = true;
  s.pruned = pruned;
  s.pruned_json = "{\"0\": [1], \"1\": [0, 2]}";
  ckpt_write(b, &s);
  tpa_model *ma = load_ok(a, NULL), *mb = load_ok(b, NULL);
  /* 3 heads of size 2 at hidden 8: 3 * (3 * (2*8 + 2) + 8*2) = 210 */
  ck_assert_uint_eq(total_params(ma) - total_params(mb), 210);
  tpa_model_free(ma);
  tpa_model_free(mb);
  free(a);
  free(b);
}
END_TEST

/* ---- fresh classifier ---- */

static int log_calls;
static char log_last[1024];
static void on_log(void *user, tpa_log_level level, const char *msg) {
  (void)user;
  if (level <= TPA_LOG_INFO) {
    log_calls++;
    snprintf(log_last, sizeof log_last, "%s", msg);
  }
}

START_TEST(bare_model_gets_classifier) {
  char *dir = ckpt_tmpdir("bare");
  ckpt_spec s = ckpt_default();
  s.prefix = false;
  s.classifier = false;
  s.num_labels = 3;
  uint64_t written = ckpt_write(dir, &s);
  tpa_model_load_params p;
  tpa_model_load_params_init(&p, sizeof p);
  ck_assert_uint_eq(p.seed, 42);
  p.log = on_log;
  log_calls = 0;
  tpa_model *m1 = load_ok(dir, &p);
  ck_assert_int_ge(log_calls, 1);
  ck_assert_ptr_nonnull(strstr(log_last, "classifier"));
  tpa_model *m2 = load_ok(dir, &p);
  p.seed = 43;
  tpa_model *m3 = load_ok(dir, &p);
  int same = 0;
  for (int i = 0; i < 3 * 8; i++) {
    ck_assert(m1->w.cls_w[i] == m2->w.cls_w[i]); /* same seed, same weights */
    same += m1->w.cls_w[i] == m3->w.cls_w[i];
    ck_assert(m1->w.cls_w[i] != 0.0f);
  }
  ck_assert_int_lt(same, 2); /* another seed, other weights */
  for (int i = 0; i < 3; i++)
    ck_assert(m1->w.cls_b[i] == 0.0f);
  ck_assert_uint_eq(total_params(m1), written + 3 * 8 + 3);
  tpa_model_free(m1);
  tpa_model_free(m2);
  tpa_model_free(m3);
  free(dir);
}
END_TEST

START_TEST(fresh_classifier_distribution) {
  /* 100 labels x hidden 64 = 6400 draws: the sample std of N(0, 0.02) is
   * within 0.02 * 4 / sqrt(2 * 6400) = 0.0007 with overwhelming odds. */
  char *dir = ckpt_tmpdir("draw");
  ckpt_spec s = ckpt_default();
  s.hidden = 64;
  s.classifier = false;
  ckpt_write(dir, &s);
  tpa_model_load_params p;
  tpa_model_load_params_init(&p, sizeof p);
  p.num_labels = 100;
  tpa_model *m = load_ok(dir, &p);
  tpa_model_config c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_get_config(m, &c), TPA_OK);
  ck_assert_int_eq(c.num_labels, 100);
  ck_assert_str_eq(tpa_model_label_name(m, 99), "LABEL_99");
  double sum = 0, sq = 0;
  size_t n = 6400;
  for (size_t i = 0; i < n; i++) {
    sum += m->w.cls_w[i];
    sq += (double)m->w.cls_w[i] * m->w.cls_w[i];
  }
  double mean = sum / (double)n, sd = sqrt(sq / (double)n - mean * mean);
  ck_assert_msg(fabs(mean) < 0.02 * 4 / 80.0, "mean %g", mean);
  ck_assert_msg(fabs(sd - 0.02) < 0.0007, "std %g", sd);
  tpa_model_free(m);
  free(dir);
}
END_TEST

START_TEST(num_labels_override) {
  char *dir = ckpt_tmpdir("override");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  tpa_model_load_params p;
  tpa_model_load_params_init(&p, sizeof p);
  p.num_labels = 2; /* same as the checkpoint: its classifier is kept */
  tpa_model *m = load_ok(dir, &p);
  expect_tensor(m->w.cls_w, "classifier.weight", 16);
  ck_assert_str_eq(tpa_model_label_name(m, 0), "class_0");
  tpa_model_free(m);
  p.num_labels = 3; /* a new task: a new head */
  p.log = on_log;
  log_calls = 0;
  m = load_ok(dir, &p);
  ck_assert_int_ge(log_calls, 1);
  ck_assert_int_eq(tpa_model_label_name(m, 2) != NULL, 1);
  ck_assert(m->w.cls_b[2] == 0.0f);
  tpa_model_free(m);
  free(dir);
}
END_TEST

START_TEST(older_params_and_config_structs) {
  char *dir = ckpt_tmpdir("sizes");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  /* A caller that only knows the first two fields of the config. */
  struct {
    tpa_model_config c;
    int canary;
  } buf;
  memset(&buf, 0x5A, sizeof buf);
  buf.c.size = offsetof(tpa_model_config, num_layers);
  tpa_model *m = load_ok(dir, NULL);
  ck_assert_int_eq(tpa_model_get_config(m, &buf.c), TPA_OK);
  ck_assert_int_eq(buf.c.hidden_size, 8);
  unsigned char *rest = (unsigned char *)&buf.c + offsetof(tpa_model_config, num_layers);
  ck_assert_int_eq(rest[0], 0x5A); /* untouched */
  tpa_model_config zero = {.size = 0};
  ck_assert_int_eq(tpa_model_get_config(m, &zero), TPA_ERR_INVALID_ARGUMENT);
  tpa_param_counts pc = {.size = offsetof(tpa_param_counts, embeddings)};
  ck_assert_int_eq(tpa_model_param_counts(m, &pc), TPA_OK);
  tpa_model_free(m);
  tpa_model_free(NULL);
  ck_assert_ptr_null(tpa_model_tokenizer(NULL));
  ck_assert_int_eq(tpa_model_load(NULL, dir, NULL), TPA_ERR_INVALID_ARGUMENT);
  tpa_model *out = NULL;
  ck_assert_int_eq(tpa_model_load(&out, NULL, NULL), TPA_ERR_INVALID_ARGUMENT);
  free(dir);
}
END_TEST

/* ---- bad inputs ---- */

START_TEST(missing_dir_and_files) {
  const char *n1[] = {"/nonexistent/tpa-model", "config.json", NULL};
  load_fails("/nonexistent/tpa-model", TPA_ERR_NOT_FOUND, n1);
  char *dir = ckpt_tmpdir("missing");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  char path[1024];
  snprintf(path, sizeof path, "%s/vocab.txt", dir);
  ck_assert_int_eq(remove(path), 0);
  const char *n2[] = {"vocab.txt", NULL};
  load_fails(dir, TPA_ERR_NOT_FOUND, n2);
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  ck_assert_int_eq(remove(path), 0);
  const char *n3[] = {"model.safetensors", NULL};
  load_fails(dir, TPA_ERR_NOT_FOUND, n3);
  free(dir);
}
END_TEST

START_TEST(truncated_file) {
  char *dir = ckpt_tmpdir("trunc");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  size_t len;
  unsigned char *img = ckpt_read_file(dir, "model.safetensors", &len);
  ckpt_write_file(dir, "model.safetensors", img, len - 10); /* a cut download */
  const char *n1[] = {"model.safetensors", "truncated", NULL};
  load_fails(dir, TPA_ERR_TRUNCATED, n1);
  ckpt_write_file(dir, "model.safetensors", img, 5);
  load_fails(dir, TPA_ERR_TRUNCATED, n1);
  free(img);
  free(dir);
}
END_TEST

/* Replace model.safetensors by an 8-byte length, @p header and @p data_len
 * zero bytes. */
static void write_raw(const char *dir, const char *header, uint64_t claimed, size_t data_len) {
  size_t hl = strlen(header), n = 8 + hl + data_len;
  unsigned char *buf = calloc(1, n);
  for (int i = 0; i < 8; i++)
    buf[i] = (unsigned char)(claimed >> (8 * i));
  memcpy(buf + 8, header, hl);
  ckpt_write_file(dir, "model.safetensors", buf, n);
  free(buf);
}

START_TEST(bad_headers) {
  char *dir = ckpt_tmpdir("header");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  /* header length past the end of the file */
  write_raw(dir, hdr, 100000, 8);
  const char *n1[] = {"model.safetensors", "header length 100000", NULL};
  load_fails(dir, TPA_ERR_HEADER, n1);
  /* header not JSON */
  const char *bad = "{\"a\": {\"dtype\": F32}}";
  write_raw(dir, bad, strlen(bad), 8);
  const char *n2[] = {"model.safetensors", "header", NULL};
  load_fails(dir, TPA_ERR_HEADER, n2);
  /* JSON but not an object */
  write_raw(dir, "[1, 2]  ", 8, 0);
  load_fails(dir, TPA_ERR_HEADER, n2);
  free(dir);
}
END_TEST

START_TEST(bad_offsets) {
  char *dir = ckpt_tmpdir("offsets");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  const char *out_of_range =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4096,4104]}}";
  write_raw(dir, out_of_range, strlen(out_of_range), 16);
  const char *n1[] = {"model.safetensors", "\"b\"", "4104", NULL};
  load_fails(dir, TPA_ERR_TENSOR_OFFSETS, n1);
  const char *overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  write_raw(dir, overlap, strlen(overlap), 16);
  const char *n2[] = {"model.safetensors", "\"a\"", "\"b\"", "overlap", NULL};
  load_fails(dir, TPA_ERR_TENSOR_OFFSETS, n2);
  free(dir);
}
END_TEST

START_TEST(wrong_dtype) {
  char *dir = ckpt_tmpdir("dtype");
  ckpt_spec s = ckpt_default();
  s.as_i64 = "bert.encoder.layer.1.intermediate.dense.bias";
  ckpt_write(dir, &s);
  const char *n1[] = {"model.safetensors", "bert.encoder.layer.1.intermediate.dense.bias", "I64",
                      NULL};
  load_fails(dir, TPA_ERR_TENSOR_DTYPE, n1);
  /* an unknown dtype name is refused while reading the header */
  const char *hdr = "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}";
  write_raw(dir, hdr, strlen(hdr), 2);
  const char *n2[] = {"model.safetensors", "Q4", NULL};
  load_fails(dir, TPA_ERR_TENSOR_DTYPE, n2);
  free(dir);
}
END_TEST

START_TEST(wrong_shape) {
  char *dir = ckpt_tmpdir("shape");
  ckpt_spec s = ckpt_default();
  s.reshape = "bert.encoder.layer.1.intermediate.dense.weight";
  ckpt_write(dir, &s);
  const char *n1[] = {"model.safetensors", "bert.encoder.layer.1.intermediate.dense.weight",
                      "[13, 8]", "[12, 8]", NULL};
  load_fails(dir, TPA_ERR_TENSOR_SHAPE, n1);
  s.reshape = "classifier.bias";
  ckpt_write(dir, &s);
  const char *n2[] = {"classifier.bias", "[3]", "[2]", NULL};
  load_fails(dir, TPA_ERR_TENSOR_SHAPE, n2);
  free(dir);
}
END_TEST

START_TEST(missing_tensors) {
  char *dir = ckpt_tmpdir("absent");
  ckpt_spec s = ckpt_default();
  s.drop = "bert.encoder.layer.0.attention.self.key.bias";
  ckpt_write(dir, &s);
  const char *n1[] = {"model.safetensors", "bert.encoder.layer.0.attention.self.key.bias", NULL};
  load_fails(dir, TPA_ERR_TENSOR_MISSING, n1);
  s.drop = "bert.pooler.dense.weight"; /* the classifier head needs the pooler */
  ckpt_write(dir, &s);
  const char *n2[] = {"bert.pooler.dense.weight", NULL};
  load_fails(dir, TPA_ERR_TENSOR_MISSING, n2);
  s.drop = "classifier.bias"; /* half a classifier is not a bare model */
  ckpt_write(dir, &s);
  const char *n3[] = {"classifier.bias", NULL};
  load_fails(dir, TPA_ERR_TENSOR_MISSING, n3);
  free(dir);
}
END_TEST

START_TEST(invalid_config) {
  char *dir = ckpt_tmpdir("config");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  const char *broken = "{\n  \"hidden_size\": 8,\n  \"num_hidden_layers\": ,\n}\n";
  ckpt_write_file(dir, "config.json", broken, strlen(broken));
  const char *n1[] = {"config.json", "line 3", NULL};
  load_fails(dir, TPA_ERR_JSON, n1);

  struct {
    const char *extra;
    tpa_status want;
    const char *needle;
  } cases[] = {
      {"\"hidden_size\": 9", TPA_ERR_CONFIG, "hidden_size"}, /* not a multiple of heads */
      {"\"hidden_size\": 0", TPA_ERR_CONFIG, "hidden_size"},
      {"\"num_hidden_layers\": \"2\"", TPA_ERR_CONFIG, "num_hidden_layers"},
      {"\"vocab_size\": 99999999999", TPA_ERR_CONFIG, "vocab_size"},
      {"\"layer_norm_eps\": -1", TPA_ERR_CONFIG, "layer_norm_eps"},
      {"\"hidden_act\": \"relu\"", TPA_ERR_UNSUPPORTED, "hidden_act"},
      {"\"pruned_heads\": {\"2\": [0]}", TPA_ERR_CONFIG, "pruned_heads"},
      {"\"pruned_heads\": {\"0\": [2]}", TPA_ERR_CONFIG, "pruned_heads"},
      {"\"pruned_heads\": {\"0\": [1, 1]}", TPA_ERR_CONFIG, "pruned_heads"},
      {"\"pruned_heads\": {\"x\": [1]}", TPA_ERR_CONFIG, "pruned_heads"},
      {"\"id2label\": {\"0\": \"a\", \"2\": \"b\"}", TPA_ERR_CONFIG, "id2label"},
      {"\"problem_type\": \"multi_label_classification\"", TPA_ERR_UNSUPPORTED, "problem_type"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    s.extra_json = cases[i].extra;
    ckpt_write(dir, &s);
    const char *n[] = {"config.json", cases[i].needle, NULL};
    load_fails(dir, cases[i].want, n);
  }
  free(dir);
}
END_TEST

START_TEST(bad_vocab) {
  char *dir = ckpt_tmpdir("vocab");
  ckpt_spec s = ckpt_default();
  s.vocab_text = "[PAD]\n[UNK]\n[SEP]\n[MASK]\nthe\n"; /* no [CLS] */
  ckpt_write(dir, &s);
  const char *n1[] = {"vocab.txt", NULL};
  load_fails(dir, TPA_ERR_VOCAB, n1);
  s.vocab_text = "[PAD]\n[CLS]\n[SEP]\n[MASK]\nthe\n"; /* no [UNK] */
  ckpt_write(dir, &s);
  load_fails(dir, TPA_ERR_VOCAB, n1);
  /* more tokens than embedding rows */
  s.vocab_text = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
  ckpt_write(dir, &s);
  const char *n2[] = {"vocab.txt", "vocab_size", NULL};
  load_fails(dir, TPA_ERR_VOCAB, n2);
  free(dir);
}
END_TEST

/* ---- parameter counts from config alone ---- */

static const char bert_base[] =
    "{\"architectures\": [\"BertForMaskedLM\"], \"attention_probs_dropout_prob\": 0.1,"
    " \"hidden_act\": \"gelu\", \"hidden_dropout_prob\": 0.1, \"hidden_size\": 768,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 3072, \"layer_norm_eps\": 1e-12,"
    " \"max_position_embeddings\": 512, \"model_type\": \"bert\", \"num_attention_heads\": 12,"
    " \"num_hidden_layers\": 12, \"pad_token_id\": 0, \"type_vocab_size\": 2,"
    " \"vocab_size\": 30522}";

START_TEST(bert_base_counts) {
  json_t *root;
  ck_assert_int_eq(
      tpa__json_parse(bert_base, strlen(bert_base), "bert", TPA_ERR_JSON, false, &root), TPA_OK);
  tpa__config c;
  bool *pruned;
  ck_assert_int_eq(tpa__config_parse(root, "config.json", &c, &pruned), TPA_OK);
  json_decref(root);
  ck_assert_int_eq(c.num_labels, 2); /* the default */
  tpa_param_counts pc;
  tpa__param_counts(&c, NULL, NULL, &pc);
  ck_assert_uint_eq(pc.total, 109483778u); /* docs/method.md section 1 */
  int32_t heads[12];
  for (int l = 0; l < 12; l++)
    heads[l] = 12;
  heads[3] = 11;
  tpa_param_counts one;
  tpa__param_counts(&c, heads, NULL, &one);
  ck_assert_uint_eq(pc.total - one.total, 196800u);
  /* 44 heads gone, spread unevenly */
  const int32_t kept[12] = {8, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 10};
  tpa__param_counts(&c, kept, NULL, &one);
  ck_assert_uint_eq(one.total, 100824578u);
  ck_assert_uint_eq(one.embeddings, pc.embeddings);
  ck_assert_uint_eq(one.head, pc.head);
  free(pruned);
  tpa__config_free(&c);
}
END_TEST

/* ---- the PyTorch-generated fixtures (tests/fixtures/gen_fixtures.py) ---- */

static tpa_model *load_fixture(const char *name) {
  const char *root = getenv("TPA_FIXTURES");
  ck_assert_msg(root != NULL, "TPA_FIXTURES is not set");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  return load_ok(dir, NULL);
}

/* Every float tensor of a model, in a fixed order, with its size. */
typedef struct view {
  const float *p;
  size_t n;
} view;

/* Views of @p m's tensors through @p p (plain_of, freed by the caller). */
static size_t model_views(const tpa_model *m, tpa__plain *p, view *v, bool with_classifier) {
  const tpa__config *c = &m->cfg;
  size_t H = (size_t)c->hidden, I = (size_t)c->inter, k = 0;
  *p = plain_of(m);
  const tpa__weights *w = &p->w;
  v[k++] = (view){w->word_emb, (size_t)c->vocab * H};
  v[k++] = (view){w->pos_emb, (size_t)c->max_pos * H};
  v[k++] = (view){w->type_emb, (size_t)c->type_vocab * H};
  v[k++] = (view){w->emb_ln_g, H};
  v[k++] = (view){w->emb_ln_b, H};
  for (int32_t l = 0; l < c->layers; l++) {
    const tpa__layer *y = &w->layer[l];
    size_t a = (size_t)y->n_heads * (size_t)c->head_dim;
    v[k++] = (view){y->q_w, a * H};
    v[k++] = (view){y->q_b, a};
    v[k++] = (view){y->k_w, a * H};
    v[k++] = (view){y->k_b, a};
    v[k++] = (view){y->v_w, a * H};
    v[k++] = (view){y->v_b, a};
    v[k++] = (view){y->o_w, H * a};
    v[k++] = (view){y->o_b, H};
    v[k++] = (view){y->ln1_g, H};
    v[k++] = (view){y->ln1_b, H};
    v[k++] = (view){y->i_w, I * H};
    v[k++] = (view){y->i_b, I};
    v[k++] = (view){y->f_w, H * I};
    v[k++] = (view){y->f_b, H};
    v[k++] = (view){y->ln2_g, H};
    v[k++] = (view){y->ln2_b, H};
  }
  v[k++] = (view){w->pool_w, H * H};
  v[k++] = (view){w->pool_b, H};
  if (with_classifier) {
    v[k++] = (view){w->cls_w, (size_t)c->num_labels * H};
    v[k++] = (view){w->cls_b, (size_t)c->num_labels};
  }
  return k;
}

START_TEST(fixtures_layout_and_counts) {
  tpa_model *m = load_fixture("tiny");
  tpa_model_config c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_get_config(m, &c), TPA_OK);
  ck_assert_int_eq(c.hidden_size, 96);
  ck_assert_int_eq(c.num_layers, 3);
  ck_assert_int_eq(c.num_heads, 6);
  ck_assert_int_eq(c.intermediate_size, 200);
  ck_assert_int_eq(c.max_position_embeddings, 64);
  /* By hand from the config (H 96, I 200, V 528, P 64, T 2, 2 labels):
   * embeddings (528 + 64 + 2) * 96 + 2 * 96 = 57216; a block
   * 3 (96*96 + 96) + (96*96 + 96) + 192 + (200*96 + 200) + (96*200 + 96)
   * + 192 = 76328; pooler 9312; classifier 194. */
  tpa_param_counts pc = {.size = sizeof pc};
  ck_assert_int_eq(tpa_model_param_counts(m, &pc), TPA_OK);
  ck_assert_uint_eq(pc.embeddings, 57216);
  ck_assert_uint_eq(pc.encoder, 3 * 76328);
  ck_assert_uint_eq(pc.pooler, 9312);
  ck_assert_uint_eq(pc.classifier, 194);
  ck_assert_uint_eq(pc.total, 295706);
  tpa_model_free(m);
  /* pruned_heads {"0": [1, 4], "2": [0, 2, 3, 5]}: 6 heads of size 16
   * gone, 3 (16*96 + 16) + 96*16 = 6192 parameters each. */
  m = load_fixture("tiny-pruned");
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 0), 4);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 1), 6);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 2), 2);
  int32_t ids[6];
  size_t n;
  ck_assert_int_eq(tpa_model_layer_heads(m, 0, ids, 6, &n), TPA_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert(ids[0] == 0 && ids[1] == 2 && ids[2] == 3 && ids[3] == 5);
  ck_assert_int_eq(tpa_model_layer_heads(m, 2, ids, 6, &n), TPA_OK);
  ck_assert(n == 2 && ids[0] == 1 && ids[1] == 4);
  ck_assert_uint_eq(total_params(m), 295706 - 6 * 6192);
  tpa_model_free(m);
}
END_TEST

/* The pruned fixture's compact tensors are the unpruned model's rows (Q,
 * K, V) and columns (output dense) of the kept heads, as the generator's
 * HF-style prune wrote them: the loader's head ids must name them. */
START_TEST(fixtures_pruned_rows_match) {
  tpa_model *full = load_fixture("tiny"), *pr = load_fixture("tiny-pruned");
  tpa__plain pf = plain_of(full), pp = plain_of(pr);
  const int32_t H = 96, d = 16;
  for (int32_t l = 0; l < 3; l++) {
    const tpa__layer *a = &pf.w.layer[l], *b = &pp.w.layer[l];
    for (int32_t j = 0; j < b->n_heads; j++) {
      int32_t h = b->head_ids[j];
      for (int32_t r = 0; r < d; r++) {
        size_t src = (size_t)(h * d + r), dst = (size_t)(j * d + r);
        ck_assert(memcmp(a->q_w + src * H, b->q_w + dst * H, H * sizeof(float)) == 0);
        ck_assert(memcmp(a->v_w + src * H, b->v_w + dst * H, H * sizeof(float)) == 0);
        ck_assert(a->k_b[src] == b->k_b[dst]);
        for (int32_t o = 0; o < H; o++)
          ck_assert(a->o_w[(size_t)o * H + src] == b->o_w[(size_t)o * (b->n_heads * d) + dst]);
      }
    }
    ck_assert(memcmp(a->i_w, b->i_w, 200 * 96 * sizeof(float)) == 0);
  }
  tpa__plain_free(&pf);
  tpa__plain_free(&pp);
  tpa_model_free(full);
  tpa_model_free(pr);
}
END_TEST

/* tiny-f16 and tiny-bf16 hold torch's .to(float16 / bfloat16) of tiny's
 * F32 weights: loading them must give exactly those rounded values, which
 * checks widening here and narrowing (round to nearest even) against
 * PyTorch's. */
START_TEST(fixtures_half_match_torch) {
  tpa_model *f = load_fixture("tiny"), *h = load_fixture("tiny-f16"),
            *b = load_fixture("tiny-bf16");
  view vf[64], vh[64], vb[64];
  tpa__plain pf, ph, pb;
  size_t n = model_views(f, &pf, vf, true);
  ck_assert_uint_eq(model_views(h, &ph, vh, true), n);
  ck_assert_uint_eq(model_views(b, &pb, vb, true), n);
  size_t checked = 0, inexact = 0;
  for (size_t t = 0; t < n; t++)
    for (size_t i = 0; i < vf[t].n; i++) {
      float x = vf[t].p[i];
      float want_h = tpa__f16_to_f32(tpa__f32_to_f16(x));
      float want_b = tpa__bf16_to_f32(tpa__f32_to_bf16(x));
      ck_assert_msg(vh[t].p[i] == want_h, "tensor %zu [%zu]: f16 %a, torch %a from %a", t, i,
                    want_h, vh[t].p[i], x);
      ck_assert_msg(vb[t].p[i] == want_b, "tensor %zu [%zu]: bf16 %a, torch %a from %a", t, i,
                    want_b, vb[t].p[i], x);
      inexact += want_h != x;
      checked++;
    }
  ck_assert_uint_eq(checked, 295706);
  ck_assert_uint_gt(inexact, checked / 2); /* random weights: rounding did happen */
  tpa__plain_free(&pf);
  tpa__plain_free(&ph);
  tpa__plain_free(&pb);
  tpa_model_free(f);
  tpa_model_free(h);
  tpa_model_free(b);
}
END_TEST

/* tiny-bare is tiny's encoder without the "bert." prefix and without a
 * classifier. */
START_TEST(fixtures_bare_model) {
  tpa_model *f = load_fixture("tiny"), *b = load_fixture("tiny-bare");
  view vf[64], vb[64];
  tpa__plain pf, pb;
  size_t n = model_views(f, &pf, vf, false);
  ck_assert_uint_eq(model_views(b, &pb, vb, false), n);
  for (size_t t = 0; t < n; t++)
    ck_assert(memcmp(vf[t].p, vb[t].p, vf[t].n * sizeof(float)) == 0);
  tpa__plain_free(&pf);
  tpa__plain_free(&pb);
  ck_assert(memcmp(f->w.cls_w, b->w.cls_w, 2 * 96 * sizeof(float)) != 0);
  ck_assert(b->w.cls_b[0] == 0.0f && b->w.cls_b[1] == 0.0f);
  tpa_model_free(f);
  tpa_model_free(b);
}
END_TEST

static Suite *fixtures_suite(void) {
  Suite *s = suite_create("fixtures");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"layout_counts", fixtures_layout_and_counts},
      {"pruned_rows", fixtures_pruned_rows_match},
      {"half_torch", fixtures_half_match_torch},
      {"bare", fixtures_bare_model},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

/* Random corruptions of model.safetensors (mostly its header) and of
 * config.json: every load either succeeds or fails cleanly with no model;
 * under ASan this also proves no read outside the mapping. Some must fail
 * and some (data-byte flips) must succeed, so the test can fail both ways. */
START_TEST(corrupted_checkpoints) {
  char *dir = ckpt_tmpdir("fuzz");
  ckpt_spec s = ckpt_default();
  ckpt_write(dir, &s);
  size_t len, clen;
  unsigned char *img = ckpt_read_file(dir, "model.safetensors", &len);
  unsigned char *cfg = ckpt_read_file(dir, "config.json", &clen);
  size_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | img[i];
  ck_assert_uint_lt(8 + hlen, len);
  unsigned char *m = malloc(len > clen ? len : clen);
  uint64_t x = 2024;
  int ok = 0, failed = 0;
  for (int iter = 0; iter < 400; iter++) {
    bool on_config = iter % 4 == 3;
    const unsigned char *src = on_config ? cfg : img;
    size_t n = on_config ? clen : len;
    memcpy(m, src, n);
    for (int k = 0; k <= iter % 2; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      size_t span = on_config || (x >> 62) == 0 ? n : 8 + hlen; /* mostly the header */
      m[(x >> 24) % span] = (unsigned char)(x >> 16);
    }
    if (on_config) {
      ckpt_write_file(dir, "config.json", m, n);
      ckpt_write_file(dir, "model.safetensors", img, len);
    } else {
      ckpt_write_file(dir, "config.json", cfg, clen);
      ckpt_write_file(dir, "model.safetensors", m, n);
    }
    tpa_model *mod = (tpa_model *)(uintptr_t)1;
    tpa_status st = tpa_model_load(&mod, dir, NULL);
    if (st == TPA_OK) {
      ck_assert_ptr_nonnull(mod);
      ok++;
    } else {
      ck_assert_ptr_null(mod);
      ck_assert_msg(tpa_last_error()[0] != '\0', "status %d without a message", st);
      failed++;
    }
    tpa_model_free(mod);
  }
  ck_assert_int_gt(ok, 0);
  ck_assert_int_gt(failed, 0);
  free(m);
  free(img);
  free(cfg);
  free(dir);
}
END_TEST

static Suite *load_suite(void) {
  Suite *s = suite_create("load");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"prefix", loads_with_bert_prefix},
      {"no_prefix", loads_without_prefix},
      {"f16", loads_f16_exactly},
      {"bf16", loads_bf16_exactly},
      {"bit_patterns", f16_bf16_bit_patterns},
      {"legacy_names", legacy_layernorm_names},
      {"casing", tokenizer_config_casing},
      {"pruned", pruned_heads_honoured},
      {"pruned_counts", pruned_counts_by_hand},
      {"bare_model", bare_model_gets_classifier},
      {"fresh_distribution", fresh_classifier_distribution},
      {"num_labels_override", num_labels_override},
      {"struct_sizes", older_params_and_config_structs},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

static Suite *bad_input_suite(void) {
  Suite *s = suite_create("bad_input");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"missing", missing_dir_and_files},
      {"truncated", truncated_file},
      {"header", bad_headers},
      {"offsets", bad_offsets},
      {"dtype", wrong_dtype},
      {"shape", wrong_shape},
      {"missing_tensor", missing_tensors},
      {"config", invalid_config},
      {"vocab", bad_vocab},
      {"corruptions", corrupted_checkpoints},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

/* ---- one convention across the public API (docs/design.md) ---- */

/* A size query (NULL buffer, capacity 0) is TPA_OK with the count,
 * wherever the API has one. */
START_TEST(size_queries_agree) {
  tpa_model *m = load_fixture("tiny");
  size_t n = 99;
  ck_assert_int_eq(tpa_model_layer_heads(m, 0, NULL, 0, &n), TPA_OK);
  ck_assert_uint_eq(n, 6);
  n = 99;
  ck_assert_int_eq(tpa_tokenizer_tokenize(tpa_model_tokenizer(m), "the film", NULL, 0, &n), TPA_OK);
  ck_assert_uint_eq(n, 2);
  /* A buffer that is too short is TPA_ERR_BUFFER_TOO_SMALL in both. */
  int32_t one[1];
  ck_assert_int_eq(tpa_model_layer_heads(m, 0, one, 1, &n), TPA_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(tpa_tokenizer_tokenize(tpa_model_tokenizer(m), "the film", one, 1, &n),
                   TPA_ERR_BUFFER_TOO_SMALL);
  tpa_model_free(m);
}
END_TEST

/* Valid JSON of the wrong shape is TPA_ERR_CONFIG from every JSON
 * loader; text that is not JSON is TPA_ERR_JSON. */
START_TEST(json_loaders_agree) {
  char *dir = ckpt_tmpdir("json");
  char path[4200];
  snprintf(path, sizeof path, "%s/t.json", dir);
  static const struct {
    const char *text;
    tpa_status want;
  } cases[] = {{"{\"layers\": \"three\"}", TPA_ERR_CONFIG},
               {"{\"layers\": 3}", TPA_ERR_CONFIG},
               {"{\"layers\": 3,", TPA_ERR_JSON},
               {"[1, 2]", TPA_ERR_JSON}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(cases[i].text, f);
    ck_assert_int_eq(fclose(f), 0);
    tpa_importance *imp = NULL;
    tpa_prune_plan *plan = NULL;
    const tpa_status a = tpa_importance_load(&imp, path), b = tpa_prune_plan_load(&plan, path);
    ck_assert_msg(a == cases[i].want && b == cases[i].want, "%s: importance %s, plan %s, want %s",
                  cases[i].text, tpa_status_str(a), tpa_status_str(b),
                  tpa_status_str(cases[i].want));
    ck_assert_ptr_null(imp);
    ck_assert_ptr_null(plan);
  }
  ckpt_rmtree(dir);
  free(dir);
}
END_TEST

/* File savers create missing parent directories, as directory savers
 * (tpa_model_save) do. */
START_TEST(file_savers_make_parents) {
  const char *root = getenv("TPA_FIXTURES");
  ck_assert_ptr_nonnull(root);
  char path[4200], src[4200];
  snprintf(src, sizeof src, "%s/importance/tiny_sst2_40.json", root);
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_load(&imp, src) == TPA_OK, "%s", tpa_last_error());
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, NULL), TPA_OK);
  char *dir = ckpt_tmpdir("parents");
  static const char *const names[] = {"a/b/imp.json", "c/d/plan.json", "e/f/heat.png"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    const tpa_status s = i == 0   ? tpa_importance_save(imp, path)
                         : i == 1 ? tpa_prune_plan_save(plan, path)
                                  : tpa_importance_write_heatmap(imp, path);
    ck_assert_msg(s == TPA_OK || (i == 2 && s == TPA_ERR_UNSUPPORTED), "%s: %s", names[i],
                  tpa_last_error());
    struct stat sb;
    ck_assert_msg(s != TPA_OK || stat(path, &sb) == 0, "%s was not written", names[i]);
  }
  /* A parent that is a file is an error naming it, and nothing is written. */
  snprintf(path, sizeof path, "%s/a/b/imp.json/x.json", dir);
  ck_assert_int_eq(tpa_importance_save(imp, path), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "imp.json"));
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
  ckpt_rmtree(dir);
  free(dir);
}
END_TEST

static Suite *conventions_suite(void) {
  Suite *s = suite_create("conventions");
  TCase *tc = tcase_create("api");
  tcase_add_test(tc, size_queries_agree);
  tcase_add_test(tc, json_loaders_agree);
  tcase_add_test(tc, file_savers_make_parents);
  suite_add_tcase(s, tc);
  return s;
}

static Suite *counts_suite(void) {
  Suite *s = suite_create("param_counts");
  TCase *tc = tcase_create("bert_base");
  tcase_add_test(tc, bert_base_counts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(load_suite());
  srunner_add_suite(sr, bad_input_suite());
  srunner_add_suite(sr, counts_suite());
  srunner_add_suite(sr, fixtures_suite());
  srunner_add_suite(sr, conventions_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  ckpt_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
