/* redis_conn.c — see redis_conn.h. */
#include "redis_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "guise.h"

static struct timeval ms_tv(unsigned ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  return tv;
}

int rconn_init(rconn *r, const char *prog, const char *text) {
  memset(r, 0, sizeof(*r));
  r->prog = prog;
  char err[256];
  if (redis_url_parse(text, strlen(text), &r->url, err, sizeof(err)) != 0) {
    char shown[REDIS_URL_MAX + 16];
    redis_url_redact_raw(text, strlen(text), shown, sizeof(shown));
    fprintf(stderr, "%s: %s: %s\n", prog, shown, err);
    return -1;
  }
  redis_url_shown(&r->url, r->shown, sizeof(r->shown));
  if (r->url.tls) {
    fprintf(stderr,
            "%s: %s: rediss:// (TLS to Redis) is not available: this build's hiredis (0.14, Debian bookworm)\n"
            "  has no TLS; reach Redis through a TLS tunnel (stunnel) and give redis:// to its local end\n",
            prog, r->shown);
    return -1;
  }
  return 0;
}

/* |why| from a reply or the context, escaped (it is the server's text). */
static void set_why(rconn *r, const char *what, const char *text) {
  char shown[200];
  guise_escape_text(text, strlen(text), shown, sizeof(shown));
  snprintf(r->why, sizeof(r->why), "%s%s%s", what, what[0] ? ": " : "", shown);
}

void rconn_close(rconn *r) {
  if (r->c) redisFree(r->c);
  r->c = NULL;
}

int rconn_open(rconn *r) {
  rconn_close(r);
  redisContext *c = redisConnectWithTimeout(r->url.host, (int)r->url.port, ms_tv(RCONN_CONNECT_MS));
  if (c == NULL) {
    snprintf(r->why, sizeof(r->why), "out of memory");
    return -1;
  }
  if (c->err) {
    set_why(r, "", c->errstr);
    redisFree(c);
    return -1;
  }
  redisSetTimeout(c, ms_tv(RCONN_COMMAND_MS));
  r->c = c;
  r->opening = 1;
  if (r->url.has_password) {
    rargs a = {0};
    rargs_add(&a, "AUTH");
    if (r->url.user[0]) rargs_add(&a, r->url.user);
    rargs_add(&a, r->url.password);
    redisReply *rep = rconn_cmd(r, a.n, a.v, a.len);
    if (rep == NULL) return -1;
    int bad = rep->type == REDIS_REPLY_ERROR;
    /* Redis' AUTH errors (WRONGPASS, ...) never hold the password. */
    if (bad) set_why(r, "AUTH refused", rep->str);
    freeReplyObject(rep);
    if (bad) {
      rconn_close(r);
      return -1;
    }
  }
  if (r->url.db > 0) {
    char db[24];
    snprintf(db, sizeof(db), "%ld", r->url.db);
    rargs a = {0};
    rargs_add(&a, "SELECT");
    rargs_add(&a, db);
    redisReply *rep = rconn_cmd(r, a.n, a.v, a.len);
    if (rep == NULL) return -1;
    int bad = rep->type == REDIS_REPLY_ERROR;
    if (bad) set_why(r, "SELECT refused", rep->str);
    freeReplyObject(rep);
    if (bad) {
      rconn_close(r);
      return -1;
    }
  }
  r->opening = 0;
  return 0;
}

static double mono_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int rconn_reopen(rconn *r, const atomic_int *stop, const char *note) {
  if (!r->out) {
    r->out = 1;
    r->said = 0;
    r->tries = 0;
    r->backoff = RCONN_BACKOFF_MIN_MS;
    r->t0 = mono_s();
  }
  for (;;) {
    if (r->tries > 0) {
      /* The last connection failed (to connect, or before its first reply). */
      double now = mono_s();
      if (!r->said) {
        fprintf(stderr, "%s: waiting for Redis %s: %s; reconnecting with backoff (up to %u s)%s%s\n", r->prog,
                r->shown, r->why, RCONN_BACKOFF_MAX_MS / 1000, note && note[0] ? "; " : "", note ? note : "");
        r->said = 1;
        r->last_said = now;
      } else if (now - r->last_said >= RCONN_REMIND_MS / 1000.0) {
        fprintf(stderr, "%s: still waiting for Redis %s after %.0f s (%lu connections tried): %s%s%s\n", r->prog,
                r->shown, now - r->t0, r->tries, r->why, note && note[0] ? "; " : "", note ? note : "");
        r->last_said = now;
      }
      /* Full jitter over the doubling delay: many workers do not reconnect in step. */
      unsigned wait = r->backoff / 2 + (unsigned)(rand() % (int)(r->backoff / 2 + 1));
      for (unsigned slept = 0; slept < wait; slept += 50) {
        if (stop && atomic_load(stop)) return -1;
        usleep(50 * 1000);
      }
      r->backoff = r->backoff * 2 > RCONN_BACKOFF_MAX_MS ? RCONN_BACKOFF_MAX_MS : r->backoff * 2;
    }
    if (stop && atomic_load(stop)) return -1;
    r->tries++;
    if (rconn_open(r) == 0) return 0; /* the outage ends at the first reply (rconn_cmd) */
  }
}

/* Writes |n| in decimal at |p|; the end. */
static char *put_dec(char *p, size_t n) {
  char tmp[24];
  int k = 0;
  do {
    tmp[k++] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  while (k) *p++ = tmp[--k];
  return p;
}

/* The command in RESP (an array of bulk strings: "*N\r\n" then "$LEN\r\nDATA\r\n"
 * per argument) in one allocation, as hiredis' redisFormatCommandArgv makes it
 * but without its per-argument string growth (a fifth of a job's cost in
 * guise batch redis:// went to that formatting). NULL: out of memory. */
static char *format_command(int argc, const char **argv, const size_t *lens, size_t *out_len) {
  size_t total = 1 + 20 + 2;
  for (int i = 0; i < argc; i++) total += 1 + 20 + 2 + lens[i] + 2;
  char *buf = malloc(total);
  if (buf == NULL) return NULL;
  char *p = buf;
  *p++ = '*';
  p = put_dec(p, (size_t)argc);
  *p++ = '\r', *p++ = '\n';
  for (int i = 0; i < argc; i++) {
    *p++ = '$';
    p = put_dec(p, lens[i]);
    *p++ = '\r', *p++ = '\n';
    memcpy(p, argv[i], lens[i]);
    p += lens[i];
    *p++ = '\r', *p++ = '\n';
  }
  *out_len = (size_t)(p - buf);
  return buf;
}

redisReply *rconn_cmd(rconn *r, int argc, const char **argv, const size_t *lens) {
  if (r->c == NULL) {
    snprintf(r->why, sizeof(r->why), "not connected");
    return NULL;
  }
  redisReply *rep = NULL;
  size_t cmd_len = 0;
  char *cmd = format_command(argc, argv, lens, &cmd_len);
  if (cmd == NULL) {
    /* Out of memory: the command is not sent; treated as a lost connection
     * (the caller reconnects and sends it again). */
    snprintf(r->why, sizeof(r->why), "out of memory for a command");
    rconn_close(r);
    return NULL;
  }
  void *out = NULL;
  if (redisAppendFormattedCommand(r->c, cmd, cmd_len) == REDIS_OK && redisGetReply(r->c, &out) == REDIS_OK)
    rep = out;
  free(cmd);
  if (rep == NULL) {
    set_why(r, "", r->c->errstr[0] ? r->c->errstr : "connection lost");
    rconn_close(r);
  } else if (r->out && !r->opening) {
    /* A reply after a reconnection: the outage is over. */
    if (r->said)
      fprintf(stderr, "%s: Redis %s is back after %.1f s\n", r->prog, r->shown, mono_s() - r->t0);
    r->out = 0;
  }
  return rep;
}

void rargs_add(rargs *a, const char *s) {
  rargs_addn(a, s, strlen(s));
}

void rargs_addn(rargs *a, const char *s, size_t n) {
  if (a->n == RARGS_MAX) abort(); /* a programming error: the vectors are fixed */
  a->v[a->n] = s;
  a->len[a->n++] = n;
}

const redisReply *rreply_field(const redisReply *map, const char *name) {
  if (map == NULL || map->type != REDIS_REPLY_ARRAY) return NULL;
  for (size_t i = 0; i + 1 < map->elements; i += 2) {
    const redisReply *k = map->element[i];
    if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && strlen(name) == k->len &&
        memcmp(k->str, name, k->len) == 0)
      return map->element[i + 1];
  }
  return NULL;
}

int rreply_field_int(const redisReply *map, const char *name, long long *v) {
  const redisReply *f = rreply_field(map, name);
  if (f == NULL || f->type != REDIS_REPLY_INTEGER) return -1;
  *v = f->integer;
  return 0;
}

int rreply_transient(const redisReply *rep) {
  static const char *const codes[] = {"LOADING", "BUSY ", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"};
  if (rep == NULL || rep->type != REDIS_REPLY_ERROR) return 0;
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strncmp(rep->str, codes[i], strlen(codes[i])) == 0) return 1;
  return 0;
}
