/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "basic/util.h"
#include "daemon/desired.h"

static void want(MemcgDesired *d, MemcgKnob k, uint64_t v) {
        d->want[k] = true;
        d->value[k] = v;
}

static void want_from_policy(const DesiredInput *in, MemcgDesired *d, PolicyKey key, MemcgKnob knob,
                             uint64_t value) {
        if (policy_has(in->policy, key))
                want(d, knob, value);
        else if (in->written_mask & (1u << knob))
                want(d, knob, memcg_knob_default(knob));
}

void desired_compute(const DesiredInput *in, MemcgDesired *ret) {
        assert(in);

        const Policy *p = in->policy;
        MemcgDesired d = {};

        want_from_policy(in, &d, POLICY_MEMORY_PRIORITY, MEMCG_PRIORITY, p->memory_priority);
        want_from_policy(in, &d, POLICY_WATERMARK_RATIO, MEMCG_WMARK_RATIO, p->watermark_ratio);
        want_from_policy(in, &d, POLICY_WATERMARK_SCALE_FACTOR, MEMCG_WMARK_SCALE_FACTOR,
                         p->watermark_scale_factor);

        if (policy_has(p, POLICY_USE_PRIORITY_OOM))
                want(&d, MEMCG_USE_PRIORITY_OOM, p->use_priority_oom);
        else if (in->has_prioritized_child && in->parent_use_priority_oom)
                want(&d, MEMCG_USE_PRIORITY_OOM, 1);
        else if (in->written_mask & (1u << MEMCG_USE_PRIORITY_OOM))
                want(&d, MEMCG_USE_PRIORITY_OOM, memcg_knob_default(MEMCG_USE_PRIORITY_OOM));

        *ret = d;
}
