/* SPDX-License-Identifier: Apache-2.0 */
/* Structural head pruning (docs/method.md section 6, HF prune_heads semantics):
 * a layer that loses heads gets new compact Q, K and V weights and biases
 * (the rows of the heads it keeps, in the same order) and a new attention
 * output weight (the columns of those heads; its bias is unchanged), so
 * the pruned model really does fewer FLOPs. Neuron pruning does the same
 * to the feed-forward: the rows of the intermediate dense (and its bias)
 * and the columns of the output dense of the neurons kept; intermediate_size
 * becomes the widest layer's (layers of equal widths make an ordinary HF
 * model; others are saved with libtpa's "intermediate_sizes"). Everything new is built first
 * in blocks of its own, then swapped in together with a freshly packed inference
 * state, so a failure at any point leaves the model exactly as it was.
 * The replaced tensors' mapped pages go back to the kernel, and blocks
 * that only they used are freed (tpa__model_replace_weights). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/config.h"
#include "model/model.h"
#include "model/prune.h"

/* What a layer keeps. */
typedef struct layer_plan {
  int32_t kept;   /* heads the layer keeps; -1 = heads unchanged */
  int32_t kept_n; /* neurons the layer keeps; -1 = neurons unchanged */
} layer_plan;

tpa_status tpa__prune_plan_alloc_neurons(tpa_prune_plan *plan, const int32_t *widths) {
  plan->ffn_off = tpa__calloc((size_t)plan->layers + 1, sizeof *plan->ffn_off);
  if (!plan->ffn_off)
    return TPA__NO_MEMORY("prune plan: neurons");
  for (int32_t l = 0; l < plan->layers; l++) {
    if (widths[l] < 1 || widths[l] > TPA__CFG_MAX_INTER)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "prune plan: layer %d has %d neurons", l,
                        widths[l]);
    plan->ffn_off[l + 1] = plan->ffn_off[l] + (size_t)widths[l];
  }
  plan->removes_neuron = tpa__calloc(plan->ffn_off[plan->layers], sizeof *plan->removes_neuron);
  return plan->removes_neuron ? TPA_OK : TPA__NO_MEMORY("prune plan: neurons");
}

/* Floats of the compact intermediate dense (weight and bias) and output
 * dense weight of a layer keeping @p kept neurons; false on overflow. */
static bool neuron_floats(const tpa__config *c, int32_t kept, size_t *out) {
  size_t w, all;
  if (!tpa__mul_size((size_t)kept, (size_t)c->hidden, &w) || !tpa__mul_size(w, 2, &all) ||
      !tpa__add_size(all, (size_t)kept, &all))
    return false;
  *out = all;
  return true;
}

/* The neurons of each layer the plan keeps (into lp[].kept_n, -1 when
 * none goes) and the widest layer left (*width, the new
 * intermediate_size), checked: the plan must be for each layer's neurons
 * as loaded and leave every layer a neuron. */
static tpa_status measure_neurons(const tpa_model *m, const tpa_prune_plan *plan, layer_plan *lp,
                                  int32_t *width) {
  const tpa__config *c = &m->cfg;
  *width = c->inter;
  if (!plan->removes_neuron)
    return TPA_OK;
  int32_t widest = 0;
  for (int32_t l = 0; l < c->layers; l++) {
    const tpa__layer *ly = &m->w.layer[l];
    const size_t planned = plan->ffn_off[l + 1] - plan->ffn_off[l];
    if (planned != (size_t)ly->inter_loaded)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_prune: the plan's layer %d has %zu neurons, model %s was loaded "
                        "with %d",
                        l, planned, m->dir ? m->dir : "(unnamed)", ly->inter_loaded);
    const bool *rm = plan->removes_neuron + plan->ffn_off[l];
    int32_t kept = 0;
    for (int32_t k = 0; k < ly->inter; k++)
      kept += !rm[ly->neuron_ids ? ly->neuron_ids[k] : k];
    if (kept == 0)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_prune: the plan removes every neuron of layer %d", l);
    widest = kept > widest ? kept : widest;
    lp[l].kept_n = kept == ly->inter ? -1 : kept;
  }
  *width = widest;
  return TPA_OK;
}

/* Floats of the compact Q, K, V (weights and biases) and O weight of a
 * layer with @p kept heads; false on overflow. */
static bool layer_floats(const tpa__config *c, int32_t kept, size_t *out) {
  size_t a, w;
  if (!tpa__mul_size((size_t)kept, (size_t)c->head_dim, &a) ||
      !tpa__mul_size(a, (size_t)c->hidden, &w))
    return false;
  /* 3 * (a*H + a) + H*a, with every step checked. */
  size_t qkv, all;
  if (!tpa__add_size(w, a, &qkv) || !tpa__mul_size(qkv, 3, &qkv) || !tpa__add_size(qkv, w, &all))
    return false;
  *out = all;
  return true;
}

/* Which layers change, each changed part's size checked against
 * overflow (each gets blocks of its own, new_blocks). */
static tpa_status measure(const tpa_model *m, const tpa_prune_plan *plan, layer_plan *lp,
                          int32_t *width) {
  const tpa__config *c = &m->cfg;
  size_t f;
  for (int32_t l = 0; l < c->layers; l++)
    lp[l].kept_n = -1;
  tpa_status st = measure_neurons(m, plan, lp, width);
  if (st != TPA_OK)
    return st;
  for (int32_t l = 0; l < c->layers; l++) {
    if (lp[l].kept_n >= 0 && !neuron_floats(c, lp[l].kept_n, &f))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_prune: pruned layer %d is too large",
                        l);
    const tpa__layer *ly = &m->w.layer[l];
    const bool *rm = plan->removes + (size_t)l * (size_t)plan->heads;
    int32_t kept = 0;
    for (int32_t k = 0; k < ly->n_heads; k++)
      kept += !rm[ly->head_ids[k]];
    lp[l].kept = kept == ly->n_heads ? -1 : kept; /* heads already absent are skipped */
    if (lp[l].kept >= 0 && !layer_floats(c, kept, &f))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_prune: pruned layer %d is too large",
                        l);
  }
  return TPA_OK;
}

/* Copy the kept heads of layer @p l into @p mats (Q, K, V and O weights)
 * and @p vecs (Q, K, V biases) and their ids into @p ids; point @p out at
 * them. @p out starts as a copy of the old layer. */
static void compact_layer(const tpa_model *m, const tpa_prune_plan *plan, int32_t l,
                          const tpa__layer *old, int32_t kept, float *mats, float *vecs,
                          int32_t *ids, tpa__layer *out) {
  const tpa__config *c = &m->cfg;
  const bool *rm = plan->removes + (size_t)l * (size_t)plan->heads;
  const size_t H = (size_t)c->hidden, d = (size_t)c->head_dim;
  const size_t a_old = (size_t)old->n_heads * d, a_new = (size_t)kept * d;
  float *qw = mats, *kw = qw + a_new * H, *vw = kw + a_new * H, *ow = vw + a_new * H;
  float *qb = vecs, *kb = qb + a_new, *vb = kb + a_new;
  int32_t n = 0;
  for (int32_t k = 0; k < old->n_heads; k++) {
    if (rm[old->head_ids[k]])
      continue;
    /* Rows k*d .. k*d+d-1 of Q/K/V ([a, H]) are head k's outputs. */
    const size_t src_row = (size_t)k * d, dst_row = (size_t)n * d;
    memcpy(qw + dst_row * H, old->q_w + src_row * H, d * H * sizeof(float));
    memcpy(kw + dst_row * H, old->k_w + src_row * H, d * H * sizeof(float));
    memcpy(vw + dst_row * H, old->v_w + src_row * H, d * H * sizeof(float));
    memcpy(qb + dst_row, old->q_b + src_row, d * sizeof(float));
    memcpy(kb + dst_row, old->k_b + src_row, d * sizeof(float));
    memcpy(vb + dst_row, old->v_b + src_row, d * sizeof(float));
    /* Columns k*d .. of O ([H, a]) read head k's context. */
    for (size_t r = 0; r < H; r++)
      memcpy(ow + r * a_new + dst_row, old->o_w + r * a_old + src_row, d * sizeof(float));
    ids[n++] = old->head_ids[k];
  }
  out->n_heads = kept;
  out->head_ids = ids;
  out->q_w = qw;
  out->k_w = kw;
  out->v_w = vw;
  out->q_b = qb;
  out->k_b = kb;
  out->v_b = vb;
  out->o_w = ow;
}

/* Copy the kept neurons of layer @p l into @p mats (the intermediate
 * dense's weight rows, then the output dense's weight columns) and @p
 * vecs (the intermediate bias) and their ids into @p ids; point @p out at
 * them. */
static void compact_neurons(const tpa_model *m, const tpa_prune_plan *plan, int32_t l,
                            const tpa__layer *old, int32_t kept, float *mats, float *vecs,
                            int32_t *ids, tpa__layer *out) {
  const tpa__config *c = &m->cfg;
  const bool *rm = plan->removes_neuron + plan->ffn_off[l];
  const size_t H = (size_t)c->hidden, I = (size_t)old->inter, K = (size_t)kept;
  float *iw = mats, *fw = iw + K * H, *ib = vecs;
  size_t n = 0;
  for (size_t k = 0; k < I; k++) {
    const int32_t id = old->neuron_ids ? old->neuron_ids[k] : (int32_t)k;
    if (rm[id])
      continue;
    memcpy(iw + n * H, old->i_w + k * H, H * sizeof(float));
    ib[n] = old->i_b[k];
    ids[n++] = id;
  }
  /* The output dense [H, I]: each row keeps the kept neurons' columns. */
  for (size_t r = 0; r < H; r++) {
    n = 0;
    for (size_t k = 0; k < I; k++)
      if (!rm[old->neuron_ids ? old->neuron_ids[k] : (int32_t)k])
        fw[r * K + n++] = old->f_w[r * I + k];
  }
  out->neuron_ids = ids;
  out->inter = kept;
  out->i_w = iw;
  out->i_b = ib;
  out->f_w = fw;
}

/* The old tensors of a pruned layer are no longer read; pages of them that
 * lie in the model file's read-only mapping were faulted in by the copy and
 * can go back to the kernel. */
static void release_old(const tpa_model *m, const tpa__layer *old, const layer_plan *lp) {
  const size_t a = (size_t)old->n_heads * (size_t)m->cfg.head_dim, H = (size_t)m->cfg.hidden;
  const float *const w[] = {old->q_w, old->k_w, old->v_w, old->o_w};
  for (size_t i = 0; lp->kept >= 0 && i < sizeof w / sizeof w[0]; i++)
    tpa__model_release_mapped(m, w[i], a * H * sizeof(float));
  if (lp->kept_n >= 0) {
    tpa__model_release_mapped(m, old->i_w, (size_t)old->inter * H * sizeof(float));
    tpa__model_release_mapped(m, old->f_w, (size_t)old->inter * H * sizeof(float));
  }
}

/* A pruned part's two blocks, owned by the model: @p mat floats, and
 * @p vec floats followed by @p ids int32 ids. */
static tpa_status new_blocks(tpa_model *m, size_t mat, size_t vec, size_t ids, float **mats,
                             float **vecs) {
  const size_t vec_bytes = vec * sizeof(float) + ids * sizeof(int32_t);
  *mats = tpa__malloc_array(mat ? mat : 1, sizeof(float));
  if (!*mats || !tpa__model_own(m, *mats, mat * sizeof(float))) {
    free(*mats);
    return TPA__NO_MEMORY("pruned weights");
  }
  *vecs = tpa__malloc_array(vec_bytes ? vec_bytes : 1, 1);
  if (!*vecs || !tpa__model_own(m, *vecs, vec_bytes)) {
    free(*vecs);
    return TPA__NO_MEMORY("pruned weights");
  }
  return TPA_OK;
}

TPA_API tpa_status tpa_model_prune(tpa_model *m, const tpa_prune_plan *plan) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(m, "tpa_model_prune");
    if (qs != TPA_OK)
      return qs;
  }
  if (!m || !plan)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_prune: NULL model or plan");
  const tpa__config *c = &m->cfg;
  if (plan->layers != c->layers || plan->heads != c->heads)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_prune: the plan is for %d layers x %d heads, model %s has %d x %d",
                      plan->layers, plan->heads, m->dir ? m->dir : "(unnamed)", c->layers,
                      c->heads);
  const size_t L = (size_t)c->layers;
  layer_plan *lp = tpa__calloc(L, sizeof *lp);
  tpa__layer *next = tpa__malloc_array(L, sizeof *next), *prev = tpa__malloc_array(L, sizeof *prev);
  int32_t width = c->inter;
  tpa_status st = lp && next && prev ? measure(m, plan, lp, &width) : TPA__NO_MEMORY("pruning");
  bool changes = false;
  for (size_t l = 0; st == TPA_OK && l < L; l++)
    changes = changes || lp[l].kept >= 0 || lp[l].kept_n >= 0;
  if (st == TPA_OK && !changes) { /* the model already lacks every head of the plan */
    free(lp);
    free(next);
    free(prev);
    return TPA_OK;
  }
  /* Build the new layer table beside the old one, reading the old
   * matrices in HF's layout (unpacked where they live only packed). Each
   * changed part of a layer gets two model-owned blocks: its matrices,
   * which the model drops once they are packed (model/plain.c), and its
   * biases and ids, which stay. */
  tpa__plain old = {0};
  bool *want = st == TPA_OK ? tpa__calloc(L * TPA__LAYER_MATRICES, sizeof *want) : NULL;
  if (st == TPA_OK && !want)
    st = TPA__NO_MEMORY("pruning");
  for (size_t l = 0; st == TPA_OK && l < L; l++)
    for (int k = 0; k < TPA__LAYER_MATRICES; k++) /* Q, K, V, O change with heads */
      want[l * TPA__LAYER_MATRICES + (size_t)k] = k < 4 ? lp[l].kept >= 0 : lp[l].kept_n >= 0;
  if (st == TPA_OK)
    st = tpa__model_plain_some(m, &old, want);
  free(want);
  if (st == TPA_OK) {
    memcpy(prev, m->w.layer, L * sizeof *prev);
    memcpy(next, m->w.layer, L * sizeof *next);
  }
  const size_t H = (size_t)c->hidden, d = (size_t)c->head_dim;
  for (size_t l = 0; st == TPA_OK && l < L; l++) {
    float *mats, *vecs;
    if (lp[l].kept >= 0) {
      const size_t a = (size_t)lp[l].kept * d; /* within layer_floats' checked total */
      st = new_blocks(m, 4 * a * H, 3 * a, (size_t)lp[l].kept, &mats, &vecs);
      if (st == TPA_OK)
        compact_layer(m, plan, (int32_t)l, &old.layers[l], lp[l].kept, mats, vecs,
                      (int32_t *)(vecs + 3 * a), &next[l]);
    }
    if (st == TPA_OK && lp[l].kept_n >= 0) {
      const size_t k = (size_t)lp[l].kept_n; /* within neuron_floats' checked total */
      st = new_blocks(m, 2 * k * H, k, k, &mats, &vecs);
      if (st == TPA_OK)
        compact_neurons(m, plan, (int32_t)l, &old.layers[l], lp[l].kept_n, mats, vecs,
                        (int32_t *)(vecs + k), &next[l]);
    }
  }
  tpa__plain_free(&old);
  /* Swap and pack the new weights (at the new width); on failure the
   * model keeps the old ones, and the new blocks, which nothing points
   * into, are freed. */
  const int32_t old_inter = m->cfg.inter;
  if (st == TPA_OK) {
    tpa__weights w = m->w;
    w.layer = next;
    m->cfg.inter = width;
    st = tpa__model_replace_weights(m, &w);
  }
  if (st != TPA_OK) {
    m->cfg.inter = old_inter;
    tpa__model_collect(m);
  } else {
    for (size_t l = 0; l < L; l++)
      release_old(m, &prev[l], &lp[l]);
  }
  free(lp);
  free(next);
  free(prev);
  return st;
}
