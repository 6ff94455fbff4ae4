/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the lora test suites (beside tests/common/test_util.h):
 * directory listing, file writes and the formula of the PEFT fixture. */
#ifndef TPA_TEST_LORA_UTIL_H
#define TPA_TEST_LORA_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "test_util.h"
#include "tpa/tpa.h"

/* Remove @p dir and the regular files directly in it. */
void remove_dir(const char *dir);
/* Number of entries in @p dir other than . and .. */
int count_entries(const char *dir);
/* Write @p len bytes to @p path (fails the test on error). */
void write_all(const char *path, const void *data, size_t len);
/* tests/fixtures/lora/gen_adapter.py's value formula. */
float fixture_value(int seed, size_t i);

Suite *create_suite(void);
Suite *peft_suite(void);
Suite *save_suite(void);
Suite *forward_suite(void);

#endif
