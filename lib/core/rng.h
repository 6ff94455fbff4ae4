/* SPDX-License-Identifier: Apache-2.0 */
/* The one random-number generator of libtpa: splitmix64 (Steele, Lea,
 * Flood 2014), a tiny, well-mixed generator whose whole state is one
 * integer and whose stream depends on nothing but the seed. Every seeded
 * draw uses it: fresh classifiers (model/load.c), LoRA A initialisation
 * (stages/lora.c), dropout masks (model/grad_ops.c), the training shuffle
 * and per-step seeds (stages/train.c). Exact resume depends on all of
 * them drawing the same bits, which is why there is one copy. */
#ifndef TPA_CORE_RNG_H
#define TPA_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The next draw; advances *state. */
static inline uint64_t tpa__rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The draw that follows state @p z, as a pure function: a bijective
 * 64-bit mix that turns a counter into independent-looking bits. */
static inline uint64_t tpa__rng_hash(uint64_t z) {
  return tpa__rng_next(&z);
}

/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint64_t tpa__rng_below(uint64_t *state, uint64_t bound);

/* Fisher-Yates shuffle of perm[0..n) (in place) drawing from @p state. */
void tpa__rng_shuffle(uint64_t *state, size_t *perm, size_t n);

/* A well-mixed 64-bit value from two (e.g. seed and step): the dropout
 * seed of a step, so a resumed run draws the same masks. */
uint64_t tpa__mix64(uint64_t a, uint64_t b);

#endif
