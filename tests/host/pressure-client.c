/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A client of memqosd's pressure socket for the host tests
 * (test-pressure.sh): no python in the guests, so this is C.
 *
 *   pressure-client SOCKET listen [PAYLOAD]     write PAYLOAD (\n, \0 as escapes), then print
 *                                               each line received; "ready" once written
 *   pressure-client SOCKET noread [PAYLOAD]     the same, but never read; "ready"
 *   pressure-client SOCKET flood N              hold N connections; "held N" (how many stayed
 *                                               open after a moment)
 *   pressure-client SOCKET big BYTES            write BYTES; "closed after N" or "open after N"
 *   pressure-client SOCKET hold BYTES free|keep hold BYTES of anonymous memory (touched), then
 *                                               print each line received; with "free", the
 *                                               first reclaim or kill notice frees them ("freed"
 *                                               after the line); "ready" once held
 *   pressure-client SOCKET crossings N BYTES    allocate BYTES in this process N times, each
 *                                               time wait for the notice, free it again; print
 *                                               the latency from the allocation done to the
 *                                               notice read, in microseconds, one per line
 *
 * listen, noread, hold and flood run until killed. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* "\n" and "\0" in an argument, for the payloads. */
static size_t unescape(const char *s, char *out) {
        size_t n = 0;
        for (; *s; s++) {
                if (s[0] == '\\' && s[1] == 'n') {
                        out[n++] = '\n';
                        s++;
                } else if (s[0] == '\\' && s[1] == '0') {
                        out[n++] = 0;
                        s++;
                } else
                        out[n++] = *s;
        }
        return n;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_payload(int fd, const char *arg) {
        char buf[8192];
        size_t n;

        if (!arg)
                return 0;
        if (strlen(arg) >= sizeof(buf))
                return -1;
        n = unescape(arg, buf);
        return write(fd, buf, n) == (ssize_t) n ? 0 : -1;
}

/* Until killed (the test stops it so). */
static void wait_killed(void) {
        for (;;)
                pause();
}

static int do_listen(int fd, const char *payload, int reading) {
        char buf[512];

        if (write_payload(fd, payload) < 0) {
                perror("write");
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        if (!reading) {
                wait_killed();
                return 0;
        }
        for (;;) {
                struct pollfd p[1] = { { .fd = fd, .events = POLLIN } };
                ssize_t n;

                if (poll(p, 1, -1) < 0)
                        return 1;
                if (p[0].revents) {
                        n = read(fd, buf, sizeof(buf));
                        if (n <= 0) {
                                printf("closed\n");
                                return 0;
                        }
                        fwrite(buf, 1, (size_t) n, stdout);
                        fflush(stdout);
                }
        }
}

static int do_flood(const char *path, int n) {
        int *fds = calloc((size_t) n, sizeof(int)), open_ = 0;

        for (int i = 0; i < n; i++)
                fds[i] = connect_to(path);
        usleep(500 * 1000);
        /* Closed by the other end: readable with 0 bytes. */
        for (int i = 0; i < n; i++) {
                struct pollfd p = { .fd = fds[i], .events = POLLIN };
                char c;
                if (fds[i] < 0)
                        continue;
                if (poll(&p, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) == 0)
                        continue;
                open_++;
        }
        printf("held %d\n", open_);
        fflush(stdout);
        wait_killed();
        return 0;
}

static int do_big(int fd, long bytes) {
        static char buf[65536];
        long written = 0;

        memset(buf, 'x', sizeof(buf));
        signal(SIGPIPE, SIG_IGN);
        while (written < bytes) {
                size_t chunk = bytes - written < (long) sizeof(buf) ? (size_t) (bytes - written) : sizeof(buf);
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                ssize_t n;

                if (poll(&p, 1, 5000) <= 0)
                        break;
                n = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN)
                                continue;
                        break;
                }
                written += n;
        }
        /* Did memqosd close it? */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;
        if (poll(&p, 1, 5000) == 1 && recv(fd, &c, 1, 0) <= 0)
                printf("closed after %ld\n", written);
        else
                printf("open after %ld\n", written);
        return 0;
}

/* An application that holds memory it can do without (a cache) and gives
 * it back when memqosd says its reclaim or kill is coming. */
static int do_hold(int fd, size_t bytes, int frees) {
        char buf[512];
        char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        if (mem == MAP_FAILED)
                return 1;
        for (size_t o = 0; o < bytes; o += 4096)
                mem[o] = 1;
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf) - 1);

                if (n <= 0) {
                        printf("closed\n");
                        return 0;
                }
                buf[n] = 0;
                fputs(buf, stdout);
                if (frees && mem && (strstr(buf, "level=reclaim") || strstr(buf, "level=kill"))) {
                        munmap(mem, bytes);
                        mem = NULL;
                        printf("freed\n");
                }
                fflush(stdout);
        }
}

static int do_crossings(int fd, int n, size_t bytes) {
        char buf[512];

        printf("ready\n");
        fflush(stdout);
        for (int i = 0; i < n; i++) {
                char *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t done, heard;

                if (mem == MAP_FAILED)
                        return 1;
                for (size_t o = 0; o < bytes; o += 4096)
                        mem[o] = 1;
                done = now_usec();
                if (poll(&p, 1, 10000) != 1) {
                        printf("timeout\n");
                        return 1;
                }
                if (read(fd, buf, sizeof(buf)) <= 0) {
                        printf("closed\n");
                        return 1;
                }
                heard = now_usec();
                printf("%llu\n", (unsigned long long) (heard > done ? heard - done : 0));
                fflush(stdout);
                munmap(mem, bytes);
                /* Let the kernel see usage back below before the next one. */
                usleep(20 * 1000);
        }
        return 0;
}

int main(int argc, char *argv[]) {
        int fd;

        if (argc < 3) {
                fprintf(stderr, "usage: %s SOCKET listen|noread|flood|big|hold|crossings ...\n", argv[0]);
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strcmp(argv[2], "flood") == 0)
                return do_flood(argv[1], argc > 3 ? atoi(argv[3]) : 1000);

        fd = connect_to(argv[1]);
        if (fd < 0) {
                perror("connect");
                return 1;
        }
        if (strcmp(argv[2], "listen") == 0)
                return do_listen(fd, argc > 3 ? argv[3] : NULL, 1);
        if (strcmp(argv[2], "noread") == 0)
                return do_listen(fd, argc > 3 ? argv[3] : NULL, 0);
        if (strcmp(argv[2], "big") == 0)
                return do_big(fd, argc > 3 ? atol(argv[3]) : 1 << 20);
        if (strcmp(argv[2], "hold") == 0)
                return do_hold(fd, argc > 3 ? (size_t) atol(argv[3]) : (size_t) 64 << 20,
                               argc > 4 && strcmp(argv[4], "free") == 0);
        if (strcmp(argv[2], "crossings") == 0)
                return do_crossings(fd, argc > 3 ? atoi(argv[3]) : 10,
                                    argc > 4 ? (size_t) atol(argv[4]) : (size_t) 32 << 20);
        return 2;
}
