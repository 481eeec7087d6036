/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* memqosd's end of systemd's Pressure Service Protocol (memqos-pressure(7)):
 * an AF_UNIX stream socket that services point $MEMORY_PRESSURE_WATCH at.
 * A client's identity is its cgroup, from the kernel (SO_PEERCRED,
 * SO_PEERPIDFD where the kernel has it, then /proc/PID/cgroup); the unit it
 * belongs to is the deepest followed unit or group owning that cgroup, found
 * at each notice (a client may connect before memqosd follows its unit). What
 * a client writes is its registration (conf/notice-request.h). Notices are
 * queued per client (basic/outbuf.h) and written without blocking; what
 * does not fit is dropped and counted.
 *
 * The Manager asks it to tell a unit's clients and to list their own
 * thresholds; it asks the Manager through PressureServerCallbacks. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "basic/util.h"
#include "daemon/notice.h"
#include "daemon/unit.h"

/* The name of the socket in the state directory (/run/memqos/pressure.sock). */
#define PRESSURE_SOCKET_NAME "pressure.sock"

typedef struct PressureServer PressureServer;

typedef struct PressureServerCallbacks {
        /* The followed unit or group that owns cgroup (the deepest), or NULL. */
        Unit *(*owner)(const char *cgroup, void *userdata);
        /* The followed unit or group called name, or NULL. */
        Unit *(*unit)(const char *name, void *userdata);
        /* The clients' own thresholds of owner changed (registrations, clients
         * gone): its watch is to follow. Said at most once a second for all
         * the changes of that second, as a v1 watch costs the kernel an RCU
         * grace period (10-15 ms) per threshold each time it changes. */
        void (*thresholds_changed)(Unit *owner, void *userdata);
} PressureServerCallbacks;

/* What happened since start, for tests and the journal. */
typedef struct PressureServerStats {
        uint64_t accepted;          /* connections taken */
        uint64_t refused;           /* closed at once: a bound (total, per unit) was reached */
        uint64_t unidentified;      /* closed at once: no cgroup could be learned */
        uint64_t rejected;          /* registrations refused (bad line, too big), connection closed */
        uint64_t notices;           /* notice lines queued */
        uint64_t dropped;           /* notice lines dropped: the client's queue was full */
} PressureServerStats;

/* Listens on path (a stale socket there is replaced; mode 0666: every local
 * process may connect, identity is the kernel's). v1: the peers' cgroups
 * are read from the memory controller's line of /proc/PID/cgroup. */
int pressure_server_new(sd_event *e, const char *path, bool v1, unsigned clients_max,
                        unsigned clients_per_unit_max, const PressureServerCallbacks *cb, void *userdata,
                        PressureServer **ret);
/* Closes every connection and removes the socket. */
PressureServer *pressure_server_free(PressureServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(PressureServer *, pressure_server_free);
/* New bounds (reload): taken for new connections; those in place stay. */
void pressure_server_set_limits(PressureServer *s, unsigned clients_max, unsigned clients_per_unit_max);

/* Tells the clients of u that want it (notice_is_wanted(): unit_notice are
 * u's NoticeThresholds= in bytes) of the crossing ev. Returns how many were
 * told (their line queued; a line dropped for a full queue is counted in
 * the stats, not here). */
size_t pressure_server_notify(PressureServer *s, Unit *u, const MemcgWatchEvent *ev, const uint64_t *unit_notice,
                              size_t n_unit_notice);

/* A new round of notices (a step of the ladder, emulate/ladder.h): a
 * client is told at most once in a round. Never 0. */
uint64_t pressure_server_new_round(PressureServer *s);

/* Queues line[0..len) for every client whose cgroup is cgroup or below it,
 * except those told in round already (0: none is). Returns how many got it
 * (a line dropped for a full queue is counted in the stats, not here). */
size_t pressure_server_tell(PressureServer *s, const char *cgroup, uint64_t round, const char *line, size_t len);

/* Appends to ret[*n..max) the thresholds that u's clients registered,
 * resolved against limit; *n grows. */
void pressure_server_thresholds(PressureServer *s, Unit *u, uint64_t limit, uint64_t *ret, size_t *n, size_t max);

const PressureServerStats *pressure_server_stats(const PressureServer *s);
size_t pressure_server_n_clients(const PressureServer *s);
