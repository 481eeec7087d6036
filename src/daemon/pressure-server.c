/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/cgroup-path.h"
#include "basic/event-timer.h"
#include "basic/log.h"
#include "basic/outbuf.h"
#include "basic/util.h"
#include "cgroup/memcg.h"
#include "conf/notice-request.h"
#include "daemon/pressure-server.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5 */
#endif

/* Connections taken per wake-up of the listening socket, so that a flood
 * of connects does not starve the rest of the loop. */
#define ACCEPT_BATCH 64
/* At most one warning about refused or rejected clients in this time. */
#define WARN_INTERVAL_USEC UINT64_C(10000000)
/* Changes to the clients' own thresholds are gathered this long before the
 * units' watches follow them (PressureServerCallbacks.thresholds_changed). */
#define THRESHOLDS_SETTLE_USEC UINT64_C(1000000)
/* While accept() fails for want of file descriptors, wait this long. */
#define ACCEPT_RETRY_USEC UINT64_C(100000)

typedef struct PressureClient PressureClient;

/* What is warned about, each at most once per WARN_INTERVAL_USEC: one kind of
 * trouble must not hide another. */
typedef enum WarnKind {
        WARN_REFUSED,  /* a bound reached */
        WARN_REJECTED, /* a registration refused */
        WARN_DROPPED,  /* a notice dropped */
        WARN_ACCEPT,   /* accept() failed */
        _WARN_MAX,
} WarnKind;

struct PressureClient {
        PressureServer *server;
        PressureClient *prev, *next;
        int fd;
        sd_event_source *source;
        pid_t pid;
        char *cgroup;        /* the peer's, when it connected */
        char *bound_owner;   /* the unit it counted against at accept ("" for none) */
        char *in;            /* what it wrote, at most NOTICE_REQUEST_SIZE_MAX bytes */
        size_t in_size;
        NoticeRequest request;
        OutBuf out;
        uint64_t round;      /* the last round of notices it was told in */
};

struct PressureServer {
        sd_event *event;
        char *path;
        int fd;
        sd_event_source *source, *retry_source;
        sd_event_source *settle_source; /* the changed thresholds of the units in settle_units */
        char **settle_units;
        bool v1;
        unsigned clients_max, clients_per_unit_max;
        PressureServerCallbacks cb;
        void *userdata;
        PressureClient *clients;
        size_t n_clients;
        PressureServerStats stats;
        uint64_t warned_usec[_WARN_MAX];
        uint64_t round;      /* the last round of notices begun */
};

/* A warning now and then, the rest at debug level: a misbehaving client
 * must not flood the journal. */
static int warn_level(PressureServer *s, WarnKind k) {
        uint64_t now = clock_usec(CLOCK_MONOTONIC);

        if (s->warned_usec[k] != 0 && now - s->warned_usec[k] < WARN_INTERVAL_USEC)
                return LOG_DEBUG;
        s->warned_usec[k] = now;
        return LOG_WARNING;
}

/* A warning about a client whose cgroup is cgroup, under its owner (NULL:
 * none) so that `journalctl -u` shows it, at most one of kind k in a while. */
static void warn_about(PressureServer *s, WarnKind k, Unit *owner, const char *cgroup, const char *format, ...)
        __attribute__((format(printf, 5, 6)));
static void warn_about(PressureServer *s, WarnKind k, Unit *owner, const char *cgroup, const char *format, ...) {
        char message[512];
        va_list ap;

        va_start(ap, format);
        vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        log_full(warn_level(s, k), 0, unit_object(owner), owner ? owner->control_group : cgroup, NULL, NULL,
                 "Pressure socket: %s", message);
}

static int on_thresholds_settled(sd_event_source *source, uint64_t usec, void *userdata) {
        PressureServer *s = userdata;
        _cleanup_strv_free_ char **names = TAKE_PTR(s->settle_units);

        for (char **n = names; n && *n; n++) {
                Unit *u = s->cb.unit ? s->cb.unit(*n, s->userdata) : NULL;
                if (u && s->cb.thresholds_changed)
                        s->cb.thresholds_changed(u, s->userdata);
        }
        return 0;
}

/* The clients' thresholds of owner changed: its watch follows within
 * THRESHOLDS_SETTLE_USEC (and at most EVENT_TIMER_COARSE_USEC more), once
 * for all the changes until then. */
static void thresholds_changed_later(PressureServer *s, Unit *owner) {
        size_t n = strv_length(s->settle_units);
        char **l;

        if (!owner || !s->cb.thresholds_changed)
                return;
        for (size_t i = 0; i < n; i++)
                if (streq(s->settle_units[i], owner->name))
                        return; /* the timer runs */
        l = realloc(s->settle_units, (n + 2) * sizeof(char *));
        if (!l)
                return;
        s->settle_units = l;
        l[n] = strdup(owner->name);
        l[n + 1] = NULL;
        if (!l[n])
                return;

        /* Coarse: the thresholds are settled to merge a burst of clients'
         * changes; a quarter second more merges more. */
        if (!s->settle_source || n == 0)
                (void) event_timer_arm(s->event, &s->settle_source, THRESHOLDS_SETTLE_USEC, EVENT_TIMER_COARSE_USEC,
                                       on_thresholds_settled, s, "memqosd-pressure-thresholds");
}

static Unit *client_owner(PressureClient *c) {
        return c->server->cb.owner ? c->server->cb.owner(c->cgroup, c->server->userdata) : NULL;
}

static PressureClient *client_free(PressureClient *c) {
        if (!c)
                return NULL;
        PressureServer *s = c->server;
        bool had_thresholds = c->request.n_thresholds > 0;

        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;

        sd_event_source_disable_unref(c->source);
        safe_close(c->fd);
        if (had_thresholds && s->cb.thresholds_changed)
                thresholds_changed_later(s, client_owner(c));
        free(c->cgroup);
        free(c->bound_owner);
        free(c->in);
        free(c);
        return NULL;
}

/* Writes what is queued, without blocking. false when the client is gone. */
static bool client_flush(PressureClient *c) {
        while (!outbuf_empty(&c->out)) {
                size_t len;
                const char *head = outbuf_head(&c->out, &len);
                ssize_t n = send(c->fd, head, len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break; /* full: the rest when EPOLLOUT says so */
                if (n < 0)
                        return false;
                outbuf_consumed(&c->out, (size_t) n);
        }
        /* Wait for room only while something is left. */
        (void) sd_event_source_set_io_events(c->source, EPOLLIN | (outbuf_empty(&c->out) ? 0 : EPOLLOUT));
        return true;
}

/* The registration read so far, parsed. false when it is refused. */
static bool client_parse(PressureClient *c, Unit *owner) {
        PressureServer *s = c->server;
        NoticeRequest req;
        unsigned line;
        int r;

        r = notice_request_parse(c->in, c->in_size, &req, &line);
        if (r == -EINVAL || r == -E2BIG) {
                s->stats.rejected++;
                warn_about(s, WARN_REJECTED, owner, c->cgroup,
                           "refused the registration of process %d (cgroup %s): %s at line %u; closed it "
                           "(memqos-pressure(7)).",
                           (int) c->pid, c->cgroup, r == -E2BIG ? "too many thresholds" : "not a valid line", line);
                return false;
        }
        bool changed = req.n_thresholds != c->request.n_thresholds ||
                       memcmp(req.thresholds, c->request.thresholds, req.n_thresholds * sizeof(Threshold)) != 0;
        c->request = req;
        if (changed)
                thresholds_changed_later(s, owner);
        return true;
}

/* Reads what the client wrote. false when it is gone or refused. */
static bool client_read(PressureClient *c) {
        PressureServer *s = c->server;
        char buf[1024];
        bool got = false;

        for (;;) {
                ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break; /* all read */
                if (n <= 0)
                        return false; /* gone (0: it closed) */
                if ((size_t) n > NOTICE_REQUEST_SIZE_MAX - c->in_size) {
                        s->stats.rejected++;
                        warn_about(s, WARN_REJECTED, client_owner(c), c->cgroup,
                                   "process %d (cgroup %s) wrote more than %d bytes; closed it (memqos-pressure(7)).",
                                   (int) c->pid, c->cgroup, NOTICE_REQUEST_SIZE_MAX);
                        return false;
                }
                if (!c->in) {
                        c->in = malloc(NOTICE_REQUEST_SIZE_MAX);
                        if (!c->in)
                                return false;
                }
                memcpy(c->in + c->in_size, buf, (size_t) n);
                c->in_size += (size_t) n;
                got = true;
        }
        return !got || client_parse(c, client_owner(c));
}

static int on_client_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        PressureClient *c = userdata;

        if ((revents & EPOLLIN) && !client_read(c)) {
                client_free(c);
                return 0;
        }
        if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
                client_free(c);
                return 0;
        }
        if ((revents & EPOLLOUT) && !client_flush(c))
                client_free(c);
        return 0;
}

/* The peer's cgroup, from the kernel. With SO_PEERPIDFD the process is
 * checked to be still the same after /proc/PID/cgroup was read (a pid may
 * be reused); without it (kernels before 6.5) the pid of SO_PEERCRED is
 * taken as it is. */
static int peer_cgroup(int fd, bool v1, pid_t *ret_pid, char **ret_cgroup) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        _cleanup_close_ int pidfd = -1;
        _cleanup_close_ int procfd = -1;
        char path[64], text[8192];
        ssize_t n;
        int r;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        if (cred.pid <= 0)
                return -ESRCH;
        len = sizeof(pidfd);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
                if (errno != ENOPROTOOPT && errno != EINVAL)
                        return -errno;
                pidfd = -1;
        }

        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int) cred.pid);
        procfd = open(path, O_RDONLY | O_CLOEXEC);
        if (procfd < 0)
                return -errno;
        n = read(procfd, text, sizeof(text) - 1);
        if (n < 0)
                return -errno;
        text[n] = 0;
        if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -errno; /* ESRCH: gone, the pid may be another's now */

        r = cgroup_from_proc_text(text, v1, ret_cgroup);
        if (r < 0)
                return r;
        *ret_pid = cred.pid;
        return 0;
}

static size_t clients_of(PressureServer *s, const char *bound_owner) {
        size_t n = 0;
        for (PressureClient *c = s->clients; c; c = c->next)
                n += streq(c->bound_owner, bound_owner);
        return n;
}

static void server_accept_one(PressureServer *s, int cfd) {
        _cleanup_close_ int fd = cfd;
        _cleanup_free_ char *cgroup = NULL;
        PressureClient *c;
        const char *owner_name;
        Unit *owner;
        pid_t pid = 0;
        int r;

        if (s->n_clients >= s->clients_max) {
                s->stats.refused++;
                warn_about(s, WARN_REFUSED, NULL, NULL,
                           "%zu clients, the most memqos.conf [Notify] ClientsMax= allows; closed a new connection.",
                           s->n_clients);
                return;
        }
        r = peer_cgroup(fd, s->v1, &pid, &cgroup);
        if (r < 0) {
                s->stats.unidentified++;
                log_debug_errno(r, "Pressure socket: cannot learn a new client's cgroup, closed it: %m");
                return;
        }
        owner = s->cb.owner ? s->cb.owner(cgroup, s->userdata) : NULL;
        owner_name = owner ? owner->name : "";
        if (clients_of(s, owner_name) >= s->clients_per_unit_max) {
                s->stats.refused++;
                warn_about(s, WARN_REFUSED, owner, cgroup,
                           "%s has %u clients, the most memqos.conf [Notify] ClientsPerUnitMax= allows; closed the "
                           "connection of process %d.",
                           owner ? owner->name : "(no followed unit)", s->clients_per_unit_max, (int) pid);
                return;
        }

        /* A client that does not read holds at most this much of memqosd's
         * memory in the kernel (the least it takes, about 4.5 KiB: some 40
         * notices), besides its queue. */
        int sndbuf = 4096;
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

        c = calloc(1, sizeof(*c));
        if (!c)
                return;
        c->server = s;
        c->fd = -1;
        c->pid = pid;
        c->cgroup = TAKE_PTR(cgroup);
        c->bound_owner = strdup(owner_name);
        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        if (!c->bound_owner || sd_event_add_io(s->event, &c->source, fd, EPOLLIN, on_client_io, c) < 0) {
                client_free(c);
                return;
        }
        c->fd = TAKE_FD(fd);
        (void) sd_event_source_set_description(c->source, "memqosd-pressure-client");
        s->stats.accepted++;
        log_debug("Pressure socket: process %d of cgroup %s connected (%s).", (int) pid, c->cgroup,
                  owner ? owner->name : "no followed unit: it will hear nothing");
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata) {
        PressureServer *s = userdata;
        (void) sd_event_source_set_enabled(s->source, SD_EVENT_ON);
        return 0;
}

static int on_listen(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        PressureServer *s = userdata;

        for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
                int cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd >= 0) {
                        server_accept_one(s, cfd);
                        continue;
                }
                if (errno == EINTR || errno == ECONNABORTED)
                        continue;
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                        /* The backlog stays readable: wait instead of spinning. */
                        log_full(warn_level(s, WARN_ACCEPT), -errno, NULL, NULL, NULL, NULL,
                                 "Pressure socket: cannot accept connections now: %m");
                        (void) sd_event_source_set_enabled(s->source, SD_EVENT_OFF);
                        /* Coarse: fds come back as clients or units go, at no
                         * pace a sharper retry would catch. */
                        (void) event_timer_arm(s->event, &s->retry_source, ACCEPT_RETRY_USEC, EVENT_TIMER_COARSE_USEC,
                                               on_accept_retry, s, "memqosd-pressure-accept-retry");
                }
                break; /* EAGAIN: all taken */
        }
        return 0;
}

int pressure_server_new(sd_event *e, const char *path, bool v1, unsigned clients_max,
                        unsigned clients_per_unit_max, const PressureServerCallbacks *cb, void *userdata,
                        PressureServer **ret) {
        assert(e);
        assert(path);
        assert(cb);
        assert(ret);

        _cleanup_(pressure_server_freep) PressureServer *s = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->event = sd_event_ref(e);
        s->v1 = v1;
        s->clients_max = clients_max;
        s->clients_per_unit_max = clients_per_unit_max;
        s->cb = *cb;
        s->userdata = userdata;

        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return -errno;
        /* A socket left by a memqosd that did not stop cleanly: nobody
         * listens on it any more, the state directory is ours alone. */
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        /* Any local process may connect: what it hears is decided by its cgroup. */
        if (chmod(path, 0666) < 0)
                return -errno;
        if (listen(s->fd, SOMAXCONN) < 0)
                return -errno;

        r = sd_event_add_io(e, &s->source, s->fd, EPOLLIN, on_listen, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->source, "memqosd-pressure-listen");

        *ret = TAKE_PTR(s);
        return 0;
}

PressureServer *pressure_server_free(PressureServer *s) {
        if (!s)
                return NULL;
        s->cb.thresholds_changed = NULL; /* nobody to tell any more */
        while (s->clients)
                client_free(s->clients);
        sd_event_source_disable_unref(s->source);
        sd_event_source_disable_unref(s->retry_source);
        sd_event_source_disable_unref(s->settle_source);
        strv_free(s->settle_units);
        safe_close(s->fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void pressure_server_set_limits(PressureServer *s, unsigned clients_max, unsigned clients_per_unit_max) {
        assert(s);
        s->clients_max = clients_max;
        s->clients_per_unit_max = clients_per_unit_max;
}

/* Whether client c belongs to u: its cgroup is u's or below it, and no
 * deeper followed unit owns it. */
static bool client_of(PressureClient *c, Unit *u) {
        return !isempty_str(u->control_group) && cgroup_contains(u->control_group, c->cgroup) &&
               client_owner(c) == u;
}

static size_t client_thresholds(const PressureClient *c, uint64_t limit, uint64_t *ret) {
        size_t n = 0;
        threshold_resolve(c->request.thresholds, c->request.n_thresholds, limit, ret, &n);
        return n;
}

/* Queues line for c and sends what it can. false when c is gone (freed). */
static bool client_tell(PressureServer *s, PressureClient *c, Unit *u, const char *line, size_t len, size_t *told) {
        if (!outbuf_push(&c->out, line, len)) {
                s->stats.dropped++;
                warn_about(s, WARN_DROPPED, u, u ? NULL : c->cgroup,
                           "process %d does not read its notices; dropped one (%" PRIu64 " for it so far, %" PRIu64
                           " in all).",
                           (int) c->pid, c->out.dropped, s->stats.dropped);
                return true;
        }
        (*told)++;
        s->stats.notices++;
        if (client_flush(c))
                return true;
        client_free(c);
        return false;
}

size_t pressure_server_notify(PressureServer *s, Unit *u, const MemcgWatchEvent *ev, const uint64_t *unit_notice,
                              size_t n_unit_notice) {
        assert(u);
        assert(ev);

        char line[NOTICE_LINE_MAX];
        size_t told = 0, len = 0;

        if (!s)
                return 0;
        for (PressureClient *c = s->clients, *next; c; c = next) {
                uint64_t own[NOTICE_REQUEST_THRESHOLDS_MAX];
                size_t n_own;

                next = c->next;
                if (!client_of(c, u))
                        continue;
                n_own = client_thresholds(c, u->limit, own);
                if (!notice_is_wanted(unit_notice, n_unit_notice, own, n_own, ev->threshold, ev->direction))
                        continue;
                if (len == 0)
                        len = notice_format_line(line, sizeof(line), NOTICE_LEVEL_THRESHOLD, ev->usage, ev->limit,
                                                 ev->threshold, notice_wanted_bytes(ev->usage, ev->threshold));
                (void) client_tell(s, c, u, line, len, &told);
        }
        return told;
}

uint64_t pressure_server_new_round(PressureServer *s) {
        if (!s)
                return 0;
        if (++s->round == 0)
                s->round = 1;
        return s->round;
}

size_t pressure_server_tell(PressureServer *s, const char *cgroup, uint64_t round, const char *line, size_t len) {
        assert(cgroup);
        assert(line);

        size_t told = 0;

        if (!s)
                return 0;
        for (PressureClient *c = s->clients, *next; c; c = next) {
                next = c->next;
                if (!cgroup_contains(cgroup, c->cgroup) || (round != 0 && c->round == round))
                        continue;
                c->round = round;
                (void) client_tell(s, c, client_owner(c), line, len, &told);
        }
        return told;
}

void pressure_server_thresholds(PressureServer *s, Unit *u, uint64_t limit, uint64_t *ret, size_t *n, size_t max) {
        assert(u);
        assert(ret);
        assert(n);

        if (!s)
                return;
        for (PressureClient *c = s->clients; c; c = c->next) {
                uint64_t own[NOTICE_REQUEST_THRESHOLDS_MAX];
                size_t n_own;

                if (c->request.n_thresholds == 0 || !client_of(c, u))
                        continue;
                n_own = client_thresholds(c, limit, own);
                for (size_t i = 0; i < n_own && *n < max; i++)
                        ret[(*n)++] = own[i];
        }
}

const PressureServerStats *pressure_server_stats(const PressureServer *s) {
        assert(s);
        return &s->stats;
}

size_t pressure_server_n_clients(const PressureServer *s) {
        return s ? s->n_clients : 0;
}
