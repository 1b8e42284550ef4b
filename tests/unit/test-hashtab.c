// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests for common/lib/hashtab.c: insert and lookup, the all-zero
 * key, growth across many keys, keys that share one home slot (a probe run
 * that wraps the end of the array), iteration counts, deletion by backward
 * shift (also while iterating), the string table's copies, and the
 * arrays that the values index.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "tests/tap.h"

#define MANY 100000

static size_t count_u64(struct pfw_hashtab *t, uint64_t *sum)
{
	struct pfw_htiter it;
	struct pfw_hent *e;
	size_t n = 0;

	*sum = 0;
	pfw_hashtab_iter_init(t, &it);
	while ((e = pfw_hashtab_iter_next(t, &it))) {
		n++;
		*sum += e->v;
	}
	return n;
}

static void test_basic(void)
{
	struct pfw_hashtab t = {0};
	struct pfw_hent *e, *f;
	uint64_t sum;
	bool created;

	tap_ok(!pfw_hashtab_find(&t, 1, 2, 3), "empty table: nothing found");
	tap_ok(count_u64(&t, &sum) == 0, "empty table: iteration yields nothing");

	e = pfw_hashtab_get(&t, 1, 2, 3, &created);
	tap_ok(e && created && e->v == 0, "new key: created with v = 0");
	e->v = 42;
	f = pfw_hashtab_get(&t, 1, 2, 3, &created);
	tap_ok(f == e && !created && f->v == 42, "same key: same entry, not created");
	tap_ok(!pfw_hashtab_find(&t, 1, 2, 4) && !pfw_hashtab_find(&t, 3, 2, 1),
	       "every word of the key counts");
	e = pfw_hashtab_add(&t, 3, 2, 1);
	tap_ok(e && e->v == 0 && t.n == 2, "add: a second key, n = 2");
	e->v = 7;

	/* the all-zero key is a key like any other */
	tap_ok(!pfw_hashtab_find(&t, 0, 0, 0), "zero key: absent at first");
	e = pfw_hashtab_get(&t, 0, 0, 0, &created);
	tap_ok(e && created && t.n == 3, "zero key: created, n = 3");
	e->v = 100;
	tap_ok(pfw_hashtab_find(&t, 0, 0, 0) == e, "zero key: found");
	tap_ok(count_u64(&t, &sum) == 3 && sum == 149, "iteration: 3 entries, values sum to 149");
	pfw_hashtab_delete(&t, e, NULL);
	tap_ok(!pfw_hashtab_find(&t, 0, 0, 0) && t.n == 2, "zero key: deleted, n = 2");
	tap_ok(count_u64(&t, &sum) == 2 && sum == 49, "iteration: 2 entries left");
	pfw_hashtab_free(&t);
	tap_ok(!t.cap && !t.n && !pfw_hashtab_find(&t, 1, 2, 3), "free: empty again");
}

static void test_growth(void)
{
	struct pfw_hashtab t = {0};
	size_t bad = 0, i;
	uint64_t sum, want = 0;
	bool created;

	for (i = 0; i < MANY; i++) {
		struct pfw_hent *e = pfw_hashtab_get(&t, i, i * 7 + 1, i >> 3, &created);

		if (!e || !created) {
			bad++;
			continue;
		}
		e->v = i * 3;
		want += i * 3;
	}
	tap_ok(!bad && t.n == MANY, "growth: %d keys inserted, n = %zu", MANY, t.n);
	tap_ok(t.cap == 262144, "growth: capacity 262144 (power of two, at most 3/4 full), is %zu",
	       t.cap);
	for (bad = 0, i = 0; i < MANY; i++) {
		struct pfw_hent *e = pfw_hashtab_find(&t, i, i * 7 + 1, i >> 3);

		if (!e || e->v != i * 3)
			bad++;
		if (pfw_hashtab_find(&t, i, i * 7 + 2, i >> 3))
			bad++;
	}
	tap_ok(!bad, "growth: every key found with its value, no other (%zu wrong)", bad);
	tap_ok(count_u64(&t, &sum) == MANY && sum == want, "growth: iteration visits %d", MANY);

	/* delete the odd ones, look up the rest */
	for (i = 1; i < MANY; i += 2)
		pfw_hashtab_delete(&t, pfw_hashtab_find(&t, i, i * 7 + 1, i >> 3), NULL);
	for (bad = 0, i = 0; i < MANY; i++) {
		struct pfw_hent *e = pfw_hashtab_find(&t, i, i * 7 + 1, i >> 3);

		if (i % 2 ? e != NULL : !e || e->v != i * 3)
			bad++;
	}
	tap_ok(!bad && t.n == MANY / 2, "deletion: %d left, all and only the even ones", MANY / 2);
	pfw_hashtab_free(&t);
}

/*
 * Keys whose home is slot @home of the first 64-slot array: 40 of them
 * (no growth below 48) make one probe run of 40 from @home, which wraps
 * the end of the array when @home is high.
 */
static size_t colliding(uint64_t *keys, size_t want, unsigned home)
{
	size_t n = 0;

	for (uint64_t k = 1; n < want; k++)
		if ((pfw_hash_u64x3(k, 0, 0) & 63) == home)
			keys[n++] = k;
	return n;
}

static void test_collisions(void)
{
	struct pfw_hashtab t = {0};
	uint64_t keys[40], sum;
	unsigned visits[40] = {0};
	struct pfw_htiter it;
	struct pfw_hent *e;
	size_t bad = 0, i, seen = 0;
	bool created;

	colliding(keys, 40, 60);
	for (i = 0; i < 40; i++) {
		e = pfw_hashtab_get(&t, keys[i], 0, 0, &created);
		if (e)
			e->v = i;
	}
	tap_ok(t.n == 40 && t.cap == 64, "collisions: 40 keys of one home slot, no growth");
	for (i = 0; i < 40; i++) {
		e = pfw_hashtab_find(&t, keys[i], 0, 0);
		if (!e || e->v != i)
			bad++;
	}
	tap_ok(!bad, "collisions: every key found along the wrapped run");
	tap_ok(count_u64(&t, &sum) == 40 && sum == 40 * 39 / 2, "collisions: iteration visits 40");

	/* from the middle of the run: later entries move back, none is lost */
	pfw_hashtab_delete(&t, pfw_hashtab_find(&t, keys[5], 0, 0), NULL);
	pfw_hashtab_delete(&t, pfw_hashtab_find(&t, keys[20], 0, 0), NULL);
	for (bad = 0, i = 0; i < 40; i++) {
		e = pfw_hashtab_find(&t, keys[i], 0, 0);
		if (i == 5 || i == 20 ? e != NULL : !e || e->v != i)
			bad++;
	}
	tap_ok(!bad && t.n == 38, "collisions: two deleted mid-run, 38 found");

	/* delete every other one while iterating: each seen exactly once */
	pfw_hashtab_iter_init(&t, &it);
	while ((e = pfw_hashtab_iter_next(&t, &it))) {
		visits[e->v]++;
		seen++;
		if (e->v % 2 == 0)
			pfw_hashtab_delete(&t, e, &it);
	}
	for (bad = 0, i = 0; i < 40; i++)
		if (visits[i] != (i == 5 || i == 20 ? 0 : 1))
			bad++;
	tap_ok(seen == 38 && !bad, "delete while iterating: 38 visits, each entry once (%zu)",
	       seen);
	for (bad = 0, i = 0; i < 40; i++) {
		e = pfw_hashtab_find(&t, keys[i], 0, 0);
		if (i % 2 == 0 || i == 5 ? e != NULL : !e || e->v != i)
			bad++;
	}
	tap_ok(!bad && t.n == 19 && count_u64(&t, &sum) == 19, "19 odd keys left, all found");
	pfw_hashtab_free(&t);
}

static void test_strtab(void)
{
	struct pfw_strtab t = {0};
	struct pfw_htiter it;
	struct pfw_sent *e;
	char buf[64];
	const char *a, *b;
	size_t bad = 0, n = 0, i;
	bool created;

	tap_ok(!pfw_strtab_find(&t, "x", 1), "strtab: empty table finds nothing");
	strcpy(buf, "/usr/lib/libc.so.6");
	a = pfw_strtab_intern(&t, buf, strlen(buf));
	strcpy(buf, "/usr/lib/libm.so.6");
	b = pfw_strtab_intern(&t, buf, strlen(buf));
	tap_ok(a && b && a != b && !strcmp(a, "/usr/lib/libc.so.6"),
	       "strtab: interned copies, independent of the caller's buffer");
	tap_ok(pfw_strtab_intern(&t, "/usr/lib/libc.so.6", 18) == a,
	       "strtab: equal text, same copy");
	tap_ok(pfw_strtab_intern(&t, "/usr/lib/libc.so.6.1", 18) == a,
	       "strtab: @len bounds the key, the copy is NUL-terminated");
	a = pfw_strtab_intern(&t, "a\0b", 3);
	tap_ok(a && a != pfw_strtab_intern(&t, "a", 1) && !memcmp(a, "a\0b", 4),
	       "strtab: bytes after a NUL count");
	tap_ok(pfw_strtab_intern(&t, "", 0) && t.n == 5, "strtab: the empty string, n = 5");

	e = pfw_strtab_get(&t, "callsite", 8, &created);
	tap_ok(e && created && e->v == 0, "strtab get: created with v = 0");
	e->v = 9;
	e = pfw_strtab_get(&t, "callsite", 8, &created);
	tap_ok(e && !created && e->v == 9, "strtab get: found again with its value");
	pfw_strtab_free(&t);

	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "/proc/%zu/maps", i);
		e = pfw_strtab_get(&t, buf, strlen(buf), &created);
		if (!e || !created)
			bad++;
		else
			e->v = i;
	}
	tap_ok(!bad && t.n == 20000 && t.cap == 32768, "strtab growth: 20000 strings in 32768");
	pfw_strtab_iter_init(&t, &it);
	while ((e = pfw_strtab_iter_next(&t, &it))) {
		n++;
		if (e->v % 4)
			pfw_strtab_delete(&t, e, &it);
	}
	tap_ok(n == 20000 && t.n == 5000, "strtab: 20000 visited, 3 in 4 deleted while iterating");
	pfw_strtab_shrink(&t);
	tap_ok(t.cap == 8192, "strtab shrink: 5000 strings in 8192 slots, is %zu", t.cap);
	for (bad = 0, i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "/proc/%zu/maps", i);
		e = pfw_strtab_find(&t, buf, strlen(buf));
		if (i % 4 ? e != NULL : !e || e->v != i)
			bad++;
	}
	tap_ok(!bad, "strtab: the kept ones found after shrinking, the deleted not (%zu)", bad);
	pfw_strtab_free(&t);
	tap_ok(!t.cap && !t.n, "strtab free: empty again");
}

static void test_array_room(void)
{
	uint32_t *v = NULL;
	size_t cap = 0, n, bad = 0;

	for (n = 0; n < 1000; n++) {
		if (pfw_array_room(&v, &cap, n, sizeof(*v))) {
			bad++;
			break;
		}
		v[n] = (uint32_t)n;
	}
	tap_ok(!bad && cap == 1024, "array room: 1000 entries in 1024 (64 doubled), is %zu", cap);
	for (n = 0; n < 1000; n++)
		bad += v[n] != n;
	tap_ok(!bad, "array room: the entries kept across growth");
	free(v);
}

int main(void)
{
	test_basic();
	test_growth();
	test_collisions();
	test_strtab();
	test_array_room();
	return tap_done();
}
