/* SPDX-License-Identifier: Apache-2.0 */
/* The gradient engine on RoBERTa, XLM-RoBERTa, DistilBERT and ELECTRA
 * against PyTorch: the losses, logits, gradients and head-mask gradients
 * that tests/fixtures/gen_grad_family_fixtures.py computed with
 * torch.autograd in float64 (HF's math of each family in
 * tests/fixtures/torch_families.py) for the checkpoints under
 * tests/fixtures/families, pruned ones included (test_torch.c does the
 * same for BERT). For each directory:
 *  - LoRA: the fixture's adapter (per-module ranks and alphas, some
 *    modules and blocks without LoRA) on the model loaded from disk; the
 *    gradients of A and B and of the set's trainable copies (every
 *    LayerNorm and the head's dense and output layer), and the adapter's
 *    plain forward;
 *  - full fine-tuning: copies of every tensor, found and named by the
 *    library's tensor list (model/tensors.h) as the trainer does; every
 *    gradient against the reference of the same HF name, both ways (no
 *    tensor without a reference, no reference without a tensor), in one
 *    micro-batch and in one row per micro-batch; a tensor the family
 *    lacks (DistilBERT's token types, the projection of all but ELECTRA)
 *    has no gradient;
 *  - importance: d l_e / d m_{l,h} of each example's own loss, by
 *    original head (0 for pruned heads), for the batch and for each row
 *    alone.
 * Tolerance: |got - want| <= TOL * max |want| over the tensor (float32
 * against float64), for a bias over its layer's weight too (key biases
 * have a zero gradient). Runs oneDNN, so CK_FORK=no. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/family.h"
#include "model/grad_internal.h"
#include "model/tensors.h"
#include "stages/lora.h"
#include "tpa/tpa.h"

#define TOL 1e-4
/* Below this a whole tensor counts as zero (scale of the tolerance). */
#define FLOOR 1e-7

static const char *const cases[] = {"roberta",       "roberta-pruned",    "xlmr",
                                    "distilbert",    "distilbert-pruned", "electra",
                                    "electra-pruned"};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static const char *const mod_name[TPA_LORA_MODULES] = {"query", "key", "value", "output"};

typedef struct ref {
  const char *dir;
  tpa__st_file f;
  tpa_model *m;
  int32_t batch, seq;
  int32_t *ids, *types, *mask;
  float *labels;
} ref;

static const tpa__st_tensor *find(const ref *r, const char *name) {
  return tpa__st_find(&r->f, name);
}

static const float *tensor(const ref *r, const char *name, size_t *n) {
  const tpa__st_tensor *t = find(r, name);
  ck_assert_msg(t != NULL, "%s: reference has no tensor %s", r->dir, name);
  const float *p;
  float *owned;
  ck_assert_int_eq(tpa__st_as_f32(&r->f, t, &p, &owned), TPA_OK);
  ck_assert_ptr_null(owned); /* F32, aligned */
  if (n)
    *n = t->numel;
  return p;
}

static int32_t *as_ints(const float *p, size_t n) {
  int32_t *v = malloc(n * sizeof *v);
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < n; i++)
    v[i] = (int32_t)p[i];
  return v;
}

static void ref_open(ref *r, const char *dir) {
  memset(r, 0, sizeof *r);
  r->dir = dir;
  const char *root = getenv("TPA_FIXTURES");
  ck_assert_msg(root != NULL, "TPA_FIXTURES is not set");
  char path[4096];
  snprintf(path, sizeof path, "%s/grad/families-%s.safetensors", root, dir);
  tpa_status s = tpa__st_open(&r->f, path);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  snprintf(path, sizeof path, "%s/families/%s", root, dir);
  s = tpa_model_load(&r->m, path, NULL);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  const tpa__st_tensor *t = find(r, "input.ids");
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->ndim, 2);
  r->batch = (int32_t)t->shape[0];
  r->seq = (int32_t)t->shape[1];
  size_t n = 0;
  const float *p = tensor(r, "input.ids", &n); /* (n is set by the call) */
  r->ids = as_ints(p, n);
  p = tensor(r, "input.type_ids", &n);
  r->types = as_ints(p, n);
  p = tensor(r, "input.mask", &n);
  r->mask = as_ints(p, n);
  r->labels = malloc((size_t)r->batch * sizeof *r->labels);
  ck_assert_ptr_nonnull(r->labels);
  memcpy(r->labels, tensor(r, "input.labels", NULL), (size_t)r->batch * sizeof *r->labels);
}

static void ref_close(ref *r) {
  free(r->ids), free(r->types), free(r->mask), free(r->labels);
  tpa_model_free(r->m);
  tpa__st_close(&r->f);
}

static tpa__batch batch_of(const ref *r) {
  return (tpa__batch){r->batch, r->seq, r->ids, r->types, r->mask, r->labels};
}

/* References whose name starts with @p prefix. */
static size_t count_prefixed(const ref *r, const char *prefix) {
  size_t k = 0;
  for (size_t i = 0; i < r->f.n; i++)
    k += strncmp(r->f.t[i].name, prefix, strlen(prefix)) == 0;
  return k;
}

/* Worst deviation seen over the suite, relative to each tensor's largest
 * magnitude (printed for calibration). */
static double worst_seen;
static char worst_where[256];

/* got[0..n) vs want[0..n): max |d| <= TOL * max(@p floor, FLOOR, max |want|). */
static void compare_floor(const ref *r, const char *what, const float *got, const float *want,
                          size_t n, double floor) {
  double scale = fmax(FLOOR, floor), worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++)
    scale = fmax(scale, fabs((double)want[i]));
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= worst)) {
      worst = isnan(d) ? INFINITY : d;
      at = i;
    }
  }
  if (worst / scale > worst_seen) {
    worst_seen = worst / scale;
    snprintf(worst_where, sizeof worst_where, "%s %s", r->dir, what);
  }
  ck_assert_msg(worst <= TOL * scale, "%s: %s[%zu]: %.8g, PyTorch %.8g (max |PyTorch| %.3g)",
                r->dir, what, at, n ? (double)got[at] : 0.0, n ? (double)want[at] : 0.0, scale);
}

static void compare(const ref *r, const char *what, const float *got, const float *want, size_t n) {
  compare_floor(r, what, got, want, n, 0.0);
}

/* max |x| of reference tensor @p name (0 if absent). */
static double max_abs(const ref *r, const char *name) {
  if (!find(r, name))
    return 0.0;
  size_t n;
  const float *p = tensor(r, name, &n);
  double m = 0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs((double)p[i]));
  return m;
}

/* A bias is held to the scale of its layer's weight as well: some are
 * zero by symmetry (softmax ignores what the key bias adds to every
 * score of a row, so d loss / d key.bias = 0 exactly, and float32 leaves
 * rounding noise of the size of the key weight's gradient times 1e-6). */
static void expect(const ref *r, const char *name, const float *got, size_t n) {
  size_t rn;
  const float *want = tensor(r, name, &rn);
  ck_assert_msg(rn == n, "%s: %s: %zu values, reference has %zu", r->dir, name, n, rn);
  double floor = 0.0;
  const size_t len = strlen(name);
  if (len > 5 && strcmp(name + len - 5, ".bias") == 0) {
    char weight[256];
    snprintf(weight, sizeof weight, "%.*s.weight", (int)(len - 5), name);
    floor = max_abs(r, weight);
  }
  compare_floor(r, name, got, want, n, floor);
}

static float *copy_of(const float *p, size_t n) {
  float *c = malloc((n ? n : 1) * sizeof *c);
  ck_assert_ptr_nonnull(c);
  if (n)
    memcpy(c, p, n * sizeof *c);
  return c;
}

/* n floats of NaN: a gradient the engine must overwrite. */
static float *nans(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < n; i++)
    p[i] = NAN;
  return p;
}

/* ------------------------------------------------------------------ LoRA */

/* The fixture's adapter: modules with an A tensor get its rank and the
 * stored alpha, the others none. */
static tpa_lora_set *fixture_adapter(const ref *r) {
  const int32_t layers = r->m->cfg.layers;
  int32_t ranks[64];
  float alphas[64];
  ck_assert_int_le(layers * TPA_LORA_MODULES, 64);
  int adapted = 0;
  for (int32_t l = 0; l < layers; l++)
    for (int k = 0; k < TPA_LORA_MODULES; k++) {
      char name[64];
      snprintf(name, sizeof name, "lora.%d.%s.A", l, mod_name[k]);
      const tpa__st_tensor *t = find(r, name);
      ranks[l * TPA_LORA_MODULES + k] = t ? (int32_t)t->shape[0] : 0;
      snprintf(name, sizeof name, "lora.%d.%s.alpha", l, mod_name[k]);
      alphas[l * TPA_LORA_MODULES + k] = t ? tensor(r, name, NULL)[0] : 0.0f;
      adapted += t != NULL;
    }
  ck_assert_int_gt(adapted, 0);
  ck_assert_int_lt(adapted, layers * TPA_LORA_MODULES); /* some modules without LoRA */
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = ranks;
  p.alphas = alphas;
  tpa_lora_set *s = NULL;
  tpa_status st = tpa_lora_set_create(&s, r->m, &p);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < layers; l++)
    for (int k = 0; k < TPA_LORA_MODULES; k++) {
      tpa__lora_mod *mod = tpa__lora_at(s, l, k);
      ck_assert_int_eq(mod->rank, ranks[l * TPA_LORA_MODULES + k]);
      if (mod->rank == 0)
        continue;
      ck_assert_float_eq(mod->alpha, alphas[l * TPA_LORA_MODULES + k]);
      char name[64];
      size_t n;
      snprintf(name, sizeof name, "lora.%d.%s.A", l, mod_name[k]);
      const float *a = tensor(r, name, &n);
      ck_assert_uint_eq(n, (size_t)mod->rank * mod->in);
      memcpy(mod->a, a, n * sizeof *a);
      snprintf(name, sizeof name, "lora.%d.%s.B", l, mod_name[k]);
      const float *b = tensor(r, name, &n);
      ck_assert_uint_eq(n, (size_t)mod->out * mod->rank);
      memcpy(mod->b, b, n * sizeof *b);
    }
  return s;
}

START_TEST(lora_gradients) {
  ref r;
  ref_open(&r, cases[_i]);
  const tpa__config *c = &r.m->cfg;
  const tpa__family_desc *f = tpa__family_get(c->family);
  ck_assert_int_ne(c->family, TPA__FAM_BERT);
  tpa_lora_set *s = fixture_adapter(&r), *g = NULL;
  ck_assert_int_eq(tpa__lora_set_clone_zero(&g, s), TPA_OK);
  /* The head's dense is a trainable copy in these families. */
  ck_assert_ptr_nonnull(g->pool_w);
  ck_assert_ptr_nonnull(g->pool_b);
  tpa__weights w;
  tpa__layer *layers = NULL;
  ck_assert_int_eq(tpa__lora_effective_weights(s, r.m, &w, &layers), TPA_OK);
  tpa__batch b = batch_of(&r);
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, b.batch, b.seq), TPA_OK);
  tpa__grad_out out = {.lora = g};
  tpa__grad_opts o;
  memset(&o, 0, sizeof o);
  const size_t nl = (size_t)c->num_labels, h = (size_t)c->hidden, e = (size_t)c->emb;
  double loss;
  float *logits = nans((size_t)b.batch * nl);
  tpa_status st = tpa__loss_and_grads(wk, r.m, &w, s, &b, &o, &loss, logits, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  expect(&r, "lora.loss", &(float){(float)loss}, 1);
  expect(&r, "lora.logits", logits, (size_t)b.batch * nl);
  char name[160];
  size_t checked = 0;
  for (int32_t l = 0; l < c->layers; l++)
    for (int k = 0; k < TPA_LORA_MODULES; k++) {
      tpa__lora_mod *gm = tpa__lora_at(g, l, k);
      snprintf(name, sizeof name, "lora.grad.%d.%s.A", l, mod_name[k]);
      if (!find(&r, name)) { /* no LoRA there: no gradient either */
        ck_assert_int_eq(gm->rank, 0);
        ck_assert_ptr_null(gm->a);
        ck_assert_ptr_null(gm->b);
        continue;
      }
      expect(&r, name, gm->a, (size_t)gm->rank * gm->in);
      snprintf(name, sizeof name, "lora.grad.%d.%s.B", l, mod_name[k]);
      expect(&r, name, gm->b, (size_t)gm->out * gm->rank);
      checked += 2;
    }
  /* The trainable copies, by the family's HF names. */
  snprintf(name, sizeof name, "lora.grad.%sembeddings.LayerNorm.weight", f->prefix);
  expect(&r, name, g->emb_ln_g, e);
  snprintf(name, sizeof name, "lora.grad.%sembeddings.LayerNorm.bias", f->prefix);
  expect(&r, name, g->emb_ln_b, e);
  checked += 2;
  for (int32_t l = 0; l < c->layers; l++) {
    const struct {
      const char *ln, *part;
      const float *p;
    } t[] = {{f->ln1, "weight", g->ln1_g + l * h},
             {f->ln1, "bias", g->ln1_b + l * h},
             {f->ln2, "weight", g->ln2_g + l * h},
             {f->ln2, "bias", g->ln2_b + l * h}};
    for (size_t i = 0; i < 4; i++) {
      snprintf(name, sizeof name, "lora.grad.%s%s.%d.%s.%s", f->prefix, f->layer, l, t[i].ln,
               t[i].part);
      expect(&r, name, t[i].p, h);
      checked++;
    }
  }
  snprintf(name, sizeof name, "lora.grad.%s.weight", f->head_dense);
  expect(&r, name, g->pool_w, h * h);
  snprintf(name, sizeof name, "lora.grad.%s.bias", f->head_dense);
  expect(&r, name, g->pool_b, h);
  snprintf(name, sizeof name, "lora.grad.%s.weight", f->head_out);
  expect(&r, name, g->cls_w, nl * h);
  snprintf(name, sizeof name, "lora.grad.%s.bias", f->head_out);
  expect(&r, name, g->cls_b, nl);
  checked += 4;
  /* Every reference gradient was compared. */
  ck_assert_uint_eq(checked, count_prefixed(&r, "lora.grad."));

  /* The adapter's plain forward gives the same logits. */
  for (size_t i = 0; i < (size_t)b.batch * nl; i++)
    logits[i] = NAN;
  st = tpa__forward_lora(wk, r.m, &w, s, &b, logits);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  expect(&r, "lora.logits", logits, (size_t)b.batch * nl);

  free(logits);
  tpa__grad_work_free(wk);
  free(layers);
  tpa_lora_set_free(g);
  tpa_lora_set_free(s);
  ref_close(&r);
}
END_TEST

/* ------------------------------------------------------ full fine-tuning */

/* Trainable copies of every tensor and a gradient mirror, both built
 * from the library's tensor list (as stages/train_tensors.c does). */
typedef struct full_model {
  tpa__weights w, gw;
  tpa__layer *wl, *gl;
  tpa__named_tensor *pn, *gn;
  size_t n;
  tpa__layer_grad *lg;
  tpa__weight_grads G;
} full_model;

static void full_open(full_model *fm, const tpa_model *m) {
  memset(fm, 0, sizeof *fm);
  ck_assert_int_eq(tpa__model_weights_copy(m, &fm->w, &fm->wl), TPA_OK);
  ck_assert_int_eq(tpa__model_weights_copy(m, &fm->gw, &fm->gl), TPA_OK);
  fm->n = tpa__model_tensors(&m->cfg, &fm->w, NULL, 0);
  ck_assert_uint_eq(tpa__model_tensors(&m->cfg, &fm->gw, NULL, 0), fm->n);
  fm->pn = calloc(fm->n, sizeof *fm->pn);
  fm->gn = calloc(fm->n, sizeof *fm->gn);
  ck_assert(fm->pn && fm->gn);
  tpa__model_tensors(&m->cfg, &fm->w, fm->pn, fm->n);
  tpa__model_tensors(&m->cfg, &fm->gw, fm->gn, fm->n);
  for (size_t i = 0; i < fm->n; i++) {
    ck_assert_ptr_nonnull(*fm->pn[i].ptr);
    *fm->pn[i].ptr = copy_of(*fm->pn[i].ptr, fm->pn[i].count);
    *fm->gn[i].ptr = nans(fm->gn[i].count);
  }
#define G(x) ((float *)(x))
  fm->lg = calloc((size_t)m->cfg.layers, sizeof *fm->lg);
  ck_assert_ptr_nonnull(fm->lg);
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    const tpa__layer *y = &fm->gl[l];
    fm->lg[l] =
        (tpa__layer_grad){G(y->q_w), G(y->q_b), G(y->k_w),   G(y->k_b),   G(y->v_w), G(y->v_b),
                          G(y->o_w), G(y->o_b), G(y->ln1_g), G(y->ln1_b), G(y->i_w), G(y->i_b),
                          G(y->f_w), G(y->f_b), G(y->ln2_g), G(y->ln2_b)};
  }
  fm->G = (tpa__weight_grads){.word_emb = G(fm->gw.word_emb),
                              .pos_emb = G(fm->gw.pos_emb),
                              .type_emb = G(fm->gw.type_emb),
                              .emb_ln_g = G(fm->gw.emb_ln_g),
                              .emb_ln_b = G(fm->gw.emb_ln_b),
                              .proj_w = G(fm->gw.proj_w),
                              .proj_b = G(fm->gw.proj_b),
                              .layer = fm->lg,
                              .pool_w = G(fm->gw.pool_w),
                              .pool_b = G(fm->gw.pool_b),
                              .cls_w = G(fm->gw.cls_w),
                              .cls_b = G(fm->gw.cls_b)};
#undef G
}

static void full_close(full_model *fm) {
  for (size_t i = 0; i < fm->n; i++) {
    free((void *)*fm->pn[i].ptr);
    free((void *)*fm->gn[i].ptr);
  }
  free(fm->pn), free(fm->gn), free(fm->wl), free(fm->gl), free(fm->lg);
}

/* Compare every gradient of @p fm with the reference of its name. */
static void check_full(const ref *r, const full_model *fm) {
  char name[192];
  size_t dense = 0, sparse = 0;
  for (size_t i = 0; i < fm->n; i++) {
    const tpa__named_tensor *t = &fm->gn[i];
    const float *got = *t->ptr;
    snprintf(name, sizeof name, "full.grad.%s", t->name);
    if (find(r, name)) {
      expect(r, name, got, t->count);
      dense++;
      continue;
    }
    /* Stored as the rows of the batch's ids; every other row is 0. */
    snprintf(name, sizeof name, "full.sparse.%s.ids", t->name);
    ck_assert_msg(find(r, name) != NULL, "%s: no reference gradient for %s", r->dir, t->name);
    ck_assert_int_eq(t->ndims, 2);
    size_t k, nrows;
    const float *ids = tensor(r, name, &k);
    snprintf(name, sizeof name, "full.sparse.%s.rows", t->name);
    const float *want = tensor(r, name, &nrows);
    const size_t cols = (size_t)t->dims[1];
    ck_assert_uint_eq(nrows, k * cols);
    float *picked = malloc((nrows ? nrows : 1) * sizeof *picked);
    ck_assert_ptr_nonnull(picked);
    for (size_t j = 0, at = 0; j < (size_t)t->dims[0]; j++) {
      const float *row = got + j * cols;
      if (at < k && (size_t)ids[at] == j) {
        memcpy(picked + at * cols, row, cols * sizeof *row);
        at++;
        continue;
      }
      for (size_t q = 0; q < cols; q++)
        ck_assert_msg(row[q] == 0.0f, "%s: %s row %zu (not in the batch): %g", r->dir, t->name, j,
                      (double)row[q]);
    }
    snprintf(name, sizeof name, "full.sparse.%s.rows", t->name);
    compare(r, name, picked, want, nrows);
    free(picked);
    sparse++;
  }
  /* Both ways: every reference gradient belongs to a tensor of the list. */
  ck_assert_uint_eq(dense, count_prefixed(r, "full.grad."));
  ck_assert_uint_eq(sparse, count_prefixed(r, "full.sparse.") / 2);
}

/* Tensors the family does not have: no weight, no gradient. */
static void check_absent(const ref *r, const full_model *fm) {
  const tpa__config *c = &r->m->cfg;
  const tpa__family_desc *f = tpa__family_get(c->family);
  char name[192];
  snprintf(name, sizeof name, "full.grad.%sembeddings.token_type_embeddings.weight", f->prefix);
  if (f->token_types) {
    ck_assert_ptr_nonnull(r->m->w.type_emb);
    ck_assert_ptr_nonnull(fm->G.type_emb);
    ck_assert_ptr_nonnull(find(r, name));
  } else { /* DistilBERT */
    ck_assert_int_eq(c->family, TPA__FAM_DISTILBERT);
    ck_assert_ptr_null(r->m->w.type_emb);
    ck_assert_ptr_null(fm->G.type_emb);
    ck_assert_ptr_null(find(r, name));
  }
  snprintf(name, sizeof name, "full.grad.%sembeddings_project.weight", f->prefix);
  if (c->family == TPA__FAM_ELECTRA) {
    ck_assert_int_ne(c->emb, c->hidden);
    ck_assert_ptr_nonnull(fm->G.proj_w);
    ck_assert_ptr_nonnull(fm->G.proj_b);
    ck_assert_ptr_nonnull(find(r, name));
  } else {
    ck_assert_int_eq(c->emb, c->hidden);
    ck_assert_ptr_null(r->m->w.proj_w);
    ck_assert_ptr_null(fm->G.proj_w);
    ck_assert_ptr_null(fm->G.proj_b);
    ck_assert_ptr_null(find(r, name));
  }
  /* No pooler: the head's dense is the family's own. */
  ck_assert(!f->head_in_base);
  ck_assert_uint_eq(count_prefixed(r, "full.grad.bert."), 0);
}

static void full_case(int i, size_t micro_rows) {
  ref r;
  ref_open(&r, cases[i]);
  full_model fm;
  full_open(&fm, r.m);
  check_absent(&r, &fm);
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, r.batch, r.seq), TPA_OK);
  if (micro_rows)
    tpa__grad_work_set_micro_tokens(wk, micro_rows * (size_t)r.seq);
  tpa__grad_out out = {.w = &fm.G};
  tpa__batch b = batch_of(&r);
  const size_t nl = (size_t)r.m->cfg.num_labels;
  float *logits = nans((size_t)r.batch * nl);
  double loss;
  tpa_status st = tpa__loss_and_grads(wk, r.m, &fm.w, NULL, &b, NULL, &loss, logits, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  expect(&r, "full.loss", &(float){(float)loss}, 1);
  expect(&r, "full.logits", logits, (size_t)r.batch * nl);
  check_full(&r, &fm);
  free(logits);
  tpa__grad_work_free(wk);
  full_close(&fm);
  ref_close(&r);
}

START_TEST(full_gradients) {
  full_case(_i, 0);
}
END_TEST

START_TEST(full_micro_batches) {
  full_case(_i, 1); /* one row per micro-batch: accumulation and per-row positions */
}
END_TEST

/* ------------------------------------------------------------ importance */

START_TEST(head_mask_per_example) {
  ref r;
  ref_open(&r, cases[_i]);
  const tpa__config *c = &r.m->cfg;
  const size_t per = (size_t)c->layers * c->heads, n = (size_t)r.batch * per;
  float *hm = nans(n);
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, r.batch, r.seq), TPA_OK);
  tpa__grad_out out = {.head_mask_per_example = hm};
  tpa__batch b = batch_of(&r);
  double loss;
  /* Only the head mask's gradient, on the model's own weights. */
  tpa_status st = tpa__loss_and_grads(wk, r.m, &r.m->w, NULL, &b, NULL, &loss, NULL, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  expect(&r, "full.loss", &(float){(float)loss}, 1);
  expect(&r, "head_mask.per_example", hm, n);
  /* Pruned heads: exactly 0. */
  for (int32_t l = 0; l < c->layers; l++) {
    const tpa__layer *L = &r.m->w.layer[l];
    for (int32_t h = 0; h < c->heads; h++) {
      bool kept = false;
      for (int32_t k = 0; k < L->n_heads; k++)
        kept |= (L->head_ids ? L->head_ids[k] : k) == h;
      for (int32_t e = 0; !kept && e < r.batch; e++)
        ck_assert_msg(hm[(size_t)e * per + (size_t)l * c->heads + h] == 0.0f,
                      "%s: pruned head %d of layer %d has mask gradient %g", r.dir, h, l,
                      (double)hm[(size_t)e * per + (size_t)l * c->heads + h]);
    }
  }
  /* Each row alone (its padding kept) gives its own loss and row. */
  size_t k;
  const float *want_loss = tensor(&r, "head_mask.loss", &k);
  ck_assert_uint_eq(k, (size_t)r.batch);
  const float *want_hm = tensor(&r, "head_mask.per_example", NULL);
  for (int32_t e = 0; e < r.batch; e++) {
    const size_t o = (size_t)e * r.seq;
    tpa__batch one = {1, r.seq, r.ids + o, r.types + o, r.mask + o, r.labels + e};
    for (size_t i = 0; i < per; i++)
      hm[i] = NAN;
    st = tpa__loss_and_grads(wk, r.m, &r.m->w, NULL, &one, NULL, &loss, NULL, &out);
    ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
    char what[64];
    snprintf(what, sizeof what, "head_mask.loss[%d]", e);
    compare(&r, what, &(float){(float)loss}, want_loss + e, 1);
    snprintf(what, sizeof what, "head_mask.per_example[%d] alone", e);
    compare(&r, what, hm, want_hm + (size_t)e * per, per);
  }
  tpa__grad_work_free(wk);
  free(hm);
  ref_close(&r);
}
END_TEST

static void report(void) {
  fprintf(stderr,
          "PyTorch agreement (families): worst deviation %.2g of the tensor's max magnitude "
          "(tolerance %g), at %s\n",
          worst_seen, TOL, worst_where);
}

static Suite *families_grad_suite(void) {
  Suite *s = suite_create("pytorch families");
  const struct {
    const char *name;
    const TTest *fn;
  } tests[] = {{"LoRA gradients", lora_gradients},
               {"full gradients", full_gradients},
               {"full gradients, micro-batches", full_micro_batches},
               {"head mask per example", head_mask_per_example}};
  const size_t n = sizeof tests / sizeof tests[0];
  for (size_t i = 0; i < n; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, tests[i].fn, 0, N_CASES);
    if (i + 1 == n)
      tcase_add_unchecked_fixture(tc, NULL, report);
    suite_add_tcase(s, tc);
  }
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(families_grad_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
