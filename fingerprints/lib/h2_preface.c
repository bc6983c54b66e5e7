/* HTTP/2 client connection start: preface (RFC 9113 §3.4), frames (§4.1, §6) up to the
 * end of the first request's header block, decoded with nghttp2's HPACK inflater
 * (RFC 7541). Every byte is read through CBS; the parser is stateless between calls and,
 * while incomplete, only re-walks frame headers (at most GFP_H2_MAX_FRAMES of them). */
#include "guise_fp.h"

#include <nghttp2/nghttp2.h>
#include <openssl/bytestring.h>

#include <stdlib.h>
#include <string.h>

/* RFC 9113 §3.4 client connection preface. */
static const char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
enum { PREFACE_LEN = 24 };

/* RFC 9113 §6 flags. */
enum {
  FLAG_ACK = 0x1,         /* SETTINGS, PING */
  FLAG_END_STREAM = 0x1,  /* HEADERS */
  FLAG_END_HEADERS = 0x4, /* HEADERS, CONTINUATION */
  FLAG_PADDED = 0x8,      /* HEADERS */
  FLAG_PRIORITY = 0x20    /* HEADERS */
};

gfp_h2_preface *gfp_h2_new(void) { return calloc(1, sizeof(gfp_h2_preface)); }

void gfp_h2_free(gfp_h2_preface *h2) { free(h2); }

typedef struct h2ctx {
  gfp_h2_preface *h2;
  const uint8_t *base; /* start of the input, for error offsets */
  size_t block_len;
  size_t frag_count;
} h2ctx;

static gfp_status fail_at(h2ctx *c, const CBS *at, const char *reason) {
  c->h2->err_offset = (size_t)(CBS_data(at) - c->base);
  c->h2->err_reason = reason;
  return GFP_ERROR;
}

/* RFC 9113 §5.3.2 / §6.3: exclusive bit + 31-bit stream dependency, then weight-1. */
static bool read_priority(CBS *p, gfp_h2_priority *out) {
  uint32_t dep;
  uint8_t weight;
  if (!CBS_get_u32(p, &dep) || !CBS_get_u8(p, &weight)) return false;
  out->exclusive = (dep & 0x80000000u) != 0;
  out->depends_on = dep & 0x7fffffffu;
  out->weight = (uint16_t)(weight + 1);
  return true;
}

/* Notes one header block fragment (HEADERS or CONTINUATION payload). Bytes are copied
 * only once the block is complete (decode_block), so repeated calls on a growing
 * buffer stay cheap. */
static gfp_status add_fragment(h2ctx *c, const CBS *frag) {
  gfp_h2_preface *h2 = c->h2;
  if (CBS_len(frag) > GFP_H2_MAX_HEADER_BLOCK - c->block_len)
    return fail_at(c, frag, "header block larger than GFP_H2_MAX_HEADER_BLOCK");
  h2->frags_[c->frag_count].block_off = c->block_len;
  h2->frags_[c->frag_count].input_off = (size_t)(CBS_data(frag) - c->base);
  h2->frags_[c->frag_count].len = CBS_len(frag);
  c->frag_count++;
  c->block_len += CBS_len(frag);
  return GFP_DONE;
}

/* Maps an offset in the reassembled block to an offset in the input. */
static size_t block_to_input(const h2ctx *c, size_t off) {
  const gfp_h2_preface *h2 = c->h2;
  for (size_t i = 0; i < c->frag_count; i++) {
    if (off < h2->frags_[i].block_off + h2->frags_[i].len)
      return h2->frags_[i].input_off + (off - h2->frags_[i].block_off);
  }
  return c->frag_count ? h2->frags_[c->frag_count - 1].input_off + h2->frags_[c->frag_count - 1].len
                       : 0;
}

static gfp_status decode_fail(h2ctx *c, size_t block_off, const char *reason) {
  c->h2->err_offset = block_to_input(c, block_off);
  c->h2->err_reason = reason;
  return GFP_ERROR;
}

/* Decodes the whole header block with a fresh HPACK inflater: the first request is the
 * first header block on the connection, so the dynamic table starts empty with the
 * default 4096-byte size (RFC 7541 §4.2, RFC 9113 §6.5.2). */
static gfp_status decode_block(h2ctx *c) {
  gfp_h2_preface *h2 = c->h2;
  nghttp2_hd_inflater *inf = NULL;
  if (nghttp2_hd_inflate_new(&inf) != 0) return decode_fail(c, 0, "out of memory (HPACK inflater)");
  for (size_t i = 0; i < c->frag_count; i++)
    memcpy(h2->block_ + h2->frags_[i].block_off, c->base + h2->frags_[i].input_off,
           h2->frags_[i].len);
  const uint8_t *in = h2->block_;
  size_t left = c->block_len, used = 0, decoded = 0;
  gfp_status st = GFP_DONE;
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    size_t before = used; /* start of the field being decoded, for error offsets */
    ssize_t rv = nghttp2_hd_inflate_hd2(inf, &nv, &flags, in + used, left, 1);
    if (rv < 0) {
      st = decode_fail(c, used, "HPACK decoding error (RFC 7541)");
      break;
    }
    used += (size_t)rv;
    left -= (size_t)rv;
    if (flags & NGHTTP2_HD_INFLATE_EMIT) {
      if (h2->header_count >= GFP_H2_MAX_HEADERS) {
        st = decode_fail(c, before, "too many header fields (GFP_H2_MAX_HEADERS)");
        break;
      }
      if (nv.namelen > GFP_H2_MAX_DECODED - decoded ||
          nv.valuelen > GFP_H2_MAX_DECODED - decoded - nv.namelen) {
        st = decode_fail(c, before, "decoded headers larger than GFP_H2_MAX_DECODED");
        break;
      }
      gfp_h2_header *h = &h2->headers_[h2->header_count++];
      memcpy(h2->decoded_ + decoded, nv.name, nv.namelen);
      h->name.data = h2->decoded_ + decoded;
      h->name.len = nv.namelen;
      decoded += nv.namelen;
      memcpy(h2->decoded_ + decoded, nv.value, nv.valuelen);
      h->value.data = h2->decoded_ + decoded;
      h->value.len = nv.valuelen;
      decoded += nv.valuelen;
      h->never_index = (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0;
    }
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inf);
      break;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0) break;
  }
  nghttp2_hd_inflate_del(inf);
  return st;
}

static void reset_results(gfp_h2_preface *h2) {
  h2->frames = h2->frames_;
  h2->frame_count = 0;
  h2->settings = h2->settings_;
  h2->settings_count = 0;
  h2->headers_frame = NULL;
  h2->headers = h2->headers_;
  h2->header_count = 0;
  h2->consumed = 0;
  h2->err_offset = 0;
  h2->err_reason = NULL;
}

/* Checks what the 9-byte header alone can tell (RFC 9113 §4.1, §6.x length and stream
 * rules, §6.10 CONTINUATION sequencing), so errors surface before the payload arrives. */
static const char *check_header(const gfp_h2_frame *f, size_t index, uint32_t cont_stream) {
  if (index == 0 && (f->type != GFP_H2_SETTINGS || (f->flags & FLAG_ACK)))
    return "first frame after the preface is not SETTINGS (RFC 9113 §3.4)";
  if (cont_stream != 0 && (f->type != GFP_H2_CONTINUATION || f->stream_id != cont_stream))
    return "header block interrupted before END_HEADERS (RFC 9113 §6.10)";
  switch (f->type) {
  case GFP_H2_DATA:
    return "DATA before the first HEADERS (RFC 9113 §5.1)";
  case GFP_H2_HEADERS:
    return f->stream_id == 0 ? "HEADERS on stream 0 (RFC 9113 §6.2)" : NULL;
  case GFP_H2_PRIORITY:
    if (f->stream_id == 0) return "PRIORITY on stream 0 (RFC 9113 §6.3)";
    return f->length != 5 ? "PRIORITY length is not 5 (RFC 9113 §6.3)" : NULL;
  case GFP_H2_RST_STREAM:
    if (f->stream_id == 0) return "RST_STREAM on stream 0 (RFC 9113 §6.4)";
    return f->length != 4 ? "RST_STREAM length is not 4 (RFC 9113 §6.4)" : NULL;
  case GFP_H2_SETTINGS:
    if (f->stream_id != 0) return "SETTINGS on a stream (RFC 9113 §6.5)";
    if ((f->flags & FLAG_ACK) && f->length != 0)
      return "SETTINGS ACK with a payload (RFC 9113 §6.5)";
    return f->length % 6 != 0 ? "SETTINGS length not a multiple of 6 (RFC 9113 §6.5)" : NULL;
  case GFP_H2_PUSH_PROMISE:
    return "PUSH_PROMISE from a client (RFC 9113 §8.4)";
  case GFP_H2_PING:
    if (f->stream_id != 0) return "PING on a stream (RFC 9113 §6.7)";
    return f->length != 8 ? "PING length is not 8 (RFC 9113 §6.7)" : NULL;
  case GFP_H2_GOAWAY:
    if (f->stream_id != 0) return "GOAWAY on a stream (RFC 9113 §6.8)";
    return f->length < 8 ? "GOAWAY shorter than 8 bytes (RFC 9113 §6.8)" : NULL;
  case GFP_H2_WINDOW_UPDATE:
    return f->length != 4 ? "WINDOW_UPDATE length is not 4 (RFC 9113 §6.9)" : NULL;
  case GFP_H2_CONTINUATION:
    return cont_stream == 0 ? "CONTINUATION without HEADERS (RFC 9113 §6.10)" : NULL;
  default:
    return NULL; /* §4.1 / §5.5: unknown frame types are ignored */
  }
}

gfp_status gfp_h2_parse(gfp_h2_preface *h2, const uint8_t *data, size_t len) {
  reset_results(h2);
  h2ctx c = {h2, data, 0, 0};
  CBS in;
  CBS_init(&in, data, len);

  /* Preface: report the first differing byte as soon as it arrives. */
  size_t n = len < PREFACE_LEN ? len : PREFACE_LEN;
  for (size_t i = 0; i < n; i++) {
    if (data[i] != (uint8_t)kPreface[i]) {
      h2->err_offset = i;
      h2->err_reason = "not the HTTP/2 client preface (RFC 9113 §3.4)";
      return GFP_ERROR;
    }
  }
  if (!CBS_skip(&in, PREFACE_LEN)) return GFP_NEED_MORE;

  uint32_t cont_stream = 0; /* stream whose header block awaits CONTINUATION */
  for (;;) {
    const CBS at = in;
    uint32_t length, stream;
    uint8_t type, flags;
    if (!CBS_get_u24(&in, &length) || !CBS_get_u8(&in, &type) || !CBS_get_u8(&in, &flags) ||
        !CBS_get_u32(&in, &stream))
      return GFP_NEED_MORE;
    if (h2->frame_count >= GFP_H2_MAX_FRAMES)
      return fail_at(&c, &at, "too many frames before the first request (GFP_H2_MAX_FRAMES)");
    if (length > GFP_H2_MAX_FRAME_PAYLOAD)
      return fail_at(&c, &at, "frame larger than SETTINGS_MAX_FRAME_SIZE (RFC 9113 §4.2)");
    gfp_h2_frame *f = &h2->frames_[h2->frame_count];
    memset(f, 0, sizeof(*f));
    f->offset = (size_t)(CBS_data(&at) - data);
    f->length = length;
    f->type = type;
    f->flags = flags;
    f->stream_id = stream & 0x7fffffffu; /* §4.1: the reserved bit is ignored */
    const char *bad = check_header(f, h2->frame_count, cont_stream);
    if (bad != NULL) return fail_at(&c, &at, bad);
    CBS payload;
    if (!CBS_get_bytes(&in, &payload, length)) return GFP_NEED_MORE;
    h2->frame_count++;

    switch (type) {
    case GFP_H2_SETTINGS:
      if (flags & FLAG_ACK) break;
      f->settings_first = h2->settings_count;
      while (CBS_len(&payload) > 0) {
        const CBS pat = payload;
        gfp_h2_setting *s = &h2->settings_[h2->settings_count];
        if (h2->settings_count >= GFP_H2_MAX_SETTINGS)
          return fail_at(&c, &pat, "too many SETTINGS parameters (GFP_H2_MAX_SETTINGS)");
        if (!CBS_get_u16(&payload, &s->id) || !CBS_get_u32(&payload, &s->value))
          return fail_at(&c, &pat, "truncated SETTINGS parameter"); /* not reached */
        h2->settings_count++;
        f->settings_count++;
      }
      break;
    case GFP_H2_WINDOW_UPDATE: {
      uint32_t inc;
      if (!CBS_get_u32(&payload, &inc))
        return fail_at(&c, &payload, "truncated WINDOW_UPDATE"); /* not reached */
      f->window_increment = inc & 0x7fffffffu;                   /* §6.9: reserved bit ignored */
      break;
    }
    case GFP_H2_PRIORITY:
      if (!read_priority(&payload, &f->priority))
        return fail_at(&c, &payload, "truncated PRIORITY"); /* not reached */
      f->has_priority = true;
      break;
    case GFP_H2_HEADERS: {
      /* §6.2: [Pad Length] [E + Stream Dependency, Weight] fragment [Padding]. */
      uint8_t pad = 0;
      if ((flags & FLAG_PADDED) && !CBS_get_u8(&payload, &pad))
        return fail_at(&c, &payload, "HEADERS too short for its Pad Length");
      if (flags & FLAG_PRIORITY) {
        if (!read_priority(&payload, &f->priority))
          return fail_at(&c, &payload, "HEADERS too short for its priority fields");
        f->has_priority = true;
      }
      CBS frag;
      if (CBS_len(&payload) < pad || !CBS_get_bytes(&payload, &frag, CBS_len(&payload) - pad))
        return fail_at(&c, &payload, "HEADERS padding longer than the payload (RFC 9113 §6.2)");
      h2->headers_frame = f;
      if (add_fragment(&c, &frag) != GFP_DONE) return GFP_ERROR;
      cont_stream = f->stream_id;
      break;
    }
    case GFP_H2_CONTINUATION:
      if (add_fragment(&c, &payload) != GFP_DONE) return GFP_ERROR;
      break;
    default:
      break; /* PING, RST_STREAM, GOAWAY, unknown: kept in the frame list only */
    }

    if ((type == GFP_H2_HEADERS || type == GFP_H2_CONTINUATION) && (flags & FLAG_END_HEADERS)) {
      h2->consumed = (size_t)(CBS_data(&in) - data);
      return decode_block(&c);
    }
  }
}
