/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint file: a round trip restores every float and counter bit
 * for bit, other settings are refused, a missing file is "not found",
 * damaged files are reported, not trusted, and a checkpoint of before
 * 0.8.0 (no time recorded) reads with the time unknown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/error.h"
#include "stages/checkpoint.h"
#include "train_tests.h"

enum { NA = 6, NB = 3, TOTAL = NA + NB };

typedef struct fake {
  float a[NA], b[NB];
  float m[TOTAL], v[TOTAL], best[TOTAL];
  tpa__tensor_ref refs[2];
  tpa__ckpt_tensors t;
} fake;

static void fake_init(fake *f, float base) {
  memset(f, 0, sizeof *f);
  for (int i = 0; i < NA; i++)
    f->a[i] = base + 0.1f * (float)i + 1e-7f; /* values with all mantissa bits in use */
  for (int i = 0; i < NB; i++)
    f->b[i] = -base / 3.0f - (float)i;
  for (int i = 0; i < TOTAL; i++) {
    f->m[i] = base * 1e-3f / 7.0f * (float)(i + 1);
    f->v[i] = base * 1e-6f / 3.0f * (float)(i + 1);
    f->best[i] = base + (float)i / 9.0f;
  }
  f->refs[0] = (tpa__tensor_ref){
      .name = "x.lora_A.weight", .data = f->a, .count = NA, .rows = 2, .cols = 3, .decay = true};
  f->refs[1] = (tpa__tensor_ref){
      .name = "x.LayerNorm.bias", .data = f->b, .count = NB, .rows = 1, .cols = NB, .decay = false};
  f->t = (tpa__ckpt_tensors){f->refs, 2, f->m, f->v, f->best};
}

static void state_init(tpa__train_state *st) {
  memset(st, 0, sizeof *st);
  st->step = 123;
  st->epoch = 2;
  st->epoch_batch = 17;
  st->rng_epoch = 0xfedcba9876543210ull;
  st->loss_sum = 1.0 / 3.0 + 1e-17;
  st->loss_steps = 17;
  st->best_epoch = 2;
  st->best_metric = 0.8123456789012345;
  st->seconds = 1234.5 + 1.0 / 3.0;
  st->epoch_seconds = 7.0 / 3.0;
  st->n_history = 2;
  for (int i = 0; i < 2; i++) {
    tpa_epoch_report *r = &st->history[i];
    r->size = sizeof *r;
    r->epoch = i + 1;
    r->step = 50 * (i + 1);
    r->train_loss = 0.7 / (i + 1.0) + 1e-16;
    r->seconds = 12.25 + i;
    r->best = i == 1;
    r->dev.size = sizeof r->dev;
    r->dev.present = 3;
    r->dev.accuracy = 2.0 / 3.0;
    r->dev.f1 = 0.1 + i;
    r->dev.main = M_PI / (i + 4);
    r->dev.count = 408;
  }
}

START_TEST(round_trip_is_exact) {
  char dir[256];
  make_temp_dir(dir, sizeof dir, "ckpt");
  fake a, b;
  fake_init(&a, 1.2345f);
  fake_init(&b, -9.0f);
  tpa__train_state sa, sb;
  state_init(&sa);
  memset(&sb, 0, sizeof sb);
  ck_assert_int_eq(tpa__ckpt_save(dir, "mode=lora x=1", &sa, &a.t), TPA_OK);
  bool found = false, has_best = false;
  ck_assert_msg(tpa__ckpt_load(dir, "mode=lora x=1", &sb, &b.t, &found, &has_best) == TPA_OK, "%s",
                tpa_last_error());
  ck_assert(found);
  ck_assert(has_best);
  ck_assert_int_eq(memcmp(a.a, b.a, sizeof a.a), 0);
  ck_assert_int_eq(memcmp(a.b, b.b, sizeof a.b), 0);
  ck_assert_int_eq(memcmp(a.m, b.m, sizeof a.m), 0);
  ck_assert_int_eq(memcmp(a.v, b.v, sizeof a.v), 0);
  ck_assert_int_eq(memcmp(a.best, b.best, sizeof a.best), 0);
  ck_assert_int_eq(sb.step, sa.step);
  ck_assert_int_eq(sb.epoch, sa.epoch);
  ck_assert_int_eq(sb.epoch_batch, sa.epoch_batch);
  ck_assert_uint_eq(sb.rng_epoch, sa.rng_epoch);
  ck_assert(sb.loss_sum == sa.loss_sum); /* exact, not approximately */
  ck_assert_int_eq(sb.loss_steps, sa.loss_steps);
  ck_assert_int_eq(sb.best_epoch, sa.best_epoch);
  ck_assert(sb.best_metric == sa.best_metric);
  ck_assert(sb.seconds == sa.seconds && sb.epoch_seconds == sa.epoch_seconds);
  ck_assert_int_eq(sb.n_history, 2);
  for (int i = 0; i < 2; i++) {
    const tpa_epoch_report *x = &sa.history[i], *y = &sb.history[i];
    ck_assert_int_eq(y->epoch, x->epoch);
    ck_assert_int_eq(y->step, x->step);
    ck_assert(y->train_loss == x->train_loss && y->seconds == x->seconds);
    ck_assert(y->best == x->best);
    ck_assert_uint_eq(y->dev.present, x->dev.present);
    ck_assert(y->dev.accuracy == x->dev.accuracy && y->dev.main == x->dev.main);
    ck_assert_uint_eq(y->dev.count, x->dev.count);
  }
  /* The file is a valid safetensors file with our names. */
  char path[300];
  snprintf(path, sizeof path, "%s/" TPA__CKPT_FILE, dir);
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  char head[4096] = {0};
  size_t got = fread(head, 1, sizeof head - 1, fp);
  fclose(fp);
  ck_assert_uint_gt(got, 8);
  ck_assert_ptr_nonnull(memmem(head, got, "exp_avg_sq/x.lora_A.weight", 26));
  ck_assert_ptr_nonnull(memmem(head, got, "libtpa-train-state", 18));
  remove_tree(dir);
}
END_TEST

/* Unknown times (NaN) survive a round trip: the run's, the epoch's, and
 * an epoch report's (null in the history, which JSON has for NaN). */
START_TEST(unknown_times_round_trip) {
  char dir[256];
  make_temp_dir(dir, sizeof dir, "ckpt");
  fake a;
  fake_init(&a, 1.0f);
  tpa__train_state sa, sb;
  state_init(&sa);
  sa.seconds = sa.epoch_seconds = NAN;
  sa.history[1].seconds = NAN;
  ck_assert_msg(tpa__ckpt_save(dir, "s", &sa, &a.t) == TPA_OK, "%s", tpa_last_error());
  bool found = false, has_best = false;
  ck_assert_msg(tpa__ckpt_load(dir, "s", &sb, &a.t, &found, &has_best) == TPA_OK, "%s",
                tpa_last_error());
  ck_assert(isnan(sb.seconds) && isnan(sb.epoch_seconds));
  ck_assert(sb.history[0].seconds == sa.history[0].seconds);
  ck_assert(isnan(sb.history[1].seconds));
  remove_tree(dir);
}
END_TEST

/* Rewrite @p path's safetensors header without metadata keys @p drop
 * (NULL-terminated): a checkpoint as an older libtpa wrote it. */
static void drop_meta(const char *path, const char *const *drop) {
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  fseek(fp, 0, SEEK_END);
  const size_t size = (size_t)ftell(fp);
  rewind(fp);
  unsigned char *blob = malloc(size);
  ck_assert_ptr_nonnull(blob);
  ck_assert_uint_eq(fread(blob, 1, size, fp), size);
  fclose(fp);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--)
    hl = hl << 8 | blob[i];
  json_error_t err;
  json_t *root = json_loadb((const char *)blob + 8, (size_t)hl, 0, &err);
  ck_assert_ptr_nonnull(root);
  json_t *meta = json_object_get(root, "__metadata__");
  for (const char *const *k = drop; *k; k++)
    ck_assert_int_eq(json_object_del(meta, *k), 0);
  char *text = json_dumps(root, JSON_COMPACT);
  ck_assert_ptr_nonnull(text);
  const size_t n = strlen(text);
  unsigned char len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)((uint64_t)n >> (8 * i));
  fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  fwrite(len, 1, 8, fp);
  fwrite(text, 1, n, fp);
  fwrite(blob + 8 + hl, 1, size - 8 - (size_t)hl, fp);
  fclose(fp);
  free(text);
  json_decref(root);
  free(blob);
}

/* A checkpoint written before 0.8.0 has no "seconds" nor "epoch_seconds":
 * it still resumes, with the run's earlier time unknown (NaN), and the
 * epoch in progress's too unless the state is at an epoch start. */
START_TEST(checkpoint_without_times_reads) {
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir, "ckpt");
  snprintf(path, sizeof path, "%s/" TPA__CKPT_FILE, dir);
  static const char *const drop[] = {"seconds", "epoch_seconds", NULL};
  fake a;
  fake_init(&a, 1.0f);
  tpa__train_state sa, sb;
  state_init(&sa); /* mid-epoch: epoch_batch 17 */
  ck_assert_int_eq(tpa__ckpt_save(dir, "s", &sa, &a.t), TPA_OK);
  drop_meta(path, drop);
  bool found = false, has_best = false;
  ck_assert_msg(tpa__ckpt_load(dir, "s", &sb, &a.t, &found, &has_best) == TPA_OK, "%s",
                tpa_last_error());
  ck_assert(found);
  ck_assert_int_eq(sb.step, sa.step);
  ck_assert(isnan(sb.seconds) && isnan(sb.epoch_seconds));
  sa.epoch_batch = 0; /* at an epoch start nothing of the epoch was spent */
  ck_assert_int_eq(tpa__ckpt_save(dir, "s", &sa, &a.t), TPA_OK);
  drop_meta(path, drop);
  ck_assert_int_eq(tpa__ckpt_load(dir, "s", &sb, &a.t, &found, &has_best), TPA_OK);
  ck_assert(isnan(sb.seconds) && sb.epoch_seconds == 0);
  remove_tree(dir);
}
END_TEST

START_TEST(no_best_without_keep_best) {
  char dir[256];
  make_temp_dir(dir, sizeof dir, "ckpt");
  fake a, b;
  fake_init(&a, 2.0f);
  fake_init(&b, 0.0f);
  a.t.best = NULL;
  tpa__train_state st;
  state_init(&st);
  ck_assert_int_eq(tpa__ckpt_save(dir, "s", &st, &a.t), TPA_OK);
  bool found = false, has_best = true;
  ck_assert_int_eq(tpa__ckpt_load(dir, "s", &st, &b.t, &found, &has_best), TPA_OK);
  ck_assert(found && !has_best);
  ck_assert_int_eq(memcmp(a.a, b.a, sizeof a.a), 0);
  remove_tree(dir);
}
END_TEST

START_TEST(missing_file_is_not_found) {
  char dir[256];
  make_temp_dir(dir, sizeof dir, "ckpt");
  fake a;
  fake_init(&a, 1.0f);
  tpa__train_state st;
  bool found = true, has_best = true;
  ck_assert_int_eq(tpa__ckpt_load(dir, "s", &st, &a.t, &found, &has_best), TPA_OK);
  ck_assert(!found && !has_best);
  remove_tree(dir);
}
END_TEST

START_TEST(other_settings_are_refused) {
  char dir[256];
  make_temp_dir(dir, sizeof dir, "ckpt");
  fake a, b;
  fake_init(&a, 1.0f);
  fake_init(&b, 5.0f);
  tpa__train_state st;
  state_init(&st);
  ck_assert_int_eq(tpa__ckpt_save(dir, "mode=lora lr=0.0005", &st, &a.t), TPA_OK);
  bool found = false, has_best = false;
  ck_assert_int_eq(tpa__ckpt_load(dir, "mode=lora lr=0.001", &st, &b.t, &found, &has_best),
                   TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "lr=0.0005"));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "lr=0.001"));
  ck_assert(!found);
  ck_assert(b.a[0] == 5.0f + 1e-7f); /* nothing was overwritten */
  /* A tensor of another size is refused too, before anything is copied. */
  fake c;
  fake_init(&c, 7.0f);
  c.refs[1].count = NB - 1;
  ck_assert_int_eq(tpa__ckpt_load(dir, "mode=lora lr=0.0005", &st, &c.t, &found, &has_best),
                   TPA_ERR_TENSOR_SHAPE);
  ck_assert(c.a[0] == 7.0f + 1e-7f);
  remove_tree(dir);
}
END_TEST

START_TEST(damaged_files_are_reported) {
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir, "ckpt");
  snprintf(path, sizeof path, "%s/" TPA__CKPT_FILE, dir);
  fake a;
  fake_init(&a, 1.0f);
  tpa__train_state st;
  state_init(&st);
  ck_assert_int_eq(tpa__ckpt_save(dir, "s", &st, &a.t), TPA_OK);
  /* Cut the file in half: the reader must notice. */
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  fp = fopen(path, "wb");
  fwrite(buf, 1, n / 2, fp);
  fclose(fp);
  bool found = false, has_best = false;
  tpa_status s = tpa__ckpt_load(dir, "s", &st, &a.t, &found, &has_best);
  ck_assert_int_ne(s, TPA_OK);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), TPA__CKPT_FILE));
  /* A plain safetensors file without our metadata is not a checkpoint. */
  static const char plain[] = "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  fp = fopen(path, "wb");
  unsigned char len[8] = {(unsigned char)(sizeof plain - 1)};
  fwrite(len, 1, 8, fp);
  fwrite(plain, 1, sizeof plain - 1, fp);
  fwrite("\0\0\0\0", 1, 4, fp);
  fclose(fp);
  ck_assert_int_eq(tpa__ckpt_load(dir, "s", &st, &a.t, &found, &has_best), TPA_ERR_HEADER);
  remove_tree(dir);
}
END_TEST

Suite *checkpoint_suite(void) {
  Suite *s = suite_create("checkpoint");
  TCase *tc = tcase_create("round_trip");
  tcase_add_test(tc, round_trip_is_exact);
  tcase_add_test(tc, no_best_without_keep_best);
  tcase_add_test(tc, unknown_times_round_trip);
  tcase_add_test(tc, checkpoint_without_times_reads);
  suite_add_tcase(s, tc);
  tc = tcase_create("refusals");
  tcase_add_test(tc, missing_file_is_not_found);
  tcase_add_test(tc, other_settings_are_refused);
  tcase_add_test(tc, damaged_files_are_reported);
  suite_add_tcase(s, tc);
  return s;
}
