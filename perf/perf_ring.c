// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The perf ring reader. head and tail are free-running 64-bit byte counters
 * (the kernel never masks them); only the offset into the data area is
 * masked, so the arithmetic stays right when they wrap around 2^64.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perf_ring.h"

int pfw_ring_init(struct pfw_ring *r, void *base, size_t page_size, size_t data_size)
{
	struct perf_event_mmap_page *meta = base;
	uint64_t off = page_size;

	memset(r, 0, sizeof(*r));
	if (!data_size || (data_size & (data_size - 1)))
		return -EINVAL;
	/* data_offset/data_size exist since 4.1; 0 on older kernels */
	if (meta->data_size) {
		if (meta->data_size != data_size)
			return -EINVAL;
		off = meta->data_offset;
	}
	r->scratch = malloc(PFW_RING_MAX_RECORD);
	if (!r->scratch)
		return -ENOMEM;
	r->meta = meta;
	r->data = (uint8_t *)base + off;
	r->size = data_size;
	r->tail = meta->data_tail;
	r->head = r->next = r->tail;
	return 0;
}

void pfw_ring_fini(struct pfw_ring *r)
{
	free(r->scratch);
	r->scratch = NULL;
	r->meta = NULL;
}

uint64_t pfw_ring_read_init(struct pfw_ring *r)
{
	/* pairs with the kernel's smp_wmb() before it publishes data_head */
	r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	r->next = r->tail;
	return r->head - r->tail;
}

static void copy_out(const struct pfw_ring *r, void *dst, uint64_t pos, size_t len)
{
	uint64_t off = pos & (r->size - 1);
	size_t first = len;

	if (off + len > r->size)
		first = (size_t)(r->size - off);
	memcpy(dst, r->data + off, first);
	if (first < len)
		memcpy((uint8_t *)dst + first, r->data, len - first);
}

const struct perf_event_header *pfw_ring_read_event(struct pfw_ring *r)
{
	struct perf_event_header hdr;
	const struct perf_event_header *ev;
	uint64_t avail, off;

	/* an unconsumed record is skipped, as if consumed */
	r->tail = r->next;
	avail = r->head - r->tail;
	if (!avail)
		return NULL;
	if (avail < sizeof(hdr) || avail > r->size)
		goto bad;
	copy_out(r, &hdr, r->tail, sizeof(hdr));
	/*
	 * A size smaller than its header would loop forever, one larger than
	 * what was published reads garbage: the stream cannot be trusted
	 * from here, so give up on this pass and restart at the head.
	 */
	if (hdr.size < sizeof(hdr) || hdr.size > avail || (hdr.size & 7))
		goto bad;
	off = r->tail & (r->size - 1);
	if (off + hdr.size > r->size) {
		copy_out(r, r->scratch, r->tail, hdr.size);
		ev = (const struct perf_event_header *)r->scratch;
	} else {
		ev = (const struct perf_event_header *)(r->data + off);
	}
	r->next = r->tail + hdr.size;
	if (hdr.type == PERF_RECORD_LOST && hdr.size >= sizeof(hdr) + 16) {
		uint64_t n;

		/* struct { header; u64 id; u64 lost; sample_id } */
		memcpy(&n, (const uint8_t *)ev + sizeof(hdr) + 8, sizeof(n));
		r->lost += n;
	} else if (hdr.type == PERF_RECORD_LOST_SAMPLES && hdr.size >= sizeof(hdr) + 8) {
		uint64_t n;

		memcpy(&n, (const uint8_t *)ev + sizeof(hdr), sizeof(n));
		r->lost += n;
	}
	return ev;
bad:
	r->malformed++;
	r->tail = r->next = r->head;
	return NULL;
}

void pfw_ring_consume(struct pfw_ring *r)
{
	r->tail = r->next;
}

void pfw_ring_read_done(struct pfw_ring *r)
{
	/* the kernel may overwrite the space once it sees the new tail */
	__atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
}
