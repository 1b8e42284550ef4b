// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for common/model/maps.c: /proc/PID/maps parsing (real and hostile
 * text), lookups at mapping boundaries, mmap/munmap splits, fork/exec/exit,
 * the comm table and the (dev, inode) index, and pfw_maps_load_proc() on
 * this very process. "test-maps --bench" prints lookups per second.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maps.h"
#include "tests/tap.h"

#ifndef PFW_TEST_DATA
#define PFW_TEST_DATA "tests/data"
#endif

/* exactly @len bytes, no terminator: a parser reading past the end trips ASan */
static char *slurp(const char *name, size_t *len)
{
	char path[PATH_MAX];
	const char *dir = getenv("top_srcdir");
	struct stat st;
	char *buf;
	FILE *f;

	if (dir)
		snprintf(path, sizeof(path), "%s/tests/data/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s/%s", PFW_TEST_DATA, name);
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st)) {
		tap_diag("cannot open %s: %s", path, strerror(errno));
		exit(99);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
		exit(99);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static int parse_exact(struct pfw_maps *m, pid_t pid, const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, s, len);
	r = pfw_maps_parse(m, pid, copy, len);
	free(copy);
	return r;
}

static void test_real(void)
{
	struct pfw_maps *m = pfw_maps_new();
	const struct pfw_mapping *x;
	size_t len;
	char *text = slurp("maps-real-cat", &len);

	tap_is_u64(pfw_maps_parse(m, 10, text, len), 38, "real: 38 mappings from cat's maps");
	tap_ok(pfw_maps_known(m, 10), "real: pid known after parse");
	tap_ok(!pfw_maps_known(m, 11), "real: other pid unknown");

	x = pfw_maps_find(m, 10, 0x560e98470000);
	tap_ok(x && x->file, "real: text segment is a file");
	tap_is_str(x ? x->path : NULL, "/usr/bin/cat", "real: text segment path");
	tap_is_u64(x ? x->pgoff : 1, 0x2000, "real: text segment pgoff");
	tap_is_u64(x ? x->inode : 0, 247134, "real: inode");
	tap_is_u64(x ? x->dev_major : 0, 0xfe, "real: dev major hex");
	tap_is_u64(x ? x->dev_minor : 1, 0, "real: dev minor");

	x = pfw_maps_find(m, 10, 0x560eae6c3000 + 100);
	tap_is_str(x ? x->path : NULL, "[heap]", "real: [heap]");
	tap_ok(x && !x->file, "real: [heap] is not a file");

	x = pfw_maps_find(m, 10, 0x7f53f409e000);
	tap_is_str(x ? x->path : NULL, "[anon]", "real: unnamed line (trailing space) is [anon]");
	tap_ok(x && !x->file && x->inode == 0, "real: [anon] not a file");

	x = pfw_maps_find(m, 10, 0x7f53f4317fff);
	tap_is_str(x ? x->path : NULL, "[vdso]", "real: [vdso] last byte");
	x = pfw_maps_find(m, 10, 0x7f53f4310000);
	tap_is_str(x ? x->path : NULL, "[vvar]", "real: [vvar]");
	x = pfw_maps_find(m, 10, 0x7ffdacefb000);
	tap_is_str(x ? x->path : NULL, "[stack]", "real: [stack]");
	x = pfw_maps_find(m, 10, 0xffffffffff600abcull);
	tap_is_str(x ? x->path : NULL, "[vsyscall]", "real: [vsyscall] at the top of 64 bits");
	tap_is_u64(x ? x->end : 0, 0xffffffffff601000ull, "real: [vsyscall] end");

	x = pfw_maps_find(m, 10, 0x7f53f4144000 + 0x1234);
	tap_is_str(x ? x->path : NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6", "real: libc text");
	/* the file offset of a fault is pgoff + (addr - start), page aligned */
	tap_is_u64(x ? x->pgoff + ((0x7f53f4144000 + 0x1234 - x->start) & ~0xfffull) : 0,
		   0x26000 + 0x1000, "real: file offset of an address in libc text");

	tap_ok(!pfw_maps_find(m, 10, 0x560e9847a000), "real: gap after cat's data is no mapping");
	tap_ok(!pfw_maps_find(m, 10, 0), "real: address 0 is no mapping");
	tap_ok(!pfw_maps_find(m, 11, 0x560e98470000), "real: unknown pid finds nothing");

	tap_is_str(pfw_maps_path_of(m, 0xfe, 0, 332835), "/usr/lib/x86_64-linux-gnu/libc.so.6",
		   "real: path_of(fe:00, libc inode)");
	tap_ok(!pfw_maps_path_of(m, 0xfe, 1, 332835), "real: path_of wrong minor is NULL");
	tap_ok(!pfw_maps_path_of(m, 0, 0, 0), "real: anon memory is not indexed");

	/* re-parse replaces the table */
	tap_is_u64(parse_exact(m, 10, "1000-2000 r--p 00000000 00:00 0 [heap]\n", 39), 1,
		   "real: re-parse replaces the table");
	tap_ok(!pfw_maps_find(m, 10, 0x560e98470000), "real: old mappings gone after re-parse");
	free(text);
	pfw_maps_free(m);
}

static void test_hostile(void)
{
	struct pfw_maps *m = pfw_maps_new();
	const struct pfw_mapping *x;
	char longpath[4101];
	size_t len;
	char *text = slurp("maps-hostile", &len);

	tap_is_u64(pfw_maps_parse(m, 20, text, len), 13, "hostile: all 13 lines parse");
	x = pfw_maps_find(m, 20, 0x400000);
	tap_is_str(x ? x->path : NULL, "/usr/bin/my prog with spaces", "hostile: spaces kept");
	x = pfw_maps_find(m, 20, 0x651000);
	tap_is_str(x ? x->path : NULL, "/tmp/new\\012line", "hostile: \\012 kept as printed");
	tap_is_u64(x ? x->pgoff : 0, 0x51000, "hostile: pgoff");
	x = pfw_maps_find(m, 20, 0x7f0000000000);
	tap_is_str(x ? x->path : NULL, "/memfd:shared buf (deleted)", "hostile: memfd");
	tap_ok(x && x->file, "hostile: memfd is shmem file-backed");
	x = pfw_maps_find(m, 20, 0x7f0000001000);
	tap_is_str(x ? x->path : NULL, "/tmp/gone (deleted)", "hostile: (deleted) suffix kept");
	tap_ok(x && x->file, "hostile: deleted file still a file");
	x = pfw_maps_find(m, 20, 0x7f0000002000);
	tap_is_str(x ? x->path : NULL, "[anon:my name]", "hostile: [anon:NAME]");
	tap_ok(x && !x->file, "hostile: [anon:NAME] not a file");
	x = pfw_maps_find(m, 20, 0x7f0000003000);
	tap_is_str(x ? x->path : NULL, "[anon_shmem:shm]", "hostile: [anon_shmem:NAME]");
	tap_ok(x && !x->file, "hostile: [anon_shmem:NAME] not a file");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[4100] = '\0';
	x = pfw_maps_find(m, 20, 0x7f0000005fff);
	tap_is_str(x ? x->path : NULL, longpath, "hostile: 4100-byte path");
	x = pfw_maps_find(m, 20, 0x7f0000006000);
	tap_is_str(x ? x->path : NULL, "[anon]", "hostile: no name, trailing space");
	x = pfw_maps_find(m, 20, 0x7f0000007000);
	tap_is_str(x ? x->path : NULL, "[anon]", "hostile: no name, no trailing space");
	x = pfw_maps_find(m, 20, 0x7f0000008000);
	tap_is_str(x ? x->path : NULL, "anon_inode:[perf_event]", "hostile: anon_inode");
	tap_ok(x && !x->file, "hostile: anon_inode is not a file");
	x = pfw_maps_find(m, 20, 0x7f0000009000);
	tap_is_str(x ? x->path : NULL, "/tmp/trail  ", "hostile: trailing spaces in a name kept");
	tap_is_u64(x ? x->dev_major : 0, 259, "hostile: 3-digit major");
	tap_is_u64(x ? x->dev_minor : 0, 5, "hostile: minor");
	tap_is_u64(x ? x->inode : 0, 4294967297ull, "hostile: inode above 2^32");
	tap_is_str(pfw_maps_path_of(m, 259, 5, 4294967297ull), "/tmp/trail  ",
		   "hostile: path_of with a 64-bit inode");
	x = pfw_maps_find(m, 20, 0x7f000000a000);
	tap_is_str(x ? x->path : NULL, "/tmp/tab\there", "hostile: tab in name kept");
	x = pfw_maps_find(m, 20, 0xffffffffff600000ull);
	tap_is_str(x ? x->path : NULL, "[vsyscall]", "hostile: last line without newline");
	free(text);
	pfw_maps_free(m);
}

static void test_garbage(void)
{
	struct pfw_maps *m = pfw_maps_new();
	static const char line[] = "7f0000001000-7f0000003000 r-xp 00002000 08:01 12345     /lib/x";
	const char *inode_at = strstr(line, "12345");
	const struct pfw_mapping *x;
	size_t len, i, bad_short = 0, good_long = 0;
	unsigned seed = 1;
	char *text = slurp("maps-garbage", &len);
	int r, crashes_not = 1;

	r = pfw_maps_parse(m, 30, text, len);
	tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-EINVAL, "garbage: -EINVAL");
	x = pfw_maps_find(m, 30, 0x10000);
	tap_is_str(x ? x->path : NULL, "/good/one", "garbage: good line before junk kept");
	x = pfw_maps_find(m, 30, 0x3ffff);
	tap_is_str(x ? x->path : NULL, "[heap]", "garbage: good line after junk kept");
	tap_ok(!pfw_maps_find(m, 30, 0x7f00), "garbage: no junk line made it in");
	/* each junk line alone: the two good ones parse, all others are -EINVAL */
	{
		const char *p = text, *end = text + len, *nl;
		unsigned good = 0, bad = 0, other = 0;

		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl)
				nl = end;
			r = parse_exact(m, 34, p, (size_t)(nl - p));
			good += r == 1;
			bad += r == -EINVAL;
			other += r != 1 && r != -EINVAL;
		}
		tap_ok(good == 2 && bad == 16 && other == 0,
		       "garbage: 16 junk lines, each -EINVAL");
		if (good != 2 || bad != 16)
			tap_diag("  good %u bad %u other %u", good, bad, other);
	}

	/*
	 * Every prefix of a valid line: up to the space before the inode it
	 * is malformed; with the first inode digit it is a valid line
	 * (an unnamed mapping, then a name cut short).
	 */
	for (i = 0; i < sizeof(line) - 1; i++) {
		r = parse_exact(m, 31, line, i);
		if (i <= (size_t)(inode_at - line))
			bad_short += i == 0 ? r == 0 : r == -EINVAL;
		else
			good_long += r == 1;
	}
	tap_is_u64(bad_short, (uint64_t)(inode_at - line) + 1,
		   "truncated: every short prefix rejected");
	tap_is_u64(good_long, sizeof(line) - 2 - (size_t)(inode_at - line),
		   "truncated: every prefix from the inode on accepted");
	x = pfw_maps_find(m, 31, 0x7f0000002000);
	tap_is_str(x ? x->path : NULL, "/lib/", "truncated: last prefix's name");

	/* random byte flips: any result but a crash or an out-of-bounds read */
	for (i = 0; i < 20000; i++) {
		char buf[sizeof(line)];
		int k, flips = 1 + (int)(rand_r(&seed) % 4);

		memcpy(buf, line, sizeof(line));
		for (k = 0; k < flips; k++)
			buf[rand_r(&seed) % (sizeof(line) - 1)] = (char)rand_r(&seed);
		r = parse_exact(m, 32, buf, sizeof(line) - 1 - rand_r(&seed) % 8);
		if (r != -EINVAL && r != 0 && r != 1)
			crashes_not = 0;
	}
	tap_ok(crashes_not, "fuzz: 20000 mutated lines give -EINVAL, 0 or 1 mapping");
	r = parse_exact(m, 33, "\n\n\n", 3);
	tap_is_u64((uint64_t)r, 0, "empty lines: no mappings, no error");
	tap_ok(pfw_maps_known(m, 33), "empty maps still make the pid known");
	free(text);
	pfw_maps_free(m);
}

static void test_boundaries(void)
{
	struct pfw_maps *m = pfw_maps_new();
	const struct pfw_mapping *x;

	pfw_maps_mmap(m, 1, 0x10000, 0x4000, 0x2000, 8, 1, 77, "/f");
	x = pfw_maps_find(m, 1, 0x10000);
	tap_ok(x && x->start == 0x10000 && x->end == 0x14000, "find: start is inside");
	tap_ok(pfw_maps_find(m, 1, 0x13fff) != NULL, "find: end-1 is inside");
	tap_ok(pfw_maps_find(m, 1, 0x14000) == NULL, "find: end is outside");
	tap_ok(pfw_maps_find(m, 1, 0xffff) == NULL, "find: start-1 is outside");
	/* the last-hit cache must not answer for an address outside it */
	pfw_maps_mmap(m, 1, 0x14000, 0x1000, 0, 0, 0, 0, NULL);
	x = pfw_maps_find(m, 1, 0x10000);
	x = pfw_maps_find(m, 1, 0x14000);
	tap_is_str(x ? x->path : NULL, "[anon]", "find: adjacent mapping after a cached hit");
	tap_ok(x && !x->file, "mmap: NULL path is [anon]");
	x = pfw_maps_find(m, 1, 0x12345);
	tap_ok(x && x->file && x->inode == 77 && x->dev_major == 8 && x->dev_minor == 1,
	       "mmap: file fields");
	pfw_maps_free(m);
}

/* compare @pid's table with a list of {start, end, pgoff, path} */
struct want {
	uint64_t start, end, pgoff;
	const char *path;
};

static int table_is(struct pfw_maps *m, pid_t pid, const struct want *w, size_t n)
{
	uint64_t a = 0;
	size_t i = 0;
	const struct pfw_mapping *x;

	/* walk the table through lookups: every mapping and every gap */
	for (i = 0; i < n; i++) {
		x = pfw_maps_find(m, pid, w[i].start);
		if (!x || x->start != w[i].start || x->end != w[i].end || x->pgoff != w[i].pgoff ||
		    strcmp(x->path, w[i].path)) {
			tap_diag("  entry %zu: got %s [%#llx,%#llx) pgoff %#llx", i,
				 x ? x->path : "none", x ? (unsigned long long)x->start : 0,
				 x ? (unsigned long long)x->end : 0,
				 x ? (unsigned long long)x->pgoff : 0);
			return 0;
		}
		if (a < w[i].start && pfw_maps_find(m, pid, w[i].start - 1) &&
		    (i == 0 || w[i - 1].end != w[i].start)) {
			tap_diag("  gap before entry %zu is mapped", i);
			return 0;
		}
		a = w[i].end;
	}
	if (pfw_maps_find(m, pid, a)) {
		tap_diag("  something mapped after the last entry");
		return 0;
	}
	return 1;
}

static void test_mmap_overlap(void)
{
	struct pfw_maps *m = pfw_maps_new();

	/* A: [0x10000, 0x20000) pgoff 0x100000 */
	pfw_maps_mmap(m, 1, 0x10000, 0x10000, 0x100000, 8, 1, 1, "/A");
	/* middle: B over [0x14000, 0x16000) */
	pfw_maps_mmap(m, 1, 0x14000, 0x2000, 0, 8, 1, 2, "/B");
	{
		const struct want w[] = {
			{0x10000, 0x14000, 0x100000, "/A"},
			{0x14000, 0x16000, 0, "/B"},
			{0x16000, 0x20000, 0x106000, "/A"},
		};
		tap_ok(table_is(m, 1, w, 3), "mmap middle: split in three, right pgoff +0x6000");
	}
	/* left overlap: C over [0xe000, 0x11000) cuts A's front */
	pfw_maps_mmap(m, 1, 0xe000, 0x3000, 0x5000, 8, 1, 3, "/C");
	{
		const struct want w[] = {
			{0xe000, 0x11000, 0x5000, "/C"},
			{0x11000, 0x14000, 0x101000, "/A"},
			{0x14000, 0x16000, 0, "/B"},
			{0x16000, 0x20000, 0x106000, "/A"},
		};
		tap_ok(table_is(m, 1, w, 4), "mmap left: A's front cut, pgoff +0x1000");
	}
	/* right overlap: D over [0x1f000, 0x22000) cuts the right A's tail */
	pfw_maps_mmap(m, 1, 0x1f000, 0x3000, 0, 0, 0, 0, "[heap]");
	{
		const struct want w[] = {
			{0xe000, 0x11000, 0x5000, "/C"}, {0x11000, 0x14000, 0x101000, "/A"},
			{0x14000, 0x16000, 0, "/B"},	 {0x16000, 0x1f000, 0x106000, "/A"},
			{0x1f000, 0x22000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 5), "mmap right: A's tail cut, pgoff kept");
	}
	/* spanning several: E over [0x10000, 0x18000) */
	pfw_maps_mmap(m, 1, 0x10000, 0x8000, 0x42000, 8, 1, 5, "/E");
	{
		const struct want w[] = {
			{0xe000, 0x10000, 0x5000, "/C"},
			{0x10000, 0x18000, 0x42000, "/E"},
			{0x18000, 0x1f000, 0x108000, "/A"},
			{0x1f000, 0x22000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 4), "mmap spanning: B swallowed, both neighbours cut");
	}
	/* exact replacement */
	pfw_maps_mmap(m, 1, 0x10000, 0x8000, 0, 8, 1, 6, "/F");
	{
		const struct want w[] = {
			{0xe000, 0x10000, 0x5000, "/C"},
			{0x10000, 0x18000, 0, "/F"},
			{0x18000, 0x1f000, 0x108000, "/A"},
			{0x1f000, 0x22000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 4), "mmap exact: replaced in place");
	}
	tap_is_str(pfw_maps_path_of(m, 8, 1, 2), "/B",
		   "path_of: a mapping that is gone still indexed");

	/* munmap: middle, left edge, right edge, spanning, a hole */
	pfw_maps_munmap(m, 1, 0x12000, 0x2000);
	{
		const struct want w[] = {
			{0xe000, 0x10000, 0x5000, "/C"},  {0x10000, 0x12000, 0, "/F"},
			{0x14000, 0x18000, 0x4000, "/F"}, {0x18000, 0x1f000, 0x108000, "/A"},
			{0x1f000, 0x22000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 5), "munmap middle: split, right pgoff +0x4000");
		tap_ok(!pfw_maps_find(m, 1, 0x12000) && !pfw_maps_find(m, 1, 0x13fff),
		       "munmap middle: the hole is unmapped");
	}
	pfw_maps_munmap(m, 1, 0xd000, 0x2000);
	pfw_maps_munmap(m, 1, 0x21000, 0x5000);
	{
		const struct want w[] = {
			{0xf000, 0x10000, 0x6000, "/C"},  {0x10000, 0x12000, 0, "/F"},
			{0x14000, 0x18000, 0x4000, "/F"}, {0x18000, 0x1f000, 0x108000, "/A"},
			{0x1f000, 0x21000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 5), "munmap edges: front and tail cut");
	}
	pfw_maps_munmap(m, 1, 0x11000, 0x8000);
	{
		const struct want w[] = {
			{0xf000, 0x10000, 0x6000, "/C"},
			{0x10000, 0x11000, 0, "/F"},
			{0x19000, 0x1f000, 0x109000, "/A"},
			{0x1f000, 0x21000, 0, "[heap]"},
		};
		tap_ok(table_is(m, 1, w, 4), "munmap spanning a hole: one removed, two cut");
	}
	pfw_maps_munmap(m, 1, 0x100000, 0x1000);
	pfw_maps_munmap(m, 1, 0, UINT64_MAX);
	tap_ok(!pfw_maps_find(m, 1, 0x10000) && !pfw_maps_find(m, 1, 0x1f000),
	       "munmap everything: empty");
	tap_ok(pfw_maps_known(m, 1), "munmap everything: pid still known");
	pfw_maps_mmap(m, 1, UINT64_MAX - 0xfff, 0x2000, 0, 0, 0, 0, "[top]");
	tap_ok(pfw_maps_find(m, 1, UINT64_MAX - 1) != NULL, "mmap: a length that wraps is clamped");
	pfw_maps_free(m);
}

static void test_fork_exec_exit(void)
{
	struct pfw_maps *m = pfw_maps_new();
	const struct pfw_mapping *x;

	pfw_maps_mmap(m, 100, 0x1000, 0x1000, 0, 8, 1, 9, "/parent");
	pfw_maps_set_comm(m, 100, 100, "parent");
	pfw_maps_fork(m, 100, 101);
	x = pfw_maps_find(m, 101, 0x1000);
	tap_is_str(x ? x->path : NULL, "/parent", "fork: child has the parent's mappings");
	pfw_maps_mmap(m, 101, 0x1000, 0x1000, 0, 8, 1, 10, "/child");
	x = pfw_maps_find(m, 100, 0x1000);
	tap_is_str(x ? x->path : NULL, "/parent", "fork: a copy, not shared");
	pfw_maps_fork(m, 100, 101);
	x = pfw_maps_find(m, 101, 0x1000);
	tap_is_str(x ? x->path : NULL, "/child", "fork: a known child is left alone");
	pfw_maps_fork(m, 555, 102);
	tap_ok(!pfw_maps_known(m, 102), "fork: unknown parent leaves the child unknown");

	pfw_maps_exec(m, 101);
	tap_ok(!pfw_maps_known(m, 101) && !pfw_maps_find(m, 101, 0x1000), "exec: table dropped");
	tap_ok(pfw_maps_find(m, 100, 0x1000) != NULL, "exec: other pid untouched");
	pfw_maps_mmap(m, 101, 0x5000, 0x1000, 0, 0, 0, 0, "[heap]");
	tap_ok(pfw_maps_known(m, 101), "exec: new mappings after exec start a table");

	pfw_maps_exit(m, 100);
	tap_ok(!pfw_maps_known(m, 100), "exit: table dropped");
	/* perf delivers the exit after the process's last record: its name can go */
	tap_ok(pfw_maps_comm(m, 100) == NULL, "exit: the main thread's comm goes with the process");
	tap_is_str(pfw_maps_path_of(m, 8, 1, 9), "/parent", "exit: path index kept");

	/* many pids: the pid table grows and deletes without losing anyone */
	{
		int i, ok = 1;

		for (i = 1000; i < 3000; i++)
			pfw_maps_mmap(m, i, 0x1000, 0x1000, 0, 0, 0, 0, "[heap]");
		for (i = 1000; i < 3000; i += 2)
			pfw_maps_exit(m, i);
		for (i = 1000; i < 3000; i++)
			ok &= pfw_maps_known(m, i) == (i & 1);
		tap_ok(ok, "2000 pids, every second one exited: exactly the others known");
	}
	pfw_maps_free(m);
}

static void test_comm_intern(void)
{
	struct pfw_maps *m = pfw_maps_new();
	char buf[32];
	const char *a, *b;

	tap_ok(!pfw_maps_comm(m, 5), "comm: unknown tid is NULL");
	pfw_maps_set_comm(m, 5, 5, "bash");
	pfw_maps_set_comm(m, 5, 6, "worker");
	pfw_maps_set_comm(m, 5, 5, "make");
	tap_is_str(pfw_maps_comm(m, 5), "make", "comm: last name wins");
	tap_is_str(pfw_maps_comm(m, 6), "worker", "comm: per thread");
	pfw_maps_set_comm(m, 5, 7, "a-very-long-thread-name");
	tap_is_str(pfw_maps_comm(m, 7), "a-very-long-thr",
		   "comm: cut to 15 chars like TASK_COMM_LEN");

	snprintf(buf, sizeof(buf), "/tmp/x");
	a = pfw_maps_intern(m, buf);
	snprintf(buf, sizeof(buf), "/tmp/y");
	b = pfw_maps_intern(m, "/tmp/x");
	tap_ok(a && a == b && !strcmp(a, "/tmp/x"), "intern: one pointer per string, a copy");
	pfw_maps_free(m);
}

static pthread_barrier_t bar;

static void *named_thread(void *arg)
{
	prctl(PR_SET_NAME, "pfw-worker", 0, 0, 0);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return arg;
}

static void test_load_proc(void)
{
	struct pfw_maps *m = pfw_maps_new();
	char tmpl[] = "/tmp/pfw-maps-XXXXXX";
	const struct pfw_mapping *x;
	struct stat st;
	pthread_t th;
	pid_t child, worker = 0;
	char *p, *buf;
	long pg = sysconf(_SC_PAGESIZE);
	int fd, r;

	fd = mkstemp(tmpl);
	if (fd < 0 || ftruncate(fd, 16 * pg) || fstat(fd, &st)) {
		tap_skip("load_proc: cannot create a temp file in /tmp");
		return;
	}
	p = mmap(NULL, 8 * pg, PROT_READ, MAP_SHARED, fd, 4 * pg);
	if (p == MAP_FAILED) {
		tap_skip("load_proc: mmap failed");
		return;
	}
	prctl(PR_SET_NAME, "pfw-test-maps", 0, 0, 0);
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&th, NULL, named_thread, NULL);
	pthread_barrier_wait(&bar);

	r = pfw_maps_load_proc(m, "/proc", getpid());
	tap_is_u64((uint64_t)r, 0, "load_proc: own pid loads");
	x = pfw_maps_find(m, getpid(), (uint64_t)(uintptr_t)p + 3 * pg + 5);
	tap_is_str(x ? x->path : NULL, tmpl, "load_proc: own mapping's path");
	tap_is_u64(x ? x->start : 0, (uintptr_t)p, "load_proc: own mapping's start");
	tap_is_u64(x ? x->end : 0, (uintptr_t)p + 8 * pg, "load_proc: own mapping's end");
	tap_is_u64(x ? x->pgoff : 0, 4 * pg, "load_proc: own mapping's pgoff");
	tap_is_u64(x ? x->pgoff + (((uintptr_t)p + 3 * pg + 5 - x->start) & ~(uint64_t)(pg - 1))
		     : 0,
		   7 * pg, "load_proc: file offset of a byte in page 3 is page 7");
	tap_ok(x && x->file && x->inode == st.st_ino && x->dev_major == major(st.st_dev) &&
		       x->dev_minor == minor(st.st_dev),
	       "load_proc: inode and dev match fstat");
	tap_is_str(pfw_maps_path_of(m, major(st.st_dev), minor(st.st_dev), st.st_ino), tmpl,
		   "load_proc: path_of the temp file");
	tap_is_str(pfw_maps_comm(m, getpid()), "pfw-test-maps", "load_proc: main thread comm");
	{
		/* find the worker's tid by name in what was loaded */
		DIR *d;
		struct dirent *de;
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/task", getpid());
		d = opendir(path);
		while (d && (de = readdir(d)))
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != getpid())
				worker = atoi(de->d_name);
		if (d)
			closedir(d);
	}
	tap_is_str(worker ? pfw_maps_comm(m, worker) : NULL, "pfw-worker",
		   "load_proc: other thread's comm, newline stripped");
	pthread_barrier_wait(&bar);
	pthread_join(th, NULL);

	/* after munmap and a reload the mapping is gone: the table was replaced */
	munmap(p, 8 * pg);
	pfw_maps_load_proc(m, "/proc", getpid());
	x = pfw_maps_find(m, getpid(), (uint64_t)(uintptr_t)p + 3 * pg);
	tap_ok(!x || strcmp(x->path, tmpl), "load_proc: reload replaces the table");
	close(fd);
	unlink(tmpl);

	/*
	 * 3000 unmergeable mappings (alternating protections): the maps file
	 * grows to about 150 KiB, well beyond one read() and the first 64 KiB buffer.
	 */
	{
		size_t n = 3000, i, found = 0;
		char *big = mmap(NULL, n * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (big == MAP_FAILED) {
			tap_skip("load_proc big: mmap failed");
		} else {
			for (i = 0; i < n; i += 2)
				mprotect(big + i * pg, pg, PROT_READ | PROT_WRITE);
			r = pfw_maps_load_proc(m, "/proc", getpid());
			for (i = 0; i < n; i++) {
				x = pfw_maps_find(m, getpid(), (uintptr_t)big + i * pg);
				found += x && x->start == (uintptr_t)big + i * pg &&
					 x->end == (uintptr_t)big + (i + 1) * pg;
			}
			tap_ok(r == 0 && found == n,
			       "load_proc big: 3000 one-page mappings, all exact");
			if (found != n)
				tap_diag("  r %d, found %zu", r, found);
			munmap(big, n * pg);
		}
	}

	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	r = pfw_maps_load_proc(m, "/proc", child);
	tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-ESRCH,
		   "load_proc: reaped pid is -ESRCH");
	tap_ok(!pfw_maps_known(m, child), "load_proc: nothing known of a dead pid");

	/* a fake procfs: the @procfs argument is honoured */
	{
		char root[] = "/tmp/pfw-proc-XXXXXX", path[256];
		FILE *f;
		size_t len;

		buf = slurp("maps-hostile", &len);
		if (!mkdtemp(root)) {
			tap_skip("fake procfs: mkdtemp failed");
			free(buf);
			pfw_maps_free(m);
			return;
		}
		snprintf(path, sizeof(path), "%s/4242", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/4242/task", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/4242/task/4243", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/4242/task/4243/comm", root);
		f = fopen(path, "w");
		fputs("fake thread\n", f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/4242/maps", root);
		f = fopen(path, "w");
		fwrite(buf, 1, len, f);
		fclose(f);
		r = pfw_maps_load_proc(m, root, 4242);
		tap_is_u64((uint64_t)r, 0, "fake procfs: loads");
		x = pfw_maps_find(m, 4242, 0x400000);
		tap_is_str(x ? x->path : NULL, "/usr/bin/my prog with spaces", "fake procfs: maps");
		tap_is_str(pfw_maps_comm(m, 4243), "fake thread", "fake procfs: comm");
		r = pfw_maps_load_proc(m, root, 4244);
		tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-ESRCH, "fake procfs: -ESRCH");
		snprintf(path, sizeof(path), "rm -rf '%s'", root);
		if (system(path))
			tap_diag("could not remove %s", root);
		free(buf);
	}
	pfw_maps_free(m);
}

static void *nl_thread(void *arg)
{
	prctl(PR_SET_NAME, (const char *)arg, 0, 0, 0);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

struct named_map {
	const char *name; /* in the temp dir */
	char path[PATH_MAX];
	void *p;
};

/*
 * 0 when each of @f's mappings resolves to @want_exact names (map_files
 * readable) or to the "\012"-decoded ones; a bit per mismatch otherwise.
 */
static int check_names(struct named_map *f, size_t n, bool exact)
{
	struct pfw_maps *m = pfw_maps_new();
	int bad = 0;

	if (!m || pfw_maps_load_proc(m, "/proc", getpid()))
		return 0x80;
	for (size_t i = 0; i < n; i++) {
		const struct pfw_mapping *x =
			pfw_maps_find(m, getpid(), (uint64_t)(uintptr_t)f[i].p);
		char want[PATH_MAX], *w = want;

		snprintf(want, sizeof(want), "%s", f[i].path);
		if (!exact)
			/* the documented misreading: a literal "\012" becomes "\n" */
			while ((w = strstr(w, "\\012"))) {
				*w = '\n';
				memmove(w + 1, w + 4, strlen(w + 4) + 1);
			}
		if (!x || strcmp(x->path, want))
			bad |= 1 << i;
	}
	pfw_maps_free(m);
	return bad;
}

static void test_exact_names(void)
{
	struct named_map f[] = {
		{.name = "new\nline"},
		{.name = "back\\slash"},
		{.name = "lit\\012eral"},
		{.name = "both\n\\012"},
	};
	const size_t nf = sizeof(f) / sizeof(f[0]);
	char dir[] = "/tmp/pfw-names-XXXXXX", link[64], buf[PATH_MAX];
	long pg = sysconf(_SC_PAGESIZE);
	struct pfw_maps *m = pfw_maps_new();
	bool readable;
	pthread_t th[2];
	pid_t tids[2] = {0, 0}, child;
	const char *comms[2] = {"nl\nname", "tail\n"};
	int st;

	if (!mkdtemp(dir)) {
		tap_skip("exact names: mkdtemp failed");
		pfw_maps_free(m);
		return;
	}
	for (size_t i = 0; i < nf; i++) {
		int fd;

		snprintf(f[i].path, sizeof(f[i].path), "%s/%s", dir, f[i].name);
		fd = open(f[i].path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, pg)) {
			tap_skip("exact names: cannot create %s", f[i].path);
			return;
		}
		/* distinct protections keep them from merging with anything */
		f[i].p = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
	}
	snprintf(link, sizeof(link), "/proc/self/map_files/%lx-%lx", (unsigned long)f[0].p,
		 (unsigned long)f[0].p + pg);
	readable = readlink(link, buf, sizeof(buf)) > 0;
	tap_diag("map_files %sreadable here", readable ? "" : "not ");

	st = check_names(f, nf, readable);
	if (!tap_ok(!st, "exact names: %s",
		    readable ? "map_files names are exact, \\012 included"
			     : "decoded \\012, literal \\012 misread"))
		tap_diag("  mismatch mask 0x%x", st);
	pfw_maps_load_proc(m, "/proc", getpid());
	{
		struct stat sb;
		const char *pth = NULL;

		if (!stat(f[0].path, &sb))
			pth = pfw_maps_path_of(m, major(sb.st_dev), minor(sb.st_dev), sb.st_ino);
		tap_is_str(pth, f[0].path, "exact names: (dev, inode) index has the decoded name");
	}
	/* the fallback for real: an unprivileged process cannot read map_files */
	if (readable && geteuid() == 0) {
		child = fork();
		if (child == 0) {
			if (setgid(65534) || setuid(65534))
				_exit(0x40);
			/* whichever way the kernel answers, the names must match it */
			_exit(check_names(f, nf, readlink(link, buf, sizeof(buf)) > 0) |
			      (readlink(link, buf, sizeof(buf)) > 0 ? 0x20 : 0));
		}
		waitpid(child, &st, 0);
		st = WIFEXITED(st) ? WEXITSTATUS(st) : 0xff;
		tap_diag("map_files as nobody: %sreadable", st & 0x20 ? "" : "not ");
		tap_is_u64((uint64_t)(st & ~0x20), 0,
			   "exact names: as nobody, names match what map_files allows");
	} else {
		tap_skip("exact names: the unprivileged fallback needs root to drop from");
	}

	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, nl_thread, (void *)comms[i]);
	pthread_barrier_wait(&bar);
	{
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;

		/* /proc/TID/comm is the name and one "\n" */
		while (d && (de = readdir(d))) {
			pid_t t = atoi(de->d_name);
			char c[32];
			size_t n = 0;
			FILE *cf;

			if (t <= 0)
				continue;
			snprintf(link, sizeof(link), "/proc/self/task/%d/comm", t);
			cf = fopen(link, "r");
			if (cf) {
				n = fread(c, 1, sizeof(c) - 1, cf);
				fclose(cf);
			}
			c[n] = '\0';
			if (!strcmp(c, "nl\nname\n"))
				tids[0] = t;
			else if (!strcmp(c, "tail\n\n"))
				tids[1] = t;
		}
		if (d)
			closedir(d);
	}
	pfw_maps_load_proc(m, "/proc", getpid());
	tap_is_str(tids[0] ? pfw_maps_comm(m, tids[0]) : NULL, "nl\nname",
		   "exact names: comm with an inner newline kept");
	tap_is_str(tids[1] ? pfw_maps_comm(m, tids[1]) : NULL, "tail\n",
		   "exact names: comm ending in a newline keeps it (only /proc's is stripped)");
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);

	for (size_t i = 0; i < nf; i++) {
		munmap(f[i].p, pg);
		unlink(f[i].path);
	}
	rmdir(dir);

	/* a fake procfs: the link wins over the text, whatever the text says */
	{
		char root[] = "/tmp/pfw-proc-XXXXXX", path[256];
		size_t len;
		char *text = slurp("maps-hostile", &len);
		const struct pfw_mapping *x;
		FILE *fp;

		if (!mkdtemp(root)) {
			tap_skip("fake map_files: mkdtemp failed");
			free(text);
			pfw_maps_free(m);
			return;
		}
		snprintf(path, sizeof(path), "%s/77", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/77/maps", root);
		fp = fopen(path, "w");
		fwrite(text, 1, len, fp);
		fclose(fp);
		free(text);
		tap_is_u64((uint64_t)pfw_maps_load_proc(m, root, 77), 0, "fake map_files: loads");
		x = pfw_maps_find(m, 77, 0x651000);
		tap_is_str(x ? x->path : NULL, "/tmp/new\nline",
			   "fake map_files: no link, \\012 decoded");
		tap_is_str(pfw_maps_path_of(m, 8, 2, 173522), "/tmp/new\nline",
			   "fake map_files: path_of decoded");
		snprintf(path, sizeof(path), "%s/77/map_files", root);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/77/map_files/651000-652000", root);
		if (symlink("/tmp/new\\012line", path))
			tap_diag("symlink: %s", strerror(errno));
		pfw_maps_load_proc(m, root, 77);
		x = pfw_maps_find(m, 77, 0x651000);
		tap_is_str(x ? x->path : NULL, "/tmp/new\\012line",
			   "fake map_files: the link's name is taken as it is");
		tap_is_str(pfw_maps_path_of(m, 8, 2, 173522), "/tmp/new\\012line",
			   "fake map_files: path_of follows the link");
		x = pfw_maps_find(m, 77, 0x400000);
		tap_is_str(x ? x->path : NULL, "/usr/bin/my prog with spaces",
			   "fake map_files: names without a backslash are not looked up");
		snprintf(path, sizeof(path), "rm -rf '%s'", root);
		if (system(path))
			tap_diag("could not remove %s", root);
	}
	pfw_maps_free(m);
}

static void test_fd_path(void)
{
	struct pfw_maps *m = pfw_maps_new();
	char dir[] = "/tmp/pfw-fdname-XXXXXX", path[PATH_MAX];
	struct stat st;
	int fd, r;

	if (!mkdtemp(dir)) {
		tap_skip("fd path: mkdtemp failed");
		pfw_maps_free(m);
		return;
	}
	snprintf(path, sizeof(path), "%s/fd\nname \\012.dat", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || fstat(fd, &st)) {
		tap_skip("fd path: cannot create %s", path);
		pfw_maps_free(m);
		return;
	}
	r = pfw_maps_learn_fd_path(m, "/proc", getpid(), major(st.st_dev), minor(st.st_dev),
				   st.st_ino);
	tap_is_u64((uint64_t)(int64_t)r, 0, "fd path: an open file, not mapped, is found");
	tap_is_str(pfw_maps_path_of(m, major(st.st_dev), minor(st.st_dev), st.st_ino), path,
		   "fd path: its exact name feeds path_of");
	r = pfw_maps_learn_fd_path(m, "/proc", getpid(), major(st.st_dev), minor(st.st_dev),
				   st.st_ino + 1000000007ull);
	tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-ENOENT,
		   "fd path: an inode not open here is -ENOENT");
	close(fd);
	unlink(path);
	rmdir(dir);
	pfw_maps_free(m);
}

/* 'Z' once @pid has exited and is not yet reaped */
static bool is_zombie(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool z = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		z = p[2] == 'Z';
	fclose(f);
	return z;
}

/*
 * A process that exits is a zombie (empty maps) and then gone while its
 * faults may still be queued in a backend's buffer: reloading must keep
 * what was known, or those faults become "[unknown]".
 */
static void test_zombie_keeps(void)
{
	struct pfw_maps *m = pfw_maps_new();
	char tmpl[] = "/tmp/pfw-zombie-XXXXXX";
	const struct pfw_mapping *x;
	int fd = mkstemp(tmpl), pfd[2], i, r;
	long pg = sysconf(_SC_PAGESIZE);
	void *p;
	pid_t child;
	char c;

	if (fd < 0 || ftruncate(fd, 4 * pg) || pipe(pfd)) {
		tap_skip("zombie: cannot create a temp file");
		pfw_maps_free(m);
		return;
	}
	p = mmap(NULL, 4 * pg, PROT_READ, MAP_SHARED, fd, 0);
	child = fork();
	if (child == 0) {
		close(pfd[1]);
		/* until the parent has read our maps */
		if (read(pfd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[0]);
	r = pfw_maps_load_proc(m, "/proc", child);
	x = pfw_maps_find(m, child, (uint64_t)(uintptr_t)p + pg);
	tap_is_str(r == 0 && x ? x->path : NULL, tmpl, "zombie: live child's mapping known");
	close(pfd[1]);
	for (i = 0; i < 2000 && !is_zombie(child); i++)
		usleep(1000);
	if (!is_zombie(child)) {
		tap_skip("zombie: child did not become a zombie in 2 s");
	} else {
		r = pfw_maps_load_proc(m, "/proc", child);
		tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-ESRCH,
			   "zombie: reload of a zombie (empty maps) is -ESRCH");
		x = pfw_maps_find(m, child, (uint64_t)(uintptr_t)p + pg);
		tap_is_str(x ? x->path : NULL, tmpl, "zombie: the known mapping stays");
	}
	waitpid(child, NULL, 0);
	r = pfw_maps_load_proc(m, "/proc", child);
	tap_is_u64((uint64_t)(int64_t)r, (uint64_t)(int64_t)-ESRCH,
		   "zombie: reload of the reaped pid is -ESRCH");
	x = pfw_maps_find(m, child, (uint64_t)(uintptr_t)p + pg);
	tap_is_str(x ? x->path : NULL, tmpl, "zombie: reaped, the known mapping stays");
	munmap(p, 4 * pg);
	close(fd);
	unlink(tmpl);
	pfw_maps_free(m);
}

/* (dev, inode) -> name through open_by_handle_at(), nothing mapped or open */
static void test_path_by_inode(void)
{
	struct pfw_maps *m = pfw_maps_new();
	char dir[] = "/tmp/pfw-byino-XXXXXX", path[PATH_MAX], del[PATH_MAX + 16];
	struct {
		struct file_handle fh;
		unsigned char id[128];
	} h;
	const char *got, *again;
	struct stat st;
	int fd, mnt;

	if (!mkdtemp(dir)) {
		tap_skip("by inode: mkdtemp failed");
		pfw_maps_free(m);
		return;
	}
	snprintf(path, sizeof(path), "%s/by inode\n\\012.dat", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	h.fh.handle_bytes = sizeof(h.id);
	if (fd < 0 || fstat(fd, &st)) {
		tap_skip("by inode: cannot create %s", path);
	} else if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) || h.fh.handle_type != 1) {
		tap_skip("by inode: /tmp's filesystem has no FILEID_INO32_GEN handles");
	} else if (geteuid() != 0) {
		tap_skip("by inode: open_by_handle_at() needs CAP_DAC_READ_SEARCH");
	} else {
		close(fd);
		fd = -1;
		got = pfw_maps_path_by_inode(m, major(st.st_dev), minor(st.st_dev), st.st_ino);
		tap_is_str(got, path, "by inode: a closed, unmapped file's exact name");
		again = pfw_maps_path_of(m, major(st.st_dev), minor(st.st_dev), st.st_ino);
		tap_ok(got && again == got, "by inode: the name feeds path_of");
		tap_ok(!pfw_maps_path_by_inode(m, major(st.st_dev), minor(st.st_dev),
					       st.st_ino + 1000000007ull),
		       "by inode: a number no file has is NULL");
		tap_ok(!pfw_maps_path_by_inode(m, 0, 4242, st.st_ino),
		       "by inode: a device with no mount is NULL");
		/* open but unlinked: named like /proc/PID/maps does */
		fd = open(path, O_RDONLY);
		unlink(path);
		pfw_maps_free(m);
		m = pfw_maps_new();
		snprintf(del, sizeof(del), "%s (deleted)", path);
		tap_is_str(pfw_maps_path_by_inode(m, major(st.st_dev), minor(st.st_dev), st.st_ino),
			   del, "by inode: an unlinked open file is '(deleted)'");
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	rmdir(dir);
	pfw_maps_free(m);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* lookups/s in a 1000-mapping process: random addresses, then clustered */
static void bench(void)
{
	struct pfw_maps *m = pfw_maps_new();
	const unsigned n = 1000, iters = 20000000;
	uint64_t base = 0x7f0000000000ull, sum = 0;
	unsigned i, seed = 7;
	uint64_t *addrs = malloc(4096 * sizeof(*addrs));
	double t;

	for (i = 0; i < n; i++)
		pfw_maps_mmap(m, 1, base + (uint64_t)i * 0x20000, 0x10000, (uint64_t)i << 12, 8, 1,
			      i + 1, i & 1 ? "/usr/lib/libodd.so" : "/usr/lib/libeven.so");
	for (i = 0; i < 4096; i++)
		addrs[i] = base + (uint64_t)(rand_r(&seed) % n) * 0x20000 + rand_r(&seed) % 0x10000;
	t = now_s();
	for (i = 0; i < iters; i++) {
		const struct pfw_mapping *x = pfw_maps_find(m, 1, addrs[i & 4095]);

		sum += x ? x->inode : 0;
	}
	t = now_s() - t;
	printf("random:    %.1f M lookups/s (%.1f ns each, checksum %llu)\n", iters / t / 1e6,
	       t / iters * 1e9, (unsigned long long)sum);
	t = now_s();
	for (i = 0; i < iters; i++) {
		const struct pfw_mapping *x = pfw_maps_find(
			m, 1, base + (uint64_t)(i >> 10 & 511) * 0x20000 + (i & 1023) * 16);

		sum += x ? x->inode : 0;
	}
	t = now_s() - t;
	printf("clustered: %.1f M lookups/s (%.1f ns each, checksum %llu)\n", iters / t / 1e6,
	       t / iters * 1e9, (unsigned long long)sum);
	{
		/* parse cost of the same 1000-mapping table as /proc text */
		size_t cap = n * 128, len = 0;
		char *text = malloc(cap);
		const unsigned reps = 2000;

		for (i = 0; i < n; i++)
			len += (size_t)snprintf(
				text + len, cap - len,
				"%llx-%llx r-xp %08x 08:01 %u%*s/usr/lib/lib%u.so\n",
				(unsigned long long)(base + (uint64_t)i * 0x20000),
				(unsigned long long)(base + (uint64_t)i * 0x20000 + 0x10000),
				i << 12, i + 1, 20, "", i % 50);
		t = now_s();
		for (i = 0; i < reps; i++)
			sum += (uint64_t)pfw_maps_parse(m, 2, text, len);
		t = now_s() - t;
		printf("parse:     %.1f us per 1000-line maps file (%zu bytes)\n", t / reps * 1e6,
		       len);
		free(text);
	}
	free(addrs);
	pfw_maps_free(m);
}

/*
 * --serve runs for days: the names of threads that are gone must not pile
 * up. Tids above PID_MAX_LIMIT (4194304) cannot exist, so kill(2) says
 * ESRCH for them; this process's own name must survive every sweep.
 */
static void test_comm_sweep(void)
{
	struct pfw_maps *m = pfw_maps_new();
	pid_t self = getpid();
	unsigned dead_left = 0;

	pfw_maps_set_comm(m, self, self, "me");
	for (int i = 0; i < 20000; i++)
		pfw_maps_set_comm(m, 5000000 + i, 5000000 + i, "gone");
	for (int i = 0; i < 20000; i++)
		dead_left += pfw_maps_comm(m, 5000000 + i) != NULL;
	tap_is_str(pfw_maps_comm(m, self), "me", "comm sweep: a live thread's name is kept");
	if (!tap_ok(dead_left < 8192, "comm sweep: names of 20000 dead threads do not pile up"))
		tap_diag("  %u of 20000 dead names left", dead_left);
	tap_is_str(pfw_maps_comm(m, 5000000 + 19999), "gone", "comm sweep: the newest name is there");
	pfw_maps_free(m);
}

/*
 * --serve: with collection on, the paths of files that no live address
 * space maps are freed once the pool has doubled; a live process's paths
 * stay valid and indexed. Off (the default), nothing is ever dropped.
 */
static void test_collect(void)
{
	for (int on = 0; on <= 1; on++) {
		struct pfw_maps *m = pfw_maps_new();
		const struct pfw_mapping *x;
		const char *live;
		char path[64];
		unsigned indexed = 0;

		pfw_maps_set_collect(m, on);
		pfw_maps_mmap(m, 1, 0x1000, 0x1000, 0, 8, 1, 7, "/live/file");
		x = pfw_maps_find(m, 1, 0x1000);
		live = x ? x->path : NULL;
		for (int i = 0; i < 5000; i++) {
			snprintf(path, sizeof(path), "/churn/f%d", i);
			pfw_maps_mmap(m, 100 + i, 0x1000, 0x1000, 0, 8, 1, 1000 + i, path);
			pfw_maps_exit(m, 100 + i);
		}
		for (int i = 0; i < 5000; i++)
			indexed += pfw_maps_path_of(m, 8, 1, 1000 + i) != NULL;
		x = pfw_maps_find(m, 1, 0x1000);
		tap_ok(x && x->path == live && !strcmp(x->path, "/live/file"),
		       "collect %s: a live mapping keeps its path", on ? "on" : "off");
		tap_is_str(pfw_maps_path_of(m, 8, 1, 7), "/live/file",
			   on ? "collect on: a live file stays indexed" : "collect off: a live file stays indexed");
		if (on) {
			if (!tap_ok(indexed < 2500, "collect on: paths of 5000 exited processes' files are freed"))
				tap_diag("  %u of 5000 still indexed", indexed);
		} else {
			tap_is_u64(indexed, 5000, "collect off: every path stays until pfw_maps_free()");
		}
		pfw_maps_free(m);
	}
}

/* a name learnt without a mapping (bpf's MMAP2 record of an exited process) */
static void test_name_inode(void)
{
	struct pfw_maps *m = pfw_maps_new();

	pfw_maps_name_inode(m, 8, 1, 42, "/data/a.db");
	tap_is_str(pfw_maps_path_of(m, 8, 1, 42), "/data/a.db", "name_inode: path_of names it");
	tap_ok(!pfw_maps_path_of(m, 8, 2, 42), "name_inode: another device's inode 42 is not it");
	tap_ok(!pfw_maps_known(m, 1), "name_inode: no process table made");
	pfw_maps_name_inode(m, 8, 1, 42, "/data/b.db");
	tap_is_str(pfw_maps_path_of(m, 8, 1, 42), "/data/b.db", "name_inode: the last name wins");
	pfw_maps_name_inode(m, 8, 1, 43, "[heap]");
	pfw_maps_name_inode(m, 8, 1, 44, NULL);
	pfw_maps_name_inode(m, 8, 1, 0, "/data/c.db");
	tap_ok(!pfw_maps_path_of(m, 8, 1, 43) && !pfw_maps_path_of(m, 8, 1, 44) &&
		       !pfw_maps_path_of(m, 8, 1, 0),
	       "name_inode: no file (a [name], NULL, inode 0) is not indexed");
	/* a mapping of the inode made later names it as the mapping does */
	pfw_maps_mmap(m, 7, 0x1000, 0x1000, 0, 8, 1, 42, "/data/a.db (deleted)");
	tap_is_str(pfw_maps_path_of(m, 8, 1, 42), "/data/a.db (deleted)",
		   "name_inode: a newer mapping's name replaces it");
	pfw_maps_free(m);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--bench")) {
		bench();
		return 0;
	}
	test_real();
	test_hostile();
	test_garbage();
	test_boundaries();
	test_mmap_overlap();
	test_fork_exec_exit();
	test_comm_intern();
	test_load_proc();
	test_exact_names();
	test_fd_path();
	test_zombie_keeps();
	test_path_by_inode();
	test_comm_sweep();
	test_collect();
	test_name_inode();
	return tap_done();
}
