/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/state-dir.h"
#include "basic/util.h"
#include "daemon/state.h"

static const char *const knob_keys[_MEMCG_KNOB_MAX] = {
        [MEMCG_PRIORITY] = "MEMORY_PRIORITY",
        [MEMCG_USE_PRIORITY_OOM] = "USE_PRIORITY_OOM",
        [MEMCG_WMARK_RATIO] = "WATERMARK_RATIO",
        [MEMCG_WMARK_SCALE_FACTOR] = "WATERMARK_SCALE_FACTOR",
};

static void format_time_utc(uint64_t realtime_usec, char *buf, size_t size) {
        time_t t = (time_t) (realtime_usec / 1000000);
        struct tm tm;
        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, realtime_usec / 1000000);
}

static void format_bytes_or_max(FILE *f, const char *key, uint64_t v) {
        char b[FORMAT_SIZE_MAX];
        fprintf(f, "%s=%s\n", key, format_u64_or_max(b, v));
}

int state_format(const UnitState *s, FILE *f) {
        assert(s);

        char thresholds[32 * POLICY_THRESHOLDS_MAX] = "";

        fprintf(f, "UNIT=%s\n", s->unit ?: "");
        fprintf(f, "CGROUP=%s\n", s->cgroup ?: "");
        fprintf(f, "ACTIVE=%s\n", s->active ? "yes" : "no");
        fputs("STOPPED_AT=\n", f); /* memqosd runs: see state_text_mark_stopped() */
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
        char reserve[32] = "";
        if (s->policy)
                policy_format_reserve(s->policy, reserve, sizeof(reserve));
        fprintf(f, "MEMORY_RESERVE=%s\n", reserve);

        format_bytes_or_max(f, "LIMIT_BYTES", s->limit);
        format_bytes_or_max(f, "WMARK_HIGH_BYTES", s->wmark_high);
        format_bytes_or_max(f, "WMARK_LOW_BYTES", s->wmark_low);
        fprintf(f, "WMARK_SOURCE=%s\n", s->wmark_from_kernel ? "kernel" : "computed");
        if (s->usage == MEMCG_UNLIMITED)
                fputs("USAGE_BYTES=\n", f);
        else
                fprintf(f, "USAGE_BYTES=%" PRIu64 "\n", s->usage);
        fprintf(f, "LAST_EVENT=%s\n", s->last_event ?: "");
        if (s->last_event_usec > 0) {
                char when[64];
                format_time_utc(s->last_event_usec, when, sizeof(when));
                fprintf(f, "LAST_EVENT_AT=%s\n", when);
        } else
                fputs("LAST_EVENT_AT=\n", f);

        return ferror(f) ? -EIO : 0;
}

/* A state file is small; anything larger is not one of ours. */
#define STATE_FILE_SIZE_MAX (64 * 1024)

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool state_name_valid(const char *name) {
        return !isempty_str(name) && !strchr(name, '/') && name[0] != '.';
}

int state_text_mark_stopped(const char *text, uint64_t realtime_usec, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = NULL;
        bool have_stopped = strstr(text, "\nSTOPPED_AT=") || startswith(text, "STOPPED_AT=");
        char when[64];

        assert(text);
        assert(ret);
        format_time_utc(realtime_usec, when, sizeof(when));
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (const char *line = text; *line;) {
                const char *end = strchrnul(line, '\n');
                int len = (int) (end - line);
                if (startswith(line, "ACTIVE=")) {
                        fputs("ACTIVE=no\n", f);
                        if (!have_stopped)
                                fprintf(f, "STOPPED_AT=%s\n", when);
                } else if (startswith(line, "STOPPED_AT="))
                        fprintf(f, "STOPPED_AT=%s\n", when);
                else
                        fprintf(f, "%.*s\n", len, line);
                line = *end ? end + 1 : end;
        }
        bool failed = fflush(f) != 0 || ferror(f);
        fclose(TAKE_PTR(f));
        if (failed)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Writes text to dirfd/name by way of ".#name" and renameat(). */
static int write_atomic(int dirfd, const char *name, int (*fill)(FILE *f, const void *userdata), const void *userdata) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        int fd, r;

        if (asprintf(&tmp, ".#%s", name) < 0)
                return -ENOMEM;
        /* O_NOFOLLOW|O_EXCL after unlinking a leftover: never through a symlink. */
        (void) unlinkat(dirfd, tmp, 0);
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        r = fill(f, userdata);
        if (r >= 0 && fflush(f) != 0)
                r = -errno;
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

static int fill_state(FILE *f, const void *userdata) {
        return state_format(userdata, f);
}

int state_write(int dirfd, const char *name, const UnitState *s) {
        assert(name);
        assert(s);
        if (dirfd < 0)
                return -EBADF;
        if (!state_name_valid(name))
                return -EINVAL;
        return write_atomic(dirfd, name, fill_state, s);
}

int state_remove(int dirfd, const char *name) {
        assert(name);
        if (dirfd < 0)
                return -EBADF;
        if (!state_name_valid(name))
                return -EINVAL;
        if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

static int fill_text(FILE *f, const void *userdata) {
        fputs(userdata, f);
        return ferror(f) ? -EIO : 0;
}

typedef void (*state_file_fn)(int dirfd, const char *name, void *userdata);

static int foreach_state_file(int dirfd, state_file_fn fn, void *userdata) {
        _cleanup_(closedirp) DIR *d = NULL;
        int r = state_dir_opendir(dirfd, &d);

        if (r < 0)
                return r;
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        fn(dirfd, de->d_name, userdata);
        return 0;
}

typedef struct MarkContext {
        uint64_t realtime_usec;
        int failed;
} MarkContext;

static void mark_one(int dirfd, const char *name, void *userdata) {
        MarkContext *c = userdata;
        _cleanup_free_ char *text = NULL, *marked = NULL;

        if (!state_name_valid(name))
                return;
        if (state_dir_read_file(dirfd, name, STATE_FILE_SIZE_MAX, &text) < 0 || state_text_mark_stopped(text, c->realtime_usec, &marked) < 0 ||
            write_atomic(dirfd, name, fill_text, marked) < 0)
                c->failed++;
}

int state_mark_all_stopped(int dirfd, uint64_t realtime_usec) {
        MarkContext c = { .realtime_usec = realtime_usec };
        int r = foreach_state_file(dirfd, mark_one, &c);
        return r < 0 ? r : c.failed;
}

static void remove_one(int dirfd, const char *name, void *userdata) {
        int *failed = userdata;
        /* state files and the ".#" temporaries of a write that never ended */
        if ((state_name_valid(name) || startswith(name, ".#")) && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                (*failed)++;
}

int state_remove_all(int dirfd) {
        int failed = 0;
        int r = foreach_state_file(dirfd, remove_one, &failed);
        return r < 0 ? r : failed;
}
