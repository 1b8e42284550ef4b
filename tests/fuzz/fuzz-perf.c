// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the perf record decoder. The input is a ring's data
 * area (a power of two, 4 KiB) and its head: perf/perf_ring.c reads records
 * from it exactly as from the kernel's ring (wrap, short and oversized
 * headers), perf/perf_merge.c decodes each one into the merge batch, and
 * the batch is flushed in time order. The kernel writes the ring, but a bug
 * on either side must not become a crash or a read out of bounds.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf_merge.h"
#include "perf/perf_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE 4096
#define DATA 4096

static size_t nr_seen;

static void seen(void *ctx, const struct pfw_perf_batch *b, const struct pfw_perf_rec *r)
{
	(void)ctx;
	if (r->kind == PFW_PK_MMAP2)
		nr_seen += strlen(pfw_perf_rec_name(b, r));
	else if (b->callchain && r->var_len)
		nr_seen += (size_t)pfw_perf_rec_stack(b, r)[r->var_len - 1];
	nr_seen++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pfw_perf_id ids[] = {
		{1, PFW_PK_ENTRY}, {2, PFW_PK_MAJOR}, {3, PFW_PK_MINOR}, {4, PFW_PK_UNKNOWN}};
	struct pfw_perf_batch b;
	struct pfw_ring ring;
	uint64_t head = 0;
	uint8_t *area;
	bool chain;

	if (size < 9)
		return 0;
	chain = data[0] & 1;
	memcpy(&head, data + 1, 8);
	data += 9;
	size -= 9;
	area = aligned_alloc(PAGE, PAGE + DATA);
	if (!area)
		return 0;
	memset(area, 0, PAGE + DATA);
	memcpy(area + PAGE, data, size < DATA ? size : DATA);
	if (pfw_ring_init(&ring, area, PAGE, DATA) < 0) {
		free(area);
		return 0;
	}
	/* a head at most one ring ahead of the tail, as the kernel keeps it */
	ring.meta->data_head = head % (2 * DATA);
	ring.meta->data_tail = 0;
	pfw_perf_batch_init(&b, chain);
	pfw_perf_batch_set_ids(&b, ids, sizeof(ids) / sizeof(ids[0]));
	pfw_ring_read_init(&ring);
	for (const struct perf_event_header *h; (h = pfw_ring_read_event(&ring));) {
		pfw_perf_batch_add_raw(&b, h);
		pfw_ring_consume(&ring);
	}
	pfw_ring_read_done(&ring);
	pfw_perf_batch_flush(&b, UINT64_MAX / 2, seen, NULL);
	pfw_perf_batch_flush(&b, UINT64_MAX, seen, NULL);
	pfw_perf_batch_fini(&b);
	pfw_ring_fini(&ring);
	free(area);
	return 0;
}
