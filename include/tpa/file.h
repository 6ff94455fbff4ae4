/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/file.h
 * @brief Output files written whole or not at all, the way libtpa writes
 *        its own outputs.
 *
 * Bytes go to a temporary file beside the destination
 * ("<path>.tmp.XXXXXX", mode 0644, flock()ed while open). Commit flushes it
 * to disk, renames it over the destination and syncs the directory, so a
 * reader, a crash or a full disk sees either the old file or the complete
 * new one, never a half-written one. Abort, and any failed write or
 * commit, removes the temporary file. Opening a destination first removes
 * the temporaries that a killed writer of the same destination left (the
 * unlocked ones). docs/durability.md says more; the `tpa` command writes
 * its --out files this way.
 *
 * Thread safety: a handle belongs to one thread at a time; different
 * handles may be used from different threads.
 */
#ifndef TPA_FILE_H
#define TPA_FILE_H

#include <stddef.h>

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An output file being written. @since 0.3.0 */
typedef struct tpa_output_file tpa_output_file;

/**
 * Start writing @p path: create the temporary file beside it.
 * @param out receives the handle, finished with tpa_output_file_commit()
 *        or tpa_output_file_abort(); set to NULL on failure; not NULL.
 * @param path the destination (its directory must exist); not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_NOT_FOUND when the directory does not exist; TPA_ERR_IO
 *         when the temporary file cannot be created (the message names
 *         @p path and the system's reason); TPA_ERR_NO_MEMORY. On failure
 *         nothing is left on disk.
 * @since 0.3.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_output_file_open(tpa_output_file **out, const char *path);

/**
 * Append @p len bytes.
 * @param f the handle; not NULL.
 * @param buf the bytes (borrowed for the call); may be NULL when @p len is 0.
 * @param len how many.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL argument;
 *         TPA_ERR_IO (a full disk, a file-size limit: the message names the
 *         destination and the reason), after which the temporary file is
 *         already removed and the handle only awaits
 *         tpa_output_file_abort().
 * @since 0.3.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_output_file_write(tpa_output_file *f, const void *buf,
                                                       size_t len);

/**
 * The temporary file's path, for a signal handler that must remove it when
 * the program is interrupted (unlink() is async-signal-safe).
 * @param f the handle, or NULL.
 * @return a string owned by the handle, valid until it is committed or
 *         aborted; NULL for a NULL handle or after a failed write.
 * @since 0.3.0
 */
TPA_API const char *tpa_output_file_temp_path(const tpa_output_file *f);

/**
 * Flush to disk, rename over the destination, sync the directory, and free
 * the handle (also on failure).
 * @param f the handle (freed by the call), or NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for NULL; TPA_ERR_IO naming the
 *         destination and the step that failed (an earlier failed write
 *         included), in which case the destination is untouched and the
 *         temporary file removed; TPA_ERR_NO_MEMORY.
 * @since 0.3.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_output_file_commit(tpa_output_file *f);

/**
 * Remove the temporary file and free the handle; the destination is
 * untouched.
 * @param f the handle (freed by the call), or NULL (does nothing).
 * @since 0.3.0
 */
TPA_API void tpa_output_file_abort(tpa_output_file *f);

#ifdef __cplusplus
}
#endif
#endif /* TPA_FILE_H */
