/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_save: a saved model reloads with tpa_model_load to the same
 * configuration, head layout, vocabulary and counts, and to IDENTICAL
 * logits on the PyTorch reference batches (which also stay within 1e-4 of
 * PyTorch's); the HF tensor list agrees with the exact parameter counts.
 * tests/lora/check_hf_layout.py checks the files against HF's layout. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/tensors.h"
#include "util.h"

static void check_roundtrip(const char *variant) {
  tpa_model *a = load_fixture(variant), *b = NULL;
  char *d = temp_dir();
  ck_assert_msg(tpa_model_save(a, d) == TPA_OK, "%s", tpa_last_error());
  /* Four files, no temporary leftovers. */
  ck_assert_int_eq(count_entries(d), 4);
  ck_assert_msg(tpa_model_load(&b, d, NULL) == TPA_OK, "reloading: %s", tpa_last_error());

  tpa_model_config ca = {.size = sizeof ca}, cb = {.size = sizeof cb};
  ck_assert_int_eq(tpa_model_get_config(a, &ca), TPA_OK);
  ck_assert_int_eq(tpa_model_get_config(b, &cb), TPA_OK);
  ck_assert_mem_eq(&ca, &cb, sizeof ca);
  tpa_param_counts pa = {.size = sizeof pa}, pb = {.size = sizeof pb};
  ck_assert_int_eq(tpa_model_param_counts(a, &pa), TPA_OK);
  ck_assert_int_eq(tpa_model_param_counts(b, &pb), TPA_OK);
  ck_assert_mem_eq(&pa, &pb, sizeof pa);
  for (int32_t l = 0; l < ca.num_layers; l++) {
    int32_t ha[64], hb[64];
    size_t na, nb;
    ck_assert_int_eq(tpa_model_layer_heads(a, l, ha, 64, &na), TPA_OK);
    ck_assert_int_eq(tpa_model_layer_heads(b, l, hb, 64, &nb), TPA_OK);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(ha, hb, na * sizeof *ha);
  }
  for (int32_t i = 0; i < ca.num_labels; i++)
    ck_assert_str_eq(tpa_model_label_name(a, i), tpa_model_label_name(b, i));
  const tpa_tokenizer *ta = tpa_model_tokenizer(a), *tb = tpa_model_tokenizer(b);
  ck_assert_uint_eq(tpa_tokenizer_vocab_size(ta), tpa_tokenizer_vocab_size(tb));
  for (size_t i = 0; i < tpa_tokenizer_vocab_size(ta); i++)
    ck_assert_str_eq(tpa_tokenizer_token(ta, (int32_t)i), tpa_tokenizer_token(tb, (int32_t)i));

  size_t n1, n2;
  double d1, d2;
  char rel[128];
  snprintf(rel, sizeof rel, "%s/reference.json", variant);
  float *l1 = reference_logits(a, rel, &n1, &d1), *l2 = reference_logits(b, rel, &n2, &d2);
  ck_assert_uint_eq(n1, n2);
  ck_assert_msg(memcmp(l1, l2, n1 * sizeof *l1) == 0, "%s: logits changed by save/load", variant);
  ck_assert_msg(d2 <= 1e-4, "%s: reloaded logits %g from PyTorch's", variant, d2);
  free(l1);
  free(l2);
  tpa_model_free(a);
  tpa_model_free(b);
  remove_dir(d);
  free(d);
}

START_TEST(roundtrip_tiny) {
  check_roundtrip("tiny");
}
END_TEST
START_TEST(roundtrip_pruned) {
  check_roundtrip("tiny-pruned");
}
END_TEST
/* F16 weights are written widened to F32 (exactly), so logits agree. */
START_TEST(roundtrip_f16) {
  check_roundtrip("tiny-f16");
}
END_TEST

/* The tensor list covers exactly the parameters tpa_model_param_counts
 * counts, in HF's order, with the pruned shapes. */
START_TEST(tensor_list) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa__named_tensor t[128];
  size_t n = tpa__model_tensors(&m->cfg, &m->w, t, 128);
  ck_assert_uint_eq(n, 5 + 3 * 16 + 4);
  ck_assert_uint_eq(tpa__model_tensors(&m->cfg, &m->w, NULL, 0), n);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += t[i].count;
    ck_assert_ptr_nonnull(*t[i].ptr);
  }
  tpa_param_counts c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_param_counts(m, &c), TPA_OK);
  ck_assert_uint_eq(sum, c.total);
  ck_assert_str_eq(t[0].name, "bert.embeddings.word_embeddings.weight");
  ck_assert_int_eq(t[0].dims[0], 528);
  ck_assert_str_eq(t[5].name, "bert.encoder.layer.0.attention.self.query.weight");
  ck_assert_int_eq(t[5].dims[0], 64);
  ck_assert_int_eq(t[5].dims[1], 96);
  ck_assert(t[5].decay);
  ck_assert(!t[6].decay);
  ck_assert_str_eq(t[5 + 2 * 16 + 6].name, "bert.encoder.layer.2.attention.output.dense.weight");
  ck_assert_int_eq(t[5 + 2 * 16 + 6].dims[1], 32);
  ck_assert_str_eq(t[5 + 16 + 9].name, "bert.encoder.layer.1.attention.output.LayerNorm.bias");
  ck_assert(!t[5 + 16 + 8].decay);
  ck_assert_str_eq(t[n - 4].name, "bert.pooler.dense.weight");
  ck_assert_str_eq(t[n - 2].name, "classifier.weight");
  ck_assert_int_eq(t[n - 1].ndims, 1);
  ck_assert_ptr_eq(t[n - 1].ptr, &m->w.cls_b);
  tpa_model_free(m);
}
END_TEST

START_TEST(save_errors) {
  tpa_model *m = load_fixture("tiny");
  ck_assert_int_eq(tpa_model_save(NULL, "/tmp/x"), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_save(m, ""), TPA_ERR_INVALID_ARGUMENT);
  /* A path through a regular file cannot be created. */
  char *d = temp_dir(), *f = join(d, "file"), *below = join(f, "model");
  write_all(f, "x", 1);
  ck_assert_int_eq(tpa_model_save(m, below), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), f));
  remove_dir(d);
  free(below);
  free(f);
  free(d);
  tpa_model_free(m);
}
END_TEST

Suite *save_suite(void) {
  Suite *s = suite_create("lora-model-save");
  struct {
    const char *name;
    const TTest *fn;
  } cases[] = {
      {"roundtrip_tiny", roundtrip_tiny}, {"roundtrip_pruned", roundtrip_pruned},
      {"roundtrip_f16", roundtrip_f16},   {"tensor_list", tensor_list},
      {"save_errors", save_errors},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cases[i].fn);
    suite_add_tcase(s, tc);
  }
  return s;
}
