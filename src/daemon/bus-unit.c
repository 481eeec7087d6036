/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.memqos1.Unit: one object per unit and group, found in the unit table
 * by the name its path encodes. */
#include <assert.h>
#include <errno.h>

#include "basic/util.h"
#include "daemon/bus-api.h"
#include "daemon/bus.h"
#include "daemon/manager-internal.h"
#include "daemon/manager.h"

char *bus_unit_path(const Unit *u) {
        char *path = NULL;
        assert(u);
        return sd_bus_path_encode(MEMQOS_BUS_UNIT_PREFIX, u->name, &path) < 0 ? NULL : path;
}

int bus_unit_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                  sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;

        if (sd_bus_path_decode(path, MEMQOS_BUS_UNIT_PREFIX, &name) <= 0 || isempty_str(name))
                return 0;
        Unit *u = manager_get_unit(m, name);
        if (!u)
                return 0;
        *found = u;
        return 1;
}

typedef struct PathList {
        char **paths;
        size_t n;
        int error;
} PathList;

static void add_path(Unit *u, void *userdata) {
        PathList *l = userdata;
        if (l->error < 0)
                return;
        char *p = bus_unit_path(u);
        if (!p) {
                l->error = -ENOMEM;
                return;
        }
        l->paths[l->n++] = p;
}

int bus_unit_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        PathList l = { .paths = calloc(m->units.n + 1, sizeof(char *)) };

        if (!l.paths)
                return -ENOMEM;
        unit_table_foreach(&m->units, add_path, &l);
        if (l.error < 0) {
                strv_free(l.paths);
                return l.error;
        }
        *nodes = l.paths;
        return 0;
}

const char *bus_unit_backend(const Unit *u) {
        bool kernel = false;
        assert(u);
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if (u->applied.state[k] == APPLY_WRITTEN || u->applied.state[k] == APPLY_IN_PLACE)
                        kernel = true;
        if (u->emulator)
                return kernel ? "kernel+emulated" : "emulated";
        return kernel ? "kernel" : "none";
}

uint64_t bus_unit_usage(Manager *m, const Unit *u) {
        uint64_t usage;
        if (!m->memcg_root || isempty_str(u->control_group))
                return UINT64_MAX;
        _cleanup_close_ int fd = memcg_open(m->memcg_root, u->control_group);
        if (fd < 0 || memcg_read_usage(m->memcg_root, fd, &usage) < 0)
                return UINT64_MAX;
        return usage;
}

static int property_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        const char *v = "";

        if (streq(property, "Name"))
                v = u->name;
        else if (streq(property, "Kind"))
                v = u->kind == UNIT_KIND_GROUP ? "group" : "unit";
        else if (streq(property, "ControlGroup"))
                v = u->control_group ?: "";
        else if (streq(property, "ActiveState"))
                v = u->kind == UNIT_KIND_GROUP ? (isempty_str(u->control_group) ? "inactive" : "active")
                                               : u->active_state ?: "";
        else if (streq(property, "RuleSource"))
                v = u->rule_source ?: "";
        else if (streq(property, "Backend"))
                v = bus_unit_backend(u);
        else if (streq(property, "WatermarkSource"))
                v = u->stats.wmark_from_kernel ? "kernel" : "computed";
        return sd_bus_message_append(reply, "s", v);
}

static int property_u64(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        uint64_t v = 0;

        if (streq(property, "Usage"))
                v = bus_unit_usage(u->manager, u);
        else if (streq(property, "Limit"))
                v = u->limit;
        else if (streq(property, "WatermarkHigh"))
                v = u->announced ? u->stats.wmark_high : UINT64_MAX;
        else if (streq(property, "WatermarkLow"))
                v = u->announced ? u->stats.wmark_low : UINT64_MAX;
        else if (streq(property, "ReclaimedBytes"))
                v = u->stats.reclaimed_bytes;
        else if (streq(property, "ReclaimPasses"))
                v = u->stats.reclaim_passes;
        else if (streq(property, "PriorityKills"))
                v = u->stats.priority_kills;
        else if (streq(property, "OOMKills"))
                v = u->stats.oom_kills;
        else if (streq(property, "OOMs"))
                v = u->stats.ooms;
        else if (streq(property, "ThresholdCrossings"))
                v = u->stats.threshold_crossings;
        else if (streq(property, "NoticesSent"))
                v = u->stats.notices_sent;
        return sd_bus_message_append(reply, "t", v);
}

static int property_priority(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        return sd_bus_message_append(reply, "u",
                                     policy_has(&u->policy, POLICY_MEMORY_PRIORITY) ? u->policy.memory_priority
                                                                                    : MEMQOS_BUS_PRIORITY_UNSET);
}

static int property_thresholds(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        char t[32 * POLICY_THRESHOLDS_MAX];
        policy_format_thresholds(&u->policy, t, sizeof(t));
        return sd_bus_message_append(reply, "s", t);
}

static int property_reserve(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        char t[32];
        policy_format_reserve(&u->policy, t, sizeof(t));
        return sd_bus_message_append(reply, "s", t);
}

/* Per knob: the [X-MemQoS] key, whether memqos wants it, the value wanted,
 * what became of it (written, in-place, unsupported, failed, emulated,
 * unset), the value read back, and the negative errno of a failure. */
static int property_knobs(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        static const PolicyKey keys[_MEMCG_KNOB_MAX] = {
                [MEMCG_PRIORITY] = POLICY_MEMORY_PRIORITY,
                [MEMCG_USE_PRIORITY_OOM] = POLICY_USE_PRIORITY_OOM,
                [MEMCG_WMARK_RATIO] = POLICY_WATERMARK_RATIO,
                [MEMCG_WMARK_SCALE_FACTOR] = POLICY_WATERMARK_SCALE_FACTOR,
        };
        Unit *u = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "(sbtsti)");
        if (r < 0)
                return r;
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                r = sd_bus_message_append(reply, "(sbtsti)", policy_key_to_string(keys[k]), u->desired.want[k],
                                          u->desired.value[k], apply_state_to_string(u->applied.state[k]),
                                          u->applied.current[k], u->applied.error[k]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_sources(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        int r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        if (u->fragment_path && (r = sd_bus_message_append(reply, "s", u->fragment_path)) < 0)
                return r;
        for (char **p = u->dropin_paths; p && *p; p++)
                if ((r = sd_bus_message_append(reply, "s", *p)) < 0)
                        return r;
        return sd_bus_message_close_container(reply);
}

/* The last events, newest first: (CLOCK_REALTIME usec, kind, message). */
static int property_events(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Unit *u = userdata;
        const UnitEvent *ev;
        int r = sd_bus_message_open_container(reply, 'a', "(tss)");
        if (r < 0)
                return r;
        for (size_t i = 0; (ev = unit_stats_event(&u->stats, i)); i++)
                if ((r = sd_bus_message_append(reply, "(tss)", ev->realtime_usec, ev->kind, ev->message)) < 0)
                        return r;
        return sd_bus_message_close_container(reply);
}

#define STRING_PROPERTY(name) SD_BUS_PROPERTY(name, "s", property_string, 0, 0)
#define U64_PROPERTY(name) SD_BUS_PROPERTY(name, "t", property_u64, 0, 0)

const sd_bus_vtable bus_unit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        STRING_PROPERTY("Name"),
        STRING_PROPERTY("Kind"),
        STRING_PROPERTY("ControlGroup"),
        STRING_PROPERTY("ActiveState"),
        STRING_PROPERTY("RuleSource"),
        STRING_PROPERTY("Backend"),
        SD_BUS_PROPERTY("Files", "as", property_sources, 0, 0),
        SD_BUS_PROPERTY("MemoryPriority", "u", property_priority, 0, 0),
        SD_BUS_PROPERTY("MemoryThresholds", "s", property_thresholds, 0, 0),
        SD_BUS_PROPERTY("MemoryReserve", "s", property_reserve, 0, 0),
        SD_BUS_PROPERTY("Knobs", "a(sbtsti)", property_knobs, 0, 0),
        U64_PROPERTY("Usage"),
        U64_PROPERTY("Limit"),
        U64_PROPERTY("WatermarkHigh"),
        U64_PROPERTY("WatermarkLow"),
        STRING_PROPERTY("WatermarkSource"),
        U64_PROPERTY("ReclaimedBytes"),
        U64_PROPERTY("ReclaimPasses"),
        U64_PROPERTY("PriorityKills"),
        U64_PROPERTY("OOMKills"),
        U64_PROPERTY("OOMs"),
        U64_PROPERTY("ThresholdCrossings"),
        U64_PROPERTY("NoticesSent"),
        SD_BUS_PROPERTY("LastEvents", "a(tss)", property_events, 0, 0),
        SD_BUS_VTABLE_END,
};
