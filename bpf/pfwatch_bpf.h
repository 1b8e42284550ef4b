/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BPF <-> user space wire: records in the event buffer and the
 * in-kernel aggregation maps. No includes: the BPF side gets __u32/__u64
 * from kernel_types.h, user space from <linux/types.h>. Widest members
 * first, no holes, sizes asserted on both sides.
 */
#ifndef PFW_PFWATCH_BPF_H
#define PFW_PFWATCH_BPF_H

#define PFW_BPF_COMM_LEN  16
#define PFW_BPF_MAX_STACK 127 /* = PFW_MAX_STACK */
#define PFW_BPF_HIST	  64  /* = PFW_HIST_BUCKETS */

/* pfw_bpf_event.flags; the same bits as enum pfw_event_flags */
#define PFW_BPF_F_IP	  (1u << 0)
#define PFW_BPF_F_LATENCY (1u << 1)
#define PFW_BPF_F_FILE	  (1u << 2)
#define PFW_BPF_F_COMM	  (1u << 3)
#define PFW_BPF_F_ADDR	  (1u << 4)
#define PFW_BPF_F_USER	  (1u << 5)
/* not a fault: summary mode announcing a new (dev, ino) for path resolution */
#define PFW_BPF_F_NEWFILE (1u << 16)
/*
 * not a fault: kprobe-nobtf announcing a new mapping at addr. From mmap(2)
 * (ksys_mmap_pgoff) ip is its length and offset its file offset in bytes,
 * and with PFW_BPF_F_MMAP_FD ino is the fd it maps; ip == 0 (an ELF loader
 * mapping, vm_mmap_pgoff alone) means re-read the maps.
 */
#define PFW_BPF_F_MMAP	  (1u << 17)
#define PFW_BPF_F_MMAP_FD (1u << 18)
/*
 * a fault tp could not look its vma up for (mmap_lock contended): user
 * space places it by its address among the mappings made before it
 */
#define PFW_BPF_F_NOVMA (1u << 19)
/* with PFW_BPF_F_FILE: the file is shmem (tmpfs, memfd, SysV shm, shared anonymous) */
#define PFW_BPF_F_SHMEM (1u << 20)

/* indexes of the per-CPU "counters" array */
enum pfw_bpf_counter {
	PFW_BPF_CNT_LOST,	/* ring/perf buffer full: record dropped */
	PFW_BPF_CNT_VMA_BUSY,	/* bpf_find_vma() could not take mmap_lock: no file identity */
	PFW_BPF_CNT_AGG_FULL,	/* aggregation map full: a fault not aggregated */
	PFW_BPF_CNT_PAGES_FULL, /* page set full: a fault's page untracked */
	PFW_BPF_CNT_NR,
};

/* target kinds, as in enum pfw_target_kind */
#define PFW_BPF_TARGET_SYSTEM  0
#define PFW_BPF_TARGET_PIDS    1
#define PFW_BPF_TARGET_COMMAND 2

/* one fault, streamed; only the first nr_stack entries of stack[] are sent */
struct pfw_bpf_event {
	__u64 time_ns; /* CLOCK_MONOTONIC at completion */
	__u64 addr;
	__u64 ip;
	__u64 latency_ns;
	__u64 ino;
	__u64 offset; /* byte offset of the page in the file */
	__u32 dev;    /* the kernel's s_dev: major << 20 | minor; with PFW_BPF_F_MMAP the
		       * count of mmaps at addr in this process, this one included */
	__u32 pid;
	__u32 tid;
	__u32 flags; /* PFW_BPF_F_* */
	__u32 kind;  /* 0 minor, 1 major */
	__u32 nr_stack;
	__u32 gen; /* the inode's i_generation with PFW_BPF_F_FILE; with PFW_BPF_F_MMAP_FD its fd's fd_install() count */
	__u32 pad;
	char comm[PFW_BPF_COMM_LEN];
	__u64 stack[PFW_BPF_MAX_STACK];
};

/* thread aggregation: key is the tid (__u32) */
struct pfw_bpf_thread {
	__u64 major, minor;
	__u64 lat_count, lat_total, lat_min, lat_max;
	__u64 cgroup_id; /* the thread's cgroup v2 id when its row was made */
	__u32 pid;
	__u32 pad;
	char comm[PFW_BPF_COMM_LEN];
	/* refaults (file pages), faults on pages the page set could not hold, majors by backing */
	__u64 refaults, untracked;
	__u64 major_file, major_anon, major_shmem;
	/*
	 * A row that began in task storage: when (bpf_ktime_get_ns(); one
	 * thread's rows begin one after another, and a thread reusing a tid
	 * begins after the thread that had it exited). In agg_threads: that of
	 * the last such row folded into it. 0: the row began in agg_threads.
	 */
	__u64 seq;
};

/*
 * A thread's row where it lives in the thread's task storage (the loader's
 * thread_slots): only the thread writes it, a task iterator reads the live
 * ones (these records), and the thread's exit folds it into agg_threads.
 */
enum {
	PFW_BPF_SLOT_NONE,   /* no fault counted yet */
	PFW_BPF_SLOT_LIVE,   /* counting; the iterator reports it */
	PFW_BPF_SLOT_FOLDED, /* the thread exited: its row is in agg_threads */
};

/* where the rows live (the loader's thread_slots): agg_threads, tp_tasks, inflight_tasks */
enum { PFW_BPF_ROWS_HASH, PFW_BPF_ROWS_TP, PFW_BPF_ROWS_HMF };

struct pfw_bpf_thread_slot {
	__u64 id; /* tgid << 32 | tid as pfwatch reports them */
	__u32 state;
	__u32 pad;
	struct pfw_bpf_thread row;
};

/*
 * file aggregation key: dev == 0 && ino == 0 is every anonymous fault. The
 * inode generation tells a new file from a deleted one whose inode number
 * it reuses (tmpfs and ext4 hand numbers out again within seconds).
 */
struct pfw_bpf_file_key {
	__u64 ino;
	__u32 dev;
	__u32 gen;
};

/* per-CPU values, summed (min/max folded) in user space */
struct pfw_bpf_file {
	__u64 major, minor, pages;
	__u64 lat_count, lat_total, lat_min, lat_max;
	__u64 refaults, untracked;
	__u32 shmem; /* the file is shmem (set by every fault on it) */
	__u32 pad;
};

/*
 * The distinct pages: a bitmap per 512 pages (2 MiB of 4 KiB pages) of a
 * file, which decide refaults, or of a process' anonymous memory (ino and
 * dev 0, the tgid in gen), so a fault costs a lookup and an atomic OR, and
 * an insert only for the first page of a chunk.
 */
#define PFW_BPF_CHUNK_SHIFT 9
struct pfw_bpf_chunk_key {
	__u64 ino;
	__u64 chunk; /* page index (in the file, or address >> 12) >> PFW_BPF_CHUNK_SHIFT */
	__u32 dev;
	__u32 gen;
};

struct pfw_bpf_chunk {
	__u64 bits[(1 << PFW_BPF_CHUNK_SHIFT) / 64];
};

_Static_assert(sizeof(struct pfw_bpf_event) == 96 + 8 * PFW_BPF_MAX_STACK, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_thread) == 128, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_thread_slot) == 144, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_file_key) == 16, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_file) == 80, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_chunk_key) == 24, "wire layout");
_Static_assert(sizeof(struct pfw_bpf_chunk) == 64, "wire layout");

#endif
