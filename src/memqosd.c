/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memqosd: memory quality of service for systemd units. See memqosd(8). */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "basic/log.h"
#include "config-paths.h"
#include "daemon/manager.h"
#include "daemon/rlimit.h"

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Programs memory cgroup priorities and watermarks from the [X-MemQoS]\n"
               "settings of systemd units.\n\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "  -c --config=PATH          Configuration file, must exist (default: %s,\n"
               "                            which may be missing: the defaults)\n"
               "     --log-target=TARGET    auto, journal or stderr (default: auto)\n"
               "     --log-level=LEVEL      Override LogLevel= of the configuration\n"
               "     --sysfs-cgroup=PATH    Where cgroup hierarchies are mounted (default: /sys/fs/cgroup)\n"
               "     --cgroup-root=PATH     The memory cgroup hierarchy itself, e.g. /sys/fs/cgroup/memory\n"
               "                            (default: found below --sysfs-cgroup)\n"
               "     --no-systemd           Do not follow systemd units: the [Group] rules alone\n"
               "     --state-dir=PATH       Where state files go (default: /run/memqos)\n"
               "     --restore-limits       Put back the memory limits a stopped memqosd left squeezed,\n"
               "                            then exit (the unit's ExecStopPost=)\n",
               program_invocation_short_name, CONFIG_PATH);
}

typedef struct Arguments {
        const char *config;
        const char *cgroup_root;
        bool no_systemd;
        bool restore_limits;
        const char *sysfs_cgroup;
        const char *state_dir;
        LogTarget log_target;
        int log_level;
} Arguments;

static int parse_argv(int argc, char *argv[], Arguments *a) {
        enum {
                ARG_VERSION = 0x100,
                ARG_LOG_TARGET,
                ARG_LOG_LEVEL,
                ARG_SYSFS_CGROUP,
                ARG_CGROUP_ROOT,
                ARG_NO_SYSTEMD,
                ARG_STATE_DIR,
                ARG_RESTORE_LIMITS,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "sysfs-cgroup", required_argument, NULL, ARG_SYSFS_CGROUP },
                { "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
                { "no-systemd", no_argument, NULL, ARG_NO_SYSTEMD },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "restore-limits", no_argument, NULL, ARG_RESTORE_LIMITS },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("memqosd " PACKAGE_VERSION);
                        return 0;
                case 'c':
                        a->config = optarg;
                        break;
                case ARG_LOG_TARGET:
                        a->log_target = log_target_from_string(optarg);
                        if (a->log_target < 0)
                                return log_error_errno(a->log_target, "Unknown log target: %s", optarg);
                        break;
                case ARG_LOG_LEVEL:
                        a->log_level = log_level_from_string(optarg);
                        if (a->log_level < 0)
                                return log_error_errno(a->log_level, "Unknown log level: %s", optarg);
                        break;
                case ARG_SYSFS_CGROUP:
                        a->sysfs_cgroup = optarg;
                        break;
                case ARG_CGROUP_ROOT:
                        a->cgroup_root = optarg;
                        break;
                case ARG_NO_SYSTEMD:
                        a->no_systemd = true;
                        break;
                case ARG_STATE_DIR:
                        a->state_dir = optarg;
                        break;
                case ARG_RESTORE_LIMITS:
                        a->restore_limits = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "This program takes no positional arguments.");
        return 1;
}

static int replace_string(char **p, const char *s) {
        char *c = strdup(s);
        if (!c)
                return -ENOMEM;
        free(*p);
        *p = c;
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Arguments a = { .log_target = LOG_TARGET_AUTO, .log_level = -1 };
        int r;

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r;
        log_set_target(a.log_target);

        /* EPERM: a seccomp filter without prlimit64() (memqosd.service has
         * none and sets LimitNOFILE= instead). */
        r = rlimit_nofile_bump(NULL);
        if (r < 0)
                log_full(r == -EPERM ? LOG_DEBUG : LOG_WARNING, r, NULL, NULL, NULL, NULL,
                         "Cannot raise the soft limit of open files (RLIMIT_NOFILE): %m");

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up: %m");
        if ((a.config && (r = replace_string(&m->config_path, a.config)) < 0) ||
            (a.sysfs_cgroup && (r = replace_string(&m->sysfs_cgroup, a.sysfs_cgroup)) < 0) ||
            (a.cgroup_root && (r = replace_string(&m->cgroup_root, a.cgroup_root)) < 0) ||
            (a.state_dir && (r = replace_string(&m->state_dir, a.state_dir)) < 0))
                return log_error_errno(r, "Out of memory.");
        m->follow_systemd = !a.no_systemd;

        /* The default file may be missing (the defaults, no rules); one named
         * on the command line was meant to be read, so a typo must not
         * start a daemon that follows nothing. */
        if (a.config && access(a.config, F_OK) < 0)
                return log_error_errno(-errno, "Cannot use --config=%s: %m.", a.config);

        (void) manager_load_config(m);
        if (a.log_level >= 0)
                log_set_max_level(a.log_level);

        if (a.restore_limits)
                return manager_restore_limits(m);

        r = manager_start(m);
        if (r < 0)
                return r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
