/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>

#include "cgroup/memcg.h"
#include "daemon/notice.h"

const char *notice_level_to_string(NoticeLevel l) {
        switch (l) {
        case NOTICE_LEVEL_THRESHOLD:
                return "threshold";
        case NOTICE_LEVEL_RECLAIM:
                return "reclaim";
        case NOTICE_LEVEL_KILL:
                return "kill";
        }
        return "unknown";
}

NoticeLevel notice_level_from_ladder(LadderLevel l) {
        return l == LADDER_KILL ? NOTICE_LEVEL_KILL : NOTICE_LEVEL_RECLAIM;
}

static bool contains(const uint64_t *v, size_t n, uint64_t x) {
        for (size_t i = 0; i < n; i++)
                if (v[i] == x)
                        return true;
        return false;
}

bool notice_is_wanted(const uint64_t *unit_notice, size_t n_unit, const uint64_t *client, size_t n_client,
                      uint64_t crossed, ThresholdDirection direction) {
        assert(unit_notice || n_unit == 0);
        assert(client || n_client == 0);

        /* Going down is good news; nobody is asked to give anything then. */
        if (direction != THRESHOLD_UP)
                return false;
        return contains(unit_notice, n_unit, crossed) || contains(client, n_client, crossed);
}

uint64_t notice_wanted_bytes(uint64_t usage, uint64_t threshold) {
        if (usage == MEMCG_UNLIMITED || usage <= threshold)
                return 0;
        return usage - threshold;
}

size_t notice_format_line(char *buf, size_t size, NoticeLevel level, uint64_t usage, uint64_t limit,
                          uint64_t threshold, uint64_t want) {
        assert(buf);

        char l[24];
        int k;

        if (limit == MEMCG_UNLIMITED)
                snprintf(l, sizeof(l), "max");
        else
                snprintf(l, sizeof(l), "%" PRIu64, limit);
        k = snprintf(buf, size, "memqos level=%s usage=%" PRIu64 " limit=%s threshold=%" PRIu64 " want=%" PRIu64 "\n",
                     notice_level_to_string(level), usage, l, threshold, want);
        if (k < 0 || size == 0)
                return 0;
        return (size_t) k < size ? (size_t) k : size - 1;
}
