/* Test input helpers of the fingerprints unit tests (header-only): whole files and hex
 * dumps. Checks come from tests/lib/gtest_check.h. */
#ifndef GUISE_TCHECK_H
#define GUISE_TCHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/gtest_check.h"

/* The checks are the suite's one header; the TC_ names stay for the tests of other
 * modules that include this file (decode, h2, tls, conn, boringssl). */
#define TC_CHECK(cond) CHECK(cond)
#define TC_STREQ(got, want) CHECK_STR(got, want)
#define TC_EQ(got, want) CHECK_EQ(got, want)
#define tc_summary(name) gt_done(name)
#define tc_checks gt_checks
#define tc_failures gt_failures

/* Reads a whole file (test input, trusted size) into a malloc'd buffer. */
static inline uint8_t *tc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            break;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

static inline int tc_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a hex string (whitespace ignored) into a malloc'd buffer; NULL if malformed. */
static inline uint8_t *tc_unhex(const char *hex, size_t hexlen, size_t *len)
{
    uint8_t *out = malloc(hexlen / 2 + 1);
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; out != NULL && i < hexlen; i++) {
        if (hex[i] == ' ' || hex[i] == '\n' || hex[i] == '\r' || hex[i] == '\t')
            continue;
        int v = tc_hexval((unsigned char)hex[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        free(out);
        return NULL;
    }
    *len = n;
    return out;
}

/* Reads a .hex file into bytes. */
static inline uint8_t *tc_read_hex_file(const char *path, size_t *len)
{
    size_t hexlen;
    uint8_t *hex = tc_read_file(path, &hexlen);
    if (hex == NULL)
        return NULL;
    uint8_t *out = tc_unhex((const char *)hex, hexlen, len);
    free(hex);
    return out;
}

#endif /* GUISE_TCHECK_H */
