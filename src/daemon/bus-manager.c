/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.memqos1.Manager on /org/memqos1: the connection to the system bus,
 * the list of units and groups, the kill order as a dry run, Reload,
 * SetProperties, and the Event signal of every journal event. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "conf/policy-set.h"
#include "config-paths.h"
#include "daemon/bus-api.h"
#include "daemon/bus.h"
#include "daemon/events.h"
#include "daemon/manager-internal.h"
#include "daemon/manager.h"
#include "daemon/systemd.h"

#define KILL_ORDER_LEAVES_MAX 64

/* ---- who may write ---- */

/* Writes need root: the sender's effective uid as the bus itself knows it
 * (dbus-daemon from SO_PEERCRED), never what the message says. */
static int check_root(sd_bus_message *message, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return r;
        if (uid != 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED, "Only root may change memqosd's settings.");
        return 1;
}

/* ---- the events, as signals ---- */

static Unit *unit_of_event(Manager *m, const LogEvent *ev) {
        Unit *u = ev->unit ? manager_get_unit(m, ev->unit) : NULL;
        if (!u && ev->cgroup)
                u = manager_get_unit(m, ev->cgroup) ?: unit_table_get_by_cgroup(&m->units, ev->cgroup, false);
        return u;
}

/* What the watches and the Emulators report, after the unit's policy was
 * put in force: the state file then says it (the events of a policy being
 * put in force come while unit_apply() writes it anyway). */
static bool event_updates_state(const char *kind) {
        return streq(kind, "threshold") || streq(kind, "oom") || streq(kind, "oom-kill") || streq(kind, "reclaim") ||
               streq(kind, "reclaim-folded") || streq(kind, "priority-kill");
}

static int append_fields(sd_bus_message *s, char *const *fields) {
        int r = sd_bus_message_open_container(s, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char *const *f = fields; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                if (!eq)
                        continue;
                _cleanup_free_ char *key = strndup(*f, (size_t) (eq - *f));
                if (!key)
                        return -ENOMEM;
                r = sd_bus_message_append(s, "{ss}", key, eq + 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(s);
}

static void on_event(const LogEvent *ev, void *userdata) {
        Manager *m = userdata;
        const char *kind = event_kind(ev->message_id);
        if (!kind)
                return;

        Unit *u = unit_of_event(m, ev);
        if (u) {
                unit_stats_add_event(&u->stats, clock_usec(CLOCK_REALTIME), kind, ev->message);
                if (u->has_state_file && u->announced && event_updates_state(kind))
                        unit_write_state(m, u, NULL);
        }
        if (!m->api_bus)
                return;

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
        int r = sd_bus_message_new_signal(m->api_bus, &s, MEMQOS_BUS_PATH, MEMQOS_BUS_MANAGER_INTERFACE, "Event");
        if (r >= 0)
                r = sd_bus_message_append(s, "sssss", kind, u ? u->name : ev->unit ?: ev->cgroup ?: "",
                                          ev->cgroup ?: "", ev->message_id, ev->message ?: "");
        if (r >= 0)
                r = append_fields(s, ev->fields);
        if (r >= 0)
                r = sd_bus_send(m->api_bus, s, NULL);
        if (r < 0)
                /* Not log_*() with a MESSAGE_ID: that would come back here. */
                log_debug_errno(r, "Cannot send the Event signal: %m");
}

/* ---- methods ---- */

static void unit_priority_and_last(const Unit *u, uint32_t *ret_priority, const UnitEvent **ret_last) {
        *ret_priority = policy_has(&u->policy, POLICY_MEMORY_PRIORITY) ? u->policy.memory_priority
                                                                      : MEMQOS_BUS_PRIORITY_UNSET;
        *ret_last = unit_stats_event(&u->stats, 0);
}

typedef struct ListContext {
        Manager *m;
        sd_bus_message *reply;
        int error;
} ListContext;

static void list_one(Unit *u, void *userdata) {
        ListContext *c = userdata;
        uint32_t priority;
        const UnitEvent *last;

        if (c->error < 0)
                return;
        _cleanup_free_ char *path = bus_unit_path(u);
        if (!path) {
                c->error = -ENOMEM;
                return;
        }
        unit_priority_and_last(u, &priority, &last);
        const char *active = u->kind == UNIT_KIND_GROUP ? (isempty_str(u->control_group) ? "inactive" : "active")
                                                        : u->active_state ?: "";
        c->error = sd_bus_message_append(c->reply, MEMQOS_BUS_UNIT_ROW, u->name,
                                         u->kind == UNIT_KIND_GROUP ? "group" : "unit", u->control_group ?: "",
                                         active, bus_unit_backend(u), priority, bus_unit_usage(c->m, u), u->limit,
                                         u->announced ? u->stats.wmark_high : UINT64_MAX,
                                         u->announced ? u->stats.wmark_low : UINT64_MAX, u->stats.reclaimed_bytes,
                                         u->stats.reclaim_passes, u->stats.priority_kills, u->stats.oom_kills,
                                         u->stats.threshold_crossings, u->stats.notices_sent,
                                         last ? last->realtime_usec : 0,
                                         last ? last->kind : "", path);
}

static int method_list_units(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', MEMQOS_BUS_UNIT_ROW);
        if (r < 0)
                return r;
        ListContext c = { .m = m, .reply = reply };
        unit_table_foreach(&m->units, list_one, &c);
        if (c.error < 0)
                return c.error;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A unit or group by its name, or by its cgroup. */
static Unit *manager_find(Manager *m, const char *name) {
        return manager_get_unit(m, name) ?: (name[0] == '/' ? unit_table_get_by_cgroup(&m->units, name, false) : NULL);
}

static int method_get_unit(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        Unit *u = manager_find(m, name);
        if (!u)
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_NO_SUCH_UNIT, "memqosd follows no unit or group %s.",
                                         name);
        _cleanup_free_ char *path = bus_unit_path(u);
        if (!path)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", path);
}

static bool cgroup_path_plain(const char *p) {
        /* Absolute, no "." or ".." component: below the memory hierarchy's root. */
        if (p[0] != '/' || strstr(p, "//"))
                return false;
        for (const char *c = p; c; c = strchr(c + 1, '/'))
                if (streq(c, "/.") || streq(c, "/..") || !strncmp(c, "/./", 3) || !strncmp(c, "/../", 4))
                        return false;
        return true;
}

static int append_kill_order(sd_bus_message *reply, const char *cgroup, const EmulatorKillOrder *o) {
        int r = sd_bus_message_append(reply, "st", cgroup, (uint64_t) o->n_read);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', MEMQOS_BUS_KILL_LEAF);
        for (size_t i = 0; r >= 0 && i < o->n_leaves; i++) {
                const EmulatorKillLeaf *l = &o->leaves[i];
                r = sd_bus_message_open_container(reply, 'r', "ssuutba(isti)");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssuutb", l->cgroup, l->branch, l->branch_priority,
                                                  l->priority, l->usage, l->oom_group);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "(isti)");
                for (size_t j = 0; r >= 0 && j < l->n_procs; j++)
                        r = sd_bus_message_append(reply, "(isti)", (int32_t) l->procs[j].pid, l->procs[j].comm,
                                                  l->procs[j].rss, (int32_t) l->procs[j].oom_score_adj);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int method_kill_order(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *target, *cgroup;
        int r = sd_bus_message_read(message, "s", &target);
        if (r < 0)
                return r;

        Unit *u = manager_get_unit(m, target);
        if (u)
                cgroup = u->control_group;
        else if (target[0] == '/' && cgroup_path_plain(target))
                cgroup = target;
        else
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_NO_SUCH_UNIT,
                                         "%s is neither a unit or group memqosd follows nor a cgroup path.", target);
        if (isempty_str(cgroup))
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_NO_SUCH_UNIT, "%s has no cgroup now.", target);

        _cleanup_(emulator_kill_order_done) EmulatorKillOrder o = {};
        r = emulator_kill_order(m->memcg_root, cgroup, manager_cgroup_priority, m, KILL_ORDER_LEAVES_MAX, &o);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_NO_SUCH_UNIT, "No memory cgroup %s.", cgroup);
        if (r == -E2BIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "The subtree of %s is beyond the kill's bound: the kill would not act.",
                                         cgroup);
        if (r < 0)
                return r;

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = append_kill_order(reply, cgroup, &o);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r = check_root(message, error);
        if (r <= 0)
                return r;
        r = manager_reload(userdata);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

/* Writes path with text (or removes it for NULL), by way of a temporary
 * file and rename(), making the UNIT.d directory. */
static int dropin_write(const PolicySetFile *f) {
        _cleanup_free_ char *dir = strdup(f->path), *tmp = NULL;
        if (!dir)
                return -ENOMEM;
        *strrchr(dir, '/') = '\0';
        if (!f->text)
                return unlink(f->path) < 0 && errno != ENOENT ? -errno : 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        if (asprintf(&tmp, "%s.#memqos", f->path) < 0)
                return -ENOMEM;
        _cleanup_fclose_ FILE *out = NULL;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        out = fdopen(fd, "w");
        if (!out) {
                close(fd);
                return -errno;
        }
        fputs(f->text, out);
        if (fflush(out) != 0 || ferror(out) || fsync(fd) < 0 || rename(tmp, f->path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

typedef struct SetRequest {
        sd_bus_message *message;
        char **paths;
} SetRequest;

static int on_daemon_reloaded(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SetRequest *req = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e)
                (void) sd_bus_reply_method_errorf(req->message, e->name,
                                                  "The drop-ins were written, but systemd's daemon-reload failed: %s",
                                                  e->message);
        else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *r = NULL;
                if (sd_bus_message_new_method_return(req->message, &r) >= 0 &&
                    sd_bus_message_append_strv(r, req->paths) >= 0)
                        (void) sd_bus_send(NULL, r, NULL);
        }
        sd_bus_message_unref(req->message);
        strv_free(req->paths);
        free(req);
        return 0;
}

static int method_set_properties(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *unit, *key, *value;
        int runtime;
        _cleanup_strv_free_ char **keys = NULL, **values = NULL;
        size_t n = 0;

        int r = sd_bus_message_read(message, "sb", &unit, &runtime);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(message, "(ss)", &key, &value)) > 0) {
                if (n >= 64)
                        return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many assignments.");
                char **k = reallocarray(keys, n + 2, sizeof(char *)), **v;
                if (!k)
                        return -ENOMEM;
                keys = k;
                v = reallocarray(values, n + 2, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                values = v;
                keys[n] = strdup(key);
                values[n] = strdup(value);
                keys[n + 1] = values[n + 1] = NULL;
                n++;
                if (!keys[n - 1] || !values[n - 1])
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        r = check_root(message, error);
        if (r <= 0)
                return r;
        if (!m->follow_systemd)
                return sd_bus_error_set(error, MEMQOS_BUS_ERROR_NOT_SUPPORTED,
                                        "memqosd does not follow systemd (--no-systemd): groups take their settings "
                                        "from the [Group] rules of memqos.conf.");
        if (!policy_set_unit_name_valid(unit) || !systemd_unit_type_followed(unit))
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_INVALID_VALUE,
                                         "%s is not a slice, scope or service name.", unit);

        PolicySetFile *files = NULL;
        size_t n_files = 0;
        _cleanup_free_ char *problem = NULL;
        r = policy_set_prepare(runtime ? "/run/systemd/system" : "/etc/systemd/system", unit, keys, values, n,
                               &files, &n_files, &problem);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, MEMQOS_BUS_ERROR_INVALID_VALUE, "%s", problem);
        if (r < 0)
                return r;

        SetRequest *req = calloc(1, sizeof(SetRequest));
        if (req)
                req->paths = calloc(n_files + 1, sizeof(char *));
        for (size_t i = 0; req && req->paths && i < n_files; i++) {
                r = dropin_write(&files[i]);
                if (r < 0) {
                        sd_bus_error_set_errnof(error, -r, "Cannot write %s: %m", files[i].path);
                        break;
                }
                log_unit_info(unit, NULL, "%s %s (memqosctl set, by root).", files[i].text ? "Wrote" : "Removed",
                              files[i].path);
                req->paths[i] = TAKE_PTR(files[i].path);
        }
        policy_set_files_free(files, n_files);
        if (!req || !req->paths || r < 0) {
                if (req)
                        strv_free(req->paths);
                free(req);
                return r < 0 ? r : -ENOMEM;
        }

        /* As systemctl set-property: the new files count after a daemon-reload,
         * which systemd does; its Reloading signal makes memqosd read every
         * unit's files again. The answer waits for it. */
        req->message = sd_bus_message_ref(message);
        r = sd_bus_call_method_async(m->api_bus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", "Reload", on_daemon_reloaded, req, NULL);
        if (r < 0) {
                sd_bus_message_unref(req->message);
                strv_free(req->paths);
                free(req);
                return sd_bus_error_set_errnof(error, -r, "The drop-ins were written, but daemon-reload could not be "
                                                          "asked for: %m");
        }
        return 1;
}

/* ---- properties ---- */

static const char *feature_mode_string(FeatureMode f) {
        return f.kernel && f.emulate ? "kernel+emulated" : f.kernel ? "kernel" : f.emulate ? "emulated" : "off";
}

static int property_backend(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s",
                                     feature_mode_string(streq(property, "ReclaimBackend") ? m->reclaim_mode
                                                                                           : m->oom_mode));
}

static int property_n_units(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) m->units.n);
}

static int property_layout(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s",
                                     !m->memcg_root                              ? "none"
                                     : m->memcg_root->layout == MEMCG_LAYOUT_V1 ? "v1"
                                                                                 : "v2");
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_follow_systemd(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "b", m->follow_systemd);
}

/* memqos_policy_apply_seconds: (a(upper bound, cumulative count), sum, count). */
static int property_latency(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        static const double buckets[] = MEMQOS_POLICY_LATENCY_BUCKETS;
        Manager *m = userdata;
        uint64_t cumulative = 0;
        int r = sd_bus_message_open_container(reply, 'r', "a(dt)dt");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(dt)");
        for (size_t i = 0; r >= 0 && i < MEMQOS_POLICY_LATENCY_N_BUCKETS; i++) {
                cumulative += m->policy_latency_counts[i];
                r = sd_bus_message_append(reply, "(dt)", buckets[i], cumulative);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "dt", (double) m->policy_latency_sum_usec / 1e6,
                                          m->policy_latency_count);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Every method is UNPRIVILEGED to sd-bus, whose default would refuse callers
 * without CAP_SYS_ADMIN: reads are open to all, and the writes check for
 * root themselves (check_root()) to say why they refuse. */
const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ReclaimBackend", "s", property_backend, 0, 0),
        SD_BUS_PROPERTY("OOMBackend", "s", property_backend, 0, 0),
        SD_BUS_PROPERTY("CgroupLayout", "s", property_layout, 0, 0),
        SD_BUS_PROPERTY("NUnits", "u", property_n_units, 0, 0),
        SD_BUS_PROPERTY("FollowSystemd", "b", property_follow_systemd, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PolicyApplySeconds", "(a(dt)dt)", property_latency, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("ListUnits", NULL, , "a" MEMQOS_BUS_UNIT_ROW, SD_BUS_PARAM(units),
                                 method_list_units, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetUnit", "s", SD_BUS_PARAM(name), "o", SD_BUS_PARAM(path), method_get_unit,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("KillOrder", "s", SD_BUS_PARAM(unit_or_cgroup), "sta" MEMQOS_BUS_KILL_LEAF,
                                 SD_BUS_PARAM(cgroup) SD_BUS_PARAM(cgroups_read) SD_BUS_PARAM(leaves),
                                 method_kill_order, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetProperties", "sba(ss)",
                                 SD_BUS_PARAM(unit) SD_BUS_PARAM(runtime) SD_BUS_PARAM(assignments), "as",
                                 SD_BUS_PARAM(files), method_set_properties, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("Event", "sssssa{ss}",
                                 SD_BUS_PARAM(kind) SD_BUS_PARAM(object) SD_BUS_PARAM(cgroup)
                                         SD_BUS_PARAM(message_id) SD_BUS_PARAM(message) SD_BUS_PARAM(fields),
                                 0),
        SD_BUS_VTABLE_END,
};

/* ---- the connection ---- */

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t answer = 0;

        /* RequestName answers 1 (taken) or 4 (ours already); 3: another
         * memqosd has it (not queued: sd-bus asks DO_NOT_QUEUE). */
        if (!e && sd_bus_message_read(reply, "u", &answer) >= 0 && (answer == 1 || answer == 4)) {
                log_debug("Serving the D-Bus API as %s.", MEMQOS_BUS_NAME);
                return 0;
        }
        log_warning("Cannot take the bus name %s: %s. memqosd runs on without its D-Bus API.", MEMQOS_BUS_NAME,
                    e ? e->message : "another process has it");
        return 0;
}

int bus_api_start(Manager *m) {
        assert(m);
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;

        log_set_event_observer(on_event, m);
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, MEMQOS_BUS_PATH, MEMQOS_BUS_MANAGER_INTERFACE,
                                             bus_manager_vtable, m);
        if (r >= 0)
                r = sd_bus_add_fallback_vtable(bus, NULL, MEMQOS_BUS_UNIT_PREFIX, MEMQOS_BUS_UNIT_INTERFACE,
                                               bus_unit_vtable, bus_unit_find, m);
        if (r >= 0)
                r = sd_bus_add_node_enumerator(bus, NULL, MEMQOS_BUS_UNIT_PREFIX, bus_unit_enumerate, m);
        if (r >= 0)
                r = sd_bus_request_name_async(bus, NULL, MEMQOS_BUS_NAME, 0, on_name_acquired, m);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_warning_errno(r, "Cannot serve the D-Bus API on the system bus: %m. memqosd runs on without it.");
                return 0;
        }
        (void) sd_bus_set_description(bus, "memqosd-api");
        m->api_bus = TAKE_PTR(bus);
        return 0;
}

void bus_api_stop(Manager *m) {
        assert(m);
        log_set_event_observer(NULL, NULL);
        m->api_bus = sd_bus_flush_close_unref(m->api_bus);
}
