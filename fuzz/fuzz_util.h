/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the fuzz harnesses: in-memory files (memfd) that the
 * library opens by path ("/proc/self/fd/N"), a scratch directory whose
 * entries are symlinks to such files (for entry points that take a
 * directory), and the fixtures folder. Nothing here writes file contents
 * to disk. Failures of these helpers abort: they are harness bugs, not
 * findings. */
#ifndef TPA_FUZZ_UTIL_H
#define TPA_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

/* Every harness defines these two (libFuzzer's interface). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An in-memory file and the path that opens it. */
typedef struct tpa_fuzz_file {
  int fd;
  char path[64];
} tpa_fuzz_file;

/* Create an empty in-memory file named @p name (for /proc listings). */
void tpa_fuzz_file_init(tpa_fuzz_file *f, const char *name);

/* Replace the file's whole content with @p size bytes of @p data. */
void tpa_fuzz_file_set(tpa_fuzz_file *f, const void *data, size_t size);

/* The same with @p data gzip-compressed first (one member), so that the
 * mutations of the text also reach the library's inflating reader. */
void tpa_fuzz_file_set_gzip(tpa_fuzz_file *f, const void *data, size_t size);

/* A new empty scratch directory (under $TMPDIR or /tmp), removed with its
 * symlinks at exit. Returns its path (static storage, one per process). */
const char *tpa_fuzz_dir(void);

/* Make @p dir/@p name a symlink to @p target (a memfd path or a fixture). */
void tpa_fuzz_dir_link(const char *name, const char *target);

/* The fixtures folder: $TPA_FIXTURES, else the source tree's
 * tests/fixtures (compiled in). */
const char *tpa_fuzz_fixtures(void);

/* Read a whole fixture file (path relative to the fixtures folder) into a
 * new buffer (free()); *size receives its length. */
uint8_t *tpa_fuzz_read_fixture(const char *rel, size_t *size);

/* Join a fixture's relative path into a static-lifetime string (strdup). */
char *tpa_fuzz_fixture_path(const char *rel);

/* With TPA_FUZZ_VERBOSE set, print @p st and tpa_last_error() to stderr
 * (for triage: which check an input reaches). Returns @p st. */
tpa_status tpa_fuzz_report(const char *what, tpa_status st);

#endif
