/* SPDX-License-Identifier: Apache-2.0 */
/* The regular expressions of tokenizer.json (ByteLevel's, Split's,
 * Replace's) through PCRE2: UTF mode with Unicode properties (\p{L},
 * \s, \w as Unicode defines them), which is what HF's Oniguruma patterns
 * mean. Debian's libpcre2 is well kept and JIT-compiles; a hand-written
 * engine would be neither. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "text/tj.h"

struct tpa__regex {
  pcre2_code *code;
};

/* PCRE2's backtracking budget (match limit) for one pcre2_match() call:
 * this base plus this much per byte of text left to search. PCRE2's
 * default, 10 million whatever the text, let a pattern from the file that
 * backtracks catastrophically ("(?:(?:a|a){1,18}b)?a") spend millions of
 * steps at every piece of a short text: seconds per text. The patterns
 * tokenizers use (GPT-2's, Llama 3's, " {2,}") cost a few steps per byte
 * (the test suite passes with a flat limit of 1000), so only runaway
 * backtracking reaches this, and it fails with an error. */
#ifndef TPA__REGEX_MATCH_BASE
#define TPA__REGEX_MATCH_BASE 10000
#endif
#define TPA__REGEX_MATCH_PER_BYTE 16

/* HF's engines read \s as Unicode's White_Space property; PCRE2's \s
 * (with UCP) also matches U+180E, which stopped being a space in Unicode
 * 6.3. So \s and \S are spelled out (escaped backslashes skipped). The
 * result is valid inside and outside character classes. NULL when out of
 * memory. */
static char *spell_out_spaces(const char *p) {
  size_t n = strlen(p), k = 0;
  char *out = malloc(n * 8 + 1); /* "\s" (2) becomes 15 bytes at most */
  if (!out)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 's' || p[i + 1] == 'S')) {
      const char *rep = p[i + 1] == 's' ? "\\p{White_Space}" : "\\P{White_Space}";
      memcpy(out + k, rep, strlen(rep));
      k += strlen(rep);
      i++;
    } else if (p[i] == '\\' && i + 1 < n) {
      out[k++] = p[i++];
      out[k++] = p[i];
    } else {
      out[k++] = p[i];
    }
  }
  out[k] = '\0';
  return out;
}

tpa_status tpa__regex_compile(const tpa__tj_ctx *c, const char *pattern, tpa__regex **out) {
  *out = NULL;
  int err = 0;
  PCRE2_SIZE at = 0;
  char *spelled = spell_out_spaces(pattern);
  if (!spelled)
    return TPA__NO_MEMORY("regex");
  pcre2_code *code = pcre2_compile((PCRE2_SPTR)spelled, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &err, &at, NULL);
  free(spelled);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return tpa__tj_error(c, "regular expression \"%.80s\" does not compile at offset %zu: %s",
                         pattern, (size_t)at, (const char *)msg);
  }
  /* JIT is an optimisation: without it (no JIT on this CPU) matching works. */
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  tpa__regex *re = malloc(sizeof *re);
  if (!re) {
    pcre2_code_free(code);
    return TPA__NO_MEMORY("regex");
  }
  re->code = code;
  *out = re;
  return TPA_OK;
}

tpa_status tpa__regex_find_all(const tpa__regex *re, const char *s, size_t len, tpa__pieces *out) {
  /* Match data per call keeps the compiled pattern shareable by threads. */
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re->code, NULL);
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  if (!md || !mc) {
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return TPA__NO_MEMORY("regex match");
  }
  tpa_status st = TPA_OK;
  size_t at = 0;
  while (at <= len) {
    size_t limit = TPA__REGEX_MATCH_BASE + TPA__REGEX_MATCH_PER_BYTE * (len - at);
    pcre2_set_match_limit(mc, limit < UINT32_MAX / 2 ? (uint32_t)limit : UINT32_MAX / 2);
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, at, PCRE2_NO_UTF_CHECK, md, mc);
    if (rc == PCRE2_ERROR_NOMATCH)
      break;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      PCRE2_UCHAR msg[128];
      pcre2_get_error_message(rc, msg, sizeof msg);
      st = tpa__error(TPA_ERR_CONFIG,
                      "a regular expression of the tokenizer backtracks too much on this text "
                      "(PCRE2: %s)",
                      (const char *)msg);
      break;
    }
    if (rc < 0) {
      st = tpa__error(TPA_ERR_INTERNAL, "regex match failed (PCRE2 error %d)", rc);
      break;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    size_t ms = ov[0], me = ov[1];
    if (me > ms) {
      if ((st = tpa__pieces_push(out, ms, me)) != TPA_OK)
        break;
      at = me;
    } else {
      /* An empty match: step over one whole UTF-8 character. */
      at = me + 1;
      while (at < len && ((unsigned char)s[at] & 0xC0) == 0x80)
        at++;
    }
  }
  pcre2_match_data_free(md);
  pcre2_match_context_free(mc);
  return st;
}

void tpa__regex_free(tpa__regex *re) {
  if (!re)
    return;
  pcre2_code_free(re->code);
  free(re);
}
