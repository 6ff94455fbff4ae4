/* SPDX-License-Identifier: Apache-2.0 */
/* The in-memory BERT model shared by loading (model/load.c), inference
 * (model/forward.c) and, later, training and export. Weights keep HF's
 * layout: a Linear weight is [out, in] row-major, so y = x W^T + b. */
#ifndef TPA_MODEL_MODEL_H
#define TPA_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/family.h"
#include "tpa/model.h"

/* How a quantized model's activations get their scales. */
typedef enum tpa__quant_act {
  TPA__QUANT_NONE = 0,    /* an f32 model */
  TPA__QUANT_DYNAMIC = 1, /* per row, from each row's largest magnitude */
  TPA__QUANT_STATIC = 2   /* one scale per Linear input, from calibration */
} tpa__quant_act;

/* config.json, after validation. */
typedef struct tpa__config {
  tpa__family family;    /* model_type (model/family.h) */
  int32_t hidden;        /* hidden_size */
  int32_t layers;        /* num_hidden_layers */
  int32_t heads;         /* num_attention_heads (before pruning) */
  int32_t head_dim;      /* hidden / heads */
  int32_t inter;         /* intermediate_size: the widest layer's (tpa__layer.inter) */
  int32_t *inter_layers; /* config.json's "intermediate_sizes" (one per layer,
                            owned), or NULL: every layer has intermediate_size */
  int32_t vocab;         /* vocab_size */
  int32_t max_pos;       /* max_position_embeddings */
  int32_t type_vocab;    /* type_vocab_size */
  int32_t num_labels;    /* 1 = regression */
  int32_t emb;           /* embedding width: ELECTRA's embedding_size, else hidden */
  int32_t pad_id;        /* pad_token_id: the padding_idx of RoBERTa's positions */
  int32_t max_seq;       /* longest sequence the position table covers */
  double ln_eps;         /* layer_norm_eps */
  double hidden_dropout;
  double attn_dropout;
  double cls_dropout; /* dropout of the classification head */
  bool regression;    /* problem_type "regression" or num_labels == 1 */
  bool lower_case;    /* tokenizer_config.json do_lower_case (default true) */
  int32_t quant;      /* quantization_config's activations: tpa__quant_act */
  char **id2label;    /* num_labels owned strings */
  /* config.json and tokenizer_config.json as read (references owned, the
   * latter NULL when absent): a non-BERT family is exported as its own
   * file with libtpa's changes applied, keeping every key HF wrote. */
  struct json_t *raw, *raw_tok;
} tpa__config;

/* One transformer block. n_heads may be smaller than config.heads when
 * heads were pruned; head_ids lists the ORIGINAL indices kept, ascending.
 * q/k/v_w are [n_heads*head_dim, hidden], o_w is [hidden, n_heads*head_dim]. */
typedef struct tpa__layer {
  int32_t n_heads;
  int32_t *head_ids;
  /* Intermediate neurons: inter now, inter_loaded when the model was
   * loaded (the index range of neuron plans, model/prune.c), and those
   * kept by neuron pruning in this process by their index as loaded,
   * ascending (NULL = all of them). */
  int32_t inter, inter_loaded;
  int32_t *neuron_ids;
  const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b;
  const float *o_w, *o_b;
  const float *ln1_g, *ln1_b; /* attention.output.LayerNorm */
  const float *i_w, *i_b;     /* intermediate.dense [inter, hidden] (the layer's inter) */
  const float *f_w, *f_b;     /* output.dense [hidden, inter] */
  const float *ln2_g, *ln2_b; /* output.LayerNorm */
} tpa__layer;

/* An int8 Linear of a quantized model (docs/quantization.md): HF's
 * [out, in] weight as s8 codes, one f32 scale per output row, and with
 * static activation scales the input's scale (one f32; NULL when the
 * activations are quantized per row as they come). */
typedef struct tpa__qlinear {
  const int8_t *w;
  const float *scale;
  const float *in_scale;
} tpa__qlinear;

typedef struct tpa__qlayer {
  tpa__qlinear q, k, v, o, i, f;
} tpa__qlayer;

/* The int8 tables of a quantized model. The block Linears' f32 weight
 * pointers (tpa__layer.q_w ...) and word_emb are NULL in such a model;
 * biases, LayerNorms, the other embeddings and the head stay f32. */
typedef struct tpa__quant {
  int32_t activations;     /* tpa__quant_act */
  const int8_t *word_emb;  /* [vocab, emb] codes */
  const float *word_scale; /* [vocab]: one scale per row */
  tpa__qlayer *layer;      /* [layers] */
} tpa__quant;

typedef struct tpa__weights {
  const float *word_emb; /* [vocab, emb] */
  const float *pos_emb;  /* [max_pos, emb] */
  const float *type_emb; /* [type_vocab, emb]; NULL for DistilBERT */
  const float *emb_ln_g, *emb_ln_b;
  const float *proj_w, *proj_b; /* ELECTRA's embeddings_project [hidden, emb], or NULL */
  tpa__layer *layer;            /* [config.layers] */
  /* The head's dense [hidden, hidden] (BERT's pooler, RoBERTa's
   * classifier.dense, DistilBERT's pre_classifier) and its output
   * [num_labels, hidden] (classifier or classifier.out_proj). */
  const float *pool_w, *pool_b;
  const float *cls_w, *cls_b;
  tpa__quant *quant; /* int8 tables, or NULL (an f32 model) */
} tpa__weights;

/* An allocation the model owns, and its size in bytes. */
typedef struct tpa__owned {
  void *p;
  size_t bytes;
} tpa__owned;

/* Memory a model owns: F32 tensors point into the mapping of
 * model.safetensors; converted (F16/BF16) or created tensors live in
 * owned blocks, freed as soon as no tensor points into them any more
 * (tpa__model_collect) or with the model. */
typedef struct tpa__model_mem {
  void *map; /* mmap of model.safetensors, or NULL */
  size_t map_len;
  tpa__owned *blocks; /* owned allocations */
  size_t n_blocks, cap_blocks;
} tpa__model_mem;

struct tpa__infer_state; /* owned by model/forward.c */

struct tpa_model {
  tpa__config cfg;
  tpa__weights w;
  tpa__model_mem mem;
  tpa_tokenizer *tok;
  char *dir;                      /* directory it was loaded from */
  struct tpa__infer_state *infer; /* kernels' prepared weights and caches */
};

/* TPA_OK for an f32 model; for a quantized one, TPA_ERR_INVALID_ARGUMENT
 * saying that @p what (a public call's name) needs the f32 weights. */
tpa_status tpa__model_require_f32(const tpa_model *m, const char *what);

/* Block matrix @p which of layer @p L, in the order of tpa_lora_module
 * (0..5: query, key, value, attention output, intermediate, output
 * dense): where the layer keeps it, and with @p c its HF shape [out, in]
 * (@p c, @p out and @p in may all be NULL when the shape is not wanted).
 * The one place that maps an index to a matrix: packing, unpacking, the
 * backward and merging all go through it. */
enum { TPA__LAYER_MATRICES = 6 };
const float **tpa__layer_matrix(tpa__layer *L, const tpa__config *c, int which, int64_t *out,
                                int64_t *in);

/* Take ownership of an allocation of @p bytes so it is freed with the
 * model, or earlier once nothing points into it. */
bool tpa__model_own(tpa_model *m, void *block, size_t bytes);

/* Free every owned block that no pointer of the model's weight table
 * (tensors, layer array, head and neuron ids, int8 tables) points into:
 * what pruning, merging or training replaced. */
void tpa__model_collect(tpa_model *m);
/* The same for the one block that holds @p p. */
void tpa__model_collect_at(tpa_model *m, const void *p);

/* Whether @p p lies in the read-only mapping of model.safetensors. */
bool tpa__model_is_mapped(const tpa_model *m, const void *p);

/* Give back to the kernel the whole pages of [p, p + bytes) that lie in
 * the read-only mapping of model.safetensors (after packing or pruning has
 * copied what it needs); other memory is left alone. */
void tpa__model_release_mapped(const tpa_model *m, const void *p, size_t bytes);

/* A copy of the model's weight table whose layer array is its own
 * (*layers, freed by the caller), so its pointers can be repointed
 * without touching the model: how a new table for
 * tpa__model_replace_weights is built. */
tpa_status tpa__model_weights_copy(const tpa_model *m, tpa__weights *dst, tpa__layer **layers);

/* Replace the model's weights with @p w and rebuild the inference state
 * for them: the one way anything outside the loader changes m->w
 * (pruning, merging, full fine-tuning). @p w->layer may be the caller's
 * temporary table: it is copied into the model's own layer array. The
 * blocks that hold the new tensors must already be owned by the model
 * (tpa__model_own). A block matrix may be NULL where the old table's
 * was (it lives only packed: see tpa__model_plain); it keeps its packed
 * copy. On failure the model keeps its old weights with the inference
 * state built for them; on success that state is freed, and so are the
 * owned blocks nothing points into any more (tpa__model_collect). */
tpa_status tpa__model_replace_weights(tpa_model *m, const tpa__weights *w);

/* Once the inference state has packed the block matrices, their plain
 * copies in owned memory (converted F16/BF16 tensors, pruned, merged or
 * trained ones) are not read by inference: their pointers become NULL and
 * the blocks that held only them are freed, so resident memory holds one
 * copy of the weights. Matrices in the file mapping stay (their pages went
 * back to the kernel when packed). Called by tpa__model_replace_weights;
 * at load, packing does the same matrix by matrix (forward_pack.c). */
void tpa__model_drop_packed_plain(tpa_model *m);

/* A weight table with every block matrix in HF's plain [out, in] layout,
 * for the stages that read them (saving, pruning, merging, quantizing,
 * training): the model's own pointers where it has them, the others
 * unpacked from the inference state into @p p's scratch. Read only;
 * release with tpa__plain_free. */
typedef struct tpa__plain {
  tpa__weights w;
  tpa__layer *layers; /* w.layer: this table's own array */
  float *scratch;     /* unpacked matrices, or NULL */
} tpa__plain;

tpa_status tpa__model_plain(const tpa_model *m, tpa__plain *p);
/* The same for the matrices @p want names ([layers * 6]: Q, K, V,
 * attention output, intermediate, output dense of each layer; NULL = all);
 * the others may stay NULL. */
tpa_status tpa__model_plain_some(const tpa_model *m, tpa__plain *p, const bool *want);
void tpa__plain_free(tpa__plain *p);

#endif
