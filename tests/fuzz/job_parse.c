/* Fuzz target: one batch input line (guise_job_parse, client/lib/job.c). Every
 * refusal carries a reason; a job that parses has a URL, and every pointer it
 * holds stays readable until the store is freed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  guise_job job;
  guise_job_store *store = NULL;
  char err[256];
  job.line = 1;
  int e = guise_job_parse((const char *)data, size, &job, &store, err, sizeof(err));
  if (e < 0) {
    if (store != NULL || err[0] == '\0') abort();
    return 0;
  }
  if (e == 1) {
    if (store != NULL) abort();
    return 0;
  }
  if (job.url == NULL || store == NULL || job.line != 1) abort();
  size_t sum = strlen(job.url);
  if (job.id) sum += strlen(job.id);
  if (job.method) sum += strlen(job.method);
  if (job.meta) sum += strlen(job.meta);
  for (size_t i = 0; i < job.n_headers; i++) sum += strlen(job.headers[i].name) + strlen(job.headers[i].value);
  for (size_t i = 0; i < job.body_len; i++) sum += job.body[i];
  guise_job_free(store);
  return sum == (size_t)-1;
}
