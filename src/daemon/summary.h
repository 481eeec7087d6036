/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The text of the "policy in force" journal event: which settings act, which
 * memqosd set by itself, and which cannot act and why. Pure: plain values in,
 * one line of text out, so that every wording is tested without root. */

#include <stdbool.h>

#include "cgroup/memcg.h"
#include "conf/policy.h"

typedef struct PolicySummary {
        const char *name;            /* the unit or cgroup, as the operator knows it */
        const char *limit_setting;   /* what sets its limit: "MemoryMax=", "memory.max", ... */
        const Policy *policy;        /* the policy in force */
        const MemcgDesired *desired; /* what memqosd programs for it */
        const MemcgApplied *applied; /* and what came of that */
        uint64_t limit;              /* its own memory limit, MEMCG_UNLIMITED for none */
        uint64_t wmark_high, wmark_low;
} PolicySummary;

/* One line, sentences ending in '.':
 * - "Policy in force: KEY=VALUE (STATE), ..." for what the policy sets and acts;
 * - "memqosd set UsePriorityOOM=1 (STATE) itself: ..." when the flag comes from
 *   memqos.conf ParentUsePriorityOOM= rather than the policy;
 * - "KEY=VALUE (STATE) has no effect: NAME has no memory limit (set X)." for
 *   watermarks and percent thresholds on a cgroup without a limit;
 * - "Back to the kernel default: ..." for keys memqosd wrote and the policy
 *   no longer sets;
 * - where reclaim starts and stops, beside the limit, when watermarks act.
 * "Policy in force: none." when there is nothing of the above.
 * Returns 0 or -ENOMEM; *ret is to be freed. */
int policy_summary_format(const PolicySummary *s, char **ret);
