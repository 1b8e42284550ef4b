// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The events-mode classifier, for kernels with neither kprobes nor
 * function_graph: it never sees handle_mm_fault's return value, so it
 * infers major/minor from tracepoints (KERNEL-NOTES §5).
 *
 * A thread's fault window opens at its exceptions:page_fault_user (or
 * page_fault_kernel on a user address: copy_from_user faults count in
 * majflt too) and closes at its next fault entry or its exit. The fault is
 * major when, inside the window, the thread's mm_filemap_fault(dev, ino,
 * index) is followed by that thread inserting a folio covering that index
 * (mm_filemap_add_to_page_cache) or starting sync readahead over it: that
 * is filemap_fault()'s cache-miss branch, which sets VM_FAULT_MAJOR. The
 * retry that follows (VM_FAULT_RETRY after the I/O wait) raises no new
 * page_fault_* event, so it stays the same fault.
 *
 * Not seen: swap-in and shmem majors (no tracepoint; zswap hits are majors
 * without I/O), a mmap-lock retry that the kernel counts as major through
 * FAULT_FLAG_TRIED although the retry hit the cache, GUP faults (no
 * page_fault_* event; they count in majflt). Hence "events (approximate)".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ftrace.h"

#define NBUCKET 1024

enum win_state {
	WIN_NONE,
	WIN_OPEN, /* undecided */
	WIN_DONE, /* already emitted as major; ignore the rest of the window */
};

struct win {
	struct win *next;
	struct pfw_ft_fault f;
	enum win_state state;
	bool have_ff; /* f.dev/ino/index from the window's first mm_filemap_fault */
};

struct pfw_ft_classify {
	pfw_ft_emit_fn emit;
	void *ctx;
	struct win *bucket[NBUCKET];
};

struct pfw_ft_classify *pfw_ft_classify_new(pfw_ft_emit_fn emit, void *ctx)
{
	struct pfw_ft_classify *c = calloc(1, sizeof(*c));

	if (c) {
		c->emit = emit;
		c->ctx = ctx;
	}
	return c;
}

void pfw_ft_classify_free(struct pfw_ft_classify *c)
{
	if (!c)
		return;
	for (int i = 0; i < NBUCKET; i++) {
		struct win *w = c->bucket[i], *n;

		for (; w; w = n) {
			n = w->next;
			free(w);
		}
	}
	free(c);
}

static struct win **slot(struct pfw_ft_classify *c, int32_t tid)
{
	struct win **p = &c->bucket[(uint32_t)tid % NBUCKET];

	while (*p && (*p)->f.tid != tid)
		p = &(*p)->next;
	return p;
}

static struct win *lookup(struct pfw_ft_classify *c, int32_t tid, bool create)
{
	struct win **p = slot(c, tid);

	if (!*p && create) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			(*p)->f.tid = tid;
	}
	return *p;
}

static void close_window(struct pfw_ft_classify *c, struct win *w)
{
	if (w->state == WIN_OPEN) {
		w->f.major = false;
		/* a minor fault's file is the one filemap_fault looked at */
		w->f.has_file = w->have_ff;
		c->emit(c->ctx, &w->f);
	}
	w->state = WIN_NONE;
	w->have_ff = false;
}

static bool covers(const struct win *w, const struct pfw_ft_rec *r)
{
	return w->have_ff && r->dev == w->f.dev && r->ino == w->f.ino && r->index <= w->f.index &&
	       w->f.index - r->index < r->nr_pages;
}

/* user-space addresses have the top bit clear on every 64-bit arch we run on */
static bool user_addr(uint64_t a)
{
	return !(a >> 63);
}

void pfw_ft_classify_feed(struct pfw_ft_classify *c, const struct pfw_ft_rec *r)
{
	struct win *w;

	switch (r->type) {
	case PFW_FT_PF_KERNEL:
		if (!user_addr(r->addr))
			return;
		/* fall through */
	case PFW_FT_PF_USER:
		w = lookup(c, r->tid, true);
		if (!w)
			return;
		close_window(c, w);
		memset(&w->f, 0, sizeof(w->f));
		w->f.tid = r->tid;
		w->f.ts = r->ts;
		w->f.addr = r->addr;
		w->f.has_addr = true;
		w->f.user = r->type == PFW_FT_PF_USER;
		/* page_fault_kernel's ip is a kernel ip: not the user ip the record wants */
		w->f.ip = r->ip;
		w->f.has_ip = w->f.user;
		w->state = WIN_OPEN;
		return;
	case PFW_FT_FILEMAP_FAULT:
		w = lookup(c, r->tid, false);
		if (!w || w->state != WIN_OPEN || w->have_ff)
			return;
		w->have_ff = true;
		w->f.dev = r->dev;
		w->f.ino = r->ino;
		w->f.index = r->index;
		return;
	case PFW_FT_ADD_CACHE:
	case PFW_FT_SYNC_RA:
		w = lookup(c, r->tid, false);
		if (!w || w->state != WIN_OPEN || !covers(w, r))
			return;
		w->f.major = true;
		w->f.has_file = true;
		c->emit(c->ctx, &w->f);
		w->state = WIN_DONE;
		return;
	case PFW_FT_EXIT: {
		struct win **p = slot(c, r->tid);

		if (*p) {
			struct win *dead = *p;

			close_window(c, dead);
			*p = dead->next;
			free(dead);
		}
		return;
	}
	default:
		return;
	}
}

void pfw_ft_classify_flush(struct pfw_ft_classify *c)
{
	for (int i = 0; i < NBUCKET; i++)
		for (struct win *w = c->bucket[i]; w; w = w->next)
			close_window(c, w);
}
