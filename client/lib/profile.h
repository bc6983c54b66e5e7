/*
 * profile.h — browser profiles: the JSON format of profiles/FORMAT.md loaded,
 * strictly, into the TLS shape, the HTTP/2 shape and the request headers of a
 * browser build. Anything unknown, duplicated, out of range, or that this build
 * cannot send is an error naming file:line:column; nothing is half-loaded.
 */
#ifndef GUISE_PROFILE_H
#define GUISE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "h2.h"
#include "tls_shape.h"

/* Request headers of one kind of request: browsers send 10 to 20. */
#define PROFILE_MAX_HEADERS 48
#define PROFILE_MAX_NAME 64
#define PROFILE_MAX_VALUE 512
/* Largest profile file: real ones are 4 to 8 KiB. */
#define PROFILE_MAX_FILE (256u * 1024u)

typedef struct profile_header {
  char name[PROFILE_MAX_NAME];
  char value[PROFILE_MAX_VALUE];
} profile_header;

/* Request kinds (profiles/FORMAT.md, format 2): what started the request, as
 * the browser's fetch metadata says it. PROFILE_KIND_NAVIGATE is the
 * navigation set (nav_h2, nav_h1); the others live in profile.kinds. */
typedef enum profile_kind_id {
  PROFILE_KIND_NAVIGATE = 0,
  PROFILE_KIND_NAVIGATE_POST,
  PROFILE_KIND_FETCH_CORS,
  PROFILE_KIND_FETCH_SAME_ORIGIN,
  PROFILE_KIND_FETCH_NO_CORS,
  PROFILE_KIND_SCRIPT,
  PROFILE_KIND_STYLE,
  PROFILE_KIND_IMAGE,
  PROFILE_KIND_FONT,
  PROFILE_KIND_IFRAME,
  PROFILE_KIND_COUNT
} profile_kind_id;

/* Headers of a kind other than navigation: fewer than a navigation's. */
#define PROFILE_KIND_MAX_HEADERS 24

typedef struct profile_kind {
  int present;
  profile_header h2[PROFILE_KIND_MAX_HEADERS];
  size_t n_h2;
  profile_header h1[PROFILE_KIND_MAX_HEADERS];
  size_t n_h1;                /* 0: HTTP/1.1 uses |h2|, as for navigation */
  /* The HEADERS priority of this kind (RFC 9113 5.3.2 fields): with the flag,
   * instead of http2.headers_priority; |priority_none|: no priority at all. */
  int priority_flag, priority_none;
  h2_priority priority;
} profile_kind;

/* The kind's name ("fetch-cors"), or NULL for an id out of range. */
const char *profile_kind_name(profile_kind_id id);
/* The id of a kind name; "fetch" is "fetch-cors" (fetch()'s default mode).
 * -1: no such kind. */
int profile_kind_of(const char *name);

/* HTTP/3 (profiles/FORMAT.md "http3"): the QUIC client Initial of the browser,
 * as captured (tools/profiles/capture-quic, quic-from-captures). Data for the
 * HTTP/3 session; nothing sends it yet. */
#define PROFILE_H3_MAX_PARAMS 32
#define PROFILE_H3_MAX_PARAM_DATA 64
#define PROFILE_H3_MAX_VERSIONS 8

typedef enum profile_h3_param_kind {
  PROFILE_H3_PARAM_VALUE = 1, /* a variable-length integer (RFC 9000 18.2) */
  PROFILE_H3_PARAM_DATA,      /* these bytes */
  PROFILE_H3_PARAM_GREASE,    /* id 31*N+27 (RFC 9000 18.1), |len| random bytes */
  PROFILE_H3_PARAM_SCID,      /* initial_source_connection_id: the connection's SCID */
  PROFILE_H3_PARAM_VERSIONS   /* version_information (RFC 9368 3): |versions| */
} profile_h3_param_kind;

typedef struct profile_h3_param {
  profile_h3_param_kind kind;
  uint64_t id;    /* not for GREASE */
  uint64_t value; /* VALUE */
  uint8_t data[PROFILE_H3_MAX_PARAM_DATA];
  size_t len;     /* DATA: of |data|; GREASE: the shortest random value */
  size_t len_max; /* GREASE: the longest (the length is drawn per connection) */
  uint32_t versions[PROFILE_H3_MAX_VERSIONS]; /* 0: a GREASE version (0x?a?a?a?a) */
  size_t n_versions;
} profile_h3_param;

/* HTTP/3 SETTINGS (RFC 9114 7.2.4) in the order the browser sends them. */
#define PROFILE_H3_MAX_SETTINGS 16
typedef struct profile_h3_setting {
  int grease;     /* 1: an id 0x1f*N+0x21 and a value drawn per connection */
  uint64_t id, value;
} profile_h3_setting;

typedef struct profile_http3 {
  int present;
  uint32_t quic_version;          /* of the client's Initial packets */
  int dcid_min, dcid_max;         /* the Initial's Destination Connection ID length */
  int scid_min, scid_max;         /* its Source Connection ID length */
  int initial_ipv4, initial_ipv6; /* UDP payload of the first Initial datagram; 0: not captured */
  int zero_padding;               /* 1: the Initial packet is shorter, zero bytes fill the
                                   * datagram after it; 0: PADDING frames fill the packet */
  tls_shape tls;                  /* the QUIC ClientHello */
  profile_h3_param params[PROFILE_H3_MAX_PARAMS]; /* quic_transport_parameters, in order */
  size_t n_params;
  int permute_params;             /* the order is drawn per connection */
  profile_h3_setting settings[PROFILE_H3_MAX_SETTINGS]; /* n_settings 0: not captured */
  size_t n_settings;
  /* The navigation request's header field names in order (pseudo-headers first) and
   * its priority field; n_nav_order 0: not captured. */
  char nav_order[PROFILE_MAX_HEADERS][PROFILE_MAX_NAME];
  size_t n_nav_order;
  char nav_priority[64];
  /* The client's unidirectional streams (RFC 9114 6.2) in the order it opens them
   * (stream ids 2, 6, 10): PROFILE_H3_UNI_*; n_uni 0: not captured (control,
   * QPACK encoder, QPACK decoder). */
  int uni[3];
  size_t n_uni;
  int qpack_decoder_lazy; /* the QPACK decoder stream sends nothing, not even its type,
                           * until it has an instruction (Chromium) */
  int priority_update;    /* a PRIORITY_UPDATE frame (RFC 9218 7.2) on the control stream
                           * per request, its priority field's value, before the HEADERS */
  char source[512];
} profile_http3;

enum { PROFILE_H3_UNI_CONTROL, PROFILE_H3_UNI_QPACK_ENCODER, PROFILE_H3_UNI_QPACK_DECODER };

typedef struct profile {
  char name[PROFILE_MAX_NAME];
  char description[256];
  char source[512];
  tls_shape tls;
  int resumption;
  h2_shape h2;
  /* Navigation requests (a top-level page load): HTTP/2 (lowercase names) and
   * HTTP/1.1 (names as the browser writes them). */
  profile_header nav_h2[PROFILE_MAX_HEADERS];
  size_t n_nav_h2;
  profile_header nav_h1[PROFILE_MAX_HEADERS];
  size_t n_nav_h1;
  /* The other kinds, by profile_kind_id (kinds[PROFILE_KIND_NAVIGATE] unused);
   * a kind the profile does not have is not |present|. */
  profile_kind kinds[PROFILE_KIND_COUNT];
  profile_http3 h3; /* |present| only with an "http3" section */
  /* Fingerprints measured on the real browser (empty when not recorded). */
  struct {
    char ja4[128], ja3[1024], ja3n[1024], akamai[512], peetprint[1024], source[512];
  } expected;
} profile;

/* Results of the loaders below (0: loaded). */
#define PROFILE_ERR_INVALID (-1)     /* valid JSON, not a valid profile */
#define PROFILE_ERR_SYNTAX (-2)      /* not JSON, or the file cannot be read */
#define PROFILE_ERR_UNSUPPORTED (-3) /* a valid profile this build cannot send */
#define PROFILE_ERR_NOMEM (-4)
#define PROFILE_ERR_NOT_FOUND (-5)   /* no built-in profile of that name */

/*
 * Loads |text| (|len| bytes, from |file|, used in messages). Returns 0, or a
 * PROFILE_ERR_* code with "file:line:column: reason" in |err|.
 */
int profile_load(const char *text, size_t len, const char *file, profile *out, char *err,
                 size_t errlen);

/* Reads and loads a file. Same results; a missing or oversized file is named
 * (PROFILE_ERR_SYNTAX). */
int profile_load_file(const char *path, profile *out, char *err, size_t errlen);

/* The built-in profiles (the files of profiles/ embedded at build time). */
size_t profile_builtin_count(void);
const char *profile_builtin_name(size_t i);
/* Loads the built-in |name|; PROFILE_ERR_NOT_FOUND with a message when there is none. */
int profile_load_builtin(const char *name, profile *out, char *err, size_t errlen);
/* The JSON text of the built-in |name| (a profile's name or an alias), or NULL. */
const char *profile_builtin_text(const char *name, size_t *len);
/* Aliases: "chrome", "firefox", "safari", "edge", "chrome-android", "safari-ios",
 * each naming the built-in profile of that browser with the highest version in
 * its name (profile_alias_target; NULL when |name| is no alias). Every lookup of
 * a built-in name takes them (a profile's own name first). */
size_t profile_alias_count(void);
const char *profile_alias_name(size_t i);
const char *profile_alias_target(const char *name);

/* Loads a built-in name or a file; 0 or GUISE_E_PROFILE_* with |err|. */
int profile_resolve(const char *name_or_file, profile *out, char *err, size_t errlen);

/*
 * Coherence: whether the user-agent, the sec-ch-ua* fields and the TLS and HTTP/2
 * shapes belong to one browser (a Chrome/150 user-agent on a Chrome 124 hello, a
 * Firefox user-agent with sec-ch-ua, no user-agent at all, sec-ch-ua's Chromium
 * version or platform not the user-agent's). Each disagreement is passed to |warn|
 * (may be NULL) as one line naming the profile and the two fields; returns their
 * number (0: coherent). Warnings, not load errors: a made-up profile may want them.
 * The version bands and their sources are in profile.c (chrome_hello) and
 * profiles/FORMAT.md ("Coherence").
 */
int profile_coherence(const profile *p, void (*warn)(void *ud, const char *msg), void *ud);

/* The default profile: the newest Chrome. */
#define PROFILE_DEFAULT "chrome-150"

#endif
