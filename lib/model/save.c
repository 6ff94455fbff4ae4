/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_save: a model as the HF directory BertForSequenceClassification
 * .save_pretrained() writes (config.json, model.safetensors, vocab.txt,
 * tokenizer_config.json), each file atomically, so HF transformers 4.x and
 * tpa_model_load() both read it back. tpa_model_save_dense writes the same
 * directory with every layer at its original width: pruned heads' rows and
 * columns are zeros and config.json has no pruned_heads. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "model/tensors.h"
#include "tpa/tokenizer.h"

/* The version of transformers whose BertConfig layout we write (the one
 * the fixtures' config.json files came from); HF only warns when a config
 * is newer than the installed library. */
#define HF_VERSION "4.30.2"

/* True when "%.15g" of @p v reads back as exactly @p v. */
static bool short_exact(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.15g", v);
  return strtod(buf, NULL) == v;
}

/* @p root as HF writes JSON (indent 2, sorted keys, final newline) to
 * dir/name. Reals get 15 significant digits (1e-12, not
 * 9.9999999999999998e-13) unless one of @p reals needs 17 to read back
 * exactly. */
static tpa_status write_json(const char *dir, const char *name, json_t *root, const double *reals,
                             size_t n_reals) {
  int prec = 15;
  for (size_t i = 0; i < n_reals; i++)
    if (!short_exact(reals[i]))
      prec = 17;
  return tpa__json_save(dir, name, root,
                        JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec));
}

/* obj[key] = value; jansson takes @p value's reference even when it fails
 * (and a NULL value, from a failed allocation, gives false). */
static bool put(json_t *obj, const char *key, json_t *value) {
  return value && json_object_set_new(obj, key, value) == 0;
}

/* The heads a layer keeps, for config.json's pruned_heads. */
static const int32_t *model_kept_heads(const void *ctx, int32_t layer, int32_t *n_kept) {
  const tpa__layer *ly = &((const tpa_model *)ctx)->w.layer[layer];
  *n_kept = ly->n_heads;
  return ly->head_ids;
}

/* BERT's config.json written from the parsed values, as libtpa always has. */
static json_t *bert_config(const tpa__config *c) {
  json_t *root = json_object();
  bool ok = root && put(root, "model_type", json_string("bert")) &&
            put(root, "hidden_act", json_string("gelu")) &&
            put(root, "hidden_size", json_integer(c->hidden)) &&
            put(root, "num_hidden_layers", json_integer(c->layers)) &&
            put(root, "num_attention_heads", json_integer(c->heads)) &&
            put(root, "intermediate_size", json_integer(c->inter)) &&
            put(root, "vocab_size", json_integer(c->vocab)) &&
            put(root, "max_position_embeddings", json_integer(c->max_pos)) &&
            put(root, "type_vocab_size", json_integer(c->type_vocab)) &&
            put(root, "layer_norm_eps", json_real(c->ln_eps)) &&
            put(root, "hidden_dropout_prob", json_real(c->hidden_dropout)) &&
            put(root, "attention_probs_dropout_prob", json_real(c->attn_dropout)) &&
            put(root, "classifier_dropout", json_null()) &&
            put(root, "position_embedding_type", json_string("absolute")) &&
            put(root, "initializer_range", json_real(0.02)) &&
            put(root, "pad_token_id", json_integer(0)) && put(root, "use_cache", json_true()) &&
            put(root, "transformers_version", json_string(HF_VERSION));
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

/* config.json; @p dense leaves pruned_heads out (the weights are full
 * size). BERT's is written from the parsed values; another family's is
 * the file it was loaded with (every key its HF config class wrote) with
 * what libtpa changes set: the architecture, the labels, the problem
 * type, the pruned heads and the dtype. */
static tpa_status write_config(const tpa_model *m, const char *dir, bool dense) {
  const tpa__config *c = &m->cfg;
  const tpa__family_desc *f = tpa__family_get(c->family);
  json_t *root = c->family == TPA__FAM_BERT || !c->raw ? bert_config(c) : json_deep_copy(c->raw);
  if (root && c->family != TPA__FAM_BERT && !c->raw)
    json_object_set_new(root, "model_type", json_string(f->model_type));
  json_t *arch = json_array(), *id2label = json_object(), *label2id = json_object();
  bool ok = root && arch && id2label && label2id &&
            json_array_append_new(arch, json_string(f->architecture)) == 0;
  for (int32_t i = 0; ok && i < c->num_labels; i++) {
    char key[16];
    snprintf(key, sizeof key, "%d", i);
    ok = put(id2label, key, json_string(c->id2label[i])) &&
         put(label2id, c->id2label[i], json_integer(i));
  }
  if (ok) {
    ok = put(root, "architectures", arch);
    arch = NULL;
  }
  if (ok) {
    ok = put(root, "id2label", id2label);
    id2label = NULL;
  }
  if (ok) {
    ok = put(root, "label2id", label2id);
    label2id = NULL;
  }
  json_decref(arch);
  json_decref(id2label);
  json_decref(label2id);
  /* HF writes the problem type once training has seen the labels. */
  ok = ok && put(root, "torch_dtype", json_string("float32")) &&
       put(root, "problem_type",
           json_string(c->regression ? "regression" : "single_label_classification"));
  /* Neuron pruning changes the width of the file that was loaded; layers
   * left at different widths list theirs under libtpa's own key (the
   * dense export pads them all to intermediate_size). */
  if (ok && c->family != TPA__FAM_BERT && c->raw)
    ok = put(root, tpa__config_inter_key(c->family), json_integer(c->inter));
  bool uneven = false;
  for (int32_t l = 0; !dense && l < c->layers; l++)
    uneven = uneven || m->w.layer[l].inter != c->inter;
  if (ok)
    json_object_del(root, "intermediate_sizes");
  if (ok && uneven) {
    json_t *list = json_array();
    for (int32_t l = 0; list && l < c->layers; l++)
      if (json_array_append_new(list, json_integer(m->w.layer[l].inter)) != 0) {
        json_decref(list);
        list = NULL;
      }
    ok = put(root, "intermediate_sizes", list);
  }
  if (ok) { /* id2label says it; a stale count would contradict it */
    json_object_del(root, "num_labels");
    json_object_del(root, "pruned_heads");
  }
  bool pruned = false;
  for (int32_t l = 0; !dense && l < c->layers; l++)
    pruned = pruned || m->w.layer[l].n_heads != c->heads;
  if (ok && pruned)
    ok = put(root, "pruned_heads",
             tpa__json_pruned_heads(m->cfg.layers, m->cfg.heads, model_kept_heads, m));
  if (ok)
    json_object_del(root, "quantization_config");
  if (ok && c->quant != TPA__QUANT_NONE) {
    json_t *q = json_object();
    ok = q && put(q, "quant_method", json_string(TPA__QUANT_METHOD)) &&
         put(q, "bits", json_integer(8)) &&
         put(q, "weights", json_string("symmetric_per_channel")) &&
         put(q, "activations", json_string(c->quant == TPA__QUANT_STATIC ? "static" : "dynamic"));
    if (ok)
      ok = put(root, "quantization_config", q);
    else
      json_decref(q);
  }
  tpa_status st = ok ? TPA_OK : TPA__NO_MEMORY("config.json");
  const double reals[] = {c->ln_eps, c->hidden_dropout, c->attn_dropout, 0.02};
  if (st == TPA_OK)
    st = write_json(dir, "config.json", root, reals, sizeof reals / sizeof reals[0]);
  json_decref(root);
  return st;
}

static tpa_status write_tokenizer_config(const tpa_model *m, const char *dir) {
  /* Another family's tokenizer_config.json goes out as it came in (its
   * special tokens and tokenizer class are the family's own). */
  const tpa__family_desc *f = tpa__family_get(m->cfg.family);
  if (m->cfg.family != TPA__FAM_BERT && m->cfg.raw_tok)
    return write_json(dir, "tokenizer_config.json", m->cfg.raw_tok, NULL, 0);
  json_t *root = json_object();
  bool ok = root && put(root, "model_max_length", json_integer(m->cfg.max_seq)) &&
            put(root, "tokenizer_class", json_string(f->tokenizer));
  /* RoBERTa's special tokens live in its tokenizer.json; a WordPiece
   * family's are BERT's. */
  ok = ok && (f->pad_positions || (put(root, "do_lower_case", json_boolean(m->cfg.lower_case)) &&
                                   put(root, "unk_token", json_string("[UNK]")) &&
                                   put(root, "sep_token", json_string("[SEP]")) &&
                                   put(root, "pad_token", json_string("[PAD]")) &&
                                   put(root, "cls_token", json_string("[CLS]")) &&
                                   put(root, "mask_token", json_string("[MASK]")) &&
                                   put(root, "tokenize_chinese_chars", json_true()) &&
                                   put(root, "strip_accents", json_null())));
  tpa_status st = ok ? write_json(dir, "tokenizer_config.json", root, NULL, 0)
                     : TPA__NO_MEMORY("tokenizer_config.json");
  json_decref(root);
  return st;
}

/* vocab.txt: token of id i on line i; or the tokenizer.json the model
 * was loaded with, unchanged (a BPE or Unigram vocabulary has no
 * vocab.txt form). */
static tpa_status write_vocab(const tpa_model *m, const char *dir) {
  size_t json_len = 0;
  const char *json = tpa__tokenizer_json_source(m->tok, &json_len);
  if (json)
    return tpa__atomic_write_file(dir, "tokenizer.json", json, json_len);
  size_t n = tpa_tokenizer_vocab_size(m->tok), len = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    const char *t = tpa_tokenizer_token(m->tok, (int32_t)i);
    if (!t)
      return tpa__error(TPA_ERR_INTERNAL, "vocab.txt: token %zu has no text", i);
    cap += strlen(t) + 1;
  }
  char *buf = malloc(cap ? cap : 1);
  if (!buf)
    return TPA__NO_MEMORY("vocab.txt");
  for (size_t i = 0; i < n; i++) {
    const char *t = tpa_tokenizer_token(m->tok, (int32_t)i);
    size_t k = strlen(t);
    memcpy(buf + len, t, k);
    buf[len + k] = '\n';
    len += k + 1;
  }
  tpa_status st = tpa__atomic_write_file(dir, "vocab.txt", buf, len);
  free(buf);
  return st;
}

/* model.safetensors from the table @p w (layer widths from its n_heads):
 * F32, HF names with the "bert." prefix, metadata {"format": "pt"}
 * (transformers refuses safetensors files without it). */
static tpa_status write_weights(const tpa__config *c, const tpa__weights *weights,
                                const char *dir) {
  tpa__weights w = *weights; /* the list points into this copy; we only read */
  size_t n = tpa__model_tensors(c, &w, NULL, 0);
  tpa__named_tensor *t = tpa__calloc(n, sizeof *t);
  tpa__st_out *o = tpa__calloc(n, sizeof *o);
  char *path = tpa__path_join(dir, "model.safetensors");
  tpa_status st = TPA_OK;
  if (!t || !o || !path)
    st = TPA__NO_MEMORY("model.safetensors");
  if (st == TPA_OK) {
    tpa__model_tensors(c, &w, t, n);
    for (size_t i = 0; i < n; i++)
      o[i] = t[i].i8 ? (tpa__st_out){.name = t[i].name,
                                     .dtype = TPA__DT_I8,
                                     .ndim = t[i].ndims,
                                     .shape = t[i].dims,
                                     .raw = *t[i].i8}
                     : (tpa__st_out){.name = t[i].name,
                                     .dtype = TPA__DT_F32,
                                     .ndim = t[i].ndims,
                                     .shape = t[i].dims,
                                     .f32 = *t[i].ptr};
    const char *const mk[] = {"format"}, *const mv[] = {"pt"};
    st = tpa__st_write(path, o, n, mk, mv, 1);
  }
  free(path);
  free(o);
  free(t);
  return st;
}

/* The dense table of a pruned model: the model's, with each pruned
 * layer's attention tensors at full width in one zeroed block of
 * blocks[layers] owned by the caller (NULL for layers kept whole), and a
 * layer narrower than intermediate_size padded with zero neurons in
 * blocks[layers + l]. A kept head
 * k (ORIGINAL id h) moves from rows k*d.. of Q/K/V (and their biases) to
 * rows h*d.., and from columns k*d.. of the output dense to columns
 * h*d..; the rest stays zero. A removed head then contributes exactly
 * nothing: its zero query and key rows give uniform attention, but its
 * zero value rows AND zero value bias make its context vector 0, and the
 * output dense's zero columns for it add 0 (the output bias is the
 * layer's, unchanged). So the dense model's logits equal the compact
 * model's up to summation order. */
static tpa_status dense_weights(const tpa_model *m, const tpa__weights *base, tpa__weights *w,
                                tpa__layer *layers, float **blocks) {
  const tpa__config *c = &m->cfg;
  size_t H = (size_t)c->hidden, d = (size_t)c->head_dim, A = (size_t)c->heads * d;
  *w = *base;
  w->layer = layers;
  for (int32_t l = 0; l < c->layers; l++) {
    const tpa__layer *src = &base->layer[l];
    layers[l] = *src;
    blocks[l] = blocks[c->layers + l] = NULL;
    if (src->inter != c->inter) {
      /* A layer narrower than intermediate_size: its neurons first, then
       * zero ones (zero output.dense columns add nothing, whatever their
       * activation). */
      const size_t I = (size_t)c->inter, K = (size_t)src->inter;
      float *f = tpa__calloc(2 * I * H + I, sizeof *f);
      if (!f)
        return TPA__NO_MEMORY("dense weights");
      blocks[c->layers + l] = f;
      float *iw = f, *ib = iw + I * H, *fw = ib + I;
      memcpy(iw, src->i_w, K * H * sizeof *f);
      memcpy(ib, src->i_b, K * sizeof *f);
      for (size_t r = 0; r < H; r++)
        memcpy(fw + r * I, src->f_w + r * K, K * sizeof *f);
      layers[l].i_w = iw;
      layers[l].i_b = ib;
      layers[l].f_w = fw;
      layers[l].inter = c->inter;
    }
    if (src->n_heads == c->heads)
      continue;
    /* Q, K, V and O weights [A * H] each, Q, K, V biases [A] each; the
     * sizes were checked against the file when the model was loaded. */
    float *b = tpa__calloc(4 * A * H + 3 * A, sizeof *b);
    if (!b)
      return TPA__NO_MEMORY("dense weights");
    blocks[l] = b;
    float *qw = b, *kw = qw + A * H, *vw = kw + A * H, *ow = vw + A * H;
    float *qb = ow + A * H, *kb = qb + A, *vb = kb + A;
    for (int32_t k = 0; k < src->n_heads; k++) {
      size_t from = (size_t)k * d, to = (size_t)src->head_ids[k] * d;
      memcpy(qw + to * H, src->q_w + from * H, d * H * sizeof *b);
      memcpy(kw + to * H, src->k_w + from * H, d * H * sizeof *b);
      memcpy(vw + to * H, src->v_w + from * H, d * H * sizeof *b);
      memcpy(qb + to, src->q_b + from, d * sizeof *b);
      memcpy(kb + to, src->k_b + from, d * sizeof *b);
      memcpy(vb + to, src->v_b + from, d * sizeof *b);
      size_t a = (size_t)src->n_heads * d; /* compact O is [H, a] */
      for (size_t r = 0; r < H; r++)
        memcpy(ow + r * A + to, src->o_w + r * a + from, d * sizeof *b);
    }
    tpa__layer *ly = &layers[l];
    ly->n_heads = c->heads; /* head_ids is not read by the tensor list */
    ly->q_w = qw;
    ly->k_w = kw;
    ly->v_w = vw;
    ly->o_w = ow;
    ly->q_b = qb;
    ly->k_b = kb;
    ly->v_b = vb;
  }
  return TPA_OK;
}

/* Write the four files with the weights of @p w. */
static tpa_status save_dir(const tpa_model *m, const tpa__weights *w, const char *dir, bool dense) {
  /* Staged next to @p dir and swapped in whole (io/file.h): after a crash
   * @p dir is the old model or the new one, never a mix. */
  tpa__dir_writer dw;
  tpa_status st = tpa__dir_begin(&dw, dir);
  if (st == TPA_OK &&
      !((st = write_weights(&m->cfg, w, dw.stage)) || (st = write_vocab(m, dw.stage)) ||
        (st = write_tokenizer_config(m, dw.stage)) || (st = write_config(m, dw.stage, dense))))
    st = tpa__dir_commit(&dw);
  tpa__dir_abort(&dw);
  if (st != TPA_OK)
    return tpa__error_prefix(st, "saving the model to %s", dir);
  return TPA_OK;
}

TPA_API tpa_status tpa_model_save(const tpa_model *model, const char *dir) {
  tpa__error_clear();
  if (!model || !dir || !*dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_save: NULL model or empty dir");
  tpa__plain p; /* block matrices that live only packed, unpacked for the call */
  tpa_status st = tpa__model_plain(model, &p);
  if (st == TPA_OK)
    st = save_dir(model, &p.w, dir, false);
  else
    st = tpa__error_prefix(st, "saving the model to %s", dir);
  tpa__plain_free(&p);
  return st;
}

TPA_API tpa_status tpa_model_save_dense(const tpa_model *model, const char *dir) {
  tpa__error_clear();
  if (!model || !dir || !*dir)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_save_dense: NULL model or empty dir");
  tpa_status qs = tpa__model_require_f32(model, "tpa_model_save_dense");
  if (qs != TPA_OK)
    return qs;
  size_t L = (size_t)model->cfg.layers;
  tpa__layer *layers = tpa__calloc(L, sizeof *layers);
  float **blocks = tpa__calloc(2 * L, sizeof *blocks); /* heads, then FFN */
  tpa__weights w;
  tpa__plain p = {0};
  tpa_status st = layers && blocks ? tpa__model_plain(model, &p) : TPA__NO_MEMORY("dense weights");
  if (st == TPA_OK)
    st = dense_weights(model, &p.w, &w, layers, blocks);
  if (st == TPA_OK)
    st = save_dir(model, &w, dir, true);
  else
    st = tpa__error_prefix(st, "saving the model to %s", dir);
  tpa__plain_free(&p);
  for (size_t l = 0; blocks && l < 2 * L; l++)
    free(blocks[l]);
  free(blocks);
  free(layers);
  return st;
}
