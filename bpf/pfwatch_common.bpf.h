/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What pfwatch's two BPF objects share: pfwatch.bpf.c (CO-RE: fentry,
 * kprobe, tp) and pfwatch_nobtf.bpf.c (kprobe-nobtf). The constants the
 * loader sets in both (bpf_load.c, SET_FILTERS), the maps user space reads
 * in both (targets, events, counters), the filters of wanted(), the output
 * of a record, and handle_mm_fault()'s return codes.
 *
 * Each object includes it once, after libbpf's headers: it defines
 * globals and maps, so it is the common part of each object rather than a
 * header to include anywhere. Nothing here may read kernel structs (no
 * CO-RE, no BTF types): one relocation in pfwatch_nobtf.bpf.o and libbpf
 * would demand the kernel's BTF to load it. Every function is
 * __always_inline: the per-fault programs pay no call.
 */
#ifndef PFWATCH_COMMON_BPF_H
#define PFWATCH_COMMON_BPF_H

#include "pfwatch_bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* mm_types.h; stable since vm_fault_t (4.17) except where noted */
#define VM_FAULT_OOM		0x000001
#define VM_FAULT_SIGBUS		0x000002
#define VM_FAULT_MAJOR		0x000004
#define VM_FAULT_HWPOISON	0x000010
#define VM_FAULT_HWPOISON_LARGE 0x000020
#define VM_FAULT_SIGSEGV	0x000040
#define VM_FAULT_RETRY		0x000400
#define VM_FAULT_FALLBACK	0x000800
#define VM_FAULT_ERROR                                                           \
	(VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON | \
	 VM_FAULT_HWPOISON_LARGE | VM_FAULT_FALLBACK)
#define FAULT_FLAG_TRIED (1u << 5)

/* set by the loader before load(); the verifier prunes what they disable */
const volatile __u32 target_kind = PFW_BPF_TARGET_SYSTEM;
const volatile __u64 cgroup_id = 0;
const volatile bool filter_comm = false;
const volatile char want_comm[PFW_BPF_COMM_LEN] = {};
const volatile __u32 want_faults = 3; /* bit 0 major, bit 1 minor */
const volatile bool call_graph = false;
const volatile bool use_ringbuf = true;
const volatile bool measure_latency = true;

/*
 * tgids traced; COMMAND also adds what its processes fork (pfwatch.bpf.c:
 * the fork follower and the ancestor walk; pfwatch_nobtf.bpf.c: pfw_nb_fork)
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* RINGBUF; the loader turns it into a PERF_EVENT_ARRAY where ringbuf is missing (<5.8) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* a record too large for the BPF stack (the call graph), built here */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pfw_bpf_event);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PFW_BPF_CNT_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/*
 * Each object's handle_mm_fault() in flight, by tid: its own struct
 * inflight (pfwatch.bpf.c captures the file at entry, kprobe-nobtf cannot)
 */
#define PFW_INFLIGHTS_MAP(value_type)                \
	struct {                                     \
		__uint(type, BPF_MAP_TYPE_LRU_HASH); \
		__uint(max_entries, 65536);          \
		__type(key, __u32);                  \
		__type(value, value_type);           \
	} inflights SEC(".maps")

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

/* @tgid is in the target set (or every process is) */
static __always_inline bool target_listed(__u32 tgid)
{
	return target_kind == PFW_BPF_TARGET_SYSTEM || bpf_map_lookup_elem(&targets, &tgid);
}

/* wanted()'s filters past the target set: --cgroup and --comm */
static __always_inline bool filters_pass(void)
{
	if (cgroup_id) {
		bool in = false;

		/* the cgroup or any of its descendants (level 0 is the root) */
		for (int lvl = 1; lvl < 32; lvl++) {
			__u64 id = bpf_get_current_ancestor_cgroup_id(lvl);

			if (!id)
				break;
			if (id == cgroup_id) {
				in = true;
				break;
			}
		}
		if (!in)
			return false;
	}
	if (filter_comm) {
		char comm[PFW_BPF_COMM_LEN];

		bpf_get_current_comm(comm, sizeof(comm));
		for (int i = 0; i < PFW_BPF_COMM_LEN; i++) {
			if (comm[i] != want_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return true;
}

/* a completed fault of @kind (1 major, 0 minor) is one the run asked for */
static __always_inline bool kind_wanted(__u32 kind)
{
	return want_faults & (kind ? 1 : 2);
}

/*
 * A handle_mm_fault() attempt returned @ret, the fault in flight's state in
 * @in_call and @retried: true when that ends the fault. A VM_FAULT_RETRY
 * attempt does not: the next attempt is the same fault.
 */
static __always_inline bool hmf_attempt_ends(__u8 *in_call, __u8 *retried, __u32 ret)
{
	if (!*in_call)
		return false;
	*in_call = 0;
	if (ret & VM_FAULT_RETRY) {
		*retried = 1;
		return false;
	}
	return true;
}

/*
 * the ended fault's kind, as mm_account_fault() decides it: 1 major, 0
 * minor (a macro: as an inline function's value clang compiled it into
 * more instructions on the completion path)
 */
#define HMF_KIND(ret, fault_flags) (((ret)&VM_FAULT_MAJOR) || ((fault_flags)&FAULT_FLAG_TRIED))

/* the ended fault is one to report: accounted (VM_FAULT_ERROR is not) and wanted */
static __always_inline bool hmf_reported(__u32 ret, __u32 kind)
{
	if (ret & VM_FAULT_ERROR)
		return false;
	return kind_wanted(kind);
}

/* the per-CPU record to build one in, NULL if the map failed */
static __always_inline struct pfw_bpf_event *scratch_event(void)
{
	static const __u32 zero;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/*
 * @ev as the record of a fault (or, kprobe-nobtf, of an mmap) by @id
 * (tgid << 32 | tid), but its file (ino, offset, dev, gen, pad: the
 * caller's, so the stores of one 8-byte word stay together); no stack yet.
 * @now: the completion's clock read that measured the latency, so the
 * record's time is that same instant (time - latency = the fault's start)
 * and a streamed fault pays one clock read, not two; 0 reads the clock.
 */
static __always_inline void fill_record(struct pfw_bpf_event *ev, __u64 id, __u64 addr, __u64 ip,
					__u64 now, __u64 latency_ns, __u32 kind, __u32 flags)
{
	ev->time_ns = now ? now : bpf_ktime_get_ns();
	ev->addr = addr;
	ev->ip = ip;
	ev->latency_ns = latency_ns;
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->kind = kind;
	ev->flags = flags;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->nr_stack = 0;
}

/* @size bytes of @ev to user space; what the buffer refuses counts as lost */
static __always_inline void output_event(void *ctx, struct pfw_bpf_event *ev, __u64 size)
{
	long err;

	if (use_ringbuf)
		err = bpf_ringbuf_output(&events, ev, size, 0);
	else
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, ev, size);
	if (err)
		count(PFW_BPF_CNT_LOST);
}

/* @ev out, with the user stack when @stack: its size follows the frames */
static __always_inline void output_with_stack(void *ctx, struct pfw_bpf_event *ev, bool stack)
{
	long n;

	if (stack) {
		n = bpf_get_stack(ctx, ev->stack, sizeof(ev->stack), BPF_F_USER_STACK);
		if (n > 0)
			ev->nr_stack = n / 8;
	}
	n = ev->nr_stack;
	if (n > PFW_BPF_MAX_STACK)
		n = PFW_BPF_MAX_STACK;
	output_event(ctx, ev, sizeof(*ev) - sizeof(ev->stack) + n * sizeof(__u64));
}

#endif /* PFWATCH_COMMON_BPF_H */
