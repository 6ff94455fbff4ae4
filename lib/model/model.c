/* SPDX-License-Identifier: Apache-2.0 */
/* The model handle: ownership, free, and the read-only accessors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "io/file.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/tensors.h"
#include "tpa/tokenizer.h"

bool tpa__model_is_mapped(const tpa_model *m, const void *p) {
  const uintptr_t map = (uintptr_t)m->mem.map, b = (uintptr_t)p;
  return m->mem.map && b >= map && b < map + m->mem.map_len;
}

void tpa__model_release_mapped(const tpa_model *m, const void *p, size_t bytes) {
  const tpa__file_map map = {m->mem.map, m->mem.map_len};
  tpa__file_map_release(&map, p, bytes);
}

const float **tpa__layer_matrix(tpa__layer *L, const tpa__config *c, int which, int64_t *out,
                                int64_t *in) {
  const int64_t h = c ? c->hidden : 0, hq = c ? (int64_t)L->n_heads * c->head_dim : 0;
  const int64_t inter = L->inter;
  const float **slot[TPA__LAYER_MATRICES] = {&L->q_w, &L->k_w, &L->v_w, &L->o_w, &L->i_w, &L->f_w};
  const int64_t outs[TPA__LAYER_MATRICES] = {hq, hq, hq, h, inter, h};
  const int64_t ins[TPA__LAYER_MATRICES] = {h, h, h, hq, h, inter};
  if (out)
    *out = outs[which];
  if (in)
    *in = ins[which];
  return slot[which];
}

/* On failure the caller still owns @p block (and should free it). */
bool tpa__model_own(tpa_model *m, void *block, size_t bytes) {
  tpa__model_mem *mem = &m->mem;
  if (mem->n_blocks == mem->cap_blocks) {
    size_t cap = mem->cap_blocks ? 2 * mem->cap_blocks : 32;
    tpa__owned *grown = tpa__malloc_array(cap, sizeof *grown);
    if (!grown)
      return false;
    if (mem->n_blocks)
      memcpy(grown, mem->blocks, mem->n_blocks * sizeof *grown);
    free(mem->blocks);
    mem->blocks = grown;
    mem->cap_blocks = cap;
  }
  mem->blocks[mem->n_blocks++] = (tpa__owned){block, bytes ? bytes : 1};
  return true;
}

/* Every pointer of the model's weight table that may lie in an owned
 * block: each tensor's data (tensors.h lists them all, int8 ones too) and
 * the arrays the table itself is made of. Returns the count written
 * (at most @p cap) or the count needed. */
static size_t live_pointers(tpa_model *m, const void **out, size_t cap, const tpa__named_tensor *t,
                            size_t n_t) {
  size_t n = 0;
#define LIVE(p)                                                                                    \
  do {                                                                                             \
    if (n < cap)                                                                                   \
      out[n] = (p);                                                                                \
    n++;                                                                                           \
  } while (0)
  for (size_t i = 0; i < n_t; i++)
    LIVE(t[i].i8 ? (const void *)*t[i].i8 : (const void *)*t[i].ptr);
  LIVE(m->w.layer);
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    LIVE(m->w.layer[l].head_ids);
    LIVE(m->w.layer[l].neuron_ids);
  }
  if (m->w.quant) {
    LIVE(m->w.quant);
    LIVE(m->w.quant->layer);
  }
#undef LIVE
  return n;
}

/* Free the owned blocks no live pointer points into; with @p only, just
 * the block that holds it. */
static void collect(tpa_model *m, const void *only) {
  tpa__model_mem *mem = &m->mem;
  const size_t n_t = tpa__model_tensors(&m->cfg, &m->w, NULL, 0);
  tpa__named_tensor *t = tpa__malloc_array(n_t, sizeof *t);
  const size_t n_p = t ? live_pointers(m, NULL, 0, NULL, n_t) : 0;
  const void **live = t ? tpa__malloc_array(n_p, sizeof *live) : NULL;
  if (!t || !live) { /* nothing is freed early; all of it goes with the model */
    free(t);
    free(live);
    return;
  }
  tpa__model_tensors(&m->cfg, &m->w, t, n_t);
  live_pointers(m, live, n_p, t, n_t);
  size_t kept = 0;
  for (size_t b = 0; b < mem->n_blocks; b++) {
    const uintptr_t lo = (uintptr_t)mem->blocks[b].p, hi = lo + mem->blocks[b].bytes;
    bool used = only && ((uintptr_t)only < lo || (uintptr_t)only >= hi); /* not the one asked */
    for (size_t i = 0; !used && i < n_p; i++)
      used = (uintptr_t)live[i] >= lo && (uintptr_t)live[i] < hi;
    if (used)
      mem->blocks[kept++] = mem->blocks[b];
    else
      free(mem->blocks[b].p);
  }
  mem->n_blocks = kept;
  free(live);
  free(t);
}

void tpa__model_collect(tpa_model *m) {
  collect(m, NULL);
}

void tpa__model_collect_at(tpa_model *m, const void *p) {
  collect(m, p);
}

tpa_status tpa__model_weights_copy(const tpa_model *m, tpa__weights *dst, tpa__layer **layers) {
  *dst = m->w;
  *layers = tpa__malloc_array((size_t)m->cfg.layers, sizeof **layers);
  if (!*layers)
    return TPA__NO_MEMORY("weight table");
  memcpy(*layers, m->w.layer, (size_t)m->cfg.layers * sizeof **layers);
  dst->layer = *layers;
  return TPA_OK;
}

tpa_status tpa__model_replace_weights(tpa_model *m, const tpa__weights *w) {
  const size_t L = (size_t)m->cfg.layers;
  tpa__layer *old_layers = tpa__malloc_array(L, sizeof *old_layers);
  if (!old_layers)
    return TPA__NO_MEMORY("weight table");
  tpa__layer *table = m->w.layer; /* the model's own array stays in place */
  const tpa__weights old_w = m->w;
  memcpy(old_layers, table, L * sizeof *old_layers);
  if (w->layer != table)
    memcpy(table, w->layer, L * sizeof *table);
  m->w = *w;
  m->w.layer = table;
  struct tpa__infer_state *old_infer = m->infer;
  tpa_status s = tpa__infer_state_create(m, old_infer);
  if (s != TPA_OK) {
    /* Back to the weights the old inference state was built for. */
    m->w = old_w;
    memcpy(table, old_layers, L * sizeof *table);
    m->infer = old_infer;
  } else {
    tpa__infer_state_free(old_infer);
    tpa__model_drop_packed_plain(m); /* and frees what the old table alone used */
  }
  free(old_layers);
  return s;
}

TPA_API void tpa_model_free(tpa_model *m) {
  if (!m)
    return;
  /* The inference state may point at weights: release it first. */
  tpa__infer_state_free(m->infer);
  tpa_tokenizer_free(m->tok);
  for (size_t i = 0; i < m->mem.n_blocks; i++)
    free(m->mem.blocks[i].p);
  free(m->mem.blocks);
  if (m->mem.map)
    munmap(m->mem.map, m->mem.map_len);
  tpa__config_free(&m->cfg);
  free(m->dir);
  free(m);
}

TPA_API tpa_status tpa_model_get_config(const tpa_model *m, tpa_model_config *cfg) {
  tpa__error_clear();
  if (!m)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_get_config: model is NULL");
  tpa_status s = tpa__result_check(cfg, "tpa_model_get_config: cfg");
  if (s != TPA_OK)
    return s;
  const tpa__config *c = &m->cfg;
  /* Field by field over a zeroed struct: the padding before model_type
   * must not carry stack bytes to the caller (programs compare configs
   * with memcmp). */
  tpa_model_config full;
  memset(&full, 0, sizeof full);
  full.size = sizeof full;
  full.hidden_size = c->hidden;
  full.num_layers = c->layers;
  full.num_heads = c->heads;
  full.head_dim = c->head_dim;
  full.intermediate_size = c->inter;
  full.vocab_size = c->vocab;
  full.max_position_embeddings = c->max_pos;
  full.type_vocab_size = c->type_vocab;
  full.num_labels = c->num_labels;
  full.layer_norm_eps = c->ln_eps;
  full.hidden_dropout_prob = c->hidden_dropout;
  full.attention_probs_dropout_prob = c->attn_dropout;
  full.do_lower_case = c->lower_case;
  full.regression = c->regression;
  full.model_type = tpa__family_get(c->family)->model_type;
  full.embedding_size = c->emb;
  full.max_sequence_length = c->max_seq;
  tpa__result_write(cfg, &full, sizeof full);
  return TPA_OK;
}

TPA_API int32_t tpa_model_layer_num_heads(const tpa_model *m, int32_t layer) {
  if (!m || layer < 0 || layer >= m->cfg.layers)
    return -1;
  return m->w.layer[layer].n_heads;
}

TPA_API int32_t tpa_model_layer_ffn_width(const tpa_model *m, int32_t layer) {
  if (!m || layer < 0 || layer >= m->cfg.layers)
    return -1;
  return m->w.layer[layer].inter;
}

TPA_API tpa_status tpa_model_layer_heads(const tpa_model *m, int32_t layer, int32_t *heads,
                                         size_t cap, size_t *n) {
  tpa__error_clear();
  if (!m || !n || (!heads && cap > 0))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_layer_heads: NULL argument");
  if (layer < 0 || layer >= m->cfg.layers)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_layer_heads: layer %d not in 0..%d",
                      layer, m->cfg.layers - 1);
  const tpa__layer *l = &m->w.layer[layer];
  size_t count = (size_t)l->n_heads;
  *n = count;
  if (!heads)
    return TPA_OK; /* size query */
  size_t w = count < cap ? count : cap;
  if (w)
    memcpy(heads, l->head_ids, w * sizeof *heads);
  if (count > cap)
    return tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                      "tpa_model_layer_heads: layer %d keeps %zu heads, buffer holds %zu", layer,
                      count, cap);
  return TPA_OK;
}

void tpa__param_counts(const tpa__config *c, const int32_t *heads_per_layer,
                       const int32_t *inter_per_layer, tpa_param_counts *out) {
  uint64_t H = (uint64_t)c->hidden, d = (uint64_t)c->head_dim;
  uint64_t E = (uint64_t)c->emb;
  out->embeddings =
      ((uint64_t)c->vocab + (uint64_t)c->max_pos + (uint64_t)c->type_vocab) * E + 2 * E;
  if (E != H) /* ELECTRA's embeddings_project */
    out->embeddings += H * E + H;
  out->encoder = 0;
  for (int32_t l = 0; l < c->layers; l++) {
    uint64_t a = (uint64_t)(heads_per_layer ? heads_per_layer[l] : c->heads) * d;
    const uint64_t I = (uint64_t)(inter_per_layer   ? inter_per_layer[l]
                                  : c->inter_layers ? c->inter_layers[l]
                                                    : c->inter);
    out->encoder += 3 * (a * H + a) /* query, key, value */
                    + H * a + H     /* attention.output.dense */
                    + 2 * H         /* attention.output.LayerNorm */
                    + I * H + I     /* intermediate.dense */
                    + H * I + H     /* output.dense */
                    + 2 * H;        /* output.LayerNorm */
  }
  out->pooler = H * H + H;
  out->classifier = (uint64_t)c->num_labels * H + (uint64_t)c->num_labels;
  out->head = out->pooler + out->classifier;
  out->total = out->embeddings + out->encoder + out->head;
}

TPA_API tpa_status tpa_model_param_counts(const tpa_model *m, tpa_param_counts *counts) {
  tpa__error_clear();
  if (!m)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_param_counts: model is NULL");
  tpa_status s = tpa__result_check(counts, "tpa_model_param_counts: counts");
  if (s != TPA_OK)
    return s;
  int32_t *heads = tpa__calloc(2 * (size_t)m->cfg.layers, sizeof *heads);
  if (!heads)
    return TPA__NO_MEMORY("parameter counts");
  int32_t *inters = heads + m->cfg.layers;
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    heads[l] = m->w.layer[l].n_heads;
    inters[l] = m->w.layer[l].inter;
  }
  tpa_param_counts full = {.size = sizeof full};
  tpa__param_counts(&m->cfg, heads, inters, &full);
  free(heads);
  tpa__result_write(counts, &full, sizeof full);
  return TPA_OK;
}

TPA_API const char *tpa_model_label_name(const tpa_model *m, int32_t id) {
  if (!m || id < 0 || id >= m->cfg.num_labels || !m->cfg.id2label)
    return NULL;
  return m->cfg.id2label[id];
}

TPA_API tpa_status tpa_model_set_label_names(tpa_model *m, const char *const *names, int32_t n) {
  tpa__error_clear();
  if (!m || !names)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_set_label_names: NULL argument");
  if (n != m->cfg.num_labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_set_label_names: %d names for a model with %d labels", (int)n,
                      (int)m->cfg.num_labels);
  for (int32_t i = 0; i < n; i++) {
    if (!names[i] || !names[i][0])
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_set_label_names: name %d is %s",
                        (int)i, names[i] ? "empty" : "NULL");
    for (int32_t j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                          "tpa_model_set_label_names: \"%.40s\" is given twice", names[i]);
  }
  char **copy = tpa__calloc((size_t)n, sizeof *copy);
  for (int32_t i = 0; copy && i < n; i++)
    if (!(copy[i] = tpa__strdup(names[i]))) {
      for (int32_t j = 0; j < i; j++)
        free(copy[j]);
      free(copy);
      copy = NULL;
    }
  if (!copy)
    return TPA__NO_MEMORY("label names");
  for (int32_t i = 0; i < n; i++)
    free(m->cfg.id2label[i]);
  free(m->cfg.id2label);
  m->cfg.id2label = copy;
  return TPA_OK;
}

TPA_API const tpa_tokenizer *tpa_model_tokenizer(const tpa_model *m) {
  return m ? m->tok : NULL;
}
