/* profile_import.h — profiles made from capture records (see profile_import.c). */
#ifndef GUISE_PROFILE_IMPORT_H
#define GUISE_PROFILE_IMPORT_H

#include <stddef.h>

#include <jansson.h>

/* The profile (a new JSON object, the caller's reference) for one browser
 * record of browsers.json, named |name|; NULL with a reason in |err|. */
json_t *profile_from_browsers_json(json_t *record, const char *name, char *err, size_t errlen);

/* The profile for a connection record of a guise echo log (the tls and http2
 * blocks of a real visit), named |name|; |permute| for browsers that shuffle
 * their extensions (Chromium). NULL with a reason in |err|. */
json_t *profile_from_echo(json_t *record, const char *name, const char *description, int permute,
                          char *err, size_t errlen);

/* The profile for a tls.browserleaks.com JSON dump (ClientHello fields and HTTP/2
 * frames of a real browser). */
json_t *profile_from_browserleaks(json_t *dump, const char *name, int permute, char *err,
                                  size_t errlen);

/* What JA3 and Akamai strings do not carry: JSON arrays of names (NULL: the
 * library's default), GREASE in Chrome's places, extension permutation. */
typedef struct profile_string_options {
  const char *sigalgs, *key_shares, *alpn; /* e.g. "[\"h2\", \"http/1.1\"]" */
  int grease, permute;
} profile_string_options;

/* The profile for a JA3 string and an Akamai HTTP/2 string. */
json_t *profile_from_strings(const char *ja3, const char *akamai, const char *name,
                             const profile_string_options *opt, char *err, size_t errlen);

/* The profile for a capture's first ClientHello record |tls_rec| (guise fp
 * form), with HTTP/2 from its first preface record |h2_rec| (cleartext h2) or,
 * when NULL, from the Akamai string |akamai|. |source| says where from. */
json_t *profile_from_capture(json_t *tls_rec, json_t *h2_rec, const char *akamai, const char *name,
                             const char *source, int permute, char *err, size_t errlen);

/* The profile for a tls.peet.ws /api/all JSON dump (its "tls" and "http2"
 * members; the first HEADERS frame's fields become the navigation headers). */
json_t *profile_from_peet(json_t *dump, const char *name, int permute, char *err, size_t errlen);

/* Writes the imported profile |p| (consumed) as indented JSON to |*out| (|*len|
 * bytes, malloc'd), once the strict loader has taken it: whatever an importer
 * makes either loads or is refused with the loader's message (profile_api.c). */
int profile_emit(json_t *p, const char *origin, char **out, size_t *len, char *err,
                 unsigned errlen);

#endif
