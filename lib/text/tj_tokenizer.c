/* SPDX-License-Identifier: Apache-2.0 */
/* A whole tokenizer.json (see tj.h): the added tokens, the components,
 * the post-processor and encode as HF's TokenizerImpl::encode does it:
 *
 *   1. added tokens with normalized=false are split off the raw text
 *      (leftmost-longest, with single_word, lstrip and rstrip);
 *   2. every other segment is normalized, then added tokens with
 *      normalized=true are split off the normalized text;
 *   3. the pre-tokenizer cuts each remaining segment into pieces and the
 *      model turns each piece into ids; with truncation, a sequence stops
 *      after the piece that brings it to max_len ids (HF's
 *      tokenize_with_limit);
 *   4. longest_first truncation to max_len minus the post-processor's
 *      special tokens, then the post-processor adds them.
 *
 * HF's added-token matching uses Rust's regex classes \w and \s; the two
 * predicates below are those (Unicode White_Space; Alphabetic, marks,
 * decimal digits, connector punctuation and the two join controls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "text/tj.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

typedef struct added {
  char *content;                /* as written */
  char *norm;                   /* normalized content (normalized=true), else NULL */
  size_t content_len, norm_len; /* matching tries every text position */
  int32_t id;
  bool single_word, lstrip, rstrip, normalized, special;
} added;

/* One item of a template: a special token's ids, or sequence A or B. */
typedef struct titem {
  int seq; /* 0 = A, 1 = B, -1 = special token */
  int32_t type_id;
  int32_t *ids; /* special token: its ids */
  size_t n_ids;
} titem;

typedef struct template {
  titem *item;
  size_t n;
}
template;

struct tpa__tjt {
  tpa__norm *norm;
  tpa__pretok *pre;
  tpa__tmodel *model;
  added *added;
  size_t n_added;
  bool has_post;         /* else: no special tokens, B gets type 1 */
  template single, pair; /* every post-processor as a template */
  size_t vocab_size;
  char describe[256];
  char *source; /* the file's bytes, written back by tpa_model_save */
  size_t source_len;
};

/* ------------------------------------------------------------------------ */
/* Rust regex classes \s and \w, for added tokens                           */

static bool is_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

static bool is_word(uint32_t c) {
  if (c == 0x200C || c == 0x200D || c == '_')
    return true;
  switch (utf8proc_category((utf8proc_int32_t)c)) {
  case UTF8PROC_CATEGORY_LU:
  case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT:
  case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO:
  case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_MN:
  case UTF8PROC_CATEGORY_MC:
  case UTF8PROC_CATEGORY_ME:
  case UTF8PROC_CATEGORY_ND:
  case UTF8PROC_CATEGORY_PC: return true;
  default: return false;
  }
}

/* The code point that ends s[0..end) (end > 0, valid UTF-8). */
static uint32_t last_char(const char *s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
    i--;
  uint32_t c = 0;
  (void)tpa__utf8_decode((const unsigned char *)s + i, end - i, &c);
  return c;
}

static uint32_t first_char(const char *s, size_t len, size_t *clen) {
  uint32_t c = 0;
  *clen = tpa__utf8_decode((const unsigned char *)s, len, &c);
  if (*clen == 0)
    *clen = 1;
  return c;
}

/* ------------------------------------------------------------------------ */
/* Splitting added tokens off a string                                       */

/* A segment of a sequence: an added token's id, or text still to
 * tokenize (normalized or not yet). */
typedef struct seg {
  int32_t id; /* -1: text */
  char *text; /* owned; NULL for a token */
  size_t len;
  bool first; /* starts at offset 0 of the original text */
} seg;

typedef struct segs {
  seg *v;
  size_t n, cap;
} segs;

static void segs_free(segs *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i].text);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static tpa_status segs_push(segs *s, int32_t id, const char *text, size_t len, bool first) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    seg *v = realloc(s->v, cap * sizeof *v);
    if (!v)
      return TPA__NO_MEMORY("segments");
    s->v = v;
    s->cap = cap;
  }
  char *copy = NULL;
  if (id < 0) {
    copy = malloc(len + 1);
    if (!copy)
      return TPA__NO_MEMORY("segments");
    memcpy(copy, text, len);
    copy[len] = '\0';
  }
  s->v[s->n++] = (seg){id, copy, len, first};
  return TPA_OK;
}

/* The longest added token of the given normalization that starts at
 * s[at]; NULL if none. */
static const added *match_at(const tpa__tjt *t, bool normalized, const char *s, size_t len,
                             size_t at, size_t *mlen) {
  const added *best = NULL;
  *mlen = 0;
  for (size_t i = 0; i < t->n_added; i++) {
    const added *a = &t->added[i];
    if (a->normalized != normalized)
      continue;
    const char *pat = normalized ? a->norm : a->content;
    const size_t pl = normalized ? a->norm_len : a->content_len;
    if (pl == 0 || pl > len - at || pl <= *mlen || memcmp(s + at, pat, pl) != 0)
      continue;
    best = a;
    *mlen = pl;
  }
  return best;
}

/* HF's find_matches over s[0..len): appends the segments to @p out. */
static tpa_status split_added(const tpa__tjt *t, bool normalized, const char *s, size_t len,
                              bool first, segs *out) {
  size_t start_offset = 0, at = 0;
  tpa_status st = TPA_OK;
  while (at < len && st == TPA_OK) {
    size_t ml;
    const added *a = match_at(t, normalized, s, len, at, &ml);
    if (!a) {
      at++;
      continue;
    }
    size_t start = at, stop = at + ml;
    at = stop; /* the search goes on after this match, kept or not */
    if (a->single_word) {
      const bool start_space = start == 0 || !is_word(last_char(s, start));
      size_t cl;
      const bool stop_space = stop == len || !is_word(first_char(s + stop, len - stop, &cl));
      if (!start_space || !stop_space)
        continue;
    }
    if (a->lstrip) {
      size_t ns = start;
      while (ns > 0 && is_space(last_char(s, ns))) {
        size_t i = ns - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
          i--;
        ns = i;
      }
      start = ns > start_offset ? ns : start_offset;
    }
    if (a->rstrip) {
      size_t cl;
      while (stop < len && is_space(first_char(s + stop, len - stop, &cl)))
        stop += cl;
      at = stop;
    }
    if (start_offset < start)
      st = segs_push(out, -1, s + start_offset, start - start_offset, first && start_offset == 0);
    if (st == TPA_OK)
      st = segs_push(out, a->id, NULL, 0, false);
    start_offset = stop;
  }
  if (st == TPA_OK && start_offset < len)
    st = segs_push(out, -1, s + start_offset, len - start_offset, first && start_offset == 0);
  return st;
}

/* Steps 1 and 2: @p text into token and normalized-text segments. */
static tpa_status extract_and_normalize(const tpa__tjt *t, const char *text, segs *out) {
  segs raw = {0};
  tpa__buf nb = {0};
  tpa_status st = split_added(t, false, text, strlen(text), true, &raw);
  for (size_t i = 0; i < raw.n && st == TPA_OK; i++) {
    const seg *r = &raw.v[i];
    if (r->id >= 0) {
      st = segs_push(out, r->id, NULL, 0, false);
      continue;
    }
    st = tpa__norm_run(t->norm, r->text, r->len, &nb);
    if (st == TPA_OK)
      st = split_added(t, true, nb.s ? nb.s : "", nb.len, r->first, out);
  }
  tpa__buf_free(&nb);
  segs_free(&raw);
  return st;
}

/* Step 3: the ids of a sequence; @p limit > 0 stops after the piece that
 * reaches it (HF's tokenize_with_limit, direction right). */
static tpa_status tokenize(const tpa__tjt *t, const char *text, size_t limit, tpa__idvec *out) {
  segs sg = {0};
  tpa__pieces pieces = {0};
  tpa_status st = extract_and_normalize(t, text, &sg);
  for (size_t i = 0; i < sg.n && st == TPA_OK; i++) {
    const seg *g = &sg.v[i];
    if (g->id >= 0) {
      st = tpa__idvec_push(out, g->id);
      continue;
    }
    st = tpa__pretok_run(t->pre, g->text, g->len, g->first, &pieces);
    bool stop = false;
    for (size_t k = 0; k < pieces.n && st == TPA_OK && !stop; k++) {
      const tpa__span sp = pieces.span[k];
      st = tpa__tmodel_encode(t->model, pieces.text.s + sp.start, sp.end - sp.start, out);
      stop = limit > 0 && out->n >= limit;
    }
    if (stop)
      break;
  }
  tpa__pieces_free(&pieces);
  segs_free(&sg);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Post-processors as templates                                              */

static void template_free(template *tp) {
  for (size_t i = 0; i < tp->n; i++)
    free(tp->item[i].ids);
  free(tp->item);
  memset(tp, 0, sizeof *tp);
}

static tpa_status template_add(template *tp, int seq, int32_t type_id, const int32_t *ids,
                               size_t n_ids) {
  titem *v = realloc(tp->item, (tp->n + 1) * sizeof *v);
  if (!v)
    return TPA__NO_MEMORY("post-processor");
  tp->item = v;
  titem *it = &tp->item[tp->n];
  *it = (titem){seq, type_id, NULL, n_ids};
  if (n_ids) {
    it->ids = tpa__malloc_array(n_ids, sizeof *it->ids);
    if (!it->ids)
      return TPA__NO_MEMORY("post-processor");
    memcpy(it->ids, ids, n_ids * sizeof *ids);
  }
  tp->n++;
  return TPA_OK;
}

static size_t template_specials(const template *tp) {
  size_t n = 0;
  for (size_t i = 0; i < tp->n; i++)
    n += tp->item[i].seq < 0 ? tp->item[i].n_ids : 0;
  return n;
}

/* ["[SEP]", 102] of BertProcessing and RobertaProcessing. */
static tpa_status pair_token(const tpa__tj_ctx *c, const json_t *obj, const char *key,
                             int32_t *id) {
  const json_t *v = json_object_get(obj, key);
  if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) ||
      !json_is_integer(json_array_get(v, 1)) || json_integer_value(json_array_get(v, 1)) < 0 ||
      json_integer_value(json_array_get(v, 1)) > INT32_MAX)
    return tpa__tj_error(c, "\"%s\" is not a [token, id] pair", key);
  *id = (int32_t)json_integer_value(json_array_get(v, 1));
  return TPA_OK;
}

static tpa_status bert_like(tpa__tjt *t, const tpa__tj_ctx *c, const json_t *j, bool roberta) {
  int32_t cls, sep;
  tpa_status st = pair_token(c, j, "cls", &cls);
  if (st == TPA_OK)
    st = pair_token(c, j, "sep", &sep);
  if (st != TPA_OK)
    return st;
  /* BERT: [CLS] A [SEP] B:1 [SEP]:1. RoBERTa: <s> A </s> </s> B </s>,
   * every type id 0 ("Roberta is weird", processors/roberta.rs). */
  const int32_t tb = roberta ? 0 : 1;
  if ((st = template_add(&t->single, -1, 0, &cls, 1)) ||
      (st = template_add(&t->single, 0, 0, 0, 0)) ||
      (st = template_add(&t->single, -1, 0, &sep, 1)) ||
      (st = template_add(&t->pair, -1, 0, &cls, 1)) || (st = template_add(&t->pair, 0, 0, 0, 0)) ||
      (st = template_add(&t->pair, -1, 0, &sep, 1)))
    return st;
  if (roberta && (st = template_add(&t->pair, -1, 0, &sep, 1)))
    return st;
  if ((st = template_add(&t->pair, 1, tb, 0, 0)) || (st = template_add(&t->pair, -1, tb, &sep, 1)))
    return st;
  return TPA_OK;
}

/* One list of TemplateProcessing ("single" or "pair"). */
static tpa_status template_list(const tpa__tj_ctx *c, const json_t *list, const json_t *specials,
                                bool pair, template *out) {
  if (!json_is_array(list))
    return tpa__tj_error(c, "is not a list of template pieces");
  size_t i;
  const json_t *it;
  bool seen[2] = {false, false};
  json_array_foreach(list, i, it) {
    tpa__tj_ctx ic;
    tpa__tj_child(c, "", (long)i, &ic);
    const json_t *sp = json_object_get(it, "SpecialToken");
    const json_t *sq = json_object_get(it, "Sequence");
    const json_t *body = sp ? sp : sq;
    long long type_id;
    const char *name;
    tpa_status st;
    if (!body || !json_is_object(body))
      return tpa__tj_error(&ic, "neither a SpecialToken nor a Sequence");
    if ((st = tpa__tj_string(&ic, body, "id", NULL, &name)) ||
        (st = tpa__tj_int(&ic, body, "type_id", 0, 0, INT32_MAX, &type_id)))
      return st;
    if (!name)
      return tpa__tj_error(&ic, "has no \"id\"");
    if (sq) {
      int seq = strcmp(name, "A") == 0 ? 0 : strcmp(name, "B") == 0 ? 1 : -1;
      if (seq < 0 || (seq == 1 && !pair))
        return tpa__tj_error(&ic, "sequence \"%s\" is not %s", name, pair ? "A or B" : "A");
      /* HF would copy a repeated sequence past max_length; the caller's
       * buffer holds max_len ids, so each sequence appears once. */
      if (seen[seq])
        return tpa__tj_error(&ic, "sequence \"%s\" appears twice in the template", name);
      seen[seq] = true;
      if ((st = template_add(out, seq, (int32_t)type_id, NULL, 0)))
        return st;
      continue;
    }
    const json_t *def = json_object_get(specials, name);
    const json_t *ids = json_object_get(def, "ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0 || json_array_size(ids) > 64)
      return tpa__tj_error(&ic, "special token \"%.40s\" is not in special_tokens with its ids",
                           name);
    int32_t v[64];
    for (size_t k = 0; k < json_array_size(ids); k++) {
      const json_t *x = json_array_get(ids, k);
      if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > INT32_MAX)
        return tpa__tj_error(&ic, "special token \"%.40s\" has an invalid id", name);
      v[k] = (int32_t)json_integer_value(x);
    }
    if ((st = template_add(out, -1, (int32_t)type_id, v, json_array_size(ids))))
      return st;
  }
  return TPA_OK;
}

static tpa_status post_parse(tpa__tjt *t, const tpa__tj_ctx *c, const json_t *j, int depth) {
  if (!j || json_is_null(j))
    return TPA_OK;
  const char *type = NULL;
  tpa_status st = tpa__tj_string(c, j, "type", NULL, &type);
  if (st != TPA_OK)
    return st;
  if (!type)
    return tpa__tj_error(c, "has no \"type\"");
  if (strcmp(type, "ByteLevel") == 0) /* offsets only: nothing for ids */
    return TPA_OK;
  if (strcmp(type, "Sequence") == 0 && depth == 0) {
    const json_t *list = json_object_get(j, "processors");
    if (!json_is_array(list))
      return tpa__tj_error(c, "\"processors\" is not a list");
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p) {
      tpa__tj_ctx pc;
      tpa__tj_child(c, "processors", (long)i, &pc);
      if ((st = post_parse(t, &pc, p, depth + 1)) != TPA_OK)
        return st;
    }
    return TPA_OK;
  }
  if (t->has_post)
    return tpa__tj_error(c, "a second post-processor that adds tokens is not supported");
  t->has_post = true;
  if (strcmp(type, "BertProcessing") == 0)
    return bert_like(t, c, j, false);
  if (strcmp(type, "RobertaProcessing") == 0)
    return bert_like(t, c, j, true);
  if (strcmp(type, "TemplateProcessing") == 0) {
    tpa__tj_ctx sc, pc;
    tpa__tj_child(c, "single", -1, &sc);
    tpa__tj_child(c, "pair", -1, &pc);
    const json_t *specials = json_object_get(j, "special_tokens");
    if ((st = template_list(&sc, json_object_get(j, "single"), specials, false, &t->single)))
      return st;
    return template_list(&pc, json_object_get(j, "pair"), specials, true, &t->pair);
  }
  return tpa__tj_error(c,
                       "post-processor type \"%.40s\" is not supported (supported: "
                       "BertProcessing, RobertaProcessing, TemplateProcessing, ByteLevel, "
                       "Sequence)",
                       type);
}

/* ------------------------------------------------------------------------ */
/* Loading                                                                   */

static tpa_status added_parse(tpa__tjt *t, const tpa__tj_ctx *c, const json_t *list) {
  if (!list || json_is_null(list))
    return TPA_OK;
  if (!json_is_array(list))
    return tpa__tj_error(c, "is not a list");
  t->added = tpa__calloc(json_array_size(list), sizeof *t->added);
  if (!t->added && json_array_size(list))
    return TPA__NO_MEMORY("added tokens");
  size_t i;
  const json_t *a;
  tpa__buf nb = {0};
  tpa_status st = TPA_OK;
  json_array_foreach(list, i, a) {
    tpa__tj_ctx ac;
    tpa__tj_child(c, "", (long)i, &ac);
    added *d = &t->added[t->n_added];
    long long id;
    const char *content;
    if ((st = tpa__tj_int(&ac, a, "id", -1, 0, INT32_MAX, &id)) ||
        (st = tpa__tj_string(&ac, a, "content", NULL, &content)) ||
        (st = tpa__tj_bool(&ac, a, "single_word", false, &d->single_word)) ||
        (st = tpa__tj_bool(&ac, a, "lstrip", false, &d->lstrip)) ||
        (st = tpa__tj_bool(&ac, a, "rstrip", false, &d->rstrip)) ||
        (st = tpa__tj_bool(&ac, a, "normalized", true, &d->normalized)) ||
        (st = tpa__tj_bool(&ac, a, "special", false, &d->special)))
      break;
    if (id < 0 || !content || !content[0]) {
      st = tpa__tj_error(&ac, "needs an \"id\" and a non-empty \"content\"");
      break;
    }
    d->id = (int32_t)id;
    if (!(d->content = tpa__strdup(content))) {
      st = TPA__NO_MEMORY("added tokens");
      break;
    }
    d->content_len = strlen(content);
    t->n_added++;
    if (d->normalized) { /* matched against normalized text: normalize it too */
      if ((st = tpa__norm_run(t->norm, content, strlen(content), &nb)) != TPA_OK)
        break;
      if (!(d->norm = tpa__strdup(nb.s ? nb.s : ""))) {
        st = TPA__NO_MEMORY("added tokens");
        break;
      }
      d->norm_len = nb.len;
    }
  }
  tpa__buf_free(&nb);
  return st;
}

static const char *type_of(const json_t *j) {
  const json_t *v = json_object_get(j, "type");
  return json_is_string(v) ? json_string_value(v) : "none";
}

/* Every component of the tokenizer object @p root (from file @p path). */
static tpa_status parse_root(tpa__tjt *t, const char *path, const json_t *root) {
  const tpa__tj_ctx top = {path, ""};
  tpa__tj_ctx nc, pc, mc, ac, oc;
  tpa__tj_child(&top, "normalizer", -1, &nc);
  tpa__tj_child(&top, "pre_tokenizer", -1, &pc);
  tpa__tj_child(&top, "model", -1, &mc);
  tpa__tj_child(&top, "added_tokens", -1, &ac);
  tpa__tj_child(&top, "post_processor", -1, &oc);
  tpa_status st = TPA_OK;
  if (!json_is_object(json_object_get(root, "model")))
    st = tpa__tj_error(&mc, "missing (every tokenizer.json has a model)");
  if (st == TPA_OK)
    st = tpa__norm_parse(&nc, json_object_get(root, "normalizer"), &t->norm);
  if (st == TPA_OK)
    st = tpa__pretok_parse(&pc, json_object_get(root, "pre_tokenizer"), &t->pre);
  if (st == TPA_OK)
    st = tpa__tmodel_parse(&mc, json_object_get(root, "model"), &t->model);
  if (st == TPA_OK)
    st = added_parse(t, &ac, json_object_get(root, "added_tokens"));
  if (st == TPA_OK)
    st = post_parse(t, &oc, json_object_get(root, "post_processor"), 0);
  if (st == TPA_OK) {
    t->vocab_size = tpa__tmodel_vocab_size(t->model);
    for (size_t i = 0; i < t->n_added; i++)
      if ((size_t)t->added[i].id + 1 > t->vocab_size)
        t->vocab_size = (size_t)t->added[i].id + 1;
    /* The post-processor's special ids are output ids too (HF does not
     * check that they are in the vocabulary). */
    const template *tps[] = {&t->single, &t->pair};
    for (size_t k = 0; k < 2; k++)
      for (size_t i = 0; i < tps[k]->n; i++)
        for (size_t d = 0; d < tps[k]->item[i].n_ids; d++)
          if ((size_t)tps[k]->item[i].ids[d] + 1 > t->vocab_size)
            t->vocab_size = (size_t)tps[k]->item[i].ids[d] + 1;
    snprintf(t->describe, sizeof t->describe,
             "%s; normalizer %s, pre-tokenizer %s, post-processor %s, %zu added tokens",
             tpa__tmodel_type(t->model), type_of(json_object_get(root, "normalizer")),
             type_of(json_object_get(root, "pre_tokenizer")),
             type_of(json_object_get(root, "post_processor")), t->n_added);
  }
  return st;
}

tpa_status tpa__tjt_load(const char *path, tpa__tjt **out) {
  *out = NULL;
  tpa__tjt *t = calloc(1, sizeof *t);
  if (!t)
    return TPA__NO_MEMORY("tokenizer");
  json_t *root = NULL;
  tpa_status st = tpa__file_read(path, TPA__JSON_MAX_FILE, &t->source, &t->source_len);
  if (st == TPA_OK)
    st = tpa__json_parse(t->source, t->source_len, path, TPA_ERR_CONFIG, false, &root);
  if (st == TPA_OK)
    st = parse_root(t, path, root);
  json_decref(root);
  if (st != TPA_OK) {
    tpa__tjt_free(t);
    return st;
  }
  *out = t;
  return TPA_OK;
}

/* ------------------------------------------------------------------------ */
/* RoBERTa's slow-tokenizer files                                            */

/* merges.txt: "#version" lines skipped, then one "a b" merge per line. */
static tpa_status read_merges(const char *path, json_t *merges) {
  char *text = NULL;
  size_t len = 0;
  tpa_status st = tpa__file_read(path, (size_t)256 << 20, &text, &len);
  if (st != TPA_OK)
    return st;
  size_t line = 0;
  for (char *s = text, *end = text + len; s < end && st == TPA_OK;) {
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *stop = nl ? nl : end;
    line++;
    if (stop > s && stop[-1] == '\r')
      stop--;
    const size_t n = (size_t)(stop - s);
    if (n && !(n >= 8 && memcmp(s, "#version", 8) == 0)) {
      if (!memchr(s, ' ', n) || tpa__utf8_check((const unsigned char *)s, n) != n)
        st = tpa__error(TPA_ERR_CONFIG, "file %s:%zu: not a merge \"a b\" in UTF-8", path, line);
      else if (json_array_append_new(merges, json_stringn(s, n)) != 0)
        st = TPA__NO_MEMORY("merges");
    }
    s = nl ? nl + 1 : end;
  }
  free(text);
  return st;
}

/* An added token of RoBERTa's special set, if the vocabulary has it. */
static void add_special(json_t *list, const json_t *vocab, const char *name, bool lstrip) {
  const json_t *id = json_object_get(vocab, name);
  if (!json_is_integer(id))
    return;
  json_array_append_new(list, json_pack("{s:O,s:s,s:b,s:b,s:b,s:b,s:b}", "id", id, "content", name,
                                        "single_word", 0, "lstrip", lstrip, "rstrip", 0,
                                        "normalized", 0, "special", 1));
}

tpa_status tpa__tjt_load_bpe_files(const char *vocab_path, const char *merges_path,
                                   tpa__tjt **out) {
  *out = NULL;
  json_t *vocab = NULL, *merges = json_array();
  tpa_status st = merges ? tpa__json_load_file(vocab_path, &vocab) : TPA__NO_MEMORY("merges");
  if (st == TPA_OK)
    st = read_merges(merges_path, merges);
  const json_t *cls = json_object_get(vocab, "<s>"), *sep = json_object_get(vocab, "</s>");
  if (st == TPA_OK && (!json_is_integer(cls) || !json_is_integer(sep)))
    st = tpa__error(TPA_ERR_CONFIG, "file %s: no <s> or </s> (RoBERTa's special tokens)",
                    vocab_path);
  json_t *root = NULL;
  if (st == TPA_OK) {
    /* What transformers' RobertaConverter builds from these files. */
    json_t *specials = json_array();
    add_special(specials, vocab, "<s>", false);
    add_special(specials, vocab, "<pad>", false);
    add_special(specials, vocab, "</s>", false);
    add_special(specials, vocab, "<unk>", false);
    add_special(specials, vocab, "<mask>", true);
    root = json_pack("{s:s,s:o,s:n,s:{s:s,s:b,s:b,s:b},s:{s:s,s:[s,O],s:[s,O],s:b,s:b},"
                     "s:{s:s,s:O,s:O,s:s,s:s,s:b,s:b}}",
                     "version", "1.0", "added_tokens", specials, "normalizer", "pre_tokenizer",
                     "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1,
                     "post_processor", "type", "RobertaProcessing", "sep", "</s>", sep, "cls",
                     "<s>", cls, "trim_offsets", 1, "add_prefix_space", 0, "model", "type", "BPE",
                     "vocab", vocab, "merges", merges, "continuing_subword_prefix", "",
                     "end_of_word_suffix", "", "fuse_unk", 0, "byte_fallback", 0);
    if (!root)
      st = TPA__NO_MEMORY("tokenizer");
  }
  tpa__tjt *t = NULL;
  if (st == TPA_OK && !(t = calloc(1, sizeof *t)))
    st = TPA__NO_MEMORY("tokenizer");
  if (st == TPA_OK)
    st = parse_root(t, vocab_path, root);
  if (st == TPA_OK) {
    /* Saved with the model as the tokenizer.json HF would write. */
    t->source = json_dumps(root, JSON_COMPACT);
    t->source_len = t->source ? strlen(t->source) : 0;
    if (!t->source)
      st = TPA__NO_MEMORY("tokenizer");
  }
  json_decref(root);
  json_decref(vocab);
  json_decref(merges);
  if (st != TPA_OK) {
    tpa__tjt_free(t);
    return st;
  }
  *out = t;
  return TPA_OK;
}

void tpa__tjt_free(tpa__tjt *t) {
  if (!t)
    return;
  tpa__norm_free(t->norm);
  tpa__pretok_free(t->pre);
  tpa__tmodel_free(t->model);
  for (size_t i = 0; i < t->n_added; i++) {
    free(t->added[i].content);
    free(t->added[i].norm);
  }
  free(t->added);
  template_free(&t->single);
  template_free(&t->pair);
  free(t->source);
  free(t);
}

size_t tpa__tjt_vocab_size(const tpa__tjt *t) {
  return t->vocab_size;
}

int32_t tpa__tjt_token_id(const tpa__tjt *t, const char *s, size_t len) {
  for (size_t i = 0; i < t->n_added; i++)
    if (t->added[i].content_len == len && memcmp(t->added[i].content, s, len) == 0)
      return t->added[i].id;
  return tpa__tmodel_token_id(t->model, s, len);
}

const char *tpa__tjt_token(const tpa__tjt *t, int32_t id) {
  for (size_t i = 0; i < t->n_added; i++)
    if (t->added[i].id == id)
      return t->added[i].content;
  return tpa__tmodel_token(t->model, id);
}

const char *tpa__tjt_describe(const tpa__tjt *t) {
  return t->describe;
}

const char *tpa__tjt_source(const tpa__tjt *t, size_t *len) {
  *len = t->source_len;
  return t->source;
}

tpa_status tpa__tjt_tokenize(const tpa__tjt *t, const char *text, tpa__idvec *out) {
  return tokenize(t, text, 0, out);
}

/* ------------------------------------------------------------------------ */
/* Encode                                                                    */

tpa_status tpa__tjt_encode(const tpa__tjt *t, const char *a, const char *b, int32_t max_len,
                           int32_t *ids, int32_t *types, size_t *n) {
  *n = 0;
  const template *tp = b ? &t->pair : &t->single;
  const size_t specials = t->has_post ? template_specials(tp) : 0;
  if (max_len < 1 || (size_t)max_len < specials + 1)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_tokenizer_encode: max_len %d leaves no room for the %zu special tokens",
                      (int)max_len, specials);
  tpa__idvec va = {0}, vb = {0};
  tpa_status st = tokenize(t, a, (size_t)max_len, &va);
  if (st != TPA_OK) {
    tpa__idvec_free(&va);
    return tpa__error_prefix(st, "text a");
  }
  if (b && (st = tokenize(t, b, (size_t)max_len, &vb)) != TPA_OK) {
    tpa__idvec_free(&va);
    tpa__idvec_free(&vb);
    return tpa__error_prefix(st, "text b");
  }
  const size_t budget = (size_t)max_len - specials;
  size_t ka = va.n < budget ? va.n : budget, kb = 0;
  if (b)
    tpa__truncate_pair(va.n, vb.n, budget, &ka, &kb);
  size_t at = 0;
  if (!t->has_post) { /* A then B, B with type 1 */
    for (size_t i = 0; i < ka; i++, at++)
      ids[at] = va.v[i], types[at] = 0;
    for (size_t i = 0; i < kb; i++, at++)
      ids[at] = vb.v[i], types[at] = 1;
  } else {
    for (size_t k = 0; k < tp->n; k++) {
      const titem *it = &tp->item[k];
      if (it->seq < 0) {
        for (size_t i = 0; i < it->n_ids; i++, at++)
          ids[at] = it->ids[i], types[at] = it->type_id;
        continue;
      }
      const tpa__idvec *src = it->seq == 0 ? &va : &vb;
      const size_t keep = it->seq == 0 ? ka : kb;
      for (size_t i = 0; i < keep; i++, at++)
        ids[at] = src->v[i], types[at] = it->type_id;
    }
  }
  *n = at;
  tpa__idvec_free(&va);
  tpa__idvec_free(&vb);
  return TPA_OK;
}
