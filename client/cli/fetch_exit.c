/* fetch_exit.c — curl's exit statuses for `guise URL` (see fetch.h). The
 * numbers are curl's (libcurl-errors(3), curl 7.88 as shipped by Debian 12):
 * each library code is mapped where curl has a code for the same failure, and
 * the class decides the rest (docs/CLI.md, "Exit status", lists both). */
#include <string.h>
#include <strings.h>

#include "fetch.h"

/* curl's numbers (CURLE_*). */
enum {
  CURL_UNSUPPORTED_PROTOCOL = 1,
  CURL_URL_MALFORMAT = 3,
  CURL_COULDNT_RESOLVE_PROXY = 5,
  CURL_COULDNT_RESOLVE_HOST = 6,
  CURL_COULDNT_CONNECT = 7,
  CURL_WEIRD_SERVER_REPLY = 8,
  CURL_HTTP2 = 16,
  CURL_PARTIAL_FILE = 18,
  CURL_HTTP_RETURNED_ERROR = 22,
  CURL_WRITE_ERROR = 23,
  CURL_READ_ERROR = 26,
  CURL_OUT_OF_MEMORY = 27,
  CURL_OPERATION_TIMEDOUT = 28,
  CURL_RANGE_ERROR = 33,
  CURL_SSL_CONNECT_ERROR = 35,
  CURL_ABORTED_BY_CALLBACK = 42,
  CURL_INTERFACE_FAILED = 45,
  CURL_TOO_MANY_REDIRECTS = 47,
  CURL_GOT_NOTHING = 52,
  CURL_SEND_ERROR = 55,
  CURL_RECV_ERROR = 56,
  CURL_PEER_FAILED_VERIFICATION = 60,
  CURL_BAD_CONTENT_ENCODING = 61,
  CURL_FILESIZE_EXCEEDED = 63,
  CURL_HTTP2_STREAM = 92,
  CURL_PROXY = 97,
};

int fetch_proxy_kind(const char *proxy) {
  if (proxy == NULL || proxy[0] == '\0') return 0;
  return strncasecmp(proxy, "socks", 5) == 0 ? 2 : 1;
}

int fetch_exit_status(const fetch_outcome *o) {
  switch (o->fail) {
    case FETCH_FAIL_HTTP: return CURL_HTTP_RETURNED_ERROR;
    case FETCH_FAIL_WRITE: return CURL_WRITE_ERROR;
    case FETCH_FAIL_READ: return CURL_READ_ERROR;
    case FETCH_FAIL_RANGE: return CURL_RANGE_ERROR;
    case FETCH_FAIL_FILESIZE: return CURL_FILESIZE_EXCEEDED;
    case FETCH_FAIL_PROTO: return CURL_UNSUPPORTED_PROTOCOL;
    default: break;
  }
  int e = o->err;
  switch (e) {
    case 0: return 0;
    case GUISE_E_PROXY_NOT_FOUND: return CURL_COULDNT_RESOLVE_PROXY;
    case GUISE_E_DNS_NOT_FOUND:
    case GUISE_E_DNS_FAILED:
      return CURL_COULDNT_RESOLVE_HOST; /* the origin's name, through socks4/5:// too */
    case GUISE_E_CONNECT_SEND_FAILED: return CURL_SEND_ERROR;
    case GUISE_E_CONNECT_BIND_FAILED: return CURL_INTERFACE_FAILED; /* --interface, --local-port */
    case GUISE_E_CONNECT_RESET:
    case GUISE_E_CONNECT_RECV_FAILED:
      return CURL_RECV_ERROR;
    /* Closed before any response: curl's "Empty reply from server". */
    case GUISE_E_CONNECT_CLOSED: return o->status ? CURL_PARTIAL_FILE : CURL_GOT_NOTHING;
    case GUISE_E_PROXY_CONNECT_REFUSED: return CURL_COULDNT_CONNECT;
    case GUISE_E_PROXY_TIMEOUT: return CURL_OPERATION_TIMEDOUT;
    case GUISE_E_PROXY_TLS: return CURL_SSL_CONNECT_ERROR;
    case GUISE_E_PROXY_CERT: return CURL_PEER_FAILED_VERIFICATION;
    /* An HTTP proxy that refuses the CONNECT or answers something else: curl's
     * "CONNECT tunnel failed" (56); a SOCKS proxy's refusal: 97. */
    case GUISE_E_PROXY_AUTH_REQUIRED:
    case GUISE_E_PROXY_AUTH_FAILED:
    case GUISE_E_PROXY_CONNECT_REJECTED:
    case GUISE_E_PROXY_PROTOCOL:
      return o->proxy_kind == 2 ? CURL_PROXY : CURL_RECV_ERROR;
    case GUISE_E_HTTP_TRUNCATED: return CURL_PARTIAL_FILE;
    case GUISE_E_HTTP_BODY_TOO_LARGE: return CURL_FILESIZE_EXCEEDED;
    case GUISE_E_HTTP_TOO_MANY_REDIRECTS: return CURL_TOO_MANY_REDIRECTS;
    case GUISE_E_HTTP2_PROTOCOL:
    case GUISE_E_HTTP2_GOAWAY:
      return CURL_HTTP2;
    case GUISE_E_HTTP2_STREAM_RESET:
    case GUISE_E_HTTP2_REFUSED:
      return CURL_HTTP2_STREAM;
    case GUISE_E_NOMEM: return CURL_OUT_OF_MEMORY;
    case GUISE_E_CANCELLED: return CURL_ABORTED_BY_CALLBACK;
    /* The URL itself: curl's numbers, which scripts test ("3: the URL is
     * wrong"); 3 is also guise's profile error (below), both the command
     * line naming something that cannot be used. */
    case GUISE_E_USAGE_URL_MALFORMED: return CURL_URL_MALFORMAT;
    /* A Location of another scheme (ftp://, which curl would follow) is
     * guise's refusal, a usage error as before: 2. */
    case GUISE_E_USAGE_URL_SCHEME: return o->status ? 2 : CURL_UNSUPPORTED_PROTOCOL;
    default: break;
  }
  switch (guise_err_class_of(e)) {
    case GUISE_CLASS_USAGE: return 2;
    case GUISE_CLASS_DNS: return CURL_COULDNT_RESOLVE_HOST;
    case GUISE_CLASS_CONNECT: return CURL_COULDNT_CONNECT;
    case GUISE_CLASS_TLS: return CURL_SSL_CONNECT_ERROR;
    case GUISE_CLASS_CERTIFICATE: return CURL_PEER_FAILED_VERIFICATION;
    case GUISE_CLASS_PROXY: return CURL_PROXY;
    case GUISE_CLASS_HTTP: return CURL_WEIRD_SERVER_REPLY;
    case GUISE_CLASS_DECODING: return CURL_BAD_CONTENT_ENCODING;
    case GUISE_CLASS_PROFILE: return 3; /* guise's own */
    case GUISE_CLASS_TIMEOUT: return CURL_OPERATION_TIMEDOUT;
    default: return 1;
  }
}
