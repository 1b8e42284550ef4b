// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bpf backend: loads bpf/pfwatch.bpf.c through its skeleton, picks an
 * attach mode by trying (fentry, kprobe, tp), streams faults from a ring
 * buffer (perf buffer where the kernel has none) or reads the in-kernel
 * aggregation maps for --view=summary. Every kernel object is owned by a
 * file descriptor of this process, so nothing survives its exit, whatever
 * the way it exits; nothing is pinned.
 *
 * This file is the ops table and its glue; bpf_priv.h says which file
 * does what.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "agg.h"
#include "backend.h"
#include "log.h"
#include "opts.h"
#include "session.h"

#include "bpf/bpf_priv.h"
#include "bpf/pfwatch.skel.h"
#include "bpf/pfwatch_nobtf.skel.h"

const char *const pfw_bpf_mode_names[] = {"fentry", "kprobe", "tp", "kprobe-nobtf", NULL};

/* exited threads' rows leave the kernel this often (see pfw_bpf_prune()) */
#define PRUNE_INTERVAL_NS (10 * 1000000000ull)

static void bpf_probe(const struct pfw_opts *opts, struct pfw_probe_result *res)
{
	int m = pfw_bpf_choose_mode(opts, res->detail, sizeof(res->detail));

	res->available = m >= 0;
	snprintf(res->attach, sizeof(res->attach), "%s", m >= 0 ? pfw_bpf_mode_names[m] : "-");
}

static void bpf_close(void *priv);

static int bpf_open(struct pfw_session *s, void **privp, char *err, size_t errlen)
{
	struct bpf_priv *p;
	char detail[PFW_DETAIL_LEN];
	int m, ret;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*privp = p;
	p->s = s;
	p->fd_gens_fd = -1;
	p->mmap_seqs_fd = -1;
	p->mmaps_inflight_fd = -1;
	pfw_bpf_libbpf_session = s;
	m = pfw_bpf_choose_mode(s->opts, detail, sizeof(detail));
	if (m < 0) {
		snprintf(err, errlen, "bpf backend unavailable: %s", detail);
		return m;
	}
	p->mode = m;
	if (detail[0])
		pfw_session_verbose(s, "bpf: using %s; %s", pfw_bpf_mode_names[m], detail);
	else
		pfw_session_verbose(s, "bpf: using %s", pfw_bpf_mode_names[m]);
	/*
	 * Count in the kernel whenever the view needs no per-fault record:
	 * summary and hist read the maps at stop, top and the exporter
	 * (--serve, --metrics-file) through snapshot() at each refresh. File
	 * rows are keyed by (dev, ino, i_generation) and named at their first
	 * fault, so a new file that reuses a deleted file's inode number gets
	 * its own row and name (tests/fleet/churn.sh: thousands of files).
	 */
	p->aggregate = s->opts->view == PFW_VIEW_SUMMARY || s->opts->view == PFW_VIEW_TOP ||
		       s->opts->view == PFW_VIEW_HIST || s->opts->serve || s->opts->metrics_file;
	p->serving = s->opts->serve || s->opts->metrics_file;
	/* hist -v: a histogram per file, and the in-kernel rows hold one per kind */
	if (s->opts->view == PFW_VIEW_HIST && pfw_verbose)
		p->aggregate = false;
	/* the in-kernel rows are keyed by (dev, ino), which kprobe-nobtf cannot see */
	if (m == MODE_KPROBE_NOBTF)
		p->aggregate = false;
	/* refaults need the in-kernel page set; without it user space counts every fault */
	if (p->aggregate && !pfw_bpf_probe_atomic_fetch()) {
		p->aggregate = false;
		pfw_session_verbose(s, "bpf: no BPF atomics (kernel 5.12+): faults counted in user "
				       "space");
	}
	if (p->aggregate) {
		const char *env = getenv("PFW_BPF_PRUNE_MS");

		/* a test hook, so the move is exercised within a short run */
		p->prune_interval_ns =
			env && atoi(env) > 0 ? (uint64_t)atoi(env) * 1000000ull : PRUNE_INTERVAL_NS;
		p->retired = pfw_agg_new();
		p->names = pfw_agg_new();
		if (!p->retired || !p->names) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}

	ret = pfw_bpf_load(p, err, errlen);
	if (ret)
		return ret;

	for (size_t i = 0; i < s->target.nr_pids; i++) {
		__u32 pid = s->target.pids[i];
		__u8 one = 1;

		if (bpf_map__update_elem(p->m_targets, &pid, sizeof(pid), &one, sizeof(one),
					 BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "cannot add pid %u to the BPF target set: %s", pid,
				 strerror(errno));
			return ret;
		}
	}
	if (s->target.kind == PFW_TARGET_COMMAND && s->target.child > 0) {
		__u32 pid = s->target.child;
		__u8 one = 1;

		bpf_map__update_elem(p->m_targets, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
	}

	ret = pfw_bpf_stream_open(p, err, errlen);
	if (ret)
		return ret;
	s->kernel_aggregates = p->aggregate;
	return 0;
}

static int bpf_start(void *priv)
{
	struct bpf_priv *p = priv;

	/*
	 * before the child is released: its first mmap must already be seen
	 * (names for the in-kernel rows; tp's faults whose vma it could not
	 * look up are placed by the mappings as they were made; the files
	 * and frames of a process gone before its faults are read, in every
	 * mode: bpf_names.c). kprobe-nobtf announces mmaps itself.
	 */
	if (p->mode != MODE_KPROBE_NOBTF)
		pfw_bpf_open_mmaps(p);
	return pfw_bpf_attach(p);
}

static int bpf_poll(void *priv, int timeout_ms)
{
	struct bpf_priv *p = priv;
	int ret;

	p->delivered = 0;
	if (!p->rb && !p->pb)
		return 0;
	ret = pfw_bpf_stream_poll(p, timeout_ms);
	if (ret < 0 && ret != -EINTR)
		return ret;
	pfw_bpf_drain_mmaps(p);
	if (p->aggregate && !p->serving && pfw_now_ns() - p->last_prune_ns > p->prune_interval_ns)
		pfw_bpf_prune(p);
	return p->delivered;
}

static int bpf_snapshot(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p || !p->skel || !p->aggregate || p->stopped)
		return 0;
	/* new-file announcements first, so the rows' paths resolve */
	pfw_bpf_stream_consume(p);
	if (!p->serving)
		pfw_bpf_prune(p);
	pfw_bpf_drain_mmaps(p);
	pfw_bpf_read_aggregates(p);
	return 0;
}

static int bpf_stop(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p || p->stopped || (!p->skel && !p->nb))
		return 0;
	p->stopped = true;
	pfw_bpf_detach(p);
	/* the programs are detached: whatever is in the buffer is all there is */
	p->delivered = 0;
	pfw_bpf_stream_consume(p);
	pfw_bpf_read_counters(p);
	if (p->counters[PFW_BPF_CNT_LOST])
		pfw_session_lost(p->s, p->counters[PFW_BPF_CNT_LOST]);
	if (p->counters[PFW_BPF_CNT_VMA_BUSY])
		pfw_session_verbose(p->s,
				    "bpf: %llu faults without file identity (mmap_lock busy), "
				    "resolved by address",
				    (unsigned long long)p->counters[PFW_BPF_CNT_VMA_BUSY]);
	if (p->counters[PFW_BPF_CNT_PAGES_FULL])
		pfw_session_verbose(p->s,
				    "bpf: page set full (PFW_BPF_CHUNKS): %llu faults on "
				    "untracked pages; pages and refaults are lower bounds",
				    (unsigned long long)p->counters[PFW_BPF_CNT_PAGES_FULL]);
	if (p->counters[PFW_BPF_CNT_AGG_FULL]) {
		/* a fault the summary does not hold is a lost one */
		pfw_session_lost(p->s, p->counters[PFW_BPF_CNT_AGG_FULL]);
	}
	if (p->aggregate) {
		pfw_bpf_read_aggregates(p);
		pfw_session_verbose(p->s,
				    "bpf: %llu rows of exited threads moved out of the kernel",
				    (unsigned long long)p->nr_pruned);
	}
	pfw_bpf_detach_rows(p);
	return p->delivered;
}

static void bpf_close(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p)
		return;
	pfw_bpf_detach(p);
	pfw_bpf_detach_rows(p);
	pfw_bpf_stream_close(p);
	pfwatch_bpf__destroy(p->skel);
	pfwatch_nobtf_bpf__destroy(p->nb);
	pfw_agg_free(p->retired);
	pfw_agg_free(p->names);
	for (int i = 0; i < RECENT_NAMES; i++)
		free(p->recent[i].path);
	pfw_bpf_close_mmaps(p);
	free(p->seen_t);
	free(p->seen_f);
	if (pfw_bpf_libbpf_session == p->s)
		pfw_bpf_libbpf_session = NULL;
	free(p);
}

static const char *bpf_attach(void *priv)
{
	struct bpf_priv *p = priv;

	return p ? pfw_bpf_mode_names[p->mode] : "-";
}

const struct pfw_backend pfw_backend_bpf = {
	.name = "bpf",
	.help = "libbpf CO-RE programs on the fault path (fentry, kprobe or perf-event attach)",
	.needs = PFW_BPF_NEEDS,
	.modes = pfw_bpf_mode_names,
	.probe = bpf_probe,
	.open = bpf_open,
	.start = bpf_start,
	.poll = bpf_poll,
	.stop = bpf_stop,
	.close = bpf_close,
	.attach = bpf_attach,
	.snapshot = bpf_snapshot,
};
