/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a client of memqosd's pressure socket writes after connecting
 * (systemd's $MEMORY_PRESSURE_WRITE payload), parsed. memqos-pressure(7)
 * documents the format:
 *
 *   threshold SIZE|N%       a notice when the unit's usage crosses it upward
 *   some|full USEC USEC     a PSI trigger (what systemd sends by default):
 *                           accepted and ignored
 *   # comment, blank lines
 *
 * Lines end with '\n' or NUL (systemd's payload ends with a NUL). The text
 * after the last terminator is a line still being written: it counts once it
 * is valid, and is not rejected while it is not.
 *
 * Pure: no I/O, no allocation. */

#include <stdbool.h>
#include <stddef.h>

#include "conf/policy.h"

/* The most bytes a client may write in all: more is rejected. */
#define NOTICE_REQUEST_SIZE_MAX 4096
/* The most `threshold` lines of one client. */
#define NOTICE_REQUEST_THRESHOLDS_MAX 4

typedef struct NoticeRequest {
        Threshold thresholds[NOTICE_REQUEST_THRESHOLDS_MAX];
        size_t n_thresholds;
        unsigned n_psi_triggers; /* "some"/"full" lines, ignored */
} NoticeRequest;

/* Pure. Parses text[0..size) (need not be NUL-terminated). Returns
 *   0        every line is valid;
 *   -EAGAIN  the only line not (yet) valid is the unterminated last one;
 *   -EINVAL  a finished line is invalid (*ret_line: its number, from 1);
 *   -E2BIG   size > NOTICE_REQUEST_SIZE_MAX or too many thresholds.
 * *ret holds what the valid lines asked, whatever is returned. */
int notice_request_parse(const char *text, size_t size, NoticeRequest *ret, unsigned *ret_line);
