// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kprobe-nobtf mode: for kernels without BTF (no /sys/kernel/btf/vmlinux,
 * so no CO-RE, no fentry, no typed task pointers). It reads only what needs
 * no knowledge of kernel struct layouts: the registers of a probed call (the
 * arguments), the return value, and the user registers the fault saved
 * (struct pt_regs is the x86-64 uapi layout). Files are resolved in user
 * space from the address: every successful mmap is announced (range, file
 * offset, fd) before the faults on the new mapping arrive (one ring buffer
 * keeps the order), and the loader inserts that range. A separate object: one CO-RE relocation
 * anywhere in an object makes libbpf demand the kernel's BTF to load it. What
 * it shares with pfwatch.bpf.c is in pfwatch_common.bpf.h, which reads no
 * kernel struct.
 *
 * Streams only (no in-kernel aggregation): the per-file maps are keyed by
 * (dev, ino), which this mode cannot see.
 */
#include "kernel_types.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "pfwatch_common.bpf.h"

struct inflight {
	__u64 first_ts;
	__u64 addr;
	__u64 ip;
	__u32 flags;
	__u8 user;
	__u8 in_call;
	__u8 retried;
	__u8 pad;
};

PFW_INFLIGHTS_MAP(struct inflight);

/* the current task is traced: pids as the kernel sees them (no pid namespace) */
static __always_inline bool wanted(void)
{
	return target_listed(bpf_get_current_pid_tgid() >> 32) && filters_pass();
}

static __always_inline void emit(void *ctx, __u64 addr, __u64 ip, __u64 now, __u64 lat, __u32 kind,
				 __u32 flags)
{
	struct pfw_bpf_event *ev = scratch_event();
	__u64 id = bpf_get_current_pid_tgid();

	if (!ev)
		return;
	fill_record(ev, id, addr, ip, now, lat, kind, flags);
	/* no file identity: user space names the file by the address */
	ev->ino = 0;
	ev->offset = 0;
	ev->dev = 0;
	ev->gen = 0;
	ev->pad = 0;
	output_with_stack(ctx, ev, call_graph && !(flags & PFW_BPF_F_MMAP));
}

/*
 * handle_mm_fault(vma, address, flags, regs), 5.9+: as in pfwatch.bpf.c,
 * retried attempts are one fault, GUP (regs == NULL) is none.
 */
SEC("kprobe/handle_mm_fault")
int BPF_KPROBE(pfw_nb_kprobe, void *vma, unsigned long address, unsigned int flags,
	       struct pt_regs *regs)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight in = {}, *old;
	unsigned long cs = 0;

	if (!regs) {
		bpf_map_delete_elem(&inflights, &tid);
		return 0;
	}
	if (!wanted())
		return 0;
	/* the saved user registers: a fixed uapi layout, no relocation needed */
	if (!bpf_probe_read_kernel(&cs, sizeof(cs), &regs->cs) && (cs & 3) == 3) {
		in.user = 1;
		bpf_probe_read_kernel(&in.ip, sizeof(in.ip), &regs->ip);
	}
	in.first_ts = bpf_ktime_get_ns();
	old = bpf_map_lookup_elem(&inflights, &tid);
	if (old && old->retried && old->addr == address)
		in.first_ts = old->first_ts;
	in.addr = address;
	in.flags = flags;
	in.in_call = 1;
	bpf_map_update_elem(&inflights, &tid, &in, BPF_ANY);
	return 0;
}

SEC("kretprobe/handle_mm_fault")
int BPF_KRETPROBE(pfw_nb_kretprobe, unsigned int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflights, &tid);
	__u32 kind, fl = PFW_BPF_F_ADDR | PFW_BPF_F_COMM;
	__u64 addr, ip, now = 0, lat = 0;

	if (!in || !hmf_attempt_ends(&in->in_call, &in->retried, ret))
		return 0;
	kind = HMF_KIND(ret, in->flags);
	addr = in->addr;
	ip = in->ip;
	if (in->user)
		fl |= PFW_BPF_F_USER | PFW_BPF_F_IP;
	if (measure_latency) {
		now = bpf_ktime_get_ns();
		lat = now - in->first_ts;
		fl |= PFW_BPF_F_LATENCY;
	}
	bpf_map_delete_elem(&inflights, &tid);
	if (!hmf_reported(ret, kind))
		return 0;
	emit(ctx, addr, ip, now, lat, kind, fl);
	return 0;
}

/*
 * The return of kernel_clone() (_do_fork() before 5.10) is the new task's
 * pid, in the parent's context: a traced parent adds it. For a thread that
 * is a tid, harmless while it lives (faults are looked up by tgid) and
 * removed at its exit (pfw_nb_exit), so a recycled number cannot match. The
 * loader attaches this to whichever of the two the kernel has.
 */
SEC("kretprobe")
int BPF_KRETPROBE(pfw_nb_fork, long ret)
{
	static const __u8 one = 1;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, child;

	if (ret <= 0 || !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	child = (__u32)ret;
	bpf_map_update_elem(&targets, &child, &one, BPF_ANY);
	return 0;
}

SEC("kprobe/do_exit")
int BPF_KPROBE(pfw_nb_exit)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (tid != (__u32)(id >> 32))
		bpf_map_delete_elem(&targets, &tid);
	return 0;
}

/*
 * mmap(2) arguments, from ksys_mmap_pgoff(addr, len, prot, flags, fd, pgoff)
 * (every kernel since 4.16 routes mmap and mmap_pgoff through it): user
 * space names the file from /proc/PID/fd/FD when the call returns, while the
 * caller most likely still holds it, and inserts the exact range, so faults
 * resolve after a quick munmap. Re-reading /proc/PID/maps instead lost
 * short-lived mappings (5 of 17 majors named in a guest).
 */
struct mmap_call {
	__u64 len;
	__u64 pgoff;
	__s32 fd;
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct mmap_call);
} mmap_calls SEC(".maps");

#define PFW_MAP_ANONYMOUS 0x20

/*
 * fd_install(fd, file) per (tgid, fd): a count of the files installed at
 * that number. An mmap record carries the count its fd had; user space,
 * reading the record later, trusts /proc/PID/fd/FD only while the count is
 * the same -- the caller may have closed the fd since and opened another
 * file at its number (ld.so does open, mmap, close for every library).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} fd_gens SEC(".maps");

/*
 * mmap(2) calls per (tgid, start address): an mmap record carries the count
 * at its start. When the fd cannot be trusted, user space names the mapping
 * from what is mapped at that address now -- only while no later mmap has
 * started there (a new mapping at the same place is another file's).
 */
struct mmap_at {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct mmap_at);
	__type(value, __u32);
} mmap_seqs SEC(".maps");

/*
 * mmap(2) calls in flight per tgid (entered, not yet recorded): user space
 * trusts what is mapped at an address now only while none is, before and
 * after it reads it -- a mapping becomes visible before its exit probe
 * counts it above, and a tracer blocked on the mmap lock is woken right
 * then.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} mmaps_inflight SEC(".maps");

static __always_inline void inflight_add(__u32 tgid, __u32 d)
{
	__u32 *n = bpf_map_lookup_elem(&mmaps_inflight, &tgid);

	if (n)
		__sync_fetch_and_add(n, d);
	else if (d == 1)
		bpf_map_update_elem(&mmaps_inflight, &tgid, &d, BPF_NOEXIST);
}

SEC("kprobe/fd_install")
int BPF_KPROBE(pfw_nb_fd_install, unsigned int fd)
{
	__u64 key = (bpf_get_current_pid_tgid() & ~0xffffffffull) | fd;
	__u32 one = 1, *g;

	if (!wanted())
		return 0;
	g = bpf_map_lookup_elem(&fd_gens, &key);
	if (g)
		__sync_fetch_and_add(g, 1);
	else
		bpf_map_update_elem(&fd_gens, &key, &one, BPF_NOEXIST);
	return 0;
}

/* six arguments: libbpf 1.1's BPF_KPROBE takes five; the sixth is in %r9 */
SEC("kprobe/ksys_mmap_pgoff")
int pfw_nb_mmap_enter(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mmap_call c = {
		.len = PT_REGS_PARM2(ctx),
		.pgoff = ctx->r9,
		.fd = (__s32)PT_REGS_PARM5(ctx),
		.flags = (__u32)PT_REGS_PARM4(ctx),
	};

	if (!wanted())
		return 0;
	/* a thread whose exit probe was missed: its call is no longer in flight */
	if (bpf_map_lookup_elem(&mmap_calls, &tid))
		inflight_add(bpf_get_current_pid_tgid() >> 32, (__u32)-1);
	bpf_map_update_elem(&mmap_calls, &tid, &c, BPF_ANY);
	inflight_add(bpf_get_current_pid_tgid() >> 32, 1);
	return 0;
}

static __always_inline void emit_mmap(void *ctx, __u64 start, __u64 len, __u64 off, __s32 fd,
				      __u32 flags)
{
	struct pfw_bpf_event *ev = scratch_event();
	__u64 id = bpf_get_current_pid_tgid();
	__u64 size = sizeof(*ev) - sizeof(ev->stack);

	if (!ev)
		return;
	__builtin_memset(ev, 0, size);
	ev->time_ns = bpf_ktime_get_ns();
	ev->addr = start;
	ev->ip = len;
	ev->offset = off;
	ev->pid = id >> 32;
	ev->tid = (__u32)id;
	ev->flags = PFW_BPF_F_MMAP;
	{
		struct mmap_at at = {.tgid = id >> 32, .addr = start};
		__u32 one = 1, *n = bpf_map_lookup_elem(&mmap_seqs, &at);

		if (n) {
			/* (no fetching atomics before BPF v3: one mmap at an address at a time) */
			__sync_fetch_and_add(n, 1);
			ev->dev = *n;
		} else if (!bpf_map_update_elem(&mmap_seqs, &at, &one, BPF_NOEXIST))
			ev->dev = 1;
	}
	if (!(flags & PFW_MAP_ANONYMOUS) && fd >= 0) {
		__u64 key = (id & ~0xffffffffull) | (__u32)fd;
		__u32 *g = bpf_map_lookup_elem(&fd_gens, &key);

		ev->ino = (__u32)fd;
		ev->gen = g ? *g : 0;
		ev->flags |= PFW_BPF_F_MMAP_FD;
	}
	output_event(ctx, ev, size);
}

SEC("kretprobe/ksys_mmap_pgoff")
int BPF_KRETPROBE(pfw_nb_mmap_exit, unsigned long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct mmap_call *c = bpf_map_lookup_elem(&mmap_calls, &tid);
	__u64 len, off;
	__u32 flags;
	__s32 fd;

	if (!c)
		return 0;
	len = (c->len + 4095) & ~4095ull;
	off = c->pgoff << 12;
	fd = c->fd;
	flags = c->flags;
	bpf_map_delete_elem(&mmap_calls, &tid);
	/* counted at its address first, then no longer in flight */
	if (ret < (unsigned long)-4095 && len)
		emit_mmap(ctx, ret, len, off, fd, flags);
	inflight_add(bpf_get_current_pid_tgid() >> 32, (__u32)-1);
	return 0;
}

/*
 * vm_mmap_pgoff() returns the address of every mmap(2) and of the ELF
 * loader's mappings: announce the latter so user space re-reads the maps
 * while the mapping exists, before this process's faults on it (same ring
 * buffer). Inside ksys_mmap_pgoff() the exit probe above says more.
 */
SEC("kretprobe/vm_mmap_pgoff")
int BPF_KRETPROBE(pfw_nb_mmap, unsigned long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (ret >= (unsigned long)-4095 || !wanted())
		return 0;
	if (bpf_map_lookup_elem(&mmap_calls, &tid))
		return 0;
	emit(ctx, ret, 0, 0, 0, 0, PFW_BPF_F_MMAP);
	return 0;
}
