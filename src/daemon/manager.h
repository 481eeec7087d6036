/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Manager routes events: the systemd client (systemd.h) and the
 * cgroup watcher tell it about units and groups, it asks policy.c and
 * desired.c what they want, has memcg.c write it, and events.c say it. It
 * owns the unit table, the watches, the Emulators and the systemd client;
 * each reports to it through a callback table. */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/ratelimit.h"
#include "cgroup/cgroup-watcher.h"
#include "cgroup/kmsg.h"
#include "cgroup/limitwatch.h"
#include "cgroup/memcg-watch.h"
#include "cgroup/memcg.h"
#include "conf/config.h"
#include "conf/policy.h"
#include "conf/rules.h"
#include "daemon/bus-api.h"
#include "daemon/pressure-server.h"
#include "daemon/unit.h"
#include "emulate/emulator.h"

/* The most units and groups followed at once: a bound on the memory that
 * systemd's signals or a cgroup tree can make memqosd spend (a Unit with its
 * policy is about 1 KiB). */
#define MANAGER_UNITS_MAX 65536

struct Manager {
        sd_event *event;

        char *config_path;
        Config config;

        char *sysfs_cgroup;    /* normally /sys/fs/cgroup */
        char *cgroup_root;     /* the memory hierarchy itself (--cgroup-root), or NULL to detect */
        bool follow_systemd;   /* false with --no-systemd: the [Group] rules alone */
        RuleSet rules;         /* [Group] rules of memqos.conf and memqos.conf.d/ */
        CgroupWatcher *cgroup_watcher; /* the cgroups below the rules' roots */
        LimitWatcher *limit_watcher;   /* limit writes, for every unit and group that cares */
        char **parents_pending;        /* parents of prioritized groups to (stop to) follow */
        sd_event_source *parents_source;
        char **parents_said;           /* the parents followed so already said, to say each once */
        MemcgRoot *memcg_root; /* NULL when there is no memory controller */
        char *state_dir;       /* /run/memqos: units/, groups/ and squeeze/ below it */
        int state_dir_fd;      /* it, opened and checked by state-dir.h; -1 until then */
        int unit_state_fd, group_state_fd; /* units/ and groups/: -1 when not open */
        uint64_t page_size;    /* the kernel's (sysconf(_SC_PAGESIZE)): it keeps limits in these */

        UnitTable units;       /* at most MANAGER_UNITS_MAX */
        bool units_max_said;
        sd_event_source *status_source; /* STATUS= with n_units, soon */

        SystemdClient *systemd; /* NULL with --no-systemd */
        bool ready_sent;

        KmsgReader *kmsg;      /* names OOM victims; NULL with WatchOOM=no */
        RateLimit *ratelimit;  /* threshold and OOM events, per unit and threshold */

        /* How reclaim and the priority OOM are put in force (memqos.conf
         * [Reclaim] and [OOM] Backend=, and what this kernel has). */
        FeatureMode reclaim_mode, oom_mode;
        char *backend_said[2]; /* the BACKEND event last sent per feature */
        char *squeeze_dir;     /* <state dir>/squeeze: records of v1 limit squeezes (for messages) */
        int squeeze_fd;        /* it, open; -1 when not */

        bool feature_missing_said[_MEMCG_KNOB_MAX];
        bool feature_missing_pending[_MEMCG_KNOB_MAX];
        sd_event_source *feature_report_source;
        sd_event_source *groups_folded_source; /* says the group policies the rate limit folded */

        /* The pressure socket (memqos-pressure(7)): NULL when it could not be
         * set up or there is no memory controller. */
        PressureServer *pressure;

        /* The D-Bus API (bus.h): NULL without a system bus. */
        sd_bus *api_bus;
        /* memqos_policy_apply_seconds: from a unit active to its policy in
         * force, per bucket of MEMQOS_POLICY_LATENCY_BUCKETS (not cumulative). */
        uint64_t policy_latency_counts[MEMQOS_POLICY_LATENCY_N_BUCKETS + 1];
        uint64_t policy_latency_count, policy_latency_sum_usec;
};

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}

/* At start: the settings, then the rules, of memqos.conf and its drop-ins,
 * each with its problems diagnosed (see config_verdict()). */
int manager_load_config(Manager *m);
int manager_load_rules(Manager *m);
int manager_start(Manager *m);
int manager_reload(Manager *m);
/* Puts back the v1 limits that a stopped memqosd left squeezed (emulate/squeeze.h).
 * 0, or -EIO when some records could not be acted on (they stay and are
 * named), or the error of a state directory that is refused (state-dir.h). */
int manager_restore_limits(Manager *m);

/* The unit table. */
Unit *manager_get_unit(Manager *m, const char *name);
int manager_add_unit(Manager *m, const char *name, Unit **ret);
void manager_remove_unit(Manager *m, Unit *u);
void manager_unit_unloaded(Manager *m, Unit *u);

/* Fresh properties of an active unit, or it lost its cgroup (what the
 * systemd client and the cgroup watcher report). */
void manager_unit_changed(Manager *m, Unit *u);
/* The unit stopped: its cgroup is gone (or going). */
void manager_unit_cgroup_gone(Manager *m, Unit *u);

/* Called when the initial (or a re-) synchronisation with systemd finished. */
void manager_synced(Manager *m);
