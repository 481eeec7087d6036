/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What memqosctl shows of memqosd's units and of memqosd itself, as a
 * table, as JSON, and as Prometheus text exposition. Pure: the data as read
 * from the bus (bus-api.h ListUnits, Manager properties) in, text out. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct UnitRow {
        const char *name, *kind, *cgroup, *active, *backend;
        uint32_t priority; /* UINT32_MAX: unset */
        uint64_t usage, limit, wmark_high, wmark_low; /* UINT64_MAX: none */
        uint64_t reclaimed_bytes, reclaim_passes, priority_kills, oom_kills, threshold_crossings, notices_sent;
        uint64_t last_event_usec; /* CLOCK_REALTIME, 0: none */
        const char *last_event;
        const char *path;
} UnitRow;

#define DAEMON_BUCKETS_MAX 16

typedef struct DaemonInfo {
        const char *version, *reclaim_backend, *oom_backend, *layout;
        bool follow_systemd;
        uint32_t n_units;
        /* memqos_policy_apply_seconds: upper bounds and cumulative counts */
        double bucket_le[DAEMON_BUCKETS_MAX];
        uint64_t bucket_count[DAEMON_BUCKETS_MAX];
        size_t n_buckets;
        double latency_sum;
        uint64_t latency_count;
} DaemonInfo;

/* `memqosctl list`: UNIT KIND ACTIVE PRIO USAGE LIMIT WMARK-HIGH BACKEND LAST-EVENT. */
int report_units_table(const UnitRow *rows, size_t n, bool legend, FILE *f);
void report_units_json(const UnitRow *rows, size_t n, bool pretty, FILE *f);

/* The Prometheus text exposition format 0.0.4 of memqosd: build and
 * backend info, the policy latency histogram, and per unit and group
 * (labels unit=, kind=) usage, limit, watermarks, priority and the
 * counters. Unlimited limits and absent watermarks are left out (no
 * sample) rather than written as +Inf, so that sums and ratios stay finite.
 * version_ctl: memqosctl's own version, for build_info. */
int report_metrics(const DaemonInfo *d, const UnitRow *rows, size_t n, const char *version_ctl, FILE *f);

/* A Prometheus label value, escaped (\\, \", \n) into f. */
void report_label_value(FILE *f, const char *s);
