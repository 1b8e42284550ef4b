// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Maps resolution: per-pid sorted arrays of mappings, a tid -> comm table,
 * a (dev, inode) -> path index and a string pool. pfw_maps_find() runs once
 * per fault, so it allocates nothing: a pid cache, a last-hit index per pid
 * and a binary search.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "event.h"
#include "cgroup.h"
#include "hashtab.h"
#include "maps.h"

/* one address space: sorted by start, never overlapping */
struct pidmaps {
	struct pfw_mapping *v;
	size_t n, cap;
	size_t hint;	    /* last hit: faults cluster in one mapping */
	const char *cgroup; /* the process' cgroup label (cgroup.h), interned; NULL: unknown */
};

struct comm_ent {
	pid_t pid;
	char comm[PFW_COMM_LEN];
};

#define PFW_MAPS_MOUNTS 16

struct pfw_maps {
	struct pfw_hashtab pids;	    /* pid -> struct pidmaps * */
	struct pfw_hashtab comms;	    /* tid -> struct comm_ent * */
	struct pfw_hashtab paths;	    /* (inode, dev) -> interned path */
	struct pfw_hashtab by_handle_tried; /* (inode, dev) open_by_handle_at() refused */
	struct {
		uint64_t dev; /* dev_key() */
		int fd;	      /* -1: no usable mount of the device */
	} mnt[PFW_MAPS_MOUNTS];
	int nmnt;
	struct pfw_strtab strs; /* the pool: pointers stay valid until pfw_maps_free() */
	size_t comm_sweep_at; /* sweep the comm table of dead threads at this size */
	bool collect;	      /* free strings no address space uses (pfw_maps_set_collect) */
	size_t collect_at;    /* ... when the pool has grown to this many */
	size_t prune_at;      /* with collect: drop dead processes' tables at this many */
	pid_t cache_pid;      /* last pid looked up, 0 = none */
	struct pidmaps *cache_pm;
	const char *anon;
};

static inline uint64_t dev_key(uint32_t major, uint32_t minor)
{
	/* MAJOR() is 12 bits, MINOR() 20 bits */
	return ((uint64_t)major << 33) | ((uint64_t)minor << 1) | 1;
}

struct pfw_maps *pfw_maps_new(void)
{
	struct pfw_maps *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->anon = pfw_strtab_intern(&m->strs, "[anon]", 6);
	if (!m->anon) {
		free(m);
		return NULL;
	}
	return m;
}

static void pm_destroy(struct pidmaps *pm)
{
	if (!pm)
		return;
	free(pm->v);
	free(pm);
}

void pfw_maps_free(struct pfw_maps *m)
{
	struct pfw_htiter it;
	struct pfw_hent *e;
	size_t i;

	if (!m)
		return;
	pfw_hashtab_iter_init(&m->pids, &it);
	while ((e = pfw_hashtab_iter_next(&m->pids, &it)))
		pm_destroy((struct pidmaps *)(uintptr_t)e->v);
	pfw_hashtab_iter_init(&m->comms, &it);
	while ((e = pfw_hashtab_iter_next(&m->comms, &it)))
		free((void *)(uintptr_t)e->v);
	pfw_hashtab_free(&m->pids);
	pfw_hashtab_free(&m->comms);
	pfw_hashtab_free(&m->paths);
	pfw_hashtab_free(&m->by_handle_tried);
	for (i = 0; i < (size_t)m->nmnt; i++)
		if (m->mnt[i].fd >= 0)
			close(m->mnt[i].fd);
	pfw_strtab_free(&m->strs);
	free(m);
}

const char *pfw_maps_intern(struct pfw_maps *m, const char *s)
{
	return s ? pfw_strtab_intern(&m->strs, s, strlen(s)) : NULL;
}

static struct pidmaps *pm_lookup(const struct pfw_maps *m, pid_t pid)
{
	struct pfw_hent *s;

	if (m->cache_pid == pid && pid)
		return m->cache_pm;
	s = pfw_hashtab_find(&m->pids, (uint32_t)pid, 0, 0);
	return s ? (struct pidmaps *)(uintptr_t)s->v : NULL;
}

static struct pidmaps *pm_get(struct pfw_maps *m, pid_t pid)
{
	struct pidmaps *pm = pm_lookup(m, pid);
	struct pfw_hent *s;
	bool created;

	if (pm)
		return pm;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	s = pfw_hashtab_get(&m->pids, (uint32_t)pid, 0, 0, &created);
	if (!s) {
		free(pm);
		return NULL;
	}
	s->v = (uintptr_t)pm;
	return pm;
}

static void pm_forget(struct pfw_maps *m, pid_t pid)
{
	if (m->cache_pid == pid) {
		m->cache_pid = 0;
		m->cache_pm = NULL;
	}
}

static void pm_drop(struct pfw_maps *m, pid_t pid)
{
	struct pfw_hent *s = pfw_hashtab_find(&m->pids, (uint32_t)pid, 0, 0);

	pm_forget(m, pid);
	if (!s)
		return;
	pm_destroy((struct pidmaps *)(uintptr_t)s->v);
	pfw_hashtab_delete(&m->pids, s, NULL);
}

static int pm_reserve(struct pidmaps *pm, size_t want)
{
	size_t ncap;
	struct pfw_mapping *nv;

	if (want <= pm->cap)
		return 0;
	ncap = pm->cap ? pm->cap * 2 : 16;
	while (ncap < want)
		ncap *= 2;
	nv = realloc(pm->v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	pm->v = nv;
	pm->cap = ncap;
	return 0;
}

/* first index whose end is above @addr (ends are sorted too: no overlaps) */
static size_t pm_lower(const struct pidmaps *pm, uint64_t addr)
{
	size_t lo = 0, hi = pm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Remove [start, end) from @pm the way munmap() does: whole mappings go,
 * partly covered ones shrink, and the right-hand part of a split keeps the
 * file offset it had (pgoff advances by the bytes cut from its front), as
 * __split_vma() does with vm_pgoff. Needs room for one more entry (a middle
 * split). Returns where a mapping starting at @start belongs.
 */
static size_t pm_punch(struct pidmaps *pm, uint64_t start, uint64_t end)
{
	size_t lo = pm_lower(pm, start), hi;

	pm->hint = 0;
	if (lo < pm->n && pm->v[lo].start < start) {
		struct pfw_mapping *x = &pm->v[lo];

		if (x->end > end) {
			struct pfw_mapping right = *x;

			right.pgoff += end - x->start;
			right.start = end;
			x->end = start;
			memmove(&pm->v[lo + 2], &pm->v[lo + 1], (pm->n - lo - 1) * sizeof(*x));
			pm->v[lo + 1] = right;
			pm->n++;
			return lo + 1;
		}
		x->end = start;
		lo++;
	}
	for (hi = lo; hi < pm->n && pm->v[hi].end <= end; hi++)
		;
	if (hi < pm->n && pm->v[hi].start < end) {
		pm->v[hi].pgoff += end - pm->v[hi].start;
		pm->v[hi].start = end;
	}
	if (hi > lo) {
		memmove(&pm->v[lo], &pm->v[hi], (pm->n - hi) * sizeof(pm->v[0]));
		pm->n -= hi - lo;
	}
	return lo;
}

static void index_path(struct pfw_maps *m, const struct pfw_mapping *x)
{
	struct pfw_hent *s;
	bool created;

	if (!x->file)
		return;
	s = pfw_hashtab_get(&m->paths, x->inode, dev_key(x->dev_major, x->dev_minor), 0, &created);
	/* last wins: a rename or unlink shows in the newest mapping */
	if (s)
		s->v = (uintptr_t)x->path;
}

static int pm_insert(struct pfw_maps *m, struct pidmaps *pm, const struct pfw_mapping *x)
{
	size_t at;

	if (pm_reserve(pm, pm->n + 2))
		return -ENOMEM;
	/* /proc/PID/maps is sorted: appending is the common case */
	if (!pm->n || pm->v[pm->n - 1].end <= x->start) {
		pm->v[pm->n++] = *x;
	} else {
		at = pm_punch(pm, x->start, x->end);
		memmove(&pm->v[at + 1], &pm->v[at], (pm->n - at) * sizeof(*x));
		pm->v[at] = *x;
		pm->n++;
	}
	index_path(m, x);
	return 0;
}

static bool is_real_file(const char *path, uint64_t inode)
{
	/* "anon_inode:[perf_event]", "[heap]" etc. have no file to speak of */
	return inode && path[0] == '/';
}

void pfw_maps_mmap(struct pfw_maps *m, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		   uint32_t dev_major, uint32_t dev_minor, uint64_t inode, const char *path)
{
	struct pfw_mapping x = {
		.start = start,
		.end = start + len,
		.pgoff = pgoff,
		.inode = inode,
		.dev_major = dev_major,
		.dev_minor = dev_minor,
	};
	struct pidmaps *pm;

	if (!len)
		return;
	if (x.end < start)
		x.end = UINT64_MAX;
	x.path = path && *path ? pfw_maps_intern(m, path) : m->anon;
	if (!x.path)
		return;
	x.file = is_real_file(x.path, inode);
	pm = pm_get(m, pid);
	if (pm)
		pm_insert(m, pm, &x);
}

void pfw_maps_name_inode(struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
			 const char *path)
{
	struct pfw_mapping x = {
		.inode = inode,
		.dev_major = dev_major,
		.dev_minor = dev_minor,
	};

	if (!path || path[0] != '/')
		return;
	x.path = pfw_maps_intern(m, path);
	x.file = x.path && is_real_file(x.path, inode);
	index_path(m, &x);
}

void pfw_maps_munmap(struct pfw_maps *m, pid_t pid, uint64_t start, uint64_t len)
{
	struct pidmaps *pm = pm_lookup(m, pid);
	uint64_t end = start + len;

	if (!pm || !len)
		return;
	if (end < start)
		end = UINT64_MAX;
	if (pm_reserve(pm, pm->n + 1))
		return;
	pm_punch(pm, start, end);
}

void pfw_maps_fork(struct pfw_maps *m, pid_t parent, pid_t child)
{
	struct pidmaps *pp, *pc;

	if (parent == child || pfw_maps_known(m, child))
		return;
	pp = pm_lookup(m, parent);
	if (!pp)
		return;
	pc = pm_get(m, child);
	if (!pc)
		return;
	/* pm_get() may have grown the pid table, but pidmaps are heap objects */
	pc->cgroup = pp->cgroup;
	if (pm_reserve(pc, pp->n ? pp->n : 1))
		return;
	if (pp->n)
		memcpy(pc->v, pp->v, pp->n * sizeof(pp->v[0]));
	pc->n = pp->n;
}

void pfw_maps_exec(struct pfw_maps *m, pid_t pid)
{
	struct pidmaps *pm = pm_lookup(m, pid);
	const char *cgroup = pm ? pm->cgroup : NULL;

	/* a new image, the same process: in the same cgroup */
	pm_drop(m, pid);
	if (cgroup)
		pfw_maps_set_cgroup(m, pid, cgroup);
}

void pfw_maps_set_cgroup(struct pfw_maps *m, pid_t pid, const char *cgroup)
{
	struct pidmaps *pm = pm_get(m, pid);

	if (pm && cgroup)
		pm->cgroup = pfw_strtab_intern(&m->strs, cgroup, strlen(cgroup));
}

const char *pfw_maps_cgroup(const struct pfw_maps *m, pid_t pid)
{
	const struct pidmaps *pm = pm_lookup(m, pid);

	return pm ? pm->cgroup : NULL;
}

/*
 * Comm entries stay: in a merged stream a fault from another CPU's buffer
 * may sort after the exit record. They are bounded by pid_max (a reused tid
 * overwrites its entry); the address space, the big part, goes now.
 */
/*
 * The string pool of a long run: every unique path ever mapped stays, so
 * --serve under churn of short-lived files grows without bound. With
 * collection on, once the pool has doubled since the last pass, keep the
 * strings that a live address space still maps, drop the (dev, inode)
 * index entries that point elsewhere (a late fault of such a file is named
 * by pfw_maps_path_by_inode() instead) and free the rest. Amortized O(1)
 * per string. Only safe when no caller keeps an interned pointer beyond
 * the event it was given for: true of the exporter, whose tables copy.
 */
static void maps_collect(struct pfw_maps *m)
{
	struct pfw_hashtab keep = {0};
	struct pfw_htiter it;
	struct pfw_hent *e;
	struct pfw_sent *str;
	bool created;

	if (!pfw_hashtab_get(&keep, (uintptr_t)m->anon, 1, 0, &created))
		goto out;
	pfw_hashtab_iter_init(&m->pids, &it);
	while ((e = pfw_hashtab_iter_next(&m->pids, &it))) {
		struct pidmaps *pm = (struct pidmaps *)(uintptr_t)e->v;

		for (size_t j = 0; j < pm->n; j++)
			if (!pfw_hashtab_get(&keep, (uintptr_t)pm->v[j].path, 1, 0, &created))
				goto out; /* no memory: collect nothing */
		if (pm->cgroup && !pfw_hashtab_get(&keep, (uintptr_t)pm->cgroup, 1, 0, &created))
			goto out;
	}
	pfw_hashtab_iter_init(&m->paths, &it);
	while ((e = pfw_hashtab_iter_next(&m->paths, &it)))
		if (!pfw_hashtab_find(&keep, e->v, 1, 0))
			pfw_hashtab_delete(&m->paths, e, &it);
	/* deleting allocates nothing: no half-collected pool */
	pfw_strtab_iter_init(&m->strs, &it);
	while ((str = pfw_strtab_iter_next(&m->strs, &it)))
		if (!pfw_hashtab_find(&keep, (uintptr_t)str->s, 1, 0))
			pfw_strtab_delete(&m->strs, str, &it);
	pfw_strtab_shrink(&m->strs);
out:
	pfw_hashtab_free(&keep);
	m->collect_at = m->strs.n * 2 > 1024 ? m->strs.n * 2 : 1024;
}

/*
 * With collection on, backends that never report exits (bpf, ftrace) would
 * keep the table of every process ever loaded: when the number of tables
 * has doubled, drop those of processes that no longer exist, then collect
 * the strings only they used. Called from pfw_maps_load_proc()'s entry,
 * where no caller holds a table.
 */
static void prune_dead(struct pfw_maps *m)
{
	struct pfw_htiter it;
	struct pfw_hent *s;

	pfw_hashtab_iter_init(&m->pids, &it);
	while ((s = pfw_hashtab_iter_next(&m->pids, &it))) {
		pid_t pid = (pid_t)s->k[0];

		if (kill(pid, 0) < 0 && errno == ESRCH) {
			pm_forget(m, pid);
			pm_destroy((struct pidmaps *)(uintptr_t)s->v);
			pfw_hashtab_delete(&m->pids, s, &it);
		}
	}
	maps_collect(m);
	m->prune_at = m->pids.n * 2 > 256 ? m->pids.n * 2 : 256;
}

void pfw_maps_set_collect(struct pfw_maps *m, bool on)
{
	m->prune_at = 256;
	m->collect = on;
	m->collect_at = m->strs.n * 2 > 1024 ? m->strs.n * 2 : 1024;
}

void pfw_maps_exit(struct pfw_maps *m, pid_t pid)
{
	struct pfw_hent *s = pfw_hashtab_find(&m->comms, (uint32_t)pid, 0, 0);

	pm_drop(m, pid);
	/*
	 * The main thread's name goes with it: backends that order records
	 * by time (perf) deliver the exit after the process's last fault.
	 * Other threads' names are swept below once they are many.
	 */
	if (s) {
		free((void *)(uintptr_t)s->v);
		pfw_hashtab_delete(&m->comms, s, NULL);
	}
	if (m->collect && m->strs.n >= m->collect_at)
		maps_collect(m);
}

/*
 * A long run (--serve over days of process churn) must not keep a name for
 * every thread that ever existed: when the table has doubled since the
 * last sweep, drop the names of threads whose process has no address space
 * here and no longer exists. Amortized O(1) per new thread; a name dropped
 * too early is read again from /proc by the frontend while the thread lives.
 */
static void comm_sweep(struct pfw_maps *m)
{
	struct pfw_htiter it;
	struct pfw_hent *s;

	pfw_hashtab_iter_init(&m->comms, &it);
	while ((s = pfw_hashtab_iter_next(&m->comms, &it))) {
		struct comm_ent *e = (struct comm_ent *)(uintptr_t)s->v;

		if (!pm_lookup(m, e->pid) && kill(e->pid, 0) < 0 && errno == ESRCH &&
		    kill((pid_t)s->k[0], 0) < 0 && errno == ESRCH) {
			free(e);
			pfw_hashtab_delete(&m->comms, s, &it);
		}
	}
	m->comm_sweep_at = m->comms.n * 2 > 4096 ? m->comms.n * 2 : 4096;
}

bool pfw_maps_known(const struct pfw_maps *m, pid_t pid)
{
	return pm_lookup(m, pid) != NULL;
}

const struct pfw_mapping *pfw_maps_find(struct pfw_maps *m, pid_t pid, uint64_t addr)
{
	struct pidmaps *pm = pm_lookup(m, pid);
	size_t i;

	if (!pm)
		return NULL;
	m->cache_pid = pid;
	m->cache_pm = pm;
	if (pm->hint < pm->n && addr >= pm->v[pm->hint].start && addr < pm->v[pm->hint].end)
		return &pm->v[pm->hint];
	i = pm_lower(pm, addr);
	if (i < pm->n && pm->v[i].start <= addr) {
		pm->hint = i;
		return &pm->v[i];
	}
	return NULL;
}

void pfw_maps_set_comm(struct pfw_maps *m, pid_t pid, pid_t tid, const char *comm)
{
	struct pfw_hent *s;
	struct comm_ent *e;
	bool created;

	if (!comm)
		return;
	s = pfw_hashtab_get(&m->comms, (uint32_t)tid, 0, 0, &created);
	if (!s)
		return;
	if (created) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			pfw_hashtab_delete(&m->comms, s, NULL);
			return;
		}
		s->v = (uintptr_t)e;
		if (m->comms.n >= (m->comm_sweep_at ? m->comm_sweep_at : 4096)) {
			e->pid = pid; /* alive: the sweep keeps it */
			comm_sweep(m);
			s = pfw_hashtab_find(&m->comms, (uint32_t)tid, 0, 0);
			if (!s)
				return;
		}
	}
	e = (struct comm_ent *)(uintptr_t)s->v;
	e->pid = pid;
	/* TASK_COMM_LEN is 16: longer input is cut like the kernel does */
	strncpy(e->comm, comm, sizeof(e->comm) - 1);
	e->comm[sizeof(e->comm) - 1] = '\0';
}

const char *pfw_maps_comm(const struct pfw_maps *m, pid_t tid)
{
	struct pfw_hent *s = pfw_hashtab_find(&m->comms, (uint32_t)tid, 0, 0);

	return s ? ((struct comm_ent *)(uintptr_t)s->v)->comm : NULL;
}

const char *pfw_maps_path_of(const struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor,
			     uint64_t inode)
{
	struct pfw_hent *s = pfw_hashtab_find(&m->paths, inode, dev_key(dev_major, dev_minor), 0);

	return s ? (const char *)(uintptr_t)s->v : NULL;
}

/* 1..@maxdig hex digits; false on none, too many or a non-digit stop */
static bool parse_hex(const char **pp, const char *end, unsigned maxdig, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	unsigned n = 0;

	for (; p < end && isxdigit((unsigned char)*p); p++, n++) {
		int c = (unsigned char)*p;

		if (n == maxdig)
			return false;
		v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	if (!n)
		return false;
	*out = v;
	*pp = p;
	return true;
}

static bool parse_dec(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*pp = p;
	return true;
}

static bool expect(const char **pp, const char *end, char c)
{
	if (*pp >= end || **pp != c)
		return false;
	(*pp)++;
	return true;
}

/*
 * One line as show_map_vma() prints it:
 * "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then padding and the name, or
 * nothing (the trailing space stays) for anonymous memory. The name runs to
 * the end of the line: spaces are printed raw and only '\n' is escaped (as
 * "\012", seq_file_path(..., "\n")), so it is kept verbatim.
 */
static int parse_line(struct pfw_maps *m, const char *p, const char *end, struct pfw_mapping *x)
{
	uint64_t maj, min;
	static const char perm[4][3] = {"r-", "w-", "x-", "ps"};
	int i;

	if (memchr(p, '\0', (size_t)(end - p)))
		return -EINVAL;
	if (!parse_hex(&p, end, 16, &x->start) || !expect(&p, end, '-') ||
	    !parse_hex(&p, end, 16, &x->end) || !expect(&p, end, ' '))
		return -EINVAL;
	if (x->start >= x->end)
		return -EINVAL;
	for (i = 0; i < 4; i++, p++)
		if (p >= end || (*p != perm[i][0] && *p != perm[i][1]))
			return -EINVAL;
	if (!expect(&p, end, ' ') || !parse_hex(&p, end, 16, &x->pgoff) || !expect(&p, end, ' ') ||
	    !parse_hex(&p, end, 8, &maj) || !expect(&p, end, ':') || !parse_hex(&p, end, 8, &min) ||
	    !expect(&p, end, ' ') || !parse_dec(&p, end, &x->inode))
		return -EINVAL;
	x->dev_major = (uint32_t)maj;
	x->dev_minor = (uint32_t)min;
	if (p < end && *p != ' ')
		return -EINVAL;
	while (p < end && *p == ' ')
		p++;
	x->path = p < end ? pfw_strtab_intern(&m->strs, p, (size_t)(end - p)) : m->anon;
	if (!x->path)
		return -ENOMEM;
	x->file = is_real_file(x->path, x->inode);
	return 0;
}

int pfw_maps_parse(struct pfw_maps *m, pid_t pid, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	struct pidmaps *pm = pm_get(m, pid);
	int err = 0;

	if (!pm)
		return -ENOMEM;
	pm->n = 0;
	pm->hint = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		struct pfw_mapping x;
		int r;

		if (eol > p) {
			r = parse_line(m, p, eol, &x);
			if (!r)
				r = pm_insert(m, pm, &x);
			if (r == -ENOMEM)
				return r;
			if (r)
				err = r;
		}
		p = nl ? nl + 1 : end;
	}
	return err ? err : pm->n > INT_MAX ? INT_MAX : (int)pm->n;
}

/* the whole file: seq_file hands out a page or so per read() */
static int read_all(int dirfd, const char *name, char **buf, size_t *len)
{
	size_t cap = 64 * 1024, n = 0;
	char *b = malloc(cap);
	int fd, err = 0;

	*buf = NULL;
	*len = 0;
	if (!b)
		return -ENOMEM;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(b);
		return err;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb = realloc(b, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	/* the loop grows before it reads, so n < cap here */
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/*
 * "\012" -> "\n" in place, the one escape show_map_vma() applies
 * (seq_file_path(m, file, "\n")). A real backslash is printed raw, so a name
 * that really holds the four bytes "\012" is misread as a newline: only the
 * map_files link can tell them apart.
 */
static size_t unescape_nl(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && r[1] == '0' && r[2] == '1' && r[3] == '2') {
			*w++ = '\n';
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/*
 * A name with a backslash in /proc/PID/maps is ambiguous (see
 * unescape_nl()); /proc/PID/map_files/START-END is a link whose target is
 * d_path() of the mapped file, unescaped, " (deleted)" included like maps.
 * Following a link needs CAP_SYS_ADMIN (CAP_CHECKPOINT_RESTORE, 5.9+), but
 * readlink() only ptrace read access (measured on 6.18: nobody reads its own
 * links); it fails for a process we may not inspect and once the mapping is
 * gone, and then the maps text is decoded instead.
 */
static void exact_names(struct pfw_maps *m, int piddir, pid_t pid)
{
	struct pidmaps *pm = pm_lookup(m, pid);
	char link[64], buf[PATH_MAX + 16];
	size_t i;

	if (!pm)
		return;
	for (i = 0; i < pm->n; i++) {
		struct pfw_mapping *x = &pm->v[i];
		const char *name;
		ssize_t n;

		if (!x->file || !strchr(x->path, '\\'))
			continue;
		snprintf(link, sizeof(link), "map_files/%llx-%llx", (unsigned long long)x->start,
			 (unsigned long long)x->end);
		n = readlinkat(piddir, link, buf, sizeof(buf) - 1);
		if (n > 0 && (size_t)n < sizeof(buf) - 1) {
			buf[n] = '\0';
			name = pfw_strtab_intern(&m->strs, buf, (size_t)n);
		} else {
			snprintf(buf, sizeof(buf), "%s", x->path);
			name = pfw_strtab_intern(&m->strs, buf, unescape_nl(buf));
		}
		if (!name)
			continue;
		x->path = name;
		index_path(m, x);
	}
}

static void load_comms(struct pfw_maps *m, int piddir, pid_t pid)
{
	int tfd = openat(piddir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (tfd < 0)
		return;
	d = fdopendir(tfd);
	if (!d) {
		close(tfd);
		return;
	}
	while ((de = readdir(d))) {
		char name[300], *buf;
		size_t len;
		char *endp;
		long tid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		tid = strtol(de->d_name, &endp, 10);
		if (*endp || tid <= 0 || tid > INT_MAX)
			continue;
		snprintf(name, sizeof(name), "%s/comm", de->d_name);
		/* a thread may exit between readdir() and open(): skip it */
		if (read_all(dirfd(d), name, &buf, &len))
			continue;
		/*
		 * proc_task_name() prints the name and one "\n"; the name
		 * itself may hold "\n" (PR_SET_NAME takes any byte but NUL),
		 * so only that last one goes.
		 */
		if (len && buf[len - 1] == '\n')
			buf[len - 1] = '\0';
		pfw_maps_set_comm(m, pid, (pid_t)tid, buf);
		free(buf);
	}
	closedir(d);
}

int pfw_maps_learn_fd_path(struct pfw_maps *m, const char *procfs, pid_t pid, uint32_t dev_major,
			   uint32_t dev_minor, uint64_t inode)
{
	char path[PATH_MAX], buf[PATH_MAX + 16];
	struct pfw_mapping x = {
		.inode = inode,
		.dev_major = dev_major,
		.dev_minor = dev_minor,
		.file = true,
	};
	struct dirent *de;
	int dfd, ret = -ENOENT;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%d/fd", procfs ? procfs : "/proc", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	while (ret && (de = readdir(d))) {
		struct stat st;
		ssize_t n;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		/* stat() follows the link to the open file itself */
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode) ||
		    st.st_ino != inode || major(st.st_dev) != dev_major ||
		    minor(st.st_dev) != dev_minor)
			continue;
		n = readlinkat(dirfd(d), de->d_name, buf, sizeof(buf) - 1);
		if (n <= 0 || buf[0] != '/')
			continue;
		buf[n] = '\0';
		x.path = pfw_strtab_intern(&m->strs, buf, (size_t)n);
		if (!x.path)
			break;
		index_path(m, &x);
		ret = 0;
	}
	closedir(d);
	return ret;
}

/* /proc/PID as a directory fd, or -ESRCH when the process is gone */
static int open_piddir(const char *procfs, pid_t pid)
{
	char path[PATH_MAX];
	int dfd;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "%s/%d", procfs ? procfs : "/proc", (int)pid);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return dfd;
}

int pfw_maps_load_proc(struct pfw_maps *m, const char *procfs, pid_t pid)
{
	size_t len;
	char *buf;
	int dfd, r;

	if (m->collect && m->pids.n >= m->prune_at)
		prune_dead(m);

	dfd = open_piddir(procfs, pid);
	if (dfd < 0)
		return dfd;
	r = read_all(dfd, "maps", &buf, &len);
	if (r) {
		close(dfd);
		return r == -ENOENT ? -ESRCH : r;
	}
	/*
	 * A live process with an mm always has mappings: an empty read is a
	 * zombie (exit_mm() ran, /proc/PID stays until it is reaped) or a
	 * kernel thread. Its faults still queued in a backend's buffer need
	 * the table we knew, so keep it.
	 */
	if (!len) {
		free(buf);
		load_comms(m, dfd, pid);
		close(dfd);
		return -ESRCH;
	}
	r = pfw_maps_parse(m, pid, buf, len);
	free(buf);
	if (r >= 0) {
		char *cg = pfw_cgroup_label_at(dfd);

		exact_names(m, dfd, pid);
		pfw_maps_set_cgroup(m, pid, cg);
		free(cg);
	}
	load_comms(m, dfd, pid);
	close(dfd);
	return r < 0 ? r : 0;
}

int pfw_maps_proc_at(struct pfw_maps *m, const char *procfs, pid_t pid, uint64_t addr,
		     struct pfw_mapping *out)
{
	const char *p, *end;
	size_t len;
	char *buf;
	int dfd, r;

	dfd = open_piddir(procfs, pid);
	if (dfd < 0)
		return dfd;
	r = read_all(dfd, "maps", &buf, &len);
	close(dfd);
	if (r)
		return r == -ENOENT ? -ESRCH : r;
	r = -ENOENT;
	for (p = buf, end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		struct pfw_mapping x;

		if (eol > p && !parse_line(m, p, eol, &x) && addr >= x.start && addr < x.end) {
			*out = x;
			r = 0;
			break;
		}
		p = nl ? nl + 1 : end;
	}
	free(buf);
	return r;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape_octal(char *s)
{
	char *w = s;

	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

/*
 * A directory fd on a mount of (major, minor) whose root is the
 * filesystem's root (a bind mount of a subtree would make d_path() of a
 * file outside it unreachable), cached per device, -1 when there is none.
 */
static int mount_fd_of(struct pfw_maps *m, uint32_t major, uint32_t minor)
{
	uint64_t key = dev_key(major, minor);
	char *line = NULL, *root = NULL, *mnt = NULL;
	size_t cap = 0;
	FILE *f;
	int fd = -1;

	for (int i = 0; i < m->nmnt; i++)
		if (m->mnt[i].dev == key)
			return m->mnt[i].fd;
	f = fopen("/proc/self/mountinfo", "re");
	while (f && fd < 0 && getline(&line, &cap, f) > 0) {
		unsigned int maj, min;

		free(root);
		free(mnt);
		root = mnt = NULL;
		if (sscanf(line, "%*d %*d %u:%u %ms %ms", &maj, &min, &root, &mnt) != 4 ||
		    maj != major || min != minor || strcmp(root, "/"))
			continue;
		unescape_octal(mnt);
		/* open_by_handle_at() refuses an O_PATH mount fd (fdget(): EBADF) */
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	free(line);
	free(root);
	free(mnt);
	if (f)
		fclose(f);
	if (m->nmnt < PFW_MAPS_MOUNTS) {
		m->mnt[m->nmnt].dev = key;
		m->mnt[m->nmnt++].fd = fd;
	}
	return fd;
}

/* include/linux/exportfs.h: { u32 ino; u32 gen; }, what ext2/3/4 decode */
#define PFW_FILEID_INO32_GEN 1

const char *pfw_maps_path_by_inode(struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor,
				   uint64_t inode)
{
	struct {
		struct file_handle fh;
		uint32_t id[2];
	} h;
	char link[64], buf[PATH_MAX + 16];
	const char *path = pfw_maps_path_of(m, dev_major, dev_minor, inode);
	struct pfw_mapping x = {
		.inode = inode,
		.dev_major = dev_major,
		.dev_minor = dev_minor,
		.file = true,
	};
	struct pfw_hent *tried;
	struct stat st;
	bool created;
	ssize_t n;
	int mfd, fd;

	if (path || !inode || inode > UINT32_MAX)
		return path;
	tried = pfw_hashtab_get(&m->by_handle_tried, inode, dev_key(dev_major, dev_minor), 0,
				&created);
	if (!tried || !created)
		return NULL;
	mfd = mount_fd_of(m, dev_major, dev_minor);
	if (mfd < 0)
		return NULL;
	h.fh.handle_bytes = sizeof(h.id);
	h.fh.handle_type = PFW_FILEID_INO32_GEN;
	h.id[0] = (uint32_t)inode;
	/* ext4_nfs_get_inode() compares the generation only when it is non-zero */
	h.id[1] = 0;
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	/*
	 * A dentry the handle had to build (not in the dcache) is disconnected
	 * and d_path() names it "/": that is no name. A recently mapped file
	 * is cached.
	 */
	if (n <= 1 || (size_t)n >= sizeof(buf) - 1 || buf[0] != '/' || fstat(fd, &st) ||
	    !S_ISREG(st.st_mode) || st.st_ino != inode) {
		close(fd);
		return NULL;
	}
	close(fd);
	x.path = pfw_strtab_intern(&m->strs, buf, (size_t)n);
	if (x.path)
		index_path(m, &x);
	return x.path;
}
