/* The SSH identification string (RFC 4253 §4.2) and SOCKS client handshake (RFC 1928,
 * RFC 1929, SOCKS4/4a) parsers: fields, every prefix of a valid input is NEED_MORE, the
 * limits, and bad input with exact offset and reason. */
#include "guise_fp.h"
#include "tcheck.h"

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

static bool bytes_eq(gfp_bytes b, const char *s)
{
    return b.len == strlen(s) && memcmp(b.data, s, b.len) == 0;
}

static void ssh_ok(const uint8_t *in, size_t len, const char *proto, const char *soft,
                   const char *comments, bool bare_lf)
{
    gfp_ssh_ident id;
    bool prefixes = true;
    for (size_t i = 0; i < len; i++)
        prefixes &= gfp_ssh_parse(&id, in, i) == GFP_NEED_MORE;
    TC_CHECK(prefixes);
    TC_EQ(gfp_ssh_parse(&id, in, len), GFP_DONE);
    TC_EQ(id.len, len);
    TC_CHECK(bytes_eq(id.proto_version, proto));
    TC_CHECK(bytes_eq(id.software_version, soft));
    TC_EQ(id.has_comments, comments != NULL);
    if (comments != NULL)
        TC_CHECK(bytes_eq(id.comments, comments));
    TC_EQ(id.bare_lf, bare_lf);
    TC_EQ(id.line.len, len - (bare_lf ? 1 : 2));
}

static void ssh_bad(const uint8_t *in, size_t len, size_t offset, const char *reason)
{
    gfp_ssh_ident id;
    TC_EQ(gfp_ssh_parse(&id, in, len), GFP_ERROR);
    TC_EQ(id.err_offset, offset);
    TC_STREQ(id.err_reason, reason);
}

static void test_ssh(void)
{
    ssh_ok(LIT("SSH-2.0-OpenSSH_7.6p1 Ubuntu-4ubuntu0.5\r\n"), "2.0", "OpenSSH_7.6p1",
           "Ubuntu-4ubuntu0.5", false);
    ssh_ok(LIT("SSH-2.0-OpenSSH_9.2p1\r\n"), "2.0", "OpenSSH_9.2p1", NULL, false);
    ssh_ok(LIT("SSH-1.99-PuTTY_Release_0.78\n"), "1.99", "PuTTY_Release_0.78", NULL, true);
    /* Comments may hold spaces and '-'. */
    ssh_ok(LIT("SSH-2.0-x a b-c\r\n"), "2.0", "x", "a b-c", false);
    /* Bytes after the line (the first binary packet) are not part of it. */
    gfp_ssh_ident id;
    TC_EQ(gfp_ssh_parse(&id, LIT("SSH-2.0-x\r\n\x00\x00\x01\x00")), GFP_DONE);
    TC_EQ(id.len, 11);

    ssh_bad(LIT("SSH-2.0 OpenSSH\r\n"), 7,
            "protoversion not followed by '-' in the SSH identification string");
    ssh_bad(LIT("SSH--OpenSSH\r\n"), 4,
            "empty or invalid protoversion in the SSH identification string");
    ssh_bad(LIT("SSH-2.0-\r\n"), 8,
            "empty or invalid softwareversion in the SSH identification string");
    ssh_bad(LIT("SSH-2.0-a\tb\r\n"), 9, "invalid character in the SSH softwareversion");
    ssh_bad(LIT("SSH-2.0-a b\x00" "c\r\n"), 11, "control character in the SSH identification string");
    ssh_bad(LIT("SSH-2.0-a b\rc\r\n"), 11, "control character in the SSH identification string");
    ssh_bad(LIT("SSH-2.0-a\x00"), 9, "NUL in the SSH identification string");
    ssh_bad(LIT("SSX-2.0-a\r\n"), 0, "not an SSH identification string (RFC 4253 4.2: \"SSH-\")");
    /* 255 bytes with CR LF is the most; without a line end by then it is an error. */
    uint8_t line[300];
    memset(line, 'a', sizeof(line));
    memcpy(line, "SSH-2.0-x ", 10);
    memcpy(line + 253, "\r\n", 2);
    TC_EQ(gfp_ssh_parse(&id, line, 255), GFP_DONE);
    memset(line + 253, 'a', 2);
    TC_EQ(gfp_ssh_parse(&id, line, 254), GFP_NEED_MORE);
    ssh_bad(line, 255, 255, "SSH identification string longer than 255 bytes (RFC 4253 4.2)");
    ssh_bad(line, sizeof(line), 255,
            "SSH identification string longer than 255 bytes (RFC 4253 4.2)");
}

static void socks_ok(const uint8_t *in, size_t len, size_t hs_len, uint8_t version,
                     const char *host)
{
    gfp_socks s;
    bool prefixes = true;
    for (size_t i = 0; i < hs_len; i++)
        prefixes &= gfp_socks_parse(&s, in, i) == GFP_NEED_MORE;
    TC_CHECK(prefixes);
    TC_EQ(gfp_socks_parse(&s, in, len), GFP_DONE);
    TC_EQ(s.len, hs_len);
    TC_EQ(s.version, version);
    if (host != NULL)
        TC_CHECK(s.host_len == strlen(host) && memcmp(s.host, host, s.host_len) == 0);
}

static void socks_bad(const uint8_t *in, size_t len, size_t offset, size_t greeting,
                      const char *reason)
{
    gfp_socks s;
    TC_EQ(gfp_socks_parse(&s, in, len), GFP_ERROR);
    TC_EQ(s.err_offset, offset);
    TC_EQ(s.greeting_len, greeting);
    TC_STREQ(s.err_reason, reason);
}

static void test_socks(void)
{
    /* RFC 1928 greeting (no auth, user/pass), RFC 1929 sub-negotiation, request with a
     * domain name; then tunnelled bytes that are not part of the handshake. */
    static const char s5[] = "\x05\x02\x00\x02"
                             "\x01\x04user\x06s3cr3t"
                             "\x05\x01\x00\x03\x0b"
                             "example.com\x01\xbb"
                             "\x16\x03\x01";
    socks_ok((const uint8_t *)s5, sizeof(s5) - 1, sizeof(s5) - 4, 5, "example.com");
    gfp_socks s;
    TC_EQ(gfp_socks_parse(&s, LIT(s5)), GFP_DONE);
    TC_EQ(s.method_count, 2);
    TC_CHECK(s.userpass && s.username_len == 4 && s.port == 443 && s.atyp == 3 &&
             s.command == 1);
    /* IPv4 and IPv6 destinations, no authentication. */
    socks_ok(LIT("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"), 13, 5, NULL);
    TC_EQ(gfp_socks_parse(&s, LIT("\x05\x01\x00\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50")),
          GFP_DONE);
    TC_CHECK(s.host_len == 4 && s.host[0] == 127 && s.port == 80 && !s.userpass);
    static const char v6[] = "\x05\x01\x00\x05\x03\x00\x04"
                             "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
                             "\x01\xbb";
    socks_ok((const uint8_t *)v6, sizeof(v6) - 1, sizeof(v6) - 1, 5, NULL);
    TC_EQ(gfp_socks_parse(&s, LIT(v6)), GFP_DONE);
    TC_CHECK(s.atyp == 4 && s.host_len == 16 && s.command == 3);
    /* SOCKS4 and SOCKS4a. */
    socks_ok(LIT("\x04\x01\x00\x50\x0a\x00\x00\x01me\x00"), 11, 4, NULL);
    socks_ok(LIT("\x04\x02\x00\x50\x00\x00\x00\x07\x00host.example\x00zz"), 22, 4,
             "host.example");

    socks_bad(LIT("\x05\x00"), 2, 0, "SOCKS5 greeting offers no method");
    socks_bad(LIT("\x05\x01\x00\x04\x01\x00\x01"), 3, 3,
              "SOCKS5 request does not start with version 5");
    socks_bad(LIT("\x05\x01\x00\x01\x04user\x04pass"), 4, 3,
              "SOCKS5 sub-negotiation for a method the greeting did not offer");
    socks_bad(LIT("\x05\x01\x00\x05\x04\x00\x01"), 3, 3, "SOCKS5 request command is not 1, 2 or 3");
    socks_bad(LIT("\x05\x01\x00\x05\x01\x01\x01"), 3, 3, "SOCKS5 request reserved byte is not 0");
    socks_bad(LIT("\x05\x01\x00\x05\x01\x00\x02"), 3, 3, "SOCKS5 address type is not 1, 3 or 4");
    socks_bad(LIT("\x05\x01\x00\x05\x01\x00\x03\x00\x00\x50"), 8, 3, "empty SOCKS5 domain name");
    socks_bad(LIT("\x04\x05\x00\x50\x0a\x00\x00\x01\x00"), 0, 0,
              "SOCKS4 command is neither CONNECT (1) nor BIND (2)");
    socks_bad(LIT("\x04\x01\x00\x50\x00\x00\x00\x01\x00\x00"), 9, 8, "empty SOCKS4a host name");
    socks_bad(LIT("\x06\x01"), 0, 0, "not a SOCKS client handshake (version 4 or 5)");
    /* SOCKS4 USERID: at most 255 bytes before its NUL. */
    uint8_t u[300];
    memset(u, 'u', sizeof(u));
    memcpy(u, "\x04\x01\x00\x50\x0a\x00\x00\x01", 8);
    u[8 + 255] = 0;
    TC_EQ(gfp_socks_parse(&s, u, 8 + 256), GFP_DONE);
    TC_EQ(s.username_len, 255);
    u[8 + 255] = 'u';
    TC_EQ(gfp_socks_parse(&s, u, 8 + 255), GFP_NEED_MORE);
    socks_bad(u, 8 + 256, 8, 8, "SOCKS4 USERID longer than 255 bytes");
}

int main(void)
{
    test_ssh();
    test_socks();
    return tc_summary("test_fp_ssh_socks");
}
