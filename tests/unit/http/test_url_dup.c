/* test_url_dup.c — client/lib/url.c: url_size / url_dup, the copy of a url
 * sized to its pieces that a request keeps (instead of sizeof(url), 16 KiB).
 * Each copy is in a block of exactly url_size bytes, so under ASan any read
 * of the accessors, url_href or url_resolve past the used bytes is caught. */
#include <stddef.h>
#include <stdlib.h>

#include "guise.h"
#include "../../lib/gtest_check.h"
#include "url.h"

static url u, full; /* 16 KiB each: not on the stack */
static char href[2 * URL_STORE], href2[2 * URL_STORE];
static char long_url[8000];

typedef struct dup_case {
  const char *in;
  const char *host, *authority, *target, *href;
  const char *user, *password;
} dup_case;

static const dup_case kCases[] = {
    {"http://example.com", "example.com", "example.com", "/", "http://example.com/", "", ""},
    {"https://us%20er:p@ss@Host.Example:8443/a/../b?q=1#frag%", "host.example", "host.example:8443",
     "/b?q=1", "https://us%20er:p%40ss@host.example:8443/b?q=1#frag%", "us%20er", "p%40ss"},
    {"http://[2001:DB8::1]/x#", "2001:db8::1", "[2001:db8::1]", "/x", "http://[2001:db8::1]/x#", "",
     ""},
    {"http://0x7f.1/?", "127.0.0.1", "127.0.0.1", "/?", "http://127.0.0.1/?", "", ""},
};

static void check_copy(const url *c, const dup_case *k) {
  CHECK_STR(url_host(c), k->host);
  CHECK_STR(url_authority(c), k->authority);
  CHECK_STR(url_target(c), k->target);
  CHECK(url_href(c, href, sizeof(href)) >= 0);
  CHECK_STR(href, k->href);
  char piece[256];
  CHECK_EQ(url_userinfo(c, 0, 0, piece, sizeof(piece), NULL), 0);
  CHECK_STR(piece, k->user);
  CHECK_EQ(url_userinfo(c, 1, 0, piece, sizeof(piece), NULL), 0);
  CHECK_STR(piece, k->password);
}

static void test_dup_reads_like_the_original(void) {
  for (size_t i = 0; i < sizeof(kCases) / sizeof(kCases[0]); i++) {
    const dup_case *k = &kCases[i];
    CHECK_EQ(url_parse(&u, k->in, strlen(k->in), NULL), 0);
    size_t n = url_size(&u);
    /* The pieces and their NULs, not the 16 KiB store: each piece's text
     * (from the case) plus its NUL is an upper bound of what they take. */
    size_t bound = offsetof(url, buf) + strlen(k->user) + strlen(k->password) + strlen(k->host) +
                   strlen(k->authority) + strlen(k->target) + strlen(k->href) + 6;
    CHECK_MSG(n <= bound, "%s: url_size %zu over %zu", k->in, n, bound);
    CHECK(n < sizeof(url));
    url *c = url_dup(&u, NULL, 0);
    CHECK(c != NULL);
    if (c == NULL) continue;
    check_copy(c, k);
    /* As a base: the same resolution as from the full url. */
    CHECK_EQ(url_resolve(c, "../r?x#y", 8, &full, NULL), 0);
    CHECK(url_href(&full, href2, sizeof(href2)) >= 0);
    CHECK_EQ(url_resolve(&u, "../r?x#y", 8, &full, NULL), 0);
    CHECK(url_href(&full, href, sizeof(href)) >= 0);
    CHECK_STR(href2, href);
    /* Into a block given: exactly the size fits, one byte less does not. */
    char *block = malloc(n);
    CHECK(block != NULL);
    if (block) {
      CHECK(url_dup(&u, block, n - 1) == NULL);
      CHECK(url_dup(&u, block, n) == (url *)(void *)block);
      check_copy((url *)(void *)block, k);
      free(block);
    }
    free(c);
  }
}

/* A URL near the 8 KiB cap: its copy holds it all (the longest piece last). */
static void test_dup_long(void) {
  static const char head[] = "http://h.example/";
  memcpy(long_url, head, sizeof(head) - 1);
  size_t n = sizeof(head) - 1;
  for (; n < 7900; n++) long_url[n] = (char)('a' + n % 26);
  long_url[n] = '\0';
  CHECK_EQ(url_parse(&u, long_url, n, NULL), 0);
  CHECK(url_size(&u) > n - 16); /* the target is n - 16 bytes */
  url *c = url_dup(&u, NULL, 0);
  CHECK(c != NULL);
  if (c) {
    CHECK_STR(url_target(c), long_url + 16);
    CHECK(url_href(c, href, sizeof(href)) >= 0);
    CHECK_STR(href, long_url);
    free(c);
  }
}

int main(void) {
  test_dup_reads_like_the_original();
  test_dup_long();
  return gt_done("test_url_dup");
}
