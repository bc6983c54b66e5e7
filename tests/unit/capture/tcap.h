/* tcap.h — helpers of the capture reader tests (header-only): a synthetic capture
 * writer (pcap and pcapng, built with CBB) and record collection. The checks are
 * the suite's one header, tests/lib/gtest_check.h. */
#ifndef GUISE_TCAP_H
#define GUISE_TCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <pcap/dlt.h>

#include "../../lib/gtest_check.h"
#include "capture.h"

/* ---- files ---------------------------------------------------------------------------- */

static inline uint8_t *tcap_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 16, n = 0;
  uint8_t *b = malloc(cap);
  while (b != NULL) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *nb = realloc(b, cap * 2);
    if (nb == NULL) {
      free(b);
      b = NULL;
      break;
    }
    b = nb;
    cap *= 2;
  }
  fclose(f);
  *len = n;
  return b;
}

static inline bool tcap_write(const char *path, const uint8_t *d, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) return false;
  bool ok = fwrite(d, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

/* Bytes of a hex dump (the vectors), through the reader's own decoder. */
static inline uint8_t *tcap_read_hex(const char *path, size_t *len) {
  size_t tl;
  uint8_t *text = tcap_read(path, &tl);
  if (text == NULL) return NULL;
  uint8_t *out = malloc(tl / 2 + 1);
  size_t off;
  const char *why;
  if (out == NULL || gcap_unhex(text, tl, out, tl / 2 + 1, len, &off, &why) != 0) {
    free(out);
    out = NULL;
  }
  free(text);
  return out;
}

/* ---- records ---------------------------------------------------------------------------- */

static inline void tcap_collect(json_t *record, bool is_error, void *arg) {
  json_array_append(arg, record);
}

/* Reads |len| bytes as guise fp would; returns the array of records (caller decrefs).
 * |o| NULL: defaults. */
static inline json_t *tcap_run(const uint8_t *d, size_t len, const gcap_options *o,
                               gcap_stats *st, int *rc) {
  gcap_options def;
  gcap_options_init(&def);
  gcap_stats tmp;
  memset(&tmp, 0, sizeof(tmp));
  json_t *arr = json_array();
  char err[256] = "";
  int r = gcap_read_memory(d, len, "mem", o ? o : &def, tcap_collect, arr, st ? st : &tmp, err,
                           sizeof(err));
  if (rc != NULL) *rc = r;
  if (r != 0 && rc == NULL) fprintf(stderr, "read failed: %s\n", err);
  return arr;
}

/* A string member at a path of object keys ("tls", "fingerprints", "ja4"), or NULL. */
static inline const char *tcap_str(json_t *j, const char *a, const char *b, const char *c) {
  if (a) j = json_object_get(j, a);
  if (b) j = json_object_get(j, b);
  if (c) j = json_object_get(j, c);
  return json_string_value(j);
}

static inline long long tcap_int(json_t *j, const char *a, const char *b) {
  if (a) j = json_object_get(j, a);
  if (b) j = json_object_get(j, b);
  return json_is_integer(j) ? json_integer_value(j) : -1;
}

/* ---- synthetic captures ---------------------------------------------------------------- */

typedef struct tcap_ep {
  int family; /* 4 or 6 */
  uint8_t addr[16];
  uint16_t port;
} tcap_ep;

static inline tcap_ep tcap_v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  tcap_ep e;
  memset(&e, 0, sizeof(e));
  e.family = 4;
  e.addr[0] = a, e.addr[1] = b, e.addr[2] = c, e.addr[3] = d;
  e.port = port;
  return e;
}

static inline tcap_ep tcap_v6(uint8_t last, uint16_t port) {
  tcap_ep e;
  memset(&e, 0, sizeof(e));
  e.family = 6;
  e.addr[0] = 0xfd;
  e.addr[15] = last;
  e.port = port;
  return e;
}

/* A capture being written: pcap (little-endian, microseconds) or pcapng. */
typedef struct tcap_writer {
  CBB out;
  int dlt;
  bool ng;
  uint32_t snaplen;
  uint32_t usec;
} tcap_writer;

/* LINKTYPE_ values written in files (DLT_RAW is 12 in memory, 101 on disk). */
static inline uint32_t tcap_linktype(int dlt) { return dlt == DLT_RAW ? 101u : (uint32_t)dlt; }

static inline void tcap_begin(tcap_writer *w, int dlt, bool ng) {
  memset(w, 0, sizeof(*w));
  w->dlt = dlt;
  w->ng = ng;
  w->snaplen = 262144;
  CBB_init(&w->out, 4096);
  if (!ng) {
    /* pcap global header. */
    CBB_add_u32le(&w->out, 0xa1b2c3d4);
    CBB_add_u16le(&w->out, 2);
    CBB_add_u16le(&w->out, 4);
    CBB_add_u32le(&w->out, 0);
    CBB_add_u32le(&w->out, 0);
    CBB_add_u32le(&w->out, w->snaplen);
    CBB_add_u32le(&w->out, tcap_linktype(dlt));
    return;
  }
  /* pcapng: section header block, then one interface description block. */
  CBB_add_u32le(&w->out, 0x0a0d0d0a);
  CBB_add_u32le(&w->out, 28);
  CBB_add_u32le(&w->out, 0x1a2b3c4d);
  CBB_add_u16le(&w->out, 1);
  CBB_add_u16le(&w->out, 0);
  CBB_add_u64le(&w->out, UINT64_MAX);
  CBB_add_u32le(&w->out, 28);
  CBB_add_u32le(&w->out, 1);
  CBB_add_u32le(&w->out, 20);
  CBB_add_u16le(&w->out, (uint16_t)tcap_linktype(dlt));
  CBB_add_u16le(&w->out, 0);
  CBB_add_u32le(&w->out, w->snaplen);
  CBB_add_u32le(&w->out, 20);
}

/* Adds a frame, of which only |caplen| bytes are kept (snaplen). */
static inline void tcap_frame_cut(tcap_writer *w, const uint8_t *f, size_t len, size_t caplen) {
  w->usec += 1000;
  if (!w->ng) {
    CBB_add_u32le(&w->out, 1700000000u);
    CBB_add_u32le(&w->out, w->usec);
    CBB_add_u32le(&w->out, (uint32_t)caplen);
    CBB_add_u32le(&w->out, (uint32_t)len);
    CBB_add_bytes(&w->out, f, caplen);
    return;
  }
  size_t pad = (4 - caplen % 4) % 4;
  uint32_t total = (uint32_t)(32 + caplen + pad);
  uint64_t ts = 1700000000ull * 1000000u + w->usec;
  CBB_add_u32le(&w->out, 6); /* enhanced packet block */
  CBB_add_u32le(&w->out, total);
  CBB_add_u32le(&w->out, 0);
  CBB_add_u32le(&w->out, (uint32_t)(ts >> 32));
  CBB_add_u32le(&w->out, (uint32_t)ts);
  CBB_add_u32le(&w->out, (uint32_t)caplen);
  CBB_add_u32le(&w->out, (uint32_t)len);
  CBB_add_bytes(&w->out, f, caplen);
  for (size_t i = 0; i < pad; i++) CBB_add_u8(&w->out, 0);
  CBB_add_u32le(&w->out, total);
}

static inline void tcap_frame(tcap_writer *w, const uint8_t *f, size_t len) {
  tcap_frame_cut(w, f, len, len);
}

/* The capture bytes, malloc'd (CBB's buffer belongs to OPENSSL_free). */
static inline uint8_t *tcap_end(tcap_writer *w, size_t *len) {
  uint8_t *d, *copy;
  if (!CBB_finish(&w->out, &d, len)) return NULL;
  copy = malloc(*len ? *len : 1);
  if (copy != NULL) memcpy(copy, d, *len);
  OPENSSL_free(d);
  return copy;
}

/* Builds one TCP segment from |src| to |dst| in a frame of |dlt| into |out|. */
static inline size_t tcap_build(int dlt, const tcap_ep *src, const tcap_ep *dst, uint32_t seq,
                                uint32_t ack, uint8_t flags, const uint8_t *payload,
                                size_t len, uint8_t *out, size_t cap) {
  CBB b;
  CBB_init_fixed(&b, out, cap);
  uint16_t ethertype = src->family == 4 ? 0x0800 : 0x86dd;
  switch (dlt) {
    case DLT_EN10MB: {
      static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
      CBB_add_bytes(&b, macs, sizeof(macs));
      CBB_add_u16(&b, ethertype);
      break;
    }
    case DLT_LINUX_SLL:
      CBB_add_u16(&b, 0);
      CBB_add_u16(&b, 772);
      CBB_add_u16(&b, 6);
      CBB_add_zeros(&b, 8);
      CBB_add_u16(&b, ethertype);
      break;
    case DLT_LINUX_SLL2:
      CBB_add_u16(&b, ethertype);
      CBB_add_u16(&b, 0);
      CBB_add_u32(&b, 1);
      CBB_add_u16(&b, 772);
      CBB_add_u8(&b, 0);
      CBB_add_u8(&b, 6);
      CBB_add_zeros(&b, 8);
      break;
    case DLT_NULL: /* host order of a little-endian machine; AF_INET6 as on macOS */
      CBB_add_u32le(&b, src->family == 4 ? 2 : 30);
      break;
    case DLT_LOOP:
      CBB_add_u32(&b, src->family == 4 ? 2 : 24);
      break;
    default: /* DLT_RAW */
      break;
  }
  size_t tcp_len = 20 + len;
  if (src->family == 4) {
    CBB_add_u8(&b, 0x45);
    CBB_add_u8(&b, 0);
    CBB_add_u16(&b, (uint16_t)(20 + tcp_len));
    CBB_add_u16(&b, 1);
    CBB_add_u16(&b, 0x4000); /* DF */
    CBB_add_u8(&b, 64);
    CBB_add_u8(&b, 6);
    CBB_add_u16(&b, 0);
    CBB_add_bytes(&b, src->addr, 4);
    CBB_add_bytes(&b, dst->addr, 4);
  } else {
    CBB_add_u32(&b, 0x60000000);
    CBB_add_u16(&b, (uint16_t)tcp_len);
    CBB_add_u8(&b, 6);
    CBB_add_u8(&b, 64);
    CBB_add_bytes(&b, src->addr, 16);
    CBB_add_bytes(&b, dst->addr, 16);
  }
  CBB_add_u16(&b, src->port);
  CBB_add_u16(&b, dst->port);
  CBB_add_u32(&b, seq);
  CBB_add_u32(&b, ack);
  CBB_add_u8(&b, 5 << 4);
  CBB_add_u8(&b, flags);
  CBB_add_u16(&b, 65535);
  CBB_add_u16(&b, 0);
  CBB_add_u16(&b, 0);
  CBB_add_bytes(&b, payload, len);
  uint8_t *unused;
  size_t n = 0;
  if (!CBB_finish(&b, &unused, &n)) return 0;
  return n;
}

/* One connection being written: handshake, then data at chosen stream offsets. */
typedef struct tcap_conn {
  tcap_writer *w;
  tcap_ep c, s;
  uint32_t cisn, sisn;
} tcap_conn;

static inline void tcap_seg(tcap_conn *k, bool from_client, uint8_t flags, uint32_t seq,
                            const uint8_t *p, size_t len) {
  static uint8_t frame[70000];
  size_t n = from_client ? tcap_build(k->w->dlt, &k->c, &k->s, seq, k->sisn + 1, flags, p, len,
                                      frame, sizeof(frame))
                         : tcap_build(k->w->dlt, &k->s, &k->c, seq, k->cisn + 1, flags, p, len,
                                      frame, sizeof(frame));
  tcap_frame(k->w, frame, n);
}

static inline void tcap_handshake(tcap_conn *k) {
  tcap_seg(k, true, GCAP_TCP_SYN, k->cisn, NULL, 0);
  tcap_seg(k, false, GCAP_TCP_SYN | GCAP_TCP_ACK, k->sisn, NULL, 0);
  tcap_seg(k, true, GCAP_TCP_ACK, k->cisn + 1, NULL, 0);
}

/* Client data at stream offset |off| (0 = first byte after the SYN). */
static inline void tcap_send(tcap_conn *k, size_t off, const uint8_t *p, size_t len) {
  tcap_seg(k, true, GCAP_TCP_ACK, k->cisn + 1 + (uint32_t)off, p, len);
}

#endif /* GUISE_TCAP_H */
