/* SPDX-License-Identifier: Apache-2.0 */
/* Record readers of the table formats: CSV and TSV (csv.c), JSON Lines
 * (jsonl.c). Each works in place on a NUL-terminated buffer that holds the
 * whole file: a field's value is unquoted or unescaped where it lies (it
 * only ever gets shorter) and NUL-terminated there, so reading costs no
 * allocation per field. The caller checks UTF-8 once for the whole buffer
 * beforehand. */
#ifndef TPA_DATA_RECORDS_H
#define TPA_DATA_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpa/common.h"

/* The unread rest of the buffer. */
typedef struct tpa__cursor {
  char *p, *end;    /* *end is the buffer's NUL */
  size_t line;      /* 1-based line number of p */
  const char *path; /* for messages */
} tpa__cursor;

/* Kinds of a JSON value. */
enum { TPA__JSON_STRING, TPA__JSON_NUMBER, TPA__JSON_BOOL, TPA__JSON_NULL, TPA__JSON_NESTED };

/* One record: n values (CSV/TSV: in column order; JSON: with their keys
 * and kinds, in the object's order). The arrays grow as needed and are
 * reused from record to record. */
typedef struct tpa__record {
  char **value;
  char **key;    /* JSON only */
  uint8_t *kind; /* JSON only */
  size_t n, cap;
  size_t line; /* line the record starts on */
  /* JSON: where numbers end, to be NUL-terminated once the line is read */
  char **ends;
  size_t n_ends, cap_ends;
} tpa__record;

void tpa__record_free(tpa__record *r);

/* The next CSV (@p sep ',', RFC 4180 quoting) or TSV (@p sep '\t', no
 * quoting) record; blank lines are skipped. *got is false at the end.
 * TPA_ERR_DATA "FILE:LINE: ..." for an unterminated quote or text after
 * a closing quote. */
tpa_status tpa__csv_next(tpa__cursor *c, char sep, tpa__record *r, bool *got);

/* The next JSON Lines record: one object on one line (blank lines are
 * skipped). String values are unescaped in place; numbers keep the text
 * they were written with; booleans are "true" and "false"; null and
 * nested values are kept with their kind (value NULL) so that only a
 * caller that uses them refuses them. TPA_ERR_DATA "FILE:LINE: ..." for
 * anything that is not one JSON object. */
tpa_status tpa__jsonl_next(tpa__cursor *c, tpa__record *r, bool *got);

#endif
