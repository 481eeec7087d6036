/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "basic/util.h"
#include "cgroup/inotify-hub.h"

typedef struct InotifyEntry {
        int wd;                  /* -1 once the kernel dropped it */
        void *owner;
        InotifyHubHandler handler;
        bool pending;            /* the owner's file changed: the handler is due */
        bool dropped;            /* ...or the kernel dropped the watch */
} InotifyEntry;

struct InotifyHub {
        sd_event *event;
        int fd;
        sd_event_source *source;
        InotifyEntry *entries;
        size_t n_entries, n_allocated;
        unsigned dispatching; /* freed when its dispatch ends, not during it */
        InotifyHub *next;
};

static InotifyHub *hubs;

static void hub_free(InotifyHub *h) {
        for (InotifyHub **p = &hubs; *p; p = &(*p)->next)
                if (*p == h) {
                        *p = h->next;
                        break;
                }
        sd_event_source_disable_unref(h->source);
        safe_close(h->fd);
        sd_event_unref(h->event);
        free(h->entries);
        free(h);
}

static void hub_maybe_free(InotifyHub *h) {
        if (h->n_entries == 0 && h->dispatching == 0)
                hub_free(h);
}

static bool hub_holds_wd(const InotifyHub *h, int wd) {
        for (size_t i = 0; i < h->n_entries; i++)
                if (h->entries[i].wd == wd)
                        return true;
        return false;
}

void inotify_hub_remove(InotifyHub *h, void *owner) {
        int wds[4];
        size_t k = 0, n_wds = 0;

        if (!h)
                return;
        for (size_t i = 0; i < h->n_entries; i++) {
                if (h->entries[i].owner != owner)
                        h->entries[k++] = h->entries[i];
                else if (h->entries[i].wd >= 0 && n_wds < ELEMENTSOF(wds))
                        wds[n_wds++] = h->entries[i].wd;
        }
        h->n_entries = k;
        /* Another owner of the same file holds the same wd. */
        for (size_t i = 0; i < n_wds; i++)
                if (!hub_holds_wd(h, wds[i]))
                        (void) inotify_rm_watch(h->fd, wds[i]);
        hub_maybe_free(h);
}

/* The kernel dropped wd (IN_IGNORED: the file went with its cgroup). The
 * entries stay, marked, until their owners let go: the dispatch that
 * follows still finds the owners. */
static void hub_forget_wd(InotifyHub *h, int wd) {
        for (size_t i = 0; i < h->n_entries; i++)
                if (h->entries[i].wd == wd)
                        h->entries[i].wd = -1;
}

static int on_hub_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        InotifyHub *h = userdata;
        union {
                struct inotify_event ev;
                char raw[4096];
        } buf;

        for (;;) {
                ssize_t n = read(fd, &buf, sizeof(buf));

                if (n <= 0)
                        break;
                for (char *p = buf.raw; p < buf.raw + n;) {
                        struct inotify_event *e = (struct inotify_event *) p;
                        bool dropped = e->mask & (IN_IGNORED | IN_DELETE_SELF);

                        /* An overflow lost changes of anyone's files. */
                        bool all = e->mask & IN_Q_OVERFLOW;

                        for (size_t i = 0; i < h->n_entries; i++)
                                if (all || (e->wd >= 0 && h->entries[i].wd == e->wd)) {
                                        h->entries[i].pending = true;
                                        h->entries[i].dropped |= dropped;
                                }
                        if (e->mask & IN_IGNORED)
                                hub_forget_wd(h, e->wd);
                        p += sizeof(struct inotify_event) + e->len;
                }
        }

        /* Each owner once. A handler may remove any owner, and with it its
         * entries, so the scan starts over after each. */
        h->dispatching++;
        for (;;) {
                void *owner = NULL;
                InotifyHubHandler handler = NULL;
                bool dropped = false;

                for (size_t i = 0; i < h->n_entries && !owner; i++)
                        if (h->entries[i].pending) {
                                owner = h->entries[i].owner;
                                handler = h->entries[i].handler;
                        }
                if (!owner)
                        break;
                for (size_t i = 0; i < h->n_entries; i++)
                        if (h->entries[i].owner == owner) {
                                dropped |= h->entries[i].dropped;
                                h->entries[i].pending = h->entries[i].dropped = false;
                        }
                /* Not touched after: the handler may remove the owner. */
                handler(owner, dropped);
        }
        h->dispatching--;
        hub_maybe_free(h);
        return 0;
}

int inotify_hub_get(sd_event *e, InotifyHub **ret) {
        _cleanup_free_ InotifyHub *h = NULL;
        int r;

        assert(e);
        assert(ret);

        for (InotifyHub *i = hubs; i; i = i->next)
                if (i->event == e) {
                        *ret = i;
                        return 0;
                }

        h = calloc(1, sizeof(InotifyHub));
        if (!h)
                return -ENOMEM;
        h->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (h->fd < 0)
                return -errno;
        r = sd_event_add_io(e, &h->source, h->fd, EPOLLIN, on_hub_inotify, h);
        if (r < 0) {
                safe_close(h->fd);
                return r;
        }
        (void) sd_event_source_set_description(h->source, "memcg-watch-inotify");
        h->event = sd_event_ref(e);
        h->next = hubs;
        hubs = h;
        *ret = TAKE_PTR(h);
        return 0;
}

int inotify_hub_add(InotifyHub *h, const char *path, uint32_t mask, void *owner, InotifyHubHandler handler) {
        int wd;

        assert(h);
        assert(path);
        assert(owner);
        assert(handler);

        wd = inotify_add_watch(h->fd, path, mask);
        if (wd < 0)
                return -errno;
        if (h->n_entries == h->n_allocated) {
                size_t n = h->n_allocated ? 2 * h->n_allocated : 16;
                InotifyEntry *e = reallocarray(h->entries, n, sizeof(InotifyEntry));

                if (!e) {
                        if (!hub_holds_wd(h, wd))
                                (void) inotify_rm_watch(h->fd, wd);
                        return -ENOMEM;
                }
                h->entries = e;
                h->n_allocated = n;
        }
        h->entries[h->n_entries++] = (InotifyEntry) { .wd = wd, .owner = owner, .handler = handler };
        return 0;
}
