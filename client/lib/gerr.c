/* gerr.c — see gerr.h. */
#include "gerr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guise.h"

void gerr_set(gerr *e, int code, const char *layer, int lib, const char *fmt, ...) {
  if (e->code != 0 || code == 0) return;
  e->code = code;
  e->lib = lib;
  e->layer = layer;
  e->text[0] = '\0';
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
  }
}

void gerr_copy(gerr *dst, const gerr *src) {
  if (dst->code != 0 || src->code == 0 || dst == src) return;
  memcpy(dst, src, sizeof(*dst));
}

void gerr_clear(gerr *e) {
  e->code = 0;
  e->lib = 0;
  e->layer = NULL;
  e->text[0] = '\0';
}

const char *gerr_text(const gerr *e) { return e->text[0] ? e->text : guise_strerror(e->code); }
