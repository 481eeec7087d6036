/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "basic/util.h"
#include "conf/notice-request.h"

#define WORDS_MAX 4
#define WORD_MAX 32

/* Splits line[0..size) into at most WORDS_MAX words of < WORD_MAX bytes.
 * -EINVAL for more words, a longer word, or a byte that is not printable
 * ASCII or blank. */
static int split_words(const char *line, size_t size, char words[WORDS_MAX][WORD_MAX], size_t *ret_n) {
        size_t n = 0, i = 0;

        while (i < size) {
                size_t start;

                while (i < size && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
                        i++;
                if (i >= size)
                        break;
                start = i;
                while (i < size && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                        if ((unsigned char) line[i] < 0x21 || (unsigned char) line[i] > 0x7e)
                                return -EINVAL;
                        i++;
                }
                if (n >= WORDS_MAX || i - start >= WORD_MAX)
                        return -EINVAL;
                memcpy(words[n], line + start, i - start);
                words[n][i - start] = 0;
                n++;
        }
        *ret_n = n;
        return 0;
}

/* A decimal number of microseconds, as the kernel's PSI trigger takes it. */
static bool is_usec(const char *s) {
        return *s && strlen(s) <= 20 && strspn(s, "0123456789") == strlen(s);
}

/* One line: 0, -EINVAL, or -E2BIG (one threshold too many). */
static int parse_line(const char *line, size_t size, NoticeRequest *req) {
        char words[WORDS_MAX][WORD_MAX];
        size_t n;
        int r;

        r = split_words(line, size, words, &n);
        if (r < 0)
                return r;
        if (n == 0 || words[0][0] == '#')
                return 0;

        if (streq(words[0], "some") || streq(words[0], "full")) {
                /* systemd's default MemoryPressureThresholdSec= payload:
                 * "some 200000 2000000". memqos has no PSI window to set. */
                if (n != 3 || !is_usec(words[1]) || !is_usec(words[2]))
                        return -EINVAL;
                req->n_psi_triggers++;
                return 0;
        }

        if (streq(words[0], "threshold")) {
                Threshold t;
                size_t k;

                if (n != 2 || policy_parse_thresholds(words[1], &t, 1, &k) < 0)
                        return -EINVAL;
                if (req->n_thresholds >= NOTICE_REQUEST_THRESHOLDS_MAX)
                        return -E2BIG;
                req->thresholds[req->n_thresholds++] = t;
                return 0;
        }
        return -EINVAL;
}

int notice_request_parse(const char *text, size_t size, NoticeRequest *ret, unsigned *ret_line) {
        assert(text || size == 0);
        assert(ret);

        unsigned line = 0;
        size_t i = 0;
        int r;

        *ret = (NoticeRequest) {};
        if (ret_line)
                *ret_line = 0;
        if (size > NOTICE_REQUEST_SIZE_MAX)
                return -E2BIG;

        while (i < size) {
                size_t len = 0;
                bool finished;
                NoticeRequest before = *ret;

                while (i + len < size && text[i + len] != '\n' && text[i + len] != '\0')
                        len++;
                finished = i + len < size;
                line++;

                r = parse_line(text + i, len, ret);
                if (r < 0) {
                        *ret = before;
                        if (ret_line)
                                *ret_line = line;
                        if (!finished && r == -EINVAL)
                                return -EAGAIN; /* may yet become valid */
                        return r;
                }
                i += len + finished;
        }
        return 0;
}
