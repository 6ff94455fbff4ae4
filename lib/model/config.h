/* SPDX-License-Identifier: Apache-2.0 */
/* config.json (and tokenizer_config.json) -> tpa__config, validated. */
#ifndef TPA_MODEL_CONFIG_H
#define TPA_MODEL_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "model/model.h"

/* Upper bounds that no real BERT reaches; they keep every size product
 * computed from a config far from overflow. */
#define TPA__CFG_MAX_HIDDEN 65536
#define TPA__CFG_MAX_LAYERS 1024
#define TPA__CFG_MAX_HEADS 1024
#define TPA__CFG_MAX_INTER (1 << 20)
#define TPA__CFG_MAX_VOCAB (1 << 24)
#define TPA__CFG_MAX_POS (1 << 20)
#define TPA__CFG_MAX_TYPES 65536
#define TPA__CFG_MAX_LABELS 65536

/* Parse the object @p root of config file @p path into @p cfg and the
 * pruned-head table *pruned ([layers * heads], true = removed; free()).
 * model_type must name a family of model/family.h (absent: BERT), else
 * TPA_ERR_UNSUPPORTED listing them; each family's own keys are read
 * (DistilBERT's dim/n_layers/n_heads/hidden_dim, ELECTRA's
 * embedding_size, RoBERTa's pad_token_id for its positions).
 * Sizes must be positive and bounded, hidden_size a multiple of
 * num_attention_heads, hidden_act "gelu" (else TPA_ERR_UNSUPPORTED). The
 * label count comes from id2label, else num_labels, else 2; labels without
 * names are "LABEL_<i>". Errors: TPA_ERR_CONFIG naming the key and file.
 * cfg->lower_case is set to true (tokenizer_config.json decides later). */
/* quantization_config's quant_method for libtpa's int8 models. */
#define TPA__QUANT_METHOD "libtpa_int8"

tpa_status tpa__config_parse(const json_t *root, const char *path, tpa__config *cfg, bool **pruned);

/* config.json and, when present, tokenizer_config.json of @p dir. */
tpa_status tpa__config_load(const char *dir, tpa__config *cfg, bool **pruned);

/* Replace the labels with @p n generic ones ("LABEL_<i>") unless the
 * count already matches; regression follows (n == 1). */
tpa_status tpa__config_set_num_labels(tpa__config *cfg, int32_t n);

/* Exact parameter counts for @p cfg when layer l keeps heads_per_layer[l]
 * heads (NULL: no pruning). Per kept head of size d in a block of width H:
 * 3 (d H + d) for Q, K, V plus H d for the output dense. counts->size is
 * left alone; the rest of the struct is filled. @p inter_per_layer gives
 * each layer's intermediate width (NULL: config.json's). */
void tpa__param_counts(const tpa__config *cfg, const int32_t *heads_per_layer,
                       const int32_t *inter_per_layer, tpa_param_counts *counts);

/* Free the label names; zeroes @p cfg. */
void tpa__config_free(tpa__config *cfg);

/* config.json's key for the intermediate size in @p family's files. */
const char *tpa__config_inter_key(tpa__family family);

#endif
