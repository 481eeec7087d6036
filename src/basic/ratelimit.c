/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <search.h>

#include "basic/ratelimit.h"
#include "basic/util.h"

typedef struct RateLimitEntry {
        char *key;
        uint64_t window_start;
        unsigned in_window; /* events emitted in the current window */
        unsigned folded;    /* events suppressed since the last emitted one */
} RateLimitEntry;

struct RateLimit {
        uint64_t interval;
        unsigned burst;
        void *entries; /* tsearch() tree of RateLimitEntry, ordered by key */
        size_t n_entries;
};

static int entry_compare(const void *a, const void *b) {
        return strcmp(((const RateLimitEntry *) a)->key, ((const RateLimitEntry *) b)->key);
}

static void entry_free(void *p) {
        RateLimitEntry *e = p;

        free(e->key);
        free(e);
}

int ratelimit_new(uint64_t interval_usec, unsigned burst, RateLimit **ret) {
        RateLimit *rl = calloc(1, sizeof(RateLimit));
        if (!rl)
                return -ENOMEM;

        rl->interval = interval_usec;
        rl->burst = burst;
        *ret = rl;
        return 0;
}

RateLimit *ratelimit_free(RateLimit *rl) {
        if (!rl)
                return NULL;

        tdestroy(rl->entries, entry_free);
        free(rl);
        return NULL;
}

static RateLimitEntry *entry_find(const RateLimit *rl, const char *key) {
        RateLimitEntry needle = { .key = (char *) key };
        void *node = tfind(&needle, &rl->entries, entry_compare);

        return node ? *(RateLimitEntry **) node : NULL;
}

static int entry_get(RateLimit *rl, const char *key, RateLimitEntry **ret) {
        _cleanup_free_ RateLimitEntry *e = NULL;
        RateLimitEntry *found = entry_find(rl, key);
        void *node;

        if (found) {
                *ret = found;
                return 0;
        }

        e = calloc(1, sizeof(RateLimitEntry));
        if (!e)
                return -ENOMEM;
        e->key = strdup(key);
        if (!e->key)
                return -ENOMEM;

        node = tsearch(e, &rl->entries, entry_compare);
        if (!node) {
                free(e->key);
                return -ENOMEM;
        }
        rl->n_entries++;
        *ret = TAKE_PTR(e);
        return 0;
}

int ratelimit_test(RateLimit *rl, const char *key, uint64_t now_usec, unsigned *ret_folded) {
        RateLimitEntry *e;
        int r;

        if (rl->interval == 0 || rl->burst == 0) {
                if (ret_folded)
                        *ret_folded = 0;
                return 1;
        }

        r = entry_get(rl, key, &e);
        if (r < 0)
                return r;

        /* A clock that went backwards (a test, or a bogus caller) starts a
         * new window rather than suppressing forever. */
        if (e->in_window == 0 || now_usec < e->window_start ||
            now_usec - e->window_start >= rl->interval) {
                e->window_start = now_usec;
                e->in_window = 0;
        }

        if (e->in_window >= rl->burst) {
                e->folded++;
                return 0;
        }

        e->in_window++;
        if (ret_folded)
                *ret_folded = e->folded;
        e->folded = 0;
        return 1;
}

unsigned ratelimit_folded(const RateLimit *rl, const char *key) {
        RateLimitEntry *e = entry_find(rl, key);

        return e ? e->folded : 0;
}

unsigned ratelimit_take_folded(RateLimit *rl, const char *key) {
        RateLimitEntry *e = entry_find(rl, key);
        unsigned folded;

        if (!e)
                return 0;
        folded = e->folded;
        e->folded = 0;
        return folded;
}

void ratelimit_forget(RateLimit *rl, const char *key) {
        RateLimitEntry *e = entry_find(rl, key);

        if (!e)
                return;

        tdelete(e, &rl->entries, entry_compare);
        entry_free(e);
        rl->n_entries--;
}

typedef struct PrefixMatch {
        const char *prefix;
        size_t len;
        RateLimitEntry **found;
        size_t n, allocated;
        bool oom;
} PrefixMatch;

static void collect_prefix(const void *node, VISIT which, void *userdata) {
        RateLimitEntry *e = *(RateLimitEntry *const *) node;
        PrefixMatch *pm = userdata;

        if ((which != postorder && which != leaf) || pm->oom || strncmp(e->key, pm->prefix, pm->len) != 0)
                return;
        if (pm->n == pm->allocated) {
                size_t a = pm->allocated ? pm->allocated * 2 : 8;
                RateLimitEntry **l = reallocarray(pm->found, a, sizeof(*l));
                if (!l) {
                        pm->oom = true;
                        return;
                }
                pm->found = l;
                pm->allocated = a;
        }
        pm->found[pm->n++] = e;
}

void ratelimit_forget_prefix(RateLimit *rl, const char *prefix) {
        PrefixMatch pm = { .prefix = prefix, .len = strlen(prefix) };

        if (!rl)
                return;
        twalk_r(rl->entries, collect_prefix, &pm);
        /* Out of memory: those found are forgotten, the rest stay (harmless). */
        for (size_t i = 0; i < pm.n; i++) {
                tdelete(pm.found[i], &rl->entries, entry_compare);
                entry_free(pm.found[i]);
                rl->n_entries--;
        }
        free(pm.found);
}

size_t ratelimit_size(const RateLimit *rl) {
        return rl->n_entries;
}
