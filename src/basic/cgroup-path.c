/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"

int cgroup_path_validate(const char *cgroup) {
        const char *p;

        if (!cgroup || cgroup[0] != '/')
                return -EINVAL;
        if (strnlen(cgroup, PATH_MAX) >= PATH_MAX)
                return -EINVAL;
        if (streq(cgroup, "/"))
                return 0;

        for (p = cgroup; *p; ) {
                size_t n;

                p++; /* the '/' */
                n = strcspn(p, "/");
                if (n == 0) /* "//" or a trailing '/' */
                        return -EINVAL;
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                for (size_t i = 0; i < n; i++)
                        if ((unsigned char) p[i] < 0x20 || p[i] == 0x7f)
                                return -EINVAL;
                p += n;
        }

        return 0;
}

int cgroup_parent(const char *cgroup, char *buf, size_t size) {
        if (cgroup_path_validate(cgroup) < 0 || streq(cgroup, "/"))
                return -EINVAL;

        const char *slash = strrchr(cgroup, '/');
        size_t n = slash == cgroup ? 1 : (size_t) (slash - cgroup);
        if (n + 1 > size)
                return -ENOBUFS;
        memcpy(buf, cgroup, n);
        buf[n] = 0;
        return 0;
}

bool cgroup_is_direct_child(const char *parent, const char *child) {
        char buf[4096];

        if (cgroup_parent(child, buf, sizeof(buf)) < 0)
                return false;
        return streq(buf, parent);
}

bool cgroup_contains(const char *ancestor, const char *cgroup) {
        size_t n = strlen(ancestor);

        if (streq(ancestor, "/"))
                return cgroup[0] == '/';
        return strncmp(ancestor, cgroup, n) == 0 && (cgroup[n] == 0 || cgroup[n] == '/');
}

int cgroup_paths_minimize(char *const *paths, size_t n, char ***ret) {
        _cleanup_strv_free_ char **sorted = NULL, **out = NULL;
        size_t n_out = 0;

        sorted = calloc(n + 1, sizeof(char *));
        out = calloc(n + 1, sizeof(char *));
        if (!sorted || !out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(sorted[i] = strdup(paths[i])))
                        return -ENOMEM;
        qsort(sorted, n, sizeof(char *), strcmp_ptr);

        /* An ancestor sorts before its descendants, though not always right
         * before them ("/a" < "/a-b" < "/a/b"): compare with all kept ones. */
        for (size_t i = 0; i < n; i++) {
                bool covered = false;

                for (size_t j = 0; j < n_out && !covered; j++)
                        covered = cgroup_contains(out[j], sorted[i]);
                if (covered)
                        free(sorted[i]);
                else
                        out[n_out++] = sorted[i];
                sorted[i] = NULL;
        }

        *ret = TAKE_PTR(out);
        return 0;
}

int cgroup_path_escape(const char *cgroup, char **ret) {
        const char *p = cgroup;
        char *buf, *o;

        while (*p == '/')
                p++;
        if (!*p)
                return (*ret = strdup("-")) ? 0 : -ENOMEM;

        /* At most four bytes out for one in. */
        buf = o = malloc(strlen(p) * 4 + 1);
        if (!buf)
                return -ENOMEM;
        for (; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c == '/') {
                        /* collapse "//" and drop a trailing "/" as systemd-escape --path does */
                        if (p[1] != '/' && p[1] != 0)
                                *o++ = '-';
                } else if (c == '-' || c == '\\' || c < 0x20 || c >= 0x7f || (c == '.' && o == buf))
                        o += sprintf(o, "\\x%02x", c);
                else
                        *o++ = (char) c;
        }
        *o = 0;
        *ret = buf;
        return 0;
}

/* Whether the comma-separated list list[0..len) has item. */
static bool list_has(const char *list, size_t len, const char *item) {
        size_t n = strlen(item);

        for (size_t i = 0; i <= len;) {
                size_t l = 0;

                while (i + l < len && list[i + l] != ',')
                        l++;
                if (l == n && strncmp(list + i, item, n) == 0)
                        return true;
                i += l + 1;
        }
        return false;
}

int cgroup_from_proc_text(const char *text, bool v1, char **ret) {
        assert(text);
        assert(ret);

        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n'), *c1, *c2;

                /* hierarchy-ID:controller-list:cgroup-path */
                c1 = memchr(line, ':', eol - line);
                c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;
                if (c2 && (v1 ? list_has(c1 + 1, c2 - c1 - 1, "memory")
                              : c1 - line == 1 && line[0] == '0' && c2 == c1 + 1)) {
                        char *path = strndup(c2 + 1, eol - c2 - 1);

                        if (!path)
                                return -ENOMEM;
                        if (cgroup_path_validate(path) < 0) {
                                free(path);
                                return -EINVAL;
                        }
                        *ret = path;
                        return 0;
                }
                line = *eol ? eol + 1 : eol;
        }
        return -ENOENT;
}
