// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * probe: helpers the hardening tests run as pfwatch's COMMAND or around it.
 *   probe report              what the command inherited: ids, groups, every
 *                             fd above 2 with its target, the environment
 *   probe clean PROG [ARG]... close every fd above 2, then exec PROG, so
 *                             the fds "report" sees can only come from PROG
 *   probe storm SECONDS       a minor-fault storm: touch a 64 MiB anonymous
 *                             region page by page, MADV_DONTNEED, again;
 *                             prints "minflt N" (getrusage: the faults
 *                             since exec, as a tracer armed before exec sees them)
 *   probe touch COMM FILE[:del]...  name the thread COMM, then for each FILE
 *                             (16 pages, made here): map it MADV_RANDOM,
 *                             drop it from the page cache, with ":del"
 *                             unlink it before mapping, read every page: 16 major faults
 *                             per file, on a path that may end " (deleted)"; prints
 *                             "majflt N" (getrusage: a text page read back in counts too)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int report(void)
{
	gid_t groups[256];
	int n = getgroups(256, groups);
	struct dirent *d;
	DIR *dir;

	printf("uid %d %d\ngid %d %d\ngroups", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	for (int i = 0; i < n; i++)
		printf(" %d", (int)groups[i]);
	printf("\n");
	dir = opendir("/proc/self/fd");
	if (!dir) {
		perror("probe: /proc/self/fd");
		return 1;
	}
	while ((d = readdir(dir))) {
		char path[64], target[PATH_MAX];
		int fd = atoi(d->d_name);
		ssize_t len;

		if (d->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		target[len < 0 ? 0 : len] = '\0';
		printf("fd %d %s\n", fd, target);
	}
	closedir(dir);
	for (char **e = environ; *e; e++)
		printf("env %s\n", *e);
	return 0;
}

static int storm(double seconds)
{
	const size_t len = 64ul << 20;
	long page = sysconf(_SC_PAGESIZE);
	struct rusage ru0, ru;
	struct timespec t0, t;
	char *p;

	/* the held child's faults between fork and exec were not traced */
	getrusage(RUSAGE_SELF, &ru0);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("probe: mmap");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (size_t off = 0; off < len; off += (size_t)page)
			p[off] = 1;
		madvise(p, len, MADV_DONTNEED);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	getrusage(RUSAGE_SELF, &ru);
	printf("minflt %ld\n", ru.ru_minflt - ru0.ru_minflt);
	return 0;
}

static int touch(const char *comm, char **files, int n)
{
	const size_t len = 16 * 4096;
	long page = sysconf(_SC_PAGESIZE);
	char buf[4096];
	int bad = 0;

	memset(buf, 'x', sizeof(buf));
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	for (int i = 0; i < n; i++) {
		char *path = strdup(files[i]), *del = strrchr(path, ':');
		volatile char sum = 0;
		char *p;
		int fd;

		if (del && !strcmp(del, ":del"))
			*del = '\0';
		else
			del = NULL;
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		for (size_t off = 0; fd >= 0 && off < len; off += sizeof(buf))
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				bad = 1;
		if (fd < 0 || fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
			fprintf(stderr, "probe: %.64s...: %s\n", path, strerror(errno));
			return 1;
		}
		/* before mmap: the mapping is born on a deleted file, as /proc shows it */
		if (del)
			unlink(path);
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			perror("probe: mmap");
			return 1;
		}
		madvise(p, len, MADV_RANDOM);
		for (size_t off = 0; off < len; off += (size_t)page)
			sum += p[off];
		/* stays mapped: a tracer that reads /proc/PID/maps late still finds it */
		close(fd);
		free(path);
	}
	/* a tracer that reads /proc/PID at its own pace still finds us */
	if (getenv("PROBE_LINGER"))
		usleep((useconds_t)atoi(getenv("PROBE_LINGER")) * 1000);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("majflt %ld\n", ru.ru_majflt);
	}
	return bad;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "report"))
		return report();
	if (argc >= 3 && !strcmp(argv[1], "storm"))
		return storm(atof(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "touch"))
		return touch(argv[2], argv + 3, argc - 3);
	if (argc >= 3 && !strcmp(argv[1], "clean")) {
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "probe: %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	fprintf(stderr, "usage: probe report | probe clean PROG [ARG]... | probe storm SECONDS | "
			"probe touch COMM FILE[:del]...\n");
	return 2;
}
