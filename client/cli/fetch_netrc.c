/* fetch_netrc.c — -n, --netrc-file: credentials of a host from a .netrc file
 * (fetch_netrc.h). */
#include "fetch_netrc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The next token of a .netrc text at |*p| (before |end|) into |out|: words
 * split by white space, a "quoted word" with \" and \\ inside (curl 7.84+).
 * 0 at the end. */
static int netrc_token(const char **p, const char *end, char *out, size_t cap) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++;
  if (s >= end) return *p = s, 0;
  size_t o = 0;
  if (*s == '"') {
    for (s++; s < end && *s != '"'; s++) {
      if (*s == '\\' && s + 1 < end) s++;
      if (o + 1 < cap) out[o++] = *s;
    }
    if (s < end) s++;
  } else {
    for (; s < end && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n'; s++)
      if (o + 1 < cap) out[o++] = *s;
  }
  out[o] = '\0';
  *p = s;
  return 1;
}

/* -n, --netrc-file: "login:password" of |host| from a .netrc file (the first
 * "machine HOST", else "default"; macdef bodies skipped) into |out|: 1, or 0
 * when the file is missing (as curl, nothing said), unreadable or has none.
 * The file is read whole, at most 1 MiB. */
int fetch_netrc_lookup(const char *path, const char *host, char *out, size_t cap) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return 0;
  enum { CAP = 1 << 20 };
  char *buf = malloc(CAP);
  size_t n = buf ? fread(buf, 1, CAP, fp) : 0;
  fclose(fp);
  if (buf == NULL) return 0;
  const char *p = buf, *end = buf + n;
  char tok[512], login[2][256] = {"", ""}, pass[2][256] = {"", ""}; /* [0]: the machine, [1]: default */
  int state = 0; /* 0: outside, 1: the machine asked for, 2: another machine, 3: default */
  int matched = 0;
  while (netrc_token(&p, end, tok, sizeof(tok))) {
    if (strcmp(tok, "machine") == 0) {
      if (matched) break; /* the machine's entry is over */
      state = netrc_token(&p, end, tok, sizeof(tok)) && strcasecmp(tok, host) == 0 ? 1 : 2;
      matched = state == 1;
    } else if (strcmp(tok, "default") == 0) {
      if (matched) break;
      state = 3;
    } else if (strcmp(tok, "login") == 0 || strcmp(tok, "password") == 0) {
      int is_login = tok[0] == 'l';
      if (!netrc_token(&p, end, tok, sizeof(tok))) break;
      int k = state == 1 ? 0 : state == 3 ? 1 : -1;
      if (k >= 0) snprintf(is_login ? login[k] : pass[k], sizeof(login[k]), "%.255s", tok);
    } else if (strcmp(tok, "account") == 0) {
      (void)netrc_token(&p, end, tok, sizeof(tok));
    } else if (strcmp(tok, "macdef") == 0) {
      /* its name, then lines up to an empty one */
      (void)netrc_token(&p, end, tok, sizeof(tok));
      while (p < end && !(p[0] == '\n' && p + 1 < end && p[1] == '\n')) p++;
    }
  }
  free(buf);
  int k = matched && login[0][0] ? 0 : login[1][0] ? 1 : -1;
  if (k < 0) return 0;
  snprintf(out, cap, "%.255s:%.255s", login[k], pass[k]);
  return 1;
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
