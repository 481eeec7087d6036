// SPDX-License-Identifier: GPL-2.0
/*
 * memory.priority and memory.use_priority_oom: the interface files, and
 * the victim selection of a memcg OOM.
 *
 * The tree is the one of seed 003, section 2.2, under an OOMing memcg A:
 *
 *   A (use_priority_oom=1, limit 100M)
 *   +- C (priority 10)        "online"
 *   |  +- F (priority 1)      the task that pushes A over its limit
 *   |  +- G (priority 3)      a 40M hog
 *   +- D (priority 5)         "offline"
 *      +- H (priority 2)      a 16M hog
 *      +- I (priority 4)      a 16M hog
 *
 * Priorities only compare among siblings: D loses to C, so H goes first
 * although F has a lower priority than H; then I; C's subtree only when D
 * has nothing left, and there F before G.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"

#define T "memqos-test-prio"

static int hog(void *arg)
{
	uint64_t bytes = *(uint64_t *)arg;

	if (touch_anon(bytes) < 0)
		return 1;
	child_ready();
	for (;;)
		pause();
}

static pid_t spawn_hog(const char *cg, uint64_t bytes)
{
	return cg_spawn(cg, hog, &bytes);
}

static void test_files(void)
{
	char buf[64];
	int v;

	tap_ok(cg_has_file("", "memory.use_priority_oom"),
	       "root has memory.use_priority_oom");
	tap_ok(!cg_has_file("", "memory.priority"),
	       "root has no memory.priority");
	tap_ok(cg_read_s64("", "memory.use_priority_oom") >= 0,
	       "root memory.use_priority_oom is readable");

	if (cg_create(T) < 0)
		die("cannot create " T);
	tap_ok(cg_read_s64(T, "memory.priority") == 0, "priority defaults to 0");
	tap_ok(cg_read_s64(T, "memory.use_priority_oom") == 0,
	       "use_priority_oom defaults to 0");

	for (v = 0; v <= 12; v++)
		if (cg_write_u64(T, "memory.priority", v) < 0 ||
		    cg_read_s64(T, "memory.priority") != v)
			break;
	tap_ok(v == 13, "priority accepts 0..12");
	tap_ok(cg_write(T, "memory.priority", "13") == -EINVAL,
	       "priority 13 is EINVAL");
	tap_ok(cg_write(T, "memory.priority", "-1") == -EINVAL,
	       "priority -1 is EINVAL");
	tap_ok(cg_write(T, "memory.priority", "abc") == -EINVAL,
	       "priority abc is EINVAL");
	tap_ok(cg_read_s64(T, "memory.priority") == 12,
	       "a rejected write leaves the priority alone");

	tap_ok(cg_write(T, "memory.use_priority_oom", "1") == 0 &&
	       cg_read_s64(T, "memory.use_priority_oom") == 1,
	       "use_priority_oom accepts 1");
	tap_ok(cg_write(T, "memory.use_priority_oom", "2") == -EINVAL,
	       "use_priority_oom 2 is EINVAL");
	tap_ok(cg_write(T, "memory.use_priority_oom", "0") == 0 &&
	       cg_read_s64(T, "memory.use_priority_oom") == 0,
	       "use_priority_oom accepts 0");

	cg_write(T, "memory.priority", "7");
	cg_write(T, "memory.use_priority_oom", "1");
	cg_create(T "/child");
	tap_ok(cg_read_s64(T "/child", "memory.priority") == 0,
	       "priority is not inherited");
	tap_ok(cg_read_s64(T "/child", "memory.use_priority_oom") == 0,
	       "use_priority_oom is not inherited");
	tap_ok(cg_read(T "/child", "memory.priority", buf, sizeof(buf)) == 0 &&
	       strcmp(buf, "0") == 0, "priority reads as a plain number");
	cg_destroy(T "/child");
	cg_write(T, "memory.priority", "0");
	cg_write(T, "memory.use_priority_oom", "0");
}

static void make_tree(bool use_priority_oom)
{
	static const struct { const char *cg; const char *prio; } tree[] = {
		{ T "/A", "0" },
		{ T "/A/C", "10" }, { T "/A/C/F", "1" }, { T "/A/C/G", "3" },
		{ T "/A/D", "5" }, { T "/A/D/H", "2" }, { T "/A/D/I", "4" },
	};
	size_t i;

	for (i = 0; i < sizeof(tree) / sizeof(tree[0]); i++) {
		if (cg_create(tree[i].cg) < 0 ||
		    cg_write(tree[i].cg, "memory.priority", tree[i].prio) < 0)
			die("cannot set up %s", tree[i].cg);
	}
	if (cg_set_limit(T "/A", MB(100)) < 0 ||
	    cg_write_u64(T "/A", "memory.use_priority_oom",
			 use_priority_oom) < 0)
		die("cannot configure " T "/A");
}

static int64_t kills_in_c(void)
{
	return cg_oom_kills(T "/A/C/F") + cg_oom_kills(T "/A/C/G");
}

/*
 * Under TCG a victim can take long enough to release its memory that the
 * charging task OOMs a second time meanwhile and another task goes too,
 * as with the stock OOM killer.  That second victim is chosen by the same
 * rules from what is left, so the assertions below allow for it: they
 * check whom each OOM may hit, not that exactly one task died.
 */
static void test_priority_walk(void)
{
	pid_t g, h, i, t1;

	make_tree(true);
	g = spawn_hog(T "/A/C/G", MB(40));
	h = spawn_hog(T "/A/D/H", MB(16));
	i = spawn_hog(T "/A/D/I", MB(16));
	tap_diag("A holds %llu bytes before the first OOM",
		 (unsigned long long)cg_usage(T "/A"));

	/* 72M + 32M > 100M: the first OOM in A */
	t1 = spawn_hog(T "/A/C/F", MB(32));
	tap_ok(killed(h, 5000) && cg_oom_kills(T "/A/D/H") == 1,
	       "1st OOM: the victim is in H (D's lowest child)");
	tap_ok(kills_in_c() == 0 && alive(g) && alive(t1),
	       "1st OOM: nothing in C is touched while D has tasks");

	/* H is empty now: D's next child I */
	spawn_hog(T "/A/C/F", MB(16));
	tap_ok(killed(i, 5000) && cg_oom_kills(T "/A/D/I") == 1,
	       "2nd OOM: H is empty, the victim is in I");
	tap_ok(alive(g), "2nd OOM: G survives");

	/* D's subtree is empty: back up to C, F (priority 1) before G (3) */
	spawn_hog(T "/A/C/F", MB(16));
	tap_ok(cg_oom_kills(T "/A/C/F") >= 1,
	       "3rd OOM: D is empty, the victim is in F (priority 1)");
	tap_ok(alive(g) && cg_oom_kills(T "/A/C/G") == 0,
	       "G (priority 3) survives while F has tasks");
	tap_ok(killed(t1, 1000), "F lost its largest task");

	cg_destroy(T "/A");
}

static void test_stock(void)
{
	pid_t g, h, i;

	make_tree(false);
	g = spawn_hog(T "/A/C/G", MB(40));
	h = spawn_hog(T "/A/D/H", MB(16));
	i = spawn_hog(T "/A/D/I", MB(16));
	spawn_hog(T "/A/C/F", MB(32));
	tap_ok(killed(g, 5000),
	       "use_priority_oom=0: the largest task (in G) is killed");
	tap_ok(alive(h) && alive(i),
	       "use_priority_oom=0: the low priority tasks are left alone");
	cg_destroy(T "/A");
}

/*
 * Equal priorities: the memcg with the larger usage goes first, even
 * when its tasks are each smaller than a task elsewhere.  Y stays the
 * larger after losing one task, should a second OOM follow.
 */
static void test_tie(void)
{
	pid_t x, y[4], z;
	int k, ykilled = 0;

	if (cg_create(T "/tie") < 0 || cg_create(T "/tie/X") < 0 ||
	    cg_create(T "/tie/Y") < 0 || cg_create(T "/tie/Z") < 0 ||
	    cg_write(T "/tie/Z", "memory.priority", "12") < 0 ||
	    cg_set_limit(T "/tie", MB(160)) < 0 ||
	    cg_write(T "/tie", "memory.use_priority_oom", "1") < 0)
		die("cannot set up " T "/tie");

	x = spawn_hog(T "/tie/X", MB(40));
	for (k = 0; k < 4; k++)
		y[k] = spawn_hog(T "/tie/Y", MB(16));
	/* 40M + 64M + 60M > 160M; one task of Y is enough */
	z = spawn_hog(T "/tie/Z", MB(60));

	for (k = 0; k < 4; k++)
		ykilled += killed(y[k], k == 0 ? 5000 : 200);
	tap_ok(ykilled >= 1 && cg_oom_kills(T "/tie/Y") >= 1,
	       "tie: a task of Y (64M in 4 tasks) is killed");
	tap_ok(alive(x), "tie: X (40M in one task) survives");
	tap_ok(alive(z), "tie: the high priority charging task survives");
	cg_destroy(T "/tie");
}

int main(void)
{
	cg_test_setup("memory.use_priority_oom");

	cg_destroy(T);
	test_files();
	test_priority_walk();
	test_stock();
	test_tie();
	cg_destroy(T);
	return tap_exit();
}
