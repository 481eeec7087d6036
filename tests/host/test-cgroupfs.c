/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup-watcher.c on this machine's real cgroup v1 memory hierarchy: cgroups made
 * before and after the start, at several depths, roots that appear later,
 * renames, removals releasing every inotify watch (counted by the kernel in
 * fdinfo), a burst of 2,000 mkdirs from another process, and a queue
 * overflow recovered by a full rescan. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "cgroup/cgroup-watcher.h"
#include "../proc-fds.h"
#include "basic/util.h"
#include "cgroup/memcg.h"
#include "cgtest.h"

static MemcgRoot *root;

/* What the watcher said, checked as it says it: never twice "appeared"
 * without "disappeared" in between, nor the other way round. */
typedef struct Seen {
        char *cgroup;
        bool present;
        unsigned appeared, disappeared;
        unsigned order; /* of the last appearance */
} Seen;

typedef struct Recorder {
        void *tree;
        size_t n_present;
        unsigned events;
        unsigned violations;
} Recorder;

static int seen_compare(const void *a, const void *b) {
        return strcmp(((const Seen *) a)->cgroup, ((const Seen *) b)->cgroup);
}

static Seen *recorder_get(Recorder *r, const char *cgroup) {
        Seen key = { .cgroup = (char *) cgroup };
        void *p = tfind(&key, &r->tree, seen_compare);
        return p ? *(Seen **) p : NULL;
}

static void on_cgroup(const char *cgroup, bool appeared, void *userdata) {
        Recorder *r = userdata;
        Seen *s = recorder_get(r, cgroup);

        if (getenv("CGFS_DEBUG"))
                fprintf(stderr, "%s %s\n", appeared ? "+" : "-", cgroup);
        if (!s) {
                s = calloc(1, sizeof(Seen));
                assert_non_null(s);
                s->cgroup = strdup(cgroup);
                assert_non_null(s->cgroup);
                assert_non_null(tsearch(s, &r->tree, seen_compare));
        }
        if (s->present == appeared) {
                fprintf(stderr, "%s reported %s twice\n", cgroup, appeared ? "appeared" : "disappeared");
                r->violations++;
        }
        s->present = appeared;
        if (appeared) {
                s->appeared++;
                s->order = r->events;
                r->n_present++;
        } else {
                s->disappeared++;
                r->n_present--;
        }
        r->events++;
}

static void seen_free(void *p) {
        Seen *s = p;
        free(s->cgroup);
        free(s);
}

static void recorder_done(Recorder *r) {
        tdestroy(r->tree, seen_free);
        *r = (Recorder) {};
}

static bool is_present(Recorder *r, const char *cgroup) {
        Seen *s = recorder_get(r, cgroup);
        return s && s->present;
}

/* Runs the loop until the recorder has n_present cgroups present and
 * nothing more comes for a moment; fails after timeout_ms. */
static void run_until_present(sd_event *e, Recorder *r, size_t n_present, unsigned timeout_ms) {
        uint64_t deadline = clock_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000;

        while (r->n_present != n_present) {
                if (clock_usec(CLOCK_MONOTONIC) >= deadline)
                        fprintf(stderr, "waiting for %zu, have %zu\n", n_present, r->n_present);
                assert_true(clock_usec(CLOCK_MONOTONIC) < deadline);
                assert_true(sd_event_run(e, 100 * 1000) >= 0);
        }
        /* anything else queued */
        while (sd_event_run(e, 20 * 1000) > 0)
                ;
        assert_int_equal(r->n_present, n_present);
}

/* The watches the kernel holds for the inotify instance fd. */
static size_t inotify_watches(const char *fd) {
        _cleanup_(fclosep) FILE *f = NULL;
        char info[320], line[512];
        size_t n = 0;

        snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", fd);
        f = fopen(info, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "inotify wd:", 11) == 0)
                        n++;
        return n;
}

/* The watches the kernel holds for this process's inotify instances. */
static size_t kernel_watches(void) {
        ssize_t n = proc_self_fds_count("anon_inode:inotify", inotify_watches);

        assert_true(n >= 0);
        return (size_t) n;
}

/* n: the cgroups known, plus the directories from the hierarchy's root
 * down to each root's parent (or nearest existing ancestor) */
static void assert_watches(const CgroupWatcher *w, size_t n) {
        assert_int_equal(cgroup_watcher_n_watched(w), n);
        assert_int_equal(kernel_watches(), n);
}

static char *sub(const char *base, const char *rel) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", base, rel) >= 0);
        return p;
}

static void make(const char *base, const char *rel) {
        _cleanup_free_ char *p = sub(base, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void unmake(const char *base, const char *rel) {
        _cleanup_free_ char *p = sub(base, rel);
        assert_int_equal(rmdir(p), 0);
}

/* cgroup path of base/rel, in a static buffer */
static const char *cg(const char *base, const char *rel) {
        static char buf[PATH_MAX];
        if (rel)
                snprintf(buf, sizeof(buf), "%s/%s", cgtest_cgroup(base), rel);
        else
                snprintf(buf, sizeof(buf), "%s", cgtest_cgroup(base));
        return buf;
}

typedef struct Fixture {
        char *top; /* the test's own cgroup, absolute path */
        sd_event *event;
        Recorder rec;
        CgroupWatcher *w;
} Fixture;

static int fixture_setup(void **state) {
        static unsigned counter;
        Fixture *f = calloc(1, sizeof(Fixture));
        char name[32];

        if (!f)
                return -1;
        snprintf(name, sizeof(name), "cgfs%u", counter++);
        f->top = cgtest_create(name);
        if (!f->top || sd_event_new(&f->event) < 0)
                return -1;
        *state = f;
        return 0;
}

static int fixture_teardown(void **state) {
        Fixture *f = *state;
        int r;

        cgroup_watcher_free(f->w);
        sd_event_unref(f->event);
        recorder_done(&f->rec);
        r = cgtest_remove_recursive(f->top);
        free(f);
        return r < 0 ? -1 : 0;
}

static void start(Fixture *f, const char *const *rels) {
        char *roots[8] = {};
        size_t i;

        for (i = 0; rels[i]; i++)
                roots[i] = strdup(rels[i][0] ? cg(f->top, rels[i]) : cg(f->top, NULL));
        assert_int_equal(cgroup_watcher_new(f->event, root, roots, on_cgroup, &f->rec, &f->w), 0);
        for (i = 0; roots[i]; i++)
                free(roots[i]);
}

static void test_groups_before_and_after_start_at_every_depth(void **state) {
        Fixture *f = *state;

        make(f->top, "a");
        make(f->top, "a/b");
        make(f->top, "a/b/c");
        start(f, (const char *[]) { "", NULL });

        /* the start's scan, parents first */
        assert_int_equal(f->rec.n_present, 4);
        assert_true(is_present(&f->rec, cg(f->top, NULL)));
        assert_true(recorder_get(&f->rec, cg(f->top, "a"))->order < recorder_get(&f->rec, cg(f->top, "a/b"))->order);
        assert_true(recorder_get(&f->rec, cg(f->top, "a/b"))->order < recorder_get(&f->rec, cg(f->top, "a/b/c"))->order);
        assert_watches(f->w, 4 + 1); /* and the hierarchy's root, for T's removal */

        /* made faster than the watcher runs: each level is read right after
         * its watch is added, so the ones below are found too */
        make(f->top, "d");
        make(f->top, "d/e");
        make(f->top, "d/e/f");
        make(f->top, "d/e/f/g");
        make(f->top, "a/b/c/h");
        run_until_present(f->event, &f->rec, 9, 5000);
        assert_true(is_present(&f->rec, cg(f->top, "d/e/f/g")));
        assert_true(is_present(&f->rec, cg(f->top, "a/b/c/h")));
        assert_watches(f->w, 9 + 1);

        /* one by one, with the loop running in between */
        make(f->top, "d/e/f/g/i");
        run_until_present(f->event, &f->rec, 10, 5000);
        assert_watches(f->w, 10 + 1);

        /* a rescan without changes says nothing */
        {
                unsigned events = f->rec.events;
                assert_int_equal(cgroup_watcher_rescan(f->w), 0);
                assert_int_equal(f->rec.events, events);
        }

        /* removal, deepest first as the kernel wants it */
        unmake(f->top, "d/e/f/g/i");
        unmake(f->top, "d/e/f/g");
        unmake(f->top, "d/e/f");
        unmake(f->top, "d/e");
        unmake(f->top, "d");
        unmake(f->top, "a/b/c/h");
        run_until_present(f->event, &f->rec, 4, 5000);
        assert_false(is_present(&f->rec, cg(f->top, "d")));
        assert_int_equal(recorder_get(&f->rec, cg(f->top, "d/e/f/g/i"))->disappeared, 1);
        assert_watches(f->w, 4 + 1);
        assert_int_equal(f->rec.violations, 0);
}

static void test_root_made_after_start_is_waited_for(void **state) {
        Fixture *f = *state;

        start(f, (const char *[]) { "later/deeper", NULL });
        assert_int_equal(f->rec.n_present, 0);
        assert_watches(f->w, 2); /* "/" and the test cgroup, waited in */

        make(f->top, "later");
        run_until_present(f->event, &f->rec, 0, 1000);
        assert_watches(f->w, 3); /* now "later" too */

        make(f->top, "later/deeper");
        make(f->top, "later/deeper/x");
        run_until_present(f->event, &f->rec, 2, 5000);
        assert_true(is_present(&f->rec, cg(f->top, "later/deeper")));
        assert_true(is_present(&f->rec, cg(f->top, "later/deeper/x")));
        assert_false(is_present(&f->rec, cg(f->top, "later")));
        assert_watches(f->w, 2 + 3); /* and the three above, for the root's removal */

        /* the root goes: waited for again, and comes back */
        unmake(f->top, "later/deeper/x");
        unmake(f->top, "later/deeper");
        run_until_present(f->event, &f->rec, 0, 5000);
        assert_watches(f->w, 3);
        unmake(f->top, "later");
        run_until_present(f->event, &f->rec, 0, 1000);
        assert_watches(f->w, 2);

        /* the whole chain at once */
        make(f->top, "later");
        make(f->top, "later/deeper");
        run_until_present(f->event, &f->rec, 1, 5000);
        assert_int_equal(recorder_get(&f->rec, cg(f->top, "later/deeper"))->appeared, 2);
        assert_watches(f->w, 1 + 3);
        assert_int_equal(f->rec.violations, 0);
}

static void test_rename_is_a_disappearance_and_an_appearance(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *from = sub(f->top, "old"), *to = sub(f->top, "new");

        make(f->top, "old");
        make(f->top, "old/child");
        start(f, (const char *[]) { "", NULL });
        assert_int_equal(f->rec.n_present, 3);

        assert_int_equal(rename(from, to), 0);
        run_until_present(f->event, &f->rec, 3, 5000);
        assert_false(is_present(&f->rec, cg(f->top, "old")));
        assert_false(is_present(&f->rec, cg(f->top, "old/child")));
        assert_true(is_present(&f->rec, cg(f->top, "new")));
        assert_true(is_present(&f->rec, cg(f->top, "new/child")));
        assert_watches(f->w, 3 + 1);

        /* a root renamed away, and back */
        {
                _cleanup_free_ char *away = sub(f->top, "new/away");
                _cleanup_free_ char *r = sub(f->top, "new/child");

                cgroup_watcher_free(f->w);
                recorder_done(&f->rec);
                f->w = NULL;
                start(f, (const char *[]) { "new/child", NULL });
                assert_int_equal(f->rec.n_present, 1);
                assert_watches(f->w, 1 + 3); /* "/", the test cgroup, "new" */
                assert_int_equal(rename(r, away), 0);
                run_until_present(f->event, &f->rec, 0, 5000);
                assert_watches(f->w, 3);
                assert_int_equal(rename(away, r), 0);
                run_until_present(f->event, &f->rec, 1, 5000);
                assert_watches(f->w, 1 + 3);
        }
        assert_int_equal(f->rec.violations, 0);
}

static void list_one(const char *cgroup, void *userdata) {
        on_cgroup(cgroup, true, userdata);
}

static void test_new_roots_report_only_the_difference(void **state) {
        Fixture *f = *state;
        char *roots[3] = {};
        unsigned events;

        make(f->top, "a");
        make(f->top, "a/x");
        make(f->top, "b");
        start(f, (const char *[]) { "a", NULL });
        assert_int_equal(f->rec.n_present, 2);

        /* widen to the whole test cgroup: a and a/x are not said again */
        roots[0] = strdup(cg(f->top, NULL));
        roots[1] = strdup(cg(f->top, "a")); /* nested: folded */
        events = f->rec.events;
        assert_int_equal(cgroup_watcher_set_roots(f->w, roots), 0);
        assert_int_equal(f->rec.n_present, 4);
        assert_int_equal(f->rec.events, events + 2);
        assert_int_equal(recorder_get(&f->rec, cg(f->top, "a"))->appeared, 1);
        assert_watches(f->w, 4 + 1);
        free(roots[0]);
        free(roots[1]);

        /* all of them, parents first */
        {
                Recorder listed = {};
                cgroup_watcher_foreach(f->w, list_one, &listed);
                assert_int_equal(listed.n_present, 4);
                assert_true(recorder_get(&listed, cg(f->top, NULL))->order <
                            recorder_get(&listed, cg(f->top, "a/x"))->order);
                assert_true(is_present(&listed, cg(f->top, "b")));
                recorder_done(&listed);
        }

        /* narrow to b: the rest leaves our sight */
        roots[0] = strdup(cg(f->top, "b"));
        roots[1] = NULL;
        assert_int_equal(cgroup_watcher_set_roots(f->w, roots), 0);
        assert_int_equal(f->rec.n_present, 1);
        assert_true(is_present(&f->rec, cg(f->top, "b")));
        assert_watches(f->w, 1 + 2);
        free(roots[0]);

        /* the watches follow the new tree only */
        make(f->top, "a/y");
        make(f->top, "b/z");
        run_until_present(f->event, &f->rec, 2, 5000);
        assert_false(is_present(&f->rec, cg(f->top, "a/y")));

        roots[0] = (char *) "relative";
        assert_int_equal(cgroup_watcher_set_roots(f->w, roots), -EINVAL);
        assert_int_equal(f->rec.violations, 0);
}

/* A child process makes parents x children directories as fast as it can,
 * and tells when its last mkdir started. */
static pid_t spawn_mkdir_burst(const char *top, unsigned parents, unsigned children, bool remove, int *ret_fd) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                uint64_t last = 0;
                char path[PATH_MAX];

                for (unsigned i = 0; i < parents; i++) {
                        if (!remove) {
                                snprintf(path, sizeof(path), "%s/p%u", top, i);
                                last = clock_usec(CLOCK_MONOTONIC);
                                if (mkdir(path, 0755) < 0)
                                        _exit(1);
                        }
                        for (unsigned j = 0; j < children; j++) {
                                snprintf(path, sizeof(path), "%s/p%u/c%u", top, i, j);
                                last = clock_usec(CLOCK_MONOTONIC);
                                if ((remove ? rmdir(path) : mkdir(path, 0755)) < 0)
                                        _exit(2);
                        }
                        if (remove) {
                                snprintf(path, sizeof(path), "%s/p%u", top, i);
                                last = clock_usec(CLOCK_MONOTONIC);
                                if (rmdir(path) < 0)
                                        _exit(3);
                        }
                }
                if (write(p[1], &last, sizeof(last)) != sizeof(last))
                        _exit(4);
                _exit(0);
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

static uint64_t burst_wait(pid_t pid, int fd) {
        uint64_t last;
        int status;

        assert_int_equal(read(fd, &last, sizeof(last)), sizeof(last));
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return last;
}

static void test_burst_of_2000_none_lost(void **state) {
        Fixture *f = *state;
        const unsigned parents = 20, children = 100, total = parents * (children + 1);
        uint64_t started, last, done;
        pid_t pid;
        int fd;

        start(f, (const char *[]) { "", NULL });
        assert_watches(f->w, 1 + 1);

        started = clock_usec(CLOCK_MONOTONIC);
        pid = spawn_mkdir_burst(f->top, parents, children, false, &fd);
        while (f->rec.n_present < 1 + total) {
                assert_true(clock_usec(CLOCK_MONOTONIC) < started + 120 * 1000000ULL);
                assert_true(sd_event_run(f->event, 100 * 1000) >= 0);
        }
        done = clock_usec(CLOCK_MONOTONIC);
        last = burst_wait(pid, fd);
        printf("# burst: %u cgroups made in %.1f ms; all reported %.1f ms after the last mkdir began\n", total,
               (last - started) / 1000.0, done > last ? (done - last) / 1000.0 : 0.0);
        run_until_present(f->event, &f->rec, 1 + total, 1000);
        assert_watches(f->w, 1 + total + 1);
        for (unsigned i = 0; i < parents; i++) {
                char rel[32];
                snprintf(rel, sizeof(rel), "p%u/c%u", i, children - 1);
                assert_true(is_present(&f->rec, cg(f->top, rel)));
        }

        started = clock_usec(CLOCK_MONOTONIC);
        pid = spawn_mkdir_burst(f->top, parents, children, true, &fd);
        while (f->rec.n_present > 1) {
                assert_true(clock_usec(CLOCK_MONOTONIC) < started + 120 * 1000000ULL);
                assert_true(sd_event_run(f->event, 100 * 1000) >= 0);
        }
        done = clock_usec(CLOCK_MONOTONIC);
        last = burst_wait(pid, fd);
        printf("# burst: %u cgroups removed in %.1f ms; all reported %.1f ms after the last rmdir began\n", total,
               (last - started) / 1000.0, done > last ? (done - last) / 1000.0 : 0.0);
        run_until_present(f->event, &f->rec, 1, 1000);
        assert_watches(f->w, 1 + 1);

        /* The same burst while the loop sleeps: the children are made
         * before their parents are watched, and found by reading them. */
        started = clock_usec(CLOCK_MONOTONIC);
        pid = spawn_mkdir_burst(f->top, parents, children, false, &fd);
        last = burst_wait(pid, fd);
        while (f->rec.n_present < 1 + total) {
                assert_true(clock_usec(CLOCK_MONOTONIC) < started + 120 * 1000000ULL);
                assert_true(sd_event_run(f->event, 100 * 1000) >= 0);
        }
        done = clock_usec(CLOCK_MONOTONIC);
        printf("# burst while not reading: %u cgroups made in %.1f ms; all reported %.1f ms after the last mkdir began\n",
               total, (last - started) / 1000.0, (done - last) / 1000.0);
        run_until_present(f->event, &f->rec, 1 + total, 1000);
        assert_watches(f->w, 1 + total + 1);
        pid = spawn_mkdir_burst(f->top, parents, children, true, &fd);
        (void) burst_wait(pid, fd);
        run_until_present(f->event, &f->rec, 1, 60000);
        assert_watches(f->w, 1 + 1);
        for (unsigned i = 0; i < parents; i++) {
                char rel[32];
                snprintf(rel, sizeof(rel), "p%u", i);
                assert_int_equal(recorder_get(&f->rec, cg(f->top, rel))->appeared, 2);
                assert_int_equal(recorder_get(&f->rec, cg(f->top, rel))->disappeared, 2);
        }
        assert_int_equal(f->rec.violations, 0);
}

static unsigned read_max_queued_events(void) {
        _cleanup_(fclosep) FILE *q = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
        unsigned v = 0;

        assert_non_null(q);
        assert_int_equal(fscanf(q, "%u", &v), 1);
        return v;
}

/* More events than the kernel queues while the loop does not run: the
 * overflow is noticed and a full rescan brings the picture back. */
static void test_queue_overflow_is_recovered_by_a_rescan(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *x = sub(f->top, "spin-a"), *y = sub(f->top, "spin-b");
        unsigned renames = read_max_queued_events() / 2 + 16;

        make(f->top, "gone");
        make(f->top, "gone/deep");
        make(f->top, "spin-a");
        start(f, (const char *[]) { "", NULL });
        assert_int_equal(f->rec.n_present, 4);

        /* two events per rename (IN_MOVED_FROM, IN_MOVED_TO), none read */
        for (unsigned i = 0; i < renames; i++)
                assert_int_equal(i % 2 ? rename(y, x) : rename(x, y), 0);
        unmake(f->top, "gone/deep");
        unmake(f->top, "gone");
        make(f->top, "fresh");
        make(f->top, "fresh/deep");

        run_until_present(f->event, &f->rec, 4, 10000);
        assert_false(is_present(&f->rec, cg(f->top, "gone/deep")));
        assert_true(is_present(&f->rec, cg(f->top, "fresh/deep")));
        assert_true(is_present(&f->rec, cg(f->top, renames % 2 ? "spin-b" : "spin-a")));
        assert_watches(f->w, 4 + 1);
        assert_int_equal(f->rec.violations, 0);
}

static int setup_root(void **state) {
        return memcg_root_open(CGTEST_V1_ROOT, &root) < 0 ? -1 : 0;
}

static int teardown_root(void **state) {
        memcg_root_free(root);
        return 0;
}

#define FIXTURE_TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                FIXTURE_TEST(test_groups_before_and_after_start_at_every_depth),
                FIXTURE_TEST(test_root_made_after_start_is_waited_for),
                FIXTURE_TEST(test_rename_is_a_disappearance_and_an_appearance),
                FIXTURE_TEST(test_new_roots_report_only_the_difference),
                FIXTURE_TEST(test_burst_of_2000_none_lost),
                FIXTURE_TEST(test_queue_overflow_is_recovered_by_a_rescan),
        };

        cgtest_run_workload(argc, argv);
        cgtest_require_v1_root();
        return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
