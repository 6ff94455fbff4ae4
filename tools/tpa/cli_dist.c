/* SPDX-License-Identifier: Apache-2.0 */
/* `mpirun -np N tpa train|importance|run ...` (docs/distributed.md).
 *
 * The program, not the library, owns MPI: when mpirun started this
 * process (OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE in the
 * environment) and tpa was built with MPI, the data-parallel commands
 * call MPI_Init_thread (FUNNELED) and make a tpa_dist for the library.
 * Ranks other than 0 print only errors and write no files. Setup is lazy
 * (after --threads may have re-executed the program, and never in the
 * inference child of `tpa run`). */
#include <stdlib.h>
#include <unistd.h>
#ifdef TPA_CLI_MPI
#include <mpi.h>
#endif

#include "cli.h"

static tpa_dist *dist;
static bool mpi_started;

static bool launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_SIZE");
}

bool cli_dist_setup(void) {
  if (dist || !launched())
    return true;
#ifndef TPA_CLI_MPI
  cli_fail("started by mpirun, but this tpa was built without MPI: every rank would run the "
           "whole job (rebuild with libopenmpi-dev and meson -Dmpi=enabled, or run without "
           "mpirun)");
  return false;
#else
  int inited = 0, provided = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      cli_fail("MPI_Init_thread failed");
      return false;
    }
    mpi_started = true;
  }
  tpa_status st = tpa_dist_create_mpi(&dist, NULL);
  if (st != TPA_OK) {
    cli_fail_lib(st);
    return false;
  }
  if (tpa_dist_rank(dist) != 0) { /* results and progress come from rank 0 */
    fflush(stdout);
    if (!freopen("/dev/null", "w", stdout))
      return cli_fail("rank %d: cannot silence stdout", (int)tpa_dist_rank(dist)), false;
  }
  return true;
#endif
}

const tpa_dist *cli_dist(void) {
  return dist;
}

bool cli_dist_lead(void) {
  return tpa_dist_rank(dist) == 0;
}

int cli_dist_finish(int rc) {
  const int size = (int)tpa_dist_size(dist);
  tpa_dist_free(dist);
  dist = NULL;
#ifdef TPA_CLI_MPI
  if (mpi_started) {
    if (rc != CLI_EXIT_OK && size > 1) {
      /* The other ranks may wait in a collective that will never come:
       * end the whole job (mpirun then reports MPI_ABORT and exits
       * non-zero). A short pause lets their own messages out first. */
      fflush(NULL);
      usleep(300 * 1000);
      MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    mpi_started = false;
  }
#else
  (void)size;
  (void)mpi_started;
#endif
  return rc;
}
