/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Whose signals memqosd believes on the system bus. Pure: message fields in,
 * answers out; systemd.c does the bus I/O.
 *
 * A match rule with sender='org.freedesktop.systemd1' does not protect a
 * client: the bus delivers unicast signals addressed to it whatever its
 * matches, and sd-bus cannot map a well-known name to its owner on the client
 * side, so it dispatches any such signal to the match. Any user may send
 * one (dbus-daemon's system policy allows every signal). The sender field,
 * though, is set by the bus itself: a client's unique name (":1.42"), or
 * "org.freedesktop.DBus" for the bus driver alone. So a signal speaks for
 * systemd only when its sender is the unique name that currently owns
 * org.freedesktop.systemd1, learned with GetNameOwner at connect and followed
 * through NameOwnerChanged, which only the bus driver can send. */

#include <stdbool.h>

#define BUS_DRIVER_NAME "org.freedesktop.DBus"

/* Whether a message from `sender` comes from `owner`, the unique name that
 * owns the name in question (NULL or "" while it has none): only then, and
 * only for a unique name. */
bool bus_sender_is_owner(const char *sender, const char *owner);

/* Whether a message comes from the bus driver itself. */
bool bus_sender_is_driver(const char *sender);

typedef enum BusOwnerChange {
        BUS_OWNER_CHANGE_IGNORED, /* not from the driver, or about another name, or malformed */
        BUS_OWNER_CHANGE_LEFT,    /* the name has no owner now */
        BUS_OWNER_CHANGE_CAME,    /* new_owner owns the name now */
} BusOwnerChange;

/* What a NameOwnerChanged(name, old_owner, new_owner) from `sender` means
 * for the owner of `followed`. */
BusOwnerChange bus_owner_change(const char *sender, const char *followed, const char *name,
                                const char *new_owner);
