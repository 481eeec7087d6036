/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure arithmetic of memcg watches (memcg-watch.h): which thresholds a
 * usage crossed and MemoryThresholds= in bytes. No I/O. (The OOM files a
 * watch reads are parsed in memcg.h.) */

#include <stddef.h>
#include <stdint.h>

#include "conf/policy.h"

typedef enum ThresholdSide {
        THRESHOLD_SIDE_UNKNOWN,
        THRESHOLD_SIDE_BELOW, /* usage < threshold */
        THRESHOLD_SIDE_ABOVE, /* usage >= threshold (the kernel's "crossed") */
} ThresholdSide;

typedef enum ThresholdDirection {
        THRESHOLD_UP,
        THRESHOLD_DOWN,
} ThresholdDirection;

const char *threshold_direction_to_string(ThresholdDirection d); /* "up", "down" */

typedef struct ThresholdCrossing {
        size_t index; /* into the thresholds given */
        ThresholdDirection direction;
} ThresholdCrossing;

/* Pure. thresholds[0..n) ascending, sides[0..n) the side last seen of each
 * (updated). Writes the crossings that usage makes into ret[0..n) in report
 * order: downward ones from the highest threshold, then upward ones from the
 * lowest. A side still UNKNOWN is learned without a crossing. Returns the
 * number of crossings. */
size_t threshold_evaluate(const uint64_t *thresholds, ThresholdSide *sides, size_t n,
                          uint64_t usage, ThresholdCrossing *ret);

/* The kernel's page counter, which v1 thresholds are checked against,
 * includes per-CPU charge batches (MEMCG_CHARGE_BATCH pages a CPU, and a
 * page of the kmem object stock): a usage read after a signal may be off
 * from the kernel's check by that much a CPU, either way. */
#define WATCH_V1_CHARGE_SLACK_PAGES 65

/* Pure. threshold_evaluate() after the kernel signalled the v1 thresholds'
 * shared eventfd `signals` times since the last read: each signal is one
 * threshold the kernel's check passed, one way (mm/memcontrol-v1.c,
 * __mem_cgroup_threshold), and it will not be signalled again. When the
 * crossings the usage read makes differ in parity from signals, the read
 * missed one: usage was back within `slack` bytes of a threshold the kernel
 * passed (a charge batch given back between its check and our read). The
 * nearest threshold within slack on the other side of usage is then taken
 * as crossed too, so that the sides stay the kernel's. Same ret order and
 * return as threshold_evaluate(); no correction while a side is UNKNOWN. */
size_t threshold_evaluate_signalled(const uint64_t *thresholds, ThresholdSide *sides, size_t n, uint64_t usage,
                                    uint64_t signals, uint64_t slack, ThresholdCrossing *ret);

/* Pure. Sorts v (n byte values) and drops zeros and duplicates in place;
 * returns the new count. */
size_t thresholds_normalize(uint64_t *v, size_t n);

/* Pure. MemoryThresholds= values to bytes for a limit: percentages of
 * MEMCG_UNLIMITED are skipped, as are zero results. ret (n entries) gets the
 * byte values sorted and without duplicates; *ret_n their number. */
void threshold_resolve(const Threshold *t, size_t n, uint64_t limit, uint64_t *ret, size_t *ret_n);
