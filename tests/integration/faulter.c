// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * faulter: a multi-threaded, forking fault generator with hostile file and
 * thread names, for the integration tests.
 *
 *   faulter DIR RESULT [SCALE]
 *
 * Two processes (the parent and one forked child), three threads each (the
 * main thread and two pthreads). Every thread creates its own data file in
 * DIR, drops it from the page cache, maps it with MADV_RANDOM and reads every
 * other page of it: each read is exactly one major fault, and no two threads
 * share a page (a shared page would be a folio-lock retry, accounted major
 * twice). File names carry a space, a newline, a terminal escape sequence,
 * UTF-8, a quote and a comma; thread names carry a newline and an escape.
 *
 * RESULT gets one line per fact, paths and names hex encoded so that a POSIX
 * shell can compare them with what pfwatch printed:
 *   file PID TID PAGES SIZE HEXPATH
 *   thread PID TID MAJFLT HEXCOMM     (getrusage(RUSAGE_THREAD), whole thread life)
 *   process PID SELF_MAJFLT CHILDREN_MAJFLT
 * Exit status 0 when every thread's majflt over its faulting phase equals
 * its page count, 1 otherwise or on any error.
 */
#define _GNU_SOURCE
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct job {
	const char *name; /* file name in DIR */
	const char *comm; /* thread name, NULL: keep */
	unsigned pages;	  /* distinct pages touched (times SCALE) */
};

/* [process][thread]; thread 0 is the process's main thread */
static const struct job jobs[2][3] = {
	{
		{"space name.dat", NULL, 17},
		{"new\nline.dat", "flt\nnewline", 29},
		{"esc\x1b[31mred.dat", "flt\x1b[31mred", 41},
	},
	{
		{"donn\xc3\xa9"
		 "es \xc3\xbcn\xc3\xaf.dat",
		 "flt-child", 53},
		{"quote\"comma,semi;.dat", "flt\"q,c", 67},
		{"tab\tback\\slash.dat", "flt\tt\\b", 79},
	},
};

struct worker {
	pthread_t thread;
	const struct job *job;
	const char *dir;
	unsigned scale;
	/* results */
	pid_t pid, tid;
	unsigned pages;
	uint64_t size;
	long majflt;	   /* whole thread life: what a tracer attached from exec sees */
	long touch_majflt; /* the faulting phase only: what the verdict is on */
	char comm[17];
	char path[PATH_MAX];
	int err;
	const char *what;
};

static long page_size;

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int resident(void *map, size_t len, size_t npages)
{
	unsigned char *vec = malloc(npages);
	int n = 0;

	if (!vec)
		return -ENOMEM;
	if (mincore(map, len, vec)) {
		free(vec);
		return -errno;
	}
	for (size_t i = 0; i < npages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

static void fault_file(struct worker *w)
{
	size_t npages = 2 * (size_t)w->pages - 1; /* touch pages 0, 2, 4, ... */
	size_t len = npages * (size_t)page_size;
	char *buf = NULL;
	void *map = MAP_FAILED;
	int fd = -1, left = 0;

	w->size = len;
	if (snprintf(w->path, sizeof(w->path), "%s/%s", w->dir, w->job->name) >=
	    (int)sizeof(w->path)) {
		w->err = ENAMETOOLONG;
		w->what = "path";
		return;
	}
	fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		w->err = errno;
		w->what = "open";
		return;
	}
	buf = malloc((size_t)page_size);
	if (!buf) {
		w->err = ENOMEM;
		w->what = "malloc";
		goto out;
	}
	for (size_t i = 0; i < npages; i++) {
		/* real data: a hole maps the zero page and never does I/O */
		memset(buf, (int)('a' + i % 26), (size_t)page_size);
		w->err = -write_all(fd, buf, (size_t)page_size);
		if (w->err) {
			w->what = "write";
			goto out;
		}
	}
	if (fsync(fd)) {
		w->err = errno;
		w->what = "fsync";
		goto out;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		w->err = errno;
		w->what = "mmap";
		goto out;
	}
	if (madvise(map, len, MADV_RANDOM)) {
		w->err = errno;
		w->what = "madvise";
		goto out;
	}
	for (int tries = 0; tries < 5; tries++) {
		w->err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		if (w->err) {
			w->what = "posix_fadvise";
			goto out;
		}
		left = resident(map, len, npages);
		if (left <= 0)
			break;
		usleep(20000);
	}
	if (left) {
		w->err = left < 0 ? -left : EBUSY;
		w->what = "evict (tmpfs?)";
		goto out;
	}
	for (size_t i = 0; i < npages; i += 2)
		(void)*(volatile char *)((char *)map + i * (size_t)page_size);
out:
	if (map != MAP_FAILED)
		munmap(map, len);
	free(buf);
	close(fd);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rusage ru;

	w->pid = getpid();
	w->tid = gettid();
	if (w->job->comm)
		prctl(PR_SET_NAME, w->job->comm, 0, 0, 0);
	prctl(PR_GET_NAME, w->comm, 0, 0, 0);
	w->pages = w->job->pages * w->scale;
	getrusage(RUSAGE_THREAD, &ru);
	w->touch_majflt = -ru.ru_majflt;
	fault_file(w);
	getrusage(RUSAGE_THREAD, &ru);
	w->majflt = ru.ru_majflt;
	w->touch_majflt += ru.ru_majflt;
	return NULL;
}

static void hex(FILE *f, const char *s)
{
	if (!*s)
		fputc('-', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fprintf(f, "%02x", *p);
}

/*
 * One process's part: its main thread is worker 0. Results are formatted in
 * memory and written with one write() to an O_APPEND file, so the two
 * processes' lines never interleave.
 */
static int run_process(int proc, const char *dir, unsigned scale, int rfd, bool *exact)
{
	struct worker w[3] = {0};
	char *text = NULL;
	size_t text_len = 0;
	FILE *f;
	int ret = 0;

	for (int t = 0; t < 3; t++) {
		w[t].job = &jobs[proc][t];
		w[t].dir = dir;
		w[t].scale = scale;
	}
	for (int t = 1; t < 3; t++) {
		int err = pthread_create(&w[t].thread, NULL, worker_main, &w[t]);

		if (err) {
			fprintf(stderr, "faulter: pthread_create: %s\n", strerror(err));
			return -1;
		}
	}
	worker_main(&w[0]);
	for (int t = 1; t < 3; t++)
		pthread_join(w[t].thread, NULL);

	f = open_memstream(&text, &text_len);
	if (!f)
		return -1;
	for (int t = 0; t < 3; t++) {
		if (w[t].err) {
			fprintf(stderr, "faulter: %s: %s: %s\n", w[t].path, w[t].what,
				strerror(w[t].err));
			ret = -1;
			continue;
		}
		/*
		 * The main thread's life began as the tracer's forked child:
		 * faults before execve() count too, so judge the phase alone.
		 */
		if (w[t].touch_majflt != (long)w[t].pages) {
			fprintf(stderr, "faulter: tid %d: majflt %ld while faulting != %u pages\n",
				(int)w[t].tid, w[t].touch_majflt, w[t].pages);
			*exact = false;
		}
		fprintf(f, "file %d %d %u %llu ", (int)w[t].pid, (int)w[t].tid, w[t].pages,
			(unsigned long long)w[t].size);
		hex(f, w[t].path);
		fprintf(f, "\nthread %d %d %ld ", (int)w[t].pid, (int)w[t].tid, w[t].majflt);
		hex(f, w[t].comm);
		fputc('\n', f);
	}
	if (fclose(f))
		return -1;
	if (write_all(rfd, text, text_len))
		ret = -1;
	free(text);
	return ret;
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX];
	unsigned scale = 1;
	bool exact = true;
	struct rusage self, children;
	int rfd, status, ret = 0;
	pid_t child;
	char line[128];

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: faulter DIR RESULT [SCALE]\n");
		return 2;
	}
	if (argc == 4) {
		scale = (unsigned)strtoul(argv[3], NULL, 10);
		if (scale < 1 || scale > 1000) {
			fprintf(stderr, "faulter: SCALE must be in 1..1000\n");
			return 2;
		}
	}
	if (!realpath(argv[1], dir)) {
		fprintf(stderr, "faulter: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	page_size = sysconf(_SC_PAGESIZE);
	rfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (rfd < 0) {
		fprintf(stderr, "faulter: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* flush before fork so the child does not repeat buffered output */
	fflush(NULL);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "faulter: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		ret = run_process(1, dir, scale, rfd, &exact);
		getrusage(RUSAGE_SELF, &self);
		snprintf(line, sizeof(line), "process %d %ld 0\n", (int)getpid(), self.ru_majflt);
		if (write_all(rfd, line, strlen(line)))
			ret = -1;
		_exit(ret || !exact ? 1 : 0);
	}
	ret = run_process(0, dir, scale, rfd, &exact);
	if (waitpid(child, &status, 0) != child) {
		fprintf(stderr, "faulter: waitpid: %s\n", strerror(errno));
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		ret = -1;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	snprintf(line, sizeof(line), "process %d %ld %ld\n", (int)getpid(), self.ru_majflt,
		 children.ru_majflt);
	if (write_all(rfd, line, strlen(line)))
		ret = -1;
	if (close(rfd))
		ret = -1;
	return ret || !exact ? 1 : 0;
}
