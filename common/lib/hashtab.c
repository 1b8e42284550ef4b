// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The hash tables of hashtab.h. Both kinds share one core that sees an
 * entry as bytes and asks the kind for its hash and whether it is used;
 * only the lookups, which are inline in the header, know the layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"

#define HT_MIN_CAP 64

struct ht_kind {
	size_t size;
	uint64_t (*hash)(const void *e);
	bool (*used)(const void *e);
};

static uint64_t hent_hash(const void *p)
{
	const struct pfw_hent *e = p;

	return pfw_hash_u64x3(e->k[0], e->k[1], e->k[2]);
}

static bool hent_used(const void *p)
{
	const struct pfw_hent *e = p;

	return e->k[0] | e->k[1] | e->k[2];
}

static uint64_t sent_hash(const void *p)
{
	return ((const struct pfw_sent *)p)->h;
}

static bool sent_used(const void *p)
{
	return ((const struct pfw_sent *)p)->s != NULL;
}

static const struct ht_kind u64_kind = {sizeof(struct pfw_hent), hent_hash, hent_used};
static const struct ht_kind str_kind = {sizeof(struct pfw_sent), sent_hash, sent_used};

static inline void *slot(void *base, const struct ht_kind *k, size_t i)
{
	return (char *)base + i * k->size;
}

/* the first free slot of @h's probe run */
static size_t ht_place(void *base, size_t cap, const struct ht_kind *k, uint64_t h)
{
	size_t mask = cap - 1, i;

	for (i = h & mask; k->used(slot(base, k, i)); i = (i + 1) & mask)
		;
	return i;
}

/* rehash @used entries into @ncap slots; on -ENOMEM the table is as it was */
static int ht_resize(void **base, size_t *cap, const struct ht_kind *k, size_t ncap)
{
	void *nb = calloc(ncap, k->size);

	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < *cap; i++) {
		void *e = slot(*base, k, i);

		if (k->used(e))
			memcpy(slot(nb, k, ht_place(nb, ncap, k, k->hash(e))), e, k->size);
	}
	free(*base);
	*base = nb;
	*cap = ncap;
	return 0;
}

/* room for one more in the array (@n entries there now), growing at 3/4 */
static int ht_room(void **base, size_t *cap, const struct ht_kind *k, size_t n)
{
	if ((n + 1) * 4 <= *cap * 3)
		return 0;
	return ht_resize(base, cap, k, *cap ? *cap * 2 : HT_MIN_CAP);
}

/*
 * Empty slot @i by moving later entries of its run back into the gap
 * (Knuth's algorithm R): an entry moves when its home slot is not
 * cyclically within (i, j]. An iterator that just gave slot @i looks at
 * it again: whatever moved in had not been visited (ht_iter_init()).
 */
static void ht_delete(void *base, size_t cap, const struct ht_kind *k, size_t i,
		      struct pfw_htiter *it)
{
	size_t mask = cap - 1, j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!k->used(slot(base, k, j)))
			break;
		home = k->hash(slot(base, k, j)) & mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(slot(base, k, i), slot(base, k, j), k->size);
		i = j;
	}
	memset(slot(base, k, i), 0, k->size);
	if (it) {
		it->at = (it->at - 1) & mask;
		it->left++;
	}
}

/*
 * Start right after an empty slot (one exists: the array is at most 3/4
 * full) and go once around. No probe run then spans the end of the walk,
 * and a deletion only moves entries backwards within their run, so none is
 * visited twice or skipped.
 */
static void ht_iter_init(const void *base, size_t cap, const struct ht_kind *k,
			 struct pfw_htiter *it)
{
	size_t i = 0;

	it->at = 0;
	it->left = 0;
	if (!cap)
		return;
	while (k->used(slot((void *)base, k, i)))
		i++;
	it->at = (i + 1) & (cap - 1);
	it->left = cap;
}

static void *ht_iter_next(void *base, size_t cap, const struct ht_kind *k, struct pfw_htiter *it,
			  size_t stop)
{
	while (it->left > stop) {
		void *e = slot(base, k, it->at);

		it->at = (it->at + 1) & (cap - 1);
		it->left--;
		if (k->used(e))
			return e;
	}
	return NULL;
}

/* ---- u64 keys ---- */

struct pfw_hent *pfw_hashtab_add(struct pfw_hashtab *t, uint64_t a, uint64_t b, uint64_t c)
{
	struct pfw_hent *e;

	if (!(a | b | c)) {
		t->has_zero = true;
		t->zero.v = 0;
		t->n++;
		return &t->zero;
	}
	if (ht_room((void **)&t->e, &t->cap, &u64_kind, t->n - t->has_zero))
		return NULL;
	e = &t->e[ht_place(t->e, t->cap, &u64_kind, pfw_hash_u64x3(a, b, c))];
	*e = (struct pfw_hent){.k = {a, b, c}, .v = 0};
	t->n++;
	return e;
}

void pfw_hashtab_delete(struct pfw_hashtab *t, struct pfw_hent *e, struct pfw_htiter *it)
{
	t->n--;
	if (e == &t->zero) {
		t->has_zero = false;
		return;
	}
	ht_delete(t->e, t->cap, &u64_kind, (size_t)(e - t->e), it);
}

/* the zero key's entry comes last, after the array: one more step */
void pfw_hashtab_iter_init(const struct pfw_hashtab *t, struct pfw_htiter *it)
{
	ht_iter_init(t->e, t->cap, &u64_kind, it);
	it->left++;
}

struct pfw_hent *pfw_hashtab_iter_next(struct pfw_hashtab *t, struct pfw_htiter *it)
{
	struct pfw_hent *e = ht_iter_next(t->e, t->cap, &u64_kind, it, 1);

	if (e || !it->left)
		return e;
	it->left = 0;
	return t->has_zero ? &t->zero : NULL;
}

void pfw_hashtab_free(struct pfw_hashtab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

int pfw_array_room(void *arrp, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : HT_MIN_CAP;
	void *p, *np;

	if (n < *cap)
		return 0;
	memcpy(&p, arrp, sizeof(p));
	np = realloc(p, ncap * size);
	if (!np)
		return -ENOMEM;
	memcpy(arrp, &np, sizeof(np));
	*cap = ncap;
	return 0;
}

/* ---- string keys ---- */

static struct pfw_sent *str_find(const struct pfw_strtab *t, const char *s, size_t len, uint64_t h)
{
	size_t mask, i;

	if (!t->cap)
		return NULL;
	mask = t->cap - 1;
	for (i = h & mask; t->e[i].s; i = (i + 1) & mask) {
		struct pfw_sent *e = &t->e[i];

		if (e->h == h && e->len == len && !memcmp(e->s, s, len))
			return e;
	}
	return NULL;
}

struct pfw_sent *pfw_strtab_find(const struct pfw_strtab *t, const char *s, size_t len)
{
	return str_find(t, s, len, pfw_hash_bytes(s, len));
}

struct pfw_sent *pfw_strtab_get(struct pfw_strtab *t, const char *s, size_t len, bool *created)
{
	uint64_t h = pfw_hash_bytes(s, len);
	struct pfw_sent *e = str_find(t, s, len, h);
	char *copy;

	*created = false;
	if (e)
		return e;
	if (ht_room((void **)&t->e, &t->cap, &str_kind, t->n))
		return NULL;
	copy = malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	e = &t->e[ht_place(t->e, t->cap, &str_kind, h)];
	*e = (struct pfw_sent){.s = copy, .len = len, .h = h, .v = 0};
	t->n++;
	*created = true;
	return e;
}

const char *pfw_strtab_intern(struct pfw_strtab *t, const char *s, size_t len)
{
	bool created;
	struct pfw_sent *e = pfw_strtab_get(t, s, len, &created);

	return e ? e->s : NULL;
}

void pfw_strtab_delete(struct pfw_strtab *t, struct pfw_sent *e, struct pfw_htiter *it)
{
	free(e->s);
	e->s = NULL;
	t->n--;
	ht_delete(t->e, t->cap, &str_kind, (size_t)(e - t->e), it);
}

void pfw_strtab_iter_init(const struct pfw_strtab *t, struct pfw_htiter *it)
{
	ht_iter_init(t->e, t->cap, &str_kind, it);
}

struct pfw_sent *pfw_strtab_iter_next(struct pfw_strtab *t, struct pfw_htiter *it)
{
	return ht_iter_next(t->e, t->cap, &str_kind, it, 0);
}

void pfw_strtab_shrink(struct pfw_strtab *t)
{
	size_t ncap = HT_MIN_CAP;

	while (t->n * 4 > ncap * 3)
		ncap *= 2;
	if (ncap < t->cap)
		ht_resize((void **)&t->e, &t->cap, &str_kind, ncap);
}

void pfw_strtab_free(struct pfw_strtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].s);
	free(t->e);
	memset(t, 0, sizeof(*t));
}
