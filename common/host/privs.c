// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the kernel grants this process (privs.h). Everything comes from
 * /proc/self, read once.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "privs.h"

/* include/linux/proc_ns.h: the initial namespaces' fixed inode numbers (3.8+) */
#define PFW_PROC_PID_INIT_INO 0xEFFFFFFCu

static struct pfw_privs cached;
static bool have_cached;

/*
 * The initial user namespace maps every uid to itself ("0 0 4294967295")
 * and allows setgroups; a child namespace that maps the whole range (a
 * privileged runtime can make one) denies setgroups. systemd's
 * running_in_userns() decides the same way.
 */
static bool in_child_userns(void)
{
	char line[128] = "", a[24], b[24], c[24];
	FILE *f = fopen("/proc/self/uid_map", "re");
	bool child = false;

	if (!f)
		return false; /* no user namespaces in this kernel */
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%23s %23s %23s", a, b, c) != 3 ||
	    strcmp(a, "0") || strcmp(b, "0") || strcmp(c, "4294967295") ||
	    fgets(line, sizeof(line), f))
		child = true;
	fclose(f);
	if (child)
		return true;
	f = fopen("/proc/self/setgroups", "re");
	if (f) {
		child = fgets(line, sizeof(line), f) && !strncmp(line, "deny", 4);
		fclose(f);
	}
	return child;
}

static void read_status(struct pfw_privs *p)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7))
			p->caps_in_ns = strtoull(line + 7, NULL, 16);
		else if (!strncmp(line, "Seccomp:", 8))
			p->seccomp = atoi(line + 8) == 2;
	}
	fclose(f);
}

/* securityfs says "none integrity [confidentiality]"; without it, the boot option */
static bool confidentiality_locked(void)
{
	char buf[512] = "";
	bool locked = false;
	FILE *f = fopen("/sys/kernel/security/lockdown", "re");

	if (f) {
		locked = fgets(buf, sizeof(buf), f) && strstr(buf, "[confidentiality]");
		fclose(f);
	} else if ((f = fopen("/proc/cmdline", "re"))) {
		locked = fgets(buf, sizeof(buf), f) && strstr(buf, "lockdown=confidentiality");
		fclose(f);
	}
	return locked;
}

const struct pfw_privs *pfw_privs_get(void)
{
	struct pfw_privs *p = &cached;
	char buf[32];
	struct stat st;
	ssize_t n;

	if (have_cached)
		return p;
	memset(p, 0, sizeof(*p));
	read_status(p);
	p->userns = in_child_userns();
	p->caps = p->userns ? 0 : p->caps_in_ns;
	if (!stat("/proc/self/ns/pid", &st)) {
		p->pidns_ino = st.st_ino;
		p->pidns_dev = st.st_dev;
		p->pidns = st.st_ino != PFW_PROC_PID_INIT_INO;
	}
	/* /proc/self names this process as the pid namespace /proc was mounted for sees it */
	n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		p->proc_pid = strtol(buf, NULL, 10);
		p->proc_foreign = p->proc_pid != (long)getpid();
	}
	p->confidentiality = confidentiality_locked();
	have_cached = true;
	return p;
}

/*
 * A call the kernel itself would reject with EFAULT or EINVAL (NULL
 * attributes): EPERM instead means a filter answered before the kernel
 * looked, which is what a seccomp profile's errno action does.
 */
static bool filtered(const char *what)
{
	long r = 0;

	errno = 0;
	if (!strcmp(what, "perf_event_open"))
		r = syscall(__NR_perf_event_open, NULL, 0, -1, -1, 0);
	else if (!strcmp(what, "bpf"))
		r = syscall(__NR_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0);
	else
		return true; /* nothing to ask: seccomp is the likeliest */
	return r < 0 && errno == EPERM;
}

bool pfw_privs_seccomp_blocks(const char *what)
{
	return pfw_privs_get()->seccomp && filtered(what);
}

bool pfw_privs_explain(char *buf, size_t len, const char *what, int err)
{
	const struct pfw_privs *p = pfw_privs_get();

	if (err != EPERM && err != EACCES)
		return false;
	/* seccomp's errno action answers EPERM before the kernel checks anything */
	if (p->seccomp && err == EPERM && filtered(what)) {
		snprintf(buf, len,
			 "%s refused (EPERM) under a seccomp filter: the container's seccomp "
			 "profile probably blocks it (podman 4's default allows perf_event_open "
			 "and bpf only with CAP_SYS_ADMIN); run the container with "
			 "--security-opt seccomp=unconfined or a profile that allows %s",
			 what, what);
		return true;
	}
	if (p->userns) {
		snprintf(buf, len,
			 "%s refused (%s): in a user namespace, no capabilities over the kernel "
			 "(root here is not root to the kernel); run pfwatch outside the user "
			 "namespace (a rootful container with the capabilities)",
			 what, strerror(err));
		return true;
	}
	return false;
}

const char *pfw_privs_pidns_refusal(void)
{
	const struct pfw_privs *p = pfw_privs_get();

	if (!p->pidns)
		return NULL;
	return "in a child pid namespace: tracefs records the kernel's global pids, which "
	       "this namespace cannot translate; choose --backend=perf (or bpf), or run "
	       "pfwatch in the host's pid namespace (--pid=host)";
}

const char *pfw_privs_proc_refusal(void)
{
	static char msg[256];
	const struct pfw_privs *p = pfw_privs_get();

	if (!p->proc_foreign)
		return NULL;
	snprintf(msg, sizeof(msg),
		 "/proc belongs to another pid namespace (pid %ld here is %ld there): mount one "
		 "for this namespace ('unshare --mount-proc', or 'mount -t proc proc /proc')",
		 (long)getpid(), p->proc_pid);
	return msg;
}
