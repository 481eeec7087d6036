/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "basic/util.h"
#include "daemon/bustrust.h"

static bool is_unique_name(const char *s) {
        return s && s[0] == ':' && s[1] != 0;
}

bool bus_sender_is_owner(const char *sender, const char *owner) {
        /* Both must be unique names: a well-known name in the sender field
         * would be the bus driver's (or a broken bus), never systemd. */
        return is_unique_name(sender) && is_unique_name(owner) && streq(sender, owner);
}

bool bus_sender_is_driver(const char *sender) {
        return streq_ptr(sender, BUS_DRIVER_NAME);
}

BusOwnerChange bus_owner_change(const char *sender, const char *followed, const char *name,
                                const char *new_owner) {
        assert(followed);

        if (!bus_sender_is_driver(sender) || !streq_ptr(name, followed))
                return BUS_OWNER_CHANGE_IGNORED;
        if (isempty_str(new_owner))
                return BUS_OWNER_CHANGE_LEFT;
        if (!is_unique_name(new_owner))
                return BUS_OWNER_CHANGE_IGNORED;
        return BUS_OWNER_CHANGE_CAME;
}
