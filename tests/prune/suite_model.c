/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_prune against PyTorch: the logits of a pruned tiny model equal
 * those of a torch model whose rows/columns of the same heads were deleted
 * (tests/fixtures/prune/gen_prune_fixtures.py, and the independent
 * tiny-pruned fixture of gen_fixtures.py); pruning composes bitwise;
 * parameter counts drop by the hand-derived amount per head; a saved
 * pruned model reloads to identical logits; bad plans change nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "prune_tests.h"

#define TOL 1e-4
#define LAYERS 3
#define HEADS 6
/* tiny: hidden 96, head dim 16: 3 * (16*96 + 16) + 16*96 per head. */
#define PER_HEAD ((uint64_t)(3 * (16 * 96 + 16) + 16 * 96))
/* tiny, by hand: embeddings (528 + 64 + 2) * 96 + 2 * 96 = 57216; a block
 * 4 * (96*96 + 96) + 2*96 + (200*96 + 200) + (96*200 + 96) + 2*96 = 76328;
 * pooler 96*96 + 96 = 9312; classifier 2*96 + 2 = 194. */
#define TINY_TOTAL ((uint64_t)(57216 + 3 * 76328 + 9312 + 194))

/* Apply each plan of a reference case, in order (with its neurons when
 * the case has neuron plans). */
static void apply_plans(tpa_model *m, const json_t *c) {
  const json_t *plans = json_object_get(c, "plans"), *nplans = json_object_get(c, "neuron_plans");
  ck_assert_uint_ge(json_array_size(plans), 1);
  for (size_t i = 0; i < json_array_size(plans); i++) {
    tpa_prune_plan *plan =
        nplans
            ? plan_with_neurons(json_array_get(plans, i), json_array_get(nplans, i), LAYERS, HEADS,
                                (int32_t)json_integer_value(json_object_get(c, "ffn_width")))
            : plan_from_object(json_array_get(plans, i), LAYERS, HEADS);
    tpa_status s = tpa_model_prune(m, plan);
    ck_assert_msg(s == TPA_OK, "prune: %s", tpa_last_error());
    tpa_prune_plan_free(plan);
  }
}

/* The heads each layer keeps are the complement of @p pruned_heads. */
static void assert_heads(const tpa_model *m, const json_t *pruned_heads) {
  for (int32_t l = 0; l < LAYERS; l++) {
    bool gone[HEADS] = {false};
    char key[8];
    snprintf(key, sizeof key, "%d", l);
    const json_t *list = json_object_get(pruned_heads, key);
    for (size_t i = 0; i < json_array_size(list); i++)
      gone[json_integer_value(json_array_get(list, i))] = true;
    int32_t want[HEADS], n_want = 0, got[HEADS];
    for (int32_t h = 0; h < HEADS; h++)
      if (!gone[h])
        want[n_want++] = h;
    size_t n = 0;
    ck_assert_int_eq(tpa_model_layer_heads(m, l, got, HEADS, &n), TPA_OK);
    ck_assert_uint_eq(n, (size_t)n_want);
    ck_assert_int_eq(tpa_model_layer_num_heads(m, l), n_want);
    for (int32_t k = 0; k < n_want; k++)
      ck_assert_int_eq(got[k], want[k]);
  }
}

/* The intermediate sizes a neuron case leaves (unchanged otherwise):
 * each layer's, and the widest as the config's. */
static void assert_width(const tpa_model *m, const json_t *c) {
  const json_t *w = json_object_get(c, "expected_ffn_width");
  const json_t *ws = json_object_get(c, "expected_ffn_widths");
  tpa_model_config cfg = {.size = sizeof cfg};
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  ck_assert_int_eq(cfg.intermediate_size, w ? (int32_t)json_integer_value(w) : 200);
  for (int32_t l = 0; l < LAYERS; l++)
    ck_assert_int_eq(tpa_model_layer_ffn_width(m, l),
                     ws ? (int32_t)json_integer_value(json_array_get(ws, (size_t)l)) : 200);
  ck_assert_int_eq(tpa_model_layer_ffn_width(m, LAYERS), -1);
  ck_assert_int_eq(tpa_model_layer_ffn_width(NULL, 0), -1);
}

static void check_case(const char *name) {
  json_t *ref = prune_reference();
  const json_t *c = reference_case(ref, name);
  tpa_model *m = load_fixture(json_string_value(json_object_get(c, "base")));
  apply_plans(m, c);
  assert_heads(m, json_object_get(c, "expected_pruned_heads"));
  assert_width(m, c);
  double d = max_case_diff(m, ref, c);
  ck_assert_msg(d <= TOL, "%s: max abs diff %g against PyTorch", name, d);
  tpa_model_free(m);
  json_decref(ref);
}

START_TEST(reference_plan_a) {
  check_case("plan_a");
}
END_TEST
START_TEST(reference_pruned_base) {
  check_case("pruned_base");
}
END_TEST
START_TEST(reference_empty_layer) {
  check_case("empty_layer");
}
END_TEST
START_TEST(reference_neurons) {
  /* Heads and neurons in one plan, then neurons alone (some named again). */
  check_case("neurons_a");
}
END_TEST
START_TEST(reference_neurons_pruned_base) {
  check_case("neurons_pruned_base");
}
END_TEST
START_TEST(reference_neurons_uneven) {
  /* Layers left at 170, 80 and 123 neurons. */
  check_case("neurons_uneven");
}
END_TEST

/* tiny pruned in memory by tiny-pruned's heads gives the logits that
 * gen_fixtures.py computed for the compact tiny-pruned checkpoint. */
START_TEST(matches_tiny_pruned_fixture) {
  tpa_model *m = load_fixture("tiny");
  json_t *heads = json_pack("{s:[ii], s:[iiii]}", "0", 1, 4, "2", 0, 2, 3, 5);
  tpa_prune_plan *plan = plan_from_object(heads, LAYERS, HEADS);
  ck_assert_int_eq(tpa_model_prune(m, plan), TPA_OK);
  assert_heads(m, heads);
  char *path = fixture("tiny-pruned/reference.json");
  json_error_t err;
  json_t *ref = json_load_file(path, 0, &err);
  ck_assert_msg(ref != NULL, "%s: %s", path, err.text);
  const json_t *batches = json_object_get(ref, "batches");
  ck_assert_uint_ge(json_array_size(batches), 3);
  double worst = 0;
  for (size_t i = 0; i < json_array_size(batches); i++) {
    size_t n;
    float *got = reference_batch_logits(m, ref, i, &n);
    const json_t *want = json_object_get(json_array_get(batches, i), "logits");
    ck_assert_uint_eq(json_array_size(want), n);
    for (size_t k = 0; k < n; k++) {
      double d = fabs((double)got[k] - json_number_value(json_array_get(want, k)));
      worst = isnan(d) ? INFINITY : fmax(worst, d);
    }
    free(got);
  }
  ck_assert_msg(worst <= TOL, "max abs diff %g against tiny-pruned/reference.json", worst);
  json_decref(ref);
  free(path);
  tpa_prune_plan_free(plan);
  json_decref(heads);
  tpa_model_free(m);
}
END_TEST

/* Every compact tensor and head id of @p a and @p b, bit for bit. */
static void assert_same_weights(const tpa_model *a, const tpa_model *b) {
  const size_t H = (size_t)a->cfg.hidden, d = (size_t)a->cfg.head_dim;
  ck_assert_int_eq(a->cfg.inter, b->cfg.inter);
  /* Pruned matrices live only packed (model/plain.c): compare them in
   * HF's layout. */
  tpa__plain pa, pb;
  ck_assert_int_eq(tpa__model_plain(a, &pa), TPA_OK);
  ck_assert_int_eq(tpa__model_plain(b, &pb), TPA_OK);
  for (int32_t l = 0; l < LAYERS; l++) {
    const tpa__layer *x = &pa.w.layer[l], *y = &pb.w.layer[l];
    ck_assert_int_eq(x->inter, y->inter);
    const size_t I = (size_t)x->inter;
    ck_assert_int_eq(memcmp(x->i_w, y->i_w, I * H * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(x->i_b, y->i_b, I * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(x->f_w, y->f_w, I * H * sizeof(float)), 0);
  }
  for (int32_t l = 0; l < LAYERS; l++) {
    const tpa__layer *x = &pa.w.layer[l], *y = &pb.w.layer[l];
    ck_assert_int_eq(x->n_heads, y->n_heads);
    ck_assert_int_eq(memcmp(x->head_ids, y->head_ids, (size_t)x->n_heads * sizeof(int32_t)), 0);
    const size_t w = (size_t)x->n_heads * d * H * sizeof(float), bias = (size_t)x->n_heads * d;
    ck_assert_int_eq(memcmp(x->q_w, y->q_w, w), 0);
    ck_assert_int_eq(memcmp(x->k_w, y->k_w, w), 0);
    ck_assert_int_eq(memcmp(x->v_w, y->v_w, w), 0);
    ck_assert_int_eq(memcmp(x->o_w, y->o_w, w), 0);
    ck_assert_int_eq(memcmp(x->q_b, y->q_b, bias * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(x->k_b, y->k_b, bias * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(x->v_b, y->v_b, bias * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(x->o_b, y->o_b, H * sizeof(float)), 0);
  }
  tpa__plain_free(&pa);
  tpa__plain_free(&pb);
}

/* Logits of @p a and @p b on every reference batch, bit for bit. */
static void assert_same_logits(const tpa_model *a, const tpa_model *b, const json_t *ref) {
  for (size_t i = 0; i < json_array_size(json_object_get(ref, "batches")); i++) {
    size_t n, n2;
    float *x = reference_batch_logits(a, ref, i, &n), *y = reference_batch_logits(b, ref, i, &n2);
    ck_assert_uint_eq(n, n2);
    ck_assert_msg(memcmp(x, y, n * sizeof *x) == 0, "batch %zu: logits differ", i);
    free(x);
    free(y);
  }
}

/* Plan A then plan B (which names heads A already removed) equals the
 * union once, bitwise; and the union is plan_a's PyTorch reference. */
START_TEST(composition) {
  json_t *ref = prune_reference();
  const json_t *c = reference_case(ref, "plan_a");
  json_t *a = json_pack("{s:[i], s:[ii]}", "0", 1, "1", 0, 3);
  json_t *b = json_pack("{s:[ii], s:[i], s:[i]}", "0", 1, 4, "1", 3, "2", 5);
  tpa_prune_plan *pa = plan_from_object(a, LAYERS, HEADS), *pb = plan_from_object(b, LAYERS, HEADS);
  tpa_model *twice = load_fixture("tiny"), *once = load_fixture("tiny");
  ck_assert_int_eq(tpa_model_prune(twice, pa), TPA_OK);
  ck_assert_int_eq(tpa_model_prune(twice, pb), TPA_OK);
  apply_plans(once, c); /* the union {0: [1, 4], 1: [0, 3], 2: [5]} */
  assert_heads(twice, json_object_get(c, "expected_pruned_heads"));
  assert_same_weights(twice, once);
  assert_same_logits(twice, once, ref);
  double d = max_case_diff(twice, ref, c);
  ck_assert_msg(d <= TOL, "twice-pruned: max abs diff %g against PyTorch", d);
  tpa_model_free(twice);
  tpa_model_free(once);
  tpa_prune_plan_free(pa);
  tpa_prune_plan_free(pb);
  json_decref(a);
  json_decref(b);
  json_decref(ref);
}
END_TEST

static tpa_param_counts counts_of(const tpa_model *m) {
  tpa_param_counts p = {.size = sizeof p};
  ck_assert_int_eq(tpa_model_param_counts(m, &p), TPA_OK);
  return p;
}

START_TEST(param_counts) {
  json_t *ref = prune_reference();
  tpa_model *m = load_fixture("tiny");
  tpa_param_counts before = counts_of(m);
  ck_assert_uint_eq(before.total, TINY_TOTAL);
  apply_plans(m, reference_case(ref, "plan_a")); /* 5 heads */
  tpa_param_counts after = counts_of(m);
  ck_assert_uint_eq(after.total, TINY_TOTAL - 5 * PER_HEAD);
  ck_assert_uint_eq(after.encoder, before.encoder - 5 * PER_HEAD);
  ck_assert_uint_eq(after.embeddings, before.embeddings);
  ck_assert_uint_eq(after.head, before.head);
  tpa_model_free(m);
  /* A whole layer (6 heads) and one more: 7 heads. */
  m = load_fixture("tiny");
  apply_plans(m, reference_case(ref, "empty_layer"));
  ck_assert_uint_eq(counts_of(m).total, TINY_TOTAL - 7 * PER_HEAD);
  tpa_model_free(m);
  json_decref(ref);
}
END_TEST

/* Save the pruned model, check config.json's pruned_heads, reload it:
 * the same logits bit for bit. */
START_TEST(save_and_reload) {
  json_t *ref = prune_reference();
  const char *cases[] = {"plan_a",    "pruned_base",         "empty_layer",
                         "neurons_a", "neurons_pruned_base", "neurons_uneven"};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const json_t *c = reference_case(ref, cases[k]);
    tpa_model *m = load_fixture(json_string_value(json_object_get(c, "base")));
    apply_plans(m, c);
    char *dir = temp_dir();
    tpa_status s = tpa_model_save(m, dir);
    ck_assert_msg(s == TPA_OK, "%s: save: %s", cases[k], tpa_last_error());
    char *cfg_path = join(dir, "config.json");
    json_error_t err;
    json_t *cfg = json_load_file(cfg_path, 0, &err);
    ck_assert_msg(cfg != NULL, "%s: %s", cfg_path, err.text);
    ck_assert_msg(json_equal(json_object_get(cfg, "pruned_heads"),
                             json_object_get(c, "expected_pruned_heads")),
                  "%s: pruned_heads in config.json", cases[k]);
    const json_t *width = json_object_get(c, "expected_ffn_width");
    ck_assert_int_eq(json_integer_value(json_object_get(cfg, "intermediate_size")),
                     width ? json_integer_value(width) : 200);
    /* Layers of different widths list theirs; equal ones do not. */
    const json_t *widths = json_object_get(c, "expected_ffn_widths");
    const bool uneven = widths && json_integer_value(json_array_get(widths, 1)) !=
                                      json_integer_value(json_array_get(widths, 0));
    ck_assert_msg(uneven ? json_equal(json_object_get(cfg, "intermediate_sizes"), widths)
                         : json_object_get(cfg, "intermediate_sizes") == NULL,
                  "%s: intermediate_sizes in config.json", cases[k]);
    tpa_model *back = NULL;
    s = tpa_model_load(&back, dir, NULL);
    ck_assert_msg(s == TPA_OK, "%s: reload: %s", cases[k], tpa_last_error());
    assert_heads(back, json_object_get(c, "expected_pruned_heads"));
    assert_same_weights(back, m);
    assert_same_logits(back, m, ref);
    ck_assert_uint_eq(counts_of(back).total, counts_of(m).total);
    json_decref(cfg);
    free(cfg_path);
    tpa_model_free(back);
    tpa_model_free(m);
    remove_tree(dir);
    free(dir);
  }
  json_decref(ref);
}
END_TEST

/* A plan of another shape is refused and the model is left as it was. */
START_TEST(shape_mismatch) {
  json_t *ref = prune_reference();
  tpa_model *m = load_fixture("tiny"), *untouched = load_fixture("tiny");
  json_t *heads = json_pack("{s:[i]}", "0", 1);
  tpa_prune_plan *more_layers = plan_from_object(heads, LAYERS + 1, HEADS);
  tpa_prune_plan *more_heads = plan_from_object(heads, LAYERS, HEADS + 2);
  ck_assert_int_eq(tpa_model_prune(m, more_layers), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "4 layers x 6 heads"));
  ck_assert_int_eq(tpa_model_prune(m, more_heads), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "3 layers x 8 heads"));
  ck_assert_int_eq(tpa_model_prune(m, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_model_prune(NULL, more_heads), TPA_ERR_INVALID_ARGUMENT);
  for (int32_t l = 0; l < LAYERS; l++)
    ck_assert_int_eq(tpa_model_layer_num_heads(m, l), HEADS);
  assert_same_logits(m, untouched, ref);
  tpa_prune_plan_free(more_layers);
  tpa_prune_plan_free(more_heads);
  json_decref(heads);
  tpa_model_free(m);
  tpa_model_free(untouched);
  json_decref(ref);
}
END_TEST

/* A plan naming only heads the model already lacks (or none) changes
 * nothing: same tensors (not even copied) and the same logits. */
START_TEST(nothing_to_remove) {
  json_t *ref = prune_reference();
  tpa_model *m = load_fixture("tiny-pruned"), *untouched = load_fixture("tiny-pruned");
  const float *q0 = m->w.layer[0].q_w;
  json_t *absent = json_pack("{s:[i], s:[ii]}", "0", 4, "2", 0, 5), *none = json_object();
  tpa_prune_plan *pa = plan_from_object(absent, LAYERS, HEADS);
  tpa_prune_plan *pn = plan_from_object(none, LAYERS, HEADS);
  ck_assert_int_eq(tpa_model_prune(m, pa), TPA_OK);
  ck_assert_int_eq(tpa_model_prune(m, pn), TPA_OK);
  ck_assert_ptr_eq(m->w.layer[0].q_w, q0);
  assert_same_weights(m, untouched);
  assert_same_logits(m, untouched, ref);
  tpa_prune_plan_free(pa);
  tpa_prune_plan_free(pn);
  json_decref(absent);
  json_decref(none);
  tpa_model_free(m);
  tpa_model_free(untouched);
  json_decref(ref);
}
END_TEST

/* The dense export of a model whose layers differ in width pads every
 * layer to the widest with zero neurons: one intermediate_size, no
 * intermediate_sizes, the same logits as PyTorch's compact model. */
START_TEST(dense_export_of_uneven_widths) {
  json_t *ref = prune_reference();
  const json_t *c = reference_case(ref, "neurons_uneven");
  tpa_model *m = load_fixture("tiny");
  apply_plans(m, c);
  char *dir = temp_dir();
  ck_assert_msg(tpa_model_save_dense(m, dir) == TPA_OK, "%s", tpa_last_error());
  char *cfg_path = join(dir, "config.json");
  json_error_t err;
  json_t *cfg = json_load_file(cfg_path, 0, &err);
  ck_assert_msg(cfg != NULL, "%s", err.text);
  ck_assert_int_eq(json_integer_value(json_object_get(cfg, "intermediate_size")), 170);
  ck_assert_ptr_null(json_object_get(cfg, "intermediate_sizes"));
  tpa_model *back = NULL;
  ck_assert_msg(tpa_model_load(&back, dir, NULL) == TPA_OK, "%s", tpa_last_error());
  for (int32_t l = 0; l < LAYERS; l++)
    ck_assert_int_eq(tpa_model_layer_ffn_width(back, l), 170);
  double d = max_case_diff(back, ref, c);
  ck_assert_msg(d <= TOL, "dense export: max abs diff %g against PyTorch", d);
  tpa_model_free(back);
  json_decref(cfg);
  free(cfg_path);
  remove_tree(dir);
  free(dir);
  tpa_model_free(m);
  json_decref(ref);
}
END_TEST

/* Neuron plans the model cannot take leave it as it was: a layer left
 * without neurons, a plan for another intermediate size. */
START_TEST(neuron_plan_errors) {
  json_t *ref = prune_reference();
  tpa_model *m = load_fixture("tiny"), *untouched = load_fixture("tiny");
  json_t *none = json_object();
  json_t *uneven = json_pack("{s:[ii], s:[i]}", "0", 3, 7, "1", 9);
  json_t *all = json_object(), *list = json_array();
  for (int j = 0; j < 200; j++)
    json_array_append_new(list, json_integer(j));
  json_object_set_new(all, "2", list);
  struct {
    tpa_prune_plan *plan;
    tpa_status want;
    const char *msg;
  } cases[] = {
      {plan_with_neurons(none, all, LAYERS, HEADS, 200), TPA_ERR_INVALID_ARGUMENT,
       "every neuron of layer 2"},
      {plan_with_neurons(none, uneven, LAYERS, HEADS, 100), TPA_ERR_INVALID_ARGUMENT,
       "has 100 neurons"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_assert_int_eq(tpa_model_prune(m, cases[i].plan), cases[i].want);
    ck_assert_msg(strstr(tpa_last_error(), cases[i].msg), "case %zu: %s", i, tpa_last_error());
    tpa_prune_plan_free(cases[i].plan);
  }
  assert_same_weights(m, untouched);
  assert_same_logits(m, untouched, ref);
  json_decref(none);
  json_decref(uneven);
  json_decref(all);
  tpa_model_free(m);
  tpa_model_free(untouched);
  json_decref(ref);
}
END_TEST

Suite *model_suite(void) {
  Suite *s = suite_create("model_prune");
  struct {
    const char *name;
    const TTest *test;
  } cases[] = {
      {"reference_plan_a", reference_plan_a},
      {"reference_pruned_base", reference_pruned_base},
      {"reference_empty_layer", reference_empty_layer},
      {"reference_neurons", reference_neurons},
      {"reference_neurons_pruned_base", reference_neurons_pruned_base},
      {"reference_neurons_uneven", reference_neurons_uneven},
      {"dense_export_of_uneven_widths", dense_export_of_uneven_widths},
      {"neuron_plan_errors", neuron_plan_errors},
      {"matches_tiny_pruned_fixture", matches_tiny_pruned_fixture},
      {"composition", composition},
      {"param_counts", param_counts},
      {"save_and_reload", save_and_reload},
      {"shape_mismatch", shape_mismatch},
      {"nothing_to_remove", nothing_to_remove},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cases[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}
