/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json through tpa_tokenizer_load_json: the normalizers,
 * pre-tokenizers (with their PCRE2 regexes), models (WordPiece, BPE,
 * Unigram, WordLevel), added tokens and post-processors of a Hugging Face
 * fast-tokenizer file. An accepted file then encodes a few fixed texts
 * (ASCII, accents, CJK, emoji, special-token look-alikes, empty, pairs) at
 * two lengths and tokenizes them, and every token string and the
 * description are read, so whatever tables the input built are walked
 * whole under the sanitizers. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/tokenizer.h"

static tpa_fuzz_file file;

static const char *const texts[] = {
    "Hello, world! The unaffable runner's 12345 tokens.",
    "caf\xC3\xA9 na\xC3\xAFve e\xCC\x81t\xC3\xA9 \xC3\x85ngstr\xC3\xB6m \xEF\xAC\x81 "
    "x\xE2\x80\x8By",
    "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97 "
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x80\x80\xED\x95\x9C",
    "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x99\x82 "
    "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
    "<s>[CLS] <mask>[SEP]</s>  <pad>[UNK]",
    "",
};
#define N_TEXTS (sizeof texts / sizeof *texts)

/* Ids read one by one: all of them up to this many, then the last few
 * (a tiny file may declare an id near INT32_MAX). */
#define MAX_WALK 65536

static void check_token(const tpa_tokenizer *tok, size_t id) {
  const char *t = tpa_tokenizer_token(tok, (int32_t)id);
  if (t && tpa_tokenizer_token_id(tok, t) < 0)
    abort(); /* a token's own text must be found again */
}

static void check_ids(const int32_t *ids, size_t n, size_t cap, size_t vocab) {
  if (n > cap)
    abort();
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || (size_t)ids[i] >= vocab)
      abort(); /* every id is below vocab_size */
}

/* Tokenize into @p cap ids: a short buffer gets the full count, and what
 * was written of it must be valid ids. (The vocab.txt path writes the
 * first @p cap ids as tpa_tokenizer_tokenize() documents; the
 * tokenizer.json path writes none, so unwritten slots keep a marker.) */
#define UNWRITTEN INT32_MIN
static void check_tokenize(const tpa_tokenizer *tok, const char *text, size_t cap, size_t vocab) {
  int32_t ids[64];
  for (size_t i = 0; i < cap; i++)
    ids[i] = UNWRITTEN;
  size_t n;
  tpa_status st = tpa_tokenizer_tokenize(tok, text, ids, cap, &n);
  if (st == TPA_OK)
    check_ids(ids, n, cap, vocab);
  else if (st == TPA_ERR_BUFFER_TOO_SMALL) {
    if (n <= cap)
      abort();
    for (size_t i = 0; i < cap; i++)
      if (ids[i] != UNWRITTEN && (ids[i] < 0 || (size_t)ids[i] >= vocab))
        abort();
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&file, "tokenizer.json");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&file, data, size);
  tpa_tokenizer *tok = NULL;
  if (tpa_fuzz_report("tokenizer.json", tpa_tokenizer_load_json(&tok, file.path)) != TPA_OK) {
    if (tok)
      abort(); /* a failed load leaves the output NULL */
    return 0;
  }
  const char *d = tpa_tokenizer_describe(tok);
  if (!d || !*d)
    abort();
  size_t nv = tpa_tokenizer_vocab_size(tok);
  if (nv > (size_t)INT32_MAX + 1)
    abort();
  for (size_t i = 0; i < nv && i < MAX_WALK; i++)
    check_token(tok, i);
  for (size_t i = nv > MAX_WALK + 16 ? nv - 16 : nv; i < nv; i++)
    check_token(tok, i);
  if (tpa_tokenizer_token(tok, -1) || (nv <= INT32_MAX && tpa_tokenizer_token(tok, (int32_t)nv)))
    abort();

  int32_t ids[64], types[64];
  size_t n;
  static const int32_t lens[] = {64, 5};
  for (size_t i = 0; i < N_TEXTS; i++) {
    const char *b = texts[(i + 1) % N_TEXTS];
    check_tokenize(tok, texts[i], 64, nv);
    check_tokenize(tok, texts[i], 2, nv);
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
      if (tpa_tokenizer_encode(tok, texts[i], NULL, lens[l], ids, types, &n) == TPA_OK)
        check_ids(ids, n, (size_t)lens[l], nv);
      if (tpa_tokenizer_encode(tok, texts[i], b, lens[l], ids, types, &n) == TPA_OK)
        check_ids(ids, n, (size_t)lens[l], nv);
    }
  }
  tpa_tokenizer_free(tok);
  return 0;
}
