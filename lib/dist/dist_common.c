/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of lib/dist that need no MPI: shares, status agreement. */
#include <stdint.h>

#include "core/error.h"
#include "dist/dist.h"

int32_t tpa_dist_rank(const tpa_dist *dist) {
  return tpa__dist_rank(dist);
}

int32_t tpa_dist_size(const tpa_dist *dist) {
  return tpa__dist_size(dist);
}

bool tpa__dist_active(const tpa_dist *d) {
  return tpa__dist_size(d) > 1;
}

void tpa__dist_share(const tpa_dist *d, size_t n, size_t *begin, size_t *end) {
  const size_t size = (size_t)tpa__dist_size(d), rank = (size_t)tpa__dist_rank(d);
  const size_t q = n / size, rem = n % size;
  *begin = rank * q + (rank < rem ? rank : rem);
  *end = *begin + q + (rank < rem ? 1 : 0);
}

tpa_status tpa__dist_agree(const tpa_dist *d, tpa_status mine, const char *what) {
  if (!tpa__dist_active(d))
    return mine;
  /* The lowest failing rank and its status in one minimum: the rank in the
   * high half, the status in the low half, INT64_MAX for success. */
  int64_t v =
      mine == TPA_OK ? INT64_MAX : (int64_t)((uint64_t)tpa__dist_rank(d) << 32 | (uint32_t)mine);
  tpa_status s = tpa__dist_min_i64(d, &v, what);
  if (s != TPA_OK || mine != TPA_OK)
    return s != TPA_OK ? s : mine;
  if (v == INT64_MAX)
    return TPA_OK;
  const int32_t bad = (int32_t)(v >> 32);
  const tpa_status theirs = (tpa_status)(int32_t)(uint32_t)v;
  return tpa__error(theirs, "%s failed on rank %d of %d (%s); see that rank's message", what, bad,
                    (int)tpa__dist_size(d), tpa_status_str(theirs));
}

tpa_status tpa__dist_sum_agree_f64(const tpa_dist *d, tpa_status mine, double *buf, size_t n,
                                   const char *what) {
  tpa_status s = tpa__dist_agree(d, mine, what);
  if (s == TPA_OK)
    s = tpa__dist_sum_f64(d, buf, n, what);
  return s;
}
