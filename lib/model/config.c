/* SPDX-License-Identifier: Apache-2.0 */
/* config.json -> tpa__config. model_type picks the family
 * (model/family.h); absent keys take that family's HF config defaults (as
 * transformers does); present keys must have the right type and a sane
 * value, and every failure names the key and the file. */
#include "model/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/json.h"

/* An integer key in [lo, hi]; absent keeps *out (the default). */
static tpa_status get_bounded(const json_t *root, const char *path, const char *key, int64_t lo,
                              int64_t hi, int32_t *out) {
  int64_t v = *out;
  tpa_status st = tpa__json_get_int(root, key, path, TPA_ERR_CONFIG, &v, NULL);
  if (st != TPA_OK)
    return st;
  if (v < lo || v > hi)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" is %lld, expected %lld..%lld", path, key,
                      (long long)v, (long long)lo, (long long)hi);
  *out = (int32_t)v;
  return TPA_OK;
}

/* A real key in [lo, hi) (finite); absent keeps *out. */
static tpa_status get_real(const json_t *root, const char *path, const char *key, double lo,
                           double hi, bool lo_open, double *out) {
  double v = *out;
  tpa_status st = tpa__json_get_real(root, key, path, TPA_ERR_CONFIG, &v, NULL);
  if (st != TPA_OK)
    return st;
  if (!isfinite(v) || v < lo || (lo_open && v == lo) || v >= hi)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" is %g, expected %s%g..%g)", path, key, v,
                      lo_open ? "(" : "[", lo, hi);
  *out = v;
  return TPA_OK;
}

/* A string key that, when present, must equal @p want. */
static tpa_status require_string(const json_t *root, const char *path, const char *key,
                                 const char *want) {
  const char *v = NULL;
  tpa_status st = tpa__json_get_string(root, key, path, TPA_ERR_CONFIG, &v, NULL);
  if (st != TPA_OK)
    return st;
  if (v && strcmp(v, want) != 0)
    return tpa__error(TPA_ERR_UNSUPPORTED,
                      "file %s: key \"%s\" is \"%s\"; only \"%s\" is supported", path, key, v,
                      want);
  return TPA_OK;
}

/* Strict decimal index ("0", "12") below @p limit; JSON map keys. */
static bool parse_index(const char *s, int64_t limit, int64_t *out) {
  if (!*s || strlen(s) > 9)
    return false;
  int64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    v = v * 10 + (*p - '0');
  }
  if (v >= limit)
    return false;
  *out = v;
  return true;
}

void tpa__config_free(tpa__config *cfg) {
  json_decref(cfg->raw);
  json_decref(cfg->raw_tok);
  if (cfg->id2label)
    for (int32_t i = 0; i < cfg->num_labels; i++)
      free(cfg->id2label[i]);
  free(cfg->id2label);
  free(cfg->inter_layers);
  memset(cfg, 0, sizeof *cfg);
}

static void free_labels(char **labels, int32_t n) {
  if (labels)
    for (int32_t i = 0; i < n; i++)
      free(labels[i]);
  free(labels);
}

tpa_status tpa__config_set_num_labels(tpa__config *cfg, int32_t n) {
  if (n < 1 || n > TPA__CFG_MAX_LABELS)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "num_labels %d is not in 1..%d", n,
                      TPA__CFG_MAX_LABELS);
  if (cfg->id2label && cfg->num_labels == n)
    return TPA_OK;
  char **labels = tpa__calloc((size_t)n, sizeof *labels);
  if (!labels)
    return TPA__NO_MEMORY("labels");
  for (int32_t i = 0; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "LABEL_%d", i);
    labels[i] = tpa__strdup(buf);
    if (!labels[i]) {
      free_labels(labels, n);
      return TPA__NO_MEMORY("labels");
    }
  }
  free_labels(cfg->id2label, cfg->num_labels);
  cfg->id2label = labels;
  cfg->num_labels = n;
  cfg->regression = n == 1;
  return TPA_OK;
}

/* id2label: {"0": "NEGATIVE", "1": "POSITIVE"}, keys exactly 0..n-1. */
static tpa_status parse_id2label(const json_t *map, const char *path, tpa__config *cfg) {
  size_t n = json_object_size(map);
  if (n < 1 || n > TPA__CFG_MAX_LABELS)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"id2label\" has %zu entries, expected 1..%d",
                      path, n, TPA__CFG_MAX_LABELS);
  char **labels = tpa__calloc(n, sizeof *labels);
  if (!labels)
    return TPA__NO_MEMORY("id2label");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)map, key, v) {
    int64_t id;
    tpa_status st = TPA_OK;
    if (!parse_index(key, (int64_t)n, &id))
      st = tpa__error(TPA_ERR_CONFIG, "file %s: id2label key \"%s\" is not a label index in 0..%zu",
                      path, key, n - 1);
    else if (!json_is_string(v))
      st = tpa__error(TPA_ERR_CONFIG, "file %s: id2label[\"%s\"] is not a string", path, key);
    else if (labels[id])
      st = tpa__error(TPA_ERR_CONFIG, "file %s: id2label index %lld given twice", path,
                      (long long)id);
    else if (!(labels[id] = tpa__strdup(json_string_value(v))))
      st = TPA__NO_MEMORY("id2label");
    if (st != TPA_OK) {
      free_labels(labels, (int32_t)n);
      return st;
    }
  }
  cfg->id2label = labels;
  cfg->num_labels = (int32_t)n;
  return TPA_OK;
}

/* pruned_heads: {"3": [0, 5]} lists ORIGINAL head indices removed. */
static tpa_status parse_pruned(const json_t *map, const char *path, const tpa__config *cfg,
                               bool *pruned) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)map, key, v) {
    int64_t layer;
    if (!parse_index(key, cfg->layers, &layer))
      return tpa__error(TPA_ERR_CONFIG,
                        "file %s: pruned_heads key \"%s\" is not a layer index in 0..%d", path, key,
                        cfg->layers - 1);
    if (!json_is_array(v))
      return tpa__error(TPA_ERR_CONFIG, "file %s: pruned_heads[\"%s\"] is not an array", path, key);
    for (size_t i = 0; i < json_array_size(v); i++) {
      const json_t *h = json_array_get(v, i);
      if (!json_is_integer(h) || json_integer_value(h) < 0 || json_integer_value(h) >= cfg->heads)
        return tpa__error(TPA_ERR_CONFIG,
                          "file %s: pruned_heads[\"%s\"][%zu] is not a head index in 0..%d", path,
                          key, i, cfg->heads - 1);
      bool *slot = &pruned[(size_t)layer * (size_t)cfg->heads + (size_t)json_integer_value(h)];
      if (*slot)
        return tpa__error(TPA_ERR_CONFIG,
                          "file %s: pruned_heads[\"%s\"] lists head %lld twice (or the layer "
                          "twice)",
                          path, key, (long long)json_integer_value(h));
      *slot = true;
    }
  }
  return TPA_OK;
}

/* config.json's names for the sizes and rates: BERT's, or DistilBERT's own. */
typedef struct size_keys {
  const char *hidden, *layers, *heads, *inter, *hidden_drop, *attn_drop, *act;
} size_keys;

static const size_keys bert_keys = {"hidden_size",         "num_hidden_layers",
                                    "num_attention_heads", "intermediate_size",
                                    "hidden_dropout_prob", "attention_probs_dropout_prob",
                                    "hidden_act"};
static const size_keys distil_keys = {"dim",     "n_layers",          "n_heads",   "hidden_dim",
                                      "dropout", "attention_dropout", "activation"};

/* DistilBertConfig's attribute_map lets BERT's names stand for its own;
 * a file that gives both must give the same value. */
static tpa_status check_alias(const json_t *root, const char *path, const char *own,
                              const char *alias, int32_t value) {
  int64_t v = value;
  bool present = false;
  tpa_status st = tpa__json_get_int(root, alias, path, TPA_ERR_CONFIG, &v, &present);
  if (st == TPA_OK && present && v != value)
    st = tpa__error(TPA_ERR_CONFIG,
                    "file %s: key \"%s\" is %lld but \"%s\" is %d: inconsistent sizes", path, alias,
                    (long long)v, own, value);
  return st;
}

static tpa_status parse_sizes(const json_t *root, const char *path, tpa__config *cfg) {
  const bool distil = cfg->family == TPA__FAM_DISTILBERT;
  const size_keys *k = distil ? &distil_keys : &bert_keys;
  tpa_status st;
  if ((st = get_bounded(root, path, k->hidden, 1, TPA__CFG_MAX_HIDDEN, &cfg->hidden)) ||
      (st = get_bounded(root, path, k->layers, 1, TPA__CFG_MAX_LAYERS, &cfg->layers)) ||
      (st = get_bounded(root, path, k->heads, 1, TPA__CFG_MAX_HEADS, &cfg->heads)) ||
      (st = get_bounded(root, path, k->inter, 1, TPA__CFG_MAX_INTER, &cfg->inter)) ||
      (st = get_bounded(root, path, "vocab_size", 1, TPA__CFG_MAX_VOCAB, &cfg->vocab)) ||
      (st = get_bounded(root, path, "max_position_embeddings", 1, TPA__CFG_MAX_POS, &cfg->max_pos)))
    return st;
  if (distil && ((st = check_alias(root, path, "dim", "hidden_size", cfg->hidden)) ||
                 (st = check_alias(root, path, "n_layers", "num_hidden_layers", cfg->layers)) ||
                 (st = check_alias(root, path, "n_heads", "num_attention_heads", cfg->heads))))
    return st;
  if (tpa__family_get(cfg->family)->token_types &&
      (st = get_bounded(root, path, "type_vocab_size", 1, TPA__CFG_MAX_TYPES, &cfg->type_vocab)))
    return st;
  if (cfg->family != TPA__FAM_ELECTRA)
    cfg->emb = cfg->hidden;
  else if ((st = get_bounded(root, path, "embedding_size", 1, TPA__CFG_MAX_HIDDEN, &cfg->emb)))
    return st;
  if (cfg->hidden % cfg->heads != 0)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"%s\" (%d) is not a multiple of \"%s\" (%d)",
                      path, k->hidden, cfg->hidden, k->heads, cfg->heads);
  cfg->head_dim = cfg->hidden / cfg->heads;
  /* DistilBERT's LayerNorms have a fixed eps (1e-12); no key sets it. */
  if ((!distil && (st = get_real(root, path, "layer_norm_eps", 0.0, 1.0, true, &cfg->ln_eps))) ||
      (st = get_real(root, path, k->hidden_drop, 0.0, 1.0, false, &cfg->hidden_dropout)) ||
      (st = get_real(root, path, k->attn_drop, 0.0, 1.0, false, &cfg->attn_dropout)))
    return st;
  /* The head's dropout: DistilBERT's seq_classif_dropout, else
   * classifier_dropout, whose null (the default) means hidden dropout. */
  cfg->cls_dropout = distil ? 0.2 : cfg->hidden_dropout;
  const char *cls_key = distil ? "seq_classif_dropout" : "classifier_dropout";
  return get_real(root, path, cls_key, 0.0, 1.0, false, &cfg->cls_dropout);
}

/* pad_token_id: RoBERTa's position ids start after it, so it must leave
 * room in the position table; max_seq is what the table then covers. */
static tpa_status parse_positions(const json_t *root, const char *path, tpa__config *cfg) {
  tpa_status st = get_bounded(root, path, "pad_token_id", 0, cfg->vocab - 1, &cfg->pad_id);
  if (st != TPA_OK)
    return st;
  cfg->max_seq = cfg->max_pos;
  if (!tpa__family_get(cfg->family)->pad_positions)
    return TPA_OK;
  if (cfg->pad_id + 1 >= cfg->max_pos)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: key \"max_position_embeddings\" (%d) leaves no position after "
                      "\"pad_token_id\" (%d), where %s's positions start",
                      path, cfg->max_pos, cfg->pad_id, tpa__family_get(cfg->family)->model_type);
  cfg->max_seq = cfg->max_pos - cfg->pad_id - 1;
  return TPA_OK;
}

/* Labels and problem type: id2label wins over num_labels, as in HF. */
static tpa_status parse_labels(const json_t *root, const char *path, tpa__config *cfg) {
  const json_t *id2label = NULL;
  tpa_status st =
      tpa__json_get_typed(root, "id2label", path, TPA_ERR_CONFIG, JSON_OBJECT, &id2label, NULL);
  if (st != TPA_OK)
    return st;
  if (id2label) {
    st = parse_id2label(id2label, path, cfg);
  } else {
    int32_t n = 2;
    st = get_bounded(root, path, "num_labels", 1, TPA__CFG_MAX_LABELS, &n);
    if (st == TPA_OK)
      st = tpa__config_set_num_labels(cfg, n);
  }
  if (st != TPA_OK)
    return st;
  const char *problem = NULL;
  st = tpa__json_get_string(root, "problem_type", path, TPA_ERR_CONFIG, &problem, NULL);
  if (st != TPA_OK)
    return st;
  cfg->regression = cfg->num_labels == 1;
  if (problem && strcmp(problem, "regression") == 0) {
    if (cfg->num_labels != 1)
      return tpa__error(TPA_ERR_UNSUPPORTED,
                        "file %s: problem_type \"regression\" with %d labels; only 1 is supported",
                        path, cfg->num_labels);
  } else if (problem && strcmp(problem, "single_label_classification") != 0) {
    return tpa__error(TPA_ERR_UNSUPPORTED, "file %s: problem_type \"%s\" is not supported", path,
                      problem);
  }
  return TPA_OK;
}

/* HF's config defaults of each family (BertConfig, RobertaConfig,
 * XLMRobertaConfig, DistilBertConfig, ElectraConfig). */
static tpa__config family_defaults(tpa__family f) {
  tpa__config c = {.family = f,
                   .hidden = 768,
                   .layers = 12,
                   .heads = 12,
                   .inter = 3072,
                   .vocab = 30522,
                   .max_pos = 512,
                   .type_vocab = 2,
                   .ln_eps = 1e-12,
                   .hidden_dropout = 0.1,
                   .attn_dropout = 0.1,
                   .lower_case = true};
  switch (f) {
  case TPA__FAM_ROBERTA:
    c.vocab = 50265;
    c.pad_id = 1;
    break;
  case TPA__FAM_XLMR: c.pad_id = 1; break;
  case TPA__FAM_DISTILBERT:
    c.layers = 6;
    c.type_vocab = 0;
    break;
  case TPA__FAM_ELECTRA:
    c.emb = 128;
    c.hidden = 256;
    c.heads = 4;
    c.inter = 1024;
    break;
  default: break;
  }
  return c;
}

/* model_type picks the family; a config without one is BERT's, as
 * libtpa has always read it. */
static tpa_status parse_family(const json_t *root, const char *path, tpa__family *f) {
  const char *type = NULL;
  tpa_status st = tpa__json_get_string(root, "model_type", path, TPA_ERR_CONFIG, &type, NULL);
  if (st != TPA_OK)
    return st;
  *f = TPA__FAM_BERT;
  if (type && !tpa__family_find(type, f))
    return tpa__error(TPA_ERR_UNSUPPORTED,
                      "file %s: model_type \"%.64s\" is not supported; supported: %s", path, type,
                      tpa__family_list());
  return TPA_OK;
}

/* libtpa's "intermediate_sizes": one width per layer, each 1..the
 * intermediate size, the widest equal to it (a model whose layers kept
 * different numbers of neurons, docs/formats.md). */
static tpa_status parse_inter_layers(const json_t *root, const char *path, tpa__config *cfg) {
  const json_t *list = NULL;
  tpa_status st = tpa__json_get_typed(root, "intermediate_sizes", path, TPA_ERR_CONFIG, JSON_ARRAY,
                                      &list, NULL);
  if (st != TPA_OK || !list)
    return st;
  if (json_array_size(list) != (size_t)cfg->layers)
    return tpa__error(TPA_ERR_CONFIG, "file %s: key \"intermediate_sizes\" must list %d layers",
                      path, cfg->layers);
  cfg->inter_layers = tpa__calloc((size_t)cfg->layers, sizeof *cfg->inter_layers);
  if (!cfg->inter_layers)
    return TPA__NO_MEMORY("intermediate sizes");
  int32_t widest = 0;
  for (int32_t l = 0; l < cfg->layers; l++) {
    const json_t *v = json_array_get(list, (size_t)l);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > cfg->inter)
      return tpa__error(TPA_ERR_CONFIG,
                        "file %s: \"intermediate_sizes\"[%d] is not a width in 1..%d "
                        "(intermediate_size)",
                        path, l, cfg->inter);
    cfg->inter_layers[l] = (int32_t)json_integer_value(v);
    widest = cfg->inter_layers[l] > widest ? cfg->inter_layers[l] : widest;
  }
  if (widest != cfg->inter)
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: the widest of \"intermediate_sizes\" is %d, but intermediate_size "
                      "is %d: inconsistent sizes",
                      path, widest, cfg->inter);
  return TPA_OK;
}

/* libtpa's "quantization_config" (docs/quantization.md): absent for an
 * f32 model; otherwise quant_method "libtpa_int8", bits 8 and the
 * activation scheme. */
static tpa_status parse_quant(const json_t *root, const char *path, tpa__config *cfg) {
  const json_t *q = NULL;
  tpa_status st =
      tpa__json_get_typed(root, "quantization_config", path, TPA_ERR_CONFIG, JSON_OBJECT, &q, NULL);
  if (st != TPA_OK || !q)
    return st;
  const json_t *method = json_object_get(q, "quant_method");
  if (!json_is_string(method))
    return tpa__error(TPA_ERR_CONFIG, "file %s: quantization_config has no string \"quant_method\"",
                      path);
  if (strcmp(json_string_value(method), TPA__QUANT_METHOD) != 0)
    return tpa__error(TPA_ERR_UNSUPPORTED,
                      "file %s: quantization_config quant_method \"%.64s\" is not supported; "
                      "supported: %s",
                      path, json_string_value(method), TPA__QUANT_METHOD);
  const json_t *bits = json_object_get(q, "bits");
  if (bits && (!json_is_integer(bits) || json_integer_value(bits) != 8))
    return tpa__error(TPA_ERR_UNSUPPORTED, "file %s: quantization_config \"bits\" must be 8 for %s",
                      path, TPA__QUANT_METHOD);
  const json_t *act = json_object_get(q, "activations");
  const char *a = json_is_string(act) ? json_string_value(act) : "";
  if (strcmp(a, "dynamic") == 0)
    cfg->quant = TPA__QUANT_DYNAMIC;
  else if (strcmp(a, "static") == 0)
    cfg->quant = TPA__QUANT_STATIC;
  else
    return tpa__error(TPA_ERR_CONFIG,
                      "file %s: quantization_config \"activations\" must be \"dynamic\" or "
                      "\"static\"",
                      path);
  return TPA_OK;
}

tpa_status tpa__config_parse(const json_t *root, const char *path, tpa__config *cfg,
                             bool **pruned) {
  *pruned = NULL;
  tpa__family family;
  tpa_status st = parse_family(root, path, &family);
  if (st != TPA_OK) {
    memset(cfg, 0, sizeof *cfg);
    return st;
  }
  *cfg = family_defaults(family);
  const bool distil = family == TPA__FAM_DISTILBERT;
  bool *table = NULL;
  const json_t *map = NULL;
  if ((st = require_string(root, path, distil ? "activation" : "hidden_act", "gelu")) ||
      (!distil && (st = require_string(root, path, "position_embedding_type", "absolute"))) ||
      (st = parse_sizes(root, path, cfg)) || (st = parse_positions(root, path, cfg)) ||
      (st = parse_labels(root, path, cfg)) || (st = parse_inter_layers(root, path, cfg)) ||
      (st = parse_quant(root, path, cfg)))
    goto fail;
  table = tpa__calloc((size_t)cfg->layers * (size_t)cfg->heads, sizeof *table);
  if (!table) {
    st = TPA__NO_MEMORY("pruned heads");
    goto fail;
  }
  st = tpa__json_get_typed(root, "pruned_heads", path, TPA_ERR_CONFIG, JSON_OBJECT, &map, NULL);
  if (st == TPA_OK && map)
    st = parse_pruned(map, path, cfg, table);
  if (st != TPA_OK) {
    free(table);
    goto fail;
  }
  *pruned = table;
  cfg->raw = json_incref((json_t *)root);
  return TPA_OK;
fail:
  tpa__config_free(cfg);
  return st;
}

tpa_status tpa__config_load(const char *dir, tpa__config *cfg, bool **pruned) {
  memset(cfg, 0, sizeof *cfg);
  *pruned = NULL;
  char *path = tpa__path_join(dir, "config.json");
  char *tpath = tpa__path_join(dir, "tokenizer_config.json");
  json_t *root = NULL, *troot = NULL;
  tpa_status st = !path || !tpath ? TPA__NO_MEMORY("path") : TPA_OK;
  if (st == TPA_OK)
    st = tpa__json_load_file(path, &root);
  if (st == TPA_OK)
    st = tpa__config_parse(root, path, cfg, pruned);
  if (st == TPA_OK && tpa__file_exists(tpath)) {
    st = tpa__json_load_file(tpath, &troot);
    if (st == TPA_OK)
      st =
          tpa__json_get_bool(troot, "do_lower_case", tpath, TPA_ERR_CONFIG, &cfg->lower_case, NULL);
    if (st == TPA_OK)
      cfg->raw_tok = json_incref(troot);
    if (st != TPA_OK) {
      tpa__config_free(cfg);
      free(*pruned);
      *pruned = NULL;
    }
  }
  json_decref(root);
  json_decref(troot);
  free(path);
  free(tpath);
  return st;
}

const char *tpa__config_inter_key(tpa__family family) {
  return family == TPA__FAM_DISTILBERT ? distil_keys.inter : bert_keys.inter;
}
