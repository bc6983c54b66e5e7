/* libFuzzer target: TLS first flight -> ClientHello -> every TLS fingerprint. Also
 * checks the parser's contract: a prefix of an input never errors where the whole input
 * parses, and re-parsing gives the same result. */
#include "guise_fp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gfp_clienthello *ch;
    if (ch == NULL && (ch = gfp_ch_new()) == NULL)
        return 0;
    gfp_status whole = gfp_ch_parse(ch, data, size);
    if (whole == GFP_DONE) {
        gfp_tls_fp fp;
        if (gfp_tls_fp_compute(ch, 't', &fp) == 0)
            gfp_tls_fp_free(&fp);
        /* Walk every decoded field the way a JSON writer would. */
        volatile size_t sink = ch->session_id.len + ch->ciphers.n;
        for (size_t i = 0; i < ch->ext_count; i++) {
            const gfp_ext *e = &ch->exts[i];
            sink += e->body.len + (gfp_tls_ext_name(e->type) != NULL);
            if (e->kind == GFP_EXT_ALPN)
                for (size_t k = 0; k < e->u.protocols.n; k++)
                    sink += e->u.protocols.v[k].len;
        }
        (void)sink;
        /* Any shorter prefix (split at the middle) must be NEED_MORE. */
        if (ch->consumed > 0 && gfp_ch_parse(ch, data, ch->consumed - 1) != GFP_NEED_MORE)
            abort();
    }
    if (gfp_ch_parse(ch, data, size) != whole)
        abort();
    return 0;
}
