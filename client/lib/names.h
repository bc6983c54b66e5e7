/*
 * names.h — IANA names of TLS and HTTP/2 code points, both ways, for profiles
 * (which name things) and for messages. "GREASE" stands for any RFC 8701 value
 * and maps to 0x0a0a (a placeholder to the patch series). Unnamed code points
 * are written "0x" plus four hex digits.
 */
#ifndef GUISE_NAMES_H
#define GUISE_NAMES_H

#include <stdint.h>

typedef enum name_kind {
  NAME_CIPHER,      /* TLS Cipher Suites registry */
  NAME_EXTENSION,   /* TLS ExtensionType Values */
  NAME_GROUP,       /* TLS Supported Groups */
  NAME_SIGALG,      /* TLS SignatureScheme */
  NAME_VERSION,     /* "TLS1.3", "TLS1.2", ... */
  NAME_CERTCOMP,    /* TLS Certificate Compression Algorithm IDs */
  NAME_H2_SETTING   /* HTTP/2 Settings */
} name_kind;

/* The code point of |name| in |kind|'s registry, or of a "0x1234" literal.
 * Returns 0 and |*out|, or -1 for an unknown name. */
int name_to_value(name_kind kind, const char *name, uint16_t *out);

/* The name of |value|, or NULL when the registry has none. */
const char *name_of_value(name_kind kind, uint16_t value);

#endif
