/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_lora_set_merge: the merged model alone gives the logits of the
 * model with the adapter unmerged (tpa_model_predict with params.adapter)
 * within 1e-4, and PyTorch's logits for the PEFT fixture adapter
 * (tests/fixtures/lora/reference.json, float64 math on merged weights);
 * the model file it was mapped from is left byte for byte as it was; a
 * set made for another shape is refused and leaves the model as it was. */
#include <stdlib.h>
#include <string.h>

#include "merge_tests.h"
#include "model/model.h"
#include "stages/lora.h"

#define TOL 1e-4

/* A deterministic value in [-scale, scale] for index @p i of stream @p s. */
static float pattern(uint32_t s, size_t i, float scale) {
  uint32_t x = (uint32_t)i * 2654435761u ^ (s * 40503u + 0x9E3779B9u);
  x ^= x >> 15;
  x *= 2246822519u;
  x ^= x >> 13;
  return scale * ((float)(x % 2001u) / 1000.0f - 1.0f);
}

/* Give every module a non-zero B and move the LayerNorm and classifier
 * copies away from the model's, so that every part of the merge shows. */
static void randomise(tpa_lora_set *s) {
  for (size_t i = 0; i < (size_t)s->layers * TPA_LORA_ALL_MODULES; i++) {
    tpa__lora_mod *m = &s->mod[i];
    for (size_t k = 0; k < (size_t)m->out * (size_t)m->rank; k++)
      m->b[k] = pattern((uint32_t)i, k, 0.05f);
  }
  size_t H = (size_t)s->hidden, LH = (size_t)s->layers * H;
  for (size_t k = 0; k < H; k++) {
    s->emb_ln_g[k] += pattern(100, k, 0.1f);
    s->emb_ln_b[k] += pattern(101, k, 0.1f);
  }
  for (size_t k = 0; k < LH; k++) {
    s->ln1_g[k] += pattern(102, k, 0.1f);
    s->ln1_b[k] += pattern(103, k, 0.1f);
    s->ln2_g[k] += pattern(104, k, 0.1f);
    s->ln2_b[k] += pattern(105, k, 0.1f);
  }
  for (size_t k = 0; k < (size_t)s->num_labels * H; k++)
    s->cls_w[k] += pattern(106, k, 0.2f);
  for (size_t k = 0; k < (size_t)s->num_labels; k++)
    s->cls_b[k] += pattern(107, k, 0.2f);
}

/* Unmerged (predict with the adapter) against merged (the model alone)
 * on 64 SST-2 dev rows. */
static void check_equivalence(tpa_model *m, tpa_lora_set *s) {
  size_t n0, n1, n2;
  float *plain = dev_logits(m, NULL, 64, &n0);
  float *unmerged = dev_logits(m, s, 64, &n1);
  ck_assert_msg(tpa_lora_set_merge(s, m) == TPA_OK, "%s", tpa_last_error());
  float *merged = dev_logits(m, NULL, 64, &n2);
  ck_assert_uint_eq(n0, n1);
  ck_assert_uint_eq(n1, n2);
  double moved = max_diff(plain, unmerged, n1), d = max_diff(unmerged, merged, n1);
  /* The adapter must matter, or equality would prove nothing. */
  ck_assert_msg(moved > 0.05, "the adapter moved the logits by only %g", moved);
  ck_assert_msg(d <= TOL, "merged vs unmerged: %g (adapter moved them by %g)", d, moved);
  free(plain);
  free(unmerged);
  free(merged);
}

START_TEST(random_adapter_tiny) {
  tpa_model *m = load_fixture("tiny");
  /* Ranks 8, 4, 0 and 2 by module, alphas not 2 r: scales 2, 0.75, 4. */
  int32_t ranks[3 * TPA_LORA_MODULES] = {8, 4, 0, 2, 8, 4, 0, 2, 8, 4, 0, 2};
  float alphas[3 * TPA_LORA_MODULES] = {16, 3, 0, 8, 16, 3, 0, 8, 16, 3, 0, 8};
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = ranks;
  p.alphas = alphas;
  tpa_lora_set *s = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&s, m, &p), TPA_OK);
  randomise(s);
  check_equivalence(m, s);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

START_TEST(random_adapter_pruned) {
  tpa_model *m = load_fixture("tiny-pruned");
  /* The feed-forward's denses too (intermediate, output per block). */
  int32_t ffn[6] = {4, 2, 0, 3, 6, 0};
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ffn_ranks = ffn;
  tpa_lora_set *s = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&s, m, &p), TPA_OK);
  randomise(s);
  check_equivalence(m, s);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* The PEFT adapter written by gen_adapter.py (one module without LoRA,
 * some LayerNorms absent): merged logits against PyTorch's and against
 * the unmerged adapter. */
START_TEST(peft_adapter_pruned) {
  tpa_model *m = load_fixture("tiny-pruned");
  char *dir = fixture("lora/peft-tiny-pruned");
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, dir) == TPA_OK, "%s", tpa_last_error());
  size_t n0, n1;
  double before, after;
  float *plain = reference_logits(m, "lora/reference.json", &n0, &before);
  ck_assert_msg(before > 0.1, "the fixture adapter should move the logits (by %g)", before);
  check_equivalence(m, s);
  float *merged = reference_logits(m, "lora/reference.json", &n1, &after);
  ck_assert_msg(after <= TOL, "merged model: %g from PyTorch's logits", after);
  free(plain);
  free(merged);
  free(dir);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

static bool in_map(const tpa_model *m, const float *p) {
  const char *b = m->mem.map, *q = (const char *)p;
  return b && q >= b && q < b + m->mem.map_len;
}

/* tiny is F32, so its weights are used in place from the read-only
 * mapping: the merge must write new copies, never into the file. */
START_TEST(mmap_file_unchanged) {
  char *path = fixture("tiny/model.safetensors");
  size_t len0, len1;
  char *before = read_all(path, &len0);
  tpa_model *m = load_fixture("tiny");
  const float *q0 = m->w.layer[0].q_w, *i0 = m->w.layer[0].i_w, *g0 = m->w.layer[1].ln1_g;
  ck_assert_msg(in_map(m, q0) && in_map(m, g0), "the F32 fixture is expected to be mapped");
  float q00 = q0[0];
  tpa_lora_set *s = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&s, m, NULL), TPA_OK);
  randomise(s);
  ck_assert_msg(tpa_lora_set_merge(s, m) == TPA_OK, "%s", tpa_last_error());
  /* Changed tensors moved out of the mapping (a merged matrix lives only
   * packed: its plain copy is dropped once packed, model/plain.c), the
   * mapping kept its values, untouched tensors stayed where they were. */
  ck_assert_ptr_null(m->w.layer[0].q_w);
  ck_assert(!in_map(m, m->w.layer[1].ln1_g));
  ck_assert(!in_map(m, m->w.cls_w) && !in_map(m, m->w.emb_ln_g));
  ck_assert_ptr_eq(m->w.layer[0].i_w, i0);
  ck_assert(q0[0] == q00);
  tpa__plain p;
  ck_assert_int_eq(tpa__model_plain(m, &p), TPA_OK);
  ck_assert(p.w.layer[0].q_w[0] != q00);
  tpa__plain_free(&p);
  char *after = read_all(path, &len1);
  ck_assert_uint_eq(len0, len1);
  ck_assert_msg(memcmp(before, after, len0) == 0, "model.safetensors changed");
  free(before);
  free(after);
  free(path);
  tpa_lora_set_free(s);
  tpa_model_free(m);
}
END_TEST

/* A set for the unpruned shape into the pruned model and back: refused
 * with a message, the model's logits unchanged. */
START_TEST(other_shape_refused) {
  tpa_model *full = load_fixture("tiny"), *pruned = load_fixture("tiny-pruned");
  tpa_lora_set *sf = NULL, *sp = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&sf, full, NULL), TPA_OK);
  ck_assert_int_eq(tpa_lora_set_create(&sp, pruned, NULL), TPA_OK);
  randomise(sf);
  randomise(sp);
  size_t n0, n1;
  float *before = reference_logits(pruned, "tiny-pruned/reference.json", &n0, NULL);
  ck_assert_int_eq(tpa_lora_set_merge(sf, pruned), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_msg(strstr(tpa_last_error(), "heads") != NULL, "message: %s", tpa_last_error());
  ck_assert_int_eq(tpa_lora_set_merge(sp, full), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_lora_set_merge(NULL, full), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_lora_set_merge(sp, NULL), TPA_ERR_INVALID_ARGUMENT);
  float *after = reference_logits(pruned, "tiny-pruned/reference.json", &n1, NULL);
  ck_assert_uint_eq(n0, n1);
  ck_assert_mem_eq(before, after, n0 * sizeof *before);
  /* A model with another label count: refused too. */
  tpa_model *three = NULL;
  char *dir = fixture("tiny");
  tpa_model_load_params lp;
  tpa_model_load_params_init(&lp, sizeof lp);
  lp.num_labels = 3;
  ck_assert_msg(tpa_model_load(&three, dir, &lp) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_lora_set_merge(sf, three), TPA_ERR_INVALID_ARGUMENT);
  free(dir);
  tpa_model_free(three);
  free(before);
  free(after);
  tpa_lora_set_free(sf);
  tpa_lora_set_free(sp);
  tpa_model_free(full);
  tpa_model_free(pruned);
}
END_TEST

/* The merged compact export (tpa_model_save) reloads to identical logits. */
START_TEST(merged_compact_reload) {
  tpa_model *m = load_fixture("tiny-pruned"), *r = NULL;
  char *dir = fixture("lora/peft-tiny-pruned");
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_load(&s, m, dir) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa_lora_set_merge(s, m) == TPA_OK, "%s", tpa_last_error());
  char *d = temp_dir();
  ck_assert_msg(tpa_model_save(m, d) == TPA_OK, "%s", tpa_last_error());
  ck_assert_msg(tpa_model_load(&r, d, NULL) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < 3; l++)
    ck_assert_int_eq(tpa_model_layer_num_heads(r, l), tpa_model_layer_num_heads(m, l));
  size_t n0, n1;
  double vs_ref;
  float *a = reference_logits(m, "lora/reference.json", &n0, NULL);
  float *b = reference_logits(r, "lora/reference.json", &n1, &vs_ref);
  ck_assert_uint_eq(n0, n1);
  ck_assert_mem_eq(a, b, n0 * sizeof *a);
  ck_assert_msg(vs_ref <= TOL, "reloaded merged model: %g from PyTorch's logits", vs_ref);
  remove_dir(d);
  free(d);
  free(a);
  free(b);
  free(dir);
  tpa_lora_set_free(s);
  tpa_model_free(r);
  tpa_model_free(m);
}
END_TEST

Suite *merge_suite(void) {
  Suite *s = suite_create("merge");
  merge_add_test(s, "random_adapter_tiny", random_adapter_tiny);
  merge_add_test(s, "random_adapter_pruned", random_adapter_pruned);
  merge_add_test(s, "peft_adapter_pruned", peft_adapter_pruned);
  merge_add_test(s, "mmap_file_unchanged", mmap_file_unchanged);
  merge_add_test(s, "other_shape_refused", other_shape_refused);
  merge_add_test(s, "merged_compact_reload", merged_compact_reload);
  return s;
}
