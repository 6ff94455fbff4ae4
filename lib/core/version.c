/* SPDX-License-Identifier: Apache-2.0 */
#include "tpa/common.h"

/* TPA_VERSION_* come from the header the library was built with; the test
 * suite checks that these run-time answers agree with the macros. */
TPA_API const char *tpa_version(void) {
  return TPA_VERSION_STRING;
}

TPA_API uint32_t tpa_version_number(void) {
  return TPA_VERSION_NUMBER;
}
