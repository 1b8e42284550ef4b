/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel-independent half of the perf backend, split out so unit tests
 * can feed it synthetic records:
 *  - decoding raw ring records into struct pfw_perf_rec (fixed layout
 *    because every event we open has the same sample_type);
 *  - the merge batch: records of all per-CPU rings, sorted by time and
 *    released with perf's FINISHED_ROUND rule (a sleeping major fault can
 *    complete on another CPU than the one it entered on);
 *  - entry/completion pairing per thread for the latency.
 * Nothing here allocates per record: arrays grow and are reused.
 */
#ifndef PFW_PERF_MERGE_H
#define PFW_PERF_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/perf_event.h>

#include "event.h"

/* frames kept per sample (the record has room for this many) */
#define PFW_PERF_MAX_CHAIN PFW_MAX_STACK

/* what a record is, after the id of the event that wrote it was looked up */
enum pfw_perf_kind {
	PFW_PK_ENTRY, /* PERF_COUNT_SW_PAGE_FAULTS sample */
	PFW_PK_MAJOR, /* PERF_COUNT_SW_PAGE_FAULTS_MAJ sample */
	PFW_PK_MINOR, /* PERF_COUNT_SW_PAGE_FAULTS_MIN sample */
	PFW_PK_MMAP2,
	PFW_PK_COMM,
	PFW_PK_FORK,
	PFW_PK_EXIT,
	PFW_PK_UNKNOWN,
};

/* the sample_type every event is opened with (+ CALLCHAIN with --call-graph) */
#define PFW_PERF_SAMPLE_TYPE                                                            \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
	 PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU)

struct pfw_perf_rec {
	uint64_t time;
	uint64_t seq;	   /* arrival order: equal times keep ring order */
	uint64_t addr;	   /* sample: fault address; MMAP2: start */
	uint64_t ip;	   /* sample */
	uint64_t len;	   /* MMAP2 */
	uint64_t pgoff;	   /* MMAP2 */
	uint64_t ino;	   /* MMAP2 */
	uint32_t maj, min; /* MMAP2 device */
	uint32_t var_off;  /* in the batch arena: callchain (u64s) or MMAP2 filename */
	uint32_t var_len;  /* callchain entries, or filename bytes incl. NUL */
	int32_t pid, tid;
	int32_t ppid, ptid; /* FORK/EXIT */
	uint32_t cpu;
	uint16_t kind; /* enum pfw_perf_kind */
	uint16_t misc; /* header.misc */
	char comm[16];
};

struct pfw_perf_id {
	uint64_t id;
	enum pfw_perf_kind kind;
};

struct pfw_perf_sort_key;

struct pfw_perf_batch {
	struct pfw_perf_rec *recs, *recs2; /* recs2: compaction target, swapped */
	size_t nr, cap, recs2_cap;
	struct pfw_perf_sort_key *keys, *keys2; /* keys2: merge target */
	size_t keys_cap, keys2_cap;
	uint8_t *arena, *arena2; /* arena2: compaction target, swapped */
	size_t arena_len, arena_cap, arena2_cap;
	uint64_t seq;
	struct pfw_perf_id *ids; /* sorted by id */
	size_t nr_ids;
	bool callchain; /* PERF_SAMPLE_CALLCHAIN is in the sample_type */
	uint64_t bad;	/* records too short for their type */
};

void pfw_perf_batch_init(struct pfw_perf_batch *b, bool callchain);
void pfw_perf_batch_fini(struct pfw_perf_batch *b);
/* which event kind each sample id belongs to (PERF_EVENT_IOC_ID) */
int pfw_perf_batch_set_ids(struct pfw_perf_batch *b, const struct pfw_perf_id *ids, size_t n);

/**
 * pfw_perf_batch_add_raw() - decode one ring record and queue it.
 * Records we do not use (THROTTLE, LOST: the ring reader counts those...)
 * are ignored. Return: 1 queued, 0 ignored, -ENOMEM, -EINVAL (truncated
 * record, counted in ->bad).
 */
int pfw_perf_batch_add_raw(struct pfw_perf_batch *b, const struct perf_event_header *hdr);
/* queue an already decoded record (tests); @var: callchain or filename */
int pfw_perf_batch_add(struct pfw_perf_batch *b, const struct pfw_perf_rec *rec, const void *var,
		       size_t var_bytes);

static inline const uint64_t *pfw_perf_rec_stack(const struct pfw_perf_batch *b,
						 const struct pfw_perf_rec *r)
{
	return (const uint64_t *)(b->arena + r->var_off);
}

static inline const char *pfw_perf_rec_name(const struct pfw_perf_batch *b,
					    const struct pfw_perf_rec *r)
{
	return r->var_len ? (const char *)(b->arena + r->var_off) : "";
}

typedef void (*pfw_perf_rec_fn)(void *ctx, const struct pfw_perf_batch *b,
				const struct pfw_perf_rec *r);

/**
 * pfw_perf_batch_flush() - sort by time and hand every record with
 * time < @before to @fn in time order; later ones stay queued.
 * Return: the number of records handed out.
 */
size_t pfw_perf_batch_flush(struct pfw_perf_batch *b, uint64_t before, pfw_perf_rec_fn fn,
			    void *ctx);

/* per-thread pending fault entries */
struct pfw_perf_pair_slot {
	uint64_t addr, time;
	int32_t tid; /* 0 = empty */
	uint32_t pad;
};

struct pfw_perf_pair {
	struct pfw_perf_pair_slot *slots;
	size_t cap, nr;	    /* cap is a power of two */
	uint64_t unmatched; /* entries dropped without a completion (error paths) */
};

int pfw_perf_pair_init(struct pfw_perf_pair *p);
void pfw_perf_pair_fini(struct pfw_perf_pair *p);
/* an entry: a still pending entry of @tid never completed and is dropped */
int pfw_perf_pair_entry(struct pfw_perf_pair *p, int32_t tid, uint64_t addr, uint64_t time);
/*
 * A completion: true with *@latency when it closes @tid's pending entry at
 * the same address. The pending entry is gone either way.
 */
bool pfw_perf_pair_complete(struct pfw_perf_pair *p, int32_t tid, uint64_t addr, uint64_t time,
			    uint64_t *latency);
void pfw_perf_pair_forget(struct pfw_perf_pair *p, int32_t tid);

/* a set of tgids (cgroup mode combined with -p/COMMAND) */
struct pfw_perf_tidset {
	int32_t *slots;
	size_t cap, nr;
};
int pfw_perf_tidset_add(struct pfw_perf_tidset *t, int32_t tid);
bool pfw_perf_tidset_has(const struct pfw_perf_tidset *t, int32_t tid);
void pfw_perf_tidset_fini(struct pfw_perf_tidset *t);

#endif
