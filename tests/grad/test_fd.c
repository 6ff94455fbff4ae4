/* SPDX-License-Identifier: Apache-2.0 */
/* Finite differences on a tiny random model, for every gradient kind:
 * LoRA A and B of each module, every LayerNorm gain and bias, the
 * classifier, the per-example head mask, and in full fine-tuning every
 * weight class including embeddings and pooler; classification and
 * regression, padded rows, a pruned layer, dropout on and off.
 *
 * The same checks run for every family (model/family.h): RoBERTa's
 * positions from padding_idx + 1 (with a pad inside a row, so they are
 * not 0..S-1 shifted) landing on the rows tpa__positions gives, its and
 * ELECTRA's dropout before the head's dense, DistilBERT without token
 * types and with a ReLU head, ELECTRA's narrower embeddings and their
 * projection, and the LoRA set's trainable copy of the head's dense.
 * Their embeddings and heads get every check below; their encoder
 * blocks, the code the BERT cases check in full, two directions and the
 * largest entry. XLM-RoBERTa is RoBERTa's math: its gradients must be
 * RoBERTa's, bit for bit.
 *
 * The engine computes in float32 and sums the loss in double, so each
 * tensor is checked by central differences along two directions: its
 * own gradient's (the derivative must equal |g|) and a fixed random
 * one (it must equal g . v), plus its rows, columns and single entries.
 * A check that fails at its step is retried once at another (fd_ratio
 * says why); DistilBERT's ReLU head is kept away from its kink
 * (keep_off_kinks). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad_tests.h"
#include "model/grad_internal.h"

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
  const char *fam; /* model_type, prefixed to check names */
  bool *relu_on;   /* [BATCH * hidden] a ReLU head's units that are on, or NULL */
} fd_case;

static const int32_t kept[2] = {2, 1}; /* layer 1 keeps one of its two heads */
/* Layer 0 is narrower than intermediate_size, as neuron pruning leaves it. */
static const int32_t ffn_widths[2] = {16, 20};
/* Another set of widths for one test (NULL: ffn_widths). */
static const int32_t *ffn_override = NULL;

/* Rows of 7, 5 and 3 tokens. BERT's batch is the one these tests always
 * used (pads are id 0); the other families' pads are their pad_id, and
 * row 1 also has one inside it (mask 0), which RoBERTa's positions skip
 * without counting it. Real ids (2 for the first token, then 3..) are
 * never a pad id. */
static void make_batch(fd_case *c, uint64_t seed) {
  rng r = {seed};
  const int lens[BATCH] = {7, 5, 3};
  const tpa__config *cf = &c->m->cfg;
  const bool bert = cf->family == TPA__FAM_BERT;
  ck_assert_int_lt(cf->pad_id, 2);
  for (int b = 0; b < BATCH; b++)
    for (int s = 0; s < SEQ; s++) {
      const int t = b * SEQ + s;
      const bool real = s < lens[b] && (bert || !(b == 1 && s == 3));
      c->ids[t] = !real    ? cf->pad_id
                  : s == 0 ? 2
                           : 3 + (int32_t)(rng_uniform(&r) * (c->m->cfg.vocab - 3));
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

/* The tiny model of every case: BERT's as it always was; ELECTRA's with
 * embeddings narrower than hidden (so it has a projection), RoBERTa's
 * and XLM-R's with pad id 1 as theirs. */
static tiny_spec spec_of(tpa__family fam, int32_t num_labels) {
  return (tiny_spec){.hidden = 16,
                     .layers = 2,
                     .heads = 2,
                     .inter = 20,
                     .vocab = 30,
                     .max_pos = 16,
                     .type_vocab = 2,
                     .num_labels = num_labels,
                     .kept = kept,
                     .ffn = ffn_override ? ffn_override : ffn_widths,
                     .seed = 77,
                     .family = fam,
                     .emb = fam == TPA__FAM_ELECTRA ? 8 : 0,
                     .pad_id = tpa__family_get(fam)->pad_positions ? 1 : 0};
}

static void keep_off_kinks(fd_case *c);

static void case_init(fd_case *c, tpa__family fam, int32_t num_labels, bool full, float dropout) {
  memset(c, 0, sizeof *c);
  const tiny_spec sp = spec_of(fam, num_labels);
  c->m = tiny_model(&sp);
  c->full = full;
  c->fam = tpa__family_get(fam)->model_type;
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
    const size_t h = (size_t)cf->hidden, e = (size_t)cf->emb;
    c->gw.word_emb = zeros((size_t)cf->vocab * e);
    c->gw.pos_emb = zeros((size_t)cf->max_pos * e);
    c->gw.type_emb = c->w.type_emb ? zeros((size_t)cf->type_vocab * e) : NULL;
    c->gw.emb_ln_g = zeros(e);
    c->gw.emb_ln_b = zeros(e);
    if (c->w.proj_w) {
      c->gw.proj_w = zeros(h * e);
      c->gw.proj_b = zeros(h);
    }
    c->glayers = calloc((size_t)cf->layers, sizeof *c->glayers);
    ck_assert_ptr_nonnull(c->glayers);
    for (int l = 0; l < cf->layers; l++) {
      tpa__layer_grad *G = &c->glayers[l];
      const size_t hq = (size_t)c->m->w.layer[l].n_heads * cf->head_dim;
      const size_t in = (size_t)c->m->w.layer[l].inter;
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
    /* The feed-forward's denses too: intermediate, output per block. */
    int32_t ffn_ranks[4] = {2, 1, 0, 3};
    float ffn_alphas[4] = {3, 0, 0, 5};
    tpa_lora_params lp;
    tpa_lora_params_init(&lp, sizeof lp);
    lp.ranks = ranks;
    lp.alphas = alphas;
    lp.ffn_ranks = ffn_ranks;
    lp.ffn_alphas = ffn_alphas;
    lp.seed = 3;
    tpa_status s = tpa_lora_set_create(&c->lora, c->m, &lp);
    ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
    /* B non-zero so that every gradient is non-trivial; LN/classifier
     * copies moved away from the model's. */
    for (int i = 0; i < cf->layers * TPA_LORA_ALL_MODULES; i++) {
      tpa__lora_mod *mod = &c->lora->mod[i];
      if (mod->rank)
        fill_normal(&r, mod->b, (size_t)mod->out * mod->rank, 0, 0.5);
    }
    for (int i = 0; i < cf->emb; i++)
      c->lora->emb_ln_g[i] += 0.05f * (float)rng_normal(&r);
    /* The head's dense where the set has its own copy (not BERT's). */
    ck_assert(!c->lora->pool_w == tpa__family_get(fam)->head_in_base);
    if (c->lora->pool_w) {
      for (int i = 0; i < cf->hidden * cf->hidden; i++)
        c->lora->pool_w[i] += 0.05f * (float)rng_normal(&r);
      for (int i = 0; i < cf->hidden; i++)
        c->lora->pool_b[i] += 0.05f * (float)rng_normal(&r);
    }
    ck_assert_int_eq(tpa__lora_set_clone_zero(&c->glora, c->lora), TPA_OK);
    s = tpa__lora_effective_weights(c->lora, c->m, &c->w, &c->eff_layers);
    ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  }
  tpa_status s = tpa__grad_work_create(&c->wk, c->m, BATCH, SEQ);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  if (tpa__family_get(fam)->head_act == TPA__HEAD_RELU)
    keep_off_kinks(c);
}

static void case_free(fd_case *c) {
  tpa__grad_work_free(c->wk);
  if (c->full) {
    free(c->gw.word_emb), free(c->gw.pos_emb), free(c->gw.type_emb);
    free(c->gw.emb_ln_g), free(c->gw.emb_ln_b);
    free(c->gw.proj_w), free(c->gw.proj_b);
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
  free(c->relu_on);
  tiny_model_free(c->m);
}

/* DistilBERT's head is dense, ReLU, output: a finite difference whose
 * step moves a pre-activation across 0 measures neither side's
 * derivative. keep_off_kinks shifts each unit's bias (the one the forward
 * reads: the model's, or the LoRA set's copy) by the least that puts
 * every example's pre-activation at least KINK_MARGIN from 0, and checks
 * that units stay on and off both; after every forward, kinks_uncrossed
 * checks that no step of the checks flipped a unit (the largest steps
 * move a pre-activation by about 0.45). */
#define KINK_MARGIN 0.75

static const char *checking = ""; /* the tensor being checked, for messages */

static void kinks_uncrossed(const fd_case *c) {
  if (!c->relu_on)
    return;
  const int h = c->m->cfg.hidden;
  for (int i = 0; i < BATCH * h; i++)
    ck_assert_msg((c->wk->head_pre[i] > 0) == c->relu_on[i],
                  "%s: a finite-difference step of %s moved the head's pre-activation %d of row "
                  "%d across the ReLU's kink (to %g): raise KINK_MARGIN",
                  c->fam, checking, i % h, i / h, (double)c->wk->head_pre[i]);
}

static double loss_of(fd_case *c, float *logits) {
  double loss;
  tpa_status s =
      tpa__loss_and_grads(c->wk, c->m, &c->w, c->lora, &c->b, &c->o, &loss, logits, NULL);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  kinks_uncrossed(c);
  return loss;
}

static void keep_off_kinks(fd_case *c) {
  const int h = c->m->cfg.hidden;
  ck_assert(BATCH * SEQ <= (int)TPA__GRAD_TOKENS); /* one micro-batch: head_pre holds every row */
  loss_of(c, NULL);
  const float *pre = c->wk->head_pre;
  float *bias = (float *)c->w.pool_b;
  for (int j = 0; j < h; j++) {
    /* The smallest shift outside every (-pre - margin, -pre + margin). */
    double best = INFINITY;
    for (int k = -1; k < 2 * BATCH; k++) {
      const double m = 1.01 * KINK_MARGIN;
      const double cand = k < 0 ? 0 : -pre[(k / 2) * h + j] + (k % 2 ? m : -m);
      bool ok = true;
      for (int r = 0; r < BATCH; r++)
        ok &= fabs(pre[r * h + j] + cand) >= KINK_MARGIN;
      if (ok && fabs(cand) < fabs(best))
        best = cand;
    }
    bias[j] += (float)best;
  }
  loss_of(c, NULL);
  c->relu_on = malloc((size_t)BATCH * h * sizeof *c->relu_on);
  ck_assert_ptr_nonnull(c->relu_on);
  int on = 0;
  for (int i = 0; i < BATCH * h; i++) {
    ck_assert_msg(fabsf(pre[i]) >= 0.99 * KINK_MARGIN, "%s: pre-activation %d is %g", c->fam, i,
                  (double)pre[i]);
    c->relu_on[i] = pre[i] > 0;
    on += c->relu_on[i];
  }
  ck_assert_msg(on > 0 && on < BATCH * h, "%s: %d of %d ReLU units on: one branch untested", c->fam,
                on, BATCH * h);
}

static void compute_grads(fd_case *c) {
  tpa__grad_out g = {.w = c->full ? &c->gw : NULL,
                     .lora = c->full ? NULL : c->glora,
                     .head_mask_per_example = c->hm_grad};
  double loss;
  tpa_status s = tpa__loss_and_grads(c->wk, c->m, &c->w, c->lora, &c->b, &c->o, &loss, NULL, &g);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  kinks_uncrossed(c);
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

/* Worst tolerance ratio seen over the suite (printed for calibration),
 * and how many checks needed their retry at another step. */
static double worst_seen;
static int retried;

/* The derivative along v: a central difference at step eps, or with
 * @p rich Richardson's extrapolation from steps eps and 2 eps. */
static double fd_est(fd_case *c, float *p, const double *v, size_t n, double eps, bool rich) {
  if (!rich)
    return fd_dir(c, p, v, n, eps);
  return (4 * fd_dir(c, p, v, n, eps) - fd_dir(c, p, v, n, 2 * eps)) / 3;
}

/* The derivative along v by finite differences (into *d) against the
 * engine's @p want: the tolerance ratio, |d - want| / (2e-4 + 1e-2 scale).
 * A ratio above 1 is retried once at a quarter of the step (*d0 keeps
 * the first estimate): where the tiny model's loss bends sharply (as
 * ELECTRA's does along an entry of its token type table, dropout on) the
 * step's truncation error can exceed the tolerance, while a smaller step,
 * whose float32 rounding noise stays below it, converges on the
 * derivative. A wrong gradient fails at both steps. */
static double fd_ratio(fd_case *c, float *p, const double *v, size_t n, double eps, bool rich,
                       double want, double scale, double *d, double *d0) {
  const double tol = 2e-4 + 1e-2 * scale;
  *d = *d0 = fd_est(c, p, v, n, eps, rich);
  double q = fabs(*d - want) / tol;
  if (q > 1.0) {
    retried++;
    *d = fd_est(c, p, v, n, eps / 4, rich);
    q = fabs(*d - want) / tol;
    fprintf(stderr, "finite differences: %s retried at step %g: %.7g (%.7g at %g), want %.7g\n",
            checking, eps / 4, *d, *d0, eps, want);
  }
  worst_seen = fmax(worst_seen, q);
  return q;
}

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
      double d, d0;
      const double q = fd_ratio(c, p, v, n, 3e-3, false, norm, norm, &d, &d0);
      ck_assert_msg(q <= 1.0,
                    "%s %s %zu: derivative %.7g by finite differences (%.7g at the larger "
                    "step), norm %.7g",
                    name, by_col ? "column" : "row", k, d, d0, norm);
    }
  }
}

/* Every check below; @p light keeps the two directions and the largest
 * entry only (no slices, no sampled entries): for the encoder blocks of
 * the families other than BERT, the same code the BERT cases check in
 * full, which keeps the suite's runtime in bounds. */
static void check_tensor(fd_case *c, const char *name, float *p, const float *g, size_t n,
                         size_t cols, bool light) {
  checking = name;
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
  double d, d0;
  double q = fd_ratio(c, p, v, n, eps, false, norm, norm, &d, &d0);
  ck_assert_msg(q <= 1.0,
                "%s: d/d(g-direction) = %.7g by finite differences (%.7g at the larger step), "
                "|g| = %.7g",
                name, d, d0, norm);
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
  q = fd_ratio(c, p, v, n, eps, false, dot, norm, &d, &d0);
  ck_assert_msg(q <= 1.0,
                "%s: random-direction derivative %.7g by finite differences (%.7g at the larger "
                "step), g.v = %.7g",
                name, d, d0, dot);
  if (!light)
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
  const size_t samples = light ? 0 : nnz <= 32 ? nnz : 24;
  for (size_t k = 0; k <= samples && nnz; k++) {
    const size_t at = k == 0      ? big
                      : nnz <= 32 ? idx[k - 1]
                                  : idx[(size_t)(rng_uniform(&r) * (double)nnz) % nnz];
    memset(v, 0, n * sizeof *v);
    v[at] = 1;
    /* A single entry moves the loss little: a larger step keeps float32
     * rounding of the loss (~1e-7 relative) well below the tolerance,
     * and Richardson extrapolation cancels the step's h^2 error. */
    q = fd_ratio(c, p, v, n, 1e-2, true, g[at], fabs(g[at]), &d, &d0);
    ck_assert_msg(q <= 1.0,
                  "%s[%zu]: %.7g by finite differences (%.7g at the larger step), %.7g computed",
                  name, at, d, d0, (double)g[at]);
  }
  free(idx);
  free(v);
}

/* One tensor to check: the parameter finite differences move and the
 * engine's gradient of it. */
typedef struct fd_tensor {
  char name[96];
  float *p;
  const float *g;
  size_t n, cols;
  bool light; /* check_tensor's */
} fd_tensor;

enum { MAX_TENSORS = 64 };

typedef struct fd_list {
  fd_tensor t[MAX_TENSORS];
  size_t n;
} fd_list;

static void add_tensor(fd_list *ls, const fd_case *c, const char *name, const float *p,
                       const float *g, size_t n, size_t cols) {
  ck_assert_uint_lt(ls->n, MAX_TENSORS);
  fd_tensor *t = &ls->t[ls->n++];
  snprintf(t->name, sizeof t->name, "%s %s", c->fam, name);
  t->p = (float *)p;
  t->g = g;
  t->n = n;
  t->cols = cols;
  t->light = false;
}

/* The same, for a tensor of an encoder block: checked light outside BERT. */
static void add_block_tensor(fd_list *ls, const fd_case *c, const char *name, const float *p,
                             const float *g, size_t n, size_t cols) {
  add_tensor(ls, c, name, p, g, n, cols);
  ls->t[ls->n - 1].light = c->m->cfg.family != TPA__FAM_BERT;
}

static void check_list(fd_case *c, const fd_list *ls) {
  for (size_t i = 0; i < ls->n; i++)
    check_tensor(c, ls->t[i].name, ls->t[i].p, ls->t[i].g, ls->t[i].n, ls->t[i].cols,
                 ls->t[i].light);
}

/* The head's dense and output layer, named as the family names them
 * (BERT's pooler.dense and classifier, RoBERTa's classifier.dense and
 * classifier.out_proj, DistilBERT's pre_classifier and classifier). */
static void add_head(fd_list *ls, const fd_case *c, const float *pw, const float *pb,
                     const float *gpw, const float *gpb, const float *cw, const float *cb,
                     const float *gcw, const float *gcb) {
  const tpa__config *cf = &c->m->cfg;
  const tpa__family_desc *f = tpa__family_get(cf->family);
  const size_t h = (size_t)cf->hidden, nl = (size_t)cf->num_labels;
  char name[80];
  if (pw) {
    snprintf(name, sizeof name, "%s.weight", f->head_dense);
    add_tensor(ls, c, name, pw, gpw, h * h, h);
    snprintf(name, sizeof name, "%s.bias", f->head_dense);
    add_tensor(ls, c, name, pb, gpb, h, h);
  }
  snprintf(name, sizeof name, "%s.weight", f->head_out);
  add_tensor(ls, c, name, cw, gcw, nl * h, h);
  snprintf(name, sizeof name, "%s.bias", f->head_out);
  add_tensor(ls, c, name, cb, gcb, nl, nl);
}

/* LoRA training's trainable tensors: A and B of every adapted module,
 * every LayerNorm copy, the head's dense copy (families whose head owns
 * it) and the output layer. */
static void lora_tensors(fd_case *c, fd_list *ls) {
  const tpa__config *cf = &c->m->cfg;
  const size_t h = (size_t)cf->hidden, e = (size_t)cf->emb;
  tpa_lora_set *s = c->lora, *g = c->glora;
  char name[80];
  static const char *const mod_name[TPA_LORA_ALL_MODULES] = {
      "query", "key", "value", "output", "intermediate", "ffn output"};
  ls->n = 0;
  for (int l = 0; l < cf->layers; l++)
    for (int k = 0; k < TPA_LORA_ALL_MODULES; k++) {
      tpa__lora_mod *mod = tpa__lora_at(s, l, k), *gm = tpa__lora_at(g, l, k);
      if (!mod->rank)
        continue;
      snprintf(name, sizeof name, "layer %d %s lora_A", l, mod_name[k]);
      add_block_tensor(ls, c, name, mod->a, gm->a, (size_t)mod->rank * mod->in, (size_t)mod->in);
      snprintf(name, sizeof name, "layer %d %s lora_B", l, mod_name[k]);
      add_block_tensor(ls, c, name, mod->b, gm->b, (size_t)mod->out * mod->rank, (size_t)mod->rank);
    }
  add_tensor(ls, c, "embeddings.LayerNorm.weight", s->emb_ln_g, g->emb_ln_g, e, e);
  add_tensor(ls, c, "embeddings.LayerNorm.bias", s->emb_ln_b, g->emb_ln_b, e, e);
  for (int l = 0; l < cf->layers; l++) {
    const size_t at = (size_t)l * h;
    snprintf(name, sizeof name, "layer %d attention LayerNorm.weight", l);
    add_block_tensor(ls, c, name, s->ln1_g + at, g->ln1_g + at, h, h);
    snprintf(name, sizeof name, "layer %d attention LayerNorm.bias", l);
    add_block_tensor(ls, c, name, s->ln1_b + at, g->ln1_b + at, h, h);
    snprintf(name, sizeof name, "layer %d output LayerNorm.weight", l);
    add_block_tensor(ls, c, name, s->ln2_g + at, g->ln2_g + at, h, h);
    snprintf(name, sizeof name, "layer %d output LayerNorm.bias", l);
    add_block_tensor(ls, c, name, s->ln2_b + at, g->ln2_b + at, h, h);
  }
  /* Frozen where the set has no copy (BERT's pooler): no gradient. */
  ck_assert(!s->pool_w == !g->pool_w);
  add_head(ls, c, s->pool_w, s->pool_b, g->pool_w, g->pool_b, s->cls_w, s->cls_b, g->cls_w,
           g->cls_b);
}

/* Full fine-tuning: every tensor of the model, ELECTRA's projection
 * included; no token type table for DistilBERT. */
static void full_tensors(fd_case *c, fd_list *ls) {
  const tpa__config *cf = &c->m->cfg;
  const size_t h = (size_t)cf->hidden, e = (size_t)cf->emb;
  tpa__weights *w = &c->m->w;
  tpa__weight_grads *G = &c->gw;
  ls->n = 0;
  add_tensor(ls, c, "word_embeddings", w->word_emb, G->word_emb, (size_t)cf->vocab * e, e);
  add_tensor(ls, c, "position_embeddings", w->pos_emb, G->pos_emb, (size_t)cf->max_pos * e, e);
  ck_assert(!w->type_emb == !tpa__family_get(cf->family)->token_types);
  if (w->type_emb)
    add_tensor(ls, c, "token_type_embeddings", w->type_emb, G->type_emb, (size_t)cf->type_vocab * e,
               e);
  add_tensor(ls, c, "embeddings.LayerNorm.weight", w->emb_ln_g, G->emb_ln_g, e, e);
  add_tensor(ls, c, "embeddings.LayerNorm.bias", w->emb_ln_b, G->emb_ln_b, e, e);
  ck_assert(!w->proj_w == (e == h));
  if (w->proj_w) {
    add_tensor(ls, c, "embeddings_project.weight", w->proj_w, G->proj_w, h * e, e);
    add_tensor(ls, c, "embeddings_project.bias", w->proj_b, G->proj_b, h, h);
  }
  char name[80];
  for (int l = 0; l < cf->layers; l++) {
    tpa__layer *L = &w->layer[l];
    tpa__layer_grad *g = &G->layer[l];
    const size_t hq = (size_t)L->n_heads * cf->head_dim, in = (size_t)L->inter;
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
      add_block_tensor(ls, c, name, t[i].p, t[i].g, t[i].count, t[i].cols);
    }
  }
  add_head(ls, c, w->pool_w, w->pool_b, G->pool_w, G->pool_b, w->cls_w, w->cls_b, G->cls_w,
           G->cls_b);
}

static void run_lora(tpa__family fam, int32_t num_labels, float dropout) {
  fd_case c;
  case_init(&c, fam, num_labels, false, dropout);
  compute_grads(&c);
  fd_list *ls = malloc(sizeof *ls);
  ck_assert_ptr_nonnull(ls);
  lora_tensors(&c, ls);
  check_list(&c, ls);
  free(ls);
  case_free(&c);
}

START_TEST(lora_classification) {
  run_lora(TPA__FAM_BERT, 3, 0.0f);
}
END_TEST

START_TEST(lora_regression) {
  run_lora(TPA__FAM_BERT, 1, 0.0f);
}
END_TEST

START_TEST(lora_dropout) {
  run_lora(TPA__FAM_BERT, 3, 0.2f);
}
END_TEST

/* Position rows: those tpa__positions gives the batch's tokens (checked
 * here against HF's create_position_ids_from_input_ids: 0..S-1, or
 * padding_idx + the running count of non-pad ids, padding_idx on pads)
 * get gradient, every other row none and the loss does not depend on
 * them. Pads are never attended to, so their rows (padding_idx's for
 * RoBERTa) get nothing either. */
static void check_positions(fd_case *c) {
  const tpa__config *cf = &c->m->cfg;
  const tpa__family_desc *f = tpa__family_get(cf->family);
  const size_t e = (size_t)cf->emb;
  int32_t pos[BATCH * SEQ];
  bool used[64] = {false}, shifted = false;
  ck_assert_int_le(cf->max_pos, 64);
  checking = "position_embeddings";
  tpa__positions(f->pad_positions, cf->pad_id, c->ids, BATCH, SEQ, pos);
  for (int b = 0; b < BATCH; b++) {
    int32_t count = 0;
    for (int s = 0; s < SEQ; s++) {
      const int t = b * SEQ + s;
      const bool pad = c->ids[t] == cf->pad_id;
      ck_assert_int_eq(pad, !c->mask[t]); /* the batch pads with pad_id */
      count += !pad;
      const int32_t want = !f->pad_positions ? s : pad ? cf->pad_id : cf->pad_id + count;
      ck_assert_msg(pos[t] == want, "%s: row %d token %d at position %d, want %d", c->fam, b, s,
                    pos[t], want);
      ck_assert_int_lt(pos[t], cf->max_pos);
      if (c->mask[t]) {
        used[pos[t]] = true;
        shifted |= pos[t] != s + (f->pad_positions ? cf->pad_id + 1 : 0);
      }
    }
  }
  /* RoBERTa's batch has a pad inside a row: not a mere shift of 0..S-1. */
  ck_assert(shifted == f->pad_positions);
  float *p = (float *)c->m->w.pos_emb;
  const float *g = c->gw.pos_emb;
  double *v = calloc((size_t)cf->max_pos * e, sizeof *v);
  ck_assert_ptr_nonnull(v);
  rng r = {17};
  for (int32_t row = 0; row < cf->max_pos; row++) {
    double norm = 0;
    for (size_t i = 0; i < e; i++)
      norm += (double)g[row * e + i] * g[row * e + i];
    if (used[row]) {
      ck_assert_msg(norm > 1e-12, "%s position_embeddings row %d: a token's, no gradient", c->fam,
                    row);
      continue;
    }
    ck_assert_msg(norm == 0, "%s position_embeddings row %d: no token's, |g| = %g", c->fam, row,
                  sqrt(norm));
    memset(v, 0, (size_t)cf->max_pos * e * sizeof *v);
    for (size_t i = 0; i < e; i++)
      v[row * e + i] = rng_normal(&r) / sqrt((double)e);
    const double d = fd_dir(c, p, v, (size_t)cf->max_pos * e, 1e-2);
    ck_assert_msg(fabs(d) < 1e-9, "%s position_embeddings row %d: no token's, derivative %g",
                  c->fam, row, d);
  }
  free(v);
}

static void run_full(tpa__family fam, int32_t num_labels, float dropout) {
  fd_case c;
  case_init(&c, fam, num_labels, true, dropout);
  compute_grads(&c);
  check_positions(&c);
  if (!c.m->w.type_emb) { /* DistilBERT: token type ids are not read */
    const double loss = loss_of(&c, NULL);
    int32_t save[BATCH * SEQ];
    memcpy(save, c.types, sizeof save);
    for (int t = 0; t < BATCH * SEQ; t++)
      c.types[t] = 1 - c.types[t];
    ck_assert_double_eq(loss_of(&c, NULL), loss);
    memcpy(c.types, save, sizeof save);
  }
  fd_list *ls = malloc(sizeof *ls);
  ck_assert_ptr_nonnull(ls);
  full_tensors(&c, ls);
  check_list(&c, ls);
  free(ls);
  case_free(&c);
}

START_TEST(full_classification) {
  run_full(TPA__FAM_BERT, 3, 0.0f);
}
END_TEST

START_TEST(full_regression) {
  run_full(TPA__FAM_BERT, 1, 0.15f);
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

/* Each example's own d loss / d mask of one head, central differences at
 * step eps (Richardson's extrapolation from eps and 2 eps with @p rich). */
static void head_mask_fd(fd_case *c, float *p, double eps, bool rich, double *fd) {
  float logits[BATCH * 3];
  const float save = *p;
  for (int e = 0; e < BATCH; e++)
    fd[e] = 0;
  for (int k = rich ? 0 : 1; k < 2; k++) {
    const double step = k ? eps : 2 * eps, w = !rich ? 1 : k ? 4.0 / 3 : -1.0 / 3;
    double up[BATCH];
    *p = (float)(save + step);
    loss_of(c, logits);
    for (int e = 0; e < BATCH; e++)
      up[e] = example_loss(c, logits, e);
    *p = (float)(save - step);
    loss_of(c, logits);
    for (int e = 0; e < BATCH; e++)
      fd[e] += w * (up[e] - example_loss(c, logits, e)) / (2 * step);
    *p = save;
  }
}

static void run_head_mask(tpa__family fam, int32_t num_labels, bool full) {
  fd_case c;
  case_init(&c, fam, num_labels, full, 0.0f);
  compute_grads(&c);
  const tpa__config *cf = &c.m->cfg;
  const int heads = cf->heads, layers = cf->layers;
  checking = "the head mask";
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
      float *p = &c.head_mask[l * heads + h];
      double fd[BATCH], q[BATCH], worst = 0;
      head_mask_fd(&c, p, 1e-3, false, fd);
      for (int e = 0; e < BATCH; e++) {
        const double got = c.hm_grad[(e * layers + l) * heads + h];
        q[e] = fabs(fd[e] - got) / (2e-4 + 1e-2 * fabs(fd[e]));
        worst = fmax(worst, q[e]);
      }
      if (worst > 1.0) {
        /* An example's loss is a difference of float32 logits: at this
         * step their rounding can exceed the tolerance. Retry at larger
         * steps, extrapolated (a wrong gradient fails both). */
        retried++;
        fprintf(stderr,
                "finite differences: %s head mask layer %d head %d retried at steps 4e-3 and "
                "8e-3\n",
                c.fam, l, h);
        head_mask_fd(&c, p, 4e-3, true, fd);
        for (int e = 0; e < BATCH; e++) {
          const double got = c.hm_grad[(e * layers + l) * heads + h];
          q[e] = fabs(fd[e] - got) / (2e-4 + 1e-2 * fabs(fd[e]));
        }
      }
      for (int e = 0; e < BATCH; e++) {
        worst_seen = fmax(worst_seen, q[e]);
        ck_assert_msg(q[e] <= 1.0,
                      "%s head mask layer %d head %d example %d: %.7g by finite "
                      "differences, %.7g computed",
                      c.fam, l, h, e, fd[e], (double)c.hm_grad[(e * layers + l) * heads + h]);
      }
    }
  }
  case_free(&c);
}

START_TEST(head_mask_classification) {
  run_head_mask(TPA__FAM_BERT, 3, false);
}
END_TEST

START_TEST(head_mask_regression_full) {
  run_head_mask(TPA__FAM_BERT, 1, true);
}
END_TEST

/* The other families: every gradient of full fine-tuning, LoRA's and
 * the head mask's, each family with dropout on (hidden, attention and
 * the head's) in one of them: RoBERTa and DistilBERT in LoRA (the head's
 * dropout before the set's copy of its dense), ELECTRA in full
 * fine-tuning (the embeddings' dropout before the projection, whose
 * weights LoRA freezes). Regression is BERT's above: the loss is
 * family-blind. */
START_TEST(roberta_full) {
  run_full(TPA__FAM_ROBERTA, 3, 0.0f);
}
END_TEST

START_TEST(roberta_lora_dropout) {
  run_lora(TPA__FAM_ROBERTA, 3, 0.2f);
}
END_TEST

START_TEST(roberta_head_mask) {
  run_head_mask(TPA__FAM_ROBERTA, 3, false);
}
END_TEST

START_TEST(distilbert_full) {
  run_full(TPA__FAM_DISTILBERT, 3, 0.0f);
}
END_TEST

START_TEST(distilbert_lora_dropout) {
  run_lora(TPA__FAM_DISTILBERT, 3, 0.2f);
}
END_TEST

START_TEST(distilbert_head_mask) {
  run_head_mask(TPA__FAM_DISTILBERT, 3, false);
}
END_TEST

START_TEST(electra_full_dropout) {
  run_full(TPA__FAM_ELECTRA, 3, 0.2f);
}
END_TEST

START_TEST(electra_lora) {
  run_lora(TPA__FAM_ELECTRA, 3, 0.0f);
}
END_TEST

START_TEST(electra_head_mask) {
  run_head_mask(TPA__FAM_ELECTRA, 3, false);
}
END_TEST

/* XLM-RoBERTa differs from RoBERTa in names only: on the same weights
 * and batch (pads, dropout, head mask and all) its loss and every
 * gradient, full and LoRA, are RoBERTa's bit for bit. */
START_TEST(xlmr_is_roberta) {
  for (int full = 0; full < 2; full++) {
    fd_case x, ro;
    case_init(&x, TPA__FAM_XLMR, 3, full, 0.2f);
    case_init(&ro, TPA__FAM_ROBERTA, 3, full, 0.2f);
    compute_grads(&x);
    compute_grads(&ro);
    ck_assert_double_eq(loss_of(&x, NULL), loss_of(&ro, NULL));
    fd_list *lx = malloc(sizeof *lx), *lr = malloc(sizeof *lr);
    ck_assert_ptr_nonnull(lx);
    ck_assert_ptr_nonnull(lr);
    if (full) {
      full_tensors(&x, lx);
      full_tensors(&ro, lr);
    } else {
      lora_tensors(&x, lx);
      lora_tensors(&ro, lr);
    }
    ck_assert_uint_eq(lx->n, lr->n);
    for (size_t i = 0; i < lx->n; i++) {
      ck_assert_uint_eq(lx->t[i].n, lr->t[i].n);
      ck_assert_msg(memcmp(lx->t[i].p, lr->t[i].p, lx->t[i].n * sizeof(float)) == 0,
                    "%s: weights differ", lx->t[i].name);
      ck_assert_msg(memcmp(lx->t[i].g, lr->t[i].g, lx->t[i].n * sizeof(float)) == 0,
                    "%s: gradient differs from RoBERTa's", lx->t[i].name);
    }
    const size_t nh = (size_t)BATCH * x.m->cfg.layers * x.m->cfg.heads;
    ck_assert(memcmp(x.hm_grad, ro.hm_grad, nh * sizeof *x.hm_grad) == 0);
    free(lx);
    free(lr);
    case_free(&x);
    case_free(&ro);
  }
}
END_TEST

/* A layer narrower than intermediate_size is the same model as one of
 * full width whose extra neurons have zero rows in the intermediate dense
 * (and bias) and zero columns in the output dense: the same loss, the
 * same gradient for every shared parameter. Exact equations, no step
 * size: this checks the narrow layer's strides in the gradient engine
 * (the model's second layer here; the finite-difference cases narrow the
 * first). */
START_TEST(narrow_layer_is_zero_padding) {
  static const int32_t narrow[2] = {20, 13}, wide[2] = {20, 20};
  fd_case n, w;
  ffn_override = narrow;
  case_init(&n, TPA__FAM_BERT, 3, true, 0.2f);
  ffn_override = wide;
  case_init(&w, TPA__FAM_BERT, 3, true, 0.2f);
  ffn_override = NULL;
  const size_t H = 16, I = 20, K = 13;
  tpa__layer *L = &w.m->w.layer[1];
  float *iw = (float *)L->i_w, *ib = (float *)L->i_b, *fw = (float *)L->f_w;
  for (size_t j = K; j < I; j++) {
    memset(iw + j * H, 0, H * sizeof *iw);
    ib[j] = 0;
    for (size_t r = 0; r < H; r++)
      fw[r * I + j] = 0;
  }
  w.w = w.m->w;
  compute_grads(&n);
  compute_grads(&w);
  const double ln = loss_of(&n, NULL), lw = loss_of(&w, NULL);
  ck_assert_msg(fabs(ln - lw) <= 1e-6 * fabs(lw), "loss %.9g narrow, %.9g zero-padded", ln, lw);
  fd_list *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  ck_assert(a && b);
  full_tensors(&n, a);
  full_tensors(&w, b);
  ck_assert_uint_eq(a->n, b->n);
  for (size_t t = 0; t < a->n; t++) {
    const fd_tensor *x = &a->t[t], *y = &b->t[t];
    const bool i_dense = strstr(x->name, "layer 1 intermediate.dense") != NULL;
    const bool o_dense = strstr(x->name, "layer 1 output.dense.weight") != NULL;
    double scale = 0;
    for (size_t i = 0; i < y->n; i++)
      scale = fmax(scale, fabs((double)y->g[i]));
    for (size_t i = 0; i < x->n; i++) {
      /* The narrow layer's entries sit at other positions in the wide one. */
      const size_t at = o_dense ? (i / K) * I + i % K : i;
      ck_assert_msg(fabs((double)x->g[i] - (double)y->g[at]) <= 1e-5 * scale + 1e-9,
                    "%s[%zu]: %.9g narrow, %.9g zero-padded", x->name, i, (double)x->g[i],
                    (double)y->g[at]);
    }
    if (i_dense || o_dense)
      ck_assert_uint_eq(y->n, x->n / K * I);
    else
      ck_assert_uint_eq(x->n, y->n);
  }
  free(a);
  free(b);
  case_free(&n);
  case_free(&w);
}
END_TEST

static void report(void) {
  fprintf(stderr,
          "finite differences: worst tolerance ratio %.3f (fails above 1), %d checks retried at "
          "another step\n",
          worst_seen, retried);
}

Suite *fd_suite(void) {
  const grad_case cases[] = {{"LoRA classification", lora_classification},
                             {"LoRA regression", lora_regression},
                             {"LoRA with dropout", lora_dropout},
                             {"full classification", full_classification},
                             {"full regression with dropout", full_regression},
                             {"head mask per example", head_mask_classification},
                             {"head mask regression full", head_mask_regression_full},
                             {"roberta full", roberta_full},
                             {"roberta LoRA with dropout", roberta_lora_dropout},
                             {"roberta head mask", roberta_head_mask},
                             {"xlm-roberta is roberta", xlmr_is_roberta},
                             {"narrow layer is zero padding", narrow_layer_is_zero_padding},
                             {"distilbert full", distilbert_full},
                             {"distilbert LoRA with dropout", distilbert_lora_dropout},
                             {"distilbert head mask", distilbert_head_mask},
                             {"electra full with dropout", electra_full_dropout},
                             {"electra LoRA", electra_lora},
                             {"electra head mask", electra_head_mask}};
  return grad_suite("finite differences", cases, sizeof cases / sizeof cases[0], report);
}
