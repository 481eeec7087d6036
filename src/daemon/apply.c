/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "basic/util.h"
#include "daemon/apply.h"

/* MemcgKnob and PolicyKey list the four programmable settings in the same order. */
_Static_assert((int) MEMCG_PRIORITY == (int) POLICY_MEMORY_PRIORITY &&
               (int) MEMCG_USE_PRIORITY_OOM == (int) POLICY_USE_PRIORITY_OOM &&
               (int) MEMCG_WMARK_RATIO == (int) POLICY_WATERMARK_RATIO &&
               (int) MEMCG_WMARK_SCALE_FACTOR == (int) POLICY_WATERMARK_SCALE_FACTOR,
               "knob and policy key orders differ");

bool apply_unit_owns_cgroup(UnitKind kind, bool systemd_unit_has_cgroup) {
        return kind == UNIT_KIND_SYSTEMD || !systemd_unit_has_cgroup;
}

bool apply_unit_cares(const Policy *policy, const MemcgDesired *desired) {
        assert(policy);
        assert(desired);

        if (policy->set != 0)
                return true;
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if (desired->want[k])
                        return true;
        return false;
}

bool apply_watch_oom(const Config *config, UnitKind kind, const char *name, const Policy *policy) {
        assert(config);
        assert(name);
        assert(policy);

        return config->watch_oom && (kind == UNIT_KIND_GROUP || endswith(name, ".slice") || policy->set != 0);
}

unsigned apply_emulated_knobs(FeatureMode reclaim_mode, FeatureMode oom_mode) {
        unsigned mask = 0;
        if (!reclaim_mode.kernel)
                mask |= 1u << MEMCG_WMARK_RATIO | 1u << MEMCG_WMARK_SCALE_FACTOR;
        if (!oom_mode.kernel)
                mask |= 1u << MEMCG_PRIORITY | 1u << MEMCG_USE_PRIORITY_OOM;
        return mask;
}

void apply_kernel_desired(const MemcgDesired *desired, unsigned emulated, MemcgDesired *ret) {
        assert(desired);
        assert(ret);

        *ret = *desired;
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if (emulated & (1u << k))
                        ret->want[k] = false;
}

void apply_mark_emulated(const MemcgDesired *desired, unsigned emulated, MemcgApplied *applied) {
        assert(desired);
        assert(applied);

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++)
                if ((emulated & (1u << k)) && desired->want[k])
                        applied->state[k] = APPLY_EMULATED;
}

unsigned apply_written_mask(unsigned written_mask, const Policy *policy, const MemcgDesired *desired,
                            const MemcgApplied *applied, bool *ret_wrote) {
        bool wrote = false;

        assert(policy);
        assert(desired);
        assert(applied);

        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (applied->state[k] == APPLY_WRITTEN) {
                        written_mask |= 1u << k;
                        wrote = true;
                }
                if (applied->state[k] != APPLY_FAILED && desired->want[k] &&
                    desired->value[k] == memcg_knob_default(k) && !policy_has(policy, (PolicyKey) k))
                        written_mask &= ~(1u << k);
        }
        if (ret_wrote)
                *ret_wrote = wrote;
        return written_mask;
}

uint64_t apply_cgroup_retry_delay_usec(unsigned attempt) {
        const uint64_t first = 1000000ULL, max = 30 * 1000000ULL;

        if (attempt >= APPLY_CGROUP_RETRIES) /* and so no shift past 1 << 9 */
                return 0;
        return first << attempt < max ? first << attempt : max;
}

void apply_emulator_settings(const ApplyContext *ctx, const Policy *policy, const MemcgDesired *desired,
                             bool unit_watch_hears_oom, EmulatorSettings *ret) {
        assert(ctx);
        assert(ctx->config);
        assert(policy);
        assert(desired);
        assert(ret);

        const Config *c = ctx->config;
        *ret = (EmulatorSettings) {
                .reclaim = ctx->reclaim_mode.emulate && policy_has(policy, POLICY_WATERMARK_RATIO) &&
                           policy->watermark_ratio > 0,
                .wmark_ratio = policy->watermark_ratio,
                .wmark_scale_factor = policy_has(policy, POLICY_WATERMARK_SCALE_FACTOR)
                                              ? policy->watermark_scale_factor : 50,
                .standing_bounds = c->reclaim_standing_bounds,
                .ahead_of_kernel = ctx->reclaim_mode.kernel,
                .kill = ctx->oom_mode.emulate && c->kill_watermark_ratio > 0 &&
                        desired->want[MEMCG_USE_PRIORITY_OOM] && desired->value[MEMCG_USE_PRIORITY_OOM] == 1,
                .kill_ratio = c->kill_watermark_ratio,
                .step_size = c->reclaim_step_size,
                .interval_usec = c->pressure_interval_usec,
                .page_size = ctx->page_size,
                .watch_oom = c->watch_oom && !unit_watch_hears_oom,
                .summary_interval_usec = c->ratelimit_interval_usec,
                .squeeze_fd = -1,
                .reclaim_grace_usec = c->notify_reclaim_grace_usec,
                .kill_grace_usec = c->notify_kill_grace_usec,
        };
}
