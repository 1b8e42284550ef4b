/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Aggregation per thread and per file, and log2 latency histograms per
 * kind. Fed with resolved events (pfw_agg_add) or, by backends that count
 * in the kernel, with ready rows (pfw_agg_add_thread / pfw_agg_add_file).
 */
#ifndef PFW_AGG_H
#define PFW_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "event.h"

#define PFW_HIST_BUCKETS 64 /* bucket i counts latencies in [2^i, 2^(i+1)) ns; bucket 0 is [0, 2) */

struct pfw_thread_stats {
	int32_t pid, tid;
	char comm[PFW_COMM_LEN];
	/*
	 * the process' cgroup as /proc/PID/cgroup names it (cgroup.h), interned;
	 * NULL when unknown. cgroup_looked: it was asked for (once per row).
	 */
	const char *cgroup;
	bool cgroup_looked;
	uint64_t major, minor;
	uint64_t lat_count; /* faults whose latency was measured */
	uint64_t lat_total_ns, lat_min_ns, lat_max_ns;
	uint64_t refaults;  /* major faults on file pages that faulted earlier in the run */
	uint64_t untracked; /* faults on file pages the page set could not hold */
	uint64_t major_by[PFW_BACKING_NR]; /* major faults by backing ([0]: unknown) */
};

struct pfw_file_stats {
	const char *path; /* interned (pfw_maps) or static; "[anon]" etc. */
	bool file;	  /* inode/dev valid */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t gen; /* inode generation where the backend sees it (bpf), else 0 */
	uint64_t major, minor;
	uint64_t pages; /* distinct pages faulted (file offsets, or addresses for anon) */
	uint64_t lat_count;
	uint64_t lat_total_ns, lat_min_ns, lat_max_ns;
	/*
	 * File pages only (file true): refaults, and the faults on pages the
	 * page set could not hold (PFW_EV_UNTRACKED): pages and refaults are
	 * then lower bounds, by at most that many.
	 */
	uint64_t refaults, untracked;
	enum pfw_backing backing;
};

struct pfw_totals {
	uint64_t faults, major, minor;
	uint64_t refaults, untracked; /* as in the rows, over all threads */
	uint64_t hist[2][PFW_HIST_BUCKETS]; /* [enum pfw_kind][bucket] */
};

struct pfw_agg;

struct pfw_agg *pfw_agg_new(void);
void pfw_agg_free(struct pfw_agg *a);
void pfw_agg_reset(struct pfw_agg *a); /* for periodic views */

/*
 * @ev must be resolved: path set (or NULL for unknown = "[unknown]").
 * Returns PFW_EV_REFAULT when it is a major fault on a file page that
 * faulted earlier (in this aggregation or the one its pages came from,
 * pfw_agg_take_pages()), PFW_EV_UNTRACKED when the page set could not hold
 * its page (or the caller set that flag: its page is tracked elsewhere),
 * else 0. *@row (when @row is not NULL): the fault's thread row, NULL
 * without memory, for pfw_agg_thread_cgroup().
 */
unsigned pfw_agg_add(struct pfw_agg *a, const struct pfw_event *ev,
		     struct pfw_thread_stats **row);

/* name @t's cgroup (copied; NULL: unknown), and mark it looked up */
void pfw_agg_thread_cgroup(struct pfw_agg *a, struct pfw_thread_stats *t, const char *cgroup);
/* the same for the row of @tid, if there is one (recordings: thread records follow faults) */
void pfw_agg_tid_cgroup(struct pfw_agg *a, int32_t tid, const char *cgroup);

/*
 * The distinct file pages decide refaults, so a run that starts a fresh
 * aggregation per interval (the exporter) hands them on: @to takes @from's
 * page set, @from is left without one. @to must not have counted yet.
 */
void pfw_agg_take_pages(struct pfw_agg *to, struct pfw_agg *from);
/*
 * The bound of the file page set in slots of 64 pages (32 bytes each,
 * plus the hash table's slack): 1M slots, 64 MiB at most; $PFW_PAGE_SLOTS
 * sets another (a test hook).
 */
#define PFW_AGG_PAGE_SLOTS (1u << 20)

/*
 * merge ready-made rows (in-kernel aggregation); rows with the same key add up.
 * Thread rows also add to the totals (faults, major, minor), file rows do not:
 * a backend hands over every thread row once. Paths and cgroups are copied.
 */
void pfw_agg_add_thread(struct pfw_agg *a, const struct pfw_thread_stats *t);
void pfw_agg_add_file(struct pfw_agg *a, const struct pfw_file_stats *f);
void pfw_agg_add_hist(struct pfw_agg *a, enum pfw_kind kind, unsigned bucket, uint64_t count);

/*
 * Snapshots, caller frees the array. Threads sorted by major desc, then
 * minor desc, then tid; files by major desc, minor desc, then path.
 * File paths point into @a and stay valid until pfw_agg_free() (also
 * across pfw_agg_reset()).
 */
/* the path of the (dev, inode, gen) row, or NULL */
const char *pfw_agg_file_path(const struct pfw_agg *a, uint64_t inode, uint32_t major,
			      uint32_t minor, uint32_t gen);

size_t pfw_agg_threads(const struct pfw_agg *a, struct pfw_thread_stats **out);
size_t pfw_agg_files(const struct pfw_agg *a, struct pfw_file_stats **out);
const struct pfw_totals *pfw_agg_totals(const struct pfw_agg *a);

/*
 * The backing of a thread's major faults: "file", "anon" or "shmem" when
 * they share one, "mixed" when not (major_by[] has the split), NULL when
 * it had none or their backing is unknown.
 */
static inline const char *pfw_thread_backing(const struct pfw_thread_stats *t)
{
	const char *one = NULL;

	if (t->major_by[PFW_BACKING_UNKNOWN])
		return NULL;
	for (int b = PFW_BACKING_UNKNOWN + 1; b < PFW_BACKING_NR; b++) {
		if (!t->major_by[b])
			continue;
		if (one)
			return "mixed";
		one = pfw_backing_name((enum pfw_backing)b);
	}
	return one;
}

static inline unsigned pfw_hist_bucket(uint64_t ns)
{
	return ns < 2 ? 0 : 63 - (unsigned)__builtin_clzll(ns);
}

#endif
