/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <string.h>

#include "basic/outbuf.h"

bool outbuf_push(OutBuf *b, const char *msg, size_t len) {
        assert(b);
        assert(msg || len == 0);

        if (len > OUTBUF_SIZE - (b->end - b->start)) {
                b->dropped++;
                return false;
        }
        /* Move what is left to the front when the tail has no room. */
        if (len > OUTBUF_SIZE - b->end) {
                memmove(b->data, b->data + b->start, b->end - b->start);
                b->end -= b->start;
                b->start = 0;
        }
        memcpy(b->data + b->end, msg, len);
        b->end += len;
        return true;
}

void outbuf_consumed(OutBuf *b, size_t n) {
        assert(b);
        assert(n <= b->end - b->start);

        b->start += n;
        if (b->start == b->end)
                b->start = b->end = 0;
}
