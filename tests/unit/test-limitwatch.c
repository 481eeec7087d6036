/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* limitwatch.c on plain files (a write raises IN_MODIFY on any file system,
 * cgroupfs included): who is told, and that nothing is told while idle. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cgroup/limitwatch.h"

typedef struct Seen {
        unsigned n;
        LimitWatch **free_me; /* freed from within the callback */
} Seen;

static void on_written(void *userdata) {
        Seen *s = userdata;
        s->n++;
        if (s->free_me)
                *s->free_me = limit_watch_free(*s->free_me);
}

static void write_file(int dirfd, const char *name, const char *text) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
}

/* Runs the loop until nothing is pending (the inotify queue is read at once). */
static void run_pending(sd_event *e) {
        while (sd_event_run(e, 50 * 1000) > 0)
                ;
}

static int make_dir(char *tmpl, MemcgLayout layout) {
        int dirfd;

        assert_non_null(mkdtemp(tmpl));
        dirfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dirfd >= 0);
        if (layout == MEMCG_LAYOUT_V1)
                write_file(dirfd, "memory.limit_in_bytes", "9223372036854771712\n");
        else {
                write_file(dirfd, "memory.max", "max\n");
                write_file(dirfd, "memory.high", "max\n");
        }
        return dirfd;
}

static void remove_dir(const char *path, int dirfd) {
        (void) unlinkat(dirfd, "memory.limit_in_bytes", 0);
        (void) unlinkat(dirfd, "memory.max", 0);
        (void) unlinkat(dirfd, "memory.high", 0);
        close(dirfd);
        assert_int_equal(rmdir(path), 0);
}

static void test_a_limit_write_is_told_and_an_idle_cgroup_costs_nothing(void **state) {
        char path[] = "/tmp/memqos-test-limitwatch.XXXXXX";
        _cleanup_(limit_watcher_freep) LimitWatcher *w = NULL;
        LimitWatch *a = NULL, *b = NULL;
        Seen sa = {}, sb = {};
        sd_event *e = NULL;
        int dirfd = make_dir(path, MEMCG_LAYOUT_V1);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(limit_watcher_new(e, &w), 0);
        assert_int_equal(limit_watch_refresh(w, &a, dirfd, MEMCG_LAYOUT_V1, on_written, &sa), 0);
        /* a second follower of the same file: one inotify watch */
        assert_int_equal(limit_watch_refresh(w, &b, dirfd, MEMCG_LAYOUT_V1, on_written, &sb), 0);
        assert_int_equal(limit_watcher_n_watched(w), 1);

        /* idle: no wake-up at all */
        assert_int_equal(sd_event_run(e, 100 * 1000), 0);
        assert_int_equal(sa.n + sb.n, 0);

        write_file(dirfd, "memory.limit_in_bytes", "209715200\n");
        run_pending(e);
        assert_true(sa.n >= 1);
        assert_true(sb.n >= 1);

        /* refreshing on the same file keeps the watch as it is */
        LimitWatch *before = a;
        assert_int_equal(limit_watch_refresh(w, &a, dirfd, MEMCG_LAYOUT_V1, on_written, &sa), 0);
        assert_ptr_equal(a, before);

        /* one follower gone: the other is still told, the watch stays */
        b = limit_watch_free(b);
        assert_int_equal(limit_watcher_n_watched(w), 1);
        sa.n = sb.n = 0;
        write_file(dirfd, "memory.limit_in_bytes", "104857600\n");
        run_pending(e);
        assert_true(sa.n >= 1);
        assert_int_equal(sb.n, 0);

        /* a follower that frees itself from its callback */
        sa.free_me = &a;
        write_file(dirfd, "memory.limit_in_bytes", "52428800\n");
        run_pending(e);
        assert_null(a);
        assert_int_equal(limit_watcher_n_watched(w), 0);

        remove_dir(path, dirfd);
        w = limit_watcher_free(w);
        sd_event_unref(e);
}

static void test_v2_follows_max_and_high_and_a_missing_file_is_enoent(void **state) {
        char path[] = "/tmp/memqos-test-limitwatch.XXXXXX";
        _cleanup_(limit_watcher_freep) LimitWatcher *w = NULL;
        LimitWatch *a = NULL;
        Seen sa = {};
        sd_event *e = NULL;
        int dirfd = make_dir(path, MEMCG_LAYOUT_V2);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(limit_watcher_new(e, &w), 0);
        assert_int_equal(limit_watch_refresh(w, &a, dirfd, MEMCG_LAYOUT_V2, on_written, &sa), 0);
        assert_int_equal(limit_watcher_n_watched(w), 2);

        write_file(dirfd, "memory.high", "1000000\n");
        run_pending(e);
        assert_true(sa.n >= 1);
        sa.n = 0;
        write_file(dirfd, "memory.max", "2000000\n");
        run_pending(e);
        assert_true(sa.n >= 1);

        /* like the v2 root: no memory.max, nothing to follow */
        assert_int_equal(unlinkat(dirfd, "memory.max", 0), 0);
        assert_int_equal(limit_watch_refresh(w, &a, dirfd, MEMCG_LAYOUT_V2, on_written, &sa), -ENOENT);
        assert_null(a);
        assert_int_equal(limit_watcher_n_watched(w), 0);

        remove_dir(path, dirfd);
        w = limit_watcher_free(w);
        sd_event_unref(e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_a_limit_write_is_told_and_an_idle_cgroup_costs_nothing),
                cmocka_unit_test(test_v2_follows_max_and_high_and_a_missing_file_is_enoent),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
