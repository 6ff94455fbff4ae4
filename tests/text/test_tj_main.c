/* SPDX-License-Identifier: Apache-2.0 */
/* The tokenizer.json component tests: one executable, a suite per kind. */
#include <stdlib.h>

#include "tj_tests.h"

int main(void) {
  SRunner *sr = srunner_create(tj_norm_suite());
  srunner_add_suite(sr, tj_pretok_suite());
  srunner_add_suite(sr, tj_model_suite());
  srunner_add_suite(sr, tj_e2e_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
