/* SPDX-License-Identifier: Apache-2.0 */
/* The tokenizer.json component tests (tests/text/test_tj_*.c): each suite
 * checks one component kind against Hugging Face's own tokenizers (npm
 * `tokenizers`, fixtures made by tests/fixtures/tokenizer/gen_tj_*.js). */
#ifndef TPA_TESTS_TJ_H
#define TPA_TESTS_TJ_H

#include <check.h>

Suite *tj_norm_suite(void);   /* test_tj_norm.c: normalizers */
Suite *tj_pretok_suite(void); /* test_tj_pretok.c: pre-tokenizers */
Suite *tj_model_suite(void);  /* test_tj_model.c: WordPiece, BPE, Unigram */
Suite *tj_e2e_suite(void);    /* test_tj_e2e.c: whole tokenizer.json files */

#endif
