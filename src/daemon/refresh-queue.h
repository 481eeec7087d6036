/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Which units' properties to ask systemd for next. Pure: entries in, the next
 * one to send out; systemd.c does the bus I/O.
 *
 * A bus caps the replies one connection may be waiting for: dbus-daemon's
 * system bus at 128 (max_replies_per_connection). Past it, the bus answers a
 * call itself with org.freedesktop.DBus.Error.LimitsExceeded ("The maximum
 * number of pending replies per connection has been reached"), and systemd
 * never hears it. memqosd asks about every running unit at start and after a
 * daemon-reload: with a few hundred units, most questions were refused and
 * those units silently never followed. So the questions wait here and at most
 * `max_sent` are on the bus at once; the next goes out as an answer comes.
 *
 * An entry is in one state at a time:
 *   idle     - nothing to ask;
 *   queued   - to be asked, in FIFO order;
 *   sent     - asked, the answer not in yet; a newer want marks it `resend`
 *              (the answer in flight may predate what changed: ask again), a
 *              drop marks it `discard` (the answer is no longer wanted). A
 *              sent question is never withdrawn from the bus, whose count
 *              of pending replies only falls when the answer comes;
 *   deferred - its answer was an error that is not "no such unit": asked again
 *              after a pause (refresh_queue_retry_deferred()).
 *
 * Such an error (LimitsExceeded, or NoReply: systemd, busy starting 2,000
 * units under TCG, answered none within sd-bus's default 25 s; systemd.c now
 * waits 10 min) is about the bus or systemd, not the unit: the whole queue
 * pauses until the retry, and the pause doubles while no answer comes
 * through. A question sd-bus gave up on may still count
 * on the bus until systemd answers it; sending on at once turned one timeout
 * into a storm of refusals (22,910 at 2,000 units). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Two GetAll per unit (the Unit interface and its type's): 64 replies
 * pending at most, half of the bus's 128, which leaves room for memqosd's
 * other calls (ListUnitsByPatterns, GetNameOwner, Subscribe, AddMatch). */
#define REFRESH_SENT_MAX 32

typedef enum RefreshState {
        REFRESH_IDLE,
        REFRESH_QUEUED,
        REFRESH_SENT,
        REFRESH_DEFERRED,
} RefreshState;

/* Embedded in what it refreshes (a Unit): no allocation. */
typedef struct RefreshEntry {
        struct RefreshEntry *prev, *next; /* in the list of its state (none when idle) */
        RefreshState state;
        bool resend;  /* sent: a newer want came meanwhile */
        bool discard; /* sent: the answer is not wanted */
} RefreshEntry;

typedef struct RefreshList {
        RefreshEntry *head, *tail;
        size_t n;
} RefreshList;

typedef struct RefreshQueue {
        RefreshList queued, sent, deferred;
        size_t max_sent;
        bool paused;       /* an error answer came: nothing is sent until the retry */
        unsigned failures; /* pauses since the last good answer */
} RefreshQueue;

#define REFRESH_RETRY_USEC_MIN (1000 * 1000ULL)
#define REFRESH_RETRY_USEC_MAX (30 * 1000 * 1000ULL)

void refresh_queue_init(RefreshQueue *q, size_t max_sent);

/* The entry's properties are wanted: queue it (at most once), or mark it to be
 * asked again when it is on the bus. A deferred entry is queued now. */
void refresh_queue_want(RefreshQueue *q, RefreshEntry *e);

/* The next entry to send, now marked sent, or NULL when none is queued,
 * max_sent are on the bus already, or the queue is paused. */
RefreshEntry *refresh_queue_next(RefreshQueue *q);

typedef enum RefreshAnswer {
        REFRESH_ANSWER_USE,     /* the answer is the latest: act on it */
        REFRESH_ANSWER_STALE,   /* asked again since: ignore it, the entry is queued again */
        REFRESH_ANSWER_DISCARD, /* no longer wanted: ignore it */
} RefreshAnswer;

/* The answer to a sent entry came (or its call failed to go out): one place
 * on the bus frees. */
RefreshAnswer refresh_queue_answered(RefreshQueue *q, RefreshEntry *e);

/* The answer, used, was an error worth trying again: an idle entry waits for
 * refresh_queue_retry_deferred(), and the queue pauses until then. Returns
 * false when the entry was not idle (wanted again meanwhile: it needs no
 * retry). */
bool refresh_queue_defer(RefreshQueue *q, RefreshEntry *e);

/* A good answer came: the next pause starts short again. */
void refresh_queue_answer_ok(RefreshQueue *q);

/* How long to pause before refresh_queue_retry_deferred(): 1 s, doubled per
 * pause without a good answer between, at most 30 s. */
uint64_t refresh_queue_retry_usec(const RefreshQueue *q);

/* Queues every deferred entry and ends the pause; returns how many. */
size_t refresh_queue_retry_deferred(RefreshQueue *q);

/* The unit stopped: a queued or deferred entry goes idle, a sent one's
 * answer is discarded when it comes. */
void refresh_queue_drop(RefreshQueue *q, RefreshEntry *e);

/* The entry is freed: out of every list. A sent one's place on the bus is
 * given back now; its answer will not be read (its call is cancelled). */
void refresh_queue_remove(RefreshQueue *q, RefreshEntry *e);

/* The connection is gone, and every question with it: all entries idle. */
void refresh_queue_reset(RefreshQueue *q);

static inline size_t refresh_queue_n_sent(const RefreshQueue *q) {
        return q->sent.n;
}

static inline bool refresh_queue_busy(const RefreshQueue *q) {
        return q->queued.n > 0 || q->sent.n > 0;
}

/* Whether an error answer to GetAll on a unit means the unit is gone, so that
 * there is nothing to follow; any other (the bus's LimitsExceeded, a timeout,
 * systemd leaving the bus) says nothing about the unit: ask again later. */
bool refresh_error_means_gone(const char *error_name);
