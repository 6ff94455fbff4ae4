/* SPDX-License-Identifier: Apache-2.0 */
/* A stand-in for libFuzzer's main() in ordinary builds (any compiler):
 * runs LLVMFuzzerTestOneInput once over every file named on the command
 * line or found (not recursively, sorted, dot-files skipped) in a named
 * directory. A crash, sanitizer report or harness abort fails the run,
 * which is how kept corpus and regression inputs stay tests. An input
 * that runs longer than the timeout (below) is killed by SIGALRM. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

/* Seconds one input may take (tools/fuzz.sh gives libFuzzer -timeout=10);
 * TPA_FUZZ_REPLAY_TIMEOUT overrides, 0 turns the limit off. SIGALRM's
 * default action ends the process, so a hang fails the test. */
static unsigned timeout_secs = 10;

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return 1;
  }
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 4096;
      unsigned char *bigger = realloc(buf, cap);
      if (!bigger) {
        fclose(f);
        free(buf);
        fprintf(stderr, "replay: %s: out of memory\n", path);
        return 1;
      }
      buf = bigger;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    fprintf(stderr, "replay: %s: read error\n", path);
    return 1;
  }
  /* An exact-size copy, so that a sanitizer sees reads past the input. */
  unsigned char *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return 1;
  }
  if (len)
    memcpy(exact, buf, len);
  free(buf);
  printf("replay %s (%zu bytes)\n", path, len);
  fflush(stdout);
  alarm(timeout_secs);
  LLVMFuzzerTestOneInput(exact, len);
  alarm(0);
  free(exact);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **bigger = realloc(names, cap * sizeof *names);
      if (!bigger) {
        rc = 1;
        break;
      }
      names = bigger;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    if (!(names[n] = malloc(len))) {
      rc = 1;
      break;
    }
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    struct stat sb;
    if (rc == 0 && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
      rc = run_file(names[i]);
      (*count)++;
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  const char *limit = getenv("TPA_FUZZ_REPLAY_TIMEOUT");
  if (limit && *limit)
    timeout_secs = (unsigned)strtoul(limit, NULL, 10);
  LLVMFuzzerInitialize(&argc, &argv);
  size_t count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    int rc;
    if (S_ISDIR(sb.st_mode)) {
      rc = run_dir(argv[i], &count);
    } else {
      rc = run_file(argv[i]);
      count++;
    }
    if (rc != 0)
      return rc;
  }
  printf("replayed %zu inputs without a failure\n", count);
  return 0;
}
