/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the tokenizer tests (tests/text). */
#ifndef TPA_TESTS_TEXT_H
#define TPA_TESTS_TEXT_H

#include <check.h>

/* A Check suite per stage. */
Suite *text_golden_suite(void);  /* test_golden.c: HF agreement */
Suite *text_unicode_suite(void); /* test_golden.c: every code point */

/* Path of @p name under the environment directory @p env_var (e.g.
 * TPA_FIXTURES); aborts the test when the variable is unset. */
void text_test_path(char *out, size_t cap, const char *env_var, const char *name);

#endif
