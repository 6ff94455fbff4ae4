/* SPDX-License-Identifier: Apache-2.0 */
#include "core/fault.h"

#include <stdlib.h>
#include <string.h>

bool tpa__fault(const char *site) {
  const char *want = getenv("TPA_TEST_FAULT");
  return want != NULL && strcmp(want, site) == 0;
}
