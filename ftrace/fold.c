// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Graph mode: fold a thread's handle_mm_fault attempts into one fault, the
 * way mm_account_fault() counts it (KERNEL-NOTES §1, §2).
 *
 * One #PF is one exceptions:page_fault_* event followed by one or more
 * handle_mm_fault calls (the per-VMA-lock attempt, then mmap-lock
 * attempts after VM_FAULT_RETRY). The fault completes at the first return
 * without RETRY; it is major when that return has VM_FAULT_MAJOR or that
 * attempt ran with FAULT_FLAG_TRIED (the kprobe's flags argument), and it is
 * not counted at all on VM_FAULT_ERROR. A call with regs == NULL (5.9+) is
 * GUP (faultin_page, fixup_user_fault): not a user fault. Without the kprobe,
 * a call on a thread with no open page_fault_* event is taken as GUP.
 *
 * Attempts of one thread never overlap, so an attempt is complete once its
 * return value (kretprobe or funcgraph-retval) and, with function_graph,
 * its funcgraph_exit have both arrived, in whichever order the two return
 * hooks ran.
 *
 * The file comes from the kprobe's BTF-offset fields when it has them,
 * else from mm_filemap_fault (6.12+), else the frontend's maps.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ftrace.h"

#define NBUCKET 1024

struct attempt {
	uint64_t flags, ret, calltime, rettime, ret_ts;
	bool entered, gup, has_ret, has_exit;
};

struct thr {
	struct thr *next;
	struct pfw_ft_fault f;
	struct attempt cur;
	uint64_t first_calltime;
	unsigned attempts;
	bool open, from_pf, has_first_calltime, tried;
};

struct pfw_ft_fold {
	pfw_ft_emit_fn emit;
	void *ctx;
	bool have_kprobe, ret_from_fg, have_fg;
	struct thr *bucket[NBUCKET];
};

struct pfw_ft_fold *pfw_ft_fold_new(pfw_ft_emit_fn emit, void *ctx, bool have_kprobe,
				    bool ret_from_fg, bool have_fg)
{
	struct pfw_ft_fold *f = calloc(1, sizeof(*f));

	if (f) {
		f->emit = emit;
		f->ctx = ctx;
		f->have_kprobe = have_kprobe;
		f->ret_from_fg = ret_from_fg;
		f->have_fg = have_fg;
	}
	return f;
}

void pfw_ft_fold_free(struct pfw_ft_fold *f)
{
	if (!f)
		return;
	for (int i = 0; i < NBUCKET; i++) {
		struct thr *t = f->bucket[i], *n;

		for (; t; t = n) {
			n = t->next;
			free(t);
		}
	}
	free(f);
}

static struct thr *get_thr(struct pfw_ft_fold *f, int32_t tid)
{
	struct thr **p = &f->bucket[(uint32_t)tid % NBUCKET];

	while (*p && (*p)->f.tid != tid)
		p = &(*p)->next;
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (*p)
			(*p)->f.tid = tid;
	}
	return *p;
}

static void open_fault(struct thr *t, uint64_t ts)
{
	int32_t tid = t->f.tid;

	memset(&t->f, 0, sizeof(t->f));
	t->f.tid = tid;
	t->f.ts = ts;
	t->open = true;
	t->attempts = 0;
	t->tried = false;
	t->has_first_calltime = false;
	t->from_pf = false;
}

static void attempt_done(struct pfw_ft_fold *f, struct thr *t)
{
	struct attempt a = t->cur;
	bool major;

	memset(&t->cur, 0, sizeof(t->cur));
	if (a.gup)
		return;
	/* no fault entry on this thread: a GUP call seen without the kprobe, or one we joined late */
	if (!t->open)
		return;
	t->attempts++;
	if (a.has_exit && !t->has_first_calltime) {
		t->first_calltime = a.calltime;
		t->has_first_calltime = true;
	}
	if (a.ret & PFW_VM_FAULT_RETRY) {
		/*
		 * Without the flags argument: the per-VMA-lock attempt sets
		 * TRIED for the retry only when it returned MAJOR; an
		 * mmap-lock retry always does. The first attempt may be
		 * either, so this is a guess only for the second one.
		 */
		if (!f->have_kprobe && ((a.ret & PFW_VM_FAULT_MAJOR) || t->attempts >= 2))
			t->tried = true;
		return;
	}
	t->open = false;
	if (a.ret & PFW_VM_FAULT_ERROR)
		return;
	major = (a.ret & PFW_VM_FAULT_MAJOR) ||
		(f->have_kprobe ? !!(a.flags & PFW_FAULT_FLAG_TRIED) : t->tried);
	t->f.major = major;
	if (f->have_fg && a.has_exit && t->has_first_calltime && a.rettime >= t->first_calltime) {
		t->f.latency_ns = a.rettime - t->first_calltime;
		t->f.has_latency = true;
	} else if (!f->have_fg && a.ret_ts >= t->f.ts) {
		t->f.latency_ns = a.ret_ts - t->f.ts;
		t->f.has_latency = true;
	}
	f->emit(f->ctx, &t->f);
}

static void maybe_done(struct pfw_ft_fold *f, struct thr *t)
{
	if (t->cur.has_ret && (t->cur.has_exit || !f->have_fg))
		attempt_done(f, t);
}

void pfw_ft_fold_feed(struct pfw_ft_fold *f, const struct pfw_ft_rec *r)
{
	struct thr *t;

	switch (r->type) {
	case PFW_FT_PF_KERNEL:
		if (r->addr >> 63)
			return;
		/* fall through */
	case PFW_FT_PF_USER:
		t = get_thr(f, r->tid);
		if (!t)
			return;
		/* an open fault that never returned went the error way (bad_area): uncounted */
		open_fault(t, r->ts);
		memset(&t->cur, 0, sizeof(t->cur));
		t->from_pf = true;
		t->f.addr = r->addr;
		t->f.has_addr = true;
		t->f.user = r->type == PFW_FT_PF_USER;
		t->f.ip = r->ip;
		t->f.has_ip = t->f.user;
		return;
	case PFW_FT_KP_ENTRY:
		t = get_thr(f, r->tid);
		if (!t)
			return;
		memset(&t->cur, 0, sizeof(t->cur));
		t->cur.entered = true;
		t->cur.flags = r->flags;
		t->cur.gup = r->regs == 0;
		if (!t->cur.gup && !t->open) {
			open_fault(t, r->ts);
			t->f.user = !!(r->flags & 0x40); /* FAULT_FLAG_USER */
		}
		if (!t->cur.gup && !t->f.has_addr) {
			t->f.addr = r->addr;
			t->f.has_addr = true;
		}
		/*
		 * The vma's file as the first attempt saw it: read at entry,
		 * since the vma may be gone once the mmap lock drops.
		 */
		if (!t->cur.gup && r->has_file && !t->f.has_file) {
			t->f.has_file = true;
			t->f.dev = r->dev;
			t->f.ino = r->ino;
			t->f.index = r->index;
		}
		return;
	case PFW_FT_FG_EXIT:
		t = get_thr(f, r->tid);
		if (!t)
			return;
		t->cur.has_exit = true;
		t->cur.calltime = r->calltime;
		t->cur.rettime = r->rettime;
		if (f->ret_from_fg && r->has_retval) {
			t->cur.has_ret = true;
			t->cur.ret = r->retval;
			t->cur.ret_ts = r->ts;
		}
		maybe_done(f, t);
		return;
	case PFW_FT_FILEMAP_FAULT:
		/*
		 * 6.12+: filemap_fault() of the attempt running on this
		 * thread names the file by (dev, ino) even when the mapping
		 * is gone by the time the record is read.
		 */
		t = get_thr(f, r->tid);
		if (!t || !t->open || t->cur.gup || t->f.has_file)
			return;
		t->f.has_file = true;
		t->f.dev = r->dev;
		t->f.ino = r->ino;
		t->f.index = r->index;
		return;
	case PFW_FT_KP_RET:
		if (f->ret_from_fg)
			return;
		t = get_thr(f, r->tid);
		if (!t)
			return;
		t->cur.has_ret = true;
		t->cur.ret = r->retval;
		t->cur.ret_ts = r->ts;
		maybe_done(f, t);
		return;
	case PFW_FT_EXIT:
		t = get_thr(f, r->tid);
		if (t) {
			t->open = false;
			memset(&t->cur, 0, sizeof(t->cur));
		}
		return;
	default:
		return;
	}
}

void pfw_ft_fold_flush(struct pfw_ft_fold *f)
{
	/* faults still open at the end never completed inside the trace: not counted */
	(void)f;
}
