/* _guise.c — the CPython extension under the `guise` package: an Engine runs a
 * libuv loop with one guise_client in a thread of its own; Python threads hand it
 * requests and take back results. The loop thread never touches a Python object and
 * never takes the GIL:
 *   - a request is copied into a C struct (struct preq) by submit(), queued under
 *     the engine's mutex, and the loop is woken with uv_async_send;
 *   - the loop thread starts it with guise_client_request and gathers the head,
 *     the body and the info into the struct;
 *   - when it ends, a waiting Python thread (wait(): GIL released) is woken through a
 *     condition variable, and an asyncio loop through an eventfd it watches
 *     (fileno(), drain()): one write wakes it for any number of results;
 *   - a streamed request (Client.stream) hands its head and body pieces over as they
 *     come (stream_head(), stream_take()): up to 1 MiB in memory, the backlog past it
 *     in an unlinked spill file, so the loop thread never waits for a reader;
 *   - guise.batch drives guise_batch_* (Batch), which is its iterator: next()
 *     feeds the jobs (read from Python, submitted in groups with the GIL released)
 *     and gives the records the workers queued as dicts, read from their JSON text
 *     by a bounded reader here (json.loads where that reader gives up).
 * Python objects are made from the struct in the Python thread. Called by the guise
 * package (guise/__init__.py, guise/scrapy.py); calls only the public libguise API
 * (guise.h), libuv and CPython. docs/PYTHON.md. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "guise.h"

/* Caps of what one response may hold here beyond the library's own: header bytes
 * (names and values together). The body is capped by max_body (library). */
#define PY_MAX_HEADER_BYTES (1u << 20)

/* A streamed body (Client.stream): at most this many bytes wait in memory for the
 * reader; past it, until the reader has caught up, the loop thread appends them to
 * an unlinked temporary file (the library cannot pause a response yet, and the loop
 * thread must not block: it serves every other request of the client). One read
 * from that file gives at most PY_STREAM_READ bytes. */
#define PY_STREAM_MEM_CAP ((size_t)1 << 20)
#define PY_STREAM_READ ((size_t)1 << 20)
/* A streamed body without max_body: no cap of the library's (1 GiB otherwise). */
#define PY_STREAM_MAX_BODY (1ull << 50)

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;

static int buf_put(buf *b, const void *data, size_t n, size_t limit) {
  if (n > limit - b->len) return -1;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n) cap = cap > limit / 2 ? limit : cap * 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}


/* One request and, once it ended, its result. Owned by the engine's lists until the
 * Python side takes it (wait/drain), then by that side. */
struct Engine;

typedef struct preq {
  struct preq *next;              /* inbox or outbox */
  struct preq *live_prev, *live_next; /* the engine's list of every request not yet taken */
  struct Engine *engine;
  unsigned long long token;       /* what Python holds: a number, never the address */
  int is_async;   /* 1: queued for drain(); 0: a thread waits in wait() */
  atomic_int abandoned; /* nobody waits any more (Ctrl-C, a cancelled task): the
                           callbacks stop it, finish() frees it */
  int done;
  int waited;     /* a thread waits for it in wait() */
  /* The request (copies). */
  guise_request_options o;
  char *strings;        /* every string of |o| and the headers, one block */
  guise_header *hdrs;
  const char **resolve;
  unsigned char *body;
  /* The result. */
  int err, status;
  buf head;             /* name\0value\0 ... */
  size_t n_head;
  buf bodyout;
  unsigned long long body_limit;
  char *info_text;      /* http_version\0alpn\0tls_version\0cipher\0group\0remote\0local\0effective_url\0error_detail\0 */
  double dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms;
  int reused;
  unsigned long long wire_body_bytes;
  size_t n_redirects;
  char *redirects;      /* url\0 ... */
  int *redirect_statuses;
  /* A streamed body (streaming): what the reader has not taken yet, under the
   * engine's mutex; first |sbuf|, then the spill file's [s_roff, s_woff). */
  int streaming;
  int have_head;        /* on_headers ran: status and head may be read */
  buf sbuf;
  int sfd;              /* the spill file, or -1 */
  unsigned long long s_roff, s_woff;
  unsigned long long s_total; /* bytes the body brought */
  int spill_errno;      /* the spill file could not be made or written */
  char *spill_dir;      /* TMPDIR when the request was submitted (getenv is not
                           for the loop thread: Python may setenv meanwhile) */
} preq;

typedef struct Engine {
  PyObject_HEAD
  pthread_t thread;
  int started;
  uv_loop_t loop;
  uv_async_t wake;
  guise_client *client;
  int client_err;
  char client_detail[256];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  preq *inbox, *inbox_tail;  /* to be started by the loop */
  preq *outbox, *outbox_tail; /* ended async requests, for drain() */
  preq *live;                /* every request submitted and not yet taken or freed */
  int thread_running, joining, joined; /* the loop thread, and who joins it */
  size_t in_flight;
  int efd, have_efd;
  int closing;  /* close() asked */
  int closed;   /* the loop thread ended */
  unsigned long long next_token;
  /* Client options (copies, valid for the engine's life). */
  guise_client_options co;
  char *opt_strings;
  const char **opt_resolve;
} Engine;

static void preq_free(preq *r) {
  if (r == NULL) return;
  free(r->strings);
  free(r->hdrs);
  free(r->resolve);
  free(r->body);
  free(r->head.p);
  free(r->bodyout.p);
  free(r->info_text);
  free(r->redirects);
  free(r->redirect_statuses);
  free(r->sbuf.p);
  free(r->spill_dir);
  if (r->streaming && r->sfd >= 0) close(r->sfd);
  free(r);
}

/* The live list (e->mu held): every request from submit() until wait() or drain()
 * takes it or finish() frees an abandoned one; tokens are looked up here. */
static void live_link(struct Engine *e, preq *r);
static void live_unlink(struct Engine *e, preq *r);
static preq *live_find(struct Engine *e, unsigned long long token);

/* ---- The loop thread ---------------------------------------------------------------- */

static void finish(Engine *e, preq *r) {
  pthread_mutex_lock(&e->mu);
  e->in_flight--;
  r->done = 1;
  if (atomic_load(&r->abandoned)) {
    live_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    preq_free(r);
    return;
  }
  if (r->is_async && r->streaming) {
    uint64_t one = 1;
    ssize_t w = write(e->efd, &one, sizeof(one));
    (void)w;
  } else if (r->is_async) {
    r->next = NULL;
    if (e->outbox_tail) e->outbox_tail->next = r;
    else e->outbox = r;
    e->outbox_tail = r;
    uint64_t one = 1;
    ssize_t w = write(e->efd, &one, sizeof(one)); /* an eventfd write cannot block here */
    (void)w;
  }
  pthread_mutex_unlock(&e->mu);
  /* After the unlock: a waiter woken while the mutex is held would block on it at
   * once, then be woken again (two more switches per request on one core). The
   * waiters read |done| under the mutex, so none misses this. */
  pthread_cond_broadcast(&e->cv);
}

static int on_headers(void *ud, int status, const guise_header *h, size_t n) {
  preq *r = ud;
  if (atomic_load(&r->abandoned)) return 1;
  r->head.len = 0;
  r->n_head = 0;
  for (size_t i = 0; i < n; i++) {
    if (buf_put(&r->head, h[i].name, strlen(h[i].name) + 1, PY_MAX_HEADER_BYTES) ||
        buf_put(&r->head, h[i].value, strlen(h[i].value) + 1, PY_MAX_HEADER_BYTES))
      return 1;
    r->n_head++;
  }
  r->status = status;
  if (r->streaming) {
    Engine *e = r->engine;
    pthread_mutex_lock(&e->mu);
    r->have_head = 1;
    pthread_cond_broadcast(&e->cv);
    if (r->is_async) {
      uint64_t one = 1;
      ssize_t w = write(e->efd, &one, sizeof(one));
      (void)w;
    }
    pthread_mutex_unlock(&e->mu);
  }
  return 0;
}

/* The spill file of a streamed body: unlinked from the start (O_TMPFILE, else
 * mkstemp and unlink), in |dir| (TMPDIR) or /tmp. -1 with errno on failure. */
static int spill_open(const char *dir) {
  if (dir == NULL || *dir == '\0') dir = "/tmp";
  int fd;
#ifdef O_TMPFILE
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
#endif
  char path[4096];
  if ((size_t)snprintf(path, sizeof(path), "%s/guise-stream-XXXXXX", dir) >= sizeof(path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkstemp(path);
  if (fd >= 0) {
    unlink(path);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
}

/* A piece of a streamed body (loop thread): into memory while the reader keeps up,
 * else appended to the spill file; the reader is woken. Never blocks on the reader. */
static int stream_body(preq *r, const unsigned char *data, size_t len) {
  Engine *e = r->engine;
  int rc = 0;
  pthread_mutex_lock(&e->mu);
  if (atomic_load(&r->abandoned)) {
    rc = 1;
  } else if (r->s_woff == r->s_roff && r->sbuf.len + len <= PY_STREAM_MEM_CAP) {
    rc = buf_put(&r->sbuf, data, len, PY_STREAM_MEM_CAP) ? 1 : 0;
    if (rc) r->spill_errno = ENOMEM;
  } else {
    if (r->sfd < 0 && (r->sfd = spill_open(r->spill_dir)) < 0) {
      r->spill_errno = errno;
      rc = 1;
    }
    for (size_t done = 0; rc == 0 && done < len;) {
      ssize_t w = pwrite(r->sfd, data + done, len - done, (off_t)r->s_woff);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        r->spill_errno = w < 0 ? errno : EIO;
        rc = 1;
        break;
      }
      done += (size_t)w;
      r->s_woff += (unsigned long long)w;
    }
  }
  if (rc == 0) r->s_total += len;
  pthread_cond_broadcast(&e->cv);
  if (r->is_async) {
    uint64_t one = 1;
    ssize_t w = write(e->efd, &one, sizeof(one));
    (void)w;
  }
  pthread_mutex_unlock(&e->mu);
  return rc;
}

static int on_body(void *ud, const unsigned char *data, size_t len) {
  preq *r = ud;
  if (r->streaming) return stream_body(r, data, len);
  if (atomic_load(&r->abandoned)) return 1;
  return buf_put(&r->bodyout, data, len, (size_t)r->body_limit) ? 1 : 0;
}

static void on_complete(void *ud, int err, const guise_response_info *info) {
  preq *r = ud;
  Engine *e = r->engine;
  r->err = err;
  if (info) {
    r->status = info->status;
    const char *parts[] = {info->http_version, info->alpn, info->tls_version, info->tls_cipher,
                           info->tls_group, info->remote, info->local, info->effective_url,
                           info->error_detail};
    buf t = {0};
    int ok = 1;
    for (size_t i = 0; ok && i < sizeof(parts) / sizeof(parts[0]); i++) {
      const char *s = parts[i] ? parts[i] : "";
      ok = buf_put(&t, s, strlen(s) + 1, (size_t)1 << 20) == 0;
    }
    if (ok) {
      r->info_text = t.p;
    } else { /* out of memory, or a detail past 1 MiB: no info rather than part of it */
      free(t.p);
      if (err == 0) r->err = GUISE_E_NOMEM;
    }
    r->dns_ms = info->dns_ms;
    r->connect_ms = info->connect_ms;
    r->tls_ms = info->tls_ms;
    r->ttfb_ms = info->ttfb_ms;
    r->total_ms = info->total_ms;
    r->reused = info->reused;
    r->wire_body_bytes = info->wire_body_bytes;
    if (info->n_redirects > 0) {
      buf u = {0};
      size_t kept = 0;
      r->redirect_statuses = calloc(info->n_redirects, sizeof(int));
      for (size_t i = 0; r->redirect_statuses && i < info->n_redirects; i++) {
        if (buf_put(&u, info->redirect_urls[i], strlen(info->redirect_urls[i]) + 1, (size_t)1 << 24))
          break;
        r->redirect_statuses[i] = info->redirect_statuses[i];
        kept++;
      }
      r->redirects = u.p;
      r->n_redirects = u.p ? kept : 0; /* the hops stored whole */
    }
  }
  finish(e, r);
}

static void start(Engine *e, preq *r) {
  static const guise_callbacks cb = {on_headers, on_body, on_complete};
  int err = e->client ? guise_client_request(e->client, &r->o, &cb, r) : GUISE_E_CANCELLED;
  if (err) {
    r->err = err;
    finish(e, r);
  }
}

static void on_wake(uv_async_t *h) {
  Engine *e = h->data;
  pthread_mutex_lock(&e->mu);
  preq *list = e->inbox;
  e->inbox = e->inbox_tail = NULL;
  int closing = e->closing;
  pthread_mutex_unlock(&e->mu);
  while (list) {
    preq *r = list;
    list = r->next;
    start(e, r);
  }
  if (closing && e->client) {
    guise_client_close(e->client); /* ends every request (CANCELLED) */
    e->client = NULL;
    uv_close((uv_handle_t *)&e->wake, NULL);
  }
}

static void *loop_main(void *arg) {
  Engine *e = arg;
  uv_run(&e->loop, UV_RUN_DEFAULT);
  /* Requests queued after the close was seen end here. */
  pthread_mutex_lock(&e->mu);
  preq *list = e->inbox;
  e->inbox = e->inbox_tail = NULL;
  pthread_mutex_unlock(&e->mu);
  while (list) {
    preq *r = list;
    list = r->next;
    r->err = GUISE_E_CANCELLED;
    finish(e, r);
  }
  uv_loop_close(&e->loop);
  pthread_mutex_lock(&e->mu);
  e->closed = 1;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

/* ---- Python: Engine ------------------------------------------------------------------ */

static PyObject *GuiseErrorBase; /* _guise.Error(code, name, error_class, detail) */

static PyObject *raise_code(int code, const char *detail) {
  PyObject *args = Py_BuildValue("(isss)", code, guise_err_name(code), guise_err_class(code),
                                 detail && *detail ? detail : guise_strerror(code));
  if (args) {
    PyErr_SetObject(GuiseErrorBase, args);
    Py_DECREF(args);
  }
  return NULL;
}

/* Strings of a kwargs-free option list: str or None. */
static int opt_str(PyObject *o, const char *what, const char **out) {
  if (o == NULL || o == Py_None) {
    *out = NULL;
    return 0;
  }
  if (!PyUnicode_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be a str or None", what);
    return -1;
  }
  Py_ssize_t n;
  *out = PyUnicode_AsUTF8AndSize(o, &n);
  if (*out == NULL) return -1;
  if ((size_t)n != strlen(*out)) {
    PyErr_Format(PyExc_ValueError, "%s contains a NUL character", what);
    return -1;
  }
  return 0;
}

/* Copies |n| strings and a list of |nl| more into one malloc'd block: |*dst[i]|
 * and |list_out[j]| point into it (NULL stays NULL). */
static char *pack_strings(const char **src, const char ***dst, size_t n, const char **list,
                          const char **list_out, size_t nl) {
  size_t total = 1;
  for (size_t i = 0; i < n + nl; i++) {
    const char *v = i < n ? src[i] : list[i - n];
    if (v) total += strlen(v) + 1;
  }
  char *block = malloc(total), *p = block;
  if (block == NULL) return NULL;
  for (size_t i = 0; i < n + nl; i++) {
    const char *v = i < n ? src[i] : list[i - n];
    const char **to = i < n ? dst[i] : &list_out[i - n];
    if (v == NULL) {
      *to = NULL;
      continue;
    }
    size_t l = strlen(v) + 1;
    memcpy(p, v, l);
    *to = p;
    p += l;
  }
  return block;
}

/* A sequence of str -> an array of C strings valid while |seq_fast| lives. */
static int str_list(PyObject *o, const char *what, PyObject **seq_fast, const char ***out, size_t *n) {
  *seq_fast = NULL;
  *out = NULL;
  *n = 0;
  if (o == NULL || o == Py_None) return 0;
  *seq_fast = PySequence_Fast(o, what);
  if (*seq_fast == NULL) return -1;
  Py_ssize_t len = PySequence_Fast_GET_SIZE(*seq_fast);
  *out = calloc(len ? (size_t)len : 1, sizeof(char *));
  if (*out == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < len; i++)
    if (opt_str(PySequence_Fast_GET_ITEM(*seq_fast, i), what, &(*out)[i])) return -1;
  *n = (size_t)len;
  return 0;
}

static int Engine_init(Engine *e, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"profile", "proxy", "insecure", "cafile", "resolve", "dns_servers",
                           "connect_timeout_ms", "max_connections_per_origin", "cookies",
                           "cookie_file", "proxy_insecure", "proxy_cafile", "coalesce_ms", NULL};
  PyObject *profile = NULL, *proxy = NULL, *cafile = NULL, *resolve = NULL, *dns = NULL,
           *cookie_file = NULL, *proxy_cafile = NULL;
  int insecure = 0, cookies = 1, proxy_insecure = 0;
  unsigned connect_timeout_ms = 0, per_origin = 0, coalesce = 0;
  if (e->started) {
    PyErr_SetString(PyExc_RuntimeError, "Engine already initialised");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOpOOOIIpOpOI", kwlist, &profile, &proxy, &insecure,
                                   &cafile, &resolve, &dns, &connect_timeout_ms, &per_origin,
                                   &cookies, &cookie_file, &proxy_insecure, &proxy_cafile, &coalesce))
    return -1;
  const char *s[6];
  if (opt_str(profile, "profile", &s[0]) || opt_str(proxy, "proxy", &s[1]) ||
      opt_str(cafile, "cacert", &s[2]) || opt_str(dns, "dns_servers", &s[3]) ||
      opt_str(cookie_file, "cookie_file", &s[4]) || opt_str(proxy_cafile, "proxy_cacert", &s[5]))
    return -1;
  PyObject *rfast;
  const char **rv;
  size_t rn;
  if (str_list(resolve, "resolve", &rfast, &rv, &rn)) {
    Py_XDECREF(rfast);
    free(rv);
    return -1;
  }
  guise_client_options_init(&e->co);
  const char **dst[6] = {&e->co.profile, &e->co.proxy, &e->co.cafile, &e->co.dns_servers,
                         &e->co.cookie_file, &e->co.proxy_cafile};
  /* The resolve entries go into the same block, after the six options. */
  e->opt_resolve = calloc(rn ? rn : 1, sizeof(char *));
  e->opt_strings = e->opt_resolve ? pack_strings(s, dst, 6, rv, e->opt_resolve, rn) : NULL;
  Py_XDECREF(rfast);
  free(rv);
  if (e->opt_strings == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  e->co.resolve = e->opt_resolve;
  e->co.n_resolve = rn;
  e->co.insecure = insecure;
  e->co.connect_timeout_ms = connect_timeout_ms;
  e->co.max_connections_per_origin = per_origin;
  e->co.cookies = cookies;
  e->co.proxy_insecure = proxy_insecure;
  e->co.h2_coalesce_ms = coalesce;

  e->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (e->efd < 0) {
    PyErr_SetFromErrno(PyExc_OSError);
    return -1;
  }
  e->have_efd = 1;
  pthread_mutex_init(&e->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->cv, &ca);
  pthread_condattr_destroy(&ca);
  int rc = uv_loop_init(&e->loop);
  if (rc == 0) rc = uv_async_init(&e->loop, &e->wake, on_wake);
  if (rc) {
    PyErr_Format(PyExc_OSError, "libuv: %s", uv_strerror(rc));
    return -1;
  }
  e->wake.data = e;
  /* A profile name or file is checked now, not at the first request. */
  char perr[512] = "";
  if (e->co.profile && strcmp(e->co.profile, "none") != 0)
    e->client_err = guise_profile_check_syntax(e->co.profile, perr, sizeof(perr));
  if (e->client_err == 0) e->client_err = guise_client_new(&e->loop, &e->co, &e->client);
  if (e->client_err) {
    uv_close((uv_handle_t *)&e->wake, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    e->closed = 1;
    e->started = 1;
    raise_code(e->client_err, perr[0] ? perr : "the client could not be made (check "
                                               "profile, proxy, cacert, resolve and dns_servers)");
    return -1;
  }
  if (pthread_create(&e->thread, NULL, loop_main, e) != 0) {
    guise_client_close(e->client);
    e->client = NULL;
    uv_close((uv_handle_t *)&e->wake, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    e->closed = 1;
    e->started = 1;
    PyErr_SetString(PyExc_OSError, "cannot start the engine's thread");
    return -1;
  }
  e->thread_running = 1;
  e->started = 1;
  return 0;
}

static void live_link(Engine *e, preq *r) {
  r->live_prev = NULL;
  r->live_next = e->live;
  if (e->live) e->live->live_prev = r;
  e->live = r;
}

static void live_unlink(Engine *e, preq *r) {
  if (r->live_prev) r->live_prev->live_next = r->live_next;
  else if (e->live == r) e->live = r->live_next;
  if (r->live_next) r->live_next->live_prev = r->live_prev;
  r->live_prev = r->live_next = NULL;
}

static preq *live_find(Engine *e, unsigned long long token) {
  for (preq *r = e->live; r; r = r->live_next)
    if (r->token == token) return r;
  return NULL;
}

/* Asks the loop thread to stop and waits until it has (GIL released). Any number
 * of threads may call it at once: one joins the thread, the others wait for that. */
static void engine_close(Engine *e) {
  if (!e->started) return;
  pthread_mutex_lock(&e->mu);
  int first = !e->closing;
  e->closing = 1;
  int ask = first && !e->closed;
  int joiner = e->thread_running && !e->joining;
  if (joiner) e->joining = 1;
  pthread_mutex_unlock(&e->mu);
  if (ask) uv_async_send(&e->wake);
  Py_BEGIN_ALLOW_THREADS
  if (joiner) {
    pthread_join(e->thread, NULL);
    pthread_mutex_lock(&e->mu);
    e->joined = 1;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
  } else {
    pthread_mutex_lock(&e->mu);
    while (e->thread_running && !e->joined) pthread_cond_wait(&e->cv, &e->mu);
    pthread_mutex_unlock(&e->mu);
  }
  Py_END_ALLOW_THREADS
}

static PyObject *Engine_close(Engine *e, PyObject *unused) {
  engine_close(e);
  Py_RETURN_NONE;
}

static void Engine_dealloc(Engine *e) {
  /* A client dropped without close(): its requests end CANCELLED, the thread stops. */
  engine_close(e);
  if (e->started) {
    /* The thread has ended: every request has ended too. Those nobody took (in
     * the outbox, or a sync one whose waiter went away) are freed here. */
    preq *r = e->live;
    while (r) {
      preq *n = r->live_next;
      preq_free(r);
      r = n;
    }
    if (e->have_efd) close(e->efd);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
  }
  free(e->opt_strings);
  free(e->opt_resolve);
  Py_TYPE(e)->tp_free((PyObject *)e);
}

/* submit(method, url, headers, body, is_async, profile, proxy, insecure, cafile,
 *        http_version, follow_redirects, max_redirects, connect_timeout_ms,
 *        max_time_ms, max_body, resolve[, stream, kind, referer]) -> token
 * headers: a sequence of (name, value) str pairs, in order; body: bytes or None. */
static PyObject *Engine_submit(Engine *e, PyObject *args) {
  PyObject *method, *url, *headers, *body, *profile, *proxy, *cafile, *resolve;
  int is_async, insecure, http_version, follow;
  unsigned max_redirects, cto, mto;
  unsigned long long max_body;
  int streaming = 0;
  PyObject *kind = Py_None, *referer = Py_None;
  if (!PyArg_ParseTuple(args, "OOOOpOOpOipIIIKO|pOO", &method, &url, &headers, &body, &is_async,
                        &profile, &proxy, &insecure, &cafile, &http_version, &follow,
                        &max_redirects, &cto, &mto, &max_body, &resolve, &streaming, &kind, &referer))
    return NULL;
  if (!e->started || e->client_err) {
    PyErr_SetString(PyExc_RuntimeError, "the engine is not running");
    return NULL;
  }
  preq *r = calloc(1, sizeof(*r));
  if (r == NULL) return PyErr_NoMemory();
  r->sfd = -1;
  PyObject *hfast = NULL, *rfast = NULL;
  const char **rv = NULL;
  size_t rn = 0;
  const char **all = NULL;
  const char ***alldst = NULL;
  guise_request_options_init(&r->o);
  enum { NS = 7 }; /* the request's own strings, before the headers' */
  const char *s[NS];
  if (opt_str(method, "method", &s[0]) || opt_str(url, "url", &s[1]) ||
      opt_str(profile, "profile", &s[2]) || opt_str(proxy, "proxy", &s[3]) ||
      opt_str(cafile, "cacert", &s[4]) || opt_str(kind, "kind", &s[5]) || opt_str(referer, "referer", &s[6]))
    goto fail;
  if (s[1] == NULL) {
    PyErr_SetString(PyExc_TypeError, "url is required");
    goto fail;
  }
  hfast = PySequence_Fast(headers, "headers must be a sequence of (name, value) pairs");
  if (hfast == NULL) goto fail;
  Py_ssize_t nh = PySequence_Fast_GET_SIZE(hfast);
  if (str_list(resolve, "resolve", &rfast, &rv, &rn)) goto fail;
  size_t n = NS + 2 * (size_t)nh;
  all = calloc(n, sizeof(char *));
  alldst = calloc(n, sizeof(char **));
  r->hdrs = calloc(nh ? (size_t)nh : 1, sizeof(guise_header));
  r->resolve = calloc(rn ? rn : 1, sizeof(char *));
  if (all == NULL || alldst == NULL || r->hdrs == NULL || r->resolve == NULL) {
    PyErr_NoMemory();
    goto fail;
  }
  const char **od[NS] = {&r->o.method, &r->o.url,  &r->o.profile, &r->o.proxy,
                         &r->o.cafile, &r->o.kind, &r->o.referer};
  for (int i = 0; i < NS; i++) {
    all[i] = s[i];
    alldst[i] = od[i];
  }
  for (Py_ssize_t i = 0; i < nh; i++) {
    PyObject *pair = PySequence_Fast_GET_ITEM(hfast, i);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
      PyErr_SetString(PyExc_TypeError, "headers must be (name, value) pairs");
      goto fail;
    }
    if (opt_str(PyTuple_GET_ITEM(pair, 0), "a header name", &all[NS + 2 * i]) ||
        opt_str(PyTuple_GET_ITEM(pair, 1), "a header value", &all[NS + 2 * i + 1]))
      goto fail;
    if (all[NS + 2 * i] == NULL || all[NS + 2 * i + 1] == NULL) {
      PyErr_SetString(PyExc_TypeError, "a header name or value is None");
      goto fail;
    }
    alldst[NS + 2 * i] = &r->hdrs[i].name;
    alldst[NS + 2 * i + 1] = &r->hdrs[i].value;
  }
  r->strings = pack_strings(all, alldst, n, rv, r->resolve, rn);
  if (r->strings == NULL) {
    PyErr_NoMemory();
    goto fail;
  }
  if (body != Py_None) {
    Py_buffer view;
    if (PyObject_GetBuffer(body, &view, PyBUF_SIMPLE)) goto fail;
    r->body = malloc(view.len ? (size_t)view.len : 1);
    if (r->body) memcpy(r->body, view.buf, (size_t)view.len);
    r->o.body_len = (size_t)view.len;
    PyBuffer_Release(&view);
    if (r->body == NULL) {
      PyErr_NoMemory();
      goto fail;
    }
    r->o.body = r->body;
    r->o.has_body = 1;
  }
  r->o.headers = r->hdrs;
  r->o.n_headers = (size_t)nh;
  r->o.resolve = r->resolve;
  r->o.n_resolve = rn;
  r->o.insecure = insecure;
  r->o.http_version = http_version;
  r->o.follow_redirects = follow;
  r->o.max_redirects = max_redirects;
  r->o.connect_timeout_ms = cto;
  r->o.max_time_ms = mto;
  r->o.max_body = max_body;
  r->body_limit = max_body ? max_body : (1ull << 30);
  r->is_async = is_async;
  r->streaming = streaming;
  if (streaming && max_body == 0) r->o.max_body = PY_STREAM_MAX_BODY;
  if (streaming) {
    const char *tmp = getenv("TMPDIR"); /* the GIL is held: no os.environ change meanwhile */
    if (tmp && *tmp && (r->spill_dir = strdup(tmp)) == NULL) {
      PyErr_NoMemory();
      goto fail;
    }
  }
  Py_DECREF(hfast);
  Py_XDECREF(rfast);
  free(rv);
  free(all);
  free(alldst);

  pthread_mutex_lock(&e->mu);
  if (e->closing || e->closed) {
    pthread_mutex_unlock(&e->mu);
    preq_free(r);
    return raise_code(GUISE_E_CANCELLED, "the client is closed");
  }
  r->token = ++e->next_token;
  r->engine = e;
  r->next = NULL;
  live_link(e, r);
  if (e->inbox_tail) e->inbox_tail->next = r;
  else e->inbox = r;
  e->inbox_tail = r;
  e->in_flight++;
  pthread_mutex_unlock(&e->mu);
  uv_async_send(&e->wake);
  return PyLong_FromUnsignedLongLong(r->token);

fail:
  Py_XDECREF(hfast);
  Py_XDECREF(rfast);
  free(rv);
  free(all);
  free(alldst);
  preq_free(r);
  return NULL;
}

/* The result tuple: (err, status, headers [(name, value)], body bytes, info dict,
 * redirects [(url, status)]). Frees |r|. */
static PyObject *result_of(preq *r) {
  PyObject *hl = PyList_New((Py_ssize_t)r->n_head);
  const char *p = r->head.p;
  for (size_t i = 0; hl && i < r->n_head; i++) {
    const char *name = p;
    const char *value = name + strlen(name) + 1;
    p = value + strlen(value) + 1;
    PyObject *t = Py_BuildValue("(s#s#)", name, (Py_ssize_t)strlen(name), value, (Py_ssize_t)strlen(value));
    if (t == NULL) {
      /* A value that is not UTF-8: latin-1, as http.client does. */
      PyErr_Clear();
      t = Py_BuildValue("(NN)", PyUnicode_DecodeLatin1(name, (Py_ssize_t)strlen(name), NULL),
                        PyUnicode_DecodeLatin1(value, (Py_ssize_t)strlen(value), NULL));
    }
    if (t == NULL) {
      Py_CLEAR(hl);
      break;
    }
    PyList_SET_ITEM(hl, (Py_ssize_t)i, t);
  }
  PyObject *body = PyBytes_FromStringAndSize(r->bodyout.p ? r->bodyout.p : "", (Py_ssize_t)r->bodyout.len);
  const char *f[9] = {"", "", "", "", "", "", "", "", ""};
  if (r->info_text) {
    const char *q = r->info_text;
    for (int i = 0; i < 9; i++) {
      f[i] = q;
      q += strlen(q) + 1;
    }
  }
  /* A tuple in the order of guise._INFO_KEYS (the package makes the dict when asked:
   * building it here for every response cost more than the rest of the result). */
  PyObject *info = Py_BuildValue("(sssssssssdddddOKK)", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7],
                                 f[8], r->dns_ms, r->connect_ms, r->tls_ms, r->ttfb_ms, r->total_ms,
                                 r->reused ? Py_True : Py_False,
                                 r->streaming ? r->s_total : (unsigned long long)r->bodyout.len,
                                 r->wire_body_bytes);
  if (info == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
    /* an error detail that is not UTF-8 */
    PyErr_Clear();
    PyObject *d = PyUnicode_DecodeUTF8(f[8], (Py_ssize_t)strlen(f[8]), "backslashreplace");
    info = d ? Py_BuildValue("(ssssssssNdddddOKK)", f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], d,
                             r->dns_ms, r->connect_ms, r->tls_ms, r->ttfb_ms, r->total_ms,
                             r->reused ? Py_True : Py_False,
                                 r->streaming ? r->s_total : (unsigned long long)r->bodyout.len,
                             r->wire_body_bytes)
             : NULL;
  }
  PyObject *redirs = PyList_New((Py_ssize_t)r->n_redirects);
  const char *u = r->redirects;
  for (size_t i = 0; redirs && i < r->n_redirects; i++) {
    PyObject *t = Py_BuildValue("(si)", u, r->redirect_statuses[i]);
    if (t == NULL) {
      Py_CLEAR(redirs);
      break;
    }
    PyList_SET_ITEM(redirs, (Py_ssize_t)i, t);
    u += strlen(u) + 1;
  }
  PyObject *res = NULL;
  if (hl && body && info && redirs)
    res = Py_BuildValue("(iiOOOO)", r->err, r->status, hl, body, info, redirs);
  Py_XDECREF(hl);
  Py_XDECREF(body);
  Py_XDECREF(info);
  Py_XDECREF(redirs);
  preq_free(r);
  return res;
}

/* wait(token) -> result tuple, for a request submitted with is_async false. Blocks
 * with the GIL released; a signal (Ctrl-C) is checked every 50 ms: the request is
 * then abandoned (its callbacks stop it, and it is freed when it ends) and the
 * exception raised. A token that is not a sync request waiting to be taken is a
 * KeyError. */
static PyObject *Engine_wait(Engine *e, PyObject *arg) {
  unsigned long long token = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return NULL;
  pthread_mutex_lock(&e->mu);
  preq *r = e->started ? live_find(e, token) : NULL;
  int ok = r && !r->is_async && !r->waited;
  if (ok) r->waited = 1;
  pthread_mutex_unlock(&e->mu);
  if (!ok) {
    PyErr_Format(PyExc_KeyError, "no request %llu to wait for", token);
    return NULL;
  }
  for (;;) {
    int done;
    Py_BEGIN_ALLOW_THREADS
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 50 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&e->mu);
    if (!r->done) pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    done = r->done;
    if (done) live_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    Py_END_ALLOW_THREADS
    if (done) return result_of(r);
    if (PyErr_CheckSignals()) {
      pthread_mutex_lock(&e->mu);
      if (r->done) {
        live_unlink(e, r);
        pthread_mutex_unlock(&e->mu);
        preq_free(r);
      } else {
        atomic_store(&r->abandoned, 1);
        pthread_mutex_unlock(&e->mu);
      }
      return NULL;
    }
  }
}

/* cancel(token): nobody wants the result of this request any more (a cancelled
 * asyncio task): it is stopped at its next callback and freed when it ends; a
 * result already waiting in the outbox is left for drain(), which returns it. */
static PyObject *Engine_cancel(Engine *e, PyObject *arg) {
  unsigned long long token = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return NULL;
  pthread_mutex_lock(&e->mu);
  preq *r = e->started ? live_find(e, token) : NULL;
  if (r && !r->done) atomic_store(&r->abandoned, 1);
  pthread_mutex_unlock(&e->mu);
  Py_RETURN_NONE;
}

/* drain() -> [(token, result tuple)] of the async requests that ended. */
static PyObject *Engine_drain(Engine *e, PyObject *unused) {
  uint64_t v;
  ssize_t rd = read(e->efd, &v, sizeof(v)); /* clears the eventfd's count */
  (void)rd;
  pthread_mutex_lock(&e->mu);
  preq *list = e->outbox;
  e->outbox = e->outbox_tail = NULL;
  for (preq *r = list; r; r = r->next) live_unlink(e, r);
  pthread_mutex_unlock(&e->mu);
  /* Every request taken here is returned: one whose result could not be made
   * (out of memory) as (token, None), never dropped. */
  PyObject *out = PyList_New(0);
  while (list) {
    preq *r = list;
    list = r->next;
    PyObject *token = PyLong_FromUnsignedLongLong(r->token);
    PyObject *res = result_of(r);
    if (res == NULL) {
      PyErr_Clear();
      res = Py_NewRef(Py_None);
    }
    PyObject *t = token ? PyTuple_Pack(2, token, res) : NULL;
    if (out && (t == NULL || PyList_Append(out, t))) Py_CLEAR(out);
    Py_XDECREF(t);
    Py_XDECREF(token);
    Py_XDECREF(res);
  }
  if (out == NULL && !PyErr_Occurred()) PyErr_NoMemory();
  return out;
}

static PyObject *Engine_fileno(Engine *e, PyObject *unused) { return PyLong_FromLong(e->efd); }

static PyObject *Engine_in_flight(Engine *e, PyObject *unused) {
  pthread_mutex_lock(&e->mu);
  size_t n = e->in_flight;
  pthread_mutex_unlock(&e->mu);
  return PyLong_FromSize_t(n);
}

/* ---- Streamed bodies (Client.stream) ------------------------------------------------ */

/* The streamed request of |token| (e->mu held), or NULL. */
static preq *stream_find(Engine *e, unsigned long long token) {
  preq *r = e->started ? live_find(e, token) : NULL;
  return r && r->streaming ? r : NULL;
}

/* Waits up to 50 ms for the loop thread (e->mu held, GIL released by the caller). */
static void wait_50ms(Engine *e) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_nsec += 50 * 1000 * 1000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_cond_timedwait(&e->cv, &e->mu, &ts);
}

/* The end of a streamed request (e->mu held, |r| done and drained): ("end", result),
 * |r| freed. A spill failure becomes the result's error. */
static PyObject *stream_end(Engine *e, preq *r) {
  live_unlink(e, r);
  pthread_mutex_unlock(&e->mu);
  if (r->spill_errno && (r->err == 0 || r->err == GUISE_E_CANCELLED)) {
    int en = r->spill_errno;
    preq_free(r);
    char msg[256];
    snprintf(msg, sizeof(msg), "the streamed body could not be kept for the reader: %s", strerror(en));
    return raise_code(GUISE_E_NOMEM, msg);
  }
  PyObject *res = result_of(r);
  return res ? Py_BuildValue("(sN)", "end", res) : NULL;
}

/* stream_head(token, block) -> (status, [(name, value)]) once the head is in,
 * ("end", result) when the request ended without one (an error), None when not
 * yet (block false). Blocking releases the GIL and checks signals every 50 ms. */
static PyObject *Engine_stream_head(Engine *e, PyObject *args) {
  unsigned long long token;
  int block;
  if (!PyArg_ParseTuple(args, "Kp", &token, &block)) return NULL;
  for (;;) {
    pthread_mutex_lock(&e->mu);
    preq *r = stream_find(e, token);
    if (r == NULL) {
      pthread_mutex_unlock(&e->mu);
      PyErr_Format(PyExc_KeyError, "no streamed request %llu", token);
      return NULL;
    }
    if (r->have_head) {
      pthread_mutex_unlock(&e->mu);
      PyObject *hl = PyList_New(0);
      const char *p = r->head.p;
      for (size_t i = 0; hl && i < r->n_head; i++) {
        const char *name = p, *value = name + strlen(name) + 1;
        p = value + strlen(value) + 1;
        PyObject *t = Py_BuildValue("(NN)", PyUnicode_DecodeLatin1(name, (Py_ssize_t)strlen(name), NULL),
                                    PyUnicode_DecodeUTF8(value, (Py_ssize_t)strlen(value), "surrogateescape"));
        if (t == NULL || PyList_Append(hl, t)) Py_CLEAR(hl);
        Py_XDECREF(t);
      }
      return hl ? Py_BuildValue("(iN)", r->status, hl) : NULL;
    }
    if (r->done) return stream_end(e, r);
    if (!block) {
      pthread_mutex_unlock(&e->mu);
      Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS /* the mutex is let go before the GIL is taken again */
    wait_50ms(e);
    pthread_mutex_unlock(&e->mu);
    Py_END_ALLOW_THREADS
    if (PyErr_CheckSignals()) return NULL; /* the caller's stream_close() abandons it */
  }
}

/* stream_take(token, block) -> bytes (what the body brought since the last take, at
 * most 1 MiB), ("end", result) once the request ended and every byte was taken,
 * None when nothing is there yet (block false). */
static PyObject *Engine_stream_take(Engine *e, PyObject *args) {
  unsigned long long token;
  int block;
  if (!PyArg_ParseTuple(args, "Kp", &token, &block)) return NULL;
  for (;;) {
    pthread_mutex_lock(&e->mu);
    preq *r = stream_find(e, token);
    if (r == NULL) {
      pthread_mutex_unlock(&e->mu);
      PyErr_Format(PyExc_KeyError, "no streamed request %llu", token);
      return NULL;
    }
    if (r->sbuf.len > 0) {
      PyObject *b = PyBytes_FromStringAndSize(r->sbuf.p, (Py_ssize_t)r->sbuf.len);
      if (b) r->sbuf.len = 0;
      pthread_mutex_unlock(&e->mu);
      return b;
    }
    if (r->s_roff < r->s_woff) {
      unsigned long long left = r->s_woff - r->s_roff;
      size_t n = left < PY_STREAM_READ ? (size_t)left : PY_STREAM_READ;
      PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
      size_t got = 0;
      while (b && got < n) {
        ssize_t rd = pread(r->sfd, PyBytes_AS_STRING(b) + got, n - got, (off_t)(r->s_roff + got));
        if (rd < 0 && errno == EINTR) continue;
        if (rd <= 0) {
          int en = rd < 0 ? errno : EIO;
          pthread_mutex_unlock(&e->mu);
          Py_DECREF(b);
          errno = en;
          return PyErr_SetFromErrno(PyExc_OSError);
        }
        got += (size_t)rd;
      }
      if (b) {
        r->s_roff += n;
        if (r->s_roff == r->s_woff) { /* caught up: memory first again, the file emptied */
          r->s_roff = r->s_woff = 0;
          if (ftruncate(r->sfd, 0) != 0) { /* only space kept longer */
          }
        }
      }
      pthread_mutex_unlock(&e->mu);
      return b;
    }
    if (r->done) return stream_end(e, r);
    if (!block) {
      pthread_mutex_unlock(&e->mu);
      Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS /* the mutex is let go before the GIL is taken again */
    wait_50ms(e);
    pthread_mutex_unlock(&e->mu);
    Py_END_ALLOW_THREADS
    if (PyErr_CheckSignals()) return NULL;
  }
}

/* stream_close(token): the reader is done with it (the with block ended): a request
 * still running is stopped at its next callback and freed when it ends; one that
 * ended is freed now. Unknown tokens are ignored (already taken by its end). */
static PyObject *Engine_stream_close(Engine *e, PyObject *arg) {
  unsigned long long token = PyLong_AsUnsignedLongLong(arg);
  if (PyErr_Occurred()) return NULL;
  pthread_mutex_lock(&e->mu);
  preq *r = stream_find(e, token);
  if (r && r->done) {
    live_unlink(e, r);
    pthread_mutex_unlock(&e->mu);
    preq_free(r);
    Py_RETURN_NONE;
  }
  if (r) atomic_store(&r->abandoned, 1);
  pthread_mutex_unlock(&e->mu);
  Py_RETURN_NONE;
}

static PyMethodDef Engine_methods[] = {
    {"stream_head", (PyCFunction)Engine_stream_head, METH_VARARGS, "A streamed request's head, or its end."},
    {"stream_take", (PyCFunction)Engine_stream_take, METH_VARARGS, "A streamed request's next bytes, or its end."},
    {"stream_close", (PyCFunction)Engine_stream_close, METH_O, "The reader of a streamed request is done."},
    {"submit", (PyCFunction)Engine_submit, METH_VARARGS, "Queue a request; returns its token."},
    {"wait", (PyCFunction)Engine_wait, METH_O, "Wait for a token's result (GIL released)."},
    {"cancel", (PyCFunction)Engine_cancel, METH_O, "Nobody waits for a token's result any more."},
    {"drain", (PyCFunction)Engine_drain, METH_NOARGS, "Results of ended async requests."},
    {"fileno", (PyCFunction)Engine_fileno, METH_NOARGS, "eventfd readable when drain() has results."},
    {"in_flight", (PyCFunction)Engine_in_flight, METH_NOARGS, "Requests queued or running."},
    {"close", (PyCFunction)Engine_close, METH_NOARGS, "End every request and stop the thread."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "guise._guise.Engine",
    .tp_basicsize = sizeof(Engine),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One guise_client on a libuv loop in a thread of its own (internal: use guise.Client).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Engine_init,
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_methods = Engine_methods,
};


/* ---- Python: Batch (guise_batch_*) --------------------------------------------------- */

/* One record, as the engine wrote it. */
typedef struct rec {
  struct rec *next;
  size_t len;
  char json[];
} rec;

/* The keys of the engine's records (docs/BATCH.md), made once as interned str: a
 * record's dict takes them instead of a new str per key. In the order the writer
 * (batch_record.c) puts them, a name again where it comes again (a redirect's url
 * and status, tls of timings and of the record), as the reader tries the entry after
 * the last one found first. */
static const char *const rec_key_names[] = {
    "id", "line", "url", "final_url", "redirects", "url", "status", "status", "http_version",
    "error", "error_class", "error_detail", "attempts", "profile", "reused", "bytes",
    "wire_bytes", "timings", "dns", "connect", "tls", "ttfb", "total", "remote", "tls",
    "version", "cipher", "group", "alpn", "headers", "body", "body_base64", "body_file",
    "body_truncated", "meta"};
#define REC_NKEYS (sizeof(rec_key_names) / sizeof(rec_key_names[0]))
static PyObject *rec_keys[REC_NKEYS];
static size_t rec_key_len[REC_NKEYS];

/* guise.batch's state between two records, and between the jobs it feeds. */
#define BATCH_FEED_GROUP 64 /* job lines submitted per release of the GIL */

typedef struct Batch {
  PyObject_HEAD
  guise_batch *b;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int sync_ready;
  rec *head, *tail;          /* records from the workers (under mu) */
  unsigned long long queued; /* records waiting in that list */
  char *opt_strings;
  const char **opt_resolve;
  /* Iteration (start(), then next()): the GIL holder's alone. */
  PyObject *jobs;            /* the iterator of jobs; NULL once exhausted */
  PyObject *job_line;        /* job (not a str) -> its line (str) */
  PyObject *make_error;      /* (code, name, class, detail) -> the guise exception */
  PyObject *loads;           /* json.loads: records the reader below leaves */
  rec *ready, *ready_tail;   /* records taken, to be yielded in order */
  unsigned long long lineno, pending, pending_cap;
  int started, done, busy;
  PyObject *vcache[REC_NKEYS]; /* the last ASCII str value seen under each key */
} Batch;

/* From a worker thread (the engine serialises the calls): the record is copied and
 * queued for next(). The queue holds at most the jobs pending (max_pending), since
 * every record is of a job submitted and next() takes between submits. */
static void batch_on_record(void *arg, const char *json, size_t len, int err) {
  Batch *bt = arg;
  rec *r = malloc(sizeof(*r) + len + 1);
  if (r == NULL) return; /* out of memory: the record is lost, and counted by the engine */
  r->next = NULL;
  r->len = len;
  memcpy(r->json, json, len);
  r->json[len] = '\0';
  pthread_mutex_lock(&bt->mu);
  /* next() waits only for an empty queue: the first record wakes it */
  if (bt->tail) {
    bt->tail->next = r;
  } else {
    bt->head = r;
    pthread_cond_signal(&bt->cv);
  }
  bt->tail = r;
  bt->queued++;
  pthread_mutex_unlock(&bt->mu);
}

/* ---- A record's JSON text as a dict -------------------------------------------------
 * A bounded reader of one JSON text (the record, at most its length; nesting at most
 * REC_MAX_DEPTH) giving what json.loads gives: objects as dicts (a repeated key: the
 * last value, at the first's place), arrays as lists, integers as int, numbers with a
 * fraction or exponent as float (PyOS_string_to_double, as float() and json.loads),
 * strings decoded from strict UTF-8 with JSON's escapes (a \uD800-\uDBFF and
 * \uDC00-\uDFFF pair as one code point, a lone surrogate kept). Whatever it does not
 * take as json.loads would (another UTF-8, NaN, an integer of more than 18 digits,
 * deeper nesting, an error) makes it give up: the caller hands the record to
 * json.loads, so the dicts are json.loads's in every case, this reader only faster
 * (json.loads cost most of guise.batch's time per record). */
#define REC_MAX_DEPTH 64

typedef struct jrd {
  const char *p, *end;
  Batch *bt;
  int depth;
  size_t next_key; /* the record key tried first */
} jrd;

static PyObject *jr_value(jrd *r, int key);

static void jr_ws(jrd *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

static int jr_hex4(const Py_UCS4 *s, Py_ssize_t i, Py_ssize_t n, Py_UCS4 *out) {
  if (i + 4 > n) return -1;
  Py_UCS4 v = 0;
  for (int k = 0; k < 4; k++) {
    Py_UCS4 c = s[i + k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  *out = v;
  return 0;
}

/* The escapes of |raw| (the string's characters between its quotes) resolved. */
static PyObject *jr_unescape(PyObject *raw) {
  Py_UCS4 *s = PyUnicode_AsUCS4Copy(raw);
  if (s == NULL) return NULL;
  Py_ssize_t n = PyUnicode_GET_LENGTH(raw), k = 0;
  PyObject *out = NULL;
  for (Py_ssize_t i = 0; i < n; i++) {
    Py_UCS4 c = s[i];
    if (c != '\\') {
      s[k++] = c;
      continue;
    }
    if (++i >= n) goto done;
    switch (s[i]) {
    case '"': case '\\': case '/': c = s[i]; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
      if (jr_hex4(s, i + 1, n, &c)) goto done;
      i += 4;
      Py_UCS4 lo;
      if (c >= 0xD800 && c <= 0xDBFF && i + 2 < n && s[i + 1] == '\\' && s[i + 2] == 'u' &&
          jr_hex4(s, i + 3, n, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      break;
    }
    default: goto done;
    }
    s[k++] = c;
  }
  out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, s, k);
done:
  PyMem_Free(s);
  return out;
}

/* A string at r->p (its opening quote). |key| >= 0: the value of that record key
 * (an ASCII value equal to the last one under it is that same str). */
static PyObject *jr_string(jrd *r, int key) {
  const char *s = ++r->p;
  int esc = 0, ascii = 1;
  /* The common case, eight bytes at a time: printable ASCII without '"' or '\\'. */
  while ((size_t)(r->end - r->p) >= 8) {
    uint64_t w;
    memcpy(&w, r->p, 8);
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    /* a byte < 0x20, a byte >= 0x80, or a zero byte of q or b */
    if (((w - ones * 0x20) | w | (q - ones) | (b - ones)) & highs) break;
    r->p += 8;
  }
  while (r->p < r->end && *r->p != '"') {
    unsigned char c = (unsigned char)*r->p;
    if (c == '\\') {
      esc = 1;
      if (++r->p >= r->end) return NULL;
    } else if (c < 0x20) {
      return NULL; /* json.loads (strict) refuses control characters */
    } else if (c >= 0x80) {
      ascii = 0;
    }
    r->p++;
  }
  if (r->p >= r->end) return NULL;
  Py_ssize_t n = r->p - s;
  r->p++;
  if (esc || !ascii) {
    PyObject *raw = PyUnicode_DecodeUTF8(s, n, NULL); /* strict, as the reader's input */
    if (raw == NULL || !esc) return raw;
    PyObject *v = jr_unescape(raw);
    Py_DECREF(raw);
    return v;
  }
  PyObject **slot = key >= 0 && r->bt ? &r->bt->vcache[key] : NULL;
  if (slot && *slot && PyUnicode_GET_LENGTH(*slot) == n && memcmp(PyUnicode_DATA(*slot), s, (size_t)n) == 0)
    return Py_NewRef(*slot);
  PyObject *v = PyUnicode_New(n, 127);
  if (v == NULL) return NULL;
  memcpy(PyUnicode_DATA(v), s, (size_t)n);
  if (slot && n <= 256) Py_XSETREF(*slot, Py_NewRef(v));
  return v;
}

/* An object's key: the interned name when it is one of the record's (|*key| its
 * index), else a new str (|*key| -1). The keys come in the writer's order, so the
 * one after the last found is tried first. */
static PyObject *jr_key(jrd *r, int *key) {
  *key = -1;
  if (r->p >= r->end || *r->p != '"') return NULL;
  const char *s = r->p + 1;
  size_t avail = (size_t)(r->end - s);
  size_t i = r->next_key;
  for (size_t k = 0; k < REC_NKEYS; k++, i++) {
    if (i == REC_NKEYS) i = 0;
    size_t n = rec_key_len[i];
    /* the name then the closing quote: a key with an escape is never one of them */
    if (n < avail && s[n] == '"' && memcmp(rec_key_names[i], s, n) == 0) {
      *key = (int)i;
      r->next_key = i + 1 < REC_NKEYS ? i + 1 : 0;
      r->p = s + n + 1;
      return Py_NewRef(rec_keys[i]);
    }
  }
  return jr_string(r, -1);
}

static PyObject *jr_number(jrd *r) {
  const char *s = r->p;
  int neg = 0, fl = 0;
  if (r->p < r->end && *r->p == '-') {
    neg = 1;
    r->p++;
  }
  const char *d = r->p;
  if (r->p >= r->end || *r->p < '0' || *r->p > '9') return NULL;
  if (*r->p == '0') r->p++;
  else
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
  size_t ndig = (size_t)(r->p - d);
  if (r->p < r->end && *r->p == '.') {
    fl = 1;
    const char *f = ++r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    if (r->p == f) return NULL;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    fl = 1;
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-')) r->p++;
    const char *f = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') r->p++;
    if (r->p == f) return NULL;
  }
  if (fl) {
    /* The writer's numbers (milliseconds as 12.345): at most 15 digits and no
     * exponent are m / 10^k with m and 10^k exact doubles, and IEEE division rounds
     * that correctly, as strtod does. Others go through PyOS_string_to_double. */
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15};
    if (r->p - d <= 16 && d[ndig] == '.' && memchr(d, 'e', (size_t)(r->p - d)) == NULL &&
        memchr(d, 'E', (size_t)(r->p - d)) == NULL) {
      unsigned long long m = 0;
      for (const char *q = d; q < r->p; q++)
        if (*q != '.') m = m * 10 + (unsigned long long)(*q - '0');
      double v = (double)m / p10[r->p - d - (ptrdiff_t)ndig - 1];
      return PyFloat_FromDouble(neg ? -v : v);
    }
    char tmp[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof(tmp)) return NULL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    double v = PyOS_string_to_double(tmp, NULL, NULL);
    if (v == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(v);
  }
  if (ndig > 18) return NULL;
  long long v = 0;
  for (const char *q = d; q < r->p; q++) v = v * 10 + (*q - '0');
  return PyLong_FromLongLong(neg ? -v : v);
}

static PyObject *jr_lit(jrd *r, const char *word, PyObject *v) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0) return NULL;
  r->p += n;
  return Py_NewRef(v);
}

/* The record's own dict is made for REC_PRESIZE keys (one table, no growth); the
 * others grow from the smallest. */
#define REC_PRESIZE 20

static PyObject *jr_object(jrd *r) {
  r->p++;
#if PY_VERSION_HEX < 0x030D0000 /* public in 3.11 and 3.12 headers */
  PyObject *d = r->depth == 1 ? _PyDict_NewPresized(REC_PRESIZE) : PyDict_New();
#else
  PyObject *d = PyDict_New();
#endif
  if (d == NULL) return NULL;
  jr_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return d;
  }
  for (;;) {
    int key;
    jr_ws(r);
    PyObject *k = jr_key(r, &key);
    if (k == NULL) break;
    jr_ws(r);
    if (r->p >= r->end || *r->p != ':') {
      Py_DECREF(k);
      break;
    }
    r->p++;
    jr_ws(r);
    PyObject *v = jr_value(r, key);
    int bad = v == NULL || PyDict_SetItem(d, k, v) < 0;
    Py_DECREF(k);
    Py_XDECREF(v);
    if (bad) break;
    jr_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == '}') {
      r->p++;
      return d;
    }
    break;
  }
  Py_DECREF(d);
  return NULL;
}

static PyObject *jr_array(jrd *r) {
  r->p++;
  PyObject *l = PyList_New(0);
  if (l == NULL) return NULL;
  jr_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return l;
  }
  for (;;) {
    jr_ws(r);
    PyObject *v = jr_value(r, -1);
    int bad = v == NULL || PyList_Append(l, v) < 0;
    Py_XDECREF(v);
    if (bad) break;
    jr_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == ']') {
      r->p++;
      return l;
    }
    break;
  }
  Py_DECREF(l);
  return NULL;
}

static PyObject *jr_value(jrd *r, int key) {
  if (r->p >= r->end) return NULL;
  PyObject *v;
  switch (*r->p) {
  case '{':
  case '[':
    if (++r->depth > REC_MAX_DEPTH) return NULL;
    v = *r->p == '{' ? jr_object(r) : jr_array(r);
    r->depth--;
    return v;
  case '"': return jr_string(r, key);
  case 't': return jr_lit(r, "true", Py_True);
  case 'f': return jr_lit(r, "false", Py_False);
  case 'n': return jr_lit(r, "null", Py_None);
  default: return jr_number(r);
  }
}

/* The record |json| (|len| bytes) as json.loads gives it, read by the reader above or,
 * where that gives up, by json.loads on the text decoded as before this reader
 * existed (UTF-8, invalid bytes backslash-escaped). */
static PyObject *record_dict(Batch *bt, PyObject *loads, const char *json, size_t len) {
  jrd r = {json, json + len, bt, 0, 0};
  jr_ws(&r);
  PyObject *v = jr_value(&r, -1);
  if (v) {
    jr_ws(&r);
    if (r.p == r.end && PyDict_CheckExact(v)) return v;
    Py_DECREF(v);
  }
  PyErr_Clear();
  PyObject *s = PyUnicode_DecodeUTF8(json, (Py_ssize_t)len, "backslashreplace");
  if (s == NULL) return NULL;
  v = PyObject_CallOneArg(loads, s);
  Py_DECREF(s);
  return v;
}

/* _record_dict(bytes, loads): record_dict for the tests (no str kept between calls). */
static PyObject *mod_record_dict(PyObject *self, PyObject *args) {
  const char *p;
  Py_ssize_t n;
  PyObject *loads;
  if (!PyArg_ParseTuple(args, "y#O", &p, &n, &loads)) return NULL;
  return record_dict(NULL, loads, p, (size_t)n);
}

static int Batch_init(Batch *bt, PyObject *args, PyObject *kw) {
  static char *kwlist[] = {"workers", "concurrency", "per_host", "rate", "per_host_rate",
                           "retries", "connections_per_host", "streams_per_connection",
                           "max_pending", "profile", "proxy", "insecure", "cafile",
                           "http_version", "resolve", "dns_servers", "connect_timeout_ms",
                           "max_time_ms", "max_body", "include_headers", "body_mode",
                           "body_dir", "follow_redirects", "max_redirects", "cookies",
                           "no_reuse", "coalesce_ms", "no_coalesce", NULL};
  guise_batch_options o;
  guise_batch_options_init(&o);
  PyObject *profile = NULL, *proxy = NULL, *cafile = NULL, *resolve = NULL, *dns = NULL,
           *body_dir = NULL;
  unsigned retries = o.retries;
  if (bt->sync_ready) {
    PyErr_SetString(PyExc_RuntimeError, "Batch already initialised");
    return -1;
  }
  if (!PyArg_ParseTupleAndKeywords(
          args, kw, "|IIIddIIIIOOpOiOOIIKpiOpIppIp", kwlist, &o.workers, &o.concurrency,
          &o.per_host, &o.rate, &o.per_host_rate, &retries, &o.connections_per_host,
          &o.streams_per_connection, &o.max_pending, &profile, &proxy, &o.insecure, &cafile,
          &o.http_version, &resolve, &dns, &o.connect_timeout_ms, &o.max_time_ms, &o.max_body,
          &o.include_headers, &o.body_mode, &body_dir, &o.follow_redirects, &o.max_redirects,
          &o.cookies, &o.no_reuse, &o.h2_coalesce_ms, &o.no_coalesce))
    return -1;
  o.retries = retries;
  const char *s[5];
  if (opt_str(profile, "profile", &s[0]) || opt_str(proxy, "proxy", &s[1]) ||
      opt_str(cafile, "cacert", &s[2]) || opt_str(dns, "dns_servers", &s[3]) ||
      opt_str(body_dir, "body_dir", &s[4]))
    return -1;
  PyObject *rfast;
  const char **rv;
  size_t rn;
  if (str_list(resolve, "resolve", &rfast, &rv, &rn)) {
    Py_XDECREF(rfast);
    free(rv);
    return -1;
  }
  const char **od[5] = {&o.profile, &o.proxy, &o.cafile, &o.dns_servers, &o.body_dir};
  bt->opt_resolve = calloc(rn ? rn : 1, sizeof(char *));
  if (bt->opt_resolve) bt->opt_strings = pack_strings(s, od, 5, rv, bt->opt_resolve, rn);
  Py_XDECREF(rfast);
  free(rv);
  if (bt->opt_strings == NULL) {
    PyErr_NoMemory();
    return -1;
  }
  o.resolve = bt->opt_resolve;
  o.n_resolve = rn;
  o.on_record = batch_on_record;
  o.arg = bt;
  pthread_mutex_init(&bt->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&bt->cv, &ca);
  pthread_condattr_destroy(&ca);
  bt->sync_ready = 1;
  int err = guise_batch_new(&o, &bt->b);
  if (err) {
    bt->b = NULL;
    raise_code(err, "the batch could not start (check its options)");
    return -1;
  }
  return 0;
}

/* ---- Iteration: jobs fed and records yielded by next() ------------------------------
 * start(jobs, pending_cap, job_line, make_error, loads) arms the iterator; each next()
 * feeds jobs from |jobs| while fewer than |pending_cap| are pending (read, parsed and
 * submitted in groups of BATCH_FEED_GROUP per release of the GIL), takes the records
 * the workers queued (waiting at most 50 ms at a time, GIL released, then checking
 * signals) and gives them one by one as dicts, in the order they came. The end of
 * the jobs and of their records finishes the engine; an exception (Ctrl-C, the jobs'
 * iterator raising) or close() cancels what is in flight and finishes it. */

static void batch_ready_push(Batch *bt, rec *r) {
  r->next = NULL;
  if (bt->ready_tail) bt->ready_tail->next = r;
  else bt->ready = r;
  bt->ready_tail = r;
}

static void rec_list_free(rec *r) {
  while (r) {
    rec *n = r->next;
    free(r);
    r = n;
  }
}

/* The engine's error record of a line that is not a job (as guise batch writes it). */
static rec *error_rec(unsigned long long lineno, const char *why) {
  char id[24];
  snprintf(id, sizeof(id), "%llu", lineno);
  size_t cap = 161 + 6 * (strlen(id) + strlen(why));
  rec *r = malloc(sizeof(*r) + cap);
  if (r == NULL) return NULL;
  r->next = NULL;
  r->len = guise_batch_record_error(r->json, cap, id, lineno, why);
  return r;
}

/* The engine stops (|cancel|: what is in flight is cancelled, no record for it) and is
 * freed; the iteration is over. Keeps the exception being raised, if any. */
static void batch_end(Batch *bt, int cancel) {
  PyObject *et, *ev, *tb;
  PyErr_Fetch(&et, &ev, &tb);
  if (bt->b) {
    guise_batch *b = bt->b;
    bt->b = NULL;
    Py_BEGIN_ALLOW_THREADS
    if (cancel) guise_batch_stop(b, 1);
    guise_batch_finish(b);
    Py_END_ALLOW_THREADS
  }
  bt->done = 1;
  Py_CLEAR(bt->jobs);
  if (cancel) {
    rec_list_free(bt->ready);
    bt->ready = bt->ready_tail = NULL;
  }
  PyErr_Restore(et, ev, tb);
}

/* One job's input line, held while its group is submitted. */
typedef struct feed_line {
  PyObject *obj;       /* the str the bytes are in */
  const char *p;
  size_t len;
  unsigned long long lineno;
  const char *bad;     /* not a line: why */
} feed_line;

/* Reads up to BATCH_FEED_GROUP jobs (fewer when max_pending is near) and submits them
 * with one release of the GIL. 0, or -1 with an exception (the jobs' iterator raised,
 * the engine refused a job, out of memory). */
static int batch_feed(Batch *bt) {
  feed_line fl[BATCH_FEED_GROUP];
  unsigned long long room = bt->pending_cap - bt->pending;
  size_t n = 0, want = room < BATCH_FEED_GROUP ? (size_t)room : BATCH_FEED_GROUP;
  int failed = 0;
  while (n < want && bt->jobs) {
    PyObject *job = PyIter_Next(bt->jobs);
    if (job == NULL) {
      if (PyErr_Occurred()) failed = 1;
      else Py_CLEAR(bt->jobs); /* exhausted */
      break;
    }
    feed_line *l = &fl[n];
    l->lineno = ++bt->lineno;
    l->bad = NULL;
    if (PyUnicode_CheckExact(job)) {
      l->obj = job;
    } else {
      l->obj = PyObject_CallOneArg(bt->job_line, job); /* dict, bytes, ...: a str */
      Py_DECREF(job);
      if (l->obj == NULL) {
        failed = 1;
        break;
      }
      if (!PyUnicode_Check(l->obj)) {
        Py_DECREF(l->obj);
        PyErr_SetString(PyExc_TypeError, "a job's line must be a str");
        failed = 1;
        break;
      }
    }
    Py_ssize_t len;
    l->p = PyUnicode_AsUTF8AndSize(l->obj, &len);
    if (l->p == NULL) {
      if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        Py_DECREF(l->obj);
        failed = 1;
        break;
      }
      PyErr_Clear();
      l->bad = "the line is not valid UTF-8";
      len = 0;
    }
    l->len = (size_t)len;
    while (l->len && (l->p[l->len - 1] == '\n' || l->p[l->len - 1] == '\r')) l->len--;
    n++;
  }
  /* Submit what was read, even when the iterator raised after it (as each job was
   * submitted when read before). */
  PyObject *et, *ev, *tb;
  PyErr_Fetch(&et, &ev, &tb);
  rec *errs = NULL, **etail = &errs;
  unsigned long long submitted = 0;
  int err = 0, nomem = 0;
  guise_batch *b = bt->b;
  if (n) {
    Py_BEGIN_ALLOW_THREADS
    char why[512];
    for (size_t i = 0; i < n && !err; i++) {
      const char *bad = fl[i].bad;
      if (bad == NULL) {
        guise_job job;
        guise_job_store *store = NULL;
        why[0] = '\0';
        int r = guise_job_parse(fl[i].p, fl[i].len, &job, &store, why, sizeof(why));
        if (r == 0) {
          job.line = fl[i].lineno;
          err = guise_batch_submit(b, &job);
          if (err == 0) submitted++;
        }
        guise_job_free(store);
        if (r == 0 || r == 1) continue;
        bad = why;
      }
      rec *e = error_rec(fl[i].lineno, bad);
      if (e == NULL) {
        nomem = 1;
        continue;
      }
      *etail = e;
      etail = &e->next;
    }
    Py_END_ALLOW_THREADS
  }
  for (size_t i = 0; i < n; i++) Py_DECREF(fl[i].obj);
  bt->pending += submitted;
  while (errs) {
    rec *e = errs;
    errs = e->next;
    batch_ready_push(bt, e);
  }
  PyErr_Restore(et, ev, tb);
  if (failed) return -1;
  if (nomem) {
    PyErr_NoMemory();
    return -1;
  }
  if (err) {
    const char *detail = "the batch refused the job";
    PyObject *exc = bt->make_error ? PyObject_CallFunction(bt->make_error, "isss", err, guise_err_name(err),
                                                           guise_err_class(err), detail)
                                   : NULL;
    if (exc) {
      PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
      Py_DECREF(exc);
    } else if (!PyErr_Occurred()) {
      raise_code(err, detail);
    }
    return -1;
  }
  return 0;
}

/* The records the workers queued, waiting up to |timeout| s (GIL released) for the
 * first: onto the ready list. 0, or -1 when a signal's handler raised. */
static int batch_take(Batch *bt, double timeout) {
  rec *list;
  unsigned long long count;
  Py_BEGIN_ALLOW_THREADS
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double end = ts.tv_sec + ts.tv_nsec / 1e9 + (timeout > 0 ? timeout : 0);
  ts.tv_sec = (time_t)end;
  ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
  pthread_mutex_lock(&bt->mu);
  if (bt->head == NULL && timeout > 0) pthread_cond_timedwait(&bt->cv, &bt->mu, &ts);
  list = bt->head;
  count = bt->queued;
  bt->head = bt->tail = NULL;
  bt->queued = 0;
  pthread_mutex_unlock(&bt->mu);
  Py_END_ALLOW_THREADS
  bt->pending = count < bt->pending ? bt->pending - count : 0;
  if (list) {
    if (bt->ready_tail) bt->ready_tail->next = list;
    else bt->ready = list;
    while (list->next) list = list->next;
    bt->ready_tail = list;
  }
  return PyErr_CheckSignals();
}

static PyObject *batch_next(Batch *bt) {
  for (;;) {
    if (bt->ready) {
      rec *r = bt->ready;
      bt->ready = r->next;
      if (bt->ready == NULL) bt->ready_tail = NULL;
      PyObject *d = record_dict(bt, bt->loads, r->json, r->len);
      free(r);
      if (d == NULL) break;
      return d;
    }
    if (bt->done || bt->b == NULL) return NULL;
    while (bt->jobs && bt->pending < bt->pending_cap && bt->ready == NULL)
      if (batch_feed(bt)) goto fail;
    if (bt->ready) continue;
    if (bt->jobs == NULL && bt->pending == 0) {
      batch_end(bt, 0);
      return NULL;
    }
    if (batch_take(bt, 0.05)) break;
  }
fail:
  batch_end(bt, 1);
  return NULL;
}

static PyObject *Batch_iternext(Batch *bt) {
  if (!bt->started) {
    PyErr_SetString(PyExc_RuntimeError, "the batch was not started");
    return NULL;
  }
  if (bt->busy) {
    PyErr_SetString(PyExc_ValueError, "guise.batch is already being read (in another thread)");
    return NULL;
  }
  bt->busy = 1;
  PyObject *out = batch_next(bt);
  bt->busy = 0;
  return out;
}

/* start(jobs, pending_cap, job_line, make_error, loads) -> self, the iterator. */
static PyObject *Batch_start(Batch *bt, PyObject *args) {
  PyObject *jobs, *job_line, *make_error, *loads;
  unsigned long long cap;
  if (!PyArg_ParseTuple(args, "OKOOO", &jobs, &cap, &job_line, &make_error, &loads)) return NULL;
  if (bt->b == NULL || bt->started) {
    PyErr_SetString(PyExc_RuntimeError, "the batch has started or finished");
    return NULL;
  }
  bt->jobs = PyObject_GetIter(jobs);
  if (bt->jobs == NULL) return NULL;
  bt->job_line = Py_NewRef(job_line);
  bt->make_error = Py_NewRef(make_error);
  bt->loads = Py_NewRef(loads);
  bt->pending_cap = cap ? cap : 1;
  bt->started = 1;
  return Py_NewRef(bt);
}

/* close(): as a generator's: what is in flight is cancelled, the engine freed. */
static PyObject *Batch_close(Batch *bt, PyObject *unused) {
  if (bt->busy) {
    PyErr_SetString(PyExc_ValueError, "guise.batch is being read in another thread");
    return NULL;
  }
  batch_end(bt, 1);
  Py_RETURN_NONE;
}

/* stats(): the engine's counters (None once it has ended). Not while another thread
 * is in next(): that thread may free the engine meanwhile. */
static PyObject *Batch_stats(Batch *bt, PyObject *unused) {
  if (bt->busy) {
    PyErr_SetString(PyExc_ValueError, "guise.batch is being read in another thread");
    return NULL;
  }
  if (bt->b == NULL) Py_RETURN_NONE;
  guise_batch_stats st = {sizeof(st)};
  guise_batch_stats_get(bt->b, &st);
  return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:d}", "submitted", st.submitted, "done",
                       st.done, "ok", st.ok, "failed", st.failed, "retries", st.retries,
                       "in_flight", st.in_flight, "interrupted", st.interrupted, "p50_ms",
                       st.p50_ms, "p99_ms", st.p99_ms);
}

static int Batch_traverse(Batch *bt, visitproc visit, void *arg) {
  Py_VISIT(bt->jobs);
  Py_VISIT(bt->job_line);
  Py_VISIT(bt->make_error);
  Py_VISIT(bt->loads);
  return 0;
}

static int Batch_clear(Batch *bt) {
  Py_CLEAR(bt->jobs);
  Py_CLEAR(bt->job_line);
  Py_CLEAR(bt->make_error);
  Py_CLEAR(bt->loads);
  return 0;
}

static void Batch_dealloc(Batch *bt) {
  PyObject_GC_UnTrack(bt);
  if (bt->b) {
    /* Dropped while running: cancel what is in flight, then free. */
    guise_batch *b = bt->b;
    bt->b = NULL;
    Py_BEGIN_ALLOW_THREADS
    guise_batch_stop(b, 1);
    guise_batch_finish(b);
    Py_END_ALLOW_THREADS
  }
  if (bt->sync_ready) {
    rec_list_free(bt->head);
    pthread_mutex_destroy(&bt->mu);
    pthread_cond_destroy(&bt->cv);
  }
  rec_list_free(bt->ready);
  Batch_clear(bt);
  for (size_t i = 0; i < REC_NKEYS; i++) Py_CLEAR(bt->vcache[i]);
  free(bt->opt_strings);
  free(bt->opt_resolve);
  Py_TYPE(bt)->tp_free((PyObject *)bt);
}

static PyMethodDef Batch_methods[] = {
    {"start", (PyCFunction)Batch_start, METH_VARARGS,
     "start(jobs, pending_cap, job_line, make_error, loads): the iterator of records."},
    {"close", (PyCFunction)Batch_close, METH_NOARGS, "Cancel what is in flight and free the engine."},
    {"stats", (PyCFunction)Batch_stats, METH_NOARGS, "The engine's counters."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject BatchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "guise._guise.Batch",
    .tp_basicsize = sizeof(Batch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "libguise's batch engine (internal: use guise.batch); an iterator of records once started.",
    .tp_traverse = (traverseproc)Batch_traverse,
    .tp_clear = (inquiry)Batch_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Batch_iternext,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Batch_init,
    .tp_dealloc = (destructor)Batch_dealloc,
    .tp_methods = Batch_methods,
};

/* ---- Module ------------------------------------------------------------------------- */

static PyObject *mod_version(PyObject *self, PyObject *unused) {
  const guise_version_info *v = guise_version();
  return Py_BuildValue("{s:s,s:s,s:s,s:I,s:s}", "guise", v->guise, "tls_library", v->tls_library,
                       "boringssl_revision", v->boringssl_revision, "boringssl_patches",
                       v->boringssl_patches, "nghttp2", v->nghttp2);
}

static PyObject *mod_profiles(PyObject *self, PyObject *unused) {
  size_t n = guise_profile_count();
  PyObject *l = PyList_New((Py_ssize_t)n);
  for (size_t i = 0; l && i < n; i++) {
    PyObject *s = PyUnicode_FromString(guise_profile_name(i));
    if (s == NULL) {
      Py_CLEAR(l);
      break;
    }
    PyList_SET_ITEM(l, (Py_ssize_t)i, s);
  }
  return l;
}

static PyObject *mod_default_profile(PyObject *self, PyObject *unused) {
  return PyUnicode_FromString(guise_profile_default());
}

static PyObject *mod_err_name(PyObject *self, PyObject *arg) {
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(guise_err_name((int)code));
}

static PyObject *mod_err_class(PyObject *self, PyObject *arg) {
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(guise_err_class((int)code));
}

static PyObject *mod_strerror(PyObject *self, PyObject *arg) {
  long code = PyLong_AsLong(arg);
  if (code == -1 && PyErr_Occurred()) return NULL;
  return PyUnicode_FromString(guise_strerror((int)code));
}

static PyObject *mod_url_redact(PyObject *self, PyObject *arg) {
  Py_ssize_t n;
  const char *u = PyUnicode_AsUTF8AndSize(arg, &n);
  if (u == NULL) return NULL;
  size_t cap = (size_t)n + 8;
  char *buf = malloc(cap);
  if (buf == NULL) return PyErr_NoMemory();
  const char *r = guise_url_redact(u, buf, cap);
  PyObject *out = PyUnicode_DecodeUTF8(r, (Py_ssize_t)strlen(r), "surrogateescape");
  free(buf);
  return out;
}

static PyMethodDef mod_methods[] = {
    {"_record_dict", mod_record_dict, METH_VARARGS,
     "_record_dict(record: bytes, loads): a record's JSON as guise.batch gives it (tests)."},
    {"url_redact", mod_url_redact, METH_O, "The URL with its password written as ***."},
    {"err_name", mod_err_name, METH_O, "Stable name of a GUISE_E_* code."},
    {"err_class", mod_err_class, METH_O, "Class of a GUISE_E_* code (\"dns\", \"tls\", ...)."},
    {"strerror", mod_strerror, METH_O, "Description of a GUISE_E_* code."},
    {"version", mod_version, METH_NOARGS, "Versions of libguise and the libraries in it."},
    {"profiles", mod_profiles, METH_NOARGS, "Names of the built-in profiles."},
    {"default_profile", mod_default_profile, METH_NOARGS, "The default profile's name."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "guise._guise",
                                 "The C engine of the guise package (internal).", -1, mod_methods,
                                 NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__guise(void) {
  if (PyType_Ready(&EngineType) < 0 || PyType_Ready(&BatchType) < 0) return NULL;
  for (size_t i = 0; i < REC_NKEYS; i++)
    if (rec_keys[i] == NULL) {
      if ((rec_keys[i] = PyUnicode_InternFromString(rec_key_names[i])) == NULL) return NULL;
      rec_key_len[i] = strlen(rec_key_names[i]);
    }
  PyObject *m = PyModule_Create(&mod);
  if (m == NULL) return NULL;
  GuiseErrorBase = PyErr_NewException("guise._guise.Error", NULL, NULL);
  if (GuiseErrorBase == NULL || PyModule_AddObjectRef(m, "Error", GuiseErrorBase) ||
      PyModule_AddObjectRef(m, "Engine", (PyObject *)&EngineType) ||
      PyModule_AddObjectRef(m, "Batch", (PyObject *)&BatchType) ||
      PyModule_AddIntConstant(m, "BODY_DISCARD", GUISE_BODY_DISCARD) ||
      PyModule_AddIntConstant(m, "BODY_TEXT", GUISE_BODY_TEXT) ||
      PyModule_AddIntConstant(m, "BODY_BASE64", GUISE_BODY_BASE64) ||
      PyModule_AddIntConstant(m, "BODY_DIR", GUISE_BODY_DIR)) {
    Py_DECREF(m);
    return NULL;
  }
  return m;
}
