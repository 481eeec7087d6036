/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From policies to the memcg values memqos wants. Pure: plain structs in,
 * plain structs out, so that every rule here is tested without root. */

#include <stdbool.h>

#include "cgroup/memcg.h"
#include "conf/policy.h"

typedef struct DesiredInput {
        const Policy *policy;         /* the unit's own [X-MemQoS], may be empty */
        bool has_prioritized_child;   /* a direct child cgroup carries MemoryPriority= */
        bool parent_use_priority_oom; /* memqos.conf [Defaults] ParentUsePriorityOOM= */
        unsigned written_mask;        /* knobs memqos wrote to this cgroup instance (1 << MemcgKnob) */
} DesiredInput;

/* The values to program:
 * - a key the policy sets -> that value;
 * - UsePriorityOOM= unset, a child with MemoryPriority= and the default on -> 1,
 *   because priorities only decide anything where the OOMing ancestor has the flag;
 * - a key the policy no longer sets but memqos wrote before -> the kernel's
 *   default, so that removing a setting undoes it;
 * - anything else is left alone. */
void desired_compute(const DesiredInput *in, MemcgDesired *ret);
