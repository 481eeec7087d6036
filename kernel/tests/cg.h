/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the memqos kernel selftests: cgroup v1/v2 memory controller
 * access and TAP output.  The tests run as root in a guest booted with the
 * patched kernel; each builds its own cgroups named memqos-test-* and
 * removes them on exit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MB(x) ((uint64_t)(x) << 20)
/* The page counter maximum, in bytes, as cgroup v1 prints "unlimited". */
#define CG_V1_MAX_BYTES 9223372036854771712ULL

enum cg_layout { CG_V1, CG_V2 };

extern enum cg_layout cg_layout;
extern const char *cg_root;	/* memory controller's root directory */
extern long cg_page_size;

/* TAP */
void tap_plan_done(void);
void tap_ok(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_exit(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Detects the layout; returns false if no memory controller is found. */
bool cg_init(void);
/* For a test: root, the controller and the kernel file @needed, or bail. */
void cg_test_setup(const char *needed);

/* Paths are relative to cg_root ("" is the root). */
char *cg_path(const char *cg, const char *file);
int cg_create(const char *cg);		/* enables +memory below on v2 */
int cg_destroy(const char *cg);		/* kills tasks, removes recursively */
bool cg_has_file(const char *cg, const char *file);
/* Writes a string; returns 0 or -errno (EINVAL for a rejected value). */
int cg_write(const char *cg, const char *file, const char *val);
int cg_write_u64(const char *cg, const char *file, uint64_t val);
/* Reads a file's content with the trailing newline stripped. */
int cg_read(const char *cg, const char *file, char *buf, size_t len);
/* Reads a number; "max" reads as UINT64_MAX. */
int64_t cg_read_s64(const char *cg, const char *file);
uint64_t cg_read_u64(const char *cg, const char *file);
/* Value of "key N" in a flat keyed file, or -1. */
int64_t cg_read_key(const char *cg, const char *file, const char *key);

/* Memory limit, usage, peak and OOM kill count with the layout's files. */
int cg_set_limit(const char *cg, uint64_t bytes);
uint64_t cg_usage(const char *cg);
uint64_t cg_peak(const char *cg);
int cg_reset_peak(const char *cg);
int64_t cg_oom_kills(const char *cg);
/* Page cache reclaim stalls at the limit: failcnt (v1), max events (v2). */
int64_t cg_limit_hits(const char *cg);

/* Moves the calling process into @cg. */
int cg_enter(const char *cg);

/*
 * Runs fn(arg) in a child process placed in @cg.  The child signals
 * readiness by calling child_ready(); cg_spawn returns once it did (or
 * died).  Returns the pid.
 */
pid_t cg_spawn(const char *cg, int (*fn)(void *arg), void *arg);
void child_ready(void);

/* Allocates and touches @bytes of anonymous memory; returns 0 or -ENOMEM. */
int touch_anon(uint64_t bytes);

/* true if @pid died of SIGKILL (reaps it), false if still alive. */
bool killed(pid_t pid, int timeout_ms);
bool alive(pid_t pid);
void sleep_ms(int ms);
