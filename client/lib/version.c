/* version.c — guise_version(): what this build of libguise is made of. */
#include "guise.h"

#include <stdio.h>

#include <ares.h>
#include <brotli/decode.h>
#include <jansson.h>
#include <nghttp2/nghttp2.h>
#include <openssl/crypto.h>
#include <uv.h>
#include <zlib.h>
#include <zstd.h>

#include "build_info.h"

/* Brotli packs its version as (major << 24) | (minor << 12) | patch. */
static char brotli_buf[32];

static void fill(guise_version_info *v) {
  uint32_t b = BrotliDecoderVersion();
  snprintf(brotli_buf, sizeof(brotli_buf), "%u.%u.%u", (unsigned)(b >> 24),
           (unsigned)((b >> 12) & 0xfff), (unsigned)(b & 0xfff));
  v->size = sizeof(*v);
  v->guise = GUISE_VERSION_STRING;
  /* Asked at run time on purpose: if the system's OpenSSL ever interposed on
   * libguise's BoringSSL, this would name OpenSSL (tests/integration check it). */
  v->tls_library = OpenSSL_version(OPENSSL_VERSION);
  v->boringssl_revision = GUISE_BORINGSSL_REVISION;
  v->boringssl_patches = GUISE_BORINGSSL_PATCHES;
  v->nghttp2 = nghttp2_version(0)->version_str;
  v->libuv = uv_version_string();
  v->brotli = brotli_buf;
  v->zlib = zlibVersion();
  v->zstd = ZSTD_versionString();
  v->jansson = jansson_version_str();
  v->cares = ares_version(NULL);
}

static guise_version_info info;
static uv_once_t info_once = UV_ONCE_INIT;

static void init_info(void) { fill(&info); }

const guise_version_info *guise_version(void) {
  uv_once(&info_once, init_info);
  return &info;
}
