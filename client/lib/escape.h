/*
 * escape.h — text from the network made safe for a terminal and a log line.
 * Status lines, header values, a Location, a proxy's answer: a server chooses
 * those bytes, and an ESC (0x1b) or a C1 CSI (U+009B) written raw to a
 * terminal moves the cursor, rewrites earlier lines or sets the window title; a
 * CR overwrites the line it is on. Every message guise builds from remote data
 * goes through text_escape() before it is printed.
 */
#ifndef GUISE_ESCAPE_H
#define GUISE_ESCAPE_H

#include <stddef.h>

/* Copies |len| bytes of |in| to |out| (|cap| bytes, NUL-terminated when cap >
 * 0) with every C0 control (0x00-0x1f, TAB included), DEL (0x7f), C1 control
 * (U+0080-U+009F), bidirectional and invisible format character (U+061C,
 * U+200B-200F, U+202A-202E, U+2060-2069, U+FEFF) and every byte that is not part of well-formed UTF-8 (RFC
 * 3629: no overlong forms, no surrogates, nothing past U+10FFFF) written as
 * "\xHH" per byte; the rest is copied as it is. Stops before an escape or a
 * character that would not fit whole. Returns the length the whole escaped
 * text needs (without the NUL), as snprintf does: the output is complete when
 * that is below |cap|. |in| may be NULL when |len| is 0. */
size_t text_escape(const char *in, size_t len, char *out, size_t cap);

/* The worst-case length of text_escape's output for |len| bytes of input
 * (4 per byte, plus the NUL). */
#define TEXT_ESCAPE_MAX(len) ((len) * 4 + 1)

#endif
