/* job_probe: each line of stdin through guise_job_parse(), one answer line each on
 * stdout: "ERR reason", "SKIP", or "OK" and the job's fields in hex (so that any
 * byte survives), for test_job_parse.py to hold against Python's json module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"

static void hex(const char *s, size_t n) {
  if (s == NULL) {
    fputs(" -", stdout);
    return;
  }
  putchar(' ');
  putchar('x'); /* an empty string is "x" */
  for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

static void hexs(const char *s) { hex(s, s ? strlen(s) : 0); }

int main(void) {
  size_t cap = (9u << 20);
  char *line = malloc(cap);
  if (line == NULL) return 1;
  while (fgets(line, (int)cap, stdin)) {
    size_t len = strlen(line);
    guise_job j;
    guise_job_store *s = NULL;
    char err[256];
    j.line = 1;
    int e = guise_job_parse(line, len, &j, &s, err, sizeof(err));
    if (e == 1) {
      puts("SKIP");
      continue;
    }
    if (e) {
      printf("ERR %s\n", err);
      continue;
    }
    fputs("OK", stdout);
    hexs(j.id);
    hexs(j.url);
    hexs(j.method);
    hexs(j.profile);
    hexs(j.proxy);
    printf(" %d", j.http_version);
    hex(j.has_body ? (const char *)j.body : NULL, j.body_len);
    hexs(j.meta);
    printf(" %zu", j.n_headers);
    for (size_t i = 0; i < j.n_headers; i++) {
      hexs(j.headers[i].name);
      hexs(j.headers[i].value);
    }
    putchar('\n');
    guise_job_free(s);
  }
  free(line);
  return 0;
}
