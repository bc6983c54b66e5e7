/*
 * tls_certcomp.h — TLS certificate compression (RFC 8879) for BoringSSL
 * contexts: zlib (1), brotli (2) and zstd (3), registered in the order a
 * profile gives, because that order is what the compress_certificate extension
 * (27) of the ClientHello carries, and real servers (Cloudflare, Google)
 * really answer with a CompressedCertificate message when a browser asks.
 *
 * Internal to libguise (not part of guise.h). I/O-free: the decoders work on
 * memory and are callable without an SSL (the unit tests and the fuzz target
 * tests/fuzz/certcomp_decompress.c use them directly).
 */
#ifndef GUISE_TLS_CERTCOMP_H
#define GUISE_TLS_CERTCOMP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* The RFC 8879 §7.3 code points implemented here. */
#define GUISE_TLS_CERTCOMP_ZLIB 1
#define GUISE_TLS_CERTCOMP_BROTLI 2
#define GUISE_TLS_CERTCOMP_ZSTD 3

/* Largest uncompressed_length accepted (bytes); see tls_certcomp.c for why. */
#define GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED (128u * 1024u)

/* What guise_tls_certcomp_register installs for each algorithm. */
#define GUISE_TLS_CERTCOMP_DECOMPRESS 1u /* client side: advertised in the ClientHello */
#define GUISE_TLS_CERTCOMP_COMPRESS 2u   /* server side: guise echo and the tests */

/*
 * Registers on |ctx| the algorithms |algs[0..n-1]| (RFC 8879 ids), in that
 * order, with the directions in |flags| (a non-zero combination of the two
 * bits above). A client context advertises exactly this list, in this order,
 * in its compress_certificate extension; a server context prefers earlier
 * entries. n == 0 registers nothing (no extension is sent).
 *
 * Returns 0 on success. Returns -1 and sets |*reason| (when |reason| is not
 * NULL) to a static English sentence when: |ctx| is NULL, |algs| is NULL with
 * n > 0, |flags| is zero or has unknown bits, an id is not 1, 2 or 3, an id is
 * listed twice, or BoringSSL refuses an id (already registered on |ctx| by an
 * earlier call). The list is checked as a whole before anything is registered,
 * so a bad list leaves |ctx| untouched; only BoringSSL's refusal can leave the
 * ids before the refused one registered (BoringSSL cannot unregister).
 *
 * Call before the first SSL_new on |ctx| (BoringSSL reads the list from the
 * context at each handshake; changing a shared context later races).
 */
int guise_tls_certcomp_register(SSL_CTX *ctx, const uint16_t *algs, size_t n, unsigned flags,
                                const char **reason);

/* The lowercase name of an RFC 8879 id ("zlib", "brotli", "zstd"), or NULL. */
const char *guise_tls_certcomp_name(uint16_t alg);

/*
 * Decompresses |in[0..in_len-1]|, compressed with |alg|, into exactly
 * |out_len| bytes at |out| — the CompressedCertificate's uncompressed_length
 * (RFC 8879 §4). Writes nothing beyond |out_len| bytes and allocates at most
 * a fixed decoder state besides, whatever the input claims.
 *
 * Returns 0 when the input is one complete stream of |alg| whose output is
 * exactly |out_len| bytes with no byte of input left over. Returns -1 (and
 * sets |*reason| when |reason| is not NULL) for: an unknown |alg|, out_len 0
 * or above GUISE_TLS_CERTCOMP_MAX_UNCOMPRESSED, corrupt input, a stream that
 * ends short of |out_len|, one that would produce more (a "bomb": decoding
 * stops at the bound), trailing bytes, or a decoder allocation failure.
 * |out| may hold partial output after a failure.
 */
int guise_tls_certcomp_decompress(uint16_t alg, const uint8_t *in, size_t in_len, uint8_t *out,
                                  size_t out_len, const char **reason);

/*
 * Appends to |out| the |alg| compression of |in[0..in_len-1]| (the server
 * side). Returns 0, or -1 with |*reason| for an unknown |alg| or a library or
 * allocation failure (|out| may then hold a partial write; BoringSSL discards
 * it with the handshake).
 */
int guise_tls_certcomp_compress(uint16_t alg, CBB *out, const uint8_t *in, size_t in_len,
                                const char **reason);

#endif /* GUISE_TLS_CERTCOMP_H */
