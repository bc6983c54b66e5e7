/*
 * gerr.h — an error with its origin, filled once where it happens and carried
 * by pointer or copy from there to the caller's result: the GUISE_E_* code, the
 * failing library's own code, the layer that saw it and its words. Replaces
 * detail texts copied from buffer to buffer.
 *
 * The first error wins: gerr_set on an error already set does nothing, so the
 * layer closest to the cause names it and the layers above only add a code when
 * there is none.
 */
#ifndef GUISE_GERR_H
#define GUISE_GERR_H

#include <stddef.h>

#define GERR_TEXT_MAX 160

typedef struct gerr {
  int code;           /* GUISE_E_*, 0: none */
  int lib;            /* the library's own code (uv/errno, nghttp2, c-ares, a packed
                         BoringSSL ERR code, a proxy's reply), 0: none */
  const char *layer;  /* static: "dns" "tcp" "proxy" "proxy-tls" "tls" "http1"
                         "http2" "decode" "client"; NULL with no error */
  char text[GERR_TEXT_MAX]; /* the cause in the library's words, or "" */
} gerr;

/* Sets |e| when it holds no error yet; |fmt| NULL: no text. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void gerr_set(gerr *e, int code, const char *layer, int lib, const char *fmt, ...);

/* Copies |src| into |dst| when |dst| holds no error yet and |src| does. */
void gerr_copy(gerr *dst, const gerr *src);

void gerr_clear(gerr *e);

/* The text, or the code's description (guise_strerror) when there is none. */
const char *gerr_text(const gerr *e);

#endif
