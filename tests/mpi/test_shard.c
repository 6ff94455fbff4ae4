/* SPDX-License-Identifier: Apache-2.0 */
/* The gradient engine's data-parallel shards (tpa__grad_work_set_shard),
 * without MPI: a batch cut into shards, each run with its global row
 * offset and the global batch size, must give gradients and a loss whose
 * SUMS are the whole batch's, with dropout on (masks keyed by the global
 * row). That sum is exactly what the ranks' all-reduce computes
 * (lib/stages/train_dist.c). The reference is the unsharded call, which
 * tests/grad checks against PyTorch and finite differences; a shard run
 * with the wrong row offset must differ, so the comparison can fail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/grad.h"
#include "stages/train_internal.h"
#include "test_util.h"

enum { B = 8, SEQ = 12 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(rng >> 11) / 9007199254740992.0;
}

typedef struct fixture_run {
  tpa_model *m;
  tpa_lora_set *set;
  tpa__trainable t;
  tpa__grad_work *work;
  int32_t ids[B * SEQ], types[B * SEQ], mask[B * SEQ];
  float labels[B];
} fixture_run;

static void setup(fixture_run *f, bool full) {
  memset(f, 0, sizeof *f);
  f->m = load_fixture("tiny");
  if (!full) {
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.rank = 4;
    ck_assert_msg(tpa_lora_set_create(&f->set, f->m, &lp) == TPA_OK, "%s", tpa_last_error());
  }
  tpa_status st = full ? tpa__trainable_full(&f->t, f->m, false)
                       : tpa__trainable_lora(&f->t, f->m, f->set, false);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  /* LoRA B starts at 0 (then A gets no gradient): move every parameter. */
  for (size_t i = 0; i < f->t.n; i++)
    for (size_t k = 0; k < f->t.refs[i].count; k++)
      f->t.refs[i].data[k] += (float)(0.02 * (uniform() - 0.5));
  ck_assert_int_eq(tpa__grad_work_create(&f->work, f->m, B, SEQ), TPA_OK);
  for (int r = 0; r < B; r++) {
    const int len = 4 + (int)(uniform() * (SEQ - 4));
    for (int j = 0; j < SEQ; j++) {
      f->ids[r * SEQ + j] = j < len ? 1 + (int32_t)(uniform() * 500) : 0;
      f->types[r * SEQ + j] = 0;
      f->mask[r * SEQ + j] = j < len;
    }
    f->labels[r] = (float)(r % 2);
  }
}

static void teardown(fixture_run *f) {
  tpa__grad_work_free(f->work);
  tpa__trainable_free(&f->t);
  tpa_lora_set_free(f->set);
  tpa_model_free(f->m);
}

/* Loss and gradients of rows [r0, r1), as the shard of row0 in a batch of
 * `global` rows (global 0: an ordinary call); gradients added to acc. */
static double run_rows(fixture_run *f, int r0, int r1, int64_t row0, int32_t global, double *acc) {
  tpa__grad_work_set_shard(f->work, row0, global);
  const tpa__batch b = {.batch = r1 - r0,
                        .seq = SEQ,
                        .ids = f->ids + r0 * SEQ,
                        .type_ids = f->types + r0 * SEQ,
                        .mask = f->mask + r0 * SEQ,
                        .labels = f->labels + r0};
  const tpa__grad_opts o = {
      .hidden_dropout = 0.1f, .attn_dropout = 0.1f, .cls_dropout = 0.1f, .dropout_seed = 77};
  double loss = 0;
  tpa_status st =
      tpa__loss_and_grads(f->work, f->m, &f->t.w, f->t.lora, &b, &o, &loss, NULL, &f->t.gout);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  size_t off = 0;
  for (size_t i = 0; i < f->t.n; i++)
    for (size_t k = 0; k < f->t.grads[i].n; k++)
      acc[off++] += (double)f->t.grads[i].g[k];
  tpa__grad_work_set_shard(f->work, 0, 0);
  return loss;
}

static double max_abs_diff(const double *a, const double *b, size_t n, double *scale) {
  double d = 0, s = 0;
  for (size_t i = 0; i < n; i++) {
    d = fmax(d, fabs(a[i] - b[i]));
    s = fmax(s, fabs(a[i]));
  }
  *scale = s;
  return d;
}

static void check_shards(bool full) {
  fixture_run f;
  setup(&f, full);
  const size_t n = f.t.total;
  double *ref = calloc(n, sizeof *ref), *sum = calloc(n, sizeof *sum),
         *wrong = calloc(n, sizeof *wrong);
  ck_assert(ref && sum && wrong);
  const double loss = run_rows(&f, 0, B, 0, 0, ref);
  /* Uneven shards, as 2 and 3 ranks would cut 8 rows, and an empty one. */
  const int cuts[][4] = {{0, 4, 8, 8}, {0, 3, 6, 8}, {0, 3, 3, 8}};
  for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
    memset(sum, 0, n * sizeof *sum);
    double shard_loss = 0;
    for (int k = 0; k < 3; k++)
      if (cuts[c][k + 1] > cuts[c][k])
        shard_loss += run_rows(&f, cuts[c][k], cuts[c][k + 1], cuts[c][k], B, sum);
    double scale = 0;
    const double d = max_abs_diff(ref, sum, n, &scale);
    ck_assert_msg(scale > 0, "no gradient at all");
    ck_assert_msg(d <= 1e-5 * scale, "%s cut %zu: shard gradients sum off by %g (scale %g)",
                  full ? "full" : "lora", c, d, scale);
    ck_assert_msg(fabs(shard_loss - loss) <= 1e-6 * fabs(loss), "loss %.9g vs %.9g", shard_loss,
                  loss);
  }
  /* Both shards keyed as if they started at row 0: other dropout masks. */
  run_rows(&f, 0, 4, 0, B, wrong);
  run_rows(&f, 4, B, 0, B, wrong);
  double scale = 0;
  const double d = max_abs_diff(ref, wrong, n, &scale);
  ck_assert_msg(d > 1e-3 * scale, "dropout did not depend on the row offset (%g)", d);
  free(ref);
  free(sum);
  free(wrong);
  teardown(&f);
}

START_TEST(lora_shards_sum_to_batch) {
  check_shards(false);
}
END_TEST

START_TEST(full_shards_sum_to_batch) {
  check_shards(true);
}
END_TEST

int main(void) {
  Suite *s = suite_create("shard");
  TCase *tc = tcase_create("gradients");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, lora_shards_sum_to_batch);
  tcase_add_test(tc, full_shards_sum_to_batch);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_VERBOSE);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
