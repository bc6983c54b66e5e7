/*
 * json_pos.h — where a value sits in a JSON text (line and column, 1-based),
 * found by walking the text along a path of object keys and array indices.
 * jansson reports positions only for syntax errors; profile errors about a
 * valid document (an unknown key, an unknown name) need this to say
 * file:line:column. The text must already be valid JSON (jansson parsed it).
 */
#ifndef GUISE_JSON_POS_H
#define GUISE_JSON_POS_H

#include <stddef.h>

typedef struct json_step {
  const char *key; /* object member name, or NULL for an array index */
  size_t index;
} json_step;

/* Finds the value at |path| (|n| steps; 0 steps: the top value). With |want_key|
 * and a last step that is a key, the position is that of the key itself.
 * Returns 0 and |*line|, |*col|, or -1 when the path is not in the text. */
int json_pos_find(const char *text, size_t len, const json_step *path, size_t n, int want_key,
                  int *line, int *col);

#endif
