// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A program whose major faults are known by function and line, for the
 * stack views: built with -g and frame pointers so every backend's user
 * stack unwinds and libdw finds the lines.
 *
 *   stackprog FILE A B   writes FILE (A + B pages), drops it from the page
 *                        cache, maps it MADV_RANDOM (no readahead: one major
 *                        fault per page), then touch_alpha() reads A pages
 *                        and, through run_beta(), touch_beta() reads B.
 * The lines marked FAULT-ALPHA / FAULT-BETA / CALL-BETA are what the tests
 * expect as call sites; they find them with grep, not by number.
 * Prints {"majflt":N,"total":T} (getrusage: the touch phase, and the
 * process's whole life) on stdout: the ground truth.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PAGE 4096

/*
 * The two touch functions differ on purpose: at -O2 gcc folds identical
 * functions into one (-fipa-icf) and both call sites would be one symbol.
 * Each keeps a volatile local written on entry: gcc 12 at -O2 sets up no
 * frame in a leaf that uses no stack, even with -fno-omit-frame-pointer
 * -mno-omit-leaf-frame-pointer, and a frame-pointer unwinder (perf,
 * bpf_get_stack) then skips the caller. The make flags (-O0) come before
 * the user's CFLAGS, so the source must hold on its own.
 */
static volatile unsigned long sink;

__attribute__((noinline)) static void touch_alpha(const volatile char *p, long n)
{
	volatile long frame[2];

	frame[0] = n;
	for (long i = 0; i < n; i++)
		sink += p[i * PAGE]; /* FAULT-ALPHA */
}

__attribute__((noinline)) static void touch_beta(const volatile char *p, long n)
{
	volatile long frame[2];

	frame[0] = n;
	for (long i = 0; i < n; i++)
		sink ^= p[i * PAGE + 8]; /* FAULT-BETA */
}

__attribute__((noinline)) static void run_beta(const volatile char *p, long n)
{
	touch_beta(p, n); /* CALL-BETA */
	sink++;
}

int main(int argc, char **argv)
{
	struct rusage before, after;
	long a, b, total;
	char *buf, *map;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: stackprog FILE ALPHA_PAGES BETA_PAGES\n");
		return 2;
	}
	a = atol(argv[2]);
	b = atol(argv[3]);
	total = a + b;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	buf = malloc(PAGE);
	if (fd < 0 || !buf || total <= 0)
		return 1;
	memset(buf, 'x', PAGE);
	for (long i = 0; i < total; i++)
		if (write(fd, buf, PAGE) != PAGE)
			return 1;
	if (fdatasync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return 1;
	map = mmap(NULL, (size_t)total * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || madvise(map, (size_t)total * PAGE, MADV_RANDOM))
		return 1;
	getrusage(RUSAGE_SELF, &before);
	touch_alpha(map, a);
	run_beta(map + a * PAGE, b);
	getrusage(RUSAGE_SELF, &after);
	/* majflt: the touch phase; total: the whole life so far (a library page may fault too) */
	printf("{\"majflt\":%ld,\"total\":%ld}\n", after.ru_majflt - before.ru_majflt,
	       after.ru_majflt);
	fflush(stdout);
	/*
	 * tracefs has no mmap event: the ftrace backend learns the text
	 * mappings from /proc/PID/maps when it drains, which must find the
	 * process alive (and not a zombie) to symbolize its frames.
	 */
	if (getenv("STACKPROG_LINGER_MS"))
		usleep((useconds_t)atol(getenv("STACKPROG_LINGER_MS")) * 1000);
	munmap(map, (size_t)total * PAGE);
	close(fd);
	free(buf);
	return 0;
}
