/* SPDX-License-Identifier: Apache-2.0 */
/* Fault injection for tests, in the spirit of SQLite's test hooks: a
 * failure path that a real run reaches only by running out of memory is
 * proved by making a named site fail on request. The environment
 * variable TPA_TEST_FAULT=SITE makes tpa__fault(SITE) true in that
 * process. Sites are few and off the hot paths (docs/testing.md lists
 * them); unset, nothing changes. */
#ifndef TPA_CORE_FAULT_H
#define TPA_CORE_FAULT_H

#include <stdbool.h>

/* True when the test asked site @p site to fail. */
bool tpa__fault(const char *site);

#endif
