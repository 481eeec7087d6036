/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* memqosd's D-Bus API (names in bus-api.h): one file per object, as
 * ratbagd does. bus-manager.c: the connection, the Manager object
 * (/org/memqos1) and its Event signal; bus-unit.c: one object per unit and
 * group. Reads are open to every user; writes (Reload, SetProperties) need
 * the caller's effective uid to be 0, checked from the bus's own
 * credentials of the sender. */

#include <systemd/sd-bus.h>

#include "daemon/unit.h"

typedef struct Manager Manager;

/* ---- bus-manager.c ---- */

/* Connects to the system bus, serves the objects and asks for the name.
 * A missing bus or a name that cannot be taken is said as a warning and
 * is no error: memqosd runs on without its API. */
int bus_api_start(Manager *m);
void bus_api_stop(Manager *m);
extern const sd_bus_vtable bus_manager_vtable[];

/* ---- bus-unit.c ---- */

extern const sd_bus_vtable bus_unit_vtable[];
/* The object path of u; NULL when out of memory. */
char *bus_unit_path(const Unit *u);
int bus_unit_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                  sd_bus_error *error);
int bus_unit_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
/* What puts u's policy in force: "kernel", "emulated", "kernel+emulated" or "none". */
const char *bus_unit_backend(const Unit *u);
/* u's usage read now, UINT64_MAX when it cannot be. */
uint64_t bus_unit_usage(Manager *m, const Unit *u);
