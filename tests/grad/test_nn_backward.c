/* SPDX-License-Identifier: Apache-2.0 */
/* The backward operations of lib/nn against double-precision loops
 * written from the textbook formulas: softmax, layer normalization (with
 * gain/shift gradients), GELU-erf and tanh, and matmuls over transposed
 * strided views with accumulation (the weight-gradient pattern). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grad_tests.h"
#include "nn/nn.h"

static tpa__nn_cache *cache;
static tpa__nn_ctx *ctx;

static void setup(void) {
  ck_assert_int_eq(tpa__nn_cache_create(&cache), TPA_OK);
  ck_assert_int_eq(tpa__nn_ctx_create(&ctx, cache), TPA_OK);
}

static void teardown(void) {
  tpa__nn_ctx_free(ctx);
  tpa__nn_cache_free(cache);
}

static float *randv(rng *r, size_t n, double std) {
  float *p = malloc(n * sizeof *p);
  ck_assert_ptr_nonnull(p);
  fill_normal(r, p, n, 0.0, std);
  return p;
}

START_TEST(softmax_backward) {
  rng r = {11};
  enum { A = 2, B = 3, C = 5, D = 7, N = A * B * C * D };
  float *x = randv(&r, N, 2.0), *dy = randv(&r, N, 1.0);
  float *y = malloc(N * sizeof *y), *dx = malloc(N * sizeof *dx);
  tpa__nn_tensor t = tpa__nn_dense(4, (int64_t[]){A, B, C, D});
  ck_assert_int_eq(tpa__nn_softmax(ctx, &t, 3, x, y, "test"), TPA_OK);
  ck_assert_int_eq(tpa__nn_softmax_backward(ctx, &t, 3, y, dy, dx, "test"), TPA_OK);
  double *want = malloc(N * sizeof *want);
  for (int row = 0; row < N / D; row++) {
    double mx = -INFINITY, se = 0, p[D], dot = 0;
    for (int j = 0; j < D; j++)
      mx = fmax(mx, x[row * D + j]);
    for (int j = 0; j < D; j++)
      se += exp(x[row * D + j] - mx);
    for (int j = 0; j < D; j++) {
      p[j] = exp(x[row * D + j] - mx) / se;
      dot += p[j] * dy[row * D + j];
    }
    for (int j = 0; j < D; j++)
      want[row * D + j] = p[j] * (dy[row * D + j] - dot);
  }
  size_t at;
  double wr = worst_ratio(dx, want, N, 1e-6, 1e-5, &at);
  ck_assert_msg(wr <= 1.0, "softmax backward off at %zu: %g vs %g", at, dx[at], want[at]);
  /* In place (diff_src == diff_dst) gives the same. */
  ck_assert_int_eq(tpa__nn_softmax_backward(ctx, &t, 3, y, dy, dy, "test"), TPA_OK);
  ck_assert(worst_ratio(dy, want, N, 1e-6, 1e-5, &at) <= 1.0);
  free(x), free(dy), free(y), free(dx), free(want);
}
END_TEST

START_TEST(layer_norm_backward) {
  rng r = {12};
  enum { T = 9, H = 24 };
  const float eps = 1e-5f;
  float *x = randv(&r, T * H, 1.5), *dy = randv(&r, T * H, 1.0);
  float *g = randv(&r, H, 0.3), *b = randv(&r, H, 0.3);
  for (int i = 0; i < H; i++)
    g[i] += 1.0f;
  float y[T * H], mean[T], var[T], dx[T * H], dg[H], db[H];
  tpa__nn_tensor t = tpa__nn_dense2(T, H);
  ck_assert_int_eq(tpa__nn_layer_norm_train(ctx, &t, eps, x, g, b, y, mean, var, "test"), TPA_OK);
  ck_assert_int_eq(
      tpa__nn_layer_norm_backward(ctx, &t, eps, x, mean, var, g, b, dy, dx, dg, db, "test"),
      TPA_OK);
  double wy[T * H], wdx[T * H], wdg[H] = {0}, wdb[H] = {0}, wm[T], wv[T];
  for (int i = 0; i < T; i++) {
    double mu = 0, v = 0;
    for (int j = 0; j < H; j++)
      mu += x[i * H + j];
    mu /= H;
    for (int j = 0; j < H; j++)
      v += (x[i * H + j] - mu) * (x[i * H + j] - mu);
    v /= H;
    wm[i] = mu, wv[i] = v;
    const double inv = 1.0 / sqrt(v + eps);
    double m1 = 0, m2 = 0, xh[H];
    for (int j = 0; j < H; j++) {
      xh[j] = (x[i * H + j] - mu) * inv;
      wy[i * H + j] = g[j] * xh[j] + b[j];
      wdg[j] += dy[i * H + j] * xh[j];
      wdb[j] += dy[i * H + j];
      m1 += dy[i * H + j] * g[j];
      m2 += dy[i * H + j] * g[j] * xh[j];
    }
    m1 /= H, m2 /= H;
    for (int j = 0; j < H; j++)
      wdx[i * H + j] = inv * (dy[i * H + j] * g[j] - m1 - xh[j] * m2);
  }
  size_t at;
  ck_assert(worst_ratio(y, wy, T * H, 1e-5, 1e-5, &at) <= 1.0);
  ck_assert(worst_ratio(mean, wm, T, 1e-6, 1e-5, &at) <= 1.0);
  ck_assert(worst_ratio(var, wv, T, 1e-6, 1e-5, &at) <= 1.0);
  double wr = worst_ratio(dx, wdx, T * H, 1e-5, 1e-4, &at);
  ck_assert_msg(wr <= 1.0, "LN dx off at %zu: %g vs %g", at, dx[at], wdx[at]);
  ck_assert_msg(worst_ratio(dg, wdg, H, 1e-5, 1e-4, &at) <= 1.0, "LN dgamma off at %zu", at);
  ck_assert_msg(worst_ratio(db, wdb, H, 1e-5, 1e-4, &at) <= 1.0, "LN dbeta off at %zu", at);
  free(x), free(dy), free(g), free(b);
}
END_TEST

START_TEST(eltwise_backward) {
  rng r = {13};
  enum { N = 3 * 41 };
  float *x = randv(&r, N, 2.0), *dy = randv(&r, N, 1.0);
  float y[N], dx[N];
  double wy[N], wdx[N];
  tpa__nn_tensor t = tpa__nn_dense2(3, 41);
  /* GELU-erf: y = x Phi(x), y' = Phi(x) + x phi(x). */
  ck_assert_int_eq(tpa__nn_eltwise(ctx, &t, TPA__NN_ACT_GELU_ERF, x, y, "test"), TPA_OK);
  ck_assert_int_eq(tpa__nn_eltwise_backward(ctx, &t, TPA__NN_ACT_GELU_ERF, x, dy, dx, "test"),
                   TPA_OK);
  for (int i = 0; i < N; i++) {
    const double v = x[i], cdf = 0.5 * (1.0 + erf(v / sqrt(2.0)));
    const double pdf = exp(-0.5 * v * v) / sqrt(2.0 * M_PI);
    wy[i] = v * cdf;
    wdx[i] = dy[i] * (cdf + v * pdf);
  }
  size_t at;
  ck_assert(worst_ratio(y, wy, N, 1e-6, 1e-5, &at) <= 1.0);
  ck_assert_msg(worst_ratio(dx, wdx, N, 1e-6, 1e-5, &at) <= 1.0, "GELU dx off at %zu: %g vs %g", at,
                dx[at], wdx[at]);
  /* tanh: y' = 1 - tanh^2. */
  ck_assert_int_eq(tpa__nn_eltwise(ctx, &t, TPA__NN_ACT_TANH, x, y, "test"), TPA_OK);
  ck_assert_int_eq(tpa__nn_eltwise_backward(ctx, &t, TPA__NN_ACT_TANH, x, dy, dx, "test"), TPA_OK);
  for (int i = 0; i < N; i++) {
    wy[i] = tanh(x[i]);
    wdx[i] = dy[i] * (1.0 - wy[i] * wy[i]);
  }
  ck_assert(worst_ratio(y, wy, N, 1e-6, 1e-5, &at) <= 1.0);
  ck_assert(worst_ratio(dx, wdx, N, 1e-6, 1e-5, &at) <= 1.0);
  free(x), free(dy);
}
END_TEST

/* dW += dY^T X through a transposed view, twice (accumulation), and
 * dX = dY W + R through the add post-op after a sum post-op. */
START_TEST(matmul_gradients) {
  rng r = {14};
  enum { T = 37, IN = 19, OUT = 23 };
  float *dy = randv(&r, T * OUT, 1.0), *x = randv(&r, T * IN, 1.0), *w = randv(&r, OUT * IN, 1.0);
  float *res = randv(&r, T * IN, 1.0);
  float *dw = randv(&r, OUT * IN, 1.0), *dx = randv(&r, T * IN, 1.0);
  double *want = malloc(OUT * IN * sizeof *want), *wdx = malloc(T * IN * sizeof *wdx);
  for (int o = 0; o < OUT; o++)
    for (int i = 0; i < IN; i++) {
      double acc = 0;
      for (int t = 0; t < T; t++)
        acc += (double)dy[t * OUT + o] * x[t * IN + i];
      want[o * IN + i] = dw[o * IN + i] + 2 * acc;
    }
  for (int t = 0; t < T; t++)
    for (int i = 0; i < IN; i++) {
      double acc = 0;
      for (int o = 0; o < OUT; o++)
        acc += (double)dy[t * OUT + o] * w[o * IN + i];
      wdx[t * IN + i] = dx[t * IN + i] + 0.5 * acc + res[t * IN + i];
    }
  tpa__nn_matmul_desc d;
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_strided2(OUT, T, 1, OUT);
  d.wei = tpa__nn_dense2(T, IN);
  d.dst = tpa__nn_dense2(OUT, IN);
  d.accumulate = 1;
  for (int k = 0; k < 2; k++)
    ck_assert_int_eq(tpa__nn_matmul(ctx, &d, dy, x, NULL, NULL, dw, "test"), TPA_OK);
  size_t at;
  ck_assert_msg(worst_ratio(dw, want, OUT * IN, 1e-4, 1e-5, &at) <= 1.0, "dW off at %zu", at);
  memset(&d, 0, sizeof d);
  d.src = tpa__nn_dense2(T, OUT);
  d.wei = tpa__nn_dense2(OUT, IN);
  d.dst = tpa__nn_dense2(T, IN);
  d.add = d.dst;
  d.scale = 0.5f;
  d.accumulate = 1;
  ck_assert_int_eq(tpa__nn_matmul(ctx, &d, dy, w, NULL, res, dx, "test"), TPA_OK);
  ck_assert_msg(worst_ratio(dx, wdx, T * IN, 1e-4, 1e-5, &at) <= 1.0, "dX off at %zu", at);
  free(dy), free(x), free(w), free(res), free(dw), free(dx), free(want), free(wdx);
}
END_TEST

Suite *nn_backward_suite(void) {
  Suite *s = suite_create("nn backward");
  const struct {
    const char *name;
    const TTest *fn;
  } cases[] = {{"softmax", softmax_backward},
               {"layer norm", layer_norm_backward},
               {"eltwise", eltwise_backward},
               {"matmul gradients", matmul_gradients}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cases[i].fn);
    suite_add_tcase(s, tc);
  }
  return s;
}
