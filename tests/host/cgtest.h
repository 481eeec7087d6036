/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared helpers of the host tests: real cgroups in this machine's cgroup v1
 * memory hierarchy, owned by one test process and removed by it.
 *
 * Every cgroup a test makes is /sys/fs/cgroup/memory/memqos-test-<pid>-<name>
 * (or below one), so that tests running at the same time never meet, and a
 * leftover of a killed run names the process that made it (tests/host/run
 * removes those whose process is gone). Nothing here touches any other
 * cgroup: cgtest_remove_recursive() refuses paths outside that pattern.
 *
 * A typical test:
 *
 *     static int setup(void **state) {
 *             *state = cgtest_create("limit");     // registered for removal
 *             return *state ? 0 : -1;
 *     }
 *     static int teardown(void **state) {
 *             return cgtest_remove_recursive(*state) < 0 ? -1 : 0;  // frees
 *     }
 *     int main(int argc, char **argv) {
 *             cgtest_run_workload(argc, argv);    // for cgtest_spawn_hog()
 *             cgtest_require_v1_root();           // exit 77 (skip) otherwise
 *             ...cmocka_run_group_tests(...)
 *     }
 *
 * cmocka runs the teardown even when the test body fails; what a crash or an
 * exit() leaves behind is removed by an atexit() handler. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGTEST_SYSFS_CGROUP "/sys/fs/cgroup"
#define CGTEST_V1_ROOT      "/sys/fs/cgroup/memory"
#define CGTEST_PREFIX       "memqos-test-"
#define CGTEST_EXIT_SKIP    77 /* meson: the test was skipped */

/* Exits with CGTEST_EXIT_SKIP, saying why on stderr, unless we are root and
 * CGTEST_V1_ROOT is a cgroup v1 hierarchy with the memory controller. Also
 * installs the atexit() cleanup. Call first in main(). */
void cgtest_require_v1_root(void);

/* mkdir CGTEST_V1_ROOT/memqos-test-<pid>-<name>. Returns the absolute path
 * (malloc'd) or NULL with errno set. The cgroup is registered: if the test
 * never removes it, the process removes it at exit. */
char *cgtest_create(const char *name);

/* mkdir parent/name (a child of a test cgroup); absolute path or NULL. */
char *cgtest_create_child(const char *parent, const char *name);

/* The cgroup's path below the hierarchy root, as systemd's ControlGroup
 * spells it ("/memqos-test-42-x/child"): a pointer into path. */
const char *cgtest_cgroup(const char *path);

/* Kills every process in the subtree (SIGKILL, reaping our own children),
 * removes it depth-first, unregisters it and frees path. 0 or -errno;
 * -EPERM for a path that is not a test cgroup. path may be NULL. */
int cgtest_remove_recursive(char *path);

/* Forks a child that moves itself into the cgroup at path, then execs argv
 * (argv[0] looked up in PATH). Returns once the child runs argv in the
 * cgroup: its pid, or -errno (the child's own error if it could not join
 * the cgroup or exec). */
pid_t cgtest_spawn_in(const char *path, char *const argv[]);

/* A workload made of the test binary itself, so host tests need nothing
 * installed: cgtest_spawn_hog() runs it in the cgroup at path, where it
 * touches `bytes` of anonymous memory (charged to that cgroup) and then sleeps
 * until killed. main() must call cgtest_run_workload(argc, argv) first: it
 * returns when the process is a test, and never when it is the workload. */
pid_t cgtest_spawn_hog(const char *path, uint64_t bytes);
void cgtest_run_workload(int argc, char **argv);

/* Small file helpers on path/file: the whole content (NUL-terminated,
 * malloc'd, NULL with errno), or writing a string. 0 or -errno. */
char *cgtest_read(const char *path, const char *file);
int cgtest_write(const char *path, const char *file, const char *value);
/* Reads an integer file; -errno or 0. */
int cgtest_read_u64(const char *path, const char *file, uint64_t *ret);

/* Waits up to timeout_ms until path/file's integer is at least min. */
int cgtest_wait_u64_at_least(const char *path, const char *file, uint64_t min, unsigned timeout_ms);

/* Whether path/file exists (without following a symlink). */
bool cgtest_has_file(const char *path, const char *file);
