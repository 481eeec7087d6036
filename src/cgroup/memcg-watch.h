/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Threshold and OOM watches on one memcg, driven by sd-event.
 *
 * v1 (legacy/hybrid memory hierarchy): the kernel notifies.
 *   - Thresholds: one eventfd for all the watch's thresholds, registered
 *     once per threshold through cgroup.event_control on
 *     memory.usage_in_bytes (the file's fd is closed after the write: the
 *     kernel keeps the registration until the eventfd is closed). The kernel checks the
 *     thresholds every 128 page charges/uncharges per CPU, so a crossing is
 *     seen within 512 KiB (per CPU) of it. Measured on 6.18 (tests/host/
 *     test-watch-host.c): 0.2-4 ms from the allocator seeing usage past the
 *     threshold to our callback. Each registration costs the writer an RCU
 *     grace period in the kernel (synchronize_rcu(), 10-15 ms here), so
 *     memcg_watch_set_thresholds() registers nothing when the set is
 *     unchanged; a changed set is registered whole on a new eventfd.
 *     The kernel signals both directions; we read the usage and compare it
 *     with the side of the threshold last seen, so only real crossings are
 *     reported, in order (ascending up, descending down). A crossing and its
 *     return that both happen before we read the usage cancel out.
 *   - OOM: an eventfd on memory.oom_control. The kernel signals before the
 *     OOM killer picks its victim, so the report is sent WATCH_OOM_SETTLE_USEC
 *     later, with the oom_kill count of memory.oom_control by then.
 * v2 (unified): no threshold notification exists.
 *   - Thresholds: memory.current is sampled every sample interval (default
 *     1 s, memqos.conf), only while the watch has thresholds: a watch without
 *     thresholds has no timer. Latency: up to one interval. A change of
 *     memory.events (high/max hit, i.e. the cgroup is at its limit) triggers
 *     a sample at once, so the thresholds that matter most (near the limit)
 *     are seen without waiting for the timer.
 *   - OOM: memory.events and memory.events.local by inotify IN_MODIFY, in
 *     one inotify instance shared by every watch of the sd_event; the
 *     deltas of oom, oom_kill and max are reported. Latency: the inotify
 *     wake-up, i.e. immediate.
 * A threshold already exceeded when it is set is learned, not reported:
 * events are crossings seen while watching.
 * Removal: v1 signals every registered eventfd once when the cgroup is
 * removed, and its files then fail to read (ENODEV/ENOENT); v2 drops the
 * inotify watches (IN_IGNORED). Either way the watch releases every fd and
 * event source at once and calls the removed callback; the caller still
 * frees the MemcgWatch (from the callback or later). Measured on 6.18 v1:
 * 20-30 ms from rmdir to the removed callback (the kernel signals from the
 * css offline work, after an RCU grace period). A unit restarted gets a new
 * cgroup: the caller makes a new watch. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "basic/util.h"
#include "cgroup/memcg.h"
#include "cgroup/threshold.h"
#include "conf/policy.h"

#define WATCH_SAMPLE_USEC_DEFAULT (1000 * 1000ULL)
#define WATCH_OOM_SETTLE_USEC (50 * 1000ULL)

typedef enum MemcgWatchEventType {
        MEMCG_WATCH_THRESHOLD,
        MEMCG_WATCH_OOM,
        MEMCG_WATCH_REMOVED,
} MemcgWatchEventType;

typedef struct MemcgWatchEvent {
        MemcgWatchEventType type;
        const char *cgroup;
        uint64_t usage; /* bytes; MEMCG_UNLIMITED when it could not be read */
        uint64_t limit; /* bytes; MEMCG_UNLIMITED when none */

        /* MEMCG_WATCH_THRESHOLD */
        uint64_t threshold;
        ThresholdDirection direction;

        /* MEMCG_WATCH_OOM: counters now and what changed since the last report.
         * v2: hierarchical from memory.events, local from memory.events.local;
         * v1: oom_control is hierarchical, local stays zero. */
        MemcgOomCounters oom_total, oom_delta, oom_local_delta;
        bool under_oom; /* v1: the memcg was still under OOM at the report */
} MemcgWatchEvent;

typedef struct MemcgWatch MemcgWatch;

typedef void (*memcg_watch_handler_t)(MemcgWatch *w, const MemcgWatchEvent *ev, void *userdata);

typedef struct MemcgWatchCallbacks {
        memcg_watch_handler_t threshold;
        memcg_watch_handler_t oom;
        memcg_watch_handler_t removed; /* the watch is inert when this runs */
} MemcgWatchCallbacks;

/* root must outlive the watch; cb is copied. -ENOENT when the cgroup does not
 * exist. A new watch has no thresholds and no OOM watch: it costs one fd.
 * Fully armed it costs, v1: 3 (dirfd, thresholds' eventfd, OOM eventfd);
 * v2: 1 (dirfd). */
int memcg_watch_new(sd_event *e, const MemcgRoot *root, const char *cgroup,
                    const MemcgWatchCallbacks *cb, void *userdata, MemcgWatch **ret);
/* Safe from inside the watch's own callbacks. */
MemcgWatch *memcg_watch_free(MemcgWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(MemcgWatch *, memcg_watch_free);

/* Replaces the thresholds (bytes, any order; duplicates and 0 dropped). A
 * threshold kept keeps its side, so a re-registration after a limit change
 * does not report again what was reported. n = 0 removes them all (and on v2
 * the sampling timer). On failure the old set stays in force. -ENODEV when
 * the cgroup was removed. */
int memcg_watch_set_thresholds(MemcgWatch *w, const uint64_t *bytes, size_t n);
/* v2 sampling interval; ignored on v1. */
int memcg_watch_set_sample_interval(MemcgWatch *w, uint64_t usec);
/* Starts watching OOMs; counters seen now are the baseline. Idempotent. */
int memcg_watch_enable_oom(MemcgWatch *w);

const char *memcg_watch_cgroup(const MemcgWatch *w);
/* The watch's fd of the cgroup directory, for reads by its owner (which need
 * not open one of its own); -1 once the cgroup was removed. */
int memcg_watch_dirfd(const MemcgWatch *w);
bool memcg_watch_oom_enabled(const MemcgWatch *w);
bool memcg_watch_is_removed(const MemcgWatch *w);
/* Fds the watch holds alone now (dirfd, eventfds; not the inotify instance
 * all watches of an sd_event share): for tests and the Manager's accounting. */
size_t memcg_watch_n_fds(const MemcgWatch *w);
