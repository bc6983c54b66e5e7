/* errors.c — the one error table (guise.h): names, descriptions, classes. */
#include "guise.h"

#include <string.h>

const char *guise_err_name(int code) {
  switch (code) {
    case GUISE_OK: return "OK";
#define GUISE_ERRNO_NAME(name, c, text) \
  case c:                                \
    return #name;
    GUISE_ERRNO_MAP(GUISE_ERRNO_NAME)
#undef GUISE_ERRNO_NAME
  }
  return "UNKNOWN";
}

const char *guise_strerror(int code) {
  switch (code) {
    case GUISE_OK: return "success";
#define GUISE_ERRNO_TEXT(name, c, text) \
  case c:                                \
    return text;
    GUISE_ERRNO_MAP(GUISE_ERRNO_TEXT)
#undef GUISE_ERRNO_TEXT
  }
  return "unknown error";
}

const char *guise_err_class(int code) {
  /* The class is the band: the hundreds of the negated code. */
  static const char *const classes[] = {"usage",    "dns",     "connect", "tls",
                                        "certificate", "proxy", "http",    "decoding",
                                        "profile",  "timeout", "resource"};
  if (code == GUISE_OK) return "ok";
  if (strcmp(guise_err_name(code), "UNKNOWN") == 0) return "unknown";
  return classes[-code / 100 - 1];
}
