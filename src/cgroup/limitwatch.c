/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <search.h>
#include <sys/inotify.h>

#include "basic/log.h"
#include "cgroup/limitwatch.h"

#define LIMIT_FILES_MAX 2

/* One inotify watch (one file: inotify gives the same wd for the same
 * inode), shared by every LimitWatch that follows that file. */
typedef struct WdEntry {
        int wd;
        bool dead;        /* IN_IGNORED: the kernel dropped the watch (the cgroup was freed) */
        unsigned busy;    /* callbacks under way: subs is not compacted, the entry not freed */
        LimitWatch **subs; /* NULL slots: unsubscribed while busy */
        size_t n_subs, n_live;
} WdEntry;

struct LimitWatch {
        LimitWatcher *watcher;
        WdEntry *entries[LIMIT_FILES_MAX];
        size_t n_entries;
        limit_written_t cb;
        void *userdata;
};

struct LimitWatcher {
        sd_event_source *source;
        int fd;
        void *by_wd; /* tsearch() tree of the live WdEntry */
        size_t n_watched;
};

static int entry_compare(const void *a, const void *b) {
        const WdEntry *x = a, *y = b;
        return (x->wd > y->wd) - (x->wd < y->wd);
}

static WdEntry *entry_find(LimitWatcher *w, int wd) {
        WdEntry key = { .wd = wd };
        void *p = tfind(&key, &w->by_wd, entry_compare);
        return p ? *(WdEntry **) p : NULL;
}

/* The kernel's watch is gone (IN_IGNORED) or to be dropped: out of the tree. */
static void entry_unlink(LimitWatcher *w, WdEntry *e, bool drop_watch) {
        if (e->dead)
                return;
        if (drop_watch)
                (void) inotify_rm_watch(w->fd, e->wd);
        tdelete(e, &w->by_wd, entry_compare);
        w->n_watched--;
        e->dead = true;
}

/* Drops the NULL slots, and the entry itself when nobody follows it any more. */
static void entry_settle(LimitWatcher *w, WdEntry *e) {
        size_t k = 0;

        if (e->busy > 0)
                return;
        for (size_t i = 0; i < e->n_subs; i++)
                if (e->subs[i])
                        e->subs[k++] = e->subs[i];
        e->n_subs = k;
        if (e->n_live > 0)
                return;
        entry_unlink(w, e, true);
        free(e->subs);
        free(e);
}

static void entry_unsubscribe(LimitWatcher *w, WdEntry *e, LimitWatch *lw) {
        for (size_t i = 0; i < e->n_subs; i++)
                if (e->subs[i] == lw) {
                        e->subs[i] = NULL;
                        e->n_live--;
                        break;
                }
        entry_settle(w, e);
}

static int entry_subscribe(LimitWatcher *w, int wd, LimitWatch *lw, WdEntry **ret) {
        WdEntry *e = entry_find(w, wd);
        LimitWatch **subs;

        if (!e) {
                e = calloc(1, sizeof(WdEntry));
                if (!e)
                        return -ENOMEM;
                e->wd = wd;
                if (!tsearch(e, &w->by_wd, entry_compare)) {
                        free(e);
                        return -ENOMEM;
                }
                w->n_watched++;
        }
        subs = reallocarray(e->subs, e->n_subs + 1, sizeof(LimitWatch *));
        if (!subs) {
                entry_settle(w, e); /* drops an entry made here for nothing */
                return -ENOMEM;
        }
        e->subs = subs;
        e->subs[e->n_subs++] = lw;
        e->n_live++;
        *ret = e;
        return 0;
}

LimitWatch *limit_watch_free(LimitWatch *lw) {
        if (!lw)
                return NULL;
        for (size_t i = 0; i < lw->n_entries; i++)
                entry_unsubscribe(lw->watcher, lw->entries[i], lw);
        free(lw);
        return NULL;
}

/* Watches dirfd/name through /proc/self/fd (no symlink followed, no
 * descriptor kept): the wd, or a negative errno. */
static int watch_file(LimitWatcher *w, int dirfd, const char *name) {
        _cleanup_close_ int fd = -1;
        char link[64];
        int wd;

        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(w->fd, link, IN_MODIFY);
        return wd < 0 ? -errno : wd;
}

static bool watch_follows(const LimitWatch *lw, const int *wds, size_t n, limit_written_t cb, void *userdata) {
        if (!lw || lw->n_entries != n || lw->cb != cb || lw->userdata != userdata)
                return false;
        for (size_t i = 0; i < n; i++)
                if (lw->entries[i]->dead || lw->entries[i]->wd != wds[i])
                        return false;
        return true;
}

int limit_watch_refresh(LimitWatcher *w, LimitWatch **watch, int dirfd, MemcgLayout layout, limit_written_t cb,
                        void *userdata) {
        static const char *const v1_files[] = { "memory.limit_in_bytes" };
        static const char *const v2_files[] = { "memory.max", "memory.high" };
        const char *const *files = layout == MEMCG_LAYOUT_V1 ? v1_files : v2_files;
        size_t n = layout == MEMCG_LAYOUT_V1 ? ELEMENTSOF(v1_files) : ELEMENTSOF(v2_files);
        int wds[LIMIT_FILES_MAX];
        LimitWatch *lw;

        assert(w);
        assert(watch);
        assert(cb);

        for (size_t i = 0; i < n; i++) {
                wds[i] = watch_file(w, dirfd, files[i]);
                if (wds[i] < 0) {
                        int r = wds[i];
                        /* a watch made just now for nobody goes again */
                        for (size_t j = 0; j < i; j++)
                                if (!entry_find(w, wds[j]))
                                        (void) inotify_rm_watch(w->fd, wds[j]);
                        *watch = limit_watch_free(*watch);
                        return r == -ENOTDIR || r == -ELOOP ? -ENOENT : r;
                }
        }
        if (watch_follows(*watch, wds, n, cb, userdata))
                return 0;

        lw = calloc(1, sizeof(LimitWatch));
        if (!lw)
                return -ENOMEM;
        *lw = (LimitWatch) { .watcher = w, .cb = cb, .userdata = userdata };
        for (size_t i = 0; i < n; i++) {
                int r = entry_subscribe(w, wds[i], lw, &lw->entries[i]);
                if (r < 0) {
                        limit_watch_free(lw);
                        return r;
                }
                lw->n_entries++;
        }
        /* after the new one subscribed: a shared file keeps its watch */
        limit_watch_free(*watch);
        *watch = lw;
        return 0;
}

static void entry_dispatch(LimitWatcher *w, WdEntry *e) {
        e->busy++;
        /* by index: a callback may subscribe (reallocating subs) or unsubscribe */
        for (size_t i = 0; i < e->n_subs; i++) {
                LimitWatch *lw = e->subs[i];
                if (lw)
                        lw->cb(lw->userdata);
        }
        e->busy--;
        entry_settle(w, e);
}

static void collect_wd(const void *p, VISIT which, void *userdata) {
        int **next = userdata;

        if (which == postorder || which == leaf)
                *(*next)++ = (*(WdEntry *const *) p)->wd;
}

/* Writes were lost: everyone reads its limit again. By wd, looked up afresh
 * each time, as a callback may free any entry. */
static void dispatch_all(LimitWatcher *w) {
        _cleanup_free_ int *wds = calloc(w->n_watched + 1, sizeof(int));
        int *next = wds;

        if (!wds) {
                log_oom();
                return;
        }
        twalk_r(w->by_wd, collect_wd, &next);
        for (int *wd = wds; wd < next; wd++) {
                WdEntry *e = entry_find(w, *wd);
                if (e)
                        entry_dispatch(w, e);
        }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LimitWatcher *w = userdata;
        union {
                struct inotify_event e;
                char raw[16 * 1024];
        } buf;
        bool overflow = false;
        ssize_t n;

        n = read(fd, &buf, sizeof(buf));
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(-errno, "Cannot read memory limit inotify events: %m");
                return 0;
        }

        for (char *p = buf.raw; p < buf.raw + n;) {
                const struct inotify_event *ev = (const struct inotify_event *) p;
                WdEntry *e;

                p += sizeof(struct inotify_event) + ev->len;
                if (ev->mask & IN_Q_OVERFLOW) {
                        overflow = true;
                        continue;
                }
                e = entry_find(w, ev->wd);
                if (!e) /* dropped, with its last events still queued */
                        continue;
                if (ev->mask & IN_IGNORED) {
                        entry_unlink(w, e, false);
                        entry_settle(w, e);
                } else if ((ev->mask & IN_MODIFY) && !overflow)
                        entry_dispatch(w, e);
        }
        if (overflow) {
                log_notice("Too many memory limit writes at once, the kernel dropped some; reading every followed limit again.");
                dispatch_all(w);
        }
        return 0;
}

int limit_watcher_new(sd_event *e, LimitWatcher **ret) {
        _cleanup_(limit_watcher_freep) LimitWatcher *w = NULL;
        int r;

        assert(e);
        assert(ret);

        w = calloc(1, sizeof(LimitWatcher));
        if (!w)
                return -ENOMEM;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        r = sd_event_add_io(e, &w->source, w->fd, EPOLLIN, on_inotify, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->source, "limit-inotify");
        *ret = TAKE_PTR(w);
        return 0;
}

static void entry_free(void *p) {
        WdEntry *e = p;
        free(e->subs);
        free(e);
}

LimitWatcher *limit_watcher_free(LimitWatcher *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        tdestroy(w->by_wd, entry_free); /* none left, when every watch was freed first */
        safe_close(w->fd); /* drops every watch */
        free(w);
        return NULL;
}

size_t limit_watcher_n_watched(const LimitWatcher *w) {
        return w ? w->n_watched : 0;
}
