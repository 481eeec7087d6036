/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "emulate/ladder.h"

#include <assert.h>
#include <string.h>

const char *ladder_level_to_string(LadderLevel l) {
        return l == LADDER_KILL ? "kill" : "reclaim";
}

const char *ladder_next_to_string(LadderNext n) {
        switch (n) {
        case LADDER_NEXT_RECLAIM_REST:
                return "reclaim-rest";
        case LADDER_NEXT_NOTHING_LEFT:
                return "nothing-left";
        case LADDER_NEXT_KILL:
                return "kill";
        case LADDER_NEXT_NO_KILL:
                return "no-kill";
        }
        return "unknown";
}

size_t ladder_reclaim_notices(const EmuTree *t, const EmuReclaimStep *plan, size_t n, LadderNotice *ret,
                              size_t max) {
        assert(t);
        assert(plan || n == 0);
        assert(ret || max == 0);

        size_t k = 0;

        /* The plan's order is the priority order (plan.h): it is kept, so
         * that a lower priority is always told before a higher one. */
        for (size_t i = 0; i < n; i++) {
                const EmuNode *node = emu_tree_node(t, plan[i].node);
                size_t j;

                if (plan[i].bytes == 0)
                        continue;
                for (j = 0; j < k; j++)
                        if (strcmp(ret[j].cgroup, node->cgroup) == 0)
                                break;
                if (j < k) {
                        ret[j].want += plan[i].bytes;
                        continue;
                }
                if (k >= max)
                        break; /* the rest are the last the plan would take from */
                ret[k++] = (LadderNotice) {
                        .cgroup = node->cgroup,
                        .priority = emu_tree_node(t, emu_tree_branch(t, plan[i].node))->priority,
                        .want = plan[i].bytes,
                        .usage = node->usage,
                };
        }
        return k;
}

uint64_t ladder_kill_want(uint64_t unreclaimable, uint64_t kill_watermark, uint64_t page_size) {
        if (kill_watermark == UINT64_MAX || unreclaimable < kill_watermark)
                return 0;
        uint64_t want = unreclaimable - emu_kill_watch_start(kill_watermark);
        uint64_t page = page_size ?: 1;
        return (want + page - 1) / page * page;
}

LadderNotice ladder_kill_notice(const EmuTree *t, size_t leaf, uint64_t unreclaimable, uint64_t kill_watermark,
                                uint64_t page_size) {
        assert(t);

        const EmuNode *node = emu_tree_node(t, leaf);
        return (LadderNotice) {
                .cgroup = node->cgroup,
                .priority = emu_tree_node(t, emu_tree_branch(t, leaf))->priority,
                .want = ladder_kill_want(unreclaimable, kill_watermark, page_size),
                .usage = node->usage,
        };
}

bool ladder_notice_due(uint64_t grace_usec, bool given, bool pending) {
        return grace_usec > 0 && !given && !pending;
}

uint64_t ladder_grace_usec(size_t told, uint64_t grace_usec) {
        return told > 0 ? grace_usec : 0;
}

uint64_t ladder_given_back(uint64_t usage_told, uint64_t usage_now) {
        return usage_told > usage_now ? usage_told - usage_now : 0;
}

LadderNext ladder_after_reclaim_grace(uint64_t usage, uint64_t wmark_low, uint64_t aim, uint64_t page_size,
                                      uint64_t *ret_need) {
        bool rest = usage >= wmark_low;

        if (ret_need)
                *ret_need = rest ? emu_reclaim_target(usage, aim, aim, page_size) : 0;
        return rest ? LADDER_NEXT_RECLAIM_REST : LADDER_NEXT_NOTHING_LEFT;
}

LadderNext ladder_after_kill_grace(uint64_t usage, uint64_t file, uint64_t anon, bool swap,
                                   uint64_t kill_watermark) {
        return emu_kill_needed(usage, file, anon, swap, kill_watermark) ? LADDER_NEXT_KILL : LADDER_NEXT_NO_KILL;
}
