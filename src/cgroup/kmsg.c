/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/epoll.h>

#include "basic/util.h"
#include "cgroup/kmsg.h"

/* PRINTKRN_RECORD_MAX is 1024 (6.1) and 2048 (6.18) plus the header and the
 * dictionary: a read() with a smaller buffer fails with EINVAL. */
#define KMSG_READ_MAX 8192

static uint64_t parse_u64_prefix(const char **p, bool *ok) {
        uint64_t v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9') {
                *ok = false;
                return 0;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - 9) / 10) {
                        *ok = false;
                        return 0;
                }
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        return v;
}

int kmsg_record_parse(const char *buf, size_t len, KmsgRecord *ret) {
        const char *semicolon, *end, *p;
        char header[128];
        bool ok = true;
        KmsgRecord r = {};

        semicolon = memchr(buf, ';', len);
        if (!semicolon || (size_t) (semicolon - buf) >= sizeof(header))
                return -EINVAL;
        memcpy(header, buf, semicolon - buf);
        header[semicolon - buf] = 0;

        p = header;
        r.priority = (unsigned) parse_u64_prefix(&p, &ok);
        if (!ok || *p++ != ',')
                return -EINVAL;
        r.seq = parse_u64_prefix(&p, &ok);
        if (!ok || *p++ != ',')
                return -EINVAL;
        r.usec = parse_u64_prefix(&p, &ok);
        if (!ok || *p++ != ',')
                return -EINVAL;
        if (*p != '-' && *p != 'c')
                return -EINVAL;
        r.continuation = *p == 'c';
        p++;
        /* CONFIG_PRINTK_CALLER appends ",caller=T123"; later kernels may add more. */
        if (*p != 0 && *p != ',')
                return -EINVAL;

        r.message = semicolon + 1;
        end = memchr(r.message, '\n', len - (size_t) (r.message - buf));
        r.message_len = end ? (size_t) (end - r.message) : len - (size_t) (r.message - buf);

        *ret = r;
        return 0;
}

bool kmsg_record_from_kernel(const KmsgRecord *rec) {
        assert(rec);
        return rec->priority >> 3 == 0; /* LOG_KERN */
}

/* /dev/kmsg escapes control characters, bytes >= 127 and '\' as \xNN. */
static char *kmsg_unescape(const char *s, size_t len) {
        char *out = malloc(len + 1), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' &&
                    isxdigit((unsigned char) s[i + 2]) && isxdigit((unsigned char) s[i + 3])) {
                        char hex[3] = { s[i + 2], s[i + 3], 0 };

                        *o++ = (char) strtoul(hex, NULL, 16);
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* A cgroup path as the summary prints it: absolute, and without an escaped
 * NUL that would cut it short and blame another cgroup. -EINVAL otherwise. */
static int unescape_cgroup(const char *s, size_t len, char **ret) {
        _cleanup_free_ char *u = kmsg_unescape(s, len);

        if (!u)
                return -ENOMEM;
        if (u[0] != '/' || memmem(s, len, "\\x00", 4))
                return -EINVAL;
        *ret = TAKE_PTR(u);
        return 0;
}

static int copy_comm(char dest[static KMSG_COMM_MAX], const char *s, size_t len) {
        _cleanup_free_ char *u = kmsg_unescape(s, len);

        if (!u)
                return -ENOMEM;
        snprintf(dest, KMSG_COMM_MAX, "%s", u);
        return 0;
}

/* The last occurrence of needle in [s, s + len). */
static const char *memrmem(const char *s, size_t len, const char *needle) {
        size_t k = strlen(needle);

        if (k > len)
                return NULL;
        for (const char *p = s + len - k;; p--) {
                if (memcmp(p, needle, k) == 0)
                        return p;
                if (p == s)
                        return NULL;
        }
}

static bool parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *ret) {
        _cleanup_free_ char *t = strndup(s, len);
        const char *p = t;
        bool ok = true;
        uint64_t v;

        if (!t || len == 0)
                return false;
        v = parse_u64_prefix(&p, &ok);
        if (!ok || *p != 0 || v > max)
                return false;
        *ret = v;
        return true;
}

void kmsg_oom_summary_done(KmsgOomSummary *s) {
        assert(s);

        free(s->oom_memcg);
        free(s->task_memcg);
        s->oom_memcg = s->task_memcg = NULL;
}

#define OOM_SUMMARY_PREFIX "oom-kill:constraint="

int kmsg_parse_oom_summary(const char *msg, size_t len, KmsgOomSummary *ret) {
        _cleanup_(kmsg_oom_summary_done) KmsgOomSummary s = {};
        const char *end = msg + len, *constraint, *comma, *uid, *pid, *task, *task_memcg, *oom_memcg;
        uint64_t v;
        int r;

        if (len < strlen(OOM_SUMMARY_PREFIX) || memcmp(msg, OOM_SUMMARY_PREFIX, strlen(OOM_SUMMARY_PREFIX)) != 0)
                return -ENOMSG;

        constraint = msg + strlen(OOM_SUMMARY_PREFIX);
        comma = memchr(constraint, ',', (size_t) (end - constraint));
        if (!comma || (size_t) (comma - constraint) >= sizeof(s.constraint) || comma == constraint ||
            strspn(constraint, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") < (size_t) (comma - constraint))
                return -EINVAL;
        memcpy(s.constraint, constraint, comma - constraint);

        /* The comm and the cgroup paths are free text: anchor on the fixed
         * tail (",task=<comm>,pid=<n>,uid=<n>") from the right. */
        uid = memrmem(msg, len, ",uid=");
        if (!uid)
                return -EINVAL;
        if (!parse_decimal(uid + 5, (size_t) (end - uid - 5), UINT32_MAX, &v))
                return -EINVAL;
        s.uid = (uid_t) v;

        pid = memrmem(msg, (size_t) (uid - msg), ",pid=");
        if (!pid || !parse_decimal(pid + 5, (size_t) (uid - pid - 5), INT32_MAX, &v) || v == 0)
                return -EINVAL;
        s.pid = (pid_t) v;

        task = memrmem(msg, (size_t) (pid - msg), ",task=");
        if (!task)
                return -EINVAL;
        r = copy_comm(s.comm, task + 6, (size_t) (pid - task - 6));
        if (r < 0)
                return r;

        task_memcg = memrmem(msg, (size_t) (task - msg), ",task_memcg=");
        if (task_memcg) {
                r = unescape_cgroup(task_memcg + 12, (size_t) (task - task_memcg - 12), &s.task_memcg);
                if (r < 0)
                        return r;
        }

        oom_memcg = memmem(comma, (size_t) (task - comma), ",oom_memcg=", 11);
        if (oom_memcg) {
                const char *oom_end = task_memcg ?: task;

                if (oom_memcg > oom_end)
                        return -EINVAL;
                r = unescape_cgroup(oom_memcg + 11, (size_t) (oom_end - oom_memcg - 11), &s.oom_memcg);
                if (r < 0)
                        return r;
        }

        *ret = s;
        s = (KmsgOomSummary) {};
        return 0;
}

int kmsg_parse_oom_kill(const char *msg, size_t len, KmsgOomKill *ret) {
        static const char marker[] = ": Killed process ";
        _cleanup_free_ char *tail = NULL;
        const char *m, *p, *open, *close, *end = msg + len;
        KmsgOomKill k = { .oom_score_adj = 0 };
        uint64_t v;
        int n = 0, r;

        m = memmem(msg, len, marker, strlen(marker));
        if (!m)
                return -ENOMSG;
        k.memcg_oom = (size_t) (m - msg) >= strlen("Memory cgroup out of memory") &&
                      memcmp(msg, "Memory cgroup out of memory", strlen("Memory cgroup out of memory")) == 0;

        p = m + strlen(marker);
        open = memmem(p, (size_t) (end - p), " (", 2);
        if (!open || !parse_decimal(p, (size_t) (open - p), INT32_MAX, &v) || v == 0)
                return -EINVAL;
        k.pid = (pid_t) v;

        /* comm may hold ") ", so anchor on the last ") total-vm:". */
        close = memrmem(open, (size_t) (end - open), ") total-vm:");
        if (!close)
                return -EINVAL;
        r = copy_comm(k.comm, open + 2, (size_t) (close - open - 2));
        if (r < 0)
                return r;

        tail = strndup(close + 2, (size_t) (end - close - 2));
        if (!tail)
                return -ENOMEM;
        if (sscanf(tail, "total-vm:%" SCNu64 "kB, anon-rss:%" SCNu64 "kB, file-rss:%" SCNu64
                         "kB, shmem-rss:%" SCNu64 "kB%n",
                   &k.total_vm_kb, &k.anon_rss_kb, &k.file_rss_kb, &k.shmem_rss_kb, &n) != 4 || n == 0)
                return -EINVAL;
        /* UID:, pgtables: and oom_score_adj: came with 4.19..5.x; optional so
         * that a truncated tail still names the victim. */
        (void) sscanf(tail + n, ", UID:%u pgtables:%" SCNu64 "kB oom_score_adj:%d",
                      &k.uid, &k.pgtables_kb, &k.oom_score_adj);

        *ret = k;
        return 0;
}

void kmsg_oom_tracker_init(KmsgOomTracker *t, kmsg_oom_handler_t handler, void *userdata) {
        *t = (KmsgOomTracker) { .handler = handler, .userdata = userdata };
}

void kmsg_oom_tracker_reset(KmsgOomTracker *t) {
        assert(t);

        free(t->pending);
        t->pending = NULL;
        t->pending_len = 0;
}

void kmsg_oom_tracker_done(KmsgOomTracker *t) {
        kmsg_oom_tracker_reset(t);
}

static int tracker_set_pending(KmsgOomTracker *t, const char *msg, size_t len, bool append) {
        char *n;

        if (!append)
                kmsg_oom_tracker_reset(t);
        n = realloc(t->pending, t->pending_len + len + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + t->pending_len, msg, len);
        t->pending = n;
        t->pending_len += len;
        t->pending[t->pending_len] = 0;
        return 0;
}

static bool summary_complete(const KmsgOomTracker *t) {
        return t->pending && memrmem(t->pending, t->pending_len, ",uid=");
}

static void tracker_deliver(KmsgOomTracker *t, const KmsgRecord *rec, const KmsgOomKill *k) {
        _cleanup_(kmsg_oom_summary_done) KmsgOomSummary s = {};
        bool have_summary = false;
        KmsgOomReport report = {
                .seq = rec->seq,
                .usec = rec->usec,
                .pid = k->pid,
                .comm = k->comm,
                .memcg_oom = k->memcg_oom,
                .total_vm_kb = k->total_vm_kb,
                .anon_rss_kb = k->anon_rss_kb,
                .file_rss_kb = k->file_rss_kb,
                .shmem_rss_kb = k->shmem_rss_kb,
                .pgtables_kb = k->pgtables_kb,
                .uid = k->uid,
                .oom_score_adj = k->oom_score_adj,
        };

        if (t->pending && kmsg_parse_oom_summary(t->pending, t->pending_len, &s) >= 0 && s.pid == k->pid)
                have_summary = true;
        if (have_summary) {
                report.constraint = s.constraint;
                report.oom_memcg = s.oom_memcg;
                report.task_memcg = s.task_memcg;
        }
        kmsg_oom_tracker_reset(t);

        if (t->handler)
                t->handler(&report, t->userdata);
}

int kmsg_oom_tracker_feed(KmsgOomTracker *t, const char *buf, size_t len) {
        KmsgOomKill k;
        KmsgRecord rec;
        int r;

        if (kmsg_record_parse(buf, len, &rec) < 0)
                return 0;
        /* Only the kernel's own records: a write to /dev/kmsg from
         * userspace is stored with LOG_USER, or with the facility its
         * "<N>" prefix names, but never with facility 0 (devkmsg_write()). */
        if (!kmsg_record_from_kernel(&rec))
                return 0;

        if (rec.message_len >= strlen(OOM_SUMMARY_PREFIX) &&
            memcmp(rec.message, OOM_SUMMARY_PREFIX, strlen(OOM_SUMMARY_PREFIX)) == 0) {
                r = tracker_set_pending(t, rec.message, rec.message_len, false);
                return r < 0 ? r : 0;
        }

        /* A pr_cont() that could not join its record arrives as a record of
         * its own flagged 'c': glue it back while the summary lacks its tail. */
        if (rec.continuation && t->pending && !summary_complete(t)) {
                r = tracker_set_pending(t, rec.message, rec.message_len, true);
                return r < 0 ? r : 0;
        }

        if (kmsg_parse_oom_kill(rec.message, rec.message_len, &k) < 0)
                return 0;

        tracker_deliver(t, &rec, &k);
        return 1;
}

struct KmsgReader {
        int fd;
        sd_event_source *source;
        KmsgOomTracker tracker;
        uint64_t overruns;
};

static int kmsg_reader_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        KmsgReader *kr = userdata;
        char buf[KMSG_READ_MAX];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EPIPE) {
                                /* The ring buffer overran us: the next read
                                 * gives the oldest record still there. A
                                 * half-seen summary is worthless now. */
                                kr->overruns++;
                                kmsg_oom_tracker_reset(&kr->tracker);
                                continue;
                        }
                        if (errno == EAGAIN)
                                return 0; /* drained */
                        /* Anything else would repeat on every wake-up of a
                         * level-triggered fd: sd-event disables the source. */
                        return -errno;
                }
                if (n == 0)
                        return 0;

                (void) kmsg_oom_tracker_feed(&kr->tracker, buf, (size_t) n);
        }
}

int kmsg_reader_new(sd_event *e, const char *path, kmsg_oom_handler_t handler, void *userdata,
                    KmsgReader **ret) {
        _cleanup_(kmsg_reader_freep) KmsgReader *kr = NULL;
        int r;

        kr = calloc(1, sizeof(KmsgReader));
        if (!kr)
                return -ENOMEM;
        kr->fd = -1;
        kmsg_oom_tracker_init(&kr->tracker, handler, userdata);

        kr->fd = open(path ?: "/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (kr->fd < 0)
                return -errno;
        /* Only OOMs from now on: the ones already in the buffer were
         * reported by the previous instance, or are history. */
        if (lseek(kr->fd, 0, SEEK_END) < 0)
                return -errno;

        r = sd_event_add_io(e, &kr->source, kr->fd, EPOLLIN, kmsg_reader_on_io, kr);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(kr->source, "kmsg");

        *ret = TAKE_PTR(kr);
        return 0;
}

KmsgReader *kmsg_reader_free(KmsgReader *kr) {
        if (!kr)
                return NULL;

        sd_event_source_disable_unref(kr->source);
        if (kr->fd >= 0)
                close(kr->fd);
        kmsg_oom_tracker_done(&kr->tracker);
        free(kr);
        return NULL;
}

uint64_t kmsg_reader_overruns(const KmsgReader *kr) {
        return kr->overruns;
}
