/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroupfs edge: finding the memory hierarchy, opening a cgroup below it
 * without ever leaving it, and reading and writing the integer files of
 * shared/docs/kernel-abi.md. Everything that decides (path validation, what to
 * write, the watermark arithmetic) is pure and lives at the bottom. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "cgroup/memcg.h"

/* Large enough for any integer file and for cgroup.controllers; a file that
 * does not fit is not what we think it is. */
#define MEMCG_FILE_MAX 4096

static const char *const layout_table[] = {
        [MEMCG_LAYOUT_V1] = "v1",
        [MEMCG_LAYOUT_V2] = "v2",
};

DEFINE_STRING_TABLE_TO_STRING(memcg_layout, MemcgLayout, layout_table)

static const char *const apply_state_table[_APPLY_STATE_MAX] = {
        [APPLY_UNSET] = "unset",
        [APPLY_WRITTEN] = "written",
        [APPLY_IN_PLACE] = "in-place",
        [APPLY_UNSUPPORTED] = "unsupported",
        [APPLY_FAILED] = "failed",
        [APPLY_EMULATED] = "emulated",
};

DEFINE_STRING_TABLE_TO_STRING(apply_state, ApplyState, apply_state_table)

static const struct {
        const char *file;
        uint64_t kernel_default;
} knob_table[_MEMCG_KNOB_MAX] = {
        [MEMCG_PRIORITY] = { "memory.priority", 0 },
        [MEMCG_USE_PRIORITY_OOM] = { "memory.use_priority_oom", 0 },
        [MEMCG_WMARK_RATIO] = { "memory.wmark_ratio", 0 },
        [MEMCG_WMARK_SCALE_FACTOR] = { "memory.wmark_scale_factor", 50 },
};

const char *memcg_knob_file(MemcgKnob k) {
        if ((unsigned) k >= _MEMCG_KNOB_MAX)
                return NULL;
        return knob_table[k].file;
}

uint64_t memcg_knob_default(MemcgKnob k) {
        if ((unsigned) k >= _MEMCG_KNOB_MAX)
                return 0;
        return knob_table[k].kernel_default;
}

/* ---- reading and writing files ---- */

/* Reads a whole small file below dirfd into buf (NUL-terminated). Never
 * follows a symlink: cgroupfs has none, so one would be planted. */
int memcg_read_small_file(int dirfd, const char *file, char *buf, size_t size) {
        _cleanup_(closep) int fd = -1;
        size_t n = 0;

        fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;

        for (;;) {
                ssize_t k;

                if (n >= size - 1)
                        return -EBADMSG; /* longer than any file we know */

                k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }

        buf[n] = 0;
        return 0;
}

/* The largest value a kernel page counter can hold, in bytes. cgroup v1
 * prints it for "no limit" (9223372036854771712 with 4 KiB pages), v2 prints
 * "max" instead. Mirrors PAGE_COUNTER_MAX of include/linux/page_counter.h. */
static uint64_t page_counter_max_bytes(void) {
        uint64_t page_size = (uint64_t) sysconf(_SC_PAGESIZE);
        uint64_t max_pages = sizeof(long) == 4 ? (uint64_t) LONG_MAX : (uint64_t) LONG_MAX / page_size;

        return max_pages * page_size;
}

/* Values at or above the page-counter maximum read as MEMCG_UNLIMITED as
 * well: no page counter can hold more, so the kernel means "no limit" by
 * them. Anything else is not the file we expect: -EBADMSG. */
int memcg_parse_u64(const char *s, uint64_t *ret) {
        const char *end;
        uint64_t v;

        if (strncmp(s, "max", 3) == 0) {
                v = MEMCG_UNLIMITED;
                end = s + 3;
        } else {
                char *e;

                if (*s < '0' || *s > '9') /* strtoull would take sign and space */
                        return -EBADMSG;
                errno = 0;
                v = strtoull(s, &e, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                if (v >= page_counter_max_bytes())
                        v = MEMCG_UNLIMITED;
                end = e;
        }

        end += strspn(end, " \t\n");
        if (*end != 0)
                return -EBADMSG;

        *ret = v;
        return 0;
}

int memcg_read_u64(int dirfd, const char *file, uint64_t *ret) {
        char buf[64];
        int r;

        r = memcg_read_small_file(dirfd, file, buf, sizeof(buf));
        if (r < 0)
                return r;
        return memcg_parse_u64(buf, ret);
}

/* One line of an OOM file as the kernel prints it ("%s %llu"): the key is
 * all before the one space, *ret_key_len long, and the caller compares it
 * whole (sscanf's "%31s" would cut a long key short and skip blanks around
 * it). */
static int parse_oom_file_line(const char *line, const char *eol, const char **ret_key, size_t *ret_key_len,
                               uint64_t *ret_value) {
        const char *space = memchr(line, ' ', (size_t) (eol - line));
        char *end;
        uint64_t v;

        /* strtoull() would take a sign or blanks before the number: insist on a digit. */
        if (!space || space == line || space + 1 == eol || space[1] < '0' || space[1] > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoull(space + 1, &end, 10);
        if (errno != 0 || end != eol)
                return -EBADMSG;

        *ret_key = line;
        *ret_key_len = (size_t) (space - line);
        *ret_value = v;
        return 0;
}

static bool key_is(const char *key, size_t key_len, const char *name) {
        return key_len == strlen(name) && memcmp(key, name, key_len) == 0;
}

int memcg_parse_oom_file(const char *text, MemcgOomCounters *ret, bool *ret_under_oom, bool *ret_kill_disabled) {
        MemcgOomCounters c = {};
        bool under_oom = false, kill_disabled = false;

        assert(text);
        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n'), *key;
                size_t key_len;
                uint64_t value;
                int r;

                if (eol > line) {
                        r = parse_oom_file_line(line, eol, &key, &key_len, &value);
                        if (r < 0)
                                return r;
                        if (key_is(key, key_len, "oom"))
                                c.oom = value;
                        else if (key_is(key, key_len, "oom_kill"))
                                c.oom_kill = value;
                        else if (key_is(key, key_len, "max"))
                                c.max = value;
                        else if (key_is(key, key_len, "under_oom"))
                                under_oom = value > 0;
                        else if (key_is(key, key_len, "oom_kill_disable"))
                                kill_disabled = value > 0;
                }
                line = *eol ? eol + 1 : eol;
        }

        if (ret)
                *ret = c;
        if (ret_under_oom)
                *ret_under_oom = under_oom;
        if (ret_kill_disabled)
                *ret_kill_disabled = kill_disabled;
        return 0;
}

int memcg_read_oom_control(int dirfd, bool *ret_kill_disabled, bool *ret_under_oom) {
        char buf[256];
        int r = memcg_read_small_file(dirfd, "memory.oom_control", buf, sizeof(buf));
        if (r < 0)
                return r;
        return memcg_parse_oom_file(buf, NULL, ret_under_oom, ret_kill_disabled);
}

int memcg_set_oom_kill_disabled(int dirfd, bool disabled) {
        return memcg_write_u64(dirfd, "memory.oom_control", disabled ? 1 : 0);
}

int memcg_register_event(int dirfd, int efd, const char *file, const char *args) {
        _cleanup_(closep) int control = -1, target = -1;
        char line[128];
        int n;

        assert(file);
        target = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (target < 0)
                return -errno;
        control = openat(dirfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (control < 0)
                return -errno;
        n = snprintf(line, sizeof(line), "%d %d%s%s", efd, target, args ? " " : "", args ?: "");
        if (n < 0 || (size_t) n >= sizeof(line))
                return -EINVAL;
        if (write(control, line, (size_t) n) < 0)
                return -errno;
        return 0;
}

/* Which word the kernel wants for "no limit": v2 "max", v1 "-1". Decided by
 * the filesystem the file lives on, so the caller needs no layout; other
 * filesystems (test fixtures) get "max", which memcg_read_u64 reads back. */
static const char *unlimited_word(int dirfd) {
        struct statfs sfs;

        if (fstatfs(dirfd, &sfs) >= 0 && sfs.f_type == CGROUP_SUPER_MAGIC)
                return "-1";
        return "max";
}

int memcg_write_u64(int dirfd, const char *file, uint64_t value) {
        _cleanup_(closep) int fd = -1;
        char buf[32];
        ssize_t k;
        int n;

        if (value == MEMCG_UNLIMITED)
                n = snprintf(buf, sizeof(buf), "%s\n", unlimited_word(dirfd));
        else
                n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", value);

        /* No O_CREAT: a missing file is a missing kernel feature, and must stay missing. */
        fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;

        /* cgroupfs takes a value in exactly one write(); the errno it
         * returns (EINVAL for out-of-range, EBUSY for a limit below usage)
         * is the answer the caller wants, so hand it on unchanged. */
        k = write(fd, buf, (size_t) n);
        if (k < 0)
                return -errno;
        if (k != n)
                return -EIO;
        return 0;
}

int memcg_read_limit(const MemcgRoot *r, int dirfd, uint64_t *ret) {
        uint64_t high, max;
        int k;

        if (r->layout == MEMCG_LAYOUT_V1)
                return memcg_read_u64(dirfd, "memory.limit_in_bytes", ret);

        k = memcg_read_u64(dirfd, "memory.high", &high);
        if (k < 0)
                return k;
        k = memcg_read_u64(dirfd, "memory.max", &max);
        if (k < 0)
                return k;

        *ret = high < max ? high : max;
        return 0;
}

int memcg_read_usage(const MemcgRoot *r, int dirfd, uint64_t *ret) {
        return memcg_read_u64(dirfd,
                              r->layout == MEMCG_LAYOUT_V1 ? "memory.usage_in_bytes" : "memory.current",
                              ret);
}

/* ---- the root of the hierarchy ---- */

void memcg_root_free(MemcgRoot *r) {
        if (!r)
                return;
        closep(&r->fd);
        free(r->path);
        free(r);
}

static bool controllers_have_memory(int dirfd) {
        char buf[MEMCG_FILE_MAX];
        const char *p = buf;

        if (memcg_read_small_file(dirfd, "cgroup.controllers", buf, sizeof(buf)) < 0)
                return false;

        for (;;) {
                size_t n;

                p += strspn(p, " \t\n");
                n = strcspn(p, " \t\n");
                if (n == 0)
                        return false;
                if (n == strlen("memory") && strncmp(p, "memory", n) == 0)
                        return true;
                p += n;
        }
}

static bool has_file(int dirfd, const char *file) {
        struct stat st;

        return fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) >= 0;
}

/* The layout of a directory that is to be a hierarchy's root. cgroupfs says
 * what it is by its magic; any other filesystem is a test fixture (or a
 * stand-in given with --cgroup-root), recognized by the files a real root
 * of that layout has. -ENOMEDIUM when it is a hierarchy without memcg. */
static int root_layout(int fd, MemcgLayout *ret) {
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;

        if (sfs.f_type == CGROUP2_SUPER_MAGIC ||
            (sfs.f_type != CGROUP_SUPER_MAGIC && has_file(fd, "cgroup.controllers"))) {
                if (!controllers_have_memory(fd))
                        return -ENOMEDIUM;
                *ret = MEMCG_LAYOUT_V2;
                return 0;
        }

        /* A v1 hierarchy carries memory.* files only when memcg is bound to it. */
        if (!has_file(fd, "memory.limit_in_bytes"))
                return -ENOMEDIUM;
        *ret = MEMCG_LAYOUT_V1;
        return 0;
}

/* Takes *fd on success (and leaves -1 behind for the caller's cleanup). */
static int root_new(int *fd, const char *path, MemcgRoot **ret) {
        MemcgRoot *r;
        MemcgLayout layout;
        char *p;
        int k;

        k = root_layout(*fd, &layout);
        if (k < 0)
                return k;

        p = realpath(path, NULL);
        if (!p)
                return -errno;

        r = calloc(1, sizeof(MemcgRoot));
        if (!r) {
                free(p);
                return -ENOMEM;
        }

        *r = (MemcgRoot) {
                .layout = layout,
                .path = p,
                .fd = TAKE_FD(*fd),
        };
        *ret = r;
        return 0;
}

int memcg_root_open(const char *path, MemcgRoot **ret) {
        _cleanup_(closep) int fd = -1;

        fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        return root_new(&fd, path, ret);
}

static int root_open_child(int parent_fd, const char *parent, const char *name, MemcgRoot **ret) {
        _cleanup_(freep) char *path = NULL;
        _cleanup_(closep) int fd = -1;

        fd = openat(parent_fd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOTDIR || errno == ELOOP ? -ENOMEDIUM : -errno;

        if (asprintf(&path, "%s/%s", parent, name) < 0)
                return -ENOMEM;

        return root_new(&fd, path, ret);
}

int memcg_root_detect(const char *sysfs_cgroup, MemcgRoot **ret) {
        _cleanup_(closep) int fd = -1;
        struct statfs sfs;
        int r_v1, r_hybrid;

        fd = open(sysfs_cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0)
                return -errno;

        /* Unified: the controller is either enabled at the root or nowhere. */
        if (sfs.f_type == CGROUP2_SUPER_MAGIC ||
            (sfs.f_type != CGROUP_SUPER_MAGIC && has_file(fd, "cgroup.controllers")))
                return root_new(&fd, sysfs_cgroup, ret);

        /* Legacy or hybrid: a tmpfs with one mount per hierarchy. A controller
         * binds to one hierarchy only, so at most one of these has memcg;
         * hybrid's "unified" has it only when no v1 hierarchy took it. */
        r_v1 = root_open_child(fd, sysfs_cgroup, "memory", ret);
        if (r_v1 >= 0)
                return 0;
        r_hybrid = root_open_child(fd, sysfs_cgroup, "unified", ret);
        if (r_hybrid >= 0)
                return 0;

        return r_v1 == -ENOENT && r_hybrid == -ENOENT ? -ENOENT : -ENOMEDIUM;
}

/* ---- opening a cgroup ---- */

/* O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR; openat2() says
 * ELOOP, and both paths of memcg_open() should answer alike. */
static bool is_symlink(int dirfd, const char *name) {
        struct stat st;

        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode);
}

#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY)

int memcg_open_walk(int rootfd, const char *cgroup) {
        _cleanup_(closep) int fd = -1;
        const char *p;
        int r;

        r = cgroup_path_validate(cgroup);
        if (r < 0)
                return r;

        fd = openat(rootfd, ".", OPEN_DIR_FLAGS);
        if (fd < 0)
                return -errno;

        /* Validation leaves no "." or ".." to climb out by, so refusing a
         * symlink in each component keeps the walk below the root. */
        for (p = cgroup + 1; *p; ) {
                char name[NAME_MAX + 1];
                size_t n = strcspn(p, "/");
                int next;

                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = 0;

                next = openat(fd, name, OPEN_DIR_FLAGS | O_NOFOLLOW);
                if (next < 0)
                        return errno == ENOTDIR && is_symlink(fd, name) ? -ELOOP : -errno;
                closep(&fd);
                fd = next;

                p += n;
                if (*p == '/')
                        p++;
        }

        return TAKE_FD(fd);
}

int memcg_open(const MemcgRoot *r, const char *cgroup) {
        struct open_how how = {
                .flags = OPEN_DIR_FLAGS,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
        };
        const char *rel;
        int k;

        k = cgroup_path_validate(cgroup);
        if (k < 0)
                return k;

        rel = streq(cgroup, "/") ? "." : cgroup + 1;

        /* openat2() gives EAGAIN when a concurrent rename might have let the
         * lookup escape; that is rare, so retry a few times. */
        for (int attempt = 0; attempt < 8; attempt++) {
                long fd = syscall(SYS_openat2, r->fd, rel, &how, sizeof(how));
                if (fd >= 0)
                        return (int) fd;
                if (errno == EAGAIN)
                        continue;
                /* Before 5.6 there is no openat2(); seccomp filters that
                 * predate it answer EPERM instead of ENOSYS. */
                if (errno == ENOSYS || errno == EPERM)
                        return memcg_open_walk(r->fd, cgroup);
                return -errno;
        }
        return -EAGAIN;
}

/* ---- desired vs. current ---- */

ApplyState memcg_plan_knob(bool want, uint64_t desired, int read_error, uint64_t current) {
        if (!want)
                return APPLY_UNSET;
        if (read_error == -ENOENT)
                return APPLY_UNSUPPORTED;
        if (read_error < 0)
                return APPLY_FAILED;
        if (current == desired)
                return APPLY_IN_PLACE;
        return APPLY_WRITTEN;
}

/* Every cgroup, root included, on v1 and v2, has cgroup.procs. */
bool memcg_is_removed(int dirfd) {
        struct stat st;

        return fstatat(dirfd, "cgroup.procs", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* Read, write only if different, read back. Returns 0 or why it failed;
 * *current holds the last value read: what is in force now, also after a
 * refused write. */
static int apply_knob(int dirfd, const char *file, uint64_t desired, ApplyState *state, uint64_t *current) {
        int r;

        r = memcg_read_u64(dirfd, file, current);
        /* A knob's file is missing either because the kernel lacks the
         * feature or because the cgroup went away under us; only the first
         * is "unsupported". */
        if (r == -ENOENT && memcg_is_removed(dirfd))
                return -ENOENT;

        *state = memcg_plan_knob(true, desired, r, *current);
        if (*state == APPLY_FAILED)
                return r;
        if (*state != APPLY_WRITTEN)
                return 0;

        r = memcg_write_u64(dirfd, file, desired);
        if (r < 0)
                return r;
        r = memcg_read_u64(dirfd, file, current);
        if (r < 0)
                return r;
        return *current == desired ? 0 : -EIO;
}

void memcg_apply(int dirfd, const MemcgDesired *d, MemcgApplied *ret) {
        *ret = (MemcgApplied) {};

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                int r;

                if (!d->want[k])
                        continue;
                r = apply_knob(dirfd, memcg_knob_file(k), d->value[k], &ret->state[k], &ret->current[k]);
                if (r < 0) {
                        ret->state[k] = APPLY_FAILED;
                        ret->error[k] = r;
                }
        }
}

/* ---- the watermarks ---- */

/* floor(x * n / d) without overflow for n <= d, the way the kernel's
 * mult_frac() splits it: (q*d + r) * n / d == q*n + r*n/d exactly. */
static uint64_t mul_frac(uint64_t x, uint64_t n, uint64_t d) {
        return (x / d) * n + (x % d) * n / d;
}

void memcg_watermarks(uint64_t limit, unsigned ratio, unsigned scale_factor, uint64_t page_size,
                      uint64_t *ret_high, uint64_t *ret_low) {
        const uint64_t page = page_size;
        uint64_t high, low, gap, pages;

        if (ratio == 0 || limit == MEMCG_UNLIMITED || page == 0) {
                high = low = MEMCG_UNLIMITED;
        } else {
                /* In whole pages, as the kernel keeps its page counters: the
                 * values are the ones a patched kernel prints in
                 * memory.wmark_high/low. The kernel refuses ratio > 100 and
                 * scale factors > 1000; clamping keeps mul_frac() within its
                 * n <= d bound. */
                pages = limit / page;
                high = mul_frac(pages, ratio < 100 ? ratio : 100, 100);
                gap = mul_frac(pages, scale_factor < 10000 ? scale_factor : 10000, 10000);
                /* A gap wider than wmark_high (e.g. ratio 1, factor 1000)
                 * puts wmark_low at 0: reclaim everything it can. */
                low = gap < high ? high - gap : 0;
                high *= page;
                low *= page;
        }

        if (ret_high)
                *ret_high = high;
        if (ret_low)
                *ret_low = low;
}

/* ---- for memqosd's own reclaim and kill ---- */

int memcg_parse_stat(MemcgLayout layout, const char *text, MemcgStat *ret) {
        /* v1's memory.stat has the cgroup's own counters and hierarchical
         * total_* ones; v2's are hierarchical already. */
        static const char *const v1_file[] = { "total_inactive_file", "total_active_file", NULL };
        static const char *const v1_anon[] = { "total_rss", "total_shmem", NULL };
        static const char *const v2_file[] = { "inactive_file", "active_file", NULL };
        static const char *const v2_anon[] = { "anon", "shmem", NULL };
        static const char *const v1_dirty[] = { "total_dirty", "total_writeback", NULL };
        static const char *const v2_dirty[] = { "file_dirty", "file_writeback", NULL };
        const char *const *file_keys = layout == MEMCG_LAYOUT_V1 ? v1_file : v2_file;
        const char *const *anon_keys = layout == MEMCG_LAYOUT_V1 ? v1_anon : v2_anon;
        const char *const *dirty_keys = layout == MEMCG_LAYOUT_V1 ? v1_dirty : v2_dirty;
        MemcgStat s = {};

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n'), *sp = memchr(p, ' ', (size_t) (eol - p));
                char key[64], value[32];
                uint64_t v;

                if (eol == p) {
                        p = *eol ? eol + 1 : eol;
                        continue;
                }
                if (!sp || (size_t) (sp - p) >= sizeof(key) || (size_t) (eol - sp - 1) >= sizeof(value) ||
                    eol - sp - 1 == 0)
                        return -EINVAL;
                memcpy(key, p, (size_t) (sp - p));
                key[sp - p] = 0;
                memcpy(value, sp + 1, (size_t) (eol - sp - 1));
                value[eol - sp - 1] = 0;
                if (memcg_parse_u64(value, &v) < 0)
                        return -EINVAL;

                /* Saturating: a value at the page-counter maximum reads as
                 * MEMCG_UNLIMITED, and a wrapped sum would say "nothing". */
                for (const char *const *k = file_keys; *k; k++)
                        if (streq(key, *k))
                                s.file = v > UINT64_MAX - s.file ? UINT64_MAX : s.file + v;
                for (const char *const *k = anon_keys; *k; k++)
                        if (streq(key, *k))
                                s.anon = v > UINT64_MAX - s.anon ? UINT64_MAX : s.anon + v;
                for (const char *const *k = dirty_keys; *k; k++)
                        if (streq(key, *k))
                                s.dirty = v > UINT64_MAX - s.dirty ? UINT64_MAX : s.dirty + v;
                p = *eol ? eol + 1 : eol;
        }
        *ret = s;
        return 0;
}

int memcg_read_stat(const MemcgRoot *r, int dirfd, MemcgStat *ret) {
        char buf[8192];
        int k = memcg_read_small_file(dirfd, "memory.stat", buf, sizeof(buf));
        if (k < 0)
                return k;
        return memcg_parse_stat(r->layout, buf, ret);
}

int memcg_read_protection(const MemcgRoot *r, int dirfd, uint64_t *ret) {
        uint64_t min = 0, low = 0;

        *ret = 0;
        if (r->layout == MEMCG_LAYOUT_V1)
                return 0;
        /* The root has neither file; that is no protection, not an error. */
        if (memcg_read_u64(dirfd, "memory.min", &min) < 0)
                min = 0;
        if (memcg_read_u64(dirfd, "memory.low", &low) < 0)
                low = 0;
        *ret = min > low ? min : low;
        return 0;
}

int memcg_reclaim(const MemcgRoot *r, int dirfd, uint64_t bytes) {
        if (r->layout == MEMCG_LAYOUT_V1)
                return -EOPNOTSUPP;
        return memcg_write_u64(dirfd, "memory.reclaim", bytes);
}

int memcg_parse_procs(FILE *f, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0, allocated = 0;
        long v;

        while (fscanf(f, "%ld", &v) == 1) {
                if (v <= 0 || v > INT_MAX)
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        pid_t *p = reallocarray(pids, a, sizeof(pid_t));
                        if (!p)
                                return -ENOMEM;
                        pids = p;
                        allocated = a;
                }
                pids[n++] = (pid_t) v;
        }
        if (ferror(f))
                return -EIO;
        *ret = TAKE_PTR(pids);
        *ret_n = n;
        return 0;
}

int memcg_read_procs(int dirfd, pid_t **ret, size_t *ret_n) {
        _cleanup_(closep) int fd = -1;
        _cleanup_fclose_ FILE *f = NULL;

        fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        fd = -1;
        return memcg_parse_procs(f, ret, ret_n);
}

int memcg_kill_all(int dirfd) {
        return memcg_write_u64(dirfd, "cgroup.kill", 1);
}

bool memcg_oom_group(const MemcgRoot *r, int dirfd) {
        uint64_t v;
        return r->layout == MEMCG_LAYOUT_V2 && memcg_read_u64(dirfd, "memory.oom.group", &v) >= 0 && v == 1;
}

int memcg_list_children(int dirfd, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0, allocated = 0;
        int fd;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int e = -errno;
                close(fd);
                return e;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (n + 1 >= allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        char **p = reallocarray(names, a, sizeof(char *));
                        if (!p)
                                return -ENOMEM;
                        names = p;
                        allocated = a;
                }
                names[n] = strdup(de->d_name);
                if (!names[n])
                        return -ENOMEM;
                names[++n] = NULL;
        }
        if (!names) {
                names = calloc(1, sizeof(char *));
                if (!names)
                        return -ENOMEM;
        }
        qsort(names, n, sizeof(char *), strcmp_ptr);
        *ret = TAKE_PTR(names);
        return 0;
}
