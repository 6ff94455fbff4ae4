/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers that several Check suites share: fixture paths, scratch
 * directories and whole-file reads. Each fails the running test on error. */
#ifndef TPA_TEST_COMMON_UTIL_H
#define TPA_TEST_COMMON_UTIL_H

#include <check.h>
#include <stddef.h>

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

#endif
