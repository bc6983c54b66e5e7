/*
 * redis_url.h — the Redis addresses of guise enqueue and guise batch
 * (docs/REDIS.md):
 *
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]/KEY
 *   rediss://...                  (TLS: parsed, refused by the commands: hiredis 0.14)
 *
 * HOST is a name, an IPv4 address or [IPv6]; PORT 1-65535 (default 6379); DB a
 * whole number 0 to 2^31-1 (the server's "databases" setting decides which
 * exist); KEY the stream's name, percent-decoded (a '/' in it is written %2F).
 * With one path segment it is the key; with two, DB then KEY. USER and PASSWORD
 * are percent-decoded too (RFC 3986 userinfo); ":PASSWORD@" alone is the
 * default user's password (AUTH PASSWORD), "USER:PASSWORD@" an ACL user's.
 * The parser reads through BoringSSL's CBS and never copies past its caps. No
 * message it writes, and no string redis_url_shown() makes, holds the password.
 * I/O-free: no hiredis here (the unit test and the fuzz target link this file
 * alone).
 */
#ifndef GUISE_CLI_REDIS_URL_H
#define GUISE_CLI_REDIS_URL_H

#include <stddef.h>

#define REDIS_URL_MAX 4096      /* a whole URL: far above any real one */
#define REDIS_HOST_MAX 255      /* a DNS name (RFC 1035 2.3.4) or an IPv6 literal */
#define REDIS_USER_MAX 256      /* an ACL user name */
#define REDIS_PASSWORD_MAX 1024 /* an ACL password (Redis allows long ones) */
#define REDIS_KEY_MAX 1024      /* a stream's key; ours append ":done:<id>" and the like */

typedef struct redis_url {
  int tls;                          /* rediss:// */
  char host[REDIS_HOST_MAX + 1];    /* without the brackets of an IPv6 literal */
  unsigned port;
  long db;                          /* -1: none given (stay on 0) */
  char user[REDIS_USER_MAX + 1];    /* "": none (AUTH with the password alone) */
  char password[REDIS_PASSWORD_MAX + 1];
  int has_password;
  char key[REDIS_KEY_MAX + 1];
  size_t key_len;                   /* the key may hold NUL after decoding: refused */
} redis_url;

/* 1 when |s| starts with redis:// or rediss:// (any case of the scheme). */
int redis_url_is(const char *s);

/* Parses |s| (|len| bytes) into |u|. 0, or -1 with a one-line reason in |err|
 * (|errlen| bytes) that names the part that is wrong and its byte offset and
 * never holds the password. */
int redis_url_parse(const char *s, size_t len, redis_url *u, char *err, size_t errlen);

/* |u| as it may be shown: redis://[user:***@]host:port[/db]/key (the password
 * never), escaped for a terminal. Into |out| (|cap| bytes), cut if longer. */
void redis_url_shown(const redis_url *u, char *out, size_t cap);

/* |s| as it may be shown when it did not parse: everything between "://" and
 * the last '@' of the authority replaced by "***", escaped. */
void redis_url_redact_raw(const char *s, size_t len, char *out, size_t cap);

#endif
