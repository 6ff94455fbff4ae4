/* SPDX-License-Identifier: Apache-2.0 */
#include "data/score.h"

#include <math.h>
#include <stdint.h>

enum {
  MAX_DIGITS = 19,     /* significant digits that fit a uint64_t */
  MAX_EXPONENT = 9999, /* far beyond double's range; stops int overflow */
  MAX_SHIFT = 99999    /* bound on the exponent that long digit strings add */
};

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* 10^k for 0 <= k <= 22 is exact in a double, so m / 10^k is then
 * correctly rounded (m < 2^53 holds for every score GLUE writes). */
static double pow10_exact(int k) {
  double p = 1.0;
  for (int i = 0; i < k; i++)
    p *= 10.0;
  return p;
}

bool tpa__parse_decimal(const char *s, double *out) {
  bool negative = false;
  if (*s == '+' || *s == '-')
    negative = *s++ == '-';
  uint64_t mantissa = 0;
  int digits = 0, exponent = 0;
  bool any = false;
  for (; is_digit(*s); s++, any = true) {
    if (digits < MAX_DIGITS) {
      mantissa = mantissa * 10 + (uint64_t)(*s - '0');
      digits += mantissa != 0; /* leading zeros are not significant */
    } else if (exponent < MAX_SHIFT) {
      exponent++;
    }
  }
  if (*s == '.') {
    for (s++; is_digit(*s); s++, any = true) {
      if (digits < MAX_DIGITS && exponent > -MAX_SHIFT) {
        mantissa = mantissa * 10 + (uint64_t)(*s - '0');
        digits += mantissa != 0;
        exponent--;
      }
    }
  }
  if (!any)
    return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    bool exp_negative = false;
    if (*s == '+' || *s == '-')
      exp_negative = *s++ == '-';
    if (!is_digit(*s))
      return false;
    int e = 0;
    for (; is_digit(*s); s++)
      if (e < MAX_EXPONENT)
        e = e * 10 + (*s - '0');
    exponent += exp_negative ? -e : e;
  }
  if (*s != '\0')
    return false;
  double v = (double)mantissa;
  if (mantissa == 0)
    exponent = 0; /* "0e9999" is 0, not 0 * inf */
  if (exponent < 0)
    v = -exponent <= 22 ? v / pow10_exact(-exponent) : v / pow(10.0, -exponent);
  else if (exponent > 0)
    v = exponent <= 22 ? v * pow10_exact(exponent) : v * pow(10.0, exponent);
  *out = negative ? -v : v;
  return true;
}
