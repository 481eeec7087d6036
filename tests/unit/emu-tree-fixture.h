/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The subtree the tests of memqosd's reclaim and kill decisions share
 * (test-emulate.c, test-ladder.c):
 *
 * parent (usage 300M)
 *   online   priority 10, 60M cache
 *   offline  priority 1, 120M cache
 *     batch-a  priority 2, 70M cache
 *     batch-b  priority 1, 50M cache */

#include <stdint.h>

#include "emulate/plan.h"

#define M (UINT64_C(1024) * 1024)

static inline void tree(EmuNode n[5]) {
        n[0] = (EmuNode) { .cgroup = "/p", .parent = EMU_NO_PARENT, .usage = 300 * M, .file = 180 * M, .anon = 120 * M };
        n[1] = (EmuNode) { .cgroup = "/p/online", .parent = 0, .priority = 10, .usage = 100 * M, .file = 60 * M, .anon = 40 * M };
        n[2] = (EmuNode) { .cgroup = "/p/offline", .parent = 0, .priority = 1, .usage = 200 * M, .file = 120 * M, .anon = 80 * M };
        n[3] = (EmuNode) { .cgroup = "/p/offline/a", .parent = 2, .priority = 2, .usage = 110 * M, .file = 70 * M, .anon = 40 * M };
        n[4] = (EmuNode) { .cgroup = "/p/offline/b", .parent = 2, .priority = 1, .usage = 90 * M, .file = 50 * M, .anon = 40 * M };
}
