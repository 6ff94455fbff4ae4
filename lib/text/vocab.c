/* SPDX-License-Identifier: Apache-2.0 */
#include "text/vocab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "text/utf8.h"

/* A vocab is a few hundred kilobytes; refusing absurd sizes keeps every
 * offset in 32 bits. */
#define VOCAB_MAX_BYTES ((size_t)1 << 30)

/* FNV-1a, continued from @p h so "##" + piece hashes without a copy. */
static uint32_t fnv1a(uint32_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}
#define FNV_SEED 2166136261u

static uint32_t hash_piece(bool cont, const char *s, size_t n) {
  uint32_t h = FNV_SEED;
  if (cont)
    h = fnv1a(h, "##", 2);
  return fnv1a(h, s, n);
}

int32_t tpa__vocab_find(const tpa__vocab *v, bool cont, const char *s, size_t n) {
  size_t want = n + (cont ? 2 : 0);
  if (want > v->max_len)
    return -1;
  uint32_t h = hash_piece(cont, s, n);
  for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
    uint32_t id1 = v->slot[i];
    if (id1 == 0)
      return -1;
    if (v->slot_hash[i] != h || v->len[id1 - 1] != want)
      continue;
    const char *t = v->blob + v->off[id1 - 1];
    if (cont && (t[0] != '#' || t[1] != '#'))
      continue;
    if (memcmp(t + (cont ? 2 : 0), s, n) == 0)
      return (int32_t)(id1 - 1);
  }
}

void tpa__vocab_free(tpa__vocab *v) {
  if (!v)
    return;
  free(v->blob);
  free(v->off);
  free(v->len);
  free(v->slot);
  free(v->slot_hash);
  memset(v, 0, sizeof *v);
}

/* The whole file into a NUL-terminated buffer. */
static tpa_status read_file(const char *path, char **out, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return tpa__error(tpa__errno_status(errno), "vocab %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return tpa__error(TPA_ERR_IO, "vocab %s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > VOCAB_MAX_BYTES) {
    fclose(f);
    return tpa__error(TPA_ERR_VOCAB, "vocab %s: %lld bytes is too large for a vocabulary", path,
                      (long long)st.st_size);
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    fclose(f);
    return TPA__NO_MEMORY("vocab file");
  }
  size_t got = fread(buf, 1, n, f);
  int err = ferror(f);
  fclose(f);
  if (err || got != n) {
    free(buf);
    return tpa__error(TPA_ERR_IO, "vocab %s: read %zu of %zu bytes", path, got, n);
  }
  buf[n] = '\0';
  *out = buf;
  *size = n;
  return TPA_OK;
}

/* Split the buffer into lines in place (line ends become NUL) and record
 * each token's offset and length. */
static tpa_status split_lines(tpa__vocab *v, const char *path, size_t size) {
  size_t lines = 0;
  for (size_t i = 0; i < size; i++)
    lines += v->blob[i] == '\n';
  if (size > 0 && v->blob[size - 1] != '\n')
    lines++; /* last line without a newline */
  v->off = tpa__malloc_array(lines, sizeof *v->off);
  v->len = tpa__malloc_array(lines, sizeof *v->len);
  if (!v->off || !v->len)
    return TPA__NO_MEMORY("vocab index");
  size_t start = 0, id = 0;
  for (size_t i = 0; i <= size && id < lines; i++) {
    if (i < size && v->blob[i] != '\n')
      continue;
    size_t end = i;
    if (end > start && v->blob[end - 1] == '\r')
      end--; /* CRLF files */
    v->blob[end] = '\0';
    if (memchr(v->blob + start, '\0', end - start))
      return tpa__error(TPA_ERR_VOCAB, "vocab %s: line %zu contains a NUL byte", path, id + 1);
    if (tpa__utf8_check((const unsigned char *)v->blob + start, end - start) != end - start)
      return tpa__error(TPA_ERR_VOCAB, "vocab %s: line %zu is not valid UTF-8", path, id + 1);
    v->off[id] = (uint32_t)start;
    v->len[id] = (uint32_t)(end - start);
    if (end - start > v->max_len)
      v->max_len = end - start;
    id++;
    start = i + 1;
  }
  v->n = lines;
  return TPA_OK;
}

static tpa_status build_index(tpa__vocab *v, const char *path) {
  size_t cap = 16;
  while (cap < 2 * v->n) /* load factor <= 1/2 keeps probes short */
    cap *= 2;
  v->slot = tpa__calloc(cap, sizeof *v->slot);
  v->slot_hash = tpa__calloc(cap, sizeof *v->slot_hash);
  if (!v->slot || !v->slot_hash)
    return TPA__NO_MEMORY("vocab hash table");
  v->mask = cap - 1;
  for (size_t id = 0; id < v->n; id++) {
    const char *t = v->blob + v->off[id];
    uint32_t h = hash_piece(false, t, v->len[id]);
    size_t i = h & v->mask;
    for (; v->slot[i]; i = (i + 1) & v->mask) {
      uint32_t other = v->slot[i] - 1;
      if (v->slot_hash[i] == h && v->len[other] == v->len[id] &&
          memcmp(v->blob + v->off[other], t, v->len[id]) == 0)
        return tpa__error(TPA_ERR_VOCAB,
                          "vocab %s: token \"%.64s\" appears on lines %u and %zu (HF would keep "
                          "the last id; libtpa refuses duplicate tokens)",
                          path, t, other + 1, id + 1);
    }
    v->slot[i] = (uint32_t)id + 1;
    v->slot_hash[i] = h;
  }
  return TPA_OK;
}

tpa_status tpa__vocab_load(tpa__vocab *v, const char *path) {
  memset(v, 0, sizeof *v);
  size_t size = 0;
  tpa_status st = read_file(path, &v->blob, &size);
  if (st == TPA_OK)
    st = split_lines(v, path, size);
  if (st == TPA_OK && v->n > INT32_MAX - 1)
    st = tpa__error(TPA_ERR_VOCAB, "vocab %s: %zu tokens do not fit int32 ids", path, v->n);
  if (st == TPA_OK)
    st = build_index(v, path);
  if (st != TPA_OK)
    tpa__vocab_free(v);
  return st;
}
