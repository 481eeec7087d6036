// SPDX-License-Identifier: GPL-2.0
/*
 * A global OOM with memory.use_priority_oom set on the root memcg.
 *
 * Run this in a throw-away guest only: it exhausts the machine's memory.
 *
 * LOW (priority 0) and HIGH (priority 12) hold a hog of a quarter of RAM
 * each; then a task in HIGH allocates what is still available plus an
 * eighth of RAM.  The stock OOM killer would take that task, the largest;
 * with root's flag set the victim must be in LOW, the largest of the
 * lowest priority children of the root, and killing it is enough.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cg.h"

#define LOW "memqos-test-goom-low"
#define HIGH "memqos-test-goom-high"

static int hog(void *arg)
{
	uint64_t bytes = *(uint64_t *)arg;
	FILE *f = fopen("/proc/self/oom_score_adj", "we");

	/* undo the parent's protection */
	if (f) {
		fputs("0", f);
		fclose(f);
	}
	if (touch_anon(bytes) < 0)
		return 1;
	child_ready();
	for (;;)
		pause();
}

/* MemAvailable counts the page cache that reclaim would free first. */
static uint64_t mem_available(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb << 10;
}

int main(void)
{
	struct sysinfo si;
	uint64_t ram;
	int64_t old_flag;
	pid_t low, high, trigger;
	FILE *f;

	cg_test_setup("memory.use_priority_oom");
	if (sysinfo(&si) < 0)
		die("sysinfo: %m");
	ram = (uint64_t)si.totalram * si.mem_unit;
	tap_diag("RAM %llu MiB", (unsigned long long)(ram >> 20));

	/* this process and whatever runs it must not be the victim */
	f = fopen("/proc/self/oom_score_adj", "we");
	if (!f || fputs("-1000", f) < 0 || fclose(f))
		die("cannot protect the test process");

	cg_destroy(LOW);
	cg_destroy(HIGH);
	if (cg_create(LOW) < 0 || cg_create(HIGH) < 0 ||
	    cg_write(HIGH, "memory.priority", "12") < 0)
		die("cannot set up the cgroups");
	old_flag = cg_read_s64("", "memory.use_priority_oom");
	if (cg_write("", "memory.use_priority_oom", "1") < 0)
		die("cannot set root's memory.use_priority_oom");

	uint64_t quarter = ram / 4, more;

	low = cg_spawn(LOW, hog, &quarter);
	high = cg_spawn(HIGH, hog, &quarter);
	more = mem_available() + ram / 8;
	tap_diag("hogs ready, now allocating %llu MiB in " HIGH,
		 (unsigned long long)(more >> 20));
	trigger = cg_spawn(HIGH, hog, &more);

	tap_ok(killed(low, 10000), "the victim is in the priority 0 child");
	tap_ok(alive(high) && alive(trigger),
	       "the tasks of the priority 12 child survive");
	tap_ok(cg_oom_kills(HIGH) == 0, "no OOM kill counted in the priority 12 child");

	cg_write_u64("", "memory.use_priority_oom", old_flag > 0);
	cg_destroy(LOW);
	cg_destroy(HIGH);
	return tap_exit();
}
