/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json models (see tj.h): WordPiece, BPE, Unigram and WordLevel,
 * each as the Rust `tokenizers` crate 0.23 defines it (models/wordpiece,
 * bpe, unigram, wordlevel), checked against its Node binding by
 * tests/text/test_tj_model.c.
 *
 * A model is immutable once parsed: every lookup goes through hash tables
 * built at load time and encoding keeps its scratch memory per call (on the
 * stack for short pieces), so any number of threads share one model. HF's
 * per-thread caches only make it faster, never different, so there are
 * none here.
 *
 * Where HF only fails at encode time, libtpa refuses the file at load time
 * instead (an unk_token that is not in the vocabulary, a BPE merge whose
 * right token is shorter than continuing_subword_prefix, where HF panics),
 * and duplicate ids, which HF accepts but then decodes one of them at
 * random, are refused too. BPE's dropout is read and checked but not
 * applied: libtpa's tokenization is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/tj.h"
#include "text/utf8.h"

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

/* A token as messages show it: quoted, at most 40 bytes of it (cut at a
 * character boundary), control bytes as \xNN. */
typedef struct shown {
  char s[200];
} shown;

static shown show(const char *s, size_t n) {
  shown o;
  size_t cut = n > 40 ? 40 : n;
  while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
    cut--;
  size_t k = 0;
  o.s[k++] = '"';
  for (size_t i = 0; i < cut; i++) {
    unsigned char b = (unsigned char)s[i];
    if (b < 0x20 || b == 0x7F)
      k += (size_t)snprintf(o.s + k, sizeof o.s - k, "\\x%02X", b);
    else
      o.s[k++] = (char)b;
  }
  snprintf(o.s + k, sizeof o.s - k, "\"%s", cut < n ? "..." : "");
  return o;
}

/* ------------------------------------------------------------------------ */
/* Token table: token bytes -> index by hash, index -> id and back          */

/* Tokens are kept by index (their order in the file); ids are what the
 * file says. Only Unigram has index == id; BPE, WordPiece and WordLevel
 * vocabularies may list ids in any order and leave holes. */
typedef struct vtok {
  uint32_t off, len; /* in blob */
  int32_t id;
} vtok;

/* A hash slot: index + 1 of the token stored there (0: empty) and that
 * token's hash, side by side so that a probe touches one cache line. */
typedef struct vslot {
  uint32_t idx1, hash;
} vslot;

typedef struct tvocab {
  tpa__buf blob;   /* every token, each followed by a NUL */
  vtok *tok;       /* [n] */
  uint32_t *by_id; /* [n] indices sorted by id */
  vslot *slot;     /* [mask + 1] */
  size_t mask, n, max_len;
  int32_t max_id; /* -1 while empty */
} tvocab;

#define FNV_SEED 2166136261u

/* FNV-1a continued from @p h, so that a token assembled from parts (prefix,
 * character, suffix) hashes without being copied. */
static uint32_t fnv(uint32_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

static tpa_status tvocab_init(tvocab *v, size_t n) {
  memset(v, 0, sizeof *v);
  v->max_id = -1;
  if (n > INT32_MAX)
    return TPA__NO_MEMORY("vocabulary");
  size_t slots = 16;
  while (slots < 2 * n)
    slots *= 2;
  v->mask = slots - 1;
  v->tok = tpa__malloc_array(n, sizeof *v->tok);
  v->by_id = tpa__malloc_array(n, sizeof *v->by_id);
  v->slot = tpa__calloc(slots, sizeof *v->slot);
  if (!v->tok || !v->by_id || !v->slot)
    return TPA__NO_MEMORY("vocabulary");
  return TPA_OK;
}

static void tvocab_free(tvocab *v) {
  tpa__buf_free(&v->blob);
  free(v->tok);
  free(v->by_id);
  free(v->slot);
  memset(v, 0, sizeof *v);
}

static const char *tvocab_str(const tvocab *v, size_t idx) {
  return v->blob.s + v->tok[idx].off;
}

/* Index of the token a ‖ b ‖ c (any part may be empty), -1 if absent. */
static int32_t tvocab_find3(const tvocab *v, const char *a, size_t na, const char *b, size_t nb,
                            const char *c, size_t nc) {
  size_t n = na + nb + nc;
  if (n > v->max_len)
    return -1;
  uint32_t h = fnv(fnv(fnv(FNV_SEED, a, na), b, nb), c, nc);
  for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
    uint32_t k = v->slot[i].idx1;
    if (k == 0)
      return -1;
    if (v->slot[i].hash != h || v->tok[k - 1].len != n)
      continue;
    const char *t = tvocab_str(v, k - 1);
    if (memcmp(t, a, na) == 0 && memcmp(t + na, b, nb) == 0 && memcmp(t + na + nb, c, nc) == 0)
      return (int32_t)(k - 1);
  }
}

static int32_t tvocab_find(const tvocab *v, const char *s, size_t n) {
  return tvocab_find3(v, s, n, "", 0, "", 0);
}

/* Same, with the hash of s[0..n) already known (Unigram hashes every
 * prefix of the rest of the text incrementally). */
static int32_t tvocab_find_hashed(const tvocab *v, const char *s, size_t n, uint32_t h) {
  for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
    uint32_t k = v->slot[i].idx1;
    if (k == 0)
      return -1;
    if (v->slot[i].hash == h && v->tok[k - 1].len == n && memcmp(tvocab_str(v, k - 1), s, n) == 0)
      return (int32_t)(k - 1);
  }
}

/* Add token s[0..n) with @p id. Messages name @p model's "vocab", entry
 * @p index of it if >= 0 (the location is only built then: a 250k-token
 * vocabulary would spend its load time formatting them). */
static tpa_status tvocab_add(tvocab *v, const tpa__tj_ctx *model, long index, const char *s,
                             size_t n, int32_t id) {
  int32_t dup = tvocab_find(v, s, n);
  bool big = v->blob.len + n + 1 >= UINT32_MAX;
  if (dup >= 0 || big) {
    tpa__tj_ctx c;
    tpa__tj_child(model, "vocab", index, &c);
    return big ? tpa__tj_error(&c, "the vocabulary's tokens exceed 4 GiB")
               : tpa__tj_error(&c, "token %s appears twice (also with id %ld)", show(s, n).s,
                               (long)v->tok[dup].id);
  }
  size_t idx = v->n;
  uint32_t off = (uint32_t)v->blob.len;
  tpa_status st = tpa__buf_append(&v->blob, s, n);
  if (st == TPA_OK)
    st = tpa__buf_append(&v->blob, "", 1); /* keeps the NUL between tokens */
  if (st != TPA_OK)
    return st;
  v->tok[idx] = (vtok){off, (uint32_t)n, id};
  v->n++;
  if (n > v->max_len)
    v->max_len = n;
  if (id > v->max_id)
    v->max_id = id;
  uint32_t h = fnv(FNV_SEED, s, n);
  size_t i = h & v->mask;
  while (v->slot[i].idx1)
    i = (i + 1) & v->mask;
  v->slot[i] = (vslot){(uint32_t)idx + 1, h};
  return TPA_OK;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Order the indices by id (for id -> token) and refuse an id given to two
 * tokens. */
static tpa_status tvocab_finish(tvocab *v, const tpa__tj_ctx *c) {
  uint64_t *key = tpa__malloc_array(v->n, sizeof *key);
  if (!key)
    return TPA__NO_MEMORY("vocabulary");
  for (size_t i = 0; i < v->n; i++)
    key[i] = (uint64_t)(uint32_t)v->tok[i].id << 32 | (uint32_t)i;
  qsort(key, v->n, sizeof *key, cmp_u64);
  tpa_status st = TPA_OK;
  for (size_t i = 0; i < v->n; i++) {
    v->by_id[i] = (uint32_t)key[i];
    if (i > 0 && key[i] >> 32 == key[i - 1] >> 32) {
      uint32_t a = v->by_id[i - 1], b = v->by_id[i];
      st = tpa__tj_error(c, "tokens %s and %s both have id %ld",
                         show(tvocab_str(v, a), v->tok[a].len).s,
                         show(tvocab_str(v, b), v->tok[b].len).s, (long)v->tok[a].id);
      break;
    }
  }
  free(key);
  return st;
}

static const char *tvocab_token(const tvocab *v, int32_t id) {
  if (id < 0 || v->n == 0)
    return NULL;
  if ((size_t)id < v->n && v->tok[v->by_id[id]].id == id) /* the usual dense vocabulary */
    return tvocab_str(v, v->by_id[id]);
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (v->tok[v->by_id[mid]].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < v->n && v->tok[v->by_id[lo]].id == id ? tvocab_str(v, v->by_id[lo]) : NULL;
}

/* ------------------------------------------------------------------------ */
/* The model                                                                 */

typedef enum kind { WORDPIECE, BPE, UNIGRAM, WORDLEVEL } kind;

/* BPE's merges: (left id, right id) -> (rank, id of the merged token), open
 * addressing on the pair packed into 64 bits (ids are below 2^31, so the
 * all-ones key marks an empty slot). */
typedef struct merges {
  uint64_t *key;
  uint32_t *rank;
  int32_t *new_id;
  size_t mask;
} merges;

#define NO_PAIR UINT64_MAX

struct tpa__tmodel {
  kind kind;
  tvocab v;
  int32_t unk; /* id of the unknown token, -1: none */
  /* WordPiece and BPE: added to every piece but the first of a word /
   * to the last character of a word ("" when absent). */
  char *prefix, *suffix;
  size_t prefix_len, suffix_len;
  size_t max_chars; /* WordPiece: longer words are one unk */
  bool fuse_unk, byte_fallback, ignore_merges;
  int32_t byte_id[256]; /* id of "<0xXX>", -1 if absent (byte_fallback) */
  merges m;
  double *score;    /* Unigram: by id */
  double unk_score; /* Unigram: an unknown character's score */
  /* Unigram: a bit per hash of each token's proper prefixes (ending at a
   * character boundary), so the search for pieces starting at a position
   * stops where no longer piece can begin, as HF's trie does. */
  uint64_t *prefix_bits;
  unsigned prefix_shift; /* bit = (hash * golden) >> prefix_shift */
};

static uint64_t pair_key(int32_t a, int32_t b) {
  return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

/* splitmix64's finalizer: consecutive ids spread over the table. */
static size_t pair_slot(uint64_t k, size_t mask) {
  k ^= k >> 30;
  k *= 0xBF58476D1CE4E5B9ull;
  k ^= k >> 27;
  k *= 0x94D049BB133111EBull;
  k ^= k >> 31;
  return (size_t)k & mask;
}

/* Slot of the pair (a, b) in the merges, -1 if it is not a merge. */
static long merge_find(const merges *m, int32_t a, int32_t b) {
  if (!m->key)
    return -1;
  uint64_t k = pair_key(a, b);
  for (size_t i = pair_slot(k, m->mask);; i = (i + 1) & m->mask) {
    if (m->key[i] == k)
      return (long)i;
    if (m->key[i] == NO_PAIR)
      return -1;
  }
}

/* Text of "<0xXX>" tokens: HF formats them as `<{b:#04X}>` (BPE) and
 * `<0x{b:02X}>` (Unigram), the same strings. */
static void find_byte_tokens(tpa__tmodel *m) {
  for (int b = 0; b < 256; b++) {
    char t[8];
    snprintf(t, sizeof t, "<0x%02X>", b);
    int32_t idx = tvocab_find(&m->v, t, 6);
    m->byte_id[b] = idx >= 0 ? m->v.tok[idx].id : -1;
  }
}

/* A copy of s, "" for NULL. */
static tpa_status dup_str(const char *s, char **out, size_t *len) {
  *out = tpa__strdup(s ? s : "");
  if (!*out)
    return TPA__NO_MEMORY("tokenizer model");
  *len = strlen(*out);
  return TPA_OK;
}

/* A member HF requires (serde's "missing field"), with its JSON type. */
static tpa_status required(const tpa__tj_ctx *c, const json_t *j, const char *key, json_type type,
                           const char *what, const json_t **out) {
  *out = json_object_get(j, key);
  if (!*out)
    return tpa__tj_error(c, "missing \"%s\"", key);
  if (json_typeof(*out) != type)
    return tpa__tj_error(c, "\"%s\" is not %s", key, what);
  return TPA_OK;
}

/* The id of unk_token @p unk, which must be in the vocabulary. */
static tpa_status unk_of(const tpa__tj_ctx *c, tpa__tmodel *m, const char *unk) {
  int32_t idx = tvocab_find(&m->v, unk, strlen(unk));
  if (idx < 0)
    return tpa__tj_error(c, "unk_token %s is not in the vocabulary", show(unk, strlen(unk)).s);
  m->unk = m->v.tok[idx].id;
  return TPA_OK;
}

/* "vocab": {"token": id, ...} of WordPiece, BPE and WordLevel. */
static tpa_status parse_vocab_map(const tpa__tj_ctx *c, const json_t *j, tvocab *v) {
  const json_t *vj;
  tpa_status st = required(c, j, "vocab", JSON_OBJECT, "an object {token: id}", &vj);
  if (st != TPA_OK)
    return st;
  tpa__tj_ctx vc;
  tpa__tj_child(c, "vocab", -1, &vc);
  st = tvocab_init(v, json_object_size(vj));
  const char *key;
  size_t key_len;
  json_t *val;
  json_object_keylen_foreach((json_t *)vj, key, key_len, val) {
    if (st != TPA_OK)
      break;
    if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > INT32_MAX)
      return tpa__tj_error(&vc, "the id of token %s is not an integer in 0..%ld",
                           show(key, key_len).s, (long)INT32_MAX);
    st = tvocab_add(v, c, -1, key, key_len, (int32_t)json_integer_value(val));
  }
  return st == TPA_OK ? tvocab_finish(v, &vc) : st;
}

/* Check that s[0..len) is UTF-8 and count its characters. */
static tpa_status count_chars(const char *s, size_t len, size_t *chars) {
  size_t n = 0;
  for (size_t i = 0; i < len; n++) {
    uint32_t cp;
    size_t k = tpa__utf8_decode((const unsigned char *)s + i, len - i, &cp);
    if (k == 0)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tokenizer model: the text is not valid UTF-8");
    i += k;
  }
  *chars = n;
  return TPA_OK;
}

/* Length of the (valid) UTF-8 character at s[0]. */
static size_t char_len(const char *s) {
  unsigned char b = (unsigned char)*s;
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* ------------------------------------------------------------------------ */
/* WordPiece (models/wordpiece/mod.rs)                                       */

static tpa_status wordpiece_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel *m) {
  const json_t *unk = NULL, *prefix = NULL, *max = NULL;
  tpa_status st = required(c, j, "unk_token", JSON_STRING, "a string", &unk);
  if (st == TPA_OK)
    st = required(c, j, "continuing_subword_prefix", JSON_STRING, "a string", &prefix);
  if (st == TPA_OK)
    st = required(c, j, "max_input_chars_per_word", JSON_INTEGER, "an integer", &max);
  if (st == TPA_OK && json_integer_value(max) < 0)
    st = tpa__tj_error(c, "\"max_input_chars_per_word\" is negative");
  if (st == TPA_OK)
    st = parse_vocab_map(c, j, &m->v);
  if (st == TPA_OK)
    st = dup_str(json_string_value(prefix), &m->prefix, &m->prefix_len);
  if (st == TPA_OK)
    st = unk_of(c, m, json_string_value(unk));
  m->max_chars = max ? (size_t)json_integer_value(max) : 0;
  return st;
}

/* Greedy longest match from the start, continuation pieces with the
 * prefix; a word with an unmatched position, or longer than
 * max_input_chars_per_word characters, is one unk. */
static tpa_status wordpiece_encode(const tpa__tmodel *m, const char *s, size_t len,
                                   tpa__idvec *out) {
  size_t chars;
  tpa_status st = count_chars(s, len, &chars);
  if (st != TPA_OK)
    return st;
  if (chars > m->max_chars)
    return tpa__idvec_push(out, m->unk);
  size_t mark = out->n;
  for (size_t start = 0; start < len;) {
    const char *pre = start > 0 ? m->prefix : "";
    size_t pre_len = start > 0 ? m->prefix_len : 0;
    size_t end = len;
    /* HF tries every end from the word's end; ends that make the piece
     * longer than any token cannot match, so the search starts below. */
    while (end > start && pre_len + (end - start) > m->v.max_len)
      do
        end--;
      while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80);
    int32_t idx = -1;
    while (end > start) {
      idx = tvocab_find3(&m->v, pre, pre_len, s + start, end - start, "", 0);
      if (idx >= 0)
        break;
      do /* drop the last character */
        end--;
      while (end > start && ((unsigned char)s[end] & 0xC0) == 0x80);
    }
    if (idx < 0) {
      out->n = mark;
      return tpa__idvec_push(out, m->unk);
    }
    if ((st = tpa__idvec_push(out, m->v.tok[idx].id)) != TPA_OK)
      return st;
    start = end;
  }
  return TPA_OK;
}

/* ------------------------------------------------------------------------ */
/* WordLevel (models/wordlevel/mod.rs)                                       */

static tpa_status wordlevel_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel *m) {
  const json_t *unk;
  tpa_status st = required(c, j, "unk_token", JSON_STRING, "a string", &unk);
  if (st == TPA_OK)
    st = parse_vocab_map(c, j, &m->v);
  if (st == TPA_OK)
    st = unk_of(c, m, json_string_value(unk));
  return st;
}

/* The whole piece is one token, or unk. */
static tpa_status wordlevel_encode(const tpa__tmodel *m, const char *s, size_t len,
                                   tpa__idvec *out) {
  size_t chars;
  tpa_status st = count_chars(s, len, &chars);
  if (st != TPA_OK || len == 0)
    return st;
  int32_t idx = tvocab_find(&m->v, s, len);
  return tpa__idvec_push(out, idx >= 0 ? m->v.tok[idx].id : m->unk);
}

/* ------------------------------------------------------------------------ */
/* BPE: loading (models/bpe/model.rs, serialization.rs)                      */

/* The two tokens of merges[i] as HF reads them: ["a", "b"], or the legacy
 * "a b" (split on every space: exactly one). *skip is set for the legacy
 * "#version" lines, which HF drops before numbering the merges. */
static tpa_status merge_entry(const tpa__tj_ctx *c, const json_t *e, bool legacy, const char **a,
                              size_t *na, const char **b, size_t *nb, bool *skip) {
  *skip = false;
  if (legacy) {
    if (!json_is_string(e))
      return tpa__tj_error(c, "is not a string \"left right\" like merges[0]");
    const char *s = json_string_value(e);
    size_t n = json_string_length(e);
    if (n >= 8 && memcmp(s, "#version", 8) == 0) {
      *skip = true;
      return TPA_OK;
    }
    const char *sp = memchr(s, ' ', n);
    if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s)))
      return tpa__tj_error(c, "%s is not two tokens separated by one space", show(s, n).s);
    *a = s, *na = (size_t)(sp - s);
    *b = sp + 1, *nb = n - *na - 1;
    return TPA_OK;
  }
  if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(json_array_get(e, 0)) ||
      !json_is_string(json_array_get(e, 1)))
    return tpa__tj_error(c, "is not a pair [\"left\", \"right\"] like merges[0]");
  *a = json_string_value(json_array_get(e, 0)), *na = json_string_length(json_array_get(e, 0));
  *b = json_string_value(json_array_get(e, 1)), *nb = json_string_length(json_array_get(e, 1));
  return TPA_OK;
}

/* One merge: both tokens and their concatenation (the right one without
 * continuing_subword_prefix's bytes, which HF cuts off unchecked) must be
 * tokens. A pair listed twice keeps its last rank, as HF's map does. */
static tpa_status merge_add(const tpa__tj_ctx *c, tpa__tmodel *m, const char *a, size_t na,
                            const char *b, size_t nb, uint32_t rank) {
  int32_t ia = tvocab_find(&m->v, a, na), ib = tvocab_find(&m->v, b, nb);
  if (ia < 0 || ib < 0)
    return tpa__tj_error(c, "token %s is not in the vocabulary",
                         ia < 0 ? show(a, na).s : show(b, nb).s);
  if (nb < m->prefix_len)
    return tpa__tj_error(c, "token %s is shorter than continuing_subword_prefix %s", show(b, nb).s,
                         show(m->prefix, m->prefix_len).s);
  int32_t in = tvocab_find3(&m->v, a, na, b + m->prefix_len, nb - m->prefix_len, "", 0);
  if (in < 0)
    return tpa__tj_error(c, "the merged token of %s and %s is not in the vocabulary", show(a, na).s,
                         show(b + m->prefix_len, nb - m->prefix_len).s);
  merges *g = &m->m;
  uint64_t k = pair_key(m->v.tok[ia].id, m->v.tok[ib].id);
  size_t i = pair_slot(k, g->mask);
  while (g->key[i] != NO_PAIR && g->key[i] != k)
    i = (i + 1) & g->mask;
  g->key[i] = k;
  g->rank[i] = rank;
  g->new_id[i] = m->v.tok[in].id;
  return TPA_OK;
}

static tpa_status bpe_merges(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel *m) {
  const json_t *mj;
  tpa_status st = required(c, j, "merges", JSON_ARRAY, "an array", &mj);
  if (st != TPA_OK)
    return st;
  size_t n = json_array_size(mj), slots = 16;
  if (n > UINT32_MAX / 4)
    return tpa__tj_error(c, "too many merges (%zu)", n);
  while (slots < 2 * n)
    slots *= 2;
  merges *g = &m->m;
  g->mask = slots - 1;
  g->key = tpa__malloc_array(slots, sizeof *g->key);
  g->rank = tpa__malloc_array(slots, sizeof *g->rank);
  g->new_id = tpa__malloc_array(slots, sizeof *g->new_id);
  if (!g->key || !g->rank || !g->new_id)
    return TPA__NO_MEMORY("BPE merges");
  memset(g->key, 0xFF, slots * sizeof *g->key); /* NO_PAIR everywhere */
  /* HF takes the whole list in one form or the other (serde's untagged
   * MergeType), so the first entry decides. */
  bool legacy = n > 0 && json_is_string(json_array_get(mj, 0));
  uint32_t rank = 0;
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    tpa__tj_ctx ec;
    tpa__tj_child(c, "merges", (long)i, &ec);
    const char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    bool skip;
    st = merge_entry(&ec, json_array_get(mj, i), legacy, &a, &na, &b, &nb, &skip);
    if (st == TPA_OK && !skip)
      st = merge_add(&ec, m, a, na, b, nb, rank++);
  }
  return st;
}

/* A string member that may be absent or null. */
static tpa_status opt_string(const tpa__tj_ctx *c, const json_t *j, const char *key, char **out,
                             size_t *len) {
  const char *s;
  tpa_status st = tpa__tj_string(c, j, key, NULL, &s);
  return st == TPA_OK ? dup_str(s, out, len) : st;
}

static tpa_status bpe_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel *m) {
  const json_t *d = json_object_get(j, "dropout");
  if (d && !json_is_null(d) &&
      (!json_is_number(d) || !(json_number_value(d) >= 0.0 && json_number_value(d) <= 1.0)))
    return tpa__tj_error(c, "\"dropout\" is not a number in 0..1");
  const char *unk;
  tpa_status st = tpa__tj_string(c, j, "unk_token", NULL, &unk);
  if (st == TPA_OK)
    st = opt_string(c, j, "continuing_subword_prefix", &m->prefix, &m->prefix_len);
  if (st == TPA_OK)
    st = opt_string(c, j, "end_of_word_suffix", &m->suffix, &m->suffix_len);
  if (st == TPA_OK)
    st = tpa__tj_bool(c, j, "fuse_unk", false, &m->fuse_unk);
  if (st == TPA_OK)
    st = tpa__tj_bool(c, j, "byte_fallback", false, &m->byte_fallback);
  if (st == TPA_OK)
    st = tpa__tj_bool(c, j, "ignore_merges", false, &m->ignore_merges);
  if (st == TPA_OK)
    st = parse_vocab_map(c, j, &m->v);
  if (st == TPA_OK)
    st = bpe_merges(c, j, m);
  if (st == TPA_OK && unk)
    st = unk_of(c, m, unk);
  find_byte_tokens(m);
  return st;
}

/* ------------------------------------------------------------------------ */
/* BPE: encoding (models/bpe/word.rs)                                        */

/* A symbol of the word being merged, linked to its live neighbours;
 * merging keeps the left symbol and kills the right one, as HF's Word. */
typedef struct bsym {
  int32_t id, prev, next;
  bool dead;
} bsym;

/* A candidate merge at symbol @p pos. HF's queue pops the lowest rank
 * first, then the leftmost position; two entries equal in both are the
 * same merge at the same place, so the order among them cannot matter. */
typedef struct bcand {
  uint32_t rank, pos;
  int32_t new_id;
} bcand;

typedef struct bword {
  bsym *sym;
  size_t n;
  bcand *heap;
  size_t nheap;
} bword;

static bool cand_before(const bcand *x, const bcand *y) {
  return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static void heap_push(bword *w, bcand c) {
  size_t i = w->nheap++;
  while (i > 0 && cand_before(&c, &w->heap[(i - 1) / 2])) {
    w->heap[i] = w->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  w->heap[i] = c;
}

static bcand heap_pop(bword *w) {
  bcand top = w->heap[0], last = w->heap[--w->nheap];
  size_t i = 0;
  for (;;) {
    size_t k = 2 * i + 1;
    if (k >= w->nheap)
      break;
    if (k + 1 < w->nheap && cand_before(&w->heap[k + 1], &w->heap[k]))
      k++;
    if (!cand_before(&w->heap[k], &last))
      break;
    w->heap[i] = w->heap[k];
    i = k;
  }
  if (w->nheap)
    w->heap[i] = last;
  return top;
}

static void word_add(bword *w, int32_t id) {
  size_t i = w->n++;
  if (i > 0)
    w->sym[i - 1].next = (int32_t)i;
  w->sym[i] = (bsym){id, (int32_t)i - 1, -1, false};
}

/* Queue the merge of the pair starting at symbol @p pos, if there is one. */
static void queue_pair(bword *w, const merges *g, size_t pos, int32_t a, int32_t b) {
  long k = merge_find(g, a, b);
  if (k >= 0)
    heap_push(w, (bcand){g->rank[k], (uint32_t)pos, g->new_id[k]});
}

/* HF's Word::merge_all without dropout: pop the best candidate, skip it if
 * the symbol died or its pair no longer merges into the same token, else
 * merge and queue the new pairs on both sides. */
static void merge_all(bword *w, const merges *g) {
  for (size_t i = 0; i + 1 < w->n; i++)
    queue_pair(w, g, i, w->sym[i].id, w->sym[i + 1].id);
  while (w->nheap) {
    bcand top = heap_pop(w);
    bsym *s = &w->sym[top.pos];
    if (s->dead || s->next < 0)
      continue;
    bsym *right = &w->sym[s->next];
    long k = merge_find(g, s->id, right->id);
    if (k < 0 || g->new_id[k] != top.new_id)
      continue; /* an outdated entry */
    s->id = top.new_id;
    s->next = right->next;
    right->dead = true;
    if (s->next >= 0)
      w->sym[s->next].prev = (int32_t)top.pos;
    if (s->prev >= 0)
      queue_pair(w, g, (size_t)s->prev, w->sym[s->prev].id, s->id);
    if (s->next >= 0)
      queue_pair(w, g, top.pos, s->id, w->sym[s->next].id);
  }
}

/* Whether every byte of s[0..n) has its <0xXX> token. */
static bool bytes_known(const tpa__tmodel *m, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (m->byte_id[(unsigned char)s[i]] < 0)
      return false;
  return true;
}

static void add_bytes(bword *w, const tpa__tmodel *m, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    word_add(w, m->byte_id[(unsigned char)s[i]]);
}

/* The symbols of @p s before merging (HF's BPE::merge_word): each
 * character (with the prefix unless first, the suffix if last) as a token,
 * else as its bytes' <0xXX> tokens when byte_fallback has them all, else
 * as unk (runs of unks fused when fuse_unk), else dropped. Like HF, a
 * pending unk is only emitted before the next token found in the
 * vocabulary or at the end, so byte tokens can overtake it. */
static void bpe_symbols(const tpa__tmodel *m, const char *s, size_t len, bword *w) {
  bool pending = false;
  for (size_t i = 0; i < len;) {
    size_t k = char_len(s + i);
    const char *pre = i > 0 ? m->prefix : "", *suf = i + k == len ? m->suffix : "";
    size_t npre = i > 0 ? m->prefix_len : 0, nsuf = i + k == len ? m->suffix_len : 0;
    int32_t idx = tvocab_find3(&m->v, pre, npre, s + i, k, suf, nsuf);
    if (idx >= 0) {
      if (pending)
        word_add(w, m->unk);
      pending = false;
      word_add(w, m->v.tok[idx].id);
    } else if (m->byte_fallback && bytes_known(m, pre, npre) && bytes_known(m, s + i, k) &&
               bytes_known(m, suf, nsuf)) {
      add_bytes(w, m, pre, npre);
      add_bytes(w, m, s + i, k);
      add_bytes(w, m, suf, nsuf);
    } else if (m->unk >= 0) {
      if (pending && !m->fuse_unk)
        word_add(w, m->unk);
      pending = true;
    }
    i += k;
  }
  if (pending)
    word_add(w, m->unk);
}

/* Pieces up to this many symbols (or bytes, for Unigram) are encoded with
 * scratch memory on the stack. */
enum { SMALL = 64 };

static tpa_status bpe_encode(const tpa__tmodel *m, const char *s, size_t len, tpa__idvec *out) {
  size_t chars;
  tpa_status st = count_chars(s, len, &chars);
  if (st != TPA_OK || len == 0)
    return st;
  if (m->ignore_merges) {
    int32_t idx = tvocab_find(&m->v, s, len);
    if (idx >= 0)
      return tpa__idvec_push(out, m->v.tok[idx].id);
  }
  /* Each character gives one symbol or the bytes of prefix + character +
   * suffix; each merge queues at most two candidates. */
  size_t cap, extra;
  if (!tpa__mul_size(chars, m->prefix_len, &extra) || !tpa__add_size(len, extra, &cap) ||
      !tpa__add_size(cap, m->suffix_len, &cap) || cap > INT32_MAX / 4)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "BPE: a piece of %zu bytes is too long", len);
  bsym small_sym[SMALL];
  bcand small_heap[3 * SMALL];
  bword w = {small_sym, 0, small_heap, 0};
  void *mem = NULL;
  if (cap > SMALL) {
    mem = malloc(cap * (sizeof *w.sym + 3 * sizeof *w.heap));
    if (!mem)
      return TPA__NO_MEMORY("BPE word");
    w.sym = mem;
    w.heap = (bcand *)(w.sym + cap);
  }
  bpe_symbols(m, s, len, &w);
  merge_all(&w, &m->m);
  for (size_t i = 0; i < w.n && st == TPA_OK; i++)
    if (!w.sym[i].dead)
      st = tpa__idvec_push(out, w.sym[i].id);
  free(mem);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Unigram (models/unigram/model.rs)                                         */

/* 10^e as a double literal is: correctly rounded. */
static double pow10_literal(int e) {
  char t[16];
  snprintf(t, sizeof t, "1e%d", e);
  return strtod(t, NULL);
}

/* serde_json's f64_from_parts (without its float_roundtrip feature). */
static double serde_from_parts(uint64_t sig, int exp) {
  double f = (double)sig;
  while (exp < -308 && f != 0) {
    f /= 1e308;
    exp += 308;
  }
  return exp >= 0 ? f * pow10_literal(exp) : f / pow10_literal(-exp);
}

/* serde_f64 for any double, with printf and strtod: find the shortest
 * digits that read back as @p d, then read them as serde_json does. */
static double serde_f64_printf(double d) {
  char t[48];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(t, sizeof t, "%.*e", prec - 1, d);
    if (strtod(t, NULL) == d)
      break;
  }
  uint64_t sig = 0;
  int digits = 0;
  const char *p = t;
  for (; *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') /* skips the sign and the decimal point */
      sig = sig * 10 + (uint64_t)(*p - '0'), digits++;
  double f = serde_from_parts(sig, atoi(p + 1) - (digits - 1));
  return d < 0 ? -f : f;
}

__extension__ typedef unsigned __int128 u128;

static u128 pow10_u128(int k) {
  u128 r = 1;
  while (k-- > 0)
    r *= 10;
  return r;
}

/* The same for x = M / 2^s in [1e-6, 1e15) (every score real files have)
 * with exact integers instead of printf, which a 250k-piece vocabulary
 * would wait seconds for. Every product below stays under 2^128 in that
 * range: M < 2^53 and 10^q <= 10^22 where q >= 0, and 2^s * 10^-q is
 * about 2^53 / 10^(p - 1) where q < 0. */

/* x rounded half-even to @p p significant digits: D with x ~ D * 10^-q,
 * q = p - 1 - e10. */
static uint64_t round_digits(uint64_t M, int s, int q) {
  u128 num = M, den = (u128)1 << s;
  if (q >= 0)
    num *= pow10_u128(q);
  else
    den *= pow10_u128(-q);
  u128 quo = num / den, rem = num % den;
  if (2 * rem > den || (2 * rem == den && (quo & 1)))
    quo++;
  return (uint64_t)quo;
}

/* Whether D * 10^-q reads back as x: within half an ulp of it, the
 * midpoint itself rounding to even M. Both sides are scaled by
 * 10^q * 2^(s+1) (q >= 0) or 2^(s+1) (q < 0) to be integers. */
static bool reads_back(uint64_t D, uint64_t M, int s, int q) {
  u128 a, b, half;
  if (q >= 0) {
    a = (u128)D << (s + 1);
    b = (u128)M * pow10_u128(q) * 2;
    half = pow10_u128(q);
  } else {
    a = (u128)D * pow10_u128(-q) << (s + 1);
    b = (u128)M * 2;
    half = 1;
  }
  u128 diff = a > b ? a - b : b - a;
  return diff < half || (diff == half && !(M & 1));
}

/* The score HF has for a number jansson read as @p d. HF reads numbers
 * with serde_json, whose default float parser is not correctly rounded: it
 * takes the decimal digits as an integer, converts that to double (rounding
 * once above 2^53) and divides by a power of ten (rounding again), so a
 * 17-digit score can end up one unit in the last place away from jansson's
 * (about 1 random double in 12), enough to flip a near-tie in the Viterbi
 * search. The text is gone once jansson has parsed it; writers
 * (serde_json, Python, JavaScript) print the shortest decimal that reads
 * back exactly, so that is recovered from the double and read again the
 * way serde_json does. Up to 15 digits, both of serde's steps are exact
 * but the last, which rounds correctly: only 16 and 17 digits can
 * differ. */
static double serde_f64(double d) {
  static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  double x = fabs(d);
  if (d == 0 || !isfinite(d))
    return d;
  int ex;
  uint64_t M = (uint64_t)ldexp(frexp(x, &ex), 53);
  int s = 53 - ex, e10 = (int)floor(log10(x));
  /* Outside the range, or a power of two (whose ulp below is half the one
   * above): printf. */
  if (!(x >= 1e-6 && x < 1e15) || M == (uint64_t)1 << 52)
    return serde_f64_printf(d);
  uint64_t d17 = round_digits(M, s, 16 - e10);
  if (d17 < (uint64_t)1e16 || d17 >= (uint64_t)1e17) { /* log10 was off by one */
    e10 += d17 < (uint64_t)1e16 ? -1 : 1;
    d17 = round_digits(M, s, 16 - e10);
    if (d17 < (uint64_t)1e16 || d17 >= (uint64_t)1e17)
      return serde_f64_printf(d);
  }
  if (reads_back(round_digits(M, s, 14 - e10), M, s, 14 - e10))
    return d; /* 15 digits or fewer */
  uint64_t sig = round_digits(M, s, 15 - e10);
  int q = 15 - e10;
  if (!reads_back(sig, M, s, q))
    sig = d17, q = 16 - e10;
  double f = (double)sig / exact_pow10[q]; /* q is 1..22 here */
  return d < 0 ? -f : f;
}

static size_t prefix_bit(const tpa__tmodel *m, uint32_t h) {
  return (size_t)((h * 2654435761u) >> m->prefix_shift);
}

/* Whether some piece may continue the prefix of hash @p h (false
 * positives only cost a lookup). */
static bool may_continue(const tpa__tmodel *m, uint32_t h) {
  size_t b = prefix_bit(m, h);
  return m->prefix_bits[b / 64] >> (b % 64) & 1;
}

/* About 8 bits per prefix byte keeps false positives near 1 in 8. */
static tpa_status prefix_filter(tpa__tmodel *m) {
  const tvocab *v = &m->v;
  unsigned bits = 6;
  while (bits < 31 && ((size_t)1 << bits) < 8 * v->blob.len)
    bits++;
  m->prefix_shift = 32 - bits;
  m->prefix_bits = tpa__calloc(((size_t)1 << bits) / 64, sizeof *m->prefix_bits);
  if (!m->prefix_bits)
    return TPA__NO_MEMORY("Unigram prefixes");
  for (size_t i = 0; i < v->n; i++) {
    const char *t = tvocab_str(v, i);
    uint32_t h = FNV_SEED;
    for (size_t l = 1; l < v->tok[i].len; l++) {
      h = fnv(h, t + l - 1, 1);
      if (((unsigned char)t[l] & 0xC0) != 0x80) {
        size_t b = prefix_bit(m, h);
        m->prefix_bits[b / 64] |= (uint64_t)1 << (b % 64);
      }
    }
  }
  return TPA_OK;
}

static tpa_status unigram_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel *m) {
  const json_t *vj;
  tpa_status st = required(c, j, "vocab", JSON_ARRAY, "an array of [piece, score]", &vj);
  size_t n = json_array_size(vj);
  if (st == TPA_OK)
    st = tvocab_init(&m->v, n);
  if (st == TPA_OK && !(m->score = tpa__malloc_array(n, sizeof *m->score)))
    st = TPA__NO_MEMORY("Unigram scores");
  double min = INFINITY;
  for (size_t i = 0; i < n && st == TPA_OK; i++) {
    const json_t *e = json_array_get(vj, i), *piece = json_array_get(e, 0),
                 *score = json_array_get(e, 1);
    if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(piece) ||
        !json_is_number(score) || !isfinite(json_number_value(score))) {
      tpa__tj_ctx ec;
      tpa__tj_child(c, "vocab", (long)i, &ec);
      if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_string(piece))
        return tpa__tj_error(&ec, "is not [piece, score]");
      return tpa__tj_error(&ec, "the score of %s is not %s",
                           show(json_string_value(piece), json_string_length(piece)).s,
                           json_is_number(score) ? "a finite number" : "a number");
    }
    double x = json_number_value(score);
    m->score[i] = json_is_real(score) ? serde_f64(x) : x;
    if (m->score[i] < min)
      min = m->score[i];
    st = tvocab_add(&m->v, c, (long)i, json_string_value(piece), json_string_length(piece),
                    (int32_t)i);
    m->v.by_id[i] = (uint32_t)i;
  }
  if (st != TPA_OK)
    return st;
  /* unk_id: absent or null (no unk), else the index of a piece */
  const json_t *u = json_object_get(j, "unk_id");
  if (u && !json_is_null(u) &&
      (!json_is_integer(u) || json_integer_value(u) < 0 || json_integer_value(u) >= (json_int_t)n))
    return tpa__tj_error(c, "\"unk_id\" is not the index of one of the vocabulary's %zu pieces", n);
  m->unk = u && !json_is_null(u) ? (int32_t)json_integer_value(u) : -1;
  m->unk_score = min - 10.0; /* HF's K_UNK_PENALTY */
  st = tpa__tj_bool(c, j, "byte_fallback", false, &m->byte_fallback);
  find_byte_tokens(m);
  return st == TPA_OK ? prefix_filter(m) : st;
}

/* Best path to a byte position: its score, where its last token starts
 * (NONE: not reached yet) and that token. */
typedef struct vnode {
  double score;
  size_t start;
  int32_t id;
} vnode;

#define NONE SIZE_MAX

/* HF keeps the first candidate on a tie: strictly better only. */
static void relax(vnode *n, double score, size_t start, int32_t id) {
  if (n->start == NONE || score > n->score)
    *n = (vnode){score, start, id};
}

/* Forward pass of HF's encode_optimized: from each character start, every
 * vocabulary piece that begins there (shortest first, like its trie), plus
 * unk over the character when no piece covers exactly it. */
static tpa_status viterbi(const tpa__tmodel *m, const char *s, size_t len, vnode *best) {
  const tvocab *v = &m->v;
  for (size_t i = 0; i <= len; i++)
    best[i] = (vnode){0.0, NONE, -1};
  for (size_t p = 0; p < len;) {
    size_t k = char_len(s + p), lim = len - p < v->max_len ? len - p : v->max_len;
    double base = best[p].score;
    bool single = false;
    uint32_t h = FNV_SEED;
    for (size_t l = 1; l <= lim; l++) {
      h = fnv(h, s + p + l - 1, 1);
      if (p + l < len && ((unsigned char)s[p + l] & 0xC0) == 0x80)
        continue; /* pieces end at character boundaries */
      int32_t idx = tvocab_find_hashed(v, s + p, l, h);
      if (idx >= 0) {
        relax(&best[p + l], m->score[idx] + base, p, idx);
        single = single || l == k;
      }
      if (!may_continue(m, h))
        break;
    }
    /* Like HF, a missing unk_id only matters when unk would be taken. */
    vnode *t = &best[p + k];
    if (!single && (t->start == NONE || m->unk_score + base > t->score)) {
      if (m->unk < 0)
        return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                          "Unigram: %s is not in the vocabulary and the model has no unk_id",
                          show(s + p, k).s);
      *t = (vnode){m->unk_score + base, p, m->unk};
    }
    p += k;
  }
  return TPA_OK;
}

/* A run of unk nodes (fused, as HF always does for Unigram), pushed
 * backwards: its text's id if the whole run is a piece, else its bytes'
 * <0xXX> tokens with byte_fallback, else unk. */
static tpa_status push_unk_run(const tpa__tmodel *m, const char *s, size_t n, tpa__idvec *out) {
  int32_t idx = tvocab_find(&m->v, s, n);
  if (idx >= 0)
    return tpa__idvec_push(out, idx);
  if (!m->byte_fallback || !bytes_known(m, s, n))
    return tpa__idvec_push(out, m->unk);
  tpa_status st = TPA_OK;
  for (size_t i = n; i-- > 0 && st == TPA_OK;)
    st = tpa__idvec_push(out, m->byte_id[(unsigned char)s[i]]);
  return st;
}

static tpa_status unigram_encode(const tpa__tmodel *m, const char *s, size_t len, tpa__idvec *out) {
  size_t chars;
  tpa_status st = count_chars(s, len, &chars);
  if (st != TPA_OK || len == 0)
    return st;
  vnode small[SMALL + 1], *best = small;
  if (len > SMALL && !(best = tpa__malloc_array(len + 1, sizeof *best)))
    return TPA__NO_MEMORY("Unigram lattice");
  st = viterbi(m, s, len, best);
  /* Backtrack from the end, pushing ids backwards, then reverse them. */
  size_t mark = out->n, run_start = 0, run_end = 0;
  bool run = false;
  for (size_t end = len; end > 0 && st == TPA_OK; end = best[end].start) {
    if (best[end].id == m->unk) {
      if (!run)
        run_end = end;
      run = true;
      run_start = best[end].start;
      continue;
    }
    if (run)
      st = push_unk_run(m, s + run_start, run_end - run_start, out);
    run = false;
    if (st == TPA_OK)
      st = tpa__idvec_push(out, best[end].id);
  }
  if (run && st == TPA_OK)
    st = push_unk_run(m, s + run_start, run_end - run_start, out);
  for (size_t i = mark, k = out->n; st == TPA_OK && i + 1 < k; i++, k--) {
    int32_t t = out->v[i];
    out->v[i] = out->v[k - 1];
    out->v[k - 1] = t;
  }
  if (best != small)
    free(best);
  return st;
}

/* ------------------------------------------------------------------------ */
/* The interface                                                             */

static const char *const kind_name[] = {"WordPiece", "BPE", "Unigram", "WordLevel"};

/* The model's type: "type", or for files older than it, the first of
 * HF's variants whose fields are there (serde's untagged ModelWrapper). */
static tpa_status model_kind(const tpa__tj_ctx *c, const json_t *j, kind *out) {
  const json_t *t = json_object_get(j, "type");
  if (t) {
    for (int k = 0; k < 4; k++)
      if (json_is_string(t) && strcmp(json_string_value(t), kind_name[k]) == 0) {
        *out = (kind)k;
        return TPA_OK;
      }
    if (!json_is_string(t))
      return tpa__tj_error(c, "\"type\" is not a string");
    return tpa__tj_error(
        c, "unknown model type \"%s\" (libtpa has WordPiece, BPE, Unigram, WordLevel)",
        json_string_value(t));
  }
  const json_t *v = json_object_get(j, "vocab");
  if (json_is_object(v) && json_object_get(j, "merges"))
    *out = BPE;
  else if (json_is_object(v) && json_object_get(j, "continuing_subword_prefix") &&
           json_object_get(j, "max_input_chars_per_word") && json_object_get(j, "unk_token"))
    *out = WORDPIECE;
  else if (json_is_object(v) && json_object_get(j, "unk_token"))
    *out = WORDLEVEL;
  else if (json_is_array(v))
    *out = UNIGRAM;
  else
    return tpa__tj_error(c, "no \"type\" and not the fields of any model type");
  return TPA_OK;
}

tpa_status tpa__tmodel_parse(const tpa__tj_ctx *c, const json_t *j, tpa__tmodel **out) {
  *out = NULL;
  if (!json_is_object(j))
    return tpa__tj_error(c, "is not an object");
  kind k = WORDPIECE;
  tpa_status st = model_kind(c, j, &k);
  if (st != TPA_OK)
    return st;
  tpa__tmodel *m = calloc(1, sizeof *m);
  if (!m)
    return TPA__NO_MEMORY("tokenizer model");
  m->kind = k;
  m->unk = -1;
  switch (k) {
  case WORDPIECE: st = wordpiece_parse(c, j, m); break;
  case BPE: st = bpe_parse(c, j, m); break;
  case UNIGRAM: st = unigram_parse(c, j, m); break;
  case WORDLEVEL: st = wordlevel_parse(c, j, m); break;
  }
  if (st != TPA_OK) {
    tpa__tmodel_free(m);
    return st;
  }
  *out = m;
  return TPA_OK;
}

const char *tpa__tmodel_type(const tpa__tmodel *m) {
  return kind_name[m->kind];
}

size_t tpa__tmodel_vocab_size(const tpa__tmodel *m) {
  return (size_t)((int64_t)m->v.max_id + 1); /* max_id may be INT32_MAX */
}

int32_t tpa__tmodel_token_id(const tpa__tmodel *m, const char *s, size_t len) {
  int32_t idx = tvocab_find(&m->v, s, len);
  return idx >= 0 ? m->v.tok[idx].id : -1;
}

const char *tpa__tmodel_token(const tpa__tmodel *m, int32_t id) {
  return tvocab_token(&m->v, id);
}

tpa_status tpa__tmodel_encode(const tpa__tmodel *m, const char *s, size_t len, tpa__idvec *out) {
  switch (m->kind) {
  case WORDPIECE: return wordpiece_encode(m, s, len, out);
  case BPE: return bpe_encode(m, s, len, out);
  case UNIGRAM: return unigram_encode(m, s, len, out);
  case WORDLEVEL: return wordlevel_encode(m, s, len, out);
  }
  return tpa__error(TPA_ERR_INTERNAL, "tokenizer model of unknown kind");
}

void tpa__tmodel_free(tpa__tmodel *m) {
  if (!m)
    return;
  tvocab_free(&m->v);
  free(m->prefix);
  free(m->suffix);
  free(m->m.key);
  free(m->m.rank);
  free(m->m.new_id);
  free(m->score);
  free(m->prefix_bits);
  free(m);
}
