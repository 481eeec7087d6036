/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One HTTP/1.x request, as memqos-metrics@.service reads it from its
 * socket (Accept=yes: one process per connection, the connection on
 * stdin/stdout). Pure: the bytes read in, the answer's status out. Only
 * what a Prometheus scrape sends is served: GET or HEAD of /metrics (or /). */

#include <stdbool.h>
#include <stddef.h>

#define HTTP_REQUEST_MAX 8192

typedef struct HttpRequest {
        bool complete; /* the header ended ("\r\n\r\n" or "\n\n") */
        bool head;     /* HEAD: no body */
        int status;    /* 200, 400 malformed, 404 another path, 405 another method, 431 too long */
} HttpRequest;

/* What buf[0..n) (the bytes read so far) asks for. !complete with status
 * 0: read more. */
void http_parse_request(const char *buf, size_t n, HttpRequest *ret);

/* "OK", "Not Found", ... */
const char *http_status_text(int status);
