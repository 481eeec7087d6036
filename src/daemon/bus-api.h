/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* memqosd's D-Bus API on the system bus: the names both ends use (memqosd,
 * memqosctl). The interfaces are documented in memqosd(8), D-BUS API;
 * `busctl introspect org.memqos1 /org/memqos1` shows them. */

#define MEMQOS_BUS_NAME "org.memqos1"
#define MEMQOS_BUS_PATH "/org/memqos1"
/* One object per unit and group: the prefix, then the name (a group's
 * cgroup path) escaped with sd_bus_path_encode(). */
#define MEMQOS_BUS_UNIT_PREFIX "/org/memqos1/unit"
#define MEMQOS_BUS_MANAGER_INTERFACE "org.memqos1.Manager"
#define MEMQOS_BUS_UNIT_INTERFACE "org.memqos1.Unit"

#define MEMQOS_BUS_ERROR_NO_SUCH_UNIT "org.memqos1.NoSuchUnit"
#define MEMQOS_BUS_ERROR_INVALID_VALUE "org.memqos1.InvalidValue"
#define MEMQOS_BUS_ERROR_NOT_SUPPORTED "org.memqos1.NotSupported"

/* ListUnits(): one struct per unit and group, in name order:
 * name, kind ("unit"/"group"), cgroup, active state, backend, MemoryPriority=
 * (MEMQOS_BUS_PRIORITY_UNSET when unset), usage, limit, wmark_high,
 * wmark_low (bytes, UINT64_MAX for none), reclaimed bytes, reclaim passes,
 * priority kills, OOM kills, threshold crossings (counts since memqosd
 * started following it), the CLOCK_REALTIME usec of its last event (0 for
 * none), that event's kind, and the unit's object path. */
#define MEMQOS_BUS_UNIT_ROW "(sssssutttttttttttso)"
#define MEMQOS_BUS_PRIORITY_UNSET UINT32_MAX

/* KillOrder(s unit-or-cgroup) -> (s cgroup, t cgroups read, a leaves):
 * each leaf (cgroup, branch, branch priority, leaf priority, usage,
 * oom.group, processes (pid, comm, rss bytes, oom_score_adj)) in kill order. */
#define MEMQOS_BUS_KILL_LEAF "(ssuutba(isti))"

/* The buckets (seconds) of memqos_policy_apply_seconds. */
#define MEMQOS_POLICY_LATENCY_BUCKETS { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10 }
#define MEMQOS_POLICY_LATENCY_N_BUCKETS 9
