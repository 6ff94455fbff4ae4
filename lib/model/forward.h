/* SPDX-License-Identifier: Apache-2.0 */
/* Inference internals shared by model/forward.c, model/forward_pack.c and
 * model/predict.c: the weights prepared once at load, the per-call working
 * memory, and the batch forward that works on them. */
#ifndef TPA_MODEL_FORWARD_H
#define TPA_MODEL_FORWARD_H

#include "model/model.h"
#include "nn/nn.h"
#include "tpa/infer.h"

/* One block's matrices, packed once at load into the blocked layout that
 * oneDNN's matmul runs fastest on (lib/nn: tpa__nn_pack_weights). Q, K
 * and V are produced as three dense [tokens, n_heads*head_dim] blocks
 * that the attention matmuls read in place through strides (oneDNN 2.6
 * runs its fast kernel on those views, not on views into one fused
 * [tokens, 3*hq] buffer). Biases and LayerNorm parameters stay where the
 * loader put them. */
typedef struct tpa__infer_layer {
  int32_t hq;       /* n_heads * head_dim, the attention width after pruning */
  const float *q_w; /* packed [hidden, hq] */
  const float *k_w; /* packed [hidden, hq] */
  const float *v_w; /* packed [hidden, hq] */
  const float *o_w; /* packed [hq, hidden] */
  const float *i_w; /* packed [hidden, inter] */
  const float *f_w; /* packed [inter, hidden] */
  int32_t inter;    /* the feed-forward width these were packed at */
} tpa__infer_layer;

struct tpa__infer_state {
  tpa__nn_cache *cache;    /* primitives by shape; thread-safe */
  tpa__infer_layer *layer; /* [layers] */
  void *packed;            /* one block holding every packed matrix */
  size_t packed_bytes;
  int32_t max_hq; /* widest attention over the layers */
};

/* Working memory of one call for batches of up to @p max_batch rows of
 * @p max_seq tokens, which run in passes of at most @p max_tokens tokens;
 * reused across the batches of tpa_model_predict. */
typedef struct tpa__infer_work {
  tpa__nn_ctx *nn;
  size_t max_tokens, max_batch;
  int32_t max_seq;
  float *x;      /* [tokens, hidden] the running hidden state */
  float *a;      /* [tokens, hidden] attention block output */
  float *r;      /* Q/K/V [3][tokens][hq], later the FFN [tokens][inter] */
  float *scores; /* [chunk, heads, seq, seq] attention probabilities */
  float *mask;   /* [batch, seq] additive mask: 0 or -FLT_MAX */
  int32_t *pos;  /* [batch, seq] position ids */
  float *e;      /* [tokens, emb] embeddings before ELECTRA's projection, or NULL */
  uint8_t *xq;   /* a quantized model's int8 Linear input codes [tokens, widest input] */
  float *xs;     /* and their per-row scales [tokens] */
  /* Calibration: the largest magnitude seen so far at the input of each
   * block Linear, [layers][TPA__OBSERVE_SLOTS] (QKV, attention output,
   * intermediate, output), raised by every f32 pass; or NULL. */
  float *observe;
  size_t scores_floats;
} tpa__infer_work;

/* Tokens per pass through the model (rows x seq): bounds the activations
 * (6 floats per token and hidden unit for BERT plus a 4 MiB score buffer:
 * 22 MiB for BERT-base)
 * while keeping the matmuls large enough to run at full speed. Measured
 * for BERT-base at batch 32 x 128 on 2 cores: 1024, 2048 and 4096 tokens
 * per pass all run at 93-94% of the matmul ceiling; peak RSS is 1.09x,
 * 1.14x and 1.23x the weights. */
#define TPA__PASS_TOKENS ((size_t)1024)
/* An int8 model's weights are a quarter of the f32 ones, so the
 * activations weigh more: half the tokens per pass. Measured for int8
 * BERT-base at batch 32 x 128 on 2 cores: peak RSS 159 MiB at 1024
 * tokens, 141 MiB at 512 (0.34x the f32 weights); forward time within
 * this machine's noise (3.4-4.2 s either way). */
#define TPA__PASS_TOKENS_INT8 ((size_t)512)

/* Attention runs over chunks of the batch so the score buffer stays near
 * this many floats (and in cache) whatever the batch size. */
#define TPA__ATTN_CHUNK_FLOATS ((size_t)1 << 20)

enum { TPA__OBSERVE_SLOTS = 4 };

/* tpa_model_predict over the first @p limit examples (0: all) that also
 * records the calibration maxima into @p observe
 * (tpa__infer_work.observe; NULL records nothing). */
tpa_status tpa__predict_observe(const tpa_model *model, const tpa_dataset *ds,
                                const tpa_predict_params *params, float *logits, size_t cap,
                                float *observe, size_t limit);

tpa_status tpa__infer_work_init(tpa__infer_work *w, const tpa_model *m, size_t max_batch,
                                int32_t max_seq);
void tpa__infer_work_free(tpa__infer_work *w);

/* Logits of a validated batch ([batch, seq] ids, type ids and 0/1 mask;
 * none NULL) into @p logits [batch, num_labels]. */
tpa_status tpa__forward_batch(const tpa_model *m, tpa__infer_work *w, const int32_t *ids,
                              const int32_t *type_ids, const int32_t *mask, int32_t batch,
                              int32_t seq, float *logits);

/* Repack the block weights of @p m into @p st (model/forward_pack.c) and
 * release the mapped pages of the originals that were copied. A block
 * matrix whose plain pointer is NULL lives only packed: its packed copy is
 * taken from @p prev, the state the model had (NULL at load). */
tpa_status tpa__infer_pack(tpa_model *m, const struct tpa__infer_state *prev,
                           struct tpa__infer_state *st);

/* The packed matrix @p which (0..5: Q, K, V, attention output,
 * intermediate, output dense) of layer @p l, or NULL for an empty one. */
const float *tpa__infer_packed(const struct tpa__infer_state *st, int32_t l, int which);

/* Prepare / release the inference state (forward.c): m->infer is cleared,
 * then set to the new state once its weights are packed. Only the loader
 * and tpa__model_replace_weights create one. */
tpa_status tpa__infer_state_create(tpa_model *m, const struct tpa__infer_state *prev);
void tpa__infer_state_free(struct tpa__infer_state *st);

#endif
