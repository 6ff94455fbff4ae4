/* SPDX-License-Identifier: Apache-2.0 */
/* Training forward of one micro-batch (docs/method.md section 4 with LoRA and
 * HF's dropout placement): the same math as model/forward.c, but it keeps
 * what the backward needs (layer inputs, Q/K/V, probabilities, contexts,
 * LayerNorm inputs and statistics, FFN pre-activations, LoRA's X A^T)
 * and recomputes the rest (GELU outputs, dropped copies). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/grad_internal.h"

static bool drop_on(float p) {
  return p > 0.0f;
}

/* x = LN(word[id] + type[tt] + pos[p]) (no type term for DistilBERT),
 * embeddings dropout, then ELECTRA's projection to the hidden width. */
static tpa_status embed(tpa__grad_run *r) {
  tpa__grad_work *wk = r->wk;
  const tpa__weights *w = r->w;
  const tpa__config *c = &r->m->cfg;
  const int64_t e = wk->emb, seq = r->seq, tokens = (int64_t)r->rows * seq;
  float *pre = wk->e_pre, *x = w->proj_w ? wk->e_out : wk->acts[0].xin;
  const int32_t *ids = r->ids, *types = r->types;
  int32_t *pos = wk->pos;
  tpa__positions(tpa__family_get(c->family)->pad_positions, c->pad_id, ids, r->rows, r->seq, pos);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tokens; t++) {
    const float *we = w->word_emb + (int64_t)ids[t] * e;
    const float *pe = w->pos_emb + (int64_t)pos[t] * e;
    float *o = pre + t * e;
    if (w->type_emb) {
      const float *te = w->type_emb + (int64_t)types[t] * e;
      for (int64_t i = 0; i < e; i++)
        o[i] = (we[i] + te[i]) + pe[i];
    } else {
      for (int64_t i = 0; i < e; i++)
        o[i] = we[i] + pe[i];
    }
  }
  const tpa__nn_tensor view = tpa__nn_dense2(tokens, e);
  tpa_status s =
      tpa__nn_layer_norm_train(wk->nn, &view, (float)c->ln_eps, pre, w->emb_ln_g, w->emb_ln_b, x,
                               wk->e_mean, wk->e_var, "embeddings LayerNorm");
  if (s == TPA_OK && r->train && drop_on(r->o->hidden_dropout))
    tpa__dropout(r->o->dropout_seed, -1, TPA__DROP_EMB, r->o->hidden_dropout,
                 r->drop_row0 * (uint64_t)seq * (uint64_t)e, (size_t)(tokens * e), x, NULL, x);
  if (s == TPA_OK && w->proj_w)
    s = tpa__g_linear(wk->nn, tokens, e, wk->hidden, x, w->proj_w, NULL, w->proj_b, NULL,
                      wk->acts[0].xin, "embeddings_project");
  return s;
}

static const tpa__lora_mod *lora_mod(const tpa__grad_run *r, int32_t l, int module) {
  if (!r->lora)
    return NULL;
  const tpa__lora_mod *mod = tpa__lora_at(r->lora, l, module);
  return mod->rank > 0 ? mod : NULL;
}

const float *tpa__g_probs_used(tpa__grad_run *r, int32_t l, int64_t n) {
  tpa__grad_work *wk = r->wk;
  const float p = r->o->attn_dropout;
  if (!r->train || !drop_on(p))
    return wk->acts[l].p;
  const uint64_t per_row = n / (uint64_t)r->rows;
  tpa__dropout(r->o->dropout_seed, l, TPA__DROP_ATTN, p, r->drop_row0 * per_row, (size_t)n,
               wk->acts[l].p, NULL, wk->pd);
  return wk->pd;
}

const float *tpa__g_masked_ctx(tpa__grad_run *r, int32_t l) {
  tpa__grad_work *wk = r->wk;
  if (!wk->masked[l])
    return wk->acts[l].ctx;
  const int64_t hq = (int64_t)r->w->layer[l].n_heads * r->m->cfg.head_dim;
  const int64_t d = r->m->cfg.head_dim, tokens = (int64_t)r->rows * r->seq;
  const float *hm = wk->head_mask + (size_t)l * (size_t)wk->heads;
  const float *ctx = wk->acts[l].ctx;
  float *cm = wk->cm;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tokens; t++)
    for (int64_t j = 0; j < hq; j++)
      cm[t * hq + j] = hm[j / d] * ctx[t * hq + j];
  return cm;
}

static tpa_status attention(tpa__grad_run *r, int32_t l) {
  tpa__grad_work *wk = r->wk;
  tpa__grad_acts *A = &wk->acts[l];
  const tpa__layer *W = &r->w->layer[l];
  const int64_t h = wk->hidden, d = r->m->cfg.head_dim, nh = W->n_heads, hq = nh * d;
  const int64_t seq = r->seq, rows = r->rows, tokens = rows * seq;
  char what[64];
  tpa_status s;
  const float *wt[3] = {W->q_w, W->k_w, W->v_w}, *bias[3] = {W->q_b, W->k_b, W->v_b};
  float *dst[3] = {A->q, A->k, A->v};
  static const char *const part_name[3] = {"query", "key", "value"};
  for (int part = 0; part < 3; part++) {
    snprintf(what, sizeof what, "layer %d %s", l, part_name[part]);
    s = tpa__g_linear(wk->nn, tokens, h, hq, A->xin, wt[part], tpa__g_packed(r->m, r->w, l, part),
                      bias[part], NULL, dst[part], what);
    if (s == TPA_OK)
      s = tpa__g_lora_fwd(wk->nn, lora_mod(r, l, part), tokens, A->xin, dst[part],
                          tpa__g_lora_x(wk, l, part), what);
    if (s != TPA_OK)
      return s;
  }
  /* Scores get the additive pad mask (wk->mask, [rows, seq]). */
  const int64_t head_strides[4] = {seq * hq, d, hq, 1};
  const int64_t kt_strides[4] = {seq * hq, d, 1, hq};
  tpa__nn_matmul_desc sc;
  memset(&sc, 0, sizeof sc);
  sc.src = tpa__nn_strided(4, (int64_t[]){rows, nh, seq, d}, head_strides);
  sc.wei = tpa__nn_strided(4, (int64_t[]){rows, nh, d, seq}, kt_strides);
  sc.dst = tpa__nn_dense(4, (int64_t[]){rows, nh, seq, seq});
  sc.add = tpa__nn_dense(4, (int64_t[]){rows, 1, 1, seq});
  sc.scale = 1.0f / sqrtf((float)d);
  snprintf(what, sizeof what, "layer %d attention scores", l);
  s = tpa__nn_matmul(wk->nn, &sc, A->q, A->k, NULL, wk->mask, A->p, what);
  if (s != TPA_OK)
    return s;
  snprintf(what, sizeof what, "layer %d attention softmax", l);
  s = tpa__nn_softmax(wk->nn, &sc.dst, 3, A->p, A->p, what);
  if (s != TPA_OK)
    return s;
  const float *pu = tpa__g_probs_used(r, l, rows * nh * seq * seq);
  tpa__nn_matmul_desc cx;
  memset(&cx, 0, sizeof cx);
  cx.src = sc.dst;
  cx.wei = tpa__nn_strided(4, (int64_t[]){rows, nh, seq, d}, head_strides);
  cx.dst = cx.wei;
  snprintf(what, sizeof what, "layer %d attention context", l);
  return tpa__nn_matmul(wk->nn, &cx, pu, A->v, NULL, NULL, A->ctx, what);
}

/* out = dropout(y) + res, or y + res fused when dropout is off. */
static tpa_status block(tpa__grad_run *r, int32_t l) {
  tpa__grad_work *wk = r->wk;
  tpa__grad_acts *A = &wk->acts[l];
  const tpa__layer *W = &r->w->layer[l];
  const int64_t h = wk->hidden, inter = W->inter, hq = (int64_t)W->n_heads * r->m->cfg.head_dim;
  const int64_t tokens = (int64_t)r->rows * r->seq;
  const float eps = (float)r->m->cfg.ln_eps;
  const tpa__nn_tensor th = tpa__nn_dense2(tokens, h);
  const bool hdrop = r->train && drop_on(r->o->hidden_dropout);
  const uint64_t first = r->drop_row0 * (uint64_t)r->seq * (uint64_t)h;
  float *next = l + 1 < wk->layers ? wk->acts[l + 1].xin : wk->x_out;
  char what[64];
  tpa_status s;

  if (hq > 0) {
    s = attention(r, l);
    if (s != TPA_OK)
      return s;
    const float *cm = tpa__g_masked_ctx(r, l);
    snprintf(what, sizeof what, "layer %d attention output", l);
    s = tpa__g_linear(wk->nn, tokens, hq, h, cm, W->o_w, tpa__g_packed(r->m, r->w, l, 3), W->o_b,
                      hdrop ? NULL : A->xin, A->a_pre, what);
    if (s == TPA_OK)
      s = tpa__g_lora_fwd(wk->nn, lora_mod(r, l, TPA_LORA_OUTPUT), tokens, cm, A->a_pre,
                          tpa__g_lora_x(wk, l, TPA_LORA_OUTPUT), what);
    if (s != TPA_OK)
      return s;
    if (hdrop)
      tpa__dropout(r->o->dropout_seed, l, TPA__DROP_ATTN_OUT, r->o->hidden_dropout, first,
                   (size_t)(tokens * h), A->a_pre, A->xin, A->a_pre);
  } else {
    /* Every head pruned: the dense's output is its bias alone. */
    float *ap = A->a_pre;
    for (int64_t t = 0; t < tokens; t++)
      memcpy(ap + t * h, W->o_b, (size_t)h * sizeof *ap);
    if (hdrop)
      tpa__dropout(r->o->dropout_seed, l, TPA__DROP_ATTN_OUT, r->o->hidden_dropout, first,
                   (size_t)(tokens * h), ap, A->xin, ap);
    else
      for (int64_t i = 0; i < tokens * h; i++)
        ap[i] += A->xin[i];
  }
  snprintf(what, sizeof what, "layer %d attention LayerNorm", l);
  s = tpa__nn_layer_norm_train(wk->nn, &th, eps, A->a_pre, W->ln1_g, W->ln1_b, A->a, A->mean1,
                               A->var1, what);
  if (s != TPA_OK)
    return s;
  snprintf(what, sizeof what, "layer %d intermediate", l);
  s = tpa__g_linear(wk->nn, tokens, h, inter, A->a, W->i_w, tpa__g_packed(r->m, r->w, l, 4), W->i_b,
                    NULL, A->u, what);
  if (s == TPA_OK)
    s = tpa__g_lora_fwd(wk->nn, lora_mod(r, l, TPA_LORA_INTERMEDIATE), tokens, A->a, A->u,
                        tpa__g_lora_x(wk, l, TPA_LORA_INTERMEDIATE), what);
  if (s != TPA_OK)
    return s;
  const tpa__nn_tensor ti = tpa__nn_dense2(tokens, inter);
  s = tpa__nn_eltwise(wk->nn, &ti, TPA__NN_ACT_GELU_ERF, A->u, wk->big, what);
  if (s != TPA_OK)
    return s;
  snprintf(what, sizeof what, "layer %d output", l);
  s = tpa__g_linear(wk->nn, tokens, inter, h, wk->big, W->f_w, tpa__g_packed(r->m, r->w, l, 5),
                    W->f_b, hdrop ? NULL : A->a, A->f_pre, what);
  if (s == TPA_OK)
    s = tpa__g_lora_fwd(wk->nn, lora_mod(r, l, TPA_LORA_FFN_OUTPUT), tokens, wk->big, A->f_pre,
                        tpa__g_lora_x(wk, l, TPA_LORA_FFN_OUTPUT), what);
  if (s != TPA_OK)
    return s;
  if (hdrop)
    tpa__dropout(r->o->dropout_seed, l, TPA__DROP_FFN_OUT, r->o->hidden_dropout, first,
                 (size_t)(tokens * h), A->f_pre, A->a, A->f_pre);
  snprintf(what, sizeof what, "layer %d output LayerNorm", l);
  return tpa__nn_layer_norm_train(wk->nn, &th, eps, A->f_pre, W->ln2_g, W->ln2_b, next, A->mean2,
                                  A->var2, what);
}

/* The head's activation of @p n values, in place. */
static void head_activation(tpa__head_act act, size_t n, float *x) {
  for (size_t i = 0; i < n; i++) {
    const double v = x[i];
    x[i] = act == TPA__HEAD_RELU   ? (v > 0 ? x[i] : 0.0f)
           : act == TPA__HEAD_GELU ? (float)(0.5 * v * (1.0 + erf(v * M_SQRT1_2)))
                                   : tanhf(x[i]);
  }
}

/* logits = out(dropout(act(dense(dropout?(token 0))))): BERT's pooler +
 * classifier, or the family's head with its dropout placement. */
static tpa_status head(tpa__grad_run *r) {
  tpa__grad_work *wk = r->wk;
  const tpa__weights *w = r->w;
  const tpa__family_desc *f = tpa__family_get(r->m->cfg.family);
  const int64_t h = wk->hidden, nl = r->m->cfg.num_labels, rows = r->rows;
  const float cp = r->o->cls_dropout;
  for (int64_t b = 0; b < rows; b++)
    memcpy(wk->head_in + b * h, wk->x_out + b * r->seq * h, (size_t)h * sizeof(float));
  if (f->head_pre_dropout && r->train && drop_on(cp))
    tpa__dropout(r->o->dropout_seed, -1, TPA__DROP_HEAD_IN, cp, r->drop_row0 * (uint64_t)h,
                 (size_t)(rows * h), wk->head_in, NULL, wk->head_in);
  tpa_status s = tpa__g_linear(wk->nn, rows, h, h, wk->head_in, w->pool_w, NULL, w->pool_b, NULL,
                               wk->head_pre, "pooler");
  if (s != TPA_OK)
    return s;
  memcpy(wk->pooled, wk->head_pre, (size_t)(rows * h) * sizeof(float));
  head_activation(f->head_act, (size_t)(rows * h), wk->pooled);
  const float *pd = wk->pooled;
  if (r->train && drop_on(cp)) {
    tpa__dropout(r->o->dropout_seed, -1, TPA__DROP_POOLED, cp, r->drop_row0 * (uint64_t)h,
                 (size_t)(rows * h), wk->pooled, NULL, wk->pooled_d);
    pd = wk->pooled_d;
  } else {
    memcpy(wk->pooled_d, wk->pooled, (size_t)(rows * h) * sizeof *pd);
  }
  return tpa__g_linear(wk->nn, rows, h, nl, pd, w->cls_w, NULL, w->cls_b, NULL, wk->logits,
                       "classifier");
}

tpa_status tpa__grad_forward(tpa__grad_run *r) {
  tpa__grad_work *wk = r->wk;
  /* HF: (1 - mask) * finfo(float32).min, added to the scaled scores. */
  float *mask = wk->mask;
  const int64_t tokens = (int64_t)r->rows * r->seq;
  for (int64_t t = 0; t < tokens; t++)
    mask[t] = r->mask[t] ? 0.0f : -FLT_MAX;
  tpa_status s = embed(r);
  for (int32_t l = 0; s == TPA_OK && l < wk->layers; l++)
    s = block(r, l);
  if (s == TPA_OK)
    s = head(r);
  return s;
}
