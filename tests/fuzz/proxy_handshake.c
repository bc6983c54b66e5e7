/* proxy_handshake.c — libFuzzer target: arbitrary bytes as a proxy's answers
 * to the tunnel handshake (client/lib/proxy.c), for each kind of proxy, with
 * and without credentials, fed whole and in splits drawn from the input. The
 * first byte picks the configuration. The bytes also go to proxy_parse as a
 * --proxy URL. Nothing may crash or read out of bounds;
 * a finished handshake consumes no more than it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guise.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  static proxy_hs h;
  static proxy_cfg cfg;
  /* The same bytes as a --proxy URL. */
  static char spec[8192];
  size_t sl = size < sizeof(spec) - 1 ? size : sizeof(spec) - 1;
  memcpy(spec, data, sl);
  spec[sl] = '\0';
  int pr = proxy_parse(spec, &cfg);
  if (pr == 0 && (cfg.kind == PROXY_NONE || cfg.port == 0 || cfg.host[0] == '\0')) abort();
  memset(&cfg, 0, sizeof(cfg));
  cfg.kind = data[0] & 1 ? PROXY_SOCKS5H : PROXY_HTTP;
  cfg.has_auth = (data[0] >> 1) & 1;
  strcpy(cfg.user, "user");
  strcpy(cfg.pass, "pass");
  strcpy(cfg.host, "127.0.0.1");
  cfg.port = 1080;
  size_t split = data[1];
  data += 2;
  size -= 2;
  uint8_t out[PROXY_MAX_OUT];
  size_t n;
  if (proxy_hs_begin(&h, &cfg, "www.example.test", 443, NULL, out, sizeof(out), &n) != 0) abort();
  size_t off = 0;
  while (off < size) {
    size_t chunk = split ? split : size - off;
    if (chunk > size - off) chunk = size - off;
    size_t used;
    int r = proxy_hs_feed(&h, data + off, chunk, &used, out, sizeof(out), &n);
    if (r < 0) {
      if (r < GUISE_E_PROXY_SOCKS_UNSUPPORTED || r > GUISE_E_PROXY_CONNECT_REFUSED) abort();
      return 0; /* only proxy errors */
    }
    if (used > chunk || n > sizeof(out)) abort();
    if (r == 1) return 0;
    off += chunk;
  }
  return 0;
}
