/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The descriptor limit memqosd runs with. memqosd holds fds for each followed
 * cgroup (memcg-watch.h says how many), and the soft RLIMIT_NOFILE a service gets
 * by default (1,024) ends at a few hundred units. Like systemd's own daemons
 * (its rlimit_nofile_bump()), memqosd raises the soft limit to the hard one
 * at start. It waits with epoll (sd-event) only, so select()'s FD_SETSIZE
 * does not apply. */

#include <sys/resource.h>

/* Pure: the soft RLIMIT_NOFILE to run with: the hard limit, but no more than
 * nr_open (setrlimit() refuses more than fs.nr_open, which an unlimited hard
 * limit would ask for) and never less than the soft limit in force. */
rlim_t rlimit_nofile_target(const struct rlimit *rl, rlim_t nr_open);

/* Raises the soft RLIMIT_NOFILE to rlimit_nofile_target(). *ret (may be
 * NULL) gets the soft limit now in force. Negative errno on failure, the
 * limit unchanged. */
int rlimit_nofile_bump(rlim_t *ret);
