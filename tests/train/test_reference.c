/* SPDX-License-Identifier: Apache-2.0 */
/* A few real AdamW steps against PyTorch (tests/fixtures/train/steps.json
 * from gen_train_fixtures.py, float64 math of torch_bert.py): the loss of
 * every step and the logits after training agree, for LoRA (from the same
 * initial adapter) and for full fine-tuning. Dropout off, file order,
 * batches of 4 of the first 20 SST-2 dev rows, warmup then decay, and
 * clipping at 1.0, so every part of the update is exercised. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tpa/tpa.h"
#include "train_tests.h"

typedef struct step_log {
  int n;
  double loss[8];
} step_log;

static void log_step(void *user, const tpa_step_report *r) {
  step_log *l = user;
  if (l->n < 8)
    l->loss[l->n++] = r->loss;
}

static json_t *load_steps(void) {
  json_error_t err;
  json_t *j = json_load_file(fixture_path("train/steps.json"), 0, &err);
  ck_assert_msg(j != NULL, "steps.json: %s", err.text);
  return j;
}

static void check_against(const json_t *ref, const step_log *l, const float *logits) {
  const json_t *losses = json_object_get(ref, "losses");
  ck_assert_int_eq(l->n, (int)json_array_size(losses));
  for (int i = 0; i < l->n; i++) {
    const double want = json_number_value(json_array_get(losses, (size_t)i));
    ck_assert_msg(fabs(l->loss[i] - want) <= 1e-5, "step %d loss %.8f, torch %.8f", i + 1,
                  l->loss[i], want);
  }
  const json_t *rows = json_object_get(ref, "logits");
  double worst = 0;
  for (size_t i = 0; i < json_array_size(rows); i++)
    for (size_t k = 0; k < 2; k++) {
      const double want = json_number_value(json_array_get(json_array_get(rows, i), k));
      const double d = fabs(logits[2 * i + k] - want);
      worst = d > worst ? d : worst;
    }
  ck_assert_msg(worst <= 1e-4, "logits differ from torch's by %.3g", worst);
}

static tpa_train_params reference_params(const json_t *root, const json_t *ref) {
  tpa_train_params p;
  tpa_train_params_init(&p, sizeof p);
  p.epochs = 1;
  p.batch_size = (int32_t)json_integer_value(json_object_get(root, "batch_size"));
  p.learning_rate = json_number_value(json_object_get(ref, "learning_rate"));
  p.weight_decay = json_number_value(json_object_get(root, "weight_decay"));
  p.warmup_ratio = json_number_value(json_object_get(root, "warmup_ratio"));
  p.max_grad_norm = json_number_value(json_object_get(root, "max_grad_norm"));
  p.hidden_dropout = p.attention_dropout = 0;
  p.shuffle = false;
  p.keep_best = false;
  return p;
}

static tpa_dataset *first_rows(const json_t *root) {
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = (size_t)json_integer_value(json_object_get(root, "rows"));
  tpa_dataset *ds = NULL;
  ck_assert_int_eq(tpa_dataset_load(&ds, TPA_TASK_SST2, shared_path("glue/SST-2/dev.tsv"), &dp),
                   TPA_OK);
  return ds;
}

START_TEST(lora_steps_match_torch) {
  json_t *root = load_steps();
  const json_t *ref = json_object_get(root, "lora");
  tpa_model *m = NULL;
  ck_assert_int_eq(tpa_model_load(&m, fixture_path("tiny"), NULL), TPA_OK);
  tpa_lora_set *set = NULL;
  ck_assert_msg(tpa_lora_set_load(&set, m, fixture_path("train/init-adapter")) == TPA_OK, "%s",
                tpa_last_error());
  tpa_dataset *ds = first_rows(root);
  step_log l = {0};
  tpa_train_params p = reference_params(root, ref);
  p.on_step = log_step;
  p.user = &l;
  ck_assert_msg(tpa_train_lora(m, set, ds, NULL, &p, NULL) == TPA_OK, "%s", tpa_last_error());
  float logits[40];
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.adapter = set;
  ck_assert_int_eq(tpa_model_predict(m, ds, &pp, logits, 40), TPA_OK);
  check_against(ref, &l, logits);
  tpa_dataset_free(ds);
  tpa_lora_set_free(set);
  tpa_model_free(m);
  json_decref(root);
}
END_TEST

START_TEST(full_steps_match_torch) {
  json_t *root = load_steps();
  const json_t *ref = json_object_get(root, "full");
  tpa_model *m = NULL;
  ck_assert_int_eq(tpa_model_load(&m, fixture_path("tiny"), NULL), TPA_OK);
  tpa_dataset *ds = first_rows(root);
  step_log l = {0};
  tpa_train_params p = reference_params(root, ref);
  p.on_step = log_step;
  p.user = &l;
  ck_assert_msg(tpa_train_full(m, ds, NULL, &p, NULL) == TPA_OK, "%s", tpa_last_error());
  float logits[40];
  ck_assert_int_eq(tpa_model_predict(m, ds, NULL, logits, 40), TPA_OK);
  check_against(ref, &l, logits);
  tpa_dataset_free(ds);
  tpa_model_free(m);
  json_decref(root);
}
END_TEST

Suite *reference_suite(void) {
  Suite *s = suite_create("reference");
  TCase *tc = tcase_create("torch");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, lora_steps_match_torch);
  tcase_add_test(tc, full_steps_match_torch);
  suite_add_tcase(s, tc);
  return s;
}
