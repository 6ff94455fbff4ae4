/* SPDX-License-Identifier: Apache-2.0 */
/* The training tests: one Check suite per stage (optimizer, checkpoint,
 * loop, command), sharing a few fixture helpers. */
#ifndef TPA_TESTS_TRAIN_H
#define TPA_TESTS_TRAIN_H

#include <check.h>
#include <jansson.h>

/* "$TPA_FIXTURES/<rel>" or "$TPA_SHARED_DATA/<rel>" in a static buffer. */
const char *fixture_path(const char *rel);
const char *shared_path(const char *rel);

/* A fresh empty directory under /tmp (static buffer per call site: copy it). */
void make_temp_dir(char *buf, size_t cap, const char *tag);
/* rm -rf of a directory made by make_temp_dir. */
void remove_tree(const char *dir);

/* tests/fixtures/train/optim.json (json_decref it). */
json_t *load_optim_fixture(void);

Suite *optim_suite(void);
Suite *checkpoint_suite(void);
Suite *loop_suite(void);
Suite *command_suite(void);
Suite *reference_suite(void);

#endif
