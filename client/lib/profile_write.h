/*
 * profile_write.h — the one writer of the profile format (profiles/FORMAT.md): a
 * profile structure (profile.h) as the JSON text the loader reads, keys in the
 * format's order, indented by two spaces as the shipped files of profiles/ are.
 * Whatever a profile holds is written so that profile_load() of the text gives the
 * same structure back (tests/unit/profile/test_profile_write.c holds it to that for
 * every shipped profile).
 *
 * I/O-free; the text has a cap (PROFILE_MAX_FILE). Calls names.h (code points to IANA
 * names). Called by profile_emit() (profile_api.c) for every importer of
 * profile_import.h.
 */
#ifndef GUISE_PROFILE_WRITE_H
#define GUISE_PROFILE_WRITE_H

#include <stddef.h>

#include "profile.h"

/*
 * Writes |p| to |*out| (|*len| bytes, malloc'd, NUL-terminated, no final newline).
 * Returns 0; PROFILE_ERR_NOMEM; or PROFILE_ERR_INVALID when the text would pass
 * PROFILE_MAX_FILE (which no loadable profile comes near).
 *
 * Which keys are written: every boolean, and every list, number and string that
 * holds something; "http2" unless it is h2_shape_init()'s shape, "headers" and
 * "expected" unless they are empty. A list the loader would refuse as empty is
 * never written empty. Code points are written by name, GREASE (0x0a0a) as
 * "GREASE", unnamed ones as "0x" and four hex digits.
 */
int profile_write(const profile *p, char **out, size_t *len);

#endif
