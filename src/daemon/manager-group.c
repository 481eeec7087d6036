/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager, one aspect: the cgroups that [Group] rules match, found by
 * the cgroup watcher, followed as units of their own. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/log.h"
#include "basic/state-dir.h"
#include "cgroup/memcg-watch.h"
#include "config-paths.h"
#include "daemon/apply.h"
#include "daemon/desired.h"
#include "daemon/events.h"
#include "daemon/manager.h"
#include "daemon/manager-internal.h"
#include "daemon/state.h"
#include "daemon/summary.h"
#include "daemon/systemd.h"
#include "emulate/squeeze.h"


/* --- groups: cgroups that [Group] rules match ----------------------------------------------- */

/* Whether a cgroup that no rule matches is followed all the same, as the
 * parent of groups with MemoryPriority=: the priorities choose a victim only
 * where the OOM (or memqosd's pre-emptive kill) happens, and with the
 * README's [Group /batch/<glob>] MemoryPriority=1 that is /batch, at its limit.
 * As ParentUsePriorityOOM= does for a slice, it gets use_priority_oom and
 * memqosd's kill watch. Not the root: its limit is the machine's. */
static bool group_wanted_as_parent(Manager *m, const char *cgroup) {
        if (!m->config.parent_use_priority_oom || streq(cgroup, "/") ||
            unit_table_get_by_cgroup(&m->units, cgroup, /* systemd_only= */ true))
                return false;
        return unit_table_prioritized_child(&m->units, cgroup);
}

/* Once per parent: jobs that come and go make it followed and let go again. */
static void group_say_parent_only(Manager *m, Unit *g) {
        size_t n = strv_length(m->parents_said);
        char **l;

        for (size_t i = 0; i < n; i++)
                if (streq(m->parents_said[i], g->control_group))
                        return;
        l = reallocarray(m->parents_said, n + 2, sizeof(char *));
        if (!l)
                return;
        m->parents_said = l;
        l[n] = strdup(g->control_group);
        l[n + (l[n] ? 1 : 0)] = NULL;

        log_unit_info(NULL, g->control_group,
                      "No [Group] rule matches %s, but groups below it have MemoryPriority=: following it as their "
                      "parent (ParentUsePriorityOOM=), with use_priority_oom and the priority kill at its limit%s.",
                      g->control_group,
                      g->limit == MEMCG_UNLIMITED ? "; it has no limit yet, so the priorities take effect only once it has one" : "");
}

void manager_group_update(Manager *m, const char *cgroup) {
        Unit *g = manager_get_unit(m, cgroup);
        bool parent_only = false, new_parent_only;
        Policy p;

        if (rules_match(&m->rules, cgroup, &p, NULL) <= 0) {
                parent_only = group_wanted_as_parent(m, cgroup);
                if (!parent_only) {
                        /* No rule (any more): leave the cgroup as it is, forget it;
                         * but a flag memqosd set of its own accord goes back first. */
                        if (g && g->kind == UNIT_KIND_GROUP) {
                                if (g->parent_only && g->written_mask != 0)
                                        unit_apply(m, g);
                                manager_unit_cgroup_gone(m, g);
                                manager_remove_unit(m, g);
                        }
                        return;
                }
        }

        if (!g) {
                if (manager_add_unit(m, cgroup, &g) < 0)
                        return;
                g->kind = UNIT_KIND_GROUP;
                if (cgroup_path_escape(cgroup, &g->state_name) < 0 ||
                    !(g->control_group = strdup(cgroup)) || !(g->active_state = strdup("active"))) {
                        manager_remove_unit(m, g);
                        return;
                }
        }
        new_parent_only = parent_only && !g->parent_only;
        g->parent_only = parent_only;
        manager_unit_changed(m, g);
        if (new_parent_only)
                group_say_parent_only(m, g);
}

static void on_cgroup_event(const char *cgroup, bool appeared, void *userdata) {
        Manager *m = userdata;
        Unit *g;

        if (appeared) {
                manager_group_update(m, cgroup);
                return;
        }
        g = manager_get_unit(m, cgroup);
        if (g && g->kind == UNIT_KIND_GROUP) {
                manager_unit_cgroup_gone(m, g);
                manager_remove_unit(m, g);
        }
}

static void group_rematch(const char *cgroup, void *userdata) {
        manager_group_update(userdata, cgroup);
}

/* Reads the [Group] rules of memqos.conf and its drop-ins into *ret. */
int manager_read_rules(Manager *m, RuleSet *ret, Diagnostics *diags) {
        _cleanup_free_ char *dropin_dir = NULL;
        int r;

        if (asprintf(&dropin_dir, "%s.d", m->config_path) < 0)
                return -ENOMEM;
        r = rules_load(m->config_path, dropin_dir, ret, diags);
        if (r < 0)
                return log_error_errno(r, "Cannot load the [Group] rules: %m");
        return 0;
}

/* Loads the [Group] rules at start: the valid ones of every readable file. */
int manager_load_rules(Manager *m) {
        _cleanup_(diagnostics_done) Diagnostics d = {};
        RuleSet rs = {};
        int r;

        r = manager_read_rules(m, &rs, &d);
        event_config_invalid(&d, LOG_WARNING, "");
        if (r < 0)
                return r;
        ruleset_done(&m->rules);
        m->rules = rs;
        return 0;
}

/* Follows the cgroups below the rules' roots; after a reload, re-matches them. */
int manager_setup_groups(Manager *m) {
        _cleanup_strv_free_ char **roots = NULL;
        int r;

        if (!m->memcg_root)
                return 0;
        r = rules_watch_roots(&m->rules, &roots);
        if (r < 0)
                return r;

        if (!m->cgroup_watcher) {
                if (strv_length(roots) == 0)
                        return 0;
                r = cgroup_watcher_new(m->event, m->memcg_root, roots, on_cgroup_event, m, &m->cgroup_watcher);
                if (r < 0)
                        return log_error_errno(r, "Cannot follow the cgroups of the [Group] rules: %m");
                log_info("Following the cgroups below %zu %s for %zu [Group] %s.", strv_length(roots),
                         plural(strv_length(roots), "root", "roots"), m->rules.n, plural(m->rules.n, "rule", "rules"));
                return 0;
        }

        r = cgroup_watcher_set_roots(m->cgroup_watcher, roots);
        if (r < 0)
                log_warning_errno(r, "Could not rescan the cgroups of the [Group] rules: %m");
        cgroup_watcher_foreach(m->cgroup_watcher, group_rematch, m);
        return 0;
}
