/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulate/squeeze.h"

#include <assert.h>
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/cgroup-path.h"
#include "basic/state-dir.h"
#include "basic/util.h"

#define LIMIT_FILE SQUEEZE_FILE_V1_LIMIT

static const char *record_file(const SqueezeRecord *r) {
        return r->file ?: LIMIT_FILE;
}

void squeeze_record_done(SqueezeRecord *r) {
        assert(r);

        r->cgroup = mfree(r->cgroup);
}

int squeeze_record_format(const SqueezeRecord *r, char **ret) {
        char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX], c[FORMAT_SIZE_MAX];
        char previous[FORMAT_SIZE_MAX + 16] = "", file[64] = "";
        const char *kill = r->oom_kill_disabled ? "OOM_KILL_DISABLED=1\n" : "";
        if (r->previous > 0)
                snprintf(previous, sizeof(previous), "PREVIOUS=%s\n", format_u64_or_max(c, r->previous));
        if (r->file && !streq(r->file, LIMIT_FILE))
                snprintf(file, sizeof(file), "FILE=%s\n", r->file);
        if (asprintf(ret, "CGROUP=%s\nLIMIT=%s\nSQUEEZED=%s\n%s%s%s", r->cgroup, format_u64_or_max(a, r->limit),
                     format_u64_or_max(b, r->squeezed), previous, file, kill) < 0)
                return -ENOMEM;
        return 0;
}

static int parse_limit(const char *s, uint64_t *ret) {
        char *end;
        if (streq(s, "max")) {
                *ret = MEMCG_UNLIMITED;
                return 0;
        }
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int squeeze_record_parse(const char *text, SqueezeRecord *ret) {
        _cleanup_free_ char *copy = strdup(text), *cgroup = NULL;
        bool have_limit = false, have_squeezed = false;
        uint64_t limit = 0, squeezed = 0, previous = 0;
        const char *file = NULL;
        bool oom_kill_disabled = false;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        return -EINVAL;
                *eq = 0;
                const char *value = eq + 1;
                if (streq(line, "CGROUP")) {
                        if (cgroup_path_validate(value) < 0 || streq(value, "/"))
                                return -EINVAL;
                        free(cgroup);
                        cgroup = strdup(value);
                        if (!cgroup)
                                return -ENOMEM;
                } else if (streq(line, "LIMIT")) {
                        if (parse_limit(value, &limit) < 0)
                                return -EINVAL;
                        have_limit = true;
                } else if (streq(line, "SQUEEZED")) {
                        if (parse_limit(value, &squeezed) < 0)
                                return -EINVAL;
                        have_squeezed = true;
                } else if (streq(line, "PREVIOUS")) {
                        if (parse_limit(value, &previous) < 0)
                                return -EINVAL;
                } else if (streq(line, "FILE")) {
                        /* Only the files memqosd holds: a planted record
                         * must not make it write anything else. */
                        if (streq(value, SQUEEZE_FILE_V1_LIMIT))
                                file = NULL;
                        else if (streq(value, SQUEEZE_FILE_V2_HIGH))
                                file = SQUEEZE_FILE_V2_HIGH;
                        else
                                return -EINVAL;
                } else if (streq(line, "OOM_KILL_DISABLED")) {
                        if (!streq(value, "0") && !streq(value, "1"))
                                return -EINVAL;
                        oom_kill_disabled = streq(value, "1");
                }
        }
        if (!cgroup || !have_limit || !have_squeezed)
                return -EINVAL;
        *ret = (SqueezeRecord) { .cgroup = TAKE_PTR(cgroup), .limit = limit, .squeezed = squeezed, .previous = previous,
                                .file = file, .oom_kill_disabled = oom_kill_disabled };
        return 0;
}

int squeeze_record_name(const char *cgroup, char **ret) {
        assert(cgroup);
        assert(ret);
        return cgroup_path_escape(cgroup, ret);
}

/* The smallest page size of any Linux kernel: every limit memqosd writes is
 * whole pages of it. */
#define PAGE_MIN UINT64_C(4096)

bool squeeze_record_plausible(const SqueezeRecord *r) {
        assert(r);
        return r->squeezed > 0 && r->squeezed != MEMCG_UNLIMITED && r->squeezed % PAGE_MIN == 0 &&
               r->squeezed < r->limit &&
               (r->previous == 0 || (r->previous % PAGE_MIN == 0 && r->previous < r->limit)) &&
               (!r->oom_kill_disabled || !r->file || streq(r->file, LIMIT_FILE));
}

static uint64_t page_round_down(uint64_t v, uint64_t page_size) {
        return v == MEMCG_UNLIMITED ? v : v / page_size * page_size;
}

int squeeze_record_verdict(const SqueezeRecord *r, uint64_t current, uint64_t page_size) {
        assert(r);
        if (page_size < PAGE_MIN || (page_size & (page_size - 1)) || !squeeze_record_plausible(r))
                return -EINVAL;
        uint64_t kept_squeezed = page_round_down(r->squeezed, page_size);
        uint64_t kept_limit = page_round_down(r->limit, page_size);
        if (current == kept_limit)
                return SQUEEZE_NOT_SQUEEZED;
        /* kept_squeezed < kept_limit here unless both round to the same page,
         * which the test above took: putting back never lowers. */
        if (current == kept_squeezed && kept_squeezed < kept_limit)
                return SQUEEZE_PUT_BACK;
        uint64_t kept_previous = page_round_down(r->previous, page_size);
        if (r->previous > 0 && current == kept_previous && kept_previous < kept_limit)
                return SQUEEZE_PUT_BACK;
        return SQUEEZE_CHANGED;
}

/* A record: CGROUP= with a path, two numbers. */
#define RECORD_SIZE_MAX (PATH_MAX + 128)

static int record_write(int records_fd, const SqueezeRecord *rec) {
        _cleanup_free_ char *name = NULL, *tmp = NULL, *text = NULL;
        _cleanup_(closep) int fd = -1;
        int r;

        r = squeeze_record_name(rec->cgroup, &name);
        if (r < 0)
                return r;
        r = squeeze_record_format(rec, &text);
        if (r < 0)
                return r;
        if (asprintf(&tmp, ".#%s", name) < 0)
                return -ENOMEM;
        (void) unlinkat(records_fd, tmp, 0);
        fd = openat(records_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        if (write(fd, text, len) != (ssize_t) len) {
                r = errno ? -errno : -EIO;
                (void) unlinkat(records_fd, tmp, 0);
                return r;
        }
        if (renameat(records_fd, tmp, records_fd, name) < 0) {
                r = -errno;
                (void) unlinkat(records_fd, tmp, 0);
                return r;
        }
        return 0;
}

static void record_remove(int records_fd, const char *cgroup) {
        _cleanup_free_ char *name = NULL;
        if (squeeze_record_name(cgroup, &name) >= 0)
                (void) unlinkat(records_fd, name, 0);
}

/* The end of a hold whose limit is put back already: the kernel's OOM kill
 * enabled again where the hold disabled it, then the record goes. The
 * record stays when the kill could not be enabled: the next start tries. */
static int hold_end(int records_fd, int cgroup_fd, const SqueezeRecord *rec) {
        if (rec->oom_kill_disabled) {
                int r = memcg_set_oom_kill_disabled(cgroup_fd, false);
                if (r < 0 && r != -ENOENT && r != -ENODEV)
                        return r;
        }
        record_remove(records_fd, rec->cgroup);
        return 0;
}

int squeeze_run(int records_fd, int cgroup_fd, const char *cgroup, uint64_t squeezed, uint64_t page_size,
                uint64_t *ret_old) {
        SqueezeRecord rec = { .cgroup = (char *) cgroup, .squeezed = squeezed };
        _cleanup_(squeeze_record_done) SqueezeRecord hold = {};
        uint64_t now, put_back;
        int r, k;

        assert(cgroup);
        assert(ret_old);
        if (records_fd < 0)
                return -EBADF; /* no squeeze without a record */
        r = memcg_read_u64(cgroup_fd, LIMIT_FILE, &put_back);
        if (r < 0)
                return r;
        *ret_old = rec.limit = put_back;
        if (squeezed >= put_back)
                return 0; /* the limit is lower already: the kernel holds it there */

        /* A limit held by squeeze_hold(): the squeeze goes below the hold and
         * back to it, and the record keeps the limit from before the hold
         * (with the hold as `previous`, so that a crash in between still
         * puts the original back). */
        bool held = squeeze_record_load(records_fd, cgroup, &hold) >= 0 &&
                    squeeze_record_verdict(&hold, put_back, page_size) == SQUEEZE_PUT_BACK;
        if (held) {
                rec.limit = hold.limit;
                rec.previous = put_back;
                rec.oom_kill_disabled = hold.oom_kill_disabled;
        }

        /* No squeeze without a record: a crash between the writes must not
         * leave the limit low with nobody knowing what it was. */
        r = record_write(records_fd, &rec);
        if (r < 0)
                return r;

        k = memcg_write_u64(cgroup_fd, LIMIT_FILE, squeezed);

        /* Put it back unless somebody else wrote a limit meanwhile. */
        r = memcg_read_u64(cgroup_fd, LIMIT_FILE, &now);
        if (r == -ENOENT || r == -ENODEV) {
                record_remove(records_fd, cgroup); /* the cgroup went away */
                return 0;
        }
        if (r < 0)
                return -EIO;
        if (held && now == put_back) {
                /* the squeeze did not take (-EBUSY before any change): the hold's record is true */
        } else if (held && squeeze_record_verdict(&rec, now, page_size) == SQUEEZE_PUT_BACK) {
                for (int attempt = 0; attempt < 3; attempt++) {
                        r = memcg_write_u64(cgroup_fd, LIMIT_FILE, put_back);
                        if (r != -EINTR)
                                break;
                }
                if (r < 0)
                        return -EIO; /* the record (limit to put back, the hold as previous) stays */
        } else if (held)
                return -ESTALE;
        if (held) {
                /* Back to the hold's own record. */
                hold.previous = 0;
                r = record_write(records_fd, &hold);
                if (r < 0)
                        return -EIO;
                if (k < 0 && k != -EBUSY)
                        return k;
                return 0;
        }

        r = squeeze_record_verdict(&rec, now, page_size);
        if (r == SQUEEZE_PUT_BACK) {
                for (int attempt = 0; attempt < 3; attempt++) {
                        r = memcg_write_u64(cgroup_fd, LIMIT_FILE, rec.limit);
                        if (r != -EINTR)
                                break;
                }
                if (r < 0)
                        return -EIO; /* the record stays: the next start puts it back */
        } else if (r != SQUEEZE_NOT_SQUEEZED)
                /* Neither ours nor the old one (or a squeeze value no record
                 * could hold): the record stays, and the next start decides. */
                return -ESTALE;
        record_remove(records_fd, cgroup);

        if (k < 0 && k != -EBUSY)
                return k;
        return 0;
}

int squeeze_record_load(int records_fd, const char *cgroup, SqueezeRecord *ret) {
        _cleanup_free_ char *name = NULL, *text = NULL;
        int r;

        assert(cgroup);
        assert(ret);
        r = squeeze_record_name(cgroup, &name);
        if (r < 0)
                return r;
        r = state_dir_read_file(records_fd, name, RECORD_SIZE_MAX, &text);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        r = squeeze_record_parse(text, ret);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !streq(ret->cgroup, cgroup) || !squeeze_record_plausible(ret)) {
                squeeze_record_done(ret);
                return -EBADMSG;
        }
        return 0;
}

int squeeze_hold(int records_fd, int cgroup_fd, const char *cgroup, const char *file, uint64_t bound,
                 uint64_t page_size, uint64_t *ret_limit) {
        _cleanup_(squeeze_record_done) SqueezeRecord old = {};
        SqueezeRecord rec = { .cgroup = (char *) cgroup,
                              .file = file && streq(file, SQUEEZE_FILE_V2_HIGH) ? SQUEEZE_FILE_V2_HIGH : NULL };
        uint64_t now, held = 0;
        int r;

        assert(cgroup);
        assert(ret_limit);
        if (records_fd < 0)
                return -EBADF;
        if (page_size == 0)
                return -EINVAL;
        r = memcg_read_u64(cgroup_fd, record_file(&rec), &now);
        if (r < 0)
                return r;
        rec.limit = now;
        if (squeeze_record_load(records_fd, cgroup, &old) >= 0 && streq(record_file(&old), record_file(&rec)) &&
            squeeze_record_verdict(&old, now, page_size) != SQUEEZE_CHANGED) {
                /* Ours (held, or a hold that never took): keep the limit from before. */
                rec.limit = old.limit;
                rec.oom_kill_disabled = old.oom_kill_disabled;
                if (now != page_round_down(old.limit, page_size))
                        held = now;
        }
        *ret_limit = rec.limit;

        bound = bound / page_size * page_size;
        if (bound == 0 || bound >= page_round_down(rec.limit, page_size))
                return squeeze_release(records_fd, cgroup_fd, cgroup, page_size);
        if (bound == now)
                return 0;

        /* v1: the kernel's OOM kill in the child goes off before its limit
         * first goes down (see squeeze.h); the record says so first. */
        bool disable_kill = false;
        if (!rec.file && !rec.oom_kill_disabled) {
                bool disabled;
                disable_kill = memcg_read_oom_control(cgroup_fd, &disabled, NULL) >= 0 && !disabled;
                rec.oom_kill_disabled = disable_kill;
        }

        /* The record first, naming both the value being left and the new
         * one, so that a stop between the two writes still puts back. */
        rec.squeezed = bound;
        rec.previous = held;
        r = record_write(records_fd, &rec);
        if (r < 0)
                return r;
        if (disable_kill && memcg_set_oom_kill_disabled(cgroup_fd, true) < 0)
                /* Not refused by any kernel we know; the hold goes on as
                 * before, and the record's enabling at the end is harmless. */
                rec.oom_kill_disabled = false;
        int k = memcg_write_u64(cgroup_fd, record_file(&rec), bound);
        r = memcg_read_u64(cgroup_fd, record_file(&rec), &now);
        if (r == -ENOENT || r == -ENODEV) {
                record_remove(records_fd, cgroup);
                return -ENOENT;
        }
        if (r < 0)
                return r;
        if (now == bound) {
                rec.previous = 0;
                (void) record_write(records_fd, &rec); /* the previous value is history now */
                return 0;
        }
        /* Not taken (-EBUSY: the kernel could not get below it): the record
         * says the limit that is in force. */
        if (held && now == held) {
                rec.squeezed = held;
                rec.previous = 0;
                (void) record_write(records_fd, &rec);
        } else if (now == page_round_down(rec.limit, page_size))
                (void) hold_end(records_fd, cgroup_fd, &rec);
        return k < 0 ? k : -EBUSY;
}

int squeeze_release(int records_fd, int cgroup_fd, const char *cgroup, uint64_t page_size) {
        _cleanup_(squeeze_record_done) SqueezeRecord old = {};
        uint64_t now;
        int r;

        assert(cgroup);
        if (records_fd < 0)
                return -EBADF;
        r = squeeze_record_load(records_fd, cgroup, &old);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        r = memcg_read_u64(cgroup_fd, record_file(&old), &now);
        if (r == -ENOENT || r == -ENODEV) {
                record_remove(records_fd, cgroup);
                return 0;
        }
        if (r < 0)
                return r;
        if (squeeze_record_verdict(&old, now, page_size) == SQUEEZE_PUT_BACK) {
                r = memcg_write_u64(cgroup_fd, record_file(&old), old.limit);
                if (r < 0)
                        return r; /* the record stays: the next start puts it back */
        }
        return hold_end(records_fd, cgroup_fd, &old);
}

/* One record: its verdict acted on; returns the result of squeeze_restored_t. */
static int restore_one(const MemcgRoot *root, int records_fd, const char *name, uint64_t page_size,
                       SqueezeRecord *rec) {
        _cleanup_free_ char *text = NULL, *want_name = NULL;
        _cleanup_close_ int fd = -1;
        uint64_t now;
        int r;

        r = state_dir_read_file(records_fd, name, RECORD_SIZE_MAX, &text);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        if (squeeze_record_parse(text, rec) < 0)
                return -EBADMSG;
        /* The file is named after its cgroup: one record per cgroup. */
        r = squeeze_record_name(rec->cgroup, &want_name);
        if (r < 0)
                return r;
        if (!streq(want_name, name) || !squeeze_record_plausible(rec))
                return -EINVAL;

        if (!root)
                return -ENOMEDIUM;
        /* memcg_open() stays below the root (RESOLVE_BENEATH, no symlinks). */
        fd = memcg_open(root, rec->cgroup);
        if (fd == -ENOENT)
                return SQUEEZE_GONE;
        if (fd == -EXDEV)
                return -EINVAL;
        if (fd < 0)
                return fd;
        r = memcg_read_u64(fd, record_file(rec), &now);
        if (r == -ENOENT || r == -ENODEV)
                return SQUEEZE_GONE;
        if (r < 0)
                return r;
        r = squeeze_record_verdict(rec, now, page_size);
        if (r == SQUEEZE_PUT_BACK) {
                int k = memcg_write_u64(fd, record_file(rec), rec->limit);
                if (k < 0)
                        return k;
        }
        /* After the limit (squeeze.h); also when somebody else wrote one:
         * the hold that disabled the kill is over either way. */
        if (rec->oom_kill_disabled) {
                int k = memcg_set_oom_kill_disabled(fd, false);
                if (k == -ENOENT || k == -ENODEV)
                        return SQUEEZE_GONE;
                if (k < 0)
                        return k;
        }
        return r;
}

int squeeze_restore_all(const MemcgRoot *root, int records_fd, uint64_t page_size, squeeze_restored_t cb,
                        void *userdata) {
        _cleanup_(closedirp) DIR *d = NULL;
        int failed = 0, r;

        r = state_dir_opendir(records_fd, &d);
        if (r < 0)
                return r;

        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_(squeeze_record_done) SqueezeRecord rec = {};

                if (de->d_name[0] == '.') {
                        /* ".#NAME": a record never completed, so the squeeze never began. */
                        if (de->d_name[1] == '#')
                                (void) unlinkat(records_fd, de->d_name, 0);
                        continue;
                }
                r = restore_one(root, records_fd, de->d_name, page_size, &rec);
                if (r == -ENOMEM)
                        return r;
                if (cb)
                        cb(de->d_name, rec.cgroup ? &rec : NULL, r, userdata);
                if (r < 0)
                        failed++;
                else
                        (void) unlinkat(records_fd, de->d_name, 0);
        }
        return failed;
}
