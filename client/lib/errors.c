/* errors.c — the one error table (guise.h GUISE_ERRNO_MAP and GUISE_ERR_CLASS_MAP):
 * names, descriptions, classes. Everything here is generated from the two tables. */
#include "guise.h"

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

guise_err_class_id guise_err_class_of(int code) {
  /* The class is the band: the hundreds of the negated code, for codes in the table. */
  switch (code) {
#define GUISE_ERRNO_BAND(name, c, text) \
  case c:                                \
    return (guise_err_class_id)(-(c) / 100);
    GUISE_ERRNO_MAP(GUISE_ERRNO_BAND)
#undef GUISE_ERRNO_BAND
  }
  return GUISE_CLASS_NONE;
}

const char *guise_err_class(int code) {
  static const char *const names[GUISE_CLASS_COUNT] = {
#define GUISE_ERR_CLASS_NAME(name, band, text) [band] = text,
      GUISE_ERR_CLASS_MAP(GUISE_ERR_CLASS_NAME)
#undef GUISE_ERR_CLASS_NAME
  };
  if (code == GUISE_OK) return "ok";
  guise_err_class_id id = guise_err_class_of(code);
  return id == GUISE_CLASS_NONE || names[id] == NULL ? "unknown" : names[id];
}
