// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The in-kernel rows into the aggregation: the per-thread and per-file
 * maps, the anonymous row, the latency histogram and the counters, read at
 * stop and at each snapshot; rows that can count no more leave the kernel
 * (pfw_bpf_prune, and the exporter's forgetting), so its memory stays bounded.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agg.h"
#include "cgroup.h"
#include "maps.h"
#include "opts.h"
#include "session.h"

#include "bpf/bpf_priv.h"
#include "bpf/pfwatch.skel.h"

/*
 * the exporter forgets a file row unchanged for two refreshes, and at least
 * this long (see forget_thread()): memory then follows the files faulted on
 * in the last seconds, and a file faulting again costs only a new row
 */
#define IDLE_FILE_MIN_NS (1000000000ull)

void pfw_bpf_read_counters(struct bpf_priv *p)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 i = 0; i < PFW_BPF_CNT_NR; i++) {
		uint64_t sum = 0;

		if (bpf_map__lookup_elem(p->m_counters, &i, sizeof(i), vals, ncpu * sizeof(*vals),
					 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		p->counters[i] = sum;
	}
	free(vals);
}

static void lat_merge(uint64_t *cnt, uint64_t *tot, uint64_t *mn, uint64_t *mx, __u64 c, __u64 t,
		      __u64 lo, __u64 hi)
{
	if (!c)
		return;
	if (!*cnt || lo < *mn)
		*mn = lo;
	if (hi > *mx)
		*mx = hi;
	*cnt += c;
	*tot += t;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen_row *x = a, *y = b;

	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	return (x->k2 > y->k2) - (x->k2 < y->k2);
}

static const struct seen_row *seen_find(const struct seen_row *v, size_t n, uint64_t k1,
					uint64_t k2)
{
	struct seen_row key = {.k1 = k1, .k2 = k2};

	return n ? bsearch(&key, v, n, sizeof(*v), seen_cmp) : NULL;
}

/*
 * The array @v of *@cap elements of @size bytes, twice as large (@first
 * elements at first); NULL on ENOMEM, and @v and *@cap as they were.
 */
static void *grow(void *v, size_t *cap, size_t size, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	void *nv = realloc(v, ncap * size);

	if (nv)
		*cap = ncap;
	return nv;
}

/* append to a growing array; false on ENOMEM (the row is then just not remembered) */
static bool seen_push(struct seen_row **v, size_t *n, size_t *cap, struct seen_row r)
{
	if (*n == *cap) {
		struct seen_row *nv = grow(*v, cap, sizeof(**v), 256);

		if (!nv)
			return false;
		*v = nv;
	}
	(*v)[(*n)++] = r;
	return true;
}

static bool task_alive(uint32_t pid, uint32_t tid);

/* a kernel thread row's refault and backing counts, minus @was's (NULL: none) */
static void thread_refaults(struct pfw_thread_stats *t, const struct pfw_bpf_thread *v,
			    const struct pfw_bpf_thread *was)
{
	t->refaults = v->refaults - (was ? was->refaults : 0);
	t->untracked = v->untracked - (was ? was->untracked : 0);
	t->major_by[PFW_BACKING_FILE] = v->major_file - (was ? was->major_file : 0);
	t->major_by[PFW_BACKING_ANON] = v->major_anon - (was ? was->major_anon : 0);
	t->major_by[PFW_BACKING_SHMEM] = v->major_shmem - (was ? was->major_shmem : 0);
}

/* an in-kernel thread row as the frontend's; its cgroup named from its id */
static void thread_row(__u32 tid, const struct pfw_bpf_thread *v, struct pfw_thread_stats *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = v->pid;
	t->tid = tid;
	memcpy(t->comm, v->comm, sizeof(t->comm));
	t->comm[PFW_COMM_LEN - 1] = '\0';
	t->major = v->major;
	t->minor = v->minor;
	t->lat_count = v->lat_count;
	t->lat_total_ns = v->lat_total;
	t->lat_min_ns = v->lat_min;
	t->lat_max_ns = v->lat_max;
	t->cgroup = pfw_cgroup_path_of_id(v->cgroup_id);
	t->cgroup_looked = true;
	thread_refaults(t, v, NULL);
}

/*
 * The exporter forgets a row the previous snapshot saw with the same
 * counts and that can count no more: an exited thread, or a file idle for
 * two refreshes. Its counts were reported; dropping it from this snapshot
 * adds nothing (the exporter diffs snapshots row by row) and a row created
 * later under the same key starts from zero against nothing. The row is
 * taken out with lookup-and-delete (5.14+), so a fault that raced in since
 * it was read is kept (in p->retired, which snapshots add); before 5.14 a
 * plain delete, and such a fault (on a file idle for two refreshes, within
 * microseconds) is lost. A thread id reused since the read lands in the
 * same way. Returns true when the row is gone.
 */
static bool forget_thread(struct bpf_priv *p, __u32 tid, const struct pfw_bpf_thread *was)
{
	struct bpf_map *m = p->skel->maps.agg_threads;
	struct pfw_bpf_thread v;

	if (bpf_map__lookup_and_delete_elem(m, &tid, sizeof(tid), &v, sizeof(v), 0)) {
		if (bpf_map__delete_elem(m, &tid, sizeof(tid), 0))
			return false;
		return true;
	}
	if (v.major != was->major || v.minor != was->minor) {
		struct pfw_thread_stats t;

		thread_row(tid, &v, &t);
		t.major = v.major - was->major;
		t.minor = v.minor - was->minor;
		t.lat_count = t.lat_total_ns = t.lat_min_ns = t.lat_max_ns = 0;
		thread_refaults(&t, &v, was);
		pfw_agg_add_thread(p->retired, &t);
	}
	return true;
}

static bool forget_file(struct bpf_priv *p, const struct pfw_bpf_file_key *fk,
			const struct pfw_file_stats *was, struct pfw_bpf_file *fv, int ncpu)
{
	struct bpf_map *m = p->skel->maps.agg_files;
	struct pfw_file_stats d = *was;

	if (bpf_map__lookup_and_delete_elem(m, fk, sizeof(*fk), fv, ncpu * sizeof(*fv), 0)) {
		if (bpf_map__delete_elem(m, fk, sizeof(*fk), 0))
			return false;
		return true;
	}
	d.major = d.minor = d.pages = d.refaults = d.untracked = 0;
	d.lat_count = d.lat_total_ns = d.lat_min_ns = d.lat_max_ns = 0;
	for (int c = 0; c < ncpu; c++) {
		d.major += fv[c].major;
		d.minor += fv[c].minor;
		d.refaults += fv[c].refaults;
		d.untracked += fv[c].untracked;
	}
	if (d.major != was->major || d.minor != was->minor) {
		d.major -= was->major;
		d.minor -= was->minor;
		d.refaults -= was->refaults;
		d.untracked -= was->untracked;
		pfw_agg_add_file(p->retired, &d);
	}
	return true;
}

/* the per-CPU values of a file row, summed (min and max folded) */
static void file_row_sum(const struct pfw_bpf_file *fv, int ncpu, struct pfw_file_stats *f)
{
	for (int c = 0; c < ncpu; c++) {
		f->major += fv[c].major;
		f->minor += fv[c].minor;
		f->pages += fv[c].pages;
		f->refaults += fv[c].refaults;
		f->untracked += fv[c].untracked;
		if (fv[c].shmem)
			f->backing = PFW_BACKING_SHMEM;
		lat_merge(&f->lat_count, &f->lat_total_ns, &f->lat_min_ns, &f->lat_max_ns,
			  fv[c].lat_count, fv[c].lat_total, fv[c].lat_min, fv[c].lat_max);
	}
}

/* a thread row the exporter would forget, once the walk of its map is over */
struct forget_t {
	__u32 tid;
	struct pfw_bpf_thread v;
	struct pfw_thread_stats t;
};

/* a file row the exporter would forget; path: its own copy */
struct forget_f {
	struct pfw_bpf_file_key fk;
	struct pfw_file_stats f;
	char *path;
};

/* one reading of the kernel's rows into the aggregation */
struct read_pass {
	struct bpf_priv *p;
	struct pfw_session *s;
	int ncpu;
	uint64_t now, idle_ns;
	struct pfw_bpf_file *fv; /* one file row's per-CPU values */
	/* the exporter's: rows seen this time, rows to forget, names to keep */
	struct seen_row *nt, *nf;
	size_t nnt, cnt, nnf, cnf;
	struct forget_t *ft;
	struct forget_f *ff;
	size_t nft, cft, nff, cff;
	struct pfw_agg *names;
};

/* the rows of threads and files that left the kernel earlier, and their latencies */
static void add_retired(struct bpf_priv *p)
{
	struct pfw_agg *agg = p->s->agg;
	struct pfw_thread_stats *old;
	const struct pfw_totals *rt = pfw_agg_totals(p->retired);
	size_t n = pfw_agg_threads(p->retired, &old);

	for (size_t i = 0; i < n; i++)
		pfw_agg_add_thread(agg, &old[i]);
	free(old);
	for (int k = 0; k < 2; k++)
		for (unsigned b = 0; b < PFW_HIST_BUCKETS; b++)
			if (rt->hist[k][b])
				pfw_agg_add_hist(agg, (enum pfw_kind)k, b, rt->hist[k][b]);
}

/* the exporter: a thread row unchanged since the last reading, of a thread gone, goes */
static bool thread_to_forget(struct read_pass *r, __u32 tid, const struct pfw_bpf_thread *v,
			     const struct pfw_thread_stats *t)
{
	struct bpf_priv *p = r->p;
	const struct seen_row *was = seen_find(p->seen_t, p->nseen_t, tid, 0);
	bool same = was && was->total == v->major + v->minor;

	/* deleted after the walk: get_next_key of a deleted key restarts it */
	if (same && !task_alive(v->pid, tid)) {
		if (r->nft == r->cft) {
			struct forget_t *n = grow(r->ft, &r->cft, sizeof(*n), 64);

			if (n)
				r->ft = n;
		}
		if (r->nft < r->cft) {
			r->ft[r->nft++] = (struct forget_t){.tid = tid, .v = *v, .t = *t};
			return true;
		}
	}
	seen_push(&r->nt, &r->nnt, &r->cnt,
		  (struct seen_row){.k1 = tid,
				    .total = v->major + v->minor,
				    .since_ns = same ? was->since_ns : r->now});
	return false;
}

/* a thread row as read: from agg_threads, or (live) from its task storage */
struct thread_read {
	__u32 tid;
	bool live;
	struct pfw_bpf_thread v;
};

struct thread_reads {
	struct thread_read *v;
	size_t n, cap;
};

static void reads_push(struct thread_reads *rs, __u32 tid, bool live,
		       const struct pfw_bpf_thread *v)
{
	if (rs->n == rs->cap) {
		struct thread_read *n = grow(rs->v, &rs->cap, sizeof(*n), 256);

		if (!n)
			return;
		rs->v = n;
	}
	rs->v[rs->n++] = (struct thread_read){.tid = tid, .live = live, .v = *v};
}

static void read_hash_rows(struct bpf_map *m, struct thread_reads *rs)
{
	__u32 tid, next;
	bool first = true;

	while (!bpf_map__get_next_key(m, first ? NULL : &tid, &next, sizeof(next))) {
		struct pfw_bpf_thread v;

		first = false;
		tid = next;
		if (!bpf_map__lookup_elem(m, &tid, sizeof(tid), &v, sizeof(v), 0))
			reads_push(rs, tid, false, &v);
	}
}

/* the live threads' rows, through the task iterator; false if it failed */
static bool read_live_rows(struct bpf_priv *p, struct thread_reads *rs)
{
	struct pfw_bpf_thread_slot buf[32];
	size_t have = 0;
	ssize_t got;
	int fd;

	/* not attached yet (the exporter's first reading): no row began */
	if (!p->rows_iter)
		return true;
	fd = bpf_iter_create(bpf_link__fd(p->rows_iter));
	if (fd < 0)
		return false;
	for (;;) {
		size_t k;

		got = read(fd, (char *)buf + have, sizeof(buf) - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		k = have / sizeof(buf[0]);
		for (size_t i = 0; i < k; i++)
			reads_push(rs, (__u32)buf[i].id, true, &buf[i].row);
		have -= k * sizeof(buf[0]);
		memmove(buf, (char *)buf + k * sizeof(buf[0]), have);
	}
	close(fd);
	return got == 0;
}

/* by tid, agg_threads' row before the live one */
static int read_cmp(const void *a, const void *b)
{
	const struct thread_read *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (int)x->live - (int)y->live;
}

/*
 * Every thread row: agg_threads', and where rows live in task storage, the
 * live threads' through the iterator, read first. A row that folds into
 * agg_threads in between is then read twice, and the second copy, the
 * live one, is known by its number (seq) in the hash row of its tid; none
 * is missed (a row folded before the iterator reached it is in the hash).
 * A fold while it read (thread_folds moved) may have been caught half
 * done: read again, a few times.
 */
static void read_thread_rows(struct bpf_priv *p, struct thread_reads *rs)
{
	for (int tries = 0; tries < 4; tries++) {
		__u64 folds = 0;
		bool live_ok = true;

		rs->n = 0;
		if (p->thread_slots) {
			folds = __atomic_load_n(&p->skel->bss->thread_folds, __ATOMIC_ACQUIRE);
			live_ok = read_live_rows(p, rs);
		}
		read_hash_rows(p->skel->maps.agg_threads, rs);
		if (!p->thread_slots || (live_ok && __atomic_load_n(&p->skel->bss->thread_folds,
								    __ATOMIC_ACQUIRE) == folds))
			break;
	}
	qsort(rs->v, rs->n, sizeof(*rs->v), read_cmp);
	for (size_t i = 1; i < rs->n; i++) {
		struct thread_read *a = &rs->v[i - 1], *b = &rs->v[i];

		if (b->live && !a->live && a->tid == b->tid && a->v.seq == b->v.seq)
			b->tid = 0; /* folded since the iterator read it: the hash's counts */
	}
}

static void read_threads(struct read_pass *r)
{
	struct pfw_session *s = r->s;
	struct thread_reads rs = {0};

	read_thread_rows(r->p, &rs);
	for (size_t i = 0; i < rs.n; i++) {
		const struct thread_read *x = &rs.v[i];
		struct pfw_thread_stats t;

		if (!x->tid)
			continue;
		thread_row(x->tid, &x->v, &t);
		/* a live row stays; the exporter remembers it, to forget it once folded */
		if (r->p->serving && x->live)
			seen_push(&r->nt, &r->nnt, &r->cnt,
				  (struct seen_row){.k1 = x->tid,
						    .total = x->v.major + x->v.minor,
						    .since_ns = r->now});
		else if (r->p->serving && thread_to_forget(r, x->tid, &x->v, &t))
			continue;
		/* learn the processes' files while they live */
		if (s->maps && !pfw_maps_known(s->maps, x->v.pid))
			pfw_maps_load_proc(s->maps, "/proc", x->v.pid);
		pfw_agg_add_thread(s->agg, &t);
	}
	free(rs.v);
}

/* the exporter: a file row unchanged for a while goes; the others keep their names */
static bool file_to_forget(struct read_pass *r, const struct pfw_bpf_file_key *fk,
			   const struct pfw_file_stats *f)
{
	struct bpf_priv *p = r->p;
	uint64_t k2 = (uint64_t)fk->dev << 32 | fk->gen;
	const struct seen_row *was = seen_find(p->seen_f, p->nseen_f, fk->ino, k2);
	bool same = was && was->total == f->major + f->minor;

	if (same && f->file && r->now - was->since_ns >= r->idle_ns) {
		if (r->nff == r->cff) {
			struct forget_f *n = grow(r->ff, &r->cff, sizeof(*n), 64);

			if (n)
				r->ff = n;
		}
		/* its own copy: pfw_bpf_remember_name() may reuse the slot f->path is in */
		if (r->nff < r->cff && (r->ff[r->nff].path = strdup(f->path))) {
			struct forget_f *x = &r->ff[r->nff++];

			x->fk = *fk;
			x->f = *f;
			x->f.path = x->path;
			return true;
		}
	}
	seen_push(&r->nf, &r->nnf, &r->cnf,
		  (struct seen_row){.k1 = fk->ino,
				    .k2 = k2,
				    .total = f->major + f->minor,
				    .since_ns = same ? was->since_ns : r->now});
	if (r->names && f->file)
		pfw_agg_add_file(r->names, &(struct pfw_file_stats){
						   .file = true,
						   .inode = f->inode,
						   .dev_major = f->dev_major,
						   .dev_minor = f->dev_minor,
						   .gen = f->gen,
						   .path = f->path,
					   });
	return false;
}

static void read_files(struct read_pass *r)
{
	struct bpf_priv *p = r->p;
	struct pfw_session *s = r->s;
	struct bpf_map *m = p->skel->maps.agg_files;
	struct pfw_bpf_file_key fk, fnext;
	bool first = true;

	while (!bpf_map__get_next_key(m, first ? NULL : &fk, &fnext, sizeof(fnext))) {
		struct pfw_file_stats f = {0};

		first = false;
		fk = fnext;
		if (bpf_map__lookup_elem(m, &fk, sizeof(fk), r->fv, r->ncpu * sizeof(*r->fv), 0))
			continue;
		file_row_sum(r->fv, r->ncpu, &f);
		f.file = true;
		if (f.backing != PFW_BACKING_SHMEM)
			f.backing = PFW_BACKING_FILE;
		f.inode = fk.ino;
		f.dev_major = fk.dev >> 20;
		f.dev_minor = fk.dev & 0xfffff;
		f.gen = fk.gen;
		f.path = pfw_bpf_name_of(p, f.inode, f.dev_major, f.dev_minor, f.gen);
		if (!f.path && s->maps)
			f.path = pfw_maps_path_of(s->maps, f.dev_major, f.dev_minor, f.inode);
		if (!f.path)
			f.path = "[unknown]";
		if (p->serving && file_to_forget(r, &fk, &f))
			continue;
		pfw_agg_add_file(s->agg, &f);
	}
	/* every anonymous fault: one row, per CPU in an array (pfwatch.bpf.c, agg_anon) */
	if (!bpf_map__lookup_elem(p->skel->maps.agg_anon, &(__u32){0}, sizeof(__u32), r->fv,
				  r->ncpu * sizeof(*r->fv), 0)) {
		struct pfw_file_stats f = {.path = "[anon]", .backing = PFW_BACKING_ANON};

		file_row_sum(r->fv, r->ncpu, &f);
		if (f.major || f.minor)
			pfw_agg_add_file(s->agg, &f);
	}
}

/* the rows to forget leave the kernel; a row that would not go stays, as it was */
static void forget_rows(struct read_pass *r)
{
	struct bpf_priv *p = r->p;

	for (size_t i = 0; i < r->nft; i++)
		if (!forget_thread(p, r->ft[i].tid, &r->ft[i].v)) {
			pfw_agg_add_thread(r->s->agg, &r->ft[i].t);
			seen_push(&r->nt, &r->nnt, &r->cnt,
				  (struct seen_row){.k1 = r->ft[i].tid,
						    .total = r->ft[i].v.major + r->ft[i].v.minor,
						    .since_ns = r->now});
		}
	for (size_t i = 0; i < r->nff; i++) {
		struct forget_f *x = &r->ff[i];

		if (forget_file(p, &x->fk, &x->f, r->fv, r->ncpu)) {
			pfw_bpf_remember_name(p, x->f.inode, x->f.dev_major, x->f.dev_minor,
					      x->f.gen, x->path);
		} else {
			pfw_agg_add_file(r->s->agg, &x->f);
			seen_push(&r->nf, &r->nnf, &r->cnf,
				  (struct seen_row){.k1 = x->fk.ino,
						    .k2 = (uint64_t)x->fk.dev << 32 | x->fk.gen,
						    .total = x->f.major + x->f.minor,
						    .since_ns = r->now});
		}
		free(x->path);
	}
}

/*
 * Faults streamed because tp could not name their file in the kernel
 * (and the lookup-and-delete remainders): user space named them by
 * address, without the inode generation; the kernel's row for the
 * same (dev, ino) has it, so they join that row, not one of their own.
 */
static void add_retired_files(struct bpf_priv *p)
{
	struct pfw_agg *agg = p->s->agg;
	struct pfw_file_stats *of = NULL, *cur = NULL;
	size_t n = pfw_agg_files(p->retired, &of), nc = n ? pfw_agg_files(agg, &cur) : 0;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; of[i].file && !of[i].gen && j < nc; j++)
			if (cur[j].file && cur[j].inode == of[i].inode &&
			    cur[j].dev_major == of[i].dev_major &&
			    cur[j].dev_minor == of[i].dev_minor) {
				of[i].gen = cur[j].gen;
				break;
			}
		pfw_agg_add_file(agg, &of[i]);
	}
	free(of);
	free(cur);
}

/* the exporter: what was seen this time is what the next reading compares with */
static void keep_seen(struct read_pass *r)
{
	struct bpf_priv *p = r->p;

	qsort(r->nt, r->nnt, sizeof(*r->nt), seen_cmp);
	qsort(r->nf, r->nnf, sizeof(*r->nf), seen_cmp);
	free(p->seen_t);
	free(p->seen_f);
	p->seen_t = r->nt;
	p->nseen_t = r->nnt;
	p->seen_f = r->nf;
	p->nseen_f = r->nnf;
	r->nt = r->nf = NULL;
	if (r->names) {
		pfw_agg_free(p->names);
		p->names = r->names;
		r->names = NULL;
	}
}

/* the latency histogram, per CPU in an array */
static void read_hist(struct bpf_priv *p, int ncpu)
{
	__u64 *hv = calloc(ncpu, sizeof(*hv));

	if (!hv)
		return;
	for (__u32 i = 0; i < 2 * PFW_BPF_HIST; i++) {
		uint64_t sum = 0;

		if (bpf_map__lookup_elem(p->skel->maps.agg_hist, &i, sizeof(i), hv,
					 ncpu * sizeof(*hv), 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += hv[c];
		if (sum)
			pfw_agg_add_hist(p->s->agg, i >= PFW_BPF_HIST ? PFW_MAJOR : PFW_MINOR,
					 i % PFW_BPF_HIST, sum);
	}
	free(hv);
}

/*
 * Everything since start into the aggregation: the retired rows and what
 * the maps hold now. The exporter (p->serving) also forgets the rows that
 * can count no more, so the kernel's memory follows what faults now.
 */
void pfw_bpf_read_aggregates(struct bpf_priv *p)
{
	struct read_pass r = {.p = p, .s = p->s, .now = pfw_now_ns()};

	r.ncpu = libbpf_num_possible_cpus();
	if (r.ncpu <= 0 || !r.s->agg)
		return;
	r.idle_ns = 2 * r.s->opts->interval_ns;
	if (r.idle_ns < IDLE_FILE_MIN_NS)
		r.idle_ns = IDLE_FILE_MIN_NS;
	r.fv = calloc(r.ncpu, sizeof(*r.fv));
	if (!r.fv)
		return;
	/* the exporter keeps the names of the rows the kernel holds, and recent ones */
	if (p->serving)
		r.names = pfw_agg_new();

	pfw_agg_reset(r.s->agg);
	if (p->retired)
		add_retired(p);
	read_threads(&r);
	read_files(&r);
	forget_rows(&r);
	if (p->retired)
		add_retired_files(p);
	if (p->serving)
		keep_seen(&r);
	read_hist(p, r.ncpu);

	free(r.ft);
	free(r.ff);
	free(r.fv);
	free(r.nt);
	free(r.nf);
	pfw_agg_free(r.names);
}

static bool task_alive(uint32_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", pid, tid);
	return access(path, F_OK) == 0;
}

/*
 * Kernel memory must stay bounded over days of process churn. agg_threads
 * is a plain hash, not an LRU: an evicted row would lose its counts. Only
 * its own thread updates a row, so once the thread has exited the row is
 * final: it moves to user space (p->retired) and its slot is freed, here,
 * exactly. Descendants in the COMMAND target set that exited go too. The
 * per-file rows are bounded by the files faulted on, and the page set is
 * an LRU (pfwatch.bpf.c says what an eviction costs).
 */
#define PRUNE_BATCH 1024

void pfw_bpf_prune(struct bpf_priv *p)
{
	struct pfwatch_bpf *skel = p->skel;
	__u32 key, next, dead[PRUNE_BATCH];
	size_t nd = 0;
	bool first = true;

	p->last_prune_ns = pfw_now_ns();
	while (nd < PRUNE_BATCH &&
	       !bpf_map__get_next_key(skel->maps.agg_threads, first ? NULL : &key, &next,
				      sizeof(next))) {
		struct pfw_bpf_thread v;

		first = false;
		key = next;
		if (!bpf_map__lookup_elem(skel->maps.agg_threads, &key, sizeof(key), &v, sizeof(v),
					  0) &&
		    !task_alive(v.pid, key))
			dead[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++) {
		struct pfw_bpf_thread v;
		struct pfw_thread_stats t;

		if (bpf_map__lookup_elem(skel->maps.agg_threads, &dead[i], sizeof(dead[i]), &v,
					 sizeof(v), 0))
			continue;
		thread_row(dead[i], &v, &t);
		pfw_agg_add_thread(p->retired, &t);
		bpf_map__delete_elem(skel->maps.agg_threads, &dead[i], sizeof(dead[i]), 0);
		p->nr_pruned++;
	}
	if (p->s->target.kind != PFW_TARGET_COMMAND)
		return;
	nd = 0;
	first = true;
	while (nd < PRUNE_BATCH && !bpf_map__get_next_key(skel->maps.targets, first ? NULL : &key,
							  &next, sizeof(next))) {
		first = false;
		key = next;
		if (key != (__u32)p->s->target.child && !task_alive(key, key))
			dead[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++)
		bpf_map__delete_elem(skel->maps.targets, &dead[i], sizeof(dead[i]), 0);
}
