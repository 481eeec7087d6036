/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>

#include "basic/cgroup-path.h"
#include "basic/util.h"
#include "cgroup/memcg.h"
#include "cgtest.h"

#define WORKLOAD_HOG "--cgtest-hog"

/* The test cgroups this process made and has not removed yet. */
static char *registered[64];

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static void cleanup_at_exit(void) {
        for (size_t i = 0; i < ELEMENTSOF(registered); i++)
                if (registered[i]) {
                        /* cgtest_remove_recursive() frees and unregisters */
                        char *p = strdup(registered[i]);
                        if (p && cgtest_remove_recursive(p) < 0)
                                fprintf(stderr, "cgtest: could not remove %s\n", registered[i]);
                }
}

void cgtest_require_v1_root(void) {
        struct statfs sfs;

        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: host tests need root\n");
                exit(CGTEST_EXIT_SKIP);
        }
        if (statfs(CGTEST_V1_ROOT, &sfs) < 0 || sfs.f_type != CGROUP_SUPER_MAGIC ||
            !cgtest_has_file(CGTEST_V1_ROOT, "memory.limit_in_bytes")) {
                fprintf(stderr, "SKIP: no cgroup v1 memory hierarchy at %s\n", CGTEST_V1_ROOT);
                exit(CGTEST_EXIT_SKIP);
        }
        atexit(cleanup_at_exit);
}

static int register_path(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(registered); i++)
                if (!registered[i]) {
                        registered[i] = strdup(path);
                        return registered[i] ? 0 : -ENOMEM;
                }
        return -ENOSPC;
}

static void unregister_path(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(registered); i++)
                if (registered[i] && streq(registered[i], path)) {
                        free(registered[i]);
                        registered[i] = NULL;
                }
}

/* Only memqos-test-* below the v1 root, with a path memcg would accept. */
static bool is_test_cgroup(const char *path) {
        const char *prefix = CGTEST_V1_ROOT "/" CGTEST_PREFIX;

        return path && strncmp(path, prefix, strlen(prefix)) == 0 &&
                cgroup_path_validate(path + strlen(CGTEST_V1_ROOT)) == 0;
}

static char *make_cgroup(char *path) {
        if (mkdir(path, 0755) < 0) {
                free(path);
                return NULL;
        }
        if (register_path(path) < 0) {
                rmdir(path);
                free(path);
                errno = ENOMEM;
                return NULL;
        }
        return path;
}

char *cgtest_create(const char *name) {
        char *path;

        if (asprintf(&path, "%s/%s%d-%s", CGTEST_V1_ROOT, CGTEST_PREFIX, (int) getpid(), name) < 0)
                return NULL;
        return make_cgroup(path);
}

char *cgtest_create_child(const char *parent, const char *name) {
        char *path;

        if (!is_test_cgroup(parent)) {
                errno = EPERM;
                return NULL;
        }
        if (asprintf(&path, "%s/%s", parent, name) < 0)
                return NULL;
        /* Children go with their registered ancestor; no entry of their own. */
        if (mkdir(path, 0755) < 0) {
                free(path);
                return NULL;
        }
        return path;
}

const char *cgtest_cgroup(const char *path) {
        return path + strlen(CGTEST_V1_ROOT);
}

/* SIGKILLs what is in the cgroup until it is empty, reaping our children. */
static int kill_all(const char *path) {
        for (unsigned tries = 0; tries < 500; tries++) {
                _cleanup_(freep) char *procs = cgtest_read(path, "cgroup.procs");
                bool any = false;

                if (!procs)
                        return -errno;

                for (char *p = procs, *end; *p; p = end) {
                        long pid = strtol(p, &end, 10);
                        if (end == p)
                                break;
                        if (pid > 0) {
                                (void) kill((pid_t) pid, SIGKILL);
                                /* Reaps it if it is ours (cgtest_spawn_in()), so
                                 * no zombie outlives the cgroup; ECHILD otherwise. */
                                (void) waitpid((pid_t) pid, NULL, 0);
                                any = true;
                        }
                }
                if (!any)
                        return 0;
                sleep_ms(10);
        }
        return -EBUSY;
}

static int remove_tree(const char *path) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = kill_all(path);
        if (r < 0)
                return r;

        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_(freep) char *child = NULL;

                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (asprintf(&child, "%s/%s", path, de->d_name) < 0)
                        return -ENOMEM;
                r = remove_tree(child);
                if (r < 0)
                        return r;
        }

        /* The last task may still be on its way out of the css_set. */
        for (unsigned tries = 0; tries < 500; tries++) {
                if (rmdir(path) >= 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                sleep_ms(10);
        }
        return -EBUSY;
}

int cgtest_remove_recursive(char *path) {
        int r;

        if (!path)
                return 0;
        if (!is_test_cgroup(path)) {
                free(path);
                return -EPERM;
        }

        r = remove_tree(path);
        if (r >= 0)
                unregister_path(path);
        free(path);
        return r;
}

pid_t cgtest_spawn_in(const char *path, char *const argv[]) {
        int pipefd[2], err = 0;
        char pid_str[32];
        ssize_t n;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;

        pid = fork();
        if (pid < 0) {
                err = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return err;
        }
        if (pid == 0) {
                /* The child tells its errno over the pipe; a successful exec
                 * closes it (O_CLOEXEC) with nothing written. */
                close(pipefd[0]);
                snprintf(pid_str, sizeof(pid_str), "%d", (int) getpid());
                err = cgtest_write(path, "cgroup.procs", pid_str);
                if (err >= 0) {
                        execvp(argv[0], argv);
                        err = -errno;
                }
                (void) !write(pipefd[1], &err, sizeof(err));
                _exit(127);
        }

        close(pipefd[1]);
        n = read(pipefd[0], &err, sizeof(err));
        close(pipefd[0]);
        if (n == sizeof(err)) {
                (void) waitpid(pid, NULL, 0);
                return err;
        }
        return pid;
}

pid_t cgtest_spawn_hog(const char *path, uint64_t bytes) {
        char exe[PATH_MAX], size[32];
        ssize_t n;

        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0)
                return -errno;
        exe[n] = 0;
        snprintf(size, sizeof(size), "%" PRIu64, bytes);

        return cgtest_spawn_in(path, (char *const[]) { exe, (char *) WORKLOAD_HOG, size, NULL });
}

void cgtest_run_workload(int argc, char **argv) {
        uint64_t bytes;
        long page = sysconf(_SC_PAGESIZE);
        char *p;

        if (argc < 3 || !streq(argv[1], WORKLOAD_HOG))
                return;

        bytes = strtoull(argv[2], NULL, 10);
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                _exit(1);
        /* Touch every page so that it is charged, not just reserved. */
        for (uint64_t off = 0; off < bytes; off += (uint64_t) page)
                p[off] = 1;
        for (;;)
                pause();
}

char *cgtest_read(const char *path, const char *file) {
        _cleanup_(freep) char *fn = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        char *buf = NULL;
        size_t size = 0;
        ssize_t n;

        if (asprintf(&fn, "%s/%s", path, file) < 0)
                return NULL;
        f = fopen(fn, "re");
        if (!f)
                return NULL;
        n = getdelim(&buf, &size, 0, f);
        if (n < 0) {
                if (ferror(f)) {
                        free(buf);
                        return NULL;
                }
                /* empty file */
                free(buf);
                return strdup("");
        }
        return buf;
}

int cgtest_write(const char *path, const char *file, const char *value) {
        _cleanup_(freep) char *fn = NULL;
        _cleanup_(closep) int fd = -1;
        ssize_t n;

        if (asprintf(&fn, "%s/%s", path, file) < 0)
                return -ENOMEM;
        fd = open(fn, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, value, strlen(value));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(value) ? 0 : -EIO;
}

int cgtest_read_u64(const char *path, const char *file, uint64_t *ret) {
        _cleanup_(freep) char *s = cgtest_read(path, file);
        char *end;

        if (!s)
                return -errno;
        errno = 0;
        *ret = strtoull(s, &end, 10);
        if (errno != 0 || end == s || (*end != '\n' && *end != 0))
                return -EBADMSG;
        return 0;
}

int cgtest_wait_u64_at_least(const char *path, const char *file, uint64_t min, unsigned timeout_ms) {
        uint64_t v = 0;
        int r;

        for (unsigned waited = 0;; waited += 10) {
                r = cgtest_read_u64(path, file, &v);
                if (r < 0)
                        return r;
                if (v >= min)
                        return 0;
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                sleep_ms(10);
        }
}

bool cgtest_has_file(const char *path, const char *file) {
        _cleanup_(freep) char *fn = NULL;
        struct stat st;

        if (asprintf(&fn, "%s/%s", path, file) < 0)
                return false;
        return lstat(fn, &st) >= 0;
}
