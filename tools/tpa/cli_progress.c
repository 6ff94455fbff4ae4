/* SPDX-License-Identifier: Apache-2.0 */
/* Progress on stderr, the command's clock and its peak memory (see cli.h). */
#include "cli.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Progress                                                                 */

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cli_peak_rss_mb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (double)ru.ru_maxrss / 1024.0; /* Linux reports kB */
}

void cli_progress_init(cli_progress *p, bool quiet) {
  /* The clock starts here, before the work, so the rate is right even
   * when the library reports only once. */
  *p = (cli_progress){.quiet = quiet, .tty = isatty(STDERR_FILENO) == 1};
  p->start = p->last = cli_now();
}

bool cli_progress_cb(void *user, const char *stage, uint64_t done, uint64_t total) {
  cli_progress *p = user;
  if (p->quiet)
    return true;
  double t = cli_now();
  bool finished = done >= total;
  /* Redraw a bar at most 10 times a second; plain lines every 10 s. */
  double every = p->tty ? 0.1 : 10.0;
  if (!finished && t - p->last < every)
    return true;
  if (finished && p->finished)
    return true; /* the final state was already shown */
  p->last = t;
  p->finished = finished;
  double frac = total > 0 ? (double)done / (double)total : 1.0;
  double elapsed = t - p->start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
  if (p->tty) {
    enum { WIDTH = 30 };
    char bar[WIDTH + 1];
    int fill = (int)(frac * WIDTH);
    for (int i = 0; i < WIDTH; i++)
      bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %llu/%llu %3.0f%% %.1f/s ", stage, bar, (unsigned long long)done,
            (unsigned long long)total, 100.0 * frac, rate);
    p->drawn = true;
    if (finished) {
      fputc('\n', stderr);
      p->drawn = false;
    }
  } else {
    fprintf(stderr, "tpa: %s %llu/%llu (%.0f%%, %.1f/s)\n", stage, (unsigned long long)done,
            (unsigned long long)total, 100.0 * frac, rate);
  }
  fflush(stderr);
  return true;
}

void cli_progress_end(cli_progress *p) {
  if (p->drawn) {
    fputc('\n', stderr);
    p->drawn = false;
  }
}
