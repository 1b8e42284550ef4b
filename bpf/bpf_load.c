// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Opening, sizing and loading the bpf backend's objects: pfwatch.bpf.c
 * (CO-RE; fentry, kprobe and tp) or pfwatch_nobtf.bpf.c (kprobe-nobtf).
 * Between __open() and __load() the loader sets the programs' constants
 * from the options, turns off the programs of the modes it does not use,
 * and sizes (or leaves out) the maps this run does not need. libbpf's own
 * messages go to -v and its last warning to the error line.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "opts.h"
#include "privs.h"
#include "session.h"

#include "bpf/bpf_priv.h"
#include "bpf/pfwatch.skel.h"
#include "bpf/pfwatch_nobtf.skel.h"

/*
 * libbpf prints through a callback (it is a library): keep its last warning
 * for the error line, and pass everything to -v of the session being opened.
 */
struct pfw_session *pfw_bpf_libbpf_session;
static char libbpf_last[256];

int pfw_bpf_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	/* a debugging aid: libbpf's whole log (the verifier's) on stderr */
	if (getenv("PFW_LIBBPF_DEBUG")) {
		vfprintf(stderr, fmt, ap);
		return 0;
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level == LIBBPF_WARN && n)
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", line);
	if (pfw_bpf_libbpf_session)
		pfw_session_verbose(pfw_bpf_libbpf_session, "libbpf: %s", line);
	return 0;
}

static void set_autoload(struct pfwatch_bpf *skel, enum bpf_mode m, bool agg)
{
	bpf_program__set_autoload(skel->progs.pfw_fentry, m == MODE_FENTRY);
	bpf_program__set_autoload(skel->progs.pfw_fexit, m == MODE_FENTRY && !agg);
	bpf_program__set_autoload(skel->progs.pfw_fexit_agg, m == MODE_FENTRY && agg);
	bpf_program__set_autoload(skel->progs.pfw_kprobe, m == MODE_KPROBE);
	bpf_program__set_autoload(skel->progs.pfw_kretprobe, m == MODE_KPROBE && !agg);
	bpf_program__set_autoload(skel->progs.pfw_kretprobe_agg, m == MODE_KPROBE && agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry_user, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry_kernel, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_major, m == MODE_TP && !agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_minor, m == MODE_TP && !agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_major_agg, m == MODE_TP && agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_minor_agg, m == MODE_TP && agg);
	/* configure() turns them on where the rows live in task storage */
	bpf_program__set_autoload(skel->progs.pfw_thread_exit, false);
	bpf_program__set_autoload(skel->progs.pfw_thread_rows, false);
}

/*
 * pfwatch in a child pid namespace: the programs index struct pid at that
 * namespace's level, which nothing in /proc tells (NS_GET_PARENT stops at
 * the namespace's own boundary). Ask the kernel instead: pfw_level alone,
 * on a page-fault event of this process, and one fresh page touched.
 */
static int learn_pidns_level(bool task_btf, __u32 *level, char *err, size_t errlen)
{
	struct pfwatch_bpf *skel = pfwatch_bpf__open();
	struct bpf_program *prog;
	struct bpf_map *map;
	struct bpf_link *link = NULL;
	long pg = sysconf(_SC_PAGESIZE);
	volatile char *page = MAP_FAILED;
	int fd = -1, ret;

	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.pfw_level);
	/* the maps are created all the same: as small as they go */
	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__type(map) == BPF_MAP_TYPE_TASK_STORAGE)
			bpf_map__set_autocreate(map, false);
		else if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_max_entries(map, (__u32)pg);
		else if (!bpf_map__is_internal(map))
			bpf_map__set_max_entries(map, 1);
	}
	skel->rodata->have_task_btf = task_btf;
	libbpf_last[0] = '\0';
	ret = pfwatch_bpf__load(skel);
	if (ret) {
		snprintf(err, errlen, "loading the pid-namespace level probe failed: %s%s%s",
			 strerror(-ret), libbpf_last[0] ? ": " : "", libbpf_last);
		goto out;
	}
	fd = pfw_bpf_sw_event(PERF_COUNT_SW_PAGE_FAULTS, 0, -1);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "page-fault event on pfwatch itself refused: %s",
			 strerror(errno));
		goto out;
	}
	link = bpf_program__attach_perf_event(skel->progs.pfw_level, fd);
	if (!link) {
		ret = -errno;
		snprintf(err, errlen, "attaching the pid-namespace level probe failed: %s",
			 strerror(errno));
		goto out;
	}
	fd = -1; /* the link's now (libbpf enabled the event) */
	/* a fresh anonymous page faults on its first write */
	page = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		goto out;
	}
	page[0] = 1;
	ret = -EIO;
	if (skel->bss->self_level) {
		*level = skel->bss->self_level - 1;
		ret = 0;
	} else {
		snprintf(err, errlen, "the pid-namespace level probe never ran");
	}
out:
	if (page != MAP_FAILED)
		munmap((void *)page, (size_t)pg);
	bpf_link__destroy(link);
	if (fd >= 0)
		close(fd);
	pfwatch_bpf__destroy(skel);
	return ret;
}

/*
 * What both objects filter on in wanted() (pfwatch_common.bpf.h): the same
 * constants in either skeleton's rodata, so a macro sets them.
 */
#define SET_FILTERS(rodata, p)                                                                   \
	do {                                                                                     \
		const struct pfw_opts *o_ = (p)->s->opts;                                        \
		enum pfw_target_kind k_ = (p)->s->target.kind;                                   \
                                                                                                 \
		(rodata)->target_kind = k_ == PFW_TARGET_COMMAND ? PFW_BPF_TARGET_COMMAND        \
					: k_ == PFW_TARGET_PIDS	 ? PFW_BPF_TARGET_PIDS           \
								 : PFW_BPF_TARGET_SYSTEM;         \
		(rodata)->cgroup_id = o_->cgroup_id;                                             \
		if (o_->comm && *o_->comm) {                                                     \
			/* the kernel keeps TASK_COMM_LEN - 1 characters: match what it keeps */ \
			(rodata)->filter_comm = true;                                            \
			strncpy((char *)(rodata)->want_comm, o_->comm, PFW_BPF_COMM_LEN - 1);    \
		}                                                                                \
		(rodata)->want_faults =                                                          \
			o_->faults ? o_->faults : (PFW_WANT_MAJOR | PFW_WANT_MINOR);             \
		(rodata)->call_graph = o_->call_graph && !(p)->aggregate;                        \
		(rodata)->measure_latency = !o_->no_latency;                                     \
	} while (0)

/*
 * ringbuf is 5.8; before that libbpf-tools' perf-buffer fallback.
 * PFW_BPF_NO_RINGBUF=1 forces the fallback, so tests exercise both on any
 * kernel.
 */
static bool ringbuf_usable(void)
{
	const char *env = getenv("PFW_BPF_NO_RINGBUF");

	if (env && *env && strcmp(env, "0"))
		return false;
	return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
}

/* the events map as the perf-buffer fallback wants it: one slot per CPU */
static void events_as_perf_array(struct bpf_map *events)
{
	int ncpu = libbpf_num_possible_cpus();

	bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	bpf_map__set_key_size(events, sizeof(int));
	bpf_map__set_value_size(events, sizeof(int));
	bpf_map__set_max_entries(events, ncpu > 0 ? ncpu : 1);
}

/*
 * An in-kernel summary's thread rows: in the task storage the completion
 * already holds (tp's, or fentry/kprobe's in-flight fault's), where BPF
 * tracing programs load, so a thread's exit can fold its row into
 * agg_threads and a task iterator can read the live ones; else in
 * agg_threads, a hash lookup by tid on every fault (bench/prog-cost.sh).
 */
static void configure_rows(struct bpf_priv *p)
{
	struct pfwatch_bpf *skel = p->skel;
	const char *env = getenv("PFW_BPF_THREAD_HASH"); /* a benchmark hook */
	__u32 rows = PFW_BPF_ROWS_HASH;
	char why[128];

	if (!p->aggregate)
		return;
	if (p->rows_refused) {
		pfw_session_verbose(p->s,
				    "bpf: thread rows in a hash by tid (their programs in "
				    "task storage did not load: %s)",
				    p->rows_refused);
		return;
	}
	if (p->mode == MODE_TP)
		rows = PFW_BPF_ROWS_TP;
	else if (skel->rodata->inflight_task)
		rows = PFW_BPF_ROWS_HMF;
	if (rows == PFW_BPF_ROWS_HASH) {
		pfw_session_verbose(p->s, "bpf: thread rows in a hash by tid (the fault in flight "
					  "is not in task storage)");
		return;
	}
	if (env && *env && strcmp(env, "0")) {
		pfw_session_verbose(p->s,
				    "bpf: thread rows in a hash by tid (PFW_BPF_THREAD_HASH)");
		return;
	}
	if (pfw_bpf_probe_task_iter(why, sizeof(why))) {
		pfw_session_verbose(
			p->s, "bpf: thread rows in a hash by tid (no task iterator: %s)", why);
		return;
	}
	skel->rodata->thread_slots = rows;
	bpf_program__set_autoload(skel->progs.pfw_thread_exit, true);
	bpf_program__set_autoload(skel->progs.pfw_thread_rows, true);
	p->thread_slots = true; /* said once the programs load (pfw_bpf_load) */
}

static int configure(struct bpf_priv *p, char *err, size_t errlen)
{
	const struct pfw_target *t = &p->s->target;
	struct pfwatch_bpf *skel = p->skel;
	const char *env;

	SET_FILTERS(skel->rodata, p);
	skel->rodata->have_task_btf =
		libbpf_probe_bpf_helper(p->mode == MODE_TP ? BPF_PROG_TYPE_PERF_EVENT
							   : BPF_PROG_TYPE_KPROBE,
					BPF_FUNC_get_current_task_btf, NULL) > 0;
	if (pfw_privs_get()->pidns) {
		/* the level probe is a perf_event program: ask for that type's helper */
		bool task_btf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
							BPF_FUNC_get_current_task_btf, NULL) > 0;
		__u32 level = 0;
		int ret;

		skel->rodata->pid_typed = pfw_bpf_pid_numbers_flexible();
		if (!skel->rodata->pid_typed && pfw_privs_get()->confidentiality) {
			snprintf(err, errlen,
				 "in a child pid namespace under lockdown=confidentiality: this "
				 "kernel's struct pid can only be read with bpf_probe_read_kernel, "
				 "which lockdown refuses; choose --backend=perf");
			return -ENOTSUP;
		}
		ret = learn_pidns_level(task_btf, &level, err, errlen);
		if (ret)
			return ret;
		skel->rodata->pidns_level = level;
		skel->rodata->pidns_ino = (__u32)pfw_privs_get()->pidns_ino;
		pfw_session_verbose(p->s,
				    "bpf: pid namespace at level %u (inode %u): pids as it sees "
				    "them, tasks outside it skipped (struct pid read %s)",
				    level, skel->rodata->pidns_ino,
				    skel->rodata->pid_typed ? "through BTF" : "with probe reads");
	}

	/* PFW_BPF_RINGBUF_KB shrinks the buffer: the drop accounting, tested on any kernel */
	p->ringbuf = ringbuf_usable();
	env = getenv("PFW_BPF_RINGBUF_KB");
	if (p->ringbuf && env && atoi(env) > 0) {
		/* a power of two of pages, as BPF_MAP_TYPE_RINGBUF requires */
		unsigned kb = 4;

		while (kb < (unsigned)atoi(env) && kb < (1u << 20))
			kb <<= 1;
		bpf_map__set_max_entries(skel->maps.events, kb * 1024);
	}
	skel->rodata->use_ringbuf = p->ringbuf;
	if (!p->ringbuf)
		events_as_perf_array(skel->maps.events);
	/* preallocated hash maps: shrink what this run does not use */
	if (!p->aggregate) {
		bpf_map__set_max_entries(skel->maps.agg_threads, 1);
		bpf_map__set_max_entries(skel->maps.agg_files, 1);
		bpf_map__set_max_entries(skel->maps.agg_pages, 1);
	} else {
		/* a test hook: a tiny page set, to see what a full one does */
		env = getenv("PFW_BPF_CHUNKS");
		if (env && atoi(env) > 0)
			bpf_map__set_max_entries(skel->maps.agg_pages, (__u32)atoi(env));
		/* only new-file announcements go through it */
		if (p->ringbuf)
			bpf_map__set_max_entries(skel->maps.events, 64 * 1024);
		/* the exporter reports no distinct pages: over days they would fill the set */
		skel->rodata->anon_pages = !p->serving;
	}
	if (p->mode == MODE_TP) {
		bpf_map__set_max_entries(skel->maps.inflights, 1);
		/* a benchmark hook: the cost of asking bpf_find_vma() on every fault */
		env = getenv("PFW_BPF_NO_VMA_CACHE");
		skel->rodata->use_vma_cache = !(env && *env && strcmp(env, "0"));
		/*
		 * a test hook: every Nth page as if mmap_lock were contended, so
		 * the tests place such faults by the MMAP2 records on any kernel
		 */
		env = getenv("PFW_BPF_NOVMA_EVERY");
		if (env && atoi(env) > 0)
			skel->rodata->novma_every = (__u32)atoi(env);
	} else {
		/* task storage is 5.11 (tracing programs 5.13); fentry and kprobe run on older */
		bpf_map__set_autocreate(skel->maps.tp_tasks, false);
		/*
		 * Their fault in flight in task storage where kprobe programs
		 * may use it (tracing programs could earlier): else the hash.
		 */
		skel->rodata->inflight_task =
			skel->rodata->have_task_btf &&
			libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get,
						NULL) > 0;
		env = getenv("PFW_BPF_INFLIGHT_HASH");
		if (env && *env && strcmp(env, "0"))
			skel->rodata->inflight_task = false; /* a benchmark hook */
	}
	if (p->mode == MODE_TP || !skel->rodata->inflight_task)
		bpf_map__set_autocreate(skel->maps.inflight_tasks, false);
	if (skel->rodata->inflight_task)
		bpf_map__set_max_entries(skel->maps.inflights, 1);
	if (t->kind == PFW_TARGET_SYSTEM)
		bpf_map__set_max_entries(skel->maps.targets, 1);
	set_autoload(skel, p->mode, p->aggregate);
	configure_rows(p);
	/*
	 * The fork follower: raw_tp with bpf_probe_read_kernel where that is
	 * allowed, else (confidentiality lockdown) tp_btf where BTF tracing
	 * programs load, else none: the ancestor walk at fault time alone.
	 * Lockdown is asked of the kernel, not of libbpf: its helper probe
	 * looks for "unknown func", and 6.x kernels say "program of this type
	 * cannot use helper" (libbpf then assumes supported; seen on 6.12).
	 * fentry's and tp's programs read BTF-typed pointers, which lockdown
	 * allows (locked-down lane: both pass --validate exactly); kprobe mode
	 * cannot attach there at all (probe_kprobe()).
	 */
	if (t->kind == PFW_TARGET_COMMAND) {
		char why[128];

		if (!pfw_privs_get()->confidentiality &&
		    libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
					    BPF_FUNC_probe_read_kernel, NULL) > 0)
			p->follow_forks = true;
		else if (pfw_bpf_probe_fentry(why, sizeof(why)) == 0)
			p->follow_forks = p->fork_btf = true;
	}
	bpf_program__set_autoload(skel->progs.pfw_fork, p->follow_forks && !p->fork_btf);
	bpf_program__set_autoload(skel->progs.pfw_fork_btf, p->fork_btf);
	if (t->kind == PFW_TARGET_COMMAND && !p->follow_forks)
		pfw_session_verbose(p->s,
				    "bpf: neither bpf_probe_read_kernel nor BTF tracing programs: "
				    "forks followed by ancestry at fault time (misses children "
				    "reparented before their first fault)");
	if (p->mode == MODE_TP && !skel->rodata->have_task_btf) {
		snprintf(err, errlen, "tp mode needs bpf_get_current_task_btf() (kernel 5.11+)");
		return -ENOTSUP;
	}
	return 0;
}

static int configure_nobtf(struct bpf_priv *p)
{
	const struct pfw_target *t = &p->s->target;
	struct pfwatch_nobtf_bpf *nb = p->nb;

	/* (p->aggregate is false: kprobe-nobtf only streams) */
	SET_FILTERS(nb->rodata, p);
	p->ringbuf = ringbuf_usable();
	nb->rodata->use_ringbuf = p->ringbuf;
	if (!p->ringbuf)
		events_as_perf_array(nb->maps.events);
	if (t->kind == PFW_TARGET_SYSTEM)
		bpf_map__set_max_entries(nb->maps.targets, 1);
	p->follow_forks = t->kind == PFW_TARGET_COMMAND;
	bpf_program__set_autoload(nb->progs.pfw_nb_fork, p->follow_forks);
	bpf_program__set_autoload(nb->progs.pfw_nb_exit, p->follow_forks);
	return 0;
}

int pfw_bpf_load(struct bpf_priv *p, char *err, size_t errlen)
{
	int ret;

	if (p->mode == MODE_KPROBE_NOBTF) {
		p->nb = pfwatch_nobtf_bpf__open();
		if (!p->nb)
			goto open_failed;
		configure_nobtf(p);
		libbpf_last[0] = '\0';
		ret = pfwatch_nobtf_bpf__load(p->nb);
		if (ret)
			goto load_failed;
		p->m_events = p->nb->maps.events;
		p->m_counters = p->nb->maps.counters;
		p->m_targets = p->nb->maps.targets;
		return 0;
	}
	/* twice at most: the second time without the thread rows' programs */
	for (;;) {
		p->skel = pfwatch_bpf__open();
		if (!p->skel)
			goto open_failed;
		ret = configure(p, err, errlen);
		if (ret)
			return ret;
		libbpf_last[0] = '\0';
		ret = pfwatch_bpf__load(p->skel);
		if (!ret || !p->thread_slots)
			break;
		/*
		 * The iterator loads, its body may not: task storage in tracing
		 * programs is 5.13, the iterator 5.8. Again with the rows in the
		 * hash, which every kernel that loads the rest takes.
		 */
		snprintf(p->rows_why, sizeof(p->rows_why), "%s%s%s", strerror(-ret),
			 libbpf_last[0] ? ": " : "", libbpf_last);
		p->rows_refused = p->rows_why;
		p->thread_slots = false;
		pfwatch_bpf__destroy(p->skel);
		p->skel = NULL;
	}
	if (ret)
		goto load_failed;
	if (p->thread_slots)
		pfw_session_verbose(p->s,
				    "bpf: thread rows in task storage, read by a task iterator");
	p->m_events = p->skel->maps.events;
	p->m_counters = p->skel->maps.counters;
	p->m_targets = p->skel->maps.targets;
	return 0;
open_failed:
	ret = -errno;
	snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
	return ret ? ret : -EINVAL;
load_failed:
	snprintf(err, errlen, "loading the BPF programs (%s mode) failed: %s%s%s",
		 pfw_bpf_mode_names[p->mode], strerror(-ret), libbpf_last[0] ? ": " : "",
		 libbpf_last);
	return ret;
}
