/* libFuzzer target: HTTP/1.x request head, whole and resumed in two chunks (the parser
 * keeps line state between calls); both must agree. */
#include "guise_fp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gfp_h1_request *a, *b;
    if (a == NULL && (a = gfp_h1_new()) == NULL)
        return 0;
    if (b == NULL && (b = gfp_h1_new()) == NULL)
        return 0;
    gfp_h1_reset(a);
    gfp_h1_reset(b);
    gfp_status whole = gfp_h1_parse(a, data, size);
    /* Split at a data-dependent point. */
    size_t cut = size > 0 ? data[0] % (size + 1) : 0;
    gfp_status first = gfp_h1_parse(b, data, cut);
    gfp_status second = first == GFP_NEED_MORE ? gfp_h1_parse(b, data, size) : first;
    if (second != whole)
        abort();
    if (whole == GFP_DONE) {
        if (a->head_len != b->head_len || a->header_count != b->header_count)
            abort();
        for (size_t i = 0; i < a->header_count; i++) {
            if (a->headers[i].name.len != b->headers[i].name.len ||
                memcmp(a->headers[i].name.data, b->headers[i].name.data,
                       a->headers[i].name.len) != 0)
                abort();
        }
    } else if (whole == GFP_ERROR && a->err_offset != b->err_offset) {
        abort();
    }
    return 0;
}
