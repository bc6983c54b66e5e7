/*
 * json_pos.h — where a value sits in a JSON text (line and column, 1-based),
 * found by following a path of object keys and array indices through the
 * text's tree (json_read.h). Profile errors about a valid document (an unknown
 * key, an unknown name) use it to say file:line:column.
 */
#ifndef GUISE_JSON_POS_H
#define GUISE_JSON_POS_H

#include <stddef.h>

#include "json_read.h"

typedef struct json_step {
  const char *key; /* object member name, or NULL for an array index */
  size_t index;
} json_step;

/* Finds the value at |path| (|n| steps; 0 steps: |root|) in the tree of |text|.
 * With |want_key| and a last step that is a key, the position is that of the
 * key itself. Returns 0 and |*line|, |*col|, or -1 when the path is not there. */
int json_pos_find(const jv *root, const char *text, size_t len, const json_step *path, size_t n,
                  int want_key, int *line, int *col);

#endif
