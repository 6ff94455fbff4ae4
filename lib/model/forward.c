/* SPDX-License-Identifier: Apache-2.0 */
/* Forward pass of every family (docs/method.md section 4, HF's
 * *ForSequenceClassification math in eval mode): embeddings + LayerNorm
 * (+ ELECTRA's projection), post-LN blocks with erf GELU and an additive
 * mask of the most negative float on padding, then the head on token 0:
 * dense, activation (tanh, ReLU or GELU by family), output layer. Every matrix product goes through
 * lib/nn (oneDNN); only the embedding gather and the mask are plain C loops. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/forward.h"
#include "tpa/infer.h"

tpa_status tpa__infer_state_create(tpa_model *m, const struct tpa__infer_state *prev) {
  m->infer = NULL;
  struct tpa__infer_state *st = calloc(1, sizeof *st);
  if (!st)
    return TPA__NO_MEMORY("inference state");
  st->layer = tpa__calloc((size_t)m->cfg.layers, sizeof *st->layer);
  if (!st->layer) {
    free(st);
    return TPA__NO_MEMORY("inference state");
  }
  tpa_status s = tpa__nn_cache_create(&st->cache);
  if (s == TPA_OK)
    s = tpa__infer_pack(m, prev, st);
  if (s != TPA_OK) {
    tpa__infer_state_free(st);
    return s;
  }
  m->infer = st;
  return TPA_OK;
}

void tpa__infer_state_free(struct tpa__infer_state *st) {
  if (!st)
    return;
  tpa__nn_cache_free(st->cache);
  free(st->packed);
  free(st->layer);
  free(st);
}

/* Rows per attention chunk: as many as fit the score budget, spread
 * evenly (16 rows under a budget of 5 run as 4 x 4, not 5+5+5+1). */
static int32_t attn_chunk(int32_t heads, int32_t seq, int32_t batch) {
  size_t per_row = (size_t)heads * (size_t)seq * (size_t)seq;
  size_t fit = per_row ? TPA__ATTN_CHUNK_FLOATS / per_row : (size_t)batch;
  if (fit < 1)
    fit = 1;
  if (fit >= (size_t)batch)
    return batch;
  size_t chunks = ((size_t)batch + fit - 1) / fit;
  return (int32_t)(((size_t)batch + chunks - 1) / chunks);
}

static float *alloc_floats(size_t n, size_t m, tpa_status *s, const char *what) {
  size_t total, bytes;
  float *p = NULL;
  if (tpa__mul_size(n, m, &total) && tpa__mul_size(total, sizeof(float), &bytes))
    p = tpa__aligned_alloc(bytes);
  if (!p && *s == TPA_OK)
    *s = TPA__NO_MEMORY(what);
  return p;
}

/* Tokens of one pass through @p m. */
static size_t pass_tokens(const tpa_model *m) {
  return m->w.quant ? TPA__PASS_TOKENS_INT8 : TPA__PASS_TOKENS;
}

/* Rows of a batch that one pass through the model handles. */
static int32_t pass_rows(size_t pass, int32_t seq, int32_t batch) {
  int32_t rows = (int32_t)(pass / (size_t)seq);
  if (rows < 1)
    rows = 1;
  return rows < batch ? rows : batch;
}

tpa_status tpa__infer_work_init(tpa__infer_work *w, const tpa_model *m, size_t max_batch,
                                int32_t max_seq) {
  memset(w, 0, sizeof *w);
  const tpa__config *c = &m->cfg;
  const struct tpa__infer_state *st = m->infer;
  if (max_batch == 0 || max_batch > INT32_MAX || max_seq <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "batch %zu x seq %d is invalid", max_batch,
                      max_seq);
  w->max_batch = max_batch;
  w->max_seq = max_seq;
  /* Passes of at most pass_tokens() tokens (or one row, if longer): a
   * shorter sequence gets more rows per pass but never more tokens. */
  const size_t pass = pass_tokens(m);
  size_t tokens = (size_t)pass_rows(pass, max_seq, (int32_t)max_batch) * (size_t)max_seq;
  if (tokens < pass && max_batch * (size_t)max_seq > tokens)
    tokens = pass;
  w->max_tokens = tokens;
  size_t r_width = 3 * (size_t)st->max_hq;
  if ((size_t)c->inter > r_width)
    r_width = (size_t)c->inter;
  /* The most heads any layer keeps sizes the score buffer: a chunk holds
   * up to TPA__ATTN_CHUNK_FLOATS, or one row when a row is larger. */
  int32_t heads = st->max_hq / c->head_dim;
  if (heads < 1)
    heads = 1;
  w->scores_floats = (size_t)heads * (size_t)max_seq * (size_t)max_seq;
  if (w->scores_floats < TPA__ATTN_CHUNK_FLOATS)
    w->scores_floats = TPA__ATTN_CHUNK_FLOATS;
  tpa_status s = TPA_OK;
  w->x = alloc_floats(tokens, (size_t)c->hidden, &s, "hidden states");
  w->a = alloc_floats(tokens, (size_t)c->hidden, &s, "attention output");
  w->r = alloc_floats(tokens, r_width, &s, "Q/K/V and FFN activations");
  w->scores = alloc_floats(w->scores_floats, 1, &s, "attention scores");
  w->mask = alloc_floats(tokens, 1, &s, "attention mask");
  w->pos = tpa__malloc_array(tokens, sizeof *w->pos);
  if (!w->pos && s == TPA_OK)
    s = TPA__NO_MEMORY("position ids");
  if (m->w.proj_w)
    w->e = alloc_floats(tokens, (size_t)c->emb, &s, "embeddings");
  if (m->w.quant) {
    size_t widest = (size_t)c->hidden;
    if ((size_t)c->inter > widest)
      widest = (size_t)c->inter;
    if ((size_t)st->max_hq > widest)
      widest = (size_t)st->max_hq;
    w->xq = tpa__malloc_array(tokens, widest);
    w->xs = alloc_floats(tokens, 1, &s, "int8 row scales");
    if (!w->xq && s == TPA_OK)
      s = TPA__NO_MEMORY("int8 activations");
  }
  if (s == TPA_OK)
    s = tpa__nn_ctx_create(&w->nn, st->cache);
  if (s != TPA_OK)
    tpa__infer_work_free(w);
  return s;
}

void tpa__infer_work_free(tpa__infer_work *w) {
  tpa__nn_ctx_free(w->nn);
  free(w->x);
  free(w->a);
  free(w->r);
  free(w->scores);
  free(w->mask);
  free(w->pos);
  free(w->e);
  free(w->xq);
  free(w->xs);
  memset(w, 0, sizeof *w);
}

/* x = LN(word[id] + type[tt] + pos[p]), summed in HF's order (no type
 * term for DistilBERT), then ELECTRA's projection to the hidden width. */
static tpa_status embed(const tpa_model *m, tpa__infer_work *w, const int32_t *ids,
                        const int32_t *types, int32_t batch, int32_t seq) {
  const tpa__config *c = &m->cfg;
  const int64_t e = c->emb, tokens = (int64_t)batch * seq;
  const tpa__weights *wt = &m->w;
  float *x = wt->proj_w ? w->e : w->x;
  int32_t *pos = w->pos;
  tpa__positions(tpa__family_get(c->family)->pad_positions, c->pad_id, ids, batch, seq, pos);
  const tpa__quant *q = wt->quant;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tokens; t++) {
    const float *pe = wt->pos_emb + (int64_t)pos[t] * e;
    float *o = x + t * e;
    if (q) { /* the int8 word row, dequantized: code * its row's scale */
      const int8_t *wq = q->word_emb + (int64_t)ids[t] * e;
      const float ws = q->word_scale[ids[t]];
      const float *te = wt->type_emb ? wt->type_emb + (int64_t)types[t] * e : NULL;
      for (int64_t i = 0; i < e; i++)
        o[i] = te ? ((float)wq[i] * ws + te[i]) + pe[i] : (float)wq[i] * ws + pe[i];
      continue;
    }
    const float *we = wt->word_emb + (int64_t)ids[t] * e;
    if (wt->type_emb) {
      const float *te = wt->type_emb + (int64_t)types[t] * e;
      for (int64_t i = 0; i < e; i++)
        o[i] = (we[i] + te[i]) + pe[i];
    } else {
      for (int64_t i = 0; i < e; i++)
        o[i] = we[i] + pe[i];
    }
  }
  tpa__nn_tensor view = tpa__nn_dense2(tokens, e);
  tpa_status s = tpa__nn_layer_norm(w->nn, &view, (float)c->ln_eps, x, wt->emb_ln_g, wt->emb_ln_b,
                                    x, "embeddings LayerNorm");
  if (s != TPA_OK || !wt->proj_w)
    return s;
  tpa__nn_matmul_desc p;
  memset(&p, 0, sizeof p);
  p.src = tpa__nn_dense2(tokens, e);
  p.wei = tpa__nn_strided2(e, c->hidden, 1, e);
  p.bias = tpa__nn_dense2(1, c->hidden);
  p.dst = tpa__nn_dense2(tokens, c->hidden);
  return tpa__nn_matmul(w->nn, &p, x, wt->proj_w, wt->proj_b, NULL, w->x, "embeddings_project");
}

/* Calibration: raise slot @p slot of layer @p l to max|x| over n values. */
static void observe(tpa__infer_work *w, int32_t l, int slot, const float *x, int64_t n) {
  if (!w->observe)
    return;
  float amax = w->observe[l * TPA__OBSERVE_SLOTS + slot];
  for (int64_t i = 0; i < n; i++) {
    float a = fabsf(x[i]);
    amax = a > amax ? a : amax;
  }
  w->observe[l * TPA__OBSERVE_SLOTS + slot] = amax;
}

/* y = act(x W^T + b [+ add]) through int8 Linear @p q: x [rows, in] is
 * quantized into w->xq (per row, or with q's static input scale), unless
 * @p same names the Linear whose quantization of the same x is still
 * there (Q, K and V share their input). */
static tpa_status linear_int8(tpa__infer_work *w, const tpa__qlinear *q, const tpa__qlinear *same,
                              const float *x, int64_t rows, int64_t in, int64_t out,
                              const float *bias, const float *add, int32_t act, float *y,
                              const char *what) {
  const float in_scale = q->in_scale ? *q->in_scale : 0.0f;
  if (!same || (same->in_scale ? *same->in_scale : 0.0f) != in_scale)
    tpa__nn_quantize_rows(x, rows, in, in_scale, w->xq, w->xs);
  tpa__nn_qmatmul_desc d = {
      .m = rows, .k = in, .n = out, .bias = bias != NULL, .add = add != NULL, .act = act};
  return tpa__nn_qmatmul(w->nn, &d, w->xq, w->xs, q->w, q->scale, bias, add, y, what);
}

/* Self-attention of block @p l: X -> Q/K/V -> per-head softmax(QK^T/sqrt(d)
 * + mask) V, written as [tokens, hq] over the Q block (Q is dead by then). */
static tpa_status attention(const tpa_model *m, tpa__infer_work *w, int32_t l, int32_t batch,
                            int32_t seq) {
  const tpa__infer_layer *L = &m->infer->layer[l];
  const int64_t h = m->cfg.hidden, hq = L->hq, d = m->cfg.head_dim, nh = hq / d;
  const int64_t tokens = (int64_t)batch * seq;
  char what[64];
  tpa_status s;

  /* Q, K and V as three plain matmuls into three dense [T, hq] blocks (a
   * single batched matmul with a per-batch bias falls back to oneDNN's
   * reference kernel in 2.6, which is two orders of magnitude slower). */
  static const char *const part_name[3] = {"query", "key", "value"};
  tpa__nn_matmul_desc qkv;
  memset(&qkv, 0, sizeof qkv);
  qkv.src = tpa__nn_dense2(tokens, h);
  qkv.wei = tpa__nn_dense2(h, hq);
  qkv.wei_packed = 1;
  qkv.bias = tpa__nn_dense2(1, hq);
  qkv.dst = tpa__nn_dense2(tokens, hq);
  const tpa__layer *W = &m->w.layer[l];
  const float *wt[3] = {L->q_w, L->k_w, L->v_w}, *bias[3] = {W->q_b, W->k_b, W->v_b};
  observe(w, l, 0, w->x, tokens * h);
  const tpa__qlayer *Q = m->w.quant ? &m->w.quant->layer[l] : NULL;
  const tpa__qlinear *qw[3] = {Q ? &Q->q : NULL, Q ? &Q->k : NULL, Q ? &Q->v : NULL};
  for (int part = 0; part < 3; part++) {
    snprintf(what, sizeof what, "layer %d %s", l, part_name[part]);
    if (Q)
      /* Q, K and V read the same input: quantized once unless their
       * static scales differ. */
      s = linear_int8(w, qw[part], part == 0 ? NULL : qw[part - 1], w->x, tokens, h, hq, bias[part],
                      NULL, TPA__NN_ACT_NONE, w->r + part * tokens * hq, what);
    else
      s = tpa__nn_matmul(w->nn, &qkv, w->x, wt[part], bias[part], NULL, w->r + part * tokens * hq,
                         what);
    if (s != TPA_OK)
      return s;
  }
  float *q = w->r, *k = w->r + tokens * hq, *v = w->r + 2 * tokens * hq;

  const int32_t chunk = attn_chunk((int32_t)nh, seq, batch);
  for (int32_t b0 = 0; b0 < batch; b0 += chunk) {
    const int64_t c = b0 + chunk <= batch ? chunk : batch - b0;
    const int64_t off = (int64_t)b0 * seq * hq;
    /* Head h of row b of Q/K/V: rows b*S.., columns h*d.., pitch hq. */
    const int64_t head_strides[4] = {seq * hq, d, hq, 1};
    const int64_t kt_strides[4] = {seq * hq, d, 1, hq};
    tpa__nn_matmul_desc sc;
    memset(&sc, 0, sizeof sc);
    sc.src = tpa__nn_strided(4, (int64_t[]){c, nh, seq, d}, head_strides);
    sc.wei = tpa__nn_strided(4, (int64_t[]){c, nh, d, seq}, kt_strides);
    sc.dst = tpa__nn_dense(4, (int64_t[]){c, nh, seq, seq});
    sc.add = tpa__nn_dense(4, (int64_t[]){c, 1, 1, seq});
    sc.scale = 1.0f / sqrtf((float)d);
    snprintf(what, sizeof what, "layer %d attention scores", l);
    s = tpa__nn_matmul(w->nn, &sc, q + off, k + off, NULL, w->mask + (int64_t)b0 * seq, w->scores,
                       what);
    if (s != TPA_OK)
      return s;
    snprintf(what, sizeof what, "layer %d attention softmax", l);
    s = tpa__nn_softmax(w->nn, &sc.dst, 3, w->scores, w->scores, what);
    if (s != TPA_OK)
      return s;
    tpa__nn_matmul_desc cx;
    memset(&cx, 0, sizeof cx);
    cx.src = sc.dst;
    cx.wei = tpa__nn_strided(4, (int64_t[]){c, nh, seq, d}, head_strides);
    cx.dst = cx.wei;
    snprintf(what, sizeof what, "layer %d attention context", l);
    s = tpa__nn_matmul(w->nn, &cx, w->scores, v + off, NULL, NULL, q + off, what);
    if (s != TPA_OK)
      return s;
  }
  return TPA_OK;
}

/* One encoder block, X -> X. */
static tpa_status block(const tpa_model *m, tpa__infer_work *w, int32_t l, int32_t batch,
                        int32_t seq) {
  const tpa__layer *W = &m->w.layer[l];
  const tpa__infer_layer *L = &m->infer->layer[l];
  const tpa__qlayer *Q = m->w.quant ? &m->w.quant->layer[l] : NULL;
  const int64_t h = m->cfg.hidden, hq = L->hq, inter = W->inter;
  const int64_t tokens = (int64_t)batch * seq;
  const float eps = (float)m->cfg.ln_eps;
  const tpa__nn_tensor th = tpa__nn_dense2(tokens, h);
  char what[64];
  tpa_status s;

  if (hq > 0) {
    s = attention(m, w, l, batch, seq);
    if (s != TPA_OK)
      return s;
    /* A = LN(ctx Wo^T + bo + X) */
    tpa__nn_matmul_desc o;
    memset(&o, 0, sizeof o);
    o.src = tpa__nn_dense2(tokens, hq);
    o.wei = tpa__nn_dense2(hq, h);
    o.wei_packed = 1;
    o.bias = tpa__nn_dense2(1, h);
    o.dst = th;
    o.add = th;
    snprintf(what, sizeof what, "layer %d attention output", l);
    observe(w, l, 1, w->r, tokens * hq);
    if (Q)
      s = linear_int8(w, &Q->o, NULL, w->r, tokens, hq, h, W->o_b, w->x, TPA__NN_ACT_NONE, w->a,
                      what);
    else
      s = tpa__nn_matmul(w->nn, &o, w->r, L->o_w, W->o_b, w->x, w->a, what);
    if (s != TPA_OK)
      return s;
  } else {
    /* Every head pruned: the attention output is its bias alone. */
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tokens; t++)
      for (int64_t i = 0; i < h; i++)
        w->a[t * h + i] = W->o_b[i] + w->x[t * h + i];
  }
  snprintf(what, sizeof what, "layer %d attention LayerNorm", l);
  s = tpa__nn_layer_norm(w->nn, &th, eps, w->a, W->ln1_g, W->ln1_b, w->a, what);
  if (s != TPA_OK)
    return s;

  /* I = GELU(A W1^T + b1) */
  tpa__nn_matmul_desc f1;
  memset(&f1, 0, sizeof f1);
  f1.src = th;
  f1.wei = tpa__nn_dense2(h, inter);
  f1.wei_packed = 1;
  f1.bias = tpa__nn_dense2(1, inter);
  f1.dst = tpa__nn_dense2(tokens, inter);
  f1.act = TPA__NN_ACT_GELU_ERF;
  snprintf(what, sizeof what, "layer %d intermediate", l);
  observe(w, l, 2, w->a, tokens * h);
  if (Q)
    s = linear_int8(w, &Q->i, NULL, w->a, tokens, h, inter, W->i_b, NULL, TPA__NN_ACT_GELU_ERF,
                    w->r, what);
  else
    s = tpa__nn_matmul(w->nn, &f1, w->a, L->i_w, W->i_b, NULL, w->r, what);
  if (s != TPA_OK)
    return s;

  /* X = LN(I W2^T + b2 + A) */
  tpa__nn_matmul_desc f2;
  memset(&f2, 0, sizeof f2);
  f2.src = f1.dst;
  f2.wei = tpa__nn_dense2(inter, h);
  f2.wei_packed = 1;
  f2.bias = tpa__nn_dense2(1, h);
  f2.dst = th;
  f2.add = th;
  snprintf(what, sizeof what, "layer %d output", l);
  observe(w, l, 3, w->r, tokens * inter);
  if (Q)
    s = linear_int8(w, &Q->f, NULL, w->r, tokens, inter, h, W->f_b, w->a, TPA__NN_ACT_NONE, w->x,
                    what);
  else
    s = tpa__nn_matmul(w->nn, &f2, w->r, L->f_w, W->f_b, w->a, w->x, what);
  if (s != TPA_OK)
    return s;
  snprintf(what, sizeof what, "layer %d output LayerNorm", l);
  return tpa__nn_layer_norm(w->nn, &th, eps, w->x, W->ln2_g, W->ln2_b, w->x, what);
}

/* The oneDNN post-op of the head's activation. */
static tpa__nn_act head_act(const tpa__config *c) {
  switch (tpa__family_get(c->family)->head_act) {
  case TPA__HEAD_RELU: return TPA__NN_ACT_RELU;
  case TPA__HEAD_GELU: return TPA__NN_ACT_GELU_ERF;
  default: return TPA__NN_ACT_TANH;
  }
}

/* logits = out(act(dense(token 0 rows))): BERT's pooler + classifier or
 * the family's head; weights used in place as [in, out] views of HF's
 * [out, in] (they are small). */
static tpa_status head(const tpa_model *m, tpa__infer_work *w, int32_t batch, int32_t seq,
                       float *logits) {
  const int64_t h = m->cfg.hidden, nl = m->cfg.num_labels;
  tpa__nn_matmul_desc p;
  memset(&p, 0, sizeof p);
  p.src = tpa__nn_strided2(batch, h, (int64_t)seq * h, 1);
  p.wei = tpa__nn_strided2(h, h, 1, h);
  p.bias = tpa__nn_dense2(1, h);
  p.dst = tpa__nn_dense2(batch, h);
  p.act = head_act(&m->cfg);
  tpa_status s = tpa__nn_matmul(w->nn, &p, w->x, m->w.pool_w, m->w.pool_b, NULL, w->a, "pooler");
  if (s != TPA_OK)
    return s;
  tpa__nn_matmul_desc c;
  memset(&c, 0, sizeof c);
  c.src = p.dst;
  c.wei = tpa__nn_strided2(h, nl, 1, h);
  c.bias = tpa__nn_dense2(1, nl);
  c.dst = tpa__nn_dense2(batch, nl);
  return tpa__nn_matmul(w->nn, &c, w->a, m->w.cls_w, m->w.cls_b, NULL, logits, "classifier");
}

/* One pass: rows that fit the work area. */
static tpa_status forward_pass(const tpa_model *m, tpa__infer_work *w, const int32_t *ids,
                               const int32_t *type_ids, const int32_t *mask, int32_t batch,
                               int32_t seq, float *logits) {
  const int64_t tokens = (int64_t)batch * seq;
  /* HF: (1 - mask) * finfo(float32).min, added to the scaled scores. */
  for (int64_t t = 0; t < tokens; t++)
    w->mask[t] = mask[t] ? 0.0f : -FLT_MAX;
  tpa_status s = embed(m, w, ids, type_ids, batch, seq);
  for (int32_t l = 0; s == TPA_OK && l < m->cfg.layers; l++)
    s = block(m, w, l, batch, seq);
  if (s == TPA_OK)
    s = head(m, w, batch, seq, logits);
  return s;
}

tpa_status tpa__forward_batch(const tpa_model *m, tpa__infer_work *w, const int32_t *ids,
                              const int32_t *type_ids, const int32_t *mask, int32_t batch,
                              int32_t seq, float *logits) {
  if ((size_t)batch > w->max_batch || seq > w->max_seq)
    return tpa__error(TPA_ERR_INTERNAL, "forward: batch %d x %d exceeds the work area", batch, seq);
  /* Rows are independent, so a large batch runs as several passes over
   * the weights: that caps the activations' memory, and matmuls of a few
   * thousand rows already run at full speed. */
  int32_t rows = (int32_t)(w->max_tokens / (size_t)seq);
  if (rows < 1)
    rows = 1;
  const int64_t nl = m->cfg.num_labels;
  tpa_status s = TPA_OK;
  for (int32_t b0 = 0; s == TPA_OK && b0 < batch; b0 += rows) {
    const int32_t n = b0 + rows <= batch ? rows : batch - b0;
    const int64_t off = (int64_t)b0 * seq;
    s = forward_pass(m, w, ids + off, type_ids + off, mask + off, n, seq, logits + b0 * nl);
  }
  return s;
}

tpa_status tpa_model_forward(const tpa_model *model, const int32_t *ids, const int32_t *type_ids,
                             const int32_t *attention_mask, int32_t batch, int32_t seq,
                             float *logits) {
  tpa__error_clear();
  if (!model || !ids || !logits)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_forward: NULL %s",
                      !model ? "model"
                      : !ids ? "ids"
                             : "logits");
  if (!model->infer)
    return tpa__error(TPA_ERR_INTERNAL, "tpa_model_forward: model has no inference state");
  const tpa__config *c = &model->cfg;
  if (batch <= 0 || seq <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_forward: batch (%d) and seq (%d) must be positive", batch, seq);
  if (seq > c->max_seq && c->max_seq == c->max_pos)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_forward: seq %d exceeds max_position_embeddings %d", seq,
                      c->max_pos);
  if (seq > c->max_seq)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_forward: seq %d exceeds the %d positions that "
                      "max_position_embeddings %d leaves after pad_token_id %d",
                      seq, c->max_seq, c->max_pos, c->pad_id);
  size_t tokens;
  if (!tpa__mul_size((size_t)batch, (size_t)seq, &tokens))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_forward: batch x seq overflows");
  for (size_t t = 0; t < tokens; t++) {
    if (ids[t] < 0 || ids[t] >= c->vocab)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_forward: ids[%zu] = %d is outside the vocabulary (0..%d)", t,
                        ids[t], c->vocab - 1);
    /* DistilBERT has no token types: its type ids are not read. */
    if (type_ids && model->w.type_emb && (type_ids[t] < 0 || type_ids[t] >= c->type_vocab))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_forward: type_ids[%zu] = %d is outside 0..%d", t, type_ids[t],
                        c->type_vocab - 1);
  }
  /* The mask is 0 or 1, with at least one 1 per row: anything else has no
   * meaning in HF's (1 - mask) * min additive form, and a row of zeros
   * would attend only to padding. */
  for (size_t t = 0; attention_mask && t < tokens; t++)
    if (attention_mask[t] != 0 && attention_mask[t] != 1)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_forward: attention_mask[%zu] = %d is not 0 or 1", t,
                        attention_mask[t]);
  for (int32_t b = 0; attention_mask && b < batch; b++) {
    int32_t any = 0;
    for (int32_t j = 0; j < seq && !any; j++)
      any = attention_mask[(size_t)b * (size_t)seq + (size_t)j];
    if (!any)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_model_forward: attention_mask row %d has no token (all 0)", b);
  }
  /* Missing type ids are all 0 and a missing mask is all 1, as in HF. */
  int32_t *types = NULL, *mask = NULL;
  if (!type_ids || !attention_mask) {
    types = tpa__calloc(tokens, sizeof *types);
    mask = tpa__malloc_array(tokens, sizeof *mask);
    if (!types || !mask) {
      free(types);
      free(mask);
      return TPA__NO_MEMORY("forward inputs");
    }
    for (size_t t = 0; t < tokens; t++)
      mask[t] = 1;
  }
  tpa__infer_work w;
  tpa_status s = tpa__infer_work_init(&w, model, (size_t)batch, seq);
  if (s == TPA_OK)
    s = tpa__forward_batch(model, &w, ids, type_ids ? type_ids : types,
                           attention_mask ? attention_mask : mask, batch, seq, logits);
  tpa__infer_work_free(&w);
  free(types);
  free(mask);
  return s;
}
