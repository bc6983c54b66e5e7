/*
 * guise.h — the one public header of libguise, a browser-impersonating HTTP client.
 *
 * Every exported symbol starts with guise_ (functions, types) or GUISE_ (macros).
 * libguise links its own patched BoringSSL statically and hides it: a program may
 * load the system's OpenSSL in the same process.
 */
#ifndef GUISE_H
#define GUISE_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GUISE_BUILDING) && defined(__GNUC__)
#define GUISE_EXTERN __attribute__((visibility("default")))
#else
#define GUISE_EXTERN
#endif

#define GUISE_VERSION_MAJOR 0
#define GUISE_VERSION_MINOR 1
#define GUISE_VERSION_PATCH 0
#define GUISE_VERSION_STRING "0.1.0"

/*
 * guise_version_info describes this build of libguise and the libraries in it.
 * Every string is static, NUL-terminated and never NULL ("unknown" when a
 * library cannot tell). Fields are only ever added at the end; |size| is
 * sizeof(guise_version_info) of the library that filled it in.
 */
typedef struct guise_version_info {
  unsigned size;
  const char *guise;              /* "0.1.0" */
  const char *tls_library;        /* what the linked TLS library calls itself: "BoringSSL" */
  const char *boringssl_revision; /* upstream commit of Debian's BoringSSL source */
  unsigned boringssl_patches;     /* patches of tools/boringssl/patches applied */
  const char *nghttp2;
  const char *libuv;
  const char *brotli;
  const char *zlib;
  const char *zstd;
  const char *jansson;
  const char *cares;
} guise_version_info;

/*
 * guise_version returns the version information of the loaded libguise. The
 * result points to static storage, valid for the life of the process. Library
 * versions are read at run time from the loaded libraries where they say.
 * Thread-safe after the first call returns.
 */
GUISE_EXTERN const guise_version_info *guise_version(void);

#ifdef __cplusplus
}
#endif
#endif /* GUISE_H */
