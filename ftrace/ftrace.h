/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the ftrace backend, shared by its files: instance.c
 * (tracefs state: mount, private instance, top-level save/restore, dynamic
 * events, stale cleanup), decode.c (raw record -> struct pfw_ft_rec),
 * classify.c (events mode: tracepoints -> major/minor), fold.c (graph
 * mode: attempts of handle_mm_fault -> one fault) and btf.c (struct
 * offsets for the kprobe's file fields).
 */
#ifndef PFW_FTRACE_H
#define PFW_FTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tep_handle;
struct tep_record;
struct tep_format_field;
struct tracefs_instance;
struct pfw_session;

/* vm_fault_t bits, stable since 4.x (KERNEL-NOTES §2) */
#define PFW_VM_FAULT_OOM	    0x000001u
#define PFW_VM_FAULT_SIGBUS	    0x000002u
#define PFW_VM_FAULT_MAJOR	    0x000004u
#define PFW_VM_FAULT_HWPOISON	    0x000010u
#define PFW_VM_FAULT_HWPOISON_LARGE 0x000020u
#define PFW_VM_FAULT_SIGSEGV	    0x000040u
#define PFW_VM_FAULT_RETRY	    0x000400u
#define PFW_VM_FAULT_FALLBACK	    0x000800u
#define PFW_VM_FAULT_ERROR                                                                       \
	(PFW_VM_FAULT_OOM | PFW_VM_FAULT_SIGBUS | PFW_VM_FAULT_SIGSEGV | PFW_VM_FAULT_HWPOISON | \
	 PFW_VM_FAULT_HWPOISON_LARGE | PFW_VM_FAULT_FALLBACK)
#define PFW_FAULT_FLAG_TRIED 0x20u

#define PFW_CLONE_THREAD 0x00010000u

/* ---- decode.c ---- */

enum pfw_ft_type {
	PFW_FT_NONE = 0,
	PFW_FT_PF_USER,	      /* exceptions:page_fault_user */
	PFW_FT_PF_KERNEL,     /* exceptions:page_fault_kernel */
	PFW_FT_FILEMAP_FAULT, /* filemap:mm_filemap_fault */
	PFW_FT_MAP_PAGES,     /* filemap:mm_filemap_map_pages */
	PFW_FT_ADD_CACHE,     /* filemap:mm_filemap_add_to_page_cache */
	PFW_FT_SYNC_RA,	      /* readahead:page_cache_sync_ra */
	PFW_FT_NEWTASK,	      /* task:task_newtask */
	PFW_FT_EXEC,	      /* sched:sched_process_exec */
	PFW_FT_EXIT,	      /* sched:sched_process_exit */
	PFW_FT_FG_EXIT,	      /* ftrace:funcgraph_exit */
	PFW_FT_KP_ENTRY,      /* <group>/hmf: kprobe on handle_mm_fault */
	PFW_FT_KP_RET,	      /* <group>/hmfr: kretprobe on handle_mm_fault */
	PFW_FT_RENAME,	      /* task:task_rename (prctl, /proc/TID/comm, exec) */
	PFW_FT_USTACK,	      /* ftrace:user_stack, after each event with options/userstacktrace */
	PFW_FT_NR_TYPES,
};

/*
 * A user_stack record holds FTRACE_STACK_ENTRIES (8, every version since
 * 2.6.29) user ips, unwound by frame pointers, innermost (regs->ip) first.
 */
#define PFW_FT_USTACK_MAX 8

/* one decoded raw record; which fields are meaningful depends on type */
struct pfw_ft_rec {
	uint64_t ts;	      /* record timestamp (the instance's trace_clock) */
	uint64_t addr;	      /* PF_*, KP_ENTRY */
	uint64_t ip;	      /* PF_* */
	uint64_t ino;	      /* filemap/readahead */
	uint64_t index;	      /* filemap/readahead: first page index */
	uint64_t nr_pages;    /* ADD_CACHE: 1 << order; SYNC_RA: size; MAP_PAGES: last-first+1 */
	uint64_t clone_flags; /* NEWTASK */
	uint64_t func;	      /* FG_EXIT */
	uint64_t calltime, rettime;	    /* FG_EXIT, trace_clock_local() ns */
	uint64_t retval;		    /* FG_EXIT when has_retval, KP_RET */
	uint64_t flags;			    /* KP_ENTRY: FAULT_FLAG_* */
	uint64_t regs;			    /* KP_ENTRY: pt_regs pointer, 0 for GUP */
	uint64_t ustack[PFW_FT_USTACK_MAX]; /* USTACK: user ips, innermost first */
	uint32_t nr_ustack;		    /* USTACK: valid entries in ustack */
	enum pfw_ft_type type;
	int32_t tid;   /* common_pid: the thread */
	int32_t child; /* NEWTASK: the new task's pid; RENAME: the renamed task */
	char comm[17]; /* NEWTASK: the child's name; RENAME: the new name (NUL-terminated) */
	uint32_t dev;  /* kernel dev_t: major << 20 | minor */
	int cpu;
	uint8_t preempt; /* common_preempt_count: the tracepoint's context, its own disable taken off */
	bool has_retval;
	bool has_file; /* KP_ENTRY with BTF fields and a file-backed vma: dev, ino, index */
};

/* x86-64 only (the kprobe fetches %di): a vma's pgoff counts 4 KiB pages */
#define PFW_FT_PAGE_SHIFT 12

struct pfw_ft_decoder;

/*
 * Look every known event up in @tep once and cache its field pointers;
 * @kprobe_group names the pfwatch-owned kprobe group (NULL: none).
 * Events missing from @tep are simply never matched.
 */
struct pfw_ft_decoder *pfw_ft_decoder_new(struct tep_handle *tep, const char *kprobe_group);
void pfw_ft_decoder_free(struct pfw_ft_decoder *d);
/* true when @type's event exists in the tep the decoder was built on */
bool pfw_ft_decoder_has(const struct pfw_ft_decoder *d, enum pfw_ft_type type);
/* true when funcgraph_exit carries a retval field (CONFIG_FUNCTION_GRAPH_RETVAL) */
bool pfw_ft_decoder_fg_retval(const struct pfw_ft_decoder *d);
/* 0 and *out filled, or -ENOENT for a record of an event we do not use, -EINVAL if malformed */
int pfw_ft_decode(const struct pfw_ft_decoder *d, struct tep_record *rec, struct pfw_ft_rec *out);

static inline uint32_t pfw_ft_dev_major(uint32_t dev)
{
	return dev >> 20;
}

static inline uint32_t pfw_ft_dev_minor(uint32_t dev)
{
	return dev & 0xfffffu;
}

/* ---- btf.c ---- */

/* byte offsets for the kprobe's +OFF(...) fetch chains from the vma */
struct pfw_ft_kfile_offs {
	int vm_file, vm_start, vm_pgoff; /* struct vm_area_struct */
	int f_inode;			 /* struct file */
	int i_ino, i_sb, i_ino_size;	 /* struct inode */
	int s_dev;			 /* struct super_block */
};

/* 0 with @o filled from /sys/kernel/btf/vmlinux, or -errno with why in @why */
int pfw_ft_btf_offsets(struct pfw_ft_kfile_offs *o, char *why, size_t len);
/* the fetch arguments "vmf=... ino=... dev=... start=... pgoff=..." (x86-64) */
int pfw_ft_kfile_fetchargs(const struct pfw_ft_kfile_offs *o, char *buf, size_t len);

/* ---- classify.c (events mode) and fold.c (graph mode) ---- */

/* a fault as the classifiers see it, before the tgid and the maps */
struct pfw_ft_fault {
	uint64_t ts; /* entry: page_fault_* or the first handle_mm_fault call */
	uint64_t addr, ip;
	uint64_t latency_ns; /* valid when has_latency */
	uint64_t ino, index; /* valid when has_file */
	uint32_t dev;
	int32_t tid;
	bool major;
	bool user; /* taken in user mode (page_fault_user) */
	bool has_ip, has_addr, has_file, has_latency;
};

typedef void (*pfw_ft_emit_fn)(void *ctx, const struct pfw_ft_fault *f);

struct pfw_ft_classify;
struct pfw_ft_classify *pfw_ft_classify_new(pfw_ft_emit_fn emit, void *ctx);
void pfw_ft_classify_free(struct pfw_ft_classify *c);
/* feed records in time order per thread */
void pfw_ft_classify_feed(struct pfw_ft_classify *c, const struct pfw_ft_rec *r);
/* end of trace: every open window is decided (as minor) and emitted */
void pfw_ft_classify_flush(struct pfw_ft_classify *c);

struct pfw_ft_fold;
/*
 * @have_kprobe: KP_ENTRY records arrive (flags, regs, addr per attempt);
 * @ret_from_fg: the return value is in FG_EXIT (funcgraph-retval) instead
 * of KP_RET; @have_fg: FG_EXIT records arrive (latency from calltime and
 * rettime), else the latency runs from the fault's first record to the
 * KP_RET that completes it.
 */
struct pfw_ft_fold *pfw_ft_fold_new(pfw_ft_emit_fn emit, void *ctx, bool have_kprobe,
				    bool ret_from_fg, bool have_fg);
void pfw_ft_fold_free(struct pfw_ft_fold *f);
void pfw_ft_fold_feed(struct pfw_ft_fold *f, const struct pfw_ft_rec *r);
void pfw_ft_fold_flush(struct pfw_ft_fold *f);

/* ---- instance.c ---- */

#define PFW_FT_TRACEFS "/sys/kernel/tracing"

/*
 * Make sure tracefs is mounted at /sys/kernel/tracing; mount it when root.
 * *mounted is set when this call mounted it. Return 0 or -errno with @err.
 */
int pfw_ft_mount(bool *mounted, char *err, size_t errlen);
/* is tracefs mounted at PFW_FT_TRACEFS */
bool pfw_ft_is_mounted(void);

/*
 * Remove instances "pfwatch-<pid>-*" and kprobe groups "pfwatch_<pid>"
 * whose <pid> no longer runs, and restore a top level a killed pfwatch left
 * armed. @say reports each removal. Return the number removed.
 */
int pfw_ft_cleanup_stale(void (*say)(void *ctx, const char *msg), void *ctx);

/* a new private instance "pfwatch-<ourpid>-<random>"; NULL and errno on failure */
struct tracefs_instance *pfw_ft_instance_new(void);
/* disable and remove it; NULL ok */
void pfw_ft_instance_remove(struct tracefs_instance *inst);

/* does tracer @name appear in @inst's available_tracers (NULL: top level) */
bool pfw_ft_has_tracer(struct tracefs_instance *inst, const char *name);
/* does @path (relative to the tracefs root) exist */
bool pfw_ft_file_exists(const char *path);

/*
 * The top level is shared with other users: take it only when idle, keep
 * what we change, put it back. The saved state is also written to
 * /run/pfwatch/toplevel-<pid> so the next run can restore it if we are
 * killed.
 */
struct pfw_ft_toplevel;
/* is the top level in use by someone (a tracer, filters, events); @why says what */
bool pfw_ft_toplevel_busy(char *why, size_t len);
/*
 * Can function_graph run in an instance (6.12: .allow_instances; 6.1: no)?
 * Creates and removes a throwaway instance. 1, 0, or -errno.
 */
int pfw_ft_fgraph_in_instance(void);
/* NULL and @err (-EBUSY with what is in use) when the top level is busy */
struct pfw_ft_toplevel *pfw_ft_toplevel_take(int *errp, char *err, size_t errlen);
/* write @val to top-level @file, saving the old value first (once) */
int pfw_ft_toplevel_set(struct pfw_ft_toplevel *t, const char *file, const char *val);
/* restore everything and free; NULL ok */
void pfw_ft_toplevel_restore(struct pfw_ft_toplevel *t);

/* kprobe events under group "pfwatch_<ourpid>": create with @def lines, remove all */
int pfw_ft_kprobe_add(const char *def);
void pfw_ft_kprobe_remove_group(const char *group);

#endif
