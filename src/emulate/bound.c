/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulate/bound.h"

#include <assert.h>
#include <stdbool.h>

#define NONE UINT64_MAX

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > NONE - b ? NONE : a + b;
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
        return a > b ? a : b;
}

uint64_t bound_of_child(const BoundChild *children, size_t n, size_t i, uint64_t high, uint64_t margin,
                        uint64_t page_size) {
        assert(children || n == 0);
        if (i >= n || high == NONE || page_size == 0)
                return NONE;

        const BoundChild *c = &children[i];
        uint64_t kept = 0;
        bool below_another = false;
        for (size_t j = 0; j < n; j++) {
                const BoundChild *s = &children[j];
                if (j == i)
                        continue;
                if (s->priority > c->priority) {
                        below_another = true;
                        kept = add_sat(kept, max_u64(max_u64(s->reserve == NONE ? 0 : s->reserve, s->usage),
                                                     s->declared));
                } else if (s->priority == c->priority)
                        kept = add_sat(kept, s->usage);
                else
                        kept = add_sat(kept, s->unreclaimable);
        }
        if (!below_another)
                return NONE;

        uint64_t target = high > kept ? high - kept : 0;
        uint64_t floor = add_sat(c->unreclaimable, margin);
        floor = floor > NONE - page_size ? NONE : (floor + page_size - 1) / page_size * page_size;
        if (target < floor)
                return floor;
        return target / page_size * page_size;
}

uint64_t bound_stuck_now(uint64_t usage, uint64_t file, uint64_t dirty, bool swap) {
        uint64_t clean = file > dirty ? file - dirty : 0;
        uint64_t stuck = usage > clean ? usage - clean : 0;
        return swap ? (dirty < stuck ? dirty : stuck) : stuck;
}

uint64_t bound_next_step(uint64_t target, uint64_t usage, uint64_t stuck, uint64_t max_step, uint64_t page_size) {
        if (target == NONE || page_size == 0)
                return NONE;
        if (usage <= target)
                return target / page_size * page_size;
        uint64_t step = usage - target > max_step ? usage - max_step : target;
        if (step < stuck)
                step = stuck;
        if (step > usage)
                step = usage;
        /* up to a page: a limit rounded down below `stuck` would squeeze it */
        return step > NONE - page_size ? NONE : (step + page_size - 1) / page_size * page_size;
}

uint64_t bound_peak_update(uint64_t peak, uint64_t usage, uint64_t seen, uint64_t elapsed_usec,
                           uint64_t half_life_usec) {
        uint64_t floor = max_u64(usage, seen == NONE ? 0 : seen);
        if (peak == NONE || peak <= usage)
                return floor;
        uint64_t excess = peak - usage;
        if (half_life_usec == 0)
                excess = 0;
        else if (elapsed_usec > 0) {
                /* excess * 2^-(elapsed / half-life): whole half-lives by
                 * shifting, the rest of one linearly (within 6% of exact). */
                uint64_t halvings = elapsed_usec / half_life_usec;
                uint64_t rest = elapsed_usec % half_life_usec;
                excess = halvings >= 64 ? 0 : excess >> halvings;
                excess -= (uint64_t) ((unsigned __int128) excess * rest / half_life_usec / 2);
        }
        return max_u64(usage + excess, floor);
}

bool bound_child_waits(bool under_oom, uint64_t usage, uint64_t held) {
        return under_oom && held != 0 && held != NONE && usage + BOUND_WAIT_SLACK >= held;
}

uint64_t bound_raise_waiting(uint64_t step, uint64_t usage, uint64_t margin, uint64_t page_size) {
        if (page_size == 0)
                return step;
        uint64_t want = add_sat(usage, margin);
        want = want > NONE - page_size ? NONE : (want + page_size - 1) / page_size * page_size;
        return step != NONE && step > want ? step : want;
}
