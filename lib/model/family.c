/* SPDX-License-Identifier: Apache-2.0 */
/* The family table (model/family.h), from HF transformers 4.x's
 * modeling_{bert,roberta,xlm_roberta,distilbert,electra}.py: module
 * names as their state dicts spell them, and the classification heads of
 * BertForSequenceClassification (pooler tanh, classifier),
 * RobertaClassificationHead (dense, tanh, out_proj), DistilBERT's
 * pre_classifier + ReLU + classifier and ElectraClassificationHead
 * (dense, GELU, out_proj). */
#include "model/family.h"

#include <string.h>

#define BERT_BLOCK                                                                                 \
  .layer = "encoder.layer", .query = "attention.self.query", .key = "attention.self.key",          \
  .value = "attention.self.value", .attn_out = "attention.output.dense",                           \
  .ln1 = "attention.output.LayerNorm", .ffn_in = "intermediate.dense", .ffn_out = "output.dense",  \
  .ln2 = "output.LayerNorm",                                                                       \
  .targets = {"query",       "key", "value", "attention.output.dense", "intermediate.dense",       \
              "output.dense"},                                                                     \
  .save_modules = {"classifier", "LayerNorm"}

static const tpa__family_desc families[TPA__FAM_COUNT] = {
    [TPA__FAM_BERT] = {.model_type = "bert",
                       .architecture = "BertForSequenceClassification",
                       .tokenizer = "BertTokenizer",
                       .prefix = "bert.",
                       BERT_BLOCK,
                       .head_dense = "pooler.dense",
                       .head_out = "classifier",
                       .head_in_base = true,
                       .head_act = TPA__HEAD_TANH,
                       .token_types = true},
    [TPA__FAM_ROBERTA] = {.model_type = "roberta",
                          .architecture = "RobertaForSequenceClassification",
                          .tokenizer = "RobertaTokenizer",
                          .prefix = "roberta.",
                          BERT_BLOCK,
                          .head_dense = "classifier.dense",
                          .head_out = "classifier.out_proj",
                          .head_act = TPA__HEAD_TANH,
                          .head_pre_dropout = true,
                          .token_types = true,
                          .pad_positions = true},
    [TPA__FAM_XLMR] = {.model_type = "xlm-roberta",
                       .architecture = "XLMRobertaForSequenceClassification",
                       .tokenizer = "XLMRobertaTokenizer",
                       .prefix = "roberta.",
                       BERT_BLOCK,
                       .head_dense = "classifier.dense",
                       .head_out = "classifier.out_proj",
                       .head_act = TPA__HEAD_TANH,
                       .head_pre_dropout = true,
                       .token_types = true,
                       .pad_positions = true},
    [TPA__FAM_DISTILBERT] = {.model_type = "distilbert",
                             .architecture = "DistilBertForSequenceClassification",
                             .tokenizer = "DistilBertTokenizer",
                             .prefix = "distilbert.",
                             .layer = "transformer.layer",
                             .query = "attention.q_lin",
                             .key = "attention.k_lin",
                             .value = "attention.v_lin",
                             .attn_out = "attention.out_lin",
                             .ln1 = "sa_layer_norm",
                             .ffn_in = "ffn.lin1",
                             .ffn_out = "ffn.lin2",
                             .ln2 = "output_layer_norm",
                             .targets = {"q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"},
                             .save_modules = {"classifier", "pre_classifier", "LayerNorm",
                                              "sa_layer_norm", "output_layer_norm"},
                             .head_dense = "pre_classifier",
                             .head_out = "classifier",
                             .head_act = TPA__HEAD_RELU},
    [TPA__FAM_ELECTRA] = {.model_type = "electra",
                          .architecture = "ElectraForSequenceClassification",
                          .tokenizer = "ElectraTokenizer",
                          .prefix = "electra.",
                          BERT_BLOCK,
                          .head_dense = "classifier.dense",
                          .head_out = "classifier.out_proj",
                          .head_act = TPA__HEAD_GELU,
                          .head_pre_dropout = true,
                          .token_types = true},
};

const tpa__family_desc *tpa__family_get(tpa__family f) {
  return &families[(unsigned)f < TPA__FAM_COUNT ? f : TPA__FAM_BERT];
}

bool tpa__family_find(const char *model_type, tpa__family *out) {
  for (int f = 0; f < TPA__FAM_COUNT; f++)
    if (strcmp(families[f].model_type, model_type) == 0) {
      *out = (tpa__family)f;
      return true;
    }
  return false;
}

const char *tpa__family_list(void) {
  return "bert, roberta, xlm-roberta, distilbert, electra";
}

void tpa__positions(bool pad_positions, int32_t pad_id, const int32_t *ids, int32_t batch,
                    int32_t seq, int32_t *pos) {
  for (int32_t b = 0; b < batch; b++) {
    const int32_t *row = ids + (int64_t)b * seq;
    int32_t *out = pos + (int64_t)b * seq, count = 0;
    for (int32_t s = 0; s < seq; s++) {
      if (!pad_positions)
        out[s] = s;
      else if (row[s] == pad_id)
        out[s] = pad_id;
      else
        out[s] = pad_id + ++count;
    }
  }
}
