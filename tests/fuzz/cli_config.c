/* Fuzz target: a -K config file as curl's syntax reads it (cli_config_next,
 * client/cli/config_file.c), line by line through a CBS. Every option it gives
 * has a name spelled with dashes, a value that is all there (no NUL inside,
 * value_len bytes) and a line number that only grows; an error carries a reason
 * and the line it is on; the input is read to its end or to the error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/cli/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  if (buf == NULL) return 0;
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  CBS in;
  CBS_init(&in, data, size);
  size_t line = 0, last = 0;
  cli_config_item it;
  char why[120];
  int r;
  while ((r = cli_config_next(&in, &line, &it, buf, size + 1, why, sizeof(why))) == 1) {
    if (it.name[0] != '-' || it.line != line || it.line <= last || it.line > lines) abort();
    /* "-" alone is a name here (cli_config_read refuses it as no option) */
    if (strlen(it.name) > CLI_CONFIG_MAX_NAME + 2) abort();
    if (it.has_value ? strlen(buf) != it.value_len : it.value_len != 0) abort();
    last = it.line;
    /* The lookup the parser makes next: any name, found or not. */
    (void)cli_find_long(&cli_fetch_command, it.name, strlen(it.name));
  }
  if (r < 0 && (why[0] == '\0' || line == 0 || line > lines)) abort();
  if (r == 0 && CBS_len(&in) != 0) abort();
  free(buf);
  return 0;
}
