// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Decoding, time-ordered merging and entry/completion pairing of perf
 * records (perf_merge.h). No system calls here: the unit tests run it on
 * synthetic records.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "perf_merge.h"

struct pfw_perf_sort_key {
	uint64_t time;
	uint64_t seq;
	size_t idx;
};

void pfw_perf_batch_init(struct pfw_perf_batch *b, bool callchain)
{
	memset(b, 0, sizeof(*b));
	b->callchain = callchain;
}

void pfw_perf_batch_fini(struct pfw_perf_batch *b)
{
	free(b->recs);
	free(b->arena);
	free(b->arena2);
	free(b->ids);
	free(b->keys);
	free(b->keys2);
	free(b->recs2);
	memset(b, 0, sizeof(*b));
}

static int cmp_id(const void *a, const void *b)
{
	const struct pfw_perf_id *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int pfw_perf_batch_set_ids(struct pfw_perf_batch *b, const struct pfw_perf_id *ids, size_t n)
{
	struct pfw_perf_id *c = malloc((n ? n : 1) * sizeof(*c));

	if (!c)
		return -ENOMEM;
	memcpy(c, ids, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_id);
	free(b->ids);
	b->ids = c;
	b->nr_ids = n;
	return 0;
}

static enum pfw_perf_kind kind_of(const struct pfw_perf_batch *b, uint64_t id)
{
	size_t lo = 0, hi = b->nr_ids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->ids[mid].id == id)
			return b->ids[mid].kind;
		if (b->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return PFW_PK_UNKNOWN;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

int pfw_perf_batch_add(struct pfw_perf_batch *b, const struct pfw_perf_rec *rec, const void *var,
		       size_t var_bytes)
{
	struct pfw_perf_rec *r;
	size_t off = (b->arena_len + 7) & ~(size_t)7;

	if (grow((void **)&b->recs, &b->cap, b->nr + 1, sizeof(*b->recs)))
		return -ENOMEM;
	if (var_bytes && grow((void **)&b->arena, &b->arena_cap, off + var_bytes, 1))
		return -ENOMEM;
	r = &b->recs[b->nr++];
	*r = *rec;
	r->seq = b->seq++;
	if (var_bytes) {
		memcpy(b->arena + off, var, var_bytes);
		r->var_off = (uint32_t)off;
		b->arena_len = off + var_bytes;
	} else {
		r->var_off = 0;
	}
	return 1;
}

/* sample_id trailer of non-sample records: TID, TIME, CPU, IDENTIFIER */
#define SAMPLE_ID_LEN 32

static void parse_sample_id(struct pfw_perf_rec *r, const uint8_t *end)
{
	const uint8_t *p = end - SAMPLE_ID_LEN;

	memcpy(&r->pid, p, 4);
	memcpy(&r->tid, p + 4, 4);
	memcpy(&r->time, p + 8, 8);
	memcpy(&r->cpu, p + 16, 4);
}

static int add_sample(struct pfw_perf_batch *b, struct pfw_perf_rec *r, const uint8_t *p,
		      const uint8_t *end)
{
	uint64_t id, nr = 0, ips[PFW_PERF_MAX_CHAIN];
	size_t n = 0;

	/* IDENTIFIER, IP, TID, TIME, ADDR, CPU: kernel perf_output_sample() order */
	if (end - p < 48)
		return -EINVAL;
	memcpy(&id, p, 8);
	memcpy(&r->ip, p + 8, 8);
	memcpy(&r->pid, p + 16, 4);
	memcpy(&r->tid, p + 20, 4);
	memcpy(&r->time, p + 24, 8);
	memcpy(&r->addr, p + 32, 8);
	memcpy(&r->cpu, p + 40, 4);
	p += 48;
	r->kind = (uint16_t)kind_of(b, id);
	if (r->kind > PFW_PK_MINOR)
		return 0;
	if (b->callchain) {
		if (end - p < 8)
			return -EINVAL;
		memcpy(&nr, p, 8);
		p += 8;
		if (nr > (uint64_t)(end - p) / 8)
			return -EINVAL;
		/* user ips only; PERF_CONTEXT_USER etc. are markers, not frames */
		for (uint64_t i = 0; i < nr && n < PFW_PERF_MAX_CHAIN; i++) {
			uint64_t ip;

			memcpy(&ip, p + i * 8, 8);
			if (ip >= (uint64_t)PERF_CONTEXT_MAX)
				continue;
			ips[n++] = ip;
		}
	}
	r->var_len = (uint32_t)n;
	return pfw_perf_batch_add(b, r, ips, n * sizeof(ips[0]));
}

int pfw_perf_batch_add_raw(struct pfw_perf_batch *b, const struct perf_event_header *hdr)
{
	const uint8_t *p = (const uint8_t *)(hdr + 1);
	const uint8_t *end = (const uint8_t *)hdr + hdr->size;
	struct pfw_perf_rec r;
	size_t n;
	int ret;

	memset(&r, 0, sizeof(r));
	r.misc = hdr->misc;
	switch (hdr->type) {
	case PERF_RECORD_SAMPLE:
		ret = add_sample(b, &r, p, end);
		break;
	case PERF_RECORD_MMAP2:
		/* pid tid addr len pgoff maj min ino ino_gen prot flags = 64 bytes */
		if (end - p < 64 + 8 + SAMPLE_ID_LEN) {
			ret = -EINVAL;
			break;
		}
		parse_sample_id(&r, end);
		r.kind = PFW_PK_MMAP2;
		memcpy(&r.pid, p, 4);
		memcpy(&r.tid, p + 4, 4);
		memcpy(&r.addr, p + 8, 8);
		memcpy(&r.len, p + 16, 8);
		memcpy(&r.pgoff, p + 24, 8);
		/* with attr.build_id this union holds a build id: device unknown */
		if (!(hdr->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			memcpy(&r.maj, p + 32, 4);
			memcpy(&r.min, p + 36, 4);
			memcpy(&r.ino, p + 40, 8);
		}
		p += 64;
		n = strnlen((const char *)p, (size_t)(end - SAMPLE_ID_LEN - p));
		if (p + n >= end - SAMPLE_ID_LEN) {
			ret = -EINVAL;
			break;
		}
		r.var_len = (uint32_t)n + 1;
		ret = pfw_perf_batch_add(b, &r, p, n + 1);
		break;
	case PERF_RECORD_COMM:
		if (end - p < 8 + 8 + SAMPLE_ID_LEN) {
			ret = -EINVAL;
			break;
		}
		parse_sample_id(&r, end);
		r.kind = PFW_PK_COMM;
		memcpy(&r.pid, p, 4);
		memcpy(&r.tid, p + 4, 4);
		n = strnlen((const char *)p + 8, (size_t)(end - SAMPLE_ID_LEN - (p + 8)));
		if (n >= sizeof(r.comm))
			n = sizeof(r.comm) - 1;
		memcpy(r.comm, p + 8, n);
		ret = pfw_perf_batch_add(b, &r, NULL, 0);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		if (end - p < 24 + SAMPLE_ID_LEN) {
			ret = -EINVAL;
			break;
		}
		parse_sample_id(&r, end);
		r.kind = hdr->type == PERF_RECORD_FORK ? PFW_PK_FORK : PFW_PK_EXIT;
		memcpy(&r.pid, p, 4);
		memcpy(&r.ppid, p + 4, 4);
		memcpy(&r.tid, p + 8, 4);
		memcpy(&r.ptid, p + 12, 4);
		ret = pfw_perf_batch_add(b, &r, NULL, 0);
		break;
	default:
		/* LOST/LOST_SAMPLES are counted by the ring reader; THROTTLE etc. unused */
		return 0;
	}
	if (ret == -EINVAL)
		b->bad++;
	return ret;
}

static inline bool key_lt(const struct pfw_perf_sort_key *x, const struct pfw_perf_sort_key *y)
{
	return x->time < y->time || (x->time == y->time && x->seq < y->seq);
}

/*
 * Natural merge sort into @a or @t (returned). A batch is one sorted run per
 * CPU ring (a ring is written in time order but for nested interrupts) plus
 * the sorted tail kept from the last flush, so merging the runs takes
 * log2(runs) passes: qsort() took 10% of pfwatch's CPU under a fault storm.
 */
static struct pfw_perf_sort_key *sort_keys(struct pfw_perf_sort_key *a, struct pfw_perf_sort_key *t,
					   size_t n)
{
	for (;;) {
		size_t i = 0, runs = 0;
		struct pfw_perf_sort_key *x;

		while (i < n) {
			size_t m = i + 1, e, p, q, o;

			while (m < n && !key_lt(&a[m], &a[m - 1]))
				m++;
			e = m;
			if (m < n)
				for (e = m + 1; e < n && !key_lt(&a[e], &a[e - 1]); e++)
					;
			for (p = i, q = m, o = i; p < m && q < e;)
				t[o++] = key_lt(&a[q], &a[p]) ? a[q++] : a[p++];
			while (p < m)
				t[o++] = a[p++];
			while (q < e)
				t[o++] = a[q++];
			runs++;
			i = e;
		}
		x = a;
		a = t;
		t = x;
		if (runs <= 1)
			return a;
	}
}

size_t pfw_perf_batch_flush(struct pfw_perf_batch *b, uint64_t before, pfw_perf_rec_fn fn,
			    void *ctx)
{
	struct pfw_perf_sort_key *k;
	size_t i, done, keep, alen = 0;

	if (!b->nr)
		return 0;
	if (grow((void **)&b->keys, &b->keys_cap, b->nr, sizeof(*b->keys)) ||
	    grow((void **)&b->keys2, &b->keys2_cap, b->nr, sizeof(*b->keys2))) {
		/* cannot sort: arrival order is better than stalling */
		for (i = 0; i < b->nr; i++)
			fn(ctx, b, &b->recs[i]);
		done = b->nr;
		b->nr = 0;
		b->arena_len = 0;
		return done;
	}
	k = b->keys;
	for (i = 0; i < b->nr; i++) {
		k[i].time = b->recs[i].time;
		k[i].seq = b->recs[i].seq;
		k[i].idx = i;
	}
	k = sort_keys(k, b->keys2, b->nr);
	for (done = 0; done < b->nr && k[done].time < before; done++)
		fn(ctx, b, &b->recs[k[done].idx]);
	keep = b->nr - done;
	if (!keep) {
		b->nr = 0;
		b->arena_len = 0;
		return done;
	}
	/* the rest stays, compacted in sorted order (cheaper to re-sort next time) */
	if (grow((void **)&b->recs2, &b->recs2_cap, keep, sizeof(*b->recs2)) ||
	    grow((void **)&b->arena2, &b->arena2_cap, b->arena_len ? b->arena_len : 1, 1)) {
		/* no memory to compact: keep everything, processed ones marked */
		for (i = 0; i < done; i++)
			b->recs[k[i].idx].kind = PFW_PK_UNKNOWN;
		return done;
	}
	for (i = 0; i < keep; i++) {
		struct pfw_perf_rec *r = &b->recs2[i];
		size_t bytes;

		*r = b->recs[k[done + i].idx];
		bytes = r->kind == PFW_PK_MMAP2 ? r->var_len : r->var_len * sizeof(uint64_t);
		if (bytes) {
			alen = (alen + 7) & ~(size_t)7;
			memcpy(b->arena2 + alen, b->arena + r->var_off, bytes);
			r->var_off = (uint32_t)alen;
			alen += bytes;
		}
	}
	{
		struct pfw_perf_rec *t = b->recs;
		size_t tc = b->cap;
		uint8_t *a = b->arena;
		size_t ac = b->arena_cap;

		b->recs = b->recs2;
		b->cap = b->recs2_cap;
		b->recs2 = t;
		b->recs2_cap = tc;
		b->arena = b->arena2;
		b->arena_cap = b->arena2_cap;
		b->arena2 = a;
		b->arena2_cap = ac;
	}
	b->nr = keep;
	b->arena_len = alen;
	return done;
}

/* ---- pairing ---- */

static size_t hash_tid(int32_t tid, size_t cap)
{
	/* Fibonacci hashing: tids are dense and sequential */
	return (size_t)(((uint32_t)tid * 2654435769u) & (uint32_t)(cap - 1));
}

int pfw_perf_pair_init(struct pfw_perf_pair *p)
{
	memset(p, 0, sizeof(*p));
	p->cap = 256;
	p->slots = calloc(p->cap, sizeof(*p->slots));
	return p->slots ? 0 : -ENOMEM;
}

void pfw_perf_pair_fini(struct pfw_perf_pair *p)
{
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

static struct pfw_perf_pair_slot *pair_find(const struct pfw_perf_pair *p, int32_t tid)
{
	size_t i = hash_tid(tid, p->cap);

	for (;;) {
		struct pfw_perf_pair_slot *s = &p->slots[i];

		if (s->tid == tid)
			return s;
		if (!s->tid)
			return NULL;
		i = (i + 1) & (p->cap - 1);
	}
}

static int pair_rehash(struct pfw_perf_pair *p, size_t cap)
{
	struct pfw_perf_pair_slot *old = p->slots, *n = calloc(cap, sizeof(*n));
	size_t oc = p->cap;

	if (!n)
		return -ENOMEM;
	p->slots = n;
	p->cap = cap;
	for (size_t i = 0; i < oc; i++) {
		size_t j;

		if (!old[i].tid)
			continue;
		for (j = hash_tid(old[i].tid, cap); n[j].tid; j = (j + 1) & (cap - 1))
			;
		n[j] = old[i];
	}
	free(old);
	return 0;
}

int pfw_perf_pair_entry(struct pfw_perf_pair *p, int32_t tid, uint64_t addr, uint64_t time)
{
	struct pfw_perf_pair_slot *s = pair_find(p, tid);
	size_t i;

	if (s) {
		/* a thread's faults are sequential: the old one ended in an error path */
		p->unmatched++;
		s->addr = addr;
		s->time = time;
		return 0;
	}
	if ((p->nr + 1) * 2 > p->cap && pair_rehash(p, p->cap * 2))
		return -ENOMEM;
	for (i = hash_tid(tid, p->cap); p->slots[i].tid; i = (i + 1) & (p->cap - 1))
		;
	p->slots[i].tid = tid;
	p->slots[i].addr = addr;
	p->slots[i].time = time;
	p->nr++;
	return 0;
}

static void pair_remove(struct pfw_perf_pair *p, struct pfw_perf_pair_slot *s)
{
	size_t i = (size_t)(s - p->slots), j = i;

	/* backward-shift deletion keeps probe chains intact without tombstones */
	for (;;) {
		size_t h;

		j = (j + 1) & (p->cap - 1);
		if (!p->slots[j].tid)
			break;
		h = hash_tid(p->slots[j].tid, p->cap);
		/* can slot j move to the hole at i? only if h is not in (i, j] cyclically */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			p->slots[i] = p->slots[j];
			i = j;
		}
	}
	memset(&p->slots[i], 0, sizeof(p->slots[i]));
	p->nr--;
}

bool pfw_perf_pair_complete(struct pfw_perf_pair *p, int32_t tid, uint64_t addr, uint64_t time,
			    uint64_t *latency)
{
	struct pfw_perf_pair_slot *s = pair_find(p, tid);
	bool ok;

	if (!s)
		return false;
	ok = s->addr == addr && time >= s->time;
	if (ok)
		*latency = time - s->time;
	else
		p->unmatched++;
	pair_remove(p, s);
	return ok;
}

void pfw_perf_pair_forget(struct pfw_perf_pair *p, int32_t tid)
{
	struct pfw_perf_pair_slot *s = pair_find(p, tid);

	if (s) {
		p->unmatched++;
		pair_remove(p, s);
	}
}

/* ---- tgid set ---- */

static int tidset_insert(int32_t *slots, size_t cap, int32_t tid)
{
	size_t i;

	for (i = hash_tid(tid, cap); slots[i]; i = (i + 1) & (cap - 1))
		if (slots[i] == tid)
			return 0;
	slots[i] = tid;
	return 1;
}

int pfw_perf_tidset_add(struct pfw_perf_tidset *t, int32_t tid)
{
	if ((t->nr + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		int32_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i])
				tidset_insert(n, cap, t->slots[i]);
		free(t->slots);
		t->slots = n;
		t->cap = cap;
	}
	t->nr += (size_t)tidset_insert(t->slots, t->cap, tid);
	return 0;
}

bool pfw_perf_tidset_has(const struct pfw_perf_tidset *t, int32_t tid)
{
	if (!t->cap)
		return false;
	for (size_t i = hash_tid(tid, t->cap); t->slots[i]; i = (i + 1) & (t->cap - 1))
		if (t->slots[i] == tid)
			return true;
	return false;
}

void pfw_perf_tidset_fini(struct pfw_perf_tidset *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
