/* SPDX-License-Identifier: Apache-2.0 */
/* Entry point of the training tests and their shared helpers. Run with
 * CK_FORK=no: the loop tests run oneDNN (see tests/train/meson.build). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_tests.h"

static const char *env_path(const char *var, const char *rel) {
  static char buf[4][1024];
  static int next;
  const char *root = getenv(var);
  ck_assert_msg(root != NULL, "%s is not set", var);
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", root, rel);
  return b;
}

const char *fixture_path(const char *rel) {
  return env_path("TPA_FIXTURES", rel);
}

const char *shared_path(const char *rel) {
  return env_path("TPA_SHARED_DATA", rel);
}

void make_temp_dir(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "/tmp/tpa-train-%s-XXXXXX", tag);
  ck_assert_ptr_nonnull(mkdtemp(buf));
}

void remove_tree(const char *dir) {
  if (strncmp(dir, "/tmp/tpa-train-", 15) != 0)
    return; /* only what make_temp_dir made */
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

json_t *load_optim_fixture(void) {
  json_error_t err;
  json_t *j = json_load_file(fixture_path("train/optim.json"), 0, &err);
  ck_assert_msg(j != NULL, "optim.json: %s", err.text);
  return j;
}

int main(void) {
  SRunner *sr = srunner_create(optim_suite());
  srunner_add_suite(sr, checkpoint_suite());
  srunner_add_suite(sr, reference_suite());
  srunner_add_suite(sr, loop_suite());
  srunner_add_suite(sr, command_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
