/* SPDX-License-Identifier: Apache-2.0 */
/* The plan's JSON form: exact text written, round trip, hand-written
 * files, and every kind of bad file refused with a message naming it. */
#include <stdlib.h>
#include <string.h>

#include "prune_tests.h"

static const double weak_layer[12] = {0.50, 0.10, 0.70, 0.30, 0.04, 0.01,
                                      0.03, 0.02, 0.40, 0.25, 0.80, 0.35};

START_TEST(round_trip) {
  tpa_importance *imp = make_importance(3, 4, weak_layer, NULL);
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.num_heads = 5;
  tpa_prune_plan *plan = NULL, *back = NULL;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_OK);
  char *dir = temp_dir(), *path = join(dir, "plan.json");
  ck_assert_int_eq(tpa_prune_plan_save(plan, path), TPA_OK);
  /* config.json's pruned_heads shape, ORIGINAL indices ascending, only
   * layers that lose heads. */
  char *text = read_all(path, NULL);
  ck_assert_str_eq(text, "{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"0\": [1], \"1\": [1, "
                         "2, 3], \"2\": [1]}}\n");
  free(text);
  ck_assert_int_eq(tpa_prune_plan_load(&back, path), TPA_OK);
  assert_plan(back, 3, 4, "0:1 1:1 1:2 1:3 2:1");
  tpa_prune_plan_free(back);
  /* Saving again replaces the file whole. */
  tpa_prune_plan_free(plan);
  p.num_heads = 0;
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, &p), TPA_OK);
  ck_assert_int_eq(tpa_prune_plan_save(plan, path), TPA_OK);
  text = read_all(path, NULL);
  ck_assert_str_eq(text, "{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {}}\n");
  free(text);
  ck_assert_int_eq(tpa_prune_plan_load(&back, path), TPA_OK);
  assert_plan(back, 3, 4, "");
  tpa_prune_plan_free(back);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
  remove_tree(dir);
  free(path);
  free(dir);
}
END_TEST

/* Neurons: written after the heads, read back. */
START_TEST(round_trip_neurons) {
  char *dir = temp_dir(), *path = join(dir, "plan.json");
  write_text(path, "{\"layers\": 2, \"heads\": 2, \"pruned_heads\": {\"1\": [0]}, "
                   "\"ffn_widths\": [5, 3], \"pruned_neurons\": {\"1\": [2, 0]}}");
  tpa_prune_plan *plan = NULL, *back = NULL;
  ck_assert_msg(tpa_prune_plan_load(&plan, path) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(plan), 2);
  ck_assert(tpa_prune_plan_removes_neuron(plan, 1, 2));
  ck_assert(!tpa_prune_plan_removes_neuron(plan, 1, 1));
  ck_assert_int_eq(tpa_prune_plan_ffn_width(plan, 0), 5);
  ck_assert_int_eq(tpa_prune_plan_save(plan, path), TPA_OK);
  char *text = read_all(path, NULL);
  ck_assert_str_eq(text, "{\"layers\": 2, \"heads\": 2, \"pruned_heads\": {\"1\": [0]}, "
                         "\"ffn_widths\": [5, 3], \"pruned_neurons\": {\"1\": [0, 2]}}\n");
  free(text);
  ck_assert_int_eq(tpa_prune_plan_load(&back, path), TPA_OK);
  ck_assert_int_eq(tpa_prune_plan_num_pruned_neurons(back), 2);
  ck_assert(tpa_prune_plan_removes_neuron(back, 1, 0));
  tpa_prune_plan_free(back);
  tpa_prune_plan_free(plan);
  remove_tree(dir);
  free(path);
  free(dir);
}
END_TEST

/* Any key order, unsorted lists, empty lists and extra keys are fine. */
START_TEST(hand_written) {
  char *dir = temp_dir(), *path = join(dir, "plan.json");
  write_text(path, "{\"comment\": \"by hand\", \"pruned_heads\": {\"2\": [5, 0], \"1\": [], "
                   "\"0\": [3]}, \"heads\": 6, \"layers\": 3}");
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_load(&plan, path), TPA_OK);
  assert_plan(plan, 3, 6, "2:5 2:0 0:3");
  tpa_prune_plan_free(plan);
  remove_tree(dir);
  free(path);
  free(dir);
}
END_TEST

static const struct bad_file {
  const char *text;
  tpa_status status;
  const char *says; /* part of the message besides the path */
} bad_files[] = {
    {"", TPA_ERR_JSON, "line"},
    {"[1, 2]", TPA_ERR_JSON, "not a JSON object"},
    {"{\"layers\": 3, \"heads\": 4", TPA_ERR_JSON, "line"},
    {"{\"heads\": 4, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "\"layers\" is missing"},
    {"{\"layers\": 3, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "\"heads\" is missing"},
    {"{\"layers\": 3, \"heads\": 4}", TPA_ERR_CONFIG, "\"pruned_heads\" is missing"},
    {"{\"layers\": 0, \"heads\": 4, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "\"layers\" is 0"},
    {"{\"layers\": 3, \"heads\": -1, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "\"heads\" is -1"},
    {"{\"layers\": 3, \"heads\": 99999999, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "99999999"},
    {"{\"layers\": \"3\", \"heads\": 4, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "integer"},
    {"{\"layers\": 3.5, \"heads\": 4, \"pruned_heads\": {}}", TPA_ERR_CONFIG, "integer"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": [0]}", TPA_ERR_CONFIG, "object"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"3\": [0]}}", TPA_ERR_CONFIG, "\"3\""},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"-1\": [0]}}", TPA_ERR_CONFIG, "\"-1\""},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"01\": [0]}}", TPA_ERR_CONFIG, "\"01\""},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"x\": [0]}}", TPA_ERR_CONFIG, "\"x\""},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"\": [0]}}", TPA_ERR_CONFIG, "layer"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": 2}}", TPA_ERR_CONFIG, "not an array"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [4]}}", TPA_ERR_CONFIG, "[0]"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [0, -1]}}", TPA_ERR_CONFIG, "[1]"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [1.0]}}", TPA_ERR_CONFIG, "head"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [\"1\"]}}", TPA_ERR_CONFIG, "head"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [null]}}", TPA_ERR_CONFIG, "head"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [2, 0, 2]}}", TPA_ERR_CONFIG,
     "twice"},
    {"{\"layers\": 3, \"heads\": 4, \"pruned_heads\": {\"1\": [0], \"1\": [2]}}", TPA_ERR_JSON,
     "duplicate"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 4]}", TPA_ERR_CONFIG,
     "\"pruned_neurons\" is missing"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"pruned_neurons\": {}}", TPA_ERR_CONFIG,
     "\"ffn_widths\" is missing"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4], "
     "\"pruned_neurons\": {}}",
     TPA_ERR_CONFIG, "must list 2 layers"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 0], "
     "\"pruned_neurons\": {}}",
     TPA_ERR_CONFIG, "\"ffn_widths\"[1]"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 4], "
     "\"pruned_neurons\": {\"0\": [4]}}",
     TPA_ERR_CONFIG, "not a neuron index in 0..3"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 4], "
     "\"pruned_neurons\": {\"0\": [1, 1]}}",
     TPA_ERR_CONFIG, "neuron 1 twice"},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 4], "
     "\"pruned_neurons\": {\"2\": [1]}}",
     TPA_ERR_CONFIG, "pruned_neurons key \"2\""},
    {"{\"layers\": 2, \"heads\": 4, \"pruned_heads\": {}, \"ffn_widths\": [4, 4], "
     "\"pruned_neurons\": {\"1\": 3}}",
     TPA_ERR_CONFIG, "not an array"},
};

START_TEST(bad_file) {
  const struct bad_file *b = &bad_files[_i];
  char *dir = temp_dir(), *path = join(dir, "plan.json");
  write_text(path, b->text);
  tpa_prune_plan *plan = (tpa_prune_plan *)&plan;
  tpa_status s = tpa_prune_plan_load(&plan, path);
  ck_assert_msg(s == b->status, "%s: got %s (%s)", b->text, tpa_status_str(s), tpa_last_error());
  ck_assert_ptr_null(plan);
  const char *msg = tpa_last_error();
  ck_assert_msg(strstr(msg, path) != NULL, "%s: message does not name the file: %s", b->text, msg);
  ck_assert_msg(strstr(msg, b->says) != NULL, "%s: message lacks \"%s\": %s", b->text, b->says,
                msg);
  remove_tree(dir);
  free(path);
  free(dir);
}
END_TEST

START_TEST(missing_and_unwritable) {
  char *dir = temp_dir(), *path = join(dir, "none.json");
  tpa_prune_plan *plan = NULL;
  ck_assert_int_eq(tpa_prune_plan_load(&plan, path), TPA_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), path));
  ck_assert_int_eq(tpa_prune_plan_load(&plan, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_prune_plan_load(NULL, path), TPA_ERR_INVALID_ARGUMENT);
  /* Save into directories that do not exist: they are created, as the
   * directory savers create theirs; under a file: an error naming it. */
  const double flat[2] = {0.5, 0.5};
  tpa_importance *imp = make_importance(1, 2, flat, NULL);
  ck_assert_int_eq(tpa_prune_plan_create(&plan, imp, NULL), TPA_OK);
  char *sub = join(dir, "no/such/dir/plan.json");
  ck_assert_msg(tpa_prune_plan_save(plan, sub) == TPA_OK, "%s", tpa_last_error());
  tpa_prune_plan *again = NULL;
  ck_assert_int_eq(tpa_prune_plan_load(&again, sub), TPA_OK);
  tpa_prune_plan_free(again);
  char *under_file = join(sub, "plan.json");
  ck_assert_int_eq(tpa_prune_plan_save(plan, under_file), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), sub));
  free(under_file);
  ck_assert_int_eq(tpa_prune_plan_save(NULL, path), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_prune_plan_save(plan, ""), TPA_ERR_INVALID_ARGUMENT);
  tpa_prune_plan_free(plan);
  tpa_importance_free(imp);
  remove_tree(dir);
  free(sub);
  free(path);
  free(dir);
}
END_TEST

Suite *plan_json_suite(void) {
  Suite *s = suite_create("plan_json");
  TCase *tc = tcase_create("round_trip");
  tcase_add_test(tc, round_trip);
  tcase_add_test(tc, round_trip_neurons);
  suite_add_tcase(s, tc);
  tc = tcase_create("hand_written");
  tcase_add_test(tc, hand_written);
  suite_add_tcase(s, tc);
  tc = tcase_create("bad_file");
  tcase_add_loop_test(tc, bad_file, 0, (int)(sizeof bad_files / sizeof bad_files[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("missing_and_unwritable");
  tcase_add_test(tc, missing_and_unwritable);
  suite_add_tcase(s, tc);
  return s;
}
