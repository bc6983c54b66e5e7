/* reader.c — input files: tells a capture from a hex dump, runs libpcap's offline reader
 * (pcap and pcapng, libpcap 1.10) and hands each decoded TCP segment and UDP datagram
 * to flows.c. The
 * only module here that does I/O. */
#include "capture.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <pcap/pcap.h>

gcap_input gcap_detect(const uint8_t *head, size_t len) {
  CBS in;
  uint32_t magic;
  CBS_init(&in, head, len);
  if (!CBS_get_u32(&in, &magic)) return GCAP_INPUT_HEX;
  switch (magic) {
  case 0xa1b2c3d4: /* pcap, microseconds, written big-endian */
  case 0xd4c3b2a1: /* ... little-endian */
  case 0xa1b23c4d: /* pcap, nanoseconds */
  case 0x4d3cb2a1:
    return GCAP_INPUT_PCAP;
  case 0x0a0d0d0a: /* pcapng section header block type, a palindrome in either order */
    return GCAP_INPUT_PCAPNG;
  default:
    return GCAP_INPUT_HEX;
  }
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (err == NULL || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

int gcap_read_pcap_stream(FILE *f, const char *name, const gcap_options *o, gcap_sink sink,
                          void *arg, gcap_stats *stats, char *err, size_t errlen) {
  char errbuf[PCAP_ERRBUF_SIZE] = "";
  /* Nanosecond precision: libpcap scales microsecond files up, so "time" is exact for
   * both (pcapng interfaces may declare either resolution). */
  pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == NULL) {
    fclose(f); /* libpcap closes it only once it has accepted it */
    set_err(err, errlen, "%s: not a capture libpcap can read: %s", name, errbuf);
    return -1;
  }
  int dlt = pcap_datalink(p);
  if (!gcap_dlt_supported(dlt)) {
    char what[96];
    const char *dn = pcap_datalink_val_to_name(dlt);
    snprintf(what, sizeof(what), "%s (%d)", dn ? dn : "unknown", dlt);
    set_err(err, errlen,
            "%s: link type %s not supported (Ethernet, Linux cooked SLL/SLL2, raw IP, "
            "BSD loopback)",
            name, what);
    pcap_close(p);
    return -1;
  }
  gcap_flows *t = gcap_flows_new(name, o, sink, arg, stats);
  if (t == NULL) {
    pcap_close(p);
    set_err(err, errlen, "%s: %s", name, "out of memory");
    return -1;
  }
  FILE *rf = pcap_file(p);
  uint64_t packet = 0;
  for (;;) {
    /* Where the next record starts, to name the offset if libpcap rejects it. */
    off_t at = rf != NULL ? ftello(rf) : -1;
    struct pcap_pkthdr *h;
    const u_char *data;
    int r = pcap_next_ex(p, &h, &data);
    if (r == 1) {
      packet++;
      stats->packets++;
      gcap_segment seg;
      gcap_pkt kind = gcap_decode(dlt, data, h->caplen, &seg, NULL);
      if (kind == GCAP_PKT_UDP) {
        gcap_flows_datagram(t, &seg, packet, (int64_t)h->ts.tv_sec, (long)h->ts.tv_usec);
        continue;
      }
      if (kind != GCAP_PKT_TCP) {
        stats->ignored_packets++;
        continue;
      }
      /* With PCAP_TSTAMP_PRECISION_NANO, tv_usec holds nanoseconds. */
      gcap_flows_segment(t, &seg, packet, (int64_t)h->ts.tv_sec, (long)h->ts.tv_usec);
      continue;
    }
    if (r == PCAP_ERROR) {
      /* A truncated or corrupt record: libpcap cannot find the next one, so the file
       * ends here; what came before is still reported. */
      gcap_flows_file_error(t, "capture", at >= 0 ? (size_t)at : 0, pcap_geterr(p), packet + 1);
    }
    break; /* PCAP_ERROR_BREAK: end of file (0, a timeout, cannot happen offline) */
  }
  gcap_flows_finish(t);
  gcap_flows_free(t);
  pcap_close(p);
  return 0;
}

int gcap_read_hex(const uint8_t *text, size_t len, const char *name, const gcap_options *o,
                  gcap_sink sink, void *arg, gcap_stats *stats) {
  gcap_flows *t = gcap_flows_new(name, o, sink, arg, stats);
  if (t == NULL) return -1;
  size_t cap = len / 2 < o->max_flow_bytes ? len / 2 : o->max_flow_bytes;
  uint8_t *buf = malloc(cap ? cap : 1);
  size_t n = 0, off = 0;
  const char *why = NULL;
  if (buf == NULL) {
    gcap_flows_file_error(t, "capture", 0, "out of memory", 0);
  } else if (gcap_unhex(text, len, buf, cap, &n, &off, &why) != 0) {
    /* Name the place the way an editor would, as well as the byte offset. */
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
      if (text[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    char msg[256];
    if (off < len)
      snprintf(msg, sizeof(msg), "%s (line %zu, column %zu, byte 0x%02x)", why, line, col,
               text[off]);
    else snprintf(msg, sizeof(msg), "%s", why);
    gcap_flows_file_error(t, "hex", off, msg, 0);
  } else {
    gcap_flows_flight(t, buf, n);
  }
  free(buf);
  gcap_flows_free(t);
  return 0;
}

int gcap_read_memory(const uint8_t *data, size_t len, const char *name, const gcap_options *o,
                     gcap_sink sink, void *arg, gcap_stats *stats, char *err, size_t errlen) {
  if (gcap_detect(data, len) == GCAP_INPUT_HEX)
    return gcap_read_hex(data, len, name, o, sink, arg, stats);
  /* Read-only: fmemopen does not write through a "rb" stream. */
  FILE *f = fmemopen((void *)data, len, "rb");
  if (f == NULL) {
    set_err(err, errlen, "%s: %s", name, strerror(errno));
    return -1;
  }
  return gcap_read_pcap_stream(f, name, o, sink, arg, stats, err, errlen);
}

int gcap_read_file(const char *path, const char *name, const gcap_options *o, gcap_sink sink,
                   void *arg, gcap_stats *stats, char *err, size_t errlen) {
  if (name == NULL) name = path;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    set_err(err, errlen, "%s: %s", name, strerror(errno));
    return -1;
  }
  uint8_t head[4];
  size_t got = fread(head, 1, sizeof(head), f);
  if (ferror(f)) { /* a directory opens but does not read */
    set_err(err, errlen, "%s: %s", name, strerror(errno));
    fclose(f);
    return -1;
  }
  if (gcap_detect(head, got) != GCAP_INPUT_HEX) {
    if (fseeko(f, 0, SEEK_SET) != 0) {
      set_err(err, errlen, "%s: %s", name, strerror(errno));
      fclose(f);
      return -1;
    }
    return gcap_read_pcap_stream(f, name, o, sink, arg, stats, err, errlen);
  }
  /* A hex dump: two digits per byte plus whitespace. Read at most what a dump of the
   * largest flight could plausibly take; if the file goes on, it is an error, but one
   * found inside the part read (a binary file, say) is reported first. */
  size_t max_text = 4 * o->max_flow_bytes + 65536;
  uint8_t *text = malloc(max_text);
  if (text == NULL) {
    fclose(f);
    set_err(err, errlen, "%s: %s", name, "out of memory");
    return -1;
  }
  memcpy(text, head, got);
  size_t len = got;
  if (got == sizeof(head)) len += fread(text + got, 1, max_text - got, f);
  bool longer = len == max_text && fgetc(f) != EOF;
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed) {
    free(text);
    set_err(err, errlen, "%s: %s", name, "read error");
    return -1;
  }
  if (longer) {
    /* Decode the part read; only if it is clean is the size itself the error. */
    uint8_t *scratch = malloc(max_text / 2 + 1);
    size_t n, off = 0;
    const char *why;
    int bad = scratch == NULL ||
              gcap_unhex(text, len, scratch, max_text / 2 + 1, &n, &off, &why) != 0;
    free(scratch);
    if (!bad) {
      gcap_flows *t = gcap_flows_new(name, o, sink, arg, stats);
      if (t != NULL) {
        gcap_flows_file_error(t, "hex", len,
                              "hex dump longer than the bytes kept per flight "
                              "(guise fp --max-flow-bytes)",
                              0);
        gcap_flows_free(t);
      }
      free(text);
      return 0;
    }
  }
  int r = gcap_read_hex(text, len, name, o, sink, arg, stats);
  free(text);
  return r;
}
