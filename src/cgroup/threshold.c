/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "cgroup/memcg.h"
#include "cgroup/threshold.h"

static const char *const direction_table[] = {
        [THRESHOLD_UP] = "up",
        [THRESHOLD_DOWN] = "down",
};

DEFINE_STRING_TABLE_TO_STRING(threshold_direction, ThresholdDirection, direction_table)

size_t threshold_evaluate(const uint64_t *thresholds, ThresholdSide *sides, size_t n,
                          uint64_t usage, ThresholdCrossing *ret) {
        size_t k = 0;

        for (size_t i = n; i > 0; i--) {
                ThresholdSide now = usage >= thresholds[i - 1] ? THRESHOLD_SIDE_ABOVE : THRESHOLD_SIDE_BELOW;

                if (sides[i - 1] == THRESHOLD_SIDE_ABOVE && now == THRESHOLD_SIDE_BELOW)
                        ret[k++] = (ThresholdCrossing) { .index = i - 1, .direction = THRESHOLD_DOWN };
        }
        for (size_t i = 0; i < n; i++) {
                ThresholdSide now = usage >= thresholds[i] ? THRESHOLD_SIDE_ABOVE : THRESHOLD_SIDE_BELOW;

                if (sides[i] == THRESHOLD_SIDE_BELOW && now == THRESHOLD_SIDE_ABOVE)
                        ret[k++] = (ThresholdCrossing) { .index = i, .direction = THRESHOLD_UP };
                sides[i] = now;
        }
        return k;
}

/* Report order: downward crossings from the highest threshold, then upward
 * ones from the lowest. */
static bool crossing_before(const ThresholdCrossing *a, const ThresholdCrossing *b) {
        if (a->direction != b->direction)
                return a->direction == THRESHOLD_DOWN;
        return a->direction == THRESHOLD_DOWN ? a->index > b->index : a->index < b->index;
}

size_t threshold_evaluate_signalled(const uint64_t *thresholds, ThresholdSide *sides, size_t n, uint64_t usage,
                                    uint64_t signals, uint64_t slack, ThresholdCrossing *ret) {
        ThresholdCrossing missed;
        bool any_unknown = false, found = false;
        uint64_t best = 0;
        size_t k, at;

        assert(thresholds || n == 0);
        assert(sides || n == 0);
        assert(ret || n == 0);

        for (size_t i = 0; i < n; i++)
                any_unknown = any_unknown || sides[i] == THRESHOLD_SIDE_UNKNOWN;
        k = threshold_evaluate(thresholds, sides, n, usage, ret);
        if (any_unknown || signals % 2 == k % 2)
                return k;

        for (size_t i = 0; i < n; i++) {
                bool just_crossed = false;
                uint64_t distance;

                for (size_t j = 0; j < k; j++)
                        just_crossed = just_crossed || ret[j].index == i;
                if (just_crossed)
                        continue;
                distance = usage >= thresholds[i] ? usage - thresholds[i] : thresholds[i] - usage;
                /* above by usage: the kernel saw it below; below: above */
                if (sides[i] == THRESHOLD_SIDE_ABOVE ? distance >= slack : distance > slack)
                        continue;
                if (!found || distance < best) {
                        found = true;
                        best = distance;
                        missed = (ThresholdCrossing) {
                                .index = i,
                                .direction = sides[i] == THRESHOLD_SIDE_ABOVE ? THRESHOLD_DOWN : THRESHOLD_UP,
                        };
                }
        }
        if (!found || k >= n)
                return k;

        sides[missed.index] = missed.direction == THRESHOLD_UP ? THRESHOLD_SIDE_ABOVE : THRESHOLD_SIDE_BELOW;
        for (at = 0; at < k && crossing_before(&ret[at], &missed); at++)
                ;
        memmove(ret + at + 1, ret + at, (k - at) * sizeof(ThresholdCrossing));
        ret[at] = missed;
        return k + 1;
}

static int u64_compare(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

size_t thresholds_normalize(uint64_t *v, size_t n) {
        size_t k = 0;

        qsort(v, n, sizeof(uint64_t), u64_compare);
        for (size_t i = 0; i < n; i++)
                if (v[i] != 0 && (k == 0 || v[k - 1] != v[i]))
                        v[k++] = v[i];
        return k;
}

static uint64_t percent_of(uint64_t limit, uint64_t percent) {
        /* limit * percent / 100 without overflowing for limits near 2^64. */
        return limit / 100 * percent + limit % 100 * percent / 100;
}

void threshold_resolve(const Threshold *t, size_t n, uint64_t limit, uint64_t *ret, size_t *ret_n) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
                if (!t[i].is_percent)
                        ret[k++] = t[i].value;
                else if (limit != MEMCG_UNLIMITED)
                        ret[k++] = percent_of(limit, t[i].value);
        }
        *ret_n = thresholds_normalize(ret, k);
}
