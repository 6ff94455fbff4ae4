/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the gradient test executable (tests/grad/). */
#ifndef TPA_TESTS_GRAD_H
#define TPA_TESTS_GRAD_H

#include <check.h>
#include <stdint.h>

#include "model/grad.h"
#include "model/model.h"
#include "stages/lora.h"

Suite *nn_backward_suite(void);
Suite *fd_suite(void);
Suite *torch_suite(void);

/* One named test of a suite table. */
typedef struct grad_case {
  const char *name;
  const TTest *fn;
} grad_case;

/* A suite with a 120 s TCase per case; @p report (may be NULL) runs once
 * after the last case, to print the suite's worst deviation. */
Suite *grad_suite(const char *name, const grad_case *cases, size_t n, void (*report)(void));

/* Deterministic test randomness (xorshift), independent of the library. */
typedef struct rng {
  uint64_t s;
} rng;
double rng_uniform(rng *r); /* [0, 1) */
double rng_normal(rng *r);
void fill_normal(rng *r, float *p, size_t n, double mean, double std);

/* An in-memory classifier with random weights (no files, no packed
 * inference state): every tensor a separate malloc, head_ids filled.
 * kept[l] heads of `heads` are kept in layer l (the last kept[l] ORIGINAL
 * indices are dropped, so pruned layouts are covered).
 *
 * The fields after seed select the family; left zero they give BERT, the
 * same model (and the same random draws) as before they existed. A family
 * without token types (DistilBERT) gets no type table and type_vocab 0
 * whatever type_vocab says; ELECTRA gets embeddings of width emb (0 =
 * hidden) and, when that differs from hidden, embeddings_project. The
 * tensors every family shares are drawn in BERT's order; the projection
 * is drawn last. */
typedef struct tiny_spec {
  int32_t hidden, layers, heads, inter, vocab, max_pos, type_vocab, num_labels;
  const int32_t *kept; /* [layers] or NULL = all */
  const int32_t *ffn;  /* [layers] intermediate widths (the widest = inter), or NULL = inter */
  uint64_t seed;
  tpa__family family; /* TPA__FAM_BERT (0) by default */
  int32_t emb;        /* ELECTRA's embedding_size; 0 = hidden (ignored for other families) */
  int32_t pad_id;     /* pad_token_id: where RoBERTa/XLM-R positions start (max_seq follows) */
} tiny_spec;
tpa_model *tiny_model(const tiny_spec *sp);
void tiny_model_free(tpa_model *m);

/* Max |a - b| / (abs + rel * |b|) over n values: <= 1 passes. */
double worst_ratio(const float *got, const double *want, size_t n, double abs_tol, double rel_tol,
                   size_t *where);

#endif
