// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attaching the loaded programs of the chosen mode, in the order their
 * records must arrive (forks and mmaps before the faults they explain,
 * completions before entries), and detaching them all. Every link is owned
 * by a file descriptor of this process: nothing is pinned, and nothing
 * stays attached after pfwatch exits.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "opts.h"
#include "session.h"

#include "bpf/bpf_priv.h"
#include "bpf/pfwatch.skel.h"
#include "bpf/pfwatch_nobtf.skel.h"

/*
 * kprobe-nobtf's fork probe: on kernel_clone() (5.10+), _do_fork() before,
 * whichever this kernel has.
 */
static const char *fork_function(void)
{
	static const char *const names[] = {"kernel_clone", "_do_fork", NULL};
	char line[256];
	const char *found = NULL;
	FILE *f = fopen("/proc/kallsyms", "re");

	if (!f)
		return names[0];
	while (!found && fgets(line, sizeof(line), f)) {
		char *sym = strrchr(line, ' ');

		if (!sym)
			continue;
		sym++;
		sym[strcspn(sym, "\t\n")] = '\0';
		for (int i = 0; names[i]; i++)
			if (!strcmp(sym, names[i]))
				found = names[i];
	}
	fclose(f);
	return found ? found : names[0];
}

static int add_link(struct bpf_priv *p, struct bpf_link *l)
{
	struct bpf_link **n;

	if (!l)
		return -errno;
	n = realloc(p->links, (p->nr_links + 1) * sizeof(*n));
	if (!n) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	p->links = n;
	p->links[p->nr_links++] = l;
	return 0;
}

/* the thread rows' exit fold and iterator: after the last reading of the rows */
void pfw_bpf_detach_rows(struct bpf_priv *p)
{
	bpf_link__destroy(p->rows_iter);
	bpf_link__destroy(p->rows_exit);
	p->rows_iter = p->rows_exit = NULL;
}

/*
 * Rows in task storage: the exit fold before any row can begin, so none
 * leaves with its thread unfolded
 */
static int attach_rows(struct bpf_priv *p)
{
	p->rows_exit = bpf_program__attach(p->skel->progs.pfw_thread_exit);
	if (!p->rows_exit)
		return -errno;
	p->rows_iter = bpf_program__attach_iter(p->skel->progs.pfw_thread_rows, NULL);
	if (!p->rows_iter)
		return -errno;
	return 0;
}

void pfw_bpf_detach(struct bpf_priv *p)
{
	for (size_t i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	p->links = NULL;
	p->nr_links = 0;
}

/*
 * CPU-wide events, filtered in the kernel: per-task events would need
 * inherit (and then one event per thread of every -p process), while the
 * target set map follows forks for free.
 */
static int attach_sw(struct bpf_priv *p, struct bpf_program *prog, unsigned long long config)
{
	int ncpu = libbpf_num_possible_cpus();
	int ret, fd, attached = 0;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		fd = pfw_bpf_sw_event(config, -1, cpu);
		if (fd < 0) {
			if (errno == ENODEV) /* possible but offline CPU */
				continue;
			return -errno;
		}
		/* the link owns fd from here: bpf_link__destroy() closes it */
		ret = add_link(p, bpf_program__attach_perf_event(prog, fd));
		if (ret) {
			close(fd);
			return ret;
		}
		attached++;
	}
	return attached ? 0 : -ENODEV;
}

/*
 * tp's fault entry: the raw tracepoints exceptions:page_fault_user and
 * _kernel where the kernel has them (x86), else the PAGE_FAULTS software
 * event. PFW_BPF_ENTRY=perf_event forces the latter (a benchmark hook).
 */
static int attach_tp_entry(struct bpf_priv *p)
{
	struct pfwatch_bpf *skel = p->skel;
	const char *env = getenv("PFW_BPF_ENTRY");
	size_t before = p->nr_links;
	int ret = -ENOENT;

	if (!env || strcmp(env, "perf_event")) {
		ret = add_link(p, bpf_program__attach(skel->progs.pfw_tp_entry_user));
		if (!ret)
			ret = add_link(p, bpf_program__attach(skel->progs.pfw_tp_entry_kernel));
		if (!ret) {
			pfw_session_verbose(p->s,
					    "bpf: fault entries from the exceptions tracepoints");
			return 0;
		}
		/* half attached: undo, then the software event */
		while (p->nr_links > before)
			bpf_link__destroy(p->links[--p->nr_links]);
		pfw_session_verbose(p->s,
				    "bpf: no exceptions:page_fault_* raw tracepoints (%s): fault "
				    "entries from the page-faults software event",
				    strerror(-ret));
	}
	return attach_sw(p, skel->progs.pfw_tp_entry, PERF_COUNT_SW_PAGE_FAULTS);
}

static int attach_nobtf(struct bpf_priv *p)
{
	struct pfwatch_nobtf_bpf *nb = p->nb;
	int ret;

	/* mmaps and forks first: their records must precede the faults they explain */
	ret = add_link(p, bpf_program__attach_kprobe(nb->progs.pfw_nb_mmap, true, "vm_mmap_pgoff"));
	if (!ret) {
		/* without it (inlined, renamed) every mmap re-reads the maps, as before */
		int r = add_link(p, bpf_program__attach(nb->progs.pfw_nb_mmap_exit));

		if (!r)
			r = add_link(p, bpf_program__attach(nb->progs.pfw_nb_mmap_enter));
		if (r)
			pfw_session_verbose(p->s,
					    "ksys_mmap_pgoff not probed (%s): short-lived "
					    "mappings may be unnamed",
					    strerror(-r));
	}
	if (!ret) {
		/* without it the fd is trusted as it is read, as before */
		int r = add_link(p, bpf_program__attach(nb->progs.pfw_nb_fd_install));

		if (r)
			pfw_session_verbose(p->s,
					    "fd_install not probed (%s): a reused fd may misname "
					    "a short-lived mapping",
					    strerror(-r));
		else
			p->fd_gens_fd = bpf_map__fd(nb->maps.fd_gens);
		p->mmap_seqs_fd = bpf_map__fd(nb->maps.mmap_seqs);
		p->mmaps_inflight_fd = bpf_map__fd(nb->maps.mmaps_inflight);
	}
	if (!ret && p->follow_forks) {
		ret = add_link(p, bpf_program__attach_kprobe(nb->progs.pfw_nb_fork, true,
							     fork_function()));
		if (!ret)
			ret = add_link(p, bpf_program__attach(nb->progs.pfw_nb_exit));
	}
	if (!ret)
		ret = add_link(p, bpf_program__attach(nb->progs.pfw_nb_kretprobe));
	if (!ret)
		ret = add_link(p, bpf_program__attach(nb->progs.pfw_nb_kprobe));
	return ret;
}

/*
 * The chosen mode's programs, all or none: on failure, what was attached
 * is detached again.
 */
int pfw_bpf_attach(struct bpf_priv *p)
{
	struct pfwatch_bpf *skel = p->skel;
	int ret = 0;

	if (p->mode == MODE_KPROBE_NOBTF) {
		ret = attach_nobtf(p);
		goto out;
	}

	if (p->thread_slots) {
		ret = attach_rows(p);
		if (ret)
			goto out;
	}
	/* before the child is released: its first fork must already be seen */
	if (p->follow_forks) {
		ret = add_link(p, bpf_program__attach(p->fork_btf ? skel->progs.pfw_fork_btf
								  : skel->progs.pfw_fork));
		if (ret)
			goto out;
	}
	switch (p->mode) {
	case MODE_FENTRY:
		ret = add_link(p, bpf_program__attach(p->aggregate ? skel->progs.pfw_fexit_agg
								   : skel->progs.pfw_fexit));
		if (!ret)
			ret = add_link(p, bpf_program__attach(skel->progs.pfw_fentry));
		break;
	case MODE_KPROBE:
		ret = add_link(p, bpf_program__attach(p->aggregate ? skel->progs.pfw_kretprobe_agg
								   : skel->progs.pfw_kretprobe));
		if (!ret)
			ret = add_link(p, bpf_program__attach(skel->progs.pfw_kprobe));
		break;
	case MODE_TP:
		/*
		 * Completions first: an entry without them would only wait in
		 * the map. Only the kinds asked for: in a majors-only run each
		 * minor fault then costs the entry alone.
		 */
		if (p->s->opts->faults & PFW_WANT_MAJOR)
			ret = attach_sw(p,
					p->aggregate ? skel->progs.pfw_tp_major_agg
						     : skel->progs.pfw_tp_major,
					PERF_COUNT_SW_PAGE_FAULTS_MAJ);
		if (!ret && (p->s->opts->faults & PFW_WANT_MINOR))
			ret = attach_sw(p,
					p->aggregate ? skel->progs.pfw_tp_minor_agg
						     : skel->progs.pfw_tp_minor,
					PERF_COUNT_SW_PAGE_FAULTS_MIN);
		if (!ret && !p->s->opts->no_latency)
			ret = attach_tp_entry(p);
		break;
	default:
		ret = -EINVAL;
	}
out:
	if (ret) {
		pfw_session_verbose(p->s, "bpf: attaching %s failed: %s",
				    pfw_bpf_mode_names[p->mode], strerror(-ret));
		pfw_bpf_detach(p);
		pfw_bpf_detach_rows(p);
	}
	return ret;
}
