/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "state.h"
#include "util.h"

static const char *const knob_keys[_MEMCG_KNOB_MAX] = {
        [MEMCG_PRIORITY] = "MEMORY_PRIORITY",
        [MEMCG_USE_PRIORITY_OOM] = "USE_PRIORITY_OOM",
        [MEMCG_WMARK_RATIO] = "WATERMARK_RATIO",
        [MEMCG_WMARK_SCALE_FACTOR] = "WATERMARK_SCALE_FACTOR",
};

static void format_bytes_or_max(FILE *f, const char *key, uint64_t v) {
        if (v == MEMCG_UNLIMITED)
                fprintf(f, "%s=max\n", key);
        else
                fprintf(f, "%s=%" PRIu64 "\n", key, v);
}

int state_format(const UnitState *s, FILE *f) {
        char thresholds[32 * POLICY_THRESHOLDS_MAX] = "";

        fprintf(f, "UNIT=%s\n", s->unit ?: "");
        fprintf(f, "CGROUP=%s\n", s->cgroup ?: "");
        fprintf(f, "ACTIVE=%s\n", s->active ? "yes" : "no");
        fputs("SOURCES=", f);
        for (char *const *p = s->sources; p && *p; p++)
                fprintf(f, "%s%s", p == s->sources ? "" : " ", *p);
        fputc('\n', f);

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                ApplyState st = s->applied ? s->applied->state[k] : APPLY_UNSET;
                if (s->desired && s->desired->want[k])
                        fprintf(f, "%s=%" PRIu64 "\n", knob_keys[k], s->desired->value[k]);
                else
                        fprintf(f, "%s=\n", knob_keys[k]);
                fprintf(f, "%s_STATE=%s\n", knob_keys[k], apply_state_to_string(st));
        }

        if (s->policy)
                policy_format_thresholds(s->policy, thresholds, sizeof(thresholds));
        fprintf(f, "MEMORY_THRESHOLDS=%s\n", thresholds);

        format_bytes_or_max(f, "LIMIT_BYTES", s->limit);
        format_bytes_or_max(f, "WMARK_HIGH_BYTES", s->wmark_high);
        format_bytes_or_max(f, "WMARK_LOW_BYTES", s->wmark_low);
        fprintf(f, "WMARK_SOURCE=%s\n", s->wmark_from_kernel ? "kernel" : "computed");

        return ferror(f) ? -EIO : 0;
}

int state_name_for_cgroup(const char *cgroup, char **ret) {
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

int state_write(const char *dir, const char *name, const UnitState *s) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        if (strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.#%s", dir, name) < 0)
                return -ENOMEM;

        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        r = state_format(s, f);
        if (r >= 0 && fflush(f) != 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int state_remove(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (strchr(name, '/'))
                return -EINVAL;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
