/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memcg.c against this machine's real cgroup v1 memory controller: layout
 * detection, confined opening, limits and usage, the apply on a stock kernel
 * (no patched files), and a cgroup that vanishes under us. Needs root. */

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include <cmocka.h>

#include "basic/util.h"
#include "cgroup/memcg.h"
#include "cgtest.h"

#define MiB (UINT64_C(1) << 20)

typedef struct Host {
        char *path;       /* /sys/fs/cgroup/memory/memqos-test-<pid>-caseN */
        MemcgRoot *root;
        int fd;           /* memcg_open() of path */
} Host;

static int host_setup(void **state) {
        static unsigned n = 0;
        char name[32];
        Host *h = calloc(1, sizeof(Host));

        if (!h)
                return -1;
        snprintf(name, sizeof(name), "case%u", n++);
        h->fd = -1;
        h->path = cgtest_create(name);
        if (!h->path || memcg_root_detect(CGTEST_SYSFS_CGROUP, &h->root) < 0)
                return -1;
        h->fd = memcg_open(h->root, cgtest_cgroup(h->path));
        if (h->fd < 0)
                return -1;
        *state = h;
        return 0;
}

static int host_teardown(void **state) {
        Host *h = *state;
        int r;

        closep(&h->fd);
        memcg_root_free(h->root);
        r = cgtest_remove_recursive(h->path);
        free(h);
        return r < 0 ? -1 : 0;
}

static char *child_cgroup(const Host *h, const char *suffix) {
        char *s;

        assert_true(asprintf(&s, "%s%s", cgtest_cgroup(h->path), suffix) > 0);
        return s;
}

static void assert_same_dir(int fd, const char *path) {
        struct stat a, b;

        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(stat(path, &b), 0);
        assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

/* ---- detection ---- */

/* From /proc/self/mountinfo, independently of memcg.c: is there a cgroup
 * (v1) mount at mount_point whose super options include the controller? */
static bool mountinfo_has_v1_controller(const char *mount_point, const char *controller) {
        _cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_(freep) char *line = NULL;
        size_t size = 0;

        assert_non_null(f);
        while (getline(&line, &size, f) > 0) {
                char mp[4096], fstype[64], opts[4096];
                const char *sep = strstr(line, " - ");

                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
                    sscanf(sep + 3, "%63s %*s %4095s", fstype, opts) != 2)
                        continue;
                if (!streq(mp, mount_point) || !streq(fstype, "cgroup"))
                        continue;
                for (char *o = strtok(opts, ","); o; o = strtok(NULL, ","))
                        if (streq(o, controller))
                                return true;
        }
        return false;
}

static void test_detect_finds_v1_memory_hierarchy(void **state) {
        MemcgRoot *r = NULL;

        assert_true(mountinfo_has_v1_controller(CGTEST_V1_ROOT, "memory"));

        assert_int_equal(memcg_root_detect(CGTEST_SYSFS_CGROUP, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V1);
        assert_string_equal(r->path, CGTEST_V1_ROOT);
        assert_same_dir(r->fd, CGTEST_V1_ROOT);
        memcg_root_free(r);

        assert_int_equal(memcg_root_open(CGTEST_V1_ROOT "/", &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V1);
        assert_string_equal(r->path, CGTEST_V1_ROOT);
        memcg_root_free(r);
}

static void test_hierarchies_without_memcg_are_refused(void **state) {
        MemcgRoot *r = NULL;
        struct statfs sfs;
        unsigned checked = 0;

        /* Another v1 hierarchy (cpu, pids, ...): cgroupfs, but no memcg. */
        for (const char *const *h = (const char *const[]) { "cpu", "pids", "devices", "freezer", NULL }; *h; h++) {
                _cleanup_(freep) char *p = NULL;

                assert_true(asprintf(&p, "%s/%s", CGTEST_SYSFS_CGROUP, *h) > 0);
                if (!mountinfo_has_v1_controller(p, *h))
                        continue;
                assert_int_equal(memcg_root_open(p, &r), -ENOMEDIUM);
                checked++;
        }

        /* Hybrid's unified hierarchy, which holds no controller here. */
        if (statfs(CGTEST_SYSFS_CGROUP "/unified", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
                _cleanup_(freep) char *c = cgtest_read(CGTEST_SYSFS_CGROUP "/unified", "cgroup.controllers");

                assert_non_null(c);
                if (!strstr(c, "memory")) {
                        assert_int_equal(memcg_root_open(CGTEST_SYSFS_CGROUP "/unified", &r), -ENOMEDIUM);
                        checked++;
                }
        }

        /* The tmpfs that holds the mounts is no hierarchy at all. */
        assert_int_equal(statfs(CGTEST_SYSFS_CGROUP, &sfs), 0);
        if (sfs.f_type == TMPFS_MAGIC) {
                assert_int_equal(memcg_root_open(CGTEST_SYSFS_CGROUP, &r), -ENOMEDIUM);
                checked++;
        }

        assert_true(checked > 0);
}

/* ---- opening ---- */

static void test_open_finds_cgroups_and_refuses_escapes(void **state) {
        Host *h = *state;
        _cleanup_(freep) char *child = cgtest_create_child(h->path, "child");
        _cleanup_(freep) char *link = NULL;
        _cleanup_(freep) char *up = child_cgroup(h, "/..");
        _cleanup_(freep) char *up2 = child_cgroup(h, "/child/../..");
        _cleanup_(freep) char *missing = child_cgroup(h, "/missing");
        _cleanup_(freep) char *file = child_cgroup(h, "/memory.limit_in_bytes");
        int fd;

        assert_non_null(child);
        assert_same_dir(h->fd, h->path);

        fd = memcg_open(h->root, cgtest_cgroup(child));
        assert_true(fd >= 0);
        assert_same_dir(fd, child);
        close(fd);

        fd = memcg_open_walk(h->root->fd, cgtest_cgroup(child));
        assert_true(fd >= 0);
        assert_same_dir(fd, child);
        close(fd);

        fd = memcg_open(h->root, "/");
        assert_true(fd >= 0);
        assert_same_dir(fd, CGTEST_V1_ROOT);
        close(fd);

        assert_int_equal(memcg_open(h->root, up), -EINVAL);
        assert_int_equal(memcg_open(h->root, up2), -EINVAL);
        assert_int_equal(memcg_open(h->root, "/.."), -EINVAL);
        assert_int_equal(memcg_open(h->root, "/../../../etc"), -EINVAL);
        assert_int_equal(memcg_open(h->root, cgtest_cgroup(h->path) + 1), -EINVAL);
        assert_int_equal(memcg_open(h->root, missing), -ENOENT);
        assert_int_equal(memcg_open(h->root, file), -ENOTDIR);
        assert_int_equal(memcg_open_walk(h->root->fd, missing), -ENOENT);
        assert_int_equal(memcg_open_walk(h->root->fd, file), -ENOTDIR);

        /* cgroupfs itself cannot hold a symlink: the symlink case is the
         * tmpfs test below. */
        assert_true(asprintf(&link, "%s/link", h->path) > 0);
        assert_true(symlink("/", link) < 0);
        assert_false(cgtest_has_file(h->path, "link"));
}

typedef struct Fixture {
        char dir[64];
        bool mounted;
} Fixture;

static int tmpfs_setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        if (!f)
                return -1;
        *state = f;
        strcpy(f->dir, "/tmp/memqos-host-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        if (mount("tmpfs", f->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") < 0)
                return -1;
        f->mounted = true;
        return 0;
}

static int tmpfs_teardown(void **state) {
        Fixture *f = *state;
        int r = 0;

        if (f->mounted && umount2(f->dir, MNT_DETACH) < 0)
                r = -1;
        if (rmdir(f->dir) < 0)
                r = -1;
        free(f);
        return r;
}

static void fixture_file(const char *dir, const char *name, const char *content) {
        _cleanup_(freep) char *p = NULL;
        _cleanup_(fclosep) FILE *f = NULL;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        f = fopen(p, "we");
        assert_non_null(f);
        assert_true(fputs(content, f) >= 0);
}

static void fixture_symlink(const char *dir, const char *target, const char *name) {
        _cleanup_(freep) char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        assert_int_equal(symlink(target, p), 0);
}

static void test_open_refuses_symlinks_planted_on_tmpfs(void **state) {
        Fixture *f = *state;
        _cleanup_(freep) char *a = NULL;
        MemcgRoot *r = NULL;
        int fd;

        /* A stand-in hierarchy on a real tmpfs, with links that point back
         * into the real memory hierarchy and up out of the root. */
        fixture_file(f->dir, "memory.limit_in_bytes", "9223372036854771712\n");
        assert_true(asprintf(&a, "%s/a", f->dir) > 0);
        assert_int_equal(mkdir(a, 0755), 0);
        fixture_file(a, "cgroup.procs", "");
        fixture_symlink(a, CGTEST_V1_ROOT, "real");
        fixture_symlink(a, "../..", "up");
        fixture_symlink(f->dir, "a", "alias");

        assert_int_equal(memcg_root_open(f->dir, &r), 0);
        assert_int_equal(r->layout, MEMCG_LAYOUT_V1);

        fd = memcg_open(r, "/a");
        assert_true(fd >= 0);
        assert_same_dir(fd, a);
        close(fd);

        for (const char *const *p = (const char *const[]) { "/a/real", "/a/up", "/alias", "/alias/real", NULL }; *p; p++) {
                assert_int_equal(memcg_open(r, *p), -ELOOP);
                assert_int_equal(memcg_open_walk(r->fd, *p), -ELOOP);
        }

        memcg_root_free(r);
}

/* ---- limits, usage and plain files ---- */

static void test_limit_follows_limit_in_bytes(void **state) {
        Host *h = *state;
        _cleanup_(freep) char *raw = NULL;
        uint64_t limit, page = (uint64_t) sysconf(_SC_PAGESIZE);

        assert_int_equal(memcg_read_limit(h->root, h->fd, &limit), 0);
        assert_true(limit == MEMCG_UNLIMITED);

        assert_int_equal(memcg_write_u64(h->fd, "memory.limit_in_bytes", 64 * MiB), 0);
        assert_int_equal(memcg_read_limit(h->root, h->fd, &limit), 0);
        assert_true(limit == 64 * MiB);
        raw = cgtest_read(h->path, "memory.limit_in_bytes");
        assert_string_equal(raw, "67108864\n");

        /* the kernel keeps whole pages, rounding down */
        assert_int_equal(memcg_write_u64(h->fd, "memory.limit_in_bytes", 64 * MiB + page + 100), 0);
        assert_int_equal(memcg_read_limit(h->root, h->fd, &limit), 0);
        assert_true(limit == 64 * MiB + page);

        /* unlimited goes in as "-1" and comes out as the page-counter maximum */
        assert_int_equal(memcg_write_u64(h->fd, "memory.limit_in_bytes", MEMCG_UNLIMITED), 0);
        assert_int_equal(memcg_read_limit(h->root, h->fd, &limit), 0);
        assert_true(limit == MEMCG_UNLIMITED);
        free(raw);
        raw = cgtest_read(h->path, "memory.limit_in_bytes");
        assert_true(strtoull(raw, NULL, 10) == (uint64_t) LONG_MAX / page * page);
}

static bool have_swap(void) {
        _cleanup_(freep) char *s = cgtest_read("/proc", "swaps");

        assert_non_null(s);
        return strchr(s, '\n') && strchr(s, '\n')[1] != 0; /* more than the header */
}

static void test_usage_counts_a_workload_and_limit_below_it_is_ebusy(void **state) {
        Host *h = *state;
        uint64_t usage, limit;
        pid_t pid;

        assert_int_equal(memcg_write_u64(h->fd, "memory.limit_in_bytes", 64 * MiB), 0);
        assert_int_equal(memcg_read_usage(h->root, h->fd, &usage), 0);
        assert_true(usage < 32 * MiB);

        pid = cgtest_spawn_hog(h->path, 32 * MiB);
        assert_true(pid > 0);
        assert_int_equal(cgtest_wait_u64_at_least(h->path, "memory.usage_in_bytes", 32 * MiB, 10000), 0);
        assert_int_equal(memcg_read_usage(h->root, h->fd, &usage), 0);
        assert_true(usage >= 32 * MiB && usage <= 64 * MiB);

        if (!have_swap()) {
                /* Anonymous memory with nowhere to go: the kernel refuses
                 * the lower limit, and memcg hands on its errno. It never
                 * OOM-kills for this. */
                assert_int_equal(memcg_write_u64(h->fd, "memory.limit_in_bytes", 16 * MiB), -EBUSY);
                assert_int_equal(memcg_read_limit(h->root, h->fd, &limit), 0);
                assert_true(limit == 64 * MiB);
                assert_int_equal(kill(pid, 0), 0);
        }
        /* the teardown kills the workload */
}

static void test_real_files_round_trip_and_kernel_errors_pass_through(void **state) {
        Host *h = *state;
        _cleanup_(freep) char *oom = NULL;
        uint64_t v;

        assert_int_equal(memcg_write_u64(h->fd, "memory.swappiness", 10), 0);
        assert_int_equal(memcg_read_u64(h->fd, "memory.swappiness", &v), 0);
        assert_true(v == 10);
        assert_int_equal(memcg_write_u64(h->fd, "memory.swappiness", 1000), -EINVAL);
        assert_int_equal(memcg_read_u64(h->fd, "memory.swappiness", &v), 0);
        assert_true(v == 10);

        assert_int_equal(memcg_read_u64(h->fd, "memory.soft_limit_in_bytes", &v), 0);
        assert_true(v == MEMCG_UNLIMITED);
        assert_int_equal(memcg_write_u64(h->fd, "memory.soft_limit_in_bytes", 32 * MiB), 0);
        assert_int_equal(memcg_read_u64(h->fd, "memory.soft_limit_in_bytes", &v), 0);
        assert_true(v == 32 * MiB);

        /* memory.oom_control takes a number but reads as several lines:
         * not an integer file, and memcg says so rather than guessing */
        assert_int_equal(memcg_write_u64(h->fd, "memory.oom_control", 1), 0);
        oom = cgtest_read(h->path, "memory.oom_control");
        assert_non_null(oom);
        assert_non_null(strstr(oom, "oom_kill_disable 1\n"));
        assert_int_equal(memcg_read_u64(h->fd, "memory.oom_control", &v), -EBADMSG);
}

/* ---- apply ---- */

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The directory's entries, sorted, one per line. */
static char *list_dir(const char *path) {
        _cleanup_(closedirp) DIR *d = opendir(path);
        char *names[256], *out = NULL;
        size_t n = 0, size = 0;
        FILE *f;
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                assert_true(n < ELEMENTSOF(names));
                names[n++] = de->d_name;
        }
        qsort(names, n, sizeof(char *), cmp_str);

        f = open_memstream(&out, &size);
        assert_non_null(f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", names[i]);
        assert_int_equal(fclose(f), 0);
        return out;
}

static void test_apply_on_stock_kernel_is_unsupported_and_creates_nothing(void **state) {
        Host *h = *state;
        _cleanup_(freep) char *before = list_dir(h->path), *after = NULL;
        MemcgDesired d = {
                .want = { true, true, true, true },
                .value = { 2, 1, 80, 100 },
        };
        bool had[_MEMCG_KNOB_MAX];
        MemcgApplied a;

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                had[k] = cgtest_has_file(h->path, memcg_knob_file(k));

        memcg_apply(h->fd, &d, &a);

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (had[k]) {
                        /* a patched kernel: the value must be there now */
                        assert_true(a.state[k] == APPLY_WRITTEN || a.state[k] == APPLY_IN_PLACE);
                        assert_true(a.current[k] == d.value[k]);
                } else {
                        print_message("%s: %s\n", memcg_knob_file(k), apply_state_to_string(a.state[k]));
                        assert_int_equal(a.state[k], APPLY_UNSUPPORTED);
                        assert_false(cgtest_has_file(h->path, memcg_knob_file(k)));
                        assert_int_equal(memcg_write_u64(h->fd, memcg_knob_file(k), d.value[k]), -ENOENT);
                }
        }

        after = list_dir(h->path);
        assert_string_equal(before, after);
}

static void test_apply_to_cgroup_removed_after_open_fails_cleanly(void **state) {
        Host *h = *state;
        _cleanup_(freep) char *child = cgtest_create_child(h->path, "gone");
        _cleanup_(closep) int fd = -1;
        MemcgDesired d = {
                .want = { true, true, true, true },
                .value = { 2, 1, 80, 100 },
        };
        MemcgApplied a;
        uint64_t v;

        assert_non_null(child);
        fd = memcg_open(h->root, cgtest_cgroup(child));
        assert_true(fd >= 0);
        assert_int_equal(rmdir(child), 0);

        memcg_apply(fd, &d, &a);
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                assert_int_equal(a.state[k], APPLY_FAILED);
                assert_int_equal(a.error[k], -ENOENT);
        }

        assert_true(memcg_read_limit(h->root, fd, &v) < 0);
        assert_true(memcg_read_usage(h->root, fd, &v) < 0);
        assert_true(memcg_write_u64(fd, "memory.limit_in_bytes", 64 * MiB) < 0);
        assert_int_equal(memcg_open(h->root, cgtest_cgroup(child)), -ENOENT);
        assert_false(cgtest_has_file(h->path, "gone"));
}

/* memcg_apply() end to end through real kernel files: a stand-in cgroup on
 * tmpfs whose knob files are bind mounts of a test cgroup's real files.
 * memory.priority is memory.swappiness (0..200: takes the value and keeps
 * it), memory.wmark_scale_factor is memory.limit_in_bytes (the kernel keeps
 * whole pages, so a small value does not read back the same). */
typedef struct Both {
        void *host, *tmpfs;
        char *mounted[_MEMCG_KNOB_MAX]; /* bind mount targets, to unmount */
} Both;

static int both_setup(void **state) {
        Both *b = calloc(1, sizeof(Both));

        if (!b)
                return -1;
        *state = b;
        return host_setup(&b->host) < 0 || tmpfs_setup(&b->tmpfs) < 0 ? -1 : 0;
}

static int both_teardown(void **state) {
        Both *b = *state;
        int r = 0;

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (b->mounted[k] && umount2(b->mounted[k], MNT_DETACH) < 0)
                        r = -1;
                free(b->mounted[k]);
        }
        if (b->tmpfs && tmpfs_teardown(&b->tmpfs) < 0)
                r = -1;
        if (b->host && host_teardown(&b->host) < 0)
                r = -1;
        free(b);
        return r;
}

static void bind_knob(Both *b, MemcgKnob k, const char *real_file) {
        Host *h = b->host;
        Fixture *f = b->tmpfs;
        _cleanup_(freep) char *source = NULL;

        fixture_file(f->dir, memcg_knob_file(k), "");
        assert_true(asprintf(&b->mounted[k], "%s/%s", f->dir, memcg_knob_file(k)) > 0);
        assert_true(asprintf(&source, "%s/%s", h->path, real_file) > 0);
        assert_int_equal(mount(source, b->mounted[k], "none", MS_BIND, NULL), 0);
}

static void test_apply_through_real_kernel_files(void **state) {
        Both *b = *state;
        Host *h = b->host;
        Fixture *f = b->tmpfs;
        _cleanup_(freep) char *swappiness = NULL;
        _cleanup_(closep) int fd = -1;
        MemcgDesired d = {
                .want[MEMCG_PRIORITY] = true,
                .value[MEMCG_PRIORITY] = 7,
                .want[MEMCG_WMARK_SCALE_FACTOR] = true,
                .value[MEMCG_WMARK_SCALE_FACTOR] = 100, /* bytes: 0 pages */
        };
        MemcgApplied a;

        fixture_file(f->dir, "cgroup.procs", "");
        bind_knob(b, MEMCG_PRIORITY, "memory.swappiness");
        bind_knob(b, MEMCG_WMARK_SCALE_FACTOR, "memory.limit_in_bytes");
        fd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);

        memcg_apply(fd, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_WRITTEN);
        assert_true(a.current[MEMCG_PRIORITY] == 7);
        swappiness = cgtest_read(h->path, "memory.swappiness");
        assert_string_equal(swappiness, "7\n");
        assert_int_equal(a.state[MEMCG_WMARK_SCALE_FACTOR], APPLY_FAILED);
        assert_int_equal(a.error[MEMCG_WMARK_SCALE_FACTOR], -EIO);
        assert_true(a.current[MEMCG_WMARK_SCALE_FACTOR] == 0);
        assert_int_equal(a.state[MEMCG_USE_PRIORITY_OOM], APPLY_UNSET);
        assert_int_equal(a.state[MEMCG_WMARK_RATIO], APPLY_UNSET);

        /* the kernel's own refusal is a failure with its errno */
        d.value[MEMCG_PRIORITY] = 1000;
        memcg_apply(fd, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_FAILED);
        assert_int_equal(a.error[MEMCG_PRIORITY], -EINVAL);
        assert_true(a.current[MEMCG_PRIORITY] == 7); /* what was there */

        d.value[MEMCG_PRIORITY] = 7;
        memcg_apply(fd, &d, &a);
        assert_int_equal(a.state[MEMCG_PRIORITY], APPLY_IN_PLACE);
}

/* ---- the helpers other host tests rely on ---- */

static void test_cgtest_removes_populated_nested_tree(void **state) {
        _cleanup_(freep) char *top_copy = NULL;
        char *top = cgtest_create("nested");
        char *mid, *leaf;
        pid_t pid;

        assert_non_null(top);
        top_copy = strdup(top);
        mid = cgtest_create_child(top, "mid");
        assert_non_null(mid);
        leaf = cgtest_create_child(mid, "leaf");
        assert_non_null(leaf);

        pid = cgtest_spawn_hog(leaf, 4 * MiB);
        assert_true(pid > 0);
        assert_int_equal(cgtest_wait_u64_at_least(leaf, "memory.usage_in_bytes", 4 * MiB, 10000), 0);
        free(leaf);
        free(mid);

        assert_int_equal(cgtest_remove_recursive(top), 0);
        assert_int_equal(access(top_copy, F_OK), -1);
        assert_int_equal(kill(pid, 0), -1);

        /* and it refuses anything that is not a test cgroup */
        assert_int_equal(cgtest_remove_recursive(strdup(CGTEST_V1_ROOT)), -EPERM);
        assert_int_equal(cgtest_remove_recursive(strdup(CGTEST_V1_ROOT "/system.slice")), -EPERM);
        assert_int_equal(cgtest_remove_recursive(strdup(CGTEST_V1_ROOT "/" CGTEST_PREFIX "1/../x")), -EPERM);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_detect_finds_v1_memory_hierarchy),
                cmocka_unit_test(test_hierarchies_without_memcg_are_refused),
                cmocka_unit_test_setup_teardown(test_open_finds_cgroups_and_refuses_escapes, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_open_refuses_symlinks_planted_on_tmpfs, tmpfs_setup, tmpfs_teardown),
                cmocka_unit_test_setup_teardown(test_limit_follows_limit_in_bytes, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_usage_counts_a_workload_and_limit_below_it_is_ebusy, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_real_files_round_trip_and_kernel_errors_pass_through, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_apply_on_stock_kernel_is_unsupported_and_creates_nothing, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_apply_to_cgroup_removed_after_open_fails_cleanly, host_setup, host_teardown),
                cmocka_unit_test_setup_teardown(test_apply_through_real_kernel_files, both_setup, both_teardown),
                cmocka_unit_test(test_cgtest_removes_populated_nested_tree),
        };

        cgtest_run_workload(argc, argv);
        cgtest_require_v1_root();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
