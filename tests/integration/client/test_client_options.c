/*
 * test_client_options.c — what guise_client_new refuses (issue 14, items 6 and
 * 7) and what guise_escape_text makes of text from a server (item 14), through
 * the public API only. Expected values are written from guise.h's contract,
 * RFC 3629's table of well-formed UTF-8 and the C0/C1 control ranges.
 */
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "../../lib/gtest_check.h"
#include "guise.h"

static void check(const char *what, int ok, const char *detail) { CHECK_NAMED(what, ok, detail); }

/* guise_client_new with |o|; the code it returns (the client closed at once). */
static int client_new(uv_loop_t *loop, const guise_client_options *o) {
  guise_client *c = NULL;
  int e = guise_client_new((struct uv_loop_s *)loop, o, &c);
  if (c) guise_client_close(c);
  uv_run(loop, UV_RUN_DEFAULT);
  return e;
}

static void expect_client(uv_loop_t *loop, const char *what, const guise_client_options *o, int want) {
  int got = client_new(loop, o);
  char detail[128];
  snprintf(detail, sizeof(detail), "got %s, want %s", guise_err_name(got), guise_err_name(want));
  check(what, got == want, detail);
}

static void expect_escape(const char *what, const char *in, size_t len, const char *want) {
  char out[256];
  size_t need = guise_escape_text(in, len, out, sizeof(out));
  char detail[600];
  snprintf(detail, sizeof(detail), "got \"%s\" (need %zu), want \"%s\"", out, need, want);
  check(what, strcmp(out, want) == 0 && need == strlen(want), detail);
}

/* What the log callback and on_cookie_warning were given. */
typedef struct heard {
  int logs, warnings, level;
  char log_msg[512], warning[512];
} heard;

static void on_log(void *arg, int level, const char *msg) {
  heard *h = arg;
  h->logs++;
  h->level = level;
  snprintf(h->log_msg, sizeof(h->log_msg), "%s", msg);
}

static void on_warning(void *arg, const char *what) {
  heard *h = arg;
  h->warnings++;
  snprintf(h->warning, sizeof(h->warning), "%s", what);
}

/* guise_client_options.log: a cookie-file line the jar refuses is a
 * GUISE_LOG_WARN message, as guise.h says; on_cookie_warning still gets it; a
 * log_level below WARN keeps it from the log only. */
static void test_log_callback(uv_loop_t *loop) {
  char path[] = "/tmp/test_client_options_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    check("log: temp cookie file", 0, "mkstemp failed");
    return;
  }
  /* Line 1 a comment, line 2 a flag neither TRUE nor FALSE (refused, docs/COOKIES.md). */
  static const char jar[] = "# Netscape HTTP Cookie File\nexample.com\tMAYBE\t/\tFALSE\t0\tn\t1\n";
  if (write(fd, jar, sizeof(jar) - 1) != (ssize_t)(sizeof(jar) - 1)) check("log: write", 0, "");
  close(fd);
  char want_prefix[128];
  snprintf(want_prefix, sizeof(want_prefix), "cookie file %s:2 skipped: ", path);

  guise_client_options o;
  heard h = {0};
  guise_client_options_init(&o);
  check("log fields default to none", o.log == NULL && o.log_arg == NULL && o.log_level == 0, "");
  o.cookie_file = path;
  o.log = on_log;
  o.log_arg = &h;
  expect_client(loop, "log: a client with a bad cookie-file line", &o, 0);
  check("log: called once for the refused line", h.logs == 1, h.log_msg);
  check("log: at GUISE_LOG_WARN", h.level == GUISE_LOG_WARN, h.log_msg);
  check("log: the message names the file and line",
        strncmp(h.log_msg, want_prefix, strlen(want_prefix)) == 0, h.log_msg);

  memset(&h, 0, sizeof(h));
  o.on_cookie_warning = on_warning;
  o.cookie_warning_arg = &h;
  expect_client(loop, "log and on_cookie_warning together", &o, 0);
  check("log: both callbacks called", h.logs == 1 && h.warnings == 1, h.warning);
  check("log: the same text to both", strcmp(h.log_msg, h.warning) == 0, h.log_msg);

  memset(&h, 0, sizeof(h));
  o.log_level = GUISE_LOG_ERROR;
  expect_client(loop, "log_level ERROR", &o, 0);
  check("log: a warning is kept from a log at ERROR, on_cookie_warning still called",
        h.logs == 0 && h.warnings == 1, h.log_msg);
  unlink(path);
}

/* A request with a profile whose shapes disagree (no user-agent) still runs, and the
 * client's log gets the coherence warning once, naming the profile; a shipped,
 * coherent profile gives none. To port 1 on loopback: refused, no server needed. */
static void ended(void *ud, int err, const guise_response_info *info) {
  (void)err;
  (void)info;
  *(int *)ud = 1;
}

static void expect_incoherence_logged(uv_loop_t *loop, const char *profile, int want_logs,
                                      const char *want_words) {
  guise_client_options o;
  guise_client_options_init(&o);
  heard h = {0};
  o.log = on_log;
  o.log_arg = &h;
  guise_client *c = NULL;
  check("coherence: client", guise_client_new((struct uv_loop_s *)loop, &o, &c) == 0, profile);
  if (!c) return;
  guise_request_options r;
  guise_request_options_init(&r);
  r.url = "http://127.0.0.1:1/";
  r.profile = profile;
  int done = 0;
  guise_callbacks cb = {0};
  cb.on_complete = ended;
  check("coherence: request submitted", guise_client_request(c, &r, &cb, &done) == 0, profile);
  while (!done && uv_run(loop, UV_RUN_ONCE)) {
  }
  guise_client_close(c);
  uv_run(loop, UV_RUN_DEFAULT);
  char what[300];
  snprintf(what, sizeof(what), "coherence: %d warning(s) logged for %s", want_logs, profile);
  check(what, h.logs == want_logs && (!want_words || strstr(h.log_msg, want_words) != NULL),
        h.log_msg);
}

int main(int argc, char **argv) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 2;
  guise_client_options o;

  guise_client_options_init(&o);
  expect_client(&loop, "defaults", &o, 0);
  o.connect_timeout_ms = 86400000u;
  expect_client(&loop, "connect_timeout_ms of a day", &o, 0);
  o.connect_timeout_ms = 86400001u;
  expect_client(&loop, "connect_timeout_ms over a day: refused", &o, GUISE_E_USAGE_INVALID_ARGUMENT);
  o.connect_timeout_ms = UINT_MAX;
  expect_client(&loop, "connect_timeout_ms UINT_MAX: refused", &o, GUISE_E_USAGE_INVALID_ARGUMENT);
  guise_client_options_init(&o);
  o.idle_timeout_ms = UINT_MAX;
  expect_client(&loop, "idle_timeout_ms UINT_MAX: refused", &o, GUISE_E_USAGE_INVALID_ARGUMENT);
  guise_client_options_init(&o);
  o.h2_coalesce_ms = 60000;
  expect_client(&loop, "h2_coalesce_ms 60000", &o, 0);
  o.h2_coalesce_ms = 60001;
  expect_client(&loop, "h2_coalesce_ms over 60000: refused", &o, GUISE_E_USAGE_INVALID_ARGUMENT);

  guise_client_options_init(&o);
  o.proxy_cafile = "/nonexistent/guise-proxy-ca.pem";
  expect_client(&loop, "proxy_cafile that cannot be read: USAGE_FILE", &o, GUISE_E_USAGE_FILE);
  o.proxy_insecure = 1;
  expect_client(&loop, "... not read when proxy_insecure", &o, 0);
  guise_client_options_init(&o);
  o.insecure = 1;
  o.proxy = "gopher://127.0.0.1:70";
  expect_client(&loop, "proxy of an unsupported scheme: USAGE_URL_SCHEME", &o, GUISE_E_USAGE_URL_SCHEME);

  expect_escape("plain text", "Location: /a b", 14, "Location: /a b");
  expect_escape("ESC, BEL, CR, LF, TAB, DEL", "a\x1b]0;t\x07\r\n\t\x7f", 11,
                "a\\x1b]0;t\\x07\\x0d\\x0a\\x09\\x7f");
  expect_escape("NUL inside", "a\0b", 3, "a\\x00b");
  expect_escape("C1 CSI (U+009B)", "\xc2\x9b" "2J", 4, "\\xc2\\x9b2J");
  expect_escape("UTF-8 kept", "b\xc3\xbc" "cher \xe2\x82\xac \xf0\x9f\x98\x80", 16,
                "b\xc3\xbc" "cher \xe2\x82\xac \xf0\x9f\x98\x80");
  expect_escape("overlong, surrogate, past U+10FFFF, lone continuation, truncated",
                "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80|\xe2\x82", 16,
                "\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\x80|\\xe2\\x82");
  /* U+202E RIGHT-TO-LEFT OVERRIDE, U+200B ZERO WIDTH SPACE, U+FEFF: reorder or hide
   * what the terminal shows; U+00E9 and U+20AC stay. */
  expect_escape("bidi and invisible format characters escaped, letters kept",
                "\xc3\xa9\xe2\x80\xae|\xe2\x80\x8b|\xef\xbb\xbf|\xe2\x82\xac", 17,
                "\xc3\xa9\\xe2\\x80\\xae|\\xe2\\x80\\x8b|\\xef\\xbb\\xbf|\xe2\x82\xac");
  char small[6];
  size_t need = guise_escape_text("ab\x1b", 3, small, sizeof(small));
  check("an escape that does not fit is left out whole", strcmp(small, "ab") == 0 && need == 6, small);
  char none = 'x';
  guise_escape_text("abc", 3, &none, 0);
  check("cap 0 writes nothing", none == 'x', "");

  test_log_callback(&loop);
  if (argc > 1) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/profiles_incoherent/no-user-agent.json", argv[1]);
    expect_incoherence_logged(&loop, path, 1, "user-agent");
    expect_incoherence_logged(&loop, "chromium-156-linux", 0, NULL);
  }

  uv_loop_close(&loop);
  return gt_done("test_client_options");
}
