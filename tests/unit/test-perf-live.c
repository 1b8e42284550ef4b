// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The perf backend against the real kernel, through the real session (no
 * root needed: perf_event_paranoid <= 2 allows our own children). The
 * preamble's exactness recipe: write a file, evict it, map it with
 * MADV_RANDOM, touch N distinct pages -> exactly N major faults, equal to
 * the child's own ru_majflt. Skips with the reason when perf cannot run here
 * or no disk-backed directory is available (tmpfs cannot evict).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "agg.h"
#include "backend.h"
#include "maps.h"
#include "output.h"
#include "session.h"
#include "tests/tap.h"

#define PAGES	 600
#define STRIDE	 3 /* touch every 3rd page: no two touched pages adjacent */
#define NR_TESTS 15
/* a fixed address, so events can be checked while they arrive */
#define MAP_AT 0x3f0000000000ul

static char path[4096];

struct child_report {
	uintptr_t map;
	long majflt; /* ru_majflt over the touching */
	long touched;
};

struct seen {
	pid_t pid;
	uintptr_t map;
	long majors, minors, with_lat, lat_zero, in_map, user_ip, offset_ok, other;
	unsigned char page_hit[PAGES];
};

static struct seen seen;

static void on_event(struct pfw_session *s, const struct pfw_event *ev)
{
	uint64_t pg;

	(void)s;
	if (ev->pid != seen.pid) {
		seen.other++;
		return;
	}
	if (ev->kind == PFW_MINOR) {
		seen.minors++;
		return;
	}
	seen.majors++;
	if (ev->flags & PFW_EV_LATENCY) {
		seen.with_lat++;
		seen.lat_zero += ev->latency_ns == 0;
	}
	if ((ev->flags & (PFW_EV_IP | PFW_EV_USER)) == (PFW_EV_IP | PFW_EV_USER))
		seen.user_ip++;
	if (!(ev->flags & PFW_EV_ADDR) || ev->addr < seen.map ||
	    ev->addr >= seen.map + (uint64_t)PAGES * 4096)
		return;
	seen.in_map++;
	pg = (ev->addr - seen.map) / 4096;
	seen.page_hit[pg]++;
	if ((ev->flags & PFW_EV_FILE) && ev->offset == pg * 4096 && ev->path &&
	    !strcmp(ev->path, path))
		seen.offset_ok++;
}

static const struct pfw_view test_view = {.name = "test", .event = on_event};

static volatile char *tmap;
static int tthreads;

static void *toucher(void *arg)
{
	long t = (long)arg, sum = 0;

	for (long i = t * STRIDE; i < PAGES; i += STRIDE * tthreads)
		sum += tmap[i * 4096 + 100];
	return (void *)sum;
}

/* the child: wait for @go, map and touch, report */
static void child_main(int go, int rep, int threads)
{
	struct child_report r = {0};
	struct rusage r0, r1;
	pthread_t th[8];
	char c;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(go, &c, 1) != 1)
		_exit(2);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	/* mapped after tracing started: its MMAP2 record feeds the maps */
	tmap = mmap((void *)MAP_AT, PAGES * 4096, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
		    0);
	if (tmap != (void *)MAP_AT)
		_exit(2);
	madvise((void *)tmap, PAGES * 4096, MADV_RANDOM);
	tthreads = threads;
	getrusage(RUSAGE_SELF, &r0);
	for (long t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, toucher, (void *)t);
	for (long t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	getrusage(RUSAGE_SELF, &r1);
	r.map = (uintptr_t)tmap;
	r.majflt = r1.ru_majflt - r0.ru_majflt;
	r.touched = (PAGES + STRIDE - 1) / STRIDE;
	if (write(rep, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

static int make_file(void)
{
	const char *dirs[] = {getenv("TMPDIR"), ".", "/var/tmp"};
	char page[4096];

	memset(page, 'p', sizeof(page));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct statfs st;
		int fd;

		if (!dirs[i] || statfs(dirs[i], &st) || st.f_type == TMPFS_MAGIC)
			continue;
		snprintf(path, sizeof(path), "%s/test-perf-live.%d.dat", dirs[i], (int)getpid());
		if (dirs[i][0] != '/') {
			char cwd[2048];

			if (!getcwd(cwd, sizeof(cwd)))
				continue;
			snprintf(path, sizeof(path), "%s/test-perf-live.%d.dat", cwd,
				 (int)getpid());
		}
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			continue;
		for (int p = 0; p < PAGES; p++)
			if (write(fd, page, sizeof(page)) != sizeof(page)) {
				close(fd);
				unlink(path);
				return -1;
			}
		fsync(fd);
		close(fd);
		return 0;
	}
	return -1;
}

/* one traced run; returns 0 and fills *rep, or -1 with a diagnostic */
static int run(enum pfw_target_kind kind, unsigned faults, int threads, struct child_report *rep,
	       uint64_t *lost)
{
	struct pfw_opts o;
	struct pfw_session s;
	int go[2], back[2], status, ret;
	char err[512];
	void *priv = NULL;
	pid_t child;
	ssize_t n;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&seen, 0, sizeof(seen));
	o.faults = faults;
	if (pipe(go) || pipe(back))
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (!child) {
		close(go[1]);
		close(back[0]);
		child_main(go[0], back[1], threads);
	}
	close(go[0]);
	close(back[1]);
	seen.pid = child;
	seen.map = MAP_AT;
	s.opts = &o;
	s.target.kind = kind;
	s.target.pids = &child;
	s.target.nr_pids = 1;
	s.target.child = child;
	s.backend = &pfw_backend_perf;
	s.maps = pfw_maps_new();
	s.agg = pfw_agg_new();
	s.view = &test_view;
	s.sink = test_view.event;
	ret = pfw_backend_perf.open(&s, &priv, err, sizeof(err));
	if (ret) {
		tap_diag("open: %s", err);
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		return -1;
	}
	s.priv = priv;
	ret = pfw_backend_perf.start(priv);
	s.start_ns = pfw_now_ns();
	if (write(go[1], "g", 1) != 1 || ret)
		return -1;
	for (;;) {
		if (pfw_backend_perf.poll(priv, 50) < 0)
			break;
		if (waitpid(child, &status, WNOHANG) == child)
			break;
	}
	ret = pfw_backend_perf.stop(priv);
	pfw_backend_perf.close(priv);
	n = read(back[0], rep, sizeof(*rep));
	close(go[1]);
	close(back[0]);
	*lost = s.lost;
	pfw_agg_free(s.agg);
	pfw_maps_free(s.maps);
	if (n != sizeof(*rep) || ret)
		return -1;
	return 0;
}

static long pages_hit_once(void)
{
	long n = 0;

	for (int p = 0; p < PAGES; p++)
		n += seen.page_hit[p] == 1 && p % STRIDE == 0;
	return n;
}

int main(void)
{
	struct pfw_probe_result pr;
	struct pfw_opts o;
	struct child_report rep;
	uint64_t lost;

	memset(&o, 0, sizeof(o));
	pfw_backend_perf.probe(&o, &pr);
	if (!pr.available) {
		for (int i = 0; i < NR_TESTS; i++)
			tap_skip("perf backend unavailable: %s", pr.detail);
		return tap_done();
	}
	tap_diag("probe: %s: %s", pr.attach, pr.detail);
	if (make_file()) {
		for (int i = 0; i < NR_TESTS; i++)
			tap_skip("no disk-backed directory to evict a file from (tmpfs only)");
		return tap_done();
	}

	if (run(PFW_TARGET_COMMAND, PFW_WANT_MAJOR, 1, &rep, &lost)) {
		for (int i = 0; i < NR_TESTS; i++)
			tap_ok(0, "traced run failed");
		unlink(path);
		return tap_done();
	}
	tap_diag("command: %ld majors seen, child ru_majflt %ld, touched %ld", seen.majors,
		 rep.majflt, rep.touched);
	tap_is_u64(rep.majflt, rep.touched, "command: the recipe gives one major per touched page");
	tap_is_u64(seen.majors, rep.majflt, "command: majors traced == ru_majflt");
	tap_is_u64(seen.with_lat, seen.majors, "command: every major has a latency");
	tap_is_u64(seen.lat_zero, 0, "command: no zero latency");
	tap_is_u64(seen.user_ip, seen.majors, "command: user-mode faults carry the ip");
	tap_is_u64(seen.minors, 0, "command: --faults=major opens no minor event");
	tap_is_u64(lost, 0, "command: nothing lost");

	if (run(PFW_TARGET_PIDS, PFW_WANT_MAJOR | PFW_WANT_MINOR, 3, &rep, &lost)) {
		for (int i = 0; i < NR_TESTS - 7; i++)
			tap_ok(0, "traced run failed");
		unlink(path);
		return tap_done();
	}
	tap_diag("pid, 3 threads: %ld majors, %ld minors seen, child ru_majflt %ld", seen.majors,
		 seen.minors, rep.majflt);
	tap_is_u64(seen.majors, rep.majflt,
		   "pid: majors of threads born after attach == ru_majflt");
	tap_is_u64(seen.with_lat, seen.majors, "pid: every major has a latency");
	tap_ok(seen.minors > 0, "pid: minor faults traced when asked (%ld)", seen.minors);
	tap_is_u64(seen.other, 0, "pid: nothing from other processes");
	tap_is_u64(lost, 0, "pid: nothing lost");
	/* the file offsets come from the maps the MMAP2 records fed */
	tap_is_u64(seen.offset_ok, seen.majors, "pid: every major resolved to the file and offset");
	tap_is_u64(seen.in_map, seen.majors, "pid: every major address is inside the mapping");
	tap_is_u64(pages_hit_once(), rep.touched, "pid: each touched page faulted exactly once");
	unlink(path);
	return tap_done();
}
