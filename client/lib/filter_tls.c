/*
 * filter_tls.c — TLS as a filter (filter_tls.h). Calls BoringSSL, the filter
 * below (send), the one above and the chain (filter.h); no I/O of its own.
 */
#include "filter_tls.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>

#include "escape.h"
#include "guise.h"
#include "tls_verify.h"

/* The most plaintext given to SSL_write at once: one record's worth. */
#define TLS_WRITE_CHUNK 16384

/* ---- the BIO: reads the bytes of the current recv, writes to the filter below */
static int bio_write(BIO *b, const char *p, int n) {
  filter_tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (n <= 0) return 0;
  filter *below = t->f.below;
  int e = below->ops->send(below, (const uint8_t *)p, (size_t)n);
  if (e) {
    if (!t->bio_err) t->bio_err = e;
    return -1;
  }
  return n;
}

static int bio_read(BIO *b, char *out, int len) {
  filter_tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (len <= 0) return 0;
  if (t->in_n == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  size_t n = t->in_n < (size_t)len ? t->in_n : (size_t)len;
  memcpy(out, t->in_p, n);
  t->in_p += n;
  t->in_n -= n;
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long larg, void *parg) {
  (void)b, (void)larg, (void)parg;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "guise conn");
  if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
      BIO_meth_set_ctrl(m, bio_ctrl))
    bio_method = m;
}

/* ---- failures ------------------------------------------------------------------- */

/* Keeps the first bytes the peer sent in the handshake. */
static void note_first(filter_tls *t, const uint8_t *p, size_t n) {
  while (n > 0 && t->first_n < sizeof(t->first)) t->first[t->first_n++] = *p++, n--;
}

/* A peer whose first bytes cannot start a TLS record (RFC 8446 5.1: a content
 * type 20-24, then version major 3) does not speak TLS: say what it spoke. A
 * plain HTTP server answers a ClientHello with "HTTP/1.1 400 ..." — what
 * https:// to an http:// port looks like. Returns 1 with |detail| set. */
static int not_tls(const filter_tls *t, const char *who, char *detail, size_t cap) {
  if (t->first_n == 0) return 0;
  if (t->first[0] >= 20 && t->first[0] <= 24 && (t->first_n < 2 || t->first[1] == 3)) return 0;
  if (t->first_n >= 5 && memcmp(t->first, "HTTP/", 5) == 0) {
    snprintf(detail, cap, "%s answered in plain HTTP, not TLS (an http:// port?)", who);
  } else {
    /* The bytes are the peer's: escaped (text_escape) before they are quoted. */
    char shown[sizeof(t->first) * 4 + 1];
    text_escape((const char *)t->first, t->first_n, shown, sizeof(shown));
    snprintf(detail, cap, "%s did not answer in TLS (not a TLS port?); its first bytes: \"%s\"", who, shown);
  }
  return 1;
}

/* A failed handshake's reason: the certificate when it was the cause, else the
 * library's verdict from its error queue (oldest first: a received alert comes
 * before what the handshake concluded from it). |detail| gets the reasons, |lib|
 * the packed error that decided the code (else the first). The verify result
 * is consulted only when the library says the certificate check failed: before
 * a certificate arrives it is not X509_V_OK either, and a plaintext server
 * would otherwise read as a certificate error. */
static int map_failure(const filter_tls *t, char *detail, size_t cap, int *lib) {
  int cert = 0;
  int code = GUISE_E_TLS_HANDSHAKE;
  size_t off = 0;
  const char *data;
  int flags;
  uint32_t e;
  detail[0] = '\0';
  *lib = 0;
  while ((e = ERR_get_error_line_data(NULL, NULL, &data, &flags)) != 0) {
    if (*lib == 0) *lib = (int)e;
    if (t->verify && !cert && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      cert = tls_verify_error(t->ssl);
    if (off < cap) {
      int n = snprintf(detail + off, cap - off, "%s%s%s%s", off ? "; " : "TLS library: ",
                       ERR_reason_error_string(e), (flags & ERR_FLAG_STRING) && data && *data ? ", " : "",
                       (flags & ERR_FLAG_STRING) && data ? data : "");
      off += n > 0 ? (size_t)n : 0;
    }
    if (ERR_GET_LIB(e) != ERR_LIB_SSL || code != GUISE_E_TLS_HANDSHAKE) continue;
    int r = ERR_GET_REASON(e);
    if (r == SSL_R_WRONG_CIPHER_RETURNED || r == SSL_R_UNKNOWN_CIPHER_RETURNED) code = GUISE_E_TLS_WRONG_CIPHER;
    else if (r == SSL_R_WRONG_CURVE) code = GUISE_E_TLS_WRONG_GROUP;
    else if (r == SSL_R_INVALID_DELEGATED_CREDENTIAL) code = GUISE_E_TLS_DELEGATED_CREDENTIAL;
    else if (r == SSL_R_CERT_DECOMPRESSION_FAILED || r == SSL_R_UNCOMPRESSED_CERT_TOO_LARGE)
      code = GUISE_E_TLS_CERT_DECOMPRESSION;
    else if (r >= SSL_AD_REASON_OFFSET) code = GUISE_E_TLS_ALERT;
    if (code != GUISE_E_TLS_HANDSHAKE) *lib = (int)e;
  }
  if (cert) {
    detail[0] = '\0'; /* the certificate error names the cause */
    return cert;
  }
  if (not_tls(t, t->role == FILTER_TLS_PROXY ? "the proxy" : "the server", detail, cap)) return GUISE_E_TLS_HANDSHAKE;
  return code;
}

static void handshake_failed(filter_tls *t) {
  char detail[GERR_TEXT_MAX];
  int lib;
  int code = map_failure(t, detail, sizeof(detail), &lib);
  if (t->role == FILTER_TLS_ORIGIN) {
    filter_fail(&t->f, code, lib, "%s", detail);
    return;
  }
  /* The proxy's: its own codes, the reason prefixed. */
  filter_fail(&t->f, code <= GUISE_E_CERT_EXPIRED && code >= GUISE_E_CERT_INVALID ? GUISE_E_PROXY_CERT : GUISE_E_PROXY_TLS,
              lib, "TLS to the proxy: %.130s", detail[0] ? detail : guise_strerror(code));
}

/* SSL_read ended with |e| (not WANT_READ). */
static void read_failed(filter_tls *t, int e) {
  filter_chain *ch = t->f.chain;
  if (t->role == FILTER_TLS_ORIGIN) {
    if (e == SSL_ERROR_ZERO_RETURN) filter_eof(&t->f); /* close_notify: a clean end */
    else if (t->bio_err) filter_fail(t->f.below, t->bio_err, 0, NULL);
    else filter_fail(&t->f, GUISE_E_TLS_PROTOCOL, (int)ERR_peek_error(), NULL);
    return;
  }
  /* The tunnel's TLS: before the connection is up the proxy broke off its
   * handshake (or the origin's inside it). */
  if (!ch->up) filter_fail(&t->f, GUISE_E_PROXY_PROTOCOL, (int)ERR_peek_error(), NULL);
  else if (e == SSL_ERROR_ZERO_RETURN) filter_eof(&t->f);
  else filter_fail(&t->f, GUISE_E_CONNECT_CLOSED, (int)ERR_peek_error(), NULL);
}

/* ---- the handshake and the data ---------------------------------------------------- */

/* Plaintext of what arrived, up to the filter above. Every record of it goes up
 * in one call (not one per record): the protocol above answers a whole read at
 * once — one write for the requests that the responses in it made room for. */
static void read_records(filter_tls *t) {
  filter_chain *ch = t->f.chain;
  uint8_t *buf = filter_scratch_take(t->slot);
  if (buf == NULL) {
    filter_fail(&t->f, GUISE_E_NOMEM, 0, NULL);
    return;
  }
  size_t have = 0;
  for (;;) {
    int r = SSL_read(t->ssl, buf + have, (int)(FILTER_READ_BUF - have));
    if (r > 0) {
      have += (size_t)r;
      if (have < FILTER_READ_BUF) continue;
      filter_pass(&t->f, buf, have);
      have = 0;
      if (ch->closed) break;
      continue;
    }
    int e = SSL_get_error(t->ssl, r);
    if (have) {
      filter_pass(&t->f, buf, have);
      have = 0;
      if (ch->closed) break;
    }
    if (e == SSL_ERROR_WANT_READ) {
      if (t->bio_err) filter_fail(t->f.below, t->bio_err, 0, NULL); /* a post-handshake reply could not go out */
      break;
    }
    read_failed(t, e);
    break;
  }
  filter_scratch_give(t->slot, buf);
}

static void progress(filter_tls *t) {
  if (!t->f.up) {
    int r = SSL_do_handshake(t->ssl);
    if (t->bio_err) {
      filter_fail(t->f.below, t->bio_err, 0, NULL);
      return;
    }
    if (r != 1) {
      if (SSL_get_error(t->ssl, r) != SSL_ERROR_WANT_READ) handshake_failed(t);
      return;
    }
    filter_up(&t->f);
    if (t->f.chain->closed) return;
  }
  read_records(t);
}

static void tls_connect(filter *f) { progress((filter_tls *)f); }

static void tls_recv(filter *f, const uint8_t *p, size_t n) {
  filter_tls *t = (filter_tls *)f;
  if (!f->up) note_first(t, p, n);
  t->in_p = p;
  t->in_n = n;
  progress(t);
  t->in_p = NULL;
  t->in_n = 0; /* the connection closed early; what is left is not needed */
}

static int tls_send(filter *f, const uint8_t *p, size_t n) {
  filter_tls *t = (filter_tls *)f;
  while (n > 0) {
    int chunk = n > TLS_WRITE_CHUNK ? TLS_WRITE_CHUNK : (int)n;
    if (SSL_write(t->ssl, p, chunk) != chunk)
      return t->bio_err ? t->bio_err : t->role == FILTER_TLS_ORIGIN ? GUISE_E_TLS_PROTOCOL : GUISE_E_PROXY_TLS;
    p += chunk;
    n -= (size_t)chunk;
  }
  return 0;
}

static void tls_close(filter *f) {
  filter_tls *t = (filter_tls *)f;
  SSL_free(t->ssl);
  t->ssl = NULL;
}

static const filter_ops tls_ops = {tls_connect, tls_send, tls_recv, tls_close};

int filter_tls_init(filter_tls *t, const filter_tls_config *cfg) {
  memset(t, 0, sizeof(*t));
  int origin = cfg->role == FILTER_TLS_ORIGIN;
  t->f.ops = &tls_ops;
  t->f.layer = origin ? "tls" : "proxy-tls";
  /* The origin's handshake has a timer of its own; the proxy's is part of the
   * connect timeout, and a peer that closes during it is the proxy at fault. */
  t->f.timeout_code = origin ? GUISE_E_TIMEOUT_TLS : GUISE_E_PROXY_TIMEOUT;
  t->f.eof_code = origin ? GUISE_E_CONNECT_CLOSED : GUISE_E_PROXY_PROTOCOL;
  t->f.restarts_timer = cfg->restarts_timer != 0;
  t->f.timeout_ms = cfg->timeout_ms;
  t->role = (uint8_t)cfg->role;
  t->verify = cfg->verify != 0;
  t->slot = (uint8_t)cfg->scratch_slot;
  pthread_once(&bio_once, bio_method_init);
  t->ssl = cfg->ctx ? SSL_new(cfg->ctx) : NULL;
  BIO *bio = t->ssl && bio_method ? BIO_new(bio_method) : NULL;
  if (bio == NULL) {
    SSL_free(t->ssl);
    t->ssl = NULL;
    return GUISE_E_NOMEM;
  }
  BIO_set_data(bio, t);
  BIO_set_init(bio, 1);
  SSL_set_bio(t->ssl, bio, bio); /* one reference, taken by the SSL */
  SSL_set_connect_state(t->ssl);
  /* What the handshake was configured with (SSL_CONFIG: the ALPS list, the
   * CERT copy, the verify parameters; ~1.5 KB) is freed when it completes:
   * after it only its results are asked (the verify result and the session
   * are the session's, tickets go to the cache through ex_data). guise never
   * allows renegotiation, which would keep it (BoringSSL keeps it then). */
  SSL_set_shed_handshake_config(t->ssl, 1);
  const char *why = NULL;
  int r = 0;
  if (cfg->shape && tls_shape_apply_ssl(t->ssl, cfg->shape, &why) != 0) r = GUISE_E_PROFILE_UNSUPPORTED;
  if (!r && cfg->sni && !SSL_set_tlsext_host_name(t->ssl, cfg->sni)) r = GUISE_E_NOMEM;
  if (!r && cfg->verify_host) r = tls_verify_expect_host(t->ssl, cfg->verify_host);
  if (!r && cfg->sessions && cfg->session_key && tls_session_cache_begin(cfg->sessions, t->ssl, cfg->session_key, 1) != 0)
    r = GUISE_E_NOMEM;
  if (r) {
    SSL_free(t->ssl);
    t->ssl = NULL;
  }
  return r;
}
