/*
 * test_alt_svc.c — client/lib/alt_svc.c: the Alt-Svc header (RFC 7838 3) as
 * the client reads it, and the per-client cache (ma expiry, clear, broken).
 * Expected values are the RFC's grammar and examples (section 3: h2="new.example.org:80",
 * h2=":443"; ma=3600, "clear", percent-encoded protocol ids; 3.1: ma default
 * 86400) and the values the quic-go server of tests/interop sends
 * (h3=":PORT"; ma=60).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/gtest_check.h"
#include "alt_svc.h"

static int parse(const char *v, const char *host, alt_svc_h3 *out) {
  const char *why = NULL;
  int r = alt_svc_parse((const uint8_t *)v, strlen(v), host, out, &why);
  if (r != 0) CHECK_MSG(why != NULL && why[0], "a refusal of [%s] has a reason", v);
  return r;
}

int main(void) {
  alt_svc_h3 h;
  /* What quic-go's server sends, and Google's form with two alternatives. */
  CHECK(parse("h3=\":4433\"; ma=60", "example.com", &h) == 0 && h.found && h.port == 4433 && h.max_age == 60);
  CHECK(parse("h3=\":443\"; ma=2592000,h3-29=\":443\"; ma=2592000", "example.com", &h) == 0 && h.found &&
        h.port == 443 && h.max_age == 2592000);
  /* ma's default (RFC 7838 3.1); OWS around the separators; case of "ma". */
  CHECK(parse("h3=\":8443\"", "a.example", &h) == 0 && h.found && h.max_age == ALT_SVC_DEFAULT_MA);
  CHECK(parse("  h3 = \":1\" ", "a.example", &h) != 0); /* no OWS around '=' in the grammar */
  CHECK(parse("h2=\":443\" ,  h3=\":444\" ;  MA=5 ; persist=1", "a.example", &h) == 0 && h.found && h.port == 444 &&
        h.max_age == 5);
  /* Only h3: h2 and the drafts are read and passed over. */
  CHECK(parse("h2=\":443\"; ma=3600, h3-29=\":443\"", "a.example", &h) == 0 && !h.found && !h.clear);
  /* A percent-encoded protocol id (RFC 7838 3: "h%33" is h3). */
  CHECK(parse("h%33=\":9443\"", "a.example", &h) == 0 && h.found && h.port == 9443);
  /* Same host only: another host is passed over, the origin's own name (any
   * case) taken, an IPv6 literal in brackets read. */
  CHECK(parse("h3=\"new.example.org:443\"", "a.example", &h) == 0 && !h.found);
  CHECK(parse("h3=\"A.Example:7443\"", "a.example", &h) == 0 && h.found && h.port == 7443);
  CHECK(parse("h3=\"[::1]:7443\"", "::1", &h) == 0 && h.found && h.port == 7443);
  CHECK(parse("h3=\"other.example:1\", h3=\":2\"", "a.example", &h) == 0 && h.found && h.port == 2);
  /* clear, alone only. */
  CHECK(parse("clear", "a.example", &h) == 0 && h.clear);
  CHECK(parse(" clear ", "a.example", &h) == 0 && h.clear);
  CHECK(parse("clear, h3=\":1\"", "a.example", &h) != 0);
  /* ma: digits only, capped at 2^32 rather than wrapping. */
  CHECK(parse("h3=\":1\"; ma=99999999999999999999999", "a.example", &h) == 0 && h.max_age == (1ull << 32));
  CHECK(parse("h3=\":1\"; ma=\"120\"", "a.example", &h) == 0 && h.max_age == 120);
  CHECK(parse("h3=\":1\"; ma=-1", "a.example", &h) != 0);
  CHECK(parse("h3=\":1\"; ma=", "a.example", &h) != 0);
  /* Malformed: refused as a whole, each with a reason. */
  const char *bad[] = {"", ",", "h3", "h3=", "h3=:443", "h3=\":443", "h3=\":0\"", "h3=\":65536\"", "h3=\":44x\"",
                       "h3=\"host\"", "h3=\":443\" junk", "h3=\":443\";", "h3=\":443\"; ma", "h%3=\":1\"",
                       "h3=\":1\"; x=\"unterminated", "h3=\"a\x01:1\""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_MSG(parse(bad[i], "a.example", &h) != 0, "[%s] is refused", bad[i]);
  /* The caps: 16 alternatives, 8 parameters, 4096 bytes. */
  char big[8192] = "";
  for (int i = 0; i < 16; i++) strcat(big, i ? ", h2=\":1\"" : "h2=\":1\"");
  CHECK(parse(big, "a.example", &h) == 0);
  strcat(big, ", h3=\":2\"");
  CHECK(parse(big, "a.example", &h) != 0);
  CHECK(parse("h3=\":1\"; a=1; b=2; c=3; d=4; e=5; f=6; g=7; ma=8", "a.example", &h) == 0 && h.max_age == 8);
  CHECK(parse("h3=\":1\"; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8; ma=9", "a.example", &h) != 0);
  memset(big, 0, sizeof(big));
  memcpy(big, "h3=\":1\"; x=\"", 12);
  memset(big + 12, 'a', 4200);
  big[4212] = '"';
  CHECK(parse(big, "a.example", &h) != 0);
  /* An embedded NUL is not a token byte. */
  CHECK(alt_svc_parse((const uint8_t *)"h3=\":1\"\0; ma=5", 14, "a.example", &h, &(const char *){NULL}) != 0);

  /* The cache: learn, expire at ma, clear, ma=0, broken for 5 minutes, per origin. */
  alt_svc_cache *c = alt_svc_cache_new();
  CHECK(c != NULL);
  uint64_t t = 1000000;
  CHECK(alt_svc_cache_lookup(c, "a.example", 443, t) == 0);
  parse("h3=\":8443\"; ma=60", "a.example", &h);
  alt_svc_cache_learn(c, "a.example", 443, &h, t);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t), 8443);
  CHECK_EQ(alt_svc_cache_lookup(c, "A.EXAMPLE", 443, t + 59999), 8443);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 444, t), 0);
  CHECK_EQ(alt_svc_cache_lookup(c, "b.example", 443, t), 0);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 60000), 0); /* expired: dropped */
  CHECK_EQ(alt_svc_cache_size(c), 0);
  alt_svc_cache_learn(c, "a.example", 443, &h, t);
  parse("h2=\":443\"", "a.example", &h); /* other protocols only: what was known stays */
  alt_svc_cache_learn(c, "a.example", 443, &h, t + 1);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 2), 8443);
  parse("clear", "a.example", &h);
  alt_svc_cache_learn(c, "a.example", 443, &h, t + 3);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 4), 0);
  parse("h3=\":8443\"; ma=60", "a.example", &h);
  alt_svc_cache_learn(c, "a.example", 443, &h, t);
  parse("h3=\":8443\"; ma=0", "a.example", &h);
  alt_svc_cache_learn(c, "a.example", 443, &h, t + 5);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 6), 0);
  parse("h3=\":8443\"; ma=3600", "a.example", &h);
  alt_svc_cache_learn(c, "a.example", 443, &h, t);
  alt_svc_cache_broken(c, "a.example", 8443, t + 10);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 10 + ALT_SVC_BROKEN_MS - 1), 0);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t + 10 + ALT_SVC_BROKEN_MS), 8443);
  /* At most ALT_SVC_MAX_ENTRIES origins: the one closest to expiry goes. */
  for (unsigned i = 0; i < ALT_SVC_MAX_ENTRIES + 10; i++) {
    char host[32];
    snprintf(host, sizeof(host), "h%u.example", i);
    alt_svc_h3 e = {0, 1, 1000, 100000 + i};
    alt_svc_cache_learn(c, host, 443, &e, t);
  }
  CHECK_EQ(alt_svc_cache_size(c), ALT_SVC_MAX_ENTRIES);
  CHECK_EQ(alt_svc_cache_lookup(c, "a.example", 443, t), 0); /* ma 3600: the soonest */
  CHECK_EQ(alt_svc_cache_lookup(c, "h1033.example", 443, t), 1000);
  alt_svc_cache_free(c);
  return gt_done("test_alt_svc");
}
