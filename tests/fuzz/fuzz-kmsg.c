/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the /dev/kmsg parsers (kmsg.c).
 *
 * The input is a series of raw records, split on FUZZ_SEPARATOR, fed to a
 * KmsgOomTracker as the reader would, and each also to the three parsers
 * alone. Besides not crashing, what is accepted must be usable as is: a
 * parsed record's message lies inside the record; an OOM kill names a pid
 * > 0; every cgroup path it names starts with '/'; a summary delivered with
 * a kill is the summary of that pid. */
#include "cgroup/kmsg.h"
#include "fuzz-check.h"
#include "fuzz-split.h"

#define KMSG_FUZZ_RECORDS 16

static void check(bool ok, const char *what) {
        fuzz_check(ok, "fuzz-kmsg", what);
}

static bool is_cgroup_path(const char *p) {
        return !p || p[0] == '/';
}

static bool is_terminated(const char *s, size_t size) {
        return memchr(s, 0, size) != NULL;
}

static void on_report(const KmsgOomReport *r, void *userdata) {
        check(r->pid > 0, "a reported kill has a pid > 0");
        check(r->comm && is_terminated(r->comm, KMSG_COMM_MAX), "a reported kill has a comm");
        check(is_cgroup_path(r->task_memcg), "a reported task_memcg starts with '/'");
        check(is_cgroup_path(r->oom_memcg), "a reported oom_memcg starts with '/'");
        check(r->constraint || (!r->task_memcg && !r->oom_memcg), "cgroups only with a summary");
        (*(size_t *) userdata)++;
}

static void check_record(const char *buf, size_t len) {
        KmsgOomSummary s = {};
        KmsgOomKill k;
        KmsgRecord rec;

        if (kmsg_record_parse(buf, len, &rec) < 0)
                return;
        check(rec.message > buf && rec.message + rec.message_len <= buf + len, "the message lies in the record");
        check(!memchr(rec.message, '\n', rec.message_len), "the message is one line");

        if (kmsg_parse_oom_summary(rec.message, rec.message_len, &s) >= 0) {
                check(s.pid > 0, "a summary has a pid > 0");
                check(is_terminated(s.constraint, sizeof(s.constraint)) && s.constraint[0],
                      "a summary has a constraint");
                check(is_terminated(s.comm, sizeof(s.comm)), "a summary's comm is terminated");
                check(is_cgroup_path(s.task_memcg), "a summary's task_memcg starts with '/'");
                check(is_cgroup_path(s.oom_memcg), "a summary's oom_memcg starts with '/'");
                kmsg_oom_summary_done(&s);
        }
        if (kmsg_parse_oom_kill(rec.message, rec.message_len, &k) >= 0) {
                check(k.pid > 0, "a kill has a pid > 0");
                check(is_terminated(k.comm, sizeof(k.comm)), "a kill's comm is terminated");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzPart records[KMSG_FUZZ_RECORDS];
        KmsgOomTracker t;
        size_t n, reports = 0, delivered = 0;

        if (size > 64 * 1024)
                return 0;
        n = fuzz_split((const char *) data, size, records, KMSG_FUZZ_RECORDS);

        kmsg_oom_tracker_init(&t, on_report, &reports);
        for (size_t i = 0; i < n; i++) {
                /* a copy of its own size, so that ASan sees any read past it */
                char *buf = malloc(records[i].size ?: 1);
                int r;

                check(buf, "malloc");
                memcpy(buf, records[i].text, records[i].size);
                check_record(buf, records[i].size);
                r = kmsg_oom_tracker_feed(&t, buf, records[i].size);
                check(r == 0 || r == 1, "feed returns 0 or 1");
                delivered += r;
                free(buf);
        }
        check(delivered == reports, "one report per delivery");
        kmsg_oom_tracker_done(&t);
        return 0;
}
