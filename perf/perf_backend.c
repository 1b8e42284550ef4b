// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The perf backend: software events major-faults / minor-faults (the
 * kernel's own verdict, emitted in mm_account_fault() on 5.9+) and
 * page-faults (entry, in the arch handler), sample_period=1, one ring per
 * CPU. Latency = completion time - entry time of the same thread and
 * address (KERNEL-NOTES.md §1). Decoding, merging and pairing live in
 * perf_merge.c; the ring reader in perf_ring.c.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "backend.h"
#include "compat.h"
#include "maps.h"
#include "session.h"
#include "perf_merge.h"
#include "perf_ring.h"
#include "privs.h"

#define RING_BYTES_MAX (4u << 20) /* per CPU */
#define RING_BYTES_MIN (64u << 10)
/* poll() wakes at this fill level (or the caller's timeout), not per fault */
#define WAKEUP_BYTES_MAX (256u << 10)

struct perf_cpu_ring {
	int cpu;
	int fd; /* the event that owns the mmap; -1 when none yet */
	void *base;
	size_t map_len;
	bool hup;
	struct pfw_ring ring;
};

struct perf_priv {
	struct pfw_session *s;
	int *fds;
	size_t nr_fds, cap_fds;
	struct pfw_perf_id *ids;
	size_t nr_ids;
	struct perf_cpu_ring *rings;
	size_t nr_rings;
	struct pollfd *pfds;
	struct pfw_perf_batch batch;
	struct pfw_perf_pair pair;
	struct pfw_perf_tidset allowed;
	bool filter_tgids; /* --cgroup combined with -p/COMMAND */
	bool drop_self;	   /* system-wide: our own faults would feed back */
	bool latency, want_major, want_minor, call_graph;
	bool exclude_kernel;
	bool started;
	bool map_failed; /* the last open_events() failed in mmap() */
	pid_t self;
	int cgroup_fd;
	size_t ring_bytes;
	uint64_t prev_round;  /* time the previous read round started */
	uint64_t received[2]; /* MAJ, MIN samples that reached on_record(), before any filter */
	uint64_t nomem;	      /* records dropped because the batch could not grow */
	int emitted;
};

/* ---- privilege and environment ---- */

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = 2;

	if (!f)
		return 2; /* the kernel default since 4.6 */
	if (fscanf(f, "%d", &v) != 1)
		v = 2;
	fclose(f);
	return v;
}

struct perf_priv_level {
	int paranoid;
	bool perfmon, sys_admin;
	bool userns; /* root there is nobody to perf: its own processes only */
};

/*
 * perfmon_capable() and capable(CAP_SYS_ADMIN) look at the initial user
 * namespace: in any other, CapEff counts for nothing (privs.h).
 */
static void priv_level(struct perf_priv_level *l)
{
	const struct pfw_privs *pv = pfw_privs_get();

	l->paranoid = read_paranoid();
	l->sys_admin = pfw_privs_cap(pv, PFW_CAP_SYS_ADMIN);
	l->perfmon = l->sys_admin || pfw_privs_cap(pv, PFW_CAP_PERFMON);
	l->userns = pv->userns;
}

/* perf_allow_kernel(): paranoid > 1 needs perfmon_capable() */
static bool can_kernel(const struct perf_priv_level *l)
{
	return l->perfmon || l->paranoid <= 1;
}

/* perf_allow_cpu(): paranoid > 0 needs perfmon_capable() */
static bool can_cpu(const struct perf_priv_level *l)
{
	return l->perfmon || l->paranoid <= 0;
}

/*
 * Debian's CONFIG_SECURITY_PERF_EVENTS_RESTRICT (paranoid 3): any
 * perf_event_open() needs CAP_SYS_ADMIN, CAP_PERFMON is not enough.
 */
static bool restricted(const struct perf_priv_level *l)
{
	return l->paranoid > 2 && !l->sys_admin;
}

static void attr_fill(struct perf_event_attr *a, uint64_t config, bool sideband, bool inherit,
		      bool exclude_kernel, bool call_graph, size_t ring_bytes)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = PERF_TYPE_SOFTWARE;
	a->config = config;
	a->sample_period = 1;
	a->sample_type = PFW_PERF_SAMPLE_TYPE | (call_graph ? PERF_SAMPLE_CALLCHAIN : 0);
	a->disabled = 1;
	a->inherit = inherit;
	a->exclude_kernel = exclude_kernel;
	a->exclude_hv = 1;
	a->sample_id_all = 1;
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	a->watermark = 1;
	/* the kernel caps a watermark at the ring size: it would then wake only when full */
	a->wakeup_watermark =
		(uint32_t)(ring_bytes / 4 < WAKEUP_BYTES_MAX ? ring_bytes / 4 : WAKEUP_BYTES_MAX);
	if (call_graph) {
		/* Debian 6.12 refuses kernel callchains at paranoid 2; we want user stacks only */
		a->exclude_callchain_kernel = 1;
		/* 4.8+; left 0 otherwise so older kernels do not see a non-zero tail (E2BIG) */
		a->sample_max_stack = PFW_PERF_MAX_CHAIN;
	}
	if (sideband) {
		a->mmap = 1;
		a->mmap2 = 1;
		/* non-exec file mappings (the data files) are reported only with mmap_data */
		a->mmap_data = 1;
		a->comm = 1;
		a->comm_exec = 1;
		a->task = 1;
	}
}

/* ---- probe ---- */

static void perf_probe(const struct pfw_opts *opts, struct pfw_probe_result *res)
{
	struct perf_priv_level l;
	struct perf_event_attr a;
	int fd, e;

	(void)opts;
	priv_level(&l);
	res->available = false;
	snprintf(res->attach, sizeof(res->attach), "-");
	if (restricted(&l)) {
		snprintf(res->detail, sizeof(res->detail),
			 "perf_event_paranoid=%d forbids perf_event_open without CAP_SYS_ADMIN; "
			 "lower "
			 "it with 'sysctl kernel.perf_event_paranoid=2'",
			 l.paranoid);
		return;
	}
	attr_fill(&a, PERF_COUNT_SW_PAGE_FAULTS_MAJ, false, false, true, false, RING_BYTES_MIN);
	fd = pfw_perf_event_open(&a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		e = errno;
		switch (e) {
		case ENOSYS:
			snprintf(res->detail, sizeof(res->detail),
				 "perf_event_open is not implemented (kernel built without "
				 "CONFIG_PERF_EVENTS)");
			break;
		case ENOENT:
		case ENODEV:
		case EOPNOTSUPP:
			snprintf(res->detail, sizeof(res->detail),
				 "software event major-faults not supported by this kernel (%s)",
				 strerror(e));
			break;
		case EACCES:
		case EPERM:
			if (pfw_privs_explain(res->detail, sizeof(res->detail), "perf_event_open",
					      e))
				break;
			snprintf(res->detail, sizeof(res->detail),
				 "perf_event_open refused (%s) at perf_event_paranoid=%d (an LSM "
				 "policy?); run as root or lower kernel.perf_event_paranoid",
				 strerror(e), l.paranoid);
			break;
		case EINVAL:
			snprintf(res->detail, sizeof(res->detail),
				 "perf_event_open rejected the attributes (EINVAL): needs Linux "
				 "4.1+ "
				 "for use_clockid");
			break;
		default:
			snprintf(res->detail, sizeof(res->detail), "perf_event_open failed: %s",
				 strerror(e));
		}
		return;
	}
	close(fd);
	res->available = true;
	snprintf(res->attach, sizeof(res->attach), "sw-events");
	if (l.perfmon)
		snprintf(res->detail, sizeof(res->detail),
			 "%s: all processes, user and kernel mode",
			 !l.sys_admin	  ? "CAP_PERFMON"
			 : geteuid() == 0 ? "root"
					  : "CAP_SYS_ADMIN");
	else if (can_cpu(&l))
		snprintf(res->detail, sizeof(res->detail),
			 "perf_event_paranoid=%d: all processes, user and kernel mode", l.paranoid);
	else
		snprintf(res->detail, sizeof(res->detail),
			 "%sperf_event_paranoid=%d: own processes, %s",
			 l.userns ? "in a user namespace, no capabilities over the kernel; " : "",
			 l.paranoid,
			 can_kernel(&l) ? "user and kernel mode" : "user-mode faults only");
}

/* ---- open ---- */

static int online_cpus(int **out, size_t *nr)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	char buf[4096], *p;
	int *cpus = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	for (p = buf; *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p)
			break;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (long c = lo; c <= hi; c++) {
			if (n == cap) {
				int *q = realloc(cpus, (cap = cap ? cap * 2 : 16) * sizeof(*q));

				if (!q) {
					free(cpus);
					return -ENOMEM;
				}
				cpus = q;
			}
			cpus[n++] = (int)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	if (!n) {
		free(cpus);
		return -EIO;
	}
	*out = cpus;
	*nr = n;
	return 0;
}

static int add_fd(struct perf_priv *p, int fd, enum pfw_perf_kind kind)
{
	uint64_t id;

	if (p->nr_fds == p->cap_fds) {
		size_t cap = p->cap_fds ? p->cap_fds * 2 : 64;
		int *f = realloc(p->fds, cap * sizeof(*f));
		struct pfw_perf_id *i;

		if (!f)
			return -ENOMEM;
		p->fds = f;
		i = realloc(p->ids, cap * sizeof(*i));
		if (!i)
			return -ENOMEM;
		p->ids = i;
		p->cap_fds = cap;
	}
	p->fds[p->nr_fds++] = fd;
	/* inherited child events write the parent's id (primary_event_id()) */
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) < 0)
		return -errno;
	p->ids[p->nr_ids].id = id;
	p->ids[p->nr_ids].kind = kind;
	p->nr_ids++;
	return 0;
}

static int map_ring(struct perf_priv *p, struct perf_cpu_ring *r, int fd, char *err, size_t errlen)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t bytes = p->ring_bytes;
	void *base;
	int ret;

	base = mmap(NULL, (size_t)pg + bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		p->map_failed = true;
		snprintf(err, errlen,
			 "cannot map a %zu KiB ring buffer for CPU %d: %s; raise "
			 "kernel.perf_event_mlock_kb or 'ulimit -l'",
			 bytes >> 10, r->cpu, strerror(-ret));
		return ret;
	}
	r->base = base;
	r->map_len = (size_t)pg + bytes;
	r->fd = fd;
	ret = pfw_ring_init(&r->ring, base, (size_t)pg, bytes);
	if (ret) {
		snprintf(err, errlen, "ring buffer setup failed: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/* undo open_events(): every ring and event, so it can be retried */
static void close_events(struct perf_priv *p)
{
	for (size_t c = 0; c < p->nr_rings; c++) {
		pfw_ring_fini(&p->rings[c].ring);
		if (p->rings[c].base)
			munmap(p->rings[c].base, p->rings[c].map_len);
		p->rings[c].base = NULL;
		p->rings[c].fd = -1;
		p->rings[c].hup = false;
	}
	for (size_t i = 0; i < p->nr_fds; i++)
		close(p->fds[i]);
	p->nr_fds = 0;
	p->nr_ids = 0;
}

static void open_error(struct perf_priv *p, const struct perf_priv_level *l, pid_t pid, int cpu,
		       int e, char *err, size_t errlen)
{
	const struct pfw_session *s = p->s;

	switch (e) {
	case EMFILE:
	case ENFILE:
		snprintf(err, errlen,
			 "too many open files after %zu events (3 per thread and CPU); raise "
			 "'ulimit -n' or trace fewer threads",
			 p->nr_fds);
		break;
	case EACCES:
	case EPERM:
		if (restricted(l))
			snprintf(err, errlen,
				 "perf_event_paranoid=%d forbids perf_event_open without "
				 "CAP_SYS_ADMIN; lower it with 'sysctl "
				 "kernel.perf_event_paranoid=2'",
				 l->paranoid);
		else if (s->opts->cgroup || s->target.kind == PFW_TARGET_SYSTEM)
			snprintf(err, errlen,
				 "system-wide%s tracing needs root or CAP_PERFMON at "
				 "perf_event_paranoid=%d%s; run as root or 'sysctl "
				 "kernel.perf_event_paranoid=0'",
				 s->opts->cgroup ? " (--cgroup)" : "", l->paranoid,
				 l->userns ? " (in a user namespace, which has no capabilities "
					     "over the kernel)"
					   : "");
		else if (!pfw_privs_explain(err, errlen, "perf_event_open", e))
			snprintf(err, errlen,
				 "not allowed to trace pid %d (%s): only your own processes "
				 "without CAP_PERFMON; run as root",
				 (int)pid, strerror(e));
		break;
	case ESRCH:
		snprintf(err, errlen, "pid %d: no such process", (int)pid);
		break;
	case ENOENT:
		/* css_tryget_online_from_dir(): the cgroup has no perf_event state */
		if (s->opts->cgroup) {
			snprintf(err, errlen,
				 "the kernel keeps no perf_event state for cgroup %s (ENOENT): on "
				 "cgroup v2 none until a controller is enabled in the root's "
				 "cgroup.subtree_control, as systemd does at boot; choose "
				 "--backend=bpf",
				 s->opts->cgroup);
			break;
		}
		/* fall through */
	case ENODEV:
	case EOPNOTSUPP:
		snprintf(err, errlen,
			 "software page-fault events not supported on CPU %d (%s); choose "
			 "another --backend",
			 cpu, strerror(e));
		break;
	case EINVAL:
		snprintf(err, errlen,
			 "perf_event_open rejected the attributes (EINVAL); use_clockid needs "
			 "Linux 4.1+; choose another --backend");
		break;
	default:
		snprintf(err, errlen, "perf_event_open failed on CPU %d: %s", cpu, strerror(e));
	}
}

static int event_open(struct perf_event_attr *a, pid_t pid, int cpu, unsigned long flags)
{
	int fd = pfw_perf_event_open(a, pid, cpu, -1, flags | PERF_FLAG_FD_CLOEXEC);

	if (fd < 0 && errno == EMFILE) {
		struct rlimit rl;

		/* 3 fds per thread and CPU add up: use the hard limit, as perf does */
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			if (!setrlimit(RLIMIT_NOFILE, &rl))
				fd = pfw_perf_event_open(a, pid, cpu, -1,
							 flags | PERF_FLAG_FD_CLOEXEC);
		}
		if (fd < 0)
			errno = EMFILE;
	}
	return fd;
}

/*
 * The events of one task (or of everything / a cgroup when @pid is -1 / a
 * cgroup fd) on one CPU. *@skipped is set when the task is already gone.
 */
static int open_task_cpu(struct perf_priv *p, const struct perf_priv_level *l, pid_t pid,
			 unsigned long flags, bool inherit, struct perf_cpu_ring *r, char *err,
			 size_t errlen, bool *gone)
{
	static const struct {
		uint64_t config;
		enum pfw_perf_kind kind;
	} evs[] = {
		{PERF_COUNT_SW_PAGE_FAULTS_MAJ, PFW_PK_MAJOR},
		{PERF_COUNT_SW_PAGE_FAULTS_MIN, PFW_PK_MINOR},
		{PERF_COUNT_SW_PAGE_FAULTS, PFW_PK_ENTRY},
	};
	struct perf_event_attr a;
	int ret;

	*gone = false;
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		int fd;

		if (evs[i].kind == PFW_PK_MINOR && !p->want_minor)
			continue;
		if (evs[i].kind == PFW_PK_ENTRY && !p->latency)
			continue;
		/* the major event always carries the side band (mmap, comm, fork/exit) */
		attr_fill(&a, evs[i].config, evs[i].kind == PFW_PK_MAJOR, inherit,
			  p->exclude_kernel, p->call_graph, p->ring_bytes);
		fd = event_open(&a, pid, r->cpu, flags);
		if (fd < 0) {
			int e = errno;

			if (e == ESRCH && i == 0 && !(flags & PERF_FLAG_PID_CGROUP)) {
				*gone = true;
				return 0;
			}
			open_error(p, l, pid, r->cpu, e, err, errlen);
			return -e;
		}
		ret = add_fd(p, fd, evs[i].kind);
		if (ret) {
			if (p->nr_fds == 0 || p->fds[p->nr_fds - 1] != fd)
				close(fd);
			snprintf(err, errlen, "cannot set up event: %s", strerror(-ret));
			return ret;
		}
		if (r->fd < 0) {
			ret = map_ring(p, r, fd, err, errlen);
			if (ret)
				return ret;
		} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot share the CPU %d ring buffer: %s", r->cpu,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* every thread of @tgid, on every CPU; threads born later come through inherit */
static int open_process(struct perf_priv *p, const struct perf_priv_level *l, pid_t tgid, char *err,
			size_t errlen)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	size_t opened = 0;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)tgid);
	d = opendir(path);
	if (!d) {
		snprintf(err, errlen, "pid %d: no such process", (int)tgid);
		return -ESRCH;
	}
	while ((de = readdir(d))) {
		pid_t tid;
		bool gone = false;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		tid = (pid_t)atoi(de->d_name);
		for (size_t c = 0; c < p->nr_rings && !gone; c++) {
			ret = open_task_cpu(p, l, tid, 0, true, &p->rings[c], err, errlen, &gone);
			if (ret)
				goto out;
		}
		if (!gone)
			opened++;
	}
	if (!opened) {
		snprintf(err, errlen, "pid %d: no such process", (int)tgid);
		ret = -ESRCH;
	}
out:
	closedir(d);
	return ret;
}

static void perf_close(void *priv);

/* every event of the target, with one ring per CPU of p->ring_bytes */
static int open_events(struct perf_priv *p, const struct perf_priv_level *l, char *err,
		       size_t errlen)
{
	const struct pfw_session *s = p->s;
	const struct pfw_opts *o = s->opts;
	int ret = 0;

	if (o->cgroup) {
		for (size_t c = 0; c < p->nr_rings; c++) {
			bool gone;

			ret = open_task_cpu(p, l, p->cgroup_fd, PERF_FLAG_PID_CGROUP, false,
					    &p->rings[c], err, errlen, &gone);
			if (ret)
				return ret;
		}
	} else if (s->target.kind == PFW_TARGET_SYSTEM) {
		for (size_t c = 0; c < p->nr_rings; c++) {
			bool gone;

			ret = open_task_cpu(p, l, -1, 0, false, &p->rings[c], err, errlen, &gone);
			if (ret)
				return ret;
		}
	} else if (s->target.kind == PFW_TARGET_COMMAND) {
		for (size_t c = 0; c < p->nr_rings; c++) {
			bool gone;

			/* inherit=1 needs cpu >= 0 to be mmapped (perf_mmap() rejects cpu -1) */
			ret = open_task_cpu(p, l, s->target.child, 0, true, &p->rings[c], err,
					    errlen, &gone);
			if (!ret && gone) {
				snprintf(err, errlen, "the command (pid %d) is gone",
					 (int)s->target.child);
				ret = -ESRCH;
			}
			if (ret)
				return ret;
		}
	} else {
		for (size_t i = 0; i < s->target.nr_pids; i++) {
			ret = open_process(p, l, s->target.pids[i], err, errlen);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int perf_open(struct pfw_session *s, void **privp, char *err, size_t errlen)
{
	const struct pfw_opts *o = s->opts;
	struct perf_priv_level l;
	struct perf_priv *p;
	int *cpus = NULL;
	size_t nr_cpus = 0;
	int ret;

	*privp = NULL;
	priv_level(&l);
	if (restricted(&l)) {
		snprintf(err, errlen,
			 "perf_event_paranoid=%d forbids perf_event_open without "
			 "CAP_SYS_ADMIN; "
			 "lower it with 'sysctl kernel.perf_event_paranoid=2'",
			 l.paranoid);
		return -EACCES;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*privp = p;
	p->s = s;
	p->cgroup_fd = -1;
	p->self = getpid();
	p->latency = !o->no_latency;
	p->want_major = !o->faults || (o->faults & PFW_WANT_MAJOR);
	p->want_minor = o->faults & PFW_WANT_MINOR;
	p->call_graph = o->call_graph;
	/* paranoid >= 2 without CAP_PERFMON: perf_allow_kernel() refuses exclude_kernel=0 */
	p->exclude_kernel = !can_kernel(&l);
	pfw_perf_batch_init(&p->batch, p->call_graph);
	ret = pfw_perf_pair_init(&p->pair);
	if (ret)
		goto nomem;
	ret = online_cpus(&cpus, &nr_cpus);
	if (ret) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online: %s",
			 strerror(-ret));
		goto fail;
	}
	p->rings = calloc(nr_cpus, sizeof(*p->rings));
	p->pfds = calloc(nr_cpus, sizeof(*p->pfds));
	if (!p->rings || !p->pfds) {
		free(cpus);
		ret = -ENOMEM;
		goto nomem;
	}
	p->nr_rings = nr_cpus;
	for (size_t c = 0; c < nr_cpus; c++) {
		p->rings[c].cpu = cpus[c];
		p->rings[c].fd = -1;
	}
	free(cpus);

	if (o->cgroup) {
		p->cgroup_fd = open(o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p->cgroup_fd < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot open cgroup %s: %s", o->cgroup,
				 strerror(-ret));
			goto fail;
		}
		/*
		 * Cgroup events are per CPU and cannot be combined with a
		 * task: with -p or a COMMAND, keep the target's processes
		 * (and what they fork) in user space.
		 */
		if (s->target.kind != PFW_TARGET_SYSTEM) {
			p->filter_tgids = true;
			for (size_t i = 0; i < s->target.nr_pids; i++)
				if (pfw_perf_tidset_add(&p->allowed, s->target.pids[i]))
					goto nomem;
			if (s->target.kind == PFW_TARGET_COMMAND &&
			    pfw_perf_tidset_add(&p->allowed, s->target.child))
				goto nomem;
		}
	}
	p->drop_self = s->target.kind == PFW_TARGET_SYSTEM;
	/*
	 * Unprivileged, rings past perf_event_mlock_kb (516 KiB per CPU,
	 * shared by all of the user's CPUs) count against RLIMIT_MEMLOCK: when
	 * one does not fit, start over with smaller rings on every CPU.
	 */
	for (p->ring_bytes = RING_BYTES_MAX;; p->ring_bytes /= 2) {
		p->map_failed = false;
		ret = open_events(p, &l, err, errlen);
		if (!ret || !p->map_failed || p->ring_bytes <= RING_BYTES_MIN ||
		    (ret != -EPERM && ret != -ENOMEM))
			break;
		close_events(p);
	}
	if (ret)
		goto fail;
	if (p->ring_bytes != RING_BYTES_MAX)
		pfw_session_verbose(s, "ring buffers reduced to %zu KiB per CPU (mlock limit)",
				    p->ring_bytes >> 10);
	ret = pfw_perf_batch_set_ids(&p->batch, p->ids, p->nr_ids);
	if (ret)
		goto nomem;
	if (p->exclude_kernel)
		snprintf(s->limits, sizeof(s->limits),
			 "unprivileged: faults taken in kernel mode on user addresses "
			 "(copy_from_user) are not seen");
	pfw_session_verbose(s, "%zu events on %zu CPUs, %zu KiB ring per CPU, %s%s", p->nr_fds,
			    p->nr_rings, p->ring_bytes >> 10,
			    p->exclude_kernel ? "user mode only" : "user and kernel mode",
			    p->latency ? ", entry events for latency" : "");
	return 0;
nomem:
	ret = -ENOMEM;
	snprintf(err, errlen, "out of memory");
fail:
	perf_close(p);
	*privp = NULL;
	return ret;
}

/* ---- records ---- */

/*
 * Kernel addresses: x86-64's TASK_SIZE_MAX is 2^47 - 4096 (2^56 - 4096 with
 * LA57) and everything up to the kernel half is non-canonical (#GP, not a
 * page fault), so "top bit set" is the same test as addr >= TASK_SIZE for
 * any address a page fault can report; the same split holds on arm64,
 * riscv64 and ppc64. Those faults carry no MAJ/MIN event anyway.
 */
static bool kernel_addr(uint64_t addr)
{
	if (sizeof(long) == 8)
		return addr >> 63;
	return addr >= 0xc0000000ull; /* 32-bit x86: the default 3G/1G split */
}

static const char *mmap_name(const char *name)
{
	/* perf names anonymous mappings "//anon" (perf_event_mmap_event()) */
	if (!strcmp(name, "//anon"))
		return "[anon]";
	return name;
}

static void on_record(void *ctx, const struct pfw_perf_batch *b, const struct pfw_perf_rec *r)
{
	struct perf_priv *p = ctx;
	struct pfw_session *s = p->s;
	struct pfw_event ev;
	uint64_t lat;
	bool paired = false;
	const char *comm;

	/* counted before any filter: account_lost() compares with the kernel's counts */
	if (r->kind == PFW_PK_MAJOR || r->kind == PFW_PK_MINOR)
		p->received[r->kind == PFW_PK_MINOR]++;
	/*
	 * A process outside pfwatch's pid namespace has no pid there, and
	 * the kernel writes 0 (perf_event_pid()): not visible to pfwatch,
	 * as the host's processes are not to top in a container. (pid 0 is
	 * no user task in the initial namespace either.)
	 */
	if (!r->pid)
		return;
	if (p->filter_tgids && r->kind != PFW_PK_FORK && !pfw_perf_tidset_has(&p->allowed, r->pid))
		return;
	switch (r->kind) {
	case PFW_PK_ENTRY:
		if (kernel_addr(r->addr) || (p->drop_self && r->pid == p->self))
			return;
		if (pfw_perf_pair_entry(&p->pair, r->tid, r->addr, r->time))
			p->nomem++;
		return;
	case PFW_PK_MAJOR:
	case PFW_PK_MINOR:
		break;
	case PFW_PK_MMAP2:
		/*
		 * perf_event_mmap_event() gives up on a path longer than
		 * PATH_MAX - 8 with "//toolong" and no inode or device;
		 * /proc/PID/maps (seq_file) prints it whole, so read that.
		 */
		if (!strcmp(pfw_perf_rec_name(b, r), "//toolong") &&
		    pfw_maps_load_proc(s->maps, "/proc", r->pid) == 0)
			return;
		pfw_maps_mmap(s->maps, r->pid, r->addr, r->len, r->pgoff, r->maj, r->min, r->ino,
			      mmap_name(pfw_perf_rec_name(b, r)));
		return;
	case PFW_PK_COMM:
		if (r->misc & PERF_RECORD_MISC_COMM_EXEC)
			pfw_maps_exec(s->maps, r->pid);
		pfw_maps_set_comm(s->maps, r->pid, r->tid, r->comm);
		return;
	case PFW_PK_FORK:
		if (r->pid != r->ppid) {
			if (p->filter_tgids) {
				if (!pfw_perf_tidset_has(&p->allowed, r->ppid))
					return;
				if (pfw_perf_tidset_add(&p->allowed, r->pid))
					p->nomem++;
			}
			pfw_maps_fork(s->maps, r->ppid, r->pid);
		}
		/* a new task starts with its parent's name until it sets or execs one */
		comm = pfw_maps_comm(s->maps, r->ptid);
		if (comm) {
			char c[PFW_COMM_LEN];

			snprintf(c, sizeof(c), "%s", comm);
			pfw_maps_set_comm(s->maps, r->pid, r->tid, c);
		}
		return;
	case PFW_PK_EXIT:
		pfw_perf_pair_forget(&p->pair, r->tid);
		if (r->pid == r->tid)
			pfw_maps_exit(s->maps, r->pid);
		return;
	default:
		return;
	}
	if (kernel_addr(r->addr) || (p->drop_self && r->pid == p->self))
		return;
	if (p->latency)
		paired = pfw_perf_pair_complete(&p->pair, r->tid, r->addr, r->time, &lat);
	if (r->kind == PFW_PK_MAJOR ? !p->want_major : !p->want_minor)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.time_ns = r->time;
	ev.pid = r->pid;
	ev.tid = r->tid;
	ev.addr = r->addr;
	ev.kind = r->kind == PFW_PK_MAJOR ? PFW_MAJOR : PFW_MINOR;
	ev.flags = PFW_EV_ADDR;
	/* a kernel-mode fault (copy_from_user) has a kernel ip: not a user call site */
	if ((r->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER) {
		ev.ip = r->ip;
		ev.flags |= PFW_EV_IP | PFW_EV_USER;
	}
	if (paired) {
		ev.latency_ns = lat;
		ev.flags |= PFW_EV_LATENCY;
	}
	comm = pfw_maps_comm(s->maps, r->tid);
	if (comm) {
		snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
		ev.flags |= PFW_EV_COMM;
	}
	if (p->call_graph && r->var_len) {
		ev.stack = pfw_perf_rec_stack(b, r);
		ev.nr_stack = r->var_len;
	}
	pfw_session_emit(s, &ev);
	p->emitted++;
}

static void read_rings(struct perf_priv *p)
{
	for (size_t c = 0; c < p->nr_rings; c++) {
		struct pfw_ring *r = &p->rings[c].ring;
		const struct perf_event_header *h;

		if (!r->meta)
			continue;
		pfw_ring_read_init(r);
		while ((h = pfw_ring_read_event(r))) {
			if (pfw_perf_batch_add_raw(&p->batch, h) == -ENOMEM)
				p->nomem++;
			pfw_ring_consume(r);
		}
		pfw_ring_read_done(r);
	}
}

/*
 * Faults lost = what the MAJ/MIN events counted - the samples we got. The
 * ring's own PERF_RECORD_LOST cannot say it: it is written only when the
 * ring has room again (never, if tracing stops while it is full), and it
 * counts fault-entry and side-band records too. A SW event's count is
 * exact (sample_period=1, counted before the overflow) and read() includes
 * the inherited children's counts.
 */
static void account_lost(struct perf_priv *p)
{
	uint64_t counted = 0, got = p->received[0] + p->received[1], kernel_lost = 0, bad;

	for (size_t i = 0; i < p->nr_fds; i++) {
		uint64_t v;

		if (p->ids[i].kind != PFW_PK_MAJOR && p->ids[i].kind != PFW_PK_MINOR)
			continue;
		if (read(p->fds[i], &v, sizeof(v)) == (ssize_t)sizeof(v))
			counted += v;
	}
	for (size_t c = 0; c < p->nr_rings; c++)
		kernel_lost += p->rings[c].ring.lost;
	bad = p->batch.bad + p->nomem;
	for (size_t c = 0; c < p->nr_rings; c++)
		bad += p->rings[c].ring.malformed;
	if (counted > got)
		pfw_session_lost(p->s, counted - got);
	pfw_session_verbose(p->s,
			    "%llu faults counted, %llu sampled; ring: %llu records lost, %llu "
			    "malformed/undecodable/unqueued",
			    (unsigned long long)counted, (unsigned long long)got,
			    (unsigned long long)kernel_lost, (unsigned long long)bad);
}

static int perf_start(void *priv)
{
	struct perf_priv *p = priv;

	for (size_t i = 0; i < p->nr_fds; i++)
		if (ioctl(p->fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0)
			return -errno;
	p->started = true;
	p->prev_round = pfw_now_ns();
	return 0;
}

static int perf_poll(void *priv, int timeout_ms)
{
	struct perf_priv *p = priv;
	size_t n = 0;
	uint64_t round;

	for (size_t c = 0; c < p->nr_rings; c++) {
		if (p->rings[c].fd < 0 || p->rings[c].hup)
			continue;
		p->pfds[n].fd = p->rings[c].fd;
		p->pfds[n].events = POLLIN;
		p->pfds[n].revents = 0;
		n++;
	}
	if (poll(n ? p->pfds : NULL, n, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	/*
	 * A task event reports POLLHUP once its task is gone: stop polling
	 * it (it would return at once forever) but keep reading its ring,
	 * other targets' events may still write into it.
	 */
	for (size_t i = 0, c = 0; i < n; i++) {
		if (!(p->pfds[i].revents & (POLLHUP | POLLERR)))
			continue;
		for (c = 0; c < p->nr_rings; c++)
			if (p->rings[c].fd == p->pfds[i].fd)
				p->rings[c].hup = true;
	}
	p->emitted = 0;
	round = pfw_now_ns();
	read_rings(p);
	/*
	 * perf's FINISHED_ROUND rule: everything stamped before the previous
	 * round started reading was in its ring by the time this round read
	 * it, on every CPU, so it can be ordered for good.
	 */
	pfw_perf_batch_flush(&p->batch, p->prev_round, on_record, p);
	p->prev_round = round;
	return p->emitted;
}

static int perf_stop(void *priv)
{
	struct perf_priv *p = priv;
	int ret = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < p->nr_fds; i++)
		if (ioctl(p->fds[i], PERF_EVENT_IOC_DISABLE, 0) < 0 && !ret)
			ret = -errno;
	p->started = false;
	p->emitted = 0;
	read_rings(p);
	pfw_perf_batch_flush(&p->batch, UINT64_MAX, on_record, p);
	account_lost(p);
	/* without the minor-faults event every minor fault's entry is unmatched */
	if (p->latency && p->want_minor)
		pfw_session_verbose(p->s, "%llu fault entries without a completion (error paths)",
				    (unsigned long long)p->pair.unmatched);
	return ret;
}

static void perf_close(void *priv)
{
	struct perf_priv *p = priv;

	if (!p)
		return;
	close_events(p);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	p->cgroup_fd = -1;
	free(p->fds);
	free(p->ids);
	free(p->rings);
	free(p->pfds);
	pfw_perf_batch_fini(&p->batch);
	pfw_perf_pair_fini(&p->pair);
	pfw_perf_tidset_fini(&p->allowed);
	free(p);
}

static const char *perf_attach(void *priv)
{
	(void)priv;
	return "sw-events";
}

static const char *const perf_modes[] = {"sw-events", NULL};

const struct pfw_backend pfw_backend_perf = {
	.name = "perf",
	.help = "perf_event_open software events major-faults/minor-faults/page-faults",
	.needs = PFW_PERF_NEEDS,
	.modes = perf_modes,
	.probe = perf_probe,
	.open = perf_open,
	.start = perf_start,
	.poll = perf_poll,
	.stop = perf_stop,
	.close = perf_close,
	.attach = perf_attach,
};
