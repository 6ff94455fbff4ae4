/* SPDX-License-Identifier: Apache-2.0 */
/* Task-oriented head importance: the computation against PyTorch
 * reference tables (tests/fixtures/importance/), its JSON form and its
 * heatmap. Loading a model runs oneDNN, so the runner does not fork
 * (CK_FORK=no in meson.build). */
#include <stdlib.h>

#include "util.h"

int main(void) {
  SRunner *sr = srunner_create(compute_suite());
  srunner_add_suite(sr, io_suite());
  srunner_add_suite(sr, heatmap_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
