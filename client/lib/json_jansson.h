/*
 * json_jansson.h — untrusted JSON text to a jansson tree, read through the CBS reader
 * (json_read.h): the profile importers build profiles with jansson, but the dumps
 * they read (tls.peet.ws, browserleaks, browsers.json, echo logs) are not parsed by it.
 */
#ifndef GUISE_JSON_JANSSON_H
#define GUISE_JSON_JANSSON_H

#include <stddef.h>

#include <jansson.h>

/* The value of |text| (nothing but blanks after it), or NULL with a reason in |err|
 * ("line:column: why"). */
json_t *json_read_jansson(const char *text, size_t len, char *err, size_t errlen);

/* The same for a whole file of at most |max| bytes. */
json_t *json_read_jansson_file(const char *path, size_t max, char *err, size_t errlen);

#endif
