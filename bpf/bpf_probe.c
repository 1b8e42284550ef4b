// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the kernel allows the bpf backend: the privileges, each attach mode
 * (fentry, kprobe, tp, kprobe-nobtf) tried the way libbpf-tools do, never
 * by version, and the features a mode's programs depend on (BPF atomics,
 * struct pid's layout). Nothing here stays attached or loaded: every probe
 * closes what it opened before it returns.
 */
#include "config.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "opts.h"
#include "privs.h"

#include "bpf/bpf_priv.h"

/*
 * CAP_BPF + CAP_PERFMON (5.8+), or CAP_SYS_ADMIN (older kernels), in the
 * initial user namespace: bpf() checks capable(), never ns_capable(), so a
 * user namespace's full set counts for nothing (privs.h).
 */
static bool have_privileges(void)
{
	const struct pfw_privs *pv = pfw_privs_get();

	if (pfw_privs_cap(pv, PFW_CAP_SYS_ADMIN))
		return true;
	return pfw_privs_cap(pv, PFW_CAP_BPF) && pfw_privs_cap(pv, PFW_CAP_PERFMON);
}

/*
 * A two-instruction tracing program of @type on the kernel function @fn
 * (its BTF id) loads and attaches; closed at once, nothing stays attached.
 * @what names the attach in @why.
 */
static int probe_tracing(enum bpf_attach_type type, const char *fn, const char *what, char *why,
			 size_t len)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = type);
	struct btf *vmlinux;
	int id, prog, link;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, len, "no kernel BTF (/sys/kernel/btf/vmlinux)");
		return -ENOENT;
	}
	id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, len, "%s not in the kernel's BTF", fn);
		return -ENOENT;
	}
	opts.attach_btf_id = id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (prog < 0) {
		snprintf(why, len, "BPF tracing programs refused (%s)",
			 errno == EPERM ? "EPERM" : strerror(errno));
		return -errno;
	}
	if (type == BPF_TRACE_ITER)
		link = bpf_link_create(prog, 0, BPF_TRACE_ITER, NULL);
	else
		link = bpf_raw_tracepoint_open(NULL, prog);
	if (link < 0) {
		int e = errno;

		close(prog);
		snprintf(why, len, "%s failed (%s)", what, strerror(e));
		return -e;
	}
	close(link);
	close(prog);
	return 0;
}

/*
 * fentry_can_attach() of libbpf-tools: the function must be in the kernel's
 * BTF, and a two-instruction tracing program must load and attach.
 */
int pfw_bpf_probe_fentry(char *why, size_t len)
{
	return probe_tracing(BPF_TRACE_FENTRY, "handle_mm_fault",
			     "BPF trampoline attach to handle_mm_fault", why, len);
}

/* a task iterator (5.8+): how the thread rows in task storage are read */
int pfw_bpf_probe_task_iter(char *why, size_t len)
{
	return probe_tracing(BPF_TRACE_ITER, "bpf_iter_task", "a task iterator link", why, len);
}

static int read_int_file(const char *path, int *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%d", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/*
 * libbpf attaches kprobes through the perf_kprobe PMU (4.17+) or the legacy
 * kprobe_events file; either needs CONFIG_KPROBES. Open and close one
 * kprobe event on handle_mm_fault: that also sees lockdown and a missing
 * symbol.
 */
static int probe_kprobe(char *why, size_t len)
{
	struct perf_event_attr attr = {.size = sizeof(attr)};
	int type, fd;

	if (read_int_file("/sys/bus/event_source/devices/kprobe/type", &type)) {
		if (access("/sys/kernel/tracing/kprobe_events", F_OK) &&
		    access("/sys/kernel/debug/tracing/kprobe_events", F_OK)) {
			snprintf(why, len, "kernel built without CONFIG_KPROBES");
			return -ENOENT;
		}
		/* legacy kprobe_events only (< 4.17): libbpf still copes */
	} else {
		attr.type = type;
		attr.config1 = (uint64_t)(uintptr_t) "handle_mm_fault";
		fd = pfw_bpf_perf_event_open(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			snprintf(why, len, "kprobe on handle_mm_fault refused (%s%s)",
				 strerror(errno),
				 errno == EPERM ? "; lockdown=confidentiality?" : "");
			return -errno;
		}
		close(fd);
	}
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_probe_read_kernel, NULL) <= 0) {
		snprintf(why, len, "bpf_probe_read_kernel refused (lockdown=confidentiality)");
		return -EPERM;
	}
	return 0;
}

static int probe_tp(char *why, size_t len)
{
	int fd;

	fd = pfw_bpf_sw_event(PERF_COUNT_SW_PAGE_FAULTS_MAJ, -1, 0);
	if (fd < 0) {
		snprintf(why, len, "CPU-wide page-fault software event refused (%s)",
			 strerror(errno));
		return -errno;
	}
	close(fd);
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_PERF_EVENT, NULL) <= 0) {
		snprintf(why, len, "BPF perf_event programs refused");
		return -EPERM;
	}
	/* bpf_find_vma() is 5.17 (7c7e3d31e785); it needs a BTF task (5.11) */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_find_vma, NULL) <= 0) {
		snprintf(why, len, "bpf_find_vma() missing (kernel < 5.17 or no BTF)");
		return -ENOTSUP;
	}
	return 0;
}

/*
 * Registers and return values only: what kprobe mode needs, minus BTF, plus
 * a kprobe on the fork and mmap paths whose names differ across versions.
 */
static int probe_kprobe_nobtf(char *why, size_t len)
{
	int ret;

	if (pfw_privs_get()->pidns) {
		snprintf(why, len,
			 "in a child pid namespace: translating pids needs the kernel's BTF "
			 "(struct pid), which this mode runs without");
		return -ENOTSUP;
	}
	ret = probe_kprobe(why, len);

	if (ret)
		return ret;
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) <= 0) {
		snprintf(why, len, "BPF kprobe programs refused");
		return -EPERM;
	}
	return 0;
}

static bool have_kernel_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

static int probe_mode(enum bpf_mode m, char *why, size_t len)
{
	switch (m) {
	case MODE_KPROBE_NOBTF:
		return probe_kprobe_nobtf(why, len);
	case MODE_FENTRY:
		return pfw_bpf_probe_fentry(why, len);
	case MODE_KPROBE:
		return probe_kprobe(why, len);
	case MODE_TP:
		return probe_tp(why, len);
	default:
		snprintf(why, len, "unknown mode");
		return -EINVAL;
	}
}

static int mode_of(const char *name)
{
	for (int i = 0; i < MODE_NR; i++)
		if (!strcmp(pfw_bpf_mode_names[i], name))
			return i;
	return -1;
}
/*
 * Pick the mode: the forced one, else the first that works. @detail gets
 * why each better mode (or the forced one) cannot run.
 */
int pfw_bpf_choose_mode(const struct pfw_opts *opts, char *detail, size_t len)
{
	const char *forced = opts && opts->bpf_attach && strcmp(opts->bpf_attach, "auto")
				     ? opts->bpf_attach
				     : NULL;
	char why[256];
	size_t off = 0;
	int m;

	detail[0] = '\0';
	libbpf_set_print(pfw_bpf_libbpf_print);
	if (opts && opts->cgroup_v1) {
		snprintf(detail, len,
			 "--cgroup %s is in the cgroup v1 perf_event hierarchy; BPF programs "
			 "filter by cgroup v2 id only (choose --backend=perf)",
			 opts->cgroup);
		return -ENOTSUP;
	}
	if (!have_privileges()) {
		if (pfw_privs_get()->userns)
			snprintf(
				detail, len,
				"in a user namespace: no capabilities over the kernel, and BPF "
				"needs CAP_BPF+CAP_PERFMON in the initial one (run pfwatch as root "
				"outside the user namespace, or choose --backend=perf)");
		else
			snprintf(detail, len, "needs root or CAP_BPF+CAP_PERFMON%s",
				 /* the capabilities alone would not do: say it now */
				 pfw_privs_seccomp_blocks("perf_event_open")
					 ? ", and this container's seccomp profile refuses "
					   "perf_event_open and likely bpf (podman 4's default "
					   "allows "
					   "them only with CAP_SYS_ADMIN; or --security-opt "
					   "seccomp=unconfined)"
					 : "");
		return -EPERM;
	}
	/*
	 * Every mode needs both calls; a filter refusing one would look like a
	 * missing feature. (Asked only now: without CAP_BPF the kernel itself
	 * refuses bpf() with EPERM at unprivileged_bpf_disabled.)
	 */
	for (int i = 0; i < 2; i++) {
		const char *call = i ? "perf_event_open" : "bpf";

		if (pfw_privs_seccomp_blocks(call)) {
			pfw_privs_explain(detail, len, call, EPERM);
			return -EPERM;
		}
	}
	if (forced) {
		m = mode_of(forced);
		if (m < 0) {
			snprintf(detail, len,
				 "unknown attach mode '%s' (fentry, kprobe, tp, kprobe-nobtf)",
				 forced);
			return -EINVAL;
		}
		if (probe_mode(m, why, sizeof(why))) {
			snprintf(detail, len, "%s: %s", forced, why);
			return -ENOTSUP;
		}
		return m;
	}
	for (m = 0; m < MODE_NR; m++) {
		/* the BTF modes are exact and cheaper; this one is for kernels without */
		if (m == MODE_KPROBE_NOBTF && have_kernel_btf()) {
			snprintf(why, sizeof(why),
				 "only without kernel BTF (force with --bpf-attach=kprobe-nobtf)");
		} else if (!probe_mode(m, why, sizeof(why))) {
			return m;
		}
		off += snprintf(detail + off, off < len ? len - off : 0, "%s%s: %s",
				off ? "; " : "", pfw_bpf_mode_names[m], why);
		if (off >= len)
			off = len - 1;
	}
	return -ENOTSUP;
}

/*
 * BPF atomics with fetch (5.12, 5ca419f2864a): the in-kernel page set
 * needs one (pfwatch.bpf.c, file_page_seen()). Tried with a 5-instruction
 * program, as libbpf-tools decide by trying; older kernels refuse the
 * instruction even in dead code, hence the separate _agg programs.
 */
bool pfw_bpf_probe_atomic_fetch(void)
{
	const struct bpf_insn insns[] = {
		/* *(u64 *)(r10 - 8) = 0 */
		{.code = BPF_ST | BPF_DW | BPF_MEM, .dst_reg = BPF_REG_10, .off = -8, .imm = 0},
		/* r1 = 1 */
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1},
		/* r1 = atomic_fetch_or((u64 *)(r10 - 8), r1) */
		{.code = BPF_STX | BPF_DW | BPF_ATOMIC,
		 .dst_reg = BPF_REG_10,
		 .src_reg = BPF_REG_1,
		 .off = -8,
		 .imm = BPF_OR | BPF_FETCH},
		/* r0 = 0 */
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), NULL);

	if (fd < 0)
		fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, NULL, "GPL", insns,
				   sizeof(insns) / sizeof(insns[0]), NULL);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * struct pid's numbers[] as a flexible array (recent kernels): the
 * verifier then lets a BTF pointer index it at any level; numbers[1]
 * (older ones) only at level 0, so it is read with bpf_probe_read_kernel.
 */
bool pfw_bpf_pid_numbers_flexible(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool flex = false;
	int id;

	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, "pid", BTF_KIND_STRUCT);
	t = id > 0 ? btf__type_by_id(vmlinux, id) : NULL;
	if (t && btf_vlen(t)) {
		const struct btf_member *m = btf_members(t) + btf_vlen(t) - 1;
		const struct btf_type *mt = btf__type_by_id(vmlinux, m->type);

		flex = mt && btf_is_array(mt) && !btf_array(mt)->nelems &&
		       !strcmp(btf__name_by_offset(vmlinux, m->name_off), "numbers");
	}
	btf__free(vmlinux);
	return flex;
}
