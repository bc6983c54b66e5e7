/* SSH identification string (RFC 4253 §4.2), the first line an SSH client sends:
 *
 *   SSH-protoversion-softwareversion SP comments CR LF
 *
 * at most 255 bytes including CR LF; the versions are printable US-ASCII without
 * whitespace or '-'; a NUL must not be sent. It is recognised so that an SSH connection
 * is reported as SSH, not as a broken HTTP/1 request ("SSH-2.0-OpenSSH_7.6p1" is an
 * HTTP method token followed by a space). Read through CBS. */
#include "guise_fp.h"

#include <openssl/bytestring.h>

#include <string.h>

enum {
  SSH_MAX_LINE = 255 /* RFC 4253 §4.2, CR LF included */
};

static const char kPrefix[] = "SSH-";

static gfp_status ssh_error(gfp_ssh_ident *id, size_t offset, const char *reason) {
  id->err_offset = offset;
  id->err_reason = reason;
  return GFP_ERROR;
}

/* RFC 4253 §4.2: printable US-ASCII except whitespace and '-'. */
static bool is_version_char(uint8_t c) { return c > 0x20 && c < 0x7f && c != '-'; }

/* Reads a version field up to |stop| (or the end of |cbs|). */
static bool get_version(CBS *cbs, uint8_t stop, CBS *out) {
  size_t n = 0;
  const uint8_t *p = CBS_data(cbs);
  while (n < CBS_len(cbs) && p[n] != stop && is_version_char(p[n])) n++;
  return n > 0 && CBS_get_bytes(cbs, out, n);
}

gfp_status gfp_ssh_parse(gfp_ssh_ident *id, const uint8_t *data, size_t len) {
  memset(id, 0, offsetof(gfp_ssh_ident, line_));
  if (len == 0) return GFP_NEED_MORE; /* (and no memcmp/memchr on a NULL pointer) */
  size_t pre = len < 4 ? len : 4;
  if (memcmp(data, kPrefix, pre) != 0)
    return ssh_error(id, 0, "not an SSH identification string (RFC 4253 4.2: \"SSH-\")");
  CBS in, rest;
  CBS_init(&in, data, len < SSH_MAX_LINE ? len : SSH_MAX_LINE);
  const uint8_t *lf = memchr(CBS_data(&in), '\n', CBS_len(&in));
  if (lf == NULL) {
    if (len >= SSH_MAX_LINE)
      return ssh_error(id, SSH_MAX_LINE,
                       "SSH identification string longer than 255 bytes (RFC 4253 4.2)");
    if (memchr(data, '\0', len) != NULL)
      return ssh_error(id, (size_t)((const uint8_t *)memchr(data, '\0', len) - data),
                       "NUL in the SSH identification string");
    return GFP_NEED_MORE;
  }
  size_t end = (size_t)(lf - data); /* index of LF */
  size_t line_len = end;
  if (end > 0 && data[end - 1] == '\r') line_len--;
  else id->bare_lf = true;
  id->len = end + 1;
  memcpy(id->line_, data, line_len);
  id->line.data = id->line_;
  id->line.len = line_len;

  CBS line, proto, soft;
  CBS_init(&line, id->line_, line_len);
  if (!CBS_skip(&line, 4)) return ssh_error(id, line_len, "truncated SSH identification string");
  if (!get_version(&line, '-', &proto))
    return ssh_error(id, 4, "empty or invalid protoversion in the SSH identification string");
  uint8_t dash = 0;
  size_t dash_at = (size_t)(CBS_data(&line) - id->line_);
  if (!CBS_get_u8(&line, &dash) || dash != '-')
    return ssh_error(id, dash_at,
                     "protoversion not followed by '-' in the SSH identification string");
  if (!get_version(&line, ' ', &soft))
    return ssh_error(id, (size_t)(CBS_data(&line) - id->line_),
                     "empty or invalid softwareversion in the SSH identification string");
  id->proto_version.data = CBS_data(&proto);
  id->proto_version.len = CBS_len(&proto);
  id->software_version.data = CBS_data(&soft);
  id->software_version.len = CBS_len(&soft);
  rest = line;
  if (CBS_len(&rest) > 0) {
    uint8_t sp;
    if (!CBS_get_u8(&rest, &sp) || sp != ' ')
      return ssh_error(id, (size_t)(CBS_data(&line) - id->line_),
                       "invalid character in the SSH softwareversion");
    id->has_comments = true;
    id->comments.data = CBS_data(&rest);
    id->comments.len = CBS_len(&rest);
  }
  /* The NUL character MUST NOT be sent; a stray CR inside the line is not a line end. */
  for (size_t i = 0; i < line_len; i++) {
    if (id->line_[i] == '\0' || id->line_[i] == '\r')
      return ssh_error(id, i, "control character in the SSH identification string");
  }
  return GFP_DONE;
}
