/* SPDX-License-Identifier: Apache-2.0 */
/* A set applied in a forward pass (the gradient engine's unmerged LoRA
 * forward, which tpa_model_predict uses with an adapter): a fresh set
 * gives the model's own logits (PyTorch's within 1e-4), and the adapter
 * that tests/fixtures/lora/gen_adapter.py wrote gives the logits PyTorch
 * computed for it on merged float64 weights (within 1e-4). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/grad.h"
#include "model/model.h"
#include "stages/lora.h"
#include "util.h"

#define TOL 1e-4

typedef struct result {
  double vs_ref;   /* max |ours - reference| */
  double vs_plain; /* max |ours - tpa_model_forward| */
  float *logits;   /* every batch's logits, concatenated */
  size_t n;
} result;

/* Run every batch of @p ref_rel with @p set (NULL: model alone). */
static result run(const tpa_model *m, const tpa_lora_set *set, const char *ref_rel) {
  char *path = fixture(ref_rel);
  json_error_t err;
  json_t *ref = json_load_file(path, 0, &err);
  ck_assert_msg(ref != NULL, "%s: %s", path, err.text);
  free(path);
  const json_t *batches = json_object_get(ref, "batches");
  result r = {0};
  for (size_t i = 0; i < json_array_size(batches); i++)
    r.n += json_array_size(json_object_get(json_array_get(batches, i), "logits"));
  ck_assert_uint_gt(r.n, 0);
  r.logits = calloc(r.n, sizeof *r.logits);
  ck_assert_ptr_nonnull(r.logits);
  tpa__weights w;
  tpa__layer *layers = NULL;
  tpa__grad_work *work = NULL;
  if (set)
    ck_assert_msg(tpa__lora_effective_weights(set, m, &w, &layers) == TPA_OK, "%s",
                  tpa_last_error());
  size_t at = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    const json_t *b = json_array_get(batches, i);
    int32_t B = (int32_t)json_integer_value(json_object_get(b, "batch"));
    int32_t S = (int32_t)json_integer_value(json_object_get(b, "seq"));
    size_t n = (size_t)B * (size_t)S;
    int32_t *ids = calloc(n, sizeof *ids), *types = calloc(n, sizeof *types),
            *mask = calloc(n, sizeof *mask);
    const json_t *want = json_object_get(b, "logits");
    float *labels = calloc((size_t)B, sizeof *labels),
          *plain = calloc(json_array_size(want), sizeof *plain);
    ck_assert(ids && types && mask && labels && plain);
    for (size_t k = 0; k < n; k++) {
      ids[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "ids"), k));
      types[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "type_ids"), k));
      mask[k] = (int32_t)json_integer_value(json_array_get(json_object_get(b, "mask"), k));
    }
    float *out = r.logits + at;
    ck_assert_int_eq(tpa_model_forward(m, ids, types, mask, B, S, plain), TPA_OK);
    if (set) {
      if (!work)
        ck_assert_msg(tpa__grad_work_create(&work, m, 8, 64) == TPA_OK, "%s", tpa_last_error());
      tpa__batch batch = {
          .batch = B, .seq = S, .ids = ids, .type_ids = types, .mask = mask, .labels = labels};
      ck_assert_msg(tpa__forward_lora(work, m, &w, set, &batch, out) == TPA_OK, "%s",
                    tpa_last_error());
    } else {
      memcpy(out, plain, json_array_size(want) * sizeof *out);
    }
    for (size_t k = 0; k < json_array_size(want); k++) {
      r.vs_ref = fmax(r.vs_ref, fabs((double)out[k] - json_number_value(json_array_get(want, k))));
      r.vs_plain = fmax(r.vs_plain, fabs((double)out[k] - (double)plain[k]));
      ck_assert(isfinite(out[k]));
    }
    at += json_array_size(want);
    free(ids);
    free(types);
    free(mask);
    free(labels);
    free(plain);
  }
  tpa__grad_work_free(work);
  free(layers);
  json_decref(ref);
  return r;
}

START_TEST(fresh_set_is_noop) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  tpa_lora_set *s = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&s, m, &p), TPA_OK);
  result r = run(m, s, "tiny-pruned/reference.json");
  ck_assert_msg(r.vs_ref <= TOL, "fresh set: %g from PyTorch's logits", r.vs_ref);
  ck_assert_msg(r.vs_plain <= 1e-5, "fresh set: %g from the plain forward", r.vs_plain);
  free(r.logits);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

START_TEST(python_adapter_logits) {
  tpa_model *m = load_fixture("tiny-pruned");
  char *dir = fixture("lora/peft-tiny-pruned");
  tpa_lora_set *s = NULL, *t = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, dir) == TPA_OK, "%s", tpa_last_error());
  result r = run(m, s, "lora/reference.json");
  ck_assert_msg(r.vs_ref <= TOL, "adapter: %g from PyTorch's logits", r.vs_ref);
  /* The adapter matters: far from the model's own logits. */
  ck_assert_msg(r.vs_plain > 0.1, "adapter changed the logits by only %g", r.vs_plain);
  /* Our own save of it reloads to identical logits. */
  char *d = temp_dir();
  ck_assert_int_eq(tpa_lora_set_save(s, d), TPA_OK);
  ck_assert_msg(tpa_lora_set_load(&t, m, d) == TPA_OK, "%s", tpa_last_error());
  result r2 = run(m, t, "lora/reference.json");
  ck_assert_uint_eq(r.n, r2.n);
  ck_assert_mem_eq(r.logits, r2.logits, r.n * sizeof *r.logits);
  remove_dir(d);
  free(d);
  free(r.logits);
  free(r2.logits);
  free(dir);
  tpa_lora_set_free(s);
  tpa_lora_set_free(t);
  tpa_model_free(m);
}
END_TEST

Suite *forward_suite(void) {
  Suite *s = suite_create("lora-forward");
  TCase *tc = tcase_create("fresh_set_is_noop");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fresh_set_is_noop);
  suite_add_tcase(s, tc);
  tc = tcase_create("python_adapter_logits");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, python_adapter_logits);
  suite_add_tcase(s, tc);
  return s;
}
