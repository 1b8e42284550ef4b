/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reader for one perf_event mmap ring (the layout of
 * Documentation/userspace-api/perf_ring_buffer.rst and libperf's mmap.c).
 * It works on any struct perf_event_mmap_page + data area, so the unit tests
 * drive it with buffers in plain memory.
 *
 * A pass is: pfw_ring_read_init() (acquire-load data_head), then
 * pfw_ring_read_event() / pfw_ring_consume() per record, then
 * pfw_ring_read_done() (release-store data_tail, giving the space back).
 */
#ifndef PFW_PERF_RING_H
#define PFW_PERF_RING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/perf_event.h>

/* header.size is a u16: no record is larger */
#define PFW_RING_MAX_RECORD 65536

struct pfw_ring {
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size;	    /* of the data area; a power of two */
	uint64_t head;	    /* snapshot taken by read_init */
	uint64_t tail;	    /* next unread byte (free running, like data_tail) */
	uint64_t next;	    /* tail after the record read_event returned */
	uint64_t lost;	    /* samples the kernel dropped (PERF_RECORD_LOST, LOST_SAMPLES) */
	uint64_t malformed; /* records rejected for a bad size; the rest of the pass was skipped */
	uint8_t *scratch;   /* a record that wraps the end is copied here */
};

/**
 * pfw_ring_init() - set up a reader on a mapped ring.
 * @base: the mmap()ed area: the meta page, then the data area
 * @page_size: the meta page size (data starts there when the kernel does not
 *	fill data_offset, i.e. before 4.1)
 * @data_size: size of the data area (a power of two)
 * Return: 0, or -ENOMEM / -EINVAL.
 */
int pfw_ring_init(struct pfw_ring *r, void *base, size_t page_size, size_t data_size);
void pfw_ring_fini(struct pfw_ring *r);

/* snapshot data_head; returns the number of unread bytes */
uint64_t pfw_ring_read_init(struct pfw_ring *r);
/*
 * The next record of this pass, or NULL when there is none left (or when a
 * malformed size was found: then ->malformed is incremented and the pass is
 * skipped to the head). The pointer is valid until the next call. LOST
 * records are returned too, after being added to ->lost.
 */
const struct perf_event_header *pfw_ring_read_event(struct pfw_ring *r);
/* mark the record read_event returned as consumed */
void pfw_ring_consume(struct pfw_ring *r);
/* hand the consumed space back to the kernel */
void pfw_ring_read_done(struct pfw_ring *r);

#endif
