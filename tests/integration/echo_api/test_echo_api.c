/*
 * test_echo_api.c — guise_echo_new/guise_echo_address/guise_echo_close through
 * the public API, on loopback: the observer and a guise request on one loop
 * (as `guise profile check` runs them), two observers at once, a close with a
 * connection still open (its log line written, the close callback called, the
 * loop left with no handle), and the start failures guise.h names. The handle
 * must leave the process alone: SIGINT and SIGTERM keep their disposition and
 * the open-file limit is not raised (guise_echo_run did both). Expected values
 * come from guise.h and docs/OBSERVER.md.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "../../lib/gtest_check.h"
#include "guise.h"

typedef struct state {
  guise_echo *a, *b;
  int closed_a, closed_b;
  int complete, err, status;
  char body[65536];
  size_t body_len;
  uv_tcp_t raw;
  uv_connect_t connect;
  uv_write_t write;
  uv_timer_t timer;
  int raw_closed;
} state;

static int listened;
static char listened_addr[80];

static void on_listening(const char *addr, void *arg) {
  listened++;
  snprintf(listened_addr, sizeof(listened_addr), "%s", addr);
  CHECK(arg == (void *)&listened);
}

static void on_closed_a(void *arg) { ((state *)arg)->closed_a++; }
static void on_closed_b(void *arg) { ((state *)arg)->closed_b++; }

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  (void)h, (void)n;
  ((state *)ud)->status = status;
  return 0;
}

static int on_body(void *ud, const unsigned char *p, size_t n) {
  state *s = ud;
  if (n > sizeof(s->body) - 1 - s->body_len) return 1;
  memcpy(s->body + s->body_len, p, n);
  s->body_len += n;
  s->body[s->body_len] = '\0';
  return 0;
}

static void on_raw_closed(uv_handle_t *h) { ((state *)h->data)->raw_closed = 1; }

static void on_raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  static char b[4096];
  (void)h, (void)n;
  *buf = uv_buf_init(b, sizeof(b));
}

/* The observer closes our half-sent hello when it is closed: EOF here. */
static void on_raw_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n < 0 && !uv_is_closing((uv_handle_t *)st)) uv_close((uv_handle_t *)st, on_raw_closed);
}

static void on_timer(uv_timer_t *t) {
  state *s = t->data;
  uv_close((uv_handle_t *)t, NULL);
  guise_echo_close(s->b, on_closed_b, s);
}

static void on_raw_written(uv_write_t *w, int status) {
  state *s = w->data;
  CHECK_EQ(status, 0);
  /* Give the observer a moment to read the bytes, then close it under them. */
  uv_timer_start(&s->timer, on_timer, 100, 0);
}

static void on_raw_connected(uv_connect_t *c, int status) {
  state *s = c->data;
  CHECK_EQ(status, 0);
  static const char partial[] = "\x16\x03\x01\x02\x00"; /* a TLS record header, no body */
  uv_buf_t b = uv_buf_init((char *)partial, sizeof(partial) - 1);
  s->write.data = s;
  uv_read_start((uv_stream_t *)&s->raw, on_raw_alloc, on_raw_read);
  CHECK_EQ(uv_write(&s->write, (uv_stream_t *)&s->raw, &b, 1, on_raw_written), 0);
}

/* The request has ended: close observer A from inside the callback. */
static void on_complete(void *ud, int err, const guise_response_info *info) {
  state *s = ud;
  s->complete++;
  s->err = err;
  CHECK_STR(info->http_version, "HTTP/2");
  guise_echo_close(s->a, on_closed_a, s);
}

static int port_of(const char *addr) {
  const char *c = strrchr(addr, ':');
  return c ? atoi(c + 1) : 0;
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  int n = 0, ch;
  while ((ch = fgetc(f)) != EOF) n += ch == '\n';
  fclose(f);
  return n;
}

static void test_serve_and_close(void) {
  /* A soft open-file limit below the hard one: guise_echo_run raised it. */
  struct rlimit before, after;
  CHECK(getrlimit(RLIMIT_NOFILE, &before) == 0);
  if (before.rlim_cur == before.rlim_max && before.rlim_max > 256) {
    before.rlim_cur = 256;
    CHECK(setrlimit(RLIMIT_NOFILE, &before) == 0);
  }
  struct sigaction sa_int, sa_term;

  char log_path[] = "/tmp/test_echo_api_XXXXXX";
  int fd = mkstemp(log_path);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);

  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  static state s;
  memset(&s, 0, sizeof(s));
  guise_echo_options o;
  guise_echo_options_init(&o);
  o.listen = "127.0.0.1:0";
  o.on_listening = on_listening;
  o.arg = &listened;
  char err[256] = "x";
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &s.a, err, sizeof(err)), 0);
  CHECK_STR(err, "");
  CHECK(s.a != NULL);
  /* on_listening before guise_echo_new returned, with the bound address. */
  CHECK_EQ(listened, 1);
  CHECK_STR(listened_addr, s.a ? guise_echo_address(s.a) : "");
  CHECK(port_of(listened_addr) > 0);
  CHECK(strncmp(listened_addr, "127.0.0.1:", 10) == 0);

  /* A second observer on the same loop, on IPv6 loopback, with a log. */
  guise_echo_options o2;
  guise_echo_options_init(&o2);
  o2.listen = "[::1]:0";
  o2.log_file = log_path;
  int e = guise_echo_new((struct uv_loop_s *)&loop, &o2, &s.b, err, sizeof(err));
  CHECK_MSG(e == 0, "second observer: %s (%s)", guise_err_name(e), err);
  if (e != 0) {
    /* No IPv6 here: the second one on IPv4 instead. */
    o2.listen = "127.0.0.1:0";
    CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o2, &s.b, err, sizeof(err)), 0);
  }
  CHECK(s.b != NULL && strcmp(guise_echo_address(s.b), guise_echo_address(s.a)) != 0);

  /* The handle installs no signal handler and keeps the limit as it was. */
  CHECK(sigaction(SIGINT, NULL, &sa_int) == 0 && sa_int.sa_handler == SIG_DFL);
  CHECK(sigaction(SIGTERM, NULL, &sa_term) == 0 && sa_term.sa_handler == SIG_DFL);
  CHECK(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK_EQ(after.rlim_cur, before.rlim_cur);

  /* A request on the same loop, as guise profile check makes it. */
  char url[128];
  snprintf(url, sizeof(url), "https://localhost:%d/api", port_of(guise_echo_address(s.a)));
  guise_request_options ro;
  guise_request_options_init(&ro);
  ro.url = url;
  ro.insecure = 1;
  ro.max_time_ms = 20000;
  guise_callbacks cb = {on_headers, on_body, on_complete};
  CHECK_EQ(guise_request((struct uv_loop_s *)&loop, &ro, &cb, &s), 0);

  /* A raw connection to B that sends half a record and waits. */
  uv_tcp_init(&loop, &s.raw);
  uv_timer_init(&loop, &s.timer);
  s.raw.data = s.connect.data = s.timer.data = &s;
  struct sockaddr_storage ss;
  const char *baddr = guise_echo_address(s.b);
  if (baddr[0] == '[') uv_ip6_addr("::1", port_of(baddr), (struct sockaddr_in6 *)&ss);
  else uv_ip4_addr("127.0.0.1", port_of(baddr), (struct sockaddr_in *)&ss);
  CHECK_EQ(uv_tcp_connect(&s.connect, &s.raw, (struct sockaddr *)&ss, on_raw_connected), 0);

  /* Runs until everything is closed: the loop must end by itself. */
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ(s.complete, 1);
  CHECK_EQ(s.err, 0);
  CHECK_EQ(s.status, 200);
  CHECK(strstr(s.body, "\"http_version\": \"h2\"") != NULL);
  CHECK(strstr(s.body, "\"ja4\": \"t13") != NULL);
  CHECK_EQ(s.closed_a, 1);
  CHECK_EQ(s.closed_b, 1);
  CHECK_EQ(s.raw_closed, 1);
  /* Every handle of both observers is gone: the loop closes. */
  CHECK_EQ(uv_loop_close(&loop), 0);
  /* B's connection was closed by guise_echo_close and wrote its line. */
  CHECK_EQ(count_lines(log_path), 1);
  unlink(log_path);
}

static void test_start_failures(void) {
  uv_loop_t loop;
  CHECK_EQ(uv_loop_init(&loop), 0);
  guise_echo *e = (guise_echo *)&loop; /* must be cleared */
  guise_echo_options o;
  guise_echo_options_init(&o);
  char err[256];

  o.listen = "localhost:80";
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &e, err, sizeof(err)),
           GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(e == NULL);
  CHECK_STR(err, "--listen localhost:80: expected HOST:PORT with a numeric IPv4 or [IPv6] host");

  o.listen = "192.0.2.1:8443";
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &e, err, sizeof(err)),
           GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK(strstr(err, "not a loopback address") != NULL);

  o.listen = "127.0.0.1:0";
  o.log_file = "/nonexistent-dir/echo.log";
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &e, err, sizeof(err)), GUISE_E_USAGE_FILE);
  static const char log_err[] = "--log /nonexistent-dir/echo.log: ";
  CHECK_MSG(strncmp(err, log_err, sizeof(log_err) - 1) == 0, "%s", err);
  o.log_file = NULL;

  o.cert_file = o.key_file = "/nonexistent-dir/cert.pem";
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &e, err, sizeof(err)), GUISE_E_USAGE_FILE);
  o.cert_file = o.key_file = NULL;

  CHECK_EQ(guise_echo_new(NULL, &o, &e, err, sizeof(err)), GUISE_E_USAGE_INVALID_ARGUMENT);
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, NULL, NULL, 0),
           GUISE_E_USAGE_INVALID_ARGUMENT);

  /* A port taken: CONNECT_NO_PORTS, and the listener it made closes with the loop. */
  guise_echo *first = NULL;
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &first, err, sizeof(err)), 0);
  char taken[96];
  snprintf(taken, sizeof(taken), "%s", first ? guise_echo_address(first) : "127.0.0.1:1");
  o.listen = taken;
  CHECK_EQ(guise_echo_new((struct uv_loop_s *)&loop, &o, &e, err, sizeof(err)),
           GUISE_E_CONNECT_NO_PORTS);
  CHECK(e == NULL);
  CHECK(strncmp(err, "listen on ", 10) == 0);
  /* Defaults when |opts| is NULL: 127.0.0.1:8443 (taken or not, never a crash). */
  guise_echo *dflt = NULL;
  int r = guise_echo_new((struct uv_loop_s *)&loop, NULL, &dflt, NULL, 0);
  CHECK(r == 0 || r == GUISE_E_CONNECT_NO_PORTS);
  if (r == 0) {
    CHECK_STR(guise_echo_address(dflt), "127.0.0.1:8443");
    guise_echo_close(dflt, NULL, NULL);
  }
  if (first) guise_echo_close(first, NULL, NULL);
  CHECK_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  CHECK_EQ(uv_loop_close(&loop), 0);
}

int main(void) {
  test_serve_and_close();
  test_start_failures();
  return gt_done("test_echo_api");
}
