/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers shared by every module: scope-based cleanup in the style of
 * systemd, and a few string helpers. Nothing here does I/O. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Defines `const char *name##_to_string(type i)`: table[i], or NULL when i is
 * outside the table (a negative i too, by the conversion) or a hole in it. */
#define DEFINE_STRING_TABLE_TO_STRING(name, type, table)        \
        const char *name##_to_string(type i) {                  \
                if ((uintmax_t) i >= ELEMENTSOF(table))         \
                        return NULL;                            \
                return table[i];                                \
        }

/* Hand ownership on: returns the pointer and leaves NULL behind, so the
 * _cleanup_ of the old owner does nothing. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                (p) = NULL;                     \
                _p_;                            \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -1;                      \
                _fd_;                           \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        func(*p);                       \
        }

/* Frees and returns NULL: `p = mfree(p);` */
/* The time of clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...) in microseconds. */
uint64_t clock_usec(clockid_t clock);

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}

/* Closes fd if open and returns -1: `fd = safe_close(fd);` */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -1;
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool isempty_str(const char *s) {
        return !s || !*s;
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline bool endswith(const char *s, const char *suffix) {
        size_t l = strlen(s), k = strlen(suffix);
        return l >= k && memcmp(s + l - k, suffix, k) == 0;
}

/* NULL-terminated string vectors (as sd-bus hands them out). */
/* qsort() comparison of two char * elements, by strcmp(). */
static inline int strcmp_ptr(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);

static inline size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

/* Returns 0 when both vectors hold the same strings in the same order. */
static inline bool strv_equal(char *const *a, char *const *b) {
        size_t na = strv_length(a), nb = strv_length(b);
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

char **strv_copy(char *const *l);

/* A copy of s for a log line, each control byte (below 0x20, and 0x7f) as
 * \xNN: text read from a file must not move a terminal's cursor, change its
 * title or split the one line a message is. Other bytes, UTF-8 included, are
 * kept. NULL when out of memory. */
char *escape_control(const char *s);

static inline bool is_control_byte(char c) {
        return (unsigned char) c < 0x20 || c == 0x7f;
}

/* Sizes as text. FORMAT_SIZE_MAX and FORMAT_SHARE_MAX are the buffer sizes;
 * each function returns buf. UINT64_MAX is "no limit" (MEMCG_UNLIMITED). */
#define FORMAT_SIZE_MAX 32
#define FORMAT_SHARE_MAX 80

/* For fields and records that programs read: the decimal digits, or "max"
 * (the kernel's word) for UINT64_MAX. */
const char *format_u64_or_max(char buf[static FORMAT_SIZE_MAX], uint64_t v);

/* For people, base 1024 as the kernel and systemd count: "512B", "4K",
 * "1.5G", "819M" (at most three significant digits, exact values whole),
 * "no limit" for UINT64_MAX. */
const char *format_size(char buf[static FORMAT_SIZE_MAX], uint64_t v);

/* "900M, 90% of the 1000M limit"; "300M, of no limit" when limit is
 * UINT64_MAX; "unknown, ..." when used is UINT64_MAX (not read). */
const char *format_share(char buf[static FORMAT_SHARE_MAX], uint64_t used, uint64_t limit);

static inline const char *plural(uint64_t n, const char *one, const char *many) {
        return n == 1 ? one : many;
}
