/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl/http.h"

#include <assert.h>
#include <string.h>

static const char *find_end(const char *buf, size_t n) {
        const char *a = memmem(buf, n, "\r\n\r\n", 4), *b = memmem(buf, n, "\n\n", 2);
        return a && (!b || a < b) ? a : b;
}

void http_parse_request(const char *buf, size_t n, HttpRequest *ret) {
        assert(buf || n == 0);
        assert(ret);
        *ret = (HttpRequest) {};
        if (!find_end(buf, n)) {
                if (n >= HTTP_REQUEST_MAX)
                        ret->status = 431;
                return;
        }
        ret->complete = true;

        /* The request line: METHOD SP TARGET SP HTTP/x.y */
        const char *eol = memchr(buf, '\n', n);
        size_t len = (size_t) (eol - buf);
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        const char *sp1 = memchr(buf, ' ', len);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t) (sp1 + 1 - buf)) : NULL;
        if (!sp1 || !sp2 || len - (size_t) (sp2 + 1 - buf) < 5 || strncmp(sp2 + 1, "HTTP/", 5) != 0) {
                ret->status = 400;
                return;
        }
        size_t mlen = (size_t) (sp1 - buf), tlen = (size_t) (sp2 - sp1 - 1);
        const char *target = sp1 + 1;
        /* The query string (Prometheus may add none, curl users might) is ignored. */
        const char *q = memchr(target, '?', tlen);
        if (q)
                tlen = (size_t) (q - target);
        bool get = mlen == 3 && !strncmp(buf, "GET", 3);
        ret->head = mlen == 4 && !strncmp(buf, "HEAD", 4);
        if (!get && !ret->head)
                ret->status = 405;
        else if ((tlen == 8 && !strncmp(target, "/metrics", 8)) || (tlen == 1 && target[0] == '/'))
                ret->status = 200;
        else
                ret->status = 404;
}

const char *http_status_text(int status) {
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 431:
                return "Request Header Fields Too Large";
        default:
                return "Internal Server Error";
        }
}
