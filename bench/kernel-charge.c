// SPDX-License-Identifier: GPL-2.0
/*
 * Page fault microbenchmark inside one memcg: the cost that the memqos
 * kernel patches add to the charge path.
 *
 * Creates memqos-bench-charge under the memory controller (v1 or v2),
 * moves itself in, then repeatedly maps, touches and unmaps 64 MiB of
 * anonymous memory; every touch is a page fault that charges a page.
 * With "on", the patched features are armed on the memcg without ever
 * firing: use_priority_oom=1 and a watermark far above the usage, so that
 * every charge batch runs the watermark check.  Prints the best ns per
 * fault over the rounds, as "ns_per_fault off|on <value>" ("on" only on a
 * patched kernel).
 *
 * usage: kernel-charge [ROUNDS]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kernel/tests/cg.h"

#define CG "memqos-bench-charge"
#define SIZE MB(64)
#ifndef DEFAULT_ROUNDS
#define DEFAULT_ROUNDS 20
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static double one_round(void)
{
	uint64_t start, off;
	char *p;

	p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap: %m");
	start = now_ns();
	for (off = 0; off < SIZE; off += cg_page_size)
		p[off] = 1;
	start = now_ns() - start;
	munmap(p, SIZE);
	return (double)start / (SIZE / cg_page_size);
}

static double measure(bool on, int rounds)
{
	double best = 1e18;
	int i;

	cg_destroy(CG);
	if (cg_create(CG) < 0 || cg_set_limit(CG, MB(1024)) < 0)
		die("cannot create " CG);
	if (on && (cg_write(CG, "memory.use_priority_oom", "1") < 0 ||
		   cg_write(CG, "memory.wmark_ratio", "90") < 0))
		die("the kernel lacks the memqos files");
	if (cg_enter(CG) < 0)
		die("cannot enter " CG);

	one_round();	/* warm up page tables and the allocator */
	for (i = 0; i < rounds; i++) {
		double ns = one_round();

		if (ns < best)
			best = ns;
	}
	cg_enter("");
	cg_destroy(CG);
	return best;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_ROUNDS;
	bool patched;
	double off = 1e18, on = 1e18;
	int i;

	if (!cg_init())
		die("no memory cgroup controller found");
	patched = cg_has_file("", "memory.use_priority_oom");

	/* interleave the modes so that drift hits both alike */
	for (i = 0; i < 3; i++) {
		double v = measure(false, rounds);

		off = v < off ? v : off;
		if (patched) {
			v = measure(true, rounds);
			on = v < on ? v : on;
		}
	}
	printf("ns_per_fault off %.1f\n", off);
	if (patched)
		printf("ns_per_fault on %.1f\n", on);
	return 0;
}
