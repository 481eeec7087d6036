/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for what clients write to memqosd's pressure socket
 * (conf/notice-request.c), read as the daemon reads it: the whole input,
 * and every prefix a split write could leave it with.
 *
 * Besides not crashing: the result is one of the documented returns; the
 * thresholds it holds are within bounds and each is valid (1..100 percent,
 * or bytes > 0); more than NOTICE_REQUEST_SIZE_MAX bytes are always
 * refused; and a prefix never counts more thresholds than the whole. */
#include <errno.h>
#include <string.h>

#include "conf/notice-request.h"
#include "fuzz-check.h"

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-notice", what);
}

static int parse_copy(const uint8_t *data, size_t size, NoticeRequest *req) {
        /* a copy of its own size, so that ASan sees any read past it */
        char *buf = malloc(size ?: 1);
        unsigned line = 0;
        int r;

        check(buf, "malloc");
        memcpy(buf, data, size);
        r = notice_request_parse(buf, size, req, &line);
        free(buf);

        check(r == 0 || r == -EAGAIN || r == -EINVAL || r == -E2BIG, "a documented return");
        check(req->n_thresholds <= NOTICE_REQUEST_THRESHOLDS_MAX, "thresholds bounded");
        for (size_t i = 0; i < req->n_thresholds; i++)
                check(req->thresholds[i].is_percent ? req->thresholds[i].value >= 1 && req->thresholds[i].value <= 100
                                                    : req->thresholds[i].value > 0,
                      "a threshold is valid");
        check(r != -EINVAL || line >= 1, "a rejected line has its number");
        check(size <= NOTICE_REQUEST_SIZE_MAX || r == -E2BIG, "oversized input is refused");
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NoticeRequest whole, part;
        int r;

        if (size > 2 * NOTICE_REQUEST_SIZE_MAX)
                return 0;
        r = parse_copy(data, size, &whole);
        if (r == 0)
                for (size_t cut = 0; cut < size; cut += 1 + cut / 4) {
                        int rp = parse_copy(data, cut, &part);
                        check(rp != -E2BIG, "a prefix of an accepted text is not too big");
                        check(part.n_thresholds <= whole.n_thresholds, "a prefix asks no more than the whole");
                }
        return 0;
}
