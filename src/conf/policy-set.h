/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The drop-ins that `memqosctl set` (org.memqos1.Manager.SetProperties)
 * writes, as `systemctl set-property` writes its own: one file per key,
 * DIR/UNIT.d/90-memqos-KEY.conf, DIR being /etc/systemd/system or, for
 * runtime changes, /run/systemd/system. 90-: systemd sorts every drop-in of
 * a unit by file name, whatever its directory, so the value set comes after
 * the 50-memqos.conf of the examples (dropins/) and wins over it. Pure: the files' paths and texts,
 * checked with the parser of the units' own files (policy.h), so that a bad
 * value is refused with the very message a bad drop-in gets in the journal. */

#include <stdbool.h>
#include <stddef.h>

typedef struct PolicySetFile {
        char *path;
        char *text; /* NULL: an empty value, the file is to be removed (the key reset) */
} PolicySetFile;

void policy_set_files_free(PolicySetFile *files, size_t n);

/* Whether name may be a unit's name: [A-Za-z0-9:_.\@-], a '.' with a type
 * after it, not starting with '.', at most 255 characters. */
bool policy_set_unit_name_valid(const char *name);

/* The files for keys[i]=values[i] (i < n) of unit below dir. 0, -ENOMEM, or
 * -EINVAL with *ret_error the problem ("FILE:LINE: MESSAGE" for a value
 * the parser refuses, or what is wrong with the unit name, a key, or a
 * value that holds a newline). */
int policy_set_prepare(const char *dir, const char *unit, char *const *keys, char *const *values, size_t n,
                       PolicySetFile **ret, size_t *ret_n, char **ret_error);
