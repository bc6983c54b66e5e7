/* names.c — IANA registries as tables (see names.h). Values from the IANA TLS
 * Parameters registries (cipher suites, ExtensionType, Supported Groups,
 * SignatureScheme, Certificate Compression Algorithm IDs) and RFC 9113 6.5.2 /
 * RFC 8441 / RFC 9218 for HTTP/2 settings. */
#include "names.h"

#include <stdlib.h>
#include <string.h>

typedef struct entry {
  uint16_t value;
  const char *name;
} entry;

static const entry kCiphers[] = {
    {0x1301, "TLS_AES_128_GCM_SHA256"},
    {0x1302, "TLS_AES_256_GCM_SHA384"},
    {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
    {0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
    {0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
    {0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"},
    {0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"},
    {0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
    {0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"},
    {0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"},
    {0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"},
    {0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
    {0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"},
    {0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
    {0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384"},
    {0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA"},
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA"},
    {0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256"},
    {0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256"},
    {0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
    {0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
    {0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"},
    {0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"},
    {0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"},
    {0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    {0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"},
};

static const entry kExtensions[] = {
    {0, "server_name"},
    {5, "status_request"},
    {10, "supported_groups"},
    {11, "ec_point_formats"},
    {13, "signature_algorithms"},
    {16, "application_layer_protocol_negotiation"},
    {18, "signed_certificate_timestamp"},
    {21, "padding"},
    {22, "encrypt_then_mac"},
    {23, "extended_master_secret"},
    {27, "compress_certificate"},
    {28, "record_size_limit"},
    {34, "delegated_credentials"},
    {35, "session_ticket"},
    {41, "pre_shared_key"},
    {42, "early_data"},
    {43, "supported_versions"},
    {45, "psk_key_exchange_modes"},
    {49, "post_handshake_auth"},
    {50, "signature_algorithms_cert"},
    {51, "key_share"},
    {17513, "application_settings_old"},
    {17613, "application_settings"},
    {0xfe0d, "encrypted_client_hello"},
    {0xff01, "renegotiation_info"},
};

static const entry kGroups[] = {
    {0x0017, "secp256r1"},     {0x0018, "secp384r1"},          {0x0019, "secp521r1"},
    {0x001d, "x25519"},        {0x001e, "x448"},               {0x0100, "ffdhe2048"},
    {0x0101, "ffdhe3072"},     {0x0102, "ffdhe4096"},          {0x11ec, "X25519MLKEM768"},
    {0x6399, "X25519Kyber768Draft00"},
};

static const entry kSigalgs[] = {
    {0x0403, "ecdsa_secp256r1_sha256"}, {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0603, "ecdsa_secp521r1_sha512"}, {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},                {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},     {0x080a, "rsa_pss_pss_sha384"},
    {0x080b, "rsa_pss_pss_sha512"},     {0x0401, "rsa_pkcs1_sha256"},
    {0x0501, "rsa_pkcs1_sha384"},       {0x0601, "rsa_pkcs1_sha512"},
    {0x0201, "rsa_pkcs1_sha1"},         {0x0203, "ecdsa_sha1"},
    {0x0904, "mldsa44"},                {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
};

static const entry kVersions[] = {
    {0x0304, "TLS1.3"}, {0x0303, "TLS1.2"}, {0x0302, "TLS1.1"}, {0x0301, "TLS1.0"},
};

static const entry kCertcomp[] = {{1, "zlib"}, {2, "brotli"}, {3, "zstd"}};

static const entry kH2Settings[] = {
    {1, "HEADER_TABLE_SIZE"},      {2, "ENABLE_PUSH"},        {3, "MAX_CONCURRENT_STREAMS"},
    {4, "INITIAL_WINDOW_SIZE"},    {5, "MAX_FRAME_SIZE"},     {6, "MAX_HEADER_LIST_SIZE"},
    {8, "ENABLE_CONNECT_PROTOCOL"}, {9, "NO_RFC7540_PRIORITIES"},
};

static const entry *table(name_kind k, size_t *n) {
#define T(x) *n = sizeof(x) / sizeof(x[0]); return x
  switch (k) {
    case NAME_CIPHER: T(kCiphers);
    case NAME_EXTENSION: T(kExtensions);
    case NAME_GROUP: T(kGroups);
    case NAME_SIGALG: T(kSigalgs);
    case NAME_VERSION: T(kVersions);
    case NAME_CERTCOMP: T(kCertcomp);
    case NAME_H2_SETTING: T(kH2Settings);
  }
#undef T
  *n = 0;
  return NULL;
}

int name_to_value(name_kind kind, const char *name, uint16_t *out) {
  if (strcmp(name, "GREASE") == 0 && kind != NAME_CERTCOMP && kind != NAME_H2_SETTING) {
    *out = 0x0a0a;
    return 0;
  }
  size_t n;
  const entry *t = table(kind, &n);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(t[i].name, name) == 0) {
      *out = t[i].value;
      return 0;
    }
  }
  /* "0x" and exactly four hex digits: a code point without a name. */
  /* (strtoul alone would take a sign or blanks: "0x-001" was 0xffff) */
  if (name[0] == '0' && name[1] == 'x' && strlen(name) == 6) {
    uint16_t v = 0;
    for (int i = 2; i < 6; i++) {
      char c = name[i];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = (uint16_t)(v << 4 | (unsigned)d);
    }
    *out = v;
    return 0;
  }
  return -1;
}

const char *name_of_value(name_kind kind, uint16_t value) {
  size_t n;
  const entry *t = table(kind, &n);
  for (size_t i = 0; i < n; i++)
    if (t[i].value == value) return t[i].name;
  return NULL;
}
