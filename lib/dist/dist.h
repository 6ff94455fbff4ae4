/* SPDX-License-Identifier: Apache-2.0 */
/* Data parallelism over MPI, for the stages (docs/distributed.md).
 *
 * Every function takes a possibly NULL communicator: NULL (or a size-1
 * one) means a single process and every collective is a no-op. All
 * collectives must be called by every rank in the same order; the stages
 * keep that true even on errors by agreeing on a status (tpa__dist_agree,
 * or an error flag inside the reduced buffer) instead of returning early.
 * Failures come back to every rank as a status: the library never ends
 * the process (only the `tpa` command decides to abort a job). */
#ifndef TPA_DIST_DIST_H
#define TPA_DIST_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/dist.h"

/* Rank (0 for NULL) and size (1 for NULL). */
int32_t tpa__dist_rank(const tpa_dist *d);
int32_t tpa__dist_size(const tpa_dist *d);
/* True when @p d spans more than one process. */
bool tpa__dist_active(const tpa_dist *d);

/* In-place element-wise sums over all ranks (MPI_Allreduce, MPI_SUM).
 * @p what names the buffer in the error message. */
tpa_status tpa__dist_sum_f32(const tpa_dist *d, float *buf, size_t n, const char *what);
tpa_status tpa__dist_sum_f64(const tpa_dist *d, double *buf, size_t n, const char *what);
/* In-place minimum of one value over all ranks (MPI_Allreduce, MPI_MIN). */
tpa_status tpa__dist_min_i64(const tpa_dist *d, int64_t *v, const char *what);
/* @p bytes of @p buf from rank @p root to every rank (MPI_Bcast). */
tpa_status tpa__dist_bcast(const tpa_dist *d, void *buf, size_t bytes, int32_t root,
                           const char *what);

/* Collective agreement on a status: every rank passes its own; all ranks
 * get TPA_OK only if every rank had TPA_OK. A rank that failed keeps its
 * own status and message; the others get the status of the lowest failing
 * rank with a message naming @p what and that rank. Allocates nothing, so
 * a rank that ran out of memory can still take part: no rank is left
 * waiting and nothing needs to end the process. */
tpa_status tpa__dist_agree(const tpa_dist *d, tpa_status mine, const char *what);

/* tpa__dist_agree, then, when every rank succeeded, an in-place sum of
 * @p buf ([n], the same n on every rank). */
tpa_status tpa__dist_sum_agree_f64(const tpa_dist *d, tpa_status mine, double *buf, size_t n,
                                   const char *what);

/* Contiguous share [*begin, *end) of n items for this rank: the first
 * n % size ranks get one more. */
void tpa__dist_share(const tpa_dist *d, size_t n, size_t *begin, size_t *end);

#endif
