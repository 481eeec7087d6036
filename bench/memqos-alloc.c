/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memqos-alloc: the anonymous-memory workloads of the colocation benchmarks
 * (bench/README.md) and of the tests that need a real allocator.
 *
 * It does not join a cgroup itself: start it in one (write the shell's pid to
 * cgroup.procs, then exec it), so that every page it touches is charged there.
 *
 *   memqos-alloc --size MB --repeat N [--interval-ms MS] [--each]
 *       "online" allocator: N times sleep MS (default 0), mmap SIZE MB of
 *       private anonymous memory, memset every byte (so every page faults in
 *       and is charged), then munmap. The latency of one round is mmap + touch
 *       (munmap not included). --each also prints "alloc=I ms=X cpu_ms=X" per
 *       round. Prints one line:
 *         mode=repeat size_mb=S n=N mean_ms=X p50_ms=X p95_ms=X max_ms=X min_ms=X
 *                     cpu_mean_ms=X cpu_max_ms=X
 *       (cpu_*: the CPU time of a round: faults and the reclaim they did,
 *       without the time spent waiting for a CPU or for I/O)
 *
 *   memqos-alloc --loop --size MB --duration SEC [--interval-ms MS]
 *                [--grow MB --grow-max MB]
 *       sysbench-like: the same round over and over for SEC seconds.
 *       --grow: each round also maps and touches GROW MB that it keeps, until
 *       GROW_MAX MB are kept: a working set that grows while the service
 *       runs (the time of a round includes that touch); SEC then counts from
 *       when GROW_MAX is reached, so that a slow machine still gets there.
 *       Prints:
 *         mode=loop size_mb=S ops=N kept_mb=K mean_ms=X p50_ms=X p95_ms=X max_ms=X min_ms=X
 *                   max_round=I max_kept_mb=K
 *       (the slowest round: its number, from 1, and the working set kept
 *       after it, which tells whether it was the round that met the limit)
 *
 *   memqos-alloc --hold MB [--cache MB [--notify SOCKET] [--refill-ms MS]]
 *       "offline" anonymous hog: mmap and touch MB, print "ready" (flushed),
 *       then sleep until killed.
 *       --cache: an offline application with a droppable cache: CACHE MB
 *       more, mapped and touched apart from the MB it needs. --notify: it
 *       connects to memqosd's pressure socket (memqos-pressure(7)) and, on a
 *       notice of level reclaim or kill while it holds its cache, unmaps the
 *       cache and prints "dropped level=L bytes=N total=N" (total: all it
 *       dropped so far); other lines are read and ignored. --refill-ms: the
 *       cache is rebuilt MS ms after a drop ("refilled bytes=N"), as a cache
 *       that warms up again; without it, it stays dropped. A socket that
 *       closes prints "closed" and the application holds on. Without
 *       --notify the cache is held like the rest (nobody tells it anything).
 *
 * p50 and p95 are nearest-rank percentiles (with 10 samples p95 is the
 * maximum).
 * Exit status: 0 done, 1 mmap failed, 2 usage error. A process the OOM killer
 * or memqosd picked dies of SIGKILL and prints nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

static double cpu_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One round: map, touch every byte, unmap. Returns the time of map + touch
 * in ms, or a negative number when mmap failed; *cpu (when not NULL) gets
 * the CPU time this thread spent in it (page faults, and the reclaim they
 * did), which other load on the machine does not inflate. */
static double one_round(size_t bytes, double *cpu) {
        double start = now_ms(), cpu_start = cpu_ms(), t;
        char *p;

        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -1;
        /* a non-zero byte: the pages must really be written, not the zero page */
        memset(p, 0x5a, bytes);
        t = now_ms() - start;
        if (cpu)
                *cpu = cpu_ms() - cpu_start;
        munmap(p, bytes);
        return t;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Sorts v in place and prints " mean_ms= p50_ms= p95_ms= max_ms= min_ms=". */
static void print_stats(double *v, size_t n) {
        double sum = 0;
        size_t rank;

        if (n == 0) {
                printf(" mean_ms=0 p50_ms=0 p95_ms=0 max_ms=0 min_ms=0");
                return;
        }
        for (size_t i = 0; i < n; i++)
                sum += v[i];
        qsort(v, n, sizeof(*v), cmp_double);
        rank = (size_t) ceil(0.95 * (double) n);
        if (rank < 1)
                rank = 1;
        printf(" mean_ms=%.2f p50_ms=%.2f p95_ms=%.2f max_ms=%.2f min_ms=%.2f",
               sum / (double) n, v[(n + 1) / 2 - 1], v[rank - 1], v[n - 1], v[0]);
}

static int do_repeat(size_t bytes, unsigned long size_mb, unsigned long repeat,
                     unsigned interval_ms, bool each) {
        double *lat, cpu, cpu_sum = 0, cpu_max = 0;

        lat = calloc(repeat ? repeat : 1, sizeof(*lat));
        if (!lat) {
                perror("memqos-alloc: calloc");
                return 1;
        }
        for (unsigned long i = 0; i < repeat; i++) {
                if (interval_ms)
                        sleep_ms(interval_ms);
                lat[i] = one_round(bytes, &cpu);
                if (lat[i] < 0) {
                        perror("memqos-alloc: mmap");
                        free(lat);
                        return 1;
                }
                cpu_sum += cpu;
                if (cpu > cpu_max)
                        cpu_max = cpu;
                if (each) {
                        printf("alloc=%lu ms=%.2f cpu_ms=%.2f\n", i + 1, lat[i], cpu);
                        fflush(stdout);
                }
        }
        printf("mode=repeat size_mb=%lu n=%lu", size_mb, repeat);
        print_stats(lat, repeat);
        printf(" cpu_mean_ms=%.2f cpu_max_ms=%.2f\n", cpu_sum / (double) repeat, cpu_max);
        free(lat);
        return 0;
}

/* Maps and touches bytes that stay mapped until exit; time in ms or < 0. */
static double grow_round(size_t bytes) {
        double start = now_ms();
        char *p;

        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return -1;
        memset(p, 0x3c, bytes);
        return now_ms() - start;
}

static int do_loop(size_t bytes, unsigned long size_mb, double duration_s, unsigned interval_ms,
                   unsigned long grow_mb, unsigned long grow_max_mb) {
        unsigned long kept_mb = 0, max_kept_mb = 0;
        size_t n = 0, cap = 1024, max_round = 0;
        double *lat, end, max = -1;

        lat = malloc(cap * sizeof(*lat));
        if (!lat) {
                perror("memqos-alloc: malloc");
                return 1;
        }
        end = now_ms() + duration_s * 1e3;
        while (now_ms() < end || (grow_mb && kept_mb + grow_mb <= grow_max_mb)) {
                double t;

                if (n == cap) {
                        double *bigger = realloc(lat, 2 * cap * sizeof(*lat));

                        if (!bigger) {
                                perror("memqos-alloc: realloc");
                                free(lat);
                                return 1;
                        }
                        lat = bigger;
                        cap *= 2;
                }
                t = one_round(bytes, NULL);
                if (t >= 0 && grow_mb && kept_mb + grow_mb <= grow_max_mb) {
                        double g = grow_round(grow_mb * MIB);

                        t = g < 0 ? g : t + g;
                        kept_mb += grow_mb;
                        if (kept_mb + grow_mb > grow_max_mb)
                                end = now_ms() + duration_s * 1e3;
                }
                if (t < 0) {
                        perror("memqos-alloc: mmap");
                        free(lat);
                        return 1;
                }
                lat[n++] = t;
                if (t > max) {
                        max = t;
                        max_round = n;
                        max_kept_mb = kept_mb;
                }
                if (interval_ms)
                        sleep_ms(interval_ms);
        }
        printf("mode=loop size_mb=%lu ops=%zu kept_mb=%lu", size_mb, n, kept_mb);
        print_stats(lat, n);
        printf(" max_round=%zu max_kept_mb=%lu\n", max_round, max_kept_mb);
        free(lat);
        return 0;
}

/* Maps and touches bytes of anonymous memory; NULL when mmap failed. */
static char *map_touched(size_t bytes, int byte) {
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (p == MAP_FAILED) {
                perror("memqos-alloc: mmap");
                return NULL;
        }
        memset(p, byte, bytes);
        return p;
}

static int connect_unix(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "memqos-alloc: socket path too long: %s\n", path);
                return -1;
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "memqos-alloc: connect %s: %s\n", path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

/* Whether what was read holds a notice the application acts on: memqosd's
 * reclaim is coming, or it is next to be killed. (A notice never spans two
 * reads of 4 KiB in practice: a line is under 120 bytes; one cut in two is
 * missed, and the next notice is heard.) */
static bool notice_wants_memory(const char *buf) {
        return strstr(buf, "level=reclaim") || strstr(buf, "level=kill");
}

static int do_hold(size_t bytes, size_t cache_bytes, const char *socket_path, unsigned long refill_ms) {
        unsigned long long total = 0;
        double refill_at = -1;
        char *cache = NULL;
        int fd = -1;

        if (!map_touched(bytes, 0xa5))
                return 1;
        if (cache_bytes && !(cache = map_touched(cache_bytes, 0xc4)))
                return 1;
        if (socket_path && (fd = connect_unix(socket_path)) < 0)
                return 1;
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int timeout = -1;
                char buf[4096];
                ssize_t n;

                if (refill_at >= 0)
                        timeout = refill_at > now_ms() ? (int) (refill_at - now_ms()) + 1 : 0;
                if (poll(&p, fd >= 0 ? 1 : 0, timeout) < 0 && errno != EINTR)
                        return 1;
                if (refill_at >= 0 && now_ms() >= refill_at) {
                        cache = map_touched(cache_bytes, 0xc4);
                        if (!cache)
                                return 1;
                        refill_at = -1;
                        printf("refilled bytes=%zu\n", cache_bytes);
                        fflush(stdout);
                }
                if (fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = read(fd, buf, sizeof(buf) - 1);
                if (n <= 0) {
                        printf("closed\n");
                        fflush(stdout);
                        close(fd);
                        fd = -1;
                        continue;
                }
                buf[n] = '\0';
                if (cache && notice_wants_memory(buf)) {
                        munmap(cache, cache_bytes);
                        cache = NULL;
                        total += cache_bytes;
                        printf("dropped level=%s bytes=%zu total=%llu\n",
                               strstr(buf, "level=kill") ? "kill" : "reclaim", cache_bytes, total);
                        fflush(stdout);
                        if (refill_ms)
                                refill_at = now_ms() + (double) refill_ms;
                }
        }
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: memqos-alloc --size MB --repeat N [--interval-ms MS] [--each]\n"
                "       memqos-alloc --loop --size MB --duration SEC [--interval-ms MS]\n"
                "                    [--grow MB --grow-max MB]\n"
                "       memqos-alloc --hold MB [--cache MB [--notify SOCKET] [--refill-ms MS]]\n");
}

int main(int argc, char **argv) {
        enum { ARG_INTERVAL = 0x100, ARG_EACH, ARG_GROW, ARG_GROW_MAX, ARG_CACHE, ARG_NOTIFY, ARG_REFILL };
        static const struct option options[] = {
                { "size", required_argument, NULL, 's' },
                { "repeat", required_argument, NULL, 'r' },
                { "loop", no_argument, NULL, 'l' },
                { "duration", required_argument, NULL, 'd' },
                { "hold", required_argument, NULL, 'H' },
                { "interval-ms", required_argument, NULL, ARG_INTERVAL },
                { "each", no_argument, NULL, ARG_EACH },
                { "grow", required_argument, NULL, ARG_GROW },
                { "grow-max", required_argument, NULL, ARG_GROW_MAX },
                { "cache", required_argument, NULL, ARG_CACHE },
                { "notify", required_argument, NULL, ARG_NOTIFY },
                { "refill-ms", required_argument, NULL, ARG_REFILL },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned long size_mb = 0, repeat = 0, hold_mb = 0, interval_ms = 0, grow_mb = 0, grow_max_mb = 0, v;
        unsigned long cache_mb = 0, refill_ms = 0;
        const char *socket_path = NULL;
        double duration = 0;
        bool loop = false, each = false;
        int c;

        while ((c = getopt_long(argc, argv, "s:r:ld:H:h", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        if (!parse_ulong(optarg, &size_mb) || size_mb == 0)
                                goto bad;
                        break;
                case 'r':
                        if (!parse_ulong(optarg, &repeat) || repeat == 0)
                                goto bad;
                        break;
                case 'l':
                        loop = true;
                        break;
                case 'd':
                        if (!parse_ulong(optarg, &v) || v == 0)
                                goto bad;
                        duration = (double) v;
                        break;
                case 'H':
                        if (!parse_ulong(optarg, &hold_mb) || hold_mb == 0)
                                goto bad;
                        break;
                case ARG_INTERVAL:
                        if (!parse_ulong(optarg, &interval_ms) || interval_ms > 3600000)
                                goto bad;
                        break;
                case ARG_EACH:
                        each = true;
                        break;
                case ARG_GROW:
                        if (!parse_ulong(optarg, &grow_mb) || grow_mb == 0)
                                goto bad;
                        break;
                case ARG_GROW_MAX:
                        if (!parse_ulong(optarg, &grow_max_mb) || grow_max_mb == 0)
                                goto bad;
                        break;
                case ARG_CACHE:
                        if (!parse_ulong(optarg, &cache_mb) || cache_mb == 0)
                                goto bad;
                        break;
                case ARG_NOTIFY:
                        socket_path = optarg;
                        break;
                case ARG_REFILL:
                        if (!parse_ulong(optarg, &refill_ms) || refill_ms == 0 || refill_ms > 3600000)
                                goto bad;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        goto bad;
                }
        }
        if (optind != argc)
                goto bad;

        if (!!grow_mb != !!grow_max_mb || (grow_mb && !loop))
                goto bad;
        if ((cache_mb || socket_path || refill_ms) && (!hold_mb || !cache_mb))
                goto bad;
        if (hold_mb && !size_mb && !repeat && !loop)
                return do_hold(hold_mb * MIB, cache_mb * MIB, socket_path, refill_ms);
        if (loop && size_mb && duration > 0 && !repeat && !hold_mb)
                return do_loop(size_mb * MIB, size_mb, duration, (unsigned) interval_ms,
                               grow_mb, grow_max_mb);
        if (!loop && size_mb && repeat && !hold_mb && duration == 0)
                return do_repeat(size_mb * MIB, size_mb, repeat, (unsigned) interval_ms, each);
bad:
        usage(stderr);
        return 2;
}
