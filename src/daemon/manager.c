/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <search.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/state-dir.h"
#include "cgroup/memcg-watch.h"
#include "config-paths.h"
#include "daemon/apply.h"
#include "daemon/desired.h"
#include "daemon/events.h"
#include "daemon/manager.h"
#include "daemon/manager-internal.h"
#include "daemon/bus.h"
#include "daemon/state.h"
#include "daemon/summary.h"
#include "daemon/systemd.h"
#include "emulate/squeeze.h"

#define FEATURE_REPORT_DELAY_USEC (2 * 1000 * 1000ULL)

/* --- the unit table --------------------------------------------------------------- */

static Unit *unit_free(Unit *u) {
        if (!u)
                return NULL;
        systemd_unit_cancel(u);
        memcg_watch_free(u->watch);
        limit_watch_free(u->limit_watch);
        emulator_free(u->emulator); /* may still say its folded passes */
        sd_event_source_disable_unref(u->cgroup_retry);
        if (u->manager && u->name)
                events_forget_unit(u->manager->ratelimit, u);
        free(u->name);
        free(u->active_state);
        free(u->control_group);
        free(u->fragment_path);
        strv_free(u->dropin_paths);
        free(u->diagnostics_said);
        free(u->rule_source);
        free(u->state_name);
        unit_stats_done(&u->stats);
        free(u);
        return NULL;
}

/* STATUS= follows the number of units and groups, said at most once a
 * second: a start with thousands of units is one message, not thousands;
 * a quarter second later costs nothing (EVENT_TIMER_COARSE_USEC). */
#define STATUS_DELAY_USEC (1000 * 1000ULL)

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        char buf[96];

        m->status_source = sd_event_source_disable_unref(m->status_source);
        if (m->units.n == 1)
                snprintf(buf, sizeof(buf), "STATUS=Following 1 unit or group.");
        else
                snprintf(buf, sizeof(buf), "STATUS=Following %zu units and groups.", m->units.n);
        (void) sd_notify(false, buf);
        return 0;
}

void manager_status_later(Manager *m) {
        if (!m->status_source && m->event &&
            sd_event_add_time_relative(m->event, &m->status_source, CLOCK_MONOTONIC, STATUS_DELAY_USEC,
                                       EVENT_TIMER_COARSE_USEC, on_status_timer, m) >= 0)
                (void) sd_event_source_set_description(m->status_source, "memqosd-status");
}

Unit *manager_get_unit(Manager *m, const char *name) {
        assert(m);
        return unit_table_get(&m->units, name);
}

int manager_add_unit(Manager *m, const char *name, Unit **ret) {
        Unit *u = manager_get_unit(m, name);
        if (u) {
                *ret = u;
                return 0;
        }

        /* What the bus or the cgroup tree can make memqosd allocate is bounded;
         * past the bound, say so once and follow no more. */
        if (m->units.n >= MANAGER_UNITS_MAX) {
                if (!m->units_max_said)
                        log_warning("Following %zu units and groups already, the most memqosd follows: "
                                    "not following %s, nor any other new one.", m->units.n, name);
                m->units_max_said = true;
                return -E2BIG;
        }

        u = calloc(1, sizeof(Unit));
        if (!u)
                return -ENOMEM;
        u->manager = m;
        u->name = strdup(name);
        u->limit = MEMCG_UNLIMITED;
        if (!u->name || unit_table_add(&m->units, u) < 0) {
                unit_free(u);
                return -ENOMEM;
        }
        manager_status_later(m);
        *ret = u;
        return 1;
}

int unit_state_fd(Manager *m, Unit *u) {
        return u->kind == UNIT_KIND_GROUP ? m->group_state_fd : m->unit_state_fd;
}

const char *unit_state_name(Unit *u) {
        return u->state_name ?: u->name;
}

void unit_remove_state(Manager *m, Unit *u) {
        if (!u->has_state_file)
                return;
        (void) state_remove(unit_state_fd(m, u), unit_state_name(u));
        u->has_state_file = false;
}

/* systemd unloaded the unit (stopped and collected, or gone after a reload).
 * A unit whose files had problems is kept, dormant, so that the same problem is
 * not said again when it is loaded again; every other unit is forgotten. */
void manager_unit_unloaded(Manager *m, Unit *u) {
        if (isempty_str(u->diagnostics_said)) {
                manager_unit_cgroup_gone(m, u);
                manager_remove_unit(m, u);
                return;
        }
        manager_unit_cgroup_gone(m, u);
        unit_remove_state(m, u);
}

void manager_remove_unit(Manager *m, Unit *u) {
        assert(m);

        unit_remove_state(m, u);
        unit_table_remove(&m->units, u);
        /* Said again only after a real fall, not once per unit churning at the bound. */
        if (m->units.n < MANAGER_UNITS_MAX / 10 * 9)
                m->units_max_said = false;
        manager_status_later(m);
        unit_free(u);
}

/* --- configuration ---------------------------------------------------------------------- */

/* Reads memqos.conf and its drop-ins' settings into *ret (defaults when a
 * file cannot be read: its path in *ret_unreadable). */
static int manager_read_config(Manager *m, Config *ret, char **ret_unreadable, Diagnostics *diags) {
        _cleanup_free_ char *dropin_dir = NULL;
        int r;

        if (asprintf(&dropin_dir, "%s.d", m->config_path) < 0)
                return -ENOMEM;
        r = config_load(m->config_path, dropin_dir, ret, ret_unreadable, diags);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_error_errno(r, "Cannot read %s: %m", *ret_unreadable ?: m->config_path);
        return 0;
}

/* The settings at start (the rules follow in manager_start()): nothing to
 * keep, so a bad key is at its default and an unreadable file gives the
 * defaults, as config_verdict() says for the start. */
int manager_load_config(Manager *m) {
        _cleanup_(diagnostics_done) Diagnostics d = {};
        _cleanup_free_ char *unreadable = NULL;
        Config c;
        int r;

        r = manager_read_config(m, &c, &unreadable, &d);
        event_config_invalid(&d, LOG_ERR, "; using the default");
        if (r < 0)
                return r;
        m->config = c;
        log_set_max_level(c.log_level);
        return 0;
}

/* --- backends: the kernel's files or memqosd's own work --------------------------------------- */

/* True when a cgroup below the root has the file: the root itself never has
 * the patched files, and a kernel has them everywhere or nowhere. */
static bool kernel_has_file(Manager *m, const char *file) {
        _cleanup_strv_free_ char **children = NULL;
        _cleanup_close_ int fd = -1;
        size_t tried = 0;

        if (!m->memcg_root)
                return false;
        fd = memcg_open(m->memcg_root, "/");
        if (fd < 0 || memcg_list_children(fd, &children) < 0)
                return false;
        for (char **c = children; *c && tried < 8; c++, tried++) {
                _cleanup_close_ int child = openat(fd, *c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (child >= 0 && faccessat(child, file, F_OK, 0) >= 0)
                        return true;
        }
        return false;
}

static void manager_say_backend(Manager *m, int feature, const char *name, const char *file, bool has,
                                FeatureMode mode, Backend configured) {
        _cleanup_free_ char *said = NULL;
        const char *backend = mode.kernel && mode.emulate ? "kernel+emulate" :
                              mode.kernel ? "kernel" : mode.emulate ? "emulate" : "off";
        const char *how = configured == BACKEND_INHERIT ? backend_to_string(m->config.backend)
                                                        : backend_to_string(configured);
        const char *reason;

        if (streq(how, "auto"))
                reason = mode.kernel && mode.emulate ? "auto: this kernel has the files, and memqosd works ahead of it"
                         : mode.kernel ? "auto: this kernel has the files"
                                       : "auto: this kernel lacks the files";
        else
                reason = has ? "configured; this kernel has the files" : "configured; this kernel lacks the files";

        if (asprintf(&said, "%s %s", backend, reason) < 0)
                return;
        if (streq_ptr(said, m->backend_said[feature]))
                return; /* once, and again only when it changes */
        free(m->backend_said[feature]);
        m->backend_said[feature] = TAKE_PTR(said);

        event_backend(feature, name, backend, mode, reason, file);
}

/* At start and after a reload: which backend each feature uses. */
static void manager_setup_backends(Manager *m) {
        Backend daemon = m->config.backend;
        /* Probed once here; the reason in the journal says the same. */
        bool has_wmark = kernel_has_file(m, "memory.wmark_ratio");
        bool has_priority = kernel_has_file(m, "memory.priority");

        if (daemon == BACKEND_OFF) {
                m->reclaim_mode = m->oom_mode = (FeatureMode) {};
        } else {
                m->reclaim_mode = config_feature_mode(m->config.reclaim_backend, daemon, has_wmark,
                                                      m->config.reclaim_ahead_of_kernel);
                /* The pre-emptive kill is what even the patched kernel lacks. */
                m->oom_mode = config_feature_mode(m->config.oom_backend, daemon, has_priority, true);
        }
        manager_say_backend(m, 0, "Background reclaim (WatermarkRatio=)", "memory.wmark_ratio", has_wmark,
                            m->reclaim_mode, m->config.reclaim_backend);
        manager_say_backend(m, 1, "Priority OOM (MemoryPriority=, UsePriorityOOM=)", "memory.priority",
                            has_priority, m->oom_mode, m->config.oom_backend);
}

static void on_limit_restored(const char *name, const SqueezeRecord *rec, int result, void *userdata) {
        Manager *m = userdata;
        const char *cgroup = rec ? rec->cgroup : NULL;

        switch (result) {
        case -EBADMSG:
                log_error("Squeeze record %s/%s is not a record memqosd writes; it is kept and no limit is changed. "
                          "Check the memory limit it was about and remove the file.", m->squeeze_dir, name);
                return;
        case -EINVAL:
        case -EXDEV:
                log_unit_full(LOG_ERR, 0, NULL, cgroup,
                               "Squeeze record %s/%s (cgroup %s, limit %" PRIu64 ", squeezed %" PRIu64
                               ") is not one memqosd could have written (a squeeze only lowers a limit, the file is "
                               "named after its cgroup, the cgroup lies below the memory hierarchy); it is kept "
                               "and no limit is changed. Check the cgroup's memory limit and remove the file.",
                               m->squeeze_dir, name, strna(cgroup), rec ? rec->limit : 0, rec ? rec->squeezed : 0);
                return;
        case -ELOOP:
        case -EBADFD:
                log_error("Squeeze record %s/%s is not a regular file; it is kept and not followed.", m->squeeze_dir,
                          name);
                return;
        case SQUEEZE_NOT_SQUEEZED:
        case SQUEEZE_GONE:
                return;
        case SQUEEZE_CHANGED:
                log_unit_full(LOG_NOTICE, 0, NULL, cgroup,
                              "The memory limit of %s was changed by someone else since memqosd squeezed it to %" PRIu64
                              " bytes; it is left as it is.", cgroup, rec->squeezed);
                return;
        case SQUEEZE_PUT_BACK:
                break;
        default:
                log_unit_error_errno(NULL, cgroup, result,
                                     "Cannot put back the memory limit squeezed before memqosd stopped "
                                     "(record %s/%s, kept for the next try): %m", m->squeeze_dir, name);
                return;
        }
        event_limit_restored(rec);
}

/* The state directory, refused unless nobody else can write there
 * (state-dir.h). */
static int manager_open_state_dir(Manager *m) {
        _cleanup_free_ char *component = NULL;
        StateDirProblem problem;
        int fd;

        if (m->state_dir_fd >= 0)
                return 0;
        fd = state_dir_open(m->state_dir, geteuid(), &problem, &component);
        if (fd >= 0) {
                m->state_dir_fd = fd;
                return 0;
        }
        if (fd == -EPERM)
                return log_error_errno(fd, "Refusing the state directory %s: %s is %s. It must belong to memqosd's "
                                           "user and be writable by nobody else (and every directory above it "
                                           "belong to root, or be sticky when others may write there).",
                                       m->state_dir, strna(component), state_dir_problem_to_string(problem));
        if (fd == -ELOOP)
                return log_error_errno(fd, "Refusing the state directory %s: %s is a symlink; give the real path.",
                                       m->state_dir, strna(component));
        if (fd == -EINVAL)
                return log_error_errno(fd, "Refusing the state directory %s: it must be an absolute path below /, "
                                           "without \"..\".", m->state_dir);
        return log_error_errno(fd, "Cannot open the state directory %s%s%s: %m", m->state_dir,
                               component ? " at " : "", component ?: "");
}

/* Opens name below the state directory into *fd; *path gets its path for messages. */
static int manager_open_state_subdir(Manager *m, const char *name, int *fd, char **path) {
        StateDirProblem problem;
        int r;

        if (!*path && asprintf(path, "%s/%s", m->state_dir, name) < 0)
                return log_oom();
        if (*fd >= 0)
                return 0;
        r = manager_open_state_dir(m);
        if (r < 0)
                return r;
        r = state_dir_open_sub(m->state_dir_fd, name, geteuid(), &problem);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing the state directory %s: it is %s.", *path,
                                       state_dir_problem_to_string(problem));
        if (r == -ELOOP)
                return log_error_errno(r, "Refusing the state directory %s: it is a symlink.", *path);
        if (r < 0)
                return log_error_errno(r, "Cannot open the state directory %s: %m", *path);
        *fd = r;
        return 0;
}

static int manager_open_memcg_root(Manager *m) {
        int r;
        if (m->memcg_root)
                return 0;
        if (m->cgroup_root)
                r = memcg_root_open(m->cgroup_root, &m->memcg_root);
        else
                r = memcg_root_detect(m->sysfs_cgroup, &m->memcg_root);
        if (r < 0)
                log_warning_errno(r, "No memory cgroup hierarchy at %s: %m; following units without programming them.",
                                  m->cgroup_root ?: m->sysfs_cgroup);
        return r;
}

int manager_restore_limits(Manager *m) {
        assert(m);

        int r;

        /* the one place the hierarchy is opened, at start too: a missing
         * one is said once */
        (void) manager_open_memcg_root(m);
        r = manager_open_state_subdir(m, "squeeze", &m->squeeze_fd, &m->squeeze_dir);
        if (r < 0)
                return r;
        r = squeeze_restore_all(m->memcg_root, m->squeeze_fd, m->page_size, on_limit_restored, m);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", m->squeeze_dir);
        if (r > 0)
                return log_error_errno(-EIO, "%d squeeze record%s in %s could not be acted on; see above.", r,
                                       r == 1 ? "" : "s", m->squeeze_dir);
        return 0;
}

/* The state files say what a running memqosd does: at a stop each is
 * marked ACTIVE=no with the time (state.h). */
static void manager_mark_state_stopped(Manager *m) {
        uint64_t now = clock_usec(CLOCK_REALTIME);
        int fds[] = { m->unit_state_fd, m->group_state_fd };

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                if (fds[i] < 0)
                        continue;
                int r = state_mark_all_stopped(fds[i], now);
                if (r != 0)
                        log_warning_errno(r < 0 ? r : -EIO, "Cannot mark every state file in %s/%s as stopped: %m",
                                          m->state_dir, i == 0 ? "units" : "groups");
        }
}

/* --- lifecycle ---------------------------------------------------------------------------- */

static int manager_setup_events(Manager *m);

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        (void) sd_notify(false, "STOPPING=1");
        log_info("Stopping on %s.", si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        manager_mark_state_stopped(m);
        return sd_event_exit(m->event, 0);
}

static void unit_reapply(Unit *u, void *userdata) {
        if (!isempty_str(u->control_group))
                manager_unit_changed(u->manager, u);
}

/* Reads memqos.conf and its drop-ins again, settings and [Group] rules as
 * one configuration, and puts it in force only when config_verdict() takes
 * it. Returns the verdict for the summary; -ENOMEM when reading failed. */
static int manager_reload_config(Manager *m, ConfigVerdict *ret, char **ret_problem_file) {
        _cleanup_(diagnostics_done) Diagnostics settings_diags = {}, rules_diags = {};
        _cleanup_(ruleset_done) RuleSet rs = {};
        _cleanup_free_ char *unreadable = NULL;
        ConfigVerdict v;
        Config c;
        int r;

        r = manager_read_config(m, &c, &unreadable, &settings_diags);
        if (r >= 0)
                r = manager_read_rules(m, &rs, &rules_diags);
        if (r < 0)
                return r;

        v = config_verdict(true, unreadable, &settings_diags, &rules_diags);
        event_config_invalid(&settings_diags, LOG_ERR, "; keeping the configuration in force");
        event_config_invalid(&rules_diags, LOG_ERR, "; keeping the configuration in force");
        if (v.take) {
                m->config = c;
                log_set_max_level(c.log_level);
                if (m->pressure)
                        pressure_server_set_limits(m->pressure, c.notify_clients_max, c.notify_clients_per_unit_max);
                (void) manager_setup_events(m);
                manager_setup_backends(m);

                ruleset_done(&m->rules);
                m->rules = rs;
                rs = (RuleSet) {};
                (void) manager_setup_groups(m);
        }

        /* the verdict's file points into what is freed here */
        if (v.file && !(*ret_problem_file = strdup(v.file)))
                return -ENOMEM;
        *ret = v;
        ret->file = *ret_problem_file;
        return 0;
}

/* The one line every reload ends with. */
int manager_reload(Manager *m) {
        assert(m);

        _cleanup_free_ char *problem_file = NULL;
        ConfigVerdict v = {};
        char buf[64];
        int r;

        snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, clock_usec(CLOCK_MONOTONIC));
        (void) sd_notify(false, buf);

        r = manager_reload_config(m, &v, &problem_file);

        log_debug("Re-reading the files of every unit and group.");
        /* Drop-ins may have changed without daemon-reload being visible to us: re-read
         * every unit's files now with what we know, then ask systemd afresh. */
        unit_table_foreach(&m->units, unit_reapply, NULL);
        if (systemd_connected(m->systemd))
                (void) systemd_resync(m->systemd);

        event_reloaded(m->config_path, m->rules.n, m->units.n, r, &v);
        (void) sd_notify(false, "READY=1\nSTATUS=Following systemd units.");
        manager_status_later(m);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return manager_reload(userdata);
}

/* A signal source owned by the event loop (floating), named. */
static int manager_add_signal(Manager *m, int sig, sd_event_signal_handler_t handler, const char *description) {
        sd_event_source *s = NULL;
        int r;

        r = sd_event_add_signal(m->event, &s, sig, handler, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s, description);
        r = sd_event_source_set_floating(s, true);
        sd_event_source_unref(s);
        return r;
}

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        config_init_defaults(&m->config);
        m->config_path = strdup(CONFIG_PATH);
        m->sysfs_cgroup = strdup("/sys/fs/cgroup");
        m->state_dir = strdup("/run/memqos");
        m->state_dir_fd = m->unit_state_fd = m->group_state_fd = m->squeeze_fd = -1;
        long page_size = sysconf(_SC_PAGESIZE);
        m->page_size = page_size > 0 ? (uint64_t) page_size : 4096;
        m->follow_systemd = true;
        if (!m->config_path || !m->sysfs_cgroup || !m->state_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

static void on_kmsg_oom(const KmsgOomReport *r, void *userdata) {
        Manager *m = userdata;
        event_oom_kill(&m->units, m->memcg_root, r);
}

/* The rate limiter and the /dev/kmsg reader follow memqos.conf; called at
 * start and after a reload. */
static int manager_setup_events(Manager *m) {
        int r;

        if (m->ratelimit) /* the sum folded so far, before the counts go */
                manager_say_groups_folded(m, ratelimit_take_folded(m->ratelimit, GROUPS_ANNOUNCED_KEY));
        m->ratelimit = ratelimit_free(m->ratelimit);
        r = ratelimit_new(m->config.ratelimit_interval_usec, m->config.ratelimit_burst, &m->ratelimit);
        if (r < 0)
                return log_error_errno(r, "Cannot set up event rate limiting: %m");

        if (!m->config.watch_oom) {
                m->kmsg = kmsg_reader_free(m->kmsg);
                return 0;
        }
        if (m->kmsg)
                return 0;
        r = kmsg_reader_new(m->event, "/dev/kmsg", on_kmsg_oom, m, &m->kmsg);
        if (r < 0)
                log_warning_errno(r, "Cannot read /dev/kmsg: %m; OOM kills are reported without the victim's name.");
        return 0;
}

/* --- what the systemd client reports ------------------------------------------------ */

static Unit *on_systemd_add_unit(const char *name, void *userdata) {
        Unit *u = NULL;
        (void) manager_add_unit(userdata, name, &u);
        return u;
}

static void on_systemd_unit_changed(Unit *u, void *userdata) {
        manager_unit_changed(userdata, u);
}

static void on_systemd_unit_cgroup_gone(Unit *u, void *userdata) {
        manager_unit_cgroup_gone(userdata, u);
}

static void on_systemd_unit_unloaded(Unit *u, void *userdata) {
        manager_unit_unloaded(userdata, u);
}

static void on_systemd_synced(void *userdata) {
        manager_synced(userdata);
}

static const SystemdCallbacks systemd_callbacks = {
        .add_unit = on_systemd_add_unit,
        .unit_changed = on_systemd_unit_changed,
        .unit_cgroup_gone = on_systemd_unit_cgroup_gone,
        .unit_unloaded = on_systemd_unit_unloaded,
        .synced = on_systemd_synced,
};

static Unit *on_pressure_owner(const char *cgroup, void *userdata) {
        Manager *m = userdata;
        return unit_table_deepest_for_cgroup(&m->units, cgroup);
}

static Unit *on_pressure_unit(const char *name, void *userdata) {
        return manager_get_unit(userdata, name);
}

static void on_pressure_thresholds_changed(Unit *u, void *userdata) {
        unit_notice_thresholds_changed(userdata, u);
}

/* The pressure socket in the state directory. Without it memqosd runs on:
 * notices are an addition, not what the rest depends on. */
static void manager_setup_pressure(Manager *m) {
        static const PressureServerCallbacks callbacks = {
                .owner = on_pressure_owner,
                .unit = on_pressure_unit,
                .thresholds_changed = on_pressure_thresholds_changed,
        };
        _cleanup_free_ char *path = NULL;
        int r;

        if (!m->memcg_root)
                return;
        if (asprintf(&path, "%s/%s", m->state_dir, PRESSURE_SOCKET_NAME) < 0) {
                log_oom();
                return;
        }
        r = pressure_server_new(m->event, path, m->memcg_root->layout == MEMCG_LAYOUT_V1, m->config.notify_clients_max,
                                m->config.notify_clients_per_unit_max, &callbacks, m, &m->pressure);
        if (r < 0)
                log_warning_errno(r, "Cannot listen on the pressure socket %s: %m; services will not be told.", path);
}

int manager_start(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = manager_add_signal(m, SIGTERM, on_sigterm, "memqosd-sigterm");
        if (r >= 0)
                r = manager_add_signal(m, SIGINT, on_sigterm, "memqosd-sigint");
        if (r >= 0)
                r = manager_add_signal(m, SIGHUP, on_sighup, "memqosd-sighup");
        if (r < 0)
                return log_error_errno(r, "Cannot set up signal handling: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Cannot enable the watchdog: %m");

        /* A state directory others could write to is refused: memqosd
         * writes there as root (state-dir.h). The files an earlier memqosd
         * left go; what is followed is written anew. */
        _cleanup_free_ char *unit_dir = NULL, *group_dir = NULL;
        r = manager_open_state_subdir(m, "units", &m->unit_state_fd, &unit_dir);
        if (r >= 0)
                r = manager_open_state_subdir(m, "groups", &m->group_state_fd, &group_dir);
        if (r >= 0)
                r = manager_open_state_subdir(m, "squeeze", &m->squeeze_fd, &m->squeeze_dir);
        if (r < 0)
                return r;
        (void) state_remove_all(m->unit_state_fd);
        (void) state_remove_all(m->group_state_fd);

        r = manager_setup_events(m);
        if (r < 0)
                return r;

        /* Limits a crashed memqosd left squeezed come back before anything
         * else; this opens the memory hierarchy too. */
        (void) manager_restore_limits(m);
        manager_setup_backends(m);
        if (m->memcg_root) {
                r = limit_watcher_new(m->event, &m->limit_watcher);
                if (r < 0)
                        log_warning_errno(r, "Cannot watch memory limits: %m; a changed limit is seen at the next reload.");
        }

        /* Before the units: clients may connect as soon as their services start. */
        manager_setup_pressure(m);

        /* Before the units: their first events are signals too. */
        (void) bus_api_start(m);
        (void) manager_load_rules(m);
        (void) manager_setup_groups(m);

        if (!m->follow_systemd) {
                log_info("Not following systemd (--no-systemd): the [Group] rules of %s alone.", m->config_path);
                manager_synced(m);
                return 0;
        }
        r = systemd_client_new(m->event, &m->units, &systemd_callbacks, m, &m->systemd);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the systemd client: %m");
        (void) systemd_connect(m->systemd);
        if (!systemd_connected(m->systemd))
                /* Not following units yet, but running (groups included): keep retrying. */
                manager_synced(m);
        return 0;
}

void manager_observe_policy_latency(Manager *m, uint64_t usec) {
        static const double buckets[] = MEMQOS_POLICY_LATENCY_BUCKETS;
        size_t i = 0;
        while (i < MEMQOS_POLICY_LATENCY_N_BUCKETS && (double) usec / 1e6 > buckets[i])
                i++;
        m->policy_latency_counts[i]++;
        m->policy_latency_count++;
        m->policy_latency_sum_usec += usec;
}

static void unit_free_node(void *p) {
        unit_free(p);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        bus_api_stop(m);
        m->pressure = pressure_server_free(m->pressure); /* its clients ask about units */
        systemd_disconnect(m->systemd); /* cancels the units' questions */
        unit_table_clear(&m->units, unit_free_node);
        m->systemd = systemd_client_free(m->systemd);
        m->feature_report_source = sd_event_source_disable_unref(m->feature_report_source);
        m->groups_folded_source = sd_event_source_disable_unref(m->groups_folded_source);
        m->status_source = sd_event_source_disable_unref(m->status_source);
        m->kmsg = kmsg_reader_free(m->kmsg);
        m->ratelimit = ratelimit_free(m->ratelimit);
        m->cgroup_watcher = cgroup_watcher_free(m->cgroup_watcher);
        m->limit_watcher = limit_watcher_free(m->limit_watcher); /* after the units' watches */
        m->parents_source = sd_event_source_disable_unref(m->parents_source);
        strv_free(m->parents_pending);
        strv_free(m->parents_said);
        ruleset_done(&m->rules);
        memcg_root_free(m->memcg_root);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->sysfs_cgroup);
        free(m->cgroup_root);
        free(m->state_dir);
        safe_close(m->state_dir_fd);
        safe_close(m->unit_state_fd);
        safe_close(m->group_state_fd);
        safe_close(m->squeeze_fd);
        free(m->squeeze_dir);
        free(m->backend_said[0]);
        free(m->backend_said[1]);
        free(m);
        return NULL;
}
