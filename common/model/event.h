/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fault record: the one struct every backend emits (SPEC.md, "The fault
 * record"). A field the backend could not observe has its PFW_EV_* bit clear
 * and is printed as null / empty / "-"; it is never reported as zero.
 */
#ifndef PFW_EVENT_H
#define PFW_EVENT_H

#include <stdint.h>
#include <sys/types.h>

#define PFW_COMM_LEN  16
#define PFW_MAX_STACK 127

enum pfw_kind {
	PFW_MINOR = 0,
	PFW_MAJOR = 1,
};

/* which of the optional fields of struct pfw_event are valid */
enum pfw_event_flags {
	PFW_EV_IP      = 1u << 0, /* ip */
	PFW_EV_LATENCY = 1u << 1, /* latency_ns */
	PFW_EV_FILE    = 1u << 2, /* inode, dev_major/minor, offset: a file-backed page */
	PFW_EV_COMM    = 1u << 3, /* comm */
	PFW_EV_ADDR    = 1u << 4, /* addr */
	PFW_EV_USER    = 1u << 5, /* the fault was taken in user mode (not copy_from_user) */
	/*
	 * Set by the aggregation (pfw_agg_add), not by backends: a major fault
	 * on a file page that faulted earlier in the run (a refault), or one
	 * whose page the bounded page set could not hold (refault unknown).
	 */
	PFW_EV_REFAULT   = 1u << 6,
	PFW_EV_UNTRACKED = 1u << 7,
};

/*
 * What the faulting page lives in: a major fault on FILE is a read from the
 * file, on ANON a swap-in, on SHMEM (tmpfs, memfd, SysV shm, shared
 * anonymous memory) a swap-in too. The mapping's kind decides: a
 * copy-on-write page of a private file mapping is in FILE's mapping.
 */
enum pfw_backing {
	PFW_BACKING_UNKNOWN = 0,
	PFW_BACKING_FILE,
	PFW_BACKING_ANON,
	PFW_BACKING_SHMEM,
	PFW_BACKING_NR,
};

struct pfw_event {
	uint64_t time_ns;    /* CLOCK_MONOTONIC, absolute; the frontend makes it relative */
	uint64_t addr;       /* faulting virtual address, as the kernel saw it (not aligned) */
	uint64_t ip;         /* user instruction pointer */
	uint64_t latency_ns; /* entry into the fault handler -> completion */
	uint64_t inode;
	uint64_t offset;     /* byte offset in the file of the faulting page, page aligned */
	const uint64_t *stack; /* user ips, innermost first; valid only during the emit call */
	const char *path;    /* NULL: let the frontend resolve it from the maps */
	uint32_t dev_major, dev_minor;
	int32_t pid, tid;
	uint32_t flags;      /* enum pfw_event_flags */
	uint32_t nr_stack;
	enum pfw_kind kind;
	enum pfw_backing backing; /* PFW_BACKING_UNKNOWN: the frontend decides from the maps */
	char comm[PFW_COMM_LEN]; /* NUL terminated when PFW_EV_COMM */
};

static inline const char *pfw_kind_name(enum pfw_kind k)
{
	return k == PFW_MAJOR ? "major" : "minor";
}

/* "file", "anon", "shmem"; NULL when unknown */
static inline const char *pfw_backing_name(enum pfw_backing b)
{
	static const char *const names[PFW_BACKING_NR] = {NULL, "file", "anon", "shmem"};

	return (unsigned)b < PFW_BACKING_NR ? names[b] : NULL;
}

#endif
