/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Per-key rate limiting of journal events.
 *
 * A threshold that flaps (usage hovering around it) must not flood the
 * journal. Each key (e.g. "offline.slice/80%") gets its own window: at most
 * `burst` events pass per `interval`; the rest are folded, and the next event
 * that passes says how many were folded before it.
 *
 * Pure: the caller passes the clock (CLOCK_MONOTONIC microseconds in the
 * daemon, any number in tests). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RateLimit RateLimit;

/* interval 0 or burst 0 disables limiting: every event passes. */
int ratelimit_new(uint64_t interval_usec, unsigned burst, RateLimit **ret);
RateLimit *ratelimit_free(RateLimit *rl);

/* Accounts one event for key at time now.
 * Returns 1 when the event should be emitted, 0 when it is folded, or
 * -ENOMEM. On 1, *ret_folded (may be NULL) is the number of events of this
 * key folded since the last emitted one; the counter restarts at 0. */
int ratelimit_test(RateLimit *rl, const char *key, uint64_t now_usec, unsigned *ret_folded);

/* Events folded for key and not yet reported (0 for an unknown key). Lets
 * the caller flush a summary when a flapping key falls silent. */
unsigned ratelimit_folded(const RateLimit *rl, const char *key);

/* The same, and the count restarts at 0: the caller has reported them in a
 * summary of its own. */
unsigned ratelimit_take_folded(RateLimit *rl, const char *key);

/* Forgets a key (its unit went away); the folded count is dropped. */
void ratelimit_forget(RateLimit *rl, const char *key);

/* Forgets every key that starts with prefix (all of a unit's keys: see
 * events_forget_unit()). */
void ratelimit_forget_prefix(RateLimit *rl, const char *prefix);

/* Number of keys tracked (tests, and to bound memory). */
size_t ratelimit_size(const RateLimit *rl);
