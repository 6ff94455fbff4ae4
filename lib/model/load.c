/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_load: config.json + model.safetensors + the tokenizer files ->
 * tpa_model, for every family of model/family.h. Every tensor of the
 * family's list (model/tensors.c) is looked up by its HF name, checked
 * against the shape the config (and the pruned head layout) implies, and used in place from the
 * mapping when it is aligned F32; anything else is converted into blocks
 * the model owns. Any failure frees everything: no partial model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/params.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/tensors.h"
#include "nn/nn.h"
#include "text/tokenizer.h"
#include "tpa/tokenizer.h"

static const tpa_model_load_params load_defaults = {
    .size = sizeof(tpa_model_load_params),
    .seed = 42,
    .num_labels = 0,
    .log = NULL,
    .user = NULL,
};

TPA_API void tpa_model_load_params_init(tpa_model_load_params *p, size_t size) {
  tpa__params_init(p, size, &load_defaults, sizeof load_defaults);
}

typedef struct loader {
  tpa_model *m;
  tpa__st_file st;
  const char *prefix; /* the family's ("bert.") or "" (a bare base model) */
  bool in_place;      /* some tensor points into the mapping */
  size_t used;        /* tensors taken (the rest are logged as ignored) */
} loader;

/* "[3, 8]" into @p buf. */
static const char *shape_str(char *buf, size_t cap, int32_t ndim, const uint64_t *dims) {
  size_t at = 0;
  at += (size_t)snprintf(buf, cap, "[");
  for (int32_t i = 0; i < ndim && at < cap; i++)
    at +=
        (size_t)snprintf(buf + at, cap - at, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
  if (at < cap)
    snprintf(buf + at, cap - at, "]");
  return buf;
}

/* Find @p name; LayerNorm parameters also under TF-era gamma/beta names. */
static const tpa__st_tensor *find_tensor(const loader *L, const char *name) {
  const tpa__st_tensor *t = tpa__st_find(&L->st, name);
  if (t)
    return t;
  static const struct {
    const char *now, *legacy;
  } legacy[] = {{"LayerNorm.weight", "LayerNorm.gamma"}, {"LayerNorm.bias", "LayerNorm.beta"}};
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
    size_t k = strlen(legacy[i].now);
    if (n < k || strcmp(name + n - k, legacy[i].now) != 0)
      continue;
    char alt[512];
    if (snprintf(alt, sizeof alt, "%.*s%s", (int)(n - k), name, legacy[i].legacy) < (int)sizeof alt)
      return tpa__st_find(&L->st, alt);
  }
  return NULL;
}

/* The float data of @p t, which must have shape @p dims (rank @p ndim). */
static tpa_status take_tensor(loader *L, const tpa__st_tensor *t, int32_t ndim,
                              const uint64_t *dims, const float **out) {
  bool ok = t->ndim == ndim;
  for (int32_t i = 0; ok && i < ndim; i++)
    ok = t->shape[i] == dims[i];
  if (!ok) {
    char have[128], want[128];
    return tpa__error(TPA_ERR_TENSOR_SHAPE,
                      "file %s: tensor \"%s\" has shape %s, expected %s from config.json",
                      L->st.path, t->name, shape_str(have, sizeof have, t->ndim, t->shape),
                      shape_str(want, sizeof want, ndim, dims));
  }
  float *owned;
  tpa_status st = tpa__st_as_f32(&L->st, t, out, &owned);
  if (st != TPA_OK)
    return st;
  size_t count = 1;
  for (int32_t i = 0; i < ndim; i++)
    count *= (size_t)dims[i]; /* the file's size bounds it */
  if (owned && !tpa__model_own(L->m, owned, count * sizeof(float))) {
    free(owned);
    return TPA__NO_MEMORY(t->name);
  }
  if (owned) /* the F16/BF16 bytes are read once: their pages can go */
    tpa__file_map_release(&L->st.map, t->data, (size_t)(t->end - t->begin));
  if (!owned)
    L->in_place = true;
  L->used++;
  return TPA_OK;
}

/* The int8 codes of @p x (I8, used in place) for the list entry @p t. */
static tpa_status take_i8(loader *L, const tpa__st_tensor *x, const tpa__named_tensor *t) {
  if (x->dtype != TPA__DT_I8)
    return tpa__error(TPA_ERR_TENSOR_DTYPE,
                      "file %s: tensor \"%s\" is %s, but config.json's quantization_config "
                      "needs I8",
                      L->st.path, x->name, tpa__dtype_name(x->dtype));
  bool ok = x->ndim == t->ndims;
  for (int32_t i = 0; ok && i < t->ndims; i++)
    ok = x->shape[i] == (uint64_t)t->dims[i];
  if (!ok) {
    char have[128], want[128];
    const uint64_t dims[2] = {(uint64_t)t->dims[0], (uint64_t)t->dims[1]};
    return tpa__error(TPA_ERR_TENSOR_SHAPE,
                      "file %s: tensor \"%s\" has shape %s, expected %s from config.json",
                      L->st.path, x->name, shape_str(have, sizeof have, x->ndim, x->shape),
                      shape_str(want, sizeof want, t->ndims, dims));
  }
  *t->i8 = x->data;
  L->in_place = true;
  L->used++;
  return TPA_OK;
}

/* Take @p x for list entry @p t, whose shape it must have. */
static tpa_status take_entry(loader *L, const tpa__st_tensor *x, const tpa__named_tensor *t) {
  if (t->i8)
    return take_i8(L, x, t);
  uint64_t dims[2] = {(uint64_t)t->dims[0], (uint64_t)t->dims[1]};
  return take_tensor(L, x, t->ndims, dims, t->ptr);
}

/* Every scale of a quantized model (the entry after each int8 tensor,
 * and the static input scales) must be positive and finite: a zero
 * would turn a whole row into zeros and the rest into NaN. The block
 * Linears' codes must be in range. */
static tpa_status check_scales(const loader *L, const tpa__named_tensor *t, size_t n) {
  static const char input_scale[] = ".input_scale";
  for (size_t i = 0; i < n; i++) {
    if (t[i].i8 && *t[i].i8 && !strstr(t[i].name, "word_embeddings")) {
      /* The block Linears' codes stay within +-TPA__NN_WMAX (nn.h):
       * larger ones would saturate in the AVX2 int8 kernels. */
      const int8_t *c = *t[i].i8;
      for (size_t j = 0; j < t[i].count; j++)
        if (c[j] > TPA__NN_WMAX || c[j] < -TPA__NN_WMAX)
          return tpa__error(TPA_ERR_DATA,
                            "file %s: tensor \"%s\"[%zu] is %d: int8 Linear weights must lie in "
                            "-%d..%d",
                            L->st.path, t[i].name, j, c[j], TPA__NN_WMAX, TPA__NN_WMAX);
      continue;
    }
    size_t len = strlen(t[i].name), k = sizeof input_scale - 1;
    bool scale =
        (i > 0 && t[i - 1].i8) || (len >= k && strcmp(t[i].name + len - k, input_scale) == 0);
    if (!scale || !t[i].ptr || !*t[i].ptr)
      continue;
    const float *v = *t[i].ptr;
    for (size_t j = 0; j < t[i].count; j++)
      if (!(v[j] > 0.0f) || !isfinite(v[j]))
        return tpa__error(TPA_ERR_DATA,
                          "file %s: tensor \"%s\"[%zu] is %g: int8 scales must be positive "
                          "and finite",
                          L->st.path, t[i].name, j, (double)v[j]);
  }
  return TPA_OK;
}

/* Heads each layer keeps, from config.json's pruned_heads table. */
static tpa_status build_layers(tpa_model *m, const bool *pruned) {
  const tpa__config *c = &m->cfg;
  tpa__layer *layers = tpa__calloc((size_t)c->layers, sizeof *layers);
  if (!layers || !tpa__model_own(m, layers, (size_t)c->layers * sizeof *layers)) {
    free(layers);
    return TPA__NO_MEMORY("layers");
  }
  m->w.layer = layers;
  for (int32_t l = 0; l < c->layers; l++) {
    int32_t *ids = tpa__calloc((size_t)c->heads, sizeof *ids);
    if (!ids || !tpa__model_own(m, ids, (size_t)c->heads * sizeof *ids)) {
      free(ids);
      return TPA__NO_MEMORY("head layout");
    }
    int32_t n = 0;
    for (int32_t h = 0; h < c->heads; h++)
      if (!pruned[(size_t)l * (size_t)c->heads + (size_t)h])
        ids[n++] = h;
    layers[l].n_heads = n;
    layers[l].head_ids = ids;
    layers[l].inter = layers[l].inter_loaded = c->inter_layers ? c->inter_layers[l] : c->inter;
  }
  if (c->quant == TPA__QUANT_NONE)
    return TPA_OK;
  /* A quantized model: the tensor list points the int8 entries here. */
  tpa__quant *q = tpa__calloc(1, sizeof *q);
  tpa__qlayer *ql = tpa__calloc((size_t)c->layers, sizeof *ql);
  if (!q || !ql || !tpa__model_own(m, q, sizeof *q)) {
    free(q);
    free(ql);
    return TPA__NO_MEMORY("int8 tables");
  }
  if (!tpa__model_own(m, ql, (size_t)c->layers * sizeof *ql)) {
    free(ql);
    return TPA__NO_MEMORY("int8 tables");
  }
  q->activations = c->quant;
  q->layer = ql;
  m->w.quant = q;
  return TPA_OK;
}

/* A new Linear as HF initialises one: weight N(0, 0.02), bias 0.
 * Normals come from Box-Muller on pairs of core/rng.h draws seeded with
 * @p seed: u1 = (top 53 bits + 1) / 2^53 in (0, 1], u2 = top 53 bits /
 * 2^53, giving sqrt(-2 ln u1) cos(2 pi u2) then ... sin(2 pi u2), written
 * row-major. The same seed always gives the same weights. */
static tpa_status fresh_linear(tpa_model *m, size_t rows, size_t cols, uint64_t seed,
                               const float **w_out, const float **b_out) {
  size_t n = rows * cols;
  float *w = tpa__malloc_array(n, sizeof *w);
  float *b = tpa__calloc(rows, sizeof *b);
  if (!w || !b || !tpa__model_own(m, w, n * sizeof *w)) {
    free(w);
    free(b);
    return TPA__NO_MEMORY("classifier");
  }
  if (!tpa__model_own(m, b, rows * sizeof *b)) {
    free(b);
    return TPA__NO_MEMORY("classifier");
  }
  const double two_pi = 6.283185307179586476925286766559;
  uint64_t s = seed;
  for (size_t i = 0; i < n; i += 2) {
    double u1 = (double)((tpa__rng_next(&s) >> 11) + 1) * 0x1p-53;
    double u2 = (double)(tpa__rng_next(&s) >> 11) * 0x1p-53;
    double r = sqrt(-2.0 * log(u1));
    w[i] = (float)(0.02 * r * cos(two_pi * u2));
    if (i + 1 < n)
      w[i + 1] = (float)(0.02 * r * sin(two_pi * u2));
  }
  *w_out = w;
  *b_out = b;
  return TPA_OK;
}

/* The seed of a new head dense (RoBERTa's classifier.dense, DistilBERT's
 * pre_classifier), apart from the output layer's so the two differ. */
#define DENSE_SEED_MIX 0x9e3779b97f4a7c15ull

/* The tensor of list entry @p t in the file, under the prefix the file
 * uses for the encoder (none in a bare base model). */
static const tpa__st_tensor *find_entry(const loader *L, const tpa__named_tensor *t,
                                        const char *family_prefix, char *name, size_t cap) {
  const char *n = t->name;
  if (t->base && strcmp(L->prefix, family_prefix) != 0)
    n += strlen(family_prefix);
  snprintf(name, cap, "%s", n);
  return find_tensor(L, name);
}

/* The head: taken from the file when it has it; created as HF creates a
 * new one otherwise (a base checkpoint), and its output layer also when
 * the caller asked for another label count than the file's (a new task,
 * as HF's ignore_mismatched_sizes). */
static tpa_status load_head(loader *L, const tpa_model_load_params *p, tpa__named_tensor *t,
                            size_t n, const char *family_prefix) {
  tpa_model *m = L->m;
  const int64_t H = m->cfg.hidden, labels = m->cfg.num_labels;
  const tpa__family_desc *f = tpa__family_get(m->cfg.family);
  char name[160];
  for (size_t i = 0; i < n; i += 2) { /* weight, bias pairs */
    const bool out = t[i].ptr == &m->w.cls_w;
    const tpa__st_tensor *w = find_entry(L, &t[i], family_prefix, name, sizeof name);
    const tpa__st_tensor *b = find_entry(L, &t[i + 1], family_prefix, name, sizeof name);
    const char *what = out ? f->head_out : f->head_dense;
    if (out && w && b && p->num_labels > 0 && w->ndim == 2 && w->shape[1] == (uint64_t)H &&
        w->shape[0] != (uint64_t)labels) {
      tpa__log(p->log, p->user, TPA_LOG_INFO,
               "%s: %s has %llu labels, %lld requested: creating a new one (seed %llu)", L->st.path,
               what, (unsigned long long)w->shape[0], (long long)labels,
               (unsigned long long)p->seed);
      w = b = NULL;
    } else if (!w && !b) {
      tpa__log(p->log, p->user, TPA_LOG_INFO,
               "%s: no %s (a base model): creating one with N(0, 0.02) weights from seed %llu "
               "and zero bias",
               L->st.path, what, (unsigned long long)p->seed);
    }
    tpa_status st;
    if (!w && !b)
      st = fresh_linear(m, (size_t)t[i].dims[0], (size_t)t[i].dims[1],
                        out ? p->seed : p->seed ^ DENSE_SEED_MIX, t[i].ptr, t[i + 1].ptr);
    else if (!w || !b)
      st = tpa__error(TPA_ERR_TENSOR_MISSING, "file %s: tensor \"%s\" is missing", L->st.path,
                      w ? t[i + 1].name : t[i].name);
    else if ((st = take_entry(L, w, &t[i])) == TPA_OK)
      st = take_entry(L, b, &t[i + 1]);
    if (st != TPA_OK)
      return st;
  }
  return TPA_OK;
}

static tpa_status load_weights(loader *L, const tpa_model_load_params *p) {
  tpa_model *m = L->m;
  const tpa__family_desc *f = tpa__family_get(m->cfg.family);
  size_t n = tpa__model_tensors(&m->cfg, &m->w, NULL, 0);
  tpa__named_tensor *t = tpa__calloc(n, sizeof *t);
  if (!t)
    return TPA__NO_MEMORY("tensor list");
  tpa__model_tensors(&m->cfg, &m->w, t, n);
  /* A *ForSequenceClassification prefixes the encoder ("bert."); a bare
   * base model does not. */
  L->prefix = tpa__st_find(&L->st, t[0].name) ? f->prefix : "";
  tpa_status st = TPA_OK;
  size_t head = n;
  char name[160];
  for (size_t i = 0; st == TPA_OK && i < n; i++) {
    if (t[i].head) {
      head = i;
      break;
    }
    const tpa__st_tensor *x = find_entry(L, &t[i], f->prefix, name, sizeof name);
    st = x ? take_entry(L, x, &t[i])
           : tpa__error(TPA_ERR_TENSOR_MISSING, "file %s: tensor \"%s\" is missing", L->st.path,
                        name);
  }
  if (st == TPA_OK)
    st = load_head(L, p, t + head, n - head, f->prefix);
  if (st == TPA_OK && m->w.quant)
    st = check_scales(L, t, n);
  free(t);
  if (st == TPA_OK && L->used < L->st.n)
    tpa__log(p->log, p->user, TPA_LOG_DEBUG, "%s: %zu tensors not used by the model", L->st.path,
             L->st.n - L->used);
  return st;
}

/* The tokenizer, as HF's AutoTokenizer finds it: tokenizer.json when the
 * directory has one, else vocab.txt (with tokenizer_config.json's
 * do_lower_case), else RoBERTa's vocab.json + merges.txt. */
static tpa_status load_vocab(tpa_model *m, const char *dir) {
  char *json = tpa__path_join(dir, "tokenizer.json"), *txt = tpa__path_join(dir, "vocab.txt");
  char *bpe_vocab = tpa__path_join(dir, "vocab.json"), *merges = tpa__path_join(dir, "merges.txt");
  tpa_status st = TPA_OK;
  const char *path = json;
  if (!json || !txt || !bpe_vocab || !merges)
    st = TPA__NO_MEMORY("path");
  else if (tpa__file_exists(json))
    st = tpa_tokenizer_load_json(&m->tok, json);
  else if (!tpa__file_exists(txt) && tpa__file_exists(bpe_vocab) && tpa__file_exists(merges))
    st = tpa__tokenizer_load_bpe_files(&m->tok, (path = bpe_vocab), merges);
  else
    st = tpa_tokenizer_load(&m->tok, (path = txt), m->cfg.lower_case);
  if (st == TPA_OK && tpa_tokenizer_vocab_size(m->tok) > (size_t)m->cfg.vocab)
    /* Token ids index the word embeddings: every id must have a row. */
    st = tpa__error(TPA_ERR_VOCAB, "file %s: %zu tokens but config.json vocab_size is %d", path,
                    tpa_tokenizer_vocab_size(m->tok), m->cfg.vocab);
  free(json);
  free(txt);
  free(bpe_vocab);
  free(merges);
  return st;
}

static tpa_status load(tpa_model *m, const char *dir, const tpa_model_load_params *p) {
  bool *pruned = NULL;
  tpa_status st = tpa__config_load(dir, &m->cfg, &pruned);
  if (st == TPA_OK && p->num_labels > 0)
    st = tpa__config_set_num_labels(&m->cfg, p->num_labels);
  if (st == TPA_OK)
    st = build_layers(m, pruned);
  free(pruned);
  if (st != TPA_OK)
    return st;

  loader L = {.m = m};
  char *path = tpa__path_join(dir, "model.safetensors");
  if (!path)
    return TPA__NO_MEMORY("path");
  st = tpa__st_open(&L.st, path);
  free(path);
  if (st == TPA_OK)
    st = load_weights(&L, p);
  if (st == TPA_OK && L.in_place) {
    /* The model keeps the mapping; converted-only models drop it. */
    m->mem.map = L.st.map.data;
    m->mem.map_len = L.st.map.len;
    L.st.map.data = NULL;
    L.st.map.len = 0;
  }
  tpa__st_close(&L.st);
  if (st != TPA_OK)
    return st;
  if ((st = load_vocab(m, dir)))
    return st;
  /* Packing frees each converted matrix as it goes (forward_pack.c). */
  return tpa__infer_state_create(m, NULL);
}

TPA_API tpa_status tpa_model_load(tpa_model **out, const char *dir,
                                  const tpa_model_load_params *params) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_load: out is NULL");
  *out = NULL;
  tpa_model_load_params p;
  if (!dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_load: dir is NULL");
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_model_load_params, user), params,
                       &load_defaults, "tpa_model_load", "tpa_model_load_params");
  if (ps != TPA_OK)
    return ps;
  if (p.num_labels < 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_load: num_labels %d is negative",
                      p.num_labels);
  tpa_model *m = calloc(1, sizeof *m);
  if (!m)
    return TPA__NO_MEMORY("model");
  m->dir = tpa__strdup(dir);
  tpa_status st = m->dir ? load(m, dir, &p) : TPA__NO_MEMORY("model");
  if (st != TPA_OK) {
    tpa_model_free(m);
    return st;
  }
  *out = m;
  return TPA_OK;
}
