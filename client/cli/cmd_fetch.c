/* cmd_fetch.c — `guise [options] URL...`: requests, curl-like, on one client (a
 * connection is reused by the next URL, as curl does). The options come from
 * options.c (the table guise batch shares). Uses only guise.h. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "at_file.h"
#include "cli.h"
#include "cli_log.h"
#include "guise.h"
#include "fetch.h"
#include "fetch_net.h"
#include "fetch_body.h"
#include "fetch_glob.h"
#include "fetch_netrc.h"
#include "options.h"
#include "write_out.h"

/* Caps on what the command line may carry. */
#define FETCH_MAX_RESOLVE 64
#define FETCH_MAX_URLS 1000        /* more is a job for guise batch */

typedef struct fetch_state {
  FILE *out;        /* the body: stdout or -o's file (a URL of -O has its own) */
  int include, head_only, verbose, silent, show_errors; /* show_errors: not -s, or -S */
  uv_loop_t *loop;
  guise_client *cl;
  guise_callbacks cb;
  int fail, fail_with_body;
  const char *write_out;
  FILE *dump;       /* -D, or NULL */
  FILE *trace;      /* --trace-ascii, or NULL */
  int remote_name, remote_header_name;
  int follow;       /* -L */
  int parallel;     /* -Z */
  int resume;       /* -C */
  unsigned long long resume_at; /* -C N (-C -: each file's size) */
  unsigned long long max_filesize;
  int progress, progress_bar; /* the meter on stderr, for bodies that go to files */
  unsigned retry;
  unsigned long long retry_delay_ms, retry_max_ms;
  int retry_connrefused;
  int proxy_kind;   /* fetch_proxy_kind of -x */
  int create_dirs;  /* --create-dirs, for the files of several -o */
  int retry_all;    /* --retry-all-errors */
  int no_buffer;    /* -N: the output flushed after each piece of body */
  unsigned proto_redir; /* with -L: the schemes a redirect may go to (1 http, 2 https) */
  const char *output_dir; /* --output-dir: before the name of a relative -o, -O, -J file */
  const char *output_name; /* the one -o of a single URL, for %{filename_effective} */
} fetch_state;

/* One URL of the command line. */
typedef struct fetch_one {
  fetch_state *f;
  const char *url;
  int err, done, fail, status, exit;
  int proxy_kind;
  char message[4400];          /* the command's own failure, said instead of the library's */
  FILE *out;                   /* where its body goes */
  FILE *own;                   /* a file of its own (-O, -C), closed at its end */
  int named;                   /* its own -o file (several -o or URLs), made at the answer */
  int remote;                  /* its -O (or --remote-name-all): a file named from the URL */
  int placed;                  /* |path| has --output-dir before it */
  unsigned hop_scheme;         /* the scheme of the request last sent (1 http, 2 https) */
  char *auth;                  /* -n: its Authorization value (ours) */
  char path[4096];             /* that file's name */
  unsigned long long offset;   /* -C: the bytes already there */
  long start_pos;              /* the output's position when the attempt began, -1: not seekable */
  unsigned long long written;  /* body bytes written by this attempt (curl counts the body only: a
                                * head alone, -i of an empty 503, is not cut back, as in curl) */
  /* retries */
  guise_request_options o;     /* the request, to send again */
  guise_header *headers;       /* its fields (ours: the command's and -C's Range) */
  char range[48];
  unsigned attempts;
  double first_ms;             /* when the first attempt began */
  unsigned long long retry_after_ms; /* the last response's Retry-After */
  int retry_now;               /* this attempt ends in a retry */
  int whole;                   /* -C: the file is already whole; the answer's body is not wanted */
  unsigned long long trace_in; /* --trace-ascii: body bytes so far */
  uv_timer_t timer;
  int timer_made;
  fetch_progress prog;
  /* -w: the last response's fields and the last request's method */
  write_out_heads heads;
  char method[32];
} fetch_one;

static void start_attempt(fetch_one *one);

static double now_ms(void) { return (double)uv_hrtime() / 1e6; }

static void put_remote(FILE *to, const char *s) { fetch_put_remote(to, s); }

/* The value of field |name| in |h|, or NULL. */
static const char *field(const guise_header *h, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(h[i].name, name) == 0) return h[i].value;
  return NULL;
}

/* curl's transient HTTP statuses (--retry). */
static int transient_status(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Whether another attempt may start |wait_ms| from now (--retry, --retry-max-time). */
static int may_retry(const fetch_one *one, unsigned long long wait_ms) {
  const fetch_state *f = one->f;
  if (one->attempts > f->retry) return 0;
  if (!fetch_body_can_restart(&one->o)) return 0; /* an upload from stdin goes once */
  if (f->retry_max_ms && now_ms() - one->first_ms + (double)wait_ms > (double)f->retry_max_ms) return 0;
  return 1;
}

/* The wait before the next attempt: Retry-After, else --retry-delay, else
 * curl's 1 s doubling each time up to 10 minutes. */
static unsigned long long retry_wait_ms(const fetch_one *one) {
  if (one->retry_after_ms) return one->retry_after_ms;
  if (one->f->retry_delay_ms) return one->f->retry_delay_ms;
  unsigned long long w = 1000;
  for (unsigned i = 1; i < one->attempts && w < 600000; i++) w *= 2;
  return w < 600000 ? w : 600000;
}

/* Retry-After (RFC 9110 10.2.3) in delay-seconds, as milliseconds; 0 when
 * absent or an HTTP date (not read). Capped at a day. */
static unsigned long long retry_after(const char *v) {
  if (v == NULL) return 0;
  while (*v == ' ') v++;
  unsigned long long s = 0;
  if (*v < '0' || *v > '9') return 0;
  for (; *v >= '0' && *v <= '9'; v++) {
    s = s * 10 + (unsigned)(*v - '0');
    if (s > 86400) s = 86400;
  }
  return s * 1000;
}

/* Opens the file of a URL of -O (or -o with -C): appending at |one->offset|
 * with -C, else a new file (-J refuses an existing one, as curl). 0, or -1
 * with one->fail and one->message set. */
static int open_own(fetch_one *one, int refuse_existing) {
  const char *dir = one->f->output_dir;
  if (dir && one->path[0] != '/' && !one->placed) {
    char name[sizeof(one->path)];
    snprintf(name, sizeof(name), "%s", one->path);
    if ((size_t)snprintf(one->path, sizeof(one->path), "%s/%s", dir, name) >= sizeof(one->path)) {
      one->fail = FETCH_FAIL_WRITE;
      snprintf(one->message, sizeof(one->message), "--output-dir: the file name is too long");
      return -1;
    }
    if (one->f->create_dirs && fetch_make_dirs(one->path) != 0) {
      one->fail = FETCH_FAIL_WRITE;
      snprintf(one->message, sizeof(one->message), "--create-dirs %s: %s", one->path, strerror(errno));
      return -1;
    }
  }
  one->placed = 1;
  const char *mode = one->f->resume ? "ab" : refuse_existing ? "wbx" : "wb";
  one->own = fopen(one->path, mode);
  if (one->own == NULL) {
    one->fail = FETCH_FAIL_WRITE;
    snprintf(one->message, sizeof(one->message), "%s: %s", one->path,
             errno == EEXIST ? "the file exists: not overwritten (-J)" : strerror(errno));
    return -1;
  }
  one->out = one->own;
  return 0;
}

/* -O: the file is made when the answer is there (-J: named by it): 0, or -1
 * with one->fail set. */
static int open_remote(fetch_one *one, const guise_header *h, size_t n) {
  fetch_state *f = one->f;
  if ((!one->remote && !one->named) || one->own) return 0;
  if (one->named) {
    if (f->create_dirs && fetch_make_dirs(one->path) != 0) {
      one->fail = FETCH_FAIL_WRITE;
      snprintf(one->message, sizeof(one->message), "--create-dirs %s: %s", one->path, strerror(errno));
      return -1;
    }
    return open_own(one, 0);
  }
  const char *cd = f->remote_header_name ? field(h, n, "content-disposition") : NULL;
  char name[256];
  if (cd && fetch_disposition_name(cd, name, sizeof(name)) == 0) snprintf(one->path, sizeof(one->path), "%s", name);
  if (one->path[0] == '\0') {
    one->fail = FETCH_FAIL_WRITE;
    snprintf(one->message, sizeof(one->message), "-O: neither the URL nor the answer gives a file name");
    return -1;
  }
  return open_own(one, f->remote_header_name);
}

/* --trace-ascii: |len| bytes of |p| as curl's trace writes them, "%04x: "
 * and the text, a line per header line (CRLF ended) or per 64 bytes, bytes
 * outside printable ASCII as '.'. */
static void trace_bytes(FILE *t, const char *what, const unsigned char *p, size_t len, int by_lines) {
  fprintf(t, "%s, %zu bytes (0x%zx)\n", what, len, len);
  for (size_t i = 0; i < len;) {
    size_t w = 0;
    if (by_lines) {
      while (i + w < len && w < 4096 && !(p[i + w] == '\n')) w++;
      if (i + w < len) w++; /* the LF */
    } else {
      w = len - i < 64 ? len - i : 64;
    }
    fprintf(t, "%04zx: ", i);
    for (size_t k = 0; k < w; k++) {
      unsigned char c = p[i + k];
      if (by_lines && (c == '\r' || c == '\n')) continue;
      fputc(c >= 0x20 && c < 0x7f ? c : '.', t);
    }
    fputc('\n', t);
    i += w;
  }
}

/* A head as text for the trace: |first| then "name: value" lines, CRLF each,
 * and an empty line; malloc'd, its length in |*len|. */
static char *head_text(const char *first, const guise_header *h, size_t n, size_t *len) {
  size_t cap = strlen(first) + 5;
  for (size_t i = 0; i < n; i++) cap += strlen(h[i].name) + strlen(h[i].value) + 4;
  char *t = malloc(cap);
  if (t == NULL) return NULL;
  size_t o = (size_t)snprintf(t, cap, "%s\r\n", first);
  for (size_t i = 0; i < n; i++) o += (size_t)snprintf(t + o, cap - o, "%s: %s\r\n", h[i].name, h[i].value);
  o += (size_t)snprintf(t + o, cap - o, "\r\n");
  *len = o;
  return t;
}

/* The request as it went on the wire (each hop, each send again): -v and
 * --trace-ascii. The first line is built as curl prints it, "GET /path
 * HTTP/1.1" (HTTP/2: the pseudo-headers follow as fields, in their order). */
static void on_request_sent(void *ud, unsigned hop, const char *method, const char *url, const guise_header *h,
                            size_t n, int http_version) {
  fetch_one *one = ud;
  fetch_state *f = one->f;
  snprintf(one->method, sizeof(one->method), "%s", method);
  one->hop_scheme = !strncasecmp(url, "https:", 6) ? 2 : 1;
  if (!f->verbose && !f->trace) return;
  const char *start = strstr(url, "://");
  start = start ? start + 3 : url;
  const char *path = start + strcspn(start, "/?#");
  size_t path_len = strcspn(path, "#");
  char first[8400];
  snprintf(first, sizeof(first), "%s %s%.*s %s", method, path_len ? "" : "/", (int)(path_len > 8192 ? 8192 : path_len),
           path, http_version == 3 ? "HTTP/3" : http_version == 2 ? "HTTP/2" : "HTTP/1.1");
  if (f->verbose) {
    if (hop) {
      fputs("* hop ", stderr);
      fprintf(stderr, "%u: ", hop);
      put_remote(stderr, url);
      fputc('\n', stderr);
    }
    fputs("> ", stderr);
    put_remote(stderr, first);
    fputc('\n', stderr);
    for (size_t i = 0; i < n; i++) {
      fputs("> ", stderr);
      put_remote(stderr, h[i].name);
      fputs(": ", stderr);
      put_remote(stderr, h[i].value);
      fputc('\n', stderr);
    }
    fputs(">\n", stderr);
  }
  if (f->trace) {
    size_t len;
    char *t = head_text(first, h, n, &len);
    if (t) trace_bytes(f->trace, "=> Send header", (const unsigned char *)t, len, 1);
    free(t);
  }
}

/* Every response head (1xx, redirects, the last): -v, --trace-ascii, and -i
 * and -D with curl's status line ("HTTP/1.1 200 OK", "HTTP/2 206"). */
static int on_response_head(void *ud, unsigned hop, int status, const guise_header *h, size_t n, int http_version,
                            const char *reason) {
  fetch_one *one = ud;
  fetch_state *f = one->f;
  /* The server's reason phrase as curl prints it, control bytes escaped. */
  char why[4 * 128 + 1], line[4 * 128 + 64];
  if (reason) guise_escape_text(reason, strlen(reason), why, sizeof(why));
  fetch_status_line(line, sizeof(line), http_version == 3 ? "HTTP/3" : http_version == 2 ? "HTTP/2" : "HTTP/1.1", status,
                    reason ? why : NULL);
  if (f->verbose) {
    fprintf(stderr, "< %s\n", line);
    for (size_t i = 0; i < n; i++) {
      fputs("< ", stderr);
      put_remote(stderr, h[i].name);
      fputs(": ", stderr);
      put_remote(stderr, h[i].value);
      fputc('\n', stderr);
    }
    fprintf(stderr, "<\n");
  }
  if (f->trace) {
    size_t len;
    char *t = head_text(line, h, n, &len);
    if (t) trace_bytes(f->trace, "<= Recv header", (const unsigned char *)t, len, 1);
    free(t);
  }
  /* --proto-redir: a redirect to follow whose scheme is left out ends here
   * (exit 1, curl's); a relative Location keeps the request's scheme. A
   * scheme guise has none of (ftp:) is the library's refusal. */
  const char *loc = f->follow && status >= 300 && status < 400 ? field(h, n, "location") : NULL;
  if (loc) {
    const char *sep = strstr(loc, "://");
    unsigned bit = sep == NULL || strcspn(loc, "/?#") < (size_t)(sep - loc) ? one->hop_scheme
                   : !strncasecmp(loc, "https://", 8)                     ? 2
                   : !strncasecmp(loc, "http://", 7)                      ? 1
                                                                          : 0;
    if (bit && !(f->proto_redir & bit)) {
      one->fail = FETCH_FAIL_PROTO;
      snprintf(one->message, sizeof(one->message), "redirect to %s not allowed by --proto-redir",
               bit == 2 ? "https" : "http");
      return 1;
    }
  }
  /* -O with -i: the heads go into the file, which is made at the head that
   * is not a redirect to follow (-J: named by it). */
  int passing = status < 200 || (f->follow && status >= 300 && status < 400 && field(h, n, "location"));
  if ((f->include || f->head_only) && !passing && open_remote(one, h, n) != 0) return 1;
  if ((f->include || f->head_only) && one->out) fetch_write_head(one->out, line, h, n);
  if (f->dump) fetch_write_head(f->dump, line, h, n);
  return 0;
}

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  fetch_one *one = ud;
  fetch_state *f = one->f;
  one->status = status;
  if (f->write_out) write_out_keep(&one->heads, h, n);
  one->retry_after_ms = retry_after(field(h, n, "retry-after"));
  /* --retry: a transient status is not this URL's answer. Its body goes out
   * as any other (curl's way: a file is cut back before the next attempt,
   * stdout cannot be). */
  /* --retry-all-errors: with -f, any status of 400 or more too (curl's). */
  one->retry_now = f->retry &&
                   (transient_status(status) || (f->retry_all && (f->fail || f->fail_with_body) && status >= 400)) &&
                   may_retry(one, retry_wait_ms(one));
  int http_fail = (f->fail || f->fail_with_body) && status >= 400;
  /* -C: 206 from the offset asked for; 416 means the file is whole (curl:
   * success, nothing written); a 200 that does not start there cannot be
   * appended, unless its length says the file is already complete. */
  const char *clen = field(h, n, "content-length");
  unsigned long long length = clen ? strtoull(clen, NULL, 10) : 0;
  int skip_body = 0;
  if (f->resume && one->offset && status < 300) {
    const char *cr = field(h, n, "content-range");
    if (status == 206 && cr && strncasecmp(cr, "bytes ", 6) == 0 && strtoull(cr + 6, NULL, 10) == one->offset) {
    } else if (status == 200 && clen && length == one->offset) {
      skip_body = 1;
    } else {
      one->fail = FETCH_FAIL_RANGE;
      snprintf(one->message, sizeof(one->message),
               "the server does not seem to support byte ranges (status %d): cannot resume", status);
      return 1;
    }
  } else if (f->resume && status == 416) {
    skip_body = 1;
  }
  if (f->max_filesize && clen && length > f->max_filesize) {
    one->fail = FETCH_FAIL_FILESIZE;
    snprintf(one->message, sizeof(one->message), "the body (%llu bytes) is larger than --max-filesize (%llu)",
             length, f->max_filesize);
    return 1;
  }
  if (http_fail) {
    one->fail = FETCH_FAIL_HTTP;
    snprintf(one->message, sizeof(one->message), "The requested URL returned error: %d", status);
    if (!f->fail_with_body) return 1; /* before -O makes a file: curl makes none */
  }
  if (open_remote(one, h, n) != 0) return 1;
  fetch_progress_total(&one->prog, length);
  one->whole = skip_body;
  return skip_body ? 1 : 0;
}

static int on_body(void *ud, const unsigned char *p, size_t n) {
  fetch_one *one = ud;
  if (fwrite(p, 1, n, one->out) != n) {
    one->fail = FETCH_FAIL_WRITE;
    snprintf(one->message, sizeof(one->message), "writing the body: %s", strerror(errno));
    return -1;
  }
  one->written += n;
  if (one->f->trace) {
    char what[64];
    snprintf(what, sizeof(what), "<= Recv data");
    trace_bytes(one->f->trace, what, p, n, 0);
  }
  fetch_progress_add(&one->prog, n);
  if (one->f->no_buffer) fflush(one->out);
  return 0;
}

static void on_retry_timer(uv_timer_t *t) { start_attempt(t->data); }

/* Whether the failure |err| of an attempt is transient for --retry (curl's
 * rule: timeouts, names not resolved, a refused connection with
 * --retry-connrefused; transient statuses are seen in on_headers). */
static int transient_error(const fetch_one *one, int err) {
  if (one->f->retry_all && err != GUISE_E_CANCELLED) return 1; /* --retry-all-errors */
  guise_err_class_id c = guise_err_class_of(err);
  if (c == GUISE_CLASS_TIMEOUT || c == GUISE_CLASS_DNS || err == GUISE_E_PROXY_TIMEOUT) return 1;
  return one->f->retry_connrefused && (err == GUISE_E_CONNECT_REFUSED || err == GUISE_E_PROXY_CONNECT_REFUSED);
}

/* Puts the output back where the attempt began, for the next one: 0, or -1
 * when bytes went where they cannot be taken back (a pipe, a terminal). */
static int rewind_output(fetch_one *one) {
  if (one->written == 0 || one->out == NULL) return 0;
  if (one->start_pos < 0 || fflush(one->out) != 0 || ftruncate(fileno(one->out), one->start_pos) != 0 ||
      fseek(one->out, one->start_pos, SEEK_SET) != 0)
    return -1;
  return 0;
}

/* The failure of an attempt on stderr: the command's own with curl's number,
 * or the library's description and name. */
static void say_error(const fetch_one *one, int err, const guise_response_info *info) {
  if (one->message[0]) {
    fetch_outcome oc = {err, one->fail, info->status, one->proxy_kind};
    fprintf(stderr, "guise: (%d) ", fetch_exit_status(&oc));
    put_remote(stderr, one->message);
    fputc('\n', stderr);
  } else {
    /* The detail may quote the server (a Location, a status line): escaped. */
    fprintf(stderr, "guise: %s (%s)%s", guise_strerror(err), guise_err_name(err), info->error_detail[0] ? ": " : "");
    put_remote(stderr, info->error_detail);
    fputc('\n', stderr);
  }
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  fetch_one *one = ud;
  fetch_state *f = one->f;
  fetch_progress_end(&one->prog);
  /* The command ended it: its reason is one->fail, or nothing was wanted. */
  if (err == GUISE_E_CANCELLED && (one->fail || one->whole)) err = 0;
  int retry = one->retry_now ? one->fail == 0 || one->fail == FETCH_FAIL_HTTP
                             : f->retry && !one->fail && err && transient_error(one, err) &&
                                   may_retry(one, retry_wait_ms(one));
  if (retry) {
    /* A file is cut back to where the attempt began (curl: "throwing away"
     * the bytes); what went to a pipe or a terminal stays there, as in curl. */
    if (rewind_output(one) != 0 && !f->silent) /* warnings: -s hides them, -S does not bring them back */
      fprintf(stderr, "guise: warning: what this attempt wrote to the output stays there\n");
    unsigned long long wait = retry_wait_ms(one);
    /* Each failed attempt is said, as curl does (-sS too); the warning not with -s. */
    if ((err || one->fail) && f->show_errors) say_error(one, err, info);
    if (!f->silent) {
      char what[128];
      if (one->retry_now) snprintf(what, sizeof(what), "HTTP %d", one->status);
      else snprintf(what, sizeof(what), "%s", guise_err_name(err));
      fprintf(stderr, "guise: warning: transient problem (%s); will retry in %.3g s, %u %s left\n", what,
              (double)wait / 1000, f->retry - one->attempts + 1, f->retry - one->attempts + 1 == 1 ? "retry" : "retries");
    }
    if (!one->timer_made) {
      uv_timer_init(f->loop, &one->timer);
      one->timer_made = 1;
    }
    one->timer.data = one;
    uv_timer_start(&one->timer, on_retry_timer, wait, 0);
    return;
  }
  one->err = err;
  one->done = 1;
  fetch_outcome oc = {err, one->fail, info->status, one->proxy_kind};
  one->exit = fetch_exit_status(&oc);
  if (f->verbose) {
    for (size_t i = 0; i < info->n_redirects; i++)
      fprintf(stderr, "* redirect %zu: %d from %s\n", i + 1, info->redirect_statuses[i], info->redirect_urls[i]);
    if (info->tls_version[0])
      fprintf(stderr, "* %s, %s, %s, ALPN %s\n", info->tls_version, info->tls_cipher,
              info->tls_group, info->alpn[0] ? info->alpn : "none");
    fprintf(stderr, "* %s from %s: dns %.1f ms, connect %.1f ms, tls %.1f ms, first byte %.1f ms, "
            "total %.1f ms, %llu bytes (%llu on the wire)\n",
            info->http_version[0] ? info->http_version : "no response",
            info->remote[0] ? info->remote : "-", info->dns_ms, info->connect_ms, info->tls_ms,
            info->ttfb_ms, info->total_ms, info->body_bytes, info->wire_body_bytes);
    fprintf(stderr, "* connection %s%s%s\n", info->local[0] ? info->local : "-",
            info->reused ? ", reused" : "", info->http_version[0] ? "" : " (none)");
  }
  if (one->exit && f->show_errors) say_error(one, err, info);
  if (one->own) {
    if (fclose(one->own) != 0 && one->exit == 0) {
      one->fail = FETCH_FAIL_WRITE;
      one->exit = 23;
      if (f->show_errors) fprintf(stderr, "guise: (23) %s: %s\n", one->path, strerror(errno));
    }
    one->own = NULL;
  }
  if (f->write_out) {
    write_out_vars v = {one->url, one->message, one->path[0] ? one->path : f->output_name,
                        one->method[0] ? one->method : one->o.method ? one->o.method
                        : one->o.has_body || one->o.body_read ? "POST" : f->head_only ? "HEAD" : "GET",
                        one->exit, &one->heads};
    write_out(stdout, stderr, f->write_out, &v, err, info);
  }
}

/* Runs |loop| until the |n| requests of |ones| have ended. */
static void run_until_done(uv_loop_t *loop, const fetch_one *ones, size_t n) {
  for (size_t i = 0; i < n; i++)
    while (!ones[i].done && uv_run(loop, UV_RUN_ONCE) != 0) {
    }
}

static void cookie_warning(void *arg, const char *what) {
  const fetch_state *f = arg;
  /* A refused Set-Cookie is the server's business: -v only. A cookie-file line
   * skipped is the user's: always (but -s). It may quote a Set-Cookie the
   * server sent: escaped. */
  int from_file = strncmp(what, "cookie file ", 12) == 0;
  if (from_file ? f->silent : !f->verbose) return;
  fputs(from_file ? "guise: warning: " : "* ", stderr);
  put_remote(stderr, what);
  fputc('\n', stderr);
}

/* A usage error about |arg| (an option's value from the command line, which may
 * hold control characters): escaped. */
static void usage_error(const char *opt, const char *arg, const char *why) {
  cli_usage_error("guise", opt, arg, why);
}

/* A proxy URL for messages: its password written as *** (guise_url_redact, the
 * library's one rule: "http://user:***@host:port"), into |out|. */
static void url_for_message(const char *u, char *out, size_t cap) {
  const char *r = guise_url_redact(u, out, cap);
  if (r != out) snprintf(out, cap, "%s", r); /* no password: |u| itself came back */
}

/* Whether the host of |u| has bytes outside ASCII (an internationalised name
 * given as Unicode). */
static int host_not_ascii(const char *u) {
  const char *start = strstr(u, "://");
  start = start ? start + 3 : u;
  size_t auth_len = strcspn(start, "/?#");
  for (size_t i = 0; i < auth_len; i++)
    if ((unsigned char)start[i] >= 0x80) return 1;
  return 0;
}

/* guise_client_new with |co| only to see whether it takes it; the client is
 * closed at once. */
static int client_takes(const guise_client_options *co) {
  /* On a loop of its own: running the command's loop here would run the
   * requests already started on it (to their end, or a connection nobody waits
   * for to its connect timeout). */
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return GUISE_E_NOMEM;
  guise_client *cl = NULL;
  int e = guise_client_new((struct uv_loop_s *)&loop, co, &cl);
  if (cl) guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return e;
}

/* guise_client_new refused |co| with |e|: finds the option at fault, one at a
 * time, so that the message names it (the library's code alone cannot say
 * whether a --resolve entry or the proxy URL was wrong). */
/* curl's exit status for a proxy URL it cannot use (curl 7.88 measured: a
 * malformed one is 5, "couldn't resolve proxy"; an unsupported scheme 7). */
static int proxy_url_exit(int pe) { return pe == GUISE_E_USAGE_URL_SCHEME ? 7 : 5; }

/* Returns the exit status when the proxy URL was at fault, else 0. */
static int explain_client_error(const guise_client_options *co, int e, int say) {
  guise_client_options one;
  char shown[2048];
  if (co->proxy) {
    guise_client_options_init(&one);
    one.proxy = co->proxy;
    int pe = client_takes(&one);
    if (pe) {
      url_for_message(co->proxy, shown, sizeof(shown));
      if (say)
        usage_error("-x", shown, pe == GUISE_E_USAGE_URL_SCHEME
                                     ? "unsupported proxy scheme (http, https, socks4, socks4a, socks5, socks5h)"
                                     : "malformed proxy URL (scheme://[user:password@]host[:port])");
      return proxy_url_exit(pe);
    }
  }
  if (!say) return 0;
  for (size_t i = 0; i < co->n_resolve; i++) {
    guise_client_options_init(&one);
    one.resolve = &co->resolve[i];
    one.n_resolve = 1;
    if (client_takes(&one)) {
      usage_error("--resolve", co->resolve[i], "expected HOST:PORT:ADDR[,ADDR...] with a port from 1 to "
                                               "65535 and IP addresses");
      return 0;
    }
  }
  if (co->dns_servers) {
    guise_client_options_init(&one);
    one.dns_servers = co->dns_servers;
    if (client_takes(&one)) {
      usage_error("--dns-servers", co->dns_servers, "expected IP[:PORT],... (IPv6 as [IP]:PORT)");
      return 0;
    }
  }
  if (co->proxy_cafile) {
    guise_client_options_init(&one);
    one.proxy_cafile = co->proxy_cafile;
    if (client_takes(&one)) {
      usage_error("--proxy-cacert", co->proxy_cafile, "cannot read PEM certificates from it");
      return 0;
    }
  }
  if (co->cookie_file) {
    guise_client_options_init(&one);
    one.cookies = 1;
    one.cookie_file = co->cookie_file;
    if (client_takes(&one)) {
      usage_error("-b", co->cookie_file, "cannot read it as a cookie file");
      return 0;
    }
  }
  fprintf(stderr, "guise: %s (%s)\n", guise_strerror(e), guise_err_name(e));
  return 0;
}


/* "Basic " and base64 of |userpass| (RFC 7617), into |out|. */
static void basic_credentials(const char *userpass, char *out, size_t cap) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = strlen(userpass), o = 0;
  const unsigned char *p = (const unsigned char *)userpass;
  o += (size_t)snprintf(out, cap, "Basic ");
  for (size_t i = 0; i < len && o + 5 < cap; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < len ? p[i + 2] : 0);
    out[o++] = b64[v >> 18 & 63];
    out[o++] = b64[v >> 12 & 63];
    out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < len ? b64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* Percent-encodes |len| bytes of |s| for a URL's userinfo (RFC 3986: the
 * unreserved characters kept) at |out| + *|o|. */
static void userinfo_encode(const char *s, size_t len, char *out, size_t cap, size_t *o) {
  for (size_t i = 0; i < len && *o + 4 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch))
      out[(*o)++] = (char)ch;
    else
      *o += (size_t)snprintf(out + *o, cap - *o, "%%%02X", ch);
  }
  out[*o] = '\0';
}

/* --proxy-user: |proxy| with its userinfo replaced by |userpass|
 * ("user:password", percent-encoded here), into |out|; |proxy| itself when it
 * has no "scheme://". */
static const char *proxy_with_user(const char *proxy, const char *userpass, char *out, size_t cap) {
  const char *sep = strstr(proxy, "://");
  if (sep == NULL) return proxy;
  const char *host = sep + 3;
  size_t auth_len = strcspn(host, "/?#");
  const char *at = NULL;
  for (const char *p = host; p < host + auth_len; p++)
    if (*p == '@') at = p;
  if (at) host = at + 1;
  size_t o = (size_t)snprintf(out, cap, "%.*s", (int)(sep + 3 - proxy), proxy);
  const char *colon = strchr(userpass, ':');
  userinfo_encode(userpass, colon ? (size_t)(colon - userpass) : strlen(userpass), out, cap, &o);
  if (colon) {
    out[o++] = ':';
    userinfo_encode(colon + 1, strlen(colon + 1), out, cap, &o);
  }
  snprintf(out + o, cap - o, "@%s", host);
  return out;
}

/* Sends |one|'s request (again, for a retry). */
static void start_attempt(fetch_one *one) {
  fetch_state *f = one->f;
  if (one->attempts++ == 0) one->first_ms = now_ms();
  one->retry_now = 0;
  one->whole = 0;
  one->fail = 0;
  one->message[0] = '\0';
  one->status = 0;
  one->written = 0;
  /* Where a retry puts the output back to: a file of its own starts at the
   * resume offset; the shared output where it is now (-1: a pipe, a terminal). */
  /* -Z: the shared output holds the other URLs' bytes too; it is not cut. */
  one->start_pos = one->own || one->remote || one->named ? (long)one->offset
                   : one->out && !f->parallel   ? ftell(one->out)
                                                : -1;
  fetch_progress_start(&one->prog, f->progress && (one->remote || one->named || one->out != stdout), f->progress_bar, stderr);
  if (one->attempts > 1) (void)fetch_body_restart(&one->o); /* -T, -F: from the first byte again */
  int e = guise_client_request(f->cl, &one->o, &f->cb, one);
  if (e == 0) return;
  fetch_progress_end(&one->prog);
  /* Refused before it started: a usage error. Say which part was wrong: a
   * proxy from the environment, a host name in Unicode, or the URL. */
  char url_shown[8200]; /* a URL, its password hidden (guise_url_redact); longer ones are cut */
  guise_client_options po;
  guise_client_options_init(&po);
  po.proxy = one->o.proxy;
  int proxy_e = one->o.proxy && *one->o.proxy ? client_takes(&po) : 0;
  if (!f->show_errors) {
  } else if (proxy_e != 0) {
    char shown[2048];
    url_for_message(one->o.proxy, shown, sizeof(shown));
    usage_error("the proxy from the environment (https_proxy, http_proxy, all_proxy)", shown,
                "malformed or unsupported proxy URL");
  } else if (e == GUISE_E_USAGE_URL_MALFORMED && host_not_ascii(one->url)) {
    usage_error("URL", guise_url_redact(one->url, url_shown, sizeof(url_shown)),
                "the host is not a valid internationalised domain name (IDNA, UTS #46)");
  } else {
    fprintf(stderr, "guise: %s: %s (%s)\n", guise_url_redact(one->url, url_shown, sizeof(url_shown)),
            guise_strerror(e), guise_err_name(e));
  }
  one->err = e;
  one->done = 1;
  fetch_outcome oc = {e, 0, 0, one->proxy_kind};
  one->exit = proxy_e ? proxy_url_exit(proxy_e) : fetch_exit_status(&oc);
}

/* --proto: the schemes allowed, curl's syntax (a comma list of names, each
 * "+" added (the default), "-" taken away, "=" only these; "all"; the
 * names guise has no scheme for are ignored, as curl ignores unknown ones):
 * a bit per scheme, 1 http, 2 https. */
static unsigned proto_allowed(const char *spec) {
  unsigned set = 3;
  for (const char *p = spec; *p;) {
    size_t len = strcspn(p, ",");
    char op = '+';
    const char *name = p;
    size_t nl = len;
    while (nl && (*name == '+' || *name == '-' || *name == '=')) op = *name++, nl--;
    unsigned bit = nl == 3 && !strncasecmp(name, "all", 3) ? 3
                   : nl == 4 && !strncasecmp(name, "http", 4) ? 1
                   : nl == 5 && !strncasecmp(name, "https", 5) ? 2 : 0;
    if (op == '=') set = bit;
    else if (op == '-') set &= ~bit;
    else set |= bit;
    p += len + (p[len] == ',');
  }
  return set;
}

/* A URL whose scheme --proto leaves out: said, exit 1 (curl's "Protocol
 * ... not supported or disabled"), no request; 0 when it may go. */
static int proto_refused(const char *spec, const char *url, fetch_one *one) {
  if (spec == NULL) return 0;
  unsigned set = proto_allowed(spec);
  unsigned bit = !strncasecmp(url, "https://", 8) ? 2 : !strncasecmp(url, "http://", 7) ? 1 : 0;
  if (bit == 0 || (set & bit)) return 0; /* another scheme: the request refuses it */
  one->done = 1;
  one->exit = 1;
  snprintf(one->message, sizeof(one->message), "protocol \"%s\" not allowed by --proto %s", bit == 2 ? "https" : "http",
           spec);
  if (one->f->show_errors) {
    fprintf(stderr, "guise: (1) ");
    put_remote(stderr, one->message);
    fputc('\n', stderr);
  }
  return 1;
}

/* -w @FILE ('-': stdin): the format read from FILE (at_file.c: at most 1 MiB,
 * a directory or an endless pipe refused; line ends dropped, as curl does):
 * CLI_NEXT, or 26 (unreadable) or 2 (a NUL byte) after a message. */
static int write_out_file(cli_settings *st, fetch_state *f) {
  return cli_write_out_file(st, st->write_out + 1, &f->write_out);
}

/* The command's own options, checked before any connection: 0, or an exit
 * status after a message. */
static int check_own_options(const cli_settings *st, fetch_state *f) {
  if (st->continue_at) {
    if (strcmp(st->continue_at, "-") == 0) {
      f->resume = 1;
    } else if (fetch_parse_size(st->continue_at, &f->resume_at) == 0 && strspn(st->continue_at, "0123456789") ==
                                                                            strlen(st->continue_at)) {
      f->resume = 1;
    } else {
      usage_error("-C", st->continue_at, "expected '-' or a byte offset");
      return EXIT_USAGE;
    }
    if (st->remote_header_name) {
      fprintf(stderr, "guise: -C and -J cannot be used together (the file name is not known before the answer)\n");
      return EXIT_USAGE;
    }
    if (st->n_outputs && st->n_outputs < st->n_operands) {
      fprintf(stderr, "guise: -C with -o takes one URL (-O: a file per URL)\n");
      return EXIT_USAGE;
    }
  }
  if (st->max_filesize && fetch_parse_size(st->max_filesize, &f->max_filesize) != 0) {
    usage_error("--max-filesize", st->max_filesize, "expected a byte count (digits, optionally k, M or G)");
    return EXIT_USAGE;
  }
  if (st->retry_delay && fetch_parse_seconds(st->retry_delay, 86400, &f->retry_delay_ms) != 0) {
    usage_error("--retry-delay", st->retry_delay, "expected seconds from 0 to 86400");
    return EXIT_USAGE;
  }
  if (st->retry_max_time && fetch_parse_seconds(st->retry_max_time, 86400, &f->retry_max_ms) != 0) {
    usage_error("--retry-max-time", st->retry_max_time, "expected seconds from 0 to 86400");
    return EXIT_USAGE;
  }
  if (st->user && strchr(st->user, ':') == NULL) {
    usage_error("-u", st->user, "expected USER:PASSWORD (guise does not ask for the password)");
    return EXIT_USAGE;
  }
  if (st->proxy_user && strchr(st->proxy_user, ':') == NULL) {
    usage_error("--proxy-user", st->proxy_user, "expected USER:PASSWORD (guise does not ask for the password)");
    return EXIT_USAGE;
  }
  if (st->remote_name && st->output) {
    fprintf(stderr, "guise: -o and --remote-name-all cannot be used together\n");
    return EXIT_USAGE;
  }
  return CLI_NEXT;
}

int cmd_fetch(int argc, char **argv) {
  /* A peer that closes while a body goes out (a server's 413 before the rest of
   * an upload) makes a write fail (EPIPE): an error for the request, not
   * SIGPIPE's end of the process (libuv writes without MSG_NOSIGNAL; curl ignores
   * it too). */
  signal(SIGPIPE, SIG_IGN);
  const char *resolve[FETCH_MAX_RESOLVE];
  const char *urls[FETCH_MAX_URLS], *outputs[FETCH_MAX_URLS];
  static const char *xurls[FETCH_MAX_URLS], *xouts[FETCH_MAX_URLS]; /* after globbing */
  cli_settings st;
  cli_settings_init(&st, &cli_fetch_command);
  st.resolve = resolve;
  st.max_resolve = FETCH_MAX_RESOLVE;
  st.operands = urls;
  st.max_operands = FETCH_MAX_URLS;
  st.outputs = outputs;
  st.max_outputs = FETCH_MAX_URLS;
  guise_file *out_file = NULL; /* -o: a temp file until every transfer succeeded */
  fetch_one *ones = NULL;
  size_t n_urls = 0;
  int rc = cli_parse(&cli_fetch_command, &st, argc, argv);
  if (rc != CLI_NEXT) goto out;
  if (st.stderr_to) {
    /* --stderr FILE: messages there from now on ('-': stdout), as curl. */
    FILE *to = strcmp(st.stderr_to, "-") == 0 ? NULL : fopen(st.stderr_to, "w");
    if ((to == NULL && strcmp(st.stderr_to, "-") != 0) || dup2(to ? fileno(to) : STDOUT_FILENO, STDERR_FILENO) < 0) {
      fprintf(stderr, "guise: --stderr %s: %s\n", st.stderr_to, strerror(errno));
      if (to) fclose(to);
      rc = EXIT_USAGE;
      goto out;
    }
    if (to) fclose(to); /* fd 2 is the file now */
  }
  rc = EXIT_USAGE;
  if (!st.globoff) {
    rc = fetch_glob_expand(&st, xurls, xouts, FETCH_MAX_URLS);
    if (rc != CLI_NEXT) goto out;
    rc = EXIT_USAGE;
  }
  n_urls = st.n_operands;
  if (n_urls == 0) {
    cli_usage(&cli_fetch_command, stderr);
    goto out;
  }
  fetch_state f = {.out = stdout,
                   .include = st.include,
                   .head_only = st.head_only,
                   .verbose = st.verbose,
                   .silent = st.silent,
                   .show_errors = !st.silent || st.show_error,
                   .fail = st.fail,
                   .fail_with_body = st.fail_with_body,
                   .write_out = st.write_out,
                   .remote_name = st.remote_name,
                   .remote_header_name = st.remote_header_name,
                   .progress_bar = st.progress_bar,
                   .retry = st.retry,
                   .retry_connrefused = st.retry_connrefused};
  rc = check_own_options(&st, &f);
  if (rc != CLI_NEXT) goto out;
  if (st.write_out && st.write_out[0] == '@') {
    rc = write_out_file(&st, &f);
    if (rc != CLI_NEXT) goto out;
  }
  rc = EXIT_USAGE;
  /* The command line: the request's options, the client's, the command's own. */
  guise_request_options o;
  guise_request_options_init(&o);
  o.method = st.method;
  o.body = st.body;
  o.body_len = st.body_len;
  o.has_body = st.has_body;
  o.kind = st.kind;
  o.referer = st.referer;
  /* -d, --data-*, --json, -F, -T, -G: the body, its Content-Type (unless -H
   * gave one), the URLs -G and -T change (fetch_body.c). */
  rc = fetch_body_prepare(&st, &o);
  if (rc != CLI_NEXT) goto out;
  rc = EXIT_USAGE;
  /* -A and -u: fields of their own, unless -H gave them (-H wins, as in
   * curl); -A takes the place of the profile's user-agent (the library
   * replaces a field of the same name in place), -A "" removes it. */
  char authorization[1024], bearer[720], range_field[220];
  {
    int has_ua = 0, has_auth = 0;
    for (size_t i = 0; i < st.n_headers; i++) {
      has_ua |= !strcasecmp(st.headers[i].name, "user-agent");
      has_auth |= !strcasecmp(st.headers[i].name, "authorization");
    }
    int has_range = 0;
    for (size_t i = 0; i < st.n_headers; i++) has_range |= !strcasecmp(st.headers[i].name, "range");
    if (st.range && !has_range) {
      /* -r: curl's RANGE, as bytes=RANGE ("0-99", "100-", "-500", "0-1,5-9"). */
      if (st.range[0] == '\0' || strspn(st.range, "0123456789-,") != strlen(st.range) || strlen(st.range) > 200) {
        usage_error("-r", st.range, "expected a byte range: 0-99, 100-, -500 (digits, '-' and ',')");
        goto out;
      }
      if (f.resume) {
        fprintf(stderr, "guise: -r and -C cannot be used together\n");
        goto out;
      }
      snprintf(range_field, sizeof(range_field), "bytes=%s", st.range);
      if (st.n_headers < CLI_MAX_HEADERS) st.headers[st.n_headers++] = (guise_header){"Range", range_field};
    }
    if (st.oauth2_bearer && !has_auth && st.n_headers < CLI_MAX_HEADERS) {
      if (strlen(st.oauth2_bearer) > 700 || strpbrk(st.oauth2_bearer, "\r\n")) {
        usage_error("--oauth2-bearer", "...", "longer than 700 bytes or has a line break");
        goto out;
      }
      snprintf(bearer, sizeof(bearer), "Bearer %s", st.oauth2_bearer);
      st.headers[st.n_headers++] = (guise_header){"Authorization", bearer};
      has_auth = 1;
    }
    if (st.user_agent && !has_ua && st.n_headers < CLI_MAX_HEADERS)
      st.headers[st.n_headers++] = (guise_header){"User-Agent", st.user_agent};
    if (st.user && !has_auth && st.n_headers < CLI_MAX_HEADERS) {
      if (strlen(st.user) > 700) {
        usage_error("-u", "...", "longer than 700 bytes");
        goto out;
      }
      basic_credentials(st.user, authorization, sizeof(authorization));
      st.headers[st.n_headers++] = (guise_header){"Authorization", authorization};
    }
  }
  o.insecure = st.insecure;
  o.cafile = st.cafile;
  o.http_version = st.http_version;
  o.proxy = st.proxy;
  o.dns_servers = st.dns_servers;
  o.connect_timeout_ms = st.connect_timeout_ms;
  o.max_time_ms = st.max_time_ms;
  o.profile = st.profile;
  o.raw = st.raw;
  o.follow_redirects = st.follow_redirects;
  o.max_redirects = st.max_redirects;
  /* --max-filesize: also the decoded body's cap, for a body of no announced length. */
  if (f.max_filesize) o.max_body = f.max_filesize;
  guise_client_options co;
  guise_client_options_init(&co);
  co.proxy_insecure = st.proxy_insecure;
  co.proxy_cafile = st.proxy_cafile;
  co.cookie_file = st.cookie_file;
  co.cookies = st.cookies;
  const char *output = st.output, *cookie_jar_out = st.cookie_jar, *noproxy = st.noproxy;
  /* Several -o, or several URLs: each URL its own -o file, in order (URLs
   * past the last -o: stdout), made at the answer, as curl pairs them. One
   * URL and one -o: the temp file below, renamed at success. */
  int per_url = st.n_outputs > 1 || (st.n_outputs == 1 && st.n_operands > 1);
  if (per_url) output = NULL;
  if (output && strcmp(output, "-") == 0) output = NULL; /* -o -: standard output, as curl */
  char placed_output[4096];
  if (output && st.output_dir && output[0] != '/') {
    if ((size_t)snprintf(placed_output, sizeof(placed_output), "%s/%s", st.output_dir, output) >= sizeof(placed_output)) {
      usage_error("--output-dir", st.output_dir, "the file name is too long");
      goto out;
    }
    output = placed_output;
  }
  f.output_name = output;
  f.create_dirs = st.create_dirs;
  f.output_dir = st.output_dir;
  f.retry_all = st.retry_all_errors;
  f.no_buffer = st.no_buffer;
  f.proto_redir = st.proto_redir ? proto_allowed(st.proto_redir) : 3;
  const guise_header *headers = st.headers;
  size_t n_headers = st.n_headers;
  const char **resolve_list = st.resolve;
  size_t n_resolve = st.n_resolve;
  int parallel = st.parallel, no_keepalive = st.no_keepalive;
  /* The meter: for bodies that go to files, on a terminal, not with -s (curl
   * draws it whenever the body does not go to the terminal; guise only where
   * someone can see it). */
  f.progress = !st.silent && !st.no_progress_meter && isatty(STDERR_FILENO) && (output || per_url || st.remote_name || st.n_outputs);
  if (st.dump_header) {
    f.dump = strcmp(st.dump_header, "-") == 0 ? stdout : fopen(st.dump_header, "wb");
    if (f.dump == NULL) {
      if (f.show_errors) fprintf(stderr, "guise: (23) -D %s: %s\n", st.dump_header, strerror(errno));
      rc = 23;
      goto out;
    }
  }
  if (st.trace_ascii) {
    f.trace = strcmp(st.trace_ascii, "-") == 0 ? stdout : fopen(st.trace_ascii, "wb");
    if (f.trace == NULL) {
      if (f.show_errors) fprintf(stderr, "guise: (23) --trace-ascii %s: %s\n", st.trace_ascii, strerror(errno));
      rc = 23;
      goto out;
    }
  }
  f.follow = st.follow_redirects;
  f.parallel = st.parallel;
  o.on_request_sent = on_request_sent;
  o.on_response_head = on_response_head;
  if (output && f.resume) {
    /* -C: FILE is appended to, in place (a temp file cannot resume). */
    if (st.create_dirs && fetch_make_dirs(output) != 0) {
      if (f.show_errors) fprintf(stderr, "guise: (23) --create-dirs %s: %s\n", output, strerror(errno));
      rc = 23;
      goto out;
    }
    f.out = NULL;
  } else if (output) {
    if (st.create_dirs && fetch_make_dirs(output) != 0) {
      if (f.show_errors) fprintf(stderr, "guise: (23) --create-dirs %s: %s\n", output, strerror(errno));
      rc = 23;
      goto out;
    }
    /* Not FILE itself: a temp file beside it, renamed over it at success, so a
     * failed request leaves the old FILE as it was (docs/CLI.md). */
    /* A folder we may not write (the temp file): FILE itself, in place, as curl. */
    f.out = guise_file_open(output, 0666, GUISE_FILE_SYNC | GUISE_FILE_IN_PLACE, &out_file) == 0
                ? guise_file_stream(out_file)
                : NULL;
    if (f.out && f.verbose && guise_file_in_place(out_file))
      fprintf(stderr, "* -o: no temp file can be made in the folder; writing the file in place\n");
    if (f.out == NULL) {
      if (f.show_errors) fprintf(stderr, "guise: (23) -o %s: %s\n", output, strerror(errno));
      rc = 23; /* curl's write error */
      goto out;
    }
  }
  if (o.profile == NULL) o.profile = guise_profile_default();
  if (strcmp(o.profile, "none") != 0) {
    char perr[1024];
    int pe = guise_profile_check_syntax(o.profile, perr, sizeof(perr));
    if (pe) {
      if (f.show_errors) fprintf(stderr, "guise: %s\n", perr);
      fetch_outcome oc = {pe, 0, 0, 0};
      rc = fetch_exit_status(&oc);
      goto out;
    }
  }
  o.headers = headers;
  o.n_headers = n_headers;
  /* -n: $HOME/.netrc; --netrc-file FILE */
  char netrc_buf[4096];
  const char *netrc_path = st.netrc_file;
  if (netrc_path == NULL && st.netrc && getenv("HOME")) {
    snprintf(netrc_buf, sizeof(netrc_buf), "%s/.netrc", getenv("HOME"));
    netrc_path = netrc_buf;
  }
  int has_authorization = 0;
  for (size_t i = 0; i < n_headers; i++) has_authorization |= !strcasecmp(headers[i].name, "authorization");
  int explicit_proxy = o.proxy != NULL;
  /* --proxy-user: the credentials go into the proxy URL (the library's one
   * place for them), for -x and for a proxy from the environment alike. */
  char proxy_buf[4096];
  if (explicit_proxy && st.proxy_user) o.proxy = proxy_with_user(o.proxy, st.proxy_user, proxy_buf, sizeof(proxy_buf));
  f.proxy_kind = fetch_proxy_kind(o.proxy);
  /* -x is the client's proxy (guise_client_new checks it, and a bad one is
   * then named as the proxy's fault, not the URL's); requests take it. */
  co.proxy = o.proxy;
  o.proxy = NULL;
  /* Connection settings belong to the client; the rest to each request. */
  co.resolve = resolve_list;
  co.n_resolve = n_resolve;
  co.dns_servers = o.dns_servers;
  co.no_reuse = no_keepalive;
  co.on_cookie_warning = cookie_warning;
  co.cookie_warning_arg = &f;
  /* The library's other warnings (a profile's coherence, ...) on stderr (main.c). */
  cli_log log_to = {.silent = st.silent, .verbose = st.verbose, .skip_cookies = 1};
  co.log = cli_log_stderr;
  co.log_arg = &log_to;
  o.dns_servers = NULL;
  int net_rc = fetch_net_apply(&st, &co, o.profile, f.show_errors); /* -4, --cert, --tlsv1.2, ... */
  if (net_rc) {
    rc = net_rc;
    goto out;
  }
  uv_loop_t loop;
  guise_client *cl = NULL;
  if (uv_loop_init(&loop) != 0) goto out;
  f.loop = &loop;
  int e = guise_client_new((struct uv_loop_s *)&loop, &co, &cl);
  ones = e ? NULL : calloc(n_urls, sizeof(*ones));
  if (e || ones == NULL) {
    int proxy_rc = e ? explain_client_error(&co, e, f.show_errors) : 0;
    if (!e && f.show_errors)
      fprintf(stderr, "guise: %s (%s)\n", guise_strerror(GUISE_E_NOMEM), guise_err_name(GUISE_E_NOMEM));
    fetch_outcome oc = {e ? e : GUISE_E_NOMEM, 0, 0, f.proxy_kind};
    rc = proxy_rc ? proxy_rc : fetch_exit_status(&oc);
    guise_client_close(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    goto out;
  }
  f.cl = cl;
  f.cb = (guise_callbacks){on_headers, f.head_only ? NULL : on_body, on_complete};
  char (*env_proxy)[4096] = st.proxy_user && !explicit_proxy ? calloc(n_urls, sizeof(*env_proxy)) : NULL;
  for (size_t i = 0; i < n_urls; i++) {
    fetch_one *one = &ones[i];
    one->f = &f;
    one->url = st.operands[i];
    one->o = o;
    one->o.url = st.operands[i];
    fetch_body_for_url(&st, &one->o, i);
    one->out = f.out;
    one->proxy_kind = f.proxy_kind;
    if (!explicit_proxy) {
      one->o.proxy = cli_proxy_from_env(st.operands[i], noproxy);
      if (one->o.proxy && env_proxy) one->o.proxy = proxy_with_user(one->o.proxy, st.proxy_user, env_proxy[i], sizeof(env_proxy[i]));
      one->proxy_kind = fetch_proxy_kind(one->o.proxy);
    }
    if (proto_refused(st.proto, st.operands[i], one)) continue;
    /* Where the body goes: -O a file named from the URL (-J: from the answer,
     * made then), -o with -C the file itself, appended to. */
    one->remote = f.remote_name || (i < st.n_outputs && st.outputs[i] == cli_remote_name);
    if (per_url && i < st.n_outputs && strcmp(st.outputs[i], "-") != 0 && !one->remote) {
      one->named = 1;
      snprintf(one->path, sizeof(one->path), "%s", st.outputs[i]);
    }
    int own_file = one->remote || (output && f.resume) || one->named;
    if (one->remote && fetch_remote_name(st.operands[i], one->path, sizeof(one->path)) != 0 && !f.remote_header_name) {
      one->fail = FETCH_FAIL_WRITE;
      snprintf(one->message, sizeof(one->message), "-O: the URL has no file name (no request sent)");
    } else if (output && f.resume) {
      snprintf(one->path, sizeof(one->path), "%.4095s", output);
      one->placed = 1; /* --output-dir is in |output| already */
    }
    if (one->fail == 0 && own_file && f.resume) {
      struct stat sb;
      one->offset = strcmp(st.continue_at, "-") == 0 ? (stat(one->path, &sb) == 0 ? (unsigned long long)sb.st_size : 0)
                                                      : f.resume_at;
      if (open_own(one, 0) != 0) one->fail = FETCH_FAIL_WRITE;
    } else if (!own_file && f.resume && strcmp(st.continue_at, "-") != 0) {
      one->offset = f.resume_at; /* -C N to stdout: from N on, as curl */
    }
    if (one->fail) {
      one->done = 1;
      fetch_outcome oc = {0, one->fail, 0, one->proxy_kind};
      one->exit = fetch_exit_status(&oc);
      if (f.show_errors) {
        fprintf(stderr, "guise: (%d) ", one->exit);
        put_remote(stderr, one->message);
        fputc('\n', stderr);
      }
      continue;
    }
    if ((one->remote || one->named) && !f.resume) one->out = NULL; /* made at the answer */
    /* -C: the rest of the file (RFC 9110 14.1.2). */
    one->headers = calloc(n_headers + 2, sizeof(*one->headers));
    if (one->headers == NULL) {
      one->done = 1;
      one->err = GUISE_E_NOMEM;
      one->exit = 27;
      continue;
    }
    memcpy(one->headers, headers, n_headers * sizeof(*headers));
    one->o.headers = one->headers;
    one->o.n_headers = n_headers;
    if (netrc_path && !has_authorization) {
      /* -n, --netrc-file: the host's login, unless -u, -H, --oauth2-bearer
       * or the URL itself gives credentials. */
      char host[256], userpass[600], why[600];
      int nr = fetch_url_host(one->url, host, sizeof(host)) == 0
                   ? fetch_netrc_lookup(netrc_path, host, userpass, sizeof(userpass), why, sizeof(why))
                   : 0;
      if (nr < 0) { /* curl's .netrc parser error: 26 */
        if (f.show_errors) fprintf(stderr, "guise: (26) .netrc: %s\n", why);
        one->done = 1;
        one->exit = 26;
        continue;
      }
      if (nr && (one->auth = malloc(720)) != NULL) {
        basic_credentials(userpass, one->auth, 720);
        one->headers[one->o.n_headers++] = (guise_header){"Authorization", one->auth};
      }
    }
    if (one->offset) {
      snprintf(one->range, sizeof(one->range), "bytes=%llu-", one->offset);
      one->headers[one->o.n_headers++] = (guise_header){"Range", one->range};
    }
    /* --parallel-max N: the (i-N)th is over before the ith starts. */
    if (parallel && st.parallel_max && i >= st.parallel_max) run_until_done(&loop, &ones[i - st.parallel_max], 1);
    start_attempt(one);
    /* Until the request is over — not until the loop is idle: a connection still
     * being made that no request waits for any more (the request hit --max-time
     * first) would keep the command waiting until its connect timeout. */
    if (!parallel) run_until_done(&loop, one, 1);
    /* --fail-early: the URLs after a failed one are not asked for. */
    if (!parallel && st.fail_early && one->exit) {
      n_urls = i + 1;
      break;
    }
  }
  run_until_done(&loop, ones, n_urls);
  int last_exit = 0;
  if (cookie_jar_out && guise_client_save_cookies(cl, cookie_jar_out) != 0) {
    if (f.show_errors) fprintf(stderr, "guise: -c %s: %s\n", cookie_jar_out, strerror(errno));
    last_exit = EXIT_USAGE;
  }
  for (size_t i = 0; i < n_urls; i++)
    if (ones[i].timer_made) uv_close((uv_handle_t *)&ones[i].timer, NULL);
  guise_client_close(cl);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(env_proxy);
  /* curl's rule (curl(1), --fail-early): one URL after the other, the last
   * URL's status ("the last URL's success will determine the error code");
   * with -Z, the last one that failed. */
  int all_ok = 1;
  for (size_t i = 0; i < n_urls; i++) {
    if (ones[i].exit) all_ok = 0;
    if (ones[i].exit && (parallel || i + 1 == n_urls)) last_exit = ones[i].exit;
    if (ones[i].own) fclose(ones[i].own);
    free(ones[i].headers);
    write_out_heads_free(&ones[i].heads);
    free(ones[i].auth);
  }
  if (output && out_file && all_ok) {
    int ce = guise_file_commit(out_file); /* frees it either way */
    out_file = NULL;
    if (ce != 0) {
      if (f.show_errors) fprintf(stderr, "guise: (23) -o %s: %s\n", output, strerror(errno));
      last_exit = 23;
    }
  }
  if (f.dump && f.dump != stdout && fclose(f.dump) != 0 && last_exit == 0) last_exit = 23;
  f.dump = NULL;
  if (f.trace && f.trace != stdout && fclose(f.trace) != 0 && last_exit == 0) last_exit = 23;
  f.trace = NULL;
  rc = last_exit;
out:
  free(ones);
  guise_file_abort(out_file); /* not committed: the temp file goes, FILE stays */
  cli_settings_free(&st);
  return rc;
}
