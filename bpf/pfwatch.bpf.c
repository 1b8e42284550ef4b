// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfwatch's kernel side: every attach mode in one object; the loader turns
 * off the programs of the modes it does not use before loading.
 *
 *   tp      perf_event programs on the per-CPU PAGE_FAULTS (entry) and
 *           PAGE_FAULTS_MAJ/_MIN (completion) software events. The
 *           completion events come from mm_account_fault() (5.9+), so they
 *           are the kernel's own verdict: one per completed fault, none for
 *           a VM_FAULT_RETRY attempt, none for GUP (regs == NULL).
 *   fentry  fentry/fexit on handle_mm_fault (5.9+ signature).
 *   kprobe  kprobe/kretprobe on handle_mm_fault (5.9+ signature).
 *
 * The tp path reads kernel memory only through BTF-typed pointers (the
 * bpf_find_vma() callback's vma, bpf_get_current_task_btf()), never through
 * bpf_probe_read_kernel(), which confidentiality lockdown refuses at
 * verification (5.13+, ff40e51043af).
 *
 * What it shares with pfwatch_nobtf.bpf.c (the loader's constants, the
 * maps user space reads in both, the filters, the record output) is in
 * pfwatch_common.bpf.h.
 */
#include "kernel_types.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "pfwatch_common.bpf.h"

/* include/uapi/linux/magic.h: tmpfs, memfd, SysV shm, shared anonymous memory */
#define TMPFS_MAGIC 0x01021994

/* x86-64: 4 KiB base pages (huge pages are still indexed in 4 KiB units) */
#define PFW_PAGE_SHIFT 12
#define PFW_PAGE_MASK  (~((1ull << PFW_PAGE_SHIFT) - 1))

/* set by the loader before load(), as the common ones (pfwatch_common.bpf.h) */
const volatile bool have_task_btf = true;
const volatile bool use_vma_cache = true;
/* count distinct anonymous pages (not in the exporter: see agg_pages) */
const volatile bool anon_pages = true;
/* fentry/kprobe: the fault in flight in task storage, not the inflights hash */
const volatile bool inflight_task = false;
/*
 * Where the thread rows of an in-kernel summary live: PFW_BPF_ROWS_HASH, in
 * agg_threads, a hash lookup by tid per fault; PFW_BPF_ROWS_TP/PFW_BPF_ROWS_HMF, in
 * the task storage the completion already holds (tp_tasks, inflight_tasks),
 * where the loader can also attach the rows' exit fold and task iterator
 * (BPF tracing programs; see pfw_thread_exit).
 */
const volatile __u32 thread_slots = PFW_BPF_ROWS_HASH;
/* a test hook: pages whose index is a multiple of it take the EBUSY path */
const volatile __u32 novma_every = 0;
/*
 * pfwatch's pid namespace: its level (0: the initial one, pids are the
 * kernel's) and inode. Pids are reported, filtered and keyed as that
 * namespace sees them (SPEC.md, "Namespaces and containers"); a task with
 * no pid there is not visible to pfwatch and is skipped, as top in a
 * container does not show the host's processes. pid_typed: struct pid's
 * numbers[] may be indexed through a BTF pointer at pidns_level (a
 * flexible array), else it is read with bpf_probe_read_kernel.
 */
const volatile __u32 pidns_level = 0;
const volatile __u32 pidns_ino = 0;
const volatile bool pid_typed = true;
/* the level probe: pfwatch's own pid level, written by pfw_level */
__u32 self_level = 0;
/*
 * Thread rows moved from task storage to agg_threads so far: user space
 * reads again when this moved while it read.
 */
__u64 thread_folds = 0;

/* fentry/kprobe: a handle_mm_fault() in flight, captured at entry */
struct inflight {
	__u64 id;	/* tgid << 32 | tid as pfwatch reports them (wanted()) */
	__u64 first_ts; /* entry of the first attempt: latency spans every retry */
	__u64 addr;
	__u64 ip;
	__u64 ino;
	__u64 offset;
	__u32 dev;
	__u32 gen;
	__u32 flags; /* FAULT_FLAG_* of the latest attempt */
	__u8 has_file;
	__u8 shmem;
	__u8 user;
	__u8 in_call; /* between entry and return of a user-fault attempt */
	__u8 retried; /* the last attempt returned VM_FAULT_RETRY */
};

/*
 * Where they live: task-local storage where the kernel lets kprobe and
 * tracing programs use it (inflight_task), one pointer chase that goes away
 * with the thread; else an LRU hash by tid, an update and a delete per
 * fault (bench/: the costliest part of these modes on a fault storm).
 */
PFW_INFLIGHTS_MAP(struct inflight);

/* a thread's task storage in fentry/kprobe modes: the fault in flight, and its row */
struct hmf_task {
	struct inflight in; /* first: inflight_of() returns its address */
	struct pfw_bpf_thread_slot slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hmf_task);
} inflight_tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pfw_bpf_thread);
} agg_threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pfw_bpf_file_key);
	__type(value, struct pfw_bpf_file);
} agg_files SEC(".maps");

/*
 * The row of every anonymous fault ([anon]): one per CPU in an array, a
 * lookup the verifier turns into an address, where the file rows' hash
 * would hash and walk a bucket on every fault of an allocation storm.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pfw_bpf_file);
} agg_anon SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * PFW_BPF_HIST);
	__type(key, __u32);
	__type(value, __u64);
} agg_hist SEC(".maps");

/*
 * The distinct pages (pfwatch_bpf.h): of files, which decide refaults, and
 * of each process' anonymous memory. A plain hash of 512-page bitmaps, not
 * an LRU: a forgotten page would make its next major fault look like a
 * first read. A fault costs a lookup and an atomic OR, an insert only for
 * the first page of a chunk, whatever the kernel evicts (an LRU insert per
 * new page was the costliest thing of an allocation storm). When it is
 * full, a page in a new chunk is not tracked and counted as such, so the
 * rows say their pages and refaults are lower bounds. The loader sizes it
 * (PFW_BPF_CHUNKS), and leaves anonymous pages out of the exporter's runs
 * (anon_pages), whose days would fill it with dead processes' chunks.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__type(key, struct pfw_bpf_chunk_key);
	__type(value, struct pfw_bpf_chunk);
} agg_pages SEC(".maps");

/* one completed fault, before it is streamed or aggregated */
struct fault {
	__u64 addr;
	__u64 ip;
	__u64 now; /* the completion's clock read, 0 if none (fill_record()) */
	__u64 latency_ns;
	__u64 ino;
	__u64 offset;
	__u32 dev;
	__u32 kind;
	__u32 gen;
	__u8 has_file;
	__u8 has_latency;
	__u8 user;
	__u8 novma;
	__u8 shmem;
};

/*
 * @p's number in pfwatch's pid namespace (pidns_level > 0), 0 when it has
 * none; @typed: @p is a BTF pointer and numbers[] may be indexed through it
 */
static __always_inline __u32 pid_nr_ns(struct pid *p, bool typed)
{
	struct pid_namespace *ns = NULL;
	unsigned int level;
	int nr = 0;

	if (!p)
		return 0;
	if (typed) {
		if (p->level < pidns_level)
			return 0;
		ns = p->numbers[pidns_level].ns;
		if (!ns || ns->ns.inum != pidns_ino)
			return 0;
		return p->numbers[pidns_level].nr;
	}
	level = BPF_CORE_READ(p, level);
	if (level < pidns_level)
		return 0;
	bpf_core_read(&ns, sizeof(ns), &p->numbers[pidns_level].ns);
	if (!ns || BPF_CORE_READ(ns, ns.inum) != pidns_ino)
		return 0;
	bpf_core_read(&nr, sizeof(nr), &p->numbers[pidns_level].nr);
	return nr;
}

/* @t's tgid as pfwatch reports it (0: not visible); @typed: @t is a BTF pointer */
static __always_inline __u32 task_tgid(struct task_struct *t, bool typed)
{
	if (!pidns_level)
		return typed ? t->tgid : BPF_CORE_READ(t, tgid);
	if (typed && pid_typed)
		return pid_nr_ns(t->group_leader->thread_pid, true);
	return pid_nr_ns(BPF_CORE_READ(t, group_leader, thread_pid), false);
}

/*
 * The current task as pfwatch reports it, tgid << 32 | tid; false when not
 * visible. @typed: the program may use bpf_get_current_task_btf() (raw_tp
 * may not).
 */
static __always_inline bool current_id_of(__u64 *id, bool typed)
{
	struct task_struct *t;
	__u32 tid, tgid;

	if (!pidns_level) {
		*id = bpf_get_current_pid_tgid();
		return true;
	}
	if (typed && pid_typed) {
		t = bpf_get_current_task_btf();
		tid = pid_nr_ns(t->thread_pid, true);
		tgid = pid_nr_ns(t->group_leader->thread_pid, true);
	} else {
		t = (struct task_struct *)bpf_get_current_task();
		tid = pid_nr_ns(BPF_CORE_READ(t, thread_pid), false);
		tgid = pid_nr_ns(BPF_CORE_READ(t, group_leader, thread_pid), false);
	}
	*id = (__u64)tgid << 32 | tid;
	return tid && tgid;
}

static __always_inline bool current_id(__u64 *id)
{
	return current_id_of(id, have_task_btf);
}

static __always_inline bool ancestor_traced(__u32 tgid)
{
	static const __u8 one = 1;
	struct task_struct *t;
	__u32 ptgid;

	if (have_task_btf) {
		t = bpf_get_current_task_btf();
		for (int i = 0; i < 16; i++) {
			t = t->real_parent;
			if (!t)
				return false;
			ptgid = task_tgid(t, true);
			/* init, or a parent outside pfwatch's pid namespace */
			if (ptgid <= 1)
				return false;
			if (bpf_map_lookup_elem(&targets, &ptgid))
				goto found;
		}
	} else {
		t = (struct task_struct *)bpf_get_current_task();
		for (int i = 0; i < 16; i++) {
			t = BPF_CORE_READ(t, real_parent);
			if (!t)
				return false;
			ptgid = task_tgid(t, false);
			if (ptgid <= 1)
				return false;
			if (bpf_map_lookup_elem(&targets, &ptgid))
				goto found;
		}
	}
	return false;
found:
	/*
	 * Remember the descendant, so its next faults cost one lookup. A
	 * process whose forking parent already exited (reparented) before
	 * its first fault is missed; fork returns to user space through a
	 * COW fault on the stack, so in practice the parent is still there.
	 */
	bpf_map_update_elem(&targets, &tgid, &one, BPF_ANY);
	return true;
}

/* the current task is traced; *@id: its tgid << 32 | tid as pfwatch reports them */
static __always_inline bool wanted(__u64 *id)
{
	__u32 tgid;

	if (!current_id(id))
		return false;
	tgid = *id >> 32;
	if (!target_listed(tgid)) {
		if (target_kind != PFW_BPF_TARGET_COMMAND || !ancestor_traced(tgid))
			return false;
	}
	return filters_pass();
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xffffffffull) << 5;
	v >>= shift;
	r |= shift;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline void lat_fold(__u64 *cnt, __u64 *tot, __u64 *mn, __u64 *mx, __u64 lat)
{
	if (!*cnt || lat < *mn)
		*mn = lat;
	if (lat > *mx)
		*mx = lat;
	*cnt += 1;
	*tot += lat;
}

static __always_inline void fill_event(struct pfw_bpf_event *ev, struct fault *f, __u64 id,
				       __u32 extra)
{
	__u32 flags = PFW_BPF_F_ADDR | PFW_BPF_F_COMM | extra;

	if (f->user)
		flags |= PFW_BPF_F_USER | PFW_BPF_F_IP;
	if (f->has_file)
		flags |= PFW_BPF_F_FILE;
	if (f->shmem)
		flags |= PFW_BPF_F_SHMEM;
	if (f->novma)
		flags |= PFW_BPF_F_NOVMA;
	if (f->has_latency)
		flags |= PFW_BPF_F_LATENCY;
	fill_record(ev, id, f->addr, f->ip, f->now, f->latency_ns, f->kind, flags);
	ev->ino = f->ino;
	ev->offset = f->offset;
	ev->dev = f->dev;
	ev->gen = f->gen;
	ev->pad = 0;
}

static __always_inline void stream_fault(void *ctx, struct fault *f, __u64 id, __u32 extra)
{
	struct pfw_bpf_event *ev;

	/*
	 * Without a stack the record has one size: write it in place in the
	 * ring (reserve, commit), not in a per-CPU scratch copied in after.
	 */
	if (use_ringbuf && !call_graph) {
		ev = bpf_ringbuf_reserve(&events, sizeof(*ev) - sizeof(ev->stack), 0);
		if (!ev) {
			count(PFW_BPF_CNT_LOST);
			return;
		}
		fill_event(ev, f, id, extra);
		bpf_ringbuf_submit(ev, 0);
		return;
	}
	ev = scratch_event();
	if (!ev)
		return;
	fill_event(ev, f, id, extra);
	output_with_stack(ctx, ev, call_graph);
}

/*
 * Mark @f's page in the page set: 1 if it was marked before (a refault
 * when @f is a major fault on a file), 0 if new, -1 if the set is full. A
 * file page is its offset in the file, whoever maps it; an anonymous page
 * is an address in process @tgid (ino 0, the tgid in gen). The atomic OR
 * with fetch (BPF atomics, 5.12) decides between two CPUs completing
 * faults on one page at once: exactly one sees it new. Only the
 * aggregating programs carry it (see the _agg programs below), so the
 * streaming ones load on older kernels.
 */
static __always_inline int page_seen(struct fault *f, __u32 tgid)
{
	static const struct pfw_bpf_chunk empty;
	struct pfw_bpf_chunk_key k = {};
	__u64 page, bit, old;
	struct pfw_bpf_chunk *c;
	long err;

	if (f->has_file) {
		k.ino = f->ino;
		k.dev = f->dev;
		k.gen = f->gen;
		page = f->offset >> PFW_PAGE_SHIFT;
	} else {
		k.gen = tgid;
		page = f->addr >> PFW_PAGE_SHIFT;
	}
	bit = 1ull << (page & 63);
	k.chunk = page >> PFW_BPF_CHUNK_SHIFT;
	c = bpf_map_lookup_elem(&agg_pages, &k);
	if (!c) {
		err = bpf_map_update_elem(&agg_pages, &k, &empty, BPF_NOEXIST);
		if (err && err != -17 /* EEXIST: another CPU made it */) {
			count(PFW_BPF_CNT_PAGES_FULL);
			return -1;
		}
		c = bpf_map_lookup_elem(&agg_pages, &k);
		if (!c)
			return -1;
	}
	old = __sync_fetch_and_or(&c->bits[(page >> 6) & ((1 << (PFW_BPF_CHUNK_SHIFT - 6)) - 1)],
				  bit);
	return (old & bit) != 0;
}

/*
 * A task-storage row into agg_threads, added to the row of its tid there
 * if there is one (as the hash's own rows continue under a reused tid).
 * Runs in the row's own thread, its only writer. A full hash loses the
 * row's faults, counted as lost.
 */
static __always_inline void fold_slot(struct pfw_bpf_thread_slot *s)
{
	struct pfw_bpf_thread *t, *v = &s->row;
	__u32 tid = (__u32)s->id;
	__u64 *c, n;

	t = bpf_map_lookup_elem(&agg_threads, &tid);
	if (!t) {
		if (!bpf_map_update_elem(&agg_threads, &tid, v, BPF_NOEXIST))
			return;
		t = bpf_map_lookup_elem(&agg_threads, &tid);
	}
	if (!t) {
		n = PFW_BPF_CNT_AGG_FULL;
		c = bpf_map_lookup_elem(&counters, &n);
		if (c)
			*c += v->major + v->minor;
		return;
	}
	t->major += v->major;
	t->minor += v->minor;
	if (v->lat_count) {
		if (!t->lat_count || v->lat_min < t->lat_min)
			t->lat_min = v->lat_min;
		if (v->lat_max > t->lat_max)
			t->lat_max = v->lat_max;
		t->lat_count += v->lat_count;
		t->lat_total += v->lat_total;
	}
	t->refaults += v->refaults;
	t->untracked += v->untracked;
	t->major_file += v->major_file;
	t->major_anon += v->major_anon;
	t->major_shmem += v->major_shmem;
	/* last: a reader that sees it has the whole row here (bpf_rows.c) */
	t->seq = v->seq;
}

/* a row starts at the thread's first counted fault, as the hash's rows do */
static __always_inline void thread_row_init(struct pfw_bpf_thread *t, __u64 id, __u64 seq)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->pid = id >> 32;
	t->seq = seq;
	t->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/*
 * The row the current thread (@id) counts in: its task storage's (@s,
 * NULL where rows live in the hash) while it lives, else agg_threads'.
 */
static __always_inline struct pfw_bpf_thread *thread_row_of(__u64 id, struct pfw_bpf_thread_slot *s)
{
	__u32 tid = (__u32)id;
	struct pfw_bpf_thread *t;

	if (s) {
		if (s->state == PFW_BPF_SLOT_LIVE && s->id == id)
			return &s->row;
		/* after its exit's fold (a fault in do_exit) the hash counts */
		if (s->state != PFW_BPF_SLOT_FOLDED) {
			/* a thread that execs takes its leader's tid: the old row goes */
			if (s->state == PFW_BPF_SLOT_LIVE) {
				fold_slot(s);
				__sync_fetch_and_add(&thread_folds, 1);
			}
			thread_row_init(&s->row, id, bpf_ktime_get_ns());
			s->id = id;
			s->state = PFW_BPF_SLOT_LIVE;
			return &s->row;
		}
	}
	t = bpf_map_lookup_elem(&agg_threads, &tid);
	if (!t) {
		struct pfw_bpf_thread nt;

		thread_row_init(&nt, id, 0);
		bpf_map_update_elem(&agg_threads, &tid, &nt, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&agg_threads, &tid);
	}
	return t;
}

/* @s: the thread's row in its task storage, NULL where rows live in the hash */
static __always_inline void aggregate_fault(void *ctx, struct fault *f, __u64 id,
					    struct pfw_bpf_thread_slot *s)
{
	static const struct pfw_bpf_file zero_file;
	static const __u32 zero;
	struct pfw_bpf_thread *t;
	struct pfw_bpf_file_key fk = {};
	struct pfw_bpf_file *fv;
	int seen = 0;

	if (f->has_file || anon_pages)
		seen = page_seen(f, id >> 32);
	t = thread_row_of(id, s);
	if (t) {
		/* only this thread updates its row, and its faults are sequential */
		if (f->kind) {
			t->major++;
			if (!f->has_file)
				t->major_anon++;
			else if (f->shmem)
				t->major_shmem++;
			else
				t->major_file++;
			if (seen > 0 && f->has_file)
				t->refaults++;
		} else {
			t->minor++;
		}
		/* the refault count's bound: file pages only */
		if (seen < 0 && f->has_file)
			t->untracked++;
		if (f->has_latency)
			lat_fold(&t->lat_count, &t->lat_total, &t->lat_min, &t->lat_max,
				 f->latency_ns);
	} else {
		count(PFW_BPF_CNT_AGG_FULL);
	}

	if (f->has_file) {
		fk.ino = f->ino;
		fk.dev = f->dev;
		fk.gen = f->gen;
		fv = bpf_map_lookup_elem(&agg_files, &fk);
		if (!fv) {
			/*
			 * A file seen for the first time: tell user space while the
			 * mapping most likely still exists, so it can learn the path
			 * from /proc/PID/maps; at stop() the process may be gone.
			 */
			if (!bpf_map_update_elem(&agg_files, &fk, &zero_file, BPF_NOEXIST))
				stream_fault(ctx, f, id, PFW_BPF_F_NEWFILE);
			fv = bpf_map_lookup_elem(&agg_files, &fk);
		}
	} else {
		fv = bpf_map_lookup_elem(&agg_anon, &zero);
	}
	if (fv) {
		if (f->kind)
			fv->major++;
		else
			fv->minor++;
		if (!seen && (f->has_file || anon_pages))
			fv->pages++;
		else if (seen < 0)
			fv->untracked++;
		else if (seen > 0 && f->kind && f->has_file)
			fv->refaults++;
		if (f->has_file)
			fv->shmem = f->shmem;
		if (f->has_latency)
			lat_fold(&fv->lat_count, &fv->lat_total, &fv->lat_min, &fv->lat_max,
				 f->latency_ns);
	} else {
		count(PFW_BPF_CNT_AGG_FULL);
	}

	if (f->has_latency) {
		__u32 b = log2_u64(f->latency_ns);
		__u64 *h;

		if (b >= PFW_BPF_HIST)
			b = PFW_BPF_HIST - 1;
		b += f->kind ? PFW_BPF_HIST : 0;
		h = bpf_map_lookup_elem(&agg_hist, &b);
		if (h)
			*h += 1;
	}
}

/* @agg: a constant of the calling program, so the other branch is not in it */
static __always_inline void fault_done(void *ctx, struct fault *f, __u64 id, bool agg,
				       struct pfw_bpf_thread_slot *s)
{
	if (agg)
		aggregate_fault(ctx, f, id, s);
	else
		stream_fault(ctx, f, id, 0);
}

/*
 * COMMAND: follow forks as they happen. The ancestor walk in wanted()
 * misses a child whose parent exited before the child's first fault (the
 * double fork of "(cmd &)" and daemons); this does not. The raw tracepoint
 * arguments are untyped, so it reads child->tgid with bpf_probe_read_kernel:
 * the loader leaves it out where that is refused (confidentiality lockdown)
 * and the walk remains.
 */
static __always_inline int follow_child(struct task_struct *child, bool typed)
{
	static const __u8 one = 1;
	__u32 tgid, ctgid;
	__u64 id;

	if (!current_id_of(&id, typed))
		return 0;
	tgid = id >> 32;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	ctgid = task_tgid(child, typed);
	if (ctgid && ctgid != tgid)
		bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(pfw_fork, struct task_struct *parent, struct task_struct *child)
{
	return follow_child(child, false);
}

/*
 * The same where bpf_probe_read_kernel is refused (confidentiality
 * lockdown) and BTF tracing programs are not: a tp_btf program reads the
 * typed child pointer directly, as fentry reads the vma.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pfw_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return follow_child(child, true);
}

/* ---- tp: perf_event programs on the page-fault software events ---- */

/*
 * The file behind f->addr. bpf_find_vma() is the cost of tp mode: it takes
 * mmap_lock with a trylock and, with interrupts off as in this perf
 * overflow handler, defers the unlock to an irq_work, a self-interrupt per
 * call (measured: 6338 ns per fault with it, 1467 without, bench/). A
 * thread's faults mostly land in the vma of its previous fault, so the
 * last answer is kept per thread and reused while mm->mm_lock_seq says no
 * vma changed: it is bumped at every mmap write unlock (6.4+, per-VMA
 * locks). A fault on a vma being changed cannot complete before that
 * writer unlocks (vma_start_read() fails, the fault falls back to
 * mmap_lock), so an unchanged sequence means an unchanged vma. Where the
 * field is missing (< 6.4, or no CONFIG_PER_VMA_LOCK) every fault asks.
 */
struct vma_cache {
	__u64 mm;
	__u64 exec_id;
	__u64 start, end;
	__u64 pgoff_bytes; /* vm_pgoff << PAGE_SHIFT */
	__u64 ino;
	__u32 dev;
	__u32 seq;
	__u32 gen;
	__u8 has_file;
	__u8 shmem;
	__u8 pad[2];
};

/*
 * tp's per-thread state: the open PAGE_FAULTS entry (a thread faults
 * sequentially) and the vma cache. Task-local storage (tracing programs:
 * 5.13; tp needs 5.17): one pointer chase instead of an LRU hash update
 * and delete per fault, and it goes away with the thread.
 */
struct tp_task {
	__u64 entry_ts; /* 0: no entry open */
	__u64 entry_addr;
	__u64 entry_id; /* what wanted() said at the entry: the completion need not ask again */
	struct vma_cache vc;
	struct pfw_bpf_thread_slot slot; /* thread_slots == PFW_BPF_ROWS_TP */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tp_task);
} tp_tasks SEC(".maps");

/* a fault begins: its time, for the completion to measure the latency */
static __always_inline int tp_entry(__u64 addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tp_task *st;
	__u64 id;

	/*
	 * Without --comm and --cgroup, wanted() depends on the tgid alone,
	 * which a task keeps for life, and the target set only grows: a task
	 * whose entry was wanted once (entry_id set; only wanted tasks get
	 * storage) is wanted now. Its id is asked again (a thread that execs
	 * takes its leader's tid). Saves the target lookup on every fault.
	 */
	if (!filter_comm && !cgroup_id) {
		st = bpf_task_storage_get(&tp_tasks, task, 0, 0);
		if (st && st->entry_id) {
			if (!current_id(&id))
				return 0;
			goto stamp;
		}
	}
	if (!wanted(&id))
		return 0;
	st = bpf_task_storage_get(&tp_tasks, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
stamp:
	st->entry_ts = bpf_ktime_get_ns();
	st->entry_addr = addr;
	st->entry_id = id;
	return 0;
}

/*
 * The entry comes from exceptions:page_fault_user and page_fault_kernel
 * (x86: trace_page_fault_entries(), before any fault handling) where they
 * exist: a raw tracepoint program costs less per fault than a perf_event
 * program on the PAGE_FAULTS software event, which every other kernel
 * uses (bench/: the entry is paid by every fault, also the minor faults a
 * majors-only run does not want). Kernel-mode faults on user addresses
 * (copy_from_user) are page_fault_kernel; on kernel addresses they end
 * without a completion and are left out.
 */
SEC("perf_event")
int pfw_tp_entry(struct bpf_perf_event_data *ctx)
{
	return tp_entry(ctx->addr);
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(pfw_tp_entry_user, unsigned long address)
{
	return tp_entry(address);
}

SEC("raw_tp/page_fault_kernel")
int BPF_PROG(pfw_tp_entry_kernel, unsigned long address)
{
	if ((long)address < 0)
		return 0;
	return tp_entry(address);
}

static long tp_vma_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct fault *f = data;
	struct file *file = vma->vm_file;
	struct inode *inode;

	if (!file)
		return 0;
	inode = file->f_inode;
	if (!inode)
		return 0;
	f->ino = inode->i_ino;
	f->gen = inode->i_generation;
	f->dev = inode->i_sb->s_dev;
	f->shmem = inode->i_sb->s_magic == TMPFS_MAGIC;
	f->offset = ((__u64)vma->vm_pgoff << PFW_PAGE_SHIFT) +
		    ((f->addr & PFW_PAGE_MASK) - vma->vm_start);
	f->has_file = 1;
	return 0;
}

struct vma_found {
	struct fault *f;
	struct vma_cache *c;
};

static long tp_vma_cache_cb(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_found *vf = data;
	struct vma_cache *c = vf->c;

	tp_vma_cb(task, vma, vf->f);
	c->start = vma->vm_start;
	c->end = vma->vm_end;
	c->pgoff_bytes = (__u64)vma->vm_pgoff << PFW_PAGE_SHIFT;
	c->ino = vf->f->ino;
	c->dev = vf->f->dev;
	c->gen = vf->f->gen;
	c->has_file = vf->f->has_file;
	c->shmem = vf->f->shmem;
	return 0;
}

/* the mm's vma sequence, or false where the kernel has none / a writer is in */
static __always_inline bool mm_seq(struct mm_struct *mm, __u32 *seq)
{
	if (bpf_core_field_exists(((struct mm_struct___seq *)0)->mm_lock_seq.sequence)) {
		*seq = ((struct mm_struct___seq *)mm)->mm_lock_seq.sequence;
		return !(*seq & 1);
	}
	if (bpf_core_field_exists(((struct mm_struct___int *)0)->mm_lock_seq)) {
		*seq = ((struct mm_struct___int *)mm)->mm_lock_seq;
		return true;
	}
	return false;
}

/* false when mmap_lock was contended and the file is unknown */
static __always_inline bool tp_file_of(struct fault *f, struct task_struct *task,
				       struct tp_task *st)
{
	struct mm_struct *mm = task->mm;
	struct vma_cache *c, nc = {};
	struct vma_found vf = {.f = f, .c = &nc};
	__u64 exec_id = task->self_exec_id;
	__u32 seq = 0;
	bool seq_ok = st && mm && use_vma_cache && mm_seq(mm, &seq);
	long err;

	if (novma_every && (f->addr >> 12) % novma_every == 0) {
		f->novma = 1;
		return false;
	}

	if (seq_ok) {
		c = &st->vc;
		if (c->mm == (__u64)mm && c->seq == seq && c->exec_id == exec_id &&
		    f->addr >= c->start && f->addr < c->end) {
			if (c->has_file) {
				f->ino = c->ino;
				f->dev = c->dev;
				f->gen = c->gen;
				f->shmem = c->shmem;
				f->offset = c->pgoff_bytes + ((f->addr & PFW_PAGE_MASK) - c->start);
				f->has_file = 1;
			}
			return true;
		}
	}
	err = bpf_find_vma(task, f->addr, tp_vma_cache_cb, &vf, 0);
	if (err == -16 /* EBUSY: mmap_lock contended; the frontend resolves by address */) {
		count(PFW_BPF_CNT_VMA_BUSY);
		f->novma = 1;
		return false;
	}
	/* the sequence read before the lookup: a change since then invalidates it */
	if (seq_ok && !err && nc.end) {
		nc.mm = (__u64)mm;
		nc.seq = seq;
		nc.exec_id = exec_id;
		st->vc = nc;
	}
	return true;
}

static __always_inline int tp_done(struct bpf_perf_event_data *ctx, __u32 kind, bool agg)
{
	struct task_struct *task;
	struct fault f = {};
	struct tp_task *st;
	__u64 id;

	if (!kind_wanted(kind))
		return 0;
	task = bpf_get_current_task_btf();
	f.kind = kind;
	f.addr = ctx->addr;
	/*
	 * The fault's own entry was wanted: its answer holds (one thread,
	 * microseconds apart), and a task the entry did not want has no
	 * storage unless an earlier fault made it. Else ask.
	 */
	st = bpf_task_storage_get(&tp_tasks, task, 0, 0);
	if (measure_latency && st && st->entry_ts && st->entry_addr == f.addr) {
		id = st->entry_id;
		f.now = bpf_ktime_get_ns();
		f.latency_ns = f.now - st->entry_ts;
		f.has_latency = 1;
		st->entry_ts = 0;
	} else {
		if (!wanted(&id))
			return 0;
		/* an entry without completion (SIGSEGV, signal on retry) has another addr */
		if (st)
			st->entry_ts = 0;
		else
			st = bpf_task_storage_get(&tp_tasks, task, 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
	}
	/* user_mode(regs): copy_from_user faults come with kernel-mode regs */
	if ((ctx->regs.cs & 3) == 3) {
		f.user = 1;
		f.ip = ctx->regs.ip;
	}
	/*
	 * Unknown file: an in-kernel row would put the fault under [anon];
	 * stream it instead, and user space names it by its address.
	 */
	if (!tp_file_of(&f, task, st) && agg) {
		stream_fault(ctx, &f, id, 0);
		return 0;
	}
	if (thread_slots == PFW_BPF_ROWS_TP && st) {
		barrier_var(st);
		fault_done(ctx, &f, id, agg, &st->slot);
	} else {
		fault_done(ctx, &f, id, agg, NULL);
	}
	return 0;
}

/*
 * Each completion program comes twice: streaming, and counting in the
 * kernel (_agg). The loader loads one of the two; only _agg needs BPF
 * atomics (file_page_seen()).
 */
#define PFW_TP(name, kind, agg)                   \
	SEC("perf_event")                         \
	int name(struct bpf_perf_event_data *ctx) \
	{                                         \
		return tp_done(ctx, kind, agg);   \
	}
PFW_TP(pfw_tp_major, 1, false)
PFW_TP(pfw_tp_minor, 0, false)
PFW_TP(pfw_tp_major_agg, 1, true)
PFW_TP(pfw_tp_minor_agg, 0, true)

/* ---- fentry and kprobe: handle_mm_fault(vma, address, flags, regs), 5.9+ ---- */

/*
 * One user fault may call handle_mm_fault() several times: the per-VMA-lock
 * attempt, then mmap_lock attempts after VM_FAULT_RETRY. It is one fault,
 * completed at the first return without RETRY, major if that return has
 * VM_FAULT_MAJOR or its flags have FAULT_FLAG_TRIED (mm_account_fault()).
 * Everything about the vma is captured at entry: after the return the vma
 * may be gone (the mmap_lock was dropped).
 */
/* the current thread's fault in flight, or NULL */
static __always_inline struct inflight *inflight_of(void)
{
	__u32 tid;

	if (inflight_task)
		return bpf_task_storage_get(&inflight_tasks, bpf_get_current_task_btf(), 0, 0);
	tid = (__u32)bpf_get_current_pid_tgid();
	return bpf_map_lookup_elem(&inflights, &tid);
}

/* a fault completed or abandoned: nothing in flight */
static __always_inline void inflight_done(struct inflight *in)
{
	__u32 tid;

	if (inflight_task) {
		in->in_call = 0;
		in->retried = 0;
		return;
	}
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&inflights, &tid);
}

/*
 * @in: the entry of a fault at @address, stamped now. Where @in is the
 * thread's task storage (@stored) it is written in place, else it goes to
 * the hash. A retry of the same fault keeps its first attempt's time: the
 * latency spans every attempt.
 */
static __always_inline void hmf_enter(struct inflight *in, __u64 address, __u32 flags, bool stored)
{
	struct inflight *old = stored ? in : inflight_of();
	__u64 ts = bpf_ktime_get_ns();
	__u32 tid;

	if (!(old && old->retried && old->addr == address))
		in->first_ts = ts;
	else if (!stored)
		in->first_ts = old->first_ts;
	in->addr = address;
	in->flags = flags;
	in->in_call = 1;
	in->retried = 0;
	if (stored)
		return;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&inflights, &tid, in, BPF_ANY);
}

static __always_inline void hmf_gup(void)
{
	struct inflight *in = inflight_of();

	/* regs == NULL (GUP, 5.9+): not a user fault; a stale retried entry can't complete now */
	if (in)
		inflight_done(in);
}

static __always_inline void hmf_exit(void *ctx, __u32 ret, bool agg)
{
	struct inflight *in = inflight_of();
	struct fault f = {};
	__u64 id;

	if (!in || !hmf_attempt_ends(&in->in_call, &in->retried, ret))
		return;
	f.kind = HMF_KIND(ret, in->flags);
	/* not reported (a minor fault of a majors-only run): no clock read, no copy */
	if (!hmf_reported(ret, f.kind)) {
		inflight_done(in);
		return;
	}
	f.addr = in->addr;
	f.ip = in->ip;
	f.user = in->user;
	f.ino = in->ino;
	f.dev = in->dev;
	f.gen = in->gen;
	f.offset = in->offset;
	f.has_file = in->has_file;
	f.shmem = in->shmem;
	if (measure_latency) {
		f.now = bpf_ktime_get_ns();
		f.latency_ns = f.now - in->first_ts;
		f.has_latency = 1;
	}
	id = in->id;
	inflight_done(in);
	/* inflight_task: in is the first member of the task's struct hmf_task */
	fault_done(ctx, &f, id, agg,
		   thread_slots == PFW_BPF_ROWS_HMF ? &((struct hmf_task *)in)->slot : NULL);
}

/*
 * @p->@field, read directly through a BTF pointer (@typed: fentry, whose
 * arguments the verifier types) or with a CO-RE probe read (kprobe). @typed
 * is a constant of the calling program: clang keeps one of the two, and
 * the verifier sees only the read its program type allows.
 */
#define KREAD(typed, p, field) ((typed) ? (p)->field : BPF_CORE_READ(p, field))

/* @in: who (@id) faults where (@regs, @vma at @address), read at the entry */
static __always_inline void hmf_capture(struct inflight *in, __u64 id, struct vm_area_struct *vma,
					__u64 address, struct pt_regs___btf *regs, bool typed)
{
	struct super_block *sb;
	struct inode *inode;
	struct file *file;

	in->id = id;
	in->user = 0;
	in->ip = 0;
	if ((KREAD(typed, regs, cs) & 3) == 3) {
		in->user = 1;
		in->ip = KREAD(typed, regs, ip);
	}
	file = KREAD(typed, vma, vm_file);
	if (!file) {
		in->has_file = 0;
		in->shmem = 0;
		in->ino = 0;
		in->gen = 0;
		in->dev = 0;
		in->offset = 0;
		return;
	}
	inode = KREAD(typed, file, f_inode);
	sb = KREAD(typed, inode, i_sb);
	in->ino = KREAD(typed, inode, i_ino);
	in->gen = KREAD(typed, inode, i_generation);
	in->dev = KREAD(typed, sb, s_dev);
	in->shmem = KREAD(typed, sb, s_magic) == TMPFS_MAGIC;
	in->offset = ((__u64)KREAD(typed, vma, vm_pgoff) << PFW_PAGE_SHIFT) +
		     ((address & PFW_PAGE_MASK) - KREAD(typed, vma, vm_start));
	in->has_file = 1;
}

/*
 * handle_mm_fault()'s entry, fentry's or kprobe's: who, where, and the
 * file. In task storage one lookup serves twice: as tp_entry() does,
 * without --comm and --cgroup a task whose fault was wanted once (its
 * storage exists and holds an id; only wanted tasks get one) is wanted
 * now, its id asked again (a thread that execs takes its leader's tid);
 * and the entry is written there in place (bench/: every fault pays it,
 * also the minor faults a majors-only run does not report).
 */
static __always_inline int hmf_entry(struct vm_area_struct *vma, __u64 address, __u32 flags,
				     struct pt_regs___btf *regs, bool typed)
{
	struct inflight n = {}, *in = NULL;
	__u64 id;

	if (!regs) {
		hmf_gup();
		return 0;
	}
	if (inflight_task)
		in = bpf_task_storage_get(&inflight_tasks, bpf_get_current_task_btf(), 0, 0);
	if (in && in->id && !filter_comm && !cgroup_id) {
		if (!current_id(&id))
			return 0;
	} else {
		if (!wanted(&id))
			return 0;
		if (inflight_task && !in)
			in = bpf_task_storage_get(&inflight_tasks, bpf_get_current_task_btf(), 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
	}
	if (!inflight_task)
		in = &n;
	if (!in)
		return 0;
	hmf_capture(in, id, vma, address, regs, typed);
	hmf_enter(in, address, flags, inflight_task);
	return 0;
}

SEC("fentry/handle_mm_fault")
int BPF_PROG(pfw_fentry, struct vm_area_struct *vma, unsigned long address, unsigned int flags,
	     struct pt_regs___btf *regs)
{
	return hmf_entry(vma, address, flags, regs, true);
}

/* twice, streaming and counting in the kernel (see the tp programs) */
#define PFW_FEXIT(name, agg)                                                                      \
	SEC("fexit/handle_mm_fault")                                                              \
	int BPF_PROG(name, struct vm_area_struct *vma, unsigned long address, unsigned int flags, \
		     struct pt_regs___btf *regs, vm_fault_t ret)                                  \
	{                                                                                         \
		if (regs)                                                                         \
			hmf_exit(ctx, ret, agg);                                                  \
		return 0;                                                                         \
	}
PFW_FEXIT(pfw_fexit, false)
PFW_FEXIT(pfw_fexit_agg, true)

SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(pfw_kprobe, struct vm_area_struct *vma, unsigned long address, unsigned int flags,
	       struct pt_regs___btf *regs)
{
	return hmf_entry(vma, address, flags, regs, false);
}

#define PFW_KRETPROBE(name, agg)                \
	SEC("kretprobe/handle_mm_fault")        \
	int BPF_KRETPROBE(name, vm_fault_t ret) \
	{                                       \
		hmf_exit(ctx, ret, agg);        \
		return 0;                       \
	}
PFW_KRETPROBE(pfw_kretprobe, false)
PFW_KRETPROBE(pfw_kretprobe_agg, true)

/* ---- thread rows in task storage (thread_slots != PFW_BPF_ROWS_HASH) ---- */

/* @t's row in its task storage, or NULL; @t: a BTF task pointer */
static __always_inline struct pfw_bpf_thread_slot *slot_of_task(struct task_struct *t)
{
	struct hmf_task *h;
	struct tp_task *st;

	if (thread_slots == PFW_BPF_ROWS_TP) {
		st = bpf_task_storage_get(&tp_tasks, t, 0, 0);
		if (!st)
			return NULL;
		/* the member's address after the check (clang would compute it before) */
		barrier_var(st);
		return &st->slot;
	}
	if (thread_slots == PFW_BPF_ROWS_HMF) {
		h = bpf_task_storage_get(&inflight_tasks, t, 0, 0);
		if (!h)
			return NULL;
		barrier_var(h);
		return &h->slot;
	}
	return NULL;
}

/*
 * A thread exits: its row moves to agg_threads, where user space finds the
 * rows of exited threads (the iterator below no longer reports it). It
 * runs in the exiting thread, the row's only writer. Faults after it (in
 * do_exit, where kernels fire the tracepoint before exit_mm()) count in
 * the hash. The fold count is bumped after the row moved and was marked.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pfw_thread_exit, struct task_struct *task)
{
	struct pfw_bpf_thread_slot *s = slot_of_task(task);

	if (!s || s->state != PFW_BPF_SLOT_LIVE)
		return 0;
	fold_slot(s);
	s->state = PFW_BPF_SLOT_FOLDED;
	__sync_fetch_and_add(&thread_folds, 1);
	return 0;
}

/* the live threads' rows, one struct pfw_bpf_thread_slot per thread (bpf_rows.c reads them) */
SEC("iter/task")
int pfw_thread_rows(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pfw_bpf_thread_slot *s;

	if (!task)
		return 0;
	s = slot_of_task(task);
	if (s && s->state == PFW_BPF_SLOT_LIVE)
		bpf_seq_write(ctx->meta->seq, s, sizeof(*s));
	return 0;
}

/*
 * The level probe: run once by the loader, alone, on a page-fault event of
 * pfwatch's own (pid = 0), before the real load. pfwatch's pid level is
 * its namespace's, which the programs above need as a constant.
 */
SEC("perf_event")
int pfw_level(struct bpf_perf_event_data *ctx)
{
	struct task_struct *t;

	if (have_task_btf) {
		t = bpf_get_current_task_btf();
		self_level = t->thread_pid->level + 1;
	} else {
		t = (struct task_struct *)bpf_get_current_task();
		self_level = BPF_CORE_READ(t, thread_pid, level) + 1;
	}
	return 0;
}
