/* progress.c — the progress meter of `guise URL` (see fetch.h): curl's layout,
 * drawn on stderr when the body goes to a file and stderr is a terminal (the
 * caller decides), redrawn in place with CR at most every 200 ms. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "fetch.h"

#define REDRAW_MS 200

static double now_ms(void) { return (double)uv_hrtime() / 1e6; }

/* A byte count in 5 columns, curl's way: "10240", "9999k", "97.6M". */
static void size5(char *out, size_t cap, double n) {
  static const char units[] = "kMGTP";
  if (n < 100000) {
    snprintf(out, cap, "%5.0f", n);
    return;
  }
  int u = 0;
  n /= 1024;
  while (n >= 10000 && u < 4) {
    n /= 1024;
    u++;
  }
  if (n < 100) snprintf(out, cap, "%4.1f%c", n, units[u]);
  else snprintf(out, cap, "%4.0f%c", n, units[u]);
}

/* Seconds as curl's "HH:MM:SS", or "--:--:--". */
static void hms(char *out, size_t cap, double s) {
  if (s < 0 || s > 359999) {
    snprintf(out, cap, "--:--:--");
    return;
  }
  unsigned t = (unsigned)s;
  snprintf(out, cap, "%02u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
}

static void draw(fetch_progress *p) {
  double elapsed = (now_ms() - p->start_ms) / 1000;
  if (p->bar) {
    /* curl -#: '#' for the share done, then the percentage, in 80 columns. */
    int width = 72;
    const char *cols = getenv("COLUMNS");
    if (cols && atoi(cols) > 20 && atoi(cols) < 1000) width = atoi(cols) - 8;
    double frac = p->total ? (double)p->done / (double)p->total : 0;
    if (frac > 1) frac = 1;
    int n = (int)(frac * width);
    char line[1100];
    memset(line, '#', (size_t)n);
    memset(line + n, ' ', (size_t)(width - n));
    line[width] = '\0';
    fprintf(p->to, "\r%s %5.1f%%", line, frac * 100);
    fflush(p->to);
    return;
  }
  if (!p->header_done) {
    fputs("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
          "                                 Dload  Upload   Total   Spent    Left  Speed\n",
          p->to);
    p->header_done = 1;
  }
  int pct = p->total ? (int)(p->done * 100 / p->total) : 0;
  double speed = elapsed > 0 ? (double)p->done / elapsed : 0;
  char total[8], done[8], dl[8], cur[8], t_total[16], t_spent[16], t_left[16];
  size5(total, sizeof(total), (double)p->total);
  size5(done, sizeof(done), (double)p->done);
  size5(dl, sizeof(dl), speed);
  size5(cur, sizeof(cur), speed);
  double whole = p->total && speed > 0 ? (double)p->total / speed : -1;
  hms(t_total, sizeof(t_total), whole);
  hms(t_spent, sizeof(t_spent), elapsed);
  hms(t_left, sizeof(t_left), whole >= 0 ? whole - elapsed : -1);
  fprintf(p->to, "\r%3d %s  %3d %s    0     0  %s      0 %s %s %s %s", pct, total, pct, done, dl, t_total,
          t_spent, t_left, cur);
  fflush(p->to);
}

void fetch_progress_start(fetch_progress *p, int on, int bar, FILE *to) {
  memset(p, 0, sizeof(*p));
  p->on = on;
  p->bar = bar;
  p->to = to;
  p->start_ms = now_ms();
}

void fetch_progress_total(fetch_progress *p, unsigned long long total) {
  p->total = total;
}

void fetch_progress_add(fetch_progress *p, size_t n) {
  p->done += n;
  if (!p->on) return;
  double t = now_ms();
  if (t - p->last_ms < REDRAW_MS) return;
  p->last_ms = t;
  draw(p);
}

void fetch_progress_end(fetch_progress *p) {
  if (!p->on) return;
  if (p->total == 0 && p->bar) p->total = p->done ? p->done : 1, p->done = p->total;
  draw(p);
  fputc('\n', p->to);
  fflush(p->to);
  p->on = 0;
}
