/* SPDX-License-Identifier: Apache-2.0 */
/* vocab.txt as a token table with a hash index (open addressing, linear
 * probing) so WordPiece looks up pieces without building strings. */
#ifndef TPA_TEXT_VOCAB_H
#define TPA_TEXT_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

typedef struct tpa__vocab {
  char *blob;          /* all tokens, each NUL-terminated, in id order */
  uint32_t *off;       /* [n] start of token id in blob */
  uint32_t *len;       /* [n] its length in bytes */
  uint32_t *slot;      /* [mask + 1] id + 1 of the token stored there; 0 = empty */
  uint32_t *slot_hash; /* [mask + 1] that token's hash, to skip most compares */
  size_t mask;
  size_t n;
  size_t max_len; /* longest token in bytes (bounds WordPiece's search) */
} tpa__vocab;

/* Read @p path: one token per line, id = 0-based line number, "\n" or
 * "\r\n" line ends, no empty token after a final newline. Refuses
 * invalid UTF-8 and duplicate tokens (TPA_ERR_VOCAB, naming file and
 * line). On failure *v is left empty. */
tpa_status tpa__vocab_load(tpa__vocab *v, const char *path);

void tpa__vocab_free(tpa__vocab *v);

/* Id of the token s[0..n), preceded by "##" when @p cont; -1 if absent. */
int32_t tpa__vocab_find(const tpa__vocab *v, bool cont, const char *s, size_t n);

static inline const char *tpa__vocab_token(const tpa__vocab *v, size_t id) {
  return v->blob + v->off[id];
}

#endif
