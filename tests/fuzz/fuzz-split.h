/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Splits one fuzz input into the several files or records a parser reads,
 * on FUZZ_SEPARATOR, so that a seed stays a readable text file. */

#include <stddef.h>
#include <string.h>

#define FUZZ_SEPARATOR "\n#%%\n"

typedef struct FuzzPart {
        const char *text; /* into the input: not NUL-terminated */
        size_t size;
} FuzzPart;

/* Fills at most max parts (the last one takes the rest); returns how many. */
static inline size_t fuzz_split(const char *data, size_t size, FuzzPart *parts, size_t max) {
        const char *s = data, *end = data + size;
        size_t n = 0;

        while (n < max) {
                const char *sep = n + 1 < max ? memmem(s, (size_t) (end - s), FUZZ_SEPARATOR, strlen(FUZZ_SEPARATOR))
                                              : NULL;

                parts[n].text = s;
                parts[n].size = sep ? (size_t) (sep - s) : (size_t) (end - s);
                n++;
                if (!sep)
                        break;
                s = sep + strlen(FUZZ_SEPARATOR);
        }
        return n;
}

/* The number of lines in a part, as a parser counts them (1 for an empty one). */
static inline size_t fuzz_count_lines(const FuzzPart *p) {
        size_t n = 1;

        for (size_t i = 0; i < p->size; i++)
                n += p->text[i] == '\n';
        return n;
}
