/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-dataset inference: tokenize every example, sort by length, run
 * batches padded only to their own longest row, and put the logits back in
 * dataset order. One work area, sized for the first (longest) batch, serves
 * every batch, so no memory is allocated inside the loop. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/params.h"
#include "model/forward.h"
#include "tpa/data.h"
#include "tpa/infer.h"
#include "tpa/tokenizer.h"

static const tpa_predict_params predict_defaults = {
    .size = sizeof(tpa_predict_params),
    .max_seq_length = 0, /* 0: min(128, max_position_embeddings) */
    .batch_size = 32,
    .progress = NULL,
    .user = NULL,
};

void tpa_predict_params_init(tpa_predict_params *p, size_t size) {
  tpa__params_init(p, size, &predict_defaults, sizeof predict_defaults);
}

/* Batches are padded up to a multiple of this (never past the longest
 * allowed length): masked padding changes no logit, and rounded lengths
 * give the kernels aligned shapes and the primitive cache fewer of them. */
#define PAD_MULTIPLE 8

typedef struct encoded {
  int32_t *ids, *types; /* [n][max_len] */
  int32_t *len;         /* [n] */
  size_t *order;        /* example indices, longest first */
  size_t n;
  int32_t max_len;
} encoded;

static void encoded_free(encoded *e) {
  free(e->ids);
  free(e->types);
  free(e->len);
  free(e->order);
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

static tpa_status encode_all(const tpa_model *m, const tpa_dataset *ds, int32_t max_len,
                             encoded *e) {
  memset(e, 0, sizeof *e);
  const size_t n = tpa_dataset_size(ds);
  e->n = n;
  e->max_len = max_len;
  size_t cells;
  if (!tpa__mul_size(n, (size_t)max_len, &cells))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "predict: dataset too large");
  e->ids = tpa__malloc_array(cells, sizeof(int32_t));
  e->types = tpa__malloc_array(cells, sizeof(int32_t));
  e->len = tpa__malloc_array(n, sizeof(int32_t));
  e->order = tpa__malloc_array(n, sizeof(size_t));
  sort_item *items = tpa__malloc_array(n, sizeof *items);
  if (!e->ids || !e->types || !e->len || !e->order || !items) {
    free(items);
    return TPA__NO_MEMORY("tokenized dataset");
  }
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    tpa_status s =
        tpa_tokenizer_encode(m->tok, tpa_dataset_text_a(ds, i), tpa_dataset_text_b(ds, i), max_len,
                             e->ids + i * (size_t)max_len, e->types + i * (size_t)max_len, &len);
    if (s != TPA_OK) {
      free(items);
      return tpa__error_prefix(s, "predict: example %zu", i);
    }
    if (len == 0 || len > (size_t)max_len) {
      free(items);
      return tpa__error(TPA_ERR_INTERNAL, "predict: example %zu encoded to %zu tokens", i, len);
    }
    /* vocab.txt may list more tokens than the embedding has rows. */
    for (size_t t = 0; t < len; t++)
      if (e->ids[i * (size_t)max_len + t] >= m->cfg.vocab ||
          e->types[i * (size_t)max_len + t] >= m->cfg.type_vocab) {
        free(items);
        return tpa__error(TPA_ERR_VOCAB,
                          "predict: example %zu: token %d (type %d) is past vocab_size %d or "
                          "type_vocab_size %d of %s",
                          i, e->ids[i * (size_t)max_len + t], e->types[i * (size_t)max_len + t],
                          m->cfg.vocab, m->cfg.type_vocab, m->dir ? m->dir : "?");
      }
    e->len[i] = (int32_t)len;
    items[i] = (sort_item){(int32_t)len, i};
  }
  qsort(items, n, sizeof *items, by_length_desc);
  for (size_t i = 0; i < n; i++)
    e->order[i] = items[i].idx;
  free(items);
  return TPA_OK;
}

static int32_t padded_length(int32_t longest, int32_t limit) {
  int32_t s = (longest + PAD_MULTIPLE - 1) / PAD_MULTIPLE * PAD_MULTIPLE;
  return s > limit ? (longest > limit ? longest : limit) : s;
}

tpa_status tpa_model_predict(const tpa_model *model, const tpa_dataset *ds,
                             const tpa_predict_params *params, float *logits, size_t cap) {
  tpa__error_clear();
  if (!model || !ds || !logits)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_predict: NULL %s",
                      !model ? "model"
                      : !ds  ? "dataset"
                             : "logits");
  tpa_predict_params p;
  if (!tpa__params_read(&p, sizeof p, params, &predict_defaults))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_predict: params->size is invalid");
  const tpa__config *c = &model->cfg;
  if (!model->infer || !model->tok)
    return tpa__error(TPA_ERR_INTERNAL, "tpa_model_predict: model is incomplete");
  if (p.batch_size <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_predict: batch_size %d must be > 0",
                      p.batch_size);
  if (p.max_seq_length == 0) /* the default: BERT's usual 128, or less if the model is short */
    p.max_seq_length = c->max_pos < 128 ? c->max_pos : 128;
  if (p.max_seq_length < 3 || p.max_seq_length > c->max_pos)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_predict: max_seq_length %d must be in 3..%d "
                      "(max_position_embeddings)",
                      p.max_seq_length, c->max_pos);
  const tpa_task task = tpa_dataset_task(ds);
  const int32_t nl = tpa_task_num_labels(task);
  if (nl != c->num_labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_predict: task %s has %d labels but the model (%s) has %d",
                      tpa_task_name(task) ? tpa_task_name(task) : "?", nl,
                      model->dir ? model->dir : "?", c->num_labels);
  const size_t n = tpa_dataset_size(ds);
  size_t need;
  if (!tpa__mul_size(n, (size_t)nl, &need) || cap < need)
    return tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                      "tpa_model_predict: logits holds %zu floats, %zu examples need %zu", cap, n,
                      n * (size_t)nl);
  if (n == 0)
    return TPA_OK;

  encoded e;
  tpa_status s = encode_all(model, ds, p.max_seq_length, &e);
  const size_t bs = (size_t)p.batch_size < n ? (size_t)p.batch_size : n;
  /* The first batch holds the longest rows: it sizes the work area. */
  const int32_t max_seq = s == TPA_OK ? padded_length(e.len[e.order[0]], c->max_pos) : 0;
  tpa__infer_work w;
  memset(&w, 0, sizeof w);
  int32_t *ids = NULL, *types = NULL, *mask = NULL;
  float *out = NULL;
  if (s == TPA_OK)
    s = tpa__infer_work_init(&w, model, bs, max_seq);
  if (s == TPA_OK) {
    ids = tpa__malloc_array(bs * (size_t)max_seq, sizeof *ids);
    types = tpa__malloc_array(bs * (size_t)max_seq, sizeof *types);
    mask = tpa__malloc_array(bs * (size_t)max_seq, sizeof *mask);
    out = tpa__malloc_array(bs * (size_t)nl, sizeof *out);
    if (!ids || !types || !mask || !out)
      s = TPA__NO_MEMORY("predict batch");
  }
  for (size_t b0 = 0; s == TPA_OK && b0 < n; b0 += bs) {
    const size_t rows = b0 + bs <= n ? bs : n - b0;
    const int32_t seq = padded_length(e.len[e.order[b0]], c->max_pos);
    for (size_t r = 0; r < rows; r++) {
      const size_t ex = e.order[b0 + r];
      const int32_t len = e.len[ex];
      const int32_t *src_ids = e.ids + ex * (size_t)e.max_len;
      const int32_t *src_types = e.types + ex * (size_t)e.max_len;
      int32_t *di = ids + r * (size_t)seq, *dt = types + r * (size_t)seq,
              *dm = mask + r * (size_t)seq;
      for (int32_t t = 0; t < seq; t++) {
        const bool real = t < len;
        di[t] = real ? src_ids[t] : 0; /* [PAD] is id 0, as HF pads */
        dt[t] = real ? src_types[t] : 0;
        dm[t] = real;
      }
    }
    s = tpa__forward_batch(model, &w, ids, types, mask, (int32_t)rows, seq, out);
    for (size_t r = 0; s == TPA_OK && r < rows; r++)
      memcpy(logits + e.order[b0 + r] * (size_t)nl, out + r * (size_t)nl, (size_t)nl * sizeof *out);
    if (s == TPA_OK)
      s = tpa__progress(p.progress, p.user, "predict", b0 + rows, n);
  }
  free(ids);
  free(types);
  free(mask);
  free(out);
  tpa__infer_work_free(&w);
  encoded_free(&e);
  return s;
}
