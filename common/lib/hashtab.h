/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Open-addressing hash tables: linear probing over a power-of-two array at
 * most 3/4 full, deletion by backward shift (no tombstones, so probe runs
 * stay as short as the load allows). Two key kinds, one value each:
 *
 *   struct pfw_hashtab  keys of three u64 words (pass 0 for the unused
 *                       ones); any key, the all-zero one included
 *   struct pfw_strtab   byte strings, copied in and owned by the table
 *
 * The value is one u64 for the caller: an index into its own array, a
 * pointer, a bitmap. An entry pointer is valid until the next insertion
 * (growth moves entries) or deletion. A zeroed struct is an empty table;
 * nothing is allocated until the first insertion. No errors are printed:
 * NULL means out of memory.
 *
 * The lookups are inline: they run once per fault in the aggregation.
 */
#ifndef PFW_HASHTAB_H
#define PFW_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pfw_hent {
	uint64_t k[3];
	uint64_t v;
};

struct pfw_hashtab {
	struct pfw_hent *e; /* cap slots; all-zero k: empty */
	size_t cap, n;	    /* n counts the zero key's entry too */
	bool has_zero;	    /* the all-zero key lives here, not in e[] */
	struct pfw_hent zero;
};

struct pfw_sent {
	char *s; /* NUL-terminated copy; NULL: empty slot */
	size_t len;
	uint64_t h;
	uint64_t v;
};

struct pfw_strtab {
	struct pfw_sent *e;
	size_t cap, n;
};

/*
 * Iteration visits every entry exactly once, also when the caller deletes
 * the entry it was just given (pass the iterator to the delete); inserting
 * while iterating is not allowed.
 */
struct pfw_htiter {
	size_t at, left;
};

/* splitmix64's finalizer over the three words */
static inline uint64_t pfw_hash_u64x3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ull) ^ (c * 0xc2b2ae3d27d4eb4full);

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* FNV-1a */
static inline uint64_t pfw_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* ---- u64 keys ---- */

static inline struct pfw_hent *pfw_hashtab_find(const struct pfw_hashtab *t, uint64_t a, uint64_t b,
						uint64_t c)
{
	size_t mask, i;

	if (!(a | b | c))
		return t->has_zero ? (struct pfw_hent *)&t->zero : NULL;
	if (!t->cap)
		return NULL;
	mask = t->cap - 1;
	for (i = pfw_hash_u64x3(a, b, c) & mask;; i = (i + 1) & mask) {
		struct pfw_hent *e = &t->e[i];

		if (e->k[0] == a && e->k[1] == b && e->k[2] == c)
			return e;
		if (!(e->k[0] | e->k[1] | e->k[2]))
			return NULL;
	}
}

/**
 * pfw_hashtab_add() - insert a key that is not in @t, with v = 0.
 * Return: its entry, or NULL without memory (@t unchanged).
 */
struct pfw_hent *pfw_hashtab_add(struct pfw_hashtab *t, uint64_t a, uint64_t b, uint64_t c);

/* the entry of (a, b, c), added with v = 0 (*@created) when new; NULL without memory */
static inline struct pfw_hent *pfw_hashtab_get(struct pfw_hashtab *t, uint64_t a, uint64_t b,
					       uint64_t c, bool *created)
{
	struct pfw_hent *e = pfw_hashtab_find(t, a, b, c);

	*created = !e;
	if (e)
		return e;
	e = pfw_hashtab_add(t, a, b, c);
	*created = e != NULL;
	return e;
}

/* @e from this table; @it: the iterator that gave @e, or NULL */
void pfw_hashtab_delete(struct pfw_hashtab *t, struct pfw_hent *e, struct pfw_htiter *it);
void pfw_hashtab_iter_init(const struct pfw_hashtab *t, struct pfw_htiter *it);
struct pfw_hent *pfw_hashtab_iter_next(struct pfw_hashtab *t, struct pfw_htiter *it);
/* empty again, memory released */
void pfw_hashtab_free(struct pfw_hashtab *t);

/**
 * pfw_array_room() - room for entry @n in the caller's array that the values
 * index: *@arrp (any pointer type) doubles, from 64, when @n reaches *@cap.
 * Return: 0, or -ENOMEM with the array as it was.
 */
int pfw_array_room(void *arrp, size_t *cap, size_t n, size_t size);

/* ---- string keys ---- */

struct pfw_sent *pfw_strtab_find(const struct pfw_strtab *t, const char *s, size_t len);
/* the entry of @s (copied when new, v = 0, *@created); NULL without memory */
struct pfw_sent *pfw_strtab_get(struct pfw_strtab *t, const char *s, size_t len, bool *created);
/* the table's copy of @s; NULL without memory */
const char *pfw_strtab_intern(struct pfw_strtab *t, const char *s, size_t len);
/* frees @e's copy; @it as for pfw_hashtab_delete() */
void pfw_strtab_delete(struct pfw_strtab *t, struct pfw_sent *e, struct pfw_htiter *it);
void pfw_strtab_iter_init(const struct pfw_strtab *t, struct pfw_htiter *it);
struct pfw_sent *pfw_strtab_iter_next(struct pfw_strtab *t, struct pfw_htiter *it);
/* after many deletions: a smaller array if one holds the rest (kept as is without memory) */
void pfw_strtab_shrink(struct pfw_strtab *t);
/* frees every copy too */
void pfw_strtab_free(struct pfw_strtab *t);

#endif
