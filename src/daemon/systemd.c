/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <dirent.h>
#include <stddef.h>

#include "basic/log.h"
#include "basic/util.h"
#include "daemon/bustrust.h"
#include "daemon/systemd.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

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
        u->slot_unit = sd_bus_slot_unref(u->slot_unit);
        u->slot_type = sd_bus_slot_unref(u->slot_type);
        unit_forget_answers(u);
        if (u->manager)
                refresh_queue_remove(&u->manager->refresh_queue, &u->refresh);
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
static void refresh_pump(Manager *m);

/* An answer was an error that says nothing about the unit (the bus refused
 * the call, systemd did not answer in time): ask again after a pause rather
 * than take the unit for gone, which would leave it unprotected. */
static void unit_refresh_later(Manager *m, Unit *u) {
        int r;

        if (!refresh_queue_defer(&m->refresh_queue, &u->refresh) || m->refresh_retry_source)
                return;
        uint64_t usec = refresh_queue_retry_usec(&m->refresh_queue);
        log_full(m->refresh_queue.failures == 1 ? LOG_WARNING : LOG_DEBUG, 0, NULL, NULL, NULL, NULL,
                 "systemd did not answer questions about units (see above); asking again in %" PRIu64 " s.",
                 (uint64_t) (usec / (1000 * 1000ULL)));
        r = sd_event_add_time_relative(m->event, &m->refresh_retry_source, CLOCK_MONOTONIC, usec, 0,
                                       on_refresh_retry, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot schedule asking systemd again: %m");
                return;
        }
        (void) sd_event_source_set_description(m->refresh_retry_source, "memqosd-refresh-retry");
}

static int on_refresh_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        size_t n;

        m->refresh_retry_source = sd_event_source_disable_unref(m->refresh_retry_source);
        n = refresh_queue_retry_deferred(&m->refresh_queue);
        log_debug("Asking systemd again about %zu %s.", n, plural(n, "unit", "units"));
        refresh_pump(m);
        return 0;
}

/* Both answers are in: act on them, unless a newer question or a stop made
 * them moot. */
static void unit_refresh_done(Manager *m, Unit *u) {
        RefreshAnswer a = refresh_queue_answered(&m->refresh_queue, &u->refresh);
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
                unit_refresh_later(m, u);
        else if (!gone) {
                refresh_queue_answer_ok(&m->refresh_queue);
                manager_unit_changed(m, u);
        }
        /* gone: between the signal and our question; nothing to follow. */
}

static int on_get_all(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Unit *u = userdata;
        Manager *m = u->manager;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        size_t i;

        /* The slot that brought us here is done; forget it so that cancel does not unref it twice. */
        if (sd_bus_get_current_slot(m->bus) == u->slot_unit) {
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
                log_unit_full(m->refresh_queue.failures == 0 && !m->refresh_queue.paused ? LOG_WARNING : LOG_DEBUG, 0,
                              u->name, NULL, "Could not get the unit's properties from systemd: %s (%s); asking again.",
                              e->message, e->name);
                u->refresh_failed = true;
        } else {
                sd_bus_message_unref(u->answers[i]);
                u->answers[i] = sd_bus_message_ref(reply);
        }

        if (u->pending > 0 && --u->pending == 0)
                unit_refresh_done(m, u);
        refresh_pump(m);
        return 0;
}

static int unit_send_refresh(Manager *m, Unit *u) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(SD_UNIT_PREFIX, u->name, &path);
        if (r < 0)
                return r;
        unit_forget_answers(u);
        r = sd_bus_call_method_async(m->bus, &u->slot_unit, SD_DEST, path, "org.freedesktop.DBus.Properties",
                                     "GetAll", on_get_all, u, "s", SD_UNIT);
        if (r < 0)
                return r;
        r = sd_bus_call_method_async(m->bus, &u->slot_type, SD_DEST, path, "org.freedesktop.DBus.Properties",
                                     "GetAll", on_get_all, u, "s", unit_type_interface(u->name));
        if (r < 0) {
                u->slot_unit = sd_bus_slot_unref(u->slot_unit);
                return r;
        }
        u->pending = 2;
        return 0;
}

/* Sends queued questions while fewer than REFRESH_SENT_MAX are on the bus. */
static void refresh_pump(Manager *m) {
        RefreshEntry *e;

        while (m->bus && (e = refresh_queue_next(&m->refresh_queue))) {
                Unit *u = unit_of_refresh(e);
                int r = unit_send_refresh(m, u);
                if (r >= 0)
                        continue;
                log_unit_warning_errno(u->name, NULL, r, "Could not ask for unit properties: %m; asking again.");
                if (refresh_queue_answered(&m->refresh_queue, e) == REFRESH_ANSWER_USE)
                        unit_refresh_later(m, u);
        }
}

int systemd_refresh_unit(Manager *m, Unit *u) {
        if (!m->bus)
                return -ENOTCONN;
        refresh_queue_want(&m->refresh_queue, &u->refresh);
        refresh_pump(m);
        return 0;
}

static Unit *unit_from_name(Manager *m, const char *name, bool create) {
        Unit *u = manager_get_unit(m, name);
        if (!u && create && systemd_unit_type_followed(name))
                (void) manager_add_unit(m, name, &u);
        return u;
}

/* The unit lost its cgroup (stopped, failed): tell the Manager without a round trip. */
static void unit_lost_cgroup(Manager *m, Unit *u) {
        /* A question on the bus stays there (the bus counts it until its
         * answer comes), but its answer is ignored. */
        refresh_queue_drop(&m->refresh_queue, &u->refresh);
        manager_unit_cgroup_gone(m, u);
}

static void unit_state_changed(Manager *m, Unit *u, const char *active_state) {
        (void) free_and_strdup(&u->active_state, active_state);
        if (active_state_has_cgroup(active_state))
                (void) systemd_refresh_unit(m, u);
        else
                unit_lost_cgroup(m, u);
}

static int on_list_units(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *name, *active;
        int r;

        m->list_slot = sd_bus_slot_unref(m->list_slot);
        if (e) {
                log_warning("Could not list units: %s", e->message);
                manager_synced(m);
                return 0;
        }

        m->sync_generation++;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                goto fail;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL,
                                        NULL, NULL, NULL)) > 0) {
                Unit *u = unit_from_name(m, name, true);
                if (!u)
                        continue;
                u->generation = m->sync_generation;
                unit_state_changed(m, u, active);
        }
        if (r < 0)
                goto fail;

        /* Units that systemd no longer has (gone while we were away). */
        Unit *stale;
        while ((stale = unit_table_find_stale(&m->units, m->sync_generation))) {
                stale->generation = m->sync_generation; /* dormant ones stay: do not find them again */
                manager_unit_unloaded(m, stale);
        }

        manager_synced(m);
        return 0;
fail:
        log_warning_errno(r, "Could not parse the list of units: %m");
        manager_synced(m);
        return 0;
}

int systemd_resync(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        if (!m->bus)
                return -ENOTCONN;

        m->list_slot = sd_bus_slot_unref(m->list_slot);
        r = sd_bus_message_new_method_call(m->bus, &req, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(req, NULL); /* every state */
        if (r < 0)
                return r;
        r = sd_bus_message_append(req, "as", 3, "*.slice", "*.scope", "*.service");
        if (r < 0)
                return r;
        r = sd_bus_call_async(m->bus, &m->list_slot, req, on_list_units, m, 0);
        if (r < 0)
                return log_warning_errno(r, "Could not list units: %m");
        return 0;
}

/* Whether a signal comes from systemd itself: see bustrust.h. Anyone else's
 * is dropped unread, so that it makes memqosd neither forget nor allocate. */
static bool from_systemd(Manager *m, sd_bus_message *msg) {
        const char *sender = sd_bus_message_get_sender(msg);

        if (bus_sender_is_owner(sender, m->systemd_owner))
                return true;
        log_debug("Ignoring %s.%s from %s, which is not systemd (%s).", strna(sd_bus_message_get_interface(msg)),
                  strna(sd_bus_message_get_member(msg)), strna(sender), m->systemd_owner ?: "off the bus");
        return false;
}

static int on_unit_new(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name;

        if (!from_systemd(m, msg) || sd_bus_message_read(msg, "so", &name, NULL) < 0 || m->reloading)
                return 0;
        /* Loaded does not mean running: the cgroup comes with activation. */
        (void) unit_from_name(m, name, true);
        return 0;
}

static int on_unit_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name;
        Unit *u;

        /* During daemon-reload every unit is removed and recreated; the resync after
         * Reloading(false) sorts that out. */
        if (!from_systemd(m, msg) || sd_bus_message_read(msg, "so", &name, NULL) < 0 || m->reloading)
                return 0;
        u = manager_get_unit(m, name);
        if (u)
                manager_unit_unloaded(m, u);
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name;
        Unit *u;

        if (!from_systemd(m, msg) || sd_bus_message_read(msg, "uoss", NULL, NULL, &name, NULL) < 0 || m->reloading)
                return 0;
        u = unit_from_name(m, name, true);
        if (u)
                (void) systemd_refresh_unit(m, u);
        return 0;
}

static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        _cleanup_free_ char *name = NULL;
        const char *iface;
        int r;

        if (!from_systemd(m, msg))
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
                        Unit *u = unit_from_name(m, name, active_state_has_cgroup(value));
                        if (u && !streq_ptr(u->active_state, value))
                                unit_state_changed(m, u, value);
                        return 0;
                }
                if (sd_bus_message_skip(msg, "v") < 0 || sd_bus_message_exit_container(msg) < 0)
                        return 0;
        }
        return 0;
}

static int on_reloading(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        int active;

        if (!from_systemd(m, msg) || sd_bus_message_read(msg, "b", &active) < 0)
                return 0;
        m->reloading = active;
        if (!active) {
                log_debug("systemd finished reloading, resynchronising.");
                (void) systemd_resync(m);
        }
        return 0;
}

static int subscribe(Manager *m);

static int set_systemd_owner(Manager *m, const char *owner) {
        return free_and_strdup(&m->systemd_owner, isempty_str(owner) ? NULL : owner);
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        switch (bus_owner_change(sd_bus_message_get_sender(msg), SD_DEST, name, new_owner)) {
        case BUS_OWNER_CHANGE_LEFT:
                m->systemd_owner = mfree(m->systemd_owner);
                log_notice("systemd left the bus (re-executing?), waiting for it to return.");
                return 0;
        case BUS_OWNER_CHANGE_CAME:
                if (set_systemd_owner(m, new_owner) < 0)
                        return log_oom();
                /* systemd re-executed: our subscription died with the old instance. */
                log_info("systemd is back on the bus, resynchronising.");
                m->reloading = false;
                (void) subscribe(m);
                (void) systemd_resync(m);
                return 0;
        default:
                log_debug("Ignoring a NameOwnerChanged from %s, which is not the bus.",
                          strna(sd_bus_message_get_sender(msg)));
                return 0;
        }
}

static int on_get_name_owner(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *owner;

        m->owner_slot = sd_bus_slot_unref(m->owner_slot);
        if (e) {
                /* Not on the bus now: NameOwnerChanged says when it comes. */
                log_debug("systemd is not on the bus: %s", e->message);
                m->systemd_owner = mfree(m->systemd_owner);
                return 0;
        }
        if (sd_bus_message_read(reply, "s", &owner) < 0)
                return 0;
        if (set_systemd_owner(m, owner) < 0)
                return log_oom();
        log_debug("systemd is %s on the bus.", owner);
        return 0;
}

static int on_reconnect_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        m->reconnect_source = sd_event_source_unref(m->reconnect_source);
        /* The dead connection is dropped here, outside its own callbacks. */
        systemd_disconnect(m);
        r = systemd_connect(m);
        if (r < 0)
                log_debug_errno(r, "Reconnecting to the system bus failed: %m");
        return 0;
}

static void schedule_reconnect(Manager *m) {
        uint64_t delay = RECONNECT_USEC_MIN << (m->reconnect_attempts < 5 ? m->reconnect_attempts : 5);
        if (delay > RECONNECT_USEC_MAX)
                delay = RECONNECT_USEC_MAX;
        m->reconnect_attempts++;

        m->reconnect_source = sd_event_source_unref(m->reconnect_source);
        (void) sd_event_add_time_relative(m->event, &m->reconnect_source, CLOCK_MONOTONIC, delay, 0,
                                          on_reconnect_timer, m);
}

static int on_disconnected(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;

        log_warning("Lost the system bus connection, reconnecting.");
        schedule_reconnect(m);
        return 0;
}

static int subscribe(Manager *m) {
        return sd_bus_call_method_async(m->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL,
                                        NULL);
}

/* --- set-property: inotify on system.control/ ------------------------------------- */

static void control_refresh_unit(Manager *m, const char *dirname) {
        char name[NAME_MAX + 1];
        size_t l = strlen(dirname);

        if (l < 3 || l - 2 >= sizeof(name) || !endswith(dirname, ".d"))
                return;
        memcpy(name, dirname, l - 2);
        name[l - 2] = 0;
        Unit *u = manager_get_unit(m, name);
        if (u && active_state_has_cgroup(u->active_state)) {
                log_unit_debug(u->name, NULL, "Runtime properties changed, refreshing.");
                (void) systemd_refresh_unit(m, u);
        }
}

static void control_watch_dir(Manager *m, int fd, const char *dir) {
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
        Manager *m = userdata;
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
                control_watch_dir(m, fd, control_dirs[i]);
                d = opendir(control_dirs[i]);
                if (!d)
                        continue;
                for (struct dirent *de; (de = readdir(d));)
                        if (de->d_type == DT_DIR)
                                control_refresh_unit(m, de->d_name);
        }
        return 0;
}

static int control_watch_setup(Manager *m) {
        _cleanup_close_ int fd = -1;
        int r;

        if (m->control_inotify_source)
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
                control_watch_dir(m, fd, control_dirs[i]);
        }
        r = sd_event_add_io(m->event, &m->control_inotify_source, fd, EPOLLIN, on_control_inotify, m);
        if (r < 0)
                return r;
        r = sd_event_source_set_io_fd_own(m->control_inotify_source, true);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return 0;
}

/* --- connection ---------------------------------------------------------------------- */

static int add_match(Manager *m, const char *match, sd_bus_message_handler_t cb) {
        return sd_bus_add_match_async(m->bus, NULL, match, cb, NULL, m);
}

int systemd_connect(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (m->bus)
                return 0;

        r = sd_bus_open_system_with_description(&bus, "memqosd");
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                goto fail;
        m->bus = TAKE_PTR(bus);

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
                r = add_match(m, matches[i].match, matches[i].cb);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_match_signal(m->bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, m);
        if (r < 0)
                goto fail;

        /* Who systemd is, before anything it says: signals that come before
         * the answer are dropped, and the list below covers them. Replies to
         * our own calls need no check, the bus routes them from the callee. */
        r = sd_bus_call_method_async(m->bus, &m->owner_slot, BUS_DRIVER_NAME, "/org/freedesktop/DBus",
                                     BUS_DRIVER_NAME, "GetNameOwner", on_get_name_owner, m, "s", SD_DEST);
        if (r < 0)
                goto fail;
        r = subscribe(m);
        if (r < 0)
                goto fail;
        r = systemd_resync(m);
        if (r < 0)
                goto fail;

        r = control_watch_setup(m);
        if (r < 0)
                log_warning_errno(r, "Cannot watch system.control/ for set-property changes: %m");

        if (m->reconnect_attempts > 0)
                log_info("Connected to the system bus again.");
        m->reconnect_attempts = 0;
        return 0;

fail:
        log_full(m->reconnect_attempts == 0 ? LOG_WARNING : LOG_DEBUG, r, NULL, NULL, NULL, NULL,
                 "Cannot follow systemd on the system bus: %m; retrying.");
        systemd_disconnect(m);
        schedule_reconnect(m);
        return r;
}

static void unit_cancel_one(Unit *u, void *userdata) {
        systemd_unit_cancel(u);
}

void systemd_disconnect(Manager *m) {
        m->list_slot = sd_bus_slot_unref(m->list_slot);
        m->owner_slot = sd_bus_slot_unref(m->owner_slot);
        m->systemd_owner = mfree(m->systemd_owner);
        m->refresh_retry_source = sd_event_source_disable_unref(m->refresh_retry_source);
        unit_table_foreach(&m->units, unit_cancel_one, NULL);
        refresh_queue_reset(&m->refresh_queue);
        m->bus = sd_bus_flush_close_unref(m->bus);
}
