/* SPDX-License-Identifier: Apache-2.0 */
/* The public tokenizer handle: loading, vocabulary accessors, tokenize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tokenizer.h"

/* Special tokens HF matches verbatim in the raw text, when the vocab has
 * them (bert-base-uncased's tokenizer.json lists these as added tokens). */
static const char *const special_names[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

TPA_API tpa_status tpa_tokenizer_load(tpa_tokenizer **out, const char *vocab_path,
                                      bool lower_case) {
  tpa__error_clear();
  if (!out || !vocab_path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_tokenizer_load: NULL %s",
                      out ? "vocab_path" : "out");
  *out = NULL;
  tpa_tokenizer *tok = calloc(1, sizeof *tok);
  if (!tok)
    return TPA__NO_MEMORY("tokenizer");
  tpa_status st = tpa__vocab_load(&tok->vocab, vocab_path);
  if (st != TPA_OK) {
    free(tok);
    return st;
  }
  tok->lower = lower_case;
  const tpa__vocab *v = &tok->vocab;
  tok->pad = tpa__vocab_find(v, false, "[PAD]", 5);
  tok->unk = tpa__vocab_find(v, false, "[UNK]", 5);
  tok->cls = tpa__vocab_find(v, false, "[CLS]", 5);
  tok->sep = tpa__vocab_find(v, false, "[SEP]", 5);
  if (tok->pad < 0 || tok->unk < 0 || tok->cls < 0 || tok->sep < 0) {
    char missing[64] = "";
    const int32_t ids[] = {tok->cls, tok->sep, tok->unk, tok->pad};
    const char *names[] = {"[CLS]", "[SEP]", "[UNK]", "[PAD]"};
    for (size_t i = 0; i < 4; i++) {
      if (ids[i] < 0) {
        strcat(missing, *missing ? ", " : "");
        strcat(missing, names[i]);
      }
    }
    tpa_tokenizer_free(tok);
    return tpa__error(TPA_ERR_VOCAB, "vocab %s: missing %s", vocab_path, missing);
  }
  for (size_t i = 0; i < sizeof special_names / sizeof *special_names; i++) {
    size_t len = strlen(special_names[i]);
    int32_t id = tpa__vocab_find(v, false, special_names[i], len);
    if (id >= 0)
      tok->special[tok->n_special++] = (tpa__special){special_names[i], len, id};
  }
  *out = tok;
  return TPA_OK;
}

TPA_API tpa_status tpa_tokenizer_load_json(tpa_tokenizer **out, const char *path) {
  tpa__error_clear();
  if (!out || !path)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_tokenizer_load_json: NULL %s",
                      out ? "path" : "out");
  *out = NULL;
  tpa_tokenizer *tok = calloc(1, sizeof *tok);
  if (!tok)
    return TPA__NO_MEMORY("tokenizer");
  tpa_status st = tpa__tjt_load(path, &tok->tj);
  if (st != TPA_OK) {
    free(tok);
    return st;
  }
  *out = tok;
  return TPA_OK;
}

tpa_status tpa__tokenizer_load_bpe_files(tpa_tokenizer **out, const char *vocab_json,
                                         const char *merges_txt) {
  *out = NULL;
  tpa_tokenizer *tok = calloc(1, sizeof *tok);
  if (!tok)
    return TPA__NO_MEMORY("tokenizer");
  tpa_status st = tpa__tjt_load_bpe_files(vocab_json, merges_txt, &tok->tj);
  if (st != TPA_OK) {
    free(tok);
    return st;
  }
  *out = tok;
  return TPA_OK;
}

const char *tpa__tokenizer_json_source(const tpa_tokenizer *tok, size_t *len) {
  *len = 0;
  return tok && tok->tj ? tpa__tjt_source(tok->tj, len) : NULL;
}

TPA_API void tpa_tokenizer_free(tpa_tokenizer *tok) {
  if (!tok)
    return;
  tpa__tjt_free(tok->tj);
  tpa__vocab_free(&tok->vocab);
  free(tok);
}

TPA_API size_t tpa_tokenizer_vocab_size(const tpa_tokenizer *tok) {
  if (tok && tok->tj)
    return tpa__tjt_vocab_size(tok->tj);
  return tok ? tok->vocab.n : 0;
}

TPA_API int32_t tpa_tokenizer_token_id(const tpa_tokenizer *tok, const char *token) {
  if (!tok || !token)
    return -1;
  if (tok->tj)
    return tpa__tjt_token_id(tok->tj, token, strlen(token));
  return tpa__vocab_find(&tok->vocab, false, token, strlen(token));
}

TPA_API const char *tpa_tokenizer_token(const tpa_tokenizer *tok, int32_t id) {
  if (tok && tok->tj)
    return id < 0 ? NULL : tpa__tjt_token(tok->tj, id);
  if (!tok || id < 0 || (size_t)id >= tok->vocab.n)
    return NULL;
  return tpa__vocab_token(&tok->vocab, (size_t)id);
}

TPA_API const char *tpa_tokenizer_describe(const tpa_tokenizer *tok) {
  if (!tok)
    return NULL;
  if (tok->tj)
    return tpa__tjt_describe(tok->tj);
  return tok->lower ? "WordPiece (vocab.txt); BertNormalizer lowercase, BertPreTokenizer, "
                      "BertProcessing"
                    : "WordPiece (vocab.txt); BertNormalizer, BertPreTokenizer, BertProcessing";
}

TPA_API tpa_status tpa_tokenizer_tokenize(const tpa_tokenizer *tok, const char *text, int32_t *ids,
                                          size_t cap, size_t *n) {
  tpa__error_clear();
  if (n)
    *n = 0;
  if (!tok || !text || !n || (!ids && cap))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_tokenizer_tokenize: NULL %s",
                      !tok    ? "tokenizer"
                      : !text ? "text"
                      : !n    ? "n"
                              : "ids with cap > 0");
  if (tok->tj) {
    tpa__idvec v = {0};
    tpa_status st = tpa__tjt_tokenize(tok->tj, text, &v);
    if (st == TPA_OK) {
      /* As the vocab.txt path: the first min(count, cap) ids are stored. */
      *n = v.n;
      const size_t k = v.n < cap ? v.n : cap;
      if (k)
        memcpy(ids, v.v, k * sizeof *ids);
      if (v.n > cap && ids) /* a size query (NULL, 0) is TPA_OK */
        st = tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                        "tpa_tokenizer_tokenize: %zu ids do not fit a buffer of %zu", v.n, cap);
    }
    tpa__idvec_free(&v);
    return st;
  }
  tpa__ids out = {ids, cap, 0, 0};
  tpa_status st = tpa__tokenize(tok, text, &out);
  if (st != TPA_OK)
    return st;
  *n = out.n;
  if (out.n > cap && ids) /* a size query (NULL, 0) is TPA_OK */
    return tpa__error(TPA_ERR_BUFFER_TOO_SMALL,
                      "tpa_tokenizer_tokenize: %zu ids do not fit a buffer of %zu", out.n, cap);
  return TPA_OK;
}
