/* fetch_netrc.c — -n, --netrc-file: credentials of a host from a .netrc file,
 * read with a cap through a CBS (fetch_netrc.h). */
#include "fetch_netrc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "at_file.h"
#include "guise.h"

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int fail(char *why, size_t why_len, const char *text) {
  snprintf(why, why_len, "%s", text);
  return -1;
}

/* Skips the rest of the line at |in| (its '\n' left for the caller to count). */
static void skip_line(CBS *in) {
  const uint8_t *nl = memchr(CBS_data(in), '\n', CBS_len(in));
  CBS_skip(in, nl ? (size_t)(nl - CBS_data(in)) : CBS_len(in));
}

/* The next word of |in| into |tok| (NETRC_MAX_TOKEN + 1 bytes), |*line|
 * counting the LFs passed: 1, 0 at the end, -1 with |why|. */
static int next_token(CBS *in, size_t *line, char *tok, char *why, size_t why_len) {
  for (;;) {
    while (CBS_len(in) && is_space(CBS_data(in)[0])) {
      if (CBS_data(in)[0] == '\n') ++*line;
      CBS_skip(in, 1);
    }
    if (CBS_len(in) == 0) return 0;
    if (CBS_data(in)[0] != '#') break;
    skip_line(in); /* a comment, as curl: '#' starting a word */
  }
  size_t o = 0;
  uint8_t c;
  if (CBS_data(in)[0] == '"') {
    CBS_skip(in, 1);
    for (;;) {
      if (!CBS_get_u8(in, &c) || c == '\n') return fail(why, why_len, "a quoted word is not closed on its line");
      if (c == '"') break;
      if (c == '\\') {
        if (!CBS_get_u8(in, &c) || c == '\n') return fail(why, why_len, "a quoted word is not closed on its line");
        c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
      }
      if (o == NETRC_MAX_TOKEN) return fail(why, why_len, "a word longer than 255 bytes");
      tok[o++] = (char)c;
    }
  } else {
    while (CBS_len(in) && !is_space(CBS_data(in)[0])) {
      if (o == NETRC_MAX_TOKEN) return fail(why, why_len, "a word longer than 255 bytes");
      CBS_get_u8(in, &c);
      tok[o++] = (char)c;
    }
  }
  tok[o] = '\0';
  return 1;
}

/* A macdef's body: the rest of its line, then lines up to an empty one ("\n",
 * "\r\n"; curl's rule). */
static void skip_macdef(CBS *in, size_t *line) {
  skip_line(in);
  while (CBS_get_u8(in, &(uint8_t){0})) { /* the '\n' ending the previous line */
    ++*line;
    const uint8_t *d = CBS_data(in);
    size_t n = CBS_len(in);
    if (n == 0 || d[0] == '\n' || (d[0] == '\r' && n > 1 && d[1] == '\n')) return;
    skip_line(in);
  }
}

int fetch_netrc_parse(CBS *in, const char *host, char *out, size_t cap, size_t *line, char *why,
                      size_t why_len) {
  *line = 1;
  const uint8_t *nul = memchr(CBS_data(in), '\0', CBS_len(in));
  if (nul) {
    for (const uint8_t *p = CBS_data(in); p < nul; p++) *line += *p == '\n';
    return fail(why, why_len, "a NUL byte (not a text file?)");
  }
  char tok[NETRC_MAX_TOKEN + 1];
  char login[2][NETRC_MAX_TOKEN + 1] = {"", ""}, pass[2][NETRC_MAX_TOKEN + 1] = {"", ""}; /* [0]: the machine, [1]: default */
  int state = 0; /* 0: outside, 1: the machine asked for, 2: another machine, 3: default */
  int matched = 0, r;
  size_t machines = 0;
  while ((r = next_token(in, line, tok, why, why_len)) == 1) {
    if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
      if (matched) break; /* the machine's entry is over */
      if (++machines > NETRC_MAX_MACHINES) return fail(why, why_len, "more than 10000 machine entries");
      if (tok[0] == 'd') {
        state = 3;
        continue;
      }
      r = next_token(in, line, tok, why, why_len);
      if (r < 0) return -1;
      state = r == 1 && strcasecmp(tok, host) == 0 ? 1 : 2;
      matched = state == 1;
    } else if (strcmp(tok, "login") == 0 || strcmp(tok, "password") == 0) {
      int is_login = tok[0] == 'l';
      r = next_token(in, line, tok, why, why_len);
      if (r <= 0) break;
      int k = state == 1 ? 0 : state == 3 ? 1 : -1;
      if (k >= 0) memcpy(is_login ? login[k] : pass[k], tok, strlen(tok) + 1);
    } else if (strcmp(tok, "account") == 0) {
      if ((r = next_token(in, line, tok, why, why_len)) <= 0) break;
    } else if (strcmp(tok, "macdef") == 0) {
      if ((r = next_token(in, line, tok, why, why_len)) <= 0) break; /* its name */
      skip_macdef(in, line);
    }
  }
  if (r < 0) return -1;
  int k = matched && login[0][0] ? 0 : login[1][0] ? 1 : -1;
  if (k < 0) return 0;
  if (strlen(login[k]) + strlen(pass[k]) + 2 > cap) return fail(why, why_len, "no room for the credentials");
  snprintf(out, cap, "%s:%s", login[k], pass[k]);
  return 1;
}

int fetch_netrc_lookup(const char *path, const char *host, char *out, size_t cap, char *why,
                       size_t why_len) {
  char shown[300];
  guise_escape_text(path, strlen(path), shown, sizeof(shown));
  uint8_t *data;
  size_t len;
  if (cli_read_file(path, 0, NETRC_MAX_BYTES, &data, &len) != 0) {
    int e = errno;
    if (e == ENOENT) return 0; /* as curl: no file, no credentials, nothing said */
    char buf[80];
    snprintf(why, why_len, "%s: %s", shown, cli_read_file_error(e, NETRC_MAX_BYTES, buf, sizeof(buf)));
    return -1;
  }
  CBS in;
  CBS_init(&in, data, len);
  size_t line;
  char reason[120];
  int r = fetch_netrc_parse(&in, host, out, cap, &line, reason, sizeof(reason));
  free(data);
  if (r < 0) snprintf(why, why_len, "%s:%zu: %s", shown, line, reason);
  return r;
}

/* The host of |url| (no userinfo, no port, an IPv6 address without its
 * brackets) into |out|; 0, or -1 when the URL has credentials of its own. */
int fetch_url_host(const char *url, char *out, size_t cap) {
  const char *a = strstr(url, "://");
  a = a ? a + 3 : url;
  size_t auth_len = strcspn(a, "/?#");
  const char *at = memchr(a, '@', auth_len);
  if (at) return -1;
  size_t len = a[0] == '[' ? strcspn(a + 1, "]") : strcspn(a, ":/?#");
  if (a[0] == '[') a++;
  snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), a);
  return 0;
}
