/*
 * echo_server.c — the loopback observer (guise_echo_new/close in guise.h): a
 * server on the caller's libuv loop that keeps the raw first flight of each
 * connection, decodes it with the fingerprints library (guise_fp.h, fp_report.h),
 * terminates TLS with BoringSSL (memory BIOs, echo_tls.c), speaks HTTP/2 through
 * an nghttp2 server session and HTTP/1.1 through the observer's own request
 * parser, and answers every request with a JSON document of what the client sent.
 *
 * Called by `guise echo` (client/cli/cmd_echo.c), `guise profile check`
 * (client/cli/cmd_profile.c, on the loop of its own request) and guise_echo_run
 * (echo_run.c). It calls libuv, BoringSSL, nghttp2, jansson and the
 * fingerprints library; it touches no signal, resource limit or other
 * process-wide state: that is the caller's (cmd_echo.c, echo_run.c).
 *
 * The caller's loop listens and serves; with opts.threads > 1 it hands
 * connections to worker threads, each with a loop of its own (struct shard). Per
 * connection only small buffers are kept; the large parse objects (ClientHello,
 * HTTP/2 preface, HTTP/1 head) are one scratch copy per loop, used and finished
 * within a read callback. --log lines go to the writer thread (echo_log.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "echo_internal.h"
#include "fp_report.h"
#include "guise.h"
#include "guise_fp.h"

/* ---- limits ------------------------------------------------------------------------ */

/* The first flight kept for the ClientHello parser: the largest hello it accepts
 * (GFP_CH_MAX_BODY) split into its maximum number of records. */
#define ECHO_FLIGHT_CAP (GFP_CH_MAX_RECORDS * 5u + 4u + GFP_CH_MAX_BODY)
/* Decrypted HTTP/2 bytes kept until the first HEADERS block is complete. Browsers
 * need about 1 KiB; 128 KiB holds a maximal header block plus the frames before it. */
#define ECHO_H2_CAPTURE_CAP (128u * 1024u)
/* Request heads are bounded by the HTTP/1 parser's own cap. */
#define ECHO_H1_HEAD_CAP GFP_H1_MAX_HEAD
/* A client that does not read its responses is cut off past this much queued output. */
#define ECHO_MAX_QUEUED (1u << 20)
/* Requests kept per connection for the log line (the count is always exact). */
#define ECHO_LOG_REQUESTS 32u
/* Header fields kept per HTTP/2 request (nghttp2 bounds the header list size too). */
#define ECHO_H2_MAX_FIELDS 256u
/* Name and value bytes of one HTTP/2 request's header list: Chrome's own
 * SETTINGS_MAX_HEADER_LIST_SIZE. A longer list resets that stream, so 100 open
 * streams of huge headers cannot make the answer texts and trees grow without
 * end (each byte may take 6 in the text: "\u00XX"). */
#define ECHO_H2_HEADER_BYTES (256u * 1024u)
/* One answer: the connection's reports (a ClientHello of at most 64 KiB, decoded and
 * in hex, the HTTP/2 preface report) and one request's head, with room to spare. */
#define ECHO_ANSWER_CAP (16u * 1024u * 1024u)
/* libuv's read buffer and the TLS plaintext buffer: one TLS record's worth and more. */
#define ECHO_READ_BUF (64u * 1024u)

/* ---- types ------------------------------------------------------------------------- */

typedef struct conn conn;
typedef struct shard shard;

typedef struct guise_echo server;

/* A socket accepted by the listening loop for another loop. */
typedef struct handoff {
  int fd;
  uint64_t id;
} handoff;

/* One serving loop: the caller's (shards[0], which also listens and accepts) or
 * a worker thread's own. A connection lives on one loop from accept to close;
 * the scratch a read callback uses (the parse objects, the read buffers) is per
 * loop. Loops share only the server's options (read-only once started), the
 * SSL_CTX (BoringSSL's is safe to share between threads), the connection count
 * and the log writer. */
struct shard {
  server *srv;
  uv_loop_t *loop;
  gfp_clienthello *ch;
  gfp_h2_preface *h2p;
  gfp_h1_request *h1;
  conn *conns; /* every open connection of this loop, for shutdown */
  atomic_uint load; /* open connections, read by the acceptor to pick a loop */
  /* Worker loops only. */
  int worker;
  int loop_ready, started; /* own loop initialised; thread running */
  uv_loop_t own;
  uv_thread_t thread;
  uv_async_t wake; /* new sockets in |pending|, or stop */
  uv_mutex_t mu;   /* guards pending, npending, cappending, stop */
  handoff *pending;
  unsigned npending, cappending;
  int stop;
  uint8_t readbuf[ECHO_READ_BUF];
  uint8_t plainbuf[ECHO_READ_BUF];
};

struct guise_echo {
  uv_loop_t *loop;
  uv_tcp_t listener;
  SSL_CTX *ctx;
  echo_log *log;
  guise_echo_options opts;
  shard **shards; /* nshards; shards[0] runs on the caller's loop */
  unsigned nshards;
  atomic_uint nconns; /* every loop's connections and sockets handed over */
  uint64_t next_id;   /* the listening loop's */
  unsigned next_shard;
  int stopping;      /* guise_echo_close was called */
  int listener_open; /* until the listener's close callback */
  void (*on_closed)(void *arg);
  void *closed_arg;
  char address[80]; /* as bound: "127.0.0.1:8443" */
  echo_quic *quic;  /* the UDP side (echo_quic.c), or NULL */
  int quic_open;    /* until its close callback */
  char alt_svc[48]; /* the alt-svc value of --alt-svc answers, or "" */
};

enum conn_mode { M_SNIFF, M_TLS_HANDSHAKE, M_APP, M_CLOSING };
enum conn_proto { P_NONE, P_H1, P_H2 };

typedef struct growbuf {
  uint8_t *p;
  size_t len, cap;
} growbuf;

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  shard *sh;
  conn *prev, *next;
  uint64_t id;
  char peer[64];
  enum conn_mode mode;
  enum conn_proto proto;
  int pending_closes;
  int close_after_write; /* HTTP/1 "Connection: close" or an error answer */
  growbuf flight;
  SSL *ssl;
  BIO *rbio, *wbio;
  json_t *tls; /* {client_hello, fingerprints, negotiated} or NULL (plaintext) */
  nghttp2_session *h2;
  growbuf h2cap;
  int h2cap_done;
  json_t *h2_report; /* the HTTP/2 preface report, or {"error": ...} */
  growbuf h1buf;
  uint64_t h1_body_left;
  unsigned nrequests;
  json_t *requests; /* for the log line */
  json_t *error;    /* what ended the connection abnormally */
  growbuf mid;      /* the answer's "tls" and "http2" members, serialized once */
  int mid_has_h2;
  unsigned h2_begun; /* request streams begun, to know when no tree is needed */
};

/* nghttp2 keeps one per request stream. */
typedef struct h2_stream {
  json_t *fields;   /* [name, value] pairs for the log line; NULL once the log is full */
  growbuf htext;    /* the same pairs as the answer's JSON text (h2_on_header) */
  unsigned nfields; /* pairs kept, at most ECHO_H2_MAX_FIELDS */
  size_t hbytes;    /* name and value bytes received, at most ECHO_H2_HEADER_BYTES */
  int head;         /* :method HEAD */
  int text_failed;  /* htext hit its cap or memory ran out: the stream is reset */
  char *body;
  size_t body_len, body_off;
} h2_stream;

/* ---- small helpers ------------------------------------------------------------------ */

static int grow_append(growbuf *b, const uint8_t *p, size_t n, size_t cap) {
  if (n > cap - b->len) return -1;
  if (b->len + n > b->cap) {
    size_t ncap = b->cap ? b->cap : 1024;
    while (ncap < b->len + n) ncap *= 2;
    if (ncap > cap) ncap = cap;
    uint8_t *np = realloc(b->p, ncap);
    if (np == NULL) return -1;
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}

static void grow_free(growbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static void set_error(conn *c, const char *stage, size_t offset, const char *reason) {
  if (c->error == NULL) c->error = gfp_report_error(stage, offset, reason);
}

static void set_tls_error(conn *c, const char *stage) {
  char buf[256];
  uint32_t e = ERR_peek_last_error();
  if (e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  else snprintf(buf, sizeof(buf), "connection closed by the peer");
  ERR_clear_error();
  set_error(c, stage, 0, buf);
}

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, one, 16) == 0;
  }
  return 0;
}

static void format_addr(const struct sockaddr *sa, char *out, size_t len) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    uv_ip4_name((const struct sockaddr_in *)sa, host, sizeof(host));
    port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
    snprintf(out, len, "%s:%d", host, port);
  } else {
    uv_ip6_name((const struct sockaddr_in6 *)sa, host, sizeof(host));
    port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    snprintf(out, len, "[%s]:%d", host, port);
  }
}

/* ---- connection lifetime --------------------------------------------------------------- */

static void write_log(conn *c) {
  server *s = c->sh->srv;
  if (s->log == NULL) return;
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *rec = json_pack("{s:s, s:s, s:I, s:I}", "time", when, "peer", c->peer, "connection",
                          (json_int_t)c->id, "request_count", (json_int_t)c->nrequests);
  if (rec == NULL) return;
  json_object_set(rec, "tls", c->tls ? c->tls : json_null());
  if (c->h2_report) json_object_set(rec, "http2", c->h2_report);
  if (c->requests) json_object_set(rec, "requests", c->requests);
  if (c->error) json_object_set(rec, "error", c->error);
  char *line = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  if (line == NULL) return;
  echo_log_line(s->log, line, strlen(line));
  free(line);
}

static void server_maybe_free(server *s);

static void conn_free(conn *c) {
  shard *sh = c->sh;
  server *s = sh->srv;
  if (c->prev) c->prev->next = c->next;
  else sh->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  atomic_fetch_sub(&sh->load, 1);
  atomic_fetch_sub(&s->nconns, 1);
  SSL_free(c->ssl); /* frees both BIOs */
  nghttp2_session_del(c->h2);
  grow_free(&c->flight);
  grow_free(&c->h2cap);
  grow_free(&c->h1buf);
  grow_free(&c->mid);
  json_decref(c->tls);
  json_decref(c->h2_report);
  json_decref(c->requests);
  json_decref(c->error);
  free(c);
  /* |stopping| belongs to the listening loop; a worker's loop ends by itself. */
  if (!sh->worker && s->stopping) server_maybe_free(s);
}

static void on_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->pending_closes == 0) conn_free(c);
}

static void conn_close(conn *c) {
  if (c->mode == M_CLOSING) return;
  c->mode = M_CLOSING;
  write_log(c);
  c->pending_closes = 2;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- output ---------------------------------------------------------------------------- */

typedef struct wreq {
  uv_write_t req;
  conn *c;
  uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  free(w);
  if (c->mode == M_CLOSING) return;
  if (status < 0) {
    set_error(c, "write", 0, uv_strerror(status));
    conn_close(c);
  } else if (c->close_after_write && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
    conn_close(c);
  }
}

static void send_raw(conn *c, const uint8_t *p, size_t n) {
  if (c->mode == M_CLOSING || n == 0) return;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > ECHO_MAX_QUEUED) {
    set_error(c, "write", 0, "client does not read its responses");
    conn_close(c);
    return;
  }
  wreq *w = malloc(sizeof(*w) + n);
  if (w == NULL) {
    conn_close(c);
    return;
  }
  w->c = c;
  memcpy(w->data, p, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
  int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
  if (r < 0) {
    free(w);
    set_error(c, "write", 0, uv_strerror(r));
    conn_close(c);
  }
}

static void flush_tls(conn *c) {
  size_t n;
  while (c->mode != M_CLOSING && (n = BIO_pending(c->wbio)) > 0) {
    wreq *w = malloc(sizeof(*w) + n);
    if (w == NULL) {
      conn_close(c);
      return;
    }
    int got = BIO_read(c->wbio, w->data, (int)n);
    if (got <= 0) {
      free(w);
      return;
    }
    w->c = c;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)got);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
      free(w);
      conn_close(c);
      return;
    }
  }
}

/* Sends application bytes: through TLS when the connection has it. */
static void conn_send(conn *c, const uint8_t *p, size_t n) {
  if (c->mode == M_CLOSING) return;
  if (c->ssl == NULL) {
    send_raw(c, p, n);
    return;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > ECHO_MAX_QUEUED) {
    set_error(c, "write", 0, "client does not read its responses");
    conn_close(c);
    return;
  }
  /* With a memory BIO as wbio, SSL_write accepts everything at once. */
  while (n > 0) {
    int chunk = n > 16384 ? 16384 : (int)n;
    if (SSL_write(c->ssl, p, chunk) != chunk) {
      set_tls_error(c, "tls write");
      conn_close(c);
      return;
    }
    p += chunk;
    n -= (size_t)chunk;
  }
  flush_tls(c);
}

/* ---- the answer ------------------------------------------------------------------------ */

/* The answer is the JSON text jansson writes for the document {peer, connection,
 * request_number, http_version, tls, http2, request|http1[, error]} with
 * JSON_INDENT(2) | JSON_PRESERVE_ORDER, but assembled from pieces: the
 * connection's TLS and HTTP/2 reports are the same for every request on it (and
 * were 18 KB of the 18 KB answer to a browser profile), so they are serialized
 * once per connection (c->mid) and copied after that. A value serialized at depth
 * 0 becomes its depth-1 form by two more spaces after every newline: jansson
 * indents each line by depth * 2 spaces and JSON strings never hold a raw
 * newline. */

static int sb_add(growbuf *b, const char *p, size_t n) {
  return grow_append(b, (const uint8_t *)p, n, ECHO_ANSWER_CAP);
}

static int sb_add_str(growbuf *b, const char *str) { return sb_add(b, str, strlen(str)); }

/* Appends |v| as the value of a top-level key of the answer. */
static int sb_add_value(growbuf *b, json_t *v) {
  char *t = json_dumps(v ? v : json_null(), JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
  if (t == NULL) return -1;
  int r = 0;
  const char *p = t;
  for (const char *nl; r == 0 && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
    r = sb_add(b, p, (size_t)(nl - p)) || sb_add(b, "\n  ", 3);
  if (r == 0) r = sb_add(b, p, strlen(p));
  free(t);
  return r;
}

static int sb_add_member(growbuf *b, const char *key, json_t *v) {
  char k[32];
  int n = snprintf(k, sizeof(k), ",\n  \"%s\": ", key);
  return sb_add(b, k, (size_t)n) || sb_add_value(b, v);
}

/* c->mid: ",\n  \"tls\": ...,\n  \"http2\": ..." once the reports are final (the
 * handshake is done before the first request; the HTTP/2 preface report is made
 * before nghttp2 sees the first HEADERS, and is rebuilt here if it came later). */
static int conn_mid(conn *c) {
  int has_h2 = c->h2_report != NULL;
  if (c->mid.len > 0 && c->mid_has_h2 == has_h2) return 0;
  c->mid.len = 0;
  if (sb_add_member(&c->mid, "tls", c->tls) != 0 ||
      (has_h2 && sb_add_member(&c->mid, "http2", c->h2_report) != 0)) {
    c->mid.len = 0;
    return -1;
  }
  c->mid_has_h2 = has_h2;
  return 0;
}

/* Keeps |request| (a new reference) for the connection's log line. */
static void keep_request(conn *c, json_t *request) {
  if (c->requests == NULL) c->requests = json_array();
  if (c->requests && json_array_size(c->requests) < ECHO_LOG_REQUESTS && request)
    json_array_append(c->requests, request);
}

/* The answer to request number c->nrequests: |request| (borrowed; NULL is written
 * as null) under "request" (HTTP/2) or "http1" — or |member|, that member's text
 * made already — then |error| (borrowed) when not NULL. Returns the text ending in a newline (malloc'd, *len bytes), or NULL. */
static char *answer_text(conn *c, const char *http_version, json_t *request, json_t *error,
                         const growbuf *member, size_t *len) {
  growbuf b = {0};
  char head[160];
  /* c->peer is a numeric address formatted by format_addr: nothing to escape. */
  int n = snprintf(head, sizeof(head),
                   "{\n  \"peer\": \"%s\",\n  \"connection\": %llu,\n  \"request_number\": %u,\n"
                   "  \"http_version\": \"%s\"",
                   c->peer, (unsigned long long)c->id, c->nrequests, http_version);
  if (n < 0 || (size_t)n >= sizeof(head) || conn_mid(c) != 0) {
    *len = 0;
    return NULL;
  }
  /* One allocation for the usual answer: the reports and a request head of a few KB. */
  b.cap = c->mid.len + 4096;
  b.p = malloc(b.cap);
  if (b.p == NULL) b.cap = 0;
  if (sb_add(&b, head, (size_t)n) != 0 ||
      sb_add(&b, (const char *)c->mid.p, c->mid.len) != 0 ||
      (member ? sb_add(&b, (const char *)member->p, member->len)
              : sb_add_member(&b, c->proto == P_H2 ? "request" : "http1", request)) != 0 ||
      (error && sb_add_member(&b, "error", error) != 0) || sb_add(&b, "\n}\n", 3) != 0) {
    grow_free(&b);
    *len = 0;
    return NULL;
  }
  *len = b.len;
  return (char *)b.p;
}

/* ---- HTTP/2 ---------------------------------------------------------------------------- */

static void h2_flush(conn *c) {
  for (;;) {
    const uint8_t *out;
    ssize_t n = nghttp2_session_mem_send(c->h2, &out);
    if (n < 0) {
      set_error(c, "http2", 0, nghttp2_strerror((int)n));
      conn_close(c);
      return;
    }
    if (n == 0) break;
    conn_send(c, out, (size_t)n);
    if (c->mode == M_CLOSING) return;
  }
  if (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2)) conn_close(c);
}

static ssize_t h2_read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                            size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                            void *user_data) {
  h2_stream *st = source->ptr;
  size_t n = st->body_len - st->body_off;
  if (n > length) n = length;
  memcpy(buf, st->body + st->body_off, n);
  st->body_off += n;
  if (st->body_off == st->body_len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int h2_respond(nghttp2_session *session, conn *c, int32_t stream_id, h2_stream *st) {
  c->nrequests++;
  if (st->fields && (c->requests == NULL || json_array_size(c->requests) < ECHO_LOG_REQUESTS)) {
    json_t *req = json_pack("{s:i, s:O}", "stream", (int)stream_id, "headers", st->fields);
    keep_request(c, req);
    json_decref(req);
  }
  /* The member as jansson writes {"stream": N, "headers": [[n, v], ...]} at depth 1. */
  growbuf m = {0};
  char head[96];
  int hn = snprintf(head, sizeof(head), ",\n  \"request\": {\n    \"stream\": %d,\n    \"headers\": [",
                    (int)stream_id);
  if (!st->text_failed && sb_add(&m, head, (size_t)hn) == 0 &&
      sb_add(&m, (const char *)st->htext.p, st->htext.len) == 0 &&
      sb_add_str(&m, st->nfields ? "\n    ]\n  }" : "]\n  }") == 0)
    st->body = answer_text(c, "h2", NULL, NULL, &m, &st->body_len);
  grow_free(&m);
  grow_free(&st->htext);
  if (st->body == NULL)
    return nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
  char clen[24];
  snprintf(clen, sizeof(clen), "%zu", st->body_len);
  const char *alt = c->sh->srv->alt_svc;
  const nghttp2_nv nva[] = {
      {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"application/json", 12, 16, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen), NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"cache-control", (uint8_t *)"no-store", 13, 8, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"alt-svc", (uint8_t *)alt, 7, strlen(alt), NGHTTP2_NV_FLAG_NONE},
  };
  nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2_read_body};
  /* RFC 9110 9.3.2: a HEAD response has the headers of a GET, and no content. */
  return nghttp2_submit_response(session, stream_id, nva,
                                 sizeof(nva) / sizeof(nva[0]) - (alt[0] ? 0 : 1),
                                 st->head ? NULL : &prd);
}

static int h2_on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                               void *user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  conn *c = user_data;
  h2_stream *st = calloc(1, sizeof(*st));
  if (st == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
  /* The log keeps the first ECHO_LOG_REQUESTS requests answered; with at most 100
   * streams open at once (h2_start's SETTINGS), they are among the first
   * ECHO_LOG_REQUESTS + 100 begun. Later ones need no tree: the answer is made
   * from st->htext. */
  if (c->h2_begun < ECHO_LOG_REQUESTS + 100) {
    c->h2_begun++;
    st->fields = json_array();
  }
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
  return 0;
}

/* Appends |p|,|n| as the JSON string jansson writes for gfp_report_text(p, n):
 * printable ASCII other than '"' and '\\' as it is (nearly every header byte), any
 * other string through gfp_report_text and jansson themselves. */
static int sb_add_text(growbuf *b, const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] >= 0x20 && p[i] <= 0x7e && p[i] != '"' && p[i] != '\\') i++;
  if (i == n) return sb_add(b, "\"", 1) || sb_add(b, (const char *)p, n) || sb_add(b, "\"", 1);
  json_t *j = gfp_report_text(p, n);
  int r = j ? sb_add_value(b, j) : -1;
  json_decref(j);
  return r;
}

static int h2_on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user_data) {
  h2_stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (st == NULL) return 0;
  st->hbytes += namelen + valuelen;
  if (st->hbytes > ECHO_H2_HEADER_BYTES) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
  if (st->nfields >= ECHO_H2_MAX_FIELDS) return 0;
  st->nfields++;
  if (namelen == 7 && memcmp(name, ":method", 7) == 0 && valuelen == 4 && memcmp(value, "HEAD", 4) == 0)
    st->head = 1;
  /* A pair of the "headers" array at depth 2 of the answer (see h2_respond). */
  if (!st->text_failed &&
      (sb_add_str(&st->htext, st->nfields > 1 ? ",\n      [\n        " : "\n      [\n        ") != 0 ||
       sb_add_text(&st->htext, name, namelen) != 0 || sb_add_str(&st->htext, ",\n        ") != 0 ||
       sb_add_text(&st->htext, value, valuelen) != 0 || sb_add_str(&st->htext, "\n      ]") != 0)) {
    st->text_failed = 1;
    grow_free(&st->htext);
  }
  if (st->fields != NULL) {
    json_t *pair = json_array();
    if (pair == NULL) return 0;
    json_array_append_new(pair, gfp_report_text(name, namelen));
    json_array_append_new(pair, gfp_report_text(value, valuelen));
    json_array_append_new(st->fields, pair);
  }
  return 0;
}

static int h2_on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
  conn *c = user_data;
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    h2_stream *st = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (st != NULL && st->body == NULL) return h2_respond(session, c, frame->hd.stream_id, st);
  }
  return 0;
}

static int h2_on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                              void *user_data) {
  h2_stream *st = nghttp2_session_get_stream_user_data(session, stream_id);
  if (st != NULL) {
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    json_decref(st->fields);
    grow_free(&st->htext);
    free(st->body);
    free(st);
  }
  return 0;
}

static int h2_start(conn *c) {
  nghttp2_session_callbacks *cbs;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return -1;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, h2_on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, h2_on_frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, h2_on_stream_close);
  int r = nghttp2_session_server_new(&c->h2, cbs, c);
  nghttp2_session_callbacks_del(cbs);
  if (r != 0) return -1;
  const nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};
  if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) != 0) return -1;
  c->proto = P_H2;
  return 0;
}

static void h2_input(conn *c, const uint8_t *p, size_t n) {
  shard *s = c->sh;
  if (!c->h2cap_done) {
    /* What the client sent, decoded independently of nghttp2's session: frame
     * order, SETTINGS order and the header block as sent. */
    size_t take = n < ECHO_H2_CAPTURE_CAP - c->h2cap.len ? n : ECHO_H2_CAPTURE_CAP - c->h2cap.len;
    gfp_status st = GFP_NEED_MORE;
    if (grow_append(&c->h2cap, p, take, ECHO_H2_CAPTURE_CAP) == 0)
      st = gfp_h2_parse(s->h2p, c->h2cap.p, c->h2cap.len);
    if (st == GFP_DONE) {
      c->h2_report = gfp_report_h2(s->h2p);
      c->h2cap_done = 1;
    } else if (st == GFP_ERROR) {
      c->h2_report = json_pack("{s:o}", "error",
                               gfp_report_error("http2", s->h2p->err_offset, s->h2p->err_reason));
      c->h2cap_done = 1;
    } else if (c->h2cap.len >= ECHO_H2_CAPTURE_CAP) {
      c->h2_report = json_pack(
          "{s:o}", "error",
          gfp_report_error("http2", c->h2cap.len, "no complete HEADERS within the capture limit"));
      c->h2cap_done = 1;
    }
    if (c->h2cap_done) grow_free(&c->h2cap);
  }
  ssize_t r = nghttp2_session_mem_recv(c->h2, p, n);
  if (r < 0) {
    set_error(c, "http2", 0, nghttp2_strerror((int)r));
    h2_flush(c); /* nghttp2 may have queued a GOAWAY */
    conn_close(c);
    return;
  }
  h2_flush(c);
}

/* ---- HTTP/1.1 -------------------------------------------------------------------------- */

static int name_is(gfp_bytes name, const char *want) {
  size_t n = strlen(want);
  if (name.len != n) return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t a = name.data[i];
    if (a >= 'A' && a <= 'Z') a = (uint8_t)(a - 'A' + 'a');
    if (a != (uint8_t)want[i]) return 0;
  }
  return 1;
}

static int value_has_token(gfp_bytes v, const char *token) {
  size_t n = strlen(token);
  for (size_t i = 0; i + n <= v.len; i++) {
    if (strncasecmp((const char *)v.data + i, token, n) == 0) return 1;
  }
  return 0;
}

/* Sends an answer: |body| (blen bytes, NULL for "{}"), taken. */
static void h1_answer(conn *c, int status, const char *reason, char *body, size_t blen, int head) {
  if (body == NULL) {
    body = strdup("{}\n");
    blen = body ? 3 : 0;
  }
  char hdr[320];
  const char *alt = c->sh->srv->alt_svc;
  int hlen = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-store\r\n%s%s%s%s\r\n",
                      status, reason, blen, alt[0] ? "Alt-Svc: " : "", alt, alt[0] ? "\r\n" : "",
                      c->close_after_write ? "Connection: close\r\n" : "");
  conn_send(c, (const uint8_t *)hdr, (size_t)hlen);
  if (body && !head) conn_send(c, (const uint8_t *)body, blen);
  free(body);
}

/* Handles one complete request head in s->h1; returns the body length to skip,
 * or -1 when the connection must end after the answer. */
static int64_t h1_request(conn *c) {
  const gfp_h1_request *r = c->sh->h1;
  uint64_t body = 0;
  int chunked = 0, bad_length = 0;
  c->close_after_write = r->version_major == 1 && r->version_minor == 0;
  for (size_t i = 0; i < r->header_count; i++) {
    const gfp_h1_header *h = &r->headers[i];
    if (name_is(h->name, "content-length")) {
      uint64_t v = 0;
      if (h->value.len == 0 || h->value.len > 15) bad_length = 1;
      for (size_t k = 0; k < h->value.len && !bad_length; k++) {
        if (h->value.data[k] < '0' || h->value.data[k] > '9') bad_length = 1;
        else v = v * 10 + (uint64_t)(h->value.data[k] - '0');
      }
      body = v;
    } else if (name_is(h->name, "transfer-encoding")) {
      chunked = 1;
    } else if (name_is(h->name, "connection")) {
      if (value_has_token(h->value, "close")) c->close_after_write = 1;
      else if (value_has_token(h->value, "keep-alive")) c->close_after_write = 0;
    }
  }
  c->nrequests++;
  const char *version = c->ssl ? "http/1.1" : "http/1.1 (plaintext)";
  json_t *req = gfp_report_h1(r);
  keep_request(c, req);
  size_t blen;
  if (bad_length || chunked) {
    /* The answer still shows the head; the body cannot be delimited safely. */
    c->close_after_write = 1;
    json_t *e = gfp_report_error("http1", 0,
                                 chunked ? "chunked request bodies are not read by guise echo"
                                         : "invalid Content-Length");
    char *text = answer_text(c, version, req, e, NULL, &blen);
    json_decref(e);
    json_decref(req);
    h1_answer(c, chunked ? 501 : 400, chunked ? "Not Implemented" : "Bad Request", text, blen, 0);
    return -1;
  }
  /* RFC 9110 9.3.2: the head of a GET, no content. */
  int is_head = r->method.len == 4 && memcmp(r->method.data, "HEAD", 4) == 0;
  char *text = answer_text(c, version, req, NULL, NULL, &blen);
  json_decref(req);
  h1_answer(c, 200, "OK", text, blen, is_head);
  return c->close_after_write ? -1 : (int64_t)body;
}

static void h1_input(conn *c, const uint8_t *p, size_t n) {
  shard *s = c->sh;
  for (;;) {
    if (c->mode == M_CLOSING || c->close_after_write) return;
    if (c->h1_body_left > 0 && n > 0) { /* request bodies are read and dropped */
      size_t k = n < c->h1_body_left ? n : (size_t)c->h1_body_left;
      c->h1_body_left -= k;
      p += k;
      n -= k;
      continue;
    }
    size_t room = ECHO_H1_HEAD_CAP - c->h1buf.len;
    size_t k = n < room ? n : room;
    if (k > 0 && grow_append(&c->h1buf, p, k, ECHO_H1_HEAD_CAP) != 0) {
      conn_close(c);
      return;
    }
    p += k;
    n -= k;
    if (c->h1buf.len == 0) return;
    gfp_h1_reset(s->h1);
    gfp_status st = gfp_h1_parse(s->h1, c->h1buf.p, c->h1buf.len);
    if (st == GFP_NEED_MORE) {
      if (c->h1buf.len < ECHO_H1_HEAD_CAP) return;
      st = GFP_ERROR; /* the parser's own cap equals ours; be explicit anyway */
      s->h1->err_offset = c->h1buf.len;
      s->h1->err_reason = "request head larger than the limit";
    }
    if (st == GFP_ERROR) {
      set_error(c, "http1", s->h1->err_offset, s->h1->err_reason);
      c->close_after_write = 1;
      json_t *doc = json_pack("{s:O}", "error", c->error);
      char *t = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
      json_decref(doc);
      size_t tlen = t ? strlen(t) : 0;
      char *body = t ? realloc(t, tlen + 2) : NULL;
      if (body) memcpy(body + tlen, "\n", 2);
      else free(t);
      h1_answer(c, 400, "Bad Request", body, body ? tlen + 1 : 0, 0);
      return;
    }
    size_t head = s->h1->head_len;
    int64_t body = h1_request(c);
    if (body < 0) return;
    size_t rest = c->h1buf.len - head;
    memmove(c->h1buf.p, c->h1buf.p + head, rest);
    c->h1buf.len = rest;
    size_t drop = rest < (uint64_t)body ? rest : (size_t)body;
    memmove(c->h1buf.p, c->h1buf.p + drop, rest - drop);
    c->h1buf.len -= drop;
    c->h1_body_left = (uint64_t)body - drop;
    if (n == 0 && c->h1buf.len == 0) return;
  }
}

static void app_input(conn *c, const uint8_t *p, size_t n) {
  if (c->proto == P_H2) h2_input(c, p, n);
  else h1_input(c, p, n);
}

/* ---- TLS ------------------------------------------------------------------------------- */

static void tls_input(conn *c, const uint8_t *p, size_t n) {
  shard *s = c->sh;
  if (BIO_write(c->rbio, p, (int)n) != (int)n) {
    conn_close(c);
    return;
  }
  if (c->mode == M_TLS_HANDSHAKE) {
    int r = SSL_do_handshake(c->ssl);
    flush_tls(c);
    if (c->mode == M_CLOSING) return;
    if (r != 1) {
      if (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) return;
      set_tls_error(c, "tls handshake");
      conn_close(c);
      return;
    }
    echo_tls_describe(c->ssl, c->tls);
    const uint8_t *alpn;
    unsigned alpn_len;
    SSL_get0_alpn_selected(c->ssl, &alpn, &alpn_len);
    if (alpn_len == 2 && memcmp(alpn, "h2", 2) == 0) {
      if (h2_start(c) != 0) {
        conn_close(c);
        return;
      }
    } else {
      c->proto = P_H1;
    }
    c->mode = M_APP;
  }
  for (;;) {
    int r = SSL_read(c->ssl, s->plainbuf, sizeof(s->plainbuf));
    if (r > 0) {
      app_input(c, s->plainbuf, (size_t)r);
      if (c->mode == M_CLOSING) return;
      continue;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) break;
    if (e != SSL_ERROR_ZERO_RETURN) set_tls_error(c, "tls read");
    flush_tls(c);
    conn_close(c);
    return;
  }
  flush_tls(c);
  if (c->proto == P_H2 && c->mode != M_CLOSING) h2_flush(c);
}

static int tls_start(conn *c) {
  c->ssl = SSL_new(c->sh->srv->ctx);
  c->rbio = BIO_new(BIO_s_mem());
  c->wbio = BIO_new(BIO_s_mem());
  if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
    BIO_free(c->rbio);
    BIO_free(c->wbio);
    c->rbio = c->wbio = NULL;
    return -1;
  }
  /* An EOF on the read BIO means "no more yet", not end of stream. */
  BIO_set_mem_eof_return(c->rbio, -1);
  SSL_set_bio(c->ssl, c->rbio, c->wbio);
  SSL_set_accept_state(c->ssl);
  c->mode = M_TLS_HANDSHAKE;
  return 0;
}

/* ---- first flight ---------------------------------------------------------------------- */

static void sniff_input(conn *c, const uint8_t *p, size_t n) {
  shard *s = c->sh;
  if (grow_append(&c->flight, p, n, ECHO_FLIGHT_CAP) != 0) {
    set_error(c, "tls", c->flight.len, "first flight larger than the ClientHello limit");
    conn_close(c);
    return;
  }
  gfp_status st = gfp_ch_parse(s->ch, c->flight.p, c->flight.len);
  switch (st) {
  case GFP_NEED_MORE:
    if (c->flight.len >= ECHO_FLIGHT_CAP) {
      set_error(c, "tls", c->flight.len, "first flight larger than the ClientHello limit");
      conn_close(c);
    }
    return;
  case GFP_ERROR:
    set_error(c, "tls", s->ch->err_offset, s->ch->err_reason);
    conn_close(c);
    return;
  case GFP_NOT_TLS: {
    growbuf f = c->flight;
    c->flight = (growbuf){0};
    c->mode = M_APP;
    if (s->ch->kind == GFP_FLIGHT_HTTP1) {
      c->proto = P_H1;
      h1_input(c, f.p, f.len);
    } else if (s->ch->kind == GFP_FLIGHT_H2_PREFACE && h2_start(c) == 0) {
      h2_input(c, f.p, f.len);
    } else {
      char why[96];
      snprintf(why, sizeof(why), "first flight is not TLS, HTTP/1 or HTTP/2 (%s)",
               gfp_report_flight_kind(s->ch->kind));
      set_error(c, "first flight", 0, why);
      conn_close(c);
    }
    grow_free(&f);
    return;
  }
  case GFP_DONE:
    break;
  }
  c->tls = gfp_report_tls(s->ch, c->flight.p, c->flight.len);
  if (c->tls == NULL || tls_start(c) != 0) {
    conn_close(c);
    return;
  }
  growbuf f = c->flight;
  c->flight = (growbuf){0};
  tls_input(c, f.p, f.len);
  grow_free(&f);
}

/* ---- libuv plumbing ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  shard *s = ((conn *)h->data)->sh;
  /* One read is handled completely before the next alloc; the buffer is reused. */
  *buf = uv_buf_init((char *)s->readbuf, sizeof(s->readbuf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn *c = stream->data;
  if (c->mode == M_CLOSING) return;
  if (nread < 0) {
    if (nread != UV_EOF) set_error(c, "read", 0, uv_strerror((int)nread));
    else if (c->mode == M_SNIFF && c->flight.len > 0)
      set_error(c, "tls", c->flight.len, "connection closed before the ClientHello was complete");
    conn_close(c);
    return;
  }
  if (nread == 0) return;
  uv_timer_again(&c->timer);
  const uint8_t *p = (const uint8_t *)buf->base;
  if (c->mode == M_SNIFF) sniff_input(c, p, (size_t)nread);
  else if (c->ssl) tls_input(c, p, (size_t)nread);
  else app_input(c, p, (size_t)nread);
}

static void on_idle(uv_timer_t *t) {
  conn *c = t->data;
  set_error(c, "idle", 0, "idle timeout");
  conn_close(c);
}

static void on_rejected_closed(uv_handle_t *h) { free(h); }

/* A connection on |sh|'s loop, counted already (the acceptor counts it when it
 * picks the loop); NULL when out of memory. */
static conn *conn_new(shard *sh, uint64_t id) {
  conn *c = calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  c->sh = sh;
  c->id = id;
  uv_tcp_init(sh->loop, &c->tcp);
  uv_timer_init(sh->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->next = sh->conns;
  if (sh->conns) sh->conns->prev = c;
  sh->conns = c;
  return c;
}

/* The connection's socket is open: serve it. */
static void conn_start(conn *c) {
  const guise_echo_options *o = &c->sh->srv->opts;
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
    format_addr((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
  uv_tcp_nodelay(&c->tcp, 1);
  uv_timer_start(&c->timer, on_idle, o->idle_timeout_ms, o->idle_timeout_ms);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void uncount(shard *sh) {
  atomic_fetch_sub(&sh->load, 1);
  atomic_fetch_sub(&sh->srv->nconns, 1);
}

/* The loop with the fewest open connections, ties broken round-robin: the two
 * connections of a browser-like client land on two loops. */
static shard *pick_shard(server *s) {
  unsigned n = s->nshards, start = s->next_shard++ % n, best = start;
  unsigned bl = atomic_load_explicit(&s->shards[start]->load, memory_order_relaxed);
  for (unsigned k = 1; k < n && bl > 0; k++) {
    unsigned i = (start + k) % n;
    unsigned l = atomic_load_explicit(&s->shards[i]->load, memory_order_relaxed);
    if (l < bl) {
      best = i;
      bl = l;
    }
  }
  return s->shards[best];
}

/* On a worker's loop: adopt the sockets the acceptor handed over, or, once asked
 * to stop, close every connection and the wake handle (the loop then ends). */
static void on_wake(uv_async_t *a) {
  shard *sh = a->data;
  uv_mutex_lock(&sh->mu);
  handoff *list = sh->pending;
  unsigned n = sh->npending;
  int stop = sh->stop;
  sh->pending = NULL;
  sh->npending = sh->cappending = 0;
  uv_mutex_unlock(&sh->mu);
  for (unsigned i = 0; i < n; i++) {
    conn *c = stop ? NULL : conn_new(sh, list[i].id);
    if (c == NULL) {
      close(list[i].fd);
      uncount(sh);
    } else if (uv_tcp_open(&c->tcp, list[i].fd) != 0) {
      close(list[i].fd);
      conn_close(c);
    } else {
      conn_start(c);
    }
  }
  free(list);
  if (stop && !uv_is_closing((uv_handle_t *)&sh->wake)) {
    for (conn *c = sh->conns, *next; c; c = next) {
      next = c->next;
      conn_close(c);
    }
    uv_close((uv_handle_t *)&sh->wake, NULL);
  }
}

static void worker_main(void *arg) {
  shard *sh = arg;
  uv_run(&sh->own, UV_RUN_DEFAULT);
}

/* Hands an accepted socket (a descriptor of its own, |fd|) to a worker's loop. */
static void handoff_push(shard *sh, int fd, uint64_t id) {
  uv_mutex_lock(&sh->mu);
  if (sh->npending == sh->cappending) {
    /* At most max_connections sockets are ever counted, so this stays bounded. */
    unsigned ncap = sh->cappending ? sh->cappending * 2 : 16;
    handoff *np = realloc(sh->pending, ncap * sizeof(*np));
    if (np == NULL) {
      uv_mutex_unlock(&sh->mu);
      close(fd);
      uncount(sh);
      return;
    }
    sh->pending = np;
    sh->cappending = ncap;
  }
  sh->pending[sh->npending++] = (handoff){fd, id};
  uv_mutex_unlock(&sh->mu);
  uv_async_send(&sh->wake);
}

static void on_connection(uv_stream_t *listener, int status) {
  server *s = listener->data;
  if (status < 0 || s->stopping) return;
  if (atomic_load(&s->nconns) >= s->opts.max_connections) {
    uv_tcp_t *t = malloc(sizeof(*t));
    if (t == NULL) return;
    uv_tcp_init(s->loop, t);
    uv_accept(listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_rejected_closed);
    return;
  }
  shard *to = pick_shard(s);
  uint64_t id = ++s->next_id;
  atomic_fetch_add(&to->load, 1);
  atomic_fetch_add(&s->nconns, 1);
  if (!to->worker) {
    conn *c = conn_new(to, id);
    if (c == NULL) {
      uncount(to);
      return;
    }
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
      conn_close(c);
      return;
    }
    conn_start(c);
    return;
  }
  /* Another loop's: accepted here, and a duplicate of the descriptor goes over
   * (libuv has no way to detach one from a handle); this one is closed. */
  uv_tcp_t *t = malloc(sizeof(*t));
  if (t == NULL) {
    uncount(to);
    return;
  }
  uv_tcp_init(s->loop, t);
  int fd = -1;
  uv_os_fd_t raw;
  if (uv_accept(listener, (uv_stream_t *)t) == 0 && uv_fileno((uv_handle_t *)t, &raw) == 0)
    fd = fcntl(raw, F_DUPFD_CLOEXEC, 0);
  uv_close((uv_handle_t *)t, on_rejected_closed);
  if (fd < 0) uncount(to);
  else handoff_push(to, fd, id);
}

/* ---- public entry -------------------------------------------------------------------------- */

void guise_echo_options_init(guise_echo_options *o) {
  memset(o, 0, sizeof(*o));
  o->size = sizeof(*o);
  o->listen = "127.0.0.1:8443";
  o->max_connections = 4096;
  o->idle_timeout_ms = 10000;
  o->threads = 1;
}

/* The most serving loops one observer runs: far more than the cores of any
 * machine it is meant for; each costs a thread and 128 KiB of buffers. */
#define ECHO_MAX_THREADS 256u

static void shard_free(shard *sh) {
  if (sh == NULL) return;
  if (sh->worker) {
    if (sh->loop_ready) {
      /* A thread that ran has ended its loop (joined before this); one that never
       * started still holds its wake handle. */
      if (!uv_is_closing((uv_handle_t *)&sh->wake)) uv_close((uv_handle_t *)&sh->wake, NULL);
      uv_run(&sh->own, UV_RUN_DEFAULT);
      uv_loop_close(&sh->own);
      uv_mutex_destroy(&sh->mu);
    }
    for (unsigned i = 0; i < sh->npending; i++) close(sh->pending[i].fd);
    free(sh->pending);
  }
  gfp_ch_free(sh->ch);
  gfp_h2_free(sh->h2p);
  gfp_h1_free(sh->h1);
  free(sh);
}

/* Loop |i| of |s|: 0 is the caller's, the others get a loop of their own (their
 * threads start once the server listens). */
static shard *shard_new(server *s, unsigned i) {
  shard *sh = calloc(1, sizeof(*sh));
  if (sh == NULL) return NULL;
  sh->srv = s;
  sh->ch = gfp_ch_new();
  sh->h2p = gfp_h2_new();
  sh->h1 = gfp_h1_new();
  if (sh->ch == NULL || sh->h2p == NULL || sh->h1 == NULL) goto fail;
  if (i == 0) {
    sh->loop = s->loop;
    return sh;
  }
  sh->worker = 1;
  if (uv_loop_init(&sh->own) != 0) goto fail;
  if (uv_mutex_init(&sh->mu) != 0) {
    uv_loop_close(&sh->own);
    goto fail;
  }
  if (uv_async_init(&sh->own, &sh->wake, on_wake) != 0) {
    uv_mutex_destroy(&sh->mu);
    uv_loop_close(&sh->own);
    goto fail;
  }
  sh->wake.data = sh;
  sh->loop = &sh->own;
  sh->loop_ready = 1;
  return sh;
fail:
  sh->worker = sh->worker && sh->loop_ready;
  shard_free(sh);
  return NULL;
}

/* Asks a running worker loop to close its connections and end. */
static void shard_stop(shard *sh) {
  if (!sh->started) return;
  uv_mutex_lock(&sh->mu);
  sh->stop = 1;
  uv_mutex_unlock(&sh->mu);
  uv_async_send(&sh->wake);
}

/* "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss) {
  char host[INET6_ADDRSTRLEN + 2];
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec) return -1;
  size_t hl = (size_t)(colon - spec);
  if (hl >= sizeof(host)) return -1;
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *end;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (errno || *end || colon[1] == '\0' || port < 0 || port > 65535) return -1;
  if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
    host[hl - 1] = '\0';
    return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
  }
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ? 0 : -1;
}

/* Port 0 with HTTP/3: a TCP port whose UDP twin is free too. The kernel picks the
 * TCP port; a UDP socket then binds the same number, and another pick is made when
 * something holds that UDP port already (up to 32 times). Returns 0 with both
 * sockets bound (the TCP one not yet listening), or a libuv error. */
static int bind_same_port(struct sockaddr_storage *ss, int *tcp_fd, int *udp_fd) {
  socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                            : sizeof(struct sockaddr_in);
  int err = UV_EADDRINUSE;
  for (int attempt = 0; attempt < 32; attempt++) {
    int t = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int u = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1;
    struct sockaddr_storage b = *ss;
    socklen_t bl = sizeof(b);
    if (t < 0 || u < 0 || setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(t, (struct sockaddr *)ss, len) != 0 || getsockname(t, (struct sockaddr *)&b, &bl) != 0) {
      err = uv_translate_sys_error(errno);
      if (t >= 0) close(t);
      if (u >= 0) close(u);
      return err;
    }
    if (bind(u, (struct sockaddr *)&b, len) == 0) {
      *tcp_fd = t;
      *udp_fd = u;
      return 0;
    }
    err = uv_translate_sys_error(errno);
    close(t);
    close(u);
    if (err != UV_EADDRINUSE) return err;
  }
  return err;
}

static int listen_port(const struct sockaddr_storage *ss) {
  return ntohs(((const struct sockaddr_in *)ss)->sin_port); /* same offset in sockaddr_in6 */
}

/* Frees the server once guise_echo_close was called and the listener and every
 * connection have run their close callbacks; then tells the caller. */
static void server_maybe_free(server *s) {
  if (!s->stopping || s->listener_open || s->quic_open || s->shards[0]->conns != NULL) return;
  void (*cb)(void *) = s->on_closed;
  void *arg = s->closed_arg;
  /* The workers were asked to stop with the listener; closing their connections
   * takes one turn of their loops, so this wait is short. */
  for (unsigned i = 1; i < s->nshards; i++)
    if (s->shards[i]->started) uv_thread_join(&s->shards[i]->thread);
  echo_log_close(s->log); /* every loop has written its records */
  SSL_CTX_free(s->ctx);
  for (unsigned i = 0; i < s->nshards; i++) shard_free(s->shards[i]);
  free(s->shards);
  free(s);
  if (cb) cb(arg);
}

static void on_quic_closed(void *arg) {
  server *s = arg;
  s->quic_open = 0;
  server_maybe_free(s);
}

static void on_listener_closed(uv_handle_t *h) {
  server *s = h->data;
  s->listener_open = 0;
  server_maybe_free(s);
}

__attribute__((format(printf, 3, 4))) static void fail(char *err, unsigned errlen, const char *fmt,
                                                       ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

int guise_echo_new(struct uv_loop_s *loop, const guise_echo_options *opts, guise_echo **out,
                   char *err, unsigned errlen) {
  if (err != NULL && errlen > 0) err[0] = '\0';
  if (out != NULL) *out = NULL;
  if (loop == NULL || out == NULL) {
    fail(err, errlen, "guise_echo_new: no loop or no place for the handle");
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  server *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    fail(err, errlen, "out of memory");
    return GUISE_E_NOMEM;
  }
  s->loop = loop;
  guise_echo_options_init(&s->opts);
  if (opts != NULL)
    memcpy(&s->opts, opts, opts->size < sizeof(s->opts) ? opts->size : sizeof(s->opts));
  s->opts.size = sizeof(s->opts);
  if (s->opts.listen == NULL) s->opts.listen = "127.0.0.1:8443";
  if (s->opts.max_connections == 0) s->opts.max_connections = 4096;
  if (s->opts.idle_timeout_ms == 0) s->opts.idle_timeout_ms = 10000;
  if (s->opts.threads == 0) {
    unsigned cpus = uv_available_parallelism();
    s->opts.threads = cpus < ECHO_MAX_THREADS ? cpus : ECHO_MAX_THREADS;
  }

  int rc = GUISE_E_NOMEM;
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  if (parse_listen(s->opts.listen, &ss) != 0) {
    fail(err, errlen, "--listen %s: expected HOST:PORT with a numeric IPv4 or [IPv6] host",
         s->opts.listen);
    rc = GUISE_E_USAGE_INVALID_ARGUMENT;
    goto out_free;
  }
  if (!is_loopback((struct sockaddr *)&ss) && !s->opts.allow_remote) {
    fail(err, errlen,
         "--listen %s is not a loopback address; the observer serves only "
         "loopback unless told otherwise (--allow-remote)",
         s->opts.listen);
    rc = GUISE_E_USAGE_INVALID_ARGUMENT;
    goto out_free;
  }
  if (s->opts.threads > ECHO_MAX_THREADS) {
    fail(err, errlen, "threads %u: at most %u", s->opts.threads, ECHO_MAX_THREADS);
    rc = GUISE_E_USAGE_INVALID_ARGUMENT;
    goto out_free;
  }
  s->shards = calloc(s->opts.threads, sizeof(*s->shards));
  if (s->shards == NULL) {
    fail(err, errlen, "out of memory");
    goto out_free;
  }
  for (; s->nshards < s->opts.threads; s->nshards++) {
    s->shards[s->nshards] = shard_new(s, s->nshards);
    if (s->shards[s->nshards] == NULL) {
      fail(err, errlen, "out of memory or no event loop for thread %u", s->nshards);
      goto out_free;
    }
  }
  char tls_err[512] = "";
  s->ctx = echo_tls_ctx_new(s->opts.cert_file, s->opts.key_file, tls_err, sizeof(tls_err));
  if (s->ctx == NULL) {
    fail(err, errlen, "%s", tls_err);
    rc = s->opts.cert_file ? GUISE_E_USAGE_FILE : GUISE_E_INTERNAL;
    goto out_free;
  }
  if (s->opts.log_file) {
    s->log = echo_log_open(s->opts.log_file, tls_err, sizeof(tls_err));
    if (s->log == NULL) {
      fail(err, errlen, "%s", tls_err);
      rc = GUISE_E_USAGE_FILE;
      goto out_free;
    }
  }
  uv_tcp_init(s->loop, &s->listener);
  s->listener.data = s;
  s->listener_open = 1;
  int r, udp_fd = -1;
  if (!s->opts.no_http3 && listen_port(&ss) == 0) {
    int tcp_fd = -1;
    r = bind_same_port(&ss, &tcp_fd, &udp_fd);
    if (r == 0 && (r = uv_tcp_open(&s->listener, tcp_fd)) != 0) close(tcp_fd);
  } else {
    r = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0);
  }
  if (r == 0) r = uv_listen((uv_stream_t *)&s->listener, 4096, on_connection);
  if (r != 0) {
    if (udp_fd >= 0) close(udp_fd);
    fail(err, errlen, "listen on %s: %s", s->opts.listen, uv_strerror(r));
    /* The handle is on the caller's loop: it is freed by its close callback. */
    s->stopping = 1;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return r == UV_EADDRINUSE || r == UV_EADDRNOTAVAIL ? GUISE_E_CONNECT_NO_PORTS : GUISE_E_IO;
  }
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  r = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
  if (r == 0 && !s->opts.no_http3) {
    /* HTTP/3 on the port TCP got (RFC 9114 §3.1: an h3 Alt-Svc names a UDP port). */
    echo_quic_config qc = {(struct sockaddr *)&bound, udp_fd, s->ctx, s->log,
                           s->opts.idle_timeout_ms, s->opts.max_connections, &s->nconns,
                           &s->next_id, s->opts.allow_remote};
    r = echo_quic_new(s->loop, &qc, &s->quic, tls_err, sizeof(tls_err));
    if (s->quic) s->quic_open = 1;
    if (r != 0) fail(err, errlen, "listen on %s: %s", s->opts.listen, tls_err);
  } else if (r != 0) {
    if (udp_fd >= 0) close(udp_fd);
    fail(err, errlen, "listen on %s: %s", s->opts.listen, uv_strerror(r));
  }
  if (r != 0) {
    s->stopping = 1;
    if (s->quic) echo_quic_close(s->quic, on_quic_closed, s);
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return r == UV_EADDRINUSE || r == UV_EADDRNOTAVAIL ? GUISE_E_CONNECT_NO_PORTS : GUISE_E_IO;
  }
  if (s->opts.alt_svc)
    snprintf(s->alt_svc, sizeof(s->alt_svc), "h3=\":%d\"; ma=86400", listen_port(&bound));
  for (unsigned i = 1; i < s->nshards; i++) {
    if (uv_thread_create(&s->shards[i]->thread, worker_main, s->shards[i]) != 0) {
      fail(err, errlen, "cannot start serving thread %u of %u", i + 1, s->nshards);
      for (unsigned k = 1; k < i; k++) shard_stop(s->shards[k]);
      s->stopping = 1;
      if (s->quic) echo_quic_close(s->quic, on_quic_closed, s);
      uv_close((uv_handle_t *)&s->listener, on_listener_closed);
      return GUISE_E_INTERNAL;
    }
    s->shards[i]->started = 1;
  }
  format_addr((struct sockaddr *)&bound, s->address, sizeof(s->address));
  *out = s;
  if (s->opts.on_listening) s->opts.on_listening(s->address, s->opts.arg);
  return 0;
out_free:
  echo_log_close(s->log);
  SSL_CTX_free(s->ctx);
  for (unsigned i = 0; i < s->nshards; i++) shard_free(s->shards[i]);
  free(s->shards);
  free(s);
  return rc;
}

const char *guise_echo_address(const guise_echo *e) { return e->address; }

void guise_echo_close(guise_echo *s, void (*on_closed)(void *arg), void *arg) {
  if (s == NULL || s->stopping) return;
  s->stopping = 1;
  s->on_closed = on_closed;
  s->closed_arg = arg;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
  if (s->quic) echo_quic_close(s->quic, on_quic_closed, s);
  for (unsigned i = 1; i < s->nshards; i++) shard_stop(s->shards[i]);
  for (conn *c = s->shards[0]->conns, *next; c; c = next) {
    next = c->next;
    conn_close(c);
  }
}
