/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "basic/cgroup-path.h"
#include "basic/log.h"
#include "cgroup/cgroup-watcher.h"
#include "conf/rules.h"

/* The same on every cgroup known and on the parent of each root (or the
 * nearest existing ancestor of a root that does not exist): making,
 * removal and renaming of subdirectories, and of the directory itself. The
 * parent is watched because a root's own IN_DELETE_SELF comes only when the
 * kernel frees the cgroup's inode, which on cgroupfs can be long after the
 * rmdir. One mask for all, as one directory may serve two roots. */
#define WATCH_MASK                                                                                      \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

typedef struct Node Node;
struct Node {
        char *path; /* the cgroup, "/a/b" */
        int wd;
        bool seen;  /* mark of a rescan */
        Node *parent, *children, *next, *prev;
};

struct CgroupWatcher {
        sd_event_source *source;
        const MemcgRoot *root;
        int fd;
        char **roots; /* minimized */
        cgroup_event_handler_t handler;
        void *userdata;

        void *by_wd, *by_path; /* tsearch() trees of Node */
        size_t n_nodes;

        int *waiters; /* wds of the roots' parents, or of their nearest existing ancestors */
        size_t n_waiters;
};

static int node_compare_wd(const void *a, const void *b) {
        const Node *x = a, *y = b;
        return (x->wd > y->wd) - (x->wd < y->wd);
}

static int node_compare_path(const void *a, const void *b) {
        return strcmp(((const Node *) a)->path, ((const Node *) b)->path);
}

static void node_free(void *p) {
        Node *n = p;
        free(n->path);
        free(n);
}

static Node *node_by_wd(CgroupWatcher *w, int wd) {
        Node key = { .wd = wd };
        void *p = tfind(&key, &w->by_wd, node_compare_wd);
        return p ? *(Node **) p : NULL;
}

static Node *node_by_path(CgroupWatcher *w, const char *path) {
        Node key = { .path = (char *) path };
        void *p = tfind(&key, &w->by_path, node_compare_path);
        return p ? *(Node **) p : NULL;
}

static void node_link(Node *n, Node *parent) {
        n->parent = parent;
        n->prev = NULL;
        n->next = parent ? parent->children : NULL;
        if (n->next)
                n->next->prev = n;
        if (parent)
                parent->children = n;
}

static void node_unlink(Node *n) {
        if (n->prev)
                n->prev->next = n->next;
        else if (n->parent)
                n->parent->children = n->next;
        if (n->next)
                n->next->prev = n->prev;
        n->parent = n->next = n->prev = NULL;
}

/* Forgets n and everything below it, reporting each as gone, deepest first. */
static void node_remove(CgroupWatcher *w, Node *n, bool report) {
        while (n->children)
                node_remove(w, n->children, report);

        if (report)
                w->handler(n->path, false, w->userdata);
        /* after IN_DELETE the watch may already be gone: EINVAL is fine */
        (void) inotify_rm_watch(w->fd, n->wd);
        tdelete(n, &w->by_wd, node_compare_wd);
        tdelete(n, &w->by_path, node_compare_path);
        node_unlink(n);
        w->n_nodes--;
        node_free(n);
}

static char *path_child(const char *parent, const char *name) {
        char *p;

        if (asprintf(&p, "%s/%s", streq(parent, "/") ? "" : parent, name) < 0)
                return NULL;
        return p;
}

/* Watches the directory open at fd through its /proc/self/fd link, which
 * names exactly the directory we opened, whatever happened to the path. */
static int watch_fd(CgroupWatcher *w, int fd, uint32_t mask) {
        char link[64];
        int wd;

        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(w->fd, link, mask);
        return wd < 0 ? -errno : wd;
}

/* An error that only means "that directory is not (or no longer) there". */
static bool errno_is_gone(int r) {
        return r == -ENOENT || r == -ENOTDIR || r == -ELOOP || r == -ENODEV || r == -ESTALE;
}

static int watcher_add_tree(CgroupWatcher *w, Node *parent, int fd, const char *path);

/* Adds the subdirectories of the directory open at fd (path) that are valid
 * cgroup names. Keeps going past errors; returns the first. */
static int watcher_add_children(CgroupWatcher *w, Node *n, int fd) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int dfd, r = 0;

        dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno_is_gone(-errno) ? 0 : -errno;
        d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -ENOMEM;
        }

        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int child = -1;
                int k;

                if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                path = path_child(n->path, de->d_name);
                if (!path)
                        return -ENOMEM;
                if (cgroup_path_validate(path) < 0)
                        continue;
                /* one name below a directory inside the root, no symlink:
                 * this cannot leave the root */
                child = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (child < 0)
                        continue; /* a file, a symlink, or gone again */
                k = watcher_add_tree(w, n, child, path);
                if (k == -ENOMEM)
                        return k;
                if (r == 0)
                        r = k;
        }
        return r;
}

/* Moves a known node under the right parent (a root may have become part
 * of a larger one after set_roots()). */
static void node_relink(Node *n, Node *parent) {
        if (n->parent == parent)
                return;
        node_unlink(n);
        node_link(n, parent);
}

/* A new node in both trees, or NULL. */
static Node *watcher_insert(CgroupWatcher *w, const char *path, int wd) {
        Node *n = calloc(1, sizeof(Node));

        if (!n || !(n->path = strdup(path))) {
                free(n);
                return NULL;
        }
        n->wd = wd;
        n->seen = true;
        if (!tsearch(n, &w->by_wd, node_compare_wd)) {
                node_free(n);
                return NULL;
        }
        if (!tsearch(n, &w->by_path, node_compare_path)) {
                tdelete(n, &w->by_wd, node_compare_wd);
                node_free(n);
                return NULL;
        }
        return n;
}

/* Makes path (open at fd, or opened here when fd < 0) and everything below
 * it known: watched, reported if new, marked seen. A directory that is gone
 * is not an error. */
static int watcher_add_tree(CgroupWatcher *w, Node *parent, int fd, const char *path) {
        _cleanup_close_ int opened = -1;
        Node *n, *old;
        int wd;

        if (fd < 0) {
                opened = memcg_open(w->root, path);
                if (opened < 0)
                        return errno_is_gone(opened) ? 0 : opened;
                fd = opened;
        }

        wd = watch_fd(w, fd, WATCH_MASK);
        if (wd < 0) {
                if (errno_is_gone(wd))
                        return 0;
                return log_warning_errno(wd, "Cannot watch cgroup %s, not following it: %m", path);
        }

        n = node_by_wd(w, wd);
        if (n && streq(n->path, path)) {
                /* known: a rescan, or an event for what a scan already found */
                n->seen = true;
                node_relink(n, parent);
                return watcher_add_children(w, n, fd);
        }
        if (n) {
                /* the same directory under another name: moved while the
                 * events were lost. Forget the old name (which also drops
                 * the watch), then watch again. */
                node_remove(w, n, true);
                wd = watch_fd(w, fd, WATCH_MASK);
                if (wd < 0)
                        return errno_is_gone(wd) ? 0 : log_warning_errno(wd, "Cannot watch cgroup %s: %m", path);
        }
        old = node_by_path(w, path);
        if (old) /* another directory of the same name: the old one is gone */
                node_remove(w, old, true);

        n = watcher_insert(w, path, wd);
        if (!n) {
                (void) inotify_rm_watch(w->fd, wd);
                return -ENOMEM;
        }
        node_link(n, parent);
        w->n_nodes++;

        w->handler(n->path, true, w->userdata);

        /* after the watch, so that nothing made in between is missed */
        return watcher_add_children(w, n, fd);
}

/* ---- Roots: each one's parent, or nearest existing ancestor, is watched ---- */

static bool int_in(const int *l, size_t n, int v) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == v)
                        return true;
        return false;
}

typedef struct WdSet {
        int *wds;
        size_t n;
} WdSet;

static int wd_set_add(WdSet *s, int wd) {
        int *l;

        if (int_in(s->wds, s->n, wd))
                return 0;
        l = reallocarray(s->wds, s->n + 1, sizeof(int));
        if (!l)
                return -ENOMEM;
        s->wds = l;
        s->wds[s->n++] = wd;
        return 0;
}

/* Whether the top node of root is still the directory at that path: if it
 * is gone, or replaced, it is forgotten (and the new one added). */
static int watcher_check_top(CgroupWatcher *w, Node *n) {
        _cleanup_close_ int fd = -1;
        int wd;

        fd = memcg_open(w->root, n->path);
        if (fd < 0) {
                if (!errno_is_gone(fd))
                        return fd;
                node_remove(w, n, true);
                return 0;
        }
        wd = watch_fd(w, fd, WATCH_MASK);
        if (wd == n->wd)
                return 0;
        /* another directory: add_tree() forgets the old one */
        return watcher_add_tree(w, n->parent, fd, n->path);
}

/* Watches "/" and every directory down to path; -ENOENT when one is gone. */
static int watcher_watch_chain(CgroupWatcher *w, const char *path, WdSet *added) {
        char prefix[PATH_MAX];
        size_t l = strlen(path);

        /* "/", then each prefix ending before a '/', then path itself */
        for (size_t i = 0; i <= l; i++) {
                _cleanup_close_ int fd = -1;
                int wd, r;

                if (i == 0)
                        strcpy(prefix, "/");
                else if ((i < l && path[i] != '/') || (i == 1 && l == 1))
                        continue;
                else
                        snprintf(prefix, sizeof(prefix), "%.*s", (int) i, path);
                fd = memcg_open(w->root, prefix);
                if (fd < 0)
                        return errno_is_gone(fd) ? -ENOENT : fd;
                wd = watch_fd(w, fd, WATCH_MASK);
                if (wd < 0)
                        return errno_is_gone(wd) ? -ENOENT
                                                 : log_warning_errno(wd, "Cannot watch %s for the cgroups below: %m", prefix);
                r = wd_set_add(added, wd);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The directory above root to watch: its parent while it exists, else its
 * nearest existing ancestor; "" for the hierarchy's root. */
static void watcher_root_anchor(CgroupWatcher *w, const char *root, bool exists, char *buf, size_t size) {
        snprintf(buf, size, "%s", root);
        for (;;) {
                char *slash = strrchr(buf, '/');
                int fd;

                if (!slash || streq(buf, "/")) {
                        buf[0] = 0;
                        return;
                }
                slash[slash == buf ? 1 : 0] = 0;
                if (exists)
                        return;
                fd = memcg_open(w->root, buf);
                if (fd >= 0) {
                        close(fd);
                        return;
                }
        }
}

/* Brings root in (its tree when it exists) and watches every directory
 * from the hierarchy's root down to its anchor: the making and removal of
 * the root, or of anything on its way, is then an event. (A root's own
 * IN_DELETE_SELF is no help: it comes when the kernel frees the cgroup's
 * inode, which on cgroupfs can be long after the rmdir; and on cgroupfs a
 * directory goes only when empty, so the chain sees every removal.) The
 * wds to keep go to keep, every wd watched on the way to added. */
static int watcher_arm_root(CgroupWatcher *w, const char *root, WdSet *keep, WdSet *added) {
        for (unsigned attempt = 0; attempt < 16; attempt++) {
                char anchor[PATH_MAX];
                Node *n = node_by_path(w, root);
                size_t first = added->n;
                bool exists;
                int r;

                r = n ? watcher_check_top(w, n) : watcher_add_tree(w, NULL, -1, root);
                if (r < 0)
                        return r;
                exists = node_by_path(w, root);
                watcher_root_anchor(w, root, exists, anchor, sizeof(anchor));
                if (!*anchor)
                        return 0;

                r = watcher_watch_chain(w, anchor, added);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;

                /* With the chain watched, a change of the root is seen; one
                 * that came before is caught by looking again. */
                r = memcg_open(w->root, root);
                if (r >= 0)
                        close(r);
                else if (!errno_is_gone(r))
                        return r;
                if ((r >= 0) != exists)
                        continue;
                for (size_t i = first; i < added->n; i++) {
                        r = wd_set_add(keep, added->wds[i]);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        return -EBUSY; /* made and removed faster than we can look */
}

/* Brings every root in, watches what tells about each, and drops the
 * watches no longer needed. */
static int watcher_arm(CgroupWatcher *w) {
        _cleanup_free_ int *keep_wds = NULL, *added_wds = NULL;
        WdSet keep = {}, added = {};
        int r = 0;

        for (size_t i = 0; w->roots && w->roots[i]; i++) {
                int k = watcher_arm_root(w, w->roots[i], &keep, &added);
                if (k == -ENOMEM) {
                        free(keep.wds);
                        free(added.wds);
                        return k;
                }
                if (k < 0 && r == 0)
                        r = k;
        }
        keep_wds = keep.wds;
        added_wds = added.wds;

        /* The same directory always has the same wd, so what is not kept
         * is dropped, once, unless a cgroup we know has it. */
        for (size_t i = 0; i < w->n_waiters; i++)
                if (!int_in(keep.wds, keep.n, w->waiters[i]) && !node_by_wd(w, w->waiters[i]))
                        (void) inotify_rm_watch(w->fd, w->waiters[i]);
        for (size_t i = 0; i < added.n; i++)
                if (!int_in(keep.wds, keep.n, added.wds[i]) && !int_in(w->waiters, w->n_waiters, added.wds[i]) &&
                    !node_by_wd(w, added.wds[i]))
                        (void) inotify_rm_watch(w->fd, added.wds[i]);

        free(w->waiters);
        w->waiters = TAKE_PTR(keep_wds);
        w->n_waiters = keep.n;
        return r;
}

/* ---- Full scans ---- */

typedef struct NodeList {
        Node **nodes;
        size_t n;
        bool failed;
} NodeList;

static void collect_unseen(const void *p, VISIT which, void *userdata) {
        Node *n = *(Node *const *) p;
        NodeList *l = userdata;

        if ((which == postorder || which == leaf) && !n->seen)
                l->nodes[l->n++] = n;
}

static void mark_unseen(const void *p, VISIT which, void *userdata) {
        if (which == postorder || which == leaf)
                (*(Node *const *) p)->seen = false;
}

static int node_compare_path_descending(const void *a, const void *b) {
        return -strcmp((*(Node *const *) a)->path, (*(Node *const *) b)->path);
}

int cgroup_watcher_rescan(CgroupWatcher *w) {
        assert(w);

        _cleanup_free_ Node **unseen = NULL;
        NodeList l;
        int r = 0, k;

        twalk_r(w->by_path, mark_unseen, NULL);

        for (size_t i = 0; w->roots && w->roots[i]; i++) {
                k = watcher_add_tree(w, NULL, -1, w->roots[i]);
                if (k == -ENOMEM)
                        return k;
                if (k < 0 && r == 0)
                        r = k;
        }

        /* Gone since: children sort after their parents, so in descending
         * order each is removed before its parent and no pointer dangles. */
        unseen = calloc(w->n_nodes + 1, sizeof(Node *));
        if (!unseen)
                return -ENOMEM;
        l = (NodeList) { .nodes = unseen };
        twalk_r(w->by_path, collect_unseen, &l);
        qsort(unseen, l.n, sizeof(Node *), node_compare_path_descending);
        for (size_t i = 0; i < l.n; i++)
                node_remove(w, unseen[i], true);

        k = watcher_arm(w);
        return r ?: k;
}

/* ---- Events ---- */

static void watcher_forget_path(CgroupWatcher *w, const char *path) {
        Node *n = node_by_path(w, path);
        if (n)
                node_remove(w, n, true);
}

/* Returns true when the missing roots need another look. */
static bool watcher_handle_event(CgroupWatcher *w, const struct inotify_event *e) {
        _cleanup_free_ char *path = NULL;
        Node *n;

        n = node_by_wd(w, e->wd);
        if (!n) /* a root's parent, or a watch dropped with its last events still queued */
                return int_in(w->waiters, w->n_waiters, e->wd);

        if (e->mask & (IN_DELETE_SELF | IN_IGNORED | IN_UNMOUNT)) {
                bool top = !n->parent;
                node_remove(w, n, true);
                return top;
        }
        if (e->mask & IN_MOVE_SELF) {
                /* the parent's IN_MOVED_FROM takes care of the others */
                if (n->parent)
                        return false;
                node_remove(w, n, true);
                return true;
        }
        if (!(e->mask & IN_ISDIR) || e->len == 0)
                return false;

        path = path_child(n->path, e->name);
        if (!path) {
                log_error_errno(-ENOMEM, "Cannot follow %s/%s, rescanning: %m", n->path, e->name);
                (void) cgroup_watcher_rescan(w);
                return false;
        }
        if (cgroup_path_validate(path) < 0)
                return false;

        if (e->mask & (IN_DELETE | IN_MOVED_FROM))
                watcher_forget_path(w, path);
        else if ((e->mask & (IN_CREATE | IN_MOVED_TO)) && !node_by_path(w, path))
                (void) watcher_add_tree(w, n, -1, path);
        return false;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CgroupWatcher *w = userdata;
        union {
                struct inotify_event e;
                char raw[64 * 1024];
        } buf;
        bool overflow = false, arm = false;
        ssize_t n;

        n = read(fd, &buf, sizeof(buf));
        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(-errno, "Cannot read cgroup inotify events: %m");
                return 0;
        }

        for (char *p = buf.raw; p < buf.raw + n;) {
                const struct inotify_event *e = (const struct inotify_event *) p;

                if (e->mask & IN_Q_OVERFLOW)
                        overflow = true;
                else if (!overflow) /* a full rescan comes anyway */
                        arm |= watcher_handle_event(w, e);
                p += sizeof(struct inotify_event) + e->len;
        }

        if (overflow) {
                log_notice("Too many cgroup events at once, the kernel dropped some; reading the cgroup trees again");
                (void) cgroup_watcher_rescan(w);
        } else if (arm)
                (void) watcher_arm(w);
        return 0;
}

/* ---- Object ---- */

static int watcher_set_roots(CgroupWatcher *w, char *const *roots) {
        _cleanup_strv_free_ char **minimized = NULL;
        size_t n = strv_length(roots);
        int r;

        for (size_t i = 0; i < n; i++)
                if (cgroup_path_validate(roots[i]) < 0)
                        return -EINVAL;
        r = cgroup_paths_minimize(roots, n, &minimized);
        if (r < 0)
                return r;
        strv_free(w->roots);
        w->roots = TAKE_PTR(minimized);
        return 0;
}

int cgroup_watcher_new(sd_event *e, const MemcgRoot *root, char *const *roots, cgroup_event_handler_t handler,
                       void *userdata, CgroupWatcher **ret) {
        _cleanup_(cgroup_watcher_freep) CgroupWatcher *w = NULL;
        int r;

        w = calloc(1, sizeof(CgroupWatcher));
        if (!w)
                return -ENOMEM;
        w->root = root;
        w->handler = handler;
        w->userdata = userdata;
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (w->fd < 0)
                return -errno;
        /* without it every directory would look gone */
        if (access("/proc/self/fd", X_OK) < 0)
                return log_error_errno(-ENOSYS, "/proc is not mounted, cannot watch cgroups");

        r = watcher_set_roots(w, roots);
        if (r < 0)
                return r;
        r = sd_event_add_io(e, &w->source, w->fd, EPOLLIN, on_inotify, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->source, "cgroupfs-inotify");

        r = cgroup_watcher_rescan(w);
        if (r == -ENOMEM)
                return r;
        /* other errors are logged: the rest is watched */

        *ret = TAKE_PTR(w);
        return 0;
}

int cgroup_watcher_set_roots(CgroupWatcher *w, char *const *roots) {
        int r;

        r = watcher_set_roots(w, roots);
        if (r < 0)
                return r;
        /* A directory watched for an old root may be a cgroup of a new one
         * (same inode, same wd): drop those watches before the scan. */
        for (size_t i = 0; i < w->n_waiters; i++)
                (void) inotify_rm_watch(w->fd, w->waiters[i]);
        w->n_waiters = 0;
        return cgroup_watcher_rescan(w);
}

size_t cgroup_watcher_n_watched(const CgroupWatcher *w) {
        return w->n_nodes + w->n_waiters;
}

size_t cgroup_watcher_n_cgroups(const CgroupWatcher *w) {
        return w->n_nodes;
}

typedef struct ForeachContext {
        void (*f)(const char *cgroup, void *userdata);
        void *userdata;
} ForeachContext;

static void foreach_visit(const void *p, VISIT which, void *userdata) {
        ForeachContext *c = userdata;

        if (which == postorder || which == leaf)
                c->f((*(Node *const *) p)->path, c->userdata);
}

void cgroup_watcher_foreach(CgroupWatcher *w, void (*f)(const char *cgroup, void *userdata), void *userdata) {
        ForeachContext c = { .f = f, .userdata = userdata };

        twalk_r(w->by_path, foreach_visit, &c);
}

static void node_keep(void *p) {
}

CgroupWatcher *cgroup_watcher_free(CgroupWatcher *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        tdestroy(w->by_path, node_keep); /* the same nodes as by_wd */
        tdestroy(w->by_wd, node_free);
        if (w->fd >= 0)
                close(w->fd); /* drops every watch */
        strv_free(w->roots);
        free(w->waiters);
        free(w);
        return NULL;
}
