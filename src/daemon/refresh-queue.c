/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>

#include "basic/util.h"
#include "daemon/refresh-queue.h"

static void list_append(RefreshList *l, RefreshEntry *e) {
        e->prev = l->tail;
        e->next = NULL;
        if (l->tail)
                l->tail->next = e;
        else
                l->head = e;
        l->tail = e;
        l->n++;
}

static void list_unlink(RefreshList *l, RefreshEntry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                l->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                l->tail = e->prev;
        e->prev = e->next = NULL;
        assert(l->n > 0);
        l->n--;
}

static RefreshList *list_of(RefreshQueue *q, RefreshState s) {
        switch (s) {
        case REFRESH_QUEUED:
                return &q->queued;
        case REFRESH_SENT:
                return &q->sent;
        case REFRESH_DEFERRED:
                return &q->deferred;
        default:
                return NULL;
        }
}

/* Moves e from its list to the tail of the one of `to`. */
static void entry_move(RefreshQueue *q, RefreshEntry *e, RefreshState to) {
        RefreshList *from = list_of(q, e->state), *l = list_of(q, to);

        if (from)
                list_unlink(from, e);
        e->state = to;
        e->resend = e->discard = false;
        if (l)
                list_append(l, e);
}

void refresh_queue_init(RefreshQueue *q, size_t max_sent) {
        assert(q);
        assert(max_sent > 0);
        *q = (RefreshQueue) { .max_sent = max_sent };
}

void refresh_queue_want(RefreshQueue *q, RefreshEntry *e) {
        assert(q);
        assert(e);
        switch (e->state) {
        case REFRESH_IDLE:
        case REFRESH_DEFERRED:
                entry_move(q, e, REFRESH_QUEUED);
                break;
        case REFRESH_QUEUED:
                break;
        case REFRESH_SENT:
                e->resend = true;
                e->discard = false;
                break;
        }
}

RefreshEntry *refresh_queue_next(RefreshQueue *q) {
        RefreshEntry *e;

        assert(q);
        if (q->paused || q->sent.n >= q->max_sent || !(e = q->queued.head))
                return NULL;
        entry_move(q, e, REFRESH_SENT);
        return e;
}

RefreshAnswer refresh_queue_answered(RefreshQueue *q, RefreshEntry *e) {
        assert(q);
        assert(e);
        assert(e->state == REFRESH_SENT);

        if (e->discard) {
                entry_move(q, e, REFRESH_IDLE);
                return REFRESH_ANSWER_DISCARD;
        }
        if (e->resend) {
                /* At the tail: a unit that changes all the time waits its turn. */
                entry_move(q, e, REFRESH_QUEUED);
                return REFRESH_ANSWER_STALE;
        }
        entry_move(q, e, REFRESH_IDLE);
        return REFRESH_ANSWER_USE;
}

bool refresh_queue_defer(RefreshQueue *q, RefreshEntry *e) {
        assert(q);
        assert(e);
        if (e->state != REFRESH_IDLE)
                return false;
        entry_move(q, e, REFRESH_DEFERRED);
        if (!q->paused) {
                q->paused = true;
                q->failures++;
        }
        return true;
}

void refresh_queue_answer_ok(RefreshQueue *q) {
        assert(q);
        q->failures = 0;
}

uint64_t refresh_queue_retry_usec(const RefreshQueue *q) {
        uint64_t usec = REFRESH_RETRY_USEC_MIN;

        assert(q);
        for (unsigned i = 1; i < q->failures && usec < REFRESH_RETRY_USEC_MAX; i++)
                usec *= 2;
        return usec < REFRESH_RETRY_USEC_MAX ? usec : REFRESH_RETRY_USEC_MAX;
}

size_t refresh_queue_retry_deferred(RefreshQueue *q) {
        size_t n = 0;

        assert(q);
        q->paused = false;
        while (q->deferred.head) {
                entry_move(q, q->deferred.head, REFRESH_QUEUED);
                n++;
        }
        return n;
}

void refresh_queue_drop(RefreshQueue *q, RefreshEntry *e) {
        assert(q);
        assert(e);
        if (e->state == REFRESH_SENT) {
                e->discard = true;
                e->resend = false;
        } else
                entry_move(q, e, REFRESH_IDLE);
}

void refresh_queue_remove(RefreshQueue *q, RefreshEntry *e) {
        assert(q);
        assert(e);
        entry_move(q, e, REFRESH_IDLE);
}

void refresh_queue_reset(RefreshQueue *q) {
        assert(q);
        RefreshList *lists[] = { &q->queued, &q->sent, &q->deferred };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                while (lists[i]->head)
                        entry_move(q, lists[i]->head, REFRESH_IDLE);
        q->paused = false;
        q->failures = 0;
}

bool refresh_error_means_gone(const char *error_name) {
        static const char *const gone[] = {
                "org.freedesktop.systemd1.NoSuchUnit",
                "org.freedesktop.DBus.Error.UnknownObject",
                "org.freedesktop.DBus.Error.UnknownInterface",
        };

        if (!error_name)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(gone); i++)
                if (streq(error_name, gone[i]))
                        return true;
        return false;
}
