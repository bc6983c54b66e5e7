/* stream.c — one direction of a TCP connection as a byte string ordered by sequence
 * number (RFC 9293 §3.4, §3.10.7.4: the receiver places each segment's data by its
 * sequence number, whatever order segments arrive in, and drops what it already has).
 * I/O-free. */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

gcap_stream *gcap_stream_new(size_t limit) {
  gcap_stream *s = calloc(1, sizeof(*s));
  if (s != NULL) s->limit = limit;
  return s;
}

void gcap_stream_free(gcap_stream *s, size_t *budget) {
  if (s == NULL) return;
  if (budget != NULL) *budget += s->alloc;
  free(s->buf);
  free(s);
}

size_t gcap_stream_contiguous(const gcap_stream *s) {
  return (s != NULL && s->nspan > 0 && s->span[0].start == 0) ? s->span[0].end : 0;
}

bool gcap_stream_has_gap(const gcap_stream *s) {
  if (s == NULL || s->nspan == 0) return false;
  return s->span[0].start != 0 || s->nspan > 1;
}

/* Makes |buf| hold at least |need| bytes (need <= limit), doubling to keep reallocation
 * amortised; every byte allocated is taken from |*budget|. */
static int reserve(gcap_stream *s, size_t need, size_t *budget) {
  if (need <= s->alloc) return 0;
  size_t want = s->alloc < 2048 ? 4096 : s->alloc * 2;
  if (want < need) want = need;
  if (want > s->limit) want = s->limit;
  if (want - s->alloc > *budget) {
    want = need; /* try the exact size before giving up */
    if (want - s->alloc > *budget) return -1;
  }
  uint8_t *b = realloc(s->buf, want);
  if (b == NULL) return -1;
  *budget -= want - s->alloc;
  s->buf = b;
  s->alloc = want;
  return 0;
}

int gcap_stream_add(gcap_stream *s, int64_t off, const uint8_t *data, size_t len, size_t *budget) {
  /* Bytes before the first sequence number belong to nothing we track (a segment that
   * straddles the SYN's ISN+1 after a wrong guess, or a stale retransmission). */
  if (off < 0) {
    uint64_t skip = (uint64_t)-off;
    if (skip >= len) return 0;
    data += skip;
    len -= (size_t)skip;
    off = 0;
  }
  if (len == 0) return 0;
  size_t a = (size_t)off;
  if (a >= s->limit) {
    s->past_limit = true;
    return 0;
  }
  size_t b = a + (len < s->limit - a ? len : s->limit - a);
  if (b - a < len) s->past_limit = true;

  /* Which spans does [a, b) touch (overlap or adjoin)? They merge with it into one. */
  size_t first = 0;
  while (first < s->nspan && s->span[first].end < a) first++;
  size_t last = first;
  while (last < s->nspan && s->span[last].start <= b) last++;
  /* spans [first, last) touch [a, b) */
  if (first == last && s->nspan == GCAP_MAX_SPANS) {
    s->dropped++; /* a new hole; a retransmission may still fill it */
    return 0;
  }
  if (reserve(s, b, budget) != 0) return -1;

  /* Copy only into holes: what is already there was received first and stays
   * (a retransmission carries the same bytes; if it does not, the receiver has
   * already delivered the first copy). */
  size_t p = a;
  for (size_t i = first; i < last && p < b; i++) {
    if (p < s->span[i].start) {
      size_t e = s->span[i].start < b ? s->span[i].start : b;
      memcpy(s->buf + p, data + (p - a), e - p);
    }
    if (s->span[i].end > p) p = s->span[i].end;
  }
  if (p < b) memcpy(s->buf + p, data + (p - a), b - p);

  size_t ns = a, ne = b;
  if (first < last) {
    if (s->span[first].start < ns) ns = s->span[first].start;
    if (s->span[last - 1].end > ne) ne = s->span[last - 1].end;
  }
  /* Replace spans [first, last) by the merged one. */
  size_t removed = last - first;
  if (removed == 0) {
    memmove(&s->span[first + 1], &s->span[first], (s->nspan - first) * sizeof(s->span[0]));
    s->nspan++;
  } else if (removed > 1) {
    memmove(&s->span[first + 1], &s->span[last], (s->nspan - last) * sizeof(s->span[0]));
    s->nspan -= removed - 1;
  }
  s->span[first].start = ns;
  s->span[first].end = ne;
  return 0;
}
