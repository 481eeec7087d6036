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
 * writes). */

#include "daemon/manager.h"

int systemd_connect(Manager *m);
void systemd_disconnect(Manager *m);

/* Re-list every unit and re-fetch its properties (daemon-reload, SIGHUP). */
int systemd_resync(Manager *m);

/* Fetch the properties of one unit; manager_unit_changed() follows. */
int systemd_refresh_unit(Manager *m, Unit *u);

/* Slices, scopes and services are followed; other unit types are not. */
bool systemd_unit_type_followed(const char *name);

void systemd_unit_cancel(Unit *u);
