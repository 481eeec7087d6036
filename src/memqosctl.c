/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* memqosctl: asks memqosd over its D-Bus API (daemon/bus-api.h) and shows
 * the answers as systemctl does: tables, --json, Prometheus metrics. The
 * formatting is in ctl/ (pure, unit-tested); this file is the edge. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "config-paths.h"
#include "ctl/http.h"
#include "ctl/json.h"
#include "ctl/report.h"
#include "ctl/table.h"
#include "daemon/bus-api.h"
#include "daemon/events.h"

/* Exit codes (memqosctl(1), EXIT STATUS). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,      /* a D-Bus or I/O error */
        EXIT_USAGE = 2,       /* invalid arguments, or a value memqosd refused */
        EXIT_DENIED = 3,      /* a write by a user who is not root */
        EXIT_NO_UNIT = 4,     /* no such unit or group */
        EXIT_NOT_RUNNING = 5, /* memqosd is not on the bus */
};

typedef enum JsonMode { JSON_OFF, JSON_SHORT, JSON_PRETTY } JsonMode;

static struct {
        JsonMode json;
        bool pager;
        bool legend;
        bool runtime;
        bool follow;
        bool http;
} arg = { .pager = true, .legend = true };

static FILE *out;
static FILE *pager_pipe;

static void pager_open(void) {
        out = stdout;
        if (!arg.pager || arg.json != JSON_OFF || !isatty(STDOUT_FILENO))
                return;
        const char *pager = getenv("MEMQOSCTL_PAGER") ?: getenv("PAGER") ?: "less";
        if (isempty_str(pager) || streq(pager, "cat"))
                return;
        /* less: quit if one screen, raw colours, no wrapping of long lines. */
        if (!getenv("LESS"))
                setenv("LESS", "FRSXMK", 1);
        pager_pipe = popen(pager, "w");
        if (pager_pipe)
                out = pager_pipe;
}

static void pager_close(void) {
        if (pager_pipe) {
                fflush(pager_pipe);
                pclose(pager_pipe);
                pager_pipe = NULL;
        }
        out = stdout;
}

/* ---- the bus ---- */

static int exit_of_error(const sd_bus_error *e, int r) {
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) || r == -EACCES || r == -EPERM)
                return EXIT_DENIED;
        if (sd_bus_error_has_name(e, MEMQOS_BUS_ERROR_NO_SUCH_UNIT))
                return EXIT_NO_UNIT;
        if (sd_bus_error_has_name(e, MEMQOS_BUS_ERROR_INVALID_VALUE) ||
            sd_bus_error_has_name(e, MEMQOS_BUS_ERROR_NOT_SUPPORTED))
                return EXIT_USAGE;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
            sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) || r == -ENOENT || r == -ECONNREFUSED)
                return EXIT_NOT_RUNNING;
        return EXIT_FAILED;
}

static int fail_call(const char *what, const sd_bus_error *e, int r) {
        fprintf(stderr, "memqosctl: %s: %s\n", what, e && e->message ? e->message : strerror(-r));
        return -exit_of_error(e, r);
}

static int call(sd_bus *bus, const char *path, const char *iface, const char *method, sd_bus_message **reply,
                const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r = sd_bus_message_new_method_call(bus, &m, MEMQOS_BUS_NAME, path, iface, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, reply);
        if (r < 0) {
                r = fail_call(method, &e, r);
                sd_bus_error_free(&e);
        }
        return r;
}

static int bus_open(sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot connect to the system bus: %s\n", strerror(-r));
                return -EXIT_NOT_RUNNING;
        }
        return 0;
}

/* ---- reading the answers ---- */

typedef struct Units {
        sd_bus_message *reply; /* the strings of rows point into it */
        UnitRow *rows;
        size_t n;
} Units;

static void units_done(Units *u) {
        sd_bus_message_unref(u->reply);
        free(u->rows);
}

static int list_units(sd_bus *bus, Units *ret) {
        *ret = (Units) {};
        int r = call(bus, MEMQOS_BUS_PATH, MEMQOS_BUS_MANAGER_INTERFACE, "ListUnits", &ret->reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(ret->reply, 'a', MEMQOS_BUS_UNIT_ROW);
        while (r >= 0) {
                UnitRow x = {};
                r = sd_bus_message_read(ret->reply, MEMQOS_BUS_UNIT_ROW, &x.name, &x.kind, &x.cgroup, &x.active,
                                        &x.backend, &x.priority, &x.usage, &x.limit, &x.wmark_high, &x.wmark_low,
                                        &x.reclaimed_bytes, &x.reclaim_passes, &x.priority_kills, &x.oom_kills,
                                        &x.threshold_crossings, &x.notices_sent, &x.last_event_usec, &x.last_event,
                                        &x.path);
                if (r <= 0)
                        break;
                UnitRow *rows = reallocarray(ret->rows, ret->n + 1, sizeof(UnitRow));
                if (!rows)
                        return -ENOMEM;
                ret->rows = rows;
                ret->rows[ret->n++] = x;
        }
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot read the list of units: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        return 0;
}

/* The Manager's properties into d (strings valid while *reply lives). */
static int daemon_info(sd_bus *bus, DaemonInfo *d, sd_bus_message **reply) {
        *d = (DaemonInfo) {};
        int r = call(bus, MEMQOS_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll", reply, "s",
                     MEMQOS_BUS_MANAGER_INTERFACE);
        if (r < 0)
                return r;
        sd_bus_message *m = *reply;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name, **target = NULL;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                if (streq(name, "Version"))
                        target = &d->version;
                else if (streq(name, "ReclaimBackend"))
                        target = &d->reclaim_backend;
                else if (streq(name, "OOMBackend"))
                        target = &d->oom_backend;
                else if (streq(name, "CgroupLayout"))
                        target = &d->layout;
                if (target)
                        r = sd_bus_message_read(m, "v", "s", target);
                else if (streq(name, "NUnits"))
                        r = sd_bus_message_read(m, "v", "u", &d->n_units);
                else if (streq(name, "FollowSystemd")) {
                        int b;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        d->follow_systemd = b;
                } else if (streq(name, "PolicyApplySeconds")) {
                        double le;
                        uint64_t count;
                        r = sd_bus_message_enter_container(m, 'v', "(a(dt)dt)");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(m, 'r', "a(dt)dt");
                        if (r >= 0)
                                r = sd_bus_message_enter_container(m, 'a', "(dt)");
                        while (r >= 0 && (r = sd_bus_message_read(m, "(dt)", &le, &count)) > 0)
                                if (d->n_buckets < DAEMON_BUCKETS_MAX) {
                                        d->bucket_le[d->n_buckets] = le;
                                        d->bucket_count[d->n_buckets++] = count;
                                }
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_read(m, "dt", &d->latency_sum, &d->latency_count);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot read memqosd's properties: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        return 0;
}

/* ---- commands ---- */

static int cmd_status(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DaemonInfo d;
        int r = daemon_info(bus, &d, &reply);
        if (r < 0)
                return r;
        pager_open();
        if (arg.json != JSON_OFF) {
                JsonWriter w;
                json_init(&w, out, arg.json == JSON_PRETTY);
                json_object_begin(&w);
                json_key(&w, "version"), json_string(&w, d.version);
                json_key(&w, "follow_systemd"), json_bool(&w, d.follow_systemd);
                json_key(&w, "cgroup_layout"), json_string(&w, d.layout);
                json_key(&w, "units"), json_u64(&w, d.n_units);
                json_key(&w, "reclaim_backend"), json_string(&w, d.reclaim_backend);
                json_key(&w, "oom_backend"), json_string(&w, d.oom_backend);
                json_key(&w, "policy_applied"), json_u64(&w, d.latency_count);
                json_object_end(&w);
                json_finish(&w);
                return 0;
        }
        fprintf(out, "memqosd %s, %s\n", strna(d.version),
                d.follow_systemd ? "following systemd units and [Group] rules" : "following [Group] rules (--no-systemd)");
        fprintf(out, "  Memory cgroups: %s\n", strna(d.layout));
        fprintf(out, "          Units: %" PRIu32 " (units and groups followed)\n", d.n_units);
        fprintf(out, "        Reclaim: %s\n", strna(d.reclaim_backend));
        fprintf(out, "   Priority OOM: %s\n", strna(d.oom_backend));
        if (d.latency_count > 0)
                fprintf(out, " Policy applied: %" PRIu64 " times, %.3f ms on average from active to in force\n",
                        d.latency_count, d.latency_sum * 1000 / (double) d.latency_count);
        return 0;
}

static int cmd_list(sd_bus *bus, char **args) {
        _cleanup_(units_done) Units u = {};
        int r = list_units(bus, &u);
        if (r < 0)
                return r;
        pager_open();
        if (arg.json != JSON_OFF) {
                report_units_json(u.rows, u.n, arg.json == JSON_PRETTY, out);
                return 0;
        }
        return report_units_table(u.rows, u.n, arg.legend, out) < 0 ? -EXIT_FAILED : 0;
}

static int unit_path(sd_bus *bus, const char *name, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r = call(bus, MEMQOS_BUS_PATH, MEMQOS_BUS_MANAGER_INTERFACE, "GetUnit", &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return -EXIT_FAILED;
        *ret = strdup(path);
        return *ret ? 0 : -EXIT_FAILED;
}

static void print_time(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, usec / 1000000);
}

/* One property of a Unit: "Name=value" lines, or a JSON member. */
static int show_property(sd_bus_message *m, const char *name, JsonWriter *w) {
        const char *type;
        char tc;
        int r = sd_bus_message_peek_type(m, &tc, &type);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return r;
        if (w)
                json_key(w, name);
        if (streq(type, "s")) {
                const char *s;
                r = sd_bus_message_read(m, "s", &s);
                if (r >= 0 && w)
                        json_string(w, s);
                else if (r >= 0)
                        fprintf(out, "%s=%s\n", name, s);
        } else if (streq(type, "u")) {
                uint32_t v;
                r = sd_bus_message_read(m, "u", &v);
                if (r >= 0 && w)
                        v == UINT32_MAX ? json_null(w) : json_u64(w, v);
                else if (r >= 0 && v == UINT32_MAX)
                        fprintf(out, "%s=\n", name);
                else if (r >= 0)
                        fprintf(out, "%s=%" PRIu32 "\n", name, v);
        } else if (streq(type, "t")) {
                uint64_t v;
                r = sd_bus_message_read(m, "t", &v);
                if (r >= 0 && w)
                        json_bytes(w, v);
                else if (r >= 0 && v == UINT64_MAX)
                        fprintf(out, "%s=infinity\n", name);
                else if (r >= 0)
                        fprintf(out, "%s=%" PRIu64 "\n", name, v);
        } else if (streq(type, "as")) {
                const char *s;
                bool first = true;
                r = sd_bus_message_enter_container(m, 'a', "s");
                if (w)
                        json_array_begin(w);
                else
                        fprintf(out, "%s=", name);
                while (r >= 0 && (r = sd_bus_message_read(m, "s", &s)) > 0) {
                        if (w)
                                json_string(w, s);
                        else
                                fprintf(out, "%s%s", first ? "" : " ", s);
                        first = false;
                }
                if (w)
                        json_array_end(w);
                else
                        fputc('\n', out);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        } else if (streq(type, "a(sbtsti)")) {
                const char *key, *state;
                int want, error;
                uint64_t desired, current;
                r = sd_bus_message_enter_container(m, 'a', "(sbtsti)");
                if (w)
                        json_array_begin(w);
                while (r >= 0 &&
                       (r = sd_bus_message_read(m, "(sbtsti)", &key, &want, &desired, &state, &current, &error)) > 0) {
                        if (w) {
                                json_object_begin(w);
                                json_key(w, "key"), json_string(w, key);
                                json_key(w, "desired");
                                want ? json_u64(w, desired) : json_null(w);
                                json_key(w, "state"), json_string(w, state);
                                json_key(w, "current"), json_u64(w, current);
                                json_key(w, "error"), json_i64(w, error);
                                json_object_end(w);
                        } else if (want)
                                fprintf(out, "%s=%" PRIu64 " (%s, read back %" PRIu64 "%s%s)\n", key, desired, state,
                                        current, error ? ", " : "", error ? strerror(-error) : "");
                        else
                                fprintf(out, "%s= (%s)\n", key, state);
                }
                if (w)
                        json_array_end(w);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        } else if (streq(type, "a(tss)")) {
                const char *kind, *message;
                uint64_t usec;
                r = sd_bus_message_enter_container(m, 'a', "(tss)");
                if (w)
                        json_array_begin(w);
                while (r >= 0 && (r = sd_bus_message_read(m, "(tss)", &usec, &kind, &message)) > 0) {
                        if (w) {
                                json_object_begin(w);
                                json_key(w, "realtime_usec"), json_u64(w, usec);
                                json_key(w, "kind"), json_string(w, kind);
                                json_key(w, "message"), json_string(w, message);
                                json_object_end(w);
                        } else {
                                char when[64];
                                print_time(when, sizeof(when), usec);
                                fprintf(out, "LastEvent=%s %s: %s\n", when, kind, message);
                        }
                }
                if (w)
                        json_array_end(w);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        } else {
                r = sd_bus_message_skip(m, type);
                if (w)
                        json_null(w);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        return r;
}

static int cmd_show(sd_bus *bus, char **args) {
        _cleanup_free_ char *path = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = unit_path(bus, args[0], &path);
        if (r < 0)
                return r;
        r = call(bus, path, "org.freedesktop.DBus.Properties", "GetAll", &reply, "s", MEMQOS_BUS_UNIT_INTERFACE);
        if (r < 0)
                return r;
        pager_open();
        JsonWriter w, *wp = NULL;
        if (arg.json != JSON_OFF) {
                json_init(&w, out, arg.json == JSON_PRETTY);
                json_object_begin(&w);
                wp = &w;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = show_property(reply, name, wp);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (wp) {
                json_object_end(&w);
                json_finish(&w);
        }
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot read the properties of %s: %s\n", args[0], strerror(-r));
                return -EXIT_FAILED;
        }
        return 0;
}

static int cmd_kill_order(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *cgroup;
        uint64_t n_read;
        int r = call(bus, MEMQOS_BUS_PATH, MEMQOS_BUS_MANAGER_INTERFACE, "KillOrder", &reply, "s", args[0]);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "st", &cgroup, &n_read);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', MEMQOS_BUS_KILL_LEAF);
        if (r < 0)
                return -EXIT_FAILED;

        pager_open();
        static const char *const headers[] = { ">#", "LEAF", "BRANCH", ">PRIO", ">PID", "COMM", ">RSS", ">OOM-ADJ" };
        Table t;
        JsonWriter w;
        if (arg.json != JSON_OFF) {
                json_init(&w, out, arg.json == JSON_PRETTY);
                json_object_begin(&w);
                json_key(&w, "cgroup"), json_string(&w, cgroup);
                json_key(&w, "cgroups_read"), json_u64(&w, n_read);
                json_key(&w, "leaves");
                json_array_begin(&w);
        } else if (table_init(&t, 8, headers) < 0)
                return -EXIT_FAILED;

        unsigned order = 0;
        while ((r = sd_bus_message_enter_container(reply, 'r', "ssuutba(isti)")) > 0) {
                const char *leaf, *branch, *comm;
                uint32_t branch_priority, priority;
                uint64_t usage, rss;
                int group, pid, adj;
                r = sd_bus_message_read(reply, "ssuutb", &leaf, &branch, &branch_priority, &priority, &usage, &group);
                if (r >= 0)
                        r = sd_bus_message_enter_container(reply, 'a', "(isti)");
                if (r < 0)
                        break;
                if (arg.json != JSON_OFF) {
                        json_object_begin(&w);
                        json_key(&w, "cgroup"), json_string(&w, leaf);
                        json_key(&w, "branch"), json_string(&w, branch);
                        json_key(&w, "branch_priority"), json_u64(&w, branch_priority);
                        json_key(&w, "priority"), json_u64(&w, priority);
                        json_key(&w, "usage_bytes"), json_u64(&w, usage);
                        json_key(&w, "oom_group"), json_bool(&w, group);
                        json_key(&w, "processes");
                        json_array_begin(&w);
                }
                while ((r = sd_bus_message_read(reply, "(isti)", &pid, &comm, &rss, &adj)) > 0) {
                        if (arg.json != JSON_OFF) {
                                json_object_begin(&w);
                                json_key(&w, "pid"), json_i64(&w, pid);
                                json_key(&w, "comm"), json_string(&w, comm);
                                json_key(&w, "rss_bytes"), json_u64(&w, rss);
                                json_key(&w, "oom_score_adj"), json_i64(&w, adj);
                                json_object_end(&w);
                                continue;
                        }
                        char o[16], p[16], pi[16], rs[FORMAT_HUMAN_MAX], a[16];
                        snprintf(o, sizeof(o), "%u", ++order);
                        snprintf(p, sizeof(p), "%" PRIu32, branch_priority);
                        snprintf(pi, sizeof(pi), "%d", pid);
                        snprintf(a, sizeof(a), "%d", adj);
                        const char *cells[] = { o, leaf, branch, p, pi, comm, format_bytes_human(rs, rss), a };
                        if (table_add_row(&t, cells) < 0)
                                return -EXIT_FAILED;
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (arg.json != JSON_OFF) {
                        json_array_end(&w);
                        json_object_end(&w);
                }
                if (r < 0)
                        break;
        }
        if (r < 0)
                return -EXIT_FAILED;
        if (arg.json != JSON_OFF) {
                json_array_end(&w);
                json_object_end(&w);
                json_finish(&w);
                return 0;
        }
        char legend[640];
        snprintf(legend, sizeof(legend),
                 "%zu %s in the order memqosd's priority kill would take them below %s now (%" PRIu64
                 " cgroups read). Siblings compare: the branch of lowest priority first, the larger usage on a tie; "
                 "in a leaf the largest RSS adjusted by oom_score_adj. The highest priority in use is not listed: it is "
                 "never killed pre-emptively (the kernel's OOM killer decides there, at the limit). Nothing was killed.",
                 table_n_rows(&t), table_n_rows(&t) == 1 ? "process" : "processes", cgroup, n_read);
        r = table_print(&t, arg.legend, legend, out);
        table_done(&t);
        return r < 0 ? -EXIT_FAILED : 0;
}

static int cmd_set(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_message_new_method_call(bus, &m, MEMQOS_BUS_NAME, MEMQOS_BUS_PATH,
                                               MEMQOS_BUS_MANAGER_INTERFACE, "SetProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", args[0], arg.runtime);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ss)");
        for (char **a = args + 1; r >= 0 && *a; a++) {
                char *eq = strchr(*a, '=');
                if (!eq) {
                        fprintf(stderr, "memqosctl: \"%s\" is not KEY=VALUE.\n", *a);
                        return -EXIT_USAGE;
                }
                *eq = '\0';
                r = sd_bus_message_append(m, "(ss)", *a, eq + 1);
                *eq = '=';
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0) {
                r = fail_call("set", &e, r);
                sd_bus_error_free(&e);
        }
        return r;
}

/* ---- events, from the journal ---- */

static int print_event(sd_journal *j, JsonWriter *w) {
        const void *data;
        size_t len;
        char id[33] = "", object[256] = "", message[4096] = "";
        struct { const char *field; char *buf; size_t size; } want[] = {
                { "MESSAGE_ID=", id, sizeof(id) },
                { "MEMQOS_OBJECT=", object, sizeof(object) },
                { "MESSAGE=", message, sizeof(message) },
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                size_t flen = strlen(want[i].field);
                if (sd_journal_get_data(j, strndupa(want[i].field, flen - 1), &data, &len) >= 0 && len > flen)
                        snprintf(want[i].buf, want[i].size, "%.*s", (int) (len - flen), (const char *) data + flen);
        }
        const char *kind = event_kind(id);
        if (!kind)
                return 0;
        uint64_t usec = 0;
        (void) sd_journal_get_realtime_usec(j, &usec);
        if (w) {
                json_object_begin(w);
                json_key(w, "realtime_usec"), json_u64(w, usec);
                json_key(w, "kind"), json_string(w, kind);
                json_key(w, "object"), json_string(w, object);
                json_key(w, "message_id"), json_string(w, id);
                json_key(w, "message"), json_string(w, message);
                json_object_end(w);
                if (!w->pretty || w->depth == 0)
                        json_finish(w);
        } else {
                char when[64];
                print_time(when, sizeof(when), usec);
                fprintf(out, "%s %-14s %s: %s\n", when, kind, object[0] ? object : "memqosd", message);
        }
        fflush(out);
        return 0;
}

static int cmd_events(sd_bus *bus, char **args) {
        sd_journal *j = NULL;
        int r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot open the journal: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        r = sd_journal_add_match(j, "SYSLOG_IDENTIFIER=memqosd", 0);
        if (r < 0)
                goto finish;
        if (!arg.follow)
                pager_open();
        else
                out = stdout;
        JsonWriter w, *wp = NULL;
        if (arg.json != JSON_OFF) {
                /* One object per line: a stream that --follow can extend. */
                json_init(&w, out, false);
                wp = &w;
        }
        while ((r = sd_journal_next(j)) > 0)
                print_event(j, wp);
        while (r >= 0 && arg.follow) {
                r = sd_journal_wait(j, UINT64_MAX);
                while (r >= 0 && (r = sd_journal_next(j)) > 0)
                        print_event(j, wp);
        }
finish:
        sd_journal_close(j);
        if (r < 0) {
                fprintf(stderr, "memqosctl: cannot read the journal: %s\n", strerror(-r));
                return -EXIT_FAILED;
        }
        return 0;
}

/* ---- metrics ---- */

static int metrics_text(sd_bus *bus, char **ret, size_t *ret_size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(units_done) Units u = {};
        DaemonInfo d;
        int r = daemon_info(bus, &d, &reply);
        if (r >= 0)
                r = list_units(bus, &u);
        if (r < 0)
                return r;
        FILE *f = open_memstream(ret, ret_size);
        if (!f)
                return -EXIT_FAILED;
        r = report_metrics(&d, u.rows, u.n, PACKAGE_VERSION, f);
        if (fclose(f) != 0 || r < 0)
                return -EXIT_FAILED;
        return 0;
}

/* One request on stdin, its answer on stdout: memqos-metrics@.service
 * (Accept=yes). Times out after 10 s of silence. */
static int serve_http(sd_bus *bus) {
        char buf[HTTP_REQUEST_MAX];
        size_t n = 0;
        HttpRequest req = {};
        while (!req.complete && req.status == 0) {
                struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                if (poll(&p, 1, 10000) <= 0)
                        return -EXIT_FAILED;
                ssize_t k = read(STDIN_FILENO, buf + n, sizeof(buf) - n);
                if (k <= 0)
                        return -EXIT_FAILED;
                n += (size_t) k;
                http_parse_request(buf, n, &req);
        }
        _cleanup_free_ char *body = NULL;
        size_t size = 0;
        int status = req.status;
        if (status == 200 && metrics_text(bus, &body, &size) < 0)
                status = 503;
        if (status != 200) {
                free(body);
                if (asprintf(&body, "%d %s\n", status, status == 503 ? "memqosd is not answering" : http_status_text(status)) < 0)
                        return -EXIT_FAILED;
                size = strlen(body);
        }
        printf("HTTP/1.1 %d %s\r\n"
               "Content-Type: %s\r\n"
               "Content-Length: %zu\r\n"
               "Connection: close\r\n\r\n",
               status, status == 503 ? "Service Unavailable" : http_status_text(status),
               status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8", size);
        if (!req.head)
                fwrite(body, 1, size, stdout);
        return fflush(stdout) == 0 ? 0 : -EXIT_FAILED;
}

static int cmd_metrics(sd_bus *bus, char **args) {
        if (arg.http)
                return serve_http(bus);
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r = metrics_text(bus, &text, &size);
        if (r < 0)
                return r;
        fwrite(text, 1, size, stdout);
        return 0;
}

/* ---- argv ---- */

static void help(void) {
        printf("memqosctl [OPTIONS...] COMMAND ...\n\n"
               "Ask memqosd, the memory QoS daemon.\n\n"
               "Commands:\n"
               "  status                     memqosd's backends and counts\n"
               "  list                       units and groups followed\n"
               "  show UNIT|CGROUP           one unit's policy, knobs, usage and last events\n"
               "  kill-order UNIT|CGROUP     what the priority kill would take now, in order (dry run)\n"
               "  set UNIT KEY=VALUE...      write [X-MemQoS] drop-ins and daemon-reload (root)\n"
               "  events                     memqosd's events from the journal\n"
               "  metrics                    Prometheus text exposition\n\n"
               "Options:\n"
               "  -h --help                  this help\n"
               "     --version               the version\n"
               "     --json=pretty|short     JSON output\n"
               "     --no-pager              do not pipe into a pager\n"
               "     --no-legend             no header and footer in tables\n"
               "     --runtime               set: below /run, until the next boot\n"
               "  -f --follow                events: wait for more\n"
               "     --http                  metrics: answer one HTTP request on stdin\n\n"
               "See memqosctl(1).\n");
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* after the verb; -1: any */
        int (*run)(sd_bus *bus, char **args);
} Verb;

static const Verb verbs[] = {
        { "status", 0, 0, cmd_status },
        { "list", 0, 0, cmd_list },
        { "show", 1, 1, cmd_show },
        { "kill-order", 1, 1, cmd_kill_order },
        { "set", 2, -1, cmd_set },
        { "events", 0, 0, cmd_events },
        { "metrics", 0, 0, cmd_metrics },
};

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_PAGER, ARG_NO_LEGEND, ARG_RUNTIME, ARG_HTTP };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", required_argument, NULL, ARG_JSON },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "runtime", no_argument, NULL, ARG_RUNTIME },
                { "follow", no_argument, NULL, 'f' },
                { "http", no_argument, NULL, ARG_HTTP },
                {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "hf", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("memqosctl " PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        if (streq(optarg, "pretty"))
                                arg.json = JSON_PRETTY;
                        else if (streq(optarg, "short"))
                                arg.json = JSON_SHORT;
                        else if (streq(optarg, "off"))
                                arg.json = JSON_OFF;
                        else {
                                fprintf(stderr, "memqosctl: --json= takes pretty, short or off.\n");
                                return -EXIT_USAGE;
                        }
                        break;
                case ARG_NO_PAGER:
                        arg.pager = false;
                        break;
                case ARG_NO_LEGEND:
                        arg.legend = false;
                        break;
                case ARG_RUNTIME:
                        arg.runtime = true;
                        break;
                case 'f':
                        arg.follow = true;
                        break;
                case ARG_HTTP:
                        arg.http = true;
                        break;
                default:
                        return -EXIT_USAGE;
                }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        out = stdout;
        int r = parse_argv(argc, argv);
        if (r <= 0)
                return -r;

        const char *name = optind < argc ? argv[optind] : "status";
        int n_args = optind < argc ? argc - optind - 1 : 0;
        const Verb *verb = NULL;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "memqosctl: unknown command \"%s\"; see memqosctl --help.\n", name);
                return EXIT_USAGE;
        }
        if (n_args < verb->min_args || (verb->max_args >= 0 && n_args > verb->max_args)) {
                fprintf(stderr, "memqosctl: %s takes %s; see memqosctl --help.\n", name,
                        verb->min_args == 0 ? "no argument" : verb->max_args == 1 ? "one argument" : "a unit and KEY=VALUE assignments");
                return EXIT_USAGE;
        }
        /* A pager that quits early must not kill us mid-line. */
        signal(SIGPIPE, SIG_IGN);
        if (verb->run != cmd_events) {
                r = bus_open(&bus);
                if (r < 0)
                        return -r;
        }
        r = verb->run(bus, argv + optind + 1);
        pager_close();
        return r < 0 ? -r : EXIT_OK;
}
