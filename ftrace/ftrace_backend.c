// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ftrace backend: tracefs through libtracefs, raw records through
 * libtraceevent. Two attach modes:
 *
 *  graph   function_graph on handle_mm_fault (depth 1, pid-filtered with
 *          function-fork), latency from funcgraph_exit's calltime/rettime,
 *          the return value from funcgraph-retval (6.5+ with
 *          CONFIG_FUNCTION_GRAPH_RETVAL) or a kretprobe, the flags/regs from
 *          a kprobe (GUP has regs == NULL); exact, folded by fold.c.
 *  events  tracepoints only, for kernels with neither function_graph nor
 *          kprobes; classified by classify.c; "events (approximate)".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tracefs/tracefs.h>
#include <traceevent/event-parse.h>

#include "backend.h"
#include "cgroup.h"
#include "ftrace.h"
#include "maps.h"
#include "privs.h"
#include "session.h"

#define ATTACH_EVENTS "events (approximate)"
#define ATTACH_GRAPH  "graph"

enum ft_mode { MODE_NONE, MODE_GRAPH, MODE_EVENTS };

/* what this kernel's tracefs offers, read from files, never from versions */
struct feat {
	bool ok;     /* tracefs could be read at all */
	bool fgraph; /* function_graph in the top level's available_tracers */
	bool retval; /* options/funcgraph-retval */
	bool kprobe; /* kprobe_events */
	bool pf_user, pf_kernel, ff, add, sync_ra;
	bool ustack; /* options/userstacktrace: a user_stack record after each event */
	int err;     /* errno when !ok */
	/* read_feat(deep) only, for --list-backends */
	bool btf;	    /* the kprobe's file fields: offsets found in the kernel's BTF */
	int fg_inst;	    /* function_graph runs in an instance: 1, 0, -1 unknown */
	bool top_busy;	    /* someone uses the top level */
	char btf_why[160];  /* why not btf */
	char busy_why[160]; /* what uses the top level */
};

static void read_feat(struct feat *f, bool deep)
{
	memset(f, 0, sizeof(*f));
	if (access(PFW_FT_TRACEFS "/available_tracers", R_OK)) {
		f->err = errno;
		return;
	}
	f->ok = true;
	f->fgraph = pfw_ft_has_tracer(NULL, "function_graph");
	f->retval = pfw_ft_file_exists("options/funcgraph-retval");
	f->kprobe = pfw_ft_file_exists("kprobe_events");
	f->pf_user = pfw_ft_file_exists("events/exceptions/page_fault_user");
	f->pf_kernel = pfw_ft_file_exists("events/exceptions/page_fault_kernel");
	f->ff = pfw_ft_file_exists("events/filemap/mm_filemap_fault");
	f->add = pfw_ft_file_exists("events/filemap/mm_filemap_add_to_page_cache");
	f->sync_ra = pfw_ft_file_exists("events/readahead/page_cache_sync_ra");
	f->ustack = pfw_ft_file_exists("options/userstacktrace");
	f->fg_inst = -1;
	if (!deep)
		return;
	if (f->kprobe) {
		struct pfw_ft_kfile_offs o;

		f->btf = !pfw_ft_btf_offsets(&o, f->btf_why, sizeof(f->btf_why));
	}
	if (f->fgraph) {
		/* 6.1 runs function_graph only in the shared top level */
		f->fg_inst = pfw_ft_fgraph_in_instance();
		if (f->fg_inst == 0)
			f->top_busy = pfw_ft_toplevel_busy(f->busy_why, sizeof(f->busy_why));
	}
}

/*
 * What rules tracefs out before anything is read: its records carry the
 * kernel's global pids, and its files are root's (mode 0700, and a user
 * namespace's root is not root to them). Fills @why and returns true.
 */
static bool refused(char *why, size_t len)
{
	const char *pidns = pfw_privs_pidns_refusal();

	if (pidns)
		snprintf(why, len, "%s", pidns);
	else if (pfw_privs_get()->userns)
		snprintf(why, len,
			 "in a user namespace: no capabilities over the kernel, and tracefs is "
			 "root's (run pfwatch as root outside the user namespace, or choose "
			 "--backend=perf)");
	else if (geteuid() != 0)
		snprintf(why, len,
			 "needs root (tracefs is root-only); run as root or choose --backend=perf");
	else
		return false;
	return true;
}

/*
 * probe() must not change system state, but an unmounted tracefs hides
 * everything: look in a child with a private mount namespace, whose mount
 * disappears with it.
 */
static void read_feat_any(struct feat *f)
{
	int pfd[2];
	pid_t pid;

	if (pfw_ft_is_mounted() || geteuid() != 0) {
		read_feat(f, true);
		return;
	}
	memset(f, 0, sizeof(*f));
	f->err = ENOENT;
	if (pipe2(pfd, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0) {
		struct feat cf;

		memset(&cf, 0, sizeof(cf));
		cf.err = ENOENT;
		if (!unshare(CLONE_NEWNS) && !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) &&
		    !mount("nodev", PFW_FT_TRACEFS, "tracefs", 0, NULL))
			read_feat(&cf, true);
		else
			cf.err = errno;
		if (write(pfd[1], &cf, sizeof(cf)) != sizeof(cf))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (pid > 0) {
		if (read(pfd[0], f, sizeof(*f)) != sizeof(*f)) {
			memset(f, 0, sizeof(*f));
			f->err = EIO;
		}
		waitpid(pid, NULL, 0);
	}
	close(pfd[0]);
}

static bool graph_possible(const struct feat *f)
{
	return f->ok && f->fgraph && (f->retval || f->kprobe);
}

static bool events_possible(const struct feat *f)
{
	return f->ok && f->pf_user && f->ff && f->add;
}

static int str_append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n && n + 2 < len)
		snprintf(buf + n, len - n, "; ");
	n = strlen(buf);
	snprintf(buf + n, len - n, "%s", s);
	return 0;
}

static void why_not_graph(const struct feat *f, char *buf, size_t len)
{
	if (!f->fgraph)
		str_append(buf, len,
			   "function_graph tracer missing (CONFIG_FUNCTION_GRAPH_TRACER)");
	if (!f->kprobe)
		str_append(buf, len, "kprobe_events missing (CONFIG_KPROBE_EVENTS)");
	if (f->fgraph && !f->retval && !f->kprobe)
		str_append(buf, len,
			   "no return value: neither funcgraph-retval "
			   "(CONFIG_FUNCTION_GRAPH_RETVAL, 6.5+) nor kprobe_events");
}

static void why_not_events(const struct feat *f, char *buf, size_t len)
{
	if (!f->pf_user)
		str_append(buf, len, "events: exceptions:page_fault_user missing (x86 only)");
	if (!f->ff)
		str_append(buf, len, "events: filemap:mm_filemap_fault missing (6.12+)");
	if (!f->add)
		str_append(buf, len, "events: filemap:mm_filemap_add_to_page_cache missing");
}

/* MODE_NONE with @why filled when nothing fits */
static enum ft_mode choose(const struct feat *f, const char *want, char *why, size_t len)
{
	bool g = graph_possible(f), e = events_possible(f);

	if (!f->ok) {
		const struct pfw_privs *pv = pfw_privs_get();

		snprintf(why, len, "tracefs unreadable at " PFW_FT_TRACEFS ": %s%s",
			 strerror(f->err),
			 f->err != EPERM       ? ""
			 : pv->confidentiality ? " (lockdown=confidentiality)"
			 : !pfw_ft_is_mounted() && !pfw_privs_cap(pv, PFW_CAP_SYS_ADMIN)
				 ? " (not mounted here, and mounting it needs CAP_SYS_ADMIN)"
				 : "");
		return MODE_NONE;
	}
	if (want && !strcmp(want, "graph")) {
		if (g)
			return MODE_GRAPH;
		why_not_graph(f, why, len);
		return MODE_NONE;
	}
	if (want && !strcmp(want, "events")) {
		if (e)
			return MODE_EVENTS;
		why_not_events(f, why, len);
		return MODE_NONE;
	}
	if (g)
		return MODE_GRAPH;
	why_not_graph(f, why, len);
	if (e)
		return MODE_EVENTS;
	why_not_events(f, why, len);
	return MODE_NONE;
}

static void ft_probe(const struct pfw_opts *opts, struct pfw_probe_result *res)
{
	const char *want = opts ? opts->ftrace_attach : NULL;
	char why[PFW_DETAIL_LEN] = "";
	struct feat f;
	enum ft_mode m;

	snprintf(res->attach, sizeof(res->attach), "-");
	res->available = false;
	if (want && strcmp(want, "auto") && strcmp(want, "graph") && strcmp(want, "events")) {
		snprintf(res->detail, sizeof(res->detail),
			 "unknown --ftrace-attach '%s' (auto, graph, events)", want);
		return;
	}
	if (refused(res->detail, sizeof(res->detail)))
		return;
	read_feat_any(&f);
	m = choose(&f, want, why, sizeof(why));
	if (m == MODE_NONE) {
		snprintf(res->detail, sizeof(res->detail), "%s", why);
		return;
	}
	if (opts && opts->call_graph && !f.ustack) {
		snprintf(res->detail, sizeof(res->detail),
			 "--call-graph: " PFW_FT_TRACEFS "/options/userstacktrace is missing "
			 "(kernel without CONFIG_USER_STACKTRACE_SUPPORT); use --backend=perf "
			 "or --backend=bpf");
		return;
	}
	res->available = true;
	if (m == MODE_GRAPH) {
		const char *where, *file;
		char busy[PFW_DETAIL_LEN], fsrc[PFW_DETAIL_LEN];
		bool kp_only = false;

		if (f.fg_inst == 1) {
			where = "function_graph on handle_mm_fault in a private instance";
		} else if (f.fg_inst == 0 && f.top_busy && f.kprobe) {
			/* what ft_open does when it cannot borrow the top level */
			snprintf(
				busy, sizeof(busy),
				"kprobe + kretprobe on handle_mm_fault in a private instance "
				"(function_graph runs only in the top level here, which is in use: "
				"%s); latency from the #PF event to the completing return",
				f.busy_why);
			where = busy;
			kp_only = true;
		} else if (f.fg_inst == 0) {
			where = "function_graph on handle_mm_fault in the borrowed top level "
				"(the only place it runs here; restored on exit)";
		} else {
			where = "function_graph on handle_mm_fault";
		}
		if (f.kprobe && f.btf)
			file = "kprobe + BTF offsets";
		else if (f.ff)
			file = "filemap:mm_filemap_fault";
		else
			file = "/proc/PID/maps only (files unmapped before the drain show "
			       "[unknown])";
		snprintf(res->attach, sizeof(res->attach), ATTACH_GRAPH);
		res->detail[0] = '\0';
		str_append(res->detail, sizeof(res->detail), where);
		str_append(res->detail, sizeof(res->detail),
			   f.retval && !kp_only ? "return value from funcgraph-retval"
						: "return value from a kretprobe");
		snprintf(fsrc, sizeof(fsrc), "file identity from %s%s%s%s", file,
			 f.kprobe && !f.btf ? " (" : "", f.kprobe && !f.btf ? f.btf_why : "",
			 f.kprobe && !f.btf ? ")" : "");
		str_append(res->detail, sizeof(res->detail), fsrc);
		if (!pfw_ft_is_mounted())
			str_append(res->detail, sizeof(res->detail), "tracefs will be mounted");
	} else {
		snprintf(res->attach, sizeof(res->attach), ATTACH_EVENTS);
		/* why[] already says why graph was not chosen */
		snprintf(res->detail, sizeof(res->detail),
			 "%s%sclassified from tracepoints: file cache misses exact, swap-in/shmem "
			 "majors and retries counted major via FAULT_FLAG_TRIED not seen; no "
			 "latency%s",
			 why, why[0] ? "; " : "",
			 pfw_ft_is_mounted() ? "" : "; tracefs will be mounted");
	}
}

/* ---- the running backend ---- */

struct tid_ent {
	struct tid_ent *next;
	int32_t tid, tgid;
	int8_t in_cg;	   /* -1 unknown */
	unsigned maps_gen; /* the drain in which we last reloaded this tgid's maps */
	char comm[16];
	/* --call-graph: the user stacks of this thread's last page_fault_user events */
	struct ustk *us;  /* USTK_RING entries, allocated on the first one */
	unsigned us_next; /* the ring slot to fill next */
	uint64_t us_want; /* ts of a page_fault_user still waiting for its user_stack */
};

/*
 * A fault is emitted when it completes (graph) or when its window closes
 * (events: at the thread's next #PF at the latest), so a thread has at most
 * a couple of faults between its page_fault_user and its emit: 4 is plenty.
 */
#define USTK_RING 4

struct ustk {
	uint64_t ts; /* the page_fault_user record this stack followed; 0: empty */
	uint32_t nr;
	uint64_t ip[PFW_FT_USTACK_MAX];
};

#define TID_BUCKETS 1024

enum file_src {
	FILE_MAPS,    /* /proc/PID/maps at drain time only */
	FILE_FILEMAP, /* filemap:mm_filemap_fault (6.12+) */
	FILE_KPROBE,  /* the kprobe's +OFF(%di) fields, offsets from BTF */
};

static const char *file_src_name(enum file_src f)
{
	switch (f) {
	case FILE_KPROBE:
		return "kprobe + BTF offsets";
	case FILE_FILEMAP:
		return "filemap:mm_filemap_fault";
	default:
		return "/proc/PID/maps only (files unmapped before the drain show [unknown])";
	}
}

struct ft {
	struct pfw_session *s;
	struct tracefs_instance *inst;
	struct pfw_ft_toplevel *top; /* non-NULL: we run in the top level */
	struct tep_handle *tep;
	struct pfw_ft_decoder *dec;
	struct pfw_ft_classify *cls;
	struct pfw_ft_fold *fold;
	enum ft_mode mode;
	char attach[PFW_ATTACH_LEN];
	char kgroup[32];
	bool kprobes_made;
	bool no_fg;		/* graph from kprobe + kretprobe alone, in our instance */
	bool ustack;		/* --call-graph: options/userstacktrace is on */
	enum file_src file_src; /* graph mode: where a fault's (dev, ino, offset) comes from */
	bool started, stopped;
	uint64_t not_before; /* top level: records older than our start are someone else's */
	uint64_t lost_base;
	long page_size;
	int nemit;
	unsigned gen; /* drain counter */
	struct tid_ent *tids[TID_BUCKETS];
};

static int setf(struct ft *ft, const char *file, const char *val)
{
	if (ft->top)
		return pfw_ft_toplevel_set(ft->top, file, val);
	if (tracefs_instance_file_write(ft->inst, file, val) < 0)
		return -(errno ?: EIO);
	return 0;
}

static int enable_event(struct ft *ft, const char *sys, const char *ev)
{
	char file[256];

	snprintf(file, sizeof(file), "events/%s/%s/enable", sys, ev);
	return setf(ft, file, "1");
}

/*
 * /proc/TID/comm is the name plus one "\n"; the name itself may hold "\n"
 * (prctl(PR_SET_NAME) takes any byte but NUL): strip exactly one.
 */
static void read_comm(int32_t tid, char *comm, size_t len)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	if (buf[n - 1] == '\n')
		n--;
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(comm, buf, (size_t)n);
	comm[n] = '\0';
}

static struct tid_ent *tid_get(struct ft *ft, int32_t tid)
{
	struct tid_ent **p = &ft->tids[(uint32_t)tid % TID_BUCKETS];
	char path[64], line[256];
	FILE *f;

	for (; *p; p = &(*p)->next)
		if ((*p)->tid == tid)
			return *p;
	*p = calloc(1, sizeof(**p));
	if (!*p)
		return NULL;
	(*p)->tid = tid;
	(*p)->tgid = tid; /* a thread gone before we looked: best guess */
	(*p)->in_cg = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Tgid: %d", &(*p)->tgid) == 1)
				break;
		fclose(f);
	}
	/*
	 * Read the name now: records are drained after the fact and a
	 * short-lived thread is gone by the time its fault is emitted.
	 */
	read_comm(tid, (*p)->comm, sizeof((*p)->comm));
	return *p;
}

static void tid_forget(struct ft *ft, int32_t tid)
{
	struct tid_ent **p = &ft->tids[(uint32_t)tid % TID_BUCKETS];

	for (; *p; p = &(*p)->next)
		if ((*p)->tid == tid) {
			struct tid_ent *d = *p;

			*p = d->next;
			free(d->us);
			free(d);
			return;
		}
}

/* @comm NULL or "": keep the name known */
static void tid_set(struct ft *ft, int32_t tid, int32_t tgid, const char *comm)
{
	struct tid_ent **p = &ft->tids[(uint32_t)tid % TID_BUCKETS];

	for (; *p; p = &(*p)->next)
		if ((*p)->tid == tid)
			break;
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (!*p)
			return;
		(*p)->tid = tid;
		(*p)->in_cg = -1;
	}
	if (tgid > 0)
		(*p)->tgid = tgid;
	if (comm && comm[0])
		snprintf((*p)->comm, sizeof((*p)->comm), "%s", comm);
}

/*
 * --cgroup: tracefs events cannot filter on a cgroup, so ask where the
 * thread is, once per thread.
 */
static bool in_cgroup(struct ft *ft, struct tid_ent *te)
{
	const struct pfw_opts *o = ft->s->opts;

	if (!o->cgroup_id)
		return true;
	if (te->in_cg < 0)
		te->in_cg = pfw_cgroup_task_in(te->tid, o->cgroup_id,
					       o->cgroup_v1 ? PFW_CGROUP_V1_PERF : PFW_CGROUP_V2);
	return te->in_cg;
}

static void emit_fault(void *ctx, const struct pfw_ft_fault *f)
{
	struct ft *ft = ctx;
	struct pfw_session *s = ft->s;
	struct tid_ent *te = tid_get(ft, f->tid);
	struct pfw_event ev;
	const char *comm;

	if (!te || !in_cgroup(ft, te))
		return;
	memset(&ev, 0, sizeof(ev));
	/* trace_clock is "mono": record timestamps are CLOCK_MONOTONIC ns */
	ev.time_ns = f->ts;
	ev.tid = f->tid;
	ev.pid = te->tgid;
	ev.kind = f->major ? PFW_MAJOR : PFW_MINOR;
	if (f->has_addr) {
		ev.addr = f->addr;
		ev.flags |= PFW_EV_ADDR;
	}
	if (f->has_ip) {
		ev.ip = f->ip;
		ev.flags |= PFW_EV_IP;
	}
	if (f->user)
		ev.flags |= PFW_EV_USER;
	if (f->has_latency) {
		ev.latency_ns = f->latency_ns;
		ev.flags |= PFW_EV_LATENCY;
	}
	if (f->has_file) {
		ev.dev_major = pfw_ft_dev_major(f->dev);
		ev.dev_minor = pfw_ft_dev_minor(f->dev);
		ev.inode = f->ino;
		ev.offset = f->index * (uint64_t)ft->page_size;
		ev.flags |= PFW_EV_FILE;
		if (s->maps)
			ev.path = pfw_maps_path_of(s->maps, ev.dev_major, ev.dev_minor, ev.inode);
		if (!ev.path && s->maps && f->has_addr) {
			/* still mapped: the maps name it, and say so for the file's next faults */
			const struct pfw_mapping *m = pfw_maps_find(s->maps, te->tgid, f->addr);

			if (m && m->file && m->inode == f->ino)
				ev.path = m->path;
		}
		/* unmapped before its records were drained: by file handle (common/model/maps.c) */
		if (!ev.path && s->maps)
			ev.path = pfw_maps_path_by_inode(s->maps, ev.dev_major, ev.dev_minor,
							 ev.inode);
	}
	/* ours follows task_rename in trace order; the maps' is a /proc snapshot */
	comm = te->comm[0] ? te->comm : NULL;
	if (!comm && s->maps)
		comm = pfw_maps_comm(s->maps, f->tid);
	if (comm) {
		snprintf(ev.comm, sizeof(ev.comm), "%s", comm);
		ev.flags |= PFW_EV_COMM;
	}
	/* both classifiers time a user fault from its page_fault_user record */
	if (ft->ustack && f->user && te->us) {
		for (int i = 0; i < USTK_RING; i++)
			if (te->us[i].ts == f->ts && te->us[i].nr) {
				ev.stack = te->us[i].ip;
				ev.nr_stack = te->us[i].nr;
				break;
			}
	}
	/*
	 * The frames are symbolized from s->maps at emit, which never re-reads
	 * /proc on a miss; tracefs has no mmap event and the file records
	 * reload the maps only for unknown files: after an exec the new
	 * image's text is missing. Read them now, at most once per drain,
	 * while the process most likely still runs this image.
	 */
	if (ev.nr_stack && s->maps && !pfw_maps_find(s->maps, te->tgid, ev.stack[0])) {
		struct tid_ent *leader = tid_get(ft, te->tgid);

		if (leader && leader->maps_gen != ft->gen) {
			leader->maps_gen = ft->gen;
			pfw_maps_load_proc(s->maps, "/proc", te->tgid);
		}
	}
	pfw_session_emit(s, &ev);
	ft->nemit++;
}

static int on_record(struct tep_event *event, struct tep_record *rec, int cpu, void *ctx)
{
	struct ft *ft = ctx;
	struct pfw_ft_rec r;

	(void)event;
	(void)cpu;
	if (pfw_ft_decode(ft->dec, rec, &r))
		return 0;
	/*
	 * A #PF in atomic context (in_atomic(): preempt count above 0) goes
	 * straight to the exception fixup in do_user_addr_fault, never to
	 * handle_mm_fault: not a fault the task is charged for. The user stack
	 * unwinder is one (options/userstacktrace walks frame pointers with
	 * __get_user inside the ring buffer commit, preemption off): left in,
	 * its faults would open faults of their own and close the real one
	 * before its file records arrive. 5.14+ keeps the migrate-disable
	 * depth in the field's high nibble: not atomic, faults there are
	 * handled (sleepable BPF's copy_from_user).
	 */
	if (r.type == PFW_FT_PF_KERNEL && (r.preempt & 0x0f))
		return 0;
	if (r.ts < ft->not_before)
		return 0;
	switch (r.type) {
	case PFW_FT_USTACK: {
		/*
		 * With options/userstacktrace every event of ours is followed
		 * by the user stack of the task that hit it, taken from its
		 * user-mode registers (task_pt_regs). Keep the one that came
		 * after a page_fault_user: at the #PF the user registers are
		 * the faulting ones, and stay so until the fault returns.
		 */
		struct tid_ent *te = tid_get(ft, r.tid);
		struct ustk *u;

		if (!te || !te->us_want || !r.nr_ustack)
			return 0;
		if (!te->us && !(te->us = calloc(USTK_RING, sizeof(*te->us))))
			return 0;
		u = &te->us[te->us_next++ % USTK_RING];
		u->ts = te->us_want;
		u->nr = r.nr_ustack;
		memcpy(u->ip, r.ustack, r.nr_ustack * sizeof(r.ustack[0]));
		te->us_want = 0;
		return 0;
	}
	case PFW_FT_PF_USER:
		if (ft->ustack) {
			struct tid_ent *te = tid_get(ft, r.tid);

			if (te)
				te->us_want = r.ts;
		}
		break;
	case PFW_FT_NEWTASK: {
		struct tid_ent *parent = tid_get(ft, r.tid), *child;
		int32_t ptgid = parent ? parent->tgid : r.tid;

		if (r.clone_flags & PFW_CLONE_THREAD) {
			tid_set(ft, r.child, ptgid, r.comm);
		} else {
			tid_set(ft, r.child, r.child, r.comm);
			if (ft->s->maps)
				pfw_maps_fork(ft->s->maps, ptgid, r.child);
		}
		/*
		 * A task starts in its parent's cgroup (clone3's
		 * CLONE_INTO_CGROUP aside, which the event does not show:
		 * only "in" is inherited, a child of an outsider is asked).
		 */
		child = tid_get(ft, r.child);
		if (child && parent && parent->in_cg == 1 &&
		    !(r.clone_flags & 0x200000000ull /* CLONE_INTO_CGROUP */))
			child->in_cg = 1;
		return 0;
	}
	case PFW_FT_EXEC:
		/* a non-leader thread's exec takes over the tgid */
		tid_set(ft, r.child, r.child, NULL);
		if (ft->s->maps)
			pfw_maps_exec(ft->s->maps, r.child);
		return 0;
	case PFW_FT_RENAME:
		/*
		 * Names change after the thread starts (prctl); faults are
		 * drained later, when /proc may show a newer name or none.
		 */
		if (r.comm[0]) {
			struct tid_ent *te = tid_get(ft, r.child);

			if (te)
				tid_set(ft, r.child, te->tgid, r.comm);
		}
		return 0;
	case PFW_FT_KP_ENTRY:
	case PFW_FT_FILEMAP_FAULT:
		/*
		 * tracefs has no mmap event: learn (dev, ino) -> path from
		 * /proc/PID/maps while the process still runs, at most once
		 * per drain and process.
		 */
		if ((r.type == PFW_FT_FILEMAP_FAULT || (r.has_file && r.regs)) && ft->s->maps &&
		    !pfw_maps_path_of(ft->s->maps, pfw_ft_dev_major(r.dev), pfw_ft_dev_minor(r.dev),
				      r.ino)) {
			struct tid_ent *te = tid_get(ft, r.tid);
			struct tid_ent *leader = te ? tid_get(ft, te->tgid) : NULL;

			if (leader && leader->maps_gen != ft->gen) {
				leader->maps_gen = ft->gen;
				pfw_maps_load_proc(ft->s->maps, "/proc", leader->tid);
			}
		}
		break;
	default:
		break;
	}
	if (ft->mode == MODE_EVENTS)
		pfw_ft_classify_feed(ft->cls, &r);
	else
		pfw_ft_fold_feed(ft->fold, &r);
	if (r.type == PFW_FT_EXIT)
		tid_forget(ft, r.tid);
	return 0;
}

static int drain(struct ft *ft)
{
	ft->nemit = 0;
	ft->gen++;
	/* consuming reads of per_cpu/cpuN/trace_pipe_raw, merged in time order */
	if (tracefs_iterate_raw_events(ft->tep, ft->top ? NULL : ft->inst, NULL, 0, on_record, ft) <
		    0 &&
	    errno != EINTR && errno != EAGAIN && errno)
		return -errno;
	return ft->nemit;
}

/* overrun (overwritten) + dropped (buffer full, overwrite off) over all CPUs */
static uint64_t buffer_losses(struct ft *ft)
{
	struct tracefs_instance *inst = ft->top ? NULL : ft->inst;
	uint64_t total = 0;

	for (int cpu = 0;; cpu++) {
		char file[64], *buf, *p;

		snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", cpu);
		buf = tracefs_instance_file_read(inst, file, NULL);
		if (!buf)
			break;
		if ((p = strstr(buf, "overrun:")))
			total += strtoull(p + 8, NULL, 10);
		if ((p = strstr(buf, "dropped events:")))
			total += strtoull(p + 15, NULL, 10);
		free(buf);
	}
	return total;
}

static void say_verbose(void *ctx, const char *msg)
{
	pfw_session_verbose(ctx, "%s", msg);
}

/* the tids to filter on: every thread of the -p processes; the blocked child */
static char *pid_list(struct pfw_session *s)
{
	size_t cap = 4096, len = 0;
	char *buf = calloc(1, cap);

	if (!buf)
		return NULL;
	for (size_t i = 0; i < s->target.nr_pids; i++) {
		char dir[64];
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "/proc/%d/task", (int)s->target.pids[i]);
		d = opendir(dir);
		if (!d) {
			len += snprintf(buf + len, cap - len, "%d ", (int)s->target.pids[i]);
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			if (cap - len < 32) {
				char *nb = realloc(buf, cap * 2);

				if (!nb)
					break;
				buf = nb;
				cap *= 2;
			}
			len += snprintf(buf + len, cap - len, "%s ", de->d_name);
		}
		closedir(d);
	}
	if (s->target.kind == PFW_TARGET_COMMAND && s->target.child > 0 && cap - len > 32)
		len += snprintf(buf + len, cap - len, "%d ", (int)s->target.child);
	return buf;
}

static int setup_common(struct ft *ft, char *err, size_t errlen)
{
	struct pfw_session *s = ft->s;
	char own[32];
	int r;

	/* CLOCK_MONOTONIC timestamps, as struct pfw_event wants */
	r = setf(ft, "trace_clock", "mono");
	if (r) {
		snprintf(err, errlen, "cannot set trace_clock to mono: %s", strerror(-r));
		return r;
	}
	setf(ft, "tracing_on", "0");
	/* drop new events rather than overwrite old ones: drops show in stats as "dropped events" */
	setf(ft, "options/overwrite", "0");
	if (!ft->top)
		setf(ft, "buffer_size_kb", "8192");
	if (s->target.kind != PFW_TARGET_SYSTEM) {
		char *pids = pid_list(s);

		if (!pids)
			return -ENOMEM;
		setf(ft, "options/event-fork", "1");
		r = setf(ft, "set_event_pid", pids);
		if (!r && ft->mode == MODE_GRAPH) {
			setf(ft, "options/function-fork", "1");
			r = setf(ft, "set_ftrace_pid", pids);
		}
		free(pids);
		if (r) {
			snprintf(err, errlen, "cannot set the pid filter: %s", strerror(-r));
			return r;
		}
	} else {
		/* our own reads of the buffers fault too: keep them out */
		snprintf(own, sizeof(own), "%d", (int)getpid());
		if (pfw_ft_file_exists("set_event_notrace_pid"))
			setf(ft, "set_event_notrace_pid", own);
		if (ft->mode == MODE_GRAPH && pfw_ft_file_exists("set_ftrace_notrace_pid"))
			setf(ft, "set_ftrace_notrace_pid", own);
	}
	if (s->opts && s->opts->call_graph) {
		r = setf(ft, "options/userstacktrace", "1");
		if (r) {
			snprintf(err, errlen,
				 "--call-graph: cannot set options/userstacktrace: %s; use "
				 "--backend=perf or --backend=bpf",
				 strerror(-r));
			return r;
		}
		ft->ustack = true;
	}
	enable_event(ft, "task", "task_newtask");
	enable_event(ft, "task", "task_rename");
	enable_event(ft, "sched", "sched_process_exec");
	enable_event(ft, "sched", "sched_process_exit");
	return 0;
}

static int setup_events(struct ft *ft, const struct feat *f, char *err, size_t errlen)
{
	static const char *const ev[][2] = {
		{"exceptions", "page_fault_user"},
		{"filemap", "mm_filemap_fault"},
		{"filemap", "mm_filemap_add_to_page_cache"},
	};
	int r;

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		r = enable_event(ft, ev[i][0], ev[i][1]);
		if (r) {
			snprintf(err, errlen, "cannot enable %s:%s: %s", ev[i][0], ev[i][1],
				 strerror(-r));
			return r;
		}
	}
	if (f->pf_kernel)
		enable_event(ft, "exceptions", "page_fault_kernel");
	if (f->sync_ra)
		enable_event(ft, "readahead", "page_cache_sync_ra");
	return 0;
}

static int setup_graph(struct ft *ft, const struct feat *f, bool *have_kprobe, char *err,
		       size_t errlen)
{
	char def[512], fetch[256] = "", why[256] = "";
	struct pfw_ft_kfile_offs offs;
	int r;

	*have_kprobe = false;
	ft->file_src = FILE_MAPS;
	if (f->kprobe) {
		snprintf(ft->kgroup, sizeof(ft->kgroup), "pfwatch_%d", (int)getpid());
		ft->kprobes_made = true;
		if (pfw_ft_btf_offsets(&offs, why, sizeof(why)) ||
		    pfw_ft_kfile_fetchargs(&offs, fetch, sizeof(fetch))) {
			fetch[0] = '\0';
			pfw_session_verbose(ft->s, "no file fields in the kprobe: %s", why);
		}
		/* 5.9+ signature (vma, address, flags, regs); $argN needs 4.20+ */
		snprintf(def, sizeof(def),
			 "p:%s/hmf handle_mm_fault addr=$arg2:x64 flags=$arg3:x32 "
			 "regs=$arg4:x64%s%s",
			 ft->kgroup, fetch[0] ? " " : "", fetch);
		r = pfw_ft_kprobe_add(def);
		if (r && fetch[0]) {
			pfw_session_verbose(
				ft->s,
				"kprobe with file fields refused (%s, see " PFW_FT_TRACEFS
				"/error_log); retrying without them",
				strerror(-r));
			fetch[0] = '\0';
			snprintf(def, sizeof(def),
				 "p:%s/hmf handle_mm_fault addr=$arg2:x64 flags=$arg3:x32 "
				 "regs=$arg4:x64",
				 ft->kgroup);
			r = pfw_ft_kprobe_add(def);
		}
		if (!r)
			r = enable_event(ft, ft->kgroup, "hmf");
		if (!r && fetch[0])
			ft->file_src = FILE_KPROBE;
		*have_kprobe = !r;
		if (r)
			pfw_session_verbose(ft->s,
					    "kprobe on handle_mm_fault failed (%s): "
					    "GUP told apart by the missing page_fault_* event",
					    strerror(-r));
		if (!f->retval || ft->no_fg) {
			/*
			 * maxactive: a sleeping major fault holds its instance,
			 * and the default max(10, 2*ncpus) misses under I/O.
			 */
			snprintf(def, sizeof(def), "r256:%s/hmfr handle_mm_fault ret=$retval:x32",
				 ft->kgroup);
			r = pfw_ft_kprobe_add(def);
			if (!r)
				r = enable_event(ft, ft->kgroup, "hmfr");
			if (r) {
				snprintf(err, errlen,
					 "cannot create the kretprobe on handle_mm_fault: %s "
					 "(lockdown? see " PFW_FT_TRACEFS
					 "/error_log); use --ftrace-attach=events",
					 strerror(-r));
				return r;
			}
		}
	}
	if (f->pf_user)
		enable_event(ft, "exceptions", "page_fault_user");
	if (f->pf_kernel)
		enable_event(ft, "exceptions", "page_fault_kernel");
	/*
	 * 6.12+: (dev, ino) of the faulting file, so short-lived mappings
	 * resolve; redundant with the kprobe's own file fields (same vma,
	 * same moment), so only when those are missing.
	 */
	if (f->ff && ft->file_src != FILE_KPROBE &&
	    !enable_event(ft, "filemap", "mm_filemap_fault"))
		ft->file_src = FILE_FILEMAP;
	pfw_session_verbose(ft->s, "file identity from %s", file_src_name(ft->file_src));
	if (ft->no_fg) {
		if (!*have_kprobe) {
			snprintf(err, errlen,
				 "the tracefs top level is busy and the kprobe on handle_mm_fault "
				 "failed; use --ftrace-attach=events or --backend=perf");
			return -EBUSY;
		}
		return 0;
	}

	r = setf(ft, "set_ftrace_filter", "handle_mm_fault");
	if (r) {
		snprintf(err, errlen,
			 "cannot restrict function_graph to handle_mm_fault: %s "
			 "(set_ftrace_filter); use --ftrace-attach=events",
			 strerror(-r));
		return r;
	}
	setf(ft, "max_graph_depth", "1");
	if (f->retval) {
		setf(ft, "options/funcgraph-retval", "1");
	}
	r = setf(ft, "current_tracer", "function_graph");
	if (r) {
		snprintf(err, errlen, "cannot start function_graph: %s; use --ftrace-attach=events",
			 strerror(-r));
		return r;
	}
	return 0;
}

static int ft_open(struct pfw_session *s, void **priv, char *err, size_t errlen)
{
	const char *systems[] = {"exceptions", "filemap", "readahead", "task",
				 "sched",      "ftrace",  NULL,	       NULL};
	struct ft *ft;
	struct feat f;
	char why[PFW_DETAIL_LEN] = "";
	bool mounted, have_kprobe = false;
	int r;

	ft = calloc(1, sizeof(*ft));
	*priv = ft;
	if (!ft) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ft->s = s;
	ft->page_size = sysconf(_SC_PAGESIZE);
	if (refused(err, errlen))
		return -EPERM;
	r = pfw_ft_mount(&mounted, err, errlen);
	if (r)
		return r;
	if (mounted)
		pfw_session_verbose(s, "mounted tracefs on " PFW_FT_TRACEFS
				       " (it was not mounted; left mounted)");
	pfw_ft_cleanup_stale(say_verbose, s);

	read_feat(&f, false);
	ft->mode = choose(&f, s->opts ? s->opts->ftrace_attach : NULL, why, sizeof(why));
	if (ft->mode == MODE_NONE) {
		snprintf(err, errlen, "ftrace backend: %s", why);
		return -EOPNOTSUPP;
	}

	ft->inst = pfw_ft_instance_new();
	if (!ft->inst) {
		r = -(errno ?: EIO);
		snprintf(err, errlen, "cannot create a tracefs instance: %s", strerror(-r));
		return r;
	}
	pfw_session_verbose(s, "instance %s", tracefs_instance_get_name(ft->inst));

	if (ft->mode == MODE_GRAPH && !pfw_ft_has_tracer(ft->inst, "function_graph")) {
		/* 6.1: function_graph lacks .allow_instances; only the top level runs it */
		pfw_ft_instance_remove(ft->inst);
		ft->inst = NULL;
		ft->top = pfw_ft_toplevel_take(&r, err, errlen);
		if (!ft->top && f.kprobe) {
			/*
			 * Someone (another pfwatch, a tracer) holds the top
			 * level, or its state cannot be saved for a restore
			 * after SIGKILL: a kprobe and a kretprobe in an instance of
			 * our own count the same and time each fault from its
			 * #PF event to the return that completes it.
			 */
			pfw_session_verbose(
				s, "%s; using kprobe + kretprobe in an instance instead", err);
			err[0] = '\0';
			ft->no_fg = true;
			ft->inst = pfw_ft_instance_new();
			if (!ft->inst) {
				r = -(errno ?: EIO);
				snprintf(err, errlen, "cannot create a tracefs instance: %s",
					 strerror(-r));
				return r;
			}
		} else if (!ft->top) {
			return r;
		} else {
			pfw_session_verbose(s, "function_graph runs only in the top level here; "
					       "borrowing it (restored on exit)");
		}
	}

	r = setup_common(ft, err, errlen);
	if (!r)
		r = ft->mode == MODE_EVENTS ? setup_events(ft, &f, err, errlen)
					    : setup_graph(ft, &f, &have_kprobe, err, errlen);
	if (r)
		return r;

	if (ft->kprobes_made)
		systems[6] = ft->kgroup;
	ft->tep = tracefs_local_events_system(NULL, systems);
	if (!ft->tep) {
		snprintf(err, errlen,
			 "cannot read the event formats from " PFW_FT_TRACEFS "/events");
		return -EIO;
	}
	ft->dec = pfw_ft_decoder_new(ft->tep, ft->kprobes_made ? ft->kgroup : NULL);
	if (!ft->dec) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (ft->mode == MODE_EVENTS) {
		ft->cls = pfw_ft_classify_new(emit_fault, ft);
		snprintf(ft->attach, sizeof(ft->attach), ATTACH_EVENTS);
		snprintf(s->limits, sizeof(s->limits),
			 "events (approximate): major inferred from page-cache insertion; "
			 "swap-in/shmem majors and GUP faults not seen; no latency");
	} else {
		bool ret_fg = !ft->no_fg && pfw_ft_decoder_fg_retval(ft->dec);

		ft->fold = pfw_ft_fold_new(emit_fault, ft, have_kprobe, ret_fg, !ft->no_fg);
		snprintf(ft->attach, sizeof(ft->attach), ATTACH_GRAPH);
		if (!have_kprobe)
			snprintf(s->limits, sizeof(s->limits),
				 "graph without kprobe: GUP calls told apart by the missing "
				 "page_fault_* event; retries after a non-major attempt guessed");
		if (ft->file_src == FILE_MAPS)
			snprintf(s->limits + strlen(s->limits),
				 sizeof(s->limits) - strlen(s->limits),
				 "%sno file identity at fault time (no kernel BTF offsets, no "
				 "mm_filemap_fault): a file unmapped before the drain shows "
				 "[unknown]",
				 s->limits[0] ? "; " : "");
	}
	if (ft->ustack)
		snprintf(s->limits + strlen(s->limits), sizeof(s->limits) - strlen(s->limits),
			 "%suser stacks: %d frames at most (the kernel's FTRACE_STACK_ENTRIES), "
			 "frame pointers only",
			 s->limits[0] ? "; " : "", PFW_FT_USTACK_MAX);
	if (!ft->cls && !ft->fold) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/*
 * --cgroup: the threads of the processes in it now are in it. Known here,
 * before any record, a thread that faults and exits before the drain that
 * emits its faults is not dropped for want of /proc/TID/cgroup; threads
 * they start inherit it (NEWTASK).
 */
static void seed_cgroup_proc(pid_t pid, void *ctx)
{
	struct ft *ft = ctx;
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		struct tid_ent *te;

		if (tid <= 0 || *end)
			continue;
		/* tgid and name from /proc, as for any thread first seen */
		te = tid_get(ft, (int32_t)tid);
		if (te)
			te->in_cg = 1;
	}
	closedir(d);
}

static int ft_start(void *priv)
{
	struct ft *ft = priv;
	int r;

	if (ft->s->opts->cgroup_id && ft->s->opts->cgroup)
		pfw_cgroup_procs(ft->s->opts->cgroup, seed_cgroup_proc, ft);
	ft->lost_base = buffer_losses(ft);
	if (ft->top)
		ft->not_before = pfw_now_ns();
	r = setf(ft, "tracing_on", "1");
	if (r)
		return r;
	ft->started = true;
	return 0;
}

static int ft_poll(void *priv, int timeout_ms)
{
	struct ft *ft = priv;

	uint64_t end = pfw_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
	int n, total = 0;

	/*
	 * trace_pipe_raw wakes a poller only at buffer_percent, and the
	 * records carry no path: drain often, so that /proc/PID still
	 * exists when a fault's file is looked up.
	 */
	for (;;) {
		n = drain(ft);
		if (n < 0)
			return n;
		total += n;
		if (ft->s->stop || pfw_now_ns() >= end)
			return total;
		poll(NULL, 0, 10);
	}
}

static int ft_stop(void *priv)
{
	struct ft *ft = priv;
	uint64_t lost;
	int r;

	if (!ft || ft->stopped)
		return 0;
	ft->stopped = true;
	if (!ft->started)
		return 0;
	setf(ft, "tracing_on", "0");
	r = drain(ft);
	if (ft->cls)
		pfw_ft_classify_flush(ft->cls);
	if (ft->fold)
		pfw_ft_fold_flush(ft->fold);
	lost = buffer_losses(ft);
	if (lost > ft->lost_base)
		pfw_session_lost(ft->s, lost - ft->lost_base);
	return r < 0 ? r : 0;
}

static void ft_close(void *priv)
{
	struct ft *ft = priv;

	if (!ft)
		return;
	pfw_ft_classify_free(ft->cls);
	pfw_ft_fold_free(ft->fold);
	pfw_ft_decoder_free(ft->dec);
	if (ft->tep)
		tep_free(ft->tep);
	/* events must be off everywhere before their kprobe can be deleted */
	pfw_ft_instance_remove(ft->inst);
	pfw_ft_toplevel_restore(ft->top);
	if (ft->kprobes_made)
		pfw_ft_kprobe_remove_group(ft->kgroup);
	for (int i = 0; i < TID_BUCKETS; i++)
		while (ft->tids[i]) {
			struct tid_ent *n = ft->tids[i]->next;

			free(ft->tids[i]->us);
			free(ft->tids[i]);
			ft->tids[i] = n;
		}
	free(ft);
}

static const char *ft_attach(void *priv)
{
	struct ft *ft = priv;

	return ft && ft->attach[0] ? ft->attach : "-";
}

static const char *const ft_modes[] = {"graph", "events", NULL};

const struct pfw_backend pfw_backend_ftrace = {
	.name = "ftrace",
	.help = "tracefs: function_graph on handle_mm_fault (exact, with latency), or "
		"tracepoints only (events, approximate)",
	.needs = PFW_FTRACE_NEEDS,
	.modes = ft_modes,
	.probe = ft_probe,
	.open = ft_open,
	.start = ft_start,
	.poll = ft_poll,
	.stop = ft_stop,
	.close = ft_close,
	.attach = ft_attach,
};
