/* SPDX-License-Identifier: Apache-2.0 */
/* Backward of one micro-batch, from d loss / d logits (already divided by
 * the whole batch's size) down to the embeddings. Activation gradients
 * always flow; parameter gradients are produced only where the caller
 * gave a buffer (g->w for full fine-tuning, g->lora for LoRA training),
 * and accumulate over the micro-batches of a call. Frozen weights are
 * only read: dX = dY W uses HF's [out, in] layout in place. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/grad_internal.h"

/* Where one LayerNorm's parameter gradients go (either may be NULL). */
typedef struct ln_dst {
  float *g, *b;
} ln_dst;

static tpa__layer_grad *layer_grad(const tpa__grad_run *r, int32_t l) {
  return r->g && r->g->w && r->g->w->layer ? &r->g->w->layer[l] : NULL;
}

static const tpa__lora_mod *lora_mod(const tpa__grad_run *r, int32_t l, int module) {
  if (!r->lora)
    return NULL;
  const tpa__lora_mod *mod = tpa__lora_at(r->lora, l, module);
  return mod->rank > 0 ? mod : NULL;
}

static const tpa__lora_mod *lora_gmod(const tpa__grad_run *r, int32_t l, int module) {
  if (!r->g || !r->g->lora || !r->lora)
    return NULL;
  return tpa__lora_at(r->g->lora, l, module);
}

/* LayerNorm backward; parameter gradients added to up to two places. */
static tpa_status ln_backward(tpa__grad_run *r, int64_t tokens, int64_t h, const float *src,
                              const float *mean, const float *var, const float *gamma,
                              const float *beta, const float *dy, float *dx, ln_dst a, ln_dst b,
                              const char *what) {
  tpa__grad_work *wk = r->wk;
  const tpa__nn_tensor th = tpa__nn_dense2(tokens, h);
  float *gg = wk->gtmp, *gb = wk->gtmp + h;
  tpa_status s = tpa__nn_layer_norm_backward(wk->nn, &th, (float)r->m->cfg.ln_eps, src, mean, var,
                                             gamma, beta, dy, dx, gg, gb, what);
  if (s != TPA_OK)
    return s;
  for (int64_t i = 0; i < h; i++) {
    if (a.g)
      a.g[i] += gg[i];
    if (a.b)
      a.b[i] += gb[i];
    if (b.g)
      b.g[i] += gg[i];
    if (b.b)
      b.b[i] += gb[i];
  }
  return TPA_OK;
}

/* dst = mask-of-site(src) (the dropout's backward is the same scaling). */
static void drop_back(const tpa__grad_run *r, int32_t l, int32_t site, float p, uint64_t first,
                      size_t n, const float *src, float *dst) {
  if (r->train && p > 0.0f)
    tpa__dropout(r->o->dropout_seed, l, site, p, first, n, src, NULL, dst);
  else if (dst != src)
    memcpy(dst, src, n * sizeof *dst);
}

/* Head mask gradient of each row: sum over its tokens and the head's
 * columns of dC (gradient of the masked context) times the raw context,
 * scaled by the batch size because dC carries the batch mean's 1/B. */
static void head_mask_grad(tpa__grad_run *r, int32_t l, const float *dcm) {
  if (!r->g || !r->g->head_mask_per_example)
    return;
  tpa__grad_work *wk = r->wk;
  const tpa__layer *W = &r->w->layer[l];
  const int64_t d = r->m->cfg.head_dim, nh = W->n_heads, hq = nh * d, seq = r->seq;
  const int32_t heads = r->m->cfg.heads, layers = wk->layers;
  const float *ctx = wk->acts[l].ctx;
  float *out = r->g->head_mask_per_example;
  const double scale = (double)r->batch_rows;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < r->rows; b++) {
    for (int64_t hh = 0; hh < nh; hh++) {
      double acc = 0;
      for (int64_t t = 0; t < seq; t++) {
        const int64_t base = (b * seq + t) * hq + hh * d;
        for (int64_t j = 0; j < d; j++)
          acc += (double)dcm[base + j] * (double)ctx[base + j];
      }
      const int64_t orig = W->head_ids ? W->head_ids[hh] : hh;
      out[((r->b0 + b) * (int64_t)layers + l) * heads + orig] += (float)(acc * scale);
    }
  }
}

/* Neuron mask gradient of each row: sum over its tokens of dZ (gradient
 * of the output dense's input) times the activation's output Z, scaled by
 * the batch size as for heads. Z is recomputed from the stored
 * pre-activation u into wk->ffn_act. */
static tpa_status ffn_mask_grad(tpa__grad_run *r, int32_t l, const float *dz, const char *what) {
  if (!r->g || !r->g->ffn_mask_per_example)
    return TPA_OK;
  tpa__grad_work *wk = r->wk;
  /* This layer's neurons; rows of the output are config.inter apart. */
  const int64_t inter = r->w->layer[l].inter, stride = wk->inter, seq = r->seq;
  const int64_t tokens = (int64_t)r->rows * seq;
  const tpa__nn_tensor ti = tpa__nn_dense2(tokens, inter);
  tpa_status s =
      tpa__nn_eltwise(wk->nn, &ti, TPA__NN_ACT_GELU_ERF, wk->acts[l].u, wk->ffn_act, what);
  if (s != TPA_OK)
    return s;
  const float *z = wk->ffn_act;
  float *out = r->g->ffn_mask_per_example;
  const double scale = (double)r->batch_rows;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < r->rows; b++) {
    float *o = out + ((r->b0 + b) * (int64_t)wk->layers + l) * stride;
    for (int64_t j = 0; j < inter; j++) {
      double acc = 0;
      for (int64_t t = 0; t < seq; t++) {
        const int64_t i = (b * seq + t) * inter + j;
        acc += (double)dz[i] * (double)z[i];
      }
      o[j] += (float)(acc * scale);
    }
  }
  return TPA_OK;
}

/* From dC (wk->dcm) back to dQ, dK, dV (wk->dq/dk/dv). */
static tpa_status attention_backward(tpa__grad_run *r, int32_t l) {
  tpa__grad_work *wk = r->wk;
  tpa__grad_acts *A = &wk->acts[l];
  const tpa__layer *W = &r->w->layer[l];
  const int64_t d = r->m->cfg.head_dim, nh = W->n_heads, hq = nh * d;
  const int64_t seq = r->seq, rows = r->rows, tokens = rows * seq;
  const int64_t np = rows * nh * seq * seq;
  char what[64];
  tpa_status s;

  /* dCtx = m_h dC, in place (dC is dead once the mask gradient is taken). */
  head_mask_grad(r, l, wk->dcm);
  if (wk->masked[l]) {
    const float *hm = wk->head_mask + (size_t)l * (size_t)wk->heads;
    float *dc = wk->dcm;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tokens; t++)
      for (int64_t j = 0; j < hq; j++)
        dc[t * hq + j] *= hm[j / d];
  }
  const int64_t head_strides[4] = {seq * hq, d, hq, 1};
  const int64_t tr_strides[4] = {seq * hq, d, 1, hq}; /* [rows, nh, d, seq] */
  const int64_t pt_strides[4] = {nh * seq * seq, seq * seq, 1, seq};
  const tpa__nn_tensor heads = tpa__nn_strided(4, (int64_t[]){rows, nh, seq, d}, head_strides);
  const tpa__nn_tensor probs = tpa__nn_dense(4, (int64_t[]){rows, nh, seq, seq});
  const tpa__nn_tensor probs_t = tpa__nn_strided(4, (int64_t[]){rows, nh, seq, seq}, pt_strides);
  const tpa__nn_tensor trans = tpa__nn_strided(4, (int64_t[]){rows, nh, d, seq}, tr_strides);

  /* dP' = dCtx V^T */
  tpa__nn_matmul_desc mm;
  memset(&mm, 0, sizeof mm);
  mm.src = heads;
  mm.wei = trans;
  mm.dst = probs;
  snprintf(what, sizeof what, "layer %d dP", l);
  s = tpa__nn_matmul(wk->nn, &mm, wk->dcm, A->v, NULL, NULL, wk->dp, what);
  if (s != TPA_OK)
    return s;
  /* dV = P'^T dCtx, with P' the (dropped) probabilities the forward used. */
  const float *pu = tpa__g_probs_used(r, l, np);
  memset(&mm, 0, sizeof mm);
  mm.src = probs_t;
  mm.wei = heads;
  mm.dst = heads;
  snprintf(what, sizeof what, "layer %d dV", l);
  s = tpa__nn_matmul(wk->nn, &mm, pu, wk->dcm, NULL, NULL, wk->dv, what);
  if (s != TPA_OK)
    return s;
  /* Through dropout, then softmax (in place in dp). */
  drop_back(r, l, TPA__DROP_ATTN, r->o->attn_dropout, r->drop_row0 * (uint64_t)(np / rows),
            (size_t)np, wk->dp, wk->dp);
  snprintf(what, sizeof what, "layer %d softmax backward", l);
  s = tpa__nn_softmax_backward(wk->nn, &probs, 3, A->p, wk->dp, wk->dp, what);
  if (s != TPA_OK)
    return s;
  /* dQ = s dS K, dK = s dS^T Q */
  const float sc = 1.0f / sqrtf((float)d);
  memset(&mm, 0, sizeof mm);
  mm.src = probs;
  mm.wei = heads;
  mm.dst = heads;
  mm.scale = sc;
  snprintf(what, sizeof what, "layer %d dQ", l);
  s = tpa__nn_matmul(wk->nn, &mm, wk->dp, A->k, NULL, NULL, wk->dq, what);
  if (s != TPA_OK)
    return s;
  mm.src = probs_t;
  snprintf(what, sizeof what, "layer %d dK", l);
  return tpa__nn_matmul(wk->nn, &mm, wk->dp, A->q, NULL, NULL, wk->dk, what);
}

/* One block backward: wk->bx holds d loss / d (block output) on entry and
 * d loss / d (block input) on return. */
static tpa_status block_backward(tpa__grad_run *r, int32_t l) {
  tpa__grad_work *wk = r->wk;
  tpa__grad_acts *A = &wk->acts[l];
  const tpa__layer *W = &r->w->layer[l];
  tpa__layer_grad *G = layer_grad(r, l);
  tpa_lora_set *gl = r->g ? r->g->lora : NULL;
  const int64_t h = wk->hidden, inter = W->inter, hq = (int64_t)W->n_heads * r->m->cfg.head_dim;
  const int64_t tokens = (int64_t)r->rows * r->seq;
  const uint64_t first = r->drop_row0 * (uint64_t)r->seq * (uint64_t)h;
  const size_t nth = (size_t)(tokens * h);
  const float hp = r->o->hidden_dropout;
  char what[64];
  tpa_status s;

  /* Output LayerNorm: df = d(f_pre) into b1 (the residual's gradient). */
  snprintf(what, sizeof what, "layer %d output LayerNorm backward", l);
  s = ln_backward(
      r, tokens, h, A->f_pre, A->mean2, A->var2, W->ln2_g, W->ln2_b, wk->bx, wk->b1,
      (ln_dst){G ? G->ln2_g : NULL, G ? G->ln2_b : NULL},
      (ln_dst){gl ? gl->ln2_g + (size_t)l * h : NULL, gl ? gl->ln2_b + (size_t)l * h : NULL}, what);
  if (s != TPA_OK)
    return s;
  /* Output dense: dy2 = dropout'(df) in b2. */
  drop_back(r, l, TPA__DROP_FFN_OUT, hp, first, nth, wk->b1, wk->b2);
  snprintf(what, sizeof what, "layer %d output backward", l);
  const tpa__nn_tensor ti = tpa__nn_dense2(tokens, inter);
  const tpa__lora_mod *lf = lora_mod(r, l, TPA_LORA_FFN_OUTPUT);
  const bool dense_dw = G && (G->f_w || G->f_b);
  if (dense_dw || lf) {
    /* The dense's input, GELU(u), recomputed: dW and LoRA's dA need it. */
    s = tpa__nn_eltwise(wk->nn, &ti, TPA__NN_ACT_GELU_ERF, A->u, wk->big, what);
    if (s == TPA_OK && dense_dw)
      s = tpa__g_linear_dw(wk->nn, tokens, inter, h, wk->b2, wk->big, G->f_w, G->f_b, what);
    /* LoRA's dA, dB and dT now; its dX after big holds the dense's. */
    if (s == TPA_OK)
      s = tpa__g_lora_bwd(wk->nn, lf, lora_gmod(r, l, TPA_LORA_FFN_OUTPUT), tokens, wk->big, wk->b2,
                          NULL, tpa__g_lora_x(wk, l, TPA_LORA_FFN_OUTPUT), wk->ldt, what);
    if (s != TPA_OK)
      return s;
  }
  bool fwd;
  const float *packed = tpa__g_packed_bwd(wk, r->m, r->w, l, 5, &fwd);
  s = tpa__g_linear_dx(wk->nn, tokens, inter, h, wk->b2, W->f_w, packed, fwd, wk->big, false, what);
  if (s == TPA_OK)
    s = tpa__g_lora_dx(wk->nn, lf, tokens, wk->ldt, wk->big, what);
  if (s == TPA_OK)
    s = ffn_mask_grad(r, l, wk->big, what);
  if (s == TPA_OK)
    s = tpa__nn_eltwise_backward(wk->nn, &ti, TPA__NN_ACT_GELU_ERF, A->u, wk->big, wk->big, what);
  if (s != TPA_OK)
    return s;
  /* Intermediate dense: dA = du W1 + df into bx. */
  snprintf(what, sizeof what, "layer %d intermediate backward", l);
  if (G && (G->i_w || G->i_b)) {
    s = tpa__g_linear_dw(wk->nn, tokens, h, inter, wk->big, A->a, G->i_w, G->i_b, what);
    if (s != TPA_OK)
      return s;
  }
  memcpy(wk->bx, wk->b1, nth * sizeof *wk->bx);
  packed = tpa__g_packed_bwd(wk, r->m, r->w, l, 4, &fwd);
  s = tpa__g_linear_dx(wk->nn, tokens, h, inter, wk->big, W->i_w, packed, fwd, wk->bx, true, what);
  if (s == TPA_OK)
    s = tpa__g_lora_bwd(wk->nn, lora_mod(r, l, TPA_LORA_INTERMEDIATE),
                        lora_gmod(r, l, TPA_LORA_INTERMEDIATE), tokens, A->a, wk->big, wk->bx,
                        tpa__g_lora_x(wk, l, TPA_LORA_INTERMEDIATE), wk->ldt, what);
  if (s != TPA_OK)
    return s;
  /* Attention LayerNorm: d(a_pre) into b1 (the residual into the block input). */
  snprintf(what, sizeof what, "layer %d attention LayerNorm backward", l);
  s = ln_backward(
      r, tokens, h, A->a_pre, A->mean1, A->var1, W->ln1_g, W->ln1_b, wk->bx, wk->b1,
      (ln_dst){G ? G->ln1_g : NULL, G ? G->ln1_b : NULL},
      (ln_dst){gl ? gl->ln1_g + (size_t)l * h : NULL, gl ? gl->ln1_b + (size_t)l * h : NULL}, what);
  if (s != TPA_OK)
    return s;
  /* The block input's gradient starts as the residual's. */
  memcpy(wk->bx, wk->b1, nth * sizeof *wk->bx);
  drop_back(r, l, TPA__DROP_ATTN_OUT, hp, first, nth, wk->b1, wk->b2);
  if (hq == 0) {
    if (G && G->o_b)
      return tpa__g_linear_dw(wk->nn, tokens, 0, h, wk->b2, NULL, NULL, G->o_b, what);
    return TPA_OK;
  }
  /* Attention output dense (+ LoRA): dC = dyo Wo (+ s (dyo B) A) into dcm. */
  snprintf(what, sizeof what, "layer %d attention output backward", l);
  const float *cm = tpa__g_masked_ctx(r, l);
  if (G && (G->o_w || G->o_b)) {
    s = tpa__g_linear_dw(wk->nn, tokens, hq, h, wk->b2, cm, G->o_w, G->o_b, what);
    if (s != TPA_OK)
      return s;
  }
  packed = tpa__g_packed_bwd(wk, r->m, r->w, l, 3, &fwd);
  s = tpa__g_linear_dx(wk->nn, tokens, hq, h, wk->b2, W->o_w, packed, fwd, wk->dcm, false, what);
  if (s == TPA_OK)
    s = tpa__g_lora_bwd(wk->nn, lora_mod(r, l, TPA_LORA_OUTPUT), lora_gmod(r, l, TPA_LORA_OUTPUT),
                        tokens, cm, wk->b2, wk->dcm, tpa__g_lora_x(wk, l, TPA_LORA_OUTPUT), wk->ldt,
                        what);
  if (s == TPA_OK)
    s = attention_backward(r, l);
  if (s != TPA_OK)
    return s;
  /* Q, K, V: dX += dY W (+ LoRA), weight gradients if wanted. */
  static const char *const part_name[3] = {"query", "key", "value"};
  const float *wt[3] = {W->q_w, W->k_w, W->v_w};
  const float *dy[3] = {wk->dq, wk->dk, wk->dv};
  float *gw[3] = {G ? G->q_w : NULL, G ? G->k_w : NULL, G ? G->v_w : NULL};
  float *gb[3] = {G ? G->q_b : NULL, G ? G->k_b : NULL, G ? G->v_b : NULL};
  for (int part = 0; part < 3; part++) {
    snprintf(what, sizeof what, "layer %d %s backward", l, part_name[part]);
    if (gw[part] || gb[part]) {
      s = tpa__g_linear_dw(wk->nn, tokens, h, hq, dy[part], A->xin, gw[part], gb[part], what);
      if (s != TPA_OK)
        return s;
    }
    packed = tpa__g_packed_bwd(wk, r->m, r->w, l, part, &fwd);
    s = tpa__g_linear_dx(wk->nn, tokens, h, hq, dy[part], wt[part], packed, fwd, wk->bx, true,
                         what);
    if (s == TPA_OK)
      s = tpa__g_lora_bwd(wk->nn, lora_mod(r, l, part), lora_gmod(r, l, part), tokens, A->xin,
                          dy[part], wk->bx, tpa__g_lora_x(wk, l, part), wk->ldt, what);
    if (s != TPA_OK)
      return s;
  }
  return TPA_OK;
}

/* d act / d pre of the head's activation, times @p dy, in place. */
static void head_activation_back(tpa__head_act act, size_t n, const float *pre, const float *out,
                                 float *dy) {
  for (size_t i = 0; i < n; i++) {
    if (act == TPA__HEAD_RELU) {
      dy[i] = pre[i] > 0 ? dy[i] : 0.0f;
    } else if (act == TPA__HEAD_GELU) { /* Phi(x) + x phi(x) */
      const double x = pre[i];
      const double d =
          0.5 * (1.0 + erf(x * M_SQRT1_2)) + x * exp(-0.5 * x * x) * 0.3989422804014327;
      dy[i] = (float)(dy[i] * d);
    } else { /* tanh' = 1 - tanh^2, from the stored output */
      dy[i] *= 1.0f - out[i] * out[i];
    }
  }
}

/* The head (classifier and pooler, or the family's dense + output): from
 * dlogits to d(last hidden state) in bx. */
static tpa_status head_backward(tpa__grad_run *r) {
  tpa__grad_work *wk = r->wk;
  const tpa__weights *w = r->w;
  const tpa__family_desc *f = tpa__family_get(r->m->cfg.family);
  tpa__weight_grads *gw = r->g ? r->g->w : NULL;
  tpa_lora_set *gl = r->g ? r->g->lora : NULL;
  const int64_t h = wk->hidden, nl = r->m->cfg.num_labels, rows = r->rows, seq = r->seq;
  const float cp = r->o->cls_dropout;
  tpa_status s;
  /* Output layer: into the full-model grads and/or the LoRA set's copy. */
  float *cw[2] = {gw ? gw->cls_w : NULL, gl ? gl->cls_w : NULL};
  float *cb[2] = {gw ? gw->cls_b : NULL, gl ? gl->cls_b : NULL};
  for (int i = 0; i < 2; i++) {
    if (!cw[i] && !cb[i])
      continue;
    s = tpa__g_linear_dw(wk->nn, rows, h, nl, wk->dlogits, wk->pooled_d, cw[i], cb[i],
                         "classifier backward");
    if (s != TPA_OK)
      return s;
  }
  s = tpa__g_linear_dx(wk->nn, rows, h, nl, wk->dlogits, w->cls_w, NULL, false, wk->dpool, false,
                       "classifier backward");
  if (s != TPA_OK)
    return s;
  drop_back(r, -1, TPA__DROP_POOLED, cp, r->drop_row0 * (uint64_t)h, (size_t)(rows * h), wk->dpool,
            wk->dpool);
  head_activation_back(f->head_act, (size_t)(rows * h), wk->head_pre, wk->pooled, wk->dpool);
  /* The dense: dW += dpre^T head_in (full model and/or the set's copy). */
  float *pw[2] = {gw ? gw->pool_w : NULL, gl ? gl->pool_w : NULL};
  float *pb[2] = {gw ? gw->pool_b : NULL, gl ? gl->pool_b : NULL};
  for (int i = 0; i < 2; i++) {
    if (!pw[i] && !pb[i])
      continue;
    s = tpa__g_linear_dw(wk->nn, rows, h, h, wk->dpool, wk->head_in, pw[i], pb[i],
                         "pooler backward");
    if (s != TPA_OK)
      return s;
  }
  /* d(token 0) = dpre Wp, through the head's input dropout. */
  s = tpa__g_linear_dx(wk->nn, rows, h, h, wk->dpool, w->pool_w, NULL, false, wk->b1, false,
                       "pooler backward");
  if (s != TPA_OK)
    return s;
  if (f->head_pre_dropout)
    drop_back(r, -1, TPA__DROP_HEAD_IN, cp, r->drop_row0 * (uint64_t)h, (size_t)(rows * h), wk->b1,
              wk->b1);
  /* d(last state): zero except the token-0 rows. */
  memset(wk->bx, 0, (size_t)(rows * seq * h) * sizeof *wk->bx);
  for (int64_t b = 0; b < rows; b++)
    memcpy(wk->bx + b * seq * h, wk->b1 + b * h, (size_t)h * sizeof *wk->bx);
  return TPA_OK;
}

/* Embeddings: back through ELECTRA's projection, dropout and LayerNorm,
 * then scatter-add into the tables. */
static tpa_status embed_backward(tpa__grad_run *r) {
  tpa__grad_work *wk = r->wk;
  const tpa__weights *w = r->w;
  tpa__weight_grads *gw = r->g ? r->g->w : NULL;
  tpa_lora_set *gl = r->g ? r->g->lora : NULL;
  const int64_t e = wk->emb, seq = r->seq, tokens = (int64_t)r->rows * seq;
  if (!(gw && (gw->emb_ln_g || gw->emb_ln_b || gw->word_emb || gw->pos_emb || gw->type_emb ||
               gw->proj_w || gw->proj_b)) &&
      !(gl && (gl->emb_ln_g || gl->emb_ln_b)))
    return TPA_OK;
  const float *dx = wk->bx; /* d(layer 0 input) [T, H] */
  tpa_status s;
  if (w->proj_w) {
    if (gw && (gw->proj_w || gw->proj_b)) {
      s = tpa__g_linear_dw(wk->nn, tokens, e, wk->hidden, wk->bx, wk->e_out, gw->proj_w, gw->proj_b,
                           "embeddings_project backward");
      if (s != TPA_OK)
        return s;
    }
    s = tpa__g_linear_dx(wk->nn, tokens, e, wk->hidden, wk->bx, w->proj_w, NULL, false, wk->b1,
                         false, "embeddings_project backward");
    if (s != TPA_OK)
      return s;
    dx = wk->b1;
  }
  drop_back(r, -1, TPA__DROP_EMB, r->o->hidden_dropout, r->drop_row0 * (uint64_t)seq * e,
            (size_t)(tokens * e), dx, wk->b2);
  s = ln_backward(r, tokens, e, wk->e_pre, wk->e_mean, wk->e_var, w->emb_ln_g, w->emb_ln_b, wk->b2,
                  wk->b1, (ln_dst){gw ? gw->emb_ln_g : NULL, gw ? gw->emb_ln_b : NULL},
                  (ln_dst){gl ? gl->emb_ln_g : NULL, gl ? gl->emb_ln_b : NULL},
                  "embeddings LayerNorm backward");
  if (s != TPA_OK || !gw)
    return s;
  /* Sequential scatter-add: rows may share ids, and a fixed order keeps
   * the sums deterministic whatever the thread count. */
  const float *de = wk->b1;
  for (int64_t t = 0; t < tokens; t++) {
    const float *src = de + t * e;
    float *dst[3] = {gw->word_emb ? gw->word_emb + (int64_t)r->ids[t] * e : NULL,
                     gw->pos_emb ? gw->pos_emb + (int64_t)wk->pos[t] * e : NULL,
                     gw->type_emb && w->type_emb ? gw->type_emb + (int64_t)r->types[t] * e : NULL};
    for (int k = 0; k < 3; k++)
      if (dst[k])
        for (int64_t i = 0; i < e; i++)
          dst[k][i] += src[i];
  }
  return TPA_OK;
}

tpa_status tpa__grad_backward(tpa__grad_run *r) {
  tpa_status s = head_backward(r);
  for (int32_t l = r->wk->layers - 1; s == TPA_OK && l >= 0; l--)
    s = block_backward(r, l);
  if (s == TPA_OK)
    s = embed_backward(r);
  return s;
}
