/*
 * at_file.h — the small text files the command line names: -H @FILE, -w @FILE,
 * -K FILE, --netrc-file FILE. One reader for all of them, with a cap:
 *   - a directory is refused by name ("is a directory"), before any read;
 *   - a regular file larger than the cap is refused by its size, unread;
 *   - a pipe, FIFO, device or standard input is read up to the cap and one
 *     byte more: one that never ends stops there (refused, "larger than ...").
 *     A FIFO nobody writes to waits for its writer, as cat(1) and curl do.
 * And one line splitter for -H @FILE over a CBS (BoringSSL's bounded cursor).
 */
#ifndef GUISE_CLI_AT_FILE_H
#define GUISE_CLI_AT_FILE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/bytestring.h>

#include "options.h"

#define CLI_AT_FILE_MAX (1u << 20) /* -H @FILE, -w @FILE, a .netrc: text, never bodies */

/* Reads |path| ("-": standard input, when |dash_is_stdin|) whole into a new
 * buffer: 0 with *out (malloc'd, NUL-ended after its *len bytes; free() it), or
 * -1 with errno set (EISDIR, EFBIG over |cap|, ENOMEM, or open/read's own) and
 * nothing allocated. */
int cli_read_file(const char *path, int dash_is_stdin, size_t cap, uint8_t **out, size_t *len);

/* The message for a failed cli_read_file: "is a directory", "larger than N
 * bytes", or strerror's text. */
const char *cli_read_file_error(int err, size_t cap, char *buf, size_t buf_len);

/* -H @FILE: one header a line, as curl reads it (a CR or LF ends a line; empty
 * lines are skipped). Each line goes to |add| with s->prog set to
 * "PROG: FILE:LINE", so its messages name the line. A NUL byte, a line starting
 * with '@' (no file is read from inside another: a file naming itself looped
 * until the stack ran out), or more than CLI_MAX_HEADERS headers in all is
 * refused naming FILE:LINE (EXIT_USAGE). The file: cli_read_file with
 * CLI_AT_FILE_MAX; one that cannot be read is curl's read error, 26; over the
 * cap EXIT_USAGE. CLI_NEXT, or an exit status after a message. */
int cli_header_file(cli_settings *s, const char *as, const char *path,
                    int (*add)(cli_settings *s, const char *as, const char *line, void *arg), void *arg);

/* -w @FILE: the format in |path| ("-": standard input), read with
 * CLI_AT_FILE_MAX, into *format (kept in |s|): its lines joined, each cut at
 * its first CR or LF, as curl 7.88 reads the file. A NUL byte is refused naming
 * FILE:LINE (curl would drop it and what it hides: refused, EXIT_USAGE); a file
 * that cannot be read, or over the cap, is curl's read error, 26. CLI_NEXT, or
 * an exit status after a message. */
int cli_write_out_file(cli_settings *s, const char *path, const char **format);

/* The -w @FILE joiner, in place: each LF-ended line of |data| kept up to its
 * first CR, the pieces put together. Returns the new length (at most |len|);
 * |data| may be NULL when |len| is 0. */
size_t cli_join_format_lines(uint8_t *data, size_t len);

/* The lines of |in| as cli_header_file splits them: 1 with the next non-empty
 * line in |*line| and its number in |*line_no|, 0 at the end. |*at| is the
 * number of the line the cursor is on (the caller starts it at 1); lines are
 * counted by LF, so "a\r\nb" is lines 1 and 2, and a lone CR ends a header
 * without starting a line. */
int cli_next_text_line(CBS *in, size_t *at, CBS *line, size_t *line_no);

#endif
