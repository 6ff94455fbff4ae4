/* SPDX-License-Identifier: Apache-2.0 */
/* Locale-independent parsing of STS-B similarity scores. */
#ifndef TPA_DATA_SCORE_H
#define TPA_DATA_SCORE_H

#include <stdbool.h>

/* Parse the whole of @p s as a decimal number: an optional sign, digits
 * with an optional '.' (at least one digit in all), an optional exponent.
 * No spaces, "nan" or "inf". strtod is not used because it follows the
 * caller's LC_NUMERIC (a host program in a German locale would read
 * "3.800" as 3). False when @p s is not such a number. */
bool tpa__parse_decimal(const char *s, double *out);

#endif
