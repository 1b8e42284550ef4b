// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The views over user stacks: folded (flamegraph.pl / speedscope input, and
 * the --svg flame graph) and callsites (faults per innermost user frame).
 * Both symbolize in the event callback, while the maps still describe the
 * process as it was when it faulted: a later exec or dlclose() would make
 * the same ip mean another function.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "hashtab.h"
#include "log.h"
#include "opts.h"
#include "output.h"
#include "session.h"
#include "symbolize.h"

/* ---- a small string -> counters table shared by both views ---- */
struct ent {
	const char *key; /* the table's copy */
	struct pfw_callsite cs;
};

static struct {
	struct pfw_strtab keys; /* key -> index in e[] */
	struct ent *e;
	size_t cap, n;
	bool oom;
} tab;

static struct ent *tab_get(const char *key)
{
	bool created;
	struct pfw_sent *k = pfw_strtab_get(&tab.keys, key, strlen(key), &created);

	if (!k)
		goto oom;
	if (created) {
		if (pfw_array_room(&tab.e, &tab.cap, tab.n, sizeof(*tab.e))) {
			pfw_strtab_delete(&tab.keys, k, NULL);
			goto oom;
		}
		tab.e[tab.n] = (struct ent){.key = k->s};
		k->v = tab.n++;
	}
	return &tab.e[k->v];
oom:
	tab.oom = true;
	return NULL;
}

static void tab_free(void)
{
	pfw_strtab_free(&tab.keys);
	free(tab.e);
	memset(&tab, 0, sizeof(tab));
}

/* the entries, packed; caller frees the array (not the keys) */
static struct ent *tab_list(void)
{
	struct ent *v = malloc((tab.n ? tab.n : 1) * sizeof(*v));

	if (v && tab.n)
		memcpy(v, tab.e, tab.n * sizeof(*v));
	return v;
}

static void count_into(struct pfw_callsite *c, const struct pfw_event *ev)
{
	c->count++;
	if (ev->kind == PFW_MAJOR)
		c->major++;
	else
		c->minor++;
	if (ev->flags & PFW_EV_LATENCY) {
		c->lat_count++;
		c->lat_total_ns += ev->latency_ns;
		if (ev->latency_ns > c->lat_max_ns)
			c->lat_max_ns = ev->latency_ns;
	}
}

static int stacks_begin(struct pfw_session *s)
{
	(void)s;
	tab_free();
	return 0;
}

/* folded output is read by flamegraph.pl: only JSON gets the run record, others stderr with -v */
static void folded_run(struct pfw_session *s, const struct pfw_run_info *r)
{
	if (s->out->fmt == &pfw_format_json) {
		pfw_view_print_run(s, r);
		return;
	}
	if (pfw_verbose)
		fprintf(stderr,
			"pfwatch: run: backend=%s attach=%s duration_ns=%" PRIu64 " faults=%" PRIu64
			" major=%" PRIu64 " minor=%" PRIu64 " lost=%" PRIu64 "\n",
			r->backend ? r->backend : "-", r->attach ? r->attach : "-", r->duration_ns,
			r->faults, r->major, r->minor, r->lost);
}

/* ---- folded ---- */

/* a frame as flame graph tools read it: no ';' (separator), no control bytes */
static size_t put_name(char *buf, size_t pos, size_t size, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p && pos + 1 < size; p++)
		buf[pos++] = *p == ';' ? ':' : (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;
	buf[pos] = '\0';
	return pos;
}

static void folded_event(struct pfw_session *s, const struct pfw_event *ev)
{
	struct pfw_frame fr[PFW_MAX_STACK];
	size_t n = pfw_stack_frames(s, ev, fr);
	static char key[PFW_MAX_STACK * 256 + 64];
	size_t pos;
	struct ent *e;

	pos = put_name(key, 0, sizeof(key),
		       (ev->flags & PFW_EV_COMM) && ev->comm[0] ? ev->comm : "[unknown]");
	for (size_t i = n; i-- > 0;) {
		const char *name = fr[i].func ? fr[i].func : "[unknown]";

		/*
		 * A frame-pointer walk through code without frame pointers can
		 * run through a hundred unsymbolized words of a stack: one
		 * [unknown] says as much and keeps the flame graph readable.
		 */
		if (!fr[i].func && i + 1 < n && !fr[i + 1].func)
			continue;
		if (pos + 2 >= sizeof(key))
			break;
		key[pos++] = ';';
		pos = put_name(key, pos, sizeof(key), name);
	}
	e = tab_get(key);
	if (e)
		count_into(&e->cs, ev);
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key);
}

static void folded_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	struct ent *v = tab_list();
	size_t n = tab.n;

	if (!v) {
		pfw_err("out of memory");
		s->out->err = ENOMEM;
		return;
	}
	qsort(v, n, sizeof(*v), by_key);
	for (size_t i = 0; i < n; i++)
		s->out->fmt->folded(s->out, v[i].key, v[i].cs.count);
	if (s->opts->svg) {
		const char **keys = malloc((n ? n : 1) * sizeof(*keys));
		uint64_t *counts = malloc((n ? n : 1) * sizeof(*counts));
		char title[256];
		int ret = -ENOMEM;

		snprintf(title, sizeof(title), "%s faults, %s backend",
			 s->opts->faults == PFW_WANT_MAJOR   ? "Major"
			 : s->opts->faults == PFW_WANT_MINOR ? "Minor"
							     : "Page",
			 r->backend ? r->backend : "recorded");
		if (keys && counts) {
			for (size_t i = 0; i < n; i++) {
				keys[i] = v[i].key;
				counts[i] = v[i].cs.count;
			}
			ret = pfw_svg_write(s->opts->svg, title, keys, counts, n);
		}
		if (ret < 0) {
			pfw_err("cannot write the flame graph '%s': %s", s->opts->svg,
				strerror(-ret));
			if (!s->out->err)
				s->out->err = -ret;
		}
		free(keys);
		free(counts);
	}
	free(v);
	if (tab.oom)
		pfw_warn("out of memory: some stacks were not counted");
	folded_run(s, r);
	fflush(s->out->fp);
	pfw_view_check_io(s);
	tab_free();
}

const struct pfw_view pfw_view_folded = {
	.name = "folded",
	.begin = stacks_begin,
	.event = folded_event,
	.end = folded_end,
};

/* ---- callsites ---- */

static void callsites_event(struct pfw_session *s, const struct pfw_event *ev)
{
	struct pfw_frame fr[PFW_MAX_STACK];
	size_t n = pfw_stack_frames(s, ev, fr);
	const struct pfw_frame *f = n ? &fr[0] : NULL;
	char key[8192];
	struct ent *e;

	snprintf(key, sizeof(key), "%s%c%s%c%s%c%u", f && f->func ? f->func : "", 1,
		 f && f->obj ? f->obj : "", 1, f && f->src ? f->src : "", 1, f ? f->line : 0);
	e = tab_get(key);
	if (!e)
		return;
	if (!e->cs.count && f) {
		e->cs.func = f->func;
		e->cs.obj = f->obj ? pfw_sym_intern(f->obj) : NULL;
		e->cs.src = f->src;
		e->cs.line = f->line;
	}
	count_into(&e->cs, ev);
}

static int nullcmp(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int by_count(const void *pa, const void *pb)
{
	const struct pfw_callsite *a = &((const struct ent *)pa)->cs;
	const struct pfw_callsite *b = &((const struct ent *)pb)->cs;
	int c;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->major != b->major)
		return a->major > b->major ? -1 : 1;
	if ((c = nullcmp(a->func, b->func)) || (c = nullcmp(a->src, b->src)))
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return nullcmp(a->obj, b->obj);
}

static void callsites_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	struct ent *v = tab_list();
	struct pfw_callsite *c;
	size_t n = tab.n;

	c = malloc((n ? n : 1) * sizeof(*c));
	if (!v || !c) {
		free(v);
		free(c);
		pfw_err("out of memory");
		s->out->err = ENOMEM;
		return;
	}
	qsort(v, n, sizeof(*v), by_count);
	for (size_t i = 0; i < n; i++)
		c[i] = v[i].cs;
	s->out->fmt->callsites(s->out, c, n);
	free(c);
	free(v);
	pfw_view_print_run(s, r);
	fflush(s->out->fp);
	pfw_view_check_io(s);
	tab_free();
}

const struct pfw_view pfw_view_callsites = {
	.name = "callsites",
	.begin = stacks_begin,
	.event = callsites_event,
	.end = callsites_end,
};
