/* Fuzz target: the id of a previous run's record (guise_record_id, client/lib/job.c),
 * which guise batch --resume reads from an output file that may be torn or edited.
 * The id fits its buffer, NUL-terminated, and holds no NUL of its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char id[64];
  memset(id, 0x55, sizeof(id));
  size_t cap = size ? 1 + data[0] % sizeof(id) : sizeof(id); /* small buffers too */
  if (guise_record_id((const char *)data, size, id, cap) == 0) {
    if (memchr(id, '\0', cap) == NULL) abort();
  }
  if (cap < sizeof(id) && (unsigned char)id[cap] != 0x55) abort(); /* nothing past |cap| */
  return 0;
}
