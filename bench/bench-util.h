/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What memqos-alloc and memqos-cache share: the clock and the parsing of
 * their numeric arguments. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define MIB (1024ULL * 1024ULL)

static inline double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void sleep_ms(double ms) {
        struct timespec ts;

        if (ms <= 0)
                return;
        ts.tv_sec = (time_t) (ms / 1e3);
        ts.tv_nsec = (long) ((ms - ts.tv_sec * 1e3) * 1e6);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* A whole decimal number, no sign, nothing after it. */
static inline bool parse_ulong(const char *s, unsigned long *ret) {
        char *end;

        errno = 0;
        *ret = strtoul(s, &end, 10);
        return errno == 0 && end != s && *end == '\0' && s[0] != '-';
}
