/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A Unit: what memqosd follows, a systemd unit or a [Group] cgroup, with
 * the parts that act on its cgroup; and the UnitTable of all of them, by
 * name. The table only finds; making, applying and freeing units is the
 * Manager's. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "cgroup/limitwatch.h"
#include "cgroup/memcg-watch.h"
#include "cgroup/memcg.h"
#include "conf/policy.h"
#include "daemon/refresh-queue.h"
#include "emulate/emulator.h"

typedef struct Manager Manager;
typedef struct SystemdClient SystemdClient;

/* What a Unit stands for: a systemd unit, or a cgroup that [Group] rules of
 * memqos.conf match (kubelet's cgroupfs driver, runtimes, hosts without
 * systemd). Groups are keyed by their cgroup path, which never collides with
 * a unit name. */
typedef enum UnitKind {
        UNIT_KIND_SYSTEMD,
        UNIT_KIND_GROUP,
} UnitKind;

/* What happened to a unit, for the D-Bus API, the metrics and the state
 * file: counters since memqosd started following it, and its last events. */
#define UNIT_EVENTS_KEPT 8
typedef struct UnitEvent {
        uint64_t realtime_usec;
        const char *kind;   /* event_kind(): static */
        char *message;
} UnitEvent;

typedef struct UnitStats {
        uint64_t reclaimed_bytes, reclaim_passes;
        uint64_t priority_kills, oom_kills, ooms;
        uint64_t threshold_crossings;
        uint64_t notices_sent; /* notices queued to the unit's pressure-socket clients (one per client told) */
        uint64_t wmark_high, wmark_low; /* as last put in force */
        bool wmark_from_kernel;
        uint64_t active_since_usec;     /* CLOCK_MONOTONIC: the cgroup seen, its policy not yet in force */
        UnitEvent events[UNIT_EVENTS_KEPT]; /* a ring, the oldest at next when full */
        size_t n_events, next;
} UnitStats;

/* Adds an event to the ring (message copied; dropped when out of memory). */
void unit_stats_add_event(UnitStats *s, uint64_t realtime_usec, const char *kind, const char *message);
/* The i-th newest event (0: the last), or NULL. */
const UnitEvent *unit_stats_event(const UnitStats *s, size_t i);
void unit_stats_done(UnitStats *s);

typedef struct Unit {
        Manager *manager;
        UnitKind kind;
        char *name;             /* the unit's name, or the group's cgroup path */
        char *active_state;
        char *control_group;    /* NULL or "" while the unit has no cgroup */
        char *fragment_path;
        char **dropin_paths;

        Policy own_policy;      /* from the unit's own files (systemd units) */
        bool own_policy_valid;  /* own_policy was parsed at least once */
        Policy policy;          /* in force: own_policy over the matching rules */
        unsigned rule_overridden_said; /* rule keys the unit's own settings override, as last said */
        char *rule_source;      /* "file:line" of the last matching [Group] rule */
        char *state_name;       /* groups: the escaped cgroup path naming the state file */
        bool parent_only;       /* groups: no rule matches it, followed as the parent of groups
                                 * with MemoryPriority= (ParentUsePriorityOOM=) */
        char *diagnostics_said; /* the diagnostics already logged, to say each once */

        MemcgDesired desired;
        MemcgApplied applied;
        unsigned written_mask;  /* knobs memqos wrote to this cgroup instance */
        bool announced;         /* the policy event was sent for this cgroup instance */
        Policy announced_policy;
        uint64_t limit;         /* last limit seen in the memcg */
        bool has_state_file;
        UnitStats stats;

        /* thresholds and OOMs of the cgroup (memcg-watch.c) */
        MemcgWatch *watch;
        /* registered, resolved against limit: MemoryThresholds=, NoticeThresholds=
         * and the pressure-socket clients' own */
#define UNIT_WATCH_THRESHOLDS_MAX (2 * POLICY_THRESHOLDS_MAX + 32)
        uint64_t threshold_bytes[UNIT_WATCH_THRESHOLDS_MAX];
        size_t n_threshold_bytes;
        bool oom_watch_unavailable;

        /* writes to the cgroup's limit files, while its policy depends on the limit */
        LimitWatch *limit_watch;

        /* memqosd's own reclaim and pre-emptive kill (emulate/), NULL when neither applies */
        Emulator *emulator;

        /* systemd says the unit is active but its cgroup is not there: look
         * again (apply_cgroup_retry_delay_usec()) */
        sd_event_source *cgroup_retry;
        unsigned cgroup_retries;

        /* bus bookkeeping (systemd.c) */
        SystemdClient *systemd; /* whose refresh queue it was put in, NULL before */
        sd_bus_slot *slot_unit, *slot_type;
        unsigned pending;       /* GetAll answers still to come of the one refresh on the bus */
        sd_bus_message *answers[2]; /* of slot_unit and slot_type, read when both are in */
        bool refresh_gone;      /* an answer said the unit is gone */
        bool refresh_failed;    /* an answer was another error: ask again later */
        RefreshEntry refresh;   /* its place in Manager.refresh_queue */
        uint64_t generation;
        bool seen;              /* mark for the mark-and-sweep of a resync */
} Unit;

/* OBJECT_SYSTEMD_UNIT= of messages about u: none for groups. */
static inline const char *unit_object(const Unit *u) {
        return u && u->kind == UNIT_KIND_SYSTEMD ? u->name : NULL;
}

typedef struct UnitTable {
        void *root; /* tsearch() tree of Unit by name */
        size_t n;
} UnitTable;

/* The unit called name, or NULL. */
Unit *unit_table_get(const UnitTable *t, const char *name);
/* Adds u (its name set, none of that name in t yet). 0 or -ENOMEM. */
int unit_table_add(UnitTable *t, Unit *u);
/* Takes u out of t; u itself is the caller's to free. */
void unit_table_remove(UnitTable *t, Unit *u);
/* Takes every unit out, calling free_unit on each. */
void unit_table_clear(UnitTable *t, void (*free_unit)(void *u));
/* f on each unit, in name order; f must not add or remove units. */
void unit_table_foreach(const UnitTable *t, void (*f)(Unit *u, void *userdata), void *userdata);

/* A systemd unit not seen by the list of the given generation, or NULL. */
Unit *unit_table_find_stale(const UnitTable *t, uint64_t generation);
/* A unit whose cgroup is cgroup (only systemd units when systemd_only), or NULL. */
Unit *unit_table_get_by_cgroup(const UnitTable *t, const char *cgroup, bool systemd_only);
/* The deepest unit whose cgroup contains cgroup (is it or above it), or NULL. */
Unit *unit_table_deepest_for_cgroup(const UnitTable *t, const char *cgroup);
/* A unit with MemoryPriority= whose cgroup is a direct child of cgroup, or NULL. */
Unit *unit_table_prioritized_child(const UnitTable *t, const char *cgroup);
