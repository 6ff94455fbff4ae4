/* SPDX-License-Identifier: Apache-2.0 */
/* Prune plans, structural pruning and the rank schedule. Models run
 * oneDNN, so the runner does not fork (CK_FORK=no in meson.build). */
#include <stdlib.h>

#include "prune_tests.h"

int main(void) {
  SRunner *sr = srunner_create(plan_suite());
  srunner_add_suite(sr, plan_json_suite());
  srunner_add_suite(sr, model_suite());
  srunner_add_suite(sr, schedule_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
