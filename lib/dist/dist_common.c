/* SPDX-License-Identifier: Apache-2.0 */
/* The parts of lib/dist that need no MPI: shares, status agreement. */
#include <stdlib.h>
#include <string.h>

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

tpa_status tpa__dist_sum_agree_f64(const tpa_dist *d, tpa_status mine, double *buf, size_t n,
                                   const char *what) {
  if (!tpa__dist_active(d))
    return mine;
  /* [buf | one status per rank]: summing a buffer where only this rank's
   * slot is set gathers every rank's status. */
  const size_t size = (size_t)tpa__dist_size(d);
  double *all = calloc(n + size, sizeof *all);
  if (!all) /* cannot take part: the job cannot stay consistent */
    tpa__dist_abort(d, 1);
  if (buf && mine == TPA_OK)
    memcpy(all, buf, n * sizeof *all);
  all[n + (size_t)tpa__dist_rank(d)] = (double)mine;
  tpa_status s = tpa__dist_sum_f64(d, all, n + size, what);
  int32_t bad = -1;
  for (size_t i = 0; s == TPA_OK && i < size && bad < 0; i++)
    if (all[n + i] != 0)
      bad = (int32_t)i;
  const tpa_status theirs = bad >= 0 ? (tpa_status)(int)all[n + (size_t)bad] : TPA_OK;
  if (s == TPA_OK && bad < 0 && buf)
    memcpy(buf, all, n * sizeof *all);
  free(all);
  if (s != TPA_OK || mine != TPA_OK)
    return s != TPA_OK ? s : mine;
  if (bad < 0)
    return TPA_OK;
  return tpa__error(theirs, "%s failed on rank %d of %d (%s); see that rank's message", what, bad,
                    (int)size, tpa_status_str(theirs));
}

tpa_status tpa__dist_agree(const tpa_dist *d, tpa_status mine, const char *what) {
  return tpa__dist_sum_agree_f64(d, mine, NULL, 0, what);
}
