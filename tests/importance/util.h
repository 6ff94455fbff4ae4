/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the importance test suites: fixture and data paths,
 * temporary files, and the reference tables written by
 * tests/fixtures/importance/gen_importance_fixtures.py (read with jansson,
 * not with the library's loader). */
#ifndef TPA_TEST_IMPORTANCE_UTIL_H
#define TPA_TEST_IMPORTANCE_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "test_util.h" /* join, fixture, load_fixture, read_all */
#include "tpa/tpa.h"

/* $TPA_SHARED_DATA/rel, malloc'ed. */
char *shared(const char *rel);
/* Load the first @p rows of $TPA_SHARED_DATA/@p rel as @p task (0 = all). */
tpa_dataset *load_data(tpa_task task, const char *rel, size_t rows);
/* A new temporary file name under a fresh /tmp directory (malloc'ed);
 * remove_temp() deletes the file and its directory. */
char *temp_path(const char *name);
void remove_temp(char *path);
/* Write @p text to @p path (fails the test on error). */
void write_text(const char *path, const char *text);

/* A reference table: layers x heads values, NaN for null; with neuron
 * scores, ffn_width neurons per layer (0 when the file has none). */
typedef struct ref_table {
  int32_t layers, heads;
  uint64_t examples, tokens;
  double *raw, *norm, *blocks;
  int32_t ffn_width;
  double *ffn_raw, *ffn_norm; /* [layers * ffn_width] */
} ref_table;

/* Read tests/fixtures/importance/@p name.json. */
void ref_load(ref_table *t, const char *name);
void ref_free(ref_table *t);

/* Assert that @p imp equals @p ref: counts exactly, scores within
 * @p rel relative (plus 1e-12 absolute), nulls where ref has them, and
 * neuron scores exactly when the reference has them. */
void expect_table(const tpa_importance *imp, const ref_table *ref, double rel);

Suite *compute_suite(void);
Suite *io_suite(void);
Suite *heatmap_suite(void);

#endif
