/* SPDX-License-Identifier: Apache-2.0 */
/* lib/dist without MPI (-Dmpi=disabled, or no MPI found): the same
 * exported symbols, a communicator can never be created, so every
 * collective sees NULL and is a no-op. */
#include <stdlib.h>

#include "core/error.h"
#include "dist/dist.h"

bool tpa_dist_available(void) {
  return false;
}

tpa_status tpa_dist_create_mpi(tpa_dist **out, const void *mpi_comm) {
  (void)mpi_comm;
  tpa__error_clear();
  if (out)
    *out = NULL;
  return tpa__error(TPA_ERR_UNSUPPORTED,
                    "tpa_dist_create_mpi: this libtpa was built without MPI (rebuild with "
                    "libopenmpi-dev installed and meson -Dmpi=enabled)");
}

void tpa_dist_free(tpa_dist *dist) {
  (void)dist;
}

int32_t tpa__dist_rank(const tpa_dist *d) {
  (void)d;
  return 0;
}

int32_t tpa__dist_size(const tpa_dist *d) {
  (void)d;
  return 1;
}

tpa_status tpa__dist_sum_f32(const tpa_dist *d, float *buf, size_t n, const char *what) {
  (void)d, (void)buf, (void)n, (void)what;
  return TPA_OK;
}

tpa_status tpa__dist_sum_f64(const tpa_dist *d, double *buf, size_t n, const char *what) {
  (void)d, (void)buf, (void)n, (void)what;
  return TPA_OK;
}

tpa_status tpa__dist_min_i64(const tpa_dist *d, int64_t *v, const char *what) {
  (void)d, (void)v, (void)what;
  return TPA_OK;
}

tpa_status tpa__dist_bcast(const tpa_dist *d, void *buf, size_t bytes, int32_t root,
                           const char *what) {
  (void)d, (void)buf, (void)bytes, (void)root, (void)what;
  return TPA_OK;
}
