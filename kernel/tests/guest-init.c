// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the minimal test guest that kernel/tests/run boots when the
 * systemd guest harness (tests/vm/run) is not available: no rootfs, just
 * this and the static test binaries in an initramfs.
 *
 * Kernel command line:
 *   memqos.layout=v1|v2    how to mount the memory controller
 *   memqos.tests=a,b,...   binaries in /tests to run, in order
 * A disk at /dev/vda (ext4) is mounted on /var/tmp for tests that need
 * page cache.  Each test's output goes to the console between
 * "=== BEGIN name" and "=== END name rc=N" lines; then the guest powers off.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char cmdline[4096];

static const char *param(const char *key)
{
	size_t len = strlen(key);
	char *p = cmdline;

	while ((p = strstr(p, key))) {
		if ((p == cmdline || p[-1] == ' ') && p[len] == '=')
			return p + len + 1;
		p += len;
	}
	return NULL;
}

static void mount_or_warn(const char *src, const char *dst, const char *type,
			  const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, opts) < 0)
		printf("init: mount %s on %s: %m\n", type, dst);
}

/* upstream's test_memcontrol talks TCP over the loopback */
static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			printf("init: lo up: %m\n");
	}
	close(fd);
}

static int run(const char *name)
{
	char path[256];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/tests/%s", name);
	printf("=== BEGIN %s\n", name);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* upstream's test_memcontrol makes its page cache files here */
		if (chdir("/var/tmp") < 0)
			printf("init: chdir /var/tmp: %m\n");
		execl(path, path, (char *)NULL);
		printf("init: exec %s: %m\n", path);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	printf("=== END %s rc=%d\n", name,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	fflush(stdout);
	return 0;
}

int main(void)
{
	const char *layout, *tests;
	char list[1024], *name, *save = NULL;
	int fd;

	mount_or_warn("proc", "/proc", "proc", NULL);
	mount_or_warn("sysfs", "/sys", "sysfs", NULL);
	mount_or_warn("devtmpfs", "/dev", "devtmpfs", NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);

		cmdline[n > 0 ? n : 0] = 0;
		close(fd);
	}
	layout = param("memqos.layout");
	tests = param("memqos.tests");

	if (layout && !strncmp(layout, "v1", 2)) {
		mount_or_warn("tmpfs", "/sys/fs/cgroup", "tmpfs", "mode=755");
		mount_or_warn("cgroup", "/sys/fs/cgroup/memory", "cgroup", "memory");
	} else {
		mount_or_warn("cgroup2", "/sys/fs/cgroup", "cgroup2", NULL);
	}
	mkdir("/var", 0755);
	if (access("/dev/vda", F_OK) == 0)
		mount_or_warn("/dev/vda", "/var/tmp", "ext4", NULL);
	else
		mkdir("/var/tmp", 01777);

	loopback_up();
	printf("init: kernel %s", cmdline);
	if (tests) {
		snprintf(list, sizeof(list), "%s", tests);
		list[strcspn(list, " \n")] = 0;
		for (name = strtok_r(list, ",", &save); name;
		     name = strtok_r(NULL, ",", &save))
			run(name);
	}
	printf("=== ALL DONE\n");
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
