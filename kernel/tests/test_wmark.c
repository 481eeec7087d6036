// SPDX-License-Identifier: GPL-2.0
/*
 * Memcg watermarks and background reclaim: memory.wmark_ratio,
 * memory.wmark_scale_factor, memory.wmark_high, memory.wmark_low and
 * wmark_reclaim_work_ms in memory.exstat.
 *
 * usage: test_wmark [DATAFILE]
 *   DATAFILE (default /var/tmp/memqos-wmark.data) must be on a disk file
 *   system: its page cache is what the background reclaim frees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cg.h"

#define T "memqos-test-wmark"
#define DATA_SIZE MB(160)

static const char *data_path = "/var/tmp/memqos-wmark.data";

/* The kernel's arithmetic, in pages: see memcg_update_wmark(). */
static uint64_t page_counter_max(void)
{
	return INT64_MAX / cg_page_size;
}

static void expect_wmarks(uint64_t limit_pages, unsigned int ratio,
			  unsigned int scale, uint64_t *high, uint64_t *low)
{
	uint64_t gap;

	if (!ratio) {
		*high = *low = page_counter_max();
		return;
	}
	*high = limit_pages / 100 * ratio + limit_pages % 100 * ratio / 100;
	gap = limit_pages / 10000 * scale + limit_pages % 10000 * scale / 10000;
	*low = *high - (gap < *high ? gap : *high);
}

/* The file's content as the layout prints @pages. */
static bool wmark_file_is(const char *cg, const char *file, uint64_t pages)
{
	char buf[64], want[64];

	if (cg_read(cg, file, buf, sizeof(buf)) < 0)
		return false;
	if (pages == page_counter_max() && cg_layout == CG_V2)
		snprintf(want, sizeof(want), "max");
	else
		snprintf(want, sizeof(want), "%" PRIu64, pages * cg_page_size);
	if (strcmp(buf, want))
		tap_diag("%s/%s: \"%s\", expected \"%s\"", cg, file, buf, want);
	return strcmp(buf, want) == 0;
}

static bool wmarks_are(const char *cg, uint64_t limit_pages,
		       unsigned int ratio, unsigned int scale)
{
	uint64_t high, low;
	bool a, b;

	expect_wmarks(limit_pages, ratio, scale, &high, &low);
	a = wmark_file_is(cg, "memory.wmark_high", high);
	b = wmark_file_is(cg, "memory.wmark_low", low);
	return a && b;
}

static void test_files(void)
{
	static const char *const nonroot[] = {
		"memory.wmark_ratio", "memory.wmark_scale_factor",
		"memory.wmark_high", "memory.wmark_low",
	};
	const char *w = T "/w";
	size_t i;
	int v;

	for (i = 0; i < 4; i++)
		tap_ok(!cg_has_file("", nonroot[i]), "root has no %s", nonroot[i]);
	tap_ok(cg_has_file("", "memory.exstat"), "root has memory.exstat");

	if (cg_create(T) < 0 || cg_create(w) < 0)
		die("cannot create %s", w);
	for (i = 0; i < 4; i++)
		tap_ok(cg_has_file(w, nonroot[i]), "a child has %s", nonroot[i]);
	tap_ok(cg_read_key(w, "memory.exstat", "wmark_reclaim_work_ms") == 0,
	       "exstat: wmark_reclaim_work_ms starts at 0");
	tap_ok(cg_read_s64(w, "memory.wmark_ratio") == 0, "wmark_ratio defaults to 0");
	tap_ok(cg_read_s64(w, "memory.wmark_scale_factor") == 50,
	       "wmark_scale_factor defaults to 50");
	tap_ok(wmarks_are(w, page_counter_max(), 0, 50),
	       "ratio 0: both watermarks read as %s",
	       cg_layout == CG_V2 ? "max" : "the page counter maximum");

	for (v = 0; v <= 100; v++)
		if (cg_write_u64(w, "memory.wmark_ratio", v) < 0)
			break;
	tap_ok(v == 101, "wmark_ratio accepts 0..100");
	tap_ok(cg_write(w, "memory.wmark_ratio", "101") == -EINVAL,
	       "wmark_ratio 101 is EINVAL");
	tap_ok(cg_write(w, "memory.wmark_ratio", "-1") == -EINVAL,
	       "wmark_ratio -1 is EINVAL");
	tap_ok(cg_read_s64(w, "memory.wmark_ratio") == 100,
	       "a rejected ratio leaves the old one");
	tap_ok(cg_write(w, "memory.wmark_scale_factor", "0") == -EINVAL,
	       "wmark_scale_factor 0 is EINVAL");
	tap_ok(cg_write(w, "memory.wmark_scale_factor", "1001") == -EINVAL,
	       "wmark_scale_factor 1001 is EINVAL");
	tap_ok(cg_write(w, "memory.wmark_scale_factor", "1") == 0 &&
	       cg_write(w, "memory.wmark_scale_factor", "1000") == 0 &&
	       cg_read_s64(w, "memory.wmark_scale_factor") == 1000,
	       "wmark_scale_factor accepts 1 and 1000");
	tap_ok(cg_write(w, "memory.wmark_high", "1000") < 0 &&
	       cg_write(w, "memory.wmark_low", "1000") < 0,
	       "wmark_high and wmark_low are read-only");

	/* copied from the parent at creation, not afterwards */
	cg_write(w, "memory.wmark_ratio", "60");
	cg_write(w, "memory.wmark_scale_factor", "100");
	cg_create(T "/w/c1");
	tap_ok(cg_read_s64(T "/w/c1", "memory.wmark_ratio") == 60 &&
	       cg_read_s64(T "/w/c1", "memory.wmark_scale_factor") == 100,
	       "a new child copies ratio and scale factor of its parent");
	cg_write(w, "memory.wmark_ratio", "70");
	cg_write(w, "memory.wmark_scale_factor", "200");
	cg_create(T "/w/c2");
	tap_ok(cg_read_s64(T "/w/c1", "memory.wmark_ratio") == 60 &&
	       cg_read_s64(T "/w/c1", "memory.wmark_scale_factor") == 100,
	       "later parent changes do not reach an existing child");
	tap_ok(cg_read_s64(T "/w/c2", "memory.wmark_ratio") == 70 &&
	       cg_read_s64(T "/w/c2", "memory.wmark_scale_factor") == 200,
	       "a child created later copies the new values");
	cg_destroy(w);
}

static void set_knobs(const char *cg, unsigned int ratio, unsigned int scale)
{
	if (cg_write_u64(cg, "memory.wmark_scale_factor", scale) < 0 ||
	    cg_write_u64(cg, "memory.wmark_ratio", ratio) < 0)
		die("cannot set watermarks of %s", cg);
}

static void test_arithmetic(void)
{
	static const struct { uint64_t pages; unsigned int ratio, scale; } c[] = {
		{ 25600, 80, 50 }, { 25600, 80, 1000 }, { 12347, 33, 7 },
		{ 12347, 100, 1000 }, { 25600, 5, 1000 }, { 25600, 1, 1 },
	};
	const char *w = T "/arith";
	size_t i;

	if (cg_create(w) < 0)
		die("cannot create %s", w);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cg_set_limit(w, c[i].pages * cg_page_size);
		set_knobs(w, c[i].ratio, c[i].scale);
		tap_ok(wmarks_are(w, c[i].pages, c[i].ratio, c[i].scale),
		       "limit %" PRIu64 " pages, ratio %u, scale %u",
		       c[i].pages, c[i].ratio, c[i].scale);
	}

	set_knobs(w, 80, 50);
	cg_set_limit(w, MB(200));
	tap_ok(wmarks_are(w, MB(200) / cg_page_size, 80, 50),
	       "raising the limit recomputes the watermarks");
	cg_set_limit(w, MB(50));
	tap_ok(wmarks_are(w, MB(50) / cg_page_size, 80, 50),
	       "lowering the limit recomputes the watermarks");
	cg_write(w, "memory.wmark_scale_factor", "300");
	tap_ok(wmarks_are(w, MB(50) / cg_page_size, 80, 300),
	       "writing the scale factor recomputes wmark_low");

	if (cg_layout == CG_V2) {
		cg_write(w, "memory.high", "31457280");
		tap_ok(wmarks_are(w, MB(30) / cg_page_size, 80, 300),
		       "memory.high below memory.max is the limit");
		cg_write(w, "memory.max", "max");
		tap_ok(wmarks_are(w, MB(30) / cg_page_size, 80, 300),
		       "memory.max=max: memory.high stays the limit");
		cg_write(w, "memory.high", "max");
		tap_ok(wmarks_are(w, page_counter_max(), 80, 300),
		       "no limit at all: watermarks from the counter maximum");
		cg_write(w, "memory.max", "41943040");
	} else {
		cg_set_limit(w, (uint64_t)-1 >> 1);
		tap_ok(wmarks_are(w, page_counter_max(), 80, 300),
		       "no limit: watermarks from the counter maximum");
		cg_set_limit(w, MB(40));
	}
	tap_ok(wmarks_are(w, MB(40) / cg_page_size, 80, 300),
	       "setting a limit again recomputes the watermarks");
	cg_write(w, "memory.wmark_ratio", "0");
	tap_ok(wmarks_are(w, MB(40) / cg_page_size, 0, 300),
	       "ratio 0 with a limit: watermarks disabled");
	cg_destroy(w);
}

/* --- background reclaim --- */

static int drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int r = 0;

	sync();
	if (fd < 0 || write(fd, "3", 1) != 1)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

static int make_data_file(void)
{
	static char buf[1 << 20];
	struct statfs sfs;
	uint64_t off;
	int fd;

	fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type == TMPFS_MAGIC ||
	    sfs.f_type == RAMFS_MAGIC) {
		close(fd);
		unlink(data_path);
		return -EOPNOTSUPP;
	}
	memset(buf, 'm', sizeof(buf));
	for (off = 0; off < DATA_SIZE; off += sizeof(buf))
		if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
			close(fd);
			return -EIO;
		}
	fsync(fd);
	close(fd);
	return drop_caches();
}

struct reader {
	uint64_t bytes;		/* how much of the file to read per pass */
	bool forever;		/* keep reading, else read once and wait */
};

/* Fills the page cache with clean pages of the data file. */
static int reader(void *arg)
{
	const struct reader *r = arg;
	static char buf[256 << 10];
	int fd = open(data_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	do {
		uint64_t off;

		for (off = 0; off < r->bytes; off += sizeof(buf))
			if (pread(fd, buf, sizeof(buf), off) <= 0)
				return 1;
	} while (r->forever);
	child_ready();
	for (;;)
		pause();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/*
 * A page cache filler in a child of P keeps reading a file twice P's limit
 * in size: P's usage must cross wmark_high, come back below wmark_low
 * without the filler doing it (P never reaches its limit), and the time
 * spent shows in wmark_reclaim_work_ms of P and its ancestors.
 */
static void test_background_reclaim(void)
{
	const char *p = T "/bg", *w = T "/bg/w";
	struct reader r = { DATA_SIZE, true };
	uint64_t high, low, usage, start, min_after = UINT64_MAX, max = 0;
	int64_t ms_p0, ms_t0, ms_root0, ms_p, ms_t, ms_root, hits;
	bool crossed = false, below_low = false;
	pid_t pid;

	if (cg_create(p) < 0 || cg_create(w) < 0 || cg_set_limit(p, MB(64)) < 0)
		die("cannot set up %s", w);
	set_knobs(p, 50, 1000);
	high = cg_read_u64(p, "memory.wmark_high");
	low = cg_read_u64(p, "memory.wmark_low");
	tap_diag("P: limit 64M, wmark_high %" PRIu64 ", wmark_low %" PRIu64,
		 high, low);
	ms_p0 = cg_read_key(p, "memory.exstat", "wmark_reclaim_work_ms");
	ms_t0 = cg_read_key(T, "memory.exstat", "wmark_reclaim_work_ms");
	ms_root0 = cg_read_key("", "memory.exstat", "wmark_reclaim_work_ms");
	drop_caches();

	/* cg_spawn waits for readiness, which a forever reader never
	 * signals: start it through a child that reports at once */
	pid = fork();
	if (pid == 0) {
		if (cg_enter(w) < 0)
			_exit(99);
		_exit(reader(&r));
	}
	start = now_ms();
	while (now_ms() - start < 8000) {
		usage = cg_usage(p);
		if (usage > max)
			max = usage;
		if (usage >= high)
			crossed = true;
		else if (crossed && usage < min_after)
			min_after = usage;
		if (crossed && usage < low)
			below_low = true;
		usleep(200);
	}
	hits = cg_limit_hits(p);
	tap_ok(alive(pid), "the filler still runs after 8 s");
	tap_ok(crossed, "P's usage crossed wmark_high (max seen %" PRIu64 ")", max);
	tap_ok(below_low, "P's usage came back below wmark_low while the filler "
	       "runs (lowest after crossing: %" PRIu64 ")", min_after);
	tap_ok(hits == 0, "P never hit its limit: no direct reclaim (%" PRId64
	       " limit hits)", hits);
	cg_destroy(w);

	ms_p = cg_read_key(p, "memory.exstat", "wmark_reclaim_work_ms");
	ms_t = cg_read_key(T, "memory.exstat", "wmark_reclaim_work_ms");
	ms_root = cg_read_key("", "memory.exstat", "wmark_reclaim_work_ms");
	tap_diag("wmark_reclaim_work_ms: P %" PRId64 ", parent %" PRId64
		 ", root %" PRId64, ms_p, ms_t, ms_root);
	tap_ok(ms_p > ms_p0, "wmark_reclaim_work_ms of P grew");
	tap_ok(ms_t - ms_t0 >= ms_p - ms_p0 && ms_root - ms_root0 >= ms_p - ms_p0,
	       "the parent's and root's wmark_reclaim_work_ms grew as much");
	cg_destroy(p);
}

/*
 * P's usage sits between its watermarks' old and new places: changing
 * @what (a limit file or the ratio) must queue the work by itself.
 */
static void test_queue_on_change(const char *what)
{
	const char *q = T "/q", *w = T "/q/w";
	struct reader r = { MB(48), false };
	uint64_t usage, low = 0, start;
	bool low_reached = false;
	pid_t pid;

	cg_destroy(q);
	if (cg_create(q) < 0 || cg_create(w) < 0 || cg_set_limit(q, MB(128)) < 0)
		die("cannot set up %s", w);
	/* ratio 50 of 128M: wmark_high at 64M stays above the 48M we fill */
	set_knobs(q, strcmp(what, "memory.wmark_ratio") ? 50 : 0, 1000);
	drop_caches();
	pid = cg_spawn(w, reader, &r);
	sleep_ms(500);
	usage = cg_usage(q);
	tap_ok(usage >= MB(40), "%s: 48M of page cache stay below wmark_high "
	       "(usage %" PRIu64 ")", what, usage);

	if (!strcmp(what, "memory.wmark_ratio"))
		cg_write(q, what, "25");
	else
		cg_write_u64(q, what, MB(80));
	low = cg_read_u64(q, "memory.wmark_low");
	start = now_ms();
	while (!low_reached && now_ms() - start < 5000) {
		usage = cg_usage(q);
		low_reached = usage <= low;
		sleep_ms(20);
	}
	tap_ok(low_reached, "%s: usage went down to wmark_low %" PRIu64
	       " (now %" PRIu64 ")", what, low, usage);
	tap_ok(alive(pid), "%s: the task was not touched", what);
	cg_destroy(q);
}

int main(int argc, char **argv)
{
	int r;

	if (argc > 1)
		data_path = argv[1];
	cg_test_setup("memory.exstat");

	cg_destroy(T);
	test_files();
	test_arithmetic();

	r = make_data_file();
	if (r < 0) {
		tap_skip("background reclaim: no disk file at %s (%s)", data_path,
			 strerror(-r));
	} else {
		test_background_reclaim();
		test_queue_on_change("memory.wmark_ratio");
		if (cg_layout == CG_V1) {
			test_queue_on_change("memory.limit_in_bytes");
		} else {
			test_queue_on_change("memory.max");
			test_queue_on_change("memory.high");
		}
		unlink(data_path);
	}
	cg_destroy(T);
	return tap_exit();
}
