/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the kernel grants this process, as opposed to what it looks like
 * from inside (SPEC.md, "Namespaces and containers"): root in a user
 * namespace has no capability over the kernel, a pid in a child pid
 * namespace is not the kernel's pid, and a seccomp filter refuses calls
 * with the same EPERM a missing capability gives. Backends decide from
 * this, never from getuid() == 0, and name the cause in their reasons.
 */
#ifndef PFW_PRIVS_H
#define PFW_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* capability numbers (linux/capability.h); CAP_PERFMON and CAP_BPF are 5.8+ */
#define PFW_CAP_DAC_READ_SEARCH	   2
#define PFW_CAP_SYS_PTRACE	   19
#define PFW_CAP_SYS_ADMIN	   21
#define PFW_CAP_PERFMON		   38
#define PFW_CAP_BPF		   39
#define PFW_CAP_CHECKPOINT_RESTORE 40

struct pfw_privs {
	/*
	 * Effective capabilities that count over the kernel (perf, BPF,
	 * tracefs): the process' own set in the initial user namespace,
	 * none in any other, whatever CapEff says there.
	 */
	uint64_t caps;
	uint64_t caps_in_ns; /* CapEff as the process' own user namespace sees it */
	bool userns;	     /* in a user namespace other than the initial one */
	bool seccomp;	     /* a seccomp filter is installed (Seccomp: 2) */
	bool pidns;	     /* in a pid namespace other than the initial one */
	uint64_t pidns_ino;  /* inode of /proc/self/ns/pid */
	uint64_t pidns_dev;  /* and its device (nsfs) */
	/*
	 * /proc was mounted for another pid namespace (unshare -p without
	 * --mount-proc): its pids are not the ones pfwatch's namespace
	 * uses, so nothing can be resolved through it. proc_pid is
	 * pfwatch's pid as that /proc names it.
	 */
	bool proc_foreign;
	long proc_pid;
	/*
	 * lockdown=confidentiality: kprobes, tracefs and bpf_probe_read_kernel
	 * refused (KERNEL-NOTES.md §6)
	 */
	bool confidentiality;
};

/* read once, then cached (nothing here changes while pfwatch runs) */
const struct pfw_privs *pfw_privs_get(void);

static inline bool pfw_privs_cap(const struct pfw_privs *p, int cap)
{
	return p->caps & (1ull << cap);
}

/*
 * Why the kernel refused @what (a system call or an operation) with @err
 * (EPERM, EACCES) in this process, when the environment explains it: a
 * seccomp filter, or a user namespace without capabilities over the
 * kernel. Writes one clause with the remedy into @buf and returns true;
 * returns false (and leaves @buf alone) when neither applies, so the
 * caller gives its own reason (a missing capability, perf_event_paranoid).
 */
bool pfw_privs_explain(char *buf, size_t len, const char *what, int err);

/*
 * true when a seccomp filter refuses @what ("perf_event_open", "bpf")
 * whatever its arguments: the call is refused before the kernel looks.
 */
bool pfw_privs_seccomp_blocks(const char *what);

/*
 * Why a backend that reports the kernel's global pids (tracefs) cannot
 * run here, or NULL when pfwatch is in the initial pid namespace.
 */
const char *pfw_privs_pidns_refusal(void);

/*
 * The message for a /proc that belongs to another pid namespace, or NULL
 * when /proc is pfwatch's own.
 */
const char *pfw_privs_proc_refusal(void);

#endif
