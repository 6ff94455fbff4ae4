/* SPDX-License-Identifier: Apache-2.0 */
/* The model families libtpa reads (config.json "model_type"): one table
 * of what differs between them, so that the loader, the tensor list, the
 * forward and gradient passes, the adapter writer and the exporter ask it
 * instead of testing family names. Every family is the same post-LN
 * encoder; they differ in names, in the embeddings and in the head. */
#ifndef TPA_MODEL_FAMILY_H
#define TPA_MODEL_FAMILY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum tpa__family {
  TPA__FAM_BERT = 0,
  TPA__FAM_ROBERTA,
  TPA__FAM_XLMR,
  TPA__FAM_DISTILBERT,
  TPA__FAM_ELECTRA,
  TPA__FAM_COUNT
} tpa__family;

/* Activation between the head's dense and its output projection. */
typedef enum tpa__head_act {
  TPA__HEAD_TANH = 0, /* BERT's pooler, RoBERTa's classifier.dense */
  TPA__HEAD_RELU,     /* DistilBERT's pre_classifier */
  TPA__HEAD_GELU      /* ELECTRA's classifier.dense (erf GELU) */
} tpa__head_act;

typedef struct tpa__family_desc {
  const char *model_type;   /* config.json's "model_type" */
  const char *architecture; /* the sequence classifier's class name */
  const char *tokenizer;    /* HF's tokenizer class ("BertTokenizer") */
  const char *prefix;       /* the encoder's attribute: "bert." */
  const char *layer;        /* blocks under the prefix: "encoder.layer" */
  /* Module paths inside a block, as HF names them (LoRA targets them). */
  const char *query, *key, *value, *attn_out;
  const char *ln1; /* LayerNorm after attention: "attention.output.LayerNorm" */
  const char *ffn_in, *ffn_out;
  const char *ln2; /* LayerNorm after the FFN: "output.LayerNorm" */
  /* The head: dense [H, H], activation, output [labels, H], on token 0.
   * head_in_base: the dense belongs to the encoder (BERT's pooler, under
   * the prefix; a bare base model has it), else it is the head's own
   * and absent from a base checkpoint. */
  const char *head_dense, *head_out;
  bool head_in_base;
  tpa__head_act head_act;
  bool head_pre_dropout; /* dropout on token 0 before the dense (RoBERTa, ELECTRA) */
  bool token_types;      /* has token_type_embeddings */
  bool pad_positions;    /* position ids count non-pad tokens from padding_idx + 1 */
  /* PEFT's target_modules for the six modules LoRA adapts (query, key,
   * value, attn_out, ffn_in, ffn_out): the shortest last components that
   * name each. BERT's "output.dense" also names attention.output.dense,
   * which the adapter writer allows for (stages/adapter_io.c). */
  const char *targets[6];
  /* PEFT's modules_to_save for the trainable copies (the head and every
   * LayerNorm), NULL-terminated. */
  const char *save_modules[6];
} tpa__family_desc;

const tpa__family_desc *tpa__family_get(tpa__family f);

/* The family of @p model_type, or false. */
bool tpa__family_find(const char *model_type, tpa__family *out);

/* "bert, roberta, xlm-roberta, distilbert, electra": for messages. */
const char *tpa__family_list(void);

/* Position ids of [batch, seq] tokens into @p pos: 0..seq-1 on every
 * row, or for pad_positions families HF's
 * create_position_ids_from_input_ids (padding_idx + the count of
 * non-pad ids up to and including the token; pad ids get padding_idx). */
void tpa__positions(bool pad_positions, int32_t pad_id, const int32_t *ids, int32_t batch,
                    int32_t seq, int32_t *pos);

#endif
