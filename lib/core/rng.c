/* SPDX-License-Identifier: Apache-2.0 */
#include "core/rng.h"

uint64_t tpa__rng_below(uint64_t *state, uint64_t bound) {
  /* Reject the top partial copy of [0, bound) so every value is equally
   * likely. */
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    uint64_t r = tpa__rng_next(state);
    if (r < limit)
      return r % bound;
  }
}

void tpa__rng_shuffle(uint64_t *state, size_t *perm, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)tpa__rng_below(state, (uint64_t)i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}

uint64_t tpa__mix64(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0xD1B54A32D192ED03ull);
  tpa__rng_next(&s);
  return tpa__rng_next(&s);
}
