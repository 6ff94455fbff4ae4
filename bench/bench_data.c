/* SPDX-License-Identifier: Apache-2.0 */
/* Table-reading benchmark: how fast tpa_dataset_load_table reads a large
 * CSV, TSV or JSON Lines file of the user's own into a dataset, and how
 * much memory that takes at its peak (issue 13: a 1,000,000-row CSV of
 * about 100 MB at 100 MB/s or more on one core, peak memory at most twice
 * the file).
 *
 * It writes a seeded synthetic table to a new temporary directory: per
 * row a text of 7 to 16 random words (one row in ten quoted in CSV, with
 * a comma, a word in doubled quotes and, one row in fifty, a line break
 * inside the quotes; JSON Lines escapes the same texts, TSV has no line
 * breaks since it cannot hold them), a second text of 2 to 6 words and a
 * string label of four classes, about 100 bytes a row in CSV. Then it
 * loads the file --reps times and prints, per format, a line
 *
 *   csv rows=1000000 bytes=... first_s=... best_s=... MB/s=... peak_MB=... peak/file=...
 *
 * MB are 10^6 bytes; bytes and MB/s count the uncompressed text (a gzip
 * line also gives file_bytes, what is on disk); MB/s is from the best
 * time, first_MB/s from the first, kept_MB is what the dataset holds once
 * loaded. The yardstick, measured right after each load in a child of
 * its own: read_MB/s, reading the same file into one new buffer and
 * nothing else (tpa__read_all, the loader's first step, gzip inflation
 * included), the floor of a reader that parses in place; load/read is
 * the load's best time over the read's.
 *
 *   bench_data [--rows N] [--format csv|tsv|jsonl|all] [--gzip] [--reps N]
 *              [--seed S] [--dir DIR] [--keep]
 *
 * Every load runs in a fresh child process (forked before this process
 * has loaded anything, so each starts from the malloc state a program's
 * first load sees: after a free, glibc raises its mmap threshold and
 * keeps freed heap resident, which would make later loads in one process
 * cheaper in time and apparently in memory). The child reads VmRSS from
 * /proc/self/status, resets its resident high-water mark by writing "5"
 * to /proc/self/clear_refs (so VmHWM restarts at the current VmRSS),
 * times tpa_dataset_load_table alone, and reads VmHWM with the dataset
 * still alive: peak = VmHWM - VmRSS before, the most memory the load
 * held at once, its result included. Where clear_refs cannot be written,
 * the fallback is a baseline child that does all the same except the
 * load: the kernel starts a forked child's high-water mark at its RSS at
 * fork, so VmHWM(load) - VmHWM(baseline) is again the load's own peak.
 * The page cache (the file was just written) is not resident memory of
 * the process and is not counted. The reader is single-threaded: the
 * children report their thread count (threads=1). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "bench_common.h"
#include "data/read_all.h"
#include "tpa/tpa.h"

enum { FMT_CSV, FMT_TSV, FMT_JSONL, FMT_COUNT };
static const char *const fmt_name[FMT_COUNT] = {"csv", "tsv", "jsonl"};
static const tpa_table_format fmt_table[FMT_COUNT] = {TPA_TABLE_CSV, TPA_TABLE_TSV,
                                                      TPA_TABLE_JSONL};

/* The classes in byte order, which is the order of their ids. */
static const char *const classes[] = {"mixed", "negative", "neutral", "positive"};
enum { CLASSES = 4 };

static const char *const words[] = {
    "the",     "a",       "of",       "and",       "to",    "in",      "is",     "was",
    "it",      "for",     "on",       "with",      "as",    "this",    "that",   "film",
    "movie",   "story",   "actor",    "plot",      "scene", "music",   "camera", "director",
    "good",    "bad",     "great",    "boring",    "funny", "dark",    "long",   "short",
    "quite",   "very",    "never",    "always",    "again", "nothing", "every",  "moment",
    "feels",   "looks",   "makes",    "takes",     "gives", "turns",   "comes",  "goes",
    "strange", "simple",  "clever",   "beautiful", "tired", "honest",  "loud",   "quiet",
    "ending",  "opening", "dialogue", "character", "café",  "naïve",   "über",   "smörgåsbord",
};
enum { WORDS = sizeof words / sizeof words[0] };

/* splitmix64: seeded, independent of libc rand. */
static uint64_t rng;
static uint64_t next_u64(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static unsigned below(unsigned n) {
  return (unsigned)(next_u64() % n);
}

/* FNV-1a over the texts and label ids, in the loader's and the
 * generator's view alike. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}
static uint64_t hash_row(uint64_t h, const char *a, const char *b, int label) {
  h = fnv(h, a, strlen(a) + 1);
  h = fnv(h, b, strlen(b) + 1);
  return fnv(h, &label, sizeof label);
}
#define HASH_SEED 0xcbf29ce484222325ULL

/* Words separated by spaces into buf; a "special" text also gets a comma,
 * a word in quotes and (when @p newline) a line break. */
static size_t make_text(char *buf, unsigned n_words, bool special, bool newline) {
  size_t len = 0;
  const unsigned comma = special ? below(n_words - 1) : n_words;
  const unsigned quote = special ? below(n_words) : n_words;
  const unsigned brk = newline ? 1 + below(n_words - 1) : n_words;
  for (unsigned w = 0; w < n_words; w++) {
    if (w)
      buf[len++] = w == brk ? '\n' : ' ';
    const char *word = words[below(WORDS)];
    if (w == quote)
      buf[len++] = '"';
    const size_t k = strlen(word);
    memcpy(buf + len, word, k);
    len += k;
    if (w == quote)
      buf[len++] = '"';
    if (w == comma)
      buf[len++] = ',';
  }
  buf[len] = '\0';
  return len;
}

/* One field of the file: CSV quotes when needed (doubling quotes), JSON
 * escapes, TSV writes the text as it is. */
static size_t put_field(char *out, const char *s, int fmt) {
  size_t len = 0;
  if (fmt == FMT_TSV) {
    len = strlen(s);
    memcpy(out, s, len);
    return len;
  }
  if (fmt == FMT_CSV && !strpbrk(s, ",\"\r\n")) {
    len = strlen(s);
    memcpy(out, s, len);
    return len;
  }
  out[len++] = '"';
  for (; *s; s++) {
    if (*s == '"')
      out[len++] = fmt == FMT_CSV ? '"' : '\\';
    if (*s == '\n' && fmt == FMT_JSONL) {
      out[len++] = '\\';
      out[len++] = 'n';
      continue;
    }
    out[len++] = *s;
  }
  out[len++] = '"';
  return len;
}

typedef struct sink {
  FILE *f;
  gzFile gz;
  char *buf;
  size_t len, cap;
  unsigned long long bytes; /* uncompressed */
} sink;

static void sink_flush(sink *s) {
  bool ok = s->gz ? gzwrite(s->gz, s->buf, (unsigned)s->len) == (int)s->len
                  : fwrite(s->buf, 1, s->len, s->f) == s->len;
  if (!ok) {
    fprintf(stderr, "%s: writing the table failed\n", bench_prog);
    exit(1);
  }
  s->bytes += s->len;
  s->len = 0;
}

static void sink_put(sink *s, const char *p, size_t n) {
  if (s->len + n > s->cap)
    sink_flush(s);
  memcpy(s->buf + s->len, p, n);
  s->len += n;
}

/* Write the table; returns the hash the loader must reproduce. */
static uint64_t write_table(const char *path, int fmt, bool gzip, size_t rows, uint64_t seed,
                            unsigned long long *bytes) {
  sink s = {.cap = 1 << 20};
  s.buf = bench_xcalloc(s.cap, 1);
  if (gzip) {
    s.gz = gzopen(path, "wb6");
    if (s.gz)
      (void)gzbuffer(s.gz, 256 * 1024);
  } else {
    s.f = fopen(path, "wb");
  }
  if (!s.f && !s.gz) {
    fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
    exit(1);
  }
  static const char *const header[FMT_COUNT] = {"text,context,label\n", "text\tcontext\tlabel\n",
                                                NULL};
  if (header[fmt])
    sink_put(&s, header[fmt], strlen(header[fmt]));
  rng = seed;
  uint64_t h = HASH_SEED;
  char a[512], b[256], line[2048];
  for (size_t r = 0; r < rows; r++) {
    const bool special = below(10) == 0;
    const bool newline = special && fmt != FMT_TSV && below(5) == 0;
    make_text(a, 7 + below(10), special, newline);
    make_text(b, 2 + below(5), false, false);
    const int label = (int)below(CLASSES);
    h = hash_row(h, a, b, label);
    size_t n = 0;
    if (fmt == FMT_JSONL) {
      n += (size_t)sprintf(line + n, "{\"text\": ");
      n += put_field(line + n, a, fmt);
      n += (size_t)sprintf(line + n, ", \"context\": ");
      n += put_field(line + n, b, fmt);
      n += (size_t)sprintf(line + n, ", \"label\": \"%s\"}\n", classes[label]);
    } else {
      const char sep = fmt == FMT_CSV ? ',' : '\t';
      n += put_field(line + n, a, fmt);
      line[n++] = sep;
      n += put_field(line + n, b, fmt);
      line[n++] = sep;
      n += (size_t)sprintf(line + n, "%s\n", classes[label]);
    }
    sink_put(&s, line, n);
  }
  sink_flush(&s);
  bool ok = gzip ? gzclose(s.gz) == Z_OK : fclose(s.f) == 0;
  free(s.buf);
  if (!ok) {
    fprintf(stderr, "%s: closing %s failed\n", bench_prog, path);
    exit(1);
  }
  *bytes = s.bytes;
  return h;
}

/* A field of /proc/self/status ("VmRSS:") in KiB; -1 if absent. */
static long status_kib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    return -1;
  char line[256];
  long kib = -1;
  const size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0) {
      kib = strtol(line + n, NULL, 10);
      break;
    }
  fclose(f);
  return kib;
}

/* Reset this process's VmHWM to its VmRSS; false if not permitted. */
static bool reset_hwm(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

/* What a child does: load the table, only read its bytes (the
 * yardstick), or neither (the baseline of the high-water mark). */
enum { DO_LOAD, DO_READ, DO_NOTHING };

typedef struct job {
  const char *path;
  int fmt;
  int what;    /* DO_* */
  bool verify; /* compare with the generator's rows */
  size_t rows;
  uint64_t hash;
} job;

typedef struct result {
  double seconds;
  long rss0_kib, hwm_kib, rss1_kib, threads;
  int hwm_reset; /* clear_refs worked */
  int verified;  /* 1 equal, 0 not checked, -1 different */
} result;

/* The child: load once (or read, or nothing) and report. */
static void load_child(const void *ctx, void *out) {
  const job *j = ctx;
  result *r = out;
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  p.format = fmt_table[j->fmt];
  p.text_column = "text";
  p.text_pair_column = "context";
  p.label_column = "label";
  (void)status_kib("VmRSS:"); /* stdio's first allocation, before the baseline */
  r->rss0_kib = status_kib("VmRSS:");
  r->hwm_reset = reset_hwm();
  tpa_dataset *ds = NULL;
  char *bytes = NULL;
  size_t len = 0;
  double t0 = bench_now();
  if (j->what == DO_LOAD && tpa_dataset_load_table(&ds, j->path, &p) != TPA_OK)
    bench_die(j->path);
  if (j->what == DO_READ && tpa__read_all(j->path, &bytes, &len) != TPA_OK)
    bench_die(j->path);
  r->seconds = bench_now() - t0;
  r->hwm_kib = status_kib("VmHWM:");
  r->rss1_kib = status_kib("VmRSS:");
  r->threads = status_kib("Threads:");
  if (j->what == DO_LOAD && j->verify) {
    uint64_t h = HASH_SEED;
    const size_t n = tpa_dataset_size(ds);
    bool ok = n == j->rows && tpa_dataset_num_labels(ds) == CLASSES;
    for (int32_t c = 0; ok && c < CLASSES; c++)
      ok = strcmp(tpa_dataset_label_name(ds, c), classes[c]) == 0;
    for (size_t i = 0; ok && i < n; i++)
      h = hash_row(h, tpa_dataset_text_a(ds, i), tpa_dataset_text_b(ds, i),
                   (int)tpa_dataset_label(ds, i));
    r->verified = ok && h == j->hash ? 1 : -1;
  }
  tpa_dataset_free(ds);
  free(bytes);
}

static void run_child(const job *j, result *r) {
  if (!bench_in_child(load_child, j, r, sizeof *r)) {
    static const char *const what[] = {"loading", "reading", "baseline"};
    fprintf(stderr, "%s: the %s child failed\n", bench_prog, what[j->what]);
    exit(1);
  }
}

static void print_loadavg(const char *when) {
  char buf[128] = "?";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(buf, sizeof buf, f))
      snprintf(buf, sizeof buf, "?\n");
    fclose(f);
  }
  printf("load average %s: %s", when, buf);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_data [--rows N] [--format csv|tsv|jsonl|all] [--gzip] [--reps N] "
                  "[--seed S] [--dir DIR] [--keep]\n");
  exit(2);
}

int main(int argc, char **argv) {
  bench_prog = "bench_data";
  long long rows = 1000000;
  int reps = 5, only = -1;
  bool gzip = false, keep = false;
  unsigned long long seed = 13;
  const char *parent = getenv("TMPDIR");
  if (!parent || !parent[0])
    parent = "/tmp";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const bool has = i + 1 < argc;
    if (!strcmp(a, "--rows") && has) {
      rows = atoll(argv[++i]);
    } else if (!strcmp(a, "--reps") && has) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(a, "--seed") && has) {
      seed = strtoull(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--dir") && has) {
      parent = argv[++i];
    } else if (!strcmp(a, "--format") && has) {
      const char *f = argv[++i];
      only = -2;
      for (int k = 0; k < FMT_COUNT; k++)
        if (!strcmp(f, fmt_name[k]))
          only = k;
      if (!strcmp(f, "all"))
        only = -1;
      if (only == -2)
        usage();
    } else if (!strcmp(a, "--gzip")) {
      gzip = true;
    } else if (!strcmp(a, "--keep")) {
      keep = true;
    } else {
      usage();
    }
  }
  if (rows < 1 || reps < 1)
    usage();

  char dir[4096];
  snprintf(dir, sizeof dir, "%s/tpa-bench-data-XXXXXX", parent);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "%s: mkdtemp %s: %s\n", bench_prog, dir, strerror(errno));
    return 1;
  }
  print_loadavg("before");
  printf("%lld rows, seed %llu, %d loads per format, each in a fresh child process; "
         "MB = 10^6 bytes\n",
         rows, seed, reps);
  int failed = 0;
  for (int fmt = 0; fmt < FMT_COUNT; fmt++) {
    if (only >= 0 && fmt != only)
      continue;
    char path[4200];
    snprintf(path, sizeof path, "%s/data.%s%s", dir, fmt_name[fmt], gzip ? ".gz" : "");
    unsigned long long bytes = 0;
    double t0 = bench_now();
    job j = {path, fmt, DO_LOAD, true, (size_t)rows, 0};
    j.hash = write_table(path, fmt, gzip, (size_t)rows, seed, &bytes);
    job only_read = j;
    only_read.what = DO_READ;
    only_read.verify = false;
    struct stat sb;
    if (stat(path, &sb) != 0) {
      fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
      return 1;
    }
    printf("wrote %s (%.1f MB on disk) in %.1f s\n", path, (double)sb.st_size * 1e-6,
           bench_now() - t0);
    fflush(stdout);

    result first = {0}, r;
    double best = 0, best_read = 0, peak_kib = 0, kept_kib = 0;
    long threads = 0;
    bool all_reset = true;
    for (int k = 0; k < reps; k++) {
      j.verify = k == 0;
      run_child(&j, &r);
      if (k == 0)
        first = r;
      best = k == 0 || r.seconds < best ? r.seconds : best;
      all_reset = all_reset && r.hwm_reset;
      if ((double)(r.hwm_kib - r.rss0_kib) > peak_kib)
        peak_kib = (double)(r.hwm_kib - r.rss0_kib);
      if ((double)(r.rss1_kib - r.rss0_kib) > kept_kib)
        kept_kib = (double)(r.rss1_kib - r.rss0_kib);
      threads = r.threads > threads ? r.threads : threads;
      /* The yardstick right after, under the same machine load. */
      run_child(&only_read, &r);
      best_read = k == 0 || r.seconds < best_read ? r.seconds : best_read;
    }
    if (!all_reset) {
      /* No clear_refs: compare the high-water marks with a child that
       * does everything but the load. */
      job base = j;
      base.what = DO_NOTHING;
      base.verify = false;
      run_child(&base, &r);
      peak_kib = 0;
      result again;
      for (int k = 0; k < reps; k++) {
        run_child(&j, &again);
        if ((double)(again.hwm_kib - r.hwm_kib) > peak_kib)
          peak_kib = (double)(again.hwm_kib - r.hwm_kib);
      }
    }
    const double mb = (double)bytes * 1e-6, peak_mb = peak_kib * 1024.0 * 1e-6;
    printf("%s%s rows=%lld bytes=%llu", fmt_name[fmt], gzip ? ".gz" : "", rows, bytes);
    if (gzip)
      printf(" file_bytes=%lld", (long long)sb.st_size);
    printf(" first_s=%.3f best_s=%.3f MB/s=%.1f first_MB/s=%.1f peak_MB=%.1f peak/file=%.2f "
           "kept_MB=%.1f read_MB/s=%.1f load/read=%.2f threads=%ld hwm=%s verified=%s\n",
           first.seconds, best, mb / best, mb / first.seconds, peak_mb, peak_mb / mb,
           kept_kib * 1024.0 * 1e-6, mb / best_read, best / best_read, threads,
           all_reset ? "clear_refs" : "baseline-child", first.verified > 0 ? "yes" : "NO");
    if (first.verified <= 0)
      failed = 1;
    if (fmt == FMT_CSV)
      printf("  target (issue 13, plain CSV): MB/s >= 100 and peak/file <= 2: %s%s\n",
             mb / best >= 100 && peak_mb / mb <= 2 ? "met" : "NOT met",
             gzip ? " (gzip: informative only)" : "");
    fflush(stdout);
    if (!keep)
      unlink(path);
  }
  print_loadavg("after");
  if (keep)
    printf("kept %s\n", dir);
  else
    rmdir(dir);
  return failed;
}
