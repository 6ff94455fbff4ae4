/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_backend_version: which oneDNN the library runs with, read from the
 * loaded libdnnl at run time (it may differ from the headers it was built
 * against, within one soname). */
#include <pthread.h>
#include <stdio.h>

#include "nn/nn_internal.h"

static char backend[96];
static pthread_once_t backend_once = PTHREAD_ONCE_INIT;

static const char *runtime_name(unsigned runtime) {
  switch (runtime) {
  case DNNL_RUNTIME_SEQ: return "sequential";
  case DNNL_RUNTIME_OMP: return "OpenMP";
  case DNNL_RUNTIME_TBB: return "TBB";
  case DNNL_RUNTIME_THREADPOOL: return "threadpool";
  default: return "unknown runtime";
  }
}

static void describe_backend(void) {
  const dnnl_version_t *v = dnnl_version();
  snprintf(backend, sizeof backend, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch,
           runtime_name(v->cpu_runtime));
}

TPA_API const char *tpa_backend_version(void) {
  pthread_once(&backend_once, describe_backend);
  return backend;
}
