/* SPDX-License-Identifier: Apache-2.0 */
/* IEEE half (F16) and bfloat16 (BF16) <-> float, bit-exact. Widening is
 * exact for every value (subnormals, infinities, NaN payloads); narrowing
 * rounds to nearest, ties to even, as PyTorch and numpy do. */
#ifndef TPA_IO_HALF_H
#define TPA_IO_HALF_H

#include <stddef.h>
#include <stdint.h>

float tpa__f16_to_f32(uint16_t h);
float tpa__bf16_to_f32(uint16_t h);
uint16_t tpa__f32_to_f16(float f);
uint16_t tpa__f32_to_bf16(float f);

/* Convert @p n little-endian 16-bit values at @p src (any alignment). */
void tpa__f16_to_f32_n(const void *src, float *dst, size_t n);
void tpa__bf16_to_f32_n(const void *src, float *dst, size_t n);

#endif
