/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the data test executable (tests/data/). */
#ifndef TPA_TESTS_DATA_H
#define TPA_TESTS_DATA_H

#include <check.h>
#include <stddef.h>

#include "tpa/tpa.h"

Suite *tasks_suite(void);
Suite *dataset_suite(void);
Suite *gzip_suite(void);
Suite *errors_suite(void);
Suite *metrics_suite(void);
Suite *table_suite(void);

/* $TPA_SHARED_DATA/glue/<rel> in a new string (the test fails if the
 * variable is unset: the data is required, never silently skipped). */
char *glue_path(const char *rel);
/* $TPA_FIXTURES/data/<rel> in a new string. */
char *fixture_path(const char *rel);
/* Write @p n bytes to <temp dir>/<name>; returns the new path. */
char *write_temp(const char *name, const void *data, size_t n);
/* The same for a NUL-terminated string. */
char *write_temp_str(const char *name, const char *text);
/* A new directory under the temp dir (for the "is a directory" case). */
char *temp_subdir(const char *name);
/* Read a whole file (test side, independent of the library); *n = size. */
char *slurp(const char *path, size_t *n);

/* Load or fail the test with the library's message. */
tpa_dataset *load_ok(tpa_task task, const char *path);
/* Assert that two datasets hold the same examples. */
void assert_same_dataset(const tpa_dataset *a, const tpa_dataset *b);

#endif
