// SPDX-License-Identifier: GPL-2.0
/* Helpers for the memqos kernel selftests, see cg.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg.h"

enum cg_layout cg_layout;
const char *cg_root;
long cg_page_size;

static int tap_n, tap_failed, tap_skipped;
static int ready_fd = -1;

void tap_ok(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_failed++;
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - # SKIP ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_skipped++;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

int tap_exit(void)
{
	printf("1..%d\n", tap_n);
	printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

void die(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n0 passed, 1 failed\n");
	fflush(stdout);
	exit(1);
}

static bool file_contains(const char *path, const char *word)
{
	char buf[512];
	FILE *f = fopen(path, "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fscanf(f, "%511s", buf) == 1)
		found = strcmp(buf, word) == 0;
	fclose(f);
	return found;
}

bool cg_init(void)
{
	cg_page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0) {
		cg_layout = CG_V1;
		cg_root = "/sys/fs/cgroup/memory";
		return true;
	}
	if (file_contains("/sys/fs/cgroup/cgroup.controllers", "memory")) {
		cg_layout = CG_V2;
		cg_root = "/sys/fs/cgroup";
		return true;
	}
	return false;
}

void cg_test_setup(const char *needed)
{
	if (getuid() != 0)
		die("must run as root");
	if (!cg_init())
		die("no memory cgroup controller found");
	tap_diag("cgroup %s at %s", cg_layout == CG_V1 ? "v1" : "v2", cg_root);
	if (needed && !cg_has_file("", needed))
		die("the kernel has no %s", needed);
}

char *cg_path(const char *cg, const char *file)
{
	char *p;

	if (asprintf(&p, "%s%s%s%s%s", cg_root, *cg ? "/" : "", cg,
		     file ? "/" : "", file ?: "") < 0)
		die("out of memory");
	return p;
}

static int write_path(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(val))
		r = -EIO;
	close(fd);
	return r;
}

int cg_write(const char *cg, const char *file, const char *val)
{
	char *p = cg_path(cg, file);
	int r = write_path(p, val);

	free(p);
	return r;
}

int cg_write_u64(const char *cg, const char *file, uint64_t val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	return cg_write(cg, file, buf);
}

int cg_read(const char *cg, const char *file, char *buf, size_t len)
{
	char *p = cg_path(cg, file);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	free(p);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	return 0;
}

int64_t cg_read_s64(const char *cg, const char *file)
{
	char buf[64];
	int r = cg_read(cg, file, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (strcmp(buf, "max") == 0)
		return INT64_MAX;
	return strtoll(buf, NULL, 10);
}

uint64_t cg_read_u64(const char *cg, const char *file)
{
	char buf[64];

	if (cg_read(cg, file, buf, sizeof(buf)) < 0)
		return UINT64_MAX - 1;
	if (strcmp(buf, "max") == 0)
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

int64_t cg_read_key(const char *cg, const char *file, const char *key)
{
	char buf[4096], *line, *save = NULL;
	size_t klen = strlen(key);

	if (cg_read(cg, file, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	return -1;
}

bool cg_has_file(const char *cg, const char *file)
{
	char *p = cg_path(cg, file);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

int cg_create(const char *cg)
{
	char *p = cg_path(cg, NULL);
	int r = 0;

	if (cg_layout == CG_V2) {
		char *parent = strdup(cg), *slash = strrchr(parent, '/');

		if (slash)
			*slash = 0;
		else
			*parent = 0;
		/* Fails harmlessly if already enabled. */
		cg_write(parent, "cgroup.subtree_control", "+memory");
		free(parent);
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

int cg_destroy(const char *cg)
{
	char *p = cg_path(cg, NULL);
	DIR *d = opendir(p);
	struct dirent *de;
	int i, r = 0;

	if (!d) {
		free(p);
		return errno == ENOENT ? 0 : -errno;
	}
	while ((de = readdir(d))) {
		char *sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", cg, de->d_name) < 0)
			die("out of memory");
		cg_destroy(sub);
		free(sub);
	}
	closedir(d);

	for (i = 0; i < 500; i++) {
		char buf[4096], *tok, *save = NULL;

		if (cg_read(cg, "cgroup.procs", buf, sizeof(buf)) < 0 || !*buf)
			break;
		for (tok = strtok_r(buf, "\n", &save); tok;
		     tok = strtok_r(NULL, "\n", &save))
			kill(atoi(tok), SIGKILL);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sleep_ms(10);
	}
	for (i = 0; i < 500; i++) {
		if (rmdir(p) == 0 || errno == ENOENT) {
			r = 0;
			break;
		}
		r = -errno;
		sleep_ms(10);
	}
	free(p);
	return r;
}

int cg_set_limit(const char *cg, uint64_t bytes)
{
	if (cg_layout == CG_V1)
		return cg_write_u64(cg, "memory.limit_in_bytes", bytes);
	return cg_write_u64(cg, "memory.max", bytes);
}

uint64_t cg_usage(const char *cg)
{
	return cg_read_u64(cg, cg_layout == CG_V1 ? "memory.usage_in_bytes" :
						    "memory.current");
}

uint64_t cg_peak(const char *cg)
{
	return cg_read_u64(cg, cg_layout == CG_V1 ?
			   "memory.max_usage_in_bytes" : "memory.peak");
}

int cg_reset_peak(const char *cg)
{
	/* memory.peak of 6.1 cannot be reset: recreate the cgroup instead */
	if (cg_layout == CG_V1)
		return cg_write(cg, "memory.max_usage_in_bytes", "0");
	return -EOPNOTSUPP;
}

int64_t cg_oom_kills(const char *cg)
{
	if (cg_layout == CG_V1)
		return cg_read_key(cg, "memory.oom_control", "oom_kill");
	return cg_read_key(cg, "memory.events.local", "oom_kill");
}

int64_t cg_limit_hits(const char *cg)
{
	if (cg_layout == CG_V1)
		return cg_read_s64(cg, "memory.failcnt");
	return cg_read_key(cg, "memory.events", "max");
}

int cg_enter(const char *cg)
{
	return cg_write(cg, "cgroup.procs", "0");
}

void child_ready(void)
{
	char c = 1;

	if (ready_fd >= 0) {
		if (write(ready_fd, &c, 1) != 1)
			_exit(98);
		close(ready_fd);
		ready_fd = -1;
	}
}

pid_t cg_spawn(const char *cg, int (*fn)(void *arg), void *arg)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe2(fds, O_CLOEXEC) < 0)
		die("pipe: %m");
	pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		close(fds[0]);
		ready_fd = fds[1];
		if (cg_enter(cg) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) < 0)
		die("read: %m");
	close(fds[0]);
	return pid;
}

int touch_anon(uint64_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t off;

	if (p == MAP_FAILED)
		return -ENOMEM;
	for (off = 0; off < bytes; off += cg_page_size)
		p[off] = 1;
	return 0;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool killed(pid_t pid, int timeout_ms)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		if (r < 0 || timeout_ms <= 0)
			return false;
		sleep_ms(10);
		timeout_ms -= 10;
	}
}

bool alive(pid_t pid)
{
	siginfo_t info = { 0 };

	/* WNOWAIT: leave a dead child to killed() */
	if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return info.si_pid == 0;
}
