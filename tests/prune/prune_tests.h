/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the prune test suites: fixture paths, scratch files,
 * importance tables written as JSON by hand and read back through
 * tpa_importance_load, and the PyTorch reference of pruned models. */
#ifndef TPA_TEST_PRUNE_H
#define TPA_TEST_PRUNE_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "test_util.h"
#include "tpa/tpa.h"

/* Write @p text as the whole of @p path. */
void write_text(const char *path, const char *text);

/* An importance table of @p layers x @p heads whose normalised score of
 * (l, h) is norm[l * heads + h] (NaN: no score, a pruned head) and whose
 * block importance of l is blocks[l] (NULL: the sum of the layer's
 * scores), written as importance JSON and loaded with tpa_importance_load. */
tpa_importance *make_importance(int32_t layers, int32_t heads, const double *norm,
                                const double *blocks);

/* Assert that @p plan removes exactly the heads listed in @p expect
 * ("l:h" pairs separated by spaces, e.g. "0:1 2:3"; "" for none). */
void assert_plan(const tpa_prune_plan *plan, int32_t layers, int32_t heads, const char *expect);

/* tests/fixtures/prune/reference.json (json_decref it). */
json_t *prune_reference(void);
/* The reference case named @p name. */
const json_t *reference_case(const json_t *ref, const char *name);
/* A plan built from a {"layer": [heads]} object, through a plan file and
 * tpa_prune_plan_load. */
tpa_prune_plan *plan_from_object(const json_t *obj, int32_t layers, int32_t heads);
/* The same with neurons: @p neurons_obj {"layer": [neurons]} of a model
 * whose layers have @p width neurons as loaded (NULL: heads only). */
tpa_prune_plan *plan_with_neurons(const json_t *heads_obj, const json_t *neurons_obj,
                                  int32_t layers, int32_t heads, int32_t width);
/* max |logits of m - case logits| over every reference batch. */
double max_case_diff(const tpa_model *m, const json_t *ref, const json_t *c);

Suite *plan_suite(void);
Suite *plan_json_suite(void);
Suite *model_suite(void);
Suite *schedule_suite(void);

#endif
