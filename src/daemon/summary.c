/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "daemon/summary.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "basic/util.h"

/* MemcgKnob and PolicyKey list the four programmable settings in the same
 * order (manager.c asserts it), so a knob's name is its policy key's. */
static const char *knob_name(MemcgKnob k) {
        return policy_key_to_string((PolicyKey) k);
}

/* The flag memqosd sets on a parent of prioritized children by itself
 * (desired_compute(): memqos.conf ParentUsePriorityOOM=). */
static bool is_parent_flag(const PolicySummary *s, MemcgKnob k) {
        return k == MEMCG_USE_PRIORITY_OOM && !policy_has(s->policy, POLICY_USE_PRIORITY_OOM) &&
               s->desired->value[k] == 1;
}

/* Settings relative to the limit, which do nothing without one. */
static bool is_inert(const PolicySummary *s, MemcgKnob k) {
        return s->limit == MEMCG_UNLIMITED && (k == MEMCG_WMARK_RATIO || k == MEMCG_WMARK_SCALE_FACTOR) &&
               !(k == MEMCG_WMARK_RATIO && s->desired->value[k] == 0);
}

static void put_knob(FILE *f, const PolicySummary *s, MemcgKnob k, bool *first) {
        fprintf(f, "%s%s=%" PRIu64 " (%s)", *first ? "" : ", ", knob_name(k), s->desired->value[k],
                apply_state_to_string(s->applied->state[k]));
        *first = false;
}

/* Starts a sentence: ". " after the one before. */
static void sentence(FILE *f) {
        if (ftell(f) > 0)
                fputs(". ", f);
}

int policy_summary_format(const PolicySummary *s, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        bool first = true, watermarks_act = false;
        char thresholds[32 * POLICY_THRESHOLDS_MAX], percent[32 * POLICY_THRESHOLDS_MAX];
        Policy acting = {}, inert = {};
        FILE *f;

        assert(s);
        assert(ret);

        /* Percent thresholds do nothing without a limit to take them of. */
        if (policy_has(s->policy, POLICY_MEMORY_THRESHOLDS))
                for (size_t i = 0; i < s->policy->n_thresholds; i++) {
                        Policy *to = s->limit == MEMCG_UNLIMITED && s->policy->thresholds[i].is_percent ? &inert
                                                                                                        : &acting;
                        to->thresholds[to->n_thresholds++] = s->policy->thresholds[i];
                }
        policy_format_thresholds(&acting, thresholds, sizeof(thresholds));
        policy_format_thresholds(&inert, percent, sizeof(percent));

        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;

        /* What the policy sets and acts. */
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (!s->desired->want[k] || !policy_has(s->policy, (PolicyKey) k) || is_inert(s, k))
                        continue;
                fputs(first ? "Policy in force: " : "", f);
                put_knob(f, s, k, &first);
                if (k == MEMCG_WMARK_RATIO && s->desired->value[k] > 0)
                        watermarks_act = true;
        }
        if (*thresholds) {
                fprintf(f, "%sMemoryThresholds=%s", first ? "Policy in force: " : ", ", thresholds);
                first = false;
        }
        if (policy_has(s->policy, POLICY_MEMORY_RESERVE)) {
                char reserve[32];
                policy_format_reserve(s->policy, reserve, sizeof(reserve));
                fprintf(f, "%sMemoryReserve=%s", first ? "Policy in force: " : ", ", reserve);
                first = false;
        }
        if (policy_has(s->policy, POLICY_NOTICE_THRESHOLDS) && s->policy->n_notice_thresholds > 0) {
                char notice[32 * POLICY_THRESHOLDS_MAX];

                policy_format_threshold_list(s->policy->notice_thresholds, s->policy->n_notice_thresholds, notice,
                                             sizeof(notice));
                fprintf(f, "%sNoticeThresholds=%s", first ? "Policy in force: " : ", ", notice);
                first = false;
        }

        /* What memqosd set by itself. */
        if (s->desired->want[MEMCG_USE_PRIORITY_OOM] && is_parent_flag(s, MEMCG_USE_PRIORITY_OOM)) {
                sentence(f);
                fprintf(f, "memqosd set UsePriorityOOM=1 (%s) itself: a child cgroup has MemoryPriority= "
                        "(memqos.conf ParentUsePriorityOOM=yes)",
                        apply_state_to_string(s->applied->state[MEMCG_USE_PRIORITY_OOM]));
        }

        /* What cannot act, and why. */
        first = true;
        unsigned n_inert = 0;
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (!s->desired->want[k] || !policy_has(s->policy, (PolicyKey) k) || !is_inert(s, k))
                        continue;
                if (first)
                        sentence(f);
                else
                        fputs(" and ", f);
                fprintf(f, "%s=%" PRIu64 " (%s)", knob_name(k), s->desired->value[k],
                        apply_state_to_string(s->applied->state[k]));
                first = false;
                n_inert++;
        }
        if (*percent) {
                if (first)
                        sentence(f);
                else
                        fputs(" and ", f);
                fprintf(f, "MemoryThresholds=%s", percent);
                n_inert++;
        }
        if (n_inert > 0)
                fprintf(f, " %s no effect: %s has no memory limit (set %s)", plural(n_inert, "has", "have"),
                        s->name, s->limit_setting);

        /* What the policy no longer sets and memqosd puts back. */
        first = true;
        for (MemcgKnob k = 0; k < _MEMCG_KNOB_MAX; k++) {
                if (!s->desired->want[k] || policy_has(s->policy, (PolicyKey) k) || is_parent_flag(s, k))
                        continue;
                if (first) {
                        sentence(f);
                        fputs("No longer set, back to the kernel default: ", f);
                }
                put_knob(f, s, k, &first);
        }

        /* Where reclaim starts and stops, beside the limit. */
        if (watermarks_act && s->limit != MEMCG_UNLIMITED && s->wmark_high != MEMCG_UNLIMITED &&
            s->wmark_low != MEMCG_UNLIMITED) {
                char high[FORMAT_SHARE_MAX], low[FORMAT_SIZE_MAX];
                sentence(f);
                fprintf(f, "Reclaim starts at %s, and stops at %s", format_share(high, s->wmark_high, s->limit),
                        format_size(low, s->wmark_low));
        }

        if (ftell(f) == 0)
                fputs("Policy in force: none", f);
        fputc('.', f);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        return 0;
}
