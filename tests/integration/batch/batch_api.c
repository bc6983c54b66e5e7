/*
 * batch_api — the batch scheduler through the public C API (guise.h): jobs
 * submitted from this thread, records from the workers. Prints one JSON line
 * of counts for test_batch_api.py to check against what the server saw.
 *
 * usage: batch_api MODE URL N
 *   all     N jobs, then guise_batch_finish: every job has exactly one record
 *   stop    N slow jobs, guise_batch_stop(b, 1) after 0.5 s: every job has a
 *           record or is counted as interrupted, never both, never none
 *   trickle N jobs in runs of 70 with a pause after each, as input that arrives
 *           now and then (or a caller that waits for records before it submits
 *           more) gives them; then, before guise_batch_wait, up to 10 s for every
 *           record ("before_wait": the records that came without it)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guise.h"

#define MAX_JOBS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *seen; /* records per job id */
static unsigned long records, ok, duplicates, unknown;

static void on_record(void *arg, const char *json, size_t len, int err) {
  (void)arg;
  /* {"id":"<n>",... : the id is the job's index */
  unsigned long id = MAX_JOBS;
  if (len > 8 && strncmp(json, "{\"id\":\"", 7) == 0) id = strtoul(json + 7, NULL, 10);
  pthread_mutex_lock(&lock);
  records++;
  if (!err) ok++;
  if (id >= MAX_JOBS) unknown++;
  else if (seen[id]++) duplicates++;
  pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *mode = argv[1], *url = argv[2];
  unsigned long n = strtoul(argv[3], NULL, 10);
  if (n == 0 || n > MAX_JOBS) return 2;
  seen = calloc(MAX_JOBS, 1);
  guise_batch_options o;
  guise_batch_options_init(&o);
  o.profile = "none";
  o.insecure = 1;
  o.concurrency = 64;
  o.workers = 2;
  o.on_record = on_record;
  guise_batch *b;
  int e = guise_batch_new(&o, &b);
  if (e) {
    fprintf(stderr, "guise_batch_new: %s\n", guise_err_name(e));
    return 1;
  }
  unsigned long submitted = 0, refused = 0;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int stopped = 0;
  for (unsigned long i = 0; i < n; i++) {
    char id[32], u[512];
    snprintf(id, sizeof(id), "%lu", i);
    snprintf(u, sizeof(u), "%s/%lu", url, i);
    guise_job j;
    memset(&j, 0, sizeof(j));
    j.size = sizeof(j);
    j.id = id;
    j.url = u;
    e = guise_batch_submit(b, &j);
    if (e == 0) submitted++;
    else refused++;
    if (strcmp(mode, "trickle") == 0 && i % 70 == 69) {
      struct timespec pause = {0, 20 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    if (!stopped && strcmp(mode, "stop") == 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if ((double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9 > 0.5) {
        guise_batch_stop(b, 1);
        stopped = 1;
      }
    }
  }
  if (!stopped && strcmp(mode, "stop") == 0) guise_batch_stop(b, 1);
  unsigned long before_wait = 0;
  if (strcmp(mode, "trickle") == 0) {
    for (int k = 0; k < 1000; k++) {
      pthread_mutex_lock(&lock);
      before_wait = records;
      pthread_mutex_unlock(&lock);
      if (before_wait >= submitted) break;
      struct timespec tick = {0, 10 * 1000 * 1000};
      nanosleep(&tick, NULL);
    }
  }
  guise_batch_wait(b);
  guise_batch_stats st;
  guise_batch_stats_get(b, &st);
  guise_batch_finish(b);
  unsigned long missing = 0;
  for (unsigned long i = 0; i < n; i++)
    if (!seen[i]) missing++;
  printf("{\"submitted\":%lu,\"refused\":%lu,\"records\":%lu,\"ok\":%lu,\"duplicates\":%lu,\"unknown\":%lu,"
         "\"missing\":%lu,\"interrupted\":%llu,\"stats_done\":%llu,\"before_wait\":%lu}\n",
         submitted, refused, records, ok, duplicates, unknown, missing, st.interrupted, st.done,
         before_wait);
  free(seen);
  return 0;
}
