/* SPDX-License-Identifier: Apache-2.0 */
#include "io/half.h"

#include <string.h>

/* The bulk converters read 16-bit values with memcpy (little-endian). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the safetensors readers assume a little-endian host"
#endif

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* Branch-free so that the bulk loop below vectorizes: every case is
 * computed and one is selected. Subnormal halves go through an integer to
 * float conversion (mant * 2^-24, exact) rather than through a subnormal
 * float, so a flush-to-zero/denormals-are-zero CPU mode cannot alter them. */
static inline uint32_t f16_bits(uint32_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t em = h & 0x7FFFu;
  uint32_t normal = (em << 13) + 0x38000000u;   /* exponent 15 -> 127 bias */
  uint32_t infnan = (em << 13) | 0x7F800000u;   /* keeps the NaN payload */
  uint32_t sub = to_bits((float)em * 0x1p-24f); /* zero or subnormal */
  /* masks rather than ?: so the compiler emits no branch */
  uint32_t is_special = 0u - (uint32_t)(em >= 0x7C00u);
  uint32_t is_normal = 0u - (uint32_t)(em >= 0x0400u);
  return sign | (infnan & is_special) | (normal & is_normal & ~is_special) | (sub & ~is_normal);
}

float tpa__f16_to_f32(uint16_t h) {
  return from_bits(f16_bits(h));
}

float tpa__bf16_to_f32(uint16_t h) {
  return from_bits((uint32_t)h << 16);
}

uint16_t tpa__f32_to_bf16(float f) {
  uint32_t u = to_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) /* NaN: keep sign, force quiet */
    return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even; may carry to inf */
  return (uint16_t)(u >> 16);
}

uint16_t tpa__f32_to_f16(float f) {
  uint32_t u = to_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7FFFFFFFu;
  if (a > 0x7F800000u) /* NaN: quiet, keep the top payload bits */
    return (uint16_t)(sign | 0x7E00u | ((a >> 13) & 0x3FFu));
  if (a >= 0x477FF000u) /* >= 65520 (halfway past 65504) rounds to inf */
    return (uint16_t)(sign | 0x7C00u);
  if (a < 0x38800000u) {
    /* Below 2^-14: subnormal half. The result is round(|f| * 2^24); add
     * 0.5 (exactly 2^-1) via float arithmetic is not tie-to-even safe, so
     * do it on the integer significand. */
    if (a < 0x33000000u) /* < 2^-25: rounds to zero (2^-25 itself ties to 0) */
      return sign;
    uint32_t e = a >> 23;                     /* biased exponent, 102..112 */
    uint32_t m = (a & 0x7FFFFFu) | 0x800000u; /* 24-bit significand */
    uint32_t shift = 126u - e;                /* value = m * 2^(e-150); want * 2^24 */
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u)))
      q++;
    return (uint16_t)(sign | q); /* q == 0x400 becomes the smallest normal */
  }
  /* Normal: rebias the exponent and round the 13 dropped bits. */
  uint32_t r = a - 0x38000000u; /* exponent 127 -> 15 */
  r += 0xFFFu + ((r >> 13) & 1u);
  return (uint16_t)(sign | (r >> 13));
}

void tpa__f16_to_f32_n(const void *src, float *dst, size_t n) {
  const unsigned char *p = src;
  uint32_t *out = (uint32_t *)(void *)dst; /* written as bits: no FP rounding */
  for (size_t i = 0; i < n; i++) {
    uint16_t h; /* memcpy: any alignment; the host is little-endian */
    memcpy(&h, p + 2 * i, sizeof h);
    out[i] = f16_bits(h);
  }
}

void tpa__bf16_to_f32_n(const void *src, float *dst, size_t n) {
  const unsigned char *p = src;
  uint32_t *out = (uint32_t *)(void *)dst;
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, p + 2 * i, sizeof h);
    out[i] = (uint32_t)h << 16;
  }
}
