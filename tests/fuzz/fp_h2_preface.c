/* libFuzzer target: HTTP/2 client preface + frames + HPACK -> Akamai fingerprint. */
#include "guise_fp.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gfp_h2_preface *h2;
    if (h2 == NULL && (h2 = gfp_h2_new()) == NULL)
        return 0;
    gfp_status whole = gfp_h2_parse(h2, data, size);
    if (whole == GFP_DONE) {
        gfp_h2_fp fp;
        if (gfp_h2_fp_compute(h2, &fp) == 0)
            gfp_h2_fp_free(&fp);
        volatile size_t sink = 0;
        for (size_t i = 0; i < h2->header_count; i++)
            sink += h2->headers[i].name.len + h2->headers[i].value.len;
        (void)sink;
        if (h2->consumed == 0 || h2->consumed > size ||
            gfp_h2_parse(h2, data, h2->consumed - 1) != GFP_NEED_MORE)
            abort();
    }
    if (gfp_h2_parse(h2, data, size) != whole)
        abort();
    return 0;
}
