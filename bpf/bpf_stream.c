// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bpf backend's stream: the ring buffer (perf buffer where the kernel
 * has none) the programs write to, and each record turned into a
 * pfw_event for the session -- or, for mmap announcements and new-file
 * records, handed to the naming (bpf_names.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "agg.h"
#include "maps.h"
#include "session.h"

#include "bpf/bpf_priv.h"

/*
 * The file of a fault the kernel read the vma of, as the process's mapping
 * at the address names it: a mapping made since the maps were last read
 * (its MMAP2 record not yet drained) is asked for once more after a drain,
 * so that its call stack resolves too. NULL: the session decides
 * (pfw_session_emit(), from /proc or the name of the inode).
 */
static const char *mapped_file(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	const struct pfw_mapping *m;

	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			pfw_bpf_drain_mmaps(p);
		m = pfw_maps_find(p->s->maps, (pid_t)e->pid, e->addr);
		if (m && m->file && m->inode == e->ino && m->dev_major == e->dev >> 20 &&
		    m->dev_minor == (e->dev & 0xfffff))
			return m->path;
		if (!p->nr_mmap)
			break;
	}
	return NULL;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct bpf_priv *p = ctx;
	const struct pfw_bpf_event *e = data;
	struct pfw_event ev = {0};
	size_t hdr = sizeof(*e) - sizeof(e->stack);

	if (size < hdr)
		return 0;
	if (e->flags & PFW_BPF_F_MMAP) {
		if (p->s->maps)
			pfw_bpf_announce_mmap(p, e);
		return 0;
	}
	/*
	 * A file we have no name for: from its MMAP2 record, else the maps
	 * read now, once per file and process, before a short-lived mapping
	 * (or process) is gone.
	 */
	if (e->flags & PFW_BPF_F_FILE)
		pfw_bpf_learn_path(p, e);
	if (e->flags & PFW_BPF_F_NEWFILE) {
		pfw_bpf_name_file(p, e);
		return 0;
	}
	/* a fault for the session: its process's mappings, even when it is gone */
	if (e->pid != p->last_pid)
		pfw_bpf_track_pid(p, e->pid);
	if (e->flags & PFW_BPF_F_NOVMA) {
		const struct recent_name *r;

		/* its mmap came before it: the record is in the rings */
		pfw_bpf_drain_mmaps(p);
		r = pfw_bpf_mapping_at(p, e->pid, e->addr, e->time_ns);
		if (r) {
			ev.path = r->path;
			ev.inode = r->ino;
			ev.dev_major = r->major;
			ev.dev_minor = r->minor;
			ev.offset = r->pgoff + ((e->addr & ~(uint64_t)4095) - r->start);
			ev.flags |= PFW_EV_FILE;
		}
	}
	ev.time_ns = e->time_ns;
	ev.addr = e->addr;
	ev.ip = e->ip;
	ev.pid = e->pid;
	ev.tid = e->tid;
	/* PFW_BPF_F_* below bit 16 are the PFW_EV_* bits */
	ev.flags |= e->flags & 0xffff;
	ev.latency_ns = e->latency_ns;
	if (e->flags & PFW_BPF_F_FILE) {
		if (p->s->maps && !(e->flags & PFW_BPF_F_NEWFILE))
			ev.path = mapped_file(p, e);
		ev.inode = e->ino;
		ev.offset = e->offset;
		/* the kernel's internal dev_t: MINORBITS = 20 */
		ev.dev_major = e->dev >> 20;
		ev.dev_minor = e->dev & 0xfffff;
	}
	ev.kind = e->kind ? PFW_MAJOR : PFW_MINOR;
	/*
	 * The kernel's verdict (the superblock's magic) where it read the vma;
	 * kprobe-nobtf's faults and a NOVMA fault are named, and classified,
	 * from the maps.
	 */
	if (e->flags & PFW_BPF_F_FILE)
		ev.backing = e->flags & PFW_BPF_F_SHMEM ? PFW_BACKING_SHMEM : PFW_BACKING_FILE;
	else if (!(e->flags & PFW_BPF_F_NOVMA) && p->mode != MODE_KPROBE_NOBTF)
		ev.backing = PFW_BACKING_ANON;
	memcpy(ev.comm, e->comm, sizeof(ev.comm));
	ev.comm[PFW_COMM_LEN - 1] = '\0';
	if (e->nr_stack && size >= hdr + e->nr_stack * sizeof(__u64)) {
		ev.stack = (const uint64_t *)e->stack;
		ev.nr_stack = e->nr_stack;
	}
	pfw_session_emit(p->s, &ev);
	/*
	 * Counting in the kernel, a fault arrives here only when tp could not
	 * take mmap_lock to name its file: it joins the rows through
	 * p->retired, named by its address (path set by the frontend when it
	 * passed the filters). Its page is not in the kernel's page set: a
	 * later fault on it counts it as distinct once more, and whether it
	 * is a refault is not known (PFW_EV_UNTRACKED: the rows say so).
	 */
	if (p->aggregate && p->retired && ev.path) {
		ev.flags |= PFW_EV_UNTRACKED;
		pfw_agg_add(p->retired, &ev, NULL);
	}
	p->delivered++;
	return 0;
}

static void handle_perf_event(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	handle_event(ctx, data, size);
}

static void handle_perf_lost(void *ctx, int cpu, __u64 n)
{
	struct bpf_priv *p = ctx;

	(void)cpu;
	pfw_session_lost(p->s, n);
}

/* the buffer the programs write to: ring buffer, or perf buffer without one */
int pfw_bpf_stream_open(struct bpf_priv *p, char *err, size_t errlen)
{
	int ret;

	if (p->ringbuf)
		p->rb = ring_buffer__new(bpf_map__fd(p->m_events), handle_event, p, NULL);
	else
		p->pb = perf_buffer__new(bpf_map__fd(p->m_events), 64, handle_perf_event,
					 handle_perf_lost, p, NULL);
	if (!p->rb && !p->pb) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the BPF event buffer: %s", strerror(errno));
		return ret ? ret : -ENOMEM;
	}
	return 0;
}

/* wait up to @timeout_ms for records, and handle them; libbpf's return */
int pfw_bpf_stream_poll(struct bpf_priv *p, int timeout_ms)
{
	if (p->rb)
		return ring_buffer__poll(p->rb, timeout_ms);
	if (p->pb)
		return perf_buffer__poll(p->pb, timeout_ms);
	return 0;
}

/* handle what the buffer holds now, without waiting */
void pfw_bpf_stream_consume(struct bpf_priv *p)
{
	if (p->rb)
		ring_buffer__consume(p->rb);
	else if (p->pb)
		perf_buffer__consume(p->pb);
}

void pfw_bpf_stream_close(struct bpf_priv *p)
{
	ring_buffer__free(p->rb);
	perf_buffer__free(p->pb);
	p->rb = NULL;
	p->pb = NULL;
}
