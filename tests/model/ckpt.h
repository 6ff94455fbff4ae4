/* SPDX-License-Identifier: Apache-2.0 */
/* Tiny HF checkpoint directories built by the tests themselves: config.json,
 * vocab.txt and model.safetensors (through the library's writer), with
 * knobs for every way a checkpoint can be wrong. Weight values follow a
 * formula (ckpt_value) so tests can check what the loader read without
 * trusting the loader. */
#ifndef TPA_TESTS_CKPT_H
#define TPA_TESTS_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"

typedef struct ckpt_spec {
  int32_t layers, hidden, heads, inter, vocab, max_pos, type_vocab;
  int32_t num_labels;      /* size of the written classifier (and config) */
  bool prefix;             /* "bert." before encoder names */
  bool classifier;         /* write classifier.{weight,bias} */
  bool legacy_ln;          /* LayerNorm.gamma/beta instead of weight/bias */
  tpa__dtype dtype;        /* F32, F16 or BF16 for every float tensor */
  const char *pruned_json; /* value of "pruned_heads", e.g. {"0": [1]}, or NULL */
  const bool *pruned;      /* [layers*heads] matching pruned_json, or NULL */
  const char *extra_json;  /* more config keys, e.g. "\"problem_type\": \"x\"", or NULL */
  const char *drop;        /* a tensor name to leave out, or NULL */
  const char *reshape;     /* a tensor name whose first dim gets +1, or NULL */
  const char *as_i64;      /* a tensor name written with dtype I64, or NULL */
  const char *vocab_text;  /* vocab.txt contents; NULL: the default tiny vocab */
} ckpt_spec;

/* 2 layers, hidden 8, 2 heads, FFN 12, vocab 16, 10 positions, 2 types,
 * 2 labels, "bert." prefix, classifier, F32. */
ckpt_spec ckpt_default(void);

/* Write the directory @p dir (created if needed). Aborts the test on
 * failure. Returns the number of parameters written (the sum of element
 * counts of the model's tensors), an independent count for the loader. */
uint64_t ckpt_write(const char *dir, const ckpt_spec *s);

/* The value element @p i of tensor @p name holds: a multiple of 1/64 in
 * [-30/64, 30/64], exact in F32, F16 and BF16. */
float ckpt_value(const char *name, size_t i);

/* A fresh empty directory under the test's temporary root. */
char *ckpt_tmpdir(const char *tag);

/* Write @p n bytes to dir/name. */
void ckpt_write_file(const char *dir, const char *name, const void *data, size_t n);

/* Read dir/name whole (free()); *n its size. */
unsigned char *ckpt_read_file(const char *dir, const char *name, size_t *n);

/* Remove a directory tree made by ckpt_tmpdir. */
void ckpt_rmtree(const char *dir);

/* Remove every directory ckpt_tmpdir made (at the end of main). */
void ckpt_cleanup(void);

#endif
