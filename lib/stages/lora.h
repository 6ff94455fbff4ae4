/* SPDX-License-Identifier: Apache-2.0 */
/* What the stages share about LoRA sets beyond their layout
 * (model/lora_layout.h): the set itself (stages/lora.c), PEFT I/O
 * (stages/adapter_io.c) and the training loop (stages/train*.c). A second
 * set of the same shape serves as the container of its gradients
 * (tpa__lora_set_clone_zero). */
#ifndef TPA_STAGES_LORA_H
#define TPA_STAGES_LORA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/lora_layout.h"
#include "tpa/lora.h"

/* A set of the same shape with every value 0 (a gradient container). */
tpa_status tpa__lora_set_clone_zero(tpa_lora_set **out, const tpa_lora_set *s);

/* Copy every value of @p src into @p dst (same shape). */
void tpa__lora_set_copy(tpa_lora_set *dst, const tpa_lora_set *src);

/* One trainable tensor of a set, for optimizers and checkpoints. */
typedef struct tpa__tensor_ref {
  char name[128]; /* PEFT key, e.g.
                     base_model.model.bert.encoder.layer.3.attention.self.query.lora_A.weight */
  float *data;
  size_t count;
  int32_t rows, cols; /* cols = count, rows = 1 for vectors */
  bool decay;         /* AdamW weight decay applies (weights, not biases/LayerNorm) */
} tpa__tensor_ref;

/* List the set's tensors in a fixed order (LoRA A/B by block and module,
 * then LayerNorms, then classifier). Writes up to @p cap refs and
 * returns the total count. */
size_t tpa__lora_set_tensors(tpa_lora_set *s, tpa__tensor_ref *out, size_t cap);

/* HF's path of LoRA module @p module inside a block of @p family
 * ("attention.self.query", DistilBERT's "attention.q_lin"). */
const char *tpa__lora_module_path(tpa__family family, int32_t module);

#endif
