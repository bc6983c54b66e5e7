/*
 * redis_conn.h — one connection to Redis for guise enqueue and guise batch
 * redis://... (docs/REDIS.md): hiredis' blocking API on a thread of the command
 * (the reader, the record writer), never on a worker's loop, so that libguise
 * stays free of hiredis. Connect with a timeout, AUTH (ACL user or the default
 * user's password), SELECT; after a failure, wait and reconnect with backoff,
 * saying so once per outage on stderr. Messages show the address with the
 * password hidden (redis_url_shown). rediss:// is refused: Debian bookworm's
 * hiredis 0.14 has no TLS.
 */
#ifndef GUISE_CLI_REDIS_CONN_H
#define GUISE_CLI_REDIS_CONN_H

#include <hiredis.h>
#include <stdatomic.h>
#include <stddef.h>

#include "redis_url.h"

#define RCONN_CONNECT_MS 5000   /* a connect (TCP) to Redis */
#define RCONN_COMMAND_MS 15000  /* one reply; XREADGROUP blocks 1 s of it at most */
#define RCONN_BACKOFF_MIN_MS 100
#define RCONN_BACKOFF_MAX_MS 5000
#define RCONN_REMIND_MS 30000   /* "still waiting for Redis" while an outage lasts */

typedef struct rconn {
  redis_url url;
  char shown[REDIS_HOST_MAX * 4 + REDIS_USER_MAX * 4 + REDIS_KEY_MAX * 4 + 64];
  const char *prog;  /* "guise batch", "guise enqueue": messages start with it */
  redisContext *c;   /* NULL while not connected */
  char why[256];     /* the last failure, for messages */
  /* An outage: from a lost connection until a command sent after a
   * reconnection gets its reply. A server that accepts connections and
   * closes them (a tunnel whose Redis is down, maxclients) is one outage, not
   * one per connection: the backoff goes on and it is said. */
  int out;           /* in an outage */
  int said;          /* its first line printed */
  int opening;       /* inside rconn_open: AUTH/SELECT replies do not end it */
  unsigned backoff;  /* the next wait, ms */
  unsigned long tries; /* connections tried in this outage */
  double t0, last_said;
} rconn;

/* Parses |text| into |r| (nothing connected). 0, or -1 with the message printed
 * (the URL shown redacted) — rediss:// included, with the reason. */
int rconn_init(rconn *r, const char *prog, const char *text);

/* Connects, authenticates, selects the database. 0, or -1 with r->why set. */
int rconn_open(rconn *r);

/* Reconnects until it connects or *|stop| is set (then -1): backoff from 0.1 s
 * doubling to 5 s, with jitter, over the whole outage (a connection that fails
 * again before any reply does not start over: the next call waits first); a
 * line on stderr when the outage starts ("waiting for Redis ...: WHY;
 * |note|"), one every RCONN_REMIND_MS while it lasts, and one when a command
 * gets its reply again ("Redis ... is back", printed by rconn_cmd). */
int rconn_reopen(rconn *r, const atomic_int *stop, const char *note);

void rconn_close(rconn *r);

/* One command. The reply (free it with freeReplyObject), or NULL when the
 * connection failed (closed: r->why says why; call rconn_reopen). An error
 * reply is a reply. */
redisReply *rconn_cmd(rconn *r, int argc, const char **argv, const size_t *lens);

/* 1 when |rep| is an error reply that passes (LOADING: a restarted server
 * reading its AOF; BUSY: a script running; TRYAGAIN, MASTERDOWN, CLUSTERDOWN):
 * wait and send the same command again. */
int rreply_transient(const redisReply *rep);

/* A small argument vector: strings, copied pointers and lengths (the strings
 * must live until the command is sent). */
#define RARGS_MAX 16
typedef struct rargs {
  int n;
  const char *v[RARGS_MAX];
  size_t len[RARGS_MAX];
} rargs;
void rargs_add(rargs *a, const char *s);
void rargs_addn(rargs *a, const char *s, size_t n);

/* The integer of a field of a RESP2 map reply (a flat array of name, value):
 * 0 and *v, or -1 when absent or not an integer (nil). */
int rreply_field_int(const redisReply *map, const char *name, long long *v);
/* The string field; NULL when absent or not a string. */
const redisReply *rreply_field(const redisReply *map, const char *name);

#endif
