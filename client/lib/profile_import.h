/*
 * profile_import.h — profiles made from what someone observed of a real browser:
 * a browsers.json record, a guise echo log line, a tls.browserleaks.com or
 * tls.peet.ws dump, a capture's flights, or JA3 and Akamai strings. Each importer
 * reads its input as a tree of the project's bounded JSON reader (json_read.h:
 * jv_parse) and fills a profile structure (profile.h); profile_emit() writes it with
 * the one writer (profile_write.h) and has the strict loader take the text, so what
 * an importer makes either loads or is refused with the loader's message.
 *
 * I/O-free but for profile_import_read_file(). Calls names.h, tls_shape.h (which
 * extension types BoringSSL writes itself), profile_write.h, profile.h. Called by
 * profile_api.c (guise_profile_import*), client/capture/profile_capture.c
 * (guise_profile_import_capture) and the fuzz targets profile_import and
 * profile_strings.
 *
 * Every importer returns 0 with |*out| filled (the caller's memory, overwritten
 * whole), or -1 with a one-line reason in |err|.
 */
#ifndef GUISE_PROFILE_IMPORT_H
#define GUISE_PROFILE_IMPORT_H

#include <stddef.h>

#include "json_read.h"
#include "profile.h"

/* The profile for one browser record of browsers.json, named |name|. */
int profile_from_browsers_json(const jv *record, const char *name, profile *out, char *err,
                               size_t errlen);

/* The profile for a connection record of a guise echo log (the tls and http2
 * blocks of a real visit), named |name|; |permute| for browsers that shuffle their
 * extensions (Chromium). */
int profile_from_echo(const jv *record, const char *name, const char *description, int permute,
                      profile *out, char *err, size_t errlen);

/* The profile for a tls.browserleaks.com JSON dump (ClientHello fields and HTTP/2
 * frames of a real browser). */
int profile_from_browserleaks(const jv *dump, const char *name, int permute, profile *out,
                              char *err, size_t errlen);

/* What JA3 and Akamai strings do not carry: JSON arrays of names (NULL: the
 * library's default), GREASE in Chrome's places, extension permutation. */
typedef struct profile_string_options {
  const char *sigalgs, *key_shares, *alpn; /* e.g. "[\"h2\", \"http/1.1\"]" */
  int grease, permute;
} profile_string_options;

/* The profile for a JA3 string and an Akamai HTTP/2 string. */
int profile_from_strings(const char *ja3, const char *akamai, const char *name,
                         const profile_string_options *opt, profile *out, char *err, size_t errlen);

/* The profile for a capture's first ClientHello record |tls_rec| (guise fp form),
 * with HTTP/2 from its first preface record |h2_rec| (cleartext h2, or the guise
 * echo log's record of the same connection) or, when NULL, from the Akamai string
 * |akamai|. |source| says where from. */
int profile_from_capture(const jv *tls_rec, const jv *h2_rec, const char *akamai, const char *name,
                         const char *source, int permute, profile *out, char *err, size_t errlen);

/* The profile for a tls.peet.ws /api/all JSON dump (its "tls" and "http2"
 * members; the first HEADERS frame's fields become the navigation headers). */
int profile_from_peet(const jv *dump, const char *name, int permute, profile *out, char *err,
                      size_t errlen);

/* Writes the imported profile |p| (profile_write) to |*out| (|*len| bytes, malloc'd,
 * NUL-terminated), once the strict loader has taken the text, which it names
 * |origin| in messages. 0, GUISE_E_NOMEM, or GUISE_E_PROFILE_INVALID with the
 * loader's message (profile_api.c). */
int profile_emit(const profile *p, const char *origin, char **out, size_t *len, char *err,
                 unsigned errlen);

/* For an import without request headers (JA3 + Akamai strings, a capture without its
 * echo log): the navigation and kinds of the shipped profile nearest to |p|'s hello
 * (the highest sum of the Jaccard similarities of the cipher, extension and group
 * sets, GREASE aside; a tie to the higher version in the name, among those that send
 * a user-agent), named in |p|'s source. 0, or -1 (out of memory, no such profile). */
int profile_take_nearest_headers(profile *p);

/* Reads the file |path| (at most |max| bytes) as one JSON document into |doc|.
 * 0, or -1 with "why" or "line:column: why" in |err| (for the caller to prefix with
 * the file's name). */
int profile_import_read_file(const char *path, size_t max, jv_doc *doc, char *err, size_t errlen);

#endif
