/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "conf/policy-set.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "conf/policy.h"

void policy_set_files_free(PolicySetFile *files, size_t n) {
        for (size_t i = 0; files && i < n; i++) {
                free(files[i].path);
                free(files[i].text);
        }
        free(files);
}

bool policy_set_unit_name_valid(const char *name) {
        if (!name || name[0] == '\0' || name[0] == '.' || strlen(name) > 255)
                return false;
        const char *dot = strrchr(name, '.');
        if (!dot || dot == name || dot[1] == '\0')
                return false;
        for (const char *p = name; *p; p++)
                if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
                      strchr(":_.\\@-", *p)))
                        return false;
        return true;
}

_printf_(2, 3) static int fail(char **ret_error, const char *format, ...) {
        va_list ap;
        va_start(ap, format);
        if (vasprintf(ret_error, format, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return *ret_error ? -EINVAL : -ENOMEM;
}

int policy_set_prepare(const char *dir, const char *unit, char *const *keys, char *const *values, size_t n,
                       PolicySetFile **ret, size_t *ret_n, char **ret_error) {
        assert(dir);
        assert(keys || n == 0);
        assert(values || n == 0);
        assert(ret);
        assert(ret_n);
        assert(ret_error);

        *ret_error = NULL;
        if (!policy_set_unit_name_valid(unit))
                return fail(ret_error, "Invalid unit name \"%s\".", unit ?: "");
        if (n == 0)
                return fail(ret_error, "No assignment given for %s.", unit);
        PolicySetFile *files = calloc(n, sizeof(PolicySetFile));
        const char **texts = calloc(n, sizeof(char *));
        size_t *sizes = calloc(n, sizeof(size_t));
        const char **names = calloc(n, sizeof(char *));
        size_t n_texts = 0;
        int r = -ENOMEM;
        Policy p = {};
        _cleanup_(diagnostics_done) Diagnostics diags = {};

        if (!files || !texts || !sizes || !names)
                goto finish;
        for (size_t i = 0; i < n; i++) {
                /* A key is one of ours, a value one line: nothing else can
                 * get into a unit's files (a [Service] section, say). */
                if (policy_key_from_string(keys[i]) < 0) {
                        r = fail(ret_error, "Unknown key \"%s\" in [X-MemQoS].", keys[i]);
                        goto finish;
                }
                if (strpbrk(values[i], "\n\r")) {
                        r = fail(ret_error, "The value of %s= holds a line break.", keys[i]);
                        goto finish;
                }
                if (asprintf(&files[i].path, "%s/%s.d/90-memqos-%s.conf", dir, unit, keys[i]) < 0) {
                        files[i].path = NULL;
                        goto finish;
                }
                if (values[i][0] == '\0')
                        continue; /* removed: the key goes back to what the other files say */
                if (asprintf(&files[i].text,
                             "# Written by memqosd for `memqosctl set` (org.memqos1.Manager.SetProperties).\n"
                             "[" POLICY_SECTION "]\n%s=%s\n",
                             keys[i], values[i]) < 0) {
                        files[i].text = NULL;
                        goto finish;
                }
                texts[n_texts] = files[i].text;
                sizes[n_texts] = strlen(files[i].text);
                names[n_texts] = files[i].path;
                n_texts++;
        }

        if (n_texts > 0) {
                r = policy_parse_texts(texts, sizes, names, n_texts, &p, &diags);
                if (r < 0)
                        goto finish;
        }
        if (diags.n > 0) {
                /* As event_policy_invalid() says it of a unit's file. */
                const Diagnostic *d = &diags.items[0];
                if (asprintf(ret_error, "%s:%u: %s", d->file, d->line, d->message) < 0)
                        *ret_error = NULL;
                r = *ret_error ? -EINVAL : -ENOMEM;
                goto finish;
        }
        *ret = TAKE_PTR(files);
        *ret_n = n;
        r = 0;
finish:
        policy_set_files_free(files, n);
        free(texts);
        free(sizes);
        free(names);
        return r;
}
