/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Talking to org.freedesktop.systemd1 on the system bus, always
 * asynchronously. Install the matches, then Subscribe, then list: signals can
 * arrive in any order relative to the list reply, so every path ends in the
 * same idempotent "fetch this unit's properties".
 *
 * systemd 252 sends no PropertiesChanged for ControlGroup, FragmentPath,
 * DropInPaths or the Memory* limits: they are fetched when a unit turns
 * active, after Reloading(false), after systemd comes back on the bus, and
 * when a file appears under system.control/ (what `systemctl set-property`
 * writes).
 *
 * A SystemdClient owns its connection, timers, watches and question queue,
 * and frees them; it finds units in its owner's UnitTable, fills in their
 * properties (ActiveState, ControlGroup, FragmentPath, DropInPaths) and the
 * bus bookkeeping of Unit, and reports through SystemdCallbacks. */

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "daemon/unit.h"

/* What the client tells its owner; userdata is the owner's. None may be NULL. */
typedef struct SystemdCallbacks {
        /* A unit of a followed type that systemd has and the table has not:
         * the owner makes and adds it, or returns NULL (out of memory, bound). */
        Unit *(*add_unit)(const char *name, void *userdata);
        /* Fresh properties of an active unit, or it lost its cgroup. */
        void (*unit_changed)(Unit *u, void *userdata);
        /* The unit stopped: its cgroup is gone (or going). */
        void (*unit_cgroup_gone)(Unit *u, void *userdata);
        /* systemd unloaded the unit; the owner may drop it from the table. */
        void (*unit_unloaded)(Unit *u, void *userdata);
        /* The initial (or a re-) synchronisation with systemd finished. */
        void (*synced)(void *userdata);
} SystemdCallbacks;

typedef struct SystemdClient SystemdClient;

/* units: the owner's table, which outlives the client. */
int systemd_client_new(sd_event *event, UnitTable *units, const SystemdCallbacks *callbacks, void *userdata,
                       SystemdClient **ret);
/* Disconnects (cancelling every unit's questions) and frees. */
SystemdClient *systemd_client_free(SystemdClient *c);

int systemd_connect(SystemdClient *c);
void systemd_disconnect(SystemdClient *c);
/* On the bus now (false for NULL). */
bool systemd_connected(const SystemdClient *c);

/* Re-list every unit and re-fetch its properties (daemon-reload, SIGHUP). */
int systemd_resync(SystemdClient *c);

/* Fetch the properties of one unit; unit_changed follows. -ENOTCONN when
 * off the bus (and for a NULL client). */
int systemd_refresh_unit(SystemdClient *c, Unit *u);

/* Slices, scopes and services are followed; other unit types are not. */
bool systemd_unit_type_followed(const char *name);

/* The unit is freed, or the connection gone: its questions are cancelled. */
void systemd_unit_cancel(Unit *u);
