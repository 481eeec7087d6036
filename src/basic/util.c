/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "basic/util.h"

#include <assert.h>
#include <inttypes.h>

char **strv_copy(char *const *l) {
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i]) {
                        strv_free(c);
                        return NULL;
                }
        }
        return c;
}

char *escape_control(const char *s) {
        static const char hex[] = "0123456789abcdef";
        size_t n = 0;
        char *out, *o;

        for (const char *p = s; *p; p++)
                n += is_control_byte(*p) ? 4 : 1;
        out = o = malloc(n + 1);
        if (!out)
                return NULL;
        for (const char *p = s; *p; p++) {
                unsigned char c = *p;

                if (!is_control_byte(c)) {
                        *o++ = c;
                        continue;
                }
                *o++ = '\\';
                *o++ = 'x';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
        }
        *o = 0;
        return out;
}

const char *format_u64_or_max(char buf[static FORMAT_SIZE_MAX], uint64_t v) {
        assert(buf);
        if (v == UINT64_MAX)
                return strcpy(buf, "max");
        snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64, v);
        return buf;
}

const char *format_size(char buf[static FORMAT_SIZE_MAX], uint64_t v) {
        static const char suffixes[] = "KMGTPE";
        size_t i;
        double x;

        assert(buf);
        if (v == UINT64_MAX)
                return strcpy(buf, "no limit");
        if (v < 1024) {
                snprintf(buf, FORMAT_SIZE_MAX, "%" PRIu64 "B", v);
                return buf;
        }

        /* The largest unit that is not more than v; when the rounding would
         * print 1024 of it, the next one. */
        for (i = 0; i + 1 < sizeof(suffixes) - 1 && v >> (10 * (i + 2)) > 0; i++)
                ;
        x = (double) v / (double) (1ull << (10 * (i + 1)));
        if (x >= 1023.5 && i + 1 < sizeof(suffixes) - 1) {
                i++;
                x /= 1024;
        }

        /* Three significant digits at most: "819M", not "819.2M". */
        if (x >= 10)
                snprintf(buf, FORMAT_SIZE_MAX, "%.0f%c", x, suffixes[i]);
        else {
                snprintf(buf, FORMAT_SIZE_MAX, "%.1f%c", x, suffixes[i]);
                /* "2.0G" from a value just under 2G reads as exact: say "2G" */
                char *dot = strstr(buf, ".0");
                if (dot)
                        memmove(dot, dot + 2, strlen(dot + 2) + 1);
        }
        return buf;
}

const char *format_share(char buf[static FORMAT_SHARE_MAX], uint64_t used, uint64_t limit) {
        char u[FORMAT_SIZE_MAX], l[FORMAT_SIZE_MAX];

        assert(buf);
        if (used == UINT64_MAX)
                strcpy(u, "unknown");
        else
                format_size(u, used);

        if (limit == UINT64_MAX)
                snprintf(buf, FORMAT_SHARE_MAX, "%s, of no limit", u);
        else if (limit == 0 || used == UINT64_MAX)
                snprintf(buf, FORMAT_SHARE_MAX, "%s, of the %s limit", u, format_size(l, limit));
        else
                snprintf(buf, FORMAT_SHARE_MAX, "%s, %.0f%% of the %s limit", u,
                         (double) used * 100.0 / (double) limit, format_size(l, limit));
        return buf;
}

uint64_t clock_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts); /* only EINVAL, for a clock that does not exist */
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}
