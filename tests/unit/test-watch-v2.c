/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup v2 plumbing of the watch layer (sampling timer, inotify on
 * memory.events, OOM deltas, removal) against a directory that carries the
 * v2 files, written by the test. This machine has no v2 memory controller:
 * these prove the event wiring and the arithmetic; the guest tests (tests/vm)
 * prove it against a real v2 kernel. No root needed. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "../proc-fds.h"
#include "cgroup/memcg-watch.h"

typedef struct Fixture {
        char dir[64];
        char cg[96];
        MemcgRoot *root;
        sd_event *e;
        MemcgWatch *w;
        MemcgWatchEvent seen[16];
        size_t n;
} Fixture;

static void put(const char *dir, const char *file, const char *text) {
        char p[256];
        _cleanup_close_ int fd = -1;

        snprintf(p, sizeof(p), "%s/%s", dir, file);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
}

static void on_event(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata) {
        Fixture *f = userdata;

        assert_true(f->n < ELEMENTSOF(f->seen));
        f->seen[f->n++] = *ev;
}

static const MemcgWatchCallbacks callbacks = { .threshold = on_event, .oom = on_event, .removed = on_event };

static void run_for(Fixture *f, uint64_t usec) {
        uint64_t end = clock_usec(CLOCK_MONOTONIC) + usec;

        while (clock_usec(CLOCK_MONOTONIC) < end)
                assert_true(sd_event_run(f->e, 5 * 1000) >= 0);
}

static bool run_until(Fixture *f, size_t n, uint64_t timeout) {
        uint64_t end = clock_usec(CLOCK_MONOTONIC) + timeout;

        while (f->n < n && clock_usec(CLOCK_MONOTONIC) < end)
                assert_true(sd_event_run(f->e, 5 * 1000) >= 0);
        return f->n >= n;
}

static const char events_zero[] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/memqos-watch-v2-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->cg, sizeof(f->cg), "%s/a", f->dir);
        put(f->dir, "cgroup.controllers", "cpu io memory pids\n");
        assert_int_equal(mkdir(f->cg, 0755), 0);
        put(f->cg, "memory.current", "0\n");
        put(f->cg, "memory.high", "max\n");
        put(f->cg, "memory.max", "1000\n");
        put(f->cg, "memory.events", events_zero);
        put(f->cg, "memory.events.local", events_zero);

        assert_int_equal(memcg_root_open(f->dir, &f->root), 0);
        assert_int_equal(f->root->layout, MEMCG_LAYOUT_V2);
        assert_int_equal(sd_event_new(&f->e), 0);
        assert_int_equal(memcg_watch_new(f->e, f->root, "/a", &callbacks, f, &f->w), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        static const char *const files[] = { "memory.current", "memory.high", "memory.max",
                                             "memory.events", "memory.events.local" };
        char p[256];

        memcg_watch_free(f->w);
        sd_event_unref(f->e);
        memcg_root_free(f->root);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(p, sizeof(p), "%s/%s", f->cg, files[i]);
                (void) unlink(p);
        }
        (void) rmdir(f->cg);
        snprintf(p, sizeof(p), "%s/cgroup.controllers", f->dir);
        (void) unlink(p);
        (void) rmdir(f->dir);
        free(f);
        return 0;
}

static void test_without_thresholds_or_oom_a_watch_costs_nothing(void **state) {
        Fixture *f = *state;

        assert_int_equal(memcg_watch_n_fds(f->w), 1);
        /* Nothing is armed: the loop has nothing to dispatch. */
        assert_int_equal(sd_event_run(f->e, 0), 0);

        /* Thresholds bring the timer and inotify watches (in the instance
         * every watch shares: no fd of its own); dropping them takes the
         * timer away again. */
        assert_int_equal(memcg_watch_set_thresholds(f->w, (uint64_t[]) { 500 }, 1), 0);
        assert_int_equal(memcg_watch_n_fds(f->w), 1);
        assert_int_equal(memcg_watch_set_thresholds(f->w, NULL, 0), 0);
        run_for(f, 50 * 1000);
        assert_int_equal(f->n, 0);
}

static void test_sampling_reports_crossings_in_order(void **state) {
        Fixture *f = *state;

        assert_int_equal(memcg_watch_set_sample_interval(f->w, 20 * 1000), 0);
        assert_int_equal(memcg_watch_set_thresholds(f->w, (uint64_t[]) { 200, 100 }, 2), 0);
        run_for(f, 50 * 1000);
        assert_int_equal(f->n, 0);

        put(f->cg, "memory.current", "150\n");
        assert_true(run_until(f, 1, 500 * 1000));
        assert_int_equal(f->seen[0].type, MEMCG_WATCH_THRESHOLD);
        assert_int_equal(f->seen[0].threshold, 100);
        assert_int_equal(f->seen[0].direction, THRESHOLD_UP);
        assert_int_equal(f->seen[0].usage, 150);
        assert_int_equal(f->seen[0].limit, 1000);

        put(f->cg, "memory.current", "50\n");
        assert_true(run_until(f, 2, 500 * 1000));
        put(f->cg, "memory.current", "250\n");
        assert_true(run_until(f, 4, 500 * 1000));
        assert_int_equal(f->seen[1].threshold, 100);
        assert_int_equal(f->seen[1].direction, THRESHOLD_DOWN);
        assert_int_equal(f->seen[2].threshold, 100);
        assert_int_equal(f->seen[2].direction, THRESHOLD_UP);
        assert_int_equal(f->seen[3].threshold, 200);
        assert_int_equal(f->seen[3].direction, THRESHOLD_UP);

        /* Nothing changes: the timer keeps sampling but reports nothing. */
        run_for(f, 100 * 1000);
        assert_int_equal(f->n, 4);
}

static void test_memory_events_change_samples_at_once(void **state) {
        Fixture *f = *state;
        uint64_t start;

        /* A long interval: only the memory.events change can explain a
         * report within the test's deadline. */
        assert_int_equal(memcg_watch_set_sample_interval(f->w, 60 * 1000 * 1000), 0);
        assert_int_equal(memcg_watch_set_thresholds(f->w, (uint64_t[]) { 900 }, 1), 0);
        run_for(f, 20 * 1000);

        put(f->cg, "memory.current", "1000\n");
        run_for(f, 50 * 1000);
        assert_int_equal(f->n, 0);

        start = clock_usec(CLOCK_MONOTONIC);
        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 1\noom 0\noom_kill 0\noom_group_kill 0\n");
        assert_true(run_until(f, 1, 500 * 1000));
        assert_int_equal(f->seen[0].threshold, 900);
        assert_int_equal(f->seen[0].direction, THRESHOLD_UP);
        print_message("v2: memory.events change -> threshold callback %.3f ms\n",
                      (double) (clock_usec(CLOCK_MONOTONIC) - start) / 1000.0);
        /* OOM watching was not asked for: no OOM report for max. */
        assert_int_equal(f->n, 1);
}

static void test_oom_counters_are_reported_as_deltas(void **state) {
        Fixture *f = *state;

        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 0\n");
        assert_int_equal(memcg_watch_enable_oom(f->w), 0); /* that is the baseline */
        assert_int_equal(memcg_watch_n_fds(f->w), 1);
        run_for(f, 20 * 1000);
        assert_int_equal(f->n, 0);

        put(f->cg, "memory.events.local", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n");
        assert_true(run_until(f, 1, 500 * 1000));
        run_for(f, 30 * 1000);
        assert_int_equal(f->seen[0].type, MEMCG_WATCH_OOM);
        assert_int_equal(f->seen[0].oom_total.oom, 2);
        assert_int_equal(f->seen[0].oom_delta.oom, 1);
        assert_int_equal(f->seen[0].oom_delta.oom_kill, 1);
        assert_int_equal(f->seen[0].oom_delta.max, 3);
        assert_int_equal(f->seen[0].oom_local_delta.oom_kill, 1);
        /* Two inotify events, one report: the second found no new OOM. */
        assert_int_equal(f->n, 1);

        /* max alone is no OOM; it is carried into the next report. */
        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n");
        run_for(f, 50 * 1000);
        assert_int_equal(f->n, 1);
        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 8\noom 3\noom_kill 1\n");
        assert_true(run_until(f, 2, 500 * 1000));
        assert_int_equal(f->seen[1].oom_delta.oom, 1);
        assert_int_equal(f->seen[1].oom_delta.oom_kill, 0);
        assert_int_equal(f->seen[1].oom_delta.max, 3);
}

static void test_removal_releases_everything(void **state) {
        Fixture *f = *state;
        char p[256];

        assert_int_equal(memcg_watch_set_sample_interval(f->w, 20 * 1000), 0);
        assert_int_equal(memcg_watch_set_thresholds(f->w, (uint64_t[]) { 100 }, 1), 0);
        assert_int_equal(memcg_watch_enable_oom(f->w), 0);
        run_for(f, 30 * 1000);

        /* The cgroup's files go (kernfs deactivates them on rmdir). */
        snprintf(p, sizeof(p), "%s/memory.events", f->cg);
        assert_int_equal(unlink(p), 0);
        snprintf(p, sizeof(p), "%s/memory.current", f->cg);
        assert_int_equal(unlink(p), 0);
        assert_true(run_until(f, 1, 500 * 1000));
        assert_int_equal(f->seen[0].type, MEMCG_WATCH_REMOVED);
        assert_true(memcg_watch_is_removed(f->w));
        assert_int_equal(memcg_watch_n_fds(f->w), 0);
        assert_int_equal(memcg_watch_enable_oom(f->w), -ENODEV);
        assert_int_equal(memcg_watch_set_thresholds(f->w, (uint64_t[]) { 5 }, 1), -ENODEV);
        run_for(f, 50 * 1000);
        assert_int_equal(f->n, 1);
}

/* The inotify instances of this process (the kernel allows a user
 * fs.inotify.max_user_instances of them, 128 by default). */
static size_t count_inotify_instances(void) {
        ssize_t n = proc_self_fds_count("anon_inode:inotify", NULL);

        assert_true(n >= 0);
        return (size_t) n;
}

static void test_watches_share_one_inotify_instance(void **state) {
        enum { N = 300 }; /* more than the default max_user_instances */
        Fixture *f = *state;
        static MemcgWatch *w[N];
        Fixture other[N] = {};
        size_t before = count_inotify_instances();

        for (size_t i = 0; i < N; i++)
                assert_int_equal(memcg_watch_new(f->e, f->root, "/a", &callbacks, &other[i], &w[i]), 0);
        assert_int_equal(memcg_watch_enable_oom(f->w), 0);
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(memcg_watch_enable_oom(w[i]), 0);
                assert_int_equal(memcg_watch_n_fds(w[i]), 1);
        }
        assert_int_equal(count_inotify_instances(), before + 1);

        /* The watches of one cgroup share the kernel's wd: letting go of
         * all the others leaves f's watch hearing its OOMs. */
        for (size_t i = 0; i < N; i++)
                w[i] = memcg_watch_free(w[i]);
        put(f->cg, "memory.events", "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
        assert_true(run_until(f, 1, 500 * 1000));
        assert_int_equal(f->seen[0].type, MEMCG_WATCH_OOM);
        assert_int_equal(f->seen[0].oom_delta.oom_kill, 1);

        /* The last watch gone, the instance goes too. */
        f->w = memcg_watch_free(f->w);
        assert_int_equal(count_inotify_instances(), before);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_without_thresholds_or_oom_a_watch_costs_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sampling_reports_crossings_in_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_memory_events_change_samples_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oom_counters_are_reported_as_deltas, setup, teardown),
                cmocka_unit_test_setup_teardown(test_removal_releases_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_watches_share_one_inotify_instance, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
