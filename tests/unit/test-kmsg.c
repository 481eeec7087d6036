/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "cgroup/kmsg.h"

/* Records as this machine's 6.18 kernel wrote them for a memcg OOM (the same
 * format as mm/oom_kill.c of 6.1). */
#define REC_TASK_LINE "6,428,422082589,-;[  15612]     0 15612    35714     7490     7391       99         0   204800        0          1000 stress-ng-vm\n"
#define REC_SUMMARY                                                                                     \
        "6,429,422082595,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0," \
        "oom_memcg=/memqos-test-probe,task_memcg=/memqos-test-probe,task=stress-ng-vm,pid=15612,uid=0\n"
#define REC_KILLED                                                                                       \
        "3,430,422082647,-;Memory cgroup out of memory: Killed process 15612 (stress-ng-vm) total-vm:142856kB, " \
        "anon-rss:29564kB, file-rss:396kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:1000\n"

#define MSG(s) (s), strlen(s)

static void test_record_header_is_parsed(void **state) {
        KmsgRecord r;

        assert_int_equal(kmsg_record_parse(MSG(REC_KILLED), &r), 0);
        assert_int_equal(r.priority, 3);
        assert_int_equal(r.seq, 430);
        assert_int_equal(r.usec, 422082647);
        assert_false(r.continuation);
        assert_int_equal(r.message_len, strlen(REC_KILLED) - strlen("3,430,422082647,-;") - 1);
        assert_memory_equal(r.message, "Memory cgroup out of memory:", 28);
}

static void test_record_with_caller_and_dictionary(void **state) {
        const char *rec = "4,77,1000,c,caller=T123;tail of a line\n SUBSYSTEM=memory\n DEVICE=+x\n";
        KmsgRecord r;

        assert_int_equal(kmsg_record_parse(MSG(rec), &r), 0);
        assert_true(r.continuation);
        assert_int_equal(r.message_len, strlen("tail of a line"));
        assert_memory_equal(r.message, "tail of a line", r.message_len);
}

static void test_garbage_records_are_rejected(void **state) {
        static const char *const bad[] = {
                "",
                "no semicolon at all",
                "6,429;short header",
                "x,1,2,-;not a number",
                "6,1,2,?;bad flag",
                "6,1,2,-x;flag followed by junk",
                "6,18446744073709551616,2,-;seq overflows",
        };
        KmsgRecord r;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(kmsg_record_parse(MSG(bad[i]), &r), -EINVAL);
}

static void test_summary_of_a_memcg_oom(void **state) {
        _cleanup_(kmsg_oom_summary_done) KmsgOomSummary s = {};
        KmsgRecord r;

        assert_int_equal(kmsg_record_parse(MSG(REC_SUMMARY), &r), 0);
        assert_int_equal(kmsg_parse_oom_summary(r.message, r.message_len, &s), 0);
        assert_string_equal(s.constraint, "CONSTRAINT_MEMCG");
        assert_string_equal(s.oom_memcg, "/memqos-test-probe");
        assert_string_equal(s.task_memcg, "/memqos-test-probe");
        assert_string_equal(s.comm, "stress-ng-vm");
        assert_int_equal(s.pid, 15612);
        assert_int_equal(s.uid, 0);
}

static void test_summary_of_a_global_oom_with_nodemask_lists(void **state) {
        /* nodemask and mems_allowed are bitmap lists that hold commas. */
        const char *m = "oom-kill:constraint=CONSTRAINT_NONE,nodemask=0-1,3,cpuset=user.slice,mems_allowed=0-1,3,"
                        "global_oom,task_memcg=/offline.slice/batch.service,task=java,pid=4242,uid=1000";
        _cleanup_(kmsg_oom_summary_done) KmsgOomSummary s = {};

        assert_int_equal(kmsg_parse_oom_summary(MSG(m), &s), 0);
        assert_string_equal(s.constraint, "CONSTRAINT_NONE");
        assert_null(s.oom_memcg);
        assert_string_equal(s.task_memcg, "/offline.slice/batch.service");
        assert_string_equal(s.comm, "java");
        assert_int_equal(s.pid, 4242);
        assert_int_equal(s.uid, 1000);
}

static void test_summary_with_a_hostile_comm_and_escapes(void **state) {
        /* A task may name itself ",pid=1,uid=2"; /dev/kmsg escapes control
         * bytes as \xNN. The tail anchors from the right. */
        const char *m = "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                        "oom_memcg=/a\\x0ab,task_memcg=/a\\x0ab/c,task=x,pid=1,uid=2,pid=77,uid=5";
        _cleanup_(kmsg_oom_summary_done) KmsgOomSummary s = {};

        assert_int_equal(kmsg_parse_oom_summary(MSG(m), &s), 0);
        assert_string_equal(s.comm, "x,pid=1,uid=2");
        assert_int_equal(s.pid, 77);
        assert_int_equal(s.uid, 5);
        assert_string_equal(s.oom_memcg, "/a\nb");
        assert_string_equal(s.task_memcg, "/a\nb/c");
}

static void test_truncated_or_foreign_summaries(void **state) {
        static const char *const truncated[] = {
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a",
                ("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,"
                 "task_memcg=/a,task=x,pid=12,uid="),
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=x,pid=0,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=/a,task_memcg=/a,task=x,pid=12x,uid=0",
                "oom-kill:constraint=",
        };
        KmsgOomSummary s = {};

        for (size_t i = 0; i < ELEMENTSOF(truncated); i++)
                assert_int_equal(kmsg_parse_oom_summary(MSG(truncated[i]), &s), -EINVAL);
        assert_int_equal(kmsg_parse_oom_summary(MSG("oom_reaper: reaped process 1 (x)"), &s), -ENOMSG);
        assert_int_equal(kmsg_parse_oom_summary(MSG("oom-kill"), &s), -ENOMSG);
        assert_null(s.oom_memcg);
}

static void test_summary_whose_cgroup_or_constraint_is_malformed_is_rejected(void **state) {
        /* Found by fuzz-kmsg: a memcg that is not an absolute path, or
         * that an escaped NUL would cut short ("/a\x00b" read as "/a"),
         * would be blamed on a cgroup that did not OOM. */
        static const char *const bad[] = {
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=a,task_memcg=/a/b,task=x,pid=12,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=/a,task_memcg=,task=x,pid=12,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=/a,task_memcg=/a\\x00b,task=x,pid=12,uid=0",
                "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=/a\\x00/b,task_memcg=/a/b,task=x,pid=12,uid=0",
                /* the kernel's constraint names are [A-Z_] words */
                "oom-kill:constraint=CONSTRAINT MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                "oom_memcg=/a,task_memcg=/a/b,task=x,pid=12,uid=0",
        };
        KmsgOomSummary s = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(kmsg_parse_oom_summary(MSG(bad[i]), &s), -EINVAL);
        assert_null(s.oom_memcg);
        assert_null(s.task_memcg);
}

static void test_killed_process_line(void **state) {
        KmsgOomKill k;
        KmsgRecord r;

        assert_int_equal(kmsg_record_parse(MSG(REC_KILLED), &r), 0);
        assert_int_equal(kmsg_parse_oom_kill(r.message, r.message_len, &k), 0);
        assert_true(k.memcg_oom);
        assert_int_equal(k.pid, 15612);
        assert_string_equal(k.comm, "stress-ng-vm");
        assert_int_equal(k.total_vm_kb, 142856);
        assert_int_equal(k.anon_rss_kb, 29564);
        assert_int_equal(k.file_rss_kb, 396);
        assert_int_equal(k.shmem_rss_kb, 0);
        assert_int_equal(k.uid, 0);
        assert_int_equal(k.pgtables_kb, 200);
        assert_int_equal(k.oom_score_adj, 1000);
}

static void test_killed_process_of_a_global_oom_and_odd_comm(void **state) {
        const char *m = "Out of memory: Killed process 981 (a) total-vm:x) total-vm:1kB, anon-rss:2kB, file-rss:3kB, "
                        "shmem-rss:4kB, UID:1000 pgtables:5kB oom_score_adj:-17";
        KmsgOomKill k;

        assert_int_equal(kmsg_parse_oom_kill(MSG(m), &k), 0);
        assert_false(k.memcg_oom);
        assert_int_equal(k.pid, 981);
        assert_string_equal(k.comm, "a) total-vm:x");
        assert_int_equal(k.total_vm_kb, 1);
        assert_int_equal(k.shmem_rss_kb, 4);
        assert_int_equal(k.uid, 1000);
        assert_int_equal(k.oom_score_adj, -17);
}

static void test_truncated_killed_lines(void **state) {
        KmsgOomKill k;

        /* Without the UID/pgtables tail (older kernels, or truncated there):
         * the victim is still named. */
        assert_int_equal(kmsg_parse_oom_kill(MSG("Memory cgroup out of memory: Killed process 5 (x) total-vm:1kB, "
                                                 "anon-rss:2kB, file-rss:3kB, shmem-rss:4kB"), &k), 0);
        assert_int_equal(k.pid, 5);
        assert_int_equal(k.anon_rss_kb, 2);
        assert_int_equal(k.pgtables_kb, 0);

        assert_int_equal(kmsg_parse_oom_kill(MSG("Memory cgroup out of memory: Killed process 5 (x) total-vm:1kB, anon-r"), &k), -EINVAL);
        assert_int_equal(kmsg_parse_oom_kill(MSG("Memory cgroup out of memory: Killed process 5 (x"), &k), -EINVAL);
        assert_int_equal(kmsg_parse_oom_kill(MSG("Memory cgroup out of memory: Killed process abc (x) total-vm:1kB, "
                                                 "anon-rss:2kB, file-rss:3kB, shmem-rss:4kB"), &k), -EINVAL);
        assert_int_equal(kmsg_parse_oom_kill(MSG("oom_reaper: reaped process 5 (x), now anon-rss:0kB"), &k), -ENOMSG);
        assert_int_equal(kmsg_parse_oom_kill(MSG(""), &k), -ENOMSG);
}

typedef struct Reports {
        size_t n;
        pid_t pid;
        char comm[KMSG_COMM_MAX], oom_memcg[64], task_memcg[64], constraint[32];
        bool have_summary;
        uint64_t seq, anon_rss_kb;
} Reports;

static void on_report(const KmsgOomReport *r, void *userdata) {
        Reports *rep = userdata;

        rep->n++;
        rep->pid = r->pid;
        rep->seq = r->seq;
        rep->anon_rss_kb = r->anon_rss_kb;
        rep->have_summary = r->constraint != NULL;
        snprintf(rep->comm, sizeof(rep->comm), "%s", r->comm);
        snprintf(rep->oom_memcg, sizeof(rep->oom_memcg), "%s", strna(r->oom_memcg));
        snprintf(rep->task_memcg, sizeof(rep->task_memcg), "%s", strna(r->task_memcg));
        snprintf(rep->constraint, sizeof(rep->constraint), "%s", strna(r->constraint));
}

static void test_tracker_pairs_summary_and_kill(void **state) {
        Reports rep = {};
        KmsgOomTracker t;

        kmsg_oom_tracker_init(&t, on_report, &rep);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_TASK_LINE)), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_SUMMARY)), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,431,422082650,-;some other line\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_KILLED)), 1);
        assert_int_equal(rep.n, 1);
        assert_int_equal(rep.pid, 15612);
        assert_int_equal(rep.seq, 430);
        assert_string_equal(rep.comm, "stress-ng-vm");
        assert_true(rep.have_summary);
        assert_string_equal(rep.constraint, "CONSTRAINT_MEMCG");
        assert_string_equal(rep.oom_memcg, "/memqos-test-probe");
        assert_string_equal(rep.task_memcg, "/memqos-test-probe");
        assert_int_equal(rep.anon_rss_kb, 29564);

        /* The summary was used up: a second Killed line stands alone. */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_KILLED)), 1);
        assert_int_equal(rep.n, 2);
        assert_false(rep.have_summary);
        assert_string_equal(rep.task_memcg, "n/a");
        kmsg_oom_tracker_done(&t);
}

static void test_tracker_ignores_a_summary_of_another_pid(void **state) {
        Reports rep = {};
        KmsgOomTracker t;

        kmsg_oom_tracker_init(&t, on_report, &rep);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,1,1,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
                                                       "cpuset=/,mems_allowed=0,oom_memcg=/x,task_memcg=/x/y,task=a,pid=1,uid=0\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_KILLED)), 1);
        assert_int_equal(rep.pid, 15612);
        assert_false(rep.have_summary);
        kmsg_oom_tracker_done(&t);
}

static void test_tracker_glues_a_split_summary(void **state) {
        Reports rep = {};
        KmsgOomTracker t;

        kmsg_oom_tracker_init(&t, on_report, &rep);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,10,1,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
                                                       "cpuset=/,mems_allowed=0\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,11,2,c;,oom_memcg=/o.slice,task_memcg=/o.slice/j.scope\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,12,3,c;,task=worker,pid=99,uid=0\n")), 0);
        /* Complete now: a later continuation (of something else) is not glued. */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("6,13,4,c;,junk=1\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("3,14,5,-;Memory cgroup out of memory: Killed process 99 (worker) "
                                                       "total-vm:10kB, anon-rss:8kB, file-rss:0kB, shmem-rss:0kB, UID:0 "
                                                       "pgtables:4kB oom_score_adj:0\n")), 1);
        assert_true(rep.have_summary);
        assert_string_equal(rep.oom_memcg, "/o.slice");
        assert_string_equal(rep.task_memcg, "/o.slice/j.scope");
        assert_string_equal(rep.comm, "worker");
        kmsg_oom_tracker_done(&t);
}

static void test_tracker_survives_garbage_and_reset(void **state) {
        static const char *const junk[] = {
                "", ";", "garbage", "6,1,2,-;", "6,1,2,-;Killed process", "6,1,2,-;: Killed process (x)",
                "6,1,2,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null)",
        };
        Reports rep = {};
        KmsgOomTracker t;

        kmsg_oom_tracker_init(&t, on_report, &rep);
        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(junk[i])), 0);
        assert_int_equal(rep.n, 0);

        /* An overrun lost the Killed line: the reset drops the summary. */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_SUMMARY)), 0);
        kmsg_oom_tracker_reset(&t);
        assert_null(t.pending);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_KILLED)), 1);
        assert_false(rep.have_summary);
        kmsg_oom_tracker_done(&t);
}

/* Only the kernel writes facility 0 (PRI < 8): a write to /dev/kmsg from
 * userspace gets LOG_USER, or the facility it names, never 0. A local user
 * who may write /dev/kmsg must not be able to make up an OOM kill. */
static void test_tracker_ignores_records_not_from_the_kernel(void **state) {
        Reports rep = {};
        KmsgOomTracker t;

        kmsg_oom_tracker_init(&t, on_report, &rep);
        /* "<3>Memory cgroup out of memory: ..." written by a user: LOG_USER|LOG_ERR */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("14,500,1,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
                                                       "cpuset=/,mems_allowed=0,oom_memcg=/fake,task_memcg=/fake,"
                                                       "task=victim,pid=4242,uid=0\n")), 0);
        assert_null(t.pending);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("11,501,2,-;Memory cgroup out of memory: Killed process 4242 (victim) "
                                                       "total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n")), 0);
        /* any facility but 0, e.g. LOG_DAEMON|LOG_ERR */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("27,502,3,-;Out of memory: Killed process 4242 (victim) "
                                                       "total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n")), 0);
        assert_int_equal(rep.n, 0);

        /* A user record between the kernel's two does not spoil the pair,
         * and a user continuation is not glued to the kernel's summary. */
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_SUMMARY)), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("12,503,4,c;,oom_memcg=/fake\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG("12,504,5,-;oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),"
                                                       "cpuset=/,mems_allowed=0,global_oom,task_memcg=/fake,"
                                                       "task=stress-ng-vm,pid=15612,uid=0\n")), 0);
        assert_int_equal(kmsg_oom_tracker_feed(&t, MSG(REC_KILLED)), 1);
        assert_int_equal(rep.n, 1);
        assert_true(rep.have_summary);
        assert_string_equal(rep.oom_memcg, "/memqos-test-probe");
        assert_string_equal(rep.task_memcg, "/memqos-test-probe");
        kmsg_oom_tracker_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_header_is_parsed),
                cmocka_unit_test(test_record_with_caller_and_dictionary),
                cmocka_unit_test(test_garbage_records_are_rejected),
                cmocka_unit_test(test_summary_of_a_memcg_oom),
                cmocka_unit_test(test_summary_of_a_global_oom_with_nodemask_lists),
                cmocka_unit_test(test_summary_with_a_hostile_comm_and_escapes),
                cmocka_unit_test(test_truncated_or_foreign_summaries),
                cmocka_unit_test(test_summary_whose_cgroup_or_constraint_is_malformed_is_rejected),
                cmocka_unit_test(test_killed_process_line),
                cmocka_unit_test(test_killed_process_of_a_global_oom_and_odd_comm),
                cmocka_unit_test(test_truncated_killed_lines),
                cmocka_unit_test(test_tracker_pairs_summary_and_kill),
                cmocka_unit_test(test_tracker_ignores_a_summary_of_another_pid),
                cmocka_unit_test(test_tracker_glues_a_split_summary),
                cmocka_unit_test(test_tracker_survives_garbage_and_reset),
                cmocka_unit_test(test_tracker_ignores_records_not_from_the_kernel),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
