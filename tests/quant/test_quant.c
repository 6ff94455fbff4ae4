/* SPDX-License-Identifier: Apache-2.0 */
/* int8 models (docs/quantization.md).
 *  - kernels: lib/nn's row quantizer and int8 matmul against the scheme
 *    computed here in double from the same codes;
 *  - models: a tiny BERT fine-tuned on SST-2 here, quantized dynamic and
 *    static, agrees with its f32 self on the dev set (same class for at
 *    least 99% of the rows, accuracy within 0.5 points); saved int8
 *    models reload with identical logits;
 *  - bad input: missing, misshapen, zero and non-finite scales, f32
 *    weights where I8 is due, an unknown quant_method; stages that need
 *    the f32 weights refuse a quantized model. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "nn/nn.h"
#include "test_util.h"
#include "tpa/tpa.h"

/* ------------------------------------------------------------- kernels */

static float lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(*s >> 11) * 0x1p-53 * 2.0 - 1.0);
}

START_TEST(quantize_rows_scheme) {
  enum { R = 5, C = 37 };
  float x[R * C], scale[R];
  uint8_t q[R * C];
  uint64_t seed = 7;
  for (int i = 0; i < R * C; i++)
    x[i] = 3.0f * lcg(&seed);
  for (int c = 0; c < C; c++)
    x[2 * C + c] = 0.0f; /* a row of zeros */
  x[3 * C + 4] = NAN;
  tpa__nn_quantize_rows(x, R, C, 0.0f, q, scale);
  for (int r = 0; r < R; r++) {
    double amax = 0;
    bool nan = false;
    for (int c = 0; c < C; c++) {
      nan = nan || isnan(x[r * C + c]);
      amax = fmax(amax, fabs(x[r * C + c]));
    }
    /* A row holding NaN gets scale infinity: its other codes are 128. */
    double want = nan ? INFINITY : amax > 0 ? amax / 127.0 : 1.0;
    ck_assert_msg(scale[r] == want || fabs(scale[r] - want) <= 1e-6 * want,
                  "row %d scale %g, want %g", r, scale[r], want);
    for (int c = 0; c < C; c++) {
      double v = x[r * C + c];
      int code = isnan(v) ? (signbit(v) ? 1 : 255) : (int)nearbyint(v / scale[r]) + 128;
      ck_assert_msg(q[r * C + c] == code, "row %d col %d: code %d, want %d", r, c, q[r * C + c],
                    code);
      ck_assert(q[r * C + c] >= 1 && q[r * C + c] <= 255);
    }
  }
  /* Static: one scale, values beyond it clamp. */
  tpa__nn_quantize_rows(x, R, C, 0.01f, q, scale);
  for (int r = 0; r < R; r++) {
    ck_assert(scale[r] == 0.01f);
    for (int c = 0; c < C; c++)
      if (!isnan(x[r * C + c]) && fabs(x[r * C + c]) > 1.27)
        ck_assert_int_eq(q[r * C + c], x[r * C + c] > 0 ? 255 : 1);
  }
}
END_TEST

/* dst of tpa__nn_qmatmul for one shape, bias/add/activation choice. */
static void check_qmatmul(int64_t M, int64_t K, int64_t N, bool bias, bool add, int32_t act) {
  uint64_t seed = (uint64_t)(M * 131 + K * 7 + N + act);
  float *x = malloc((size_t)(M * K) * sizeof *x), *xs = malloc((size_t)M * sizeof *xs);
  uint8_t *xq = malloc((size_t)(M * K));
  int8_t *w = malloc((size_t)(N * K));
  float *ws = malloc((size_t)N * sizeof *ws), *b = malloc((size_t)N * sizeof *b);
  float *a = malloc((size_t)(M * N) * sizeof *a), *y = malloc((size_t)(M * N) * sizeof *y);
  for (int64_t i = 0; i < M * K; i++)
    x[i] = 2.0f * lcg(&seed) * (float)(1 + i / K % 3);
  for (int64_t i = 0; i < N * K; i++)
    w[i] = (int8_t)(63.0f * lcg(&seed));
  for (int64_t i = 0; i < N; i++) {
    ws[i] = 0.001f * (1.0f + (float)(i % 5));
    b[i] = 0.1f * lcg(&seed);
  }
  for (int64_t i = 0; i < M * N; i++)
    a[i] = lcg(&seed);
  tpa__nn_quantize_rows(x, M, K, 0.0f, xq, xs);
  tpa__nn_cache *cache;
  tpa__nn_ctx *ctx;
  ck_assert_int_eq(tpa__nn_cache_create(&cache), TPA_OK);
  ck_assert_int_eq(tpa__nn_ctx_create(&ctx, cache), TPA_OK);
  tpa__nn_qmatmul_desc d = {.m = M, .k = K, .n = N, .bias = bias, .add = add, .act = act};
  ck_assert_msg(
      tpa__nn_qmatmul(ctx, &d, xq, xs, w, ws, bias ? b : NULL, add ? a : NULL, y, "test") == TPA_OK,
      "%s", tpa_last_error());
  double worst = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += (int64_t)(xq[m * K + k] - 128) * w[n * K + k];
      double v = (double)acc * xs[m] * ws[n] + (bias ? b[n] : 0) + (add ? a[m * N + n] : 0);
      if (act == TPA__NN_ACT_GELU_ERF)
        v = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
      double err = fabs(y[m * N + n] - v) / (1.0 + fabs(v));
      worst = err > worst ? err : worst;
    }
  ck_assert_msg(worst < 1e-5, "%lldx%lldx%lld: relative error %g", (long long)M, (long long)K,
                (long long)N, worst);
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
  free(x), free(xs), free(xq), free(w), free(ws), free(b), free(a), free(y);
}

START_TEST(qmatmul_matches_scheme) {
  check_qmatmul(7, 96, 48, true, false, TPA__NN_ACT_NONE);
  check_qmatmul(33, 200, 96, true, true, TPA__NN_ACT_NONE);
  check_qmatmul(64, 96, 200, true, false, TPA__NN_ACT_GELU_ERF);
  check_qmatmul(5, 768, 64, false, false, TPA__NN_ACT_NONE);
  check_qmatmul(16, 1024, 32, false, false, TPA__NN_ACT_NONE);
}
END_TEST

/* The largest codes on both sides: pairs of 255 x 63 must not saturate
 * (u8 x s8 kernels without VNNI sum pairs in 16 bits). */
START_TEST(qmatmul_extreme_codes_do_not_saturate) {
  enum { M = 4, K = 256, N = 16 };
  uint8_t xq[M * K];
  int8_t w[N * K];
  float xs[M], ws[N], y[M * N];
  for (int i = 0; i < M * K; i++)
    xq[i] = (i / K) % 2 ? 255 : 1;
  for (int i = 0; i < N * K; i++)
    w[i] = (i / K) % 2 ? 63 : -63;
  for (int i = 0; i < M; i++)
    xs[i] = 1.0f;
  for (int i = 0; i < N; i++)
    ws[i] = 1.0f;
  tpa__nn_cache *cache;
  tpa__nn_ctx *ctx;
  ck_assert_int_eq(tpa__nn_cache_create(&cache), TPA_OK);
  ck_assert_int_eq(tpa__nn_ctx_create(&ctx, cache), TPA_OK);
  tpa__nn_qmatmul_desc d = {.m = M, .k = K, .n = N};
  ck_assert_int_eq(tpa__nn_qmatmul(ctx, &d, xq, xs, w, ws, NULL, NULL, y, "test"), TPA_OK);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      const float want = (float)((m % 2 ? 127 : -127) * (n % 2 ? 63 : -63) * K);
      ck_assert_msg(y[m * N + n] == want, "y[%d][%d] = %g, want %g", m, n, y[m * N + n], want);
    }
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
}
END_TEST

/* -------------------------------------------------------------- models */

/* A sentiment task the tiny vocabulary can express: neutral words with
 * one positive or negative word among them, labelled by it; written as
 * TSV tables of @p rows rows (seeded), one label in eight flipped. A model
 * learns it in a few epochs,
 * so the int8 comparison is made on a model whose classes mean something
 * (the tiny vocabulary turns most of GLUE's words into [UNK]). */
static const char *const pos_words[] = {"good",  "best",         "great",       "love",   "fun",
                                        "funny", "entertaining", "interesting", "better", "heart"};
static const char *const neg_words[] = {"bad",  "nothing", "never",   "no",     "not",
                                        "less", "too",     "without", "enough", "only"};
static const char *const fillers[] = {
    "the",   "and",  "of",     "to",       "in",     "is",   "that", "it",    "film", "movie",
    "story", "time", "people", "director", "action", "plot", "cast", "world", "year", "acting"};

static char *work_dir;

static tpa_dataset *sentiment(const char *name, size_t rows, uint64_t seed) {
  if (!work_dir)
    work_dir = temp_dir();
  char *path = join(work_dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "sentence\tlabel\n");
  for (size_t r = 0; r < rows; r++) {
    int label = lcg(&seed) > 0;
    int words = 5 + (int)((lcg(&seed) + 1) * 4), at = (int)((lcg(&seed) + 1) * 0.5 * words);
    for (int i = 0; i < words; i++) {
      const char *w = fillers[(int)((lcg(&seed) + 1) * 10) % 20];
      if (i == at)
        w = (label ? pos_words : neg_words)[(int)((lcg(&seed) + 1) * 5) % 10];
      fprintf(f, "%s%s", i ? " " : "", w);
    }
    /* One label in eight is flipped: the model stays unsure of some rows. */
    fprintf(f, "\t%d\n", lcg(&seed) > 0.75f ? !label : label);
  }
  ck_assert_int_eq(fclose(f), 0);
  tpa_table_params tp;
  tpa_table_params_init(&tp, sizeof tp);
  static const char *const labels[] = {"0", "1"};
  tp.labels = labels;
  tp.num_labels = 2;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load_table(&ds, path, &tp) == TPA_OK, "%s", tpa_last_error());
  free(path);
  return ds;
}

/* The tiny fixture fine-tuned on the sentiment task, saved once per run. */
static char *trained_dir;

static void train_once(void) {
  if (trained_dir)
    return;
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *train = sentiment("train.tsv", 2048, 11);
  tpa_train_params p;
  tpa_train_params_init(&p, sizeof p);
  p.epochs = 8;
  p.learning_rate = 2e-3;
  p.max_seq_length = 32;
  p.keep_best = false;
  ck_assert_msg(tpa_train_full(m, train, NULL, &p, NULL) == TPA_OK, "%s", tpa_last_error());
  trained_dir = temp_dir();
  ck_assert_msg(tpa_model_save(m, trained_dir) == TPA_OK, "%s", tpa_last_error());
  tpa_dataset_free(train);
  tpa_model_free(m);
}

static tpa_model *load_dir(const char *dir) {
  tpa_model *m = NULL;
  ck_assert_msg(tpa_model_load(&m, dir, NULL) == TPA_OK, "%s: %s", dir, tpa_last_error());
  return m;
}

static float *predict(const tpa_model *m, const tpa_dataset *ds) {
  size_t n = tpa_dataset_size(ds) * 2;
  float *l = malloc(n * sizeof *l);
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = 32;
  ck_assert_msg(tpa_model_predict(m, ds, &pp, l, n) == TPA_OK, "%s", tpa_last_error());
  return l;
}

/* int8 against f32 on the sentiment dev set: the class agrees for >= 99% of
 * rows and accuracy moves by at most 0.5 points. */
static void check_agreement(tpa_quant_mode mode) {
  train_once();
  tpa_model *f = load_dir(trained_dir), *q = load_dir(trained_dir);
  tpa_dataset *dev = sentiment("dev.tsv", 1000, 23), *cal = sentiment("cal.tsv", 256, 31);
  tpa_quantize_params qp;
  tpa_quantize_params_init(&qp, sizeof qp);
  qp.mode = mode;
  qp.calibration = cal;
  qp.max_seq_length = 32;
  ck_assert_msg(tpa_model_quantize(q, &qp) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_model_quant_mode(q), mode);
  float *lf = predict(f, dev), *lq = predict(q, dev);
  size_t n = tpa_dataset_size(dev), same = 0, right_f = 0, right_q = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    int cf = lf[2 * i + 1] > lf[2 * i], cq = lq[2 * i + 1] > lq[2 * i];
    same += cf == cq;
    right_f += cf == (int)tpa_dataset_label(dev, i);
    right_q += cq == (int)tpa_dataset_label(dev, i);
    for (int k = 0; k < 2; k++)
      worst = fmax(worst, fabs(lf[2 * i + k] - lq[2 * i + k]));
  }
  double acc_f = 100.0 * (double)right_f / (double)n, acc_q = 100.0 * (double)right_q / (double)n;
  printf("int8 %s: %zu/%zu same class, accuracy f32 %.2f int8 %.2f, largest logit difference "
         "%.4f\n",
         mode == TPA_QUANT_STATIC ? "static" : "dynamic", same, n, acc_f, acc_q, worst);
  /* The model must have learned something for the comparison to mean much. */
  ck_assert_msg(acc_f > 60.0, "f32 accuracy %.2f: the model did not train", acc_f);
  ck_assert_msg((double)same >= 0.99 * (double)n, "only %zu of %zu rows agree", same, n);
  ck_assert_msg(fabs(acc_f - acc_q) <= 0.5, "accuracy f32 %.2f, int8 %.2f", acc_f, acc_q);
  ck_assert_msg(worst > 0.0, "int8 logits equal f32's exactly: not quantized?");
  free(lf), free(lq);
  tpa_dataset_free(dev), tpa_dataset_free(cal);
  tpa_model_free(f), tpa_model_free(q);
}

START_TEST(dynamic_agrees_with_f32) {
  check_agreement(TPA_QUANT_DYNAMIC);
}
END_TEST

START_TEST(static_agrees_with_f32) {
  check_agreement(TPA_QUANT_STATIC);
}
END_TEST

/* Quantize @p mode, save, and return the directory. */
static char *save_quantized(tpa_quant_mode mode) {
  train_once();
  tpa_model *q = load_dir(trained_dir);
  tpa_dataset *cal = sentiment("cal.tsv", 64, 31);
  tpa_quantize_params qp;
  tpa_quantize_params_init(&qp, sizeof qp);
  qp.mode = mode;
  qp.calibration = cal;
  ck_assert_msg(tpa_model_quantize(q, &qp) == TPA_OK, "%s", tpa_last_error());
  char *dir = temp_dir();
  ck_assert_msg(tpa_model_save(q, dir) == TPA_OK, "%s", tpa_last_error());
  tpa_model_free(q);
  tpa_dataset_free(cal);
  return dir;
}

START_TEST(saved_int8_reloads_exactly) {
  for (int mode = TPA_QUANT_DYNAMIC; mode <= TPA_QUANT_STATIC; mode++) {
    train_once();
    tpa_model *q = load_dir(trained_dir);
    tpa_dataset *cal = sentiment("cal.tsv", 64, 31), *dev = sentiment("dev.tsv", 100, 23);
    tpa_quantize_params qp;
    tpa_quantize_params_init(&qp, sizeof qp);
    qp.mode = (tpa_quant_mode)mode;
    qp.calibration = cal;
    ck_assert_msg(tpa_model_quantize(q, &qp) == TPA_OK, "%s", tpa_last_error());
    char *dir = temp_dir();
    ck_assert_msg(tpa_model_save(q, dir) == TPA_OK, "%s", tpa_last_error());
    tpa_model *r = load_dir(dir);
    ck_assert_int_eq(tpa_model_quant_mode(r), mode);
    float *a = predict(q, dev), *b = predict(r, dev);
    ck_assert_int_eq(memcmp(a, b, tpa_dataset_size(dev) * 2 * sizeof *a), 0);
    /* The file holds I8 weights and F32 scales; config.json says how. */
    char *st_path = join(dir, "model.safetensors"), *cfg_path = join(dir, "config.json");
    tpa__st_file f;
    ck_assert_int_eq(tpa__st_open(&f, st_path), TPA_OK);
    const tpa__st_tensor *t = tpa__st_find(&f, "bert.encoder.layer.1.intermediate.dense.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->dtype, TPA__DT_I8);
    t = tpa__st_find(&f, "bert.encoder.layer.1.intermediate.dense.weight_scale");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->dtype, TPA__DT_F32);
    ck_assert_int_eq((int)t->shape[0], 200);
    ck_assert((tpa__st_find(&f, "bert.encoder.layer.0.attention.self.query.input_scale") != NULL) ==
              (mode == TPA_QUANT_STATIC));
    tpa__st_close(&f);
    json_error_t err;
    json_t *cfg = json_load_file(cfg_path, 0, &err);
    ck_assert_ptr_nonnull(cfg);
    json_t *qc = json_object_get(cfg, "quantization_config");
    ck_assert_str_eq(json_string_value(json_object_get(qc, "quant_method")), "libtpa_int8");
    ck_assert_str_eq(json_string_value(json_object_get(qc, "activations")),
                     mode == TPA_QUANT_STATIC ? "static" : "dynamic");
    json_decref(cfg);
    free(st_path), free(cfg_path), free(a), free(b);
    tpa_model_free(q), tpa_model_free(r);
    tpa_dataset_free(cal), tpa_dataset_free(dev);
    remove_tree(dir);
    free(dir);
  }
}
END_TEST

START_TEST(quantized_model_refuses_f32_stages) {
  tpa_model *q = load_fixture("tiny");
  ck_assert_int_eq(tpa_model_quantize(q, NULL), TPA_OK);
  ck_assert_int_eq(tpa_model_quantize(q, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "quantized"));
  tpa_lora_set *s = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&s, q, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_save_dense(q, "/nonexistent/never"), TPA_ERR_INVALID_ARGUMENT);
  tpa_model_free(q);
  /* Static without calibration data, a bad mode. */
  tpa_model *m = load_fixture("tiny");
  tpa_quantize_params qp;
  tpa_quantize_params_init(&qp, sizeof qp);
  qp.mode = TPA_QUANT_STATIC;
  ck_assert_int_eq(tpa_model_quantize(m, &qp), TPA_ERR_INVALID_ARGUMENT);
  qp.mode = (tpa_quant_mode)7;
  ck_assert_int_eq(tpa_model_quantize(m, &qp), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_quant_mode(m), TPA_QUANT_NONE);
  tpa_model_free(m);
}
END_TEST

/* ----------------------------------------------------------- bad input */

/* Rewrite @p dir's model.safetensors with tensor @p name changed by
 * @p edit ("drop", "shape", "zero", "nan", "f32", "code": one int8 code
 * out of range). */
static void rewrite(const char *dir, const char *name, const char *edit) {
  char *path = join(dir, "model.safetensors");
  size_t len;
  char *img = read_all(path, &len);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, img, len, path), TPA_OK);
  tpa__st_out *o = calloc(f.n, sizeof *o);
  int64_t(*shapes)[2] = calloc(f.n, sizeof *shapes);
  float *fbuf = NULL;
  size_t n = 0;
  for (size_t i = 0; i < f.n; i++) {
    const tpa__st_tensor *t = &f.t[i];
    const bool hit = strcmp(t->name, name) == 0;
    if (hit && strcmp(edit, "drop") == 0)
      continue;
    for (int d = 0; d < t->ndim; d++)
      shapes[n][d] = (int64_t)t->shape[d];
    o[n] = (tpa__st_out){
        .name = t->name, .dtype = t->dtype, .ndim = t->ndim, .shape = shapes[n], .raw = t->data};
    if (hit && strcmp(edit, "shape") == 0)
      shapes[n][0] -= 1;
    if (hit && (strcmp(edit, "zero") == 0 || strcmp(edit, "nan") == 0)) {
      fbuf = malloc(t->numel * sizeof *fbuf);
      memcpy(fbuf, t->data, t->numel * sizeof *fbuf);
      fbuf[t->numel / 2] = strcmp(edit, "zero") == 0 ? 0.0f : NAN;
      o[n].raw = fbuf;
    }
    if (hit && strcmp(edit, "code") == 0) {
      int8_t *c = malloc(t->numel);
      memcpy(c, t->data, t->numel);
      c[t->numel / 3] = 64; /* one past the 7-bit range */
      fbuf = (float *)(void *)c;
      o[n].raw = c;
    }
    if (hit && strcmp(edit, "f32") == 0) {
      fbuf = calloc(t->numel, sizeof *fbuf);
      o[n] = (tpa__st_out){
          .name = t->name, .dtype = TPA__DT_F32, .ndim = t->ndim, .shape = shapes[n], .f32 = fbuf};
    }
    n++;
  }
  const char *const mk[] = {"format"}, *const mv[] = {"pt"};
  ck_assert_msg(tpa__st_write(path, o, n, mk, mv, 1) == TPA_OK, "%s", tpa_last_error());
  tpa__st_close(&f);
  free(fbuf), free(o), free(shapes), free(img), free(path);
}

static void load_fails(const char *dir, tpa_status want, const char *needle) {
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == want, "got %s, want %s (%s)", tpa_status_str(s), tpa_status_str(want),
                tpa_last_error());
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(tpa_last_error(), needle) != NULL, "\"%s\" does not name \"%s\"",
                tpa_last_error(), needle);
}

START_TEST(bad_int8_checkpoints) {
  static const struct {
    const char *tensor, *edit;
    tpa_status want;
  } cases[] = {
      {"bert.encoder.layer.2.output.dense.weight_scale", "drop", TPA_ERR_TENSOR_MISSING},
      {"bert.encoder.layer.0.attention.self.key.weight_scale", "shape", TPA_ERR_TENSOR_SHAPE},
      {"bert.encoder.layer.1.attention.output.dense.weight_scale", "zero", TPA_ERR_DATA},
      {"bert.embeddings.word_embeddings.weight_scale", "nan", TPA_ERR_DATA},
      {"bert.encoder.layer.0.attention.self.query.input_scale", "zero", TPA_ERR_DATA},
      {"bert.encoder.layer.1.intermediate.dense.weight", "f32", TPA_ERR_TENSOR_DTYPE},
      {"bert.encoder.layer.1.intermediate.dense.weight", "shape", TPA_ERR_TENSOR_SHAPE},
      {"bert.encoder.layer.2.attention.self.value.weight", "code", TPA_ERR_DATA},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *dir = save_quantized(TPA_QUANT_STATIC);
    rewrite(dir, cases[i].tensor, cases[i].edit);
    load_fails(dir, cases[i].want, cases[i].tensor);
    remove_tree(dir);
    free(dir);
  }
  /* An unknown quant_method, a missing activations scheme. */
  static const char *const configs[][2] = {
      {"{\"quant_method\": \"gptq\", \"bits\": 4}", "gptq"},
      {"{\"quant_method\": \"libtpa_int8\"}", "activations"},
      {"{\"quant_method\": \"libtpa_int8\", \"bits\": 4, \"activations\": \"dynamic\"}", "bits"},
  };
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
    char *dir = save_quantized(TPA_QUANT_DYNAMIC);
    char *cfg_path = join(dir, "config.json");
    json_error_t err;
    json_t *cfg = json_load_file(cfg_path, 0, &err);
    json_object_set_new(cfg, "quantization_config", json_loads(configs[i][0], 0, &err));
    ck_assert_int_eq(json_dump_file(cfg, cfg_path, 0), 0);
    json_decref(cfg);
    load_fails(dir,
               i == 0   ? TPA_ERR_UNSUPPORTED
               : i == 1 ? TPA_ERR_CONFIG
                        : TPA_ERR_UNSUPPORTED,
               configs[i][1]);
    free(cfg_path);
    remove_tree(dir);
    free(dir);
  }
}
END_TEST

/* Every family quantizes, saves and reloads: RoBERTa's positions,
 * DistilBERT's missing token types and lin1/lin2, ELECTRA's narrower
 * embeddings (its projection stays f32), pruned heads. The int8 logits
 * stay near the f32 ones and a reloaded copy gives exactly the same. */
START_TEST(every_family_quantizes) {
  static const char *const families[] = {"roberta",           "xlmr",    "distilbert",
                                         "distilbert-pruned", "electra", "electra-pruned"};
  static const int32_t ids[12] = {0, 5, 6, 7, 8, 2, 0, 9, 10, 2, 1, 1};
  static const int32_t mask[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "families/%s", families[i]);
    tpa_model *f = load_fixture(rel), *q = load_fixture(rel);
    ck_assert_msg(tpa_model_quantize(q, NULL) == TPA_OK, "%s: %s", rel, tpa_last_error());
    tpa_model_config cfg = {.size = sizeof cfg};
    ck_assert_int_eq(tpa_model_get_config(f, &cfg), TPA_OK);
    float lf[2 * 8], lq[2 * 8], lr[2 * 8];
    ck_assert_int_le(cfg.num_labels, 8);
    ck_assert_int_eq(tpa_model_forward(f, ids, NULL, mask, 2, 6, lf), TPA_OK);
    ck_assert_msg(tpa_model_forward(q, ids, NULL, mask, 2, 6, lq) == TPA_OK, "%s: %s", rel,
                  tpa_last_error());
    char *dir = temp_dir();
    ck_assert_msg(tpa_model_save(q, dir) == TPA_OK, "%s: %s", rel, tpa_last_error());
    tpa_model *r = load_dir(dir);
    ck_assert_int_eq(tpa_model_forward(r, ids, NULL, mask, 2, 6, lr), TPA_OK);
    double worst = 0, scale = 0;
    for (int k = 0; k < 2 * cfg.num_labels; k++) {
      worst = fmax(worst, fabs(lf[k] - lq[k]));
      scale = fmax(scale, fabs(lf[k]));
      ck_assert_msg(lq[k] == lr[k], "%s: reloaded logit %d %g, before %g", rel, k, lr[k], lq[k]);
    }
    printf("%s: int8 logits at most %g from f32 (largest %g)\n", rel, worst, scale);
    /* These fixtures' weights are N(0, 0.2), ten times BERT's, so their
     * softmaxes are sharp and amplify rounding (measured: 0.02 to 0.26
     * for logits up to 3); a wrong tensor gives errors of the logits'
     * own size. */
    ck_assert_msg(worst <= 0.2 * (1.0 + scale), "%s: int8 logits %g from f32 (scale %g)", rel,
                  worst, scale);
    tpa_model_free(f), tpa_model_free(q), tpa_model_free(r);
    remove_tree(dir);
    free(dir);
  }
}
END_TEST

/* Last: the scratch directories (with CK_FORK=no tests run in order). */
START_TEST(cleanup) {
  if (trained_dir)
    remove_tree(trained_dir);
  if (work_dir)
    remove_tree(work_dir);
  free(trained_dir);
  free(work_dir);
  trained_dir = work_dir = NULL;
}
END_TEST

int main(void) {
  Suite *s = suite_create("quant");
  TCase *k = tcase_create("kernels");
  tcase_add_test(k, quantize_rows_scheme);
  tcase_add_test(k, qmatmul_matches_scheme);
  tcase_add_test(k, qmatmul_extreme_codes_do_not_saturate);
  suite_add_tcase(s, k);
  TCase *m = tcase_create("models");
  tcase_set_timeout(m, 600);
  tcase_add_test(m, dynamic_agrees_with_f32);
  tcase_add_test(m, static_agrees_with_f32);
  tcase_add_test(m, saved_int8_reloads_exactly);
  tcase_add_test(m, quantized_model_refuses_f32_stages);
  tcase_add_test(m, bad_int8_checkpoints);
  tcase_add_test(m, every_family_quantizes);
  suite_add_tcase(s, m);
  TCase *c = tcase_create("cleanup");
  tcase_add_test(c, cleanup);
  suite_add_tcase(s, c);
  SRunner *r = srunner_create(s);
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
