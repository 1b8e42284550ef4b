// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfwatch-workload: a deterministic page fault generator (SPEC.md
 * "pfwatch-workload"). It creates a data file, drops it from the page cache,
 * maps it and touches pages with a pattern in T threads. With --exact it
 * disables readahead (MADV_RANDOM) so that every first touch of an evicted
 * page is exactly one major fault, and --expect prints that number.
 *
 * Threads own disjoint slices of the file: two threads faulting the same
 * page at once would make the loser wait on the folio lock, return
 * VM_FAULT_RETRY and be accounted major again on the retry (FAULT_FLAG_TRIED,
 * mm_account_fault() since 5.9), so shared pages would break exactness.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PROG "pfwatch-workload"

enum pattern {
	PAT_SEQ,
	PAT_RANDOM,
	PAT_STRIDE,
	PAT_MIXED,
};

static const char *const pattern_names[] = {"seq", "random", "stride", "mixed"};

struct conf {
	const char *file;
	uint64_t size;
	enum pattern pattern;
	uint64_t stride;
	unsigned threads;
	uint64_t accesses; /* per thread; 0 = the thread's slice size */
	uint64_t delay_us;
	uint64_t seed;
	bool exact;
	bool evict;
	bool expect;
	bool write;
	bool keep;
	bool json;
	bool wait_start;
	bool wait_end;
	const char *status_file;
};

struct worker {
	pthread_t thread;
	const struct conf *conf;
	volatile unsigned char *map;
	unsigned char *seen;	/* one byte per page of the whole file, shared, slices disjoint */
	uint64_t first, npages; /* this thread's slice, in pages */
	unsigned idx;
	uint64_t touched; /* distinct pages */
	pid_t tid;
};

static long page_size;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Create a data file, drop it from the page cache, map it and touch its pages.\n"
		"\n"
		"  --file=PATH        data file (default ./pfwatch-workload.dat)\n"
		"  --size=BYTES       file size, K/M/G suffixes (default 64M)\n"
		"  --pattern=NAME     seq, random, stride or mixed (70%% random, 30%% seq)\n"
		"  --stride=PAGES     page step for --pattern=stride (default 7)\n"
		"  --threads=T        threads, each owns a disjoint slice of the file (default 1)\n"
		"  --accesses=C       page accesses per thread (default: one pass over its slice)\n"
		"  --delay=USEC       sleep between accesses (default 0)\n"
		"  --seed=N           seed of the random sequences (default 1)\n"
		"  --exact            MADV_RANDOM: each first touch of a page is one major fault\n"
		"  --no-evict         do not drop the file from the page cache first\n"
		"  --expect           print the exact number of major faults and exit (needs "
		"--exact)\n"
		"  --write            write one byte per access (MAP_SHARED) instead of reading\n"
		"  --keep             keep the data file if this run created it\n"
		"  --json             print the summary as JSON on stdout\n"
		"  --wait-start       after setup, wait for SIGUSR1 before touching pages\n"
		"  --wait-end         after touching, wait for SIGUSR1 before exiting\n"
		"  --status-file=PATH write \"ready\" / \"done\" there when waiting\n"
		"  -h, --help         show this help and exit\n"
		"  -V, --version      show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on a runtime error, 2 on a usage error.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry '" PROG " --help' for more information.\n", stderr);
	exit(2);
}

static int parse_u64(const char *s, uint64_t *out, bool suffixes)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (suffixes && *end) {
		switch (*end) {
		case 'k':
		case 'K':
			mul = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mul = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mul = 1ull << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
	}
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

/* splitmix64: tiny, seedable, same sequence everywhere */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The page (relative to the slice) of access @i. Random draws use a generator
 * seeded from (seed, thread index) only, so the sequence of each thread is
 * fixed whatever the scheduling.
 */
struct seq_state {
	uint64_t rng;
	uint64_t cursor;
};

static void seq_init(struct seq_state *st, const struct conf *c, unsigned idx)
{
	st->rng = c->seed ^ ((uint64_t)(idx + 1) * 0xd1b54a32d192ed03ull);
	st->cursor = 0;
}

static uint64_t seq_page(struct seq_state *st, const struct conf *c, uint64_t i, uint64_t n)
{
	switch (c->pattern) {
	case PAT_SEQ:
		return i % n;
	case PAT_RANDOM:
		return rng_next(&st->rng) % n;
	case PAT_STRIDE:
		return (i * c->stride) % n;
	case PAT_MIXED:
		if (rng_next(&st->rng) % 100 < 70)
			return rng_next(&st->rng) % n;
		return st->cursor++ % n;
	}
	return 0;
}

static void slice_of(const struct conf *c, uint64_t npages, unsigned idx, uint64_t *first,
		     uint64_t *n)
{
	uint64_t lo = npages * idx / c->threads;
	uint64_t hi = npages * (idx + 1) / c->threads;

	*first = lo;
	*n = hi - lo;
}

/* by default seq and random make one pass over the slice, stride one sweep */
static uint64_t accesses_of(const struct conf *c, uint64_t slice)
{
	if (c->accesses)
		return c->accesses;
	if (c->pattern == PAT_STRIDE)
		return (slice + c->stride - 1) / c->stride;
	return slice;
}

/* distinct pages the run will touch: the sequences are replayed, not estimated */
static uint64_t expected_pages(const struct conf *c, uint64_t npages)
{
	unsigned char *seen = calloc(npages ? npages : 1, 1);
	uint64_t total = 0;

	if (!seen)
		return UINT64_MAX;
	for (unsigned t = 0; t < c->threads; t++) {
		struct seq_state st;
		uint64_t first, n;

		slice_of(c, npages, t, &first, &n);
		if (!n)
			continue;
		seq_init(&st, c, t);
		for (uint64_t i = 0; i < accesses_of(c, n); i++) {
			uint64_t p = first + seq_page(&st, c, i, n);

			if (!seen[p]) {
				seen[p] = 1;
				total++;
			}
		}
	}
	free(seen);
	return total;
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct conf *c = w->conf;
	struct seq_state st;
	uint64_t n = accesses_of(c, w->npages);

	w->tid = gettid();
	seq_init(&st, c, w->idx);
	for (uint64_t i = 0; i < n && w->npages; i++) {
		uint64_t p = w->first + seq_page(&st, c, i, w->npages);
		volatile unsigned char *addr = w->map + p * (uint64_t)page_size;

		/* one access per page is enough: the first one faults it in */
		if (c->write)
			*addr = (unsigned char)(*addr + 0);
		else
			(void)*addr;
		if (!w->seen[p]) {
			w->seen[p] = 1;
			w->touched++;
		}
		if (c->delay_us)
			sleep_us(c->delay_us);
	}
	return NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

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

/* real, non-sparse data: a hole would be a zero page, never I/O */
static int fill_file(int fd, uint64_t size)
{
	size_t chunk = 1u << 20;
	unsigned char *buf = malloc(chunk);
	uint64_t off = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (off < size) {
		size_t len = size - off < chunk ? (size_t)(size - off) : chunk;

		for (size_t i = 0; i < len; i += 8) {
			uint64_t v = off + i;

			memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
		}
		ret = write_all(fd, buf, len);
		if (ret)
			break;
		off += len;
	}
	free(buf);
	if (!ret && fsync(fd))
		ret = -errno;
	return ret;
}

static uint64_t resident_pages(void *map, uint64_t npages)
{
	unsigned char *vec = malloc(npages ? npages : 1);
	uint64_t n = 0;

	if (!vec)
		return UINT64_MAX;
	if (mincore(map, npages * (uint64_t)page_size, vec)) {
		free(vec);
		return UINT64_MAX;
	}
	for (uint64_t i = 0; i < npages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

/*
 * POSIX_FADV_DONTNEED drops clean, unmapped pages only; pages still sitting
 * in another CPU's LRU batch are drained by the kernel on a second pass
 * (mm/fadvise.c, lru_add_drain_all()). We check with mincore() and retry a
 * few times rather than trusting one call.
 */
static int evict(int fd, void *map, uint64_t npages, uint64_t *left)
{
	for (int tries = 0; tries < 5; tries++) {
		int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

		if (err)
			return -err;
		*left = resident_pages(map, npages);
		if (*left == 0)
			return 0;
		sleep_us(20000);
	}
	return 0;
}

static int status_write(const char *path, const char *what)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "a");
	if (!f)
		return -errno;
	fprintf(f, "%s %d\n", what, (int)getpid());
	if (fclose(f))
		return -errno;
	return 0;
}

static int wait_usr1(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return -sigwait(&set, &sig);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void parse_args(int argc, char **argv, struct conf *c)
{
	enum {
		OPT_FILE = 256,
		OPT_SIZE,
		OPT_PATTERN,
		OPT_STRIDE,
		OPT_THREADS,
		OPT_ACCESSES,
		OPT_DELAY,
		OPT_SEED,
		OPT_EXACT,
		OPT_NO_EVICT,
		OPT_EXPECT,
		OPT_WRITE,
		OPT_KEEP,
		OPT_JSON,
		OPT_WAIT_START,
		OPT_WAIT_END,
		OPT_STATUS_FILE,
	};
	static const struct option longopts[] = {
		{"file", required_argument, NULL, OPT_FILE},
		{"size", required_argument, NULL, OPT_SIZE},
		{"pattern", required_argument, NULL, OPT_PATTERN},
		{"stride", required_argument, NULL, OPT_STRIDE},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"accesses", required_argument, NULL, OPT_ACCESSES},
		{"delay", required_argument, NULL, OPT_DELAY},
		{"seed", required_argument, NULL, OPT_SEED},
		{"exact", no_argument, NULL, OPT_EXACT},
		{"no-evict", no_argument, NULL, OPT_NO_EVICT},
		{"expect", no_argument, NULL, OPT_EXPECT},
		{"write", no_argument, NULL, OPT_WRITE},
		{"keep", no_argument, NULL, OPT_KEEP},
		{"json", no_argument, NULL, OPT_JSON},
		{"wait-start", no_argument, NULL, OPT_WAIT_START},
		{"wait-end", no_argument, NULL, OPT_WAIT_END},
		{"status-file", required_argument, NULL, OPT_STATUS_FILE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_FILE:
			if (!*optarg)
				usage_error("--file: empty path");
			c->file = optarg;
			break;
		case OPT_SIZE:
			if (parse_u64(optarg, &c->size, true) || c->size == 0)
				usage_error(
					"--size: '%s' is not a positive size (BYTES, K, M or G)",
					optarg);
			break;
		case OPT_PATTERN: {
			bool found = false;

			for (unsigned i = 0; i < sizeof(pattern_names) / sizeof(*pattern_names);
			     i++) {
				if (!strcmp(optarg, pattern_names[i])) {
					c->pattern = (enum pattern)i;
					found = true;
				}
			}
			if (!found)
				usage_error("--pattern: '%s' is not seq, random, stride or mixed",
					    optarg);
			break;
		}
		case OPT_STRIDE:
			if (parse_u64(optarg, &c->stride, false) || c->stride == 0)
				usage_error("--stride: '%s' is not a positive number of pages",
					    optarg);
			break;
		case OPT_THREADS:
			if (parse_u64(optarg, &v, false) || v == 0 || v > 1024)
				usage_error("--threads: '%s' is not in 1..1024", optarg);
			c->threads = (unsigned)v;
			break;
		case OPT_ACCESSES:
			if (parse_u64(optarg, &c->accesses, false) || c->accesses == 0)
				usage_error("--accesses: '%s' is not a positive number", optarg);
			break;
		case OPT_DELAY:
			if (parse_u64(optarg, &c->delay_us, false))
				usage_error("--delay: '%s' is not a number of microseconds",
					    optarg);
			break;
		case OPT_SEED:
			if (parse_u64(optarg, &c->seed, false))
				usage_error("--seed: '%s' is not a number", optarg);
			break;
		case OPT_EXACT:
			c->exact = true;
			break;
		case OPT_NO_EVICT:
			c->evict = false;
			break;
		case OPT_EXPECT:
			c->expect = true;
			break;
		case OPT_WRITE:
			c->write = true;
			break;
		case OPT_KEEP:
			c->keep = true;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_WAIT_START:
			c->wait_start = true;
			break;
		case OPT_WAIT_END:
			c->wait_end = true;
			break;
		case OPT_STATUS_FILE:
			c->status_file = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			exit(0);
		default:
			fputs("Try '" PROG " --help' for more information.\n", stderr);
			exit(2);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	/*
	 * Without MADV_RANDOM, readahead decides how many pages one fault
	 * brings in; without eviction, whatever the cache holds decides.
	 * Neither is a number we can promise.
	 */
	if (c->expect && !c->exact)
		usage_error("--expect needs --exact (readahead makes other counts unpredictable)");
	if (c->expect && !c->evict)
		usage_error("--expect cannot be combined with --no-evict");
}

int main(int argc, char **argv)
{
	struct conf c = {
		.file = "./pfwatch-workload.dat",
		.size = 64ull << 20,
		.pattern = PAT_SEQ,
		.stride = 7,
		.threads = 1,
		.seed = 1,
		.evict = true,
	};
	struct worker *workers = NULL;
	unsigned char *seen = NULL;
	struct rusage ru0, ru1;
	uint64_t npages, expected, touched = 0, left = 0, t0, t1;
	bool created = false;
	void *map = MAP_FAILED;
	struct stat sb;
	sigset_t usr1;
	int fd = -1, err, status = 1;

	page_size = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv, &c);
	npages = (c.size + (uint64_t)page_size - 1) / (uint64_t)page_size;
	if (npages > SIZE_MAX / (uint64_t)page_size)
		usage_error("--size: too large for this address space");

	expected = expected_pages(&c, npages);
	if (expected == UINT64_MAX) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (c.expect) {
		if (c.json)
			printf("{\"expected\":%" PRIu64 "}\n", expected);
		else
			printf("%" PRIu64 "\n", expected);
		return 0;
	}

	/* blocked before any thread exists, so sigwait() alone receives it */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (c.wait_start || c.wait_end)
		sigprocmask(SIG_BLOCK, &usr1, NULL);

	fd = open(c.file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		created = true;
		err = fill_file(fd, c.size);
		if (err) {
			fprintf(stderr, PROG ": cannot write %s: %s; check the free space there\n",
				c.file, strerror(-err));
			goto out;
		}
	} else if (errno == EEXIST) {
		fd = open(c.file, (c.write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, PROG ": cannot open %s: %s\n", c.file, strerror(errno));
			goto out;
		}
		if (fstat(fd, &sb)) {
			fprintf(stderr, PROG ": cannot stat %s: %s\n", c.file, strerror(errno));
			goto out;
		}
		if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < c.size) {
			fprintf(stderr,
				PROG ": %s exists but is not a regular file of at least %" PRIu64
				     " bytes; remove it or choose another --file/--size\n",
				c.file, c.size);
			goto out;
		}
	} else {
		fprintf(stderr, PROG ": cannot create %s: %s\n", c.file, strerror(errno));
		goto out;
	}

	map = mmap(NULL, npages * (uint64_t)page_size, c.write ? PROT_READ | PROT_WRITE : PROT_READ,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map %s: %s\n", c.file, strerror(errno));
		goto out;
	}
	if (c.exact && madvise(map, npages * (uint64_t)page_size, MADV_RANDOM)) {
		fprintf(stderr, PROG ": madvise(MADV_RANDOM): %s\n", strerror(errno));
		goto out;
	}
	if (c.evict) {
		err = evict(fd, map, npages, &left);
		if (err) {
			fprintf(stderr, PROG ": posix_fadvise(DONTNEED) on %s: %s\n", c.file,
				strerror(-err));
			goto out;
		}
		/* tmpfs and friends keep every page: there is no major fault to make */
		if (left && c.exact) {
			fprintf(stderr,
				PROG ": %" PRIu64 " of %" PRIu64
				     " pages of %s stay in memory after "
				     "POSIX_FADV_DONTNEED (tmpfs? mapped elsewhere?); put the file "
				     "on a disk-backed file system\n",
				left, npages, c.file);
			goto out;
		}
	}

	seen = calloc(npages, 1);
	workers = calloc(c.threads, sizeof(*workers));
	if (!seen || !workers) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}

	if (c.wait_start) {
		if (status_write(c.status_file, "ready")) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", c.status_file,
				strerror(errno));
			goto out;
		}
		wait_usr1();
	}

	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	for (unsigned t = 0; t < c.threads; t++) {
		struct worker *w = &workers[t];

		w->conf = &c;
		w->map = map;
		w->seen = seen;
		w->idx = t;
		slice_of(&c, npages, t, &w->first, &w->npages);
		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			fprintf(stderr, PROG ": cannot create thread %u: %s\n", t, strerror(err));
			/* the threads already started must finish before we unmap */
			for (unsigned j = 0; j < t; j++)
				pthread_join(workers[j].thread, NULL);
			goto out;
		}
	}
	for (unsigned t = 0; t < c.threads; t++) {
		pthread_join(workers[t].thread, NULL);
		touched += workers[t].touched;
	}
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);

	if (c.wait_end) {
		if (status_write(c.status_file, "done")) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", c.status_file,
				strerror(errno));
			goto out;
		}
		wait_usr1();
	}

	fprintf(stderr, PROG ": touched %" PRIu64 " pages, majflt=%ld minflt=%ld\n", touched,
		ru1.ru_majflt, ru1.ru_minflt);
	if (c.json) {
		printf("{\"pid\":%d,\"file\":", (int)getpid());
		json_string(stdout, c.file);
		printf(",\"size\":%" PRIu64 ",\"page_size\":%ld,\"pattern\":\"%s\",\"threads\":%u"
		       ",\"exact\":%s,\"touched\":%" PRIu64 ",\"expected\":",
		       c.size, page_size, pattern_names[c.pattern], c.threads,
		       c.exact ? "true" : "false", touched);
		if (c.exact && c.evict)
			printf("%" PRIu64, expected);
		else
			printf("null");
		printf(",\"majflt\":%ld,\"minflt\":%ld,\"touch_majflt\":%ld,\"touch_minflt\":%ld"
		       ",\"elapsed_ns\":%" PRIu64 ",\"tids\":[",
		       ru1.ru_majflt, ru1.ru_minflt, ru1.ru_majflt - ru0.ru_majflt,
		       ru1.ru_minflt - ru0.ru_minflt, t1 - t0);
		for (unsigned t = 0; t < c.threads; t++)
			printf("%s{\"tid\":%d,\"first_page\":%" PRIu64 ",\"pages\":%" PRIu64
			       ",\"touched\":%" PRIu64 "}",
			       t ? "," : "", (int)workers[t].tid, workers[t].first,
			       workers[t].npages, workers[t].touched);
		printf("]}\n");
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": write error on stdout\n");
		goto out;
	}
	status = 0;
	if (c.exact && c.evict && touched != expected) {
		fprintf(stderr,
			PROG ": internal error: touched %" PRIu64 " != expected %" PRIu64 "\n",
			touched, expected);
		status = 1;
	}
out:
	if (map != MAP_FAILED)
		munmap(map, npages * (uint64_t)page_size);
	if (fd >= 0)
		close(fd);
	if (created && !c.keep)
		unlink(c.file);
	free(seen);
	free(workers);
	return status;
}
