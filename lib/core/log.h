/* SPDX-License-Identifier: Apache-2.0 */
/* Logging and progress through caller-installed callbacks: the library
 * never prints by itself. */
#ifndef TPA_CORE_LOG_H
#define TPA_CORE_LOG_H

#include "tpa/common.h"

/* Format and deliver a message to @p fn; does nothing when fn is NULL. */
void tpa__log(tpa_log_fn fn, void *user, tpa_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Report progress; returns TPA_ERR_CANCELLED (with a message) when the
 * callback asks to stop, TPA_OK otherwise or when fn is NULL. */
tpa_status tpa__progress(tpa_progress_fn fn, void *user, const char *stage, uint64_t done,
                         uint64_t total);

#endif
