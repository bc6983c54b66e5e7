/*
 * test_cookie — the cookie jar against RFC 6265's rules and examples (section
 * numbers are the RFC's), the public-suffix list (Debian's publicsuffix through
 * libpsl), and curl's Netscape file format. Expected values come from the RFC's
 * text, not from running the code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/gtest_check.h"
#include "cookie.h"

/* 2015-10-21T07:28:00Z, the instant of the RFC 7231 Date example's style */
#define T0 1445412480LL

static int set(cookie_jar *j, const char *host, const char *path, int https, const char *v, const char **why) {
  return cookie_jar_set(j, host, path, https, v, strlen(v), T0, why);
}

static const char *hdr(cookie_jar *j, const char *host, const char *path, int https, long long now) {
  static char buf[4096];
  cookie_header(j, host, path, https, now, buf, sizeof(buf));
  return buf;
}

/* The line numbers cookie_jar_load_netscape reported. */
typedef struct warnings {
  size_t lines[16];
  size_t n;
} warnings;

static void record_warning(void *arg, size_t line, const char *why) {
  warnings *w = arg;
  (void)why;
  if (w->n < 16) w->lines[w->n] = line;
  w->n++;
}

int main(void) {
  const char *why;
  /* 3.1 examples: a host-only cookie, then Domain and Path */
  cookie_jar *j = cookie_jar_new();
  CHECK_MSG(set(j, "example.com", "/", 1, "SID=31d4d96e407aad42", &why) == 1, "plain: %s", why);
  CHECK_MSG(strcmp(hdr(j, "example.com", "/", 1, T0), "SID=31d4d96e407aad42") == 0, "got %s", hdr(j, "example.com", "/", 1, T0));
  CHECK_MSG(hdr(j, "www.example.com", "/", 1, T0)[0] == '\0', "host-only went to a subdomain");
  CHECK_MSG(set(j, "example.com", "/", 1, "SID=31d4d96e407aad42; Path=/; Domain=example.com", &why) == 1, "%s", why);
  CHECK_MSG(strcmp(hdr(j, "www.example.com", "/", 1, T0), "SID=31d4d96e407aad42") == 0, "domain cookie: %s",
        hdr(j, "www.example.com", "/", 1, T0));
  /* Secure and HttpOnly; the Secure one only over https (5.4 step 1) */
  CHECK_MSG(set(j, "example.com", "/", 1, "SID=31d4d96e407aad42; Path=/; Secure; HttpOnly", &why) == 1, "%s", why);
  CHECK_MSG(set(j, "example.com", "/", 1, "lang=en-US; Path=/; Domain=example.com", &why) == 1, "%s", why);
  /* 5.3 step 11: same name, domain and path replaces (host-only or not), keeping
   * the creation time; 5.4 step 2: same path length, older first */
  CHECK_MSG(cookie_jar_count(j) == 2, "one SID and lang: %zu", cookie_jar_count(j));
  CHECK_MSG(strcmp(hdr(j, "example.com", "/", 1, T0), "SID=31d4d96e407aad42; lang=en-US") == 0,
        "SID (older) then lang: %s", hdr(j, "example.com", "/", 1, T0));
  CHECK_MSG(strcmp(hdr(j, "example.com", "/", 0, T0), "lang=en-US") == 0,
        "the Secure SID is left out over http: %s", hdr(j, "example.com", "/", 0, T0));
  CHECK_MSG(hdr(j, "www.example.com", "/", 1, T0)[0] == 'l', "the last SID is host-only again: %s",
        hdr(j, "www.example.com", "/", 1, T0));
  cookie_jar_free(j);

  /* 3.1: an Expires in the past removes the cookie */
  j = cookie_jar_new();
  set(j, "example.com", "/", 1, "lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT", &why);
  CHECK_MSG(cookie_jar_count(j) == 1 && cookie_jar_at(j, 0)->expires == 1623233894LL,
        "expiry parsed: %lld", cookie_jar_count(j) ? (long long)cookie_jar_at(j, 0)->expires : 0LL);
  set(j, "example.com", "/", 1, "lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT", &why);
  CHECK_MSG(cookie_jar_count(j) == 0, "past Expires deletes");
  /* 5.1.1: other date forms (RFC 850, asctime, two-digit years) */
  set(j, "example.com", "/", 1, "a=1; Expires=Sunday, 06-Nov-94 08:49:37 GMT", &why);
  CHECK_MSG(cookie_jar_count(j) == 0, "06-Nov-94 is 1994: in the past");
  set(j, "example.com", "/", 1, "a=1; Expires=Sun Nov  6 08:49:37 2044", &why);
  CHECK_MSG(cookie_jar_count(j) == 1 && cookie_jar_at(j, 0)->expires == 2362034977LL, "asctime: %lld",
        cookie_jar_count(j) ? (long long)cookie_jar_at(j, 0)->expires : 0LL);
  /* 5.3 step 3: Max-Age wins over Expires; Max-Age=0 deletes */
  set(j, "example.com", "/", 1, "a=1; Expires=Sun Nov  6 08:49:37 2044; Max-Age=60", &why);
  CHECK_MSG(cookie_jar_count(j) == 1 && cookie_jar_at(j, 0)->expires == T0 + 60, "Max-Age wins");
  CHECK_MSG(hdr(j, "example.com", "/", 1, T0 + 61)[0] == '\0', "expired after Max-Age");
  set(j, "example.com", "/", 1, "a=1; Max-Age=0", &why);
  CHECK_MSG(cookie_jar_count(j) == 0, "Max-Age=0 deletes");
  cookie_jar_free(j);

  /* 5.3 step 5-6: Domain must domain-match the host and not be a public suffix */
  j = cookie_jar_new();
  CHECK_MSG(set(j, "www.example.com", "/", 1, "a=1; Domain=example.org", &why) == 0, "foreign domain stored");
  CHECK_MSG(set(j, "www.example.co.uk", "/", 1, "a=1; Domain=co.uk", &why) == 0, "co.uk is a public suffix");
  CHECK_MSG(set(j, "www.example.com", "/", 1, "a=1; Domain=com", &why) == 0, "com is a public suffix");
  CHECK_MSG(set(j, "foo.github.io", "/", 1, "a=1; Domain=github.io", &why) == 0, "github.io: private suffix");
  CHECK_MSG(set(j, "www.example.co.uk", "/", 1, "a=1; Domain=.Example.CO.uk", &why) == 1, "leading dot, case: %s", why);
  CHECK_MSG(strcmp(hdr(j, "shop.example.co.uk", "/", 1, T0), "a=1") == 0, "sibling gets the domain cookie");
  CHECK_MSG(set(j, "127.0.0.1", "/", 0, "ip=1; Domain=0.0.1", &why) == 0, "IP host with a Domain suffix");
  cookie_jar_free(j);

  /* 5.1.4 default path and path-match */
  j = cookie_jar_new();
  set(j, "example.com", "/docs/web/page.html?x=1", 1, "d=1", &why);
  CHECK_MSG(strcmp(cookie_jar_at(j, 0)->path, "/docs/web") == 0, "default path %s", cookie_jar_at(j, 0)->path);
  CHECK_MSG(strcmp(hdr(j, "example.com", "/docs/web/other", 1, T0), "d=1") == 0, "path-match below");
  CHECK_MSG(strcmp(hdr(j, "example.com", "/docs/web", 1, T0), "d=1") == 0, "path-match equal");
  CHECK_MSG(hdr(j, "example.com", "/docs/webby", 1, T0)[0] == '\0', "no path-match for /docs/webby");
  set(j, "example.com", "/", 1, "root=1; Path=/", &why);
  CHECK_MSG(strcmp(hdr(j, "example.com", "/docs/web/x", 1, T0), "d=1; root=1") == 0, "longer path first: %s",
        hdr(j, "example.com", "/docs/web/x", 1, T0));
  cookie_jar_free(j);

  /* RFC 6265bis: Secure only from https; prefixes */
  j = cookie_jar_new();
  CHECK_MSG(set(j, "example.com", "/", 0, "s=1; Secure", &why) == 0, "Secure from http stored");
  CHECK_MSG(set(j, "example.com", "/", 1, "__Secure-a=1", &why) == 0, "__Secure- without Secure");
  CHECK_MSG(set(j, "example.com", "/", 1, "__Secure-a=1; Secure", &why) == 1, "__Secure- ok: %s", why);
  CHECK_MSG(set(j, "example.com", "/", 1, "__Host-a=1; Secure; Path=/; Domain=example.com", &why) == 0,
        "__Host- with Domain");
  CHECK_MSG(set(j, "example.com", "/", 1, "__Host-b=1; Secure; Path=/", &why) == 1, "__Host- ok: %s", why);
  /* malformed: refused with a reason, never a crash */
  CHECK_MSG(set(j, "example.com", "/", 1, "novalue", &why) == 0 && why[0], "no '='");
  CHECK_MSG(set(j, "example.com", "/", 1, "=v", &why) == 0 && why[0], "empty name");
  CHECK_MSG(cookie_jar_set(j, "example.com", "/", 1, "a=b\0c", 5, T0, &why) == 0, "NUL");
  cookie_jar_free(j);

  /* caps: 180 per domain, the oldest goes */
  j = cookie_jar_new();
  char v[64];
  for (int i = 0; i < 200; i++) {
    snprintf(v, sizeof(v), "c%d=%d", i, i);
    set(j, "example.com", "/", 1, v, &why);
  }
  CHECK_MSG(cookie_jar_count(j) == COOKIE_MAX_PER_DOMAIN, "per-domain cap: %zu", cookie_jar_count(j));
  CHECK_MSG(strcmp(cookie_jar_at(j, 0)->name, "c20") == 0, "oldest evicted first: %s", cookie_jar_at(j, 0)->name);
  cookie_jar_free(j);

  /* Netscape files: curl's format, with a bad line skipped */
  const char *file =
      "# Netscape HTTP Cookie File\n"
      ".example.com\tTRUE\t/\tFALSE\t0\tsess\tabc\n"
      "#HttpOnly_example.com\tFALSE\t/app\tTRUE\t2000000000\tsecret\txyz\n"
      "broken line\n"
      "example.com\tFALSE\t/\tFALSE\t1000\told\tgone\n"
      "example.com\tFALSE\t/\tFALSE\t0\tempty\t\n";
  j = cookie_jar_new();
  size_t added = cookie_jar_load_netscape(j, file, strlen(file), T0, NULL, NULL);
  CHECK_MSG(added == 3 && cookie_jar_count(j) == 3, "loaded %zu", added);
  CHECK_MSG(strcmp(hdr(j, "www.example.com", "/", 1, T0), "sess=abc") == 0, "subdomain flag: %s",
        hdr(j, "www.example.com", "/", 1, T0));
  CHECK_MSG(strcmp(hdr(j, "example.com", "/app/x", 1, T0), "secret=xyz; sess=abc; empty=") == 0, "all three: %s",
        hdr(j, "example.com", "/app/x", 1, T0));
  char path[] = "/tmp/guise-cookie-test-XXXXXX";
  int fd = mkstemp(path);
  CHECK_MSG(fd >= 0 && cookie_jar_save_netscape(j, path, T0) == 0, "save");
  FILE *f = fopen(path, "r");
  char back[2048] = "";
  size_t got = f ? fread(back, 1, sizeof(back) - 1, f) : 0;
  back[got] = '\0';
  if (f) fclose(f);
  CHECK_MSG(strstr(back, "\n.example.com\tTRUE\t/\tFALSE\t0\tsess\tabc\n") &&
            strstr(back, "\n#HttpOnly_example.com\tFALSE\t/app\tTRUE\t2000000000\tsecret\txyz\n"),
        "written as curl writes: %s", back);
  cookie_jar *k = cookie_jar_new();
  CHECK_MSG(cookie_jar_load_netscape(k, back, got, T0, NULL, NULL) == 3, "read back");
  cookie_jar_free(k);
  remove(path);
  cookie_jar_free(j);

  /* File lines get the rules Set-Cookie gets (RFC 6265 5.3 step 5, RFC 6265bis
   * 5.6 step 1 and 4.1.3): each bad line skipped and reported with its number. */
  const char *hostile =
      ".com\tTRUE\t/\tFALSE\t0\tsupercookie\t1\n"           /* 1: a public suffix */
      "example.com\tFALSE\t/\tFALSE\t0\tcr\tA\rB\n"           /* 2: a bare CR in the value */
      "example.com\tFALSE\t/\tFALSE\t0\t \tspace\n"            /* 3: a space as the name */
      "example.com\tFALSE\t/\tFALSE\t0\tbell\tA\aB\n"         /* 4: BEL in the value */
      "example.com\tFALSE\t/\tFALSE\t0\tn\x01m\tv\n"          /* 5: a control character in the name */
      "example.com\tFALSE\t/\tFALSE\t0\t__Host-x\t1\n"       /* 6: __Host- without Secure */
      "example.com\tFALSE\t/\tFALSE\t0\t__Secure-x\t1\n"     /* 7: __Secure- without Secure */
      "exa mple.com\tFALSE\t/\tFALSE\t0\td\t1\n"               /* 8: a space in the domain */
      ".co.uk\tTRUE\t/\tFALSE\t0\tuk\t1\n"                   /* 9: a public suffix of two labels */
      "example.com\tMAYBE\t/\tFALSE\t0\tflag\t1\n"           /* 10: a flag neither TRUE nor FALSE */
      "example.com\tFALSE\t/\tFALSE\t0\tgood\t1\n"           /* 11: kept */
      "example.com\tFALSE\t/\tTRUE\t0\t__Host-ok\t1\n"       /* 12: kept */
      ".example.com\tTRUE\t/\tFALSE\t0\tdomainwide\t1\n";    /* 13: kept */
  j = cookie_jar_new();
  warnings warned = {{0}, 0};
  added = cookie_jar_load_netscape(j, hostile, strlen(hostile), T0, record_warning, &warned);
  CHECK_MSG(added == 3 && cookie_jar_count(j) == 3, "hostile file: %zu added, want 3", added);
  CHECK_MSG(warned.n == 10, "hostile file: %zu warnings, want 10", warned.n);
  for (size_t i = 0; i < warned.n && i < 10; i++) CHECK_MSG(warned.lines[i] == i + 1, "warning %zu names line %zu", i, warned.lines[i]);
  CHECK_MSG(strcmp(hdr(j, "example.com", "/", 1, T0), "good=1; __Host-ok=1; domainwide=1") == 0, "kept: %s",
        hdr(j, "example.com", "/", 1, T0));
  CHECK_MSG(strcmp(hdr(j, "other.com", "/", 1, T0), "") == 0, "no supercookie for other.com: %s",
        hdr(j, "other.com", "/", 1, T0));
  cookie_jar_free(j);
  /* The same rules for Set-Cookie: a control character other than HTAB refuses it. */
  j = cookie_jar_new();
  CHECK_MSG(!set(j, "example.com", "/", 1, "a=1\a2", &why), "BEL in Set-Cookie refused");
  CHECK_MSG(set(j, "example.com", "/", 1, "a=1\t2", &why), "HTAB in a Set-Cookie value kept: %s", why);
  CHECK_MSG(!set(j, "example.com", "/", 1, "__Secure-a=1", &why), "__Secure- without Secure refused");
  cookie_jar_free(j);

  return gt_done("test_cookie");
}
