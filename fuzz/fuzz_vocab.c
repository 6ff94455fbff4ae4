/* SPDX-License-Identifier: Apache-2.0 */
/* vocab.txt through tpa_tokenizer_load. An accepted vocabulary then
 * tokenizes and encodes a few fixed texts (pairs, truncation, unknown
 * words, specials in the text), so WordPiece and the hash index run over
 * whatever tokens the input defined. The input's last byte picks the
 * lower-case flag. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/tokenizer.h"

static tpa_fuzz_file vocab;

static const char *const texts[] = {
    "Hello, world! The unaffable runner's [CLS] caf\xC3\xA9 na\xC3\xAFve \xE4\xB8\xAD\xE6\x96\x87",
    "##ing [SEP][MASK] a-b_c 1234567 [UNK] x",
    "",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aa"
    "aaaaaaaaaaaa b",
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&vocab, "vocab.txt");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa_fuzz_file_set(&vocab, data, size);
  bool lower = size > 0 && (data[size - 1] & 1);
  tpa_tokenizer *tok = NULL;
  if (tpa_fuzz_report("vocab", tpa_tokenizer_load(&tok, vocab.path, lower)) != TPA_OK)
    return 0;
  size_t nv = tpa_tokenizer_vocab_size(tok);
  for (size_t i = 0; i < nv; i++) {
    const char *t = tpa_tokenizer_token(tok, (int32_t)i);
    if (!t)
      abort();
    int32_t id = tpa_tokenizer_token_id(tok, t);
    if (id < 0 || strcmp(tpa_tokenizer_token(tok, id), t) != 0)
      abort(); /* every token must be found again */
  }
  int32_t ids[64], types[64];
  size_t n;
  size_t nt = sizeof texts / sizeof *texts;
  for (size_t i = 0; i < nt; i++) {
    const char *b = texts[(i + 1) % nt];
    /* Counts are complete even when the buffer is short; encode never
     * writes more than max_len ids. */
    if (tpa_tokenizer_tokenize(tok, texts[i], ids, 64, &n) == TPA_OK && n > 64)
      abort();
    if (tpa_tokenizer_tokenize(tok, texts[i], ids, 3, &n) == TPA_OK && n > 3)
      abort();
    if (tpa_tokenizer_encode(tok, texts[i], b, 16, ids, types, &n) == TPA_OK && n > 16)
      abort();
    if (tpa_tokenizer_encode(tok, texts[i], NULL, 64, ids, types, &n) == TPA_OK && n > 64)
      abort();
    if (tpa_tokenizer_encode(tok, texts[i], texts[i], 4, ids, types, &n) == TPA_OK && n > 4)
      abort();
  }
  tpa_tokenizer_free(tok);
  return 0;
}
