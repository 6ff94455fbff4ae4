/* SPDX-License-Identifier: Apache-2.0 */
/* lib/dist over MPI: the only file of libtpa that includes mpi.h.
 *
 * The handle holds a duplicate of the caller's communicator, so libtpa's
 * collectives never mix with the program's own messages. The duplicate
 * returns errors (MPI_ERRORS_RETURN) instead of aborting: a failed MPI
 * call becomes TPA_ERR_BACKEND for the caller, as everywhere in libtpa. A
 * rank that dies still ends the job through mpirun (no rank can continue
 * a data-parallel step alone); that is the launcher's doing, not ours. */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

#include "core/error.h"
#include "dist/dist.h"

struct tpa_dist {
  MPI_Comm comm;
  int32_t rank, size;
};

/* Collectives move at most this many elements per call (MPI counts are int). */
#define CHUNK ((size_t)1 << 28)

bool tpa_dist_available(void) {
  return true;
}

static tpa_status mpi_fail(int rc, const char *call, const char *what) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
    len = 0;
  msg[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
  return tpa__error(TPA_ERR_BACKEND, "%s of %s failed: %s", call, what, len ? msg : "MPI error");
}

tpa_status tpa_dist_create_mpi(tpa_dist **out, const void *mpi_comm) {
  tpa__error_clear();
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_dist_create_mpi: NULL out");
  *out = NULL;
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (!inited || finalized)
    return tpa__error(TPA_ERR_UNSUPPORTED,
                      "tpa_dist_create_mpi: MPI is %s (the program calls MPI_Init before and "
                      "MPI_Finalize after using libtpa over MPI)",
                      finalized ? "already finalized" : "not initialized");
  tpa_dist *d = calloc(1, sizeof *d);
  if (!d)
    return TPA__NO_MEMORY("tpa_dist");
  const MPI_Comm base = mpi_comm ? *(const MPI_Comm *)mpi_comm : MPI_COMM_WORLD;
  int rc = MPI_Comm_dup(base, &d->comm);
  if (rc != MPI_SUCCESS) {
    free(d);
    return mpi_fail(rc, "MPI_Comm_dup", "the communicator");
  }
  rc = MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
  if (rc != MPI_SUCCESS) {
    MPI_Comm_free(&d->comm);
    free(d);
    return mpi_fail(rc, "MPI_Comm_set_errhandler", "the communicator");
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(d->comm, &rank);
  MPI_Comm_size(d->comm, &size);
  d->rank = rank;
  d->size = size;
  *out = d;
  return TPA_OK;
}

void tpa_dist_free(tpa_dist *dist) {
  if (!dist)
    return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Comm_free(&dist->comm);
  free(dist);
}

int32_t tpa__dist_rank(const tpa_dist *d) {
  return d ? d->rank : 0;
}

int32_t tpa__dist_size(const tpa_dist *d) {
  return d ? d->size : 1;
}

static tpa_status sum(const tpa_dist *d, void *buf, size_t n, size_t elem, MPI_Datatype t,
                      const char *what) {
  if (!tpa__dist_active(d))
    return TPA_OK;
  for (size_t off = 0; off < n; off += CHUNK) {
    const size_t k = n - off < CHUNK ? n - off : CHUNK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * elem, (int)k, t, MPI_SUM, d->comm);
    if (rc != MPI_SUCCESS)
      return mpi_fail(rc, "MPI_Allreduce", what);
  }
  return TPA_OK;
}

tpa_status tpa__dist_sum_f32(const tpa_dist *d, float *buf, size_t n, const char *what) {
  return sum(d, buf, n, sizeof *buf, MPI_FLOAT, what);
}

tpa_status tpa__dist_sum_f64(const tpa_dist *d, double *buf, size_t n, const char *what) {
  return sum(d, buf, n, sizeof *buf, MPI_DOUBLE, what);
}

tpa_status tpa__dist_min_i64(const tpa_dist *d, int64_t *v, const char *what) {
  if (!tpa__dist_active(d))
    return TPA_OK;
  int rc = MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_INT64_T, MPI_MIN, d->comm);
  return rc == MPI_SUCCESS ? TPA_OK : mpi_fail(rc, "MPI_Allreduce", what);
}

tpa_status tpa__dist_bcast(const tpa_dist *d, void *buf, size_t bytes, int32_t root,
                           const char *what) {
  if (!tpa__dist_active(d))
    return TPA_OK;
  for (size_t off = 0; off < bytes; off += CHUNK) {
    const size_t k = bytes - off < CHUNK ? bytes - off : CHUNK;
    int rc = MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, root, d->comm);
    if (rc != MPI_SUCCESS)
      return mpi_fail(rc, "MPI_Bcast", what);
  }
  return TPA_OK;
}
