// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fdreuse: map a file, close its descriptor and open another file at the
 * same number at once -- what ld.so does for every library -- then fault the
 * mapping. A tracer that names a mapping from /proc/PID/fd/FD when it reads
 * the mmap, a moment later, names the wrong file.
 *
 *   fdreuse DIR ROUNDS PAGES
 *
 * Each round creates DIR/a.N.dat (PAGES pages, dropped from the page cache)
 * and maps it with MADV_RANDOM; closes it; opens a new DIR/b.N.dat, which
 * takes the same descriptor number; reads every page of the mapping (PAGES
 * major faults, all on a.N.dat); unmaps it. Exit status 0 when the process's
 * majflt grew by exactly PAGES in every round, 1 otherwise or on an error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096

static long majflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_majflt;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "fdreuse: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int make_file(const char *path, long pages)
{
	char buf[PAGE];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail("cannot create", path);
	for (long i = 0; i < pages; i++) {
		memset(buf, (int)(i & 0xff) | 1, sizeof(buf));
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return fail("cannot write", path);
	}
	/* written back, then dropped: every page is read from the disk */
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return fail("cannot evict", path);
	return close(fd) ? fail("cannot close", path) : 0;
}

int main(int argc, char **argv)
{
	char a[4096], b[4096];
	long rounds, pages;
	int bad = 0;

	if (argc != 4 || (rounds = atol(argv[2])) <= 0 || (pages = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: fdreuse DIR ROUNDS PAGES\n");
		return 2;
	}
	for (long r = 0; r < rounds; r++) {
		volatile const char *map;
		long before, got;
		int fa, fb;

		snprintf(a, sizeof(a), "%s/a.%ld.dat", argv[1], r);
		snprintf(b, sizeof(b), "%s/b.%ld.dat", argv[1], r);
		if (make_file(a, pages))
			return 1;
		fa = open(a, O_RDONLY | O_CLOEXEC);
		if (fa < 0)
			return fail("cannot open", a);
		map = mmap(NULL, pages * PAGE, PROT_READ, MAP_SHARED, fa, 0);
		if (map == MAP_FAILED)
			return fail("cannot map", a);
		if (madvise((void *)map, pages * PAGE, MADV_RANDOM))
			return fail("madvise", a);
		close(fa);
		fb = open(b, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fb < 0)
			return fail("cannot create", b);
		if (fb != fa) {
			fprintf(stderr, "fdreuse: %s got fd %d, not %d\n", b, fb, fa);
			return 1;
		}
		before = majflt();
		for (long i = 0; i < pages; i++)
			(void)map[i * PAGE];
		got = majflt() - before;
		if (got != pages) {
			fprintf(stderr, "fdreuse: round %ld: %ld major faults, expected %ld\n", r,
				got, pages);
			bad = 1;
		}
		munmap((void *)map, pages * PAGE);
		close(fb);
	}
	return bad;
}
