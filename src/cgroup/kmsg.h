/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's OOM-kill reports, as read from /dev/kmsg.
 *
 * One OOM kill prints (mm/oom_kill.c, unchanged from 6.1 to 6.18):
 *
 *   oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
 *       oom_memcg=/a,task_memcg=/a/b,task=stress-ng-vm,pid=15612,uid=0
 *   Memory cgroup out of memory: Killed process 15612 (stress-ng-vm) total-vm:142856kB,
 *       anon-rss:29564kB, file-rss:396kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:1000
 *
 * (each one record; a global OOM says ",global_oom" instead of oom_memcg= and
 * "Out of memory: Killed process"). The first names the memcgs, the second
 * the victim's memory. The parsers here are pure; KmsgOomTracker pairs the two
 * records by pid, and takes only records of the kernel's facility (anyone
 * allowed to write /dev/kmsg could otherwise make up an OOM kill); KmsgReader is the edge that reads /dev/kmsg on sd-event. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "basic/util.h"

#define KMSG_COMM_MAX 64 /* TASK_COMM_LEN is 16, but escaping (\xNN) can grow it */

/* One /dev/kmsg record: "<prio>,<seq>,<usec>,<flags>[,more];<message>\n[ KEY=value\n...]" */
typedef struct KmsgRecord {
        unsigned priority; /* facility << 3 | level */
        uint64_t seq;
        uint64_t usec;     /* CLOCK_MONOTONIC at printk time */
        bool continuation; /* flags 'c': a pr_cont() that could not be merged */
        const char *message; /* points into the parsed buffer; not NUL-terminated */
        size_t message_len;
} KmsgRecord;

/* Pure. 0, or -EINVAL when buf is not a kmsg record. */
int kmsg_record_parse(const char *buf, size_t len, KmsgRecord *ret);

/* Pure. Whether the kernel itself wrote the record (facility 0, PRI < 8):
 * what userspace writes to /dev/kmsg never gets facility 0. */
bool kmsg_record_from_kernel(const KmsgRecord *rec);

/* "oom-kill:constraint=...,task=...,pid=...,uid=..." */
typedef struct KmsgOomSummary {
        char constraint[32];   /* "CONSTRAINT_MEMCG", "CONSTRAINT_NONE", ... */
        char *oom_memcg;       /* NULL for a global OOM */
        char *task_memcg;      /* NULL when the kernel printed none */
        char comm[KMSG_COMM_MAX];
        pid_t pid;
        uid_t uid;
} KmsgOomSummary;

void kmsg_oom_summary_done(KmsgOomSummary *s);

/* Pure. 0; -ENOMSG when the message is not an oom-kill summary; -EINVAL when
 * it is one but truncated or malformed; -ENOMEM. */
int kmsg_parse_oom_summary(const char *msg, size_t len, KmsgOomSummary *ret);

/* "<reason>: Killed process <pid> (<comm>) total-vm:...kB, anon-rss:...kB, ..." */
typedef struct KmsgOomKill {
        bool memcg_oom;        /* "Memory cgroup out of memory" rather than a global one */
        pid_t pid;
        char comm[KMSG_COMM_MAX];
        uint64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb, pgtables_kb;
        uid_t uid;
        int oom_score_adj;
} KmsgOomKill;

/* Pure. 0; -ENOMSG when not a Killed-process line; -EINVAL when truncated or malformed. */
int kmsg_parse_oom_kill(const char *msg, size_t len, KmsgOomKill *ret);

/* A complete report: what the callback of the tracker/reader gets. */
typedef struct KmsgOomReport {
        uint64_t seq;  /* of the Killed-process record */
        uint64_t usec;
        pid_t pid;
        const char *comm;
        const char *constraint; /* NULL when the summary was not seen (lost, or overrun) */
        const char *oom_memcg;  /* NULL for a global OOM or when the summary was not seen */
        const char *task_memcg; /* NULL when the summary was not seen */
        bool memcg_oom;
        uint64_t total_vm_kb, anon_rss_kb, file_rss_kb, shmem_rss_kb, pgtables_kb;
        uid_t uid;
        int oom_score_adj;
} KmsgOomReport;

typedef void (*kmsg_oom_handler_t)(const KmsgOomReport *report, void *userdata);

/* Pure state machine that pairs the summary with the Killed-process record of
 * the same pid, and glues a summary split into continuation records. */
typedef struct KmsgOomTracker {
        char *pending;  /* summary text seen, waiting for its Killed-process record */
        size_t pending_len;
        kmsg_oom_handler_t handler;
        void *userdata;
} KmsgOomTracker;

void kmsg_oom_tracker_init(KmsgOomTracker *t, kmsg_oom_handler_t handler, void *userdata);
void kmsg_oom_tracker_done(KmsgOomTracker *t);
/* Forgets a pending summary (e.g. after records were lost). */
void kmsg_oom_tracker_reset(KmsgOomTracker *t);
/* Feeds one raw /dev/kmsg record. 1 when a report was delivered, 0 when
 * not (yet), -ENOMEM. Malformed records are ignored (0). */
int kmsg_oom_tracker_feed(KmsgOomTracker *t, const char *buf, size_t len);

/* The edge: a non-blocking reader of /dev/kmsg on sd-event. Starts at the
 * end of the buffer (old OOMs are not reported again), survives overruns
 * (EPIPE: the records lost are counted and skipped). */
typedef struct KmsgReader KmsgReader;

/* path: NULL for "/dev/kmsg" (tests may pass another kmsg-like device). */
int kmsg_reader_new(sd_event *e, const char *path, kmsg_oom_handler_t handler, void *userdata,
                    KmsgReader **ret);
KmsgReader *kmsg_reader_free(KmsgReader *r);
/* How many times records were lost to an overrun since start. */
uint64_t kmsg_reader_overruns(const KmsgReader *r);

DEFINE_TRIVIAL_CLEANUP_FUNC(KmsgReader *, kmsg_reader_free);
