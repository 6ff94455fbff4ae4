/* SPDX-License-Identifier: Apache-2.0 */
/* A LoRA set in PEFT's on-disk format (docs/method.md section 9, described in
 * docs/formats.md): adapter_config.json + adapter_model.safetensors, as
 * PeftModel.save_pretrained writes them for a LoraConfig with
 * task_type SEQ_CLS on a *ForSequenceClassification of any family. */
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "stages/lora.h"

#define CONFIG_NAME "adapter_config.json"
#define WEIGHTS_NAME "adapter_model.safetensors"

/* "bert.encoder.layer.3.attention.self.query": the HF name of module
 * @p k of layer @p l in a model of @p family. */
static void module_name(char *buf, size_t cap, tpa__family family, int32_t l, int32_t k) {
  const tpa__family_desc *f = tpa__family_get(family);
  snprintf(buf, cap, "%s%s.%d.%s", f->prefix, f->layer, l, tpa__lora_module_path(family, k));
}

/* PEFT's LoraConfig defaults, for keys an adapter_config.json omits. */
#define PEFT_DEFAULT_R 8
#define PEFT_DEFAULT_ALPHA 8.0

/* ---------------------------------------------------------------- save */

/* A 2-D tensor in the file: LoRA A/B and the head's weights, the refs
 * that weight decay applies to (LayerNorms and biases are 1-D). */
static bool is_matrix(const tpa__tensor_ref *r) {
  return r->decay;
}

static tpa_status save_weights(const tpa_lora_set *set, const char *dir) {
  /* The list only reads through these pointers. */
  tpa_lora_set *s = (tpa_lora_set *)set;
  size_t n = tpa__lora_set_tensors(s, NULL, 0);
  tpa__tensor_ref *refs = tpa__calloc(n, sizeof *refs);
  tpa__st_out *out = tpa__calloc(n, sizeof *out);
  int64_t *shapes = tpa__calloc(2 * n, sizeof *shapes);
  char *path = tpa__path_join(dir, WEIGHTS_NAME);
  tpa_status st = TPA_OK;
  if (!refs || !out || !shapes || !path)
    st = TPA__NO_MEMORY(WEIGHTS_NAME);
  if (st == TPA_OK) {
    tpa__lora_set_tensors(s, refs, n);
    for (size_t i = 0; i < n; i++) {
      bool mat = is_matrix(&refs[i]);
      shapes[2 * i] = mat ? refs[i].rows : (int64_t)refs[i].count;
      shapes[2 * i + 1] = refs[i].cols;
      out[i] = (tpa__st_out){.name = refs[i].name,
                             .dtype = TPA__DT_F32,
                             .ndim = mat ? 2 : 1,
                             .shape = &shapes[2 * i],
                             .f32 = refs[i].data};
    }
    /* PEFT saves with metadata {"format": "pt"}, which loaders check. */
    const char *const mk[] = {"format"}, *const mv[] = {"pt"};
    st = tpa__st_write(path, out, n, mk, mv, 1);
  }
  free(path);
  free(shapes);
  free(out);
  free(refs);
  return st;
}

/* The value among adapted modules that occurs most often (first seen wins
 * a tie); @p get reads a module's value. */
static double most_common(const tpa_lora_set *s, double (*get)(const tpa__lora_mod *),
                          double fallback) {
  size_t n = (size_t)s->layers * TPA__LORA_ALL, best_count = 0;
  double best = fallback;
  for (size_t i = 0; i < n; i++) {
    if (s->mod[i].rank <= 0)
      continue;
    double v = get(&s->mod[i]);
    size_t count = 0;
    for (size_t j = 0; j < n; j++)
      count += s->mod[j].rank > 0 && get(&s->mod[j]) == v;
    if (count > best_count) {
      best_count = count;
      best = v;
    }
  }
  return best;
}

static double mod_rank(const tpa__lora_mod *m) {
  return m->rank;
}
static double mod_alpha(const tpa__lora_mod *m) {
  return m->alpha;
}

static bool put(json_t *obj, const char *key, json_t *value) {
  return value && json_object_set_new(obj, key, value) == 0;
}

/* An alpha as PEFT users write it: an integer when it is one. */
static json_t *alpha_json(double a) {
  return a == floor(a) && fabs(a) < 1e15 ? json_integer((json_int_t)a) : json_real(a);
}

/* PEFT's list rule: @p path equals @p t or ends in "." @p t. */
static bool list_matches(const char *path, const char *t) {
  size_t n = strlen(path), tn = strlen(t);
  return strcmp(path, t) == 0 ||
         (n > tn && path[n - tn - 1] == '.' && strcmp(path + n - tn, t) == 0);
}

/* Do the family's suffixes of the modules in @p adapted (a flag per
 * module) pick exactly those modules of a block? Not so for BERT's FFN
 * output alone: "output.dense" also picks attention.output.dense. */
static bool suffixes_exact(const tpa__family_desc *f, tpa__family family, const int32_t *adapted) {
  for (int32_t k = 0; k < TPA__LORA_ALL; k++) {
    if (!adapted[k])
      continue;
    for (int32_t j = 0; j < TPA__LORA_ALL; j++)
      if (!adapted[j] && list_matches(tpa__lora_module_path(family, j), f->targets[k]))
        return false;
  }
  return true;
}

/* rank_pattern / alpha_pattern and target_modules. Pattern keys are
 * "encoder.layer.L.<module path>" (the family's layer path): PEFT matches
 * a key against the module name ("bert.encoder.layer.L.attention.self.query") with
 * re.match(rf"(.*\.)?({key})$") (older releases: rf".*\.{key}$", which
 * needs a component before the key, hence no "bert." in ours), so each key
 * names exactly one module in both. */
static bool put_patterns(json_t *root, const tpa_lora_set *s, int32_t r, double alpha) {
  const tpa__family_desc *f = tpa__family_get(s->family);
  json_t *rp = json_object(), *ap = json_object(), *targets = json_array();
  bool ok = rp && ap && targets, uniform = true;
  int32_t adapted[TPA__LORA_ALL] = {0}; /* layers adapting each module */
  for (int32_t l = 0; ok && l < s->layers; l++)
    for (int32_t k = 0; ok && k < TPA__LORA_ALL; k++) {
      const tpa__lora_mod *m = tpa__lora_at(s, l, k);
      char key[128];
      snprintf(key, sizeof key, "%s.%d.%s", f->layer, l, tpa__lora_module_path(s->family, k));
      if (m->rank <= 0)
        continue;
      adapted[k]++;
      if (m->rank != r)
        ok = put(rp, key, json_integer(m->rank));
      if (ok && (double)m->alpha != alpha)
        ok = put(ap, key, alpha_json(m->alpha));
    }
  /* Each module adapted in every layer or in none, and the suffixes of
   * those adapted picking no other: PEFT's suffix list of those adapted
   * (docs/method.md's spelling; "query", "value" for --target-modules
   * query,value). Otherwise the exact names of the adapted modules, which
   * PEFT matches by equality, since a rank of 0 cannot be written as a
   * pattern. */
  for (int32_t k = 0; k < TPA__LORA_ALL; k++)
    uniform = uniform && (adapted[k] == 0 || adapted[k] == s->layers);
  uniform = uniform && suffixes_exact(f, s->family, adapted);
  for (int32_t l = 0; ok && l < s->layers; l++)
    for (int32_t k = 0; ok && k < TPA__LORA_ALL; k++) {
      if (uniform) {
        if (l == 0 && adapted[k])
          ok = json_array_append_new(targets, json_string(f->targets[k])) == 0;
        continue;
      }
      if (tpa__lora_at(s, l, k)->rank <= 0)
        continue;
      char name[128];
      module_name(name, sizeof name, s->family, l, k);
      ok = json_array_append_new(targets, json_string(name)) == 0;
    }
  if (!ok) {
    json_decref(rp);
    json_decref(ap);
    json_decref(targets);
    return false;
  }
  /* Each put owns its value from here on, success or not (jansson). */
  bool a = put(root, "rank_pattern", rp);
  bool b = put(root, "alpha_pattern", ap);
  bool c = put(root, "target_modules", targets);
  return a && b && c;
}

/* The heads a layer of the set's base keeps, for its pruned_heads
 * ({"0": [1, 4]}: ORIGINAL heads each layer of the base lacks). */
static const int32_t *set_kept_heads(const void *ctx, int32_t layer, int32_t *n_kept) {
  const tpa_lora_set *s = ctx;
  *n_kept = s->n_heads[layer];
  return s->head_ids + (size_t)layer * (size_t)s->heads;
}

/* What PEFT does not describe: the base's shape, so that a loader can
 * check the adapter applies to the right (pruned) model. */
static json_t *libtpa_json(const tpa_lora_set *s) {
  json_t *o = json_object();
  bool ok = o && put(o, "format_version", json_integer(1)) &&
            put(o, "model_type", json_string(tpa__family_get(s->family)->model_type)) &&
            put(o, "num_hidden_layers", json_integer(s->layers)) &&
            put(o, "hidden_size", json_integer(s->hidden)) &&
            put(o, "num_attention_heads", json_integer(s->heads)) &&
            put(o, "num_labels", json_integer(s->num_labels)) &&
            put(o, "pruned_heads", tpa__json_pruned_heads(s->layers, s->heads, set_kept_heads, s));
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static tpa_status save_config(const tpa_lora_set *s, const char *dir) {
  int32_t r = (int32_t)most_common(s, mod_rank, PEFT_DEFAULT_R);
  double alpha = most_common(s, mod_alpha, 2.0 * r);
  const tpa__family_desc *f = tpa__family_get(s->family);
  json_t *root = json_object(), *mts = json_array();
  bool ok = root && mts;
  for (size_t i = 0; ok && i < sizeof f->save_modules / sizeof *f->save_modules; i++)
    if (f->save_modules[i])
      ok = json_array_append_new(mts, json_string(f->save_modules[i])) == 0;
  if (ok) {
    ok = put(root, "modules_to_save", mts);
    mts = NULL;
  }
  json_decref(mts);
  ok = ok && put(root, "peft_type", json_string("LORA")) &&
       put(root, "task_type", json_string("SEQ_CLS")) && put(root, "r", json_integer(r)) &&
       put(root, "lora_alpha", alpha_json(alpha)) && put_patterns(root, s, r, alpha) &&
       put(root, "bias", json_string("none")) && put(root, "lora_dropout", json_real(0.0)) &&
       put(root, "fan_in_fan_out", json_false()) && put(root, "inference_mode", json_true()) &&
       put(root, "init_lora_weights", json_true()) && put(root, "use_rslora", json_false()) &&
       put(root, "use_dora", json_false()) && put(root, "layers_to_transform", json_null()) &&
       put(root, "layers_pattern", json_null()) && put(root, "revision", json_null()) &&
       put(root, "base_model_name_or_path",
           s->base_model ? json_string(s->base_model) : json_null()) &&
       put(root, "libtpa", libtpa_json(s));
  tpa_status st = ok ? tpa__json_save(dir, CONFIG_NAME, root,
                                      JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17))
                     : TPA__NO_MEMORY(CONFIG_NAME);
  json_decref(root);
  return st;
}

TPA_API tpa_status tpa_lora_set_save(const tpa_lora_set *set, const char *dir) {
  tpa__error_clear();
  if (!set || !dir || !*dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_save: NULL set or empty dir");
  /* Staged next to @p dir and swapped in whole (io/file.h); in place
   * (read-only parent) weights go first, so a crash between the two
   * leaves no config that describes weights which are not there yet. */
  tpa__dir_writer dw;
  tpa_status st = tpa__dir_begin(&dw, dir);
  if (st == TPA_OK && !((st = save_weights(set, dw.stage)) || (st = save_config(set, dw.stage))))
    st = tpa__dir_commit(&dw);
  tpa__dir_abort(&dw);
  if (st != TPA_OK)
    return tpa__error_prefix(st, "saving the adapter to %s", dir);
  return TPA_OK;
}

/* ---------------------------------------------------------------- load */

/* What adapter_config.json says about ranks and alphas. */
typedef struct peft_config {
  const char *path;
  int64_t r;
  double alpha;
  const json_t *rank_pattern, *alpha_pattern; /* borrowed, may be NULL */
} peft_config;

/* Limits on a pattern key from a file. glibc's regcomp copies the
 * operand of a counted repetition ("{m,n}") once per count, so nested
 * ones take minutes and gigabytes, and backreferences make regexec
 * backtrack; enough nested stars also blow up. Module names need none of
 * that (PEFT keys are suffixes such as "layer.1.attention.self.value"),
 * so keys with "{", a backreference or more than a few repetition
 * operators are refused before regcomp sees them (found by fuzzing). */
#define PATTERN_MAX_LEN 256
#define PATTERN_MAX_REPEATS 8

static tpa_status pattern_check(const peft_config *c, const char *what, const char *key) {
  size_t len = strlen(key), repeats = 0;
  const char *why = NULL;
  for (size_t i = 0; i < len && !why; i++) {
    if (key[i] == '{' || key[i] == '}')
      why = "counted repetitions {m,n} are not accepted";
    else if (key[i] == '\\' && key[i + 1] >= '1' && key[i + 1] <= '9')
      why = "backreferences are not accepted";
    else if ((key[i] == '*' || key[i] == '+' || key[i] == '?') && ++repeats > PATTERN_MAX_REPEATS)
      why = "more than 8 repetition operators";
  }
  if (!why && len > PATTERN_MAX_LEN)
    why = "longer than 256 bytes";
  if (why)
    return tpa__error(TPA_ERR_CONFIG, "file %s: %s key \"%.64s%s\" is not a usable pattern: %s",
                      c->path, what, key, len > 64 ? "..." : "", why);
  return TPA_OK;
}

/* The value of the first key of @p patterns (in file order) that PEFT's
 * get_pattern_key would pick for module @p name; *value NULL if none. */
static tpa_status pattern_lookup(const peft_config *c, const json_t *patterns, const char *what,
                                 const char *name, const json_t **value) {
  *value = NULL;
  if (!patterns)
    return TPA_OK;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)patterns, key, v) {
    tpa_status st = pattern_check(c, what, key);
    if (st != TPA_OK)
      return st;
    size_t n = strlen(key) + 16;
    char *re_text = malloc(n);
    if (!re_text)
      return TPA__NO_MEMORY("pattern");
    snprintf(re_text, n, "^(.*\\.)?(%s)$", key);
    regex_t re;
    int rc = regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB);
    free(re_text);
    if (rc != 0)
      return tpa__error(TPA_ERR_CONFIG, "file %s: %s key \"%s\" is not a usable pattern", c->path,
                        what, key);
    bool hit = regexec(&re, name, 0, NULL, 0) == 0;
    regfree(&re);
    if (hit) {
      *value = v;
      return TPA_OK;
    }
  }
  return TPA_OK;
}

/* Rank and alpha PEFT would give module @p name. */
static tpa_status module_config(const peft_config *c, const char *name, int64_t *r, double *alpha) {
  const json_t *v;
  tpa_status st = pattern_lookup(c, c->rank_pattern, "rank_pattern", name, &v);
  if (st != TPA_OK)
    return st;
  *r = c->r;
  if (v) {
    if (!json_is_integer(v))
      return tpa__error(TPA_ERR_CONFIG, "file %s: rank_pattern value for %s is not an integer",
                        c->path, name);
    *r = json_integer_value(v);
  }
  if ((st = pattern_lookup(c, c->alpha_pattern, "alpha_pattern", name, &v)))
    return st;
  *alpha = c->alpha;
  if (v) {
    if (!json_is_number(v))
      return tpa__error(TPA_ERR_CONFIG, "file %s: alpha_pattern value for %s is not a number",
                        c->path, name);
    *alpha = json_number_value(v);
  }
  if (*r < 1 || *r > 1024)
    return tpa__error(TPA_ERR_CONFIG, "file %s: rank %lld for %s is not in 1..1024", c->path,
                      (long long)*r, name);
  if (!isfinite(*alpha) || *alpha <= 0.0 || *alpha > 1e30)
    return tpa__error(TPA_ERR_CONFIG, "file %s: lora_alpha %g for %s is not a positive number",
                      c->path, *alpha, name);
  return TPA_OK;
}

/* A key that, when present, must have the value PEFT's default has. */
static tpa_status require_false(const json_t *root, const char *path, const char *key) {
  bool v = false;
  tpa_status st = tpa__json_get_bool(root, key, path, TPA_ERR_CONFIG, &v, NULL);
  if (st == TPA_OK && v)
    st = tpa__error(TPA_ERR_UNSUPPORTED, "file %s: \"%s\": true is not supported", path, key);
  return st;
}

/* pruned_heads of the libtpa object, when present, must be the model's. */
static tpa_status check_base(const json_t *root, const char *path, const tpa_model *m) {
  const json_t *lt = NULL, *pruned = NULL;
  tpa_status st = tpa__json_get_typed(root, "libtpa", path, TPA_ERR_CONFIG, JSON_OBJECT, &lt, NULL);
  if (st != TPA_OK || !lt)
    return st;
  const char *type = NULL;
  st = tpa__json_get_string(lt, "model_type", path, TPA_ERR_CONFIG, &type, NULL);
  const char *family = tpa__family_get(m->cfg.family)->model_type;
  if (st == TPA_OK && type && strcmp(type, family) != 0)
    st = tpa__error(TPA_ERR_TENSOR_SHAPE,
                    "file %s: the adapter was made for a %.40s model; this model is %s", path, type,
                    family);
  if (st != TPA_OK)
    return st;
  st = tpa__json_get_typed(lt, "pruned_heads", path, TPA_ERR_CONFIG, JSON_OBJECT, &pruned, NULL);
  if (st != TPA_OK || !pruned)
    return st;
  const tpa__config *c = &m->cfg;
  for (int32_t l = 0; l < c->layers; l++) {
    char key[16];
    snprintf(key, sizeof key, "%d", l);
    const json_t *list = json_object_get(pruned, key);
    size_t want = (size_t)(c->heads - m->w.layer[l].n_heads);
    bool same = list ? json_is_array(list) && json_array_size(list) == want : want == 0;
    /* Every listed head must be one the model lacks, listed once. */
    for (size_t i = 0; same && list && i < json_array_size(list); i++) {
      const json_t *h = json_array_get(list, i);
      same = json_is_integer(h) && json_integer_value(h) >= 0 && json_integer_value(h) < c->heads;
      for (int32_t k = 0; same && k < m->w.layer[l].n_heads; k++)
        same = m->w.layer[l].head_ids[k] != json_integer_value(h);
      for (size_t j = 0; same && j < i; j++)
        same = !json_equal(json_array_get(list, j), (json_t *)h);
    }
    if (!same)
      return tpa__error(TPA_ERR_TENSOR_SHAPE,
                        "file %s: the adapter was made for a base whose layer %d lacks other "
                        "heads (libtpa.pruned_heads) than this model's (%d of %d heads kept)",
                        path, l, m->w.layer[l].n_heads, c->heads);
  }
  return TPA_OK;
}

/* Does PEFT's list rule (name equal to @p t or ending in "." t) pick some
 * module libtpa adapts in @p m? */
static bool target_matches(const char *t, const tpa_model *m) {
  for (int32_t l = 0; l < m->cfg.layers; l++)
    for (int32_t k = 0; k < TPA__LORA_ALL; k++) {
      char name[128];
      module_name(name, sizeof name, m->cfg.family, l, k);
      if (list_matches(name, t))
        return true;
    }
  return false;
}

/* target_modules: a string (a regular expression in PEFT, not checked
 * here: the tensors present decide) or a list whose every entry must name
 * a module libtpa can adapt; anything else would be silently ignored. */
static tpa_status check_targets(const json_t *root, const char *path, const tpa_model *m) {
  const json_t *v = json_object_get(root, "target_modules");
  if (!v || json_is_null(v) || json_is_string(v))
    return TPA_OK;
  if (!json_is_array(v))
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: key \"target_modules\" must be a string or an array of strings",
                      path);
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    if (!json_is_string(e))
      return tpa__error(TPA_ERR_CONFIG, "file %s: key \"target_modules\"[%zu] is not a string",
                        path, i);
    if (!target_matches(json_string_value(e), m)) {
      const tpa__family_desc *f = tpa__family_get(m->cfg.family);
      return tpa__error(TPA_ERR_UNSUPPORTED,
                        "file %s: target_modules entry \"%.80s\" names no %s, %s, %s, %s, %s or "
                        "%s module of this model (only those take LoRA)",
                        path, json_string_value(e), f->targets[0], f->targets[1], f->targets[2],
                        f->targets[3], f->targets[4], f->targets[5]);
    }
  }
  return TPA_OK;
}

static tpa_status read_config(const char *path, const tpa_model *m, json_t **root_out,
                              peft_config *c) {
  json_t *root = NULL;
  tpa_status st = tpa__json_load_file(path, &root);
  if (st != TPA_OK)
    return st;
  *root_out = root;
  *c = (peft_config){.path = path, .r = PEFT_DEFAULT_R, .alpha = PEFT_DEFAULT_ALPHA};
  const char *type = NULL, *bias = NULL;
  if ((st = tpa__json_get_string(root, "peft_type", path, TPA_ERR_CONFIG, &type, NULL)))
    return st;
  if (!type || strcmp(type, "LORA") != 0)
    return tpa__error(TPA_ERR_UNSUPPORTED,
                      "file %s: peft_type is \"%s\"; only \"LORA\" is supported", path,
                      type ? type : "(missing)");
  if ((st = tpa__json_get_string(root, "bias", path, TPA_ERR_CONFIG, &bias, NULL)))
    return st;
  /* Other bias modes save trained biases that a LoRA set cannot hold. */
  if (bias && strcmp(bias, "none") != 0)
    return tpa__error(TPA_ERR_UNSUPPORTED, "file %s: bias \"%s\"; only \"none\" is supported", path,
                      bias);
  if ((st = require_false(root, path, "use_dora")) ||
      (st = require_false(root, path, "use_rslora")) ||
      (st = require_false(root, path, "fan_in_fan_out")) ||
      (st = tpa__json_get_int(root, "r", path, TPA_ERR_CONFIG, &c->r, NULL)) ||
      (st = tpa__json_get_real(root, "lora_alpha", path, TPA_ERR_CONFIG, &c->alpha, NULL)) ||
      (st = tpa__json_get_typed(root, "rank_pattern", path, TPA_ERR_CONFIG, JSON_OBJECT,
                                &c->rank_pattern, NULL)) ||
      (st = tpa__json_get_typed(root, "alpha_pattern", path, TPA_ERR_CONFIG, JSON_OBJECT,
                                &c->alpha_pattern, NULL)) ||
      (st = check_targets(root, path, m)))
    return st;
  return check_base(root, path, m);
}

/* "[3, 8]". */
static const char *shape_str(char *buf, size_t cap, int32_t ndim, const uint64_t *dims) {
  size_t at = (size_t)snprintf(buf, cap, "[");
  for (int32_t i = 0; i < ndim && at < cap; i++)
    at +=
        (size_t)snprintf(buf + at, cap - at, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
  if (at < cap)
    snprintf(buf + at, cap - at, "]");
  return buf;
}

/* Copy tensor @p t of the file into @p dst after checking its shape. */
static tpa_status take(const tpa__st_file *f, const tpa__st_tensor *t, int32_t ndim, uint64_t d0,
                       uint64_t d1, float *dst, size_t count, const char *why) {
  uint64_t want[2] = {d0, d1};
  bool ok = t->ndim == ndim && t->shape[0] == d0 && (ndim == 1 || t->shape[1] == d1);
  if (!ok) {
    char have[96], exp[96];
    return tpa__error(TPA_ERR_TENSOR_SHAPE, "file %s: tensor \"%s\" has shape %s, expected %s%s",
                      f->path, t->name, shape_str(have, sizeof have, t->ndim, t->shape),
                      shape_str(exp, sizeof exp, ndim, want), why);
  }
  const float *src;
  float *owned;
  tpa_status st = tpa__st_as_f32(f, t, &src, &owned);
  if (st != TPA_OK)
    return st;
  if (count)
    memcpy(dst, src, count * sizeof *dst);
  free(owned);
  return TPA_OK;
}

/* Ranks and alphas of every module: from the tensors present, checked
 * against what adapter_config.json gives the module. */
static tpa_status module_ranks(const tpa__st_file *f, const peft_config *c, const tpa_model *m,
                               int32_t *ranks, float *alphas) {
  for (int32_t l = 0; l < m->cfg.layers; l++)
    for (int32_t k = 0; k < TPA__LORA_ALL; k++) {
      size_t i = (size_t)l * TPA__LORA_ALL + (size_t)k;
      char module[128], ka[192], kb[192];
      module_name(module, sizeof module, m->cfg.family, l, k);
      snprintf(ka, sizeof ka, "base_model.model.%s.lora_A.weight", module);
      snprintf(kb, sizeof kb, "base_model.model.%s.lora_B.weight", module);
      const tpa__st_tensor *a = tpa__st_find(f, ka), *b = tpa__st_find(f, kb);
      ranks[i] = 0;
      alphas[i] = 0.0f;
      if (!a && !b)
        continue; /* not adapted */
      if (!a || !b)
        return tpa__error(TPA_ERR_TENSOR_MISSING,
                          "file %s: tensor \"%s\" is missing (its pair \"%s\" is present)", f->path,
                          a ? kb : ka, a ? ka : kb);
      int64_t r = 0;
      double alpha = 0.0;
      tpa_status st = module_config(c, module, &r, &alpha);
      if (st != TPA_OK)
        return st;
      ranks[i] = (int32_t)r;
      alphas[i] = (float)alpha;
    }
  return TPA_OK;
}

/* Fill @p s from the file; every tensor of the file must be used. */
static tpa_status load_tensors(const tpa__st_file *f, tpa_lora_set *s) {
  size_t n = tpa__lora_set_tensors(s, NULL, 0), used = 0;
  tpa__tensor_ref *refs = tpa__calloc(n, sizeof *refs);
  if (!refs)
    return TPA__NO_MEMORY("adapter");
  tpa__lora_set_tensors(s, refs, n);
  tpa_status st = TPA_OK;
  for (size_t i = 0; st == TPA_OK && i < n; i++) {
    const tpa__st_tensor *t = tpa__st_find(f, refs[i].name);
    if (!t)
      continue; /* a LayerNorm or the classifier: keeps the model's values */
    used++;
    bool mat = is_matrix(&refs[i]);
    const char *why = strstr(refs[i].name, ".lora_")
                          ? " (rank from adapter_config.json, other size from the model)"
                          : " (from the model)";
    st = take(f, t, mat ? 2 : 1, mat ? (uint64_t)refs[i].rows : refs[i].count,
              (uint64_t)refs[i].cols, refs[i].data, refs[i].count, why);
  }
  for (size_t j = 0; st == TPA_OK && used < f->n && j < f->n; j++) {
    bool known = false;
    for (size_t i = 0; !known && i < n; i++)
      known = strcmp(f->t[j].name, refs[i].name) == 0;
    if (!known)
      st = tpa__error(TPA_ERR_UNSUPPORTED,
                      "file %s: tensor \"%s\" is not a LoRA A/B of a module LoRA adapts, "
                      "a LayerNorm or the classification head of this model",
                      f->path, f->t[j].name);
  }
  free(refs);
  return st;
}

static tpa_status load(tpa_lora_set **out, const tpa_model *m, const char *dir) {
  char *cpath = tpa__path_join(dir, CONFIG_NAME), *wpath = tpa__path_join(dir, WEIGHTS_NAME);
  size_t nmod = (size_t)m->cfg.layers * TPA__LORA_ALL;
  int32_t *ranks = tpa__calloc(2 * nmod, sizeof *ranks);
  float *alphas = tpa__calloc(2 * nmod, sizeof *alphas);
  json_t *root = NULL;
  tpa__st_file f = {0};
  peft_config c;
  tpa_lora_set *s = NULL;
  tpa_status st = cpath && wpath && ranks && alphas ? TPA_OK : TPA__NO_MEMORY("adapter");
  if (st == TPA_OK)
    st = read_config(cpath, m, &root, &c);
  if (st == TPA_OK)
    st = tpa__st_open(&f, wpath);
  if (st == TPA_OK)
    st = module_ranks(&f, &c, m, ranks, alphas);
  if (st == TPA_OK) {
    /* The set's layout [layers][6] into the params' two arrays. */
    enum { ATT = TPA_LORA_MODULES, FFN = TPA__LORA_ALL - TPA_LORA_MODULES };
    int32_t *att_r = ranks + nmod, *ffn_r = att_r + (size_t)m->cfg.layers * ATT;
    float *att_a = alphas + nmod, *ffn_a = att_a + (size_t)m->cfg.layers * ATT;
    for (size_t i = 0; i < nmod; i++) {
      size_t l = i / TPA__LORA_ALL, k = i % TPA__LORA_ALL;
      size_t at = k < ATT ? l * ATT + k : l * FFN + (k - ATT);
      (k < ATT ? att_r : ffn_r)[at] = ranks[i];
      (k < ATT ? att_a : ffn_a)[at] = alphas[i];
    }
    tpa_lora_params p;
    tpa_lora_params_init(&p, sizeof p);
    p.ranks = att_r;
    p.alphas = att_a;
    p.ffn_ranks = ffn_r;
    p.ffn_alphas = ffn_a;
    st = tpa_lora_set_create(&s, m, &p);
  }
  if (st == TPA_OK)
    st = load_tensors(&f, s);
  tpa__st_close(&f);
  json_decref(root);
  free(ranks);
  free(alphas);
  free(cpath);
  free(wpath);
  if (st != TPA_OK) {
    tpa_lora_set_free(s);
    return st;
  }
  *out = s;
  return TPA_OK;
}

TPA_API tpa_status tpa_lora_set_load(tpa_lora_set **out, const tpa_model *model, const char *dir) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_load: out is NULL");
  *out = NULL;
  if (!model || !dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_lora_set_load: NULL model or dir");
  return load(out, model, dir);
}
