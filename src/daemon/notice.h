/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure decisions of the notices memqosd sends on its pressure socket
 * (memqos-pressure(7)): who is told of a crossing, and the line they get.
 * No I/O. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/threshold.h"
#include "emulate/ladder.h"

/* The kinds of notice, in the order a unit meets them. */
typedef enum NoticeLevel {
        NOTICE_LEVEL_THRESHOLD = 1, /* usage crossed an application threshold upward */
        NOTICE_LEVEL_RECLAIM,       /* memqosd's reclaim is about to take from the cgroup */
        NOTICE_LEVEL_KILL,          /* the cgroup is next for memqosd's priority kill */
} NoticeLevel;

const char *notice_level_to_string(NoticeLevel l); /* "threshold", "reclaim", "kill" */
/* The level of a notice of the ladder (emulate/ladder.h). */
NoticeLevel notice_level_from_ladder(LadderLevel l);

/* Pure. Whether a client of the unit whose usage crossed `crossed` in
 * `direction` is told: only upward, and only when crossed is one of the
 * unit's NoticeThresholds= (unit_notice, resolved to bytes) or one of the
 * client's own registered thresholds (client, resolved). Whether the
 * client belongs to the unit at all is the caller's (the unit table's
 * deepest owner of the client's cgroup). */
bool notice_is_wanted(const uint64_t *unit_notice, size_t n_unit, const uint64_t *client, size_t n_client,
                      uint64_t crossed, ThresholdDirection direction);

/* What the unit is asked to give back: the bytes above the threshold it
 * crossed (0 when usage is not above it or unknown). */
uint64_t notice_wanted_bytes(uint64_t usage, uint64_t threshold);

/* The longest notice line, with its newline. */
#define NOTICE_LINE_MAX 160

/* Pure. The notice line, newline-terminated, into buf (NOTICE_LINE_MAX):
 *   "memqos level=LEVEL usage=N limit=N|max threshold=N want=N\n"
 * (bytes as decimal numbers; limit "max" when there is none). For the
 * threshold level usage and limit are the client's unit's and threshold the
 * one crossed; for reclaim and kill they are the unit under pressure's and
 * threshold its wmark_high or kill watermark, want what is asked of the
 * cgroup the client is in. Returns its length. */
size_t notice_format_line(char *buf, size_t size, NoticeLevel level, uint64_t usage, uint64_t limit,
                          uint64_t threshold, uint64_t want);
