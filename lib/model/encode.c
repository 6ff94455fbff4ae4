/* SPDX-License-Identifier: Apache-2.0 */
/* Dataset encoding and batch filling (see encode.h). */
#include "model/encode.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tpa/tokenizer.h"

tpa_status tpa__resolve_max_seq(const tpa_model *m, int32_t requested, const char *fn,
                                int32_t *out) {
  /* The positions the table covers: max_position_embeddings, less
   * RoBERTa's padding_idx + 1 (514 - 2 = 512 for roberta-base). */
  const int32_t max_pos = m->cfg.max_seq;
  int32_t len = requested;
  if (len == 0) /* the default: BERT's usual 128, or less if the model is short */
    len = max_pos < 128 ? max_pos : 128;
  if (len < 3 || len > max_pos)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: max_seq_length %d must be in 3..%d (the positions "
                      "max_position_embeddings %d gives)",
                      fn, len, max_pos, m->cfg.max_pos);
  *out = len;
  return TPA_OK;
}

tpa_status tpa__check_task(const tpa_model *m, const tpa_dataset *ds, const char *fn) {
  const tpa_task task = tpa_dataset_task(ds);
  const int32_t nl = tpa_dataset_num_labels(ds);
  if (nl == 0) /* an unlabeled table without given classes fits any model */
    return TPA_OK;
  if (nl != m->cfg.num_labels) {
    if (tpa_task_name(task))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "%s: task %s has %d labels but the model (%s) has %d", fn,
                        tpa_task_name(task), nl, m->dir ? m->dir : "?", m->cfg.num_labels);
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "%s: the dataset has %d %s but the model (%s) has %d output%s", fn, nl,
                      nl == 1 ? "output (regression)" : "classes", m->dir ? m->dir : "?",
                      m->cfg.num_labels, m->cfg.num_labels == 1 ? "" : "s");
  }
  return TPA_OK;
}

void tpa__encoded_free(tpa__encoded *e) {
  free(e->ids);
  free(e->types);
  free(e->len);
  free(e->labels);
  memset(e, 0, sizeof *e);
}

tpa_status tpa__encode_dataset(const tpa_model *m, const tpa_dataset *ds, size_t n, int32_t max_len,
                               bool need_labels, const char *what, tpa__encoded *e) {
  memset(e, 0, sizeof *e);
  if (n > tpa_dataset_size(ds))
    return tpa__error(TPA_ERR_INTERNAL, "%s: %zu examples asked of %zu", what, n,
                      tpa_dataset_size(ds));
  size_t cells;
  if (max_len <= 0 || !tpa__mul_size(n, (size_t)max_len, &cells))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "%s: dataset too large", what);
  e->n = n;
  e->max_len = max_len;
  e->ids = tpa__malloc_array(cells, sizeof(int32_t));
  e->types = tpa__malloc_array(cells, sizeof(int32_t));
  e->len = tpa__malloc_array(n, sizeof(int32_t));
  e->labels = tpa__malloc_array(n, sizeof(float));
  if (!e->ids || !e->types || !e->len || !e->labels) {
    tpa__encoded_free(e);
    return TPA__NO_MEMORY("tokenized dataset");
  }
  for (size_t i = 0; i < n; i++) {
    int32_t *ids = e->ids + i * (size_t)max_len, *types = e->types + i * (size_t)max_len;
    size_t len = 0;
    e->labels[i] = tpa_dataset_label(ds, i);
    if (need_labels && isnan(e->labels[i])) {
      tpa__encoded_free(e);
      return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                        "%s: example %zu has no label (a test file?); %s needs labelled examples",
                        what, i, what);
    }
    tpa_status s = tpa_tokenizer_encode(m->tok, tpa_dataset_text_a(ds, i),
                                        tpa_dataset_text_b(ds, i), max_len, ids, types, &len);
    if (s != TPA_OK) {
      tpa__encoded_free(e);
      return tpa__error_prefix(s, "%s: example %zu", what, i);
    }
    if (len == 0 || len > (size_t)max_len) {
      tpa__encoded_free(e);
      return tpa__error(TPA_ERR_INTERNAL, "%s: example %zu encoded to %zu tokens", what, i, len);
    }
    /* DistilBERT has no token types (its tokenizer returns none). */
    if (!tpa__family_get(m->cfg.family)->token_types)
      memset(types, 0, len * sizeof *types);
    /* vocab.txt may list more tokens than the embedding has rows. */
    for (size_t t = 0; t < len; t++)
      if (ids[t] < 0 || ids[t] >= m->cfg.vocab || types[t] < 0 ||
          (types[t] >= m->cfg.type_vocab && types[t] > 0)) {
        tpa_status st = tpa__error(TPA_ERR_VOCAB,
                                   "%s: example %zu: token %d (type %d) is past vocab_size %d or "
                                   "type_vocab_size %d of %s",
                                   what, i, ids[t], types[t], m->cfg.vocab, m->cfg.type_vocab,
                                   m->dir ? m->dir : "?");
        tpa__encoded_free(e);
        return st;
      }
    e->len[i] = (int32_t)len;
    e->tokens += len;
  }
  return TPA_OK;
}

/* Sort keys carry their length, so qsort needs no shared state; (length
 * desc, index asc) is a total order, so equal lengths keep file order. */
typedef struct sort_item {
  int32_t len;
  size_t idx;
} sort_item;

static int by_length_desc(const void *a, const void *b) {
  const sort_item *x = a, *y = b;
  if (x->len != y->len)
    return x->len > y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

size_t tpa__encoded_sort_scratch(size_t n) {
  size_t bytes;
  return tpa__mul_size(n ? n : 1, sizeof(sort_item), &bytes) ? bytes : 0;
}

void tpa__encoded_by_length(const tpa__encoded *e, size_t *order, void *scratch) {
  sort_item *items = scratch;
  for (size_t i = 0; i < e->n; i++)
    items[i] = (sort_item){e->len[i], i};
  qsort(items, e->n, sizeof *items, by_length_desc);
  for (size_t i = 0; i < e->n; i++)
    order[i] = items[i].idx;
}

int32_t tpa__encoded_longest(const tpa__encoded *e, const size_t *idx, size_t rows) {
  int32_t longest = 0;
  for (size_t r = 0; r < rows; r++)
    if (e->len[idx[r]] > longest)
      longest = e->len[idx[r]];
  return longest;
}

void tpa__encoded_fill(const tpa__encoded *e, const size_t *idx, size_t rows, int32_t seq,
                       int32_t *ids, int32_t *types, int32_t *mask, float *labels) {
  for (size_t r = 0; r < rows; r++) {
    const size_t ex = idx[r];
    const int32_t len = e->len[ex];
    const int32_t *src_ids = e->ids + ex * (size_t)e->max_len;
    const int32_t *src_types = e->types + ex * (size_t)e->max_len;
    int32_t *di = ids + r * (size_t)seq, *dt = types + r * (size_t)seq,
            *dm = mask + r * (size_t)seq;
    for (int32_t t = 0; t < seq; t++) {
      const bool real = t < len;
      di[t] = real ? src_ids[t] : 0; /* [PAD] is id 0, as HF pads */
      dt[t] = real ? src_types[t] : 0;
      dm[t] = real;
    }
    if (labels)
      labels[r] = e->labels[ex];
  }
}
