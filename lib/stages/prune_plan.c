/* SPDX-License-Identifier: Apache-2.0 */
/* Prune plans (docs/method.md section 6): which heads (and feed-forward
 * neurons) to remove, chosen from an importance table, and their JSON form. A plan speaks in
 * ORIGINAL head indices only, so it can be stored, read back and applied to a model that already
 * lacks some heads (model/prune.c skips those). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "io/file.h"
#include "io/json.h"
#include "model/config.h"
#include "model/prune.h"
#include "tpa/importance.h"

/* The paper removes 44 of BERT-base's 144 heads: this share of them. */
#define PAPER_SHARE 0.3056

static const tpa_prune_params prune_defaults = {
    .size = sizeof(tpa_prune_params),
    .num_heads = -1,
    .use_threshold = false,
    .threshold = 0.0,
    .allow_empty_layers = false,
    .ffn_keep = 0.0,
    .ffn_global = 0.0,
};

TPA_API void tpa_prune_params_init(tpa_prune_params *p, size_t size) {
  tpa__params_init(p, size, &prune_defaults, sizeof prune_defaults);
}

/* An empty plan for layers x heads (both already validated). */
static tpa_status plan_alloc(int32_t layers, int32_t heads, tpa_prune_plan **out) {
  tpa_prune_plan *p = calloc(1, sizeof *p);
  if (!p)
    return TPA__NO_MEMORY("prune plan");
  p->removes = tpa__calloc((size_t)layers * (size_t)heads, sizeof *p->removes);
  if (!p->removes) {
    free(p);
    return TPA__NO_MEMORY("prune plan");
  }
  p->layers = layers;
  p->heads = heads;
  *out = p;
  return TPA_OK;
}

TPA_API void tpa_prune_plan_free(tpa_prune_plan *plan) {
  if (!plan)
    return;
  free(plan->removes);
  free(plan->ffn_off);
  free(plan->removes_neuron);
  free(plan);
}

TPA_API int32_t tpa_prune_plan_num_layers(const tpa_prune_plan *plan) {
  return plan ? plan->layers : 0;
}

TPA_API int32_t tpa_prune_plan_num_pruned(const tpa_prune_plan *plan) {
  return plan ? plan->n_pruned : 0;
}

TPA_API bool tpa_prune_plan_removes(const tpa_prune_plan *plan, int32_t layer, int32_t head) {
  if (!plan || layer < 0 || layer >= plan->layers || head < 0 || head >= plan->heads)
    return false;
  return plan->removes[(size_t)layer * (size_t)plan->heads + (size_t)head];
}

TPA_API int64_t tpa_prune_plan_num_pruned_neurons(const tpa_prune_plan *plan) {
  return plan ? plan->n_pruned_neurons : 0;
}

TPA_API int32_t tpa_prune_plan_ffn_width(const tpa_prune_plan *plan, int32_t layer) {
  if (!plan || !plan->ffn_off || layer < 0 || layer >= plan->layers)
    return 0;
  return (int32_t)(plan->ffn_off[layer + 1] - plan->ffn_off[layer]);
}

TPA_API bool tpa_prune_plan_removes_neuron(const tpa_prune_plan *plan, int32_t layer,
                                           int32_t neuron) {
  if (neuron < 0 || neuron >= tpa_prune_plan_ffn_width(plan, layer))
    return false;
  return plan->removes_neuron[plan->ffn_off[layer] + (size_t)neuron];
}

/* --- choosing the heads --------------------------------------------------- */

typedef struct candidate {
  double score; /* normalised importance */
  int32_t layer, head;
} candidate;

/* Least important first; equal scores toward the lower (layer, head). A
 * total order, so the plan never depends on qsort's algorithm. */
static int candidate_cmp(const void *pa, const void *pb) {
  const candidate *a = pa, *b = pb;
  if (a->score != b->score)
    return a->score < b->score ? -1 : 1;
  if (a->layer != b->layer)
    return a->layer < b->layer ? -1 : 1;
  return (a->head > b->head) - (a->head < b->head);
}

/* The scored heads of @p imp, sorted, and the count scored per layer. */
static tpa_status collect(const tpa_importance *imp, int32_t layers, int32_t heads, candidate **out,
                          size_t *n_out, int32_t *scored) {
  candidate *c = tpa__malloc_array((size_t)layers * (size_t)heads, sizeof *c);
  if (!c)
    return TPA__NO_MEMORY("prune candidates");
  size_t n = 0;
  for (int32_t l = 0; l < layers; l++) {
    scored[l] = 0;
    for (int32_t h = 0; h < heads; h++) {
      if (!tpa_importance_has_head(imp, l, h))
        continue; /* already pruned: never part of a plan */
      double s = tpa_importance_normalized(imp, l, h);
      if (!isfinite(s)) {
        free(c);
        return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                          "prune plan: importance of layer %d head %d is not a finite number", l,
                          h);
      }
      c[n++] = (candidate){s, l, h};
      scored[l]++;
    }
  }
  qsort(c, n, sizeof *c, candidate_cmp);
  *out = c;
  *n_out = n;
  return TPA_OK;
}

/* Walk the candidates from the least important and take each one, unless
 * it is the last scored head its layer still has (then, when empty layers
 * are not allowed, it is skipped and the next candidate is taken, so
 * exactly the requested count is removed whenever enough heads remain).
 * Since the walk goes upward in importance, the head a layer keeps is its
 * most important one (the last in the tie order among equal maxima). */
static void select_heads(tpa_prune_plan *plan, const candidate *c, size_t n, int32_t *left,
                         const tpa_prune_params *p, int64_t want) {
  for (size_t i = 0; i < n; i++) {
    if (p->use_threshold ? !(c[i].score < p->threshold) : plan->n_pruned >= want)
      break; /* sorted: nothing further qualifies */
    if (!p->allow_empty_layers && left[c[i].layer] <= 1)
      continue;
    plan->removes[(size_t)c[i].layer * (size_t)plan->heads + (size_t)c[i].head] = true;
    left[c[i].layer]--;
    plan->n_pruned++;
  }
}

/* --- choosing the neurons ------------------------------------------------- */

typedef struct neuron {
  double score;
  int32_t index;
} neuron;

/* Most important first; equal scores: the lower index first (kept). */
static int neuron_cmp(const void *pa, const void *pb) {
  const neuron *a = pa, *b = pb;
  if (a->score != b->score)
    return a->score > b->score ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

typedef struct gneuron {
  double score;
  int32_t layer, index;
} gneuron;

/* Most important first; equal scores: the lower (layer, neuron) first. */
static int gneuron_cmp(const void *pa, const void *pb) {
  const gneuron *a = pa, *b = pb;
  if (a->score != b->score)
    return a->score > b->score ? -1 : 1;
  if (a->layer != b->layer)
    return a->layer < b->layer ? -1 : 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* Rank every neuron together; keep the first floor(keep * total + 0.5),
 * and each layer's best even past that count (so the count kept may
 * exceed it by up to layers - 1). */
static tpa_status select_global(tpa_prune_plan *plan, const tpa_importance *imp, double keep) {
  const size_t total = plan->ffn_off[plan->layers];
  gneuron *all = tpa__malloc_array(total, sizeof *all);
  if (!all)
    return TPA__NO_MEMORY("prune plan: neurons");
  size_t n = 0;
  for (int32_t l = 0; l < plan->layers; l++)
    for (int32_t j = 0; j < tpa_importance_ffn_width(imp, l); j++) {
      all[n] = (gneuron){tpa_importance_ffn_normalized(imp, l, j), l, j};
      if (!isfinite(all[n].score)) {
        free(all);
        return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                          "prune plan: importance of layer %d neuron %d is not a finite number", l,
                          j);
      }
      n++;
    }
  qsort(all, n, sizeof *all, gneuron_cmp);
  const size_t k = (size_t)floor(keep * (double)n + 0.5);
  bool *has = tpa__calloc((size_t)plan->layers, sizeof *has);
  if (!has) {
    free(all);
    return TPA__NO_MEMORY("prune plan: neurons");
  }
  for (size_t i = 0; i < n; i++) {
    const gneuron *g = &all[i];
    if (i < k || !has[g->layer]) {
      has[g->layer] = true; /* the first seen of a layer is its best */
      continue;
    }
    plan->removes_neuron[plan->ffn_off[g->layer] + (size_t)g->index] = true;
    plan->n_pruned_neurons++;
  }
  free(has);
  free(all);
  return TPA_OK;
}

/* Every layer keeps floor(keep * I + 0.5) of its I neurons, the most
 * important by normalised score (global: floor(keep * total + 0.5) of
 * all neurons ranked together, each layer keeping its most important
 * one); the rest are removed. */
static tpa_status select_neurons(tpa_prune_plan *plan, const tpa_importance *imp, double keep,
                                 bool global) {
  if (!tpa_importance_has_ffn(imp))
    return tpa__error(
        TPA_ERR_INVALID_ARGUMENT,
        "tpa_prune_plan_create: neuron pruning needs neuron scores, and the importance "
        "table has none (compute it with neuron scores: tpa importance --ffn)");
  int32_t *widths = tpa__malloc_array((size_t)plan->layers, sizeof *widths);
  if (!widths)
    return TPA__NO_MEMORY("prune plan: neurons");
  for (int32_t l = 0; l < plan->layers; l++)
    widths[l] = tpa_importance_ffn_width(imp, l);
  tpa_status st = tpa__prune_plan_alloc_neurons(plan, widths);
  free(widths);
  if (st == TPA_OK && global)
    return select_global(plan, imp, keep);
  neuron *order = NULL;
  if (st == TPA_OK) {
    int32_t most = 0;
    for (int32_t l = 0; l < plan->layers; l++)
      if (tpa_importance_ffn_width(imp, l) > most)
        most = tpa_importance_ffn_width(imp, l);
    order = tpa__malloc_array((size_t)most, sizeof *order);
    if (!order)
      st = TPA__NO_MEMORY("prune plan: neurons");
  }
  for (int32_t l = 0; st == TPA_OK && l < plan->layers; l++) {
    const int32_t I = tpa_importance_ffn_width(imp, l);
    const int64_t k = (int64_t)floor(keep * (double)I + 0.5);
    if (k < 1) {
      st = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: ffn_keep %g keeps none of the %d neurons of layer %d",
                      keep, I, l);
      break;
    }
    for (int32_t j = 0; j < I; j++) {
      order[j] = (neuron){tpa_importance_ffn_normalized(imp, l, j), j};
      if (!isfinite(order[j].score)) {
        st =
            tpa__error(TPA_ERR_INVALID_ARGUMENT,
                       "prune plan: importance of layer %d neuron %d is not a finite number", l, j);
        break;
      }
    }
    if (st != TPA_OK)
      break;
    qsort(order, (size_t)I, sizeof *order, neuron_cmp);
    for (int64_t i = k; i < I; i++)
      plan->removes_neuron[plan->ffn_off[l] + (size_t)order[i].index] = true;
    plan->n_pruned_neurons += I - k;
  }
  free(order);
  return st;
}

TPA_API tpa_status tpa_prune_plan_create(tpa_prune_plan **out, const tpa_importance *imp,
                                         const tpa_prune_params *params) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_create: out is NULL");
  *out = NULL;
  tpa_prune_params p;
  if (!imp)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_create: importance is NULL");
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_prune_params, ffn_global), params,
                       &prune_defaults, "tpa_prune_plan_create", "tpa_prune_params");
  if (ps != TPA_OK)
    return ps;
  const int32_t layers = tpa_importance_num_layers(imp), heads = tpa_importance_num_heads(imp);
  if (layers < 1 || layers > TPA__CFG_MAX_LAYERS || heads < 1 || heads > TPA__CFG_MAX_HEADS)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: importance table has %d layers x %d heads", layers,
                      heads);
  const int64_t total = (int64_t)layers * heads;
  int64_t want = p.num_heads;
  if (p.use_threshold) {
    if (!isfinite(p.threshold))
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_create: threshold is %g",
                        p.threshold);
  } else if (want == -1) {
    want = (int64_t)floor(PAPER_SHARE * (double)total + 0.5);
  } else if (want < 0 || want > total) {
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: num_heads %lld is not in 0..%lld (or -1)",
                      (long long)want, (long long)total);
  }
  if (!(p.ffn_keep >= 0 && p.ffn_keep <= 1))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: ffn_keep %g is not in [0, 1]", p.ffn_keep);
  if (!(p.ffn_global >= 0 && p.ffn_global <= 1))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: ffn_global %g is not in [0, 1]", p.ffn_global);
  if (p.ffn_keep > 0 && p.ffn_global > 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_prune_plan_create: give ffn_keep or ffn_global, not both");
  tpa_prune_plan *plan = NULL;
  candidate *c = NULL;
  size_t n = 0;
  int32_t *left = tpa__calloc((size_t)layers, sizeof *left);
  tpa_status st = left ? plan_alloc(layers, heads, &plan) : TPA__NO_MEMORY("prune plan");
  if (st == TPA_OK)
    st = collect(imp, layers, heads, &c, &n, left);
  if (st == TPA_OK)
    select_heads(plan, c, n, left, &p, want);
  if (st == TPA_OK && (p.ffn_keep > 0 || p.ffn_global > 0))
    st = select_neurons(plan, imp, p.ffn_keep > 0 ? p.ffn_keep : p.ffn_global, p.ffn_global > 0);
  free(c);
  free(left);
  if (st != TPA_OK) {
    tpa_prune_plan_free(plan);
    return st;
  }
  *out = plan;
  return TPA_OK;
}

/* --- JSON ----------------------------------------------------------------- */

/* "ffn_widths":[I,...] and "pruned_neurons":{"0":[5,17]} (layers that
 * lose neurons) into @p root. */
static bool neurons_to_json(const tpa_prune_plan *plan, json_t *root) {
  json_t *widths = json_array(), *map = json_object();
  bool ok = widths && map;
  for (int32_t l = 0; ok && l < plan->layers; l++) {
    ok = json_array_append_new(widths, json_integer(tpa_prune_plan_ffn_width(plan, l))) == 0;
    json_t *list = NULL;
    for (size_t j = plan->ffn_off[l]; ok && j < plan->ffn_off[l + 1]; j++) {
      if (!plan->removes_neuron[j])
        continue;
      if (!list) {
        char key[16];
        snprintf(key, sizeof key, "%d", l);
        ok = (list = json_array()) && json_object_set_new(map, key, list) == 0;
      }
      ok = ok && json_array_append_new(list, json_integer((json_int_t)(j - plan->ffn_off[l]))) == 0;
    }
  }
  /* set_new steals the value even when it fails. */
  if (ok) {
    ok = json_object_set_new(root, "ffn_widths", widths) == 0;
    widths = NULL;
  }
  if (ok) {
    ok = json_object_set_new(root, "pruned_neurons", map) == 0;
    map = NULL;
  }
  json_decref(widths);
  json_decref(map);
  return ok;
}

/* {"layers":L,"heads":A,"pruned_heads":{"3":[0,7]}}: the shape of
 * config.json's pruned_heads, listing only layers that lose heads. */
static json_t *plan_to_json(const tpa_prune_plan *plan) {
  json_t *root = json_object(), *map = json_object();
  bool ok = root && map && json_object_set_new(root, "layers", json_integer(plan->layers)) == 0 &&
            json_object_set_new(root, "heads", json_integer(plan->heads)) == 0;
  for (int32_t l = 0; ok && l < plan->layers; l++) {
    json_t *list = NULL;
    for (int32_t h = 0; ok && h < plan->heads; h++) {
      if (!plan->removes[(size_t)l * (size_t)plan->heads + (size_t)h])
        continue;
      if (!list) {
        char key[16];
        snprintf(key, sizeof key, "%d", l);
        ok = (list = json_array()) && json_object_set_new(map, key, list) == 0;
      }
      ok = ok && json_array_append_new(list, json_integer(h)) == 0;
    }
  }
  if (ok)
    ok = json_object_set_new(root, "pruned_heads", map) == 0; /* steals map, even on failure */
  else
    json_decref(map);
  if (ok && plan->ffn_off)
    ok = neurons_to_json(plan, root);
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

TPA_API tpa_status tpa_prune_plan_save(const tpa_prune_plan *plan, const char *path) {
  tpa__error_clear();
  if (!plan || !path || !*path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_save: NULL plan or empty path");
  json_t *root = plan_to_json(plan);
  char *text = root ? json_dumps(root, 0) : NULL;
  json_decref(root);
  if (!text)
    return tpa__error(TPA_ERR_NO_MEMORY, "out of memory (file %s)", path);
  tpa__atomic_file af = {.fd = -1}; /* nothing to drop until opened */
  size_t len = strlen(text);
  text[len] = '\n'; /* a final newline; json_dumps' NUL is not written */
  tpa_status st = tpa__make_parent_dirs(path);
  if (st == TPA_OK)
    st = tpa__atomic_open(&af, path);
  if (st == TPA_OK)
    st = tpa__atomic_write(&af, text, len + 1);
  if (st == TPA_OK)
    st = tpa__atomic_commit(&af);
  tpa__atomic_abort(&af);
  free(text);
  return st;
}

/* Strict decimal layer key ("0", "11") below @p limit. */
static bool parse_layer_key(const char *s, int32_t limit, int32_t *out) {
  if (!*s || strlen(s) > 9 || (s[0] == '0' && s[1]))
    return false;
  int64_t v = 0;
  for (const char *q = s; *q; q++) {
    if (*q < '0' || *q > '9')
      return false;
    v = v * 10 + (*q - '0');
  }
  if (v >= limit)
    return false;
  *out = (int32_t)v;
  return true;
}

/* A required integer key in [lo, hi]. */
static tpa_status get_dim(const json_t *root, const char *path, const char *key, int64_t hi,
                          int32_t *out) {
  int64_t v = 0;
  bool found = false;
  tpa_status st = tpa__json_get_int(root, key, path, TPA_ERR_CONFIG, &v, &found);
  if (st != TPA_OK)
    return st;
  if (!found)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" is missing", path, key);
  if (v < 1 || v > hi)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" is %lld, expected 1..%lld", path, key,
                      (long long)v, (long long)hi);
  *out = (int32_t)v;
  return TPA_OK;
}

/* A {"layer": [index, ...]} map, as pruned_heads and pruned_neurons are:
 * layer l's indices lie in 0..its width - 1 and mark slots[row start +
 * index], each at most once. Row l starts at off[l] (its width off[l + 1]
 * - off[l]) or, when off is NULL, at l * width. */
typedef struct index_map {
  const char *key, *item; /* "pruned_heads", "head" */
  int32_t layers;
  const size_t *off;
  int32_t width;
  bool *slots;
} index_map;

/* Mark @p map's indices in im->slots; *count grows by each one marked. */
static tpa_status parse_index_map(const json_t *map, const char *path, const index_map *im,
                                  int64_t *count) {
  const char *key;
  json_t *list;
  json_object_foreach((json_t *)map, key, list) {
    int32_t l = 0;
    if (!parse_layer_key(key, im->layers, &l))
      return tpa__error(TPA_ERR_CONFIG, "file %s: %s key \"%s\" is not a layer in 0..%d", path,
                        im->key, key, im->layers - 1);
    if (!json_is_array(list))
      return tpa__error(TPA_ERR_CONFIG, "file %s: %s[\"%s\"] is not an array", path, im->key, key);
    const size_t start = im->off ? im->off[l] : (size_t)l * (size_t)im->width;
    const int64_t width = im->off ? (int64_t)(im->off[l + 1] - im->off[l]) : im->width;
    for (size_t i = 0; i < json_array_size(list); i++) {
      const json_t *x = json_array_get(list, i);
      if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= width)
        return tpa__error(TPA_ERR_CONFIG, "file %s: %s[\"%s\"][%zu] is not a %s index in 0..%lld",
                          path, im->key, key, i, im->item, (long long)width - 1);
      bool *slot = &im->slots[start + (size_t)json_integer_value(x)];
      if (*slot)
        return tpa__error(TPA_ERR_CONFIG, "file %s: %s[\"%s\"] lists %s %lld twice", path, im->key,
                          key, im->item, (long long)json_integer_value(x));
      *slot = true;
      (*count)++;
    }
  }
  return TPA_OK;
}

/* "ffn_widths" and "pruned_neurons", both or neither. */
static tpa_status neurons_from_json(const json_t *root, const char *path, tpa_prune_plan *plan) {
  const json_t *widths = NULL, *map = NULL;
  bool has_w = false, has_m = false;
  tpa_status st;
  if ((st = tpa__json_get_typed(root, "ffn_widths", path, TPA_ERR_CONFIG, JSON_ARRAY, &widths,
                                &has_w)) ||
      (st = tpa__json_get_typed(root, "pruned_neurons", path, TPA_ERR_CONFIG, JSON_OBJECT, &map,
                                &has_m)))
    return st;
  if (!has_w && !has_m)
    return TPA_OK;
  if (!has_w || !has_m)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" is missing (\"%s\" needs it)", path,
                      has_w ? "pruned_neurons" : "ffn_widths",
                      has_w ? "ffn_widths" : "pruned_neurons");
  if (json_array_size(widths) != (size_t)plan->layers)
    return tpa__error(TPA_ERR_CONFIG, "file %s: \"ffn_widths\" must list %d layers", path,
                      plan->layers);
  int32_t *w = tpa__malloc_array((size_t)plan->layers, sizeof *w);
  if (!w)
    return TPA__NO_MEMORY("prune plan: neurons");
  for (int32_t l = 0; st == TPA_OK && l < plan->layers; l++) {
    const json_t *v = json_array_get(widths, (size_t)l);
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > TPA__CFG_MAX_INTER)
      st = tpa__error(TPA_ERR_CONFIG, "file %s: \"ffn_widths\"[%d] is not a count in 1..%d", path,
                      l, TPA__CFG_MAX_INTER);
    else
      w[l] = (int32_t)json_integer_value(v);
  }
  if (st == TPA_OK)
    st = tpa__prune_plan_alloc_neurons(plan, w);
  free(w);
  if (st == TPA_OK) {
    const index_map im = {"pruned_neurons", "neuron", plan->layers,
                          plan->ffn_off,    0,        plan->removes_neuron};
    st = parse_index_map(map, path, &im, &plan->n_pruned_neurons);
  }
  return st;
}

static tpa_status plan_from_json(const json_t *root, const char *path, tpa_prune_plan **out) {
  int32_t layers = 0, heads = 0;
  const json_t *map = NULL;
  bool found = false;
  tpa_status st;
  if ((st = get_dim(root, path, "layers", TPA__CFG_MAX_LAYERS, &layers)) ||
      (st = get_dim(root, path, "heads", TPA__CFG_MAX_HEADS, &heads)) ||
      (st = tpa__json_get_typed(root, "pruned_heads", path, TPA_ERR_CONFIG, JSON_OBJECT, &map,
                                &found)))
    return st;
  if (!found)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"pruned_heads\" is missing", path);
  tpa_prune_plan *plan = NULL;
  if ((st = plan_alloc(layers, heads, &plan)) != TPA_OK)
    return st;
  const index_map im = {"pruned_heads", "head", layers, NULL, heads, plan->removes};
  int64_t marked = 0;
  st = parse_index_map(map, path, &im, &marked);
  plan->n_pruned = (int32_t)marked; /* at most layers x heads */
  if (st == TPA_OK)
    st = neurons_from_json(root, path, plan);
  if (st != TPA_OK) {
    tpa_prune_plan_free(plan);
    return st;
  }
  *out = plan;
  return TPA_OK;
}

TPA_API tpa_status tpa_prune_plan_load(tpa_prune_plan **out, const char *path) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_load: out is NULL");
  *out = NULL;
  if (!path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_prune_plan_load: path is NULL");
  char *buf = NULL;
  size_t len = 0;
  tpa_status st = tpa__file_read(path, TPA__JSON_MAX_FILE, &buf, &len);
  if (st != TPA_OK)
    return st;
  char what[1100];
  snprintf(what, sizeof what, "file %s", path);
  json_t *root = NULL;
  /* Duplicate keys are refused: a layer given twice is ambiguous. */
  st = tpa__json_parse(buf, len, what, TPA_ERR_JSON, true, &root);
  free(buf);
  if (st == TPA_OK)
    st = plan_from_json(root, path, out);
  json_decref(root);
  return st;
}
