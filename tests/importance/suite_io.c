/* SPDX-License-Identifier: Apache-2.0 */
/* The importance JSON: a save/load round trip, the layout of the saved
 * file (read back with jansson), loading the PyTorch-written reference
 * files, and refusal of malformed files with a message naming the file. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static tpa_importance *table_of(bool ffn) {
  tpa_model *m = load_fixture("tiny-pruned");
  tpa_dataset *ds = load_data(TPA_TASK_RTE, "glue/RTE/dev.tsv", 6);
  tpa_importance *imp = NULL;
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  p.ffn = ffn;
  ck_assert_msg(tpa_importance_compute(&imp, m, ds, &p) == TPA_OK, "%s", tpa_last_error());
  tpa_dataset_free(ds);
  tpa_model_free(m);
  return imp;
}

static tpa_importance *pruned_table(void) {
  return table_of(false);
}

static bool same(double a, double b) {
  return (isnan(a) && isnan(b)) || a == b;
}

START_TEST(round_trip) {
  tpa_importance *imp = table_of(_i == 1);
  char *path = temp_path("importance.json");
  ck_assert_msg(tpa_importance_save(imp, path) == TPA_OK, "%s", tpa_last_error());
  tpa_importance *back = NULL;
  ck_assert_msg(tpa_importance_load(&back, path) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_importance_num_layers(back), 3);
  ck_assert_int_eq(tpa_importance_num_heads(back), 6);
  ck_assert_uint_eq(tpa_importance_examples(back), tpa_importance_examples(imp));
  ck_assert_uint_eq(tpa_importance_tokens(back), tpa_importance_tokens(imp));
  for (int32_t l = 0; l < 3; l++) {
    for (int32_t h = 0; h < 6; h++) {
      /* 17 significant digits: the very same doubles come back. */
      ck_assert(same(tpa_importance_raw(back, l, h), tpa_importance_raw(imp, l, h)));
      ck_assert(same(tpa_importance_normalized(back, l, h), tpa_importance_normalized(imp, l, h)));
      ck_assert(tpa_importance_has_head(back, l, h) == tpa_importance_has_head(imp, l, h));
    }
    ck_assert(same(tpa_importance_block(back, l), tpa_importance_block(imp, l)));
    ck_assert_int_eq(tpa_importance_ffn_width(back, l), tpa_importance_ffn_width(imp, l));
    for (int32_t j = 0; j < tpa_importance_ffn_width(imp, l); j++) {
      ck_assert(same(tpa_importance_ffn_raw(back, l, j), tpa_importance_ffn_raw(imp, l, j)));
      ck_assert(same(tpa_importance_ffn_normalized(back, l, j),
                     tpa_importance_ffn_normalized(imp, l, j)));
    }
  }
  ck_assert_int_eq(tpa_importance_has_ffn(back), _i == 1);
  tpa_importance_free(back);
  remove_temp(path);
  tpa_importance_free(imp);
}
END_TEST

START_TEST(saved_layout) {
  tpa_importance *imp = pruned_table();
  char *path = temp_path("importance.json");
  ck_assert_int_eq(tpa_importance_save(imp, path), TPA_OK);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  ck_assert_msg(root != NULL, "%s", err.text);
  /* Exactly these keys, in this order. */
  const char *keys[] = {"layers", "heads", "examples", "tokens", "raw", "normalized", "blocks"};
  void *it = json_object_iter(root);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, it = json_object_iter_next(root, it)) {
    ck_assert_ptr_nonnull(it);
    ck_assert_str_eq(json_object_iter_key(it), keys[i]);
  }
  ck_assert_ptr_null(it);
  ck_assert_int_eq(json_integer_value(json_object_get(root, "layers")), 3);
  ck_assert_int_eq(json_integer_value(json_object_get(root, "heads")), 6);
  ck_assert_int_eq(json_integer_value(json_object_get(root, "examples")), 6);
  const json_t *raw = json_object_get(root, "raw"), *norm = json_object_get(root, "normalized");
  ck_assert_uint_eq(json_array_size(raw), 3);
  ck_assert_uint_eq(json_array_size(json_object_get(root, "blocks")), 3);
  /* Pruned heads of tiny-pruned: {0: [1, 4], 2: [0, 2, 3, 5]}. */
  const int pruned[3][6] = {{0, 1, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0}, {1, 0, 1, 1, 0, 1}};
  for (size_t l = 0; l < 3; l++) {
    ck_assert_uint_eq(json_array_size(json_array_get(raw, l)), 6);
    for (size_t h = 0; h < 6; h++) {
      const json_t *r = json_array_get(json_array_get(raw, l), h);
      const json_t *n = json_array_get(json_array_get(norm, l), h);
      ck_assert_msg(pruned[l][h] ? json_is_null(r) && json_is_null(n)
                                 : json_is_real(r) && json_is_real(n),
                    "layer %zu head %zu", l, h);
    }
  }
  json_decref(root);
  remove_temp(path);
  tpa_importance_free(imp);
}
END_TEST

START_TEST(load_reference) {
  /* A file written by Python's json module, not by the library. */
  char *path = fixture("importance/pruned_rte40.json");
  tpa_importance *imp = NULL;
  ck_assert_msg(tpa_importance_load(&imp, path) == TPA_OK, "%s", tpa_last_error());
  ref_table ref;
  ref_load(&ref, "pruned_rte40");
  expect_table(imp, &ref, 0.0);
  ref_free(&ref);
  tpa_importance_free(imp);
  free(path);
}
END_TEST

static const char GOOD[] =
    "{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,"
    "\"raw\":[[0.1,null],[0.2,0.3]],\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}";

static const char GOOD_FFN[] =
    "{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,"
    "\"raw\":[[0.1,null],[0.2,0.3]],\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
    "\"ffn_raw\":[[0.5],[0.2,0.25]],\"ffn_normalized\":[[1],[0.6,0.8]]}";

/* Each variant breaks GOOD (or GOOD_FFN) in one way. */
static const struct {
  const char *text;
  const char *expect; /* a part of the message */
} BAD[] = {
    {"[1, 2]", "object"},
    {"{\"layers\":2,", ""},
    {"{\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[],\"normalized\":[],\"blocks\":[]}",
     "\"layers\""},
    {"{\"layers\":\"2\",\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "layers"},
    {"{\"layers\":0,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[],\"normalized\":[],"
     "\"blocks\":[]}",
     "\"layers\" is 0"},
    {"{\"layers\":2,\"heads\":2,\"examples\":-3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "\"examples\""},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "\"raw\" must be an array of 2 rows"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "\"raw\"[1] must be an array of 2"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,\"x\"]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "\"raw\"[1][1]"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,-0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     ">= 0"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,0.4],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5]}",
     "null in only one"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1]}",
     "\"blocks\" must be an array of 2"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,null]}",
     "\"blocks\"[1]"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":{},\"blocks\":[0.1,0.5]}",
     "\"normalized\""},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[0.1],[0.2]]}",
     "\"ffn_raw\" without \"ffn_normalized\""},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_normalized\":[[0.1],[0.2]]}",
     "\"ffn_normalized\" without \"ffn_raw\""},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[0.1]],\"ffn_normalized\":[[1],[1]]}",
     "\"ffn_raw\" must be an array of 2 rows"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[0.1],[]],\"ffn_normalized\":[[1],[]]}",
     "\"ffn_raw\"[1] must be an array of 1.."},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[0.1],[0.2,0.1]],\"ffn_normalized\":[[1],[1]]}",
     "\"ffn_normalized\"[1] must be an array of 2"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[0.1],[0.2]],\"ffn_normalized\":[[1],[null]]}",
     "\"ffn_normalized\"[1][0]"},
    {"{\"layers\":2,\"heads\":2,\"examples\":3,\"tokens\":30,\"raw\":[[0.1,null],[0.2,0.3]],"
     "\"normalized\":[[1,null],[0.5,0.8]],\"blocks\":[0.1,0.5],"
     "\"ffn_raw\":[[-0.1],[0.2]],\"ffn_normalized\":[[1],[1]]}",
     "\"ffn_raw\"[0][0]"},
    {"{\"layers\":2,\"heads\":99999,\"examples\":3,\"tokens\":30,\"raw\":[],\"normalized\":[],"
     "\"blocks\":[]}",
     "\"heads\" is 99999"},
};

START_TEST(bad_files) {
  char *path = temp_path("bad.json");
  tpa_importance *imp = NULL;
  write_text(path, GOOD);
  ck_assert_msg(tpa_importance_load(&imp, path) == TPA_OK, "%s", tpa_last_error());
  ck_assert(!tpa_importance_has_head(imp, 0, 1));
  ck_assert_double_eq(tpa_importance_normalized(imp, 1, 1), 0.8);
  ck_assert_double_eq(tpa_importance_block(imp, 1), 0.5);
  ck_assert_uint_eq(tpa_importance_tokens(imp), 30);
  ck_assert(!tpa_importance_has_ffn(imp));
  tpa_importance_free(imp);
  /* Neuron scores: lists of their own lengths per layer. */
  write_text(path, GOOD_FFN);
  ck_assert_msg(tpa_importance_load(&imp, path) == TPA_OK, "%s", tpa_last_error());
  ck_assert(tpa_importance_has_ffn(imp));
  ck_assert_int_eq(tpa_importance_ffn_width(imp, 0), 1);
  ck_assert_int_eq(tpa_importance_ffn_width(imp, 1), 2);
  ck_assert_double_eq(tpa_importance_ffn_raw(imp, 1, 1), 0.25);
  ck_assert_double_eq(tpa_importance_ffn_normalized(imp, 1, 0), 0.6);
  tpa_importance_free(imp);
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    write_text(path, BAD[i].text);
    imp = (tpa_importance *)path; /* must come back NULL */
    const tpa_status s = tpa_importance_load(&imp, path);
    /* The first two are not a JSON object; the rest are JSON of the wrong
     * shape, TPA_ERR_CONFIG as for every JSON file (docs/design.md). */
    const tpa_status want = i < 2 ? TPA_ERR_JSON : TPA_ERR_CONFIG;
    ck_assert_msg(s == want, "variant %zu: status %d (%s)", i, s, tpa_last_error());
    ck_assert_ptr_null(imp);
    ck_assert_msg(strstr(tpa_last_error(), path) != NULL, "variant %zu: %s", i, tpa_last_error());
    ck_assert_msg(strstr(tpa_last_error(), BAD[i].expect) != NULL, "variant %zu: %s", i,
                  tpa_last_error());
  }
  remove_temp(path);
  ck_assert_int_eq(tpa_importance_load(&imp, "/nonexistent/importance.json"), TPA_ERR_NOT_FOUND);
  ck_assert_int_eq(tpa_importance_load(NULL, "x"), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_load(&imp, NULL), TPA_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(save_errors) {
  char *path = temp_path("good.json");
  write_text(path, GOOD);
  tpa_importance *imp = NULL;
  ck_assert_int_eq(tpa_importance_load(&imp, path), TPA_OK);
  remove_temp(path);
  ck_assert_int_eq(tpa_importance_save(NULL, "/tmp/x.json"), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_importance_save(imp, NULL), TPA_ERR_INVALID_ARGUMENT);
  /* A parent that is not a directory (missing ones are created): the
   * message names it. */
  ck_assert_int_eq(tpa_importance_save(imp, "/dev/null/imp.json"), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "/dev/null"));
  tpa_importance_free(imp);
}
END_TEST

Suite *io_suite(void) {
  Suite *s = suite_create("importance-json");
  TCase *tc = tcase_create("round trip");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, round_trip, 0, 2); /* heads; heads and neurons */
  suite_add_tcase(s, tc);
  tc = tcase_create("saved layout");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, saved_layout);
  suite_add_tcase(s, tc);
  tc = tcase_create("load a reference file");
  tcase_add_test(tc, load_reference);
  suite_add_tcase(s, tc);
  tc = tcase_create("malformed files");
  tcase_add_test(tc, bad_files);
  suite_add_tcase(s, tc);
  tc = tcase_create("save errors");
  tcase_add_test(tc, save_errors);
  suite_add_tcase(s, tc);
  return s;
}
