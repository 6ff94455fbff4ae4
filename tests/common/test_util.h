/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers that several Check suites share: fixture paths, scratch
 * directories and whole-file reads. Each fails the running test on error. */
#ifndef TPA_TEST_COMMON_UTIL_H
#define TPA_TEST_COMMON_UTIL_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/tpa.h"

/* "dir/name", malloc'ed. */
char *join(const char *dir, const char *name);
/* $TPA_FIXTURES/rel, malloc'ed. */
char *fixture(const char *rel);
/* Load a fixture model. */
tpa_model *load_fixture(const char *variant);
/* A new empty directory /tmp/tpa-test-XXXXXX (malloc'ed path). */
char *temp_dir(void);
/* Remove a directory made by temp_dir() and everything below it. */
void remove_tree(const char *dir);
/* Whole file, malloc'ed and NUL-terminated; *len its size (len may be NULL). */
char *read_all(const char *path, size_t *len);

/* A JSON array of numbers as a new int32 / double array; *n its length. */
int32_t *json_ints(const json_t *a, size_t *n);
double *json_reals(const json_t *a, size_t *n);

/* Batch @p i of a PyTorch reference.json ("batches": batch, seq, flat ids,
 * type_ids, mask and, when present, logits: else NULL), sizes checked;
 * free with ref_batch_free. */
typedef struct ref_batch {
  int32_t batch, seq;
  int32_t *ids, *types, *mask;
  double *logits;
  size_t n_logits;
} ref_batch;
ref_batch ref_batch_get(const json_t *ref, size_t i);
void ref_batch_free(ref_batch *r);

/* Logits of batch @p i of a PyTorch reference.json (its "batches": batch,
 * seq, ids, type_ids, mask) under @p m; malloc'ed, n values in *n. */
float *reference_batch_logits(const tpa_model *m, const json_t *ref, size_t i, size_t *n);
/* The logits of every batch of the reference file $TPA_FIXTURES/rel under
 * @p m, concatenated (malloc'ed, *n values, all finite), and in *vs_ref
 * (may be NULL) their max |difference| from the file's logits. */
float *reference_logits(const tpa_model *m, const char *rel, size_t *n, double *vs_ref);

#endif
