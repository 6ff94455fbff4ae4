/* SPDX-License-Identifier: Apache-2.0 */
/* A dataset turned into token ids once, and padded batches cut from it:
 * shared by whole-dataset prediction (model/predict.c) and the training
 * loop (stages/train*.c), so both tokenize, truncate and pad alike. */
#ifndef TPA_MODEL_ENCODE_H
#define TPA_MODEL_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tpa/data.h"

typedef struct tpa__encoded {
  int32_t *ids, *types; /* [n][max_len], rows valid up to len[i] */
  int32_t *len;         /* [n] tokens of each example, specials included */
  float *labels;        /* [n] as tpa_dataset_label (NaN when unlabelled) */
  size_t n;
  int32_t max_len;
  uint64_t tokens; /* sum of len */
} tpa__encoded;

/* The sequence length to use for @p requested (0 = the default
 * min(128, max_position_embeddings)); TPA_ERR_INVALID_ARGUMENT naming
 * @p fn when it is outside 3..max_position_embeddings. */
tpa_status tpa__resolve_max_seq(const tpa_model *m, int32_t requested, const char *fn,
                                int32_t *out);

/* TPA_OK when @p ds's task has @p m's label count (else an error naming
 * @p fn, the task and the model directory). */
tpa_status tpa__check_task(const tpa_model *m, const tpa_dataset *ds, const char *fn);

/* Tokenize the first @p n examples of @p ds (n <= its size; importance
 * samples a prefix) with @p m's tokenizer, truncated to @p max_len. Ids
 * past the embedding tables are refused (TPA_ERR_VOCAB); with
 * @p need_labels, so is an unlabelled example (TPA_ERR_INVALID_ARGUMENT).
 * @p what names the caller in messages. On failure @p e is empty. */
tpa_status tpa__encode_dataset(const tpa_model *m, const tpa_dataset *ds, size_t n, int32_t max_len,
                               bool need_labels, const char *what, tpa__encoded *e);

/* Free and zero @p e (a zeroed one is allowed). */
void tpa__encoded_free(tpa__encoded *e);

/* Example indices longest first, equal lengths in file order (prediction
 * batches rows of similar length). @p order holds e->n values. */
void tpa__encoded_by_length(const tpa__encoded *e, size_t *order, void *scratch);

/* Bytes of scratch tpa__encoded_by_length needs. */
size_t tpa__encoded_sort_scratch(size_t n);

/* Longest row among examples idx[0..rows). */
int32_t tpa__encoded_longest(const tpa__encoded *e, const size_t *idx, size_t rows);

/* Fill a [rows, seq] batch from examples idx[0..rows): ids, token types,
 * 0/1 mask, with [PAD] (id 0) after each row's tokens; @p labels (may be
 * NULL) gets their labels. seq must be >= the longest row. */
void tpa__encoded_fill(const tpa__encoded *e, const size_t *idx, size_t rows, int32_t seq,
                       int32_t *ids, int32_t *types, int32_t *mask, float *labels);

#endif
