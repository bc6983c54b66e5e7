/* Test helper: client->server TCP payload per connection from a classic pcap file
 * (Ethernet, IPv4/IPv6, TCP), read through CBS like every other untrusted input.
 * Streams are numbered in order of their first client packet, as tshark's tcp.stream. */
#ifndef GUISE_TPCAP_H
#define GUISE_TPCAP_H

#include <openssl/bytestring.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TP_MAX_STREAMS 16

typedef struct tp_stream {
    uint16_t client_port;
    uint32_t next_seq; /* next expected sequence number */
    bool seq_known;
    uint8_t *data;
    size_t len, cap;
} tp_stream;

typedef struct tp_capture {
    tp_stream s[TP_MAX_STREAMS];
    size_t n;
} tp_capture;

static inline void tp_free(tp_capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->s[i].data);
    c->n = 0;
}

static inline bool tp_append(tp_stream *s, const uint8_t *p, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = (s->len + n) * 2 + 1024;
        uint8_t *d = realloc(s->data, cap);
        if (d == NULL)
            return false;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return true;
}

/* Handles one TCP segment whose payload is |tcp| (header included). */
static inline bool tp_tcp(tp_capture *c, CBS *tcp, uint16_t server_port)
{
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t off, flags;
    if (!CBS_get_u16(tcp, &sport) || !CBS_get_u16(tcp, &dport) || !CBS_get_u32(tcp, &seq) ||
        !CBS_get_u32(tcp, &ack) || !CBS_get_u8(tcp, &off) || !CBS_get_u8(tcp, &flags) ||
        !CBS_skip(tcp, 6) || (off >> 4) < 5 || !CBS_skip(tcp, (size_t)(off >> 4) * 4 - 20))
        return false;
    (void)ack;
    if (dport != server_port)
        return true;
    tp_stream *s = NULL;
    for (size_t i = 0; i < c->n; i++)
        if (c->s[i].client_port == sport)
            s = &c->s[i];
    if (s == NULL) {
        if (c->n >= TP_MAX_STREAMS)
            return false;
        s = &c->s[c->n++];
        memset(s, 0, sizeof(*s));
        s->client_port = sport;
    }
    if (flags & 0x02) { /* SYN consumes one sequence number */
        s->next_seq = seq + 1;
        s->seq_known = true;
        return true;
    }
    if (CBS_len(tcp) == 0)
        return true;
    if (!s->seq_known) {
        s->next_seq = seq;
        s->seq_known = true;
    }
    uint32_t skip = s->next_seq - seq; /* retransmitted prefix, modulo 2^32 */
    if (skip >= CBS_len(tcp) && skip < 0x80000000u)
        return true;
    if (skip >= 0x80000000u)
        return false; /* a gap: out-of-order capture, not handled */
    if (!CBS_skip(tcp, skip) || !tp_append(s, CBS_data(tcp), CBS_len(tcp)))
        return false;
    s->next_seq += (uint32_t)CBS_len(tcp);
    return true;
}

/* Loads every client->server stream to |server_port|. false on a malformed file. */
static inline bool tp_load(const uint8_t *file, size_t len, uint16_t server_port,
                           tp_capture *c)
{
    CBS in, hdr;
    uint32_t magic;
    memset(c, 0, sizeof(*c));
    CBS_init(&in, file, len);
    if (!CBS_get_bytes(&in, &hdr, 24) || !CBS_get_u32(&hdr, &magic))
        return false;
    bool le = magic == 0xd4c3b2a1u;
    if (!le && magic != 0xa1b2c3d4u)
        return false;
    /* Byte-swapping reader over the 16 bytes of packet-header fields. */
    while (CBS_len(&in) > 0) {
        CBS rec, pkt;
        uint8_t h[16];
        if (!CBS_copy_bytes(&in, h, sizeof(h)))
            return false;
        uint32_t incl = le ? (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
                                 (uint32_t)h[11] << 24
                           : (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
                                 (uint32_t)h[10] << 8 | (uint32_t)h[11];
        if (!CBS_get_bytes(&in, &rec, incl))
            return false;
        pkt = rec;
        uint16_t ethertype;
        if (!CBS_skip(&pkt, 12) || !CBS_get_u16(&pkt, &ethertype))
            return false;
        if (ethertype == 0x0800) {
            uint8_t vihl, proto;
            uint16_t total;
            CBS ipall = pkt, ip; /* |total| below bounds the datagram from here */
            if (!CBS_get_u8(&pkt, &vihl) || !CBS_skip(&pkt, 1) || !CBS_get_u16(&pkt, &total))
                return false;
            if (!CBS_get_bytes(&ipall, &ip, total) || !CBS_skip(&ip, 9) ||
                !CBS_get_u8(&ip, &proto) || !CBS_skip(&ip, (size_t)(vihl & 0x0f) * 4 - 10))
                return false;
            if (proto == 6 && !tp_tcp(c, &ip, server_port))
                return false;
        } else if (ethertype == 0x86dd) {
            uint16_t plen;
            uint8_t next;
            CBS ip;
            if (!CBS_skip(&pkt, 4) || !CBS_get_u16(&pkt, &plen) || !CBS_get_u8(&pkt, &next) ||
                !CBS_skip(&pkt, 33) || !CBS_get_bytes(&pkt, &ip, plen))
                return false;
            if (next == 6 && !tp_tcp(c, &ip, server_port))
                return false;
        }
    }
    return true;
}

#endif /* GUISE_TPCAP_H */
