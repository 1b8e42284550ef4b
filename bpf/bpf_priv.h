/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bpf backend's private header: the state one session's backend keeps
 * (struct bpf_priv) and the functions its files call in one another. Only
 * the bpf/ C files include it; the frontend sees pfw_backend_bpf alone (backend.h).
 *
 *   bpf_backend.c  the ops table: open, start, poll, snapshot, stop, close
 *   bpf_probe.c    what the kernel allows: privileges, each mode, features
 *   bpf_load.c     opening, sizing and loading the two objects
 *   bpf_attach.c   attaching (and detaching) each mode's programs
 *   bpf_stream.c   the ring/perf buffer: BPF records into pfw_events
 *   bpf_names.c    naming files: MMAP2 records, /proc, mmap announcements
 *   bpf_rows.c     the in-kernel rows and counters into the aggregation
 */
#ifndef PFW_BPF_PRIV_H
#define PFW_BPF_PRIV_H

#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agg.h"
#include "backend.h"
#include "session.h"

#include "perf/perf_ring.h"
#include "bpf/pfwatch_bpf.h"

struct pfwatch_bpf;	  /* bpf/pfwatch.skel.h */
struct pfwatch_nobtf_bpf; /* bpf/pfwatch_nobtf.skel.h */

enum bpf_mode {
	MODE_FENTRY,
	MODE_KPROBE,
	MODE_TP,
	MODE_KPROBE_NOBTF,
	MODE_NR,
};

/*
 * Recent names, a fixed ring: MMAP2 records (a file's first fault follows
 * its mmap closely) and the rows the exporter forgot (a file faulting again
 * is named without re-reading its process's maps). Fixed, so memory stays
 * flat under any churn.
 */
#define RECENT_NAMES 1024

struct recent_name {
	uint64_t ino;
	uint32_t major, minor, gen;
	char *path;
	/* from an MMAP2 record: where, and when (CLOCK_MONOTONIC); else pid 0 */
	uint32_t pid;
	uint64_t start, end, pgoff, time_ns;
};

/* a kernel row as the exporter's previous snapshot saw it */
struct seen_row {
	uint64_t k1, k2;   /* threads: tid, 0; files: ino, dev << 32 | gen */
	uint64_t total;	   /* major + minor */
	uint64_t since_ns; /* when total last changed */
};

struct bpf_priv {
	struct pfw_session *s;
	struct pfwatch_bpf *skel;     /* every mode but kprobe-nobtf */
	struct pfwatch_nobtf_bpf *nb; /* kprobe-nobtf */
	/* the maps both objects have */
	struct bpf_map *m_events, *m_counters, *m_targets;
	enum bpf_mode mode;
	/* kprobe-nobtf: fd_install() counts per (tgid, fd); -1 without them */
	int fd_gens_fd;
	/* kprobe-nobtf: mmap counts per (tgid, start address), in flight per tgid */
	int mmap_seqs_fd, mmaps_inflight_fd;
	bool ringbuf;
	bool aggregate;
	bool stopped;
	bool follow_forks;
	bool fork_btf; /* follow forks with tp_btf (lockdown), not raw_tp */
	/*
	 * the thread rows live in task storage (pfwatch.bpf.c, thread_slots):
	 * the exit fold and the task iterator, attached before the fault
	 * programs and detached after the last reading
	 */
	bool thread_slots;
	/* why their programs did not load (the load is then retried without) */
	const char *rows_refused;
	char rows_why[256];
	struct bpf_link *rows_exit, *rows_iter;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	struct bpf_link **links;
	size_t nr_links;
	int delivered; /* by the current poll() */
	/*
	 * rows of exited threads, moved out of agg_threads (see pfw_bpf_prune()), and
	 * faults tp streamed because it could not name their file
	 */
	struct pfw_agg *retired;
	/*
	 * (dev, ino, gen) -> path: from PERF_RECORD_MMAP2 (the name in-band,
	 * at mmap time) or at the file's first fault (NEWFILE). The exporter
	 * keeps two generations (see pfw_bpf_read_aggregates()).
	 */
	struct pfw_agg *names;
	struct recent_name recent[RECENT_NAMES];
	unsigned recent_next;
	/* per-CPU dummy perf events delivering MMAP2 records, for the names */
	int *mmap_fds;
	void **mmap_bases;
	struct pfw_ring *mmap_rings;
	int nr_mmap;
	/*
	 * The exporter (--serve, --metrics-file) runs for days: rows that can
	 * count no more (exited threads, idle files) leave the kernel and are
	 * forgotten, instead of piling up in p->retired (see forget_rows()).
	 */
	bool serving;
	struct seen_row *seen_t, *seen_f;
	size_t nseen_t, nseen_f;
	uint64_t last_prune_ns, prune_interval_ns;
	uint64_t nr_pruned;
	uint64_t counters[PFW_BPF_CNT_NR];
	/* (pid, dev, ino) whose maps were re-read for a path: once is enough */
	struct {
		uint64_t ino;
		uint32_t dev;
		int32_t pid;
	} tried[256];
	/* the pid of the last record read (pfw_bpf_track_pid()) */
	uint32_t last_pid;
};

/* "fentry", "kprobe", "tp", "kprobe-nobtf", by enum bpf_mode; NULL-terminated */
extern const char *const pfw_bpf_mode_names[];

static inline long pfw_bpf_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
					   int group, unsigned long fl)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, group, fl);
}

/*
 * A software event (PERF_COUNT_SW_*) sampling every occurrence, disabled
 * until a BPF program is attached to it (libbpf enables it then); @pid and
 * @cpu as perf_event_open(2) takes them.
 */
static inline int pfw_bpf_sw_event(unsigned long long config, pid_t pid, int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = config,
		.sample_period = 1,
		.disabled = 1,
	};

	return (int)pfw_bpf_perf_event_open(&attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* bpf_probe.c */
int pfw_bpf_choose_mode(const struct pfw_opts *opts, char *detail, size_t len);
int pfw_bpf_probe_fentry(char *why, size_t len);
int pfw_bpf_probe_task_iter(char *why, size_t len);
bool pfw_bpf_probe_atomic_fetch(void);
bool pfw_bpf_pid_numbers_flexible(void);

/* bpf_load.c */
extern struct pfw_session *pfw_bpf_libbpf_session;
int pfw_bpf_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);
int pfw_bpf_load(struct bpf_priv *p, char *err, size_t errlen);

/* bpf_attach.c */
int pfw_bpf_attach(struct bpf_priv *p);
void pfw_bpf_detach(struct bpf_priv *p);
void pfw_bpf_detach_rows(struct bpf_priv *p);

/* bpf_stream.c */
int pfw_bpf_stream_open(struct bpf_priv *p, char *err, size_t errlen);
int pfw_bpf_stream_poll(struct bpf_priv *p, int timeout_ms);
void pfw_bpf_stream_consume(struct bpf_priv *p);
void pfw_bpf_stream_close(struct bpf_priv *p);

/* bpf_names.c */
void pfw_bpf_learn_path(struct bpf_priv *p, const struct pfw_bpf_event *e);
void pfw_bpf_track_pid(struct bpf_priv *p, uint32_t pid);
void pfw_bpf_announce_mmap(struct bpf_priv *p, const struct pfw_bpf_event *e);
void pfw_bpf_name_file(struct bpf_priv *p, const struct pfw_bpf_event *e);
const char *pfw_bpf_name_of(const struct bpf_priv *p, uint64_t ino, uint32_t major, uint32_t minor,
			    uint32_t gen);
struct recent_name *pfw_bpf_remember_name(struct bpf_priv *p, uint64_t ino, uint32_t major,
					  uint32_t minor, uint32_t gen, const char *path);
const struct recent_name *pfw_bpf_mapping_at(const struct bpf_priv *p, uint32_t pid, uint64_t addr,
					     uint64_t time_ns);
void pfw_bpf_open_mmaps(struct bpf_priv *p);
void pfw_bpf_drain_mmaps(struct bpf_priv *p);
void pfw_bpf_close_mmaps(struct bpf_priv *p);

/* bpf_rows.c */
void pfw_bpf_read_counters(struct bpf_priv *p);
void pfw_bpf_read_aggregates(struct bpf_priv *p);
void pfw_bpf_prune(struct bpf_priv *p);

#endif /* PFW_BPF_PRIV_H */
