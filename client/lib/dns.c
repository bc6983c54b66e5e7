/* dns.c — c-ares on libuv, cache and overrides (see dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>

#include "guise.h"

/* Answers are kept this long at most (browsers keep about a minute: Chrome's
 * host cache uses the record TTL capped at 60 s for system resolution). */
#define DNS_CACHE_MS 60000
/* Cache and override entries: bounded, the oldest answers go first. */
#define DNS_CACHE_MAX 4096
#define DNS_OVERRIDES_MAX 16384 /* --resolve entries; a crawl of many names on loopback */
/* Sockets c-ares may use at once (its default is a handful per server). */
#define DNS_MAX_SOCKETS 16

typedef struct answer {
  char host[256]; /* RFC 1035: 253 characters at most */
  unsigned port;  /* 0 in cache entries: any port */
  uint64_t expires;
  size_t n;
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
} answer;

typedef struct watcher {
  uv_poll_t poll;
  ares_socket_t fd;
  int in_use;
  dns *d;
} watcher;

struct dns {
  uv_loop_t *loop;
  ares_channel channel;
  uv_timer_t timer;
  int closing;
  int pending_closes;
  watcher watchers[DNS_MAX_SOCKETS];
  answer *overrides;           /* grown on demand up to DNS_OVERRIDES_MAX */
  size_t n_overrides, cap_overrides;
  answer *cache;               /* grown on demand up to DNS_CACHE_MAX */
  size_t n_cache, cap_cache;
};

/* Room for one more entry in |*arr| (|*cap| grows by doubling to |max|). */
static int reserve(answer **arr, size_t n, size_t *cap, size_t max) {
  if (n < *cap) return 0;
  if (*cap >= max) return -1;
  size_t nc = *cap ? *cap * 2 : 4;
  if (nc > max) nc = max;
  answer *p = realloc(*arr, nc * sizeof(answer));
  if (p == NULL) return -1;
  *arr = p;
  *cap = nc;
  return 0;
}

typedef struct query {
  dns *d;
  dns_cb cb;
  void *ud;
  unsigned port;
  char host[256];
} query;

static void set_port(struct sockaddr_storage *ss, unsigned port) {
  if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int parse_ip(const char *s, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return 0;
  }
  char buf[64];
  size_t len = strlen(s);
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']' && len - 2 < sizeof(buf)) {
    memcpy(buf, s + 1, len - 2);
    buf[len - 2] = '\0';
    s = buf;
  }
  if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    return 0;
  }
  return -1;
}

static void process_timeouts(dns *d);

static void on_poll(uv_poll_t *p, int status, int events) {
  watcher *w = p->data;
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
  if (status < 0 || (events & UV_READABLE)) rfd = w->fd;
  if (status < 0 || (events & UV_WRITABLE)) wfd = w->fd;
  ares_process_fd(w->d->channel, rfd, wfd);
  process_timeouts(w->d);
}

static void on_timer(uv_timer_t *t) {
  dns *d = t->data;
  ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  process_timeouts(d);
}

static void process_timeouts(dns *d) {
  if (d->closing) return;
  struct timeval tv, *next = ares_timeout(d->channel, NULL, &tv);
  if (next == NULL) {
    uv_timer_stop(&d->timer);
    return;
  }
  uint64_t ms = (uint64_t)next->tv_sec * 1000 + (uint64_t)next->tv_usec / 1000 + 1;
  uv_timer_start(&d->timer, on_timer, ms, 0);
}

/* While closing, every handle's close callback releases one hold on |d|. */
static void release(dns *d) {
  if (--d->pending_closes > 0) return;
  free(d->overrides);
  free(d->cache);
  free(d);
}

static void on_watcher_closed(uv_handle_t *h) {
  watcher *w = h->data;
  w->in_use = 0;
  if (w->d->closing) release(w->d);
}

/* c-ares tells which sockets to watch for what. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  dns *d = data;
  watcher *w = NULL;
  for (size_t i = 0; i < DNS_MAX_SOCKETS; i++)
    if (d->watchers[i].in_use && d->watchers[i].fd == fd) w = &d->watchers[i];
  if (!readable && !writable) {
    if (w && !uv_is_closing((uv_handle_t *)&w->poll)) {
      if (d->closing) d->pending_closes++;
      uv_close((uv_handle_t *)&w->poll, on_watcher_closed);
    }
    return;
  }
  if (w == NULL) {
    for (size_t i = 0; i < DNS_MAX_SOCKETS && w == NULL; i++)
      if (!d->watchers[i].in_use) w = &d->watchers[i];
    if (w == NULL) return; /* c-ares will time the query out */
    w->in_use = 1;
    w->fd = fd;
    w->d = d;
    uv_poll_init_socket(d->loop, &w->poll, fd);
    w->poll.data = w;
  }
  uv_poll_start(&w->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static void ares_init_once(void) { ares_library_init(ARES_LIB_INIT_ALL); }

int dns_new(uv_loop_t *loop, dns **out) {
  dns *d = calloc(1, sizeof(*d));
  if (d == NULL) return GUISE_E_NOMEM;
  d->loop = loop;
  struct ares_options opts;
  memset(&opts, 0, sizeof(opts));
  opts.sock_state_cb = on_sock_state;
  opts.sock_state_cb_data = d;
  pthread_once(&ares_once, ares_init_once); /* worker threads each make a resolver */
  if (ares_init_options(&d->channel, &opts, ARES_OPT_SOCK_STATE_CB) != ARES_SUCCESS) {
    free(d->overrides);
    free(d->cache);
    free(d);
    return GUISE_E_DNS_FAILED;
  }
  uv_timer_init(loop, &d->timer);
  d->timer.data = d;
  *out = d;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) { release(h->data); }

/* The destruction itself, from the loop: c-ares must not be destroyed from
 * inside one of its own callbacks, where dns_free is usually called. */
static void destroy_now(uv_timer_t *t) {
  dns *d = t->data;
  /* dns_free holds one for the timer; each watcher closed from now on adds one. */
  /* Ends pending queries (ARES_EDESTRUCTION) and closes c-ares's sockets, which
   * reports each through on_sock_state so that its watcher closes. */
  ares_destroy(d->channel);
  for (size_t i = 0; i < DNS_MAX_SOCKETS; i++) {
    watcher *w = &d->watchers[i];
    if (w->in_use && !uv_is_closing((uv_handle_t *)&w->poll)) {
      d->pending_closes++;
      uv_close((uv_handle_t *)&w->poll, on_watcher_closed);
    }
  }
  uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

void dns_free(dns *d) {
  if (d == NULL || d->closing) return;
  d->closing = 1;
  d->pending_closes = 1; /* released when the timer closes, in destroy_now */
  uv_timer_stop(&d->timer);
  uv_timer_start(&d->timer, destroy_now, 0, 0);
}

int dns_set_servers(dns *d, const char *servers) {
  return ares_set_servers_ports_csv(d->channel, servers) == ARES_SUCCESS
             ? 0
             : GUISE_E_USAGE_INVALID_ARGUMENT;
}

int dns_add_override(dns *d, const char *spec) {
  /* host:port:addr[,addr...] */
  const char *c1 = strchr(spec, ':');
  if (c1 == NULL || c1 == spec || (size_t)(c1 - spec) >= sizeof(d->overrides[0].host))
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  char *end;
  unsigned long port = strtoul(c1 + 1, &end, 10);
  if (*end != ':' || port == 0 || port > 65535 || d->n_overrides >= DNS_OVERRIDES_MAX)
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  answer a;
  memset(&a, 0, sizeof(a));
  memcpy(a.host, spec, (size_t)(c1 - spec));
  for (char *p = a.host; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  a.port = (unsigned)port;
  const char *p = end + 1;
  while (*p && a.n < DNS_MAX_ADDRS) {
    char ip[64];
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof(ip)) return GUISE_E_USAGE_INVALID_ARGUMENT;
    memcpy(ip, p, len);
    ip[len] = '\0';
    if (parse_ip(ip, &a.addrs[a.n]) != 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
    set_port(&a.addrs[a.n], a.port);
    a.n++;
    p += len + (p[len] == ',');
  }
  if (a.n == 0) return GUISE_E_USAGE_INVALID_ARGUMENT;
  if (reserve(&d->overrides, d->n_overrides, &d->cap_overrides, DNS_OVERRIDES_MAX) != 0)
    return GUISE_E_NOMEM;
  d->overrides[d->n_overrides++] = a;
  return 0;
}

static const answer *lookup(const answer *list, size_t n, const char *host, unsigned port,
                            uint64_t now) {
  for (size_t i = 0; i < n; i++) {
    if ((list[i].port == 0 || list[i].port == port) && strcmp(list[i].host, host) == 0 &&
        (list[i].expires == 0 || list[i].expires > now))
      return &list[i];
  }
  return NULL;
}

static void answer_with(const answer *a, unsigned port, dns_cb cb, void *ud) {
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
  memcpy(addrs, a->addrs, a->n * sizeof(addrs[0]));
  for (size_t i = 0; i < a->n; i++) set_port(&addrs[i], port);
  cb(0, addrs, a->n, ud);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  query *q = arg;
  dns *d = q->d;
  if (status != ARES_SUCCESS || res == NULL) {
    int err = status == ARES_ENOTFOUND || status == ARES_ENODATA ? GUISE_E_DNS_NOT_FOUND
              : status == ARES_EDESTRUCTION || status == ARES_ECANCELLED ? GUISE_E_CANCELLED
                                                                          : GUISE_E_DNS_FAILED;
    q->cb(err, NULL, 0, q->ud);
    if (res) ares_freeaddrinfo(res);
    free(q);
    return;
  }
  answer a;
  memset(&a, 0, sizeof(a));
  snprintf(a.host, sizeof(a.host), "%s", q->host);
  for (struct ares_addrinfo_node *n = res->nodes; n && a.n < DNS_MAX_ADDRS; n = n->ai_next) {
    if (n->ai_addrlen > sizeof(a.addrs[0])) continue;
    memcpy(&a.addrs[a.n++], n->ai_addr, n->ai_addrlen);
  }
  ares_freeaddrinfo(res);
  if (a.n == 0) {
    q->cb(GUISE_E_DNS_NOT_FOUND, NULL, 0, q->ud);
    free(q);
    return;
  }
  if (!d->closing) {
    a.expires = uv_now(d->loop) + DNS_CACHE_MS;
    if (d->n_cache == DNS_CACHE_MAX) {
      memmove(d->cache, d->cache + 1, (DNS_CACHE_MAX - 1) * sizeof(answer));
      d->n_cache--;
    }
    if (reserve(&d->cache, d->n_cache, &d->cap_cache, DNS_CACHE_MAX) == 0) d->cache[d->n_cache++] = a;
  }
  answer_with(&a, q->port, q->cb, q->ud);
  free(q);
}

int dns_resolve(dns *d, const char *host, unsigned port, dns_cb cb, void *ud) {
  char lower[256];
  size_t len = strlen(host);
  if (len == 0 || len >= sizeof(lower)) return GUISE_E_USAGE_URL_MALFORMED;
  for (size_t i = 0; i <= len; i++)
    lower[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
  const answer *a = lookup(d->overrides, d->n_overrides, lower, port, 0);
  if (a == NULL) a = lookup(d->cache, d->n_cache, lower, port, uv_now(d->loop));
  if (a) {
    answer_with(a, port, cb, ud);
    return 0;
  }
  struct sockaddr_storage ip;
  if (parse_ip(lower, &ip) == 0) {
    set_port(&ip, port);
    cb(0, &ip, 1, ud);
    return 0;
  }
  query *q = calloc(1, sizeof(*q));
  if (q == NULL) return GUISE_E_NOMEM;
  q->d = d;
  q->cb = cb;
  q->ud = ud;
  q->port = port;
  memcpy(q->host, lower, len + 1);
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(d->channel, lower, NULL, &hints, on_addrinfo, q);
  process_timeouts(d);
  return 0;
}
