// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decoding, the time-ordered merge of per-CPU streams and the
 * entry/completion pairing of the perf backend, fed with raw records built
 * byte by byte as the kernel lays them out.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perf/perf_merge.h"
#include "tests/tap.h"

enum { ID_ENTRY = 100, ID_MAJ = 200, ID_MIN = 300 };

struct rb {
	uint8_t buf[4096];
	size_t len;
};

static void rb_u32(struct rb *b, uint32_t v)
{
	memcpy(b->buf + b->len, &v, 4);
	b->len += 4;
}

static void rb_u64(struct rb *b, uint64_t v)
{
	memcpy(b->buf + b->len, &v, 8);
	b->len += 8;
}

static void rb_str(struct rb *b, const char *s)
{
	size_t n = strlen(s) + 1, pad = (n + 7) & ~(size_t)7;

	memset(b->buf + b->len, 0, pad);
	memcpy(b->buf + b->len, s, n);
	b->len += pad;
}

static void rb_begin(struct rb *b)
{
	b->len = sizeof(struct perf_event_header);
}

static const struct perf_event_header *rb_end(struct rb *b, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = {.type = type, .misc = misc, .size = (uint16_t)b->len};

	memcpy(b->buf, &h, sizeof(h));
	return (const struct perf_event_header *)b->buf;
}

/* sample_id trailer: TID, TIME, CPU, IDENTIFIER */
static void rb_sample_id(struct rb *b, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu)
{
	rb_u32(b, pid);
	rb_u32(b, tid);
	rb_u64(b, time);
	rb_u32(b, cpu);
	rb_u32(b, 0);
	rb_u64(b, ID_MAJ);
}

static const struct perf_event_header *sample(struct rb *b, uint64_t id, uint32_t tid,
					      uint64_t time, uint64_t addr, uint32_t cpu,
					      uint16_t misc)
{
	rb_begin(b);
	rb_u64(b, id);
	rb_u64(b, 0x401000 + tid); /* ip */
	rb_u32(b, tid / 10 * 10);  /* pid: tids 10..19 belong to pid 10 */
	rb_u32(b, tid);
	rb_u64(b, time);
	rb_u64(b, addr);
	rb_u32(b, cpu);
	rb_u32(b, 0);
	return rb_end(b, PERF_RECORD_SAMPLE, misc);
}

static void setup(struct pfw_perf_batch *b, bool callchain)
{
	static const struct pfw_perf_id ids[] = {
		{ID_MIN, PFW_PK_MINOR},
		{ID_ENTRY, PFW_PK_ENTRY},
		{ID_MAJ, PFW_PK_MAJOR},
	};

	pfw_perf_batch_init(b, callchain);
	if (pfw_perf_batch_set_ids(b, ids, 3))
		abort();
}

/* collects what flush hands out */
struct got {
	struct pfw_perf_rec r[64];
	char name[64][64];
	uint64_t stack[64][4];
	int n;
};

static void collect(void *ctx, const struct pfw_perf_batch *b, const struct pfw_perf_rec *r)
{
	struct got *g = ctx;

	if (g->n >= 64)
		return;
	g->r[g->n] = *r;
	if (r->kind == PFW_PK_MMAP2)
		snprintf(g->name[g->n], sizeof(g->name[0]), "%s", pfw_perf_rec_name(b, r));
	else
		for (uint32_t i = 0; i < r->var_len && i < 4; i++)
			g->stack[g->n][i] = pfw_perf_rec_stack(b, r)[i];
	g->n++;
}

static void test_decode_sample(void)
{
	struct pfw_perf_batch b;
	struct rb rb;
	struct got g = {.n = 0};

	setup(&b, false);
	tap_is_u64(pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 12, 1000, 0x7f0000001234, 1,
						     PERF_RECORD_MISC_USER)),
		   1, "major sample queued");
	tap_is_u64(pfw_perf_batch_add_raw(&b, sample(&rb, 999, 12, 1001, 0x1000, 1, 0)), 0,
		   "sample of an unknown event id ignored");
	pfw_perf_batch_flush(&b, UINT64_MAX, collect, &g);
	tap_is_u64(g.n, 1, "one record out");
	tap_ok(g.r[0].kind == PFW_PK_MAJOR && g.r[0].pid == 10 && g.r[0].tid == 12 &&
		       g.r[0].time == 1000 && g.r[0].addr == 0x7f0000001234 &&
		       g.r[0].ip == 0x401000 + 12 && g.r[0].cpu == 1 &&
		       g.r[0].misc == PERF_RECORD_MISC_USER,
	       "sample fields decoded in perf_output_sample() order");
	/* truncated: 40 of the 48 bytes */
	sample(&rb, ID_MAJ, 12, 1000, 0x1000, 1, 0);
	rb.len -= 8;
	tap_is_u64(pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_SAMPLE, 0)),
		   (uint64_t)-EINVAL, "truncated sample refused");
	tap_is_u64(b.bad, 1, "and counted");
	pfw_perf_batch_fini(&b);
}

static void test_decode_callchain(void)
{
	struct pfw_perf_batch b;
	struct rb rb;
	struct got g = {.n = 0};

	setup(&b, true);
	sample(&rb, ID_MIN, 11, 50, 0x5000, 0, PERF_RECORD_MISC_USER);
	rb_u64(&rb, 4);
	rb_u64(&rb, (uint64_t)PERF_CONTEXT_USER);
	rb_u64(&rb, 0x401111);
	rb_u64(&rb, 0x402222);
	rb_u64(&rb, 0x403333);
	tap_is_u64(
		pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER)),
		1, "sample with callchain queued");
	pfw_perf_batch_flush(&b, UINT64_MAX, collect, &g);
	tap_ok(g.n == 1 && g.r[0].var_len == 3 && g.stack[0][0] == 0x401111 &&
		       g.stack[0][1] == 0x402222 && g.stack[0][2] == 0x403333,
	       "PERF_CONTEXT_USER skipped, frames innermost first");

	sample(&rb, ID_MIN, 11, 60, 0x5000, 0, 0);
	rb_u64(&rb, 1000); /* more frames than the record holds */
	rb_u64(&rb, 0x401111);
	tap_is_u64(pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_SAMPLE, 0)),
		   (uint64_t)-EINVAL, "callchain longer than its record refused");
	pfw_perf_batch_fini(&b);
}

static const struct perf_event_header *mmap2(struct rb *rb, uint32_t pid, uint64_t time,
					     uint64_t start, const char *name)
{
	rb_begin(rb);
	rb_u32(rb, pid);
	rb_u32(rb, pid);
	rb_u64(rb, start);
	rb_u64(rb, 0x4000); /* len */
	rb_u64(rb, 0x2000); /* pgoff */
	rb_u32(rb, 259);    /* maj */
	rb_u32(rb, 1);	    /* min */
	rb_u64(rb, 123456); /* ino */
	rb_u64(rb, 7);	    /* ino_generation */
	rb_u32(rb, 1);	    /* prot */
	rb_u32(rb, 1);	    /* flags */
	rb_str(rb, name);
	rb_sample_id(rb, pid, pid, time, 0);
	return rb_end(rb, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
}

static void test_decode_sideband(void)
{
	struct pfw_perf_batch b;
	struct rb rb;
	struct got g = {.n = 0};

	setup(&b, false);
	tap_is_u64(pfw_perf_batch_add_raw(&b, mmap2(&rb, 10, 30, 0x7f0000000000, "/data/f")), 1,
		   "MMAP2 queued");
	rb_begin(&rb);
	rb_u32(&rb, 20);
	rb_u32(&rb, 20);
	rb_str(&rb, "workload");
	rb_sample_id(&rb, 20, 20, 20, 1);
	tap_is_u64(pfw_perf_batch_add_raw(
			   &b, rb_end(&rb, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC)),
		   1, "COMM queued");
	rb_begin(&rb);
	rb_u32(&rb, 20); /* pid */
	rb_u32(&rb, 10); /* ppid */
	rb_u32(&rb, 20); /* tid */
	rb_u32(&rb, 10); /* ptid */
	rb_u64(&rb, 10);
	rb_sample_id(&rb, 10, 10, 10, 1);
	tap_is_u64(pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_FORK, 0)), 1, "FORK queued");
	rb_begin(&rb);
	rb_u32(&rb, 20);
	rb_u32(&rb, 10);
	rb_u32(&rb, 21);
	rb_u32(&rb, 20);
	rb_u64(&rb, 40);
	rb_sample_id(&rb, 20, 21, 40, 0);
	tap_is_u64(pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_EXIT, 0)), 1, "EXIT queued");
	rb_begin(&rb);
	rb_u64(&rb, 1);
	rb_u64(&rb, 1);
	rb_sample_id(&rb, 20, 21, 40, 0);
	tap_is_u64(pfw_perf_batch_add_raw(&b, rb_end(&rb, PERF_RECORD_THROTTLE, 0)), 0,
		   "THROTTLE ignored");

	pfw_perf_batch_flush(&b, UINT64_MAX, collect, &g);
	tap_is_u64(g.n, 4, "four side-band records");
	tap_ok(g.r[0].kind == PFW_PK_FORK && g.r[0].pid == 20 && g.r[0].ppid == 10 &&
		       g.r[0].tid == 20 && g.r[0].ptid == 10 && g.r[0].time == 10,
	       "FORK first (time 10), fields decoded");
	tap_ok(g.r[1].kind == PFW_PK_COMM && !strcmp(g.r[1].comm, "workload") &&
		       (g.r[1].misc & PERF_RECORD_MISC_COMM_EXEC) && g.r[1].time == 20,
	       "COMM exec decoded, time from sample_id");
	tap_ok(g.r[2].kind == PFW_PK_MMAP2 && g.r[2].addr == 0x7f0000000000 &&
		       g.r[2].len == 0x4000 && g.r[2].pgoff == 0x2000 && g.r[2].maj == 259 &&
		       g.r[2].min == 1 && g.r[2].ino == 123456 && !strcmp(g.name[2], "/data/f") &&
		       g.r[2].time == 30,
	       "MMAP2 decoded with its filename");
	tap_ok(g.r[3].kind == PFW_PK_EXIT && g.r[3].pid == 20 && g.r[3].tid == 21 &&
		       g.r[3].time == 40,
	       "EXIT decoded");

	/* a filename without its NUL inside the record */
	mmap2(&rb, 10, 30, 0x1000, "/x");
	memset(rb.buf + 8 + 64, 'A', 8);
	tap_is_u64(pfw_perf_batch_add_raw(&b, (const struct perf_event_header *)rb.buf),
		   (uint64_t)-EINVAL, "MMAP2 filename without a NUL refused");
	pfw_perf_batch_fini(&b);
}

static void test_merge_rounds(void)
{
	struct pfw_perf_batch b;
	struct rb rb;
	struct got g = {.n = 0};
	size_t n;
	bool ordered = true;

	setup(&b, false);
	/* round 1: CPU 0's ring then CPU 1's ring, interleaved in time */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 11, 100, 0x1000, 0, 0));
	pfw_perf_batch_add_raw(&b, mmap2(&rb, 10, 300, 0x7f0000000000, "/a/long/enough/name"));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 11, 500, 0x2000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 12, 200, 0x3000, 1, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 12, 400, 0x4000, 1, 0));
	n = pfw_perf_batch_flush(&b, 350, collect, &g);
	tap_is_u64(n, 3, "round 1: only records before the previous round start (350)");
	tap_ok(g.n == 3 && g.r[0].time == 100 && g.r[1].time == 200 && g.r[2].time == 300,
	       "round 1: merged in time order across CPUs");
	tap_is_u64(b.nr, 2, "two records held back");
	/* round 2: a late one from CPU 1, older than what was held back */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 12, 450, 0x5000, 1, 0));
	pfw_perf_batch_add_raw(&b, mmap2(&rb, 10, 460, 0x7f0000100000, "/second/file"));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 13, 900, 0x6000, 0, 0));
	n = pfw_perf_batch_flush(&b, 600, collect, &g);
	tap_is_u64(n, 4, "round 2: four records released");
	tap_ok(g.r[3].time == 400 && g.r[4].time == 450 && g.r[5].time == 460 && g.r[6].time == 500,
	       "round 2: held-back and late records in time order");
	tap_is_str(g.name[5], "/second/file", "filename survives the arena compaction");
	/* stop: everything */
	n = pfw_perf_batch_flush(&b, UINT64_MAX, collect, &g);
	tap_ok(n == 1 && g.r[7].time == 900 && b.nr == 0, "stop flushes the rest");
	for (int i = 1; i < g.n; i++)
		ordered &= g.r[i - 1].time <= g.r[i].time;
	tap_ok(ordered, "the whole output is in time order");

	/* equal times: ring order is kept (an EXIT after the last sample of its thread) */
	g.n = 0;
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 11, 1000, 0xa000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MIN, 11, 1000, 0xb000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 11, 1000, 0xc000, 0, 0));
	pfw_perf_batch_flush(&b, UINT64_MAX, collect, &g);
	tap_ok(g.n == 3 && g.r[0].addr == 0xa000 && g.r[1].addr == 0xb000 && g.r[2].addr == 0xc000,
	       "equal timestamps keep arrival order");
	pfw_perf_batch_fini(&b);
}

/* order only: counts what flush hands out and checks (time, arrival) order */
struct order {
	uint64_t last_time, last_addr, n;
	bool ok;
};

static void order_fn(void *ctx, const struct pfw_perf_batch *b, const struct pfw_perf_rec *r)
{
	struct order *o = ctx;

	(void)b;
	/* addr holds the arrival number: among equal times it must grow */
	if (o->n && (r->time < o->last_time || (r->time == o->last_time && r->addr < o->last_addr)))
		o->ok = false;
	o->last_time = r->time;
	o->last_addr = r->addr;
	o->n++;
}

/*
 * The merge of many rings, each almost sorted (a nested interrupt writes
 * an older time after a newer one), with ties and rounds that hold records
 * back: the natural merge sort must give what a full sort would.
 */
static void test_merge_random(void)
{
	struct pfw_perf_batch b;
	struct rb rb;
	struct order o = {.ok = true};
	uint64_t seed = 42, added = 0, released = 0, t[7] = {0};

	setup(&b, false);
	for (int round = 0; round < 50; round++) {
		for (int cpu = 0; cpu < 7; cpu++) {
			int nr = (int)((seed = seed * 6364136223846793005ull + 1) >> 59);

			for (int i = 0; i < nr; i++) {
				seed = seed * 6364136223846793005ull + 1;
				t[cpu] += (seed >> 60) % 3; /* ties across and within rings */
				/* now and then an older record, as from a nested interrupt */
				pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 11,
								  (seed >> 40) % 11 ? t[cpu]
										  : t[cpu] - (t[cpu] > 2),
								  added++, (uint32_t)cpu, 0));
			}
		}
		uint64_t low = t[0];

		/* what perf's rounds guarantee: nothing older comes later */
		for (int cpu = 1; cpu < 7; cpu++)
			low = t[cpu] < low ? t[cpu] : low;
		released += pfw_perf_batch_flush(&b, low ? low - 1 : 0, order_fn, &o);
	}
	released += pfw_perf_batch_flush(&b, UINT64_MAX, order_fn, &o);
	tap_is_u64(released, added, "random rings: every record released once");
	tap_ok(o.ok && o.n == added, "random rings: time order, ties in arrival order");
	pfw_perf_batch_fini(&b);
}

/* the backend's use of the pieces: merge, then pair in time order */
struct pipe_ctx {
	struct pfw_perf_pair pair;
	uint64_t lat[16];
	bool has[16];
	uint64_t addr[16];
	int n;
};

static void pair_fn(void *ctx, const struct pfw_perf_batch *b, const struct pfw_perf_rec *r)
{
	struct pipe_ctx *c = ctx;

	(void)b;
	if (r->kind == PFW_PK_ENTRY) {
		pfw_perf_pair_entry(&c->pair, r->tid, r->addr, r->time);
	} else if (r->kind == PFW_PK_MAJOR || r->kind == PFW_PK_MINOR) {
		c->addr[c->n] = r->addr;
		c->has[c->n] =
			pfw_perf_pair_complete(&c->pair, r->tid, r->addr, r->time, &c->lat[c->n]);
		c->n++;
	}
}

static void test_pairing_pipeline(void)
{
	struct pfw_perf_batch b;
	struct pipe_ctx c;
	struct rb rb;

	memset(&c, 0, sizeof(c));
	pfw_perf_pair_init(&c.pair);
	setup(&b, false);
	/*
	 * tid 11 enters a major fault on CPU 0 at 1000, sleeps, wakes on
	 * CPU 1 and completes at 51000. CPU 1's ring is read first.
	 */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 11, 51000, 0x7000123, 1, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 12, 2000, 0x8000, 1, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MIN, 12, 2600, 0x8000, 1, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 11, 1000, 0x7000123, 0, 0));
	/* tid 13: an entry that ends in SIGSEGV (no completion), then a real fault */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 13, 3000, 0xdead000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 13, 4000, 0x9000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MIN, 13, 4700, 0x9000, 0, 0));
	/* tid 14: completion without an entry (tracing started mid-fault) */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MAJ, 14, 5000, 0xa000, 0, 0));
	/* tid 15: completion at another address than the pending entry */
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_ENTRY, 15, 6000, 0xb000, 0, 0));
	pfw_perf_batch_add_raw(&b, sample(&rb, ID_MIN, 15, 6500, 0xc000, 0, 0));
	pfw_perf_batch_flush(&b, UINT64_MAX, pair_fn, &c);

	tap_is_u64(c.n, 5, "five completions");
	/* in time order: 12@2600, 13@4700, 14@5000, 15@6500, 11@51000 */
	tap_ok(c.has[0] && c.lat[0] == 600, "minor fault latency exact (600 ns)");
	tap_ok(c.has[1] && c.lat[1] == 700, "after an error-path entry: latency of the real fault");
	tap_ok(!c.has[2], "completion without entry: no latency");
	tap_ok(!c.has[3], "completion at another address: no latency");
	tap_ok(c.has[4] && c.lat[4] == 50000 && c.addr[4] == 0x7000123,
	       "major fault migrating CPUs: latency exact after the merge (50000 ns)");
	tap_is_u64(c.pair.unmatched, 2, "two unmatched entries (SIGSEGV one, wrong address)");
	tap_is_u64(c.pair.nr, 0, "no entry left pending");
	pfw_perf_batch_fini(&b);
	pfw_perf_pair_fini(&c.pair);
}

static void test_pair_table(void)
{
	struct pfw_perf_pair p;
	uint64_t lat = 0;
	bool ok = true;

	pfw_perf_pair_init(&p);
	/* enough tids to force several rehashes, then remove every other */
	for (int32_t t = 1; t <= 5000; t++)
		ok &= pfw_perf_pair_entry(&p, t * 7, (uint64_t)t << 12, (uint64_t)t) == 0;
	tap_ok(ok && p.nr == 5000, "5000 pending entries");
	for (int32_t t = 1; t <= 5000; t += 2)
		pfw_perf_pair_forget(&p, t * 7);
	tap_is_u64(p.nr, 2500, "2500 forgotten (thread exit)");
	for (int32_t t = 2; t <= 5000; t += 2) {
		ok &= pfw_perf_pair_complete(&p, t * 7, (uint64_t)t << 12, (uint64_t)t + 10, &lat);
		ok &= lat == 10;
	}
	tap_ok(ok, "every remaining entry still found after deletions (backward shift)");
	tap_is_u64(p.nr, 0, "table empty");
	tap_ok(!pfw_perf_pair_complete(&p, 14, 2 << 12, 100, &lat), "completed entry is gone");
	pfw_perf_pair_fini(&p);
}

static void test_tidset(void)
{
	struct pfw_perf_tidset t = {0};
	bool ok = true;

	tap_ok(!pfw_perf_tidset_has(&t, 1), "empty set has nothing");
	for (int32_t i = 1; i <= 1000; i++)
		pfw_perf_tidset_add(&t, i * 3);
	pfw_perf_tidset_add(&t, 3);
	for (int32_t i = 1; i <= 3000; i++)
		ok &= pfw_perf_tidset_has(&t, i) == (i % 3 == 0);
	tap_ok(ok && t.nr == 1000, "set membership after growth, duplicates ignored");
	pfw_perf_tidset_fini(&t);
}

int main(void)
{
	test_decode_sample();
	test_decode_callchain();
	test_decode_sideband();
	test_merge_rounds();
	test_merge_random();
	test_pairing_pipeline();
	test_pair_table();
	test_tidset();
	return tap_done();
}
