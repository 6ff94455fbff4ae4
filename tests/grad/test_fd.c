/* SPDX-License-Identifier: Apache-2.0 */
/* Finite differences on a tiny random model, for every gradient kind:
 * LoRA A and B of each module, every LayerNorm gain and bias, the
 * classifier, the per-example head mask, and in full fine-tuning every
 * weight class including embeddings and pooler; classification and
 * regression, padded rows, a pruned layer, dropout on and off.
 *
 * The engine computes in float32 and sums the loss in double, so each
 * tensor is checked by central differences along two directions: its
 * own gradient's (the derivative must equal |g|) and a fixed random
 * one (it must equal g . v), plus its largest single entries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad_tests.h"

enum { BATCH = 3, SEQ = 7 };

typedef struct fd_case {
  tpa_model *m;
  tpa__weights w;
  tpa__layer *eff_layers;
  tpa_lora_set *lora, *glora;
  tpa__weight_grads gw;
  tpa__layer_grad *glayers;
  int32_t ids[BATCH * SEQ], types[BATCH * SEQ], mask[BATCH * SEQ];
  float labels[BATCH];
  tpa__batch b;
  tpa__grad_opts o;
  float *head_mask, *hm_grad;
  tpa__grad_work *wk;
  bool full;
} fd_case;

static const int32_t kept[2] = {2, 1}; /* layer 1 keeps one of its two heads */

static void make_batch(fd_case *c, uint64_t seed) {
  rng r = {seed};
  const int lens[BATCH] = {7, 5, 3};
  for (int b = 0; b < BATCH; b++)
    for (int s = 0; s < SEQ; s++) {
      const int t = b * SEQ + s;
      const bool real = s < lens[b];
      c->ids[t] = !real ? 0 : s == 0 ? 2 : 3 + (int32_t)(rng_uniform(&r) * (c->m->cfg.vocab - 3));
      c->types[t] = real && s >= 3 && b != 1 ? 1 : 0;
      c->mask[t] = real;
    }
  for (int b = 0; b < BATCH; b++)
    c->labels[b] = c->m->cfg.regression ? (float)(2.0 * rng_normal(&r))
                                        : (float)((b * 2) % c->m->cfg.num_labels);
  c->b = (tpa__batch){BATCH, SEQ, c->ids, c->types, c->mask, c->labels};
}

static float *zeros(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  ck_assert_ptr_nonnull(p);
  return p;
}

static void case_init(fd_case *c, int32_t num_labels, bool full, float dropout) {
  memset(c, 0, sizeof *c);
  const tiny_spec sp = {16, 2, 2, 20, 30, 16, 2, num_labels, kept, 77};
  c->m = tiny_model(&sp);
  c->full = full;
  const tpa__config *cf = &c->m->cfg;
  make_batch(c, 5);
  c->o.hidden_dropout = dropout;
  c->o.attn_dropout = dropout;
  c->o.cls_dropout = dropout;
  c->o.dropout_seed = 1234;
  c->head_mask = zeros((size_t)cf->layers * cf->heads);
  rng r = {99};
  for (int i = 0; i < cf->layers * cf->heads; i++)
    c->head_mask[i] = (float)(1.0 + 0.3 * rng_normal(&r)); /* not all ones: the mask scales */
  c->o.head_mask = c->head_mask;
  c->hm_grad = zeros((size_t)BATCH * cf->layers * cf->heads);
  if (full) {
    c->w = c->m->w;
    const size_t h = (size_t)cf->hidden, in = (size_t)cf->inter;
    c->gw.word_emb = zeros((size_t)cf->vocab * h);
    c->gw.pos_emb = zeros((size_t)cf->max_pos * h);
    c->gw.type_emb = zeros((size_t)cf->type_vocab * h);
    c->gw.emb_ln_g = zeros(h);
    c->gw.emb_ln_b = zeros(h);
    c->glayers = calloc((size_t)cf->layers, sizeof *c->glayers);
    ck_assert_ptr_nonnull(c->glayers);
    for (int l = 0; l < cf->layers; l++) {
      tpa__layer_grad *G = &c->glayers[l];
      const size_t hq = (size_t)c->m->w.layer[l].n_heads * cf->head_dim;
      G->q_w = zeros(hq * h), G->k_w = zeros(hq * h), G->v_w = zeros(hq * h);
      G->q_b = zeros(hq), G->k_b = zeros(hq), G->v_b = zeros(hq);
      G->o_w = zeros(h * hq), G->o_b = zeros(h);
      G->ln1_g = zeros(h), G->ln1_b = zeros(h);
      G->i_w = zeros(in * h), G->i_b = zeros(in);
      G->f_w = zeros(h * in), G->f_b = zeros(h);
      G->ln2_g = zeros(h), G->ln2_b = zeros(h);
    }
    c->gw.layer = c->glayers;
    c->gw.pool_w = zeros(h * h);
    c->gw.pool_b = zeros(h);
    c->gw.cls_w = zeros((size_t)cf->num_labels * h);
    c->gw.cls_b = zeros((size_t)cf->num_labels);
  } else {
    /* Ranks differ by block and module (one module without LoRA); alpha
     * is not 2r everywhere so the scale is exercised. */
    int32_t ranks[8] = {3, 2, 0, 4, 1, 2, 3, 2};
    float alphas[8] = {6, 4, 0, 5, 2, 4, 6, 1};
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.ranks = ranks;
    lp.alphas = alphas;
    lp.seed = 3;
    tpa_status s = tpa_lora_set_create(&c->lora, c->m, &lp);
    ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
    /* B non-zero so that every gradient is non-trivial; LN/classifier
     * copies moved away from the model's. */
    for (int i = 0; i < 8; i++) {
      tpa__lora_mod *mod = &c->lora->mod[i];
      if (mod->rank)
        fill_normal(&r, mod->b, (size_t)mod->out * mod->rank, 0, 0.5);
    }
    for (int i = 0; i < cf->hidden; i++)
      c->lora->emb_ln_g[i] += 0.05f * (float)rng_normal(&r);
    ck_assert_int_eq(tpa__lora_set_clone_zero(&c->glora, c->lora), TPA_OK);
    s = tpa__lora_effective_weights(c->lora, c->m, &c->w, &c->eff_layers);
    ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  }
  tpa_status s = tpa__grad_work_create(&c->wk, c->m, BATCH, SEQ);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
}

static void case_free(fd_case *c) {
  tpa__grad_work_free(c->wk);
  if (c->full) {
    free(c->gw.word_emb), free(c->gw.pos_emb), free(c->gw.type_emb);
    free(c->gw.emb_ln_g), free(c->gw.emb_ln_b);
    for (int l = 0; l < c->m->cfg.layers; l++) {
      tpa__layer_grad *G = &c->glayers[l];
      float *p[] = {G->q_w,   G->q_b,   G->k_w, G->k_b, G->v_w, G->v_b, G->o_w,   G->o_b,
                    G->ln1_g, G->ln1_b, G->i_w, G->i_b, G->f_w, G->f_b, G->ln2_g, G->ln2_b};
      for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    }
    free(c->glayers);
    free(c->gw.pool_w), free(c->gw.pool_b), free(c->gw.cls_w), free(c->gw.cls_b);
  }
  free(c->eff_layers);
  tpa_lora_set_free(c->lora);
  tpa_lora_set_free(c->glora);
  free(c->head_mask);
  free(c->hm_grad);
  tiny_model_free(c->m);
}

static double loss_of(fd_case *c, float *logits) {
  double loss;
  tpa_status s =
      tpa__loss_and_grads(c->wk, c->m, &c->w, c->lora, &c->b, &c->o, &loss, logits, NULL);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  return loss;
}

static void compute_grads(fd_case *c) {
  tpa__grad_out g = {c->full ? &c->gw : NULL, c->full ? NULL : c->glora, c->hm_grad};
  double loss;
  tpa_status s = tpa__loss_and_grads(c->wk, c->m, &c->w, c->lora, &c->b, &c->o, &loss, NULL, &g);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  /* The loss with gradients equals the loss without. */
  ck_assert_double_eq_tol(loss, loss_of(c, NULL), 1e-9);
}

/* Central difference of the loss along v (|v| = 1) for parameter p. */
static double fd_dir(fd_case *c, float *p, const double *v, size_t n, double eps) {
  float *save = malloc(n * sizeof *save);
  ck_assert_ptr_nonnull(save);
  memcpy(save, p, n * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(save[i] + eps * v[i]);
  double up = loss_of(c, NULL);
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(save[i] - eps * v[i]);
  double down = loss_of(c, NULL);
  memcpy(p, save, n * sizeof *p);
  free(save);
  return (up - down) / (2 * eps);
}

/* Worst tolerance ratio seen over the suite (printed for calibration). */
static double worst_seen;

/* Along g restricted to one row or one column (|v| = 1): the derivative
 * is that slice's norm. Catches errors confined to a row or a column. */
static void check_slices(fd_case *c, const char *name, float *p, const float *g, size_t n,
                         size_t cols, double *v) {
  const size_t rows = n / cols;
  for (int by_col = 0; by_col < 2; by_col++) {
    const size_t count = by_col ? cols : rows;
    if ((by_col ? rows : cols) == 1)
      continue; /* single entries: checked one by one below */
    for (size_t k = 0; k < count; k++) {
      memset(v, 0, n * sizeof *v);
      double norm = 0;
      for (size_t i = 0; i < (by_col ? rows : cols); i++) {
        const size_t at = by_col ? i * cols + k : k * cols + i;
        v[at] = g[at];
        norm += (double)g[at] * g[at];
      }
      norm = sqrt(norm);
      if (norm < 1e-4)
        continue; /* a slice the batch does not reach (e.g. unused ids) */
      for (size_t i = 0; i < n; i++)
        v[i] /= norm;
      const double d = fd_dir(c, p, v, n, 3e-3);
      const double q = fabs(d - norm) / (2e-4 + 1e-2 * norm);
      worst_seen = fmax(worst_seen, q);
      ck_assert_msg(q <= 1.0, "%s %s %zu: derivative %.7g by finite differences, norm %.7g", name,
                    by_col ? "column" : "row", k, d, norm);
    }
  }
}

static void check_tensor(fd_case *c, const char *name, float *p, const float *g, size_t n,
                         size_t cols) {
  double *v = calloc(n, sizeof *v);
  ck_assert_ptr_nonnull(v);
  double norm = 0;
  for (size_t i = 0; i < n; i++)
    norm += (double)g[i] * g[i];
  norm = sqrt(norm);
  if (strstr(name, "key.bias")) {
    /* Softmax ignores a per-row constant, and q . b_k is one: the key
     * bias gets exactly zero gradient. Check that, and FD agrees. */
    ck_assert_msg(norm < 1e-5, "%s: |g| = %g, expected 0", name, norm);
    rng r0 = {3};
    for (size_t i = 0; i < n; i++)
      v[i] = rng_normal(&r0) / sqrt((double)n);
    ck_assert_msg(fabs(fd_dir(c, p, v, n, 1e-2)) < 1e-4, "%s: loss depends on it", name);
    free(v);
    return;
  }
  ck_assert_msg(norm > 1e-6, "%s: gradient is (nearly) zero (%g): the check would be void", name,
                norm);
  /* 1. Along the gradient itself: the derivative is |g|. */
  for (size_t i = 0; i < n; i++)
    v[i] = g[i] / norm;
  const double eps = 1e-3;
  double d = fd_dir(c, p, v, n, eps);
  double q = fabs(d - norm) / (2e-4 + 1e-2 * norm);
  worst_seen = fmax(worst_seen, q);
  ck_assert_msg(q <= 1.0, "%s: d/d(g-direction) = %.7g by finite differences, |g| = %.7g", name, d,
                norm);
  /* 2. Along a fixed random direction (catches a wrong direction of the
   * same length, e.g. swapped entries). */
  rng r = {n * 31 + 7};
  double vn = 0, dot = 0;
  for (size_t i = 0; i < n; i++) {
    v[i] = rng_normal(&r);
    vn += v[i] * v[i];
  }
  vn = sqrt(vn);
  for (size_t i = 0; i < n; i++) {
    v[i] /= vn;
    dot += v[i] * g[i];
  }
  d = fd_dir(c, p, v, n, eps);
  q = fabs(d - dot) / (2e-4 + 1e-2 * norm);
  worst_seen = fmax(worst_seen, q);
  ck_assert_msg(q <= 1.0, "%s: random-direction derivative %.7g by finite differences, g.v = %.7g",
                name, d, dot);
  check_slices(c, name, p, g, n, cols, v);
  /* 3. Single entries: the largest, then a fixed random sample of the
   * entries the batch reaches (non-zero gradient), so that an error in
   * a few entries cannot hide in a tensor-wide sum. */
  size_t *idx = calloc(n, sizeof *idx), nnz = 0, big = 0;
  ck_assert_ptr_nonnull(idx);
  for (size_t i = 0; i < n; i++) {
    if (g[i] != 0.0f)
      idx[nnz++] = i;
    if (fabsf(g[i]) > fabsf(g[big]))
      big = i;
  }
  /* Small tensors: every reached entry; larger ones: 24 at random. */
  const size_t samples = nnz <= 32 ? nnz : 24;
  for (size_t k = 0; k <= samples && nnz; k++) {
    const size_t at = k == 0      ? big
                      : nnz <= 32 ? idx[k - 1]
                                  : idx[(size_t)(rng_uniform(&r) * (double)nnz) % nnz];
    memset(v, 0, n * sizeof *v);
    v[at] = 1;
    /* A single entry moves the loss little: a larger step keeps float32
     * rounding of the loss (~1e-7 relative) well below the tolerance,
     * and Richardson extrapolation cancels the step's h^2 error. */
    d = (4 * fd_dir(c, p, v, n, 1e-2) - fd_dir(c, p, v, n, 2e-2)) / 3;
    q = fabs(d - g[at]) / (2e-4 + 1e-2 * fabs(g[at]));
    worst_seen = fmax(worst_seen, q);
    ck_assert_msg(q <= 1.0, "%s[%zu]: %.7g by finite differences, %.7g computed", name, at, d,
                  (double)g[at]);
  }
  free(idx);
  free(v);
}

static void check_ln_cls(fd_case *c, float *eg, float *eb, float *l1g, float *l1b, float *l2g,
                         float *l2b, float *cw, float *cb, const fd_case *grads_of,
                         const float *const *gp) {
  (void)grads_of;
  const tpa__config *cf = &c->m->cfg;
  const size_t h = (size_t)cf->hidden;
  char name[64];
  check_tensor(c, "embeddings.LayerNorm.weight", eg, gp[0], h, h);
  check_tensor(c, "embeddings.LayerNorm.bias", eb, gp[1], h, h);
  for (int l = 0; l < cf->layers; l++) {
    snprintf(name, sizeof name, "layer %d attention LayerNorm.weight", l);
    check_tensor(c, name, l1g + l * h, gp[2] + l * h, h, h);
    snprintf(name, sizeof name, "layer %d attention LayerNorm.bias", l);
    check_tensor(c, name, l1b + l * h, gp[3] + l * h, h, h);
    snprintf(name, sizeof name, "layer %d output LayerNorm.weight", l);
    check_tensor(c, name, l2g + l * h, gp[4] + l * h, h, h);
    snprintf(name, sizeof name, "layer %d output LayerNorm.bias", l);
    check_tensor(c, name, l2b + l * h, gp[5] + l * h, h, h);
  }
  check_tensor(c, "classifier.weight", cw, gp[6], (size_t)cf->num_labels * h, h);
  check_tensor(c, "classifier.bias", cb, gp[7], (size_t)cf->num_labels, (size_t)cf->num_labels);
}

static void run_lora(int32_t num_labels, float dropout) {
  fd_case c;
  case_init(&c, num_labels, false, dropout);
  compute_grads(&c);
  char name[64];
  static const char *const mod_name[4] = {"query", "key", "value", "output"};
  for (int l = 0; l < c.m->cfg.layers; l++)
    for (int k = 0; k < TPA_LORA_MODULES; k++) {
      tpa__lora_mod *mod = tpa__lora_at(c.lora, l, k), *gm = tpa__lora_at(c.glora, l, k);
      if (!mod->rank)
        continue;
      snprintf(name, sizeof name, "layer %d %s lora_A", l, mod_name[k]);
      check_tensor(&c, name, mod->a, gm->a, (size_t)mod->rank * mod->in, (size_t)mod->in);
      snprintf(name, sizeof name, "layer %d %s lora_B", l, mod_name[k]);
      check_tensor(&c, name, mod->b, gm->b, (size_t)mod->out * mod->rank, (size_t)mod->rank);
    }
  tpa_lora_set *s = c.lora, *g = c.glora;
  const float *gp[8] = {g->emb_ln_g, g->emb_ln_b, g->ln1_g, g->ln1_b,
                        g->ln2_g,    g->ln2_b,    g->cls_w, g->cls_b};
  check_ln_cls(&c, s->emb_ln_g, s->emb_ln_b, s->ln1_g, s->ln1_b, s->ln2_g, s->ln2_b, s->cls_w,
               s->cls_b, &c, gp);
  case_free(&c);
}

START_TEST(lora_classification) {
  run_lora(3, 0.0f);
}
END_TEST

START_TEST(lora_regression) {
  run_lora(1, 0.0f);
}
END_TEST

START_TEST(lora_dropout) {
  run_lora(3, 0.2f);
}
END_TEST

static void run_full(int32_t num_labels, float dropout) {
  fd_case c;
  case_init(&c, num_labels, true, dropout);
  compute_grads(&c);
  const tpa__config *cf = &c.m->cfg;
  const size_t h = (size_t)cf->hidden, in = (size_t)cf->inter;
  tpa__weights *w = &c.m->w;
  tpa__weight_grads *G = &c.gw;
#define P(x) ((float *)(x))
  check_tensor(&c, "word_embeddings", P(w->word_emb), G->word_emb, (size_t)cf->vocab * h, h);
  check_tensor(&c, "position_embeddings", P(w->pos_emb), G->pos_emb, (size_t)cf->max_pos * h, h);
  check_tensor(&c, "token_type_embeddings", P(w->type_emb), G->type_emb, (size_t)cf->type_vocab * h,
               h);
  check_tensor(&c, "embeddings.LayerNorm.weight", P(w->emb_ln_g), G->emb_ln_g, h, h);
  check_tensor(&c, "embeddings.LayerNorm.bias", P(w->emb_ln_b), G->emb_ln_b, h, h);
  char name[80];
  for (int l = 0; l < cf->layers; l++) {
    tpa__layer *L = &w->layer[l];
    tpa__layer_grad *g = &G->layer[l];
    const size_t hq = (size_t)L->n_heads * cf->head_dim;
    const struct {
      const char *n;
      const float *p;
      float *g;
      size_t count, cols;
    } t[] = {{"query.weight", L->q_w, g->q_w, hq * h, h},
             {"query.bias", L->q_b, g->q_b, hq, hq},
             {"key.weight", L->k_w, g->k_w, hq * h, h},
             {"key.bias", L->k_b, g->k_b, hq, hq},
             {"value.weight", L->v_w, g->v_w, hq * h, h},
             {"value.bias", L->v_b, g->v_b, hq, hq},
             {"attention.output.dense.weight", L->o_w, g->o_w, h * hq, hq},
             {"attention.output.dense.bias", L->o_b, g->o_b, h, h},
             {"attention.output.LayerNorm.weight", L->ln1_g, g->ln1_g, h, h},
             {"attention.output.LayerNorm.bias", L->ln1_b, g->ln1_b, h, h},
             {"intermediate.dense.weight", L->i_w, g->i_w, in * h, h},
             {"intermediate.dense.bias", L->i_b, g->i_b, in, in},
             {"output.dense.weight", L->f_w, g->f_w, h * in, in},
             {"output.dense.bias", L->f_b, g->f_b, h, h},
             {"output.LayerNorm.weight", L->ln2_g, g->ln2_g, h, h},
             {"output.LayerNorm.bias", L->ln2_b, g->ln2_b, h, h}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
      snprintf(name, sizeof name, "layer %d %s", l, t[i].n);
      check_tensor(&c, name, P(t[i].p), t[i].g, t[i].count, t[i].cols);
    }
  }
  check_tensor(&c, "pooler.dense.weight", P(w->pool_w), G->pool_w, h * h, h);
  check_tensor(&c, "pooler.dense.bias", P(w->pool_b), G->pool_b, h, h);
  check_tensor(&c, "classifier.weight", P(w->cls_w), G->cls_w, (size_t)cf->num_labels * h, h);
  check_tensor(&c, "classifier.bias", P(w->cls_b), G->cls_b, (size_t)cf->num_labels,
               (size_t)cf->num_labels);
#undef P
  case_free(&c);
}

START_TEST(full_classification) {
  run_full(3, 0.0f);
}
END_TEST

START_TEST(full_regression) {
  run_full(1, 0.15f);
}
END_TEST

/* Each example's own loss from logits, in double (independent of the engine). */
static double example_loss(const fd_case *c, const float *logits, int e) {
  const int nl = c->m->cfg.num_labels;
  const float *z = logits + e * nl;
  if (c->m->cfg.regression)
    return ((double)z[0] - c->labels[e]) * ((double)z[0] - c->labels[e]);
  double mx = z[0], se = 0;
  for (int k = 1; k < nl; k++)
    mx = fmax(mx, z[k]);
  for (int k = 0; k < nl; k++)
    se += exp(z[k] - mx);
  return log(se) + mx - z[(int)c->labels[e]];
}

static void run_head_mask(int32_t num_labels, bool full) {
  fd_case c;
  case_init(&c, num_labels, full, 0.0f);
  compute_grads(&c);
  const tpa__config *cf = &c.m->cfg;
  const int heads = cf->heads, layers = cf->layers;
  float logits[BATCH * 3];
  for (int l = 0; l < layers; l++) {
    const tpa__layer *L = &c.w.layer[l];
    for (int h = 0; h < heads; h++) {
      bool is_kept = false;
      for (int k = 0; k < L->n_heads; k++)
        is_kept |= L->head_ids[k] == h;
      if (!is_kept) {
        for (int e = 0; e < BATCH; e++)
          ck_assert_float_eq(c.hm_grad[(e * layers + l) * heads + h], 0.0f);
        continue;
      }
      const double eps = 1e-3;
      float *p = &c.head_mask[l * heads + h];
      const float save = *p;
      double up[BATCH], down[BATCH];
      *p = (float)(save + eps);
      loss_of(&c, logits);
      for (int e = 0; e < BATCH; e++)
        up[e] = example_loss(&c, logits, e);
      *p = (float)(save - eps);
      loss_of(&c, logits);
      for (int e = 0; e < BATCH; e++)
        down[e] = example_loss(&c, logits, e);
      *p = save;
      for (int e = 0; e < BATCH; e++) {
        const double fd = (up[e] - down[e]) / (2 * eps);
        const double got = c.hm_grad[(e * layers + l) * heads + h];
        const double q = fabs(fd - got) / (2e-4 + 1e-2 * fabs(fd));
        worst_seen = fmax(worst_seen, q);
        ck_assert_msg(q <= 1.0,
                      "head mask layer %d head %d example %d: %.7g by finite "
                      "differences, %.7g computed",
                      l, h, e, fd, got);
      }
    }
  }
  case_free(&c);
}

START_TEST(head_mask_classification) {
  run_head_mask(3, false);
}
END_TEST

START_TEST(head_mask_regression_full) {
  run_head_mask(1, true);
}
END_TEST

static void report(void) {
  fprintf(stderr, "finite differences: worst tolerance ratio %.3f (fails above 1)\n", worst_seen);
}

Suite *fd_suite(void) {
  const grad_case cases[] = {{"LoRA classification", lora_classification},
                             {"LoRA regression", lora_regression},
                             {"LoRA with dropout", lora_dropout},
                             {"full classification", full_classification},
                             {"full regression with dropout", full_regression},
                             {"head mask per example", head_mask_classification},
                             {"head mask regression full", head_mask_regression_full}};
  return grad_suite("finite differences", cases, sizeof cases / sizeof cases[0], report);
}
