// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Raw-record decoding, split from the I/O so it can be unit-tested and
 * fuzzed with made-up records: the events' field pointers are looked up once
 * (tep_find_field) and every record is read through them with bounds checks,
 * never through the text `trace` file.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "ftrace.h"

enum {
	F_ADDR,
	F_IP,
	F_INO,
	F_DEV,
	F_INDEX,
	F_LAST,
	F_ORDER,
	F_SIZE,
	F_CLONE,
	F_PID,
	F_FUNC,
	F_CALLTIME,
	F_RETTIME,
	F_RETVAL,
	F_FLAGS,
	F_REGS,
	F_COMM,
	F_VMF,
	F_START,
	F_PGOFF,
	F_CALLER,
	F_NR,
};

struct ev_desc {
	const char *sys; /* NULL: the kprobe group */
	const char *name;
	/* field names per F_*, NULL when the event has none */
	const char *fields[F_NR];
};

static const struct ev_desc descs[PFW_FT_NR_TYPES] = {
	[PFW_FT_PF_USER] = {"exceptions", "page_fault_user", {[F_ADDR] = "address", [F_IP] = "ip"}},
	[PFW_FT_PF_KERNEL] = {"exceptions",
			      "page_fault_kernel",
			      {[F_ADDR] = "address", [F_IP] = "ip"}},
	[PFW_FT_FILEMAP_FAULT] = {"filemap",
				  "mm_filemap_fault",
				  {[F_INO] = "i_ino", [F_DEV] = "s_dev", [F_INDEX] = "index"}},
	[PFW_FT_MAP_PAGES] = {"filemap",
			      "mm_filemap_map_pages",
			      {[F_INO] = "i_ino",
			       [F_DEV] = "s_dev",
			       [F_INDEX] = "index",
			       [F_LAST] = "last_index"}},
	[PFW_FT_ADD_CACHE] =
		{"filemap",
		 "mm_filemap_add_to_page_cache",
		 {[F_INO] = "i_ino", [F_DEV] = "s_dev", [F_INDEX] = "index", [F_ORDER] = "order"}},
	[PFW_FT_SYNC_RA] =
		{"readahead",
		 "page_cache_sync_ra",
		 {[F_INO] = "i_ino", [F_DEV] = "s_dev", [F_INDEX] = "index", [F_SIZE] = "size"}},
	[PFW_FT_NEWTASK] = {"task",
			    "task_newtask",
			    {[F_PID] = "pid", [F_CLONE] = "clone_flags", [F_COMM] = "comm"}},
	/* newer kernels dropped pid (the renamed task is common_pid then) */
	[PFW_FT_RENAME] = {"task", "task_rename", {[F_PID] = "pid", [F_COMM] = "newcomm"}},
	[PFW_FT_EXEC] = {"sched", "sched_process_exec", {[F_PID] = "pid"}},
	[PFW_FT_EXIT] = {"sched", "sched_process_exit", {[F_PID] = "pid"}},
	[PFW_FT_FG_EXIT] = {"ftrace",
			    "funcgraph_exit",
			    {[F_FUNC] = "func",
			     [F_CALLTIME] = "calltime",
			     [F_RETTIME] = "rettime",
			     [F_RETVAL] = "retval"}},
	/* vmf, ino, dev, start, pgoff only when btf.c found the offsets */
	[PFW_FT_KP_ENTRY] = {NULL,
			     "hmf",
			     {[F_ADDR] = "addr",
			      [F_FLAGS] = "flags",
			      [F_REGS] = "regs",
			      [F_VMF] = "vmf",
			      [F_INO] = "ino",
			      [F_DEV] = "dev",
			      [F_START] = "start",
			      [F_PGOFF] = "pgoff"}},
	[PFW_FT_KP_RET] = {NULL, "hmfr", {[F_RETVAL] = "ret"}},
	[PFW_FT_USTACK] = {"ftrace", "user_stack", {[F_CALLER] = "caller"}},
};

struct ev_cache {
	struct tep_format_field *f[F_NR];
	int id;
	bool present;
};

struct pfw_ft_decoder {
	struct tep_handle *tep;
	struct tep_format_field *common_pid;
	struct tep_format_field *common_preempt;
	struct ev_cache ev[PFW_FT_NR_TYPES];
};

struct pfw_ft_decoder *pfw_ft_decoder_new(struct tep_handle *tep, const char *kprobe_group)
{
	struct pfw_ft_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->tep = tep;
	for (int t = 1; t < PFW_FT_NR_TYPES; t++) {
		const struct ev_desc *ds = &descs[t];
		const char *sys = ds->sys ? ds->sys : kprobe_group;
		struct tep_event *e;

		if (!sys)
			continue;
		e = tep_find_event_by_name(tep, sys, ds->name);
		if (!e)
			continue;
		d->ev[t].id = e->id;
		d->ev[t].present = true;
		for (int f = 0; f < F_NR; f++)
			if (ds->fields[f])
				d->ev[t].f[f] = tep_find_field(e, ds->fields[f]);
		if (!d->common_pid)
			d->common_pid = tep_find_common_field(e, "common_pid");
		if (!d->common_preempt)
			d->common_preempt = tep_find_common_field(e, "common_preempt_count");
	}
	return d;
}

void pfw_ft_decoder_free(struct pfw_ft_decoder *d)
{
	free(d);
}

bool pfw_ft_decoder_has(const struct pfw_ft_decoder *d, enum pfw_ft_type type)
{
	return type > PFW_FT_NONE && type < PFW_FT_NR_TYPES && d->ev[type].present;
}

bool pfw_ft_decoder_fg_retval(const struct pfw_ft_decoder *d)
{
	return d->ev[PFW_FT_FG_EXIT].present && d->ev[PFW_FT_FG_EXIT].f[F_RETVAL];
}

/* a field fully inside the record, read as an unsigned number */
static bool get(const struct tep_record *rec, const struct tep_format_field *f, uint64_t *v)
{
	unsigned long long val;

	if (!f || f->offset < 0 || f->size <= 0 || f->size > 8 ||
	    (long long)f->offset + f->size > rec->size)
		return false;
	if (tep_read_number_field((struct tep_format_field *)f, rec->data, &val))
		return false;
	*v = val;
	return true;
}

/* a char[] field fully inside the record, NUL-terminated into @out */
static void get_str(const struct tep_record *rec, const struct tep_format_field *f, char *out,
		    size_t outlen)
{
	size_t n;

	out[0] = '\0';
	if (!f || f->offset < 0 || f->size <= 0 || (long long)f->offset + f->size > rec->size ||
	    (f->flags & TEP_FIELD_IS_DYNAMIC))
		return;
	n = (size_t)f->size < outlen - 1 ? (size_t)f->size : outlen - 1;
	memcpy(out, (const char *)rec->data + f->offset, n);
	out[n] = '\0';
}

int pfw_ft_decode(const struct pfw_ft_decoder *d, struct tep_record *rec, struct pfw_ft_rec *out)
{
	const struct ev_cache *c = NULL;
	uint64_t v = 0;
	int type, t;

	if (!rec || !rec->data || rec->size < 8)
		return -EINVAL;
	type = tep_data_type(d->tep, rec);
	for (t = 1; t < PFW_FT_NR_TYPES; t++)
		if (d->ev[t].present && d->ev[t].id == type) {
			c = &d->ev[t];
			break;
		}
	if (!c)
		return -ENOENT;

	memset(out, 0, sizeof(*out));
	out->type = t;
	out->ts = rec->ts;
	out->cpu = rec->cpu;
	if (!get(rec, d->common_pid, &v))
		return -EINVAL;
	out->tid = (int32_t)v;
	if (get(rec, d->common_preempt, &v))
		out->preempt = (uint8_t)v;

	switch (t) {
	case PFW_FT_PF_USER:
	case PFW_FT_PF_KERNEL:
		if (!get(rec, c->f[F_ADDR], &out->addr) || !get(rec, c->f[F_IP], &out->ip))
			return -EINVAL;
		break;
	case PFW_FT_FILEMAP_FAULT:
	case PFW_FT_MAP_PAGES:
	case PFW_FT_ADD_CACHE:
	case PFW_FT_SYNC_RA:
		if (!get(rec, c->f[F_INO], &out->ino) || !get(rec, c->f[F_DEV], &v) ||
		    !get(rec, c->f[F_INDEX], &out->index))
			return -EINVAL;
		out->dev = (uint32_t)v;
		out->nr_pages = 1;
		if (t == PFW_FT_MAP_PAGES && get(rec, c->f[F_LAST], &v) && v >= out->index)
			out->nr_pages = v - out->index + 1;
		/* 4.x add_to_page_cache had no order: one base page */
		if (t == PFW_FT_ADD_CACHE && get(rec, c->f[F_ORDER], &v) && v < 32)
			out->nr_pages = 1ull << v;
		if (t == PFW_FT_SYNC_RA && get(rec, c->f[F_SIZE], &v))
			out->nr_pages = v;
		break;
	case PFW_FT_NEWTASK:
		if (!get(rec, c->f[F_PID], &v) || !get(rec, c->f[F_CLONE], &out->clone_flags))
			return -EINVAL;
		out->child = (int32_t)v;
		get_str(rec, c->f[F_COMM], out->comm, sizeof(out->comm));
		break;
	case PFW_FT_RENAME:
		out->child = get(rec, c->f[F_PID], &v) ? (int32_t)v : out->tid;
		get_str(rec, c->f[F_COMM], out->comm, sizeof(out->comm));
		break;
	case PFW_FT_EXEC:
	case PFW_FT_EXIT:
		if (!get(rec, c->f[F_PID], &v))
			return -EINVAL;
		out->child = (int32_t)v;
		break;
	case PFW_FT_FG_EXIT:
		if (!get(rec, c->f[F_FUNC], &out->func) ||
		    !get(rec, c->f[F_CALLTIME], &out->calltime) ||
		    !get(rec, c->f[F_RETTIME], &out->rettime))
			return -EINVAL;
		/* only the first return register; vm_fault_t is 32 bits */
		out->has_retval = get(rec, c->f[F_RETVAL], &out->retval);
		out->retval &= 0xffffffffu;
		break;
	case PFW_FT_KP_ENTRY:
		if (!get(rec, c->f[F_ADDR], &out->addr) || !get(rec, c->f[F_FLAGS], &out->flags) ||
		    !get(rec, c->f[F_REGS], &out->regs))
			return -EINVAL;
		{
			uint64_t vmf, start, pgoff;

			/* ino and dev are garbage when vm_file is NULL (the reads faulted) */
			if (get(rec, c->f[F_VMF], &vmf) && vmf &&
			    get(rec, c->f[F_INO], &out->ino) && get(rec, c->f[F_DEV], &v) &&
			    get(rec, c->f[F_START], &start) && get(rec, c->f[F_PGOFF], &pgoff) &&
			    out->addr >= start) {
				out->dev = (uint32_t)v;
				out->index = pgoff + ((out->addr - start) >> PFW_FT_PAGE_SHIFT);
				out->has_file = true;
			}
		}
		break;
	case PFW_FT_KP_RET:
		if (!get(rec, c->f[F_RETVAL], &out->retval))
			return -EINVAL;
		out->retval &= 0xffffffffu;
		out->has_retval = true;
		break;
	case PFW_FT_USTACK: {
		const struct tep_format_field *f = c->f[F_CALLER];
		unsigned n, es;

		if (!f || f->offset < 0 || f->size <= 0 ||
		    (long long)f->offset + f->size > rec->size)
			return -EINVAL;
		es = f->elementsize ? f->elementsize : 8;
		if (es != 8 && es != 4)
			return -EINVAL;
		n = (unsigned)f->size / es;
		/*
		 * Unused slots are 0 (memset before stack_trace_save_user);
		 * kernels before 5.2 ended the list with ULONG_MAX instead.
		 */
		for (unsigned i = 0; i < n && out->nr_ustack < PFW_FT_USTACK_MAX; i++) {
			uint64_t ip = tep_read_number(
				d->tep, (const char *)rec->data + f->offset + (size_t)i * es,
				(int)es);

			if (!ip || ip == (es == 8 ? UINT64_MAX : UINT32_MAX))
				break;
			out->ustack[out->nr_ustack++] = ip;
		}
		break;
	}
	}
	return 0;
}
