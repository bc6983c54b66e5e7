/* packet.c — one captured frame to one TCP segment or UDP datagram. I/O-free; every header is read
 * through CBS, with lengths taken from the headers themselves and checked against what
 * was captured. */
#include "capture.h"

#include <string.h>

#include <openssl/bytestring.h>
#include <pcap/dlt.h>

/* EtherTypes (IEEE 802.3 / IANA). */
enum {
  ETH_IPV4 = 0x0800,
  ETH_IPV6 = 0x86dd,
  ETH_VLAN = 0x8100,    /* IEEE 802.1Q */
  ETH_QINQ = 0x88a8,    /* IEEE 802.1ad service tag */
  ETH_MIN_TYPE = 0x0600 /* below: an 802.3 length field, not a type */
};

/* IP protocol numbers (IANA), as next header values too (RFC 8200 §4). */
enum {
  IPPROTO_HOPOPTS_ = 0,
  IPPROTO_TCP_ = 6,
  IPPROTO_UDP_ = 17,
  IPPROTO_ROUTING_ = 43,
  IPPROTO_FRAGMENT_ = 44,
  IPPROTO_AH_ = 51,
  IPPROTO_DSTOPTS_ = 60,
  IPPROTO_MOBILITY_ = 135,
  IPPROTO_HIP_ = 139,
  IPPROTO_SHIM6_ = 140
};

bool gcap_dlt_supported(int dlt) {
  switch (dlt) {
  case DLT_EN10MB:
  case DLT_LINUX_SLL:
  case DLT_LINUX_SLL2:
  case DLT_RAW:
  case DLT_IPV4:
  case DLT_IPV6:
  case DLT_NULL:
  case DLT_LOOP:
    return true;
  default:
    return false;
  }
}

static gcap_pkt malformed(const char **why, const char *reason) {
  if (why != NULL) *why = reason;
  return GCAP_PKT_MALFORMED;
}

/* RFC 9293 §3.1: the TCP header; data offset counts 32-bit words, options fill the rest. */
static gcap_pkt decode_tcp(CBS *seg_bytes, size_t missing, gcap_segment *seg, const char **why) {
  CBS peek = *seg_bytes, hdr;
  uint8_t off_byte;
  if (!CBS_skip(&peek, 12) || !CBS_get_u8(&peek, &off_byte))
    return malformed(why, "TCP header truncated");
  size_t hlen = (size_t)(off_byte >> 4) * 4;
  if (hlen < 20) return malformed(why, "TCP data offset below 5 words");
  uint8_t reserved_and_offset, flags;
  uint16_t window, checksum, urgent;
  if (!CBS_get_bytes(seg_bytes, &hdr, hlen) || !CBS_get_u16(&hdr, &seg->sport) ||
      !CBS_get_u16(&hdr, &seg->dport) || !CBS_get_u32(&hdr, &seg->seq) ||
      !CBS_get_u32(&hdr, &seg->ack) || !CBS_get_u8(&hdr, &reserved_and_offset) ||
      !CBS_get_u8(&hdr, &flags) || !CBS_get_u16(&hdr, &window) || !CBS_get_u16(&hdr, &checksum) ||
      !CBS_get_u16(&hdr, &urgent))
    return malformed(why, "TCP header truncated");
  /* The rest of |hdr| is options (MSS, SACK, timestamps): not needed to reassemble. */
  seg->proto = GCAP_PROTO_TCP;
  seg->flags = flags;
  seg->payload = CBS_data(seg_bytes);
  seg->payload_len = CBS_len(seg_bytes);
  seg->missing_len = missing;
  return GCAP_PKT_TCP;
}

/* RFC 768: source port, destination port, length (header included), checksum. A Length
 * below 8 is inconsistent; one above what the IP packet holds is cut to it, and one
 * below it ends the datagram there (what follows is link padding). */
static gcap_pkt decode_udp(CBS *dgram, size_t missing, gcap_segment *seg, const char **why) {
  uint16_t ulen, checksum;
  if (!CBS_get_u16(dgram, &seg->sport) || !CBS_get_u16(dgram, &seg->dport) ||
      !CBS_get_u16(dgram, &ulen) || !CBS_get_u16(dgram, &checksum))
    return malformed(why, "UDP header truncated");
  if (ulen != 0 && ulen < 8) return malformed(why, "UDP length below the header's 8 bytes");
  size_t body = ulen == 0 ? CBS_len(dgram) : (size_t)ulen - 8;
  seg->proto = GCAP_PROTO_UDP;
  seg->payload = CBS_data(dgram);
  seg->payload_len = body < CBS_len(dgram) ? body : CBS_len(dgram);
  seg->missing_len = body > CBS_len(dgram) ? body - CBS_len(dgram) : 0;
  (void)missing; /* the UDP Length already says what the capture cut off */
  return GCAP_PKT_UDP;
}

/* Splits the IP payload off: |announced| bytes per the IP header (0: unknown, take all
 * that was captured), of which only what the capture holds is real. */
static void ip_payload(CBS *rest, size_t announced, CBS *payload, size_t *missing) {
  size_t have = CBS_len(rest);
  size_t take = (announced == 0 || announced > have) ? have : announced;
  *missing = (announced > have) ? announced - have : 0;
  CBS_get_bytes(rest, payload, take); /* cannot fail: take <= have */
}

/* RFC 791 §3.1. */
static gcap_pkt decode_ipv4(CBS *pkt, gcap_segment *seg, const char **why) {
  CBS peek = *pkt, hdr;
  uint8_t vihl;
  if (!CBS_get_u8(&peek, &vihl)) return malformed(why, "IPv4 header truncated");
  if ((vihl >> 4) != 4) return malformed(why, "IP version is not 4");
  size_t ihl = (size_t)(vihl & 0x0f) * 4;
  if (ihl < 20) return malformed(why, "IPv4 header length below 5 words");
  uint8_t tos, ttl, proto;
  uint16_t total, id, frag, checksum;
  if (!CBS_get_bytes(pkt, &hdr, ihl) || !CBS_get_u8(&hdr, &vihl) || !CBS_get_u8(&hdr, &tos) ||
      !CBS_get_u16(&hdr, &total) || !CBS_get_u16(&hdr, &id) || !CBS_get_u16(&hdr, &frag) ||
      !CBS_get_u8(&hdr, &ttl) || !CBS_get_u8(&hdr, &proto) || !CBS_get_u16(&hdr, &checksum) ||
      !CBS_copy_bytes(&hdr, seg->src, 4) || !CBS_copy_bytes(&hdr, seg->dst, 4))
    return malformed(why, "IPv4 header truncated");
  /* What is left of |hdr| is IP options (§3.1 "Options"): skipped with the header. */
  seg->family = 4;
  /* More Fragments, or a non-zero fragment offset: a piece of a datagram. */
  if ((frag & 0x3fff) != 0) return GCAP_PKT_FRAGMENT;
  if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_) return GCAP_PKT_OTHER;
  /* Total Length 0 is what Linux records for TCP segmentation offload sends (the NIC
   * fills it in later): the captured bytes are then the datagram. Below the header
   * length it is inconsistent. The Ethernet minimum-frame padding after a short
   * datagram is cut off by honouring Total Length. */
  size_t announced = 0;
  if (total != 0) {
    if (total < ihl) return malformed(why, "IPv4 total length below the header length");
    announced = total - ihl;
  }
  CBS payload;
  size_t missing;
  ip_payload(pkt, announced, &payload, &missing);
  if (proto == IPPROTO_UDP_) return decode_udp(&payload, missing, seg, why);
  return decode_tcp(&payload, missing, seg, why);
}

/* RFC 8200 §3 and §4: fixed header, then a chain of extension headers. */
static gcap_pkt decode_ipv6(CBS *pkt, gcap_segment *seg, const char **why) {
  uint32_t vcf;
  uint16_t plen;
  uint8_t next, hops;
  if (!CBS_get_u32(pkt, &vcf) || !CBS_get_u16(pkt, &plen) || !CBS_get_u8(pkt, &next) ||
      !CBS_get_u8(pkt, &hops) || !CBS_copy_bytes(pkt, seg->src, 16) ||
      !CBS_copy_bytes(pkt, seg->dst, 16))
    return malformed(why, "IPv6 header truncated");
  if ((vcf >> 28) != 6) return malformed(why, "IP version is not 6");
  seg->family = 6;
  /* Payload Length 0 means a jumbogram (RFC 2675) or a segmentation-offload send: the
   * captured bytes are the payload. */
  CBS payload;
  size_t missing;
  ip_payload(pkt, plen, &payload, &missing);
  for (unsigned i = 0; i <= GCAP_MAX_IPV6_EXT; i++) {
    if (next == IPPROTO_TCP_) return decode_tcp(&payload, missing, seg, why);
    if (next == IPPROTO_UDP_) return decode_udp(&payload, missing, seg, why);
    uint8_t nh, len8;
    switch (next) {
    case IPPROTO_HOPOPTS_:
    case IPPROTO_ROUTING_:
    case IPPROTO_DSTOPTS_:
    case IPPROTO_MOBILITY_:
    case IPPROTO_HIP_:
    case IPPROTO_SHIM6_:
      /* §4.3-4.6 and later ones with the same layout: Hdr Ext Len in 8-octet units,
         * not counting the first 8 octets. */
      if (!CBS_get_u8(&payload, &nh) || !CBS_get_u8(&payload, &len8) ||
          !CBS_skip(&payload, (size_t)len8 * 8 + 6))
        return malformed(why, "IPv6 extension header truncated");
      break;
    case IPPROTO_FRAGMENT_: {
      /* §4.5: an offset or the M flag makes it a fragment; neither is an "atomic
         * fragment" (RFC 6946), whose payload is whole. */
      uint8_t reserved;
      uint16_t off_flags;
      uint32_t ident;
      if (!CBS_get_u8(&payload, &nh) || !CBS_get_u8(&payload, &reserved) ||
          !CBS_get_u16(&payload, &off_flags) || !CBS_get_u32(&payload, &ident))
        return malformed(why, "IPv6 fragment header truncated");
      if ((off_flags & 0xfff9) != 0) return GCAP_PKT_FRAGMENT;
      break;
    }
    case IPPROTO_AH_:
      /* RFC 4302 §2.2: Payload Len in 32-bit words, minus 2. */
      if (!CBS_get_u8(&payload, &nh) || !CBS_get_u8(&payload, &len8) ||
          !CBS_skip(&payload, ((size_t)len8 + 2) * 4 - 2))
        return malformed(why, "IPv6 authentication header truncated");
      break;
    default:
      return GCAP_PKT_OTHER; /* ESP, ICMPv6, No Next Header, ... */
    }
    next = nh;
  }
  return malformed(why, "too many IPv6 extension headers");
}

static gcap_pkt decode_ip_by_version(CBS *pkt, gcap_segment *seg, const char **why) {
  CBS peek = *pkt;
  uint8_t v;
  if (!CBS_get_u8(&peek, &v)) return malformed(why, "empty IP packet");
  if ((v >> 4) == 4) return decode_ipv4(pkt, seg, why);
  if ((v >> 4) == 6) return decode_ipv6(pkt, seg, why);
  return GCAP_PKT_OTHER;
}

static gcap_pkt decode_ethertype(uint16_t type, CBS *pkt, gcap_segment *seg, const char **why) {
  if (type == ETH_IPV4) return decode_ipv4(pkt, seg, why);
  if (type == ETH_IPV6) return decode_ipv6(pkt, seg, why);
  return GCAP_PKT_OTHER;
}

/* BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 differs by system
 * (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30). */
static gcap_pkt decode_af(uint32_t af, CBS *pkt, gcap_segment *seg, const char **why) {
  if (af == 2) return decode_ipv4(pkt, seg, why);
  if (af == 10 || af == 24 || af == 28 || af == 30) return decode_ipv6(pkt, seg, why);
  return GCAP_PKT_OTHER;
}

gcap_pkt gcap_decode(int dlt, const uint8_t *frame, size_t len, gcap_segment *seg,
                     const char **why) {
  memset(seg, 0, sizeof(*seg));
  if (why != NULL) *why = NULL;
  CBS pkt;
  CBS_init(&pkt, frame, len);
  switch (dlt) {
  case DLT_EN10MB: {
    /* Destination and source MAC, then EtherType, possibly behind VLAN tags. */
    uint16_t type;
    if (!CBS_skip(&pkt, 12) || !CBS_get_u16(&pkt, &type))
      return malformed(why, "Ethernet header truncated");
    for (unsigned i = 0; i < GCAP_MAX_VLAN_TAGS && (type == ETH_VLAN || type == ETH_QINQ); i++) {
      uint16_t tci;
      if (!CBS_get_u16(&pkt, &tci) || !CBS_get_u16(&pkt, &type))
        return malformed(why, "VLAN tag truncated");
    }
    if (type < ETH_MIN_TYPE) return GCAP_PKT_OTHER; /* 802.3 length + LLC */
    return decode_ethertype(type, &pkt, seg, why);
  }
  case DLT_LINUX_SLL: {
    /* Linux "cooked" v1: packet type, ARPHRD type, address length, 8 address bytes,
       * protocol (an EtherType for IP). */
    uint16_t pkttype, hatype, halen, proto;
    if (!CBS_get_u16(&pkt, &pkttype) || !CBS_get_u16(&pkt, &hatype) || !CBS_get_u16(&pkt, &halen) ||
        !CBS_skip(&pkt, 8) || !CBS_get_u16(&pkt, &proto))
      return malformed(why, "Linux cooked (SLL) header truncated");
    return decode_ethertype(proto, &pkt, seg, why);
  }
  case DLT_LINUX_SLL2: {
    /* v2: protocol first, reserved, interface index, ARPHRD type, packet type,
       * address length, 8 address bytes. */
    uint16_t proto, reserved, hatype;
    uint32_t ifindex;
    uint8_t pkttype, halen;
    if (!CBS_get_u16(&pkt, &proto) || !CBS_get_u16(&pkt, &reserved) ||
        !CBS_get_u32(&pkt, &ifindex) || !CBS_get_u16(&pkt, &hatype) ||
        !CBS_get_u8(&pkt, &pkttype) || !CBS_get_u8(&pkt, &halen) || !CBS_skip(&pkt, 8))
      return malformed(why, "Linux cooked (SLL2) header truncated");
    return decode_ethertype(proto, &pkt, seg, why);
  }
  case DLT_RAW:
    return decode_ip_by_version(&pkt, seg, why);
  case DLT_IPV4:
    return decode_ipv4(&pkt, seg, why);
  case DLT_IPV6:
    return decode_ipv6(&pkt, seg, why);
  case DLT_NULL: {
    /* BSD loopback: the address family in the capturing host's byte order, which the
       * file does not record; the families are small numbers, so the order that gives
       * one is the right one. */
    uint32_t be;
    if (!CBS_get_u32(&pkt, &be)) return malformed(why, "loopback header truncated");
    uint32_t le = (be >> 24) | ((be >> 8) & 0xff00) | ((be << 8) & 0xff0000) | (be << 24);
    return decode_af(be < 0x10000 ? be : le, &pkt, seg, why);
  }
  case DLT_LOOP: {
    /* OpenBSD loopback: the same, always in network byte order. */
    uint32_t af;
    if (!CBS_get_u32(&pkt, &af)) return malformed(why, "loopback header truncated");
    return decode_af(af, &pkt, seg, why);
  }
  default:
    return GCAP_PKT_OTHER;
  }
}
