/* json_pos.c — see json_pos.h. */
#include "json_pos.h"

int json_pos_find(const jv *root, const char *text, size_t len, const json_step *path, size_t n,
                  int want_key, int *line, int *col) {
  const jv *v = root;
  for (size_t i = 0; v && i < n; i++) v = path[i].key ? jv_get(v, path[i].key) : jv_at(v, path[i].index);
  if (v == NULL) return -1;
  size_t off = want_key && n > 0 && path[n - 1].key ? v->key_off : v->off;
  jread_line_col(text, len, off, line, col);
  return 0;
}
