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
 *
 * Refaults on purpose: --rounds=R plays the access sequence R times and
 * evicts the file between rounds (the mappings' page tables zapped, the
 * pages dropped from the cache, checked with mincore()), so a page touched
 * again is read again: a refault. --hot=PCT makes the later rounds touch
 * only the first PCT% of each slice (a band read again and again).
 *
 * Swap-ins on purpose: --memory=anon (private anonymous memory, written at
 * setup) or --memory=shmem (a memfd, written with pwrite(): no fault) is
 * swapped out with MADV_PAGEOUT before every round (swap must be on). Swap
 * readahead may bring a neighbour back before its touch, which is then
 * minor, so these modes do not predict: each touch asks mincore() first and
 * counts the touches of pages that were out (a swap-in, a major fault), and
 * every thread reports its own majflt (RUSAGE_THREAD) for comparison.
 *
 * --kernel-evicts leaves the eviction between rounds to the kernel (run it
 * under a memory limit smaller than the file): the file is evicted at the
 * start only, and each touch asks mincore() first, so the majors and
 * refaults are counted as they happen. With one thread per page and
 * readahead off nothing can evict a page between the look and the touch
 * but the toucher's own fault, so the count is exact.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
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

enum memory {
	MEM_FILE,
	MEM_ANON,
	MEM_SHMEM,
};

static const char *const memory_names[] = {"file", "anon", "shmem"};

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
	uint64_t rounds;
	uint64_t hot_pct; /* rounds after the first touch this share of each slice */
	enum memory memory;
	bool exact;
	bool evict;
	bool expect;
	bool write;
	bool keep;
	bool json;
	bool wait_start;
	bool wait_end;
	bool kernel_evicts;
	unsigned linger_ms; /* --linger: stay, mapped, before exiting */
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
	pthread_barrier_t *start, *end; /* rounds: the main thread evicts between them */
	sem_t *done;			/* posted after the last round; the thread then sleeps */
	unsigned char *round_seen;	/* the round's distinct pages, one byte per page */
	uint64_t swapins;		/* anon/shmem: touches of pages that were out */
	uint64_t swapin_refaults;	/* shmem: of those, on pages touched in an earlier round */
	uint64_t seen_major, seen_refaults; /* --kernel-evicts: touches of pages that were out */
	long majflt; /* its majflt, read from /proc once it sleeps for good */
	int err;
};

static long page_size;
/* --reclaim: a cgroup's memory.reclaim, for memory MADV_PAGEOUT leaves alone */
static const char *reclaim_path;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTION]...\n"
		"Create a data file, drop it from the page cache, map it and touch its pages.\n"
		"\n"
		"  --file=PATH        data file (default ./pfwatch-workload.dat)\n"
		"  --size=BYTES       file size, K/M/G suffixes (default 64M)\n"
		"  --pattern=NAME     seq (default), random, stride or mixed (70%% random,\n"
		"                     30%% seq)\n"
		"  --stride=PAGES     page step for --pattern=stride (default 7)\n"
		"  --threads=T        threads, each owns a disjoint slice of the file (default 1)\n"
		"  --accesses=C       page accesses per thread (default: one pass over its slice)\n"
		"  --delay=USEC       sleep between accesses (default 0)\n"
		"  --seed=N           seed of the random sequences (default 1)\n"
		"  --rounds=R         play the accesses R times, evicting in between: a page\n"
		"                     touched again is read again, a refault (default 1)\n"
		"  --hot=PCT          rounds after the first touch only the first PCT%% of each\n"
		"                     thread's slice (default 100)\n"
		"  --kernel-evicts    evict only at the start: between rounds the kernel decides\n"
		"                     (a memory limit); majors and refaults counted as they "
		"happen\n"
		"  --reclaim=FILE     also write the size to FILE (a cgroup v2 memory.reclaim of\n"
		"                     ours) to swap out what MADV_PAGEOUT does not (shmem)\n"
		"  --memory=KIND      file (default), anon or shmem: the last two are swapped out\n"
		"                     before each round (needs swap) and swapped in by the "
		"touches\n"
		"  --exact            MADV_RANDOM: each first touch of a page is one major fault\n"
		"  --no-evict         do not drop the file from the page cache first\n"
		"  --expect           print the exact number of major faults and exit (needs "
		"--exact);\n"
		"                     with --rounds, a second line 'refaults N' (--json: per "
		"thread)\n"
		"  --write            write one byte per access (MAP_SHARED) instead of reading\n"
		"  --keep             keep the data file if this run created it\n"
		"  --json             print the summary as JSON on stdout\n"
		"  --wait-start       after setup, wait for SIGUSR1 before touching pages\n"
		"  --wait-end         after touching, wait for SIGUSR1 before exiting\n"
		"  --linger=MS        after reporting, stay MS ms with the file mapped (for\n"
		"                     tracers that read /proc after the fact)\n"
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

/* the pages of a slice of @n that round @round touches: [0, band) */
static uint64_t band_of(const struct conf *c, uint64_t n, uint64_t round)
{
	uint64_t b;

	if (round == 0 || c->hot_pct >= 100)
		return n;
	b = (n * c->hot_pct + 99) / 100;
	return b ? b : (n ? 1 : 0);
}

struct expect {
	uint64_t pages;			/* distinct pages over the run */
	uint64_t major;			/* with --exact: each round's first touch of a page */
	uint64_t refaults;		/* of those, on pages an earlier round touched */
	uint64_t *t_major, *t_refaults; /* per thread */
};

/*
 * What the run will do, replayed (not estimated): every round starts with
 * the file evicted, so with readahead off each page a round touches is one
 * major fault, and a refault when an earlier round touched it.
 */
static int expect_run(const struct conf *c, uint64_t npages, struct expect *e)
{
	unsigned char *seen = calloc(npages ? npages : 1, 1);
	unsigned char *round_seen = calloc(npages ? npages : 1, 1);

	memset(e, 0, sizeof(*e));
	e->t_major = calloc(c->threads, sizeof(*e->t_major));
	e->t_refaults = calloc(c->threads, sizeof(*e->t_refaults));
	if (!seen || !round_seen || !e->t_major || !e->t_refaults) {
		free(seen);
		free(round_seen);
		return -ENOMEM;
	}
	for (unsigned t = 0; t < c->threads; t++) {
		struct seq_state st;
		uint64_t first, n;

		slice_of(c, npages, t, &first, &n);
		if (!n)
			continue;
		seq_init(&st, c, t);
		for (uint64_t r = 0; r < c->rounds; r++) {
			uint64_t band = band_of(c, n, r);

			memset(round_seen + first, 0, n);
			for (uint64_t i = 0; i < accesses_of(c, n); i++) {
				uint64_t rel = seq_page(&st, c, i, n), p = first + rel;

				if (rel >= band || round_seen[p])
					continue;
				round_seen[p] = 1;
				e->t_major[t]++;
				if (seen[p])
					e->t_refaults[t]++;
				else
					e->pages++;
				seen[p] = 1;
			}
		}
		e->major += e->t_major[t];
		e->refaults += e->t_refaults[t];
	}
	free(seen);
	free(round_seen);
	return 0;
}

static void expect_free(struct expect *e)
{
	free(e->t_major);
	free(e->t_refaults);
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A worker's majflt over its whole life: once it has posted done, it only
 * goes to sleep in pause(), so when /proc says it sleeps ('S'; a fault
 * waits in 'D') it can fault no more, and the count is final. Read then,
 * not by the thread at its end: its way out (a barrier, pause(), thread
 * exit) runs library code that may itself fault when its pages were
 * reclaimed, after any count it could take. -1 if /proc cannot say.
 */
static long parked_majflt(pid_t tid)
{
	char path[64], buf[512], state = 0, *p;
	long majflt = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	for (int tries = 0; tries < 5000 && state != 'S'; tries++) {
		FILE *f = fopen(path, "re");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

		if (f)
			fclose(f);
		buf[n] = '\0';
		p = strrchr(buf, ')');
		/* state (3), ..., minflt (10), cminflt (11), majflt (12) */
		if (!p ||
		    sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %ld", &state, &majflt) != 2)
			return -1;
		if (state != 'S')
			sleep_us(1000);
	}
	return state == 'S' ? majflt : -1;
}

/* is the page at @addr out of memory (not even in the swap cache)? */
static bool page_out(volatile unsigned char *addr)
{
	unsigned char vec = 1;

	return !mincore((void *)addr, (size_t)page_size, &vec) && !(vec & 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct conf *c = w->conf;
	struct seq_state st;
	uint64_t n = accesses_of(c, w->npages);

	w->tid = gettid();
	seq_init(&st, c, w->idx);
	for (uint64_t r = 0; r < c->rounds; r++) {
		uint64_t band = band_of(c, w->npages, r);

		/* the main thread evicts between the rounds, while no thread touches */
		pthread_barrier_wait(w->start);
		memset(w->round_seen + w->first, 0, w->npages);
		for (uint64_t i = 0; i < n && w->npages; i++) {
			uint64_t rel = seq_page(&st, c, i, w->npages), p = w->first + rel;
			volatile unsigned char *addr = w->map + p * (uint64_t)page_size;

			if (rel >= band)
				continue;
			if (c->kernel_evicts && page_out(addr)) {
				w->seen_major++;
				w->seen_refaults += w->seen[p];
			}
			/* swapped memory: readahead may have brought it back (a minor fault) */
			if (c->memory != MEM_FILE && !w->round_seen[p] && page_out(addr)) {
				w->swapins++;
				w->swapin_refaults += w->seen[p];
			}
			w->round_seen[p] = 1;
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
		pthread_barrier_wait(w->end);
	}
	/* never returns: the process exits around it (see parked_majflt()) */
	sem_post(w->done);
	for (;;)
		pause();
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

/* between rounds: unmap the pages from us, then drop them (dirty ones written first) */
static int evict_again(int fd, void *map, uint64_t npages, bool dirty, uint64_t *left)
{
	size_t len = npages * (uint64_t)page_size;

	if (dirty && msync(map, len, MS_SYNC))
		return -errno;
	if (madvise(map, len, MADV_DONTNEED))
		return -errno;
	return evict(fd, map, npages, left);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* 5.14 */
#endif

/* map [first, first + n) pages again through GUP: no fault that a tracer sees */
static int populate(void *map, uint64_t first, uint64_t n)
{
	if (madvise((char *)map + first * (uint64_t)page_size, n * (uint64_t)page_size,
		    MADV_POPULATE_READ))
		return -errno;
	return 0;
}

/*
 * anon/shmem: MADV_PAGEOUT (5.4) reclaims mapped pages to swap. A page
 * written out for the first time goes asynchronously: it is unmapped but
 * stays in the swap cache until the write is done, where MADV_PAGEOUT no
 * longer reaches it (and a touch would be a minor fault). So the pages
 * mincore() still sees are mapped again with MADV_POPULATE_READ (5.14,
 * through GUP: the kernel counts no traced fault, and they are in memory
 * anyway) and paged out once more, until none is left.
 *
 * A page the kernel has not put on an LRU list yet is out of MADV_PAGEOUT's
 * reach as well: a fresh page waits in a per-CPU batch of the CPU that
 * faulted it, until that CPU adds more or drains it. MADV_PAGEOUT drains
 * only its own CPU's batch, so a worker's last pages stay resident for as
 * long as its CPU stays idle (seen: 8-22 of 1024 pages after 20 s, in 16 of
 * 40 idle runs). So a retry calls it once on every CPU we may run on.
 */
static uint64_t now_ns(void);

static int pageout_every_cpu(void *map, size_t len)
{
	cpu_set_t mask, one;
	int err = 0;

	if (sched_getaffinity(0, sizeof(mask), &mask))
		return madvise(map, len, MADV_PAGEOUT) ? -errno : 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && !err; cpu++) {
		if (!CPU_ISSET(cpu, &mask))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		/* a CPU we cannot move to (taken away meanwhile): its turn is skipped */
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		if (madvise(map, len, MADV_PAGEOUT))
			err = -errno;
	}
	sched_setaffinity(0, sizeof(mask), &mask);
	return err;
}

static int swap_out(void *map, uint64_t npages, uint64_t *left)
{
	size_t len = npages * (uint64_t)page_size;
	unsigned char *vec = malloc(npages ? npages : 1);
	int err = 0;

	if (!vec)
		return -ENOMEM;
	/* up to 20 s: writeback to swap is slow on a loaded machine */
	for (uint64_t t0 = now_ns(), tries = 0; now_ns() - t0 < 20000000000ull && !err; tries++) {
		if (tries)
			err = pageout_every_cpu(map, len);
		else if (madvise(map, len, MADV_PAGEOUT))
			err = -errno;
		if (err)
			break;
		if (reclaim_path) {
			char buf[32];
			int fd = open(reclaim_path, O_WRONLY | O_CLOEXEC);
			int n = snprintf(buf, sizeof(buf), "%zu\n", len);

			/* EAGAIN: less was reclaimed than asked, which is fine */
			if (fd < 0 || (write(fd, buf, (size_t)n) < 0 && errno != EAGAIN)) {
				err = -errno;
				if (fd >= 0)
					close(fd);
				break;
			}
			close(fd);
		}
		if (mincore(map, len, vec)) {
			err = -errno;
			break;
		}
		*left = 0;
		for (uint64_t p = 0, run = 0; p <= npages; p++) {
			if (p < npages && (vec[p] & 1)) {
				run++;
				(*left)++;
				continue;
			}
			if (run && (err = populate(map, p - run, run)))
				break;
			run = 0;
		}
		if (!*left)
			break;
		sleep_us(10000);
	}
	free(vec);
	return err;
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

/* the index of @s in @names, UINT64_MAX if it is none of them */
static uint64_t name_index(const char *s, const char *const *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return UINT64_MAX;
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
		OPT_LINGER,
		OPT_STATUS_FILE,
		OPT_ROUNDS,
		OPT_HOT,
		OPT_MEMORY,
		OPT_KERNEL_EVICTS,
		OPT_RECLAIM,
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
		{"linger", required_argument, NULL, OPT_LINGER},
		{"status-file", required_argument, NULL, OPT_STATUS_FILE},
		{"rounds", required_argument, NULL, OPT_ROUNDS},
		{"hot", required_argument, NULL, OPT_HOT},
		{"memory", required_argument, NULL, OPT_MEMORY},
		{"kernel-evicts", no_argument, NULL, OPT_KERNEL_EVICTS},
		{"reclaim", required_argument, NULL, OPT_RECLAIM},
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
		case OPT_PATTERN:
			v = name_index(optarg, pattern_names,
				       sizeof(pattern_names) / sizeof(*pattern_names));
			if (v == UINT64_MAX)
				usage_error("--pattern: '%s' is not seq, random, stride or mixed",
					    optarg);
			c->pattern = (enum pattern)v;
			break;
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
		case OPT_LINGER: {
			uint64_t ms;

			if (parse_u64(optarg, &ms, false) || ms > 600000)
				usage_error("--linger: '%s' is not 0..600000 ms", optarg);
			c->linger_ms = (unsigned)ms;
			break;
		}
		case OPT_STATUS_FILE:
			c->status_file = optarg;
			break;
		case OPT_RECLAIM:
			reclaim_path = optarg;
			break;
		case OPT_KERNEL_EVICTS:
			c->kernel_evicts = true;
			break;
		case OPT_ROUNDS:
			if (parse_u64(optarg, &c->rounds, false) || c->rounds == 0 ||
			    c->rounds > 1000000)
				usage_error("--rounds: '%s' is not in 1..1000000", optarg);
			break;
		case OPT_HOT:
			if (parse_u64(optarg, &c->hot_pct, false) || c->hot_pct == 0 ||
			    c->hot_pct > 100)
				usage_error("--hot: '%s' is not a percentage in 1..100", optarg);
			break;
		case OPT_MEMORY:
			v = name_index(optarg, memory_names,
				       sizeof(memory_names) / sizeof(*memory_names));
			if (v == UINT64_MAX)
				usage_error("--memory: '%s' is not file, anon or shmem", optarg);
			c->memory = (enum memory)v;
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
	/* swap readahead decides which touches are swap-ins: counted as they happen */
	if (c->expect && c->memory != MEM_FILE)
		usage_error("--expect needs --memory=file (swap-ins are counted, not predicted)");
	if (c->rounds > 1 && !c->evict && c->memory == MEM_FILE)
		usage_error("--rounds cannot be combined with --no-evict");
	if (c->kernel_evicts && (c->memory != MEM_FILE || c->expect))
		usage_error("--kernel-evicts is for --memory=file runs, and counts, not predicts");
}

/* anon and shmem: the memory to swap, written at setup (never a zero page) */
static void *setup_memory(const struct conf *c, uint64_t npages, int *fdp)
{
	size_t len = npages * (uint64_t)page_size;
	void *map;
	int err;

	if (c->memory == MEM_ANON) {
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, PROG ": cannot map %zu bytes: %s\n", len, strerror(errno));
			return MAP_FAILED;
		}
		/* base pages: a huge page swaps out (and is counted by mincore) as one */
		madvise(map, len, MADV_NOHUGEPAGE);
		for (uint64_t p = 0; p < npages; p++)
			memcpy((char *)map + p * (uint64_t)page_size, &p, sizeof(p));
		return map;
	}
	/* written with pwrite(): the pages exist before any fault on the mapping */
	*fdp = memfd_create("pfwatch-workload", MFD_CLOEXEC);
	if (*fdp < 0) {
		fprintf(stderr, PROG ": memfd_create: %s\n", strerror(errno));
		return MAP_FAILED;
	}
	err = fill_file(*fdp, len);
	if (err) {
		fprintf(stderr, PROG ": cannot write the memfd: %s\n", strerror(-err));
		return MAP_FAILED;
	}
	map = mmap(NULL, len, c->write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, *fdp, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, PROG ": cannot map the memfd: %s\n", strerror(errno));
		return map;
	}
	madvise(map, len, MADV_NOHUGEPAGE);
	/* MADV_PAGEOUT reclaims mapped pages only: map them, without a traced fault */
	err = populate(map, 0, npages);
	if (err) {
		fprintf(stderr, PROG ": madvise(MADV_POPULATE_READ): %s (kernel 5.14+)\n",
			strerror(-err));
		munmap(map, len);
		return MAP_FAILED;
	}
	return map;
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
		.rounds = 1,
		.hot_pct = 100,
		.memory = MEM_FILE,
	};
	struct worker *workers = NULL;
	unsigned char *seen = NULL, *round_seen = NULL;
	struct rusage ru0, ru1;
	struct expect ex = {0};
	uint64_t npages, touched = 0, swapins = 0, swapin_refaults = 0, left = 0, t0, t1;
	uint64_t seen_major = 0, seen_refaults = 0;
	pthread_barrier_t start, end;
	sem_t done;
	bool created = false, barriers = false, predicted;
	void *map = MAP_FAILED;
	struct stat sb;
	sigset_t usr1;
	unsigned started = 0;
	int fd = -1, err, status = 1;

	page_size = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv, &c);
	npages = (c.size + (uint64_t)page_size - 1) / (uint64_t)page_size;
	if (npages > SIZE_MAX / (uint64_t)page_size)
		usage_error("--size: too large for this address space");

	if (expect_run(&c, npages, &ex)) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	/* readahead off and every round evicted first: the counts are what happens */
	predicted = c.exact && c.evict && c.memory == MEM_FILE && !c.kernel_evicts;
	if (c.expect) {
		if (c.json) {
			printf("{\"expected\":%" PRIu64 ",\"refaults\":%" PRIu64
			       ",\"pages\":%" PRIu64 ",\"threads\":[",
			       ex.major, ex.refaults, ex.pages);
			for (unsigned t = 0; t < c.threads; t++)
				printf("%s{\"index\":%u,\"major\":%" PRIu64 ",\"refaults\":%" PRIu64
				       "}",
				       t ? "," : "", t, ex.t_major[t], ex.t_refaults[t]);
			printf("]}\n");
		} else {
			printf("%" PRIu64 "\n", ex.major);
			if (c.rounds > 1)
				printf("refaults %" PRIu64 "\n", ex.refaults);
		}
		expect_free(&ex);
		return 0;
	}

	/* blocked before any thread exists, so sigwait() alone receives it */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (c.wait_start || c.wait_end)
		sigprocmask(SIG_BLOCK, &usr1, NULL);

	if (c.memory != MEM_FILE) {
		map = setup_memory(&c, npages, &fd);
		if (map == MAP_FAILED)
			goto out;
		goto mapped;
	}
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
mapped:
	if (c.exact && madvise(map, npages * (uint64_t)page_size, MADV_RANDOM)) {
		fprintf(stderr, PROG ": madvise(MADV_RANDOM): %s\n", strerror(errno));
		goto out;
	}
	if (c.evict && c.memory == MEM_FILE) {
		err = evict(fd, map, npages, &left);
		if (err) {
			fprintf(stderr, PROG ": posix_fadvise(DONTNEED) on %s: %s\n", c.file,
				strerror(-err));
			goto out;
		}
		/* tmpfs and friends keep every page: there is no major fault to make */
		if (left && (c.exact || c.rounds > 1)) {
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
	round_seen = calloc(npages, 1);
	workers = calloc(c.threads, sizeof(*workers));
	if (!seen || !round_seen || !workers) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if (pthread_barrier_init(&start, NULL, c.threads + 1) ||
	    pthread_barrier_init(&end, NULL, c.threads + 1) || sem_init(&done, 0, 0)) {
		fprintf(stderr, PROG ": pthread_barrier_init failed\n");
		goto out;
	}
	barriers = true;

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
		w->round_seen = round_seen;
		w->start = &start;
		w->end = &end;
		w->done = &done;
		w->idx = t;
		slice_of(&c, npages, t, &w->first, &w->npages);
		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			/* the started ones wait at the barrier for the others: end here */
			fprintf(stderr, PROG ": cannot create thread %u: %s\n", t, strerror(err));
			if (created && !c.keep)
				unlink(c.file);
			_exit(1);
		}
		started++;
	}
	/* the rounds: evict (anon, shmem: swap out), let the workers touch, wait */
	for (uint64_t r = 0; r < c.rounds; r++) {
		err = 0;
		if (c.memory != MEM_FILE)
			err = swap_out(map, npages, &left);
		else if (r > 0 && !c.kernel_evicts)
			err = evict_again(fd, map, npages, c.write, &left);
		if (err) {
			fprintf(stderr, PROG ": evicting before round %" PRIu64 ": %s\n", r + 1,
				strerror(-err));
			status = 2;
		} else if (left && (c.memory != MEM_FILE || (r > 0 && !c.kernel_evicts))) {
			fprintf(stderr,
				PROG ": %" PRIu64 " of %" PRIu64
				     " pages stay in memory before round "
				     "%" PRIu64 "%s\n",
				left, npages, r + 1,
				c.memory != MEM_FILE ? " (MADV_PAGEOUT: is swap on? see swapon(8))"
						     : "");
			status = 2;
		}
		/* the workers run their rounds anyway (they wait at the barriers); we fail after */
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&end);
	}
	for (unsigned t = 0; t < started; t++) {
		while (sem_wait(&done) && errno == EINTR)
			;
	}
	for (unsigned t = 0; t < started; t++) {
		workers[t].majflt = parked_majflt(workers[t].tid);
		touched += workers[t].touched;
		swapins += workers[t].swapins;
		swapin_refaults += workers[t].swapin_refaults;
		seen_major += workers[t].seen_major;
		seen_refaults += workers[t].seen_refaults;
	}
	t1 = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	if (status == 2) {
		status = 1;
		goto out;
	}

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
		if (c.memory == MEM_FILE)
			json_string(stdout, c.file);
		else
			printf("null");
		printf(",\"memory\":\"%s\",\"size\":%" PRIu64
		       ",\"page_size\":%ld,\"pattern\":\"%s\""
		       ",\"threads\":%u,\"rounds\":%" PRIu64 ",\"hot\":%" PRIu64
		       ",\"exact\":%s,\"touched\":%" PRIu64 ",\"expected\":",
		       memory_names[c.memory], c.size, page_size, pattern_names[c.pattern],
		       c.threads, c.rounds, c.hot_pct, c.exact ? "true" : "false", touched);
		if (predicted)
			printf("%" PRIu64 ",\"expected_refaults\":%" PRIu64, ex.major, ex.refaults);
		else
			printf("null,\"expected_refaults\":null");
		if (c.kernel_evicts)
			printf(",\"seen_major\":%" PRIu64 ",\"seen_refaults\":%" PRIu64, seen_major,
			       seen_refaults);
		if (c.memory != MEM_FILE)
			printf(",\"swapins\":%" PRIu64 ",\"swapin_refaults\":", swapins);
		if (c.memory == MEM_SHMEM)
			printf("%" PRIu64, swapin_refaults);
		else if (c.memory == MEM_ANON)
			printf("null");
		printf(",\"majflt\":%ld,\"minflt\":%ld,\"touch_majflt\":%ld,\"touch_minflt\":%ld"
		       ",\"elapsed_ns\":%" PRIu64 ",\"tids\":[",
		       ru1.ru_majflt, ru1.ru_minflt, ru1.ru_majflt - ru0.ru_majflt,
		       ru1.ru_minflt - ru0.ru_minflt, t1 - t0);
		for (unsigned t = 0; t < c.threads; t++) {
			const struct worker *w = &workers[t];

			printf("%s{\"tid\":%d,\"first_page\":%" PRIu64 ",\"pages\":%" PRIu64
			       ",\"touched\":%" PRIu64 ",\"thread_majflt\":%ld",
			       t ? "," : "", (int)w->tid, w->first, w->npages, w->touched,
			       w->majflt);
			if (predicted)
				printf(",\"expected_major\":%" PRIu64
				       ",\"expected_refaults\":%" PRIu64,
				       ex.t_major[t], ex.t_refaults[t]);
			if (c.memory != MEM_FILE)
				printf(",\"swapins\":%" PRIu64, w->swapins);
			if (c.memory == MEM_SHMEM)
				printf(",\"swapin_refaults\":%" PRIu64, w->swapin_refaults);
			if (c.kernel_evicts)
				printf(",\"seen_major\":%" PRIu64 ",\"seen_refaults\":%" PRIu64,
				       w->seen_major, w->seen_refaults);
			printf("}");
		}
		printf("]}\n");
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": write error on stdout\n");
		goto out;
	}
	status = 0;
	if (predicted && touched != ex.pages) {
		fprintf(stderr,
			PROG ": internal error: touched %" PRIu64 " != expected %" PRIu64 "\n",
			touched, ex.pages);
		status = 1;
	}
	if (c.linger_ms) {
		struct timespec ts = {c.linger_ms / 1000, (long)(c.linger_ms % 1000) * 1000000};

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
out:
	if (barriers) {
		pthread_barrier_destroy(&start);
		pthread_barrier_destroy(&end);
	}
	if (map != MAP_FAILED)
		munmap(map, npages * (uint64_t)page_size);
	if (fd >= 0)
		close(fd);
	if (created && !c.keep)
		unlink(c.file);
	free(seen);
	free(round_seen);
	free(workers);
	expect_free(&ex);
	return status;
}
