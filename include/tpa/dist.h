/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/dist.h
 * @brief Data-parallel training and importance over MPI (docs/distributed.md).
 *
 * A tpa_dist wraps a duplicate of an MPI communicator. Pass it as the
 * `dist` field of tpa_train_params or tpa_importance_params and call the
 * stage on EVERY rank with the same arguments: each rank computes its
 * shard of every global batch, gradients (or importance sums) are summed
 * over the ranks, and every rank ends with the same weights (or table).
 * The result equals the single-process one up to floating-point summation
 * order.
 *
 * libtpa never calls MPI_Init or MPI_Finalize: the program does, before
 * tpa_dist_create_mpi() and after tpa_dist_free(). This header mentions
 * no MPI type; the ABI is the same whether or not libtpa was built with
 * MPI (`-Dmpi=disabled` builds return TPA_ERR_UNSUPPORTED from
 * tpa_dist_create_mpi()).
 *
 * Thread safety: a tpa_dist is used by one thread at a time (the thread
 * that initialised MPI, MPI_THREAD_FUNNELED is enough).
 */
#ifndef TPA_DIST_H
#define TPA_DIST_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Whether this libtpa was built with MPI support.
 * @return true for an MPI build, false for a `-Dmpi=disabled` one (whose
 *         tpa_dist_create_mpi() always fails with TPA_ERR_UNSUPPORTED).
 * @since 0.2.0
 */
TPA_API bool tpa_dist_available(void);

/**
 * Create a communicator handle for data parallelism.
 * @param out receives the handle (NULL on failure), owned by the caller
 *        and freed with tpa_dist_free(); must not be NULL.
 * @param mpi_comm points to an `MPI_Comm` (borrowed for the call: the
 *        library keeps its own MPI_Comm_dup of it), or NULL for
 *        MPI_COMM_WORLD.
 * @return TPA_OK; TPA_ERR_UNSUPPORTED when libtpa was built without MPI
 *         or MPI is not initialised (or already finalized);
 *         TPA_ERR_BACKEND if MPI fails; TPA_ERR_INVALID_ARGUMENT if @p out
 *         is NULL (MPI builds); TPA_ERR_NO_MEMORY.
 * @since 0.2.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_dist_create_mpi(tpa_dist **out, const void *mpi_comm);

/**
 * This process's rank (0 for NULL).
 * @param dist the handle (borrowed), or NULL for a single process.
 * @return the rank in the handle's communicator, 0 to size - 1; 0 for NULL.
 * @since 0.2.0
 */
TPA_API int32_t tpa_dist_rank(const tpa_dist *dist);

/**
 * Number of ranks (1 for NULL).
 * @param dist the handle (borrowed), or NULL for a single process.
 * @return the size of the handle's communicator; 1 for NULL.
 * @since 0.2.0
 */
TPA_API int32_t tpa_dist_size(const tpa_dist *dist);

/**
 * Free the handle (MPI_Comm_free; call before MPI_Finalize). NULL is allowed.
 * @param dist the handle from tpa_dist_create_mpi() (ownership passes to
 *        the call), or NULL (nothing happens).
 * @since 0.2.0
 */
TPA_API void tpa_dist_free(tpa_dist *dist);

#ifdef __cplusplus
}
#endif
#endif /* TPA_DIST_H */
