/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the lora test suites: fixture paths, temporary
 * directories, whole-file reads and the formula of the PEFT fixture. */
#ifndef TPA_TEST_LORA_UTIL_H
#define TPA_TEST_LORA_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/tpa.h"

/* $TPA_FIXTURES/rel, malloc'ed. */
char *fixture(const char *rel);
/* Load a fixture model (fails the test on error). */
tpa_model *load_fixture(const char *variant);
/* A new empty directory under /tmp (malloc'ed path). */
char *temp_dir(void);
/* Remove @p dir and the regular files directly in it. */
void remove_dir(const char *dir);
/* Number of entries in @p dir other than . and .. */
int count_entries(const char *dir);
/* "dir/name", malloc'ed. */
char *join(const char *dir, const char *name);
/* Whole file, malloc'ed; *len its size. */
char *read_all(const char *path, size_t *len);
/* Write @p len bytes to @p path (fails the test on error). */
void write_all(const char *path, const void *data, size_t len);
/* tests/fixtures/lora/gen_adapter.py's value formula. */
float fixture_value(int seed, size_t i);

Suite *create_suite(void);
Suite *peft_suite(void);
Suite *save_suite(void);
Suite *forward_suite(void);

#endif
