/* SPDX-License-Identifier: Apache-2.0 */
/* One copy of the weights (model/plain.c, model/model.c): block matrices the
 * model owns live only packed once packed, replaced tensors are freed, and
 * the backward reads the forward's packing where its layout allows. The
 * resident-memory figures themselves are benchmarks (bench_infer --dtype
 * all, bench_soak --prune-merge); these tests check the bookkeeping behind
 * them, and that nothing read back from the packed copies changed. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/forward.h"
#include "model/grad.h"
#include "model/grad_internal.h"
#include "model/model.h"
#include "model/prune.h"
#include "model/tensors.h"
#include "stages/lora.h"
#include "test_util.h"
#include "tpa/tpa.h"

enum { BATCH = 2, SEQ = 8 };

/* Bytes of the blocks the model owns. */
static size_t owned_bytes(const tpa_model *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->mem.n_blocks; i++)
    n += m->mem.blocks[i].bytes;
  return n;
}

/* Logits of a fixed small batch. */
static void logits_of(const tpa_model *m, float *out) {
  int32_t ids[BATCH * SEQ], types[BATCH * SEQ] = {0};
  for (int i = 0; i < BATCH * SEQ; i++)
    ids[i] = i % SEQ == 0 ? 2 : 5 + (i * 7) % 50;
  ck_assert_msg(tpa_model_forward(m, ids, types, NULL, BATCH, SEQ, out) == TPA_OK, "%s",
                tpa_last_error());
}

/* Every f32 tensor of @p a and @p b (through tpa__model_plain), bit for bit. */
static void assert_same_tensors(const tpa_model *a, const tpa_model *b) {
  tpa__plain pa, pb;
  ck_assert_int_eq(tpa__model_plain(a, &pa), TPA_OK);
  ck_assert_int_eq(tpa__model_plain(b, &pb), TPA_OK);
  size_t n = tpa__model_tensors(&a->cfg, &pa.w, NULL, 0);
  ck_assert_uint_eq(tpa__model_tensors(&b->cfg, &pb.w, NULL, 0), n);
  tpa__named_tensor *ta = calloc(n, sizeof *ta), *tb = calloc(n, sizeof *tb);
  ck_assert(ta && tb);
  tpa__model_tensors(&a->cfg, &pa.w, ta, n);
  tpa__model_tensors(&b->cfg, &pb.w, tb, n);
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(ta[i].name, tb[i].name);
    ck_assert_uint_eq(ta[i].count, tb[i].count);
    ck_assert_msg(memcmp(*ta[i].ptr, *tb[i].ptr, ta[i].count * sizeof(float)) == 0, "%s differs",
                  ta[i].name);
  }
  free(ta);
  free(tb);
  tpa__plain_free(&pa);
  tpa__plain_free(&pb);
}

/* An F16 checkpoint's converted block matrices go once packed: the model
 * points at none of them and owns less than one f32 copy of them; reading
 * them back (tpa__model_plain), saving and reloading give the same values. */
START_TEST(converted_matrices_live_packed) {
  tpa_model *m = load_fixture("tiny-f16");
  size_t matrices = 0;
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    const tpa__layer *y = &m->w.layer[l];
    const float *w[6] = {y->q_w, y->k_w, y->v_w, y->o_w, y->i_w, y->f_w};
    for (int k = 0; k < 6; k++) {
      ck_assert_msg(w[k] == NULL, "layer %d matrix %d kept its converted copy", l, k);
      ck_assert_ptr_nonnull(tpa__infer_packed(m->infer, l, k));
    }
    matrices += 4 * (size_t)y->n_heads * (size_t)m->cfg.head_dim * (size_t)m->cfg.hidden +
                2 * (size_t)y->inter * (size_t)m->cfg.hidden;
  }
  tpa_param_counts pc = {.size = sizeof pc};
  ck_assert_int_eq(tpa_model_param_counts(m, &pc), TPA_OK);
  /* Everything else (embeddings, biases, LayerNorms, head) is all it owns. */
  ck_assert_uint_le(owned_bytes(m), (size_t)(pc.total - matrices) * sizeof(float) + 4096);

  char *dir = temp_dir(), *out = join(dir, "saved");
  ck_assert_msg(tpa_model_save(m, out) == TPA_OK, "%s", tpa_last_error());
  tpa_model *back = NULL;
  ck_assert_msg(tpa_model_load(&back, out, NULL) == TPA_OK, "%s", tpa_last_error());
  assert_same_tensors(m, back);
  float a[BATCH * 2], b[BATCH * 2];
  logits_of(m, a);
  logits_of(back, b);
  ck_assert(memcmp(a, b, sizeof a) == 0);
  tpa_model_free(back);
  tpa_model_free(m);
  remove_tree(dir);
  free(out);
  free(dir);
}
END_TEST

/* A plan removing neuron @p id (its index as loaded) of every layer. */
static tpa_prune_plan *neuron_plan(const tpa_model *m, int32_t id) {
  tpa_prune_plan *p = calloc(1, sizeof *p);
  ck_assert_ptr_nonnull(p);
  p->layers = m->cfg.layers;
  p->heads = m->cfg.heads;
  p->removes = calloc((size_t)p->layers * (size_t)p->heads, sizeof *p->removes);
  int32_t widths[16];
  ck_assert(p->removes && p->layers <= 16);
  for (int32_t l = 0; l < p->layers; l++)
    widths[l] = m->w.layer[l].inter_loaded;
  ck_assert_int_eq(tpa__prune_plan_alloc_neurons(p, widths), TPA_OK);
  for (int32_t l = 0; l < p->layers; l++)
    p->removes_neuron[p->ffn_off[l] + (size_t)id] = true;
  p->n_pruned_neurons = p->layers;
  return p;
}

/* Prune and merge over and over: what each cycle replaces is freed, so
 * the model owns no more after cycle 6 than after cycle 2 (the layers
 * narrow, so less), and the same number of blocks. Before, every cycle
 * added its blocks for good. */
START_TEST(prune_merge_cycles_free_what_they_replace) {
  tpa_model *m = load_fixture("tiny");
  size_t bytes_2 = 0, blocks_2 = 0;
  uint64_t seed = 7;
  for (int cycle = 1; cycle <= 6; cycle++) {
    tpa_prune_plan *plan = neuron_plan(m, cycle);
    ck_assert_msg(tpa_model_prune(m, plan) == TPA_OK, "%s", tpa_last_error());
    tpa_prune_plan_free(plan);
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.rank = 4;
    tpa_lora_set *set = NULL;
    ck_assert_int_eq(tpa_lora_set_create(&set, m, &lp), TPA_OK);
    for (size_t i = 0; i < (size_t)set->layers * TPA__LORA_ALL; i++)
      for (size_t k = 0; set->mod[i].rank > 0 && k < (size_t)set->mod[i].out * set->mod[i].rank;
           k++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        set->mod[i].b[k] = (float)((double)(seed >> 40) / 16777216.0 - 0.5) * 0.02f;
      }
    ck_assert_msg(tpa_lora_set_merge(set, m) == TPA_OK, "%s", tpa_last_error());
    tpa_lora_set_free(set);
    float logits[BATCH * 2];
    logits_of(m, logits);
    for (int i = 0; i < BATCH * 2; i++)
      ck_assert(isfinite(logits[i]));
    if (cycle == 2) {
      bytes_2 = owned_bytes(m);
      blocks_2 = m->mem.n_blocks;
    } else if (cycle > 2) {
      ck_assert_msg(owned_bytes(m) <= bytes_2, "cycle %d: %zu bytes owned, %zu after cycle 2",
                    cycle, owned_bytes(m), bytes_2);
      ck_assert_uint_eq(m->mem.n_blocks, blocks_2);
    }
    ck_assert_int_eq(tpa_model_layer_ffn_width(m, 0), 200 - cycle);
  }
  tpa_model_free(m);
}
END_TEST

/* The merged, pruned model's tensors read back from the packed copies are
 * the ones a fresh load of its saved directory has: the unpacking is exact
 * whatever replaced what. */
START_TEST(unpacked_after_replacing_matches_saved) {
  tpa_model *m = load_fixture("tiny");
  tpa_prune_plan *plan = neuron_plan(m, 3);
  ck_assert_int_eq(tpa_model_prune(m, plan), TPA_OK);
  tpa_prune_plan_free(plan);
  tpa_lora_set *set = NULL;
  ck_assert_int_eq(tpa_lora_set_create(&set, m, NULL), TPA_OK);
  for (size_t i = 0; i < (size_t)set->layers * TPA__LORA_ALL; i++)
    for (size_t k = 0; set->mod[i].rank > 0 && k < (size_t)set->mod[i].out * set->mod[i].rank; k++)
      set->mod[i].b[k] = 0.01f * (float)((k % 7) - 3);
  ck_assert_int_eq(tpa_lora_set_merge(set, m), TPA_OK);
  tpa_lora_set_free(set);
  char *dir = temp_dir(), *out = join(dir, "merged");
  ck_assert_msg(tpa_model_save(m, out) == TPA_OK, "%s", tpa_last_error());
  tpa_model *back = NULL;
  ck_assert_msg(tpa_model_load(&back, out, NULL) == TPA_OK, "%s", tpa_last_error());
  assert_same_tensors(m, back);
  tpa_model_free(back);
  tpa_model_free(m);
  remove_tree(dir);
  free(out);
  free(dir);
}
END_TEST

/* Importance and LoRA training read the model's frozen matrices: where
 * oneDNN's packed layout is plain row-major, the backward uses the
 * forward's packed copy and packs no second one. */
START_TEST(backward_shares_the_forward_packing) {
  tpa_model *m = load_fixture("tiny");
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, m, BATCH, SEQ), TPA_OK);
  int32_t ids[BATCH * SEQ], types[BATCH * SEQ] = {0}, mask[BATCH * SEQ];
  float labels[BATCH] = {0, 1};
  for (int i = 0; i < BATCH * SEQ; i++) {
    ids[i] = i % SEQ == 0 ? 2 : 5 + (i * 3) % 40;
    mask[i] = 1;
  }
  const tpa__batch b = {BATCH, SEQ, ids, types, mask, labels};
  const tpa__grad_opts o = {0};
  float *hm = calloc((size_t)BATCH * (size_t)m->cfg.layers * (size_t)m->cfg.heads, sizeof *hm);
  tpa__grad_out g = {.head_mask_per_example = hm};
  double loss;
  ck_assert_msg(tpa__loss_and_grads(wk, m, &m->w, NULL, &b, &o, &loss, NULL, &g) == TPA_OK, "%s",
                tpa_last_error());
  ck_assert(isfinite(loss));
  size_t shared = 0, copies = 0;
  for (int32_t l = 0; l < m->cfg.layers; l++)
    for (int k = 0; k < 6; k++) {
      const size_t i = (size_t)l * 6 + (size_t)k;
      int64_t out, in;
      tpa__layer_matrix(&m->w.layer[l], &m->cfg, k, &out, &in);
      bool plain = false;
      ck_assert_int_eq(tpa__nn_packed_is_plain(wk->nn, in, out, &plain), TPA_OK);
      ck_assert_int_eq(wk->bwd_fwd[i], plain);
      ck_assert(plain ? wk->bwd[i] == NULL : wk->bwd[i] != NULL);
      shared += plain;
      copies += !plain;
    }
  ck_assert(copies > 0 || wk->bwd_block == NULL);
  ck_assert_uint_eq(shared + copies, 6 * (size_t)m->cfg.layers);
  free(hm);
  tpa__grad_work_free(wk);
  tpa_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("memory");
  TCase *tc = tcase_create("one_copy");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, converted_matrices_live_packed);
  tcase_add_test(tc, prune_merge_cycles_free_what_they_replace);
  tcase_add_test(tc, unpacked_after_replacing_matches_saved);
  tcase_add_test(tc, backward_shares_the_forward_packing);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
