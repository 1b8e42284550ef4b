// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Aggregation per thread and per file. pfw_agg_add() runs once per fault:
 * hash lookups only, allocation only when a new thread, file or page shows
 * up. Distinct pages are one global set keyed by (file row, page) so that a
 * run with many small files does not pay for a table per file. File pages
 * have a set of their own, bounded, that also decides refaults: it outlives
 * an aggregation when the exporter starts a fresh one per interval.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "hashtab.h"

struct pfw_agg {
	struct pfw_hashtab tix; /* tid -> index in th[] */
	struct pfw_hashtab fix; /* file key -> index in fe[] */
	/* anonymous: (page / 64, file row + pid) -> bitmap of the 64 pages */
	struct pfw_hashtab pages;
	/* file: (page / 64 ^ gen << 40, dev, inode) -> bitmap; bounded */
	struct pfw_hashtab fpages;
	size_t fpages_max;   /* slots */
	struct pfw_thread_stats *th;
	size_t nth, cth;
	struct pfw_file_stats *fe;
	const char **fsrc; /* per file row: the caller's path pointer last matched to it */
	size_t nfe, cfe;
	/*
	 * Our own copies of path strings: an event's path may live only for
	 * the emit call. Kept across pfw_agg_reset(), so a snapshot taken
	 * before a reset stays printable; freed with the aggregation.
	 */
	struct pfw_strtab strs;
	struct pfw_totals tot;
	const char *unknown;
};

/* file keys: b = 1 for a path (a = our interned pointer), else the device */
#define KEY_PATH 1

static inline uint64_t dev_key(uint32_t major, uint32_t minor)
{
	/* bit 1 set: never equal to KEY_PATH; MAJOR() is 12 bits, MINOR() 20 */
	return ((uint64_t)major << 34) | ((uint64_t)minor << 2) | 2;
}

struct pfw_agg *pfw_agg_new(void)
{
	struct pfw_agg *a = calloc(1, sizeof(*a));
	const char *env;

	if (!a)
		return NULL;
	a->unknown = pfw_strtab_intern(&a->strs, "[unknown]", 9);
	if (!a->unknown) {
		free(a);
		return NULL;
	}
	env = getenv("PFW_PAGE_SLOTS");
	a->fpages_max = env && atol(env) > 0 ? (size_t)atol(env) : PFW_AGG_PAGE_SLOTS;
	return a;
}

void pfw_agg_reset(struct pfw_agg *a)
{
	pfw_hashtab_free(&a->tix);
	pfw_hashtab_free(&a->fix);
	pfw_hashtab_free(&a->pages);
	pfw_hashtab_free(&a->fpages);
	free(a->th);
	free(a->fe);
	free(a->fsrc);
	a->fsrc = NULL;
	a->th = NULL;
	a->fe = NULL;
	a->nth = a->cth = a->nfe = a->cfe = 0;
	memset(&a->tot, 0, sizeof(a->tot));
}

void pfw_agg_free(struct pfw_agg *a)
{
	if (!a)
		return;
	pfw_agg_reset(a);
	pfw_strtab_free(&a->strs);
	free(a);
}

static void lat_merge(uint64_t *count, uint64_t *total, uint64_t *min, uint64_t *max, uint64_t n,
		      uint64_t t, uint64_t lo, uint64_t hi)
{
	if (!n)
		return;
	if (!*count || lo < *min)
		*min = lo;
	if (!*count || hi > *max)
		*max = hi;
	*count += n;
	*total += t;
}

static struct pfw_thread_stats *thread_get(struct pfw_agg *a, int32_t pid, int32_t tid)
{
	struct pfw_hent *s;
	bool created;

	s = pfw_hashtab_get(&a->tix, (uint32_t)tid, 0, 0, &created);
	if (!s)
		return NULL;
	if (created) {
		if (pfw_array_room(&a->th, &a->cth, a->nth, sizeof(*a->th))) {
			/* keep the index consistent: point at nothing */
			s->v = UINT64_MAX;
			return NULL;
		}
		memset(&a->th[a->nth], 0, sizeof(a->th[0]));
		a->th[a->nth].tid = tid;
		s->v = a->nth++;
	}
	if (s->v >= a->nth)
		return NULL;
	a->th[s->v].pid = pid;
	return &a->th[s->v];
}

static const char *own_path(struct pfw_agg *a, const char *path)
{
	const char *p = path ? pfw_strtab_intern(&a->strs, path, strlen(path)) : a->unknown;

	return p ? p : a->unknown;
}

/*
 * @path: the caller's, copied when a row is created. A (dev, inode) row
 * that exists is found without hashing the path: that is the per-fault
 * case for file pages.
 */
static struct pfw_file_stats *file_get(struct pfw_agg *a, bool file, uint64_t inode, uint32_t major,
				       uint32_t minor, uint32_t gen, const char *path, size_t *idx)
{
	struct pfw_hent *s;
	struct pfw_file_stats *f;
	const char *own = NULL;
	bool created;

	if (file) {
		s = pfw_hashtab_get(&a->fix, inode, dev_key(major, minor), gen, &created);
	} else {
		own = own_path(a, path);
		s = pfw_hashtab_get(&a->fix, (uintptr_t)own, KEY_PATH, 0, &created);
	}
	if (!s)
		return NULL;
	if (created) {
		size_t cap = a->cfe; /* fe[] and fsrc[] grow together */

		if (pfw_array_room(&a->fe, &cap, a->nfe, sizeof(*a->fe)) ||
		    pfw_array_room(&a->fsrc, &a->cfe, a->nfe, sizeof(*a->fsrc))) {
			s->v = UINT64_MAX;
			return NULL;
		}
		f = &a->fe[a->nfe];
		memset(f, 0, sizeof(*f));
		a->fsrc[a->nfe] = NULL;
		f->path = own ? own : own_path(a, path);
		f->file = file;
		if (file) {
			f->inode = inode;
			f->dev_major = major;
			f->dev_minor = minor;
			f->gen = gen;
		}
		s->v = a->nfe++;
	}
	if (s->v >= a->nfe)
		return NULL;
	f = &a->fe[s->v];
	/* an inode first seen without a name gets one as soon as it is known */
	if (f->path == a->unknown && path)
		f->path = own_path(a, path);
	*idx = s->v;
	return f;
}

/* one file under two names: the maps add " (deleted)" once it is unlinked */
static bool same_file(const char *a, const char *b)
{
	static const char del[] = " (deleted)";
	size_t la = strlen(a), lb = strlen(b);

	if (la == lb)
		return !memcmp(a, b, la);
	if (la > lb) {
		const char *t = a;

		a = b;
		b = t;
		la = strlen(a);
		lb = strlen(b);
	}
	return lb == la + sizeof(del) - 1 && !memcmp(a, b, la) && !strcmp(b + la, del);
}

void pfw_agg_thread_cgroup(struct pfw_agg *a, struct pfw_thread_stats *t, const char *cgroup)
{
	t->cgroup_looked = true;
	if (cgroup)
		t->cgroup = pfw_strtab_intern(&a->strs, cgroup, strlen(cgroup));
}

void pfw_agg_tid_cgroup(struct pfw_agg *a, int32_t tid, const char *cgroup)
{
	const struct pfw_hent *s = pfw_hashtab_find(&a->tix, (uint32_t)tid, 0, 0);

	if (s && s->v < a->nth)
		pfw_agg_thread_cgroup(a, &a->th[s->v], cgroup);
}

void pfw_agg_take_pages(struct pfw_agg *to, struct pfw_agg *from)
{
	pfw_hashtab_free(&to->fpages);
	to->fpages = from->fpages;
	memset(&from->fpages, 0, sizeof(from->fpages));
}

/*
 * The file page of @ev, in @f's row: counts a distinct page, and says
 * whether a major fault on it is a refault. A full set (or no memory)
 * leaves the page out: PFW_EV_UNTRACKED, counted, so that the rows can say
 * their pages and refaults are lower bounds.
 */
static unsigned file_page(struct pfw_agg *a, struct pfw_file_stats *f, const struct pfw_event *ev)
{
	uint64_t page = ev->offset >> 12, bit = 1ull << (page & 63);
	/* the generation tells a reused inode number's files apart (pfw_agg_add) */
	uint64_t ka = (page >> 6) ^ ((uint64_t)f->gen << 40);
	uint64_t kb = dev_key(ev->dev_major, ev->dev_minor);
	struct pfw_hent *s = pfw_hashtab_find(&a->fpages, ka, kb, ev->inode);

	if (!s && a->fpages.n < a->fpages_max)
		s = pfw_hashtab_add(&a->fpages, ka, kb, ev->inode);
	if (!s) {
		f->untracked++;
		return PFW_EV_UNTRACKED;
	}
	if (!(s->v & bit)) {
		s->v |= bit;
		f->pages++;
		/* the caller knows the page is tracked elsewhere too (bpf: NOVMA) */
		if (ev->flags & PFW_EV_UNTRACKED) {
			f->untracked++;
			return PFW_EV_UNTRACKED;
		}
		return 0;
	}
	if (ev->flags & PFW_EV_UNTRACKED) {
		f->untracked++;
		return PFW_EV_UNTRACKED;
	}
	if (ev->kind != PFW_MAJOR)
		return 0;
	f->refaults++;
	return PFW_EV_REFAULT;
}

unsigned pfw_agg_add(struct pfw_agg *a, const struct pfw_event *ev,
		     struct pfw_thread_stats **row)
{
	bool major = ev->kind == PFW_MAJOR, lat = ev->flags & PFW_EV_LATENCY;
	bool file = ev->flags & PFW_EV_FILE;
	struct pfw_thread_stats *t;
	struct pfw_file_stats *f;
	unsigned marks = 0;
	size_t idx;

	a->tot.faults++;
	if (major)
		a->tot.major++;
	else
		a->tot.minor++;
	if (lat)
		a->tot.hist[major][pfw_hist_bucket(ev->latency_ns)]++;

	t = thread_get(a, ev->pid, ev->tid);
	if (row)
		*row = t;
	if (t) {
		if (major) {
			t->major++;
			t->major_by[(unsigned)ev->backing < PFW_BACKING_NR ? ev->backing : 0]++;
		} else {
			t->minor++;
		}
		if (ev->flags & PFW_EV_COMM) {
			memcpy(t->comm, ev->comm, sizeof(t->comm));
			t->comm[sizeof(t->comm) - 1] = '\0';
		}
		if (lat)
			lat_merge(&t->lat_count, &t->lat_total_ns, &t->lat_min_ns, &t->lat_max_ns,
				  1, ev->latency_ns, ev->latency_ns, ev->latency_ns);
	}

	f = file_get(a, file, ev->inode, ev->dev_major, ev->dev_minor, 0, ev->path, &idx);
	/*
	 * Streamed faults carry no inode generation: a file that reuses a
	 * deleted file's inode number comes with the same (dev, inode) and
	 * another name, and gets a row of its own, keyed by the name. One
	 * pointer compare per fault while the name is the row's (the maps
	 * hand out one pointer per name).
	 */
	if (f && file && ev->path && f->path != a->unknown && a->fsrc[idx] != ev->path) {
		if (!same_file(f->path, ev->path)) {
			size_t len = strlen(ev->path);

			f = file_get(a, file, ev->inode, ev->dev_major, ev->dev_minor,
				     (uint32_t)pfw_hash_bytes(ev->path, len) | 1, ev->path, &idx);
		}
		if (f)
			a->fsrc[idx] = ev->path;
	}
	if (!f)
		return 0;
	if (major)
		f->major++;
	else
		f->minor++;
	if (f->backing == PFW_BACKING_UNKNOWN)
		f->backing = ev->backing;
	if (lat)
		lat_merge(&f->lat_count, &f->lat_total_ns, &f->lat_min_ns, &f->lat_max_ns, 1,
			  ev->latency_ns, ev->latency_ns, ev->latency_ns);
	/*
	 * A page of a file is its offset, whoever maps it; a page of anonymous
	 * memory is an address in one process. Without the offset or the
	 * address the page is unknown and not counted.
	 */
	if (file) {
		marks = file_page(a, f, ev);
		if (marks) {
			a->tot.refaults += !!(marks & PFW_EV_REFAULT);
			a->tot.untracked += !!(marks & PFW_EV_UNTRACKED);
			/* the thread row is not moved by file_get(): a->th is another array */
			if (t) {
				t->refaults += !!(marks & PFW_EV_REFAULT);
				t->untracked += !!(marks & PFW_EV_UNTRACKED);
			}
		}
	} else if (ev->flags & PFW_EV_ADDR) {
		uint64_t page = ev->addr >> 12;
		uint64_t b = ((uint64_t)(idx + 1) << 32) | (uint32_t)ev->pid;
		uint64_t bit = 1ull << (page & 63);
		struct pfw_hent *s;
		bool created;

		/*
		 * One slot per 64 pages, a bit each: faults come in runs of
		 * neighbouring pages, so the set stays 64 times smaller and
		 * mostly in cache (one slot per page was 17% of pfwatch's CPU
		 * under a fault storm, and its RSS grew 32 bytes per page).
		 */
		s = pfw_hashtab_get(&a->pages, page >> 6, b, 0, &created);
		if (s && !(s->v & bit)) {
			s->v |= bit;
			f->pages++;
		}
	}
	return marks;
}

/*
 * Thread rows also feed the totals: every fault belongs to exactly one
 * thread, so a backend that counts in the kernel gets faults/major/minor
 * right by handing over its thread rows (file rows would count twice).
 */
void pfw_agg_add_thread(struct pfw_agg *a, const struct pfw_thread_stats *r)
{
	struct pfw_thread_stats *t;

	a->tot.major += r->major;
	a->tot.minor += r->minor;
	a->tot.faults += r->major + r->minor;
	a->tot.refaults += r->refaults;
	a->tot.untracked += r->untracked;
	t = thread_get(a, r->pid, r->tid);
	if (!t)
		return;
	t->major += r->major;
	t->minor += r->minor;
	t->refaults += r->refaults;
	t->untracked += r->untracked;
	for (int b = 0; b < PFW_BACKING_NR; b++)
		t->major_by[b] += r->major_by[b];
	if (r->comm[0]) {
		memcpy(t->comm, r->comm, sizeof(t->comm));
		t->comm[sizeof(t->comm) - 1] = '\0';
	}
	if (r->cgroup_looked && !t->cgroup)
		pfw_agg_thread_cgroup(a, t, r->cgroup);
	lat_merge(&t->lat_count, &t->lat_total_ns, &t->lat_min_ns, &t->lat_max_ns, r->lat_count,
		  r->lat_total_ns, r->lat_min_ns, r->lat_max_ns);
}

void pfw_agg_add_file(struct pfw_agg *a, const struct pfw_file_stats *r)
{
	struct pfw_file_stats *f;
	size_t idx;

	f = file_get(a, r->file, r->inode, r->dev_major, r->dev_minor, r->gen, r->path, &idx);
	if (!f)
		return;
	f->major += r->major;
	f->minor += r->minor;
	/* rows with one key come from disjoint kernel buckets (per-CPU, per-pid) */
	f->pages += r->pages;
	f->refaults += r->refaults;
	f->untracked += r->untracked;
	if (f->backing == PFW_BACKING_UNKNOWN)
		f->backing = r->backing;
	lat_merge(&f->lat_count, &f->lat_total_ns, &f->lat_min_ns, &f->lat_max_ns, r->lat_count,
		  r->lat_total_ns, r->lat_min_ns, r->lat_max_ns);
}

const char *pfw_agg_file_path(const struct pfw_agg *a, uint64_t inode, uint32_t major,
			      uint32_t minor, uint32_t gen)
{
	const struct pfw_hent *s = pfw_hashtab_find(&a->fix, inode, dev_key(major, minor), gen);

	return s && s->v < a->nfe ? a->fe[s->v].path : NULL;
}

void pfw_agg_add_hist(struct pfw_agg *a, enum pfw_kind kind, unsigned bucket, uint64_t count)
{
	if ((unsigned)kind > PFW_MAJOR || bucket >= PFW_HIST_BUCKETS)
		return;
	a->tot.hist[kind][bucket] += count;
}

static int cmp_u64_desc(uint64_t x, uint64_t y)
{
	return x > y ? -1 : x < y;
}

static int thread_cmp(const void *pa, const void *pb)
{
	const struct pfw_thread_stats *x = pa, *y = pb;
	int r = cmp_u64_desc(x->major, y->major);

	if (!r)
		r = cmp_u64_desc(x->minor, y->minor);
	if (!r)
		r = (x->tid > y->tid) - (x->tid < y->tid);
	return r;
}

static int file_cmp(const void *pa, const void *pb)
{
	const struct pfw_file_stats *x = pa, *y = pb;
	int r = cmp_u64_desc(x->major, y->major);

	if (!r)
		r = cmp_u64_desc(x->minor, y->minor);
	if (!r)
		r = strcmp(x->path, y->path);
	/* one name, two files (a replaced file, bind mounts): stable order */
	if (!r)
		r = (x->inode > y->inode) - (x->inode < y->inode);
	if (!r)
		r = (x->dev_major > y->dev_major) - (x->dev_major < y->dev_major);
	if (!r)
		r = (x->dev_minor > y->dev_minor) - (x->dev_minor < y->dev_minor);
	return r;
}

size_t pfw_agg_threads(const struct pfw_agg *a, struct pfw_thread_stats **out)
{
	*out = NULL;
	if (!a->nth)
		return 0;
	*out = malloc(a->nth * sizeof(**out));
	if (!*out)
		return 0;
	memcpy(*out, a->th, a->nth * sizeof(**out));
	qsort(*out, a->nth, sizeof(**out), thread_cmp);
	return a->nth;
}

size_t pfw_agg_files(const struct pfw_agg *a, struct pfw_file_stats **out)
{
	*out = NULL;
	if (!a->nfe)
		return 0;
	*out = malloc(a->nfe * sizeof(**out));
	if (!*out)
		return 0;
	memcpy(*out, a->fe, a->nfe * sizeof(**out));
	qsort(*out, a->nfe, sizeof(**out), file_cmp);
	return a->nfe;
}

const struct pfw_totals *pfw_agg_totals(const struct pfw_agg *a)
{
	return &a->tot;
}
