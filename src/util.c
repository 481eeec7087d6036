/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

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
