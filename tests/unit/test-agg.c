// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for common/model/agg.c: exact per-thread and per-file counts,
 * distinct pages with repeats, latency min/max/total, log2 histogram
 * buckets, merging of ready rows and the snapshot sort order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "tests/tap.h"

static struct pfw_event ev_file(int32_t pid, int32_t tid, enum pfw_kind kind, uint32_t maj,
				uint32_t min, uint64_t ino, uint64_t off, const char *path)
{
	struct pfw_event e = {
		.pid = pid,
		.tid = tid,
		.kind = kind,
		.dev_major = maj,
		.dev_minor = min,
		.inode = ino,
		.offset = off,
		.path = path,
		.addr = 0x7f0000000000ull + off,
		.flags = PFW_EV_FILE | PFW_EV_ADDR,
	};
	return e;
}

static struct pfw_event ev_anon(int32_t pid, int32_t tid, enum pfw_kind kind, uint64_t addr,
				const char *path)
{
	struct pfw_event e = {.pid = pid,
			      .tid = tid,
			      .kind = kind,
			      .addr = addr,
			      .path = path,
			      .flags = PFW_EV_ADDR};
	return e;
}

static const struct pfw_thread_stats *thread_of(struct pfw_thread_stats *t, size_t n, int32_t tid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].tid == tid)
			return &t[i];
	return NULL;
}

static const struct pfw_file_stats *file_of(struct pfw_file_stats *f, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(f[i].path, path))
			return &f[i];
	return NULL;
}

static void test_counts(void)
{
	struct pfw_agg *a = pfw_agg_new();
	struct pfw_thread_stats *t;
	struct pfw_file_stats *f;
	const struct pfw_thread_stats *ts;
	const struct pfw_file_stats *fs;
	const struct pfw_totals *tot;
	struct pfw_event e;
	char transient[64];
	size_t nt, nf;
	int i;

	/* /data/a (8:1 #10): pages 0, 1, 0 again, 2 (offset inside), from two threads */
	e = ev_file(100, 100, PFW_MAJOR, 8, 1, 10, 0, "/data/a");
	pfw_agg_add(a, &e, NULL);
	e = ev_file(100, 101, PFW_MAJOR, 8, 1, 10, 4096, "/data/a");
	pfw_agg_add(a, &e, NULL);
	e = ev_file(100, 101, PFW_MINOR, 8, 1, 10, 0, "/data/a");
	pfw_agg_add(a, &e, NULL);
	e = ev_file(200, 200, PFW_MAJOR, 8, 1, 10, 8192, "/data/a");
	pfw_agg_add(a, &e, NULL);
	/* same path text, other inode: a different file row */
	e = ev_file(100, 100, PFW_MINOR, 8, 1, 11, 0, "/data/a");
	pfw_agg_add(a, &e, NULL);
	/* the event's path is a transient buffer: agg must keep its own copy */
	snprintf(transient, sizeof(transient), "/data/b (deleted)");
	e = ev_file(100, 100, PFW_MAJOR, 8, 2, 10, 3 * 4096, transient);
	pfw_agg_add(a, &e, NULL);
	memset(transient, 'X', sizeof(transient) - 1);

	/* [heap]: pid 100 addr pages 0x1000 x3 + 0x2000; pid 200 same address */
	for (i = 0; i < 3; i++) {
		e = ev_anon(100, 100, PFW_MINOR, 0x1000 + (uint64_t)i * 8, "[heap]");
		pfw_agg_add(a, &e, NULL);
	}
	e = ev_anon(100, 101, PFW_MINOR, 0x2fff, "[heap]");
	pfw_agg_add(a, &e, NULL);
	e = ev_anon(200, 200, PFW_MINOR, 0x1000, "[heap]");
	pfw_agg_add(a, &e, NULL);
	/* no address: counted, but no page */
	e = ev_anon(200, 200, PFW_MINOR, 0, "[heap]");
	e.flags = 0;
	pfw_agg_add(a, &e, NULL);
	/* path NULL: [unknown] */
	e = ev_anon(300, 301, PFW_MAJOR, 0x5000, NULL);
	pfw_agg_add(a, &e, NULL);

	tot = pfw_agg_totals(a);
	tap_is_u64(tot->faults, 13, "totals: faults");
	tap_is_u64(tot->major, 5, "totals: major");
	tap_is_u64(tot->minor, 8, "totals: minor");

	nt = pfw_agg_threads(a, &t);
	tap_is_u64(nt, 4, "threads: 4 tids");
	ts = thread_of(t, nt, 100);
	tap_ok(ts && ts->pid == 100 && ts->major == 2 && ts->minor == 4,
	       "thread 100: 2 major 4 minor");
	ts = thread_of(t, nt, 101);
	tap_ok(ts && ts->pid == 100 && ts->major == 1 && ts->minor == 2,
	       "thread 101: 1 major 2 minor");
	ts = thread_of(t, nt, 200);
	tap_ok(ts && ts->major == 1 && ts->minor == 2, "thread 200: 1 major 2 minor");
	ts = thread_of(t, nt, 301);
	tap_ok(ts && ts->pid == 300 && ts->major == 1 && ts->minor == 0, "thread 301: pid 300");
	tap_ok(ts && ts->lat_count == 0, "thread 301: no latency measured");

	nf = pfw_agg_files(a, &f);
	tap_is_u64(nf, 5, "files: 5 rows");
	fs = &f[0];
	tap_ok(!strcmp(fs->path, "/data/a") && fs->inode == 10 && fs->file && fs->dev_major == 8 &&
		       fs->dev_minor == 1,
	       "files: /data/a #10 first (most major)");
	tap_is_u64(fs->major, 3, "/data/a #10: major");
	tap_is_u64(fs->minor, 1, "/data/a #10: minor");
	tap_is_u64(fs->pages, 3, "/data/a #10: 3 distinct pages out of 4 faults, across pids");
	fs = file_of(f, nf, "/data/b (deleted)");
	tap_ok(fs && fs->major == 1 && fs->pages == 1 && fs->dev_minor == 2,
	       "transient path copied: /data/b (deleted) 8:2");
	fs = file_of(f, nf, "[heap]");
	tap_ok(fs && !fs->file && fs->minor == 6 && fs->major == 0, "[heap]: 6 minor, not a file");
	tap_is_u64(fs ? fs->pages : 0, 3,
		   "[heap]: pages per (pid, address): 2 + 1, none without addr");
	fs = file_of(f, nf, "[unknown]");
	tap_ok(fs && fs->major == 1 && fs->pages == 1, "NULL path: [unknown]");
	/* the second /data/a row: inode 11 */
	tap_ok(f[4].inode == 11 && !strcmp(f[4].path, "/data/a") && f[4].minor == 1,
	       "same name, other inode: own row, sorted last");
	free(t);
	free(f);

	pfw_agg_reset(a);
	tap_is_u64(pfw_agg_totals(a)->faults, 0, "reset: totals zero");
	tap_is_u64(pfw_agg_threads(a, &t), 0, "reset: no threads");
	tap_ok(t == NULL, "reset: empty snapshot is NULL");
	tap_is_u64(pfw_agg_files(a, &f), 0, "reset: no files");
	/* pages seen before a reset count again after it */
	e = ev_file(100, 100, PFW_MAJOR, 8, 1, 10, 0, "/data/a");
	pfw_agg_add(a, &e, NULL);
	nf = pfw_agg_files(a, &f);
	tap_ok(nf == 1 && f[0].pages == 1 && f[0].major == 1, "reset: page counted again");
	free(f);
	pfw_agg_free(a);
}

static void test_latency(void)
{
	struct pfw_agg *a = pfw_agg_new();
	static const uint64_t lat[] = {1, 3, 1000, 1500, 0, 1ull << 40};
	struct pfw_thread_stats *t;
	struct pfw_file_stats *f;
	const struct pfw_totals *tot;
	struct pfw_event e;
	size_t i, nt, nf;

	for (i = 0; i < 6; i++) {
		e = ev_file(7, 7, i < 4 ? PFW_MAJOR : PFW_MINOR, 8, 1, 5, i * 4096, "/f");
		e.flags |= PFW_EV_LATENCY;
		e.latency_ns = lat[i];
		pfw_agg_add(a, &e, NULL);
	}
	/* unmeasured: counted as a fault, not in the latency figures */
	e = ev_file(7, 7, PFW_MAJOR, 8, 1, 5, 0, "/f");
	e.latency_ns = 999999;
	pfw_agg_add(a, &e, NULL);

	nt = pfw_agg_threads(a, &t);
	tap_ok(nt == 1 && t[0].major == 5 && t[0].minor == 2, "latency: thread counts");
	tap_is_u64(t[0].lat_count, 6, "latency: thread lat_count excludes unmeasured");
	tap_is_u64(t[0].lat_min_ns, 0, "latency: thread min (a measured 0 counts)");
	tap_is_u64(t[0].lat_max_ns, 1ull << 40, "latency: thread max");
	tap_is_u64(t[0].lat_total_ns, 1 + 3 + 1000 + 1500 + (1ull << 40), "latency: thread total");
	nf = pfw_agg_files(a, &f);
	tap_ok(nf == 1 && f[0].lat_count == 6 && f[0].lat_min_ns == 0 &&
		       f[0].lat_max_ns == 1ull << 40 && f[0].pages == 6,
	       "latency: file row");
	tot = pfw_agg_totals(a);
	tap_is_u64(tot->hist[PFW_MAJOR][0], 1, "hist: major 1ns in bucket 0 [0,2)");
	tap_is_u64(tot->hist[PFW_MAJOR][1], 1, "hist: major 3ns in bucket 1 [2,4)");
	tap_is_u64(tot->hist[PFW_MAJOR][9], 1, "hist: major 1000ns in bucket 9 [512,1024)");
	tap_is_u64(tot->hist[PFW_MAJOR][10], 1, "hist: major 1500ns in bucket 10 [1024,2048)");
	tap_is_u64(tot->hist[PFW_MINOR][0], 1, "hist: minor 0ns in bucket 0");
	tap_is_u64(tot->hist[PFW_MINOR][40], 1, "hist: minor 2^40ns in bucket 40");
	{
		uint64_t sum = 0;
		int k, b;

		for (k = 0; k < 2; k++)
			for (b = 0; b < PFW_HIST_BUCKETS; b++)
				sum += tot->hist[k][b];
		tap_is_u64(sum, 6, "hist: only measured faults, each once");
	}
	tap_is_u64(pfw_hist_bucket(UINT64_MAX), 63, "hist: UINT64_MAX in bucket 63");
	tap_is_u64(pfw_hist_bucket(2), 1, "hist: 2 in bucket 1");
	pfw_agg_add_hist(a, PFW_MAJOR, 9, 10);
	pfw_agg_add_hist(a, PFW_MAJOR, 64, 10);
	tap_is_u64(tot->hist[PFW_MAJOR][9], 11,
		   "add_hist: adds to the bucket, out of range ignored");
	free(t);
	free(f);
	pfw_agg_free(a);
}

static void test_merge(void)
{
	struct pfw_agg *a = pfw_agg_new();
	struct pfw_thread_stats r, *t;
	struct pfw_file_stats fr, *f;
	struct pfw_event e;
	size_t nt, nf;

	memset(&r, 0, sizeof(r));
	r.pid = 50;
	r.tid = 51;
	strcpy(r.comm, "old");
	r.major = 4;
	r.minor = 6;
	r.lat_count = 4;
	r.lat_total_ns = 400;
	r.lat_min_ns = 50;
	r.lat_max_ns = 200;
	pfw_agg_add_thread(a, &r);
	/* a row without latency: its zero min must not win */
	memset(&r, 0, sizeof(r));
	r.pid = 50;
	r.tid = 51;
	r.major = 1;
	pfw_agg_add_thread(a, &r);
	r.lat_count = 2;
	r.lat_total_ns = 100;
	r.lat_min_ns = 20;
	r.lat_max_ns = 80;
	r.major = 0;
	r.minor = 2;
	strcpy(r.comm, "new");
	pfw_agg_add_thread(a, &r);
	/* and an event on the same tid */
	e = ev_anon(50, 51, PFW_MAJOR, 0x1000, "[anon]");
	e.flags |= PFW_EV_LATENCY | PFW_EV_COMM;
	e.latency_ns = 300;
	strcpy(e.comm, "newest");
	pfw_agg_add(a, &e, NULL);

	nt = pfw_agg_threads(a, &t);
	tap_is_u64(nt, 1, "merge: one thread row");
	tap_is_u64(t[0].major, 6, "merge: major adds up");
	tap_is_u64(t[0].minor, 8, "merge: minor adds up");
	tap_is_u64(t[0].lat_count, 7, "merge: lat_count adds up");
	tap_is_u64(t[0].lat_total_ns, 800, "merge: total adds up");
	tap_is_u64(t[0].lat_min_ns, 20, "merge: min of mins, lat_count 0 rows ignored");
	tap_is_u64(t[0].lat_max_ns, 300, "merge: max of maxes");
	tap_is_str(t[0].comm, "newest", "merge: last comm wins");
	tap_is_u64(pfw_agg_totals(a)->faults, 14, "merge: thread rows feed the totals");
	tap_is_u64(pfw_agg_totals(a)->major, 6, "merge: major total");
	free(t);

	memset(&fr, 0, sizeof(fr));
	fr.path = "/x";
	fr.file = true;
	fr.inode = 9;
	fr.dev_major = 259;
	fr.dev_minor = 1;
	fr.major = 3;
	fr.pages = 3;
	pfw_agg_add_file(a, &fr);
	fr.major = 2;
	fr.pages = 1;
	fr.lat_count = 2;
	fr.lat_min_ns = 7;
	fr.lat_max_ns = 9;
	fr.lat_total_ns = 16;
	pfw_agg_add_file(a, &fr);
	e = ev_file(50, 51, PFW_MINOR, 259, 1, 9, 4096 * 100, "/x");
	pfw_agg_add(a, &e, NULL);
	nf = pfw_agg_files(a, &f);
	tap_is_u64(nf, 2, "merge files: /x and [anon]");
	tap_ok(!strcmp(f[0].path, "/x") && f[0].major == 5 && f[0].minor == 1 && f[0].pages == 5 &&
		       f[0].lat_count == 2 && f[0].lat_min_ns == 7 && f[0].lat_max_ns == 9,
	       "merge files: rows and an event with one key add up");
	tap_is_u64(pfw_agg_totals(a)->faults, 15, "merge files: file rows do not feed totals");
	free(f);
	pfw_agg_free(a);
}

static void test_sort(void)
{
	struct pfw_agg *a = pfw_agg_new();
	struct pfw_thread_stats *t;
	struct pfw_file_stats *f;
	struct pfw_event e;
	/* tid, major, minor */
	static const int th[][3] = {
		{9, 1, 5}, {3, 2, 0}, {7, 1, 5}, {5, 1, 9}, {1, 0, 1},
	};
	static const char *const paths[] = {"/b", "/a", "[heap]", "/c"};
	static const int fmaj[] = {1, 1, 0, 2}, fmin[] = {0, 0, 3, 0};
	size_t i, n;
	int k;
	char order[64] = "";

	for (i = 0; i < 5; i++) {
		for (k = 0; k < th[i][1]; k++) {
			e = ev_anon(1, th[i][0], PFW_MAJOR, 0x1000, "[anon]");
			pfw_agg_add(a, &e, NULL);
		}
		for (k = 0; k < th[i][2]; k++) {
			e = ev_anon(1, th[i][0], PFW_MINOR, 0x1000, "[anon]");
			pfw_agg_add(a, &e, NULL);
		}
	}
	n = pfw_agg_threads(a, &t);
	for (i = 0; i < n; i++)
		snprintf(order + strlen(order), sizeof(order) - strlen(order), "%d ", t[i].tid);
	tap_is_str(order, "3 5 7 9 1 ", "sort threads: major desc, minor desc, tid asc");
	free(t);

	pfw_agg_reset(a);
	for (i = 0; i < 4; i++) {
		for (k = 0; k < fmaj[i]; k++) {
			e = ev_anon(1, 1, PFW_MAJOR, 0x1000, paths[i]);
			pfw_agg_add(a, &e, NULL);
		}
		for (k = 0; k < fmin[i]; k++) {
			e = ev_anon(1, 1, PFW_MINOR, 0x1000, paths[i]);
			pfw_agg_add(a, &e, NULL);
		}
	}
	n = pfw_agg_files(a, &f);
	order[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(order + strlen(order), sizeof(order) - strlen(order), "%s ", f[i].path);
	tap_is_str(order, "/c /a /b [heap] ", "sort files: major desc, minor desc, path asc");
	free(f);
	pfw_agg_free(a);
}

/* many threads and pages: the tables grow without losing counts */
static void test_growth(void)
{
	struct pfw_agg *a = pfw_agg_new();
	struct pfw_thread_stats *t;
	struct pfw_file_stats *f;
	struct pfw_event e;
	size_t i, n, ok = 0;

	for (i = 0; i < 200000; i++) {
		e = ev_file(1, (int32_t)(i % 5000) + 1, PFW_MAJOR, 8, 1, 1 + i % 3,
			    (i % 50000) * 4096, "/big");
		pfw_agg_add(a, &e, NULL);
	}
	n = pfw_agg_threads(a, &t);
	for (i = 0; i < n; i++)
		ok += t[i].major == 40;
	tap_ok(n == 5000 && ok == 5000, "growth: 5000 threads with 40 faults each");
	n = pfw_agg_files(a, &f);
	/* inode i%3 sees offsets i%50000 for i in one residue class mod 3: all 50000 */
	tap_ok(n == 3 && f[0].pages == 50000 && f[1].pages == 50000 && f[2].pages == 50000,
	       "growth: 3 files, 50000 distinct pages each");
	free(t);
	free(f);
	pfw_agg_free(a);
}

/* pages share set slots by runs of 64: bits at the edges of a run, far pages, pids */
static void test_page_runs(void)
{
	static const uint64_t pg[] = {0, 63, 64, 127, 128, 0, 63, 1ull << 30, (1ull << 30) + 1, 65};
	struct pfw_agg *a = pfw_agg_new();
	const struct pfw_file_stats *fs;
	struct pfw_file_stats *f;
	struct pfw_event e;
	size_t n;

	for (size_t i = 0; i < sizeof(pg) / sizeof(pg[0]); i++) {
		e = ev_file(1, 1, PFW_MINOR, 8, 1, 7, pg[i] * 4096, "/runs");
		pfw_agg_add(a, &e, NULL);
	}
	/* the same two anonymous pages in two processes: four distinct pages */
	for (int32_t pid = 1; pid <= 2; pid++)
		for (int r = 0; r < 2; r++) {
			e = ev_anon(pid, pid, PFW_MINOR, 0x7f0000005000ull, "[anon]");
			pfw_agg_add(a, &e, NULL);
			e = ev_anon(pid, pid, PFW_MINOR, 0x7f0000005000ull + 64 * 4096, "[anon]");
			pfw_agg_add(a, &e, NULL);
		}
	n = pfw_agg_files(a, &f);
	fs = file_of(f, n, "/runs");
	tap_is_u64(fs ? fs->pages : 0, 8, "page runs: 0 63 64 127 128 65 and two far pages");
	fs = file_of(f, n, "[anon]");
	tap_is_u64(fs ? fs->pages : 0, 4, "page runs: same anonymous pages in two pids");
	free(f);
	pfw_agg_free(a);
}

/*
 * Inode reuse: ext4 gives a new file the inode number of one just deleted.
 * Streamed faults carry no generation: rows split by name. " (deleted)" is
 * the same file, unlinked while mapped. Rows with a generation (bpf's
 * in-kernel rows) split by it whatever their names.
 */
static void test_inode_reuse(void)
{
	struct pfw_agg *a = pfw_agg_new();
	const struct pfw_file_stats *fs;
	struct pfw_file_stats *f, r = {0};
	struct pfw_event e;
	size_t n;
	char b2[] = "/data/b";

	for (int i = 0; i < 3; i++) {
		e = ev_file(1, 1, PFW_MAJOR, 8, 1, 42, i * 4096, "/data/a");
		pfw_agg_add(a, &e, NULL);
	}
	e = ev_file(2, 2, PFW_MAJOR, 8, 1, 42, 8192, "/data/a (deleted)");
	pfw_agg_add(a, &e, NULL);
	/* another pointer to the same name, as a replayed recording gives */
	for (int i = 0; i < 2; i++) {
		e = ev_file(3, 3, PFW_MAJOR, 8, 1, 42, i * 4096, i ? b2 : "/data/b");
		pfw_agg_add(a, &e, NULL);
	}
	e = ev_file(1, 1, PFW_MAJOR, 8, 1, 42, 4096, "/data/a");
	pfw_agg_add(a, &e, NULL);
	n = pfw_agg_files(a, &f);
	tap_is_u64(n, 2, "inode reuse: one row per name on the same (dev, inode)");
	fs = file_of(f, n, "/data/a");
	tap_is_u64(fs ? fs->major : 0, 5, "inode reuse: /data/a and its (deleted) name: 5 faults");
	tap_is_u64(fs ? fs->pages : 0, 3, "inode reuse: /data/a: 3 distinct pages");
	fs = file_of(f, n, "/data/b");
	tap_is_u64(fs ? fs->major : 0, 2, "inode reuse: /data/b: its own 2 faults");
	tap_is_u64(fs ? fs->pages : 0, 2, "inode reuse: /data/b: its own 2 pages");
	free(f);
	pfw_agg_free(a);

	a = pfw_agg_new();
	r.file = true;
	r.inode = 42;
	r.dev_major = 8;
	r.dev_minor = 1;
	r.major = 1;
	for (uint32_t gen = 1; gen <= 3; gen++) {
		r.gen = gen;
		r.path = "/data/same-name";
		pfw_agg_add_file(a, &r);
	}
	n = pfw_agg_files(a, &f);
	tap_is_u64(n, 3, "inode generations: one row each, even under one name");
	tap_ok(pfw_agg_file_path(a, 42, 8, 1, 2) != NULL,
	       "pfw_agg_file_path finds (dev, ino, gen)");
	tap_ok(pfw_agg_file_path(a, 42, 8, 1, 4) == NULL, "pfw_agg_file_path: no such generation");
	free(f);
	pfw_agg_free(a);
}

/*
 * Refaults: a major fault on a file page that faulted before (either kind);
 * none for anonymous memory; the page set handed on keeps deciding; a full
 * page set says so instead of guessing.
 */
static void test_refaults(void)
{
	struct pfw_agg *a = pfw_agg_new(), *b;
	struct pfw_thread_stats *t = NULL;
	struct pfw_file_stats *f = NULL;
	const struct pfw_file_stats *x;
	struct pfw_event e;
	unsigned marks[6];
	size_t nf;

	e = ev_file(1, 1, PFW_MAJOR, 8, 1, 42, 0, "/d");
	marks[0] = pfw_agg_add(a, &e, NULL); /* first read */
	marks[1] = pfw_agg_add(a, &e, NULL); /* read again: a refault */
	e = ev_file(1, 2, PFW_MINOR, 8, 1, 42, 4096, "/d");
	marks[2] = pfw_agg_add(a, &e, NULL); /* a minor fault on a new page */
	e = ev_file(1, 2, PFW_MAJOR, 8, 1, 42, 4096, "/d");
	marks[3] = pfw_agg_add(a, &e, NULL); /* its page faulted before, as a minor fault */
	e = ev_anon(1, 2, PFW_MAJOR, 0x1000, "[anon]");
	e.backing = PFW_BACKING_ANON;
	marks[4] = pfw_agg_add(a, &e, NULL);
	marks[5] = pfw_agg_add(a, &e, NULL); /* a swap-in again: no refault, not a file page */
	tap_ok(marks[0] == 0 && marks[1] == PFW_EV_REFAULT && marks[2] == 0 &&
		       marks[3] == PFW_EV_REFAULT && marks[4] == 0 && marks[5] == 0,
	       "refaults: a file page's later major faults, whatever kind its first was");
	nf = pfw_agg_files(a, &f);
	x = file_of(f, nf, "/d");
	tap_ok(x && x->major == 3 && x->pages == 2 && x->refaults == 2 && !x->untracked,
	       "refaults: the file row: 3 majors, 2 pages, 2 refaults");
	free(f);
	pfw_agg_threads(a, &t);
	tap_ok(pfw_agg_totals(a)->refaults == 2 && thread_of(t, 2, 1)->refaults == 1 &&
		       thread_of(t, 2, 2)->refaults == 1 &&
		       thread_of(t, 2, 2)->major_by[PFW_BACKING_ANON] == 2,
	       "refaults: per thread and in the totals; majors counted by backing");
	free(t);

	/* the exporter's next interval: a fresh aggregation, the pages handed on */
	b = pfw_agg_new();
	pfw_agg_take_pages(b, a);
	e = ev_file(1, 1, PFW_MAJOR, 8, 1, 42, 0, "/d");
	tap_ok(pfw_agg_add(b, &e, NULL) == PFW_EV_REFAULT && pfw_agg_add(a, &e, NULL) == 0,
	       "refaults: the page set goes with pfw_agg_take_pages()");
	pfw_agg_free(a);
	pfw_agg_free(b);

	/* one slot of 64 pages: pages beyond it are untracked, and said so */
	setenv("PFW_PAGE_SLOTS", "1", 1);
	a = pfw_agg_new();
	unsetenv("PFW_PAGE_SLOTS");
	for (int r = 0; r < 2; r++)
		for (uint64_t p = 0; p < 128; p++) {
			e = ev_file(1, 1, PFW_MAJOR, 8, 1, 7, p * 4096, "/big");
			pfw_agg_add(a, &e, NULL);
		}
	nf = pfw_agg_files(a, &f);
	x = file_of(f, nf, "/big");
	tap_ok(x && x->pages == 64 && x->refaults == 64 && x->untracked == 128 &&
		       pfw_agg_totals(a)->untracked == 128,
	       "refaults: a full page set: pages and refaults lower bounds, untracked counted");
	free(f);
	pfw_agg_free(a);
}

int main(void)
{
	test_refaults();
	test_inode_reuse();
	test_counts();
	test_latency();
	test_merge();
	test_sort();
	test_growth();
	test_page_runs();
	return tap_done();
}
