/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * notice-latency: how long memqosd's pressure-socket notice (issue #15,
 * memqos-pressure(7)) takes from the usage crossing to the client, measured
 * beside memqosd, not by it (bench/notice-latency-host runs it).
 *
 * Start it inside the cgroup v1 memory cgroup DIR that memqosd follows (it
 * does not join one: its pages and its socket's identity must be DIR's):
 *
 *   notice-latency --socket PATH --cgroup DIR --threshold BYTES
 *                  [--crossings N] [--over MB] [--settle-ms MS] [--register] [--each]
 *
 * One process in DIR, three threads:
 *   - the client: connected to PATH (writes "threshold BYTES\n" first with
 *     --register, else DIR's NoticeThresholds= must hold BYTES); takes
 *     CLOCK_MONOTONIC when poll() returns POLLIN, as sd_event would before
 *     it calls the service's callback, then reads the line;
 *   - the allocator (main): N times maps BYTES - usage + OVER (default 4 MB)
 *     of anonymous memory and touches every page, so usage crosses BYTES
 *     upward once; waits for the notice (2 s at most), unmaps, waits for the
 *     kernel's downward signal, sleeps MS (default 20: memqosd must see usage
 *     below before the next crossing), repeats;
 *   - a waiter, blocked in poll() on a second eventfd like memqosd's own.
 * The kernel's own notification: two eventfds registered here on DIR's
 * memory.usage_in_bytes at BYTES through cgroup.event_control, the mechanism
 * memqosd's v1 watch uses; one kernel call, in the allocator's own page
 * fault, signals them and memqosd's. Times taken:
 *   touch   right after the touch that put usage_in_bytes at or over BYTES
 *           (from 512 pages before the estimated crossing, usage is read
 *           after each touch: the kernel compares page_counter, charged in
 *           per-CPU batches of 64 pages);
 *   signal  right after the touch after which the first eventfd, read by
 *           the allocator itself after each touch from that point, holds a
 *           count (the kernel checks thresholds every 128 page events per
 *           CPU, so some pages after the crossing);
 *   wakeup  when the waiter's poll() on the second eventfd returned;
 *   kernel  the earlier of signal and wakeup: when the bench first saw the
 *           kernel's notification (each of the two can be late: the
 *           allocator may be preempted by the tasks its fault woke, memqosd
 *           among them; the waiter may wait for a CPU, as memqosd may);
 *   client  as above.
 * One round before the N is a warm-up (10 s to hear: memqosd may still be
 * arming its watch) and is not counted.
 *
 * Prints (microseconds; nearest-rank percentiles; --each also one line per
 * crossing first):
 *   crossings=N heard=H missed_client=M missed_kernel=K touch_unknown=U late=L
 *   client_minus_kernel_us n= p50= p90= p99= max= min=   memqosd's part (and the client's wake-up)
 *   client_minus_touch_us n= p50= p90= p99= max= min=    from the crossing touch to the client
 *   kernel_minus_touch_us n= p50= p90= p99= max= min=    the kernel's own delay
 *   waiter_minus_kernel_us n= p50= p90= p99= max= min=   a woken thread's delay here, now
 * (late: notices that came after their round had given up, or for no round.)
 * Exit status: 0 done, 1 set-up failed or nothing heard in the warm-up,
 * 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#define PAGE 4096UL
/* Usage is read after every touch from this many pages before the estimated
 * crossing: the estimate is off by the per-CPU charge batch (64 pages). */
#define WINDOW_PAGES 512UL
#define WAIT_NS (2ULL * 1000000000ULL)
#define WARMUP_WAIT_NS (10ULL * 1000000000ULL)

typedef enum Phase {
        PHASE_IDLE,
        PHASE_UP,   /* the allocator is crossing upward in round `round` */
        PHASE_DOWN, /* it unmapped: the kernel's downward signal is due */
} Phase;

/* Per round; 0: not (yet) seen. */
typedef struct Round {
        uint64_t touch_ns, signal_ns, wakeup_ns, client_ns;
} Round;

typedef struct Shared {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Phase phase;
        size_t round;
        Round *rounds;
        bool client_closed, stop;
        /* What the waiter's eventfd counted: 2 a round (up, down), so a late
         * wake-up is not taken for the next round's. */
        uint64_t waiter_signals;
        unsigned long late;
        int signal_efd, wakeup_efd, sock, usage_fd;
} Shared;

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static int read_usage(int fd, uint64_t *ret) {
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

        if (n <= 0)
                return -1;
        buf[n] = 0;
        *ret = strtoull(buf, NULL, 10);
        return 0;
}

/* Whether the (non-blocking) eventfd was signalled; resets it. */
static bool eventfd_taken(int efd) {
        uint64_t count;

        return read(efd, &count, sizeof(count)) == sizeof(count) && count > 0;
}

/* Poll fd for POLLIN until s->stop; the clock is taken as poll returns. */
static bool wait_readable(Shared *s, int fd, uint64_t *t) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                bool stop;

                pthread_mutex_lock(&s->lock);
                stop = s->stop;
                pthread_mutex_unlock(&s->lock);
                if (stop)
                        return false;
                if (poll(&p, 1, 100) == 1) {
                        *t = now_ns();
                        return true;
                }
        }
}

static void *waiter_thread(void *userdata) {
        Shared *s = userdata;
        uint64_t t, count;

        while (wait_readable(s, s->wakeup_efd, &t)) {
                if (read(s->wakeup_efd, &count, sizeof(count)) != sizeof(count))
                        continue;
                pthread_mutex_lock(&s->lock);
                s->waiter_signals += count;
                /* The first signal of this round, and only that: its upward one. */
                if (s->phase == PHASE_UP && s->waiter_signals == 2 * s->round + 1)
                        s->rounds[s->round].wakeup_ns = t;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
        }
        return NULL;
}

static void *client_thread(void *userdata) {
        Shared *s = userdata;
        char buf[4096];
        uint64_t t;

        while (wait_readable(s, s->sock, &t)) {
                ssize_t n = read(s->sock, buf, sizeof(buf));

                pthread_mutex_lock(&s->lock);
                if (n <= 0)
                        s->client_closed = true;
                else if (s->phase == PHASE_UP && s->rounds[s->round].client_ns == 0)
                        s->rounds[s->round].client_ns = t;
                else
                        s->late++;
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                if (n <= 0)
                        return NULL;
        }
        return NULL;
}

static bool notice_heard(const Shared *s) {
        return s->rounds[s->round].client_ns != 0;
}

static bool waiter_down(const Shared *s) {
        return s->waiter_signals >= 2 * (s->round + 1);
}

/* Waits until done(s), memqosd closed, or the time ran out. */
static void wait_until(Shared *s, bool (*done)(const Shared *), uint64_t timeout_ns) {
        uint64_t deadline = now_ns() + timeout_ns;
        struct timespec ts;

        pthread_mutex_lock(&s->lock);
        while (!done(s) && !s->client_closed && now_ns() < deadline) {
                /* pthread_cond_timedwait takes CLOCK_REALTIME: wait in short steps. */
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        }
        pthread_mutex_unlock(&s->lock);
}

static void set_phase(Shared *s, Phase phase, size_t round) {
        pthread_mutex_lock(&s->lock);
        s->phase = phase;
        s->round = round;
        pthread_mutex_unlock(&s->lock);
}

/* One upward crossing and back below. */
static int cross_once(Shared *s, size_t round, uint64_t threshold, uint64_t over) {
        Round *r = &s->rounds[round];
        uint64_t usage0, usage, t, touch_ns = 0, signal_ns = 0;
        size_t pages, cross_page, window;
        bool crossed = false, signalled = false;
        char *mem;

        if (read_usage(s->usage_fd, &usage0) < 0) {
                perror("notice-latency: memory.usage_in_bytes");
                return -1;
        }
        if (usage0 >= threshold) {
                fprintf(stderr, "notice-latency: usage %" PRIu64 " is already at or over the threshold %" PRIu64 "\n",
                        usage0, threshold);
                return -1;
        }
        cross_page = (threshold - usage0 + PAGE - 1) / PAGE;
        pages = cross_page + (over + PAGE - 1) / PAGE;
        window = cross_page > WINDOW_PAGES ? cross_page - WINDOW_PAGES : 0;
        mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) {
                perror("notice-latency: mmap");
                return -1;
        }
        /* Page by page, as the estimate assumes (no 2 MB faults). */
        (void) madvise(mem, pages * PAGE, MADV_NOHUGEPAGE);
        (void) eventfd_taken(s->signal_efd); /* the last round's downward signal, if still there */

        set_phase(s, PHASE_UP, round);
        for (size_t p = 0; p < pages; p++) {
                mem[p * PAGE] = 1;
                if (p < window || signalled)
                        continue;
                t = now_ns();
                if (!signalled && eventfd_taken(s->signal_efd)) {
                        signalled = true;
                        signal_ns = t;
                }
                if (!crossed && read_usage(s->usage_fd, &usage) == 0 && usage >= threshold) {
                        crossed = true;
                        /* Over at the window's first read: the crossing came before it. */
                        if (p > window)
                                touch_ns = t;
                }
        }
        wait_until(s, notice_heard, round == 0 ? WARMUP_WAIT_NS : WAIT_NS);

        munmap(mem, pages * PAGE);
        set_phase(s, PHASE_DOWN, round);
        pthread_mutex_lock(&s->lock);
        r->touch_ns = touch_ns;
        r->signal_ns = signal_ns;
        pthread_mutex_unlock(&s->lock);

        /* The kernel's downward signal: usage is below again; and the waiter
         * took it too, or it would count it for the next round. */
        struct pollfd p = { .fd = s->signal_efd, .events = POLLIN };
        if (poll(&p, 1, (int) (WAIT_NS / 1000000)) == 1)
                (void) eventfd_taken(s->signal_efd);
        wait_until(s, waiter_down, WAIT_NS);
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

static double rank(const double *sorted, size_t n, double q) {
        size_t r = (size_t) ceil(q * (double) n);

        return sorted[(r < 1 ? 1 : r) - 1];
}

typedef struct Series {
        const char *name;
        double *v;
        size_t n;
} Series;

/* later - earlier in microseconds, or NAN when either was not seen. */
static double diff_us(uint64_t later, uint64_t earlier) {
        return later && earlier ? ((double) later - (double) earlier) / 1e3 : NAN;
}

static void series_add(Series *s, double v) {
        if (!isnan(v))
                s->v[s->n++] = v;
}

/* Sorts the values in place and prints one summary line. */
static void series_print(Series *s) {
        if (s->n == 0) {
                printf("%s n=0\n", s->name);
                return;
        }
        qsort(s->v, s->n, sizeof(double), cmp_double);
        printf("%s n=%zu p50=%.1f p90=%.1f p99=%.1f max=%.1f min=%.1f\n", s->name, s->n, rank(s->v, s->n, 0.50),
               rank(s->v, s->n, 0.90), rank(s->v, s->n, 0.99), s->v[s->n - 1], s->v[0]);
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* The kernel's own threshold notification on DIR: a non-blocking eventfd, or -1. */
static int register_threshold(const char *dir, uint64_t threshold) {
        char path[4096], line[96];
        int efd, usage_fd, control, n, r = -1;

        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
        usage_fd = open(path, O_RDONLY | O_CLOEXEC);
        snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
        control = open(path, O_WRONLY | O_CLOEXEC);
        if (efd >= 0 && usage_fd >= 0 && control >= 0) {
                n = snprintf(line, sizeof(line), "%d %d %" PRIu64, efd, usage_fd, threshold);
                r = write(control, line, (size_t) n) == n ? 0 : -1;
        }
        if (usage_fd >= 0)
                close(usage_fd);
        if (control >= 0)
                close(control);
        if (r < 0 && efd >= 0) {
                close(efd);
                efd = -1;
        }
        return efd;
}

static void usage(FILE *f) {
        fprintf(f, "usage: notice-latency --socket PATH --cgroup DIR --threshold BYTES\n"
                   "                      [--crossings N] [--over MB] [--settle-ms MS] [--register] [--each]\n");
}

/* The kernel's signal as the bench first saw it: the earlier of the
 * allocator's own sight and the waiter's wake-up (each can come late: the
 * allocator may be preempted by the tasks its fault woke, the waiter may wait
 * for a CPU). */
static uint64_t kernel_ns(const Round *r) {
        if (r->signal_ns == 0 || r->wakeup_ns == 0)
                return r->signal_ns ?: r->wakeup_ns;
        return r->signal_ns < r->wakeup_ns ? r->signal_ns : r->wakeup_ns;
}

static void print_results(const Shared *s, unsigned long crossings, bool each) {
        Series client_kernel = { "client_minus_kernel_us" }, client_touch = { "client_minus_touch_us" },
               kernel_touch = { "kernel_minus_touch_us" }, waiter_kernel = { "waiter_minus_kernel_us" };
        Series *all[] = { &client_kernel, &client_touch, &kernel_touch, &waiter_kernel };
        unsigned long heard = 0, missed_client = 0, missed_kernel = 0, touch_unknown = 0;

        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
                all[k]->v = calloc(crossings, sizeof(double));
                if (!all[k]->v) {
                        perror("notice-latency: calloc");
                        exit(1);
                }
        }
        for (size_t i = 1; i <= crossings; i++) {
                const Round *r = &s->rounds[i];
                uint64_t k = kernel_ns(r);
                double ck = diff_us(r->client_ns, k), ct = diff_us(r->client_ns, r->touch_ns),
                       kt = diff_us(k, r->touch_ns), wk = diff_us(r->wakeup_ns, k);

                heard += r->client_ns != 0;
                missed_client += r->client_ns == 0;
                missed_kernel += k == 0;
                touch_unknown += r->touch_ns == 0;
                series_add(&client_kernel, ck);
                series_add(&client_touch, ct);
                series_add(&kernel_touch, kt);
                series_add(&waiter_kernel, wk);
                if (each)
                        printf("crossing=%zu client_minus_kernel_us=%.1f client_minus_touch_us=%.1f "
                               "kernel_minus_touch_us=%.1f waiter_minus_kernel_us=%.1f allocator_saw=%s\n", i, ck, ct,
                               kt, wk, r->signal_ns && r->signal_ns == k ? "first" : "later");
        }
        printf("crossings=%lu heard=%lu missed_client=%lu missed_kernel=%lu touch_unknown=%lu late=%lu\n", crossings,
               heard, missed_client, missed_kernel, touch_unknown, s->late);
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
                series_print(all[k]);
                free(all[k]->v);
        }
}

int main(int argc, char *argv[]) {
        enum { ARG_SOCKET = 256, ARG_CGROUP, ARG_THRESHOLD, ARG_CROSSINGS, ARG_OVER, ARG_SETTLE, ARG_REGISTER, ARG_EACH };
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "cgroup", required_argument, NULL, ARG_CGROUP },
                { "threshold", required_argument, NULL, ARG_THRESHOLD },
                { "crossings", required_argument, NULL, ARG_CROSSINGS },
                { "over", required_argument, NULL, ARG_OVER },
                { "settle-ms", required_argument, NULL, ARG_SETTLE },
                { "register", no_argument, NULL, ARG_REGISTER },
                { "each", no_argument, NULL, ARG_EACH },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *socket_path = NULL, *dir = NULL;
        unsigned long threshold = 0, crossings = 300, over_mb = 4, settle_ms = 20;
        bool registering = false, each = false;
        Shared s = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        pthread_t waiter, client;
        char path[4096];
        int c, r = 0;

        /* The numeric options: whole numbers, at least min. */
        const struct {
                int option;
                unsigned long *value, min;
        } numbers[] = {
                { ARG_THRESHOLD, &threshold, 1 },
                { ARG_CROSSINGS, &crossings, 1 },
                { ARG_OVER, &over_mb, 1 },
                { ARG_SETTLE, &settle_ms, 0 },
        };

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                bool number = false;

                for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
                        if (numbers[i].option != c)
                                continue;
                        if (!parse_ulong(optarg, numbers[i].value) || *numbers[i].value < numbers[i].min)
                                goto bad;
                        number = true;
                }
                if (number)
                        continue;
                if (c == ARG_SOCKET)
                        socket_path = optarg;
                else if (c == ARG_CGROUP)
                        dir = optarg;
                else if (c == ARG_REGISTER)
                        registering = true;
                else if (c == ARG_EACH)
                        each = true;
                else if (c == 'h') {
                        usage(stdout);
                        return 0;
                } else
                        goto bad;
        }
        if (!socket_path || !dir || threshold == 0 || optind != argc)
                goto bad;

        snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", dir);
        s.usage_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s.usage_fd < 0) {
                fprintf(stderr, "notice-latency: %s: %s\n", path, strerror(errno));
                return 1;
        }
        s.signal_efd = register_threshold(dir, threshold);
        s.wakeup_efd = register_threshold(dir, threshold);
        if (s.signal_efd < 0 || s.wakeup_efd < 0) {
                fprintf(stderr, "notice-latency: cannot register a threshold on %s: %s\n", dir, strerror(errno));
                return 1;
        }
        s.sock = connect_to(socket_path);
        if (s.sock < 0) {
                fprintf(stderr, "notice-latency: connect %s: %s\n", socket_path, strerror(errno));
                return 1;
        }
        if (registering) {
                char line[64];
                int n = snprintf(line, sizeof(line), "threshold %lu\n", threshold);

                if (write(s.sock, line, (size_t) n) != n) {
                        perror("notice-latency: write");
                        return 1;
                }
                /* memqosd's watch follows the clients' registrations within a second. */
                sleep_ms(1500);
        }

        /* Round 0 is the warm-up. */
        s.rounds = calloc(crossings + 1, sizeof(Round));
        if (!s.rounds) {
                perror("notice-latency: calloc");
                return 1;
        }
        if (pthread_create(&waiter, NULL, waiter_thread, &s) != 0 ||
            pthread_create(&client, NULL, client_thread, &s) != 0) {
                fprintf(stderr, "notice-latency: cannot start the threads\n");
                return 1;
        }

        for (size_t i = 0; i <= crossings && r == 0; i++) {
                r = cross_once(&s, i, threshold, over_mb * MIB);
                pthread_mutex_lock(&s.lock);
                if (r == 0 && i == 0 && s.rounds[0].client_ns == 0) {
                        fprintf(stderr, "notice-latency: no notice in the warm-up round: is %s followed, with a "
                                        "NoticeThresholds= of %lu (or --register)?\n", dir, threshold);
                        r = -1;
                }
                if (s.client_closed) {
                        fprintf(stderr, "notice-latency: memqosd closed the connection\n");
                        r = -1;
                }
                pthread_mutex_unlock(&s.lock);
                sleep_ms((double) settle_ms);
        }
        pthread_mutex_lock(&s.lock);
        s.phase = PHASE_IDLE;
        s.stop = true;
        pthread_mutex_unlock(&s.lock);
        pthread_join(waiter, NULL);
        pthread_join(client, NULL);
        if (r < 0)
                return 1;
        print_results(&s, crossings, each);
        return 0;
bad:
        usage(stderr);
        return 2;
}
