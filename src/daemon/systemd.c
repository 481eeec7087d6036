/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stddef.h>

#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/util.h"
#include "daemon/bustrust.h"
#include "daemon/systemd.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

struct SystemdClient {
        sd_event *event;
        sd_bus *bus;
        UnitTable *units;     /* the owner's: units are found here, made and dropped by the owner */
        SystemdCallbacks callbacks;
        void *userdata;

        sd_event_source *reconnect_source;
        sd_event_source *control_inotify_source;
        sd_bus_slot *list_slot;
        sd_bus_slot *owner_slot;
        RefreshQueue refresh_queue;            /* the units to ask systemd about, a few at a time */
        sd_event_source *refresh_retry_source; /* asks again about units whose answer was an error */
        char *systemd_owner;  /* the unique name of org.freedesktop.systemd1, NULL while off the bus */
        bool reloading;
        unsigned reconnect_attempts;
        uint64_t sync_generation;
};

/* How long sd-bus waits for systemd's answer to a GetAll before it gives
 * up with NoReply. Not sd-bus's 25 s: dbus-daemon counts a question against
 * max_replies_per_connection until systemd answers it, whether or not we
 * still wait, so a question given up on and asked again is two on the bus.
 * At 2,000 slices starting under TCG systemd took longer than 25 s, and the
 * questions asked again after the timeout overran the bus's 128 (192
 * refusals). Waiting as long as the bus counts keeps REFRESH_SENT_MAX true. */
#define GET_ALL_TIMEOUT_USEC (10 * 60 * 1000 * 1000ULL)

#define RECONNECT_USEC_MIN (250 * 1000ULL)
#define RECONNECT_USEC_MAX (5 * 1000 * 1000ULL)

/* Where `systemctl set-property` writes its drop-ins (persistent and --runtime). */
static const char *const control_dirs[] = {
        "/etc/systemd/system.control",
        "/run/systemd/system.control",
};

static const char *const followed_suffixes[] = { ".slice", ".scope", ".service" };

bool systemd_unit_type_followed(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(followed_suffixes); i++)
                if (endswith(name, followed_suffixes[i]))
                        return true;
        return false;
}

static const char *unit_type_interface(const char *name) {
        if (endswith(name, ".slice"))
                return "org.freedesktop.systemd1.Slice";
        if (endswith(name, ".scope"))
                return "org.freedesktop.systemd1.Scope";
        return "org.freedesktop.systemd1.Service";
}

static bool active_state_has_cgroup(const char *s) {
        return s && (streq(s, "active") || streq(s, "activating") || streq(s, "reloading") ||
                     streq(s, "deactivating"));
}

static void unit_forget_answers(Unit *u) {
        for (size_t i = 0; i < ELEMENTSOF(u->answers); i++)
                u->answers[i] = sd_bus_message_unref(u->answers[i]);
        u->pending = 0;
        u->refresh_gone = u->refresh_failed = false;
}

/* The unit is freed, or the connection gone: its calls are cancelled and its
 * place in the queue given up. */
void systemd_unit_cancel(Unit *u) {
        assert(u);

        u->slot_unit = sd_bus_slot_unref(u->slot_unit);
        u->slot_type = sd_bus_slot_unref(u->slot_type);
        unit_forget_answers(u);
        if (u->systemd)
                refresh_queue_remove(&u->systemd->refresh_queue, &u->refresh);
}

static int free_and_strdup(char **p, const char *s) {
        char *c = NULL;
        if (s && !(c = strdup(s)))
                return -ENOMEM;
        free(*p);
        *p = c;
        return 0;
}

/* Reads the a{sv} of a GetAll reply into the unit. Unknown properties are skipped. */
static int unit_read_properties(Unit *u, sd_bus_message *reply) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key, *s;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        return r;

                if (streq(key, "ActiveState") || streq(key, "FragmentPath") || streq(key, "ControlGroup")) {
                        r = sd_bus_message_read(reply, "v", "s", &s);
                        if (r < 0)
                                return r;
                        char **target = streq(key, "ActiveState")    ? &u->active_state
                                        : streq(key, "FragmentPath") ? &u->fragment_path
                                                                     : &u->control_group;
                        r = free_and_strdup(target, isempty_str(s) ? NULL : s);
                } else if (streq(key, "DropInPaths")) {
                        char **l = NULL;
                        r = sd_bus_message_enter_container(reply, 'v', "as");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_strv(reply, &l);
                        if (r < 0)
                                return r;
                        strv_free(u->dropin_paths);
                        u->dropin_paths = l;
                        r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static Unit *unit_of_refresh(RefreshEntry *e) {
        return (Unit *) ((char *) e - offsetof(Unit, refresh));
}

static int on_refresh_retry(sd_event_source *s, uint64_t usec, void *userdata);
static void refresh_pump(SystemdClient *c);

/* An answer was an error that says nothing about the unit (the bus refused
 * the call, systemd did not answer in time): ask again after a pause rather
 * than take the unit for gone, which would leave it unprotected. */
static void unit_refresh_later(SystemdClient *c, Unit *u) {
        int r;

        if (!refresh_queue_defer(&c->refresh_queue, &u->refresh) || c->refresh_retry_source)
                return;
        uint64_t usec = refresh_queue_retry_usec(&c->refresh_queue);
        log_full(c->refresh_queue.failures == 1 ? LOG_WARNING : LOG_DEBUG, 0, NULL, NULL, NULL, NULL,
                 "systemd did not answer questions about units (see above); asking again in %" PRIu64 " s.",
                 (uint64_t) (usec / (1000 * 1000ULL)));
        /* Coarse: a back-off of seconds. */
        r = sd_event_add_time_relative(c->event, &c->refresh_retry_source, CLOCK_MONOTONIC, usec,
                                       EVENT_TIMER_COARSE_USEC, on_refresh_retry, c);
        if (r < 0) {
                log_warning_errno(r, "Cannot schedule asking systemd again: %m");
                return;
        }
        (void) sd_event_source_set_description(c->refresh_retry_source, "memqosd-refresh-retry");
}

static int on_refresh_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        SystemdClient *c = userdata;
        size_t n;

        c->refresh_retry_source = sd_event_source_disable_unref(c->refresh_retry_source);
        n = refresh_queue_retry_deferred(&c->refresh_queue);
        log_debug("Asking systemd again about %zu %s.", n, plural(n, "unit", "units"));
        refresh_pump(c);
        return 0;
}

/* Both answers are in: act on them, unless a newer question or a stop made
 * them moot. */
static void unit_refresh_done(SystemdClient *c, Unit *u) {
        RefreshAnswer a = refresh_queue_answered(&c->refresh_queue, &u->refresh);
        bool gone = u->refresh_gone, failed = u->refresh_failed;
        int r = 0;

        if (a == REFRESH_ANSWER_USE && !gone && !failed)
                for (size_t i = 0; i < ELEMENTSOF(u->answers) && r >= 0; i++)
                        r = unit_read_properties(u, u->answers[i]);
        unit_forget_answers(u);
        if (a != REFRESH_ANSWER_USE)
                return;
        if (r < 0)
                log_unit_warning_errno(u->name, NULL, r, "Could not parse properties: %m, ignoring.");
        if (failed)
                unit_refresh_later(c, u);
        else if (!gone) {
                refresh_queue_answer_ok(&c->refresh_queue);
                c->callbacks.unit_changed(u, c->userdata);
        }
        /* gone: between the signal and our question; nothing to follow. */
}

static int on_get_all(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Unit *u = userdata;
        SystemdClient *c = u->systemd;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        size_t i;

        /* The slot that brought us here is done; forget it so that cancel does not unref it twice. */
        if (sd_bus_get_current_slot(c->bus) == u->slot_unit) {
                u->slot_unit = sd_bus_slot_unref(u->slot_unit);
                i = 0;
        } else {
                u->slot_type = sd_bus_slot_unref(u->slot_type);
                i = 1;
        }

        if (e && refresh_error_means_gone(e->name)) {
                log_unit_debug(u->name, NULL, "Could not get properties: %s, the unit is gone.", e->message);
                u->refresh_gone = true;
        } else if (e) {
                /* Said once until answers come through again (a full bus or a
                 * busy systemd fails every question at once). */
                log_unit_full(c->refresh_queue.failures == 0 && !c->refresh_queue.paused ? LOG_WARNING : LOG_DEBUG, 0,
                              u->name, NULL, "Could not get the unit's properties from systemd: %s (%s); asking again.",
                              e->message, e->name);
                u->refresh_failed = true;
        } else {
                sd_bus_message_unref(u->answers[i]);
                u->answers[i] = sd_bus_message_ref(reply);
        }

        if (u->pending > 0 && --u->pending == 0)
                unit_refresh_done(c, u);
        refresh_pump(c);
        return 0;
}

static int call_get_all(SystemdClient *c, Unit *u, const char *path, const char *interface, sd_bus_slot **ret_slot) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, SD_DEST, path, "org.freedesktop.DBus.Properties", "GetAll");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", interface);
        if (r < 0)
                return r;
        return sd_bus_call_async(c->bus, ret_slot, m, on_get_all, u, GET_ALL_TIMEOUT_USEC);
}

static int unit_send_refresh(SystemdClient *c, Unit *u) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(SD_UNIT_PREFIX, u->name, &path);
        if (r < 0)
                return r;
        unit_forget_answers(u);
        r = call_get_all(c, u, path, SD_UNIT, &u->slot_unit);
        if (r < 0)
                return r;
        r = call_get_all(c, u, path, unit_type_interface(u->name), &u->slot_type);
        if (r < 0) {
                u->slot_unit = sd_bus_slot_unref(u->slot_unit);
                return r;
        }
        u->pending = 2;
        return 0;
}

/* Sends queued questions while fewer than REFRESH_SENT_MAX are on the bus. */
static void refresh_pump(SystemdClient *c) {
        RefreshEntry *e;

        while (c->bus && (e = refresh_queue_next(&c->refresh_queue))) {
                Unit *u = unit_of_refresh(e);
                int r = unit_send_refresh(c, u);
                if (r >= 0)
                        continue;
                log_unit_warning_errno(u->name, NULL, r, "Could not ask for unit properties: %m; asking again.");
                if (refresh_queue_answered(&c->refresh_queue, e) == REFRESH_ANSWER_USE)
                        unit_refresh_later(c, u);
        }
}

int systemd_refresh_unit(SystemdClient *c, Unit *u) {
        assert(u);

        if (!c || !c->bus)
                return -ENOTCONN;
        u->systemd = c;
        refresh_queue_want(&c->refresh_queue, &u->refresh);
        refresh_pump(c);
        return 0;
}

static Unit *unit_from_name(SystemdClient *c, const char *name, bool create) {
        Unit *u = unit_table_get(c->units, name);
        if (!u && create && systemd_unit_type_followed(name))
                u = c->callbacks.add_unit(name, c->userdata);
        return u;
}

/* The unit lost its cgroup (stopped, failed): tell the Manager without a round trip. */
static void unit_lost_cgroup(SystemdClient *c, Unit *u) {
        /* A question on the bus stays there (the bus counts it until its
         * answer comes), but its answer is ignored. */
        refresh_queue_drop(&c->refresh_queue, &u->refresh);
        c->callbacks.unit_cgroup_gone(u, c->userdata);
}

static void unit_state_changed(SystemdClient *c, Unit *u, const char *active_state) {
        (void) free_and_strdup(&u->active_state, active_state);
        if (active_state_has_cgroup(active_state))
                (void) systemd_refresh_unit(c, u);
        else
                unit_lost_cgroup(c, u);
}

static int on_list_units(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *name, *active;
        int r;

        c->list_slot = sd_bus_slot_unref(c->list_slot);
        if (e) {
                log_warning("Could not list units: %s", e->message);
                c->callbacks.synced(c->userdata);
                return 0;
        }

        c->sync_generation++;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL,
                                        NULL, NULL, NULL)) > 0) {
                Unit *u = unit_from_name(c, name, true);
                if (!u)
                        continue;
                u->generation = c->sync_generation;
                unit_state_changed(c, u, active);
        }
        if (r < 0)
                goto fail;

        /* Units that systemd no longer has (gone while we were away). */
        Unit *stale;
        while ((stale = unit_table_find_stale(c->units, c->sync_generation))) {
                stale->generation = c->sync_generation; /* dormant ones stay: do not find them again */
                c->callbacks.unit_unloaded(stale, c->userdata);
        }

        c->callbacks.synced(c->userdata);
        return 0;
fail:
        log_warning_errno(r, "Could not parse the list of units: %m");
        c->callbacks.synced(c->userdata);
        return 0;
}

int systemd_resync(SystemdClient *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        if (!c->bus)
                return -ENOTCONN;

        c->list_slot = sd_bus_slot_unref(c->list_slot);
        r = sd_bus_message_new_method_call(c->bus, &req, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(req, NULL); /* every state */
        if (r < 0)
                return r;
        r = sd_bus_message_append(req, "as", 3, "*.slice", "*.scope", "*.service");
        if (r < 0)
                return r;
        r = sd_bus_call_async(c->bus, &c->list_slot, req, on_list_units, c, 0);
        if (r < 0)
                return log_warning_errno(r, "Could not list units: %m");
        return 0;
}

/* Whether a signal comes from systemd itself: see bustrust.h. Anyone else's
 * is dropped unread, so that it makes memqosd neither forget nor allocate. */
static bool from_systemd(SystemdClient *c, sd_bus_message *msg) {
        const char *sender = sd_bus_message_get_sender(msg);

        if (bus_sender_is_owner(sender, c->systemd_owner))
                return true;
        log_debug("Ignoring %s.%s from %s, which is not systemd (%s).", strna(sd_bus_message_get_interface(msg)),
                  strna(sd_bus_message_get_member(msg)), strna(sender), c->systemd_owner ?: "off the bus");
        return false;
}

static int on_unit_new(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const char *name;

        if (!from_systemd(c, msg) || sd_bus_message_read(msg, "so", &name, NULL) < 0 || c->reloading)
                return 0;
        /* Loaded does not mean running: the cgroup comes with activation. */
        (void) unit_from_name(c, name, true);
        return 0;
}

static int on_unit_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const char *name;
        Unit *u;

        /* During daemon-reload every unit is removed and recreated; the resync after
         * Reloading(false) sorts that out. */
        if (!from_systemd(c, msg) || sd_bus_message_read(msg, "so", &name, NULL) < 0 || c->reloading)
                return 0;
        u = unit_table_get(c->units, name);
        if (u)
                c->callbacks.unit_unloaded(u, c->userdata);
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const char *name;
        Unit *u;

        if (!from_systemd(c, msg) || sd_bus_message_read(msg, "uoss", NULL, NULL, &name, NULL) < 0 || c->reloading)
                return 0;
        u = unit_from_name(c, name, true);
        if (u)
                (void) systemd_refresh_unit(c, u);
        return 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        _cleanup_free_ char *name = NULL;
        const char *iface;
        int r;

        if (!from_systemd(c, msg))
                return 0;
        r = sd_bus_path_decode(sd_bus_message_get_path(msg), SD_UNIT_PREFIX, &name);
        if (r <= 0 || !systemd_unit_type_followed(name))
                return 0;
        if (sd_bus_message_read(msg, "s", &iface) < 0 || !streq(iface, SD_UNIT))
                return 0;
        if (sd_bus_message_enter_container(msg, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(msg, 'e', "sv") > 0) {
                const char *key, *value;
                if (sd_bus_message_read(msg, "s", &key) < 0)
                        return 0;
                if (streq(key, "ActiveState")) {
                        if (sd_bus_message_read(msg, "v", "s", &value) < 0)
                                return 0;
                        Unit *u = unit_from_name(c, name, active_state_has_cgroup(value));
                        if (u && !streq_ptr(u->active_state, value))
                                unit_state_changed(c, u, value);
                        return 0;
                }
                if (sd_bus_message_skip(msg, "v") < 0 || sd_bus_message_exit_container(msg) < 0)
                        return 0;
        }
        return 0;
}

static int on_reloading(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        int active;

        if (!from_systemd(c, msg) || sd_bus_message_read(msg, "b", &active) < 0)
                return 0;
        c->reloading = active;
        if (!active) {
                log_debug("systemd finished reloading, resynchronising.");
                (void) systemd_resync(c);
        }
        return 0;
}

static int subscribe(SystemdClient *c);

static int set_systemd_owner(SystemdClient *c, const char *owner) {
        return free_and_strdup(&c->systemd_owner, isempty_str(owner) ? NULL : owner);
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        switch (bus_owner_change(sd_bus_message_get_sender(msg), SD_DEST, name, new_owner)) {
        case BUS_OWNER_CHANGE_LEFT:
                c->systemd_owner = mfree(c->systemd_owner);
                log_notice("systemd left the bus (re-executing?), waiting for it to return.");
                return 0;
        case BUS_OWNER_CHANGE_CAME:
                if (set_systemd_owner(c, new_owner) < 0)
                        return log_oom();
                /* systemd re-executed: our subscription died with the old instance. */
                log_info("systemd is back on the bus, resynchronising.");
                c->reloading = false;
                (void) subscribe(c);
                (void) systemd_resync(c);
                return 0;
        default:
                log_debug("Ignoring a NameOwnerChanged from %s, which is not the bus.",
                          strna(sd_bus_message_get_sender(msg)));
                return 0;
        }
}

static int on_get_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *owner;

        c->owner_slot = sd_bus_slot_unref(c->owner_slot);
        if (e) {
                /* Not on the bus now: NameOwnerChanged says when it comes. */
                log_debug("systemd is not on the bus: %s", e->message);
                c->systemd_owner = mfree(c->systemd_owner);
                return 0;
        }
        if (sd_bus_message_read(reply, "s", &owner) < 0)
                return 0;
        if (set_systemd_owner(c, owner) < 0)
                return log_oom();
        log_debug("systemd is %s on the bus.", owner);
        return 0;
}

static int on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        SystemdClient *c = userdata;
        int r;

        c->reconnect_source = sd_event_source_unref(c->reconnect_source);
        /* The dead connection is dropped here, outside its own callbacks. */
        systemd_disconnect(c);
        r = systemd_connect(c);
        if (r < 0)
                log_debug_errno(r, "Reconnecting to the system bus failed: %m");
        return 0;
}

static void schedule_reconnect(SystemdClient *c) {
        uint64_t delay = RECONNECT_USEC_MIN << (c->reconnect_attempts < 5 ? c->reconnect_attempts : 5);
        if (delay > RECONNECT_USEC_MAX)
                delay = RECONNECT_USEC_MAX;
        c->reconnect_attempts++;

        c->reconnect_source = sd_event_source_unref(c->reconnect_source);
        /* Coarse: a back-off; the bus comes back at its own pace. */
        if (sd_event_add_time_relative(c->event, &c->reconnect_source, CLOCK_MONOTONIC, delay,
                                       EVENT_TIMER_COARSE_USEC, on_reconnect_timer, c) >= 0)
                (void) sd_event_source_set_description(c->reconnect_source, "memqosd-bus-reconnect");
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        SystemdClient *c = userdata;

        log_warning("Lost the system bus connection, reconnecting.");
        schedule_reconnect(c);
        return 0;
}

static int subscribe(SystemdClient *c) {
        return sd_bus_call_method_async(c->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL,
                                        NULL);
}

/* --- set-property: inotify on system.control/ ------------------------------------- */

static void control_refresh_unit(SystemdClient *c, const char *dirname) {
        char name[NAME_MAX + 1];
        size_t l = strlen(dirname);

        if (l < 3 || l - 2 >= sizeof(name) || !endswith(dirname, ".d"))
                return;
        memcpy(name, dirname, l - 2);
        name[l - 2] = 0;
        Unit *u = unit_table_get(c->units, name);
        if (u && active_state_has_cgroup(u->active_state)) {
                log_unit_debug(u->name, NULL, "Runtime properties changed, refreshing.");
                (void) systemd_refresh_unit(c, u);
        }
}

static void control_watch_dir(SystemdClient *c, int fd, const char *dir) {
        _cleanup_(closedirp) DIR *d = NULL;

        if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_ONLYDIR) < 0)
                return;
        d = opendir(dir);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *sub = NULL;
                if (de->d_type != DT_DIR || !endswith(de->d_name, ".d"))
                        continue;
                if (asprintf(&sub, "%s/%s", dir, de->d_name) >= 0)
                        (void) inotify_add_watch(fd, sub, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE |
                                                                  IN_ONLYDIR);
        }
}

static int on_control_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        SystemdClient *c = userdata;
        union {
                struct inotify_event ev;
                char raw[4096];
        } buf;

        ssize_t n = read(fd, &buf, sizeof(buf));
        if (n <= 0)
                return 0;

        bool rescan = false;
        for (char *p = buf.raw; p < buf.raw + n;) {
                struct inotify_event *ev = (struct inotify_event *) p;
                if (ev->len > 0 && endswith(ev->name, ".d"))
                        /* A new <unit>.d/ below a control dir: watch it too. */
                        rescan = true;
                else if (ev->len > 0 && endswith(ev->name, ".conf")) {
                        /* A file in <unit>.d/: which unit? The watch descriptor's path
                         * is not kept, so resolve it through the directory names. */
                        rescan = true;
                } else if (ev->len > 0 && streq(ev->name, "system.control"))
                        rescan = true;
                p += sizeof(struct inotify_event) + ev->len;
        }
        if (!rescan)
                return 0;

        /* Cheap and robust: re-watch (idempotent) and refresh every unit that has a
         * directory there. There are few such directories. */
        for (size_t i = 0; i < ELEMENTSOF(control_dirs); i++) {
                _cleanup_(closedirp) DIR *d = NULL;
                control_watch_dir(c, fd, control_dirs[i]);
                d = opendir(control_dirs[i]);
                if (!d)
                        continue;
                for (struct dirent *de; (de = readdir(d));)
                        if (de->d_type == DT_DIR)
                                control_refresh_unit(c, de->d_name);
        }
        return 0;
}

static int control_watch_setup(SystemdClient *c) {
        _cleanup_close_ int fd = -1;
        int r;

        if (c->control_inotify_source)
                return 0;
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(control_dirs); i++) {
                _cleanup_free_ char *parent = strdup(control_dirs[i]);
                if (!parent)
                        return -ENOMEM;
                *strrchr(parent, '/') = 0;
                /* The control dir may not exist yet: watch its parent for its creation. */
                (void) inotify_add_watch(fd, parent, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
                control_watch_dir(c, fd, control_dirs[i]);
        }
        r = sd_event_add_io(c->event, &c->control_inotify_source, fd, EPOLLIN, on_control_inotify, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->control_inotify_source, "memqosd-system-control");
        r = sd_event_source_set_io_fd_own(c->control_inotify_source, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* --- connection ---------------------------------------------------------------------- */

static int add_match(SystemdClient *c, const char *match, sd_bus_message_handler_t cb) {
        return sd_bus_add_match_async(c->bus, NULL, match, cb, NULL, c);
}

int systemd_connect(SystemdClient *c) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (c->bus)
                return 0;

        r = sd_bus_open_system_with_description(&bus, "memqosd");
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(bus, c->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;
        c->bus = TAKE_PTR(bus);

        /* Matches first, then Subscribe, then list: whatever happens in between
         * reaches us as a signal, and every path ends in an idempotent refresh. */
        struct {
                const char *match;
                sd_bus_message_handler_t cb;
        } matches[] = {
                { "type='signal',sender='" SD_DEST "',path='" SD_PATH "',interface='" SD_MANAGER "',member='UnitNew'", on_unit_new },
                { "type='signal',sender='" SD_DEST "',path='" SD_PATH "',interface='" SD_MANAGER "',member='UnitRemoved'", on_unit_removed },
                { "type='signal',sender='" SD_DEST "',path='" SD_PATH "',interface='" SD_MANAGER "',member='JobRemoved'", on_job_removed },
                { "type='signal',sender='" SD_DEST "',path='" SD_PATH "',interface='" SD_MANAGER "',member='Reloading'", on_reloading },
                { "type='signal',sender='" SD_DEST "',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                  "arg0='" SD_UNIT "',path_namespace='" SD_UNIT_PREFIX "'", on_properties_changed },
                { "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',interface='org.freedesktop.DBus',"
                  "member='NameOwnerChanged',arg0='" SD_DEST "'", on_name_owner_changed },
        };
        for (size_t i = 0; i < ELEMENTSOF(matches); i++) {
                r = add_match(c, matches[i].match, matches[i].cb);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_match_signal(c->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, c);
        if (r < 0)
                goto fail;

        /* Who systemd is, before anything it says: signals that come before
         * the answer are dropped, and the list below covers them. Replies to
         * our own calls need no check, the bus routes them from the callee. */
        r = sd_bus_call_method_async(c->bus, &c->owner_slot, BUS_DRIVER_NAME, "/org/freedesktop/DBus",
                                     BUS_DRIVER_NAME, "GetNameOwner", on_get_name_owner, c, "s", SD_DEST);
        if (r < 0)
                goto fail;
        r = subscribe(c);
        if (r < 0)
                goto fail;
        r = systemd_resync(c);
        if (r < 0)
                goto fail;

        r = control_watch_setup(c);
        if (r < 0)
                log_warning_errno(r, "Cannot watch system.control/ for set-property changes: %m");

        if (c->reconnect_attempts > 0)
                log_info("Connected to the system bus again.");
        c->reconnect_attempts = 0;
        return 0;

fail:
        log_full(c->reconnect_attempts == 0 ? LOG_WARNING : LOG_DEBUG, r, NULL, NULL, NULL, NULL,
                 "Cannot follow systemd on the system bus: %m; retrying.");
        systemd_disconnect(c);
        schedule_reconnect(c);
        return r;
}

int systemd_client_new(sd_event *event, UnitTable *units, const SystemdCallbacks *callbacks, void *userdata,
                       SystemdClient **ret) {
        assert(event);
        assert(units);
        assert(callbacks);
        assert(callbacks->add_unit && callbacks->unit_changed && callbacks->unit_cgroup_gone &&
               callbacks->unit_unloaded && callbacks->synced);
        assert(ret);

        SystemdClient *c = calloc(1, sizeof(SystemdClient));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->units = units;
        c->callbacks = *callbacks;
        c->userdata = userdata;
        refresh_queue_init(&c->refresh_queue, REFRESH_SENT_MAX);
        *ret = c;
        return 0;
}

SystemdClient *systemd_client_free(SystemdClient *c) {
        if (!c)
                return NULL;
        systemd_disconnect(c);
        c->control_inotify_source = sd_event_source_disable_unref(c->control_inotify_source);
        c->reconnect_source = sd_event_source_disable_unref(c->reconnect_source);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

bool systemd_connected(const SystemdClient *c) {
        return c && c->bus;
}

static void unit_cancel_one(Unit *u, void *userdata) {
        systemd_unit_cancel(u);
}

void systemd_disconnect(SystemdClient *c) {
        if (!c)
                return;
        c->list_slot = sd_bus_slot_unref(c->list_slot);
        c->owner_slot = sd_bus_slot_unref(c->owner_slot);
        c->systemd_owner = mfree(c->systemd_owner);
        c->refresh_retry_source = sd_event_source_disable_unref(c->refresh_retry_source);
        unit_table_foreach(c->units, unit_cancel_one, NULL);
        refresh_queue_reset(&c->refresh_queue);
        c->bus = sd_bus_flush_close_unref(c->bus);
}
