/* SPDX-License-Identifier: Apache-2.0 */
/* Label strings to class ids through one open-addressing hash table of
 * the class names: a million rows cost a million lookups, and no class
 * count is too large. */
#include "data/labels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/score.h"

typedef struct entry {
  const char *name; /* NULL: empty slot */
  uint64_t hash;
  int32_t id;
} entry;

typedef struct table {
  entry *slot;
  size_t cap, used; /* cap a power of two, kept at least twice used */
} table;

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3u;
  return h;
}

static entry *find(const table *t, const char *name, uint64_t h) {
  for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1))
    if (!t->slot[i].name || (t->slot[i].hash == h && strcmp(t->slot[i].name, name) == 0))
      return &t->slot[i];
}

static tpa_status grow(table *t) {
  if (2 * (t->used + 1) <= t->cap)
    return TPA_OK;
  table bigger = {tpa__calloc(t->cap ? 2 * t->cap : 64, sizeof(entry)), t->cap ? 2 * t->cap : 64,
                  t->used};
  if (!bigger.slot)
    return TPA__NO_MEMORY("labels");
  for (size_t i = 0; i < t->cap; i++)
    if (t->slot[i].name)
      *find(&bigger, t->slot[i].name, t->slot[i].hash) = t->slot[i];
  free(t->slot);
  *t = bigger;
  return TPA_OK;
}

/* The entry of @p name, added with id -1 when new (*added set). */
static tpa_status intern(table *t, const char *name, entry **out, bool *added) {
  tpa_status st = grow(t);
  if (st != TPA_OK)
    return st;
  const uint64_t h = fnv1a(name);
  entry *e = find(t, name, h);
  *added = !e->name;
  if (*added) {
    *e = (entry){name, h, -1};
    t->used++;
  }
  *out = e;
  return TPA_OK;
}

/* An integer label: an optional '-' and 1 to 18 digits. */
static bool as_integer(const char *s, long long *v) {
  bool neg = *s == '-';
  s += neg;
  long long x = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++)
    if (digits < 18) /* more are refused below; do not overflow meanwhile */
      x = x * 10 + (*s - '0');
  if (*s || digits == 0 || digits > 18)
    return false;
  *v = neg ? -x : x;
  return true;
}

static int by_bytes(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_number(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  long long u = 0, v = 0;
  (void)as_integer(x, &u);
  (void)as_integer(y, &v);
  return u < v ? -1 : u > v ? 1 : strcmp(x, y); /* "1" and "01" stay apart */
}

char **tpa__labels_copy(const char *const *names, int32_t n) {
  char **out = tpa__calloc((size_t)n, sizeof *out);
  for (int32_t i = 0; out && i < n; i++) {
    out[i] = strdup(names[i]);
    if (!out[i]) {
      for (int32_t j = 0; j < i; j++)
        free(out[j]);
      free(out);
      out = NULL;
    }
  }
  return out;
}

/* The distinct labels of @p src, sorted, into *names (borrowed strings). */
static tpa_status discover(const tpa__label_src *src, table *t, const char ***names,
                           int32_t *count) {
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < src->n && st == TPA_OK; i++) {
    entry *e;
    bool added;
    st = intern(t, src->str[i], &e, &added);
  }
  if (st != TPA_OK)
    return st;
  if (t->used > (size_t)TPA__DATA_MAX_CLASSES)
    return tpa__error(TPA_ERR_DATA, "%s: %zu distinct labels in column \"%s\", more than %d",
                      src->path, t->used, src->column, TPA__DATA_MAX_CLASSES);
  if (t->used < 2)
    return tpa__error(TPA_ERR_DATA,
                      "%s:%zu: every label in column \"%s\" is \"%.40s\": classification needs "
                      "at least 2 classes (for numeric targets use regression)",
                      src->path, src->n ? src->line[0] : 1, src->column, src->n ? src->str[0] : "");
  const char **list = tpa__malloc_array(t->used, sizeof *list);
  if (!list)
    return TPA__NO_MEMORY("labels");
  size_t k = 0;
  bool numeric = true;
  long long ignored;
  for (size_t i = 0; i < t->cap; i++)
    if (t->slot[i].name) {
      list[k++] = t->slot[i].name;
      numeric = numeric && as_integer(t->slot[i].name, &ignored);
    }
  qsort(list, k, sizeof *list, numeric ? by_number : by_bytes);
  *names = list;
  *count = (int32_t)k;
  return TPA_OK;
}

tpa_status tpa__labels_classes(const tpa__label_src *src, const char *const *given, int32_t n_given,
                               tpa_dataset *ds) {
  table t = {0};
  const char **found = NULL;
  const char *const *names = given;
  int32_t k = n_given;
  tpa_status st = TPA_OK;
  if (!given) {
    st = discover(src, &t, &found, &k);
    names = found;
  }
  /* Number the classes (a fresh table when the names were given). */
  if (st == TPA_OK && given) {
    for (int32_t i = 0; i < k && st == TPA_OK; i++) {
      entry *e;
      bool added;
      st = intern(&t, names[i], &e, &added);
      if (st == TPA_OK && !added)
        st = tpa__error(TPA_ERR_INVALID_ARGUMENT, "labels: \"%.40s\" is given twice", names[i]);
    }
  }
  bool ids_by_number = given != NULL;
  long long v;
  for (int32_t i = 0; i < k && st == TPA_OK; i++) {
    find(&t, names[i], fnv1a(names[i]))->id = i;
    if (as_integer(names[i], &v))
      ids_by_number = false; /* an integer label then means that name */
  }
  for (size_t i = 0; i < src->n && st == TPA_OK; i++) {
    const entry *e = find(&t, src->str[i], fnv1a(src->str[i]));
    if (e->name) {
      ds->examples[i].label = (float)e->id;
    } else if (ids_by_number && as_integer(src->str[i], &v) && v >= 0 && v < k) {
      ds->examples[i].label = (float)v;
    } else {
      st = tpa__error(TPA_ERR_DATA,
                      "%s:%zu: label \"%.40s\" in column \"%s\" is not one of the %d classes "
                      "(%s%s%s%s)",
                      src->path, src->line[i], src->str[i], src->column, (int)k, names[0],
                      k > 1 ? ", " : "", k > 1 ? names[1] : "", k > 2 ? ", ..." : "");
    }
  }
  if (st == TPA_OK) {
    ds->label_names = tpa__labels_copy(names, k);
    if (!ds->label_names)
      st = TPA__NO_MEMORY("labels");
    else
      ds->num_labels = k;
  }
  free(found);
  free(t.slot);
  return st;
}

tpa_status tpa__labels_values(const tpa__label_src *src, tpa_dataset *ds) {
  for (size_t i = 0; i < src->n; i++) {
    double v;
    if (!tpa__parse_decimal(src->str[i], &v) || !isfinite(v) || !isfinite((float)v))
      return tpa__error(TPA_ERR_DATA,
                        "%s:%zu: label \"%.40s\" in column \"%s\" is not a finite number "
                        "(regression)",
                        src->path, src->line[i], src->str[i], src->column);
    ds->examples[i].label = (float)v;
  }
  ds->num_labels = 1;
  return TPA_OK;
}
