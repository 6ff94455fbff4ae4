/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread error message: the only global state in libtpa. */
#ifndef TPA_CORE_ERROR_H
#define TPA_CORE_ERROR_H

#include "tpa/common.h"

/* Record a formatted message for the calling thread and return @p st, so
 * that failure paths read `return tpa__error(TPA_ERR_X, "...", ...);`. */
tpa_status tpa__error(tpa_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context ("loading DIR: <old>") and
 * return @p st unchanged. Used when an inner layer does not know the file. */
tpa_status tpa__error_prefix(tpa_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Forget the calling thread's message (public calls start with it). */
void tpa__error_clear(void);

/* The status of a failed open, stat or mkdir from its errno: the one
 * place where "the path is not there" (ENOENT, or ENOTDIR: a file where a
 * directory should be) becomes TPA_ERR_NOT_FOUND; anything else is
 * TPA_ERR_IO. */
tpa_status tpa__errno_status(int err);

/* Shorthand for the most common failure. */
#define TPA__NO_MEMORY(what) tpa__error(TPA_ERR_NO_MEMORY, "out of memory (%s)", (what))

#endif
