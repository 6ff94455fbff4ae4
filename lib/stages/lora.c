/* SPDX-License-Identifier: Apache-2.0 */
/* The LoRA set (tpa_lora_set): creation with PEFT's initialisation, the
 * accessors, and the internal helpers the training loop and the adapter
 * I/O share (clone, copy, tensor list). Layout: lib/model/lora_layout.h. */
#include "stages/lora.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"
#include "core/params.h"
#include "core/rng.h"

/* PEFT accepts any positive r. We cap it so that a typo or a hostile
 * adapter_config.json cannot size gigabytes of A/B; 1024 is far above any
 * useful LoRA rank on BERT (hidden 768/1024), and a rank above min(in, out)
 * is allowed, as in PEFT: it only over-parameterises B A. */
#define MAX_RANK 1024

/* What sizes a set; every array borrowed. */
typedef struct shape {
  int32_t layers, hidden, heads, head_dim, num_labels;
  tpa__family family;
  int32_t emb;
  const int32_t *inters;   /* [layers] intermediate widths */
  const int32_t *n_heads;  /* [layers] */
  const int32_t *head_ids; /* [layers * heads] */
  const int32_t *ranks;    /* [layers * TPA__LORA_ALL] */
  const float *alphas;     /* idem */
  const char *base_model;  /* may be NULL */
} shape;

static const tpa_lora_params lora_defaults = {
    .size = sizeof(tpa_lora_params),
    .rank = 8,
    .alpha = 0.0f,
    .ranks = NULL,
    .alphas = NULL,
    .seed = 42,
    .ffn_ranks = NULL,
    .ffn_alphas = NULL,
};

TPA_API void tpa_lora_params_init(tpa_lora_params *p, size_t size) {
  tpa__params_init(p, size, &lora_defaults, sizeof lora_defaults);
}

/* Bytes of @p n elements of @p elem rounded up to 64, added to *total;
 * returns the offset where they start (false on overflow). */
static bool reserve(size_t *total, size_t n, size_t elem, size_t *offset) {
  size_t bytes, padded;
  if (!tpa__mul_size(n, elem, &bytes) || !tpa__add_size(bytes, 63, &padded))
    return false;
  padded &= ~(size_t)63;
  *offset = *total;
  return tpa__add_size(*total, padded, total);
}

/* In and out features of module @p module of a block whose attention is
 * @p attn wide (kept heads * head_dim) and whose FFN is @p inter wide. */
static void module_dims(int32_t module, int32_t hidden, int32_t attn, int32_t inter, int32_t *in,
                        int32_t *out) {
  switch (module) {
  case TPA_LORA_OUTPUT: *in = attn, *out = hidden; break;
  case TPA_LORA_INTERMEDIATE: *in = hidden, *out = inter; break;
  case TPA_LORA_FFN_OUTPUT: *in = inter, *out = hidden; break;
  default: *in = hidden, *out = attn; break; /* query, key, value */
  }
}

/* A set of shape @p sh with every value zero, in one storage block. */
static tpa_status set_alloc(tpa_lora_set **out, const shape *sh) {
  *out = NULL;
  size_t L = (size_t)sh->layers, H = (size_t)sh->hidden, NL = (size_t)sh->num_labels;
  size_t nmod = L * TPA__LORA_ALL;
  size_t total = 0, o_mod = 0, o_heads = 0, o_inters = 0, o_ids = 0, o_vec[10] = {0};
  const size_t E = (size_t)sh->emb, PH = tpa__family_get(sh->family)->head_in_base ? 0 : H;
  /* Offsets of each A and B, before the storage exists. */
  size_t *o_ab = tpa__malloc_array(2 * nmod, sizeof *o_ab);
  if (!o_ab)
    return TPA__NO_MEMORY("LoRA set");
  bool ok = reserve(&total, nmod, sizeof(tpa__lora_mod), &o_mod) &&
            reserve(&total, L, sizeof(int32_t), &o_heads) &&
            reserve(&total, L, sizeof(int32_t), &o_inters) &&
            reserve(&total, L * (size_t)sh->heads, sizeof(int32_t), &o_ids);
  /* emb g/b [E], ln1 g/b and ln2 g/b [L*H], classifier [NL*H] and [NL],
   * the head's dense [H*H] and [H] (or nothing). */
  size_t vec_n[10] = {E, E, L * H, L * H, L * H, L * H, NL * H, NL, PH * H, PH};
  for (int i = 0; ok && i < 10; i++)
    ok = reserve(&total, vec_n[i], sizeof(float), &o_vec[i]);
  for (size_t i = 0; ok && i < nmod; i++) {
    int32_t in, o, r = sh->ranks[i];
    module_dims((int32_t)(i % TPA__LORA_ALL), sh->hidden,
                sh->n_heads[i / TPA__LORA_ALL] * sh->head_dim, sh->inters[i / TPA__LORA_ALL], &in,
                &o);
    ok = reserve(&total, (size_t)r * (size_t)in, sizeof(float), &o_ab[2 * i]) &&
         reserve(&total, (size_t)o * (size_t)r, sizeof(float), &o_ab[2 * i + 1]);
  }
  if (!ok) {
    free(o_ab);
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "LoRA set: size overflow");
  }
  tpa_lora_set *s = calloc(1, sizeof *s);
  char *storage = tpa__aligned_alloc(total ? total : 64);
  char *base = sh->base_model ? tpa__strdup(sh->base_model) : NULL;
  if (!s || !storage || (sh->base_model && !base)) {
    free(s);
    free(storage);
    free(base);
    free(o_ab);
    return TPA__NO_MEMORY("LoRA set");
  }
  memset(storage, 0, total);
  s->storage = storage;
  s->base_model = base;
  s->layers = sh->layers;
  s->hidden = sh->hidden;
  s->family = sh->family;
  s->emb = sh->emb;

  s->num_labels = sh->num_labels;
  s->heads = sh->heads;
  s->mod = (tpa__lora_mod *)(void *)(storage + o_mod);
  s->n_heads = (int32_t *)(void *)(storage + o_heads);
  s->inters = (int32_t *)(void *)(storage + o_inters);
  memcpy(s->inters, sh->inters, L * sizeof *s->inters);
  s->head_ids = (int32_t *)(void *)(storage + o_ids);
  memcpy(s->n_heads, sh->n_heads, L * sizeof *s->n_heads);
  memcpy(s->head_ids, sh->head_ids, L * (size_t)sh->heads * sizeof *s->head_ids);
  float **vec[10] = {&s->emb_ln_g, &s->emb_ln_b, &s->ln1_g, &s->ln1_b,  &s->ln2_g,
                     &s->ln2_b,    &s->cls_w,    &s->cls_b, &s->pool_w, &s->pool_b};
  for (int i = 0; i < 10; i++)
    *vec[i] = vec_n[i] ? (float *)(void *)(storage + o_vec[i]) : NULL;
  for (size_t i = 0; i < nmod; i++) {
    tpa__lora_mod *m = &s->mod[i];
    module_dims((int32_t)(i % TPA__LORA_ALL), sh->hidden,
                sh->n_heads[i / TPA__LORA_ALL] * sh->head_dim, sh->inters[i / TPA__LORA_ALL],
                &m->in, &m->out);
    m->rank = sh->ranks[i];
    m->alpha = m->rank > 0 ? sh->alphas[i] : 0.0f;
    m->a = m->rank > 0 ? (float *)(void *)(storage + o_ab[2 * i]) : NULL;
    m->b = m->rank > 0 ? (float *)(void *)(storage + o_ab[2 * i + 1]) : NULL;
  }
  free(o_ab);
  *out = s;
  return TPA_OK;
}

/* The model's LayerNorm and classifier values into the set's copies. */
static void copy_model_modules(tpa_lora_set *s, const tpa_model *m) {
  size_t H = (size_t)s->hidden, E = (size_t)s->emb;
  memcpy(s->emb_ln_g, m->w.emb_ln_g, E * sizeof(float));
  memcpy(s->emb_ln_b, m->w.emb_ln_b, E * sizeof(float));
  if (s->pool_w) {
    memcpy(s->pool_w, m->w.pool_w, H * H * sizeof(float));
    memcpy(s->pool_b, m->w.pool_b, H * sizeof(float));
  }
  for (int32_t l = 0; l < s->layers; l++) {
    const tpa__layer *ly = &m->w.layer[l];
    size_t at = (size_t)l * H;
    memcpy(s->ln1_g + at, ly->ln1_g, H * sizeof(float));
    memcpy(s->ln1_b + at, ly->ln1_b, H * sizeof(float));
    memcpy(s->ln2_g + at, ly->ln2_g, H * sizeof(float));
    memcpy(s->ln2_b + at, ly->ln2_b, H * sizeof(float));
  }
  memcpy(s->cls_w, m->w.cls_w, (size_t)s->num_labels * H * sizeof(float));
  memcpy(s->cls_b, m->w.cls_b, (size_t)s->num_labels * sizeof(float));
}

/* PEFT's reset_lora_parameters: kaiming_uniform_(A, a=sqrt(5)). torch's
 * bound is gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)) =
 * sqrt(1/3) and fan_in = in, i.e. 1 / sqrt(in). We cannot reproduce
 * torch's generator bits, so the draws are our own: module i (block-major,
 * tpa_lora_module order) has its own core/rng.h stream whose state starts
 * at seed ^ ((i + 1) * 0xD1B54A32D192ED03), so a module's values depend on
 * the seed and its position only (not on the other modules' ranks); each
 * value is bound * (2u - 1) with u = (top 53 bits) / 2^53 in [0, 1),
 * written row-major over A [rank, in]. */
static void kaiming_uniform(tpa__lora_mod *m, uint64_t seed, size_t index) {
  if (m->in <= 0)
    return;
  const double a = sqrt(5.0);
  double gain = sqrt(2.0 / (1.0 + a * a));
  double bound = gain * sqrt(3.0 / (double)m->in);
  uint64_t s = seed ^ ((uint64_t)(index + 1) * 0xD1B54A32D192ED03ull);
  size_t n = (size_t)m->rank * (size_t)m->in;
  for (size_t i = 0; i < n; i++) {
    double u = (double)(tpa__rng_next(&s) >> 11) * 0x1p-53;
    m->a[i] = (float)(bound * (2.0 * u - 1.0));
  }
}

/* One module's rank and alpha from the params: entry @p i of @p list
 * (and @p alist) when given, else @p rank / @p alpha; validated. @p what
 * names the arrays ("ranks", "ffn_ranks"), for the message. */
static tpa_status resolve_one(const int32_t *list, const float *alist, int32_t rank, float alpha,
                              const char *what, size_t i, size_t per_layer, int32_t *r_out,
                              float *a_out) {
  const bool ffn = what[0] == 'f';
  int32_t r = list ? list[i] : rank;
  int32_t lo = list ? 0 : 1;
  if (r < lo || r > MAX_RANK) {
    if (list)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_lora_set_create: %s[%zu] (layer %zu, entry %zu) is %d, expected "
                        "0..%d",
                        what, i, i / per_layer, i % per_layer, r, MAX_RANK);
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_create: rank %d is not in 1..%d", r,
                      MAX_RANK);
  }
  float al = alist ? alist[i] : alpha;
  /* Negative alphas would flip the update's sign: nothing PEFT users
   * mean; reject them with NaN and infinities. */
  if (!isfinite(al) || al < 0.0f) {
    if (alist)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "tpa_lora_set_create: %salphas[%zu] is %g, expected a finite value >= 0",
                        ffn ? "ffn_" : "", i, (double)al);
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_lora_set_create: alpha %g is not a finite value >= 0", (double)al);
  }
  *r_out = r;
  *a_out = r == 0 ? 0.0f : (al > 0.0f ? al : 2.0f * (float)r);
  return TPA_OK;
}

/* Ranks and alphas of every module ([layers * TPA__LORA_ALL]) from the
 * params: the attention projections from ranks/rank, the feed-forward's
 * from ffn_ranks (none without it). */
static tpa_status resolve_ranks(const tpa_lora_params *p, int32_t layers, int32_t *ranks,
                                float *alphas) {
  enum { ATT = TPA_LORA_MODULES, FFN = TPA__LORA_ALL - TPA_LORA_MODULES };
  tpa_status st = TPA_OK;
  for (size_t l = 0; st == TPA_OK && l < (size_t)layers; l++) {
    int32_t *r = ranks + l * TPA__LORA_ALL;
    float *a = alphas + l * TPA__LORA_ALL;
    for (size_t k = 0; st == TPA_OK && k < ATT; k++)
      st = resolve_one(p->ranks, p->alphas, p->rank, p->alpha, "ranks", l * ATT + k, ATT, &r[k],
                       &a[k]);
    for (size_t k = 0; st == TPA_OK && k < FFN; k++) {
      r[ATT + k] = 0;
      a[ATT + k] = 0.0f;
      if (p->ffn_ranks)
        st = resolve_one(p->ffn_ranks, p->ffn_alphas, 0, p->alpha, "ffn_ranks", l * FFN + k, FFN,
                         &r[ATT + k], &a[ATT + k]);
    }
  }
  return st;
}

TPA_API tpa_status tpa_lora_set_create(tpa_lora_set **out, const tpa_model *model,
                                       const tpa_lora_params *params) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(model, "tpa_lora_set_create");
    if (qs != TPA_OK)
      return qs;
  }
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_create: out is NULL");
  *out = NULL;
  tpa_lora_params p;
  if (!model)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_create: model is NULL");
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_lora_params, ffn_alphas), params,
                       &lora_defaults, "tpa_lora_set_create", "tpa_lora_params");
  if (ps != TPA_OK)
    return ps;
  const tpa__config *c = &model->cfg;
  size_t L = (size_t)c->layers, nmod = L * TPA__LORA_ALL;
  /* n_heads [L], head_ids [L * heads], ranks [nmod], inters [L] in one
   * int block. */
  int32_t *ints = tpa__malloc_array(2 * L + L * (size_t)c->heads + nmod, sizeof *ints);
  float *alphas = tpa__malloc_array(nmod, sizeof *alphas);
  if (!ints || !alphas) {
    free(ints);
    free(alphas);
    return TPA__NO_MEMORY("LoRA set");
  }
  int32_t *n_heads = ints, *head_ids = ints + L, *ranks = head_ids + L * (size_t)c->heads;
  int32_t *inters = ranks + nmod;
  for (size_t l = 0; l < L; l++) {
    n_heads[l] = model->w.layer[l].n_heads;
    inters[l] = model->w.layer[l].inter;
    memcpy(head_ids + l * (size_t)c->heads, model->w.layer[l].head_ids,
           (size_t)n_heads[l] * sizeof *head_ids);
  }
  tpa_status st = resolve_ranks(&p, c->layers, ranks, alphas);
  tpa_lora_set *s = NULL;
  if (st == TPA_OK) {
    shape sh = {.layers = c->layers,
                .hidden = c->hidden,
                .heads = c->heads,
                .head_dim = c->head_dim,
                .num_labels = c->num_labels,
                .family = c->family,
                .emb = c->emb,
                .inters = inters,
                .n_heads = n_heads,
                .head_ids = head_ids,
                .ranks = ranks,
                .alphas = alphas,
                .base_model = model->dir};
    st = set_alloc(&s, &sh);
  }
  free(ints);
  free(alphas);
  if (st != TPA_OK)
    return st;
  for (size_t i = 0; i < nmod; i++)
    if (s->mod[i].rank > 0)
      kaiming_uniform(&s->mod[i], p.seed, i); /* B stays zero */
  copy_model_modules(s, model);
  *out = s;
  return TPA_OK;
}

TPA_API void tpa_lora_set_free(tpa_lora_set *set) {
  if (!set)
    return;
  free(set->storage);
  free(set->base_model);
  free(set);
}

TPA_API int32_t tpa_lora_set_rank(const tpa_lora_set *set, int32_t layer, tpa_lora_module module) {
  if (!set || layer < 0 || layer >= set->layers || (int)module < 0 || (int)module >= TPA__LORA_ALL)
    return -1;
  return tpa__lora_at(set, layer, (int32_t)module)->rank;
}

TPA_API float tpa_lora_set_alpha(const tpa_lora_set *set, int32_t layer, tpa_lora_module module) {
  if (!set || layer < 0 || layer >= set->layers || (int)module < 0 || (int)module >= TPA__LORA_ALL)
    return -1.0f; /* as tpa_lora_set_rank: a fault, not "not adapted" */
  return tpa__lora_at(set, layer, (int32_t)module)->alpha;
}

TPA_API uint64_t tpa_lora_set_num_params(const tpa_lora_set *set) {
  if (!set)
    return 0;
  uint64_t H = (uint64_t)set->hidden, n = 0;
  for (size_t i = 0; i < (size_t)set->layers * TPA__LORA_ALL; i++) {
    const tpa__lora_mod *m = &set->mod[i];
    n += (uint64_t)m->rank * ((uint64_t)m->in + (uint64_t)m->out);
  }
  n += 2 * (uint64_t)set->emb + 4 * H * (uint64_t)set->layers; /* every LayerNorm */
  n += (uint64_t)set->num_labels * (H + 1);                    /* classifier */
  if (set->pool_w)
    n += H * (H + 1); /* the head's dense */
  return n;
}

tpa_status tpa__lora_set_clone_zero(tpa_lora_set **out, const tpa_lora_set *s) {
  *out = NULL;
  if (!s)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "LoRA set clone: NULL set");
  size_t nmod = (size_t)s->layers * TPA__LORA_ALL;
  int32_t *ranks = tpa__malloc_array(nmod, sizeof *ranks);
  float *alphas = tpa__malloc_array(nmod, sizeof *alphas);
  tpa_status st = TPA_OK;
  if (!ranks || !alphas) {
    st = TPA__NO_MEMORY("LoRA set");
  } else {
    for (size_t i = 0; i < nmod; i++) {
      ranks[i] = s->mod[i].rank;
      alphas[i] = s->mod[i].alpha;
    }
    /* hidden % heads == 0 is checked when config.json is read. */
    shape sh = {.layers = s->layers,
                .hidden = s->hidden,
                .heads = s->heads,
                .head_dim = s->heads > 0 ? s->hidden / s->heads : 0,
                .num_labels = s->num_labels,
                .family = s->family,
                .emb = s->emb,
                .inters = s->inters,
                .n_heads = s->n_heads,
                .head_ids = s->head_ids,
                .ranks = ranks,
                .alphas = alphas,
                .base_model = s->base_model};
    st = set_alloc(out, &sh);
  }
  free(ranks);
  free(alphas);
  return st;
}

void tpa__lora_set_copy(tpa_lora_set *dst, const tpa_lora_set *src) {
  size_t H = (size_t)src->hidden, LH = (size_t)src->layers * H, E = (size_t)src->emb;
  for (size_t i = 0; i < (size_t)src->layers * TPA__LORA_ALL; i++) {
    const tpa__lora_mod *a = &src->mod[i];
    tpa__lora_mod *b = &dst->mod[i];
    if (a->rank > 0) {
      memcpy(b->a, a->a, (size_t)a->rank * (size_t)a->in * sizeof(float));
      memcpy(b->b, a->b, (size_t)a->out * (size_t)a->rank * sizeof(float));
    }
  }
  memcpy(dst->emb_ln_g, src->emb_ln_g, E * sizeof(float));
  memcpy(dst->emb_ln_b, src->emb_ln_b, E * sizeof(float));
  if (src->pool_w) {
    memcpy(dst->pool_w, src->pool_w, H * H * sizeof(float));
    memcpy(dst->pool_b, src->pool_b, H * sizeof(float));
  }
  memcpy(dst->ln1_g, src->ln1_g, LH * sizeof(float));
  memcpy(dst->ln1_b, src->ln1_b, LH * sizeof(float));
  memcpy(dst->ln2_g, src->ln2_g, LH * sizeof(float));
  memcpy(dst->ln2_b, src->ln2_b, LH * sizeof(float));
  memcpy(dst->cls_w, src->cls_w, (size_t)src->num_labels * H * sizeof(float));
  memcpy(dst->cls_b, src->cls_b, (size_t)src->num_labels * sizeof(float));
}

/* Append one ref (if room) and count it; @p name is a PEFT key. */
static void add_ref(tpa__tensor_ref *out, size_t cap, size_t *n, const char *name, float *data,
                    int32_t rows, int32_t cols, bool decay) {
  if (*n < cap) {
    tpa__tensor_ref *r = &out[*n];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->data = data;
    r->rows = rows;
    r->cols = cols;
    r->count = (size_t)rows * (size_t)cols;
    r->decay = decay;
  }
  (*n)++;
}

/* PEFT saves a LoRA module under the HF module's name inside the
 * PeftModel ("base_model.model." + the *ForSequenceClassification name),
 * and a modules_to_save copy under the original module's name with
 * "modules_to_save.default" dropped (peft/utils/save_and_load.py). */
#define PEFT_PREFIX "base_model.model."

const char *tpa__lora_module_path(tpa__family family, int32_t module) {
  const tpa__family_desc *f = tpa__family_get(family);
  const char *const path[TPA__LORA_ALL] = {f->query,    f->key,    f->value,
                                           f->attn_out, f->ffn_in, f->ffn_out};
  return path[module >= 0 && module < TPA__LORA_ALL ? module : 0];
}

/* PEFT's list rule: @p path equals @p name or ends in "." @p name. */
static bool peft_matches(const char *path, const char *name) {
  size_t n = strlen(path), k = strlen(name);
  return k > 0 && (strcmp(path, name) == 0 ||
                   (n > k && path[n - k - 1] == '.' && strcmp(path + n - k, name) == 0));
}

/* The modules (bit k for module k) that PEFT's list entry @p name picks
 * in a block of family @p f, matched on block 0's full names; *elsewhere
 * set when it also picks a layer LoRA does not adapt (the head's). */
static uint32_t name_mask(tpa__family f, const char *name, bool *elsewhere) {
  const tpa__family_desc *d = tpa__family_get(f);
  char path[160];
  uint32_t mask = 0;
  for (int k = 0; k < TPA__LORA_ALL; k++) {
    snprintf(path, sizeof path, "%s%s.0.%s", d->prefix, d->layer, tpa__lora_module_path(f, k));
    if (peft_matches(path, name))
      mask |= 1u << k;
  }
  /* The head's layers: PEFT would adapt them too. */
  *elsewhere = peft_matches(d->head_out, name) ||
               (d->head_in_base ? false : peft_matches(d->head_dense, name));
  if (d->head_in_base) { /* BERT's pooler lives under the encoder's prefix */
    snprintf(path, sizeof path, "%s%s", d->prefix, d->head_dense);
    *elsewhere = *elsewhere || peft_matches(path, name);
  }
  return mask;
}

/* "query, key, value, attention.output.dense, intermediate.dense and
 * output.dense" for the first @p n modules of @p d. */
static void module_list(char *buf, size_t cap, const tpa__family_desc *d, int n) {
  size_t at = 0;
  buf[0] = '\0';
  for (int k = 0; k < n && at < cap; k++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%s",
                           k == 0       ? ""
                           : k == n - 1 ? " and "
                                        : ", ",
                           d->targets[k]);
}

TPA_API tpa_status tpa_lora_module_from_name(const tpa_model *model, const char *name,
                                             tpa_lora_module *module) {
  tpa__error_clear();
  if (!model || !name || !module)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_module_from_name: NULL argument");
  const tpa__family_desc *d = tpa__family_get(model->cfg.family);
  bool elsewhere;
  uint32_t mask = name_mask(model->cfg.family, name, &elsewhere);
  const uint32_t att = (1u << TPA_LORA_MODULES) - 1;
  /* 0.5's contract: one attention projection, nothing else. */
  int found = -1;
  for (int k = 0; k < TPA_LORA_MODULES; k++)
    if (mask == 1u << k)
      found = k;
  if (found < 0 || elsewhere) {
    char list[256];
    module_list(list, sizeof list, d, TPA_LORA_MODULES);
    return tpa__error(
        TPA_ERR_UNSUPPORTED,
        "target module \"%.80s\" %s; this call picks one of %s of a %s model "
        "(tpa_lora_module_mask() also takes the feed-forward's)",
        name, (mask & att) == 0 ? "names no attention projection" : "also names other layers", list,
        d->model_type);
  }
  *module = (tpa_lora_module)found;
  return TPA_OK;
}

TPA_API tpa_status tpa_lora_module_mask(const tpa_model *model, const char *name, uint32_t *mask) {
  tpa__error_clear();
  if (!model || !name || !mask)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_module_mask: NULL argument");
  const tpa__family_desc *d = tpa__family_get(model->cfg.family);
  bool elsewhere;
  uint32_t m = name_mask(model->cfg.family, name, &elsewhere);
  if (m == 0 || elsewhere) {
    char list[256];
    module_list(list, sizeof list, d, TPA__LORA_ALL);
    return tpa__error(
        TPA_ERR_UNSUPPORTED, "target module \"%.80s\" %s; LoRA adapts %s of a %s model", name,
        m == 0 ? "names no module LoRA adapts" : "also names a layer of the classification head",
        list, d->model_type);
  }
  *mask = m;
  return TPA_OK;
}

size_t tpa__lora_set_tensors(tpa_lora_set *s, tpa__tensor_ref *out, size_t cap) {
  const tpa__family_desc *f = tpa__family_get(s->family);
  size_t n = 0;
  char name[sizeof((tpa__tensor_ref *)0)->name];
  for (int32_t l = 0; l < s->layers; l++)
    for (int32_t k = 0; k < TPA__LORA_ALL; k++) {
      tpa__lora_mod *m = tpa__lora_at(s, l, k);
      if (m->rank <= 0)
        continue;
      const char *path = tpa__lora_module_path(s->family, k);
      snprintf(name, sizeof name, PEFT_PREFIX "%s%s.%d.%s.lora_A.weight", f->prefix, f->layer, l,
               path);
      add_ref(out, cap, &n, name, m->a, m->rank, m->in, true);
      snprintf(name, sizeof name, PEFT_PREFIX "%s%s.%d.%s.lora_B.weight", f->prefix, f->layer, l,
               path);
      add_ref(out, cap, &n, name, m->b, m->out, m->rank, true);
    }
  int32_t H = s->hidden;
  snprintf(name, sizeof name, PEFT_PREFIX "%sembeddings.LayerNorm.weight", f->prefix);
  add_ref(out, cap, &n, name, s->emb_ln_g, 1, s->emb, false);
  snprintf(name, sizeof name, PEFT_PREFIX "%sembeddings.LayerNorm.bias", f->prefix);
  add_ref(out, cap, &n, name, s->emb_ln_b, 1, s->emb, false);
  for (int32_t l = 0; l < s->layers; l++) {
    float *ln[4] = {s->ln1_g, s->ln1_b, s->ln2_g, s->ln2_b};
    const char *base[4] = {f->ln1, f->ln1, f->ln2, f->ln2};
    for (int i = 0; i < 4; i++) {
      snprintf(name, sizeof name, PEFT_PREFIX "%s%s.%d.%s.%s", f->prefix, f->layer, l, base[i],
               i % 2 ? "bias" : "weight");
      add_ref(out, cap, &n, name, ln[i] + (size_t)l * (size_t)H, 1, H, false);
    }
  }
  if (s->pool_w) {
    snprintf(name, sizeof name, PEFT_PREFIX "%s.weight", f->head_dense);
    add_ref(out, cap, &n, name, s->pool_w, H, H, true);
    snprintf(name, sizeof name, PEFT_PREFIX "%s.bias", f->head_dense);
    add_ref(out, cap, &n, name, s->pool_b, 1, H, false);
  }
  snprintf(name, sizeof name, PEFT_PREFIX "%s.weight", f->head_out);
  add_ref(out, cap, &n, name, s->cls_w, s->num_labels, H, true);
  snprintf(name, sizeof name, PEFT_PREFIX "%s.bias", f->head_out);
  add_ref(out, cap, &n, name, s->cls_b, 1, s->num_labels, false);
  return n;
}
