/* dns.c — c-ares on libuv, cache and overrides (see dns.h). */
#include "dns.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <openssl/bytestring.h>

#include "guise.h"

/* Answers are kept this long at most (browsers keep about a minute: Chrome's
 * host cache uses the record TTL capped at 60 s for system resolution). */
#define DNS_CACHE_MS 60000
/* Cache and override entries: bounded, the oldest answers go first. */
#define DNS_CACHE_MAX 4096
#define DNS_OVERRIDES_MAX 16384 /* --resolve entries; a crawl of many names on loopback */
/* --dns-servers: entries (c-ares tries them in turn: more only add waiting),
 * and the length of the whole option. */
#define DNS_MAX_SERVERS 8
#define DNS_MAX_SERVERS_TEXT "8"
#define DNS_SERVERS_MAX_LEN 1024
/* Poll handles: c-ares keeps a UDP and a TCP socket per server at most, and a
 * closed socket's handle holds its slot until the loop has run its close
 * callback, while the socket that replaces it takes another. */
#define DNS_MAX_SOCKETS (4 * DNS_MAX_SERVERS)
/* Error reports in a row on one socket after which its poll handle is not
 * started again (on_poll). */
#define DNS_POLL_ERRORS_MAX 8
/* The servers as messages name them: as many whole "ip:port" as fit, then
 * "and N more" (a message, with a host name, fits a 160-byte error detail). */
#define DNS_SERVERS_TEXT 80

typedef struct answer {
  char host[256]; /* RFC 1035: 253 characters at most */
  unsigned port;  /* 0 in cache entries: any port */
  uint64_t expires;
  size_t n;
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
} answer;

/* A poll handle on one of c-ares's sockets. The slot is taken from
 * uv_poll_init_socket until the close callback has run (libuv: the memory of a
 * closing handle is not reusable before then); |active| is cleared the moment
 * uv_close is called. c-ares closes a socket and opens the next one in the same
 * call (a UDP read that gets ECONNREFUSED, a TCP server that hangs up, the TC
 * bit's retry over TCP), and the new socket usually has the same number: it gets
 * a new slot, never the closing handle. */
typedef struct watcher {
  uv_poll_t poll;
  ares_socket_t fd;
  int in_use;
  int active;
  int events;                  /* UV_READABLE | UV_WRITABLE, as c-ares asked */
  unsigned errors;             /* error reports in a row, see on_poll */
  dns *d;
} watcher;

typedef struct query query;

struct dns {
  uv_loop_t *loop;
  ares_channel channel;
  uv_timer_t timer;            /* made with the first query that goes to c-ares */
  int timer_ready;
  int closing;
  int cancel_idle;             /* no caller waits: cancel c-ares's queries from the timer */
  int open_handles;            /* the timer and the watchers whose close has not ended */
  watcher watchers[DNS_MAX_SOCKETS];
  query *queries;              /* every query c-ares holds, abandoned ones included */
  size_t n_waiting;            /* those whose caller still waits */
  char servers[DNS_SERVERS_TEXT]; /* "DNS server 127.0.0.1:5353", for messages */
  answer *overrides;           /* grown on demand up to DNS_OVERRIDES_MAX */
  size_t n_overrides, cap_overrides;
  answer *cache;               /* grown on demand up to DNS_CACHE_MAX */
  size_t n_cache, cap_cache;
  int family;                  /* AF_UNSPEC, or the one family asked for (-4, -6) */
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

/* One ares_getaddrinfo. |cb| NULL: abandoned by dns_cancel, freed when c-ares
 * ends it. */
struct query {
  query *next, *prev;
  dns *d;
  dns_cb cb;
  void *ud;
  unsigned port;
  char host[256];
};

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
static void watcher_close(watcher *w);

static void on_poll(uv_poll_t *p, int status, int events) {
  watcher *w = p->data;
  dns *d = w->d;
  if (!w->active || d->closing) return;
  ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
  if (status < 0 || (events & UV_READABLE)) rfd = w->fd;
  if (status < 0 || (events & UV_WRITABLE)) wfd = w->fd;
  w->errors = status < 0 ? w->errors + 1 : 0;
  /* c-ares may close |w| and open other slots from inside; |w| itself stays
   * valid memory until its close callback. */
  ares_process_fd(d->channel, rfd, wfd);
  /* On an error (POLLERR: a TCP server that reset the connection, an ICMP
   * error on UDP) libuv stops the handle. c-ares reads the error out and closes
   * the socket — unless it first had an answer to read there, and then keeps
   * the socket and waits for it, which needs the handle running again. Bounded:
   * an error that c-ares never consumes leaves the query to the timeouts. */
  if (status < 0 && w->active && !d->closing && w->errors <= DNS_POLL_ERRORS_MAX &&
      uv_poll_start(&w->poll, w->events, on_poll) != 0)
    watcher_close(w);
  process_timeouts(d);
}

static void on_timer(uv_timer_t *t) {
  dns *d = t->data;
  if (d->cancel_idle) {
    /* Every query left was abandoned (its connection timed out): end them so
     * that c-ares closes its sockets and stops retrying (up to 75 s with its
     * defaults) — nothing of ours then keeps the loop alive. ares_cancel is
     * called from here, never from inside a c-ares callback. */
    d->cancel_idle = 0;
    if (d->n_waiting == 0 && d->queries) ares_cancel(d->channel);
  }
  ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  process_timeouts(d);
}

static void process_timeouts(dns *d) {
  if (d->closing) return;
  if (d->cancel_idle) {
    uv_timer_start(&d->timer, on_timer, 0, 0);
    return;
  }
  struct timeval tv, *next = ares_timeout(d->channel, NULL, &tv);
  if (next == NULL) {
    uv_timer_stop(&d->timer);
    return;
  }
  uint64_t ms = (uint64_t)next->tv_sec * 1000 + (uint64_t)next->tv_usec / 1000 + 1;
  uv_timer_start(&d->timer, on_timer, ms, 0);
}

/* A handle's close has ended; the last one of a closing resolver frees it. */
static void handle_closed(dns *d) {
  if (--d->open_handles > 0 || !d->closing) return;
  free(d->overrides);
  free(d->cache);
  free(d);
}

static void on_watcher_closed(uv_handle_t *h) {
  watcher *w = h->data;
  dns *d = w->d;
  w->in_use = 0;
  handle_closed(d);
}

static void watcher_close(watcher *w) {
  w->active = 0;
  w->fd = ARES_SOCKET_BAD;
  uv_close((uv_handle_t *)&w->poll, on_watcher_closed);
}

/* c-ares tells which sockets to watch for what; (fd, 0, 0): it is closing fd. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable) {
  dns *d = data;
  watcher *w = NULL;
  for (size_t i = 0; i < DNS_MAX_SOCKETS && w == NULL; i++)
    if (d->watchers[i].active && d->watchers[i].fd == fd) w = &d->watchers[i];
  if (!readable && !writable) {
    if (w) watcher_close(w);
    return;
  }
  if (w == NULL) {
    for (size_t i = 0; i < DNS_MAX_SOCKETS && w == NULL; i++)
      if (!d->watchers[i].in_use) w = &d->watchers[i];
    /* No slot, or libuv refuses the socket: the query waits for c-ares's
     * timeout, and the connection that asked for it for its own. */
    if (w == NULL || uv_poll_init_socket(d->loop, &w->poll, fd) != 0) return;
    w->in_use = 1;
    w->active = 1;
    w->fd = fd;
    w->d = d;
    w->poll.data = w;
    d->open_handles++;
  }
  w->events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  if (uv_poll_start(&w->poll, w->events, on_poll) != 0) watcher_close(w);
}

/* "ip:port" of one server ("[ip6]:port"); port 0 is c-ares's default, 53. */
static void server_name(const struct ares_addr_port_node *n, char *out, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = n->udp_port ? n->udp_port : 53;
  if (n->family == AF_INET) {
    inet_ntop(AF_INET, &n->addr.addr4, ip, sizeof(ip));
    snprintf(out, cap, "%s:%d", ip, port);
  } else {
    inet_ntop(AF_INET6, &n->addr.addr6, ip, sizeof(ip));
    snprintf(out, cap, "[%s]:%d", ip, port);
  }
}

/* d->servers from c-ares's list (resolv.conf's, or --dns-servers): the
 * servers by name while they fit, then how many more. */
static void describe_servers(dns *d) {
  struct ares_addr_port_node *list = NULL;
  snprintf(d->servers, sizeof(d->servers), "the DNS server");
  if (ares_get_servers_ports(d->channel, &list) != ARES_SUCCESS) return;
  size_t n = 0;
  for (struct ares_addr_port_node *p = list; p; p = p->next) n++;
  if (n > 0) {
    const size_t more = sizeof(" and 99 more");
    size_t at = (size_t)snprintf(d->servers, sizeof(d->servers), "DNS server%s", n > 1 ? "s" : "");
    size_t i = 0;
    for (struct ares_addr_port_node *p = list; p; p = p->next, i++) {
      char one[INET6_ADDRSTRLEN + 16];
      server_name(p, one, sizeof(one));
      size_t need = strlen(one) + 2 + (p->next ? more : 1);
      if (at + need > sizeof(d->servers)) break;
      at += (size_t)snprintf(d->servers + at, sizeof(d->servers) - at, "%s%s", i ? ", " : " ", one);
    }
    if (i < n) snprintf(d->servers + at, sizeof(d->servers) - at, " and %zu more", n - i);
  }
  ares_free_data(list);
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
    free(d);
    return GUISE_E_DNS_FAILED;
  }
  describe_servers(d);
  *out = d;
  return 0;
}

/* The loop's handles come with the first query: a resolver that never asked
 * c-ares anything (a client refused at creation, one that only used --resolve
 * and IP literals) holds none, and dns_free ends it at once. */
static void timer_ready(dns *d) {
  if (d->timer_ready) return;
  uv_timer_init(d->loop, &d->timer);
  d->timer.data = d;
  d->timer_ready = 1;
  d->open_handles++;
}

static void on_timer_closed(uv_handle_t *h) { handle_closed(h->data); }

/* The destruction itself, from the loop: c-ares must not be destroyed from
 * inside one of its own callbacks, where dns_free is usually called. */
static void destroy_now(uv_timer_t *t) {
  dns *d = t->data;
  /* Ends pending queries (ARES_EDESTRUCTION: their callbacks run, abandoned
   * ones are freed) and closes c-ares's sockets, which reports each through
   * on_sock_state so that its watcher closes. */
  ares_destroy(d->channel);
  for (size_t i = 0; i < DNS_MAX_SOCKETS; i++)
    if (d->watchers[i].active) watcher_close(&d->watchers[i]);
  uv_close((uv_handle_t *)&d->timer, on_timer_closed);
}

void dns_free(dns *d) {
  if (d == NULL || d->closing) return;
  d->closing = 1;
  if (!d->timer_ready) { /* no handle, no query, not inside c-ares */
    ares_destroy(d->channel);
    free(d->overrides);
    free(d->cache);
    free(d);
    return;
  }
  uv_timer_stop(&d->timer);
  uv_timer_start(&d->timer, destroy_now, 0, 0);
}

const char *dns_servers_text(const dns *d) { return d->servers; }

/* |in| (|len| bytes) for a message: printable ASCII as it is, the rest \xHH,
 * cut at |cap|. */
static void quote_entry(const char *in, size_t len, char *out, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t at = 0;
  for (size_t i = 0; i < len && at + 5 < cap; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c >= 0x20 && c < 0x7f) {
      out[at++] = (char)c;
    } else {
      out[at++] = '\\';
      out[at++] = 'x';
      out[at++] = hex[c >> 4];
      out[at++] = hex[c & 15];
    }
  }
  if (cap) out[at < cap ? at : cap - 1] = '\0';
}

/* One --dns-servers entry: "ipv4", "ipv4:port", "ipv6", "[ipv6]", "[ipv6]:port".
 * 0 and |*node|, or -1 with the reason in |why|. */
static int parse_server(CBS *entry, struct ares_addr_port_node *node, const char **why) {
  char ip[INET6_ADDRSTRLEN + 1];
  CBS addr, port_text;
  CBS_init(&port_text, NULL, 0);
  uint8_t c;
  const uint8_t *data = CBS_data(entry);
  size_t len = CBS_len(entry);
  const uint8_t *colon = memchr(data, ':', len);
  int bracketed = len > 0 && data[0] == '[';
  if (bracketed) {
    const uint8_t *close = memchr(data, ']', len);
    if (close == NULL) {
      *why = "'[' without ']'";
      return -1;
    }
    CBS rest = *entry;
    if (!CBS_skip(&rest, 1) || !CBS_get_bytes(&rest, &addr, (size_t)(close - data) - 1) || !CBS_skip(&rest, 1)) {
      *why = "'[' without ']'";
      return -1;
    }
    if (CBS_len(&rest) > 0) {
      if (!CBS_get_u8(&rest, &c) || c != ':') {
        *why = "text after ']' that is not :PORT";
        return -1;
      }
      port_text = rest;
      if (CBS_len(&port_text) == 0) {
        *why = "the port is empty";
        return -1;
      }
    }
  } else if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - data) - 1) == NULL) {
    /* one colon: ipv4:port */
    CBS rest = *entry;
    if (!CBS_get_bytes(&rest, &addr, (size_t)(colon - data)) || !CBS_skip(&rest, 1)) {
      *why = "not IP[:PORT]";
      return -1;
    }
    port_text = rest;
    if (CBS_len(&port_text) == 0) {
      *why = "the port is empty";
      return -1;
    }
  } else {
    addr = *entry; /* an IPv4 address, or an IPv6 one without brackets (no port) */
  }
  if (CBS_len(&addr) == 0 || CBS_len(&addr) >= sizeof(ip)) {
    *why = CBS_len(&addr) == 0 ? "the address is empty" : "not an IP address";
    return -1;
  }
  memcpy(ip, CBS_data(&addr), CBS_len(&addr));
  ip[CBS_len(&addr)] = '\0';
  memset(node, 0, sizeof(*node));
  if (!bracketed && inet_pton(AF_INET, ip, &node->addr.addr4) == 1) {
    node->family = AF_INET;
  } else if (inet_pton(AF_INET6, ip, &node->addr.addr6) == 1) {
    node->family = AF_INET6;
  } else {
    *why = bracketed ? "not an IPv6 address inside [ ]" : "not an IP address (a name is not allowed: IPv4 a.b.c.d, IPv6 in [ ] with a port)";
    return -1;
  }
  unsigned port = 53;
  if (CBS_len(&port_text) > 0) {
    port = 0;
    while (CBS_get_u8(&port_text, &c)) {
      if (c < '0' || c > '9') {
        *why = "the port is not a number";
        return -1;
      }
      port = port * 10 + (unsigned)(c - '0');
      if (port > 65535) {
        *why = "the port is out of range (1-65535)";
        return -1;
      }
    }
    if (port == 0) {
      *why = "the port is out of range (1-65535)";
      return -1;
    }
  }
  node->udp_port = node->tcp_port = (int)port;
  return 0;
}

/* Reads "entry[,entry...]" into |nodes| (DNS_MAX_SERVERS), linked in order. */
static int parse_servers(const char *servers, struct ares_addr_port_node *nodes, size_t *n, char *err,
                         size_t errlen) {
  if (err && errlen) err[0] = '\0';
  *n = 0;
  if (servers == NULL || servers[0] == '\0') {
    if (err) snprintf(err, errlen, "no server given (IP[:PORT][,IP[:PORT]...])");
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  size_t total = strnlen(servers, DNS_SERVERS_MAX_LEN + 1);
  if (total > DNS_SERVERS_MAX_LEN) {
    if (err) snprintf(err, errlen, "longer than %d characters", DNS_SERVERS_MAX_LEN);
    return GUISE_E_USAGE_INVALID_ARGUMENT;
  }
  CBS list;
  CBS_init(&list, (const uint8_t *)servers, total);
  for (size_t k = 1;; k++) {
    const uint8_t *comma = memchr(CBS_data(&list), ',', CBS_len(&list));
    size_t len = comma ? (size_t)(comma - CBS_data(&list)) : CBS_len(&list);
    CBS entry;
    if (!CBS_get_bytes(&list, &entry, len)) return GUISE_E_USAGE_INVALID_ARGUMENT;
    const char *why = NULL;
    if (len == 0) why = "empty";
    else if (*n == DNS_MAX_SERVERS) why = "one server too many (at most " DNS_MAX_SERVERS_TEXT ")";
    else if (parse_server(&entry, &nodes[*n], &why) == 0) {
      if (*n) nodes[*n - 1].next = &nodes[*n];
      (*n)++;
    }
    if (len == 0) {
      if (err) snprintf(err, errlen, "entry %zu is empty", k);
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    if (why) {
      char q[80];
      quote_entry((const char *)CBS_data(&entry), CBS_len(&entry), q, sizeof(q));
      if (err) snprintf(err, errlen, "entry %zu \"%s\": %s", k, q, why);
      return GUISE_E_USAGE_INVALID_ARGUMENT;
    }
    if (comma == NULL) break;
    CBS_skip(&list, 1);
  }
  return 0;
}

int guise_dns_servers_check(const char *servers, char *err, unsigned errlen) {
  struct ares_addr_port_node nodes[DNS_MAX_SERVERS];
  size_t n;
  return parse_servers(servers, nodes, &n, err, errlen);
}

int dns_set_servers(dns *d, const char *servers) {
  struct ares_addr_port_node nodes[DNS_MAX_SERVERS];
  size_t n;
  int e = parse_servers(servers, nodes, &n, NULL, 0);
  if (e) return e;
  if (ares_set_servers_ports(d->channel, nodes) != ARES_SUCCESS) return GUISE_E_USAGE_INVALID_ARGUMENT;
  describe_servers(d);
  return 0;
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

static const char *family_name(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

/* The addresses of |a| of the resolver's family, or DNS_NOT_FOUND naming it:
 * --resolve entries and IP literals are held to -4/-6 as c-ares's answers are
 * (curl: "Could not resolve host"). */
static void answer_with(const dns *d, const char *host, const answer *a, unsigned port, int literal, dns_cb cb,
                        void *ud) {
  struct sockaddr_storage addrs[DNS_MAX_ADDRS];
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++) {
    if (d->family != AF_UNSPEC && a->addrs[i].ss_family != d->family) continue;
    addrs[n] = a->addrs[i];
    set_port(&addrs[n++], port);
  }
  if (n == 0) {
    /* An IP literal of the other version is not a name that was not found:
     * it cannot be connected to (curl: 7). */
    char why[DNS_WHY_MAX];
    if (literal)
      snprintf(why, sizeof(why), "%.60s is an %s address, and %s only was asked for", host,
               family_name(d->family == AF_INET ? AF_INET6 : AF_INET), family_name(d->family));
    else
      snprintf(why, sizeof(why), "%.60s: no %s address (%s only)", host, family_name(d->family),
               family_name(d->family));
    cb(literal ? GUISE_E_CONNECT_FAILED : GUISE_E_DNS_NOT_FOUND, NULL, 0, why, ud);
    return;
  }
  cb(0, addrs, n, "", ud);
}

void dns_set_family(dns *d, int family) {
  d->family = family == AF_INET || family == AF_INET6 ? family : AF_UNSPEC;
}

static void query_unlink(query *q) {
  dns *d = q->d;
  if (q->prev) q->prev->next = q->next;
  else d->queries = q->next;
  if (q->next) q->next->prev = q->prev;
  if (q->cb) d->n_waiting--;
}

/* c-ares's status as the caller's error, and a line that says what happened
 * and who said so. */
static int query_error(const dns *d, const query *q, int status, char *why, size_t cap) {
  const char *servers = d->servers;
  switch (status) {
    case ARES_ENOTFOUND:
      snprintf(why, cap, "%.60s: no such name (asked %s)", q->host, servers);
      return GUISE_E_DNS_NOT_FOUND;
    case ARES_ENODATA:
      snprintf(why, cap, "%.60s: the name has no address (asked %s)", q->host, servers);
      return GUISE_E_DNS_NOT_FOUND;
    case ARES_ECONNREFUSED:
      /* c-ares's status when every try met a closed port (ICMP port
       * unreachable on UDP, a refused or dropped TCP connection) or an answer
       * REFUSED or SERVFAIL (it then asks the next server, and tells no more):
       * the server is not serving us, which says nothing of the name. */
      snprintf(why, cap, "%s refused or unreachable (REFUSED or SERVFAIL, or nothing listens)", servers);
      return GUISE_E_DNS_FAILED;
    case ARES_EREFUSED:
      snprintf(why, cap, "%s refused the query (REFUSED)", servers);
      return GUISE_E_DNS_FAILED;
    case ARES_ESERVFAIL:
      snprintf(why, cap, "%s failed to answer (SERVFAIL)", servers);
      return GUISE_E_DNS_FAILED;
    case ARES_ETIMEOUT:
      snprintf(why, cap, "no answer from %s", servers);
      return GUISE_E_DNS_FAILED;
    case ARES_EBADRESP:
    case ARES_EFORMERR:
      snprintf(why, cap, "%s sent a malformed answer", servers);
      return GUISE_E_DNS_FAILED;
    case ARES_EBADNAME:
      snprintf(why, cap, "%.60s: not a name DNS can look up", q->host);
      return GUISE_E_DNS_FAILED;
    case ARES_ENOMEM:
      snprintf(why, cap, "out of memory in name resolution");
      return GUISE_E_NOMEM;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      snprintf(why, cap, "name resolution cancelled");
      return GUISE_E_CANCELLED;
    default:
      snprintf(why, cap, "name resolution failed (%s, asked %s)", ares_strerror(status), servers);
      return GUISE_E_DNS_FAILED;
  }
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res) {
  (void)timeouts;
  query *q = arg;
  dns *d = q->d;
  query_unlink(q);
  if (q->cb == NULL) { /* abandoned: nobody waits */
    if (res) ares_freeaddrinfo(res);
    free(q);
    return;
  }
  char why[DNS_WHY_MAX];
  if (status != ARES_SUCCESS || res == NULL) {
    int err = query_error(d, q, status == ARES_SUCCESS ? ARES_ENODATA : status, why, sizeof(why));
    if (res) ares_freeaddrinfo(res);
    q->cb(err, NULL, 0, why, q->ud);
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
    int err = query_error(d, q, ARES_ENODATA, why, sizeof(why));
    q->cb(err, NULL, 0, why, q->ud);
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
  answer_with(d, q->host, &a, q->port, 0, q->cb, q->ud);
  free(q);
}

int dns_resolve(dns *d, const char *host, unsigned port, dns_cb cb, void *ud) {
  if (d->closing) return GUISE_E_CANCELLED;
  char lower[256];
  size_t len = strlen(host);
  if (len == 0 || len >= sizeof(lower)) return GUISE_E_USAGE_URL_MALFORMED;
  for (size_t i = 0; i <= len; i++)
    lower[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
  const answer *a = lookup(d->overrides, d->n_overrides, lower, port, 0);
  if (a == NULL) a = lookup(d->cache, d->n_cache, lower, port, uv_now(d->loop));
  if (a) {
    answer_with(d, lower, a, port, 0, cb, ud);
    return 0;
  }
  struct sockaddr_storage ip;
  if (parse_ip(lower, &ip) == 0) {
    answer lit;
    memset(&lit, 0, sizeof(lit));
    lit.addrs[0] = ip;
    lit.n = 1;
    answer_with(d, lower, &lit, port, 1, cb, ud);
    return 0;
  }
  query *q = calloc(1, sizeof(*q));
  if (q == NULL) return GUISE_E_NOMEM;
  q->d = d;
  q->cb = cb;
  q->ud = ud;
  q->port = port;
  memcpy(q->host, lower, len + 1);
  timer_ready(d);
  q->next = d->queries;
  if (d->queries) d->queries->prev = q;
  d->queries = q;
  d->n_waiting++;
  d->cancel_idle = 0;
  struct ares_addrinfo_hints hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = d->family;
  hints.ai_socktype = SOCK_STREAM;
  /* The callback may run before ares_getaddrinfo returns (a hosts-file answer,
   * a bad name): then q is gone. */
  ares_getaddrinfo(d->channel, lower, NULL, &hints, on_addrinfo, q);
  process_timeouts(d);
  return 0;
}

int dns_cancel(dns *d, void *ud) {
  int n = 0;
  for (query *q = d->queries; q; q = q->next)
    if (q->cb && q->ud == ud) {
      q->cb = NULL;
      d->n_waiting--;
      n++;
    }
  if (n && d->n_waiting == 0 && d->queries && !d->closing) {
    d->cancel_idle = 1;
    uv_timer_start(&d->timer, on_timer, 0, 0);
  }
  return n;
}
