/* SPDX-License-Identifier: Apache-2.0 */
/* The gradient engine's entry points (model/grad.h): working memory,
 * input checks, the loss, and the loop over micro-batches.
 *
 * How memory stays bounded. A call runs its batch as micro-batches of at
 * most TPA__GRAD_TOKENS tokens (or one row when a row is longer); each
 * micro-batch runs its forward, its loss and its backward before the next
 * starts, and parameter gradients accumulate across them (the same result
 * up to float summation order). Only one micro-batch's activations exist
 * at a time: per layer its input, Q/K/V, attention probabilities, raw
 * context, the two LayerNorm inputs with their statistics, the attention
 * LayerNorm output, the FFN pre-activation and each LoRA module's X A^T
 * (about 10.5 floats per token and hidden unit of BERT-base, 42 MiB per
 * layer at 1024 tokens). GELU outputs and dropped copies are recomputed,
 * dropout
 * masks are regenerated from a counter-based hash, and frozen weights get
 * no gradient buffers: a LoRA step reads the model's packed weights for
 * the forward and a second packed copy, in the other orientation, for
 * dX = dY W (model/grad_pack.c says why). */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/grad_internal.h"

static float *take(float **cursor, size_t n) {
  float *p = *cursor;
  /* Keep every array 64-byte aligned for the kernels. */
  *cursor += (n + 15) & ~(size_t)15;
  return p;
}

/* Floats of the stored activations for @p layers layers. */
static bool acts_floats(const tpa__grad_work *wk, size_t *out) {
  const size_t T = wk->tokens, H = (size_t)wk->hidden, Q = (size_t)wk->max_hq;
  const size_t I = (size_t)wk->inter;
  size_t per = 0, n;
  const size_t parts[] = {T * H, 3 * T * Q, wk->p_floats, T * Q, T * H,
                          2 * T, T * H,     T * I,        T * H, 2 * T};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    per += (parts[i] + 15) & ~(size_t)15;
  if (!tpa__mul_size(per, (size_t)wk->layers, &n))
    return false;
  *out = n;
  return true;
}

void tpa__grad_work_free(tpa__grad_work *wk) {
  if (!wk)
    return;
  tpa__nn_ctx_free(wk->nn);
  tpa__nn_cache_free(wk->own_cache);
  free(wk->block);
  free(wk->bwd_block);
  free(wk->bwd);
  free(wk->bwd_fwd);
  free(wk->f_copy);
  free(wk->acts);
  free(wk->masked);
  free(wk->lora_x);
  free(wk->ffn_act);
  free(wk->ldt);
  free(wk->pos);
  free(wk);
}

tpa_status tpa__grad_work_create(tpa__grad_work **out, const tpa_model *m, int32_t max_batch,
                                 int32_t max_seq) {
  *out = NULL;
  if (!m || max_batch <= 0 || max_seq <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient work: batch %d x seq %d is invalid",
                      max_batch, max_seq);
  const tpa__config *c = &m->cfg;
  tpa__grad_work *wk = calloc(1, sizeof *wk);
  if (!wk)
    return TPA__NO_MEMORY("gradient work");
  wk->max_batch = max_batch;
  wk->f_copy_plain = -1; /* decided on the first full fine-tuning call */
  wk->max_seq = max_seq;
  wk->layers = c->layers;
  wk->hidden = c->hidden;
  wk->inter = c->inter;
  wk->heads = c->heads;
  wk->emb = c->emb;
  for (int32_t l = 0; l < c->layers; l++) {
    int32_t hq = m->w.layer[l].n_heads * c->head_dim;
    if (hq > wk->max_hq)
      wk->max_hq = hq;
  }
  /* A micro-batch: up to TPA__GRAD_TOKENS tokens, at least one row. */
  size_t all = (size_t)max_batch * (size_t)max_seq;
  size_t t = all < TPA__GRAD_TOKENS ? all : TPA__GRAD_TOKENS;
  wk->tokens = t > (size_t)max_seq ? t : (size_t)max_seq;
  wk->micro = wk->tokens;
  /* rows * seq <= tokens, so rows * nh * seq^2 <= tokens * nh * max_seq. */
  const size_t nh = (size_t)(wk->max_hq / c->head_dim);
  tpa_status s = TPA_OK;
  size_t acts = 0, total = 0, scratch = 0;
  const size_t T = wk->tokens, H = (size_t)wk->hidden, Q = (size_t)wk->max_hq;
  const size_t I = (size_t)wk->inter, R = (size_t)max_batch < T ? (size_t)max_batch : T;
  const size_t NL = (size_t)c->num_labels, L = (size_t)c->layers, NH = (size_t)c->heads;
  const size_t E = (size_t)c->emb, EM = E > H ? E : H, EO = m->w.proj_w ? E : 0;
  if (!tpa__mul_size(T, nh * (size_t)max_seq, &wk->p_floats) || !acts_floats(wk, &acts))
    s = tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient work: batch %d x seq %d is too large",
                   max_batch, max_seq);
  if (s == TPA_OK) {
    /* x_out, e_pre, e_out, stats, head_in/head_pre/pooled x3, logits x2,
     * pd/dp, cm/dcm/dq/dk/dv, big, bx/b1/b2, gtmp, mask, head mask; 16
     * floats of slack per array. */
    scratch = T * H + T * EM + T * EO + 2 * T + 5 * R * H + 2 * R * NL + 2 * wk->p_floats +
              5 * T * Q + T * I + T * H + 2 * T * EM + 2 * EM + T + L * NH + 34 * 16;
    if (!tpa__add_size(acts, scratch, &total) || !tpa__mul_size(total, sizeof(float), &total))
      s = tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient work: batch %d x seq %d is too large",
                     max_batch, max_seq);
  }
  if (s == TPA_OK && !(wk->block = tpa__aligned_alloc(total)))
    s = TPA__NO_MEMORY("gradient work: activations");
  if (s == TPA_OK && !(wk->acts = tpa__calloc(L, sizeof *wk->acts)))
    s = TPA__NO_MEMORY("gradient work");
  if (s == TPA_OK && !(wk->masked = tpa__calloc(L, sizeof *wk->masked)))
    s = TPA__NO_MEMORY("gradient work");
  if (s == TPA_OK && !(wk->pos = tpa__malloc_array(T, sizeof *wk->pos)))
    s = TPA__NO_MEMORY("gradient work");
  if (s == TPA_OK) {
    float *cur = wk->block;
    for (size_t l = 0; l < L; l++) {
      tpa__grad_acts *A = &wk->acts[l];
      A->xin = take(&cur, T * H);
      A->q = take(&cur, T * Q);
      A->k = take(&cur, T * Q);
      A->v = take(&cur, T * Q);
      A->p = take(&cur, wk->p_floats);
      A->ctx = take(&cur, T * Q);
      A->a_pre = take(&cur, T * H);
      A->mean1 = take(&cur, T);
      A->var1 = take(&cur, T);
      A->a = take(&cur, T * H);
      A->u = take(&cur, T * I);
      A->f_pre = take(&cur, T * H);
      A->mean2 = take(&cur, T);
      A->var2 = take(&cur, T);
    }
    wk->x_out = take(&cur, T * H);
    wk->e_pre = take(&cur, T * EM);
    wk->e_out = EO ? take(&cur, T * EO) : NULL;
    wk->e_mean = take(&cur, T);
    wk->e_var = take(&cur, T);
    wk->head_in = take(&cur, R * H);
    wk->head_pre = take(&cur, R * H);
    wk->pooled = take(&cur, R * H);
    wk->pooled_d = take(&cur, R * H);
    wk->dpool = take(&cur, R * H);
    wk->logits = take(&cur, R * NL);
    wk->dlogits = take(&cur, R * NL);
    wk->pd = take(&cur, wk->p_floats);
    wk->dp = take(&cur, wk->p_floats);
    wk->cm = take(&cur, T * Q);
    wk->dcm = take(&cur, T * Q);
    wk->dq = take(&cur, T * Q);
    wk->dk = take(&cur, T * Q);
    wk->dv = take(&cur, T * Q);
    wk->big = take(&cur, T * I);
    wk->bx = take(&cur, T * H);
    wk->b1 = take(&cur, T * EM);
    wk->b2 = take(&cur, T * EM);
    wk->gtmp = take(&cur, 2 * EM);
    wk->mask = take(&cur, T);
    wk->head_mask = take(&cur, L * NH);
  }
  tpa__nn_cache *cache = m->infer ? m->infer->cache : NULL;
  if (s == TPA_OK && !cache) {
    s = tpa__nn_cache_create(&wk->own_cache);
    cache = wk->own_cache;
  }
  if (s == TPA_OK)
    s = tpa__nn_ctx_create(&wk->nn, cache);
  if (s != TPA_OK) {
    tpa__grad_work_free(wk);
    return s;
  }
  *out = wk;
  return TPA_OK;
}

void tpa__grad_work_set_micro_tokens(tpa__grad_work *wk, size_t tokens) {
  wk->micro = tokens == 0 || tokens > wk->tokens ? wk->tokens : tokens;
}

void tpa__grad_work_set_shard(tpa__grad_work *wk, int64_t row0, int32_t global_batch) {
  wk->shard_row0 = row0 > 0 ? row0 : 0;
  wk->shard_batch = global_batch > 0 ? global_batch : 0;
}

/* LoRA scratch [tokens, max rank] for this call's set. */
static tpa_status ensure_lora(tpa__grad_work *wk, const tpa_lora_set *lora) {
  size_t rmax = 0;
  for (int32_t i = 0; lora && i < lora->layers * TPA__LORA_ALL; i++)
    if ((size_t)lora->mod[i].rank > rmax)
      rmax = (size_t)lora->mod[i].rank;
  if (rmax <= wk->lora_rank_cap)
    return TPA_OK;
  size_t n, bytes, all;
  if (!tpa__mul_size(wk->tokens, rmax, &n) || !tpa__mul_size(n, sizeof(float), &bytes) ||
      !tpa__mul_size(bytes, (size_t)wk->layers * TPA__LORA_ALL, &all))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "LoRA rank %zu is too large", rmax);
  float *ldt = tpa__aligned_alloc(bytes), *xs = tpa__aligned_alloc(all ? all : 64);
  if (!ldt || !xs) {
    free(ldt);
    free(xs);
    return TPA__NO_MEMORY("LoRA activations");
  }
  free(wk->ldt);
  free(wk->lora_x);
  wk->ldt = ldt;
  wk->lora_x = xs;
  wk->lora_rank_cap = rmax;
  return TPA_OK;
}

static tpa_status check_batch(const tpa__grad_work *wk, const tpa_model *m, const tpa__batch *b,
                              bool need_labels) {
  const tpa__config *c = &m->cfg;
  if (!b || !b->ids || !b->type_ids || !b->mask || (need_labels && !b->labels))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient engine: incomplete batch");
  if (b->batch <= 0 || b->seq <= 0 || b->batch > wk->max_batch || b->seq > wk->max_seq ||
      b->seq > c->max_seq)
    return tpa__error(
        TPA_ERR_INVALID_ARGUMENT,
        "gradient engine: batch %d x %d outside the work area (%d x %d, %d positions)", b->batch,
        b->seq, wk->max_batch, wk->max_seq, c->max_seq);
  const size_t n = (size_t)b->batch * (size_t)b->seq;
  for (size_t t = 0; t < n; t++) {
    if (b->ids[t] < 0 || b->ids[t] >= c->vocab)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient engine: ids[%zu] = %d outside 0..%d", t,
                        b->ids[t], c->vocab - 1);
    if (m->w.type_emb && (b->type_ids[t] < 0 || b->type_ids[t] >= c->type_vocab))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "gradient engine: type_ids[%zu] = %d outside 0..%d", t, b->type_ids[t],
                        c->type_vocab - 1);
  }
  for (int32_t i = 0; need_labels && i < b->batch; i++) {
    const float y = b->labels[i];
    if (!isfinite(y) || (!c->regression && (y < 0 || y >= (float)c->num_labels || y != floorf(y))))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient engine: label %d (%g) is invalid", i,
                        (double)y);
  }
  return TPA_OK;
}

/* Zero every requested gradient: a call overwrites them. */
static void zero_grads(const tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w,
                       const tpa__grad_out *g, int32_t batch) {
  const tpa__config *c = &m->cfg;
  const size_t H = (size_t)c->hidden, NL = (size_t)c->num_labels;
#define ZERO(p, n)                                                                                 \
  do {                                                                                             \
    if (p)                                                                                         \
      memset((p), 0, (size_t)(n) * sizeof(float));                                                 \
  } while (0)
  if (g->w) {
    tpa__weight_grads *G = g->w;
    const size_t E = (size_t)c->emb;
    ZERO(G->word_emb, (size_t)c->vocab * E);
    ZERO(G->pos_emb, (size_t)c->max_pos * E);
    ZERO(G->type_emb, (size_t)c->type_vocab * E);
    ZERO(G->emb_ln_g, E);
    ZERO(G->emb_ln_b, E);
    if (w->proj_w) { /* only ELECTRA's projection has gradients */
      ZERO(G->proj_w, H * E);
      ZERO(G->proj_b, H);
    }
    for (int32_t l = 0; G->layer && l < c->layers; l++) {
      tpa__layer_grad *L = &G->layer[l];
      const size_t hq = (size_t)w->layer[l].n_heads * (size_t)c->head_dim;
      const size_t I = (size_t)w->layer[l].inter;
      ZERO(L->q_w, hq * H);
      ZERO(L->k_w, hq * H);
      ZERO(L->v_w, hq * H);
      ZERO(L->q_b, hq);
      ZERO(L->k_b, hq);
      ZERO(L->v_b, hq);
      ZERO(L->o_w, H * hq);
      ZERO(L->o_b, H);
      ZERO(L->ln1_g, H);
      ZERO(L->ln1_b, H);
      ZERO(L->i_w, I * H);
      ZERO(L->i_b, I);
      ZERO(L->f_w, H * I);
      ZERO(L->f_b, H);
      ZERO(L->ln2_g, H);
      ZERO(L->ln2_b, H);
    }
    ZERO(G->pool_w, H * H);
    ZERO(G->pool_b, H);
    ZERO(G->cls_w, NL * H);
    ZERO(G->cls_b, NL);
  }
  if (g->lora) {
    tpa_lora_set *S = g->lora;
    for (int32_t i = 0; i < S->layers * TPA__LORA_ALL; i++) {
      tpa__lora_mod *mod = &S->mod[i];
      ZERO(mod->a, (size_t)mod->rank * (size_t)mod->in);
      ZERO(mod->b, (size_t)mod->out * (size_t)mod->rank);
    }
    const size_t LH = (size_t)S->layers * (size_t)S->hidden;
    ZERO(S->emb_ln_g, S->emb);
    ZERO(S->emb_ln_b, S->emb);
    ZERO(S->pool_w, (size_t)S->hidden * (size_t)S->hidden);
    ZERO(S->pool_b, S->hidden);
    ZERO(S->ln1_g, LH);
    ZERO(S->ln1_b, LH);
    ZERO(S->ln2_g, LH);
    ZERO(S->ln2_b, LH);
    ZERO(S->cls_w, (size_t)S->num_labels * (size_t)S->hidden);
    ZERO(S->cls_b, S->num_labels);
  }
  ZERO(g->head_mask_per_example, (size_t)batch * (size_t)wk->layers * (size_t)wk->heads);
  ZERO(g->ffn_mask_per_example, (size_t)batch * (size_t)wk->layers * (size_t)wk->inter);
#undef ZERO
}

/* Loss of a micro-batch's rows (summed, in double) and d(batch mean)/d logits. */
static double loss_rows(const tpa_model *m, tpa__grad_work *wk, const float *labels, int32_t rows,
                        int32_t batch) {
  const int32_t nl = m->cfg.num_labels;
  double sum = 0;
  for (int32_t i = 0; i < rows; i++) {
    const float *z = wk->logits + (size_t)i * nl;
    float *dz = wk->dlogits + (size_t)i * nl;
    if (m->cfg.regression) {
      const double e = (double)z[0] - (double)labels[i];
      sum += e * e;
      dz[0] = (float)(2.0 * e / batch);
      continue;
    }
    double mx = z[0];
    for (int32_t k = 1; k < nl; k++)
      mx = z[k] > mx ? z[k] : mx;
    double se = 0;
    for (int32_t k = 0; k < nl; k++)
      se += exp((double)z[k] - mx);
    const int32_t y = (int32_t)labels[i];
    sum += log(se) + mx - (double)z[y];
    for (int32_t k = 0; k < nl; k++)
      dz[k] = (float)((exp((double)z[k] - mx) / se - (k == y ? 1.0 : 0.0)) / batch);
  }
  return sum;
}

static void setup_head_mask(tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w,
                            const float *head_mask) {
  const int32_t heads = m->cfg.heads;
  for (int32_t l = 0; l < wk->layers; l++) {
    const tpa__layer *L = &w->layer[l];
    float *hm = wk->head_mask + (size_t)l * (size_t)heads;
    wk->masked[l] = false;
    for (int32_t h = 0; h < L->n_heads; h++) {
      const int32_t orig = L->head_ids ? L->head_ids[h] : h;
      hm[h] = head_mask ? head_mask[(size_t)l * (size_t)heads + (size_t)orig] : 1.0f;
      if (hm[h] != 1.0f)
        wk->masked[l] = true;
    }
  }
}

/* The whole call: forward (and backward when @p g) per micro-batch. */
static tpa_status run(tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w,
                      const tpa_lora_set *lora, const tpa__batch *b, const tpa__grad_opts *o,
                      bool train, double *loss, float *logits, tpa__grad_out *g) {
  if (!wk || !m || !w)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient engine: NULL %s",
                      !wk  ? "work"
                      : !m ? "model"
                           : "weights");
  tpa_status s = check_batch(wk, m, b, loss != NULL || g != NULL);
  if (s == TPA_OK && lora)
    s = tpa__lora_set_check(lora, m);
  if (s == TPA_OK && g && g->lora && (!lora || g->lora->layers != lora->layers))
    s = tpa__error(TPA_ERR_INVALID_ARGUMENT, "gradient engine: LoRA gradients need a LoRA set "
                                             "of the same shape");
  if (s == TPA_OK)
    s = ensure_lora(wk, lora);
  if (s == TPA_OK && g && g->ffn_mask_per_example && !wk->ffn_act) {
    size_t n;
    wk->ffn_act = tpa__mul_size(wk->tokens, (size_t)wk->inter, &n) && n > 0
                      ? tpa__aligned_alloc(n * sizeof(float))
                      : NULL;
    if (!wk->ffn_act)
      s = TPA__NO_MEMORY("neuron-mask gradients");
  }
  /* The backward's packed weights. Full fine-tuning asks for weight
   * gradients and reads trainable copies, repacked every call; LoRA and
   * importance read the model's own frozen matrices, packed once on the
   * first call. (tpa__g_packed still uses a packed matrix only where it
   * is the one @p w points to.) */
  const bool copies = g && g->w;
  wk->f_copy_valid = false;
  if (s == TPA_OK && g && !copies && !wk->bwd && m->infer)
    s = tpa__grad_pack(wk, m);
  if (s == TPA_OK && copies && m->cfg.inter > 0 && m->cfg.hidden > 0)
    s = tpa__grad_pack_copies(wk, m, w);
  if (s != TPA_OK)
    return s;
  tpa__grad_opts defaults;
  memset(&defaults, 0, sizeof defaults);
  if (!o || !train)
    o = &defaults;
  const float hp = o->hidden_dropout, ap = o->attn_dropout, cp = o->cls_dropout;
  if (!(hp >= 0.0f && hp < 1.0f) || !(ap >= 0.0f && ap < 1.0f) || !(cp >= 0.0f && cp < 1.0f))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "gradient engine: dropout %g / %g / %g outside [0, 1)", (double)hp,
                      (double)ap, (double)cp);
  setup_head_mask(wk, m, w, o->head_mask);
  if (g)
    zero_grads(wk, m, w, g, b->batch);
  tpa__grad_run r;
  memset(&r, 0, sizeof r);
  r.wk = wk;
  r.m = m;
  r.w = w;
  r.lora = lora;
  r.o = o;
  r.g = g;
  r.batch_rows = train && wk->shard_batch > 0 ? wk->shard_batch : b->batch;
  r.seq = b->seq;
  r.train = train;
  int32_t rows = (int32_t)(wk->micro / (size_t)b->seq);
  if (rows < 1)
    rows = 1;
  double total = 0;
  const int32_t nl = m->cfg.num_labels;
  const int32_t mean_over = r.batch_rows;
  for (int32_t b0 = 0; s == TPA_OK && b0 < b->batch; b0 += rows) {
    r.b0 = b0;
    r.drop_row0 = (uint64_t)wk->shard_row0 + (uint64_t)b0;
    r.rows = b0 + rows <= b->batch ? rows : b->batch - b0;
    const size_t off = (size_t)b0 * (size_t)b->seq;
    r.ids = b->ids + off;
    r.types = b->type_ids + off;
    r.mask = b->mask + off;
    r.labels = b->labels ? b->labels + b0 : NULL;
    s = tpa__grad_forward(&r);
    if (s != TPA_OK)
      break;
    if (logits)
      memcpy(logits + (size_t)b0 * nl, wk->logits, (size_t)r.rows * nl * sizeof *logits);
    if (r.labels)
      total += loss_rows(m, wk, r.labels, r.rows, mean_over);
    if (g)
      s = tpa__grad_backward(&r);
  }
  if (s == TPA_OK && loss)
    *loss = total / mean_over;
  return s;
}

tpa_status tpa__loss_and_grads(tpa__grad_work *work, const tpa_model *m, const tpa__weights *w,
                               const tpa_lora_set *lora, const tpa__batch *b,
                               const tpa__grad_opts *o, double *loss, float *logits,
                               tpa__grad_out *g) {
  double dummy;
  return run(work, m, w, lora, b, o, true, loss ? loss : &dummy, logits, g);
}

tpa_status tpa__forward_lora(tpa__grad_work *work, const tpa_model *m, const tpa__weights *w,
                             const tpa_lora_set *lora, const tpa__batch *b, float *logits) {
  if (!logits)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "forward with adapter: NULL logits");
  return run(work, m, w, lora, b, NULL, false, NULL, logits, NULL);
}
