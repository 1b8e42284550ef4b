// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The perf ring reader on synthetic rings: a struct perf_event_mmap_page and
 * a data area in plain memory, written the way the kernel writes them
 * (8-byte aligned records, free-running data_head).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf_ring.h"
#include "tests/tap.h"

#define PAGE 4096
#define DATA 256

struct fake {
	uint8_t *mem;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	struct pfw_ring r;
};

static void fake_init(struct fake *f, uint64_t start)
{
	f->mem = aligned_alloc(PAGE, 2 * PAGE); /* C11: size a multiple of the alignment */
	memset(f->mem, 0xee, PAGE + DATA);
	f->meta = (struct perf_event_mmap_page *)f->mem;
	memset(f->meta, 0, sizeof(*f->meta));
	f->meta->data_offset = PAGE;
	f->meta->data_size = DATA;
	f->meta->data_head = start;
	f->meta->data_tail = start;
	f->data = f->mem + PAGE;
	if (pfw_ring_init(&f->r, f->mem, PAGE, DATA))
		abort();
}

static void fake_fini(struct fake *f)
{
	pfw_ring_fini(&f->r);
	free(f->mem);
}

/* what the kernel does: copy at head (wrapping), then publish head */
static void put(struct fake *f, const void *rec, size_t len)
{
	uint64_t head = f->meta->data_head;

	for (size_t i = 0; i < len; i++)
		f->data[(head + i) & (DATA - 1)] = ((const uint8_t *)rec)[i];
	__atomic_store_n(&f->meta->data_head, head + len, __ATOMIC_RELEASE);
}

/* a record of @size bytes whose payload bytes are @fill */
static void put_rec(struct fake *f, uint32_t type, uint16_t size, uint8_t fill)
{
	uint8_t buf[PFW_RING_MAX_RECORD];
	struct perf_event_header h = {.type = type, .misc = 0, .size = size};

	memset(buf, fill, size);
	memcpy(buf, &h, sizeof(h));
	put(f, buf, size);
}

static int payload_is(const struct perf_event_header *h, uint8_t fill)
{
	const uint8_t *p = (const uint8_t *)h;

	for (size_t i = sizeof(*h); i < h->size; i++)
		if (p[i] != fill)
			return 0;
	return 1;
}

static void test_empty(void)
{
	struct fake f;

	fake_init(&f, 0);
	tap_is_u64(pfw_ring_read_init(&f.r), 0, "empty ring: nothing to read");
	tap_ok(pfw_ring_read_event(&f.r) == NULL, "empty ring: no record");
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, 0, "empty ring: tail unchanged");
	fake_fini(&f);
}

static void test_in_order(void)
{
	struct fake f;
	const struct perf_event_header *h;
	int n = 0, good = 1;

	fake_init(&f, 0);
	put_rec(&f, PERF_RECORD_SAMPLE, 24, 1);
	put_rec(&f, PERF_RECORD_MMAP2, 40, 2);
	put_rec(&f, PERF_RECORD_COMM, 16, 3);
	tap_is_u64(pfw_ring_read_init(&f.r), 80, "three records: 80 bytes available");
	while ((h = pfw_ring_read_event(&f.r))) {
		n++;
		good &= payload_is(h, (uint8_t)n);
		pfw_ring_consume(&f.r);
	}
	tap_is_u64(n, 3, "three records read");
	tap_ok(good, "payloads intact");
	tap_is_u64(f.meta->data_tail, 0, "tail not published before read_done");
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, 80, "read_done publishes the tail");
	fake_fini(&f);
}

static void test_wrap(void)
{
	struct fake f;
	const struct perf_event_header *h;

	/* a 64-byte record starting 16 bytes before the end of the data area */
	fake_init(&f, DATA - 16);
	put_rec(&f, PERF_RECORD_SAMPLE, 64, 0x5a);
	pfw_ring_read_init(&f.r);
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && h->size == 64 && payload_is(h, 0x5a), "record wrapping the end is whole");
	tap_ok(h && (const uint8_t *)h == f.r.scratch,
	       "wrapped record comes from the scratch copy");
	pfw_ring_consume(&f.r);
	tap_ok(pfw_ring_read_event(&f.r) == NULL, "nothing after the wrapped record");
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, DATA - 16 + 64, "tail counts past the end (free running)");

	/* wrapping by a single u64: the smallest overhang must not be read in place */
	fake_fini(&f);
	fake_init(&f, DATA - 16);
	put_rec(&f, PERF_RECORD_SAMPLE, 24, 0x3c);
	pfw_ring_read_init(&f.r);
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && h->size == 24 && payload_is(h, 0x3c), "record wrapping by 8 bytes is whole");
	pfw_ring_consume(&f.r);
	pfw_ring_read_done(&f.r);

	/* a record ending exactly at the end is read in place */
	fake_fini(&f);
	fake_init(&f, DATA - 32);
	put_rec(&f, PERF_RECORD_SAMPLE, 32, 0x11);
	put_rec(&f, PERF_RECORD_SAMPLE, 32, 0x22);
	pfw_ring_read_init(&f.r);
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && (const uint8_t *)h == f.data + DATA - 32 && payload_is(h, 0x11),
	       "record ending at the end is read in place");
	pfw_ring_consume(&f.r);
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && (const uint8_t *)h == f.data && payload_is(h, 0x22),
	       "next record starts at offset 0");
	pfw_ring_consume(&f.r);
	pfw_ring_read_done(&f.r);
	fake_fini(&f);
}

static void test_u64_wrap(void)
{
	struct fake f;
	const struct perf_event_header *h;
	uint64_t start = (uint64_t)-48; /* 8-aligned, 48 bytes before 2^64 */
	int n = 0, good = 1;

	fake_init(&f, start);
	for (int i = 1; i <= 4; i++)
		put_rec(&f, PERF_RECORD_SAMPLE, 32, (uint8_t)i);
	tap_is_u64(f.meta->data_head, 80, "head wrapped around 2^64");
	tap_is_u64(pfw_ring_read_init(&f.r), 128, "available across the 2^64 wrap");
	while ((h = pfw_ring_read_event(&f.r))) {
		n++;
		good &= payload_is(h, (uint8_t)n);
		pfw_ring_consume(&f.r);
	}
	tap_ok(n == 4 && good, "all records across the 2^64 wrap, in order");
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, 80, "tail wrapped around 2^64 too");
	tap_is_u64(f.r.malformed, 0, "no record rejected at the 2^64 wrap");
	fake_fini(&f);
}

static void test_malformed(void)
{
	static const struct {
		uint16_t size;
		const char *what;
	} bad[] = {
		{0, "size 0 (would loop forever)"},
		{4, "size smaller than the header"},
		{12, "size not a multiple of 8"},
		{200, "size larger than what was published"},
	};
	struct fake f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct perf_event_header h = {.type = PERF_RECORD_SAMPLE, .size = bad[i].size};
		uint8_t rec[32] = {0};

		fake_init(&f, 0);
		put_rec(&f, PERF_RECORD_SAMPLE, 16, 9);
		memcpy(rec, &h, sizeof(h));
		put(&f, rec, sizeof(rec));
		put_rec(&f, PERF_RECORD_SAMPLE, 16, 9);
		pfw_ring_read_init(&f.r);
		tap_ok(pfw_ring_read_event(&f.r) != NULL, "good record before a bad one");
		pfw_ring_consume(&f.r);
		tap_ok(pfw_ring_read_event(&f.r) == NULL && f.r.malformed == 1, "rejected: %s",
		       bad[i].what);
		pfw_ring_read_done(&f.r);
		tap_is_u64(f.meta->data_tail, f.meta->data_head, "resynced to the head");
		/* the stream goes on after the resync */
		put_rec(&f, PERF_RECORD_COMM, 24, 7);
		pfw_ring_read_init(&f.r);
		{
			const struct perf_event_header *n = pfw_ring_read_event(&f.r);

			tap_ok(n && n->type == PERF_RECORD_COMM && payload_is(n, 7),
			       "next pass reads new records after the resync");
		}
		pfw_ring_consume(&f.r);
		pfw_ring_read_done(&f.r);
		fake_fini(&f);
	}

	/* larger than the whole buffer: the kernel can never have written it */
	fake_init(&f, 0);
	f.meta->data_head = 2 * DATA; /* an impossible head: more than the ring holds */
	pfw_ring_read_init(&f.r);
	tap_ok(pfw_ring_read_event(&f.r) == NULL && f.r.malformed == 1,
	       "head more than a ring ahead of the tail is rejected");
	fake_fini(&f);
}

static void test_lost(void)
{
	struct fake f;
	const struct perf_event_header *h;
	uint8_t rec[40];
	struct perf_event_header hdr = {.type = PERF_RECORD_LOST, .size = 40};
	uint64_t id = 77, n = 123, m = 5;
	int seen = 0;

	fake_init(&f, DATA - 24); /* the LOST record wraps: its counter is read from scratch */
	memset(rec, 0, sizeof(rec));
	memcpy(rec, &hdr, sizeof(hdr));
	memcpy(rec + 8, &id, 8);
	memcpy(rec + 16, &n, 8);
	put(&f, rec, sizeof(rec));
	hdr.type = PERF_RECORD_LOST_SAMPLES;
	hdr.size = 16;
	memcpy(rec, &hdr, sizeof(hdr));
	memcpy(rec + 8, &m, 8);
	put(&f, rec, 16);
	pfw_ring_read_init(&f.r);
	while ((h = pfw_ring_read_event(&f.r))) {
		seen++;
		pfw_ring_consume(&f.r);
	}
	pfw_ring_read_done(&f.r);
	tap_is_u64(seen, 2, "LOST records are returned to the caller");
	tap_is_u64(f.r.lost, 128, "PERF_RECORD_LOST + LOST_SAMPLES counted");
	fake_fini(&f);
}

static void test_partial(void)
{
	struct fake f;
	const struct perf_event_header *h;

	fake_init(&f, 0);
	put_rec(&f, PERF_RECORD_SAMPLE, 16, 1);
	put_rec(&f, PERF_RECORD_SAMPLE, 16, 2);
	pfw_ring_read_init(&f.r);
	h = pfw_ring_read_event(&f.r);
	pfw_ring_consume(&f.r);
	h = pfw_ring_read_event(&f.r); /* read but not consumed */
	(void)h;
	/* the kernel writes after the snapshot: not part of this pass */
	put_rec(&f, PERF_RECORD_SAMPLE, 16, 3);
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, 16, "an unconsumed record is not given back");
	tap_is_u64(pfw_ring_read_init(&f.r), 32, "next pass starts at the unconsumed record");
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && payload_is(h, 2), "unconsumed record is read again");
	pfw_ring_consume(&f.r);
	h = pfw_ring_read_event(&f.r);
	tap_ok(h && payload_is(h, 3), "then the one written after the snapshot");
	pfw_ring_consume(&f.r);
	pfw_ring_read_done(&f.r);
	tap_is_u64(f.meta->data_tail, 48, "all consumed");
	fake_fini(&f);
}

static void test_init_checks(void)
{
	struct fake f;
	struct pfw_ring r;

	fake_init(&f, 0);
	tap_is_u64(pfw_ring_init(&r, f.mem, PAGE, 100), (uint64_t)-EINVAL,
		   "data size not a power of two is refused");
	tap_is_u64(pfw_ring_init(&r, f.mem, PAGE, DATA * 2), (uint64_t)-EINVAL,
		   "data size disagreeing with the kernel's data_size is refused");
	f.meta->data_size = 0; /* before 4.1: data right after the meta page */
	f.meta->data_offset = 0;
	tap_is_u64(pfw_ring_init(&r, f.mem, PAGE, DATA), 0, "pre-4.1 meta page accepted");
	tap_ok(r.data == f.mem + PAGE, "pre-4.1: data follows the meta page");
	pfw_ring_fini(&r);
	fake_fini(&f);
}

int main(void)
{
	test_empty();
	test_in_order();
	test_wrap();
	test_u64_wrap();
	test_malformed();
	test_lost();
	test_partial();
	test_init_checks();
	return tap_done();
}
