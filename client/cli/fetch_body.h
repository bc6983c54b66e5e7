/*
 * fetch_body.h — the request body of `guise URL`, from curl's body options
 * (read by options.c into cli_settings.body_args, in the order given):
 *
 *   -d/--data, --data-ascii, --data-binary, --data-raw, --data-urlencode, --json
 *       pieces joined with '&' (a --json piece with nothing), in memory (capped);
 *   -F/--form, --form-string
 *       multipart/form-data, streamed from the files, its boundary as the
 *       profile's browser makes it;
 *   -T/--upload-file FILE|-
 *       PUT of the file, streamed; the k-th -T goes to the k-th URL;
 *   -G/--get
 *       the -d pieces go into the URL's query, and the request is a GET.
 *
 * A streamed body goes through guise_request_options.body_read with
 * body_rewind (a file can be read again for a 307/308 or a retry; stdin
 * cannot). Called by cmd_fetch.c only, with two hooks: fetch_body_prepare
 * before the requests, fetch_body_for_url for each one. See docs/CLI.md.
 */
#ifndef GUISE_CLI_FETCH_BODY_H
#define GUISE_CLI_FETCH_BODY_H

#include <stddef.h>

#include "guise.h"
#include "options.h"

/* Exit status for a file that cannot be read (curl's 26, "read error"). */
#define FETCH_BODY_EXIT_READ 26

/*
 * Reads the body options of |s| (files opened and sized, -d/--json data
 * read): sets |o|'s method and in-memory body, adds Content-Type (and Accept
 * for --json) to |s|'s headers unless -H gave them, rewrites the URLs in
 * s->operands for -G (the query) and -T (a URL ending in '/' gets the file's
 * name). Its state is kept in |s| (freed by cli_settings_free). Returns
 * CLI_NEXT, or an exit status after a one-line message (2: a bad option or a
 * combination curl refuses; 26: a file that cannot be read).
 */
int fetch_body_prepare(cli_settings *s, guise_request_options *o);

/* The body of the |i|-th URL into |o| (a streamed source of its own, or none:
 * a URL past the last -T is a GET). */
void fetch_body_for_url(cli_settings *s, guise_request_options *o, size_t i);

/* --retry: whether |o|'s body (fetch_body_for_url's) can go again from its first
 * byte (always, but a stream from stdin once read), and its rewind before an
 * attempt after the first: 0, or -1 when it cannot. A body in memory or none: 0. */
int fetch_body_can_restart(const guise_request_options *o);
int fetch_body_restart(guise_request_options *o);

#endif
