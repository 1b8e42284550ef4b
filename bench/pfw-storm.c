// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfw-storm: a minor-fault storm for the benchmarks. T threads each map
 * fresh private anonymous memory, write one byte per page (one minor fault
 * each: the kernel allocates and zeroes the page), unmap it and start over,
 * R rounds. --rate paces the whole storm to N faults/s so the benchmark can
 * ask "is anything lost at this rate", not only "how fast can it go".
 * Prints one JSON object: the faults this process took while storming (its
 * own getrusage), the wall time of the storm and its CPU time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define PROG "pfw-storm"
/* pages between two looks at the clock when --rate paces the storm */
#define PACE_BATCH 64

struct conf {
	unsigned threads;
	uint64_t bytes; /* per thread and round */
	unsigned rounds;
	uint64_t rate; /* faults/s over all threads, 0 = as fast as possible */
	bool wait_start;
	const char *status_file;
};

struct worker {
	pthread_t thread;
	const struct conf *c;
	uint64_t touched;
	int err;
};

static long page_size;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
			      .tv_nsec = (long)(t % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct conf *c = w->c;
	uint64_t npages = c->bytes / (uint64_t)page_size;
	/* each thread keeps its share of the rate on its own clock */
	uint64_t per_page_ns = c->rate ? 1000000000ull * c->threads / c->rate : 0;
	uint64_t t0 = now_ns();

	for (unsigned r = 0; r < c->rounds; r++) {
		char *m = mmap(NULL, c->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (m == MAP_FAILED) {
			w->err = errno;
			return NULL;
		}
		/* one fault per 4 KiB page, not one per 2 MiB where THP is "always" */
		madvise(m, c->bytes, MADV_NOHUGEPAGE);
		for (uint64_t p = 0; p < npages; p++) {
			m[p * (uint64_t)page_size] = 1;
			w->touched++;
			if (per_page_ns && w->touched % PACE_BATCH == 0)
				sleep_until(t0 + w->touched * per_page_ns);
		}
		munmap(m, c->bytes);
	}
	return NULL;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s) {
		fprintf(stderr, PROG ": bad number '%s'\n", s);
		exit(2);
	}
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end) {
		fprintf(stderr, PROG ": bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void usage(FILE *f, int code)
{
	fprintf(f, "Usage: " PROG " [--threads=T] [--size=BYTES] [--rounds=R] [--rate=N]\n"
		   "                 [--wait-start --status-file=PATH]\n"
		   "Each thread maps BYTES of fresh anonymous memory, writes every page,\n"
		   "unmaps it, R times; --rate caps the total at N faults/s. With --wait-start\n"
		   "it writes \"ready\" to PATH and waits for SIGUSR1 before storming.\n");
	exit(code);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threads", required_argument, NULL, 't'},
		{"size", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"rate", required_argument, NULL, 'R'},
		{"wait-start", no_argument, NULL, 'w'},
		{"status-file", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct conf c = {.threads = 1, .bytes = 64u << 20, .rounds = 1};
	struct rusage ru0, ru1;
	struct worker *w;
	uint64_t t0, t1, touched = 0;
	sigset_t usr1;
	int opt, sig, status = 0;

	page_size = sysconf(_SC_PAGESIZE);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			c.threads = (unsigned)parse_size(optarg);
			break;
		case 's':
			c.bytes = parse_size(optarg);
			break;
		case 'r':
			c.rounds = (unsigned)parse_size(optarg);
			break;
		case 'R':
			c.rate = parse_size(optarg);
			break;
		case 'w':
			c.wait_start = true;
			break;
		case 'S':
			c.status_file = optarg;
			break;
		case 'h':
			usage(stdout, 0);
			break;
		default:
			usage(stderr, 2);
		}
	}
	if (optind != argc || !c.threads || c.threads > 1024 || c.bytes < (uint64_t)page_size ||
	    !c.rounds || (c.wait_start && !c.status_file))
		usage(stderr, 2);
	c.bytes -= c.bytes % (uint64_t)page_size;
	w = calloc(c.threads, sizeof(*w));
	if (!w) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (c.wait_start) {
		FILE *f;

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		f = fopen(c.status_file, "w");
		if (!f || fputs("ready\n", f) < 0 || fclose(f)) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", c.status_file,
				strerror(errno));
			return 1;
		}
		sigwait(&usr1, &sig);
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	for (unsigned i = 0; i < c.threads; i++) {
		w[i].c = &c;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i])) {
			fprintf(stderr, PROG ": cannot create thread %u\n", i);
			c.threads = i;
			status = 1;
			break;
		}
	}
	for (unsigned i = 0; i < c.threads; i++) {
		pthread_join(w[i].thread, NULL);
		touched += w[i].touched;
		if (w[i].err) {
			fprintf(stderr, PROG ": mmap: %s\n", strerror(w[i].err));
			status = 1;
		}
	}
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	printf("{\"pid\":%d,\"threads\":%u,\"bytes\":%" PRIu64 ",\"rounds\":%u,\"rate\":%" PRIu64
	       ",\"touched\":%" PRIu64 ",\"touch_minflt\":%ld,\"touch_majflt\":%ld"
	       ",\"elapsed_ns\":%" PRIu64 ",\"cpu_ns\":%" PRIu64 "}\n",
	       (int)getpid(), c.threads, c.bytes, c.rounds, c.rate, touched,
	       ru1.ru_minflt - ru0.ru_minflt, ru1.ru_majflt - ru0.ru_majflt, t1 - t0,
	       (uint64_t)((ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
			   ru0.ru_stime.tv_sec) *
				  1000000000ll +
			  (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
			   ru0.ru_stime.tv_usec) *
				  1000ll));
	free(w);
	return status;
}
