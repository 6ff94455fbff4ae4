/* SPDX-License-Identifier: Apache-2.0 */
/* Agreement with PyTorch: the loss and the gradients that
 * tests/fixtures/gen_grad_fixtures.py computed with torch.autograd in
 * float64 (HF's BERT math in tests/fixtures/torch_bert.py) for the tiny
 * fixture model on real SST-2 token ids: LoRA training from a non-zero
 * adapter with ranks 4/2/4 by block, full fine-tuning (a subset of
 * tensors, on weight copies so the unpacked path runs), per-example
 * head-mask gradients, and the adapter's logits. The model is loaded
 * from disk, so LoRA runs on the packed inference weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grad_tests.h"
#include "io/safetensors.h"
#include "model/grad_internal.h"
#include "tpa/tpa.h"

#define TOL 1e-4

typedef struct ref {
  tpa__st_file f;
  tpa_model *m;
  int32_t batch, seq;
  int32_t *ids, *types, *mask;
  float *labels;
} ref;

static const float *tensor(const ref *r, const char *name, size_t *n) {
  if (n)
    *n = 0;
  const tpa__st_tensor *t = tpa__st_find(&r->f, name);
  ck_assert_msg(t != NULL, "reference has no tensor %s", name);
  const float *p;
  float *owned;
  ck_assert_int_eq(tpa__st_as_f32(&r->f, t, &p, &owned), TPA_OK);
  ck_assert_ptr_null(owned); /* F32, aligned: the writer aligns every tensor */
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

static void ref_open(ref *r) {
  memset(r, 0, sizeof *r);
  const char *root = getenv("TPA_FIXTURES");
  ck_assert_msg(root != NULL, "TPA_FIXTURES is not set");
  char path[4096];
  snprintf(path, sizeof path, "%s/grad/reference.safetensors", root);
  tpa_status s = tpa__st_open(&r->f, path);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  snprintf(path, sizeof path, "%s/tiny", root);
  s = tpa_model_load(&r->m, path, NULL);
  ck_assert_msg(s == TPA_OK, "%s", tpa_last_error());
  const tpa__st_tensor *t = tpa__st_find(&r->f, "input.ids");
  ck_assert_ptr_nonnull(t);
  r->batch = (int32_t)t->shape[0];
  r->seq = (int32_t)t->shape[1];
  size_t n = 0;
  const float *p = tensor(r, "input.ids", &n);
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

/* Worst deviation seen over the suite (printed for calibration). */
static double worst_seen;

/* got vs the reference tensor: |d| <= TOL * max(1, |want|). */
static void expect(const ref *r, const char *name, const float *got, size_t n) {
  size_t rn;
  const float *want = tensor(r, name, &rn);
  ck_assert_msg(rn == n, "%s: %zu values, reference has %zu", name, n, rn);
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    double q = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
    if (!(q <= worst)) {
      worst = isnan(q) ? INFINITY : q;
      at = i;
    }
  }
  worst_seen = fmax(worst_seen, worst);
  ck_assert_msg(worst <= TOL, "%s[%zu]: %.8g, PyTorch %.8g", name, at, (double)got[at],
                (double)want[at]);
}

static tpa__batch batch_of(const ref *r) {
  return (tpa__batch){r->batch, r->seq, r->ids, r->types, r->mask, r->labels};
}

static const char *const mod_name[TPA_LORA_ALL_MODULES] = {"query",  "key",          "value",
                                                           "output", "intermediate", "ffn_output"};

/* The fixture's adapter of section @p sec ("lora": ranks 4/2/4 on the
 * attention, alpha 2r; "lora_ffn": the feed-forward's denses and block
 * 0's query, alpha 5) as a tpa_lora_set; modules without tensors get no
 * LoRA. */
static tpa_lora_set *fixture_adapter(const ref *r, const char *sec, float alpha) {
  const int32_t layers = r->m->cfg.layers;
  enum { ATT = TPA_LORA_MODULES, ALL = TPA_LORA_ALL_MODULES };
  int32_t ranks[64] = {0}, ffn_ranks[32] = {0};
  ck_assert_int_le(layers * ATT, 64);
  for (int32_t l = 0; l < layers; l++)
    for (int k = 0; k < ALL; k++) {
      char name[64];
      snprintf(name, sizeof name, "%s.%d.%s.A", sec, l, mod_name[k]);
      const tpa__st_tensor *t = tpa__st_find(&r->f, name);
      int32_t rank = t ? (int32_t)t->shape[0] : 0;
      if (k < ATT)
        ranks[l * ATT + k] = rank;
      else
        ffn_ranks[l * (ALL - ATT) + k - ATT] = rank;
    }
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ranks = ranks;
  p.ffn_ranks = ffn_ranks;
  p.alpha = alpha; /* 0 = 2 * rank */
  tpa_lora_set *s = NULL;
  tpa_status st = tpa_lora_set_create(&s, r->m, &p);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < layers; l++)
    for (int k = 0; k < ALL; k++) {
      tpa__lora_mod *mod = tpa__lora_at(s, l, k);
      if (!mod->rank)
        continue;
      ck_assert_float_eq(mod->alpha, alpha > 0 ? alpha : 2.0f * (float)mod->rank);
      char name[64];
      size_t n;
      snprintf(name, sizeof name, "%s.%d.%s.A", sec, l, mod_name[k]);
      const float *a = tensor(r, name, &n);
      ck_assert_uint_eq(n, (size_t)mod->rank * mod->in);
      memcpy(mod->a, a, n * sizeof *a);
      snprintf(name, sizeof name, "%s.%d.%s.B", sec, l, mod_name[k]);
      const float *b = tensor(r, name, &n);
      ck_assert_uint_eq(n, (size_t)mod->out * mod->rank);
      memcpy(mod->b, b, n * sizeof *b);
    }
  return s;
}

/* Repeat the batch @p times (same loss and gradients as the batch mean). */
static void repeat_batch(const ref *r, int times, int32_t **ids, int32_t **types, int32_t **mask,
                         float **labels) {
  const size_t n = (size_t)r->batch * r->seq;
  *ids = malloc(n * times * sizeof **ids);
  *types = malloc(n * times * sizeof **types);
  *mask = malloc(n * times * sizeof **mask);
  *labels = malloc((size_t)r->batch * times * sizeof **labels);
  ck_assert(*ids && *types && *mask && *labels);
  for (int k = 0; k < times; k++) {
    memcpy(*ids + k * n, r->ids, n * sizeof **ids);
    memcpy(*types + k * n, r->types, n * sizeof **types);
    memcpy(*mask + k * n, r->mask, n * sizeof **mask);
    memcpy(*labels + k * r->batch, r->labels, (size_t)r->batch * sizeof **labels);
  }
}

static void lora_case(int times, const char *sec, float alpha) {
  ref r;
  ref_open(&r);
  tpa_lora_set *s = fixture_adapter(&r, sec, alpha), *g = NULL;
  ck_assert_int_eq(tpa__lora_set_clone_zero(&g, s), TPA_OK);
  tpa__weights w;
  tpa__layer *layers = NULL;
  ck_assert_int_eq(tpa__lora_effective_weights(s, r.m, &w, &layers), TPA_OK);
  tpa__batch b = batch_of(&r);
  int32_t *ids = NULL, *types = NULL, *mask = NULL;
  float *labels = NULL;
  if (times > 1) {
    /* Several micro-batches (1024 tokens each): accumulation must give
     * the same mean gradients. */
    repeat_batch(&r, times, &ids, &types, &mask, &labels);
    b = (tpa__batch){r.batch * times, r.seq, ids, types, mask, labels};
  }
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, b.batch, b.seq), TPA_OK);
  tpa__grad_out out = {.lora = g};
  tpa__grad_opts o;
  memset(&o, 0, sizeof o);
  double loss;
  float *logits = malloc((size_t)b.batch * r.m->cfg.num_labels * sizeof *logits);
  ck_assert_ptr_nonnull(logits);
  tpa_status st = tpa__loss_and_grads(wk, r.m, &w, s, &b, &o, &loss, logits, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  const float fl = (float)loss;
  char name[128];
  snprintf(name, sizeof name, "%s.loss", sec);
  expect(&r, name, &fl, 1);
  snprintf(name, sizeof name, "%s.logits", sec);
  for (int k = 0; k < times; k++)
    expect(&r, name, logits + (size_t)k * r.batch * r.m->cfg.num_labels,
           (size_t)r.batch * r.m->cfg.num_labels);
  int checked = 0;
  for (int32_t l = 0; l < r.m->cfg.layers; l++)
    for (int k = 0; k < TPA_LORA_ALL_MODULES; k++) {
      tpa__lora_mod *gm = tpa__lora_at(g, l, k);
      if (!gm->rank)
        continue;
      snprintf(name, sizeof name, "%s.grad.%d.%s.A", sec, l, mod_name[k]);
      expect(&r, name, gm->a, (size_t)gm->rank * gm->in);
      snprintf(name, sizeof name, "%s.grad.%d.%s.B", sec, l, mod_name[k]);
      expect(&r, name, gm->b, (size_t)gm->out * gm->rank);
      checked++;
    }
  ck_assert_int_ge(checked, 5);
  const size_t h = (size_t)r.m->cfg.hidden;
  snprintf(name, sizeof name, "%s.grad.bert.embeddings.LayerNorm.weight", sec);
  expect(&r, name, g->emb_ln_g, h);
  snprintf(name, sizeof name, "%s.grad.bert.embeddings.LayerNorm.bias", sec);
  expect(&r, name, g->emb_ln_b, h);
  for (int32_t l = 0; l < r.m->cfg.layers; l++) {
    const struct {
      const char *n;
      const float *p;
    } t[] = {{"attention.output.LayerNorm.weight", g->ln1_g + l * h},
             {"attention.output.LayerNorm.bias", g->ln1_b + l * h},
             {"output.LayerNorm.weight", g->ln2_g + l * h},
             {"output.LayerNorm.bias", g->ln2_b + l * h}};
    for (size_t i = 0; i < 4; i++) {
      snprintf(name, sizeof name, "%s.grad.bert.encoder.layer.%d.%s", sec, l, t[i].n);
      expect(&r, name, t[i].p, h);
    }
  }
  snprintf(name, sizeof name, "%s.grad.classifier.weight", sec);
  expect(&r, name, g->cls_w, (size_t)r.m->cfg.num_labels * h);
  snprintf(name, sizeof name, "%s.grad.classifier.bias", sec);
  expect(&r, name, g->cls_b, (size_t)r.m->cfg.num_labels);

  /* The adapter's plain forward gives the same logits. */
  memset(logits, 0, (size_t)b.batch * r.m->cfg.num_labels * sizeof *logits);
  st = tpa__forward_lora(wk, r.m, &w, s, &b, logits);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  snprintf(name, sizeof name, "%s.logits", sec);
  expect(&r, name, logits, (size_t)r.batch * r.m->cfg.num_labels);

  free(logits), free(ids), free(types), free(mask), free(labels);
  tpa__grad_work_free(wk);
  free(layers);
  tpa_lora_set_free(g);
  tpa_lora_set_free(s);
  ref_close(&r);
}

START_TEST(lora_gradients) {
  lora_case(1, "lora", 0.0f);
}
END_TEST

START_TEST(lora_micro_batches) {
  lora_case(8, "lora", 0.0f); /* 40 rows x 64 tokens: three micro-batches */
}
END_TEST

/* LoRA on the feed-forward's intermediate and output denses. */
START_TEST(lora_ffn_gradients) {
  lora_case(1, "lora_ffn", 5.0f);
  lora_case(3, "lora_ffn", 5.0f);
}
END_TEST

static float *copy_of(const float *p, size_t n) {
  float *c = malloc(n * sizeof *c);
  ck_assert_ptr_nonnull(c);
  memcpy(c, p, n * sizeof *c);
  return c;
}

START_TEST(full_gradients) {
  ref r;
  ref_open(&r);
  const tpa__config *c = &r.m->cfg;
  const size_t h = (size_t)c->hidden, in = (size_t)c->inter;
  /* Weight copies (as full fine-tuning trains them): the engine must use
   * these, not the model's packed matrices. */
  tpa__weights w = r.m->w;
  tpa__layer *layers = calloc((size_t)c->layers, sizeof *layers);
  ck_assert_ptr_nonnull(layers);
  for (int32_t l = 0; l < c->layers; l++) {
    layers[l] = r.m->w.layer[l];
    const size_t hq = (size_t)layers[l].n_heads * c->head_dim;
    layers[l].q_w = copy_of(layers[l].q_w, hq * h);
    layers[l].k_w = copy_of(layers[l].k_w, hq * h);
    layers[l].v_w = copy_of(layers[l].v_w, hq * h);
    layers[l].o_w = copy_of(layers[l].o_w, h * hq);
    layers[l].i_w = copy_of(layers[l].i_w, in * h);
    layers[l].f_w = copy_of(layers[l].f_w, h * in);
  }
  w.layer = layers;
  /* Gradient buffers for the subset the reference holds, plus every
   * other tensor (so the whole backward runs), checked where known. */
  tpa__weight_grads G;
  memset(&G, 0, sizeof G);
  G.word_emb = calloc((size_t)c->vocab * h, sizeof(float));
  G.pos_emb = calloc((size_t)c->max_pos * h, sizeof(float));
  G.type_emb = calloc((size_t)c->type_vocab * h, sizeof(float));
  G.emb_ln_g = calloc(h, sizeof(float));
  G.layer = calloc((size_t)c->layers, sizeof *G.layer);
  ck_assert(G.word_emb && G.pos_emb && G.type_emb && G.emb_ln_g && G.layer);
  G.layer[0].q_w = calloc(h * h, sizeof(float));
  G.layer[1].k_b = calloc(h, sizeof(float));
  G.layer[1].v_w = calloc(h * h, sizeof(float));
  G.layer[2].o_w = calloc(h * h, sizeof(float));
  G.layer[0].i_w = calloc(in * h, sizeof(float));
  G.layer[1].f_b = calloc(h, sizeof(float));
  G.layer[2].ln2_g = calloc(h, sizeof(float));
  G.pool_w = calloc(h * h, sizeof(float));
  G.pool_b = calloc(h, sizeof(float));
  G.cls_w = calloc((size_t)c->num_labels * h, sizeof(float));
  G.cls_b = calloc((size_t)c->num_labels, sizeof(float));
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, r.batch, r.seq), TPA_OK);
  tpa__grad_out out = {.w = &G};
  tpa__batch b = batch_of(&r);
  double loss;
  tpa_status st = tpa__loss_and_grads(wk, r.m, &w, NULL, &b, NULL, &loss, NULL, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  const float fl = (float)loss;
  expect(&r, "full.loss", &fl, 1);
  expect(&r, "full.grad.bert.embeddings.word_embeddings.weight", G.word_emb, (size_t)c->vocab * h);
  expect(&r, "full.grad.bert.embeddings.position_embeddings.weight", G.pos_emb,
         (size_t)c->max_pos * h);
  expect(&r, "full.grad.bert.embeddings.token_type_embeddings.weight", G.type_emb,
         (size_t)c->type_vocab * h);
  expect(&r, "full.grad.bert.embeddings.LayerNorm.weight", G.emb_ln_g, h);
  expect(&r, "full.grad.bert.encoder.layer.0.attention.self.query.weight", G.layer[0].q_w, h * h);
  expect(&r, "full.grad.bert.encoder.layer.1.attention.self.key.bias", G.layer[1].k_b, h);
  expect(&r, "full.grad.bert.encoder.layer.1.attention.self.value.weight", G.layer[1].v_w, h * h);
  expect(&r, "full.grad.bert.encoder.layer.2.attention.output.dense.weight", G.layer[2].o_w, h * h);
  expect(&r, "full.grad.bert.encoder.layer.0.intermediate.dense.weight", G.layer[0].i_w, in * h);
  expect(&r, "full.grad.bert.encoder.layer.1.output.dense.bias", G.layer[1].f_b, h);
  expect(&r, "full.grad.bert.encoder.layer.2.output.LayerNorm.weight", G.layer[2].ln2_g, h);
  expect(&r, "full.grad.bert.pooler.dense.weight", G.pool_w, h * h);
  expect(&r, "full.grad.bert.pooler.dense.bias", G.pool_b, h);
  expect(&r, "full.grad.classifier.weight", G.cls_w, (size_t)c->num_labels * h);
  expect(&r, "full.grad.classifier.bias", G.cls_b, (size_t)c->num_labels);
  tpa__grad_work_free(wk);
  free(G.word_emb), free(G.pos_emb), free(G.type_emb), free(G.emb_ln_g);
  free(G.layer[0].q_w), free(G.layer[1].k_b), free(G.layer[1].v_w), free(G.layer[2].o_w);
  free(G.layer[0].i_w), free(G.layer[1].f_b), free(G.layer[2].ln2_g);
  free(G.layer), free(G.pool_w), free(G.pool_b), free(G.cls_w), free(G.cls_b);
  for (int32_t l = 0; l < c->layers; l++) {
    free((void *)layers[l].q_w), free((void *)layers[l].k_w), free((void *)layers[l].v_w);
    free((void *)layers[l].o_w), free((void *)layers[l].i_w), free((void *)layers[l].f_w);
  }
  free(layers);
  ref_close(&r);
}
END_TEST

START_TEST(head_mask_per_example) {
  ref r;
  ref_open(&r);
  const tpa__config *c = &r.m->cfg;
  const size_t n = (size_t)r.batch * c->layers * c->heads;
  float *hm = malloc(n * sizeof *hm);
  ck_assert_ptr_nonnull(hm);
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, r.batch, r.seq), TPA_OK);
  tpa__grad_out out = {.head_mask_per_example = hm};
  tpa__batch b = batch_of(&r);
  double loss;
  /* Only the head mask's gradient: no weight gradients at all. */
  tpa_status st = tpa__loss_and_grads(wk, r.m, &r.m->w, NULL, &b, NULL, &loss, NULL, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  expect(&r, "full.loss", &(float){(float)loss}, 1);
  expect(&r, "head_mask.per_example", hm, n);
  tpa__grad_work_free(wk);
  free(hm);
  ref_close(&r);
}
END_TEST

/* Neuron-mask gradients per example, alone and beside the head mask's
 * (one backward serves both, as `tpa importance --ffn` asks). */
START_TEST(ffn_mask_per_example) {
  ref r;
  ref_open(&r);
  const tpa__config *c = &r.m->cfg;
  const size_t n = (size_t)r.batch * c->layers * c->inter;
  const size_t nh = (size_t)r.batch * c->layers * c->heads;
  float *nm = malloc(n * sizeof *nm), *hm = malloc(nh * sizeof *hm);
  ck_assert(nm && hm);
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r.m, r.batch, r.seq), TPA_OK);
  tpa__batch b = batch_of(&r);
  double loss;
  for (int both = 0; both < 2; both++) {
    tpa__grad_out out = {.ffn_mask_per_example = nm, .head_mask_per_example = both ? hm : NULL};
    tpa_status st = tpa__loss_and_grads(wk, r.m, &r.m->w, NULL, &b, NULL, &loss, NULL, &out);
    ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
    expect(&r, "ffn_mask.per_example", nm, n);
    if (both)
      expect(&r, "head_mask.per_example", hm, nh);
  }
  tpa__grad_work_free(wk);
  free(nm);
  free(hm);
  ref_close(&r);
}
END_TEST

/* Dropout on: the result must not depend on how the batch is cut into
 * micro-batches (masks hash each element's index in the whole batch),
 * and two identical calls must agree bit for bit. */
static void dropout_run(const ref *r, tpa_lora_set *s, tpa_lora_set *g, const tpa__weights *w,
                        size_t micro, double *loss) {
  tpa__grad_work *wk = NULL;
  ck_assert_int_eq(tpa__grad_work_create(&wk, r->m, r->batch, r->seq), TPA_OK);
  tpa__grad_work_set_micro_tokens(wk, micro);
  tpa__grad_opts o = {0.1f, 0.1f, 0.1f, 99, NULL};
  tpa__grad_out out = {.lora = g};
  tpa__batch b = batch_of(r);
  tpa_status st = tpa__loss_and_grads(wk, r->m, w, s, &b, &o, loss, NULL, &out);
  ck_assert_msg(st == TPA_OK, "%s", tpa_last_error());
  tpa__grad_work_free(wk);
}

static size_t lora_values(const tpa_lora_set *g, float **flat) {
  tpa__tensor_ref refs[256];
  size_t n = tpa__lora_set_tensors((tpa_lora_set *)g, refs, 256), total = 0;
  ck_assert_uint_le(n, 256);
  for (size_t i = 0; i < n; i++)
    total += refs[i].count;
  *flat = malloc(total * sizeof **flat);
  ck_assert_ptr_nonnull(*flat);
  for (size_t i = 0, at = 0; i < n; i++) {
    memcpy(*flat + at, refs[i].data, refs[i].count * sizeof **flat);
    at += refs[i].count;
  }
  return total;
}

START_TEST(dropout_micro_batches) {
  ref r;
  ref_open(&r);
  tpa_lora_set *s = fixture_adapter(&r, "lora", 0.0f), *g = NULL;
  ck_assert_int_eq(tpa__lora_set_clone_zero(&g, s), TPA_OK);
  tpa__weights w;
  tpa__layer *layers = NULL;
  ck_assert_int_eq(tpa__lora_effective_weights(s, r.m, &w, &layers), TPA_OK);
  double l_one, l_rows, l_again, l_off;
  float *one, *rows, *again;
  dropout_run(&r, s, g, &w, 0, &l_one); /* the whole batch in one micro-batch */
  const size_t n = lora_values(g, &one);
  dropout_run(&r, s, g, &w, 1, &l_rows); /* one row per micro-batch */
  lora_values(g, &rows);
  dropout_run(&r, s, g, &w, 0, &l_again);
  lora_values(g, &again);
  ck_assert_msg(l_one == l_again && memcmp(one, again, n * sizeof *one) == 0,
                "two identical calls differ");
  ck_assert_double_eq_tol(l_one, l_rows, 1e-6);
  double worst = 0;
  for (size_t i = 0; i < n; i++)
    worst = fmax(worst, fabs((double)one[i] - rows[i]) / fmax(1e-3, fabs(one[i])));
  ck_assert_msg(worst < 1e-3, "micro-batching changed a gradient by %g (relative)", worst);
  /* ... and dropout really is on: the loss differs from the reference's. */
  size_t dummy;
  l_off = tensor(&r, "lora.loss", &dummy)[0];
  ck_assert_msg(fabs(l_one - l_off) > 1e-4, "dropout had no effect (%g vs %g)", l_one, l_off);
  free(one), free(rows), free(again), free(layers);
  tpa_lora_set_free(g);
  tpa_lora_set_free(s);
  ref_close(&r);
}
END_TEST

static void report(void) {
  fprintf(stderr, "PyTorch agreement: worst deviation %.2g (tolerance %g)\n", worst_seen, TOL);
}

Suite *torch_suite(void) {
  const grad_case cases[] = {{"LoRA gradients", lora_gradients},
                             {"LoRA micro-batches", lora_micro_batches},
                             {"LoRA on the feed-forward", lora_ffn_gradients},
                             {"full gradients", full_gradients},
                             {"head mask per example", head_mask_per_example},
                             {"neuron mask per example", ffn_mask_per_example},
                             {"dropout and micro-batches", dropout_micro_batches}};
  return grad_suite("pytorch", cases, sizeof cases / sizeof cases[0], report);
}
