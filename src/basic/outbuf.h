/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A small bounded queue of whole messages waiting to be written to a
 * non-blocking socket: what does not fit is dropped whole and counted, so
 * that a reader that never reads costs at most OUTBUF_SIZE bytes and never
 * blocks the writer. Pure: no I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBUF_SIZE 1024

typedef struct OutBuf {
        char data[OUTBUF_SIZE];
        size_t start, end;  /* data[start..end) is still to be written */
        uint64_t dropped;   /* messages that did not fit */
} OutBuf;

/* Appends msg[0..len) whole, or drops it and counts it (false). */
bool outbuf_push(OutBuf *b, const char *msg, size_t len);
/* What is still to be written, and its size. */
static inline const char *outbuf_head(const OutBuf *b, size_t *ret_len) {
        *ret_len = b->end - b->start;
        return b->data + b->start;
}
/* n bytes of the head were written. */
void outbuf_consumed(OutBuf *b, size_t n);
static inline bool outbuf_empty(const OutBuf *b) {
        return b->start == b->end;
}
