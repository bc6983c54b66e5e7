/* test_h1_response.c — client/lib/h1_response.c on hand-written responses in the
 * style of real servers (nginx, h2o, Apache, gunicorn, Go): every case is fed
 * whole, one byte at a time, and in 40 random splits, and all must give the
 * same transcript (head, fields, body, trailers, keep-alive, error and its
 * offset). */
#include <stdint.h>
#include <stdlib.h>

#include "guise.h"
#include "h1_response.h"
#include "../../lib/gtest_check.h"

/* ---- transcript ---- */

typedef struct tbuf {
  char s[1 << 18]; /* the 64 KiB head of the cap tests, printed */
  size_t len;
} tbuf;

static void tput(tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void tput(tbuf *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->s + t->len, sizeof(t->s) - t->len, fmt, ap);
  va_end(ap);
  if (n > 0) t->len += (size_t)n;
  if (t->len >= sizeof(t->s)) t->len = sizeof(t->s) - 1;
}

static void tspan(tbuf *t, const uint8_t *p, size_t n) {
  tput(t, "%.*s", (int)n, (const char *)p);
}

static uint32_t rng_state;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* Splits: 0 whole, 1 byte at a time, 2 random. */
enum { WHOLE, BYTES, RANDOM };

/* Bodies of the cases stay small; larger ones are hashed (FNV-1a). */
static uint8_t body_buf[1 << 20];

/*
 * Feeds |d[0..n-1]| in the chunks |mode| gives, then EOF when |eof|, and
 * writes what the parser reported into |t|:
 *   "H<status>/<version>/<reason>|<name>=<value>|...;B<len>:<body>;T|<n>=<v>...;D@<end> ka<k> f<framing>"
 * or ";E<code>@<offset>" at the first error, or ";N" when it still needs more.
 */
static void run(const uint8_t *d, size_t n, unsigned flags, int eof, int mode, tbuf *t) {
  h1_response p;
  h1_response_init(&p, flags);
  t->len = 0;
  t->s[0] = '\0';
  size_t i = 0, blen = 0;
  int rc = H1R_NEED_MORE;
  int finished = 0;
  while (!finished) {
    size_t chunk = n - i;
    if (mode == BYTES && chunk > 1) chunk = 1;
    if (mode == RANDOM && chunk > 1) chunk = 1 + rng() % (rng() % 3 == 0 ? chunk : (chunk < 16 ? chunk : 16));
    size_t left = chunk;
    for (;;) {
      size_t used = 0;
      h1_span b;
      rc = h1_response_feed(&p, d + i, left, &used, &b);
      CHECK(used <= left);
      i += used;
      left -= used;
      if (rc == H1R_HEAD) {
        h1_span r = h1_response_reason(&p);
        tput(t, "H%d/%d/", h1_response_status(&p), h1_response_version(&p));
        tspan(t, r.p, r.len);
        for (size_t k = 0; k < h1_response_header_count(&p); k++) {
          h1_header h = h1_response_header(&p, k);
          tput(t, "|");
          tspan(t, h.name.p, h.name.len);
          tput(t, "=");
          tspan(t, h.value.p, h.value.len);
        }
        continue;
      }
      if (rc == H1R_BODY) {
        CHECK(b.len > 0 && b.len <= used && b.p >= d && b.p + b.len <= d + n);
        if (blen + b.len <= sizeof(body_buf)) memcpy(body_buf + blen, b.p, b.len);
        blen += b.len;
        continue;
      }
      break;
    }
    if (rc == H1R_NEED_MORE && i < n) {
      CHECK(left == 0);
      continue;
    }
    finished = 1;
    if (rc == H1R_NEED_MORE && eof) rc = h1_response_eof(&p);
  }
  if (blen <= 64) {
    tput(t, ";B%zu:", blen);
    tspan(t, body_buf, blen);
  } else {
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < blen && k < sizeof(body_buf); k++) h = (h ^ body_buf[k]) * 16777619u;
    tput(t, ";B%zu#%08x", blen, h);
  }
  if (rc == H1R_DONE) {
    tput(t, ";T");
    for (size_t k = 0; k < h1_response_trailer_count(&p); k++) {
      h1_header h = h1_response_trailer(&p, k);
      tput(t, "|");
      tspan(t, h.name.p, h.name.len);
      tput(t, "=");
      tspan(t, h.value.p, h.value.len);
    }
    tput(t, ";D@%zu ka%d f%d", i, h1_response_keep_alive(&p), (int)h1_response_framing(&p));
    /* Done is sticky and consumes nothing more. */
    size_t used = 99;
    CHECK(h1_response_feed(&p, (const uint8_t *)"x", 1, &used, NULL) == H1R_DONE && used == 0);
  } else if (rc < 0) {
    uint64_t at = 0;
    const char *why = h1_response_error(&p, &at);
    CHECK(why != NULL);
    tput(t, ";E%d@%llu", rc, (unsigned long long)at);
    size_t used = 99;
    CHECK(h1_response_feed(&p, (const uint8_t *)"x", 1, &used, NULL) == rc);
  } else {
    tput(t, ";N");
  }
  h1_response_free(&p);
}

static int cases;

/* Runs |d| in every split and compares each transcript with |want|. */
static void expect_n(const char *name, const char *d, size_t n, unsigned flags, int eof,
                     const char *want) {
  static tbuf t;
  cases++;
  for (int k = 0; k < 42; k++) {
    int mode = k == 0 ? WHOLE : k == 1 ? BYTES : RANDOM;
    rng_state = 0x9e3779b9u + (uint32_t)k * 7919u;
    run((const uint8_t *)d, n, flags, eof, mode, &t);
    gt_checks++;
    if (strcmp(t.s, want) != 0) {
      fprintf(stderr, "%s (split mode %d, run %d):\n  got  %s\n  want %s\n", name, mode, k, t.s,
              want);
      gt_failures++;
      return;
    }
  }
}

#define expect(name, d, flags, eof, want) expect_n(name, d, strlen(d), flags, eof, want)

/* ---- real-world shaped responses ---- */

static void test_h1_response_servers(void) {
  expect("nginx static file",
         "HTTP/1.1 200 OK\r\n"
         "Server: nginx/1.26.3\r\n"
         "Date: Thu, 26 Nov 2026 10:00:00 GMT\r\n"
         "Content-Type: text/html\r\n"
         "Content-Length: 12\r\n"
         "Last-Modified: Tue, 01 Sep 2026 08:00:00 GMT\r\n"
         "Connection: keep-alive\r\n"
         "ETag: \"66d41000-c\"\r\n"
         "Accept-Ranges: bytes\r\n"
         "\r\n"
         "<html></html>EXTRA",
         0, 0,
         "H200/11/OK|Server=nginx/1.26.3|Date=Thu, 26 Nov 2026 10:00:00 GMT|Content-Type=text/html"
         "|Content-Length=12|Last-Modified=Tue, 01 Sep 2026 08:00:00 GMT|Connection=keep-alive"
         "|ETag=\"66d41000-c\"|Accept-Ranges=bytes;B12:<html></html;T;D@247 ka1 f1");
  expect("nginx chunked (gzip on, proxied)",
         "HTTP/1.1 200 OK\r\n"
         "Server: nginx\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n"
         "Transfer-Encoding: chunked\r\n"
         "Connection: keep-alive\r\n"
         "Content-Encoding: gzip\r\n"
         "\r\n"
         "7\r\nMozilla\r\n9\r\nDeveloper\r\n7\r\nNetwork\r\n0\r\n\r\n",
         0, 0,
         "H200/11/OK|Server=nginx|Content-Type=text/plain; charset=utf-8|Transfer-Encoding=chunked"
         "|Connection=keep-alive|Content-Encoding=gzip;B23:MozillaDeveloperNetwork;T;D@194 ka1 f2");
  expect("nginx 404 with Connection: close",
         "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Type: text/html\r\n"
         "Content-Length: 9\r\nConnection: close\r\n\r\nnot found",
         0, 0,
         "H404/11/Not Found|Server=nginx|Content-Type=text/html|Content-Length=9|Connection=close"
         ";B9:not found;T;D@113 ka0 f1");
  expect("h2o chunked with extensions and trailers",
         "HTTP/1.1 200 OK\r\nserver: h2o/2.3.0\r\ncontent-type: application/grpc-web\r\n"
         "transfer-encoding: chunked\r\ntrailer: grpc-status, grpc-message\r\n\r\n"
         "4;name=value;q=\"x y\"\r\nWiki\r\n5 ; ext\r\npedia\r\n000\r\n"
         "grpc-status: 0\r\ngrpc-message:  OK \r\n\r\n",
         0, 0,
         "H200/11/OK|server=h2o/2.3.0|content-type=application/grpc-web|transfer-encoding=chunked"
         "|trailer=grpc-status, grpc-message;B9:Wikipedia;T|grpc-status=0|grpc-message=OK;D@225 ka1 f2");
  expect("Apache HTTP/1.0 keep-alive",
         "HTTP/1.0 200 OK\r\nServer: Apache/2.4.62 (Debian)\r\nContent-Length: 2\r\n"
         "Keep-Alive: timeout=5, max=100\r\nConnection: Keep-Alive\r\n\r\nhi",
         0, 0,
         "H200/10/OK|Server=Apache/2.4.62 (Debian)|Content-Length=2|Keep-Alive=timeout=5, max=100"
         "|Connection=Keep-Alive;B2:hi;T;D@128 ka1 f1");
  expect("HTTP/1.0 close-delimited (python http.server)",
         "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.13.5\r\nContent-type: text/plain\r\n\r\n"
         "all of this\r\n\r\nis body",
         0, 1,
         "H200/10/OK|Server=SimpleHTTP/0.6 Python/3.13.5|Content-type=text/plain;B22:all of this\r\n"
         "\r\nis body;T;D@105 ka0 f3");
  expect("HTTP/1.1 close-delimited",
         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close", 0, 1,
         "H200/11/OK|Content-Type=text/plain;B11:until close;T;D@56 ka0 f3");
  expect("gunicorn bare LF, empty reason, no space",
         "HTTP/1.1 200\nContent-Length: 3\nX-Odd:\n\nabc", 0, 0,
         "H200/11/|Content-Length=3|X-Odd=;B3:abc;T;D@42 ka1 f1");
  expect("empty reason after the space, values trimmed, case kept",
         "HTTP/1.1 201 \r\nx-LoWeR:   a b \t\r\nX-EMPTY:\t \r\nContent-length:0\r\n\r\n", 0, 0,
         "H201/11/|x-LoWeR=a b|X-EMPTY=|Content-length=0;B0:;T;D@65 ka1 f1");
  expect("reason phrase with obs-text and HTAB",
         "HTTP/1.1 200 \xc3\x96K\tfine\r\nContent-Length: 0\r\n\r\n", 0, 0,
         "H200/11/\xc3\x96K\tfine|Content-Length=0;B0:;T;D@44 ka1 f1");
  expect("stray CRLFs before the status line",
         "\r\n\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0, 0, "H204/11/No Content;B0:;T;D@32 ka1 f0");
  expect("any 1.x minor is 1.1", "HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0,
         "H200/11/OK|Content-Length=0;B0:;T;D@38 ka1 f1");
  expect("status 999", "HTTP/1.1 999 Custom\r\nContent-Length: 1\r\n\r\nz", 0, 0,
         "H999/11/Custom|Content-Length=1;B1:z;T;D@43 ka1 f1");
}

static void test_h1_response_no_body_cases(void) {
  /* 204 and 304 have no body whatever they say; the bytes after are not consumed. */
  expect("204 with Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/", 0,
         0, "H204/11/No Content|Content-Length=5;B0:;T;D@46 ka1 f0");
  expect("304 with chunked", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", 0,
         0, "H304/11/Not Modified|Transfer-Encoding=chunked;B0:;T;D@57 ka1 f0");
  expect("HEAD request with Content-Length",
         "HTTP/1.1 200 OK\r\nContent-Length: 615\r\nContent-Type: text/html\r\n\r\n", H1R_REQ_HEAD,
         0, "H200/11/OK|Content-Length=615|Content-Type=text/html;B0:;T;D@65 ka1 f0");
  /* Framing fields of a response without a body are not read, so cannot fail. */
  expect("HEAD request with a broken Content-Length",
         "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\nTransfer-Encoding: gzip\r\n\r\n", H1R_REQ_HEAD,
         0, "H200/11/OK|Content-Length=1, 2|Transfer-Encoding=gzip;B0:;T;D@66 ka1 f0");
  /* 1xx interim responses are skipped; 101 ends the parse at its head. */
  expect("100 Continue and 103 Early Hints before 200",
         "HTTP/1.1 100 Continue\r\n\r\n"
         "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
         0, 0, "H200/11/OK|Content-Length=2;B2:ok;T;D@136 ka1 f1");
  expect("101 Switching Protocols",
         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05hello",
         0, 0,
         "H101/11/Switching Protocols|Upgrade=websocket|Connection=Upgrade"
         "|Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=;B0:;T;D@129 ka0 f0");
  expect("CONNECT 200 opens a tunnel",
         "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01", H1R_REQ_CONNECT, 0,
         "H200/11/Connection established;B0:;T;D@39 ka0 f0");
  expect("CONNECT 407 has a body",
         "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
         "Content-Length: 4\r\n\r\ndeny",
         H1R_REQ_CONNECT, 0,
         "H407/11/Proxy Authentication Required|Proxy-Authenticate=Basic realm=\"p\"|Content-Length=4"
         ";B4:deny;T;D@106 ka1 f1");
}

static void test_h1_response_framing_rules(void) {
  /* TE wins over CL, and the connection is not reused (RFC 9112 §6.3 item 3). */
  expect("TE and CL", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n0\r\n\r\n",
         0, 0, "H200/11/OK|Content-Length=100|Transfer-Encoding=chunked;B3:abc;T;D@81 ka0 f2");
  expect("TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "1\r\nx\r\n0\r\n\r\n",
         0, 0, "H200/10/OK|Connection=keep-alive|Transfer-Encoding=chunked;B1:x;T;D@82 ka0 f2");
  expect("TE identity is ignored", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nq",
         0, 0, "H200/11/OK|Transfer-Encoding=identity|Content-Length=1;B1:q;T;D@68 ka1 f1");
  expect("TE chunked case-insensitive, in a list",
         "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, CHUNKED\r\n\r\n0\r\n\r\n", 0, 0,
         "H200/11/OK|Transfer-Encoding=identity, CHUNKED;B0:;T;D@62 ka1 f2");
  expect("same Content-Length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab",
         0, 0, "H200/11/OK|Content-Length=2|Content-Length=2;B2:ab;T;D@59 ka1 f1");
  expect("same Content-Length in a list", "HTTP/1.1 200 OK\r\nContent-Length: 2 , 2\r\n\r\nab", 0, 0,
         "H200/11/OK|Content-Length=2 , 2;B2:ab;T;D@44 ka1 f1");
  expect("Content-Length with leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabc", 0,
         0, "H200/11/OK|Content-Length=003;B3:abc;T;D@43 ka1 f1");
  expect("Connection tokens", "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n",
         0, 0, "H200/11/OK|Connection=Upgrade, CLOSE|Content-Length=0;B0:;T;D@66 ka0 f1");
  expect("HTTP/1.0 without keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0,
         "H200/10/OK|Content-Length=0;B0:;T;D@38 ka0 f1");
  expect("close wins over keep-alive",
         "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
         0, 0, "H200/10/OK|Connection=keep-alive|Connection=close|Content-Length=0;B0:;T;D@81 ka0 f1");
  /* Refusals. Offsets: the empty line ending the head, for framing conflicts. */
  expect("differing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
         0, 0, ";B0:;E-701@55");
  const char *bad_cl[] = {"+5", "-1", "5a", "0x10", "1 2", "", "5,", ",5", "1, 2",
                          "99999999999999999999"};
  for (size_t i = 0; i < sizeof(bad_cl) / sizeof(bad_cl[0]); i++) {
    char d[128];
    int n = snprintf(d, sizeof(d), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad_cl[i]);
    char want[64];
    snprintf(want, sizeof(want), ";B0:;E-701@%d", n - 2);
    static tbuf t;
    run((const uint8_t *)d, (size_t)n, 0, 0, WHOLE, &t);
    CHECK(strstr(t.s, want) != NULL);
    if (strstr(t.s, want) == NULL) fprintf(stderr, "CL %s: %s (want %s)\n", bad_cl[i], t.s, want);
  }
  expect("chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0, 0,
         ";B0:;E-701@54");
  expect("gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0, 0,
         ";B0:;E-803@51");
  expect("chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
         0, 0, ";B0:;E-803@70");
  expect("empty Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\nContent-Length: 1\r\n\r\nx",
         0, 0, ";B0:;E-701@57");
}

static void test_h1_response_malformed(void) {
  expect("obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n", 0, 0,
         ";B0:;E-701@25");
  expect("space before the first field", "HTTP/1.1 200 OK\r\n X-A: 1\r\n\r\n", 0, 0, ";B0:;E-701@17");
  expect("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello", 0, 0,
         ";B0:;E-701@17");
  expect("no colon", "HTTP/1.1 200 OK\r\nX-A 1\r\n\r\n", 0, 0, ";B0:;E-701@17");
  expect("empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n", 0, 0, ";B0:;E-701@17");
  expect("bad name char", "HTTP/1.1 200 OK\r\nX(A): v\r\n\r\n", 0, 0, ";B0:;E-701@17");
  expect_n("NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", 28, 0, 0, ";B0:;E-701@17");
  expect("bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 0\r\n\r\n", 0, 0,
         ";B0:;E-701@17");
  expect("bare CR in the status line", "HTTP/1.1 200 O\rK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("HTTP/2.0 status line", "HTTP/2.0 200 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("HTTP/0.9", "HTTP/0.9 200 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("lowercase http", "http/1.1 200 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("ICY", "ICY 200 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("status 099", "HTTP/1.1 099 X\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("tab after status", "HTTP/1.1 200\tOK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("two spaces after version", "HTTP/1.1  200 OK\r\n\r\n", 0, 0, ";B0:;E-701@0");
  expect("body-less junk", "garbage\r\n", 0, 0, ";B0:;E-701@0");
  /* Errors are found at the LF of the bad line, whatever the split. */
  expect("status line incomplete", "HTTP/1.1 200 OK", 0, 0, ";B0:;N");
}

static void test_h1_response_chunked_errors(void) {
  const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"; /* 47 bytes */
  char d[512];
  struct {
    const char *body;
    const char *want;
  } k[] = {
      {"10000000000000000\r\n", ";B0:;E-701@47"},  /* 17 hex digits: overflow */
      {"0000000000000000000000001\r\nx\r\n0\r\n\r\n", ";B1:x;T;D@82 ka1 f2"}, /* leading zeros are no overflow */
      {"ffffffffffffffff\r\nabc", ";B3:abc;E-704@68"}, /* 2^64-1 accepted, then EOF */
      {"0x10\r\n", ";B0:;E-701@47"},
      {"-1\r\n", ";B0:;E-701@47"},
      {"\r\n", ";B0:;E-701@47"},
      {"1 x\r\n", ";B0:;E-701@47"},
      {"3\r\nabcd\r\n", ";B3:abc;E-701@54"}, /* data longer than its size: at the byte past the CR's place */
      {"3\r\nabc0\r\n\r\n", ";B3:abc;E-701@54"},
      {"3\r\nabc\r\r\n", ";B3:abc;E-701@54"}, /* CR CR LF */
      {"3\r\nabc\n1\nd\n0\n\n", ";B4:abcd;T;D@61 ka1 f2"}, /* bare LF throughout */
      {"1;a\0b\r\nx\r\n0\r\n\r\n", ";B0:;E-701@47"},
      {"0\r\nX-T: 1\r\n", ";B0:;E-704@58"},      /* EOF inside the trailers */
      {"0\r\n X-T: 1\r\n\r\n", ";B0:;E-701@50"}, /* fold in trailers */
      {"2\r\nab", ";B2:ab;E-704@52"},            /* EOF before the CRLF */
      {"5\r\nab", ";B2:ab;E-704@52"},
  };
  for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
    size_t bl = strlen(k[i].body);
    if (i == 11) bl = 16; /* holds a NUL */
    memcpy(d, h, 47);
    memcpy(d + 47, k[i].body, bl);
    char want[256], name[32];
    snprintf(want, sizeof(want), "H200/11/OK|Transfer-Encoding=chunked%s", k[i].want);
    snprintf(name, sizeof(name), "chunked case %zu", i);
    expect_n(name, d, 47 + bl, 0, 1, want);
  }
}

static void test_h1_response_eof(void) {
  expect("no byte at all", "", 0, 1, ";B0:;E-304@0");
  expect("EOF in the status line", "HTTP/1.1 200", 0, 1, ";B0:;E-704@12");
  expect("EOF after stray CRLF", "\r\n", 0, 1, ";B0:;E-704@2");
  expect("EOF after 100 Continue", "HTTP/1.1 100 Continue\r\n\r\n", 0, 1, ";B0:;E-704@25");
  expect("EOF in the head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", 0, 1, ";B0:;E-704@36");
  expect("EOF in a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", 0, 1,
         "H200/11/OK|Content-Length=5;B3:abc;E-704@41");
  expect("EOF in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0, 1,
         "H200/11/OK|Transfer-Encoding=chunked;B2:ab;E-704@52");
  expect("EOF before the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n", 0,
         1, "H200/11/OK|Transfer-Encoding=chunked;B1:a;E-704@53");
  expect("EOF right after the head of a 204", "HTTP/1.1 204 No Content\r\n\r\n", 0, 1,
         "H204/11/No Content;B0:;T;D@27 ka1 f0");
}

/* ---- caps ---- */

static char big[2 * H1_MAX_HEAD];

/* "HTTP/1.1 200 OK\r\n" + a field line whose content is |line| bytes + CRLF CRLF. */
static size_t long_line(size_t line) {
  size_t n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nX: ");
  memset(big + n, 'v', line - 3);
  n += line - 3;
  memcpy(big + n, "\r\nContent-Length: 0\r\n\r\n", 23);
  return n + 23;
}

static void test_h1_response_caps(void) {
  char want[128];
  /* A line of exactly 8 KiB passes; one byte more fails at that byte. */
  size_t n = long_line(H1_MAX_LINE);
  static tbuf t;
  run((const uint8_t *)big, n, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, ";D@") != NULL);
  n = long_line(H1_MAX_LINE + 1);
  snprintf(want, sizeof(want), ";B0:;E-702@%u", 17 + H1_MAX_LINE + 1);
  expect_n("line one byte over", big, n, 0, 0, want);
  /* ... also when that last byte is a CR not followed by LF: it still counts. */
  n = long_line(H1_MAX_LINE);
  big[17 + H1_MAX_LINE] = 'v'; /* the CR becomes content: a line of 8193 bytes ending in LF */
  snprintf(want, sizeof(want), ";B0:;E-702@%u", 17 + H1_MAX_LINE);
  /* Line content is 8193 bytes before the LF; with no CR the line is over at its LF... */
  run((const uint8_t *)big, n, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, ";E-702@") != NULL);
  expect_n("line of 8193 ending in bare LF", big, n, 0, 0, t.s);

  /* 100 fields pass, 101 fail at the 101st. */
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < H1_MAX_HEADERS; i++) n += (size_t)sprintf(big + n, "X-%03d: v\r\n", i);
  memcpy(big + n, "\r\n", 2);
  run((const uint8_t *)big, n + 2, 0, 1, WHOLE, &t);
  CHECK(strstr(t.s, ";D@") != NULL && strstr(t.s, "X-099=v") != NULL);
  size_t at = n;
  n += (size_t)sprintf(big + n, "X-100: v\r\n\r\n");
  snprintf(want, sizeof(want), ";B0:;E-702@%zu", at);
  expect_n("101 fields", big, n, 0, 0, want);

  /* The head as a whole: 9 lines of 8000 bytes pass the line cap but not 64 KiB;
   * the error is at the first byte past 64 KiB. */
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\n");
  for (int i = 0; i < 9; i++) {
    n += (size_t)sprintf(big + n, "X-%d: ", i);
    memset(big + n, 'v', 8000);
    n += 8000;
    memcpy(big + n, "\r\n", 2);
    n += 2;
  }
  memcpy(big + n, "\r\n", 2);
  snprintf(want, sizeof(want), ";B0:;E-702@%u", H1_MAX_HEAD);
  expect_n("head over 64 KiB", big, n + 2, 0, 0, want);

  /* Trailers: 32 pass, 33 fail. */
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
  for (int i = 0; i < H1_MAX_TRAILERS; i++) n += (size_t)sprintf(big + n, "T%d: v\r\n", i);
  memcpy(big + n, "\r\n", 2);
  run((const uint8_t *)big, n + 2, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, ";D@") != NULL && strstr(t.s, "|T31=v") != NULL);
  at = n;
  n += (size_t)sprintf(big + n, "T32: v\r\n\r\n");
  snprintf(want, sizeof(want), "H200/11/OK|Transfer-Encoding=chunked;B0:;E-702@%zu", at);
  expect_n("33 trailers", big, n, 0, 0, want);

  /* Interim responses: 32 skipped, the 33rd refused. */
  n = 0;
  for (int i = 0; i < H1_MAX_INTERIM; i++) n += (size_t)sprintf(big + n, "HTTP/1.1 103 Early Hints\r\n\r\n");
  n += (size_t)sprintf(big + n, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  run((const uint8_t *)big, n, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, "H200") != NULL && strstr(t.s, ";D@") != NULL);
  n = 0;
  for (int i = 0; i <= H1_MAX_INTERIM; i++) n += (size_t)sprintf(big + n, "HTTP/1.1 100 Continue\r\n\r\n");
  snprintf(want, sizeof(want), ";B0:;E-701@%zu", n - 2);
  expect_n("33 interim responses", big, n, 0, 0, want);

  /* A chunk-size line with 4 KiB of extensions passes, one byte more does not. */
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
  memset(big + n, 'e', H1_MAX_CHUNK_LINE - 2);
  n += H1_MAX_CHUNK_LINE - 2;
  n += (size_t)sprintf(big + n, "\r\nx\r\n0\r\n\r\n");
  run((const uint8_t *)big, n, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, ";B1:x;T;D@") != NULL);
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
  memset(big + n, 'e', H1_MAX_CHUNK_LINE);
  n += H1_MAX_CHUNK_LINE;
  n += (size_t)sprintf(big + n, "\r\nx\r\n0\r\n\r\n");
  snprintf(want, sizeof(want), "H200/11/OK|Transfer-Encoding=chunked;B0:;E-701@%u",
           47 + H1_MAX_CHUNK_LINE + 1);
  expect_n("chunk line over 4 KiB", big, n, 0, 0, want);

  /* A large Content-Length body in random splits: nothing copied, all delivered. */
  n = (size_t)sprintf(big, "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n");
  for (size_t i = 0; i < 70000; i++) big[n + i] = (char)('a' + i % 26);
  run((const uint8_t *)big, n + 70000, 0, 0, WHOLE, &t);
  CHECK(strstr(t.s, ";B70000#") != NULL && strstr(t.s, "ka1 f1") != NULL);
  expect_n("70000-byte body", big, n + 70000, 0, 0, t.s);
}

/* Two responses on one connection: the second is parsed from the bytes the first
 * did not consume, after a reset. */
static void test_h1_response_keep_alive_reuse(void) {
  const char *d = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nonE"
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
                  "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";
  size_t n = strlen(d), off = 0, used;
  h1_response p;
  h1_response_init(&p, 0);
  h1_span b;
  CHECK(h1_response_feed(&p, (const uint8_t *)d, n, &used, &b) == H1R_HEAD);
  off += used;
  CHECK(h1_response_status(&p) == 200 && h1_response_content_length(&p) == 3);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_BODY);
  off += used;
  CHECK(b.len == 3 && memcmp(b.p, "onE", 3) == 0);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_DONE && used == 0);
  CHECK(h1_response_keep_alive(&p) && off == 41);

  h1_response_reset(&p, 0);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_HEAD);
  off += used;
  h1_header h = h1_response_header(&p, 0);
  CHECK(h.name.len == 17 && memcmp(h.name.p, "Transfer-Encoding", 17) == 0);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_BODY);
  off += used;
  CHECK(b.len == 3 && memcmp(b.p, "two", 3) == 0);
  /* The head's spans stay valid while the body and trailers are read. */
  CHECK(h.name.len == 17 && memcmp(h.name.p, "Transfer-Encoding", 17) == 0);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_DONE);
  off += used;

  h1_response_reset(&p, H1R_REQ_HEAD);
  CHECK(h1_response_feed(&p, (const uint8_t *)d + off, n - off, &used, &b) == H1R_HEAD);
  off += used;
  CHECK(h1_response_status(&p) == 304 && off == n);
  CHECK(h1_response_feed(&p, NULL, 0, &used, NULL) == H1R_DONE);
  CHECK(h1_response_eof(&p) == H1R_DONE);
  h1_response_free(&p);
  /* Free then init again is allowed; free twice too. */
  h1_response_free(&p);
}

int main(void) {
  test_h1_response_servers();
  test_h1_response_no_body_cases();
  test_h1_response_framing_rules();
  test_h1_response_malformed();
  test_h1_response_chunked_errors();
  test_h1_response_eof();
  test_h1_response_caps();
  test_h1_response_keep_alive_reuse();
  printf("test_h1_response: %d responses, each in 42 splits\n", cases);
  return gt_done("test_h1_response");
}
