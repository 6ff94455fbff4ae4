/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_dataset_split: a seeded, stratified hold-out. Each class's examples
 * are shuffled with core/rng.h (seeded by the seed and the class id) and
 * the first round(fraction * count) of them are held out, at most count
 * - 1 so that every class stays in the kept part. Both parts are copies
 * in file order, so they outlive @p ds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "data/labels.h"

/* A new dataset of the examples of @p ds whose mark equals @p want. */
static tpa_status copy_part(const tpa_dataset *ds, const unsigned char *mark, unsigned char want,
                            tpa_dataset **out) {
  size_t n = 0, bytes = 0;
  for (size_t i = 0; i < ds->n; i++) {
    if (mark[i] != want)
      continue;
    n++;
    bytes += strlen(ds->examples[i].a) + 1;
    if (ds->examples[i].b)
      bytes += strlen(ds->examples[i].b) + 1;
  }
  tpa_dataset *d = tpa__dataset_new(ds->task);
  if (!d)
    return TPA__NO_MEMORY("dataset split");
  d->num_labels = ds->num_labels;
  d->has_labels = ds->has_labels;
  d->text = malloc(bytes ? bytes : 1);
  d->examples = tpa__malloc_array(n ? n : 1, sizeof *d->examples);
  bool ok = d->text && d->examples;
  if (ok && ds->label_names)
    ok = (d->label_names =
              tpa__labels_copy((const char *const *)ds->label_names, ds->num_labels)) != NULL;
  for (int r = 0; ok && r < 3; r++)
    if (ds->columns[r])
      ok = (d->columns[r] = strdup(ds->columns[r])) != NULL;
  if (!ok) {
    tpa_dataset_free(d);
    return TPA__NO_MEMORY("dataset split");
  }
  char *w = d->text;
  for (size_t i = 0; i < ds->n; i++) {
    if (mark[i] != want)
      continue;
    const tpa__example *src = &ds->examples[i];
    tpa__example *dst = &d->examples[d->n++];
    *dst = *src;
    size_t la = strlen(src->a) + 1;
    memcpy(w, src->a, la);
    dst->a = w;
    w += la;
    if (src->b) {
      size_t lb = strlen(src->b) + 1;
      memcpy(w, src->b, lb);
      dst->b = w;
      w += lb;
    }
  }
  *out = d;
  return TPA_OK;
}

/* round(fraction * m), kept in 0..m-1. */
static size_t share(double fraction, size_t m) {
  size_t h = (size_t)floor(fraction * (double)m + 0.5);
  return m == 0 ? 0 : h > m - 1 ? m - 1 : h;
}

/* Mark the held-out examples of the indices @p idx (shuffled here). */
static size_t hold(uint64_t seed, size_t *idx, size_t m, size_t h, unsigned char *mark) {
  uint64_t state = seed;
  tpa__rng_shuffle(&state, idx, m);
  for (size_t i = 0; i < h; i++)
    mark[idx[i]] = 1;
  return h;
}

TPA_API tpa_status tpa_dataset_split(const tpa_dataset *ds, double fraction, uint64_t seed,
                                     tpa_dataset **kept, tpa_dataset **held_out) {
  tpa__error_clear();
  if (kept)
    *kept = NULL;
  if (held_out)
    *held_out = NULL;
  if (!ds || !kept || !held_out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dataset_split: NULL argument");
  if (!(fraction > 0 && fraction < 1))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_dataset_split: fraction %g is not between 0 and 1", fraction);
  if (!ds->has_labels)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_dataset_split: the dataset has no labels to stratify by");
  if (ds->n < 2)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_dataset_split: %zu example%s cannot be split in two", ds->n,
                      ds->n == 1 ? "" : "s");
  unsigned char *mark = tpa__calloc(ds->n, 1);
  size_t *idx = tpa__malloc_array(ds->n, sizeof *idx);
  if (!mark || !idx) {
    free(mark);
    free(idx);
    return TPA__NO_MEMORY("dataset split");
  }
  size_t held = 0;
  if (ds->num_labels <= 1) { /* regression: one stratum */
    for (size_t i = 0; i < ds->n; i++)
      idx[i] = i;
    size_t h = share(fraction, ds->n);
    held = hold(seed, idx, ds->n, h ? h : 1, mark);
  } else {
    /* Group the indices by class (a counting sort, O(n + k)), then
     * hold out a share of each group. */
    const size_t k = (size_t)ds->num_labels;
    size_t *start = tpa__calloc(k + 1, sizeof *start);
    if (!start) {
      free(mark);
      free(idx);
      return TPA__NO_MEMORY("dataset split");
    }
    for (size_t i = 0; i < ds->n; i++)
      start[(size_t)ds->examples[i].label + 1]++;
    for (size_t c = 0; c < k; c++)
      start[c + 1] += start[c];
    for (size_t i = 0; i < ds->n; i++)
      idx[start[(size_t)ds->examples[i].label]++] = i;
    /* start[c] is now the end of class c's group. */
    size_t best_m = 0, best_c = 0;
    for (size_t c = 0, begin = 0; c < k; begin = start[c], c++) {
      const size_t m = start[c] - begin;
      held += hold(tpa__mix64(seed, c), idx + begin, m, share(fraction, m), mark);
      if (m > best_m)
        best_m = m, best_c = c;
    }
    if (held == 0 && best_m >= 2) {
      /* Every class was too small for its share: hold out one example
       * of the largest class so that the held-out part is not empty. */
      const size_t begin = best_c ? start[best_c - 1] : 0;
      held = hold(tpa__mix64(seed ^ 1, best_c), idx + begin, best_m, 1, mark);
    }
    free(start);
  }
  tpa_status st = TPA_OK;
  if (held == 0)
    st = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                    "tpa_dataset_split: every class has a single example; nothing can be held "
                    "out");
  if (st == TPA_OK)
    st = copy_part(ds, mark, 0, kept);
  if (st == TPA_OK)
    st = copy_part(ds, mark, 1, held_out);
  if (st != TPA_OK) {
    tpa_dataset_free(*kept);
    *kept = NULL;
  }
  free(mark);
  free(idx);
  return st;
}
