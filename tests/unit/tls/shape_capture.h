/*
 * shape_capture.h — a browsers.json capture's "tls" block as a tls_shape, for
 * the tests that hold guise's hellos to real browsers (test code, not product:
 * profiles have their own loader).
 */
#ifndef GUISE_TEST_SHAPE_CAPTURE_H
#define GUISE_TEST_SHAPE_CAPTURE_H

#include <jansson.h>

#include "tls_shape.h"

/* Fills |s| from the capture's "tls" object |tls|. */
void shape_from_capture(json_t *tls, tls_shape *s);

/* Reads a u16 list (integers, "GREASE" as 0x0a0a) into |out|; returns the count. */
size_t shape_u16_list(json_t *arr, uint16_t *out, size_t cap);

/* The browser |id| of a loaded browsers.json, or NULL. */
json_t *shape_find_browser(json_t *root, const char *id);

#endif
