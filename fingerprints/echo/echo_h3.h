/* echo_h3.h — the HTTP/3 half of guise echo's UDP side, I/O-free: an nghttp3 server
 * connection that records what the client sends (the raw bytes of its control stream,
 * the header fields of each request in the order QPACK decoded them) and asks its owner
 * for each answer. echo_quic.c drives it from ngtcp2; tests/fuzz/echo_h3.c feeds it
 * bytes directly. Nothing here touches a socket or a clock. */
#ifndef GUISE_ECHO_H3_H
#define GUISE_ECHO_H3_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nghttp3/nghttp3.h>

/* Client unidirectional streams recorded per connection: a browser opens three
 * (control, QPACK encoder and decoder, RFC 9114 §6.2, RFC 9204 §4.2) and maybe a
 * GREASE one; echo's initial_max_streams_uni transport parameter is this, so a client
 * cannot open more before echo grants more (it never does). */
#define ECHO_H3_MAX_UNI 8u
/* Bytes of the control stream kept for its report: SETTINGS (a browser's is under 64
 * bytes), a GREASE frame and a PRIORITY_UPDATE per request fit many times over. */
#define ECHO_H3_CONTROL_KEEP 4096u
/* Frames and PRIORITY_UPDATEs listed from the kept control stream bytes. */
#define ECHO_H3_MAX_FRAMES 64u
/* SETTINGS parameters listed (RFC 9114 §7.2.4 sets no maximum; browsers send 4 to 6). */
#define ECHO_H3_MAX_SETTINGS 32u
/* Header fields kept per request, and name + value bytes of one request's field
 * section: as the HTTP/2 side (Chrome's own SETTINGS_MAX_HEADER_LIST_SIZE); the
 * same number is echo's SETTINGS_MAX_FIELD_SECTION_SIZE, which nghttp3 enforces. */
#define ECHO_H3_MAX_FIELDS 256u
#define ECHO_H3_HEADER_BYTES (256u * 1024u)
/* Answers of one connection held until their streams close (the client has
 * acknowledged them): a client that asks and never acknowledges would otherwise make
 * echo hold up to 100 answers of a few MB each per connection. Past this the
 * connection ends (echo_h3_overloaded); 4 MiB holds the largest answer twice. */
#define ECHO_H3_MAX_QUEUED (4u * 1024u * 1024u)

/* One request stream. */
typedef struct echo_h3_req {
  int64_t sid;
  json_t *headers;   /* [[name, value], ...] in the order decoded */
  unsigned nfields;  /* kept, at most ECHO_H3_MAX_FIELDS */
  size_t hbytes;     /* name and value bytes received */
  int truncated;     /* fields past ECHO_H3_MAX_FIELDS were not kept */
  int head;          /* :method HEAD: the answer has no content */
  int answered;
  char *body;        /* the answer, until the stream closes */
  size_t body_len;
  struct echo_h3_req *prev, *next;
} echo_h3_req;

typedef struct echo_h3_ops {
  /* The client ended request stream |req|: returns the answer body (malloc'd, taken,
   * |*len| bytes), or NULL (the stream is then reset with H3_INTERNAL_ERROR). */
  char *(*answer)(void *arg, echo_h3_req *req, size_t *len);
  /* |n| bytes of stream |sid| were consumed: give the flow control credit back. */
  void (*consumed)(void *arg, int64_t sid, size_t n);
} echo_h3_ops;

typedef struct echo_h3 echo_h3;

/* A server connection (nghttp3_conn_server_new) with echo's SETTINGS: QPACK dynamic
 * table 4096, 16 blocked streams, max field section ECHO_H3_HEADER_BYTES. Returns 0,
 * or -1 out of memory. */
int echo_h3_new(echo_h3 **out, const echo_h3_ops *ops, void *arg);
void echo_h3_free(echo_h3 *h);
nghttp3_conn *echo_h3_conn(echo_h3 *h);

/* Bytes of stream |sid| (fin: the last). The client's unidirectional streams are
 * recorded (the type of each; the first ECHO_H3_CONTROL_KEEP bytes of the control
 * stream) before nghttp3 reads them. Returns the bytes nghttp3 consumed, or a
 * negative nghttp3 error (the connection must end). */
nghttp3_ssize echo_h3_read(echo_h3 *h, int64_t sid, const uint8_t *p, size_t n, int fin,
                           uint64_t ts);

/* 1 once an answer did not fit ECHO_H3_MAX_QUEUED: echo_h3_read then returned
 * NGHTTP3_ERR_CALLBACK_FAILURE and the connection must end. */
int echo_h3_overloaded(const echo_h3 *h);

/* {"uni_streams": [{"id", "type", "kind"}], "settings": [...], "control_frames": [...],
 * "priority_updates": [...], "truncated"} of what the client sent so far. NULL out of
 * memory. */
json_t *echo_h3_report(const echo_h3 *h);

/* The report of a control stream's bytes after its type (RFC 9114 §6.2.1, §7): the
 * frames in order ({"type", "length", "grease"}), the SETTINGS of the first frame when
 * it is one ({"id", "name", "value", "grease"}, wire order), PRIORITY_UPDATE frames
 * (RFC 9218 §7.2: {"type", "element", "value"}); "error" names what did not decode and
 * where; "truncated" when |p| ends inside a frame (|cut|: bytes past what was kept).
 * Puts the three arrays and the flags into |doc|. Returns 0, or -1 out of memory. */
int echo_h3_control_report(const uint8_t *p, size_t n, int cut, json_t *doc);

/* {"stream", "headers", "priority"} of |req|: "priority" is the value of its last
 * priority field (RFC 9218 §5), or null. NULL out of memory. */
json_t *echo_h3_request_report(const echo_h3_req *req);

#endif
