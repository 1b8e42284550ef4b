/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel types pfwatch.bpf.c reads, and only those: CO-RE relocates each
 * field by name against the running kernel's BTF, so the build never needs
 * the build machine's /sys/kernel/btf/vmlinux and one object loads on every
 * kernel with BTF. Layouts here are placeholders except where marked uapi.
 */
#ifndef PFW_KERNEL_TYPES_H
#define PFW_KERNEL_TYPES_H

/* bpf_tracing.h picks the kernel's pt_regs member names (di, si, ...) */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__
#endif

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u64 u64;
typedef __u32 u32;
typedef int pid_t;
typedef _Bool bool;
#define true 1
#define false 0
typedef __u32 dev_t;
typedef unsigned int vm_fault_t;

/*
 * x86-64 struct pt_regs: the ABI of kprobe and perf_event program contexts
 * (uapi layout, so no relocation; the verifier checks ctx offsets).
 */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

/* uapi linux/bpf_perf_event.h, with the x86 bpf_user_pt_regs_t */
struct bpf_perf_event_data {
	struct pt_regs regs;
	__u64 sample_period;
	__u64 addr;
};

struct super_block {
	dev_t s_dev;
	unsigned long s_magic;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
	__u32 i_generation;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	struct file *vm_file;
} __attribute__((preserve_access_index));

struct mm_struct;

/*
 * A task's pid in every pid namespace from the initial one down to its
 * own: numbers[i] is its pid at level i (task_pid_nr_ns()). numbers[] is
 * a flexible array in recent kernels, numbers[1] in older ones; the
 * programs index it only at the level the loader learnt, a constant to
 * the verifier.
 */
struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct pid_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct upid {
	int nr;
	struct pid_namespace *ns;
} __attribute__((preserve_access_index));

struct pid {
	unsigned int level;
	struct upid numbers[];
} __attribute__((preserve_access_index));

struct task_struct {
	pid_t pid;
	pid_t tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct pid *thread_pid; /* 4.19+ */
	struct mm_struct *mm;
	__u64 self_exec_id; /* u64 since 5.7; tp mode needs 5.17 */
} __attribute__((preserve_access_index));

/*
 * mm->mm_lock_seq (CONFIG_PER_VMA_LOCK, 6.4+): bumped at every mmap write
 * unlock; an int up to 6.13, a seqcount_t (odd while write-locked) since
 * 6.14. Two flavors, told apart with bpf_core_field_exists.
 */
struct mm_struct___int {
	int mm_lock_seq;
} __attribute__((preserve_access_index));

struct seqcount {
	unsigned sequence;
} __attribute__((preserve_access_index));

struct mm_struct___seq {
	struct seqcount mm_lock_seq;
} __attribute__((preserve_access_index));

/* a task iterator program's context (kernel/bpf/task_iter.c, 5.8+) */
struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

/* the kernel's pt_regs as a BTF type, for fentry's typed regs argument */
struct pt_regs___btf {
	unsigned long ip;
	unsigned short cs;
} __attribute__((preserve_access_index));

#endif
