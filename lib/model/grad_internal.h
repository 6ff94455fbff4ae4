/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the gradient engine's files only (model/grad*.c): the working
 * memory, the activations one micro-batch keeps for its backward, the
 * dropout hash and small matmul helpers over HF-layout weights. */
#ifndef TPA_MODEL_GRAD_INTERNAL_H
#define TPA_MODEL_GRAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/forward.h"
#include "model/grad.h"
#include "nn/nn.h"
#include "model/lora_layout.h"

/* Tokens per micro-batch (rows x seq): bounds the stored activations
 * (about 10.5 floats per token, hidden unit and layer for BERT-base:
 * ~42 MiB per layer at 1024 tokens) while keeping matmuls large. */
#define TPA__GRAD_TOKENS ((size_t)1024)

/* Dropout sites: part of the hash key, so every site draws its own bits. */
enum {
  TPA__DROP_EMB = 1,
  TPA__DROP_ATTN = 2,
  TPA__DROP_ATTN_OUT = 3,
  TPA__DROP_FFN_OUT = 4,
  TPA__DROP_POOLED = 5,
  TPA__DROP_HEAD_IN = 6 /* token 0 before the head's dense (RoBERTa, ELECTRA) */
};

/* One micro-batch's activations of layer l (each a slice of a block that
 * holds every layer). Width hq is the work's max_hq for every layer. */
typedef struct tpa__grad_acts {
  float *xin; /* [T, H] layer input (after the previous LN and dropout) */
  float *q, *k, *v;
  float *p;     /* [R, nh, S, S] attention probabilities, before dropout */
  float *ctx;   /* [T, hq] P V per head, before the head mask */
  float *a_pre; /* [T, H] input of the attention LayerNorm */
  float *mean1, *var1;
  float *a;     /* [T, H] attention LayerNorm output */
  float *u;     /* [T, inter] FFN pre-activation (GELU is recomputed) */
  float *f_pre; /* [T, H] input of the output LayerNorm */
  float *mean2, *var2;
} tpa__grad_acts;

struct tpa__grad_work {
  tpa__nn_cache *own_cache; /* when the model has no inference state */
  tpa__nn_ctx *nn;
  int32_t max_batch, max_seq;
  size_t tokens;   /* capacity of one micro-batch, in tokens */
  size_t micro;    /* tokens per micro-batch actually used (<= tokens) */
  size_t p_floats; /* capacity of one layer's probabilities */
  int32_t layers, hidden, inter, heads, max_hq;
  int32_t emb;  /* embedding width (ELECTRA's embedding_size, else hidden) */
  int32_t *pos; /* [T] position ids of the micro-batch */
  /* Stored activations: [layers] slices, plus the final hidden state. */
  tpa__grad_acts *acts;
  float *x_out;                  /* [T, H] the last layer's output */
  float *e_pre, *e_mean, *e_var; /* [T, emb] embeddings before their LayerNorm */
  float *e_out;                  /* [T, emb] their LayerNorm output, input of
                                    ELECTRA's projection (NULL without one) */
  float *head_in;                /* [R, H] token 0, after the head's input dropout */
  float *head_pre;               /* [R, H] the head dense's output, before activation */
  float *pooled;                 /* [R, H] activation output, before dropout */
  float *pooled_d;               /* [R, H] after dropout */
  float *logits;                 /* [R, nl] */
  float *dlogits;                /* [R, nl] */
  /* Scratch (shared by forward and backward). */
  float *pd, *dp;      /* [p_floats] dropped probabilities, their gradient */
  float *cm, *dcm;     /* [T, hq] masked context and its gradient */
  float *dq, *dk, *dv; /* [T, hq] */
  float *big;          /* [T, inter] GELU output / its gradient */
  float *bx;           /* [T, H] running gradient */
  float *b1, *b2;      /* [T, max(H, emb)] temporaries */
  float *dpool;        /* [R, H] */
  float *ldt;          /* [T, rank] gradient of a LoRA x A^T (grown per call) */
  float *lora_x;       /* [layers * 6][T, rank]: each module's x A^T, kept by the
                          forward for the backward's dB */
  size_t lora_rank_cap;
  float *ffn_act;   /* [T, inter] the activation's output, for neuron-mask
                       gradients only (allocated on first use) */
  float *gtmp;      /* [2 * max(H, emb)] LayerNorm parameter gradients of one call */
  float *mask;      /* [T] additive attention mask: 0 or -FLT_MAX */
  float *head_mask; /* [layers, max heads] effective mask by KEPT head */
  bool *masked;     /* [layers]: some kept head's mask differs from 1 */
  void *block;      /* the allocation behind the stored activations */
  /* The model's block matrices packed for dX = dY W ([out, in] as [k, n]),
   * [layers * 6] in tpa__g_packed's order; NULL entries (or no model
   * inference state) mean "read HF's layout in place". Where bwd_fwd[i]
   * is set, the inference state's own packed copy serves instead: its
   * layout is plain [in, out], which is [out, in] read with strides
   * {1, out} (model/grad_pack.c). */
  const float **bwd;
  bool *bwd_fwd;
  void *bwd_block;
  /* Full fine-tuning: output.dense ([hidden, inter]) of the CALLER's
   * weights repacked per call for dX ([layers] slices, see grad_pack.c). */
  float *f_copy;
  size_t f_copy_bytes; /* per layer */
  bool f_copy_valid;   /* filled for the current call */
  int8_t f_copy_plain; /* 1: the packed layout is HF's own (no copy needed), 0: not, -1: unknown */
  /* Data-parallel shard (tpa__grad_work_set_shard): the global row of
   * this call's first row, and the global batch the loss is a mean over
   * (0: this call's batch). */
  int64_t shard_row0;
  int32_t shard_batch;
};

/* Everything one call needs, passed between its phases. */
typedef struct tpa__grad_run {
  tpa__grad_work *wk;
  const tpa_model *m;
  const tpa__weights *w;
  const tpa_lora_set *lora; /* may be NULL */
  const tpa__grad_opts *o;  /* never NULL (defaults filled in) */
  tpa__grad_out *g;         /* may be NULL (no gradients) */
  int32_t batch_rows;       /* rows of the whole batch (for the mean) */
  int32_t seq;
  /* This micro-batch. */
  int32_t b0, rows;
  uint64_t drop_row0; /* global row of b0: dropout masks are keyed by it */
  const int32_t *ids, *types, *mask;
  const float *labels;
  bool train; /* keep what the backward needs, apply dropout */
} tpa__grad_run;

/* Use micro-batches of at most @p tokens tokens (at least one row; 0
 * restores the default). For tests: results must not depend on it. */
void tpa__grad_work_set_micro_tokens(tpa__grad_work *wk, size_t tokens);

/* ------------------------------------------------------------ dropout */

/* Scaled dropout of n values: dst = keep ? src / (1 - p) : 0, with keep a
 * pure function of (seed, layer, site, first + i). dst may equal src;
 * with @p res non-NULL, res is added after (dst = drop(src) + res). */
void tpa__dropout(uint64_t seed, int32_t layer, int32_t site, float p, uint64_t first, size_t n,
                  const float *src, const float *res, float *dst);

/* ------------------------------------------------------------- matmul */

/* Y[T, out] = X W^T + b (+ add): @p packed is W packed by forward_pack.c
 * (or NULL to read HF's [out, in] W in place). */
tpa_status tpa__g_linear(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *x,
                         const float *w, const float *packed, const float *b, const float *add,
                         float *y, const char *what);

/* dX[T, in] = dY W (+ dX when @p acc), W HF [out, in], or its packed
 * copy @p packed (tpa__g_packed_bwd) when not NULL: packed for the
 * backward, or with @p fwd the forward's plain [in, out] copy. */
tpa_status tpa__g_linear_dx(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *dy,
                            const float *w, const float *packed, bool fwd, float *dx, bool acc,
                            const char *what);

/* dW[out, in] += dY^T X and db[out] += column sums of dY (either NULL). */
tpa_status tpa__g_linear_dw(tpa__nn_ctx *nn, int64_t t, int64_t in, int64_t out, const float *dy,
                            const float *x, float *dw, float *db, const char *what);

/* Y += (alpha / r) (X A^T) B^T; X A^T is left in @p lt [T, r]. */
tpa_status tpa__g_lora_fwd(tpa__nn_ctx *nn, const tpa__lora_mod *mod, int64_t t, const float *x,
                           float *y, float *lt, const char *what);

/* Gradients through a LoRA pair given its input X, the forward's X A^T
 * (@p lt) and the output gradient dY: gmod->a / gmod->b += (when @p gmod
 * is not NULL), dX += s (dY B) A. */
tpa_status tpa__g_lora_bwd(tpa__nn_ctx *nn, const tpa__lora_mod *mod, const tpa__lora_mod *gmod,
                           int64_t t, const float *x, const float *dy, float *dx, const float *lt,
                           float *ldt, const char *what);

/* dX += s (dY B) A from the dY B that tpa__g_lora_bwd left in @p ldt:
 * for a caller that must overwrite X's buffer with dX first. */
tpa_status tpa__g_lora_dx(tpa__nn_ctx *nn, const tpa__lora_mod *mod, int64_t t, const float *ldt,
                          float *dx, const char *what);

/* Where module @p module of layer @p l keeps its X A^T. */
float *tpa__g_lora_x(const tpa__grad_work *wk, int32_t l, int module);

/* --------------------------------------------------------------- phases */

/* Training forward of one micro-batch: activations into wk, logits into
 * wk->logits. */
tpa_status tpa__grad_forward(tpa__grad_run *r);

/* Backward of one micro-batch from wk->dlogits; accumulates into r->g. */
tpa_status tpa__grad_backward(tpa__grad_run *r);

/* The probabilities layer @p l's context reads (@p n of them): the stored
 * P, or its dropped copy regenerated into wk->pd. */
const float *tpa__g_probs_used(tpa__grad_run *r, int32_t l, int64_t n);

/* The context layer @p l's output dense reads: the stored one, or a copy
 * scaled by the head mask in wk->cm. */
const float *tpa__g_masked_ctx(tpa__grad_run *r, int32_t l);

/* The packed copy of a block matrix when @p w reads the model's own
 * weights (so the inference state's packing applies), else NULL. */
const float *tpa__g_packed(const tpa_model *m, const tpa__weights *w, int32_t layer, int which);

/* The same for the backward's copy: packed for the backward and held
 * by the work, or (*fwd set) the forward's own plain copy. */
const float *tpa__g_packed_bwd(const tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w,
                               int32_t layer, int which, bool *fwd);

/* Pack the model's block matrices for the backward (model/grad_pack.c). */
tpa_status tpa__grad_pack(tpa__grad_work *wk, const tpa_model *m);

/* Repack the output.dense matrices of @p w (weights that are not the
 * model's, as full fine-tuning trains) for this call's backward. */
tpa_status tpa__grad_pack_copies(tpa__grad_work *wk, const tpa_model *m, const tpa__weights *w);

#endif
