/* test_redis_url — redis_url_parse (client/cli/redis_url.c): the accepted forms
 * with their fields (the forms redis-cli -u and the Redis URI scheme registered
 * with IANA, https://www.iana.org/assignments/uri-schemes/prov/redis, take:
 * redis://[[user]:password@]host[:port][/db]), the stream key after them, every
 * refusal with its reason and offset, and the password in no message and in no
 * shown form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"

static int failures;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

#define SECRET "Zq9SECRETpw"

typedef struct good_case {
  const char *url;
  int tls;
  const char *host;
  unsigned port;
  long db;
  const char *user, *password;
  const char *key;
  const char *shown;
} good_case;

static const good_case good[] = {
    {"redis://127.0.0.1:6380/jobs", 0, "127.0.0.1", 6380, -1, "", "", "jobs", "redis://127.0.0.1:6380/jobs"},
    {"redis://localhost/jobs", 0, "localhost", 6379, -1, "", "", "jobs", "redis://localhost:6379/jobs"},
    {"REDIS://h/k", 0, "h", 6379, -1, "", "", "k", "redis://h:6379/k"},
    {"redis://h:1/3/k", 0, "h", 1, 3, "", "", "k", "redis://h:1/3/k"},
    {"redis://h/0/crawl:jobs", 0, "h", 6379, 0, "", "", "crawl:jobs", "redis://h:6379/0/crawl:jobs"},
    {"redis://h/a%2Fb", 0, "h", 6379, -1, "", "", "a/b", "redis://h:6379/a/b"},
    {"redis://:" SECRET "@h/k", 0, "h", 6379, -1, "", SECRET, "k", "redis://:***@h:6379/k"},
    {"redis://alice:" SECRET "@h:7000/2/k", 0, "h", 7000, 2, "alice", SECRET, "k",
     "redis://alice:***@h:7000/2/k"},
    {"redis://al%40ice:p%40ss%3Aw%2Fd@h/k", 0, "h", 6379, -1, "al@ice", "p@ss:w/d", "k",
     "redis://al@ice:***@h:6379/k"},
    {"redis://u:p@ss@h/k", 0, "h", 6379, -1, "u", "p@ss", "k", "redis://u:***@h:6379/k"}, /* the last '@' */
    {"rediss://[::1]:6390/k", 1, "::1", 6390, -1, "", "", "k", "rediss://[::1]:6390/k"},
    {"redis://[2001:db8::7]/5/k", 0, "2001:db8::7", 6379, 5, "", "", "k", "redis://[2001:db8::7]:6379/5/k"},
    {"redis://h/2147483647/k", 0, "h", 6379, 2147483647, "", "", "k", "redis://h:6379/2147483647/k"},
    {"redis://h/caf\xc3\xa9", 0, "h", 6379, -1, "", "", "caf\xc3\xa9", "redis://h:6379/caf\xc3\xa9"},
    {"redis://h/%1b[2J", 0, "h", 6379, -1, "", "", "\x1b[2J", "redis://h:6379/\\x1b[2J"}, /* shown escaped */
};

typedef struct bad_case {
  const char *url;
  const char *why; /* a part of the message */
  size_t at;
} bad_case;

static const bad_case bad[] = {
    {"", "no scheme", 0},
    {"http://h/k", "not redis:// or rediss://", 0},
    {"redis:/h/k", "expected // after the scheme", 6},
    {"redis://h", "no stream key", 9},
    {"redis://h/", "an empty stream key", 10},
    {"redis://h/1/", "an empty stream key", 12},
    {"redis://h/1/2/3", "more than /DB/KEY", 13},
    {"redis://h/x/k", "the database is not a number", 10},
    {"redis://h/2147483648/k", "the database is not a number", 10},
    {"redis://h/-1/k", "the database is not a number", 10},
    {"redis://h/k?x=1", "a query or fragment", 11},
    {"redis://h/k#f", "a query or fragment", 11},
    {"redis://h?x", "a query or fragment", 9},
    {"redis://h:0/k", "the port is not a number from 1 to 65535", 10},
    {"redis://h:65536/k", "the port is not a number from 1 to 65535", 10},
    {"redis://h:/k", "the port is not a number from 1 to 65535", 10},
    {"redis://h:12a/k", "the port is not a number from 1 to 65535", 10},
    {"redis:///k", "no host", 8},
    {"redis://h~/k", "a byte a host name cannot have", 9},
    {"redis://[::1/k", "closing ']'", 8},
    {"redis://[]/k", "an empty IPv6 address", 8},
    {"redis://[::g]/k", "a byte an address cannot have", 11},
    {"redis://[::1]x/k", "expected ':PORT'", 13},
    {"redis://user@h/k", "a user name without a password", 8},
    {"redis://:@h/k", "an empty password", 9},
    {"redis://:" SECRET "%zz@h/k", "the password has a '%' not followed by two hex digits", 20},
    {"redis://:" SECRET "%00@h/k", "the password has %00", 20},
    {"redis://:" SECRET " x@h/k", "the password has a byte it cannot have unescaped (0x20)", 20},
    {"redis://h/a%0", "the stream key has a '%' not followed", 11},
    {"redis://h/a%00b", "the stream key has %00", 11},
    {"redis://h/a b", "the stream key has a byte it cannot have unescaped (0x20)", 11},
    {"redis://h/a\x7f", "the stream key has a byte it cannot have unescaped (0x7f)", 11},
};

static void test_good(void) {
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    const good_case *c = &good[i];
    redis_url u;
    char err[256], shown[512];
    int r = redis_url_parse(c->url, strlen(c->url), &u, err, sizeof(err));
    if (r != 0) {
      fprintf(stderr, "refused %s: %s\n", c->url, err);
      failures++;
      continue;
    }
    CHECK(u.tls == c->tls);
    CHECK(strcmp(u.host, c->host) == 0);
    CHECK(u.port == c->port);
    CHECK(u.db == c->db);
    CHECK(strcmp(u.user, c->user) == 0);
    CHECK(strcmp(u.password, c->password) == 0);
    CHECK(u.has_password == (c->password[0] != '\0'));
    CHECK(strcmp(u.key, c->key) == 0 && u.key_len == strlen(c->key));
    redis_url_shown(&u, shown, sizeof(shown));
    if (strcmp(shown, c->shown) != 0) {
      fprintf(stderr, "%s shown as %s, expected %s\n", c->url, shown, c->shown);
      failures++;
    }
    CHECK(strstr(shown, SECRET) == NULL);
  }
}

static void test_bad(void) {
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    const bad_case *c = &bad[i];
    redis_url u;
    char err[256], expect_at[48], shown[512];
    int r = redis_url_parse(c->url, strlen(c->url), &u, err, sizeof(err));
    snprintf(expect_at, sizeof(expect_at), "(at byte %zu)", c->at);
    if (r != -1 || strstr(err, c->why) == NULL || strstr(err, expect_at) == NULL) {
      fprintf(stderr, "%s: got %d '%s', expected '%s' %s\n", c->url, r, r ? err : "", c->why, expect_at);
      failures++;
    }
    CHECK(strstr(err, SECRET) == NULL);
    redis_url_redact_raw(c->url, strlen(c->url), shown, sizeof(shown));
    CHECK(strstr(shown, SECRET) == NULL);
  }
}

/* The raw redaction, for a URL that did not parse: a password with a raw '/'
 * ends the authority early, so the '@' is after the first '/'; still hidden. */
static void test_redact_raw(void) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"redis://:" SECRET "@h/k", "redis://***@h/k"},
      {"redis://u:pa/" SECRET "@h/k", "redis://***@h/k"},
      {"redis://h/k", "redis://h/k"},
      {":" SECRET "@h", "***@h"},
      {"redis://h/\x1b", "redis://h/\\x1b"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[256];
    redis_url_redact_raw(cases[i].in, strlen(cases[i].in), out, sizeof(out));
    if (strcmp(out, cases[i].out) != 0) {
      fprintf(stderr, "redact %s: %s, expected %s\n", cases[i].in, out, cases[i].out);
      failures++;
    }
  }
  /* The password's parse error for that URL says where, not what. */
  redis_url u;
  char err[256];
  const char *url = "redis://u:pa/" SECRET "@h/k";
  CHECK(redis_url_parse(url, strlen(url), &u, err, sizeof(err)) == -1 && strstr(err, SECRET) == NULL);
}

static void test_limits(void) {
  redis_url u;
  char err[256];
  /* A URL of 4097 bytes is refused before reading; 1025 bytes of key too. */
  static char big[REDIS_URL_MAX + 2];
  memset(big, 'a', sizeof(big) - 1);
  memcpy(big, "redis://h/", 10);
  CHECK(redis_url_parse(big, REDIS_URL_MAX + 1, &u, err, sizeof(err)) == -1 && strstr(err, "longer than 4096"));
  big[10 + REDIS_KEY_MAX] = '\0';
  CHECK(redis_url_parse(big, strlen(big), &u, err, sizeof(err)) == 0 && u.key_len == REDIS_KEY_MAX);
  big[10 + REDIS_KEY_MAX] = 'a';
  big[10 + REDIS_KEY_MAX + 1] = '\0';
  CHECK(redis_url_parse(big, strlen(big), &u, err, sizeof(err)) == -1 && strstr(err, "longer than 1024 bytes"));
  /* A host of 256 bytes. */
  char host[300] = "redis://";
  memset(host + 8, 'h', 256);
  strcpy(host + 8 + 256, "/k");
  CHECK(redis_url_parse(host, strlen(host), &u, err, sizeof(err)) == -1 && strstr(err, "longer than 255"));
  /* Embedded NUL: a byte the key cannot have, not the end. */
  CHECK(redis_url_parse("redis://h/a\0b", 13, &u, err, sizeof(err)) == -1 && strstr(err, "(0x00)"));
  /* No room for the message: still refused, nothing written. */
  CHECK(redis_url_parse("redis://h", 9, &u, err, 0) == -1);
  CHECK(redis_url_is("redis://x") && redis_url_is("REDISS://x") && !redis_url_is("jobs.txt") &&
        !redis_url_is("redis:/x"));
}

int main(void) {
  test_good();
  test_bad();
  test_redact_raw();
  test_limits();
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  puts("test_redis_url: ok");
  return 0;
}
