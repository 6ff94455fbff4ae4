/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the merge tests. The generic ones (fixture paths,
 * temporary directories, whole-file reads) are tests/lora/util.c's, which
 * this executable links as well. */
#ifndef TPA_TEST_MERGE_H
#define TPA_TEST_MERGE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "../lora/util.h"
#include "tpa/tpa.h"

/* Add @p t to @p s in a TCase of its own (named @p name, 120 s timeout). */
void merge_add_test(Suite *s, const char *name, const TTest *t);

/* tpa_model_predict over the first @p rows examples of the SST-2 dev
 * file, with @p adapter (or none); *n gets the number of logits. */
float *dev_logits(const tpa_model *m, const tpa_lora_set *adapter, size_t rows, size_t *n);

/* max |a[i] - b[i]| over @p n values. */
double max_diff(const float *a, const float *b, size_t n);

Suite *merge_suite(void);
Suite *dense_suite(void);

#endif
