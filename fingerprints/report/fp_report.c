/* fp_report.c — JSON documents of parsed client flights (see fp_report.h). */
#include "fp_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quic_initial.h"

/* json_object_set_new that tolerates a NULL value (allocation failure): the caller
 * checks the whole document once at the end through |*ok|. */
static void put(json_t *obj, const char *key, json_t *val, int *ok) {
  if (val == NULL || json_object_set_new(obj, key, val) != 0) *ok = 0;
}

static void push(json_t *arr, json_t *val, int *ok) {
  if (val == NULL || json_array_append_new(arr, val) != 0) *ok = 0;
}

static json_t *finish(json_t *doc, int ok) {
  if (!ok) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

json_t *gfp_report_hex(const uint8_t *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(2 * len + 1);
  if (s == NULL) return NULL;
  for (size_t i = 0; i < len; i++) {
    s[2 * i] = digits[data[i] >> 4];
    s[2 * i + 1] = digits[data[i] & 15];
  }
  json_t *j = json_stringn(s, 2 * len);
  free(s);
  return j;
}

json_t *gfp_report_text(const uint8_t *data, size_t len) {
  json_t *j = json_stringn((const char *)data, len);
  if (j != NULL) return j;
  /* Not valid UTF-8 (or holds NUL, which jansson accepts with stringn): keep ASCII,
   * replace every other byte by U+FFFD. */
  char *s = malloc(3 * len + 1);
  if (s == NULL) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (data[i] < 0x80) {
      s[n++] = (char)data[i];
    } else {
      memcpy(s + n, "\xef\xbf\xbd", 3);
      n += 3;
    }
  }
  j = json_stringn(s, n);
  free(s);
  return j;
}

static json_t *hex16(uint16_t v) {
  char buf[8];
  snprintf(buf, sizeof(buf), "%04x", v);
  return json_string(buf);
}

static json_t *u16_list(gfp_u16s l) {
  json_t *a = json_array();
  int ok = a != NULL;
  for (size_t i = 0; ok && i < l.n; i++) push(a, hex16(l.v[i]), &ok);
  return finish(a, ok);
}

static json_t *names_list(gfp_names l) {
  json_t *a = json_array();
  int ok = a != NULL;
  for (size_t i = 0; ok && i < l.n; i++) push(a, gfp_report_text(l.v[i].data, l.v[i].len), &ok);
  return finish(a, ok);
}

/* The quic_transport_parameters extension (RFC 9001 §8.2) decoded: every parameter in
 * the order sent, with its value as an integer when it is one varint (RFC 9000 §18.2),
 * else as hex. A body that does not decode gives {"malformed": reason} instead. */
static json_t *transport_params(const gfp_ext *e) {
  gqi_param params[GQI_MAX_TRANSPORT_PARAMS];
  const char *why = NULL;
  int n = gqi_transport_params(e->body.data, e->body.len, params, GQI_MAX_TRANSPORT_PARAMS, &why);
  if (n < 0) return json_pack("{s:s}", "malformed", why);
  json_t *a = json_array();
  int ok = a != NULL;
  for (int i = 0; ok && i < n; i++) {
    const gqi_param *p = &params[i];
    const char *name = gqi_param_name(p->id);
    char id[24];
    snprintf(id, sizeof(id), "%llx", (unsigned long long)p->id);
    json_t *o = json_object();
    if (o == NULL) {
      ok = 0;
      break;
    }
    put(o, "id", json_integer((json_int_t)(p->id & 0x3fffffffffffffffull)), &ok);
    put(o, "hex", json_string(id), &ok);
    put(o, "name", name ? json_string(name) : json_null(), &ok);
    put(o, "length", json_integer((json_int_t)p->len), &ok);
    if (p->has_int && strcmp(name ? name : "", "GREASE") != 0)
      put(o, "value", json_integer((json_int_t)p->ival), &ok);
    else put(o, "data", gfp_report_hex(p->value, p->len), &ok);
    push(a, o, &ok);
  }
  return finish(a, ok);
}

static json_t *extension(const gfp_ext *e) {
  json_t *o = json_object();
  int ok = o != NULL;
  if (!ok) return NULL;
  const char *name = gfp_tls_ext_name(e->type);
  put(o, "type", json_integer(e->type), &ok);
  put(o, "hex", hex16(e->type), &ok);
  put(o, "name", name ? json_string(name) : json_null(), &ok);
  put(o, "grease", json_boolean(e->grease), &ok);
  put(o, "offset", json_integer((json_int_t)e->offset), &ok);
  put(o, "length", json_integer((json_int_t)e->body.len), &ok);
  put(o, "data", gfp_report_hex(e->body.data, e->body.len), &ok);
  if (e->malformed != NULL) put(o, "malformed", json_string(e->malformed), &ok);
  switch (e->kind) {
  case GFP_EXT_RAW:
    if (e->type == 57) put(o, "parameters", transport_params(e), &ok);
    break;
  case GFP_EXT_SERVER_NAME:
    put(o, "server_name", gfp_report_text(e->u.sni.host_name.data, e->u.sni.host_name.len), &ok);
    put(o, "entries", json_integer((json_int_t)e->u.sni.count), &ok);
    break;
  case GFP_EXT_STATUS_REQUEST:
    put(o, "status_type", json_integer(e->u.status_request.status_type), &ok);
    put(o, "responder_id_list_length",
        json_integer((json_int_t)e->u.status_request.responder_id_list_len), &ok);
    put(o, "request_extensions_length",
        json_integer((json_int_t)e->u.status_request.request_extensions_len), &ok);
    break;
  case GFP_EXT_U16_LIST:
    put(o, "values", u16_list(e->u.list), &ok);
    break;
  case GFP_EXT_ALPN:
    put(o, "protocols", names_list(e->u.protocols), &ok);
    break;
  case GFP_EXT_KEY_SHARE: {
    json_t *a = json_array();
    if (a == NULL) ok = 0;
    for (size_t i = 0; a && ok && i < e->u.key_share.n; i++) {
      json_t *ks = json_object();
      if (ks == NULL) {
        ok = 0;
        break;
      }
      put(ks, "group", hex16(e->u.key_share.v[i].group), &ok);
      put(ks, "key_length", json_integer(e->u.key_share.v[i].key_len), &ok);
      push(a, ks, &ok);
    }
    put(o, "key_shares", a, &ok);
    break;
  }
  case GFP_EXT_PRE_SHARED_KEY: {
    json_t *il = json_array(), *bl = json_array();
    if (il == NULL || bl == NULL) ok = 0;
    for (size_t i = 0; il && ok && i < e->u.psk.identity_lengths.n; i++)
      push(il, json_integer(e->u.psk.identity_lengths.v[i]), &ok);
    for (size_t i = 0; bl && ok && i < e->u.psk.binder_lengths.n; i++)
      push(bl, json_integer(e->u.psk.binder_lengths.v[i]), &ok);
    put(o, "identities", json_integer((json_int_t)e->u.psk.identity_count), &ok);
    put(o, "identity_lengths", il, &ok);
    put(o, "binder_lengths", bl, &ok);
    break;
  }
  case GFP_EXT_ECH:
    put(o, "ech_type", json_string(e->u.ech.type == 0 ? "outer" : "inner"), &ok);
    if (e->u.ech.type == 0) {
      put(o, "kdf", hex16(e->u.ech.kdf_id), &ok);
      put(o, "aead", hex16(e->u.ech.aead_id), &ok);
      put(o, "config_id", json_integer(e->u.ech.config_id), &ok);
      put(o, "enc_length", json_integer((json_int_t)e->u.ech.enc_len), &ok);
      put(o, "payload_length", json_integer((json_int_t)e->u.ech.payload_len), &ok);
    }
    break;
  case GFP_EXT_LENGTH:
  case GFP_EXT_RENEGOTIATION:
    break; /* "length" already says it all */
  case GFP_EXT_RECORD_SIZE:
    put(o, "record_size_limit", json_integer(e->u.record_size_limit), &ok);
    break;
  }
  return finish(o, ok);
}

/* A fingerprint string, or null when it could not be computed (malformed extension). */
static json_t *opt_string(const char *s) { return s != NULL ? json_string(s) : json_null(); }

/* [{"type", "name", "offset", "error_offset", "reason", "affects": [...]}] for every
 * extension whose body did not decode: what was wrong, where, and which fingerprints
 * are null because of it (docs/OBSERVER.md). */
static json_t *malformed_list(const gfp_clienthello *ch) {
  static const struct {
    unsigned bit;
    const char *names[4];
  } fams[] = {{GFP_FP_JA3, {"ja3", "ja3_md5"}},
              {GFP_FP_JA3N, {"ja3n", "ja3n_md5"}},
              {GFP_FP_JA4, {"ja4", "ja4_r", "ja4_o", "ja4_ro"}},
              {GFP_FP_PEETPRINT, {"peetprint", "peetprint_md5"}}};
  json_t *a = json_array();
  int ok = a != NULL;
  for (size_t i = 0; ok && i < ch->ext_count; i++) {
    const gfp_ext *e = &ch->exts[i];
    if (e->malformed == NULL) continue;
    json_t *o = json_object(), *aff = json_array();
    if (o == NULL || aff == NULL) {
      json_decref(o);
      json_decref(aff);
      ok = 0;
      break;
    }
    const char *name = gfp_tls_ext_name(e->type);
    unsigned dep = gfp_tls_fp_depends(e->type);
    for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
      for (size_t k = 0; (dep & fams[f].bit) && k < 4 && fams[f].names[k] != NULL; k++)
        push(aff, json_string(fams[f].names[k]), &ok);
    }
    put(o, "type", json_integer(e->type), &ok);
    put(o, "name", name ? json_string(name) : json_null(), &ok);
    put(o, "offset", json_integer((json_int_t)e->offset), &ok);
    put(o, "error_offset", json_integer((json_int_t)e->malformed_offset), &ok);
    put(o, "reason", json_string(e->malformed), &ok);
    put(o, "affects", aff, &ok);
    push(a, o, &ok);
  }
  return finish(a, ok);
}

/* The TLS document; |transport| is JA4's first letter ('t' TCP, 'q' QUIC). Over QUIC the
 * hello comes in CRYPTO frames, not records: no record_version / records, and "raw" is
 * the handshake message. */
static json_t *report_tls(const gfp_clienthello *ch, const uint8_t *flight, size_t len,
                          char transport) {
  json_t *doc = json_object(), *hello = json_object(), *fps = json_object();
  json_t *exts = json_array(), *ciphers = json_array();
  int ok = doc && hello && fps && exts && ciphers;
  if (!ok) {
    json_decref(doc);
    json_decref(hello);
    json_decref(fps);
    json_decref(exts);
    json_decref(ciphers);
    return NULL;
  }
  put(doc, "client_hello", hello, &ok);
  put(doc, "fingerprints", fps, &ok);

  if (transport != 'q') {
    put(hello, "record_version", hex16(ch->record_version), &ok);
    put(hello, "records", json_integer((json_int_t)ch->record_count), &ok);
  }
  put(hello, "handshake_length", json_integer((json_int_t)ch->body_len), &ok);
  put(hello, "legacy_version", hex16(ch->legacy_version), &ok);
  put(hello, "random", gfp_report_hex(ch->random, sizeof(ch->random)), &ok);
  put(hello, "session_id", gfp_report_hex(ch->session_id.data, ch->session_id.len), &ok);
  for (size_t i = 0; ok && i < ch->ciphers.n; i++) push(ciphers, hex16(ch->ciphers.v[i]), &ok);
  put(hello, "cipher_suites", ciphers, &ok);
  put(hello, "compression_methods",
      gfp_report_hex(ch->compression_methods.data, ch->compression_methods.len), &ok);
  for (size_t i = 0; ok && i < ch->ext_count; i++) push(exts, extension(&ch->exts[i]), &ok);
  put(hello, "extensions", exts, &ok);
  size_t raw = transport == 'q' || ch->consumed > len ? len : ch->consumed;
  put(hello, "raw", gfp_report_hex(flight, raw), &ok);

  gfp_tls_fp fp;
  if (ok && gfp_tls_fp_compute(ch, transport, &fp) == 0) {
    put(fps, "ja3", opt_string(fp.ja3), &ok);
    put(fps, "ja3_md5", opt_string(fp.ja3 ? fp.ja3_md5 : NULL), &ok);
    put(fps, "ja3n", opt_string(fp.ja3n), &ok);
    put(fps, "ja3n_md5", opt_string(fp.ja3n ? fp.ja3n_md5 : NULL), &ok);
    put(fps, "ja4", opt_string(fp.ja4), &ok);
    put(fps, "ja4_r", opt_string(fp.ja4_r), &ok);
    put(fps, "ja4_o", opt_string(fp.ja4_o), &ok);
    put(fps, "ja4_ro", opt_string(fp.ja4_ro), &ok);
    put(fps, "peetprint", opt_string(fp.peetprint), &ok);
    put(fps, "peetprint_md5", opt_string(fp.peetprint ? fp.peetprint_md5 : NULL), &ok);
    gfp_tls_fp_free(&fp);
  } else {
    ok = 0;
  }
  if (ok && ch->malformed_count > 0) put(doc, "malformed_extensions", malformed_list(ch), &ok);
  return finish(doc, ok);
}

json_t *gfp_report_tls(const gfp_clienthello *ch, const uint8_t *flight, size_t len) {
  return report_tls(ch, flight, len, 't');
}

json_t *gfp_report_tls_quic(const gfp_clienthello *ch, const uint8_t *msg, size_t len) {
  return report_tls(ch, msg, len, 'q');
}

static const char *frame_name(uint8_t type) {
  static const char *const names[] = {"DATA",          "HEADERS",      "PRIORITY", "RST_STREAM",
                                      "SETTINGS",      "PUSH_PROMISE", "PING",     "GOAWAY",
                                      "WINDOW_UPDATE", "CONTINUATION"};
  return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

/* RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1. */
static const char *setting_name(uint16_t id) {
  switch (id) {
  case 1:
    return "HEADER_TABLE_SIZE";
  case 2:
    return "ENABLE_PUSH";
  case 3:
    return "MAX_CONCURRENT_STREAMS";
  case 4:
    return "INITIAL_WINDOW_SIZE";
  case 5:
    return "MAX_FRAME_SIZE";
  case 6:
    return "MAX_HEADER_LIST_SIZE";
  case 8:
    return "ENABLE_CONNECT_PROTOCOL";
  case 9:
    return "NO_RFC7540_PRIORITIES";
  default:
    return NULL;
  }
}

static json_t *headers_list(const gfp_bytes *names, const gfp_bytes *values, size_t stride,
                            size_t n) {
  json_t *a = json_array();
  int ok = a != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    const gfp_bytes *nm = (const gfp_bytes *)((const char *)names + i * stride);
    const gfp_bytes *vl = (const gfp_bytes *)((const char *)values + i * stride);
    json_t *pair = json_array();
    if (pair == NULL) {
      ok = 0;
      break;
    }
    push(pair, gfp_report_text(nm->data, nm->len), &ok);
    push(pair, gfp_report_text(vl->data, vl->len), &ok);
    push(a, pair, &ok);
  }
  return finish(a, ok);
}

json_t *gfp_report_h2(const gfp_h2_preface *h2) {
  json_t *doc = json_object(), *frames = json_array();
  int ok = doc && frames;
  if (!ok) {
    json_decref(doc);
    json_decref(frames);
    return NULL;
  }
  put(doc, "frames", frames, &ok);
  for (size_t i = 0; ok && i < h2->frame_count; i++) {
    const gfp_h2_frame *f = &h2->frames[i];
    json_t *o = json_object();
    if (o == NULL) {
      ok = 0;
      break;
    }
    const char *name = frame_name(f->type);
    put(o, "type", name ? json_string(name) : json_integer(f->type), &ok);
    put(o, "stream", json_integer(f->stream_id), &ok);
    put(o, "flags", json_integer(f->flags), &ok);
    put(o, "length", json_integer(f->length), &ok);
    if (f->type == GFP_H2_SETTINGS) {
      json_t *s = json_array();
      if (s == NULL) ok = 0;
      for (size_t k = 0; s && ok && k < f->settings_count; k++) {
        const gfp_h2_setting *st = &h2->settings[f->settings_first + k];
        json_t *so = json_object();
        if (so == NULL) {
          ok = 0;
          break;
        }
        const char *sn = setting_name(st->id);
        put(so, "id", json_integer(st->id), &ok);
        put(so, "name", sn ? json_string(sn) : json_null(), &ok);
        put(so, "value", json_integer(st->value), &ok);
        push(s, so, &ok);
      }
      put(o, "settings", s, &ok);
    }
    if (f->type == GFP_H2_WINDOW_UPDATE)
      put(o, "increment", json_integer(f->window_increment), &ok);
    if (f->has_priority) {
      json_t *p = json_object();
      if (p == NULL) ok = 0;
      else {
        put(p, "exclusive", json_boolean(f->priority.exclusive), &ok);
        put(p, "depends_on", json_integer(f->priority.depends_on), &ok);
        put(p, "weight", json_integer(f->priority.weight), &ok);
        put(o, "priority", p, &ok);
      }
    }
    if (f->type == GFP_H2_HEADERS) {
      put(o, "end_stream", json_boolean(f->flags & 0x1), &ok);
      put(o, "end_headers", json_boolean(f->flags & 0x4), &ok);
    }
    push(frames, o, &ok);
  }
  if (ok && h2->header_count > 0)
    put(doc, "headers",
        headers_list(&h2->headers[0].name, &h2->headers[0].value, sizeof(h2->headers[0]),
                     h2->header_count),
        &ok);
  else if (ok) put(doc, "headers", json_array(), &ok);
  if (ok && h2->headers_frame != NULL) {
    put(doc, "first_stream", json_integer(h2->headers_frame->stream_id), &ok);
  }
  gfp_h2_fp fp;
  if (ok && gfp_h2_fp_compute(h2, &fp) == 0) {
    put(doc, "akamai", json_string(fp.akamai), &ok);
    put(doc, "akamai_md5", json_string(fp.akamai_md5), &ok);
    gfp_h2_fp_free(&fp);
  } else {
    ok = 0;
  }
  return finish(doc, ok);
}

json_t *gfp_report_h1(const gfp_h1_request *req) {
  json_t *doc = json_object();
  int ok = doc != NULL;
  if (!ok) return NULL;
  char version[16];
  snprintf(version, sizeof(version), "HTTP/%u.%u", req->version_major, req->version_minor);
  put(doc, "method", gfp_report_text(req->method.data, req->method.len), &ok);
  put(doc, "target", gfp_report_text(req->target.data, req->target.len), &ok);
  put(doc, "version", json_string(version), &ok);
  if (req->header_count > 0)
    put(doc, "headers",
        headers_list(&req->headers[0].name, &req->headers[0].value, sizeof(req->headers[0]),
                     req->header_count),
        &ok);
  else put(doc, "headers", json_array(), &ok);
  put(doc, "head_length", json_integer((json_int_t)req->head_len), &ok);
  return finish(doc, ok);
}

json_t *gfp_report_ssh(const gfp_ssh_ident *id) {
  json_t *doc = json_object();
  int ok = doc != NULL;
  if (!ok) return NULL;
  put(doc, "identification", gfp_report_text(id->line.data, id->line.len), &ok);
  put(doc, "proto_version", gfp_report_text(id->proto_version.data, id->proto_version.len), &ok);
  put(doc, "software_version", gfp_report_text(id->software_version.data, id->software_version.len),
      &ok);
  if (id->has_comments)
    put(doc, "comments", gfp_report_text(id->comments.data, id->comments.len), &ok);
  put(doc, "line_end", json_string(id->bare_lf ? "lf" : "crlf"), &ok);
  put(doc, "length", json_integer((json_int_t)id->len), &ok);
  return finish(doc, ok);
}

/* A SOCKS destination: dotted IPv4, full-form IPv6 (RFC 4291 §2.2.1), or the name. */
static json_t *socks_host(const gfp_socks *s) {
  char buf[64];
  if (s->atyp == 1 && s->host_len == 4) {
    snprintf(buf, sizeof(buf), "%u.%u.%u.%u", s->host[0], s->host[1], s->host[2], s->host[3]);
    return json_string(buf);
  }
  if (s->atyp == 4 && s->host_len == 16) {
    size_t n = 0;
    for (int i = 0; i < 16; i += 2)
      n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%x", i ? ":" : "",
                            (unsigned)(s->host[i] << 8 | s->host[i + 1]));
    return json_string(buf);
  }
  return gfp_report_text(s->host, s->host_len);
}

json_t *gfp_report_socks(const gfp_socks *s) {
  static const char *const commands[] = {"?", "connect", "bind", "udp associate"};
  static const char *const atyps[] = {"?", "ipv4", "?", "domain", "ipv6"};
  json_t *doc = json_object();
  int ok = doc != NULL;
  if (!ok) return NULL;
  put(doc, "version", json_integer(s->version), &ok);
  put(doc, "command", json_string(s->command <= 3 ? commands[s->command] : "?"), &ok);
  if (s->version == 5) {
    json_t *m = json_array();
    if (m == NULL) ok = 0;
    for (size_t i = 0; m && ok && i < s->method_count; i++)
      push(m, json_integer(s->methods[i]), &ok);
    put(doc, "methods", m, &ok);
    put(doc, "username_password", json_boolean(s->userpass), &ok);
  }
  put(doc, "address_type", json_string(s->atyp <= 4 ? atyps[s->atyp] : "?"), &ok);
  put(doc, "host", socks_host(s), &ok);
  put(doc, "port", json_integer(s->port), &ok);
  put(doc, "username_length", json_integer((json_int_t)s->username_len), &ok);
  put(doc, "length", json_integer((json_int_t)s->len), &ok);
  return finish(doc, ok);
}

json_t *gfp_report_error(const char *stage, size_t offset, const char *reason) {
  return json_pack("{s:s, s:I, s:s}", "stage", stage, "offset", (json_int_t)offset, "reason",
                   reason ? reason : "unknown");
}

const char *gfp_report_flight_kind(gfp_flight_kind kind) {
  switch (kind) {
  case GFP_FLIGHT_TLS:
    return "tls";
  case GFP_FLIGHT_SSLV2:
    return "sslv2-compatible hello";
  case GFP_FLIGHT_HTTP1:
    return "plaintext http/1";
  case GFP_FLIGHT_H2_PREFACE:
    return "plaintext http/2 preface";
  case GFP_FLIGHT_SSH:
    return "ssh";
  case GFP_FLIGHT_SOCKS:
    return "socks";
  case GFP_FLIGHT_UNKNOWN:
    break;
  }
  return "unknown protocol";
}
