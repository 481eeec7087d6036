/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What this process holds, as the kernel says it (/proc/self/fd): for tests
 * that count descriptors by kind. */

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/util.h"

/* The sum of weigh(fd name) over the fds whose link reads target ("anon_inode:
 * inotify", ...); each counts 1 when weigh is NULL. -1 when /proc cannot say. */
static inline ssize_t proc_self_fds_count(const char *target, size_t (*weigh)(const char *fd)) {
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d))) {
                char link[320], seen[64];
                ssize_t l;

                snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
                l = readlink(link, seen, sizeof(seen) - 1);
                if (l < 0)
                        continue;
                seen[l] = 0;
                if (streq(seen, target))
                        n += weigh ? weigh(de->d_name) : 1;
        }
        return (ssize_t) n;
}
