/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memqos-cache: the page-cache workloads of the colocation benchmarks
 * (bench/README.md) and of the tests that need real page cache.
 *
 * Like memqos-alloc it does not join a cgroup: start it in one, and the page
 * cache it brings in is charged there.
 *
 *   memqos-cache write FILE MB
 *       creates FILE (truncated) with MB MiB of data, fsyncs it. Prints:
 *         op=write bytes=N ms=X mb_s=X
 *
 *   memqos-cache read FILE
 *       counts FILE's pages in the page cache (mincore, without faulting
 *       anything in), then reads the whole file with read(2) in 4 MiB chunks.
 *       Prints:
 *         op=read bytes=N ms=X mb_s=X resident_before=N
 *
 *   memqos-cache resident FILE
 *       op=resident bytes=N resident=N   (bytes of FILE in the page cache)
 *
 *   memqos-cache fill FILE MB [--loop] [--sync-mb N] [--rate MBPS]
 *       writes MB MiB into FILE from offset 0 (created, not truncated: the
 *       old pages are overwritten). --loop wraps around to offset 0 and goes
 *       on until killed; when MB is larger than the cgroup's limit every
 *       write needs a new page, so the cache keeps pushing against the limit
 *       (the offline page-cache writer). --sync-mb N: fdatasync every N MiB,
 *       so that the dirty part stays bounded (0, the default: never).
 *       --rate: at most MBPS MiB/s. Prints "pass=K" (flushed) after each
 *       full pass, and without --loop, at the end:
 *         op=fill bytes=N ms=X mb_s=X
 *
 * MB/s are MiB per second. Exit status: 0 done, 1 I/O error, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#define CHUNK (4 * MIB)

static double mb_per_s(uint64_t bytes, double ms) {
        return ms > 0 ? (double) bytes / MIB / (ms / 1e3) : 0;
}

/* Bytes of the file behind fd that are in the page cache, or negative errno. */
static int64_t resident_bytes(int fd) {
        long page = sysconf(_SC_PAGESIZE);
        unsigned char *vec;
        struct stat st;
        size_t pages;
        int64_t n = 0;
        void *map;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return 0;
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        pages = ((size_t) st.st_size + page - 1) / page;
        vec = malloc(pages);
        if (!vec) {
                munmap(map, (size_t) st.st_size);
                return -ENOMEM;
        }
        if (mincore(map, (size_t) st.st_size, vec) < 0) {
                n = -errno;
        } else {
                for (size_t i = 0; i < pages; i++)
                        if (vec[i] & 1)
                                n += page;
        }
        free(vec);
        munmap(map, (size_t) st.st_size);
        return n;
}

static char *pattern_buf(void) {
        char *buf = malloc(CHUNK);

        if (!buf)
                return NULL;
        for (size_t i = 0; i < CHUNK; i++)
                buf[i] = (char) (i * 131 + 7);
        return buf;
}

static int do_read(const char *path, bool resident_only) {
        uint64_t done = 0;
        int64_t resident;
        double start;
        char *buf;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "memqos-cache: %s: %m\n", path);
                return 1;
        }
        resident = resident_bytes(fd);
        if (resident < 0) {
                fprintf(stderr, "memqos-cache: mincore %s: %s\n", path, strerror((int) -resident));
                close(fd);
                return 1;
        }
        if (resident_only) {
                struct stat st;

                if (fstat(fd, &st) < 0) {
                        close(fd);
                        return 1;
                }
                printf("op=resident bytes=%lld resident=%lld\n",
                       (long long) st.st_size, (long long) resident);
                close(fd);
                return 0;
        }
        buf = malloc(CHUNK);
        if (!buf) {
                close(fd);
                return 1;
        }
        start = now_ms();
        for (;;) {
                ssize_t n = read(fd, buf, CHUNK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "memqos-cache: read %s: %m\n", path);
                        free(buf);
                        close(fd);
                        return 1;
                }
                if (n == 0)
                        break;
                done += (uint64_t) n;
        }
        start = now_ms() - start;
        printf("op=read bytes=%llu ms=%.2f mb_s=%.1f resident_before=%lld\n",
               (unsigned long long) done, start, mb_per_s(done, start), (long long) resident);
        free(buf);
        close(fd);
        return 0;
}

/* write (truncate first, fsync at the end) and fill (overwrite, --loop,
 * --sync-mb, --rate) in one. */
static int do_fill(const char *op, const char *path, unsigned long mb, bool loop,
                   unsigned long sync_mb, unsigned long rate) {
        bool write_op = strcmp(op, "write") == 0;
        uint64_t total = mb * MIB, off = 0, since_sync = 0, written = 0;
        unsigned long pass = 0;
        double start;
        char *buf;
        int fd, r;

        buf = pattern_buf();
        if (!buf)
                return 1;
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (write_op ? O_TRUNC : 0), 0644);
        if (fd < 0) {
                fprintf(stderr, "memqos-cache: %s: %m\n", path);
                free(buf);
                return 1;
        }
        start = now_ms();
        for (;;) {
                size_t len = total - off < CHUNK ? (size_t) (total - off) : CHUNK;

                /* pwrite: the offset wraps around with --loop */
                for (size_t pos = 0; pos < len;) {
                        ssize_t n = pwrite(fd, buf + pos, len - pos, (off_t) (off + pos));

                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                r = -errno;
                                fprintf(stderr, "memqos-cache: write %s: %s\n", path, strerror(-r));
                                goto fail;
                        }
                        pos += (size_t) n;
                }
                off += len;
                written += len;
                since_sync += len;
                if (sync_mb && since_sync >= sync_mb * MIB) {
                        if (fdatasync(fd) < 0) {
                                fprintf(stderr, "memqos-cache: fdatasync %s: %m\n", path);
                                goto fail;
                        }
                        since_sync = 0;
                }
                if (rate)
                        sleep_ms((double) written / MIB / (double) rate * 1e3 - (now_ms() - start));
                if (off >= total) {
                        if (write_op)
                                break;
                        printf("pass=%lu\n", ++pass);
                        fflush(stdout);
                        if (!loop)
                                break;
                        off = 0;
                }
        }
        if (write_op && fsync(fd) < 0) {
                fprintf(stderr, "memqos-cache: fsync %s: %m\n", path);
                goto fail;
        }
        start = now_ms() - start;
        printf("op=%s bytes=%llu ms=%.2f mb_s=%.1f\n",
               op, (unsigned long long) written, start, mb_per_s(written, start));
        close(fd);
        free(buf);
        return 0;
fail:
        close(fd);
        free(buf);
        return 1;
}

static void usage(FILE *f) {
        fprintf(f,
                "usage: memqos-cache write FILE MB\n"
                "       memqos-cache read FILE\n"
                "       memqos-cache resident FILE\n"
                "       memqos-cache fill FILE MB [--loop] [--sync-mb N] [--rate MBPS]\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "loop", no_argument, NULL, 'l' },
                { "sync-mb", required_argument, NULL, 's' },
                { "rate", required_argument, NULL, 'r' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        unsigned long mb = 0, sync_mb = 0, rate = 0;
        bool loop = false;
        const char *op;
        int c;

        /* GNU getopt permutes: "fill FILE MB --loop" and "fill --loop FILE MB"
         * both work */
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'l':
                        loop = true;
                        break;
                case 's':
                        if (!parse_ulong(optarg, &sync_mb))
                                goto bad;
                        break;
                case 'r':
                        if (!parse_ulong(optarg, &rate))
                                goto bad;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        goto bad;
                }
        }
        if (argc - optind < 2)
                goto bad;
        op = argv[optind];
        if (strcmp(op, "write") == 0 || strcmp(op, "fill") == 0) {
                if (argc - optind != 3 || !parse_ulong(argv[optind + 2], &mb) || mb == 0)
                        goto bad;
        } else if (argc - optind != 2)
                goto bad;

        if (strcmp(op, "write") == 0 && !loop && !sync_mb && !rate)
                return do_fill(op, argv[optind + 1], mb, false, 0, 0);
        if (strcmp(op, "read") == 0 && !loop && !sync_mb && !rate)
                return do_read(argv[optind + 1], false);
        if (strcmp(op, "resident") == 0 && !loop && !sync_mb && !rate)
                return do_read(argv[optind + 1], true);
        if (strcmp(op, "fill") == 0)
                return do_fill(op, argv[optind + 1], mb, loop, sync_mb, rate);
bad:
        usage(stderr);
        return 2;
}
