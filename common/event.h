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
	char comm[PFW_COMM_LEN]; /* NUL terminated when PFW_EV_COMM */
};

static inline const char *pfw_kind_name(enum pfw_kind k)
{
	return k == PFW_MAJOR ? "major" : "minor";
}

#endif
