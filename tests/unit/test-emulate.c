/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decisions of memqosd's own reclaim and kill (src/emulate/plan.c), the
 * v1 squeeze records (src/emulate/squeeze.c), memory.stat parsing and the
 * backend choice of memqos.conf. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "emulate/plan.h"
#include "emulate/squeeze.h"
#include "memcg.h"
#include "policy.h"
#include "util.h"

#define M (UINT64_C(1024) * 1024)

/* parent (usage 300M)
 *   online   priority 10, 60M cache
 *   offline  priority 1, 120M cache
 *     batch-a  priority 2, 70M cache
 *     batch-b  priority 1, 50M cache */
static void tree(EmuNode n[5]) {
        n[0] = (EmuNode) { .cgroup = "/p", .parent = EMU_NO_PARENT, .usage = 300 * M, .file = 180 * M, .anon = 120 * M };
        n[1] = (EmuNode) { .cgroup = "/p/online", .parent = 0, .priority = 10, .usage = 100 * M, .file = 60 * M, .anon = 40 * M };
        n[2] = (EmuNode) { .cgroup = "/p/offline", .parent = 0, .priority = 1, .usage = 200 * M, .file = 120 * M, .anon = 80 * M };
        n[3] = (EmuNode) { .cgroup = "/p/offline/a", .parent = 2, .priority = 2, .usage = 110 * M, .file = 70 * M, .anon = 40 * M };
        n[4] = (EmuNode) { .cgroup = "/p/offline/b", .parent = 2, .priority = 1, .usage = 90 * M, .file = 50 * M, .anon = 40 * M };
}

static void test_plan_lowest_priority_first(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* 40M: all from offline/b (priority 1 below offline's priority 1 slice). */
        int k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 1);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 40 * M);
        assert_int_equal(planned, 40 * M);
}

static void test_plan_spills_in_order(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* 150M: b's 50M, a's 70M (offline's subtree, lower first), then online's 30M. */
        int k = emu_reclaim_plan(n, 5, 150 * M, false, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 50 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 70 * M);
        assert_int_equal(s[2].node, 1);
        assert_int_equal(s[2].bytes, 30 * M);
        assert_int_equal(planned, 150 * M);
}

static void test_plan_no_anon_without_swap(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* More than all page cache: stops at the 180M of cache. */
        int k = emu_reclaim_plan(n, 5, 250 * M, false, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(planned, 180 * M);
        for (int i = 0; i < k; i++)
                assert_true(s[i].bytes <= n[s[i].node].file);
}

static void test_plan_swap_takes_low_anon_before_high_cache(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* With swap the whole offline subtree (200M) goes before online. */
        int k = emu_reclaim_plan(n, 5, 210 * M, true, s, 8, &planned);
        assert_int_equal(k, 3);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 90 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 110 * M);
        assert_int_equal(s[2].node, 1);
        assert_int_equal(s[2].bytes, 10 * M);
        assert_int_equal(planned, 210 * M);
}

static void test_plan_protection(void **state) {
        EmuNode n[5];
        EmuReclaimStep s[8];
        uint64_t planned;
        tree(n);

        /* offline/b may keep 80M of its 90M: it gives 10M, not 50M. */
        n[4].protection = 80 * M;
        int k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 4);
        assert_int_equal(s[0].bytes, 10 * M);
        assert_int_equal(s[1].node, 3);
        assert_int_equal(s[1].bytes, 30 * M);

        /* A protected root gives nothing at all. */
        tree(n);
        n[0].protection = 300 * M;
        k = emu_reclaim_plan(n, 5, 40 * M, false, s, 8, &planned);
        assert_int_equal(k, 0);
        assert_int_equal(planned, 0);
}

static void test_plan_own_pages_last(void **state) {
        EmuNode n[2] = {
                { .cgroup = "/p", .parent = EMU_NO_PARENT, .usage = 100 * M, .file = 60 * M },
                { .cgroup = "/p/c", .parent = 0, .usage = 30 * M, .file = 20 * M },
        };
        EmuReclaimStep s[4];
        uint64_t planned;

        /* The child's 20M first, then 20M of the 40M charged to /p itself. */
        int k = emu_reclaim_plan(n, 2, 40 * M, false, s, 4, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 1);
        assert_int_equal(s[0].bytes, 20 * M);
        assert_int_equal(s[1].node, 0);
        assert_int_equal(s[1].bytes, 20 * M);
}

static void test_plan_ties_most_cache_first(void **state) {
        EmuNode n[3] = {
                { .parent = EMU_NO_PARENT, .usage = 100 * M, .file = 60 * M },
                { .parent = 0, .priority = 3, .usage = 30 * M, .file = 10 * M },
                { .parent = 0, .priority = 3, .usage = 30 * M, .file = 50 * M },
        };
        EmuReclaimStep s[4];
        uint64_t planned;

        int k = emu_reclaim_plan(n, 3, 55 * M, false, s, 4, &planned);
        assert_int_equal(k, 2);
        assert_int_equal(s[0].node, 2);
        assert_int_equal(s[1].node, 1);
}

static void test_plan_malformed(void **state) {
        EmuNode n[2] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 1 }, /* its own parent */
        };
        EmuReclaimStep s[4];
        assert_int_equal(emu_reclaim_plan(n, 2, M, false, s, 4, NULL), -EINVAL);
        assert_int_equal(emu_reclaim_plan(n, 0, M, false, s, 4, NULL), -EINVAL);
        n[0].parent = 0;
        assert_int_equal(emu_kill_pick_node(n, 1, NULL), -EINVAL);
}

static void test_reclaim_target(void **state) {
        assert_int_equal(emu_reclaim_target(100 * M, 120 * M, 110 * M), 0);
        assert_int_equal(emu_reclaim_target(120 * M, 120 * M, 110 * M), 10 * M);
        assert_int_equal(emu_reclaim_target(130 * M + 1, 120 * M, 110 * M), 20 * M + 4096);
        assert_int_equal(emu_reclaim_target(130 * M, UINT64_MAX, UINT64_MAX), 0);
}

static void test_squeeze_limit(void **state) {
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 0), 84 * M);
        /* Never below the floor (what the child cannot give). */
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 90 * M), 90 * M);
        assert_int_equal(emu_squeeze_limit(100 * M, 16 * M, 100 * M), 0);
        assert_int_equal(emu_squeeze_limit(100 * M, 0, 0), 0);
        /* Page aligned, downwards. */
        assert_int_equal(emu_squeeze_limit(100 * M + 100, 16 * M, 0) % 4096, 0);
        assert_int_equal(emu_squeeze_limit(10 * M, 16 * M, 0), 0); /* nothing left above 0 */
}

static void test_kill_watermark_and_need(void **state) {
        assert_int_equal(emu_kill_watermark(1000 * 4096, 95), 950 * 4096);
        assert_true(emu_kill_watermark(UINT64_MAX, 95) == UINT64_MAX);
        assert_true(emu_kill_watermark(100 * M, 0) == UINT64_MAX);
        /* No overflow near the top. */
        assert_true(emu_kill_watermark(UINT64_MAX - 1, 100) <= UINT64_MAX - 1);

        uint64_t kw = 95 * M;
        assert_false(emu_kill_needed(100 * M, 10 * M, 90 * M, false, kw)); /* 90M unreclaimable */
        assert_true(emu_kill_needed(100 * M, 5 * M, 95 * M, false, kw));
        assert_false(emu_kill_needed(100 * M, 5 * M, 95 * M, true, kw)); /* with swap anon gives too */
        assert_false(emu_kill_needed(100 * M, 0, 100 * M, false, UINT64_MAX));
}

static void test_kill_walk(void **state) {
        EmuNode n[5];
        tree(n);
        n[1].n_procs = 1;
        n[3].n_procs = 1;
        n[4].n_procs = 2;

        /* Lowest child of the root is offline (1), inside it b (1) below a (2). */
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), 4);

        /* b tried and found empty: a, still inside offline, before online. */
        bool skip[5] = { [4] = true };
        assert_int_equal(emu_kill_pick_node(n, 5, skip), 3);

        /* Nothing killable left in offline: only then online. */
        skip[3] = true;
        assert_int_equal(emu_kill_pick_node(n, 5, skip), 1);
        skip[1] = true;
        assert_int_equal(emu_kill_pick_node(n, 5, skip), -ESRCH);
}

static void test_kill_walk_hierarchy_beats_leaf_priority(void **state) {
        /* The kernel ABI: offline (1) / x (priority 9) dies before online (5) / y
         * (priority 0): priorities compare siblings only. */
        EmuNode n[5] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 5, .usage = 10 * M },
                { .parent = 0, .priority = 1, .usage = 10 * M },
                { .parent = 1, .priority = 0, .n_procs = 1, .usage = 10 * M },
                { .parent = 2, .priority = 9, .n_procs = 1, .usage = 10 * M },
        };
        assert_int_equal(emu_kill_pick_node(n, 5, NULL), 4);
}

static void test_kill_walk_ties_by_usage(void **state) {
        EmuNode n[3] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 1, .usage = 10 * M, .n_procs = 1 },
                { .parent = 0, .priority = 1, .usage = 20 * M, .n_procs = 1 },
        };
        assert_int_equal(emu_kill_pick_node(n, 3, NULL), 2);
}

static void test_kill_walk_inner_processes(void **state) {
        /* Processes in an inner cgroup whose children have none: the inner one. */
        EmuNode n[3] = {
                { .parent = EMU_NO_PARENT },
                { .parent = 0, .priority = 1, .n_procs = 3 },
                { .parent = 1, .priority = 0 },
        };
        assert_int_equal(emu_kill_pick_node(n, 3, NULL), 1);
}

static void test_kill_pick_process(void **state) {
        EmuProc p[4] = {
                { .pid = 100, .rss = 50 * M, .oom_score_adj = 0 },
                { .pid = 101, .rss = 80 * M, .oom_score_adj = -1000 }, /* never */
                { .pid = 102, .rss = 60 * M, .oom_score_adj = 0 },
                { .pid = 103, .rss = 90 * M, .oom_score_adj = 0 },     /* memqosd itself */
        };
        assert_int_equal(emu_kill_pick_process(p, 4, 1000 * M, 103), 2);
        /* oom_score_adj counts as in the kernel: +500 of 1000M is 500M more. */
        p[0].oom_score_adj = 500;
        assert_int_equal(emu_kill_pick_process(p, 4, 1000 * M, 103), 0);
        /* pid 1 and nothing else: none. */
        EmuProc q[2] = { { .pid = 1, .rss = M }, { .pid = 7, .rss = M, .oom_score_adj = -1000 } };
        assert_int_equal(emu_kill_pick_process(q, 2, 1000 * M, 99), -ESRCH);
        assert_int_equal(emu_kill_pick_process(q, 0, 1000 * M, 99), -ESRCH);
}

static void test_parse_stat(void **state) {
        MemcgStat st;
        const char *v1 = "cache 100\nrss 50\ninactive_file 10\nactive_file 20\n"
                         "total_cache 1000\ntotal_rss 500\ntotal_shmem 30\ntotal_inactive_file 300\n"
                         "total_active_file 400\n";
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V1, v1, &st), 0);
        assert_int_equal(st.file, 700);
        assert_int_equal(st.anon, 530);

        const char *v2 = "anon 4096\nfile 8192\nshmem 100\ninactive_file 2000\nactive_file 3000\n"
                         "workingset_refault_anon 7\n";
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, v2, &st), 0);
        assert_int_equal(st.file, 5000);
        assert_int_equal(st.anon, 4196);

        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "anon\n", &st), -EINVAL);
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "anon x\n", &st), -EINVAL);
        assert_int_equal(memcg_parse_stat(MEMCG_LAYOUT_V2, "", &st), 0);
        assert_int_equal(st.file, 0);
}

static void test_squeeze_record(void **state) {
        SqueezeRecord r = { .cgroup = (char *) "/p/offline", .limit = UINT64_MAX, .squeezed = 84 * M };
        _cleanup_free_ char *text = NULL;
        SqueezeRecord back = {};

        assert_int_equal(squeeze_record_format(&r, &text), 0);
        assert_string_equal(text, "CGROUP=/p/offline\nLIMIT=max\nSQUEEZED=88080384\n");
        assert_int_equal(squeeze_record_parse(text, &back), 0);
        assert_string_equal(back.cgroup, "/p/offline");
        assert_true(back.limit == UINT64_MAX);
        assert_int_equal(back.squeezed, 84 * M);
        squeeze_record_done(&back);

        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=5\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p/../x\nLIMIT=5\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/\nLIMIT=5\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("CGROUP=/p\nLIMIT=-1\nSQUEEZED=4\n", &back), -EINVAL);
        assert_int_equal(squeeze_record_parse("garbage", &back), -EINVAL);
}

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static char *read_text(const char *path) {
        char *text = NULL;
        size_t size;
        assert_int_equal(policy_read_file(path, &text, &size), 0);
        return text;
}

/* squeeze_run() and squeeze_restore_all() on a fixture tree of plain files
 * (memcg_root_open() takes a directory with memory.limit_in_bytes as v1);
 * the real cgroupfs is the host tests' part. */
static void test_squeeze_run_and_restore(void **state) {
        char top[] = "/tmp/memqos-test-squeeze.XXXXXX", path[512], rec[128];
        MemcgRoot *root = NULL;
        uint64_t old = 0;

        assert_non_null(mkdtemp(top));
        snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", top);
        write_text(path, "1000\n");
        snprintf(path, sizeof(path), "%s/job", top);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/job/memory.limit_in_bytes", top);
        write_text(path, "8192000\n");
        snprintf(rec, sizeof(rec), "%s/records", top);
        assert_int_equal(memcg_root_open(top, &root), 0);

        /* A squeeze leaves the old limit and no record behind. */
        int fd = memcg_open(root, "/job");
        assert_true(fd >= 0);
        assert_int_equal(squeeze_run(rec, fd, "/job", 4096000, &old), 0);
        assert_int_equal(old, 8192000);
        _cleanup_free_ char *after = read_text(path);
        assert_string_equal(after, "8192000\n");
        snprintf(path, sizeof(path), "%s/job", rec);
        assert_int_equal(access(path, F_OK), -1);

        /* A crash between the writes: the record and the squeezed limit stay;
         * restoring puts the old limit back and removes the record. */
        write_text(path, "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");
        snprintf(path, sizeof(path), "%s/job/memory.limit_in_bytes", top);
        write_text(path, "4096000\n");
        assert_int_equal(squeeze_restore_all(root, rec, NULL, NULL), 0);
        _cleanup_free_ char *restored = read_text(path);
        assert_string_equal(restored, "8192000\n");
        snprintf(path, sizeof(path), "%s/job", rec);
        assert_int_equal(access(path, F_OK), -1);

        /* Somebody changed the limit since: theirs stays, the record goes. */
        write_text(path, "CGROUP=/job\nLIMIT=8192000\nSQUEEZED=4096000\n");
        snprintf(path, sizeof(path), "%s/job/memory.limit_in_bytes", top);
        write_text(path, "5000000\n");
        assert_int_equal(squeeze_restore_all(root, rec, NULL, NULL), 0);
        _cleanup_free_ char *theirs = read_text(path);
        assert_string_equal(theirs, "5000000\n");

        /* A record for a cgroup that is gone, and a broken one: dropped. */
        snprintf(path, sizeof(path), "%s/gone", rec);
        write_text(path, "CGROUP=/gone\nLIMIT=1\nSQUEEZED=0\n");
        snprintf(path, sizeof(path), "%s/broken", rec);
        write_text(path, "nonsense\n");
        assert_int_equal(squeeze_restore_all(root, rec, NULL, NULL), 0);
        assert_int_equal(access(path, F_OK), -1);

        close(fd);
        memcg_root_free(root);
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
        assert_int_equal(system(cmd), 0);
}

static void test_feature_mode(void **state) {
        FeatureMode f;
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, false, true);
        assert_false(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, true, false);
        assert_true(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_AUTO, true, true);
        assert_true(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_EMULATE, BACKEND_KERNEL, true, false);
        assert_false(f.kernel);
        assert_true(f.emulate);
        f = config_feature_mode(BACKEND_KERNEL, BACKEND_EMULATE, false, true);
        assert_true(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_INHERIT, BACKEND_OFF, true, true);
        assert_false(f.kernel);
        assert_false(f.emulate);
        f = config_feature_mode(BACKEND_OFF, BACKEND_AUTO, true, true);
        assert_false(f.kernel);
        assert_false(f.emulate);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_lowest_priority_first),
                cmocka_unit_test(test_plan_spills_in_order),
                cmocka_unit_test(test_plan_no_anon_without_swap),
                cmocka_unit_test(test_plan_swap_takes_low_anon_before_high_cache),
                cmocka_unit_test(test_plan_protection),
                cmocka_unit_test(test_plan_own_pages_last),
                cmocka_unit_test(test_plan_ties_most_cache_first),
                cmocka_unit_test(test_plan_malformed),
                cmocka_unit_test(test_reclaim_target),
                cmocka_unit_test(test_squeeze_limit),
                cmocka_unit_test(test_kill_watermark_and_need),
                cmocka_unit_test(test_kill_walk),
                cmocka_unit_test(test_kill_walk_hierarchy_beats_leaf_priority),
                cmocka_unit_test(test_kill_walk_ties_by_usage),
                cmocka_unit_test(test_kill_walk_inner_processes),
                cmocka_unit_test(test_kill_pick_process),
                cmocka_unit_test(test_parse_stat),
                cmocka_unit_test(test_squeeze_record),
                cmocka_unit_test(test_squeeze_run_and_restore),
                cmocka_unit_test(test_feature_mode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
