// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The bpf backend: loads bpf/pfwatch.bpf.c through its skeleton, picks an
 * attach mode by trying (fentry, kprobe, tp), streams faults from a ring
 * buffer (perf buffer where the kernel has none) or reads the in-kernel
 * aggregation maps for --view=summary. Every kernel object is owned by a
 * file descriptor of this process, so nothing survives its exit, whatever
 * the way it exits; nothing is pinned.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <linux/types.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agg.h"
#include "backend.h"
#include "cgroup.h"
#include "maps.h"
#include "log.h"
#include "opts.h"
#include "privs.h"
#include "session.h"

#include "perf/perf_ring.h"
#include "bpf/pfwatch_bpf.h"
#include "bpf/pfwatch.skel.h"
#include "bpf/pfwatch_nobtf.skel.h"

enum bpf_mode {
	MODE_FENTRY,
	MODE_KPROBE,
	MODE_TP,
	MODE_KPROBE_NOBTF,
	MODE_NR,
};

/* exited threads' rows leave the kernel this often (see prune()) */
#define PRUNE_INTERVAL_NS (10 * 1000000000ull)
/*
 * the exporter forgets a file row unchanged for two refreshes, and at least
 * this long (see forget_thread()): memory then follows the files faulted on
 * in the last seconds, and a file faulting again costs only a new row
 */
#define IDLE_FILE_MIN_NS (1000000000ull)
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

static const char *const mode_names[] = {"fentry", "kprobe", "tp", "kprobe-nobtf", NULL};

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
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	struct bpf_link **links;
	size_t nr_links;
	int delivered; /* by the current poll() */
	/*
	 * rows of exited threads, moved out of agg_threads (see prune()), and
	 * faults tp streamed because it could not name their file
	 */
	struct pfw_agg *retired;
	/*
	 * (dev, ino, gen) -> path: from PERF_RECORD_MMAP2 (the name in-band,
	 * at mmap time) or at the file's first fault (NEWFILE). The exporter
	 * keeps two generations (see read_aggregates()).
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
};

/*
 * libbpf prints through a callback (it is a library): keep its last warning
 * for the error line, and pass everything to -v of the session being opened.
 */
static struct pfw_session *libbpf_session;
static char libbpf_last[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	/* a debugging aid: libbpf's whole log (the verifier's) on stderr */
	if (getenv("PFW_LIBBPF_DEBUG")) {
		vfprintf(stderr, fmt, ap);
		return 0;
	}
	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (level == LIBBPF_WARN && n)
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", line);
	if (libbpf_session)
		pfw_session_verbose(libbpf_session, "libbpf: %s", line);
	return 0;
}

static long perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group,
			    unsigned long fl)
{
	return syscall(__NR_perf_event_open, attr, pid, cpu, group, fl);
}

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
 * fentry_can_attach() of libbpf-tools: the function must be in the kernel's
 * BTF, and a two-instruction tracing program must load and attach. Both are
 * closed at once: nothing stays attached.
 */
static int probe_fentry(char *why, size_t len)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *vmlinux;
	int id, prog, link;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, len, "no kernel BTF (/sys/kernel/btf/vmlinux)");
		return -ENOENT;
	}
	id = btf__find_by_name_kind(vmlinux, "handle_mm_fault", BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, len, "handle_mm_fault not in the kernel's BTF");
		return -ENOENT;
	}
	opts.attach_btf_id = id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (prog < 0) {
		snprintf(why, len, "BPF tracing programs refused (%s)",
			 errno == EPERM ? "EPERM" : strerror(errno));
		return -errno;
	}
	link = bpf_raw_tracepoint_open(NULL, prog);
	if (link < 0) {
		int e = errno;

		close(prog);
		snprintf(why, len, "BPF trampoline attach to handle_mm_fault failed (%s)",
			 strerror(e));
		return -e;
	}
	close(link);
	close(prog);
	return 0;
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
		fd = perf_event_open(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
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
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_PAGE_FAULTS_MAJ,
		.sample_period = 1,
		.disabled = 1,
	};
	int fd;

	fd = perf_event_open(&attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
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
		return probe_fentry(why, len);
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
		if (!strcmp(mode_names[i], name))
			return i;
	return -1;
}

/*
 * Pick the mode: the forced one, else the first that works. @detail gets
 * why each better mode (or the forced one) cannot run.
 */
static int choose_mode(const struct pfw_opts *opts, char *detail, size_t len)
{
	const char *forced = opts && opts->bpf_attach && strcmp(opts->bpf_attach, "auto")
				     ? opts->bpf_attach
				     : NULL;
	char why[256];
	size_t off = 0;
	int m;

	detail[0] = '\0';
	libbpf_set_print(libbpf_print);
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
				off ? "; " : "", mode_names[m], why);
		if (off >= len)
			off = len - 1;
	}
	return -ENOTSUP;
}

static void bpf_probe(const struct pfw_opts *opts, struct pfw_probe_result *res)
{
	int m = choose_mode(opts, res->detail, sizeof(res->detail));

	res->available = m >= 0;
	snprintf(res->attach, sizeof(res->attach), "%s", m >= 0 ? mode_names[m] : "-");
}

/*
 * A file's path, learnt when its first fault arrives, while the mapping
 * most likely exists: the maps keep (dev, ino) -> path after the mapping or
 * the process is gone, and pfw_maps_load_proc() takes the exact name where
 * /proc/PID/maps escapes it. Once per (pid, dev, ino): the session's own
 * reload on a miss is rate-limited per pid, and several threads mapping new
 * files at once would leave all but one "[unknown]".
 */
static void learn_path(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	unsigned slot = (unsigned)(e->ino * 31 + e->dev * 7 + e->pid) % 256;

	if (!maps || pfw_maps_path_of(maps, e->dev >> 20, e->dev & 0xfffff, e->ino))
		return;
	if (p->tried[slot].ino == e->ino && p->tried[slot].dev == e->dev &&
	    p->tried[slot].pid == (int32_t)e->pid)
		return;
	p->tried[slot].ino = e->ino;
	p->tried[slot].dev = e->dev;
	p->tried[slot].pid = e->pid;
	pfw_maps_load_proc(maps, "/proc", e->pid);
	/* the mapping already gone (we read late): the file is likely still open */
	if (!pfw_maps_path_of(maps, e->dev >> 20, e->dev & 0xfffff, e->ino))
		pfw_maps_learn_fd_path(maps, "/proc", e->pid, e->dev >> 20, e->dev & 0xfffff,
				       e->ino);
}

/*
 * The file behind @link (a /proc/PID/fd or map_files entry): stat() follows
 * it to the open file itself, readlink() gives d_path(), exact.
 */
static bool file_of_link(const char *link, struct stat *st, char *buf, size_t len)
{
	ssize_t n;

	if (stat(link, st) || !S_ISREG(st->st_mode))
		return false;
	n = readlink(link, buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1 || buf[0] != '/')
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * kprobe-nobtf: a new mapping, announced before the faults on it. Insert
 * the exact range now: its faults may be read after a munmap(), when
 * neither /proc/PID/maps nor map_files show it, and a whole re-read of the
 * maps then would also drop other threads' mappings whose faults are still
 * queued. The file comes from the fd the caller mapped while that number
 * still holds the file it held at the mmap (no fd_install() at it since:
 * ld.so closes each library's fd and the number is soon another file's);
 * else from the mapping itself while it exists (map_files, or the maps
 * line at its address with the same file offset). The ELF loader's
 * mappings (no length) re-read the maps: it runs in exec, before any fault
 * of the new image.
 */
static bool fd_unchanged(const struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	__u64 key = (__u64)e->pid << 32 | (__u32)e->ino;
	__u32 now = 0;

	if (p->fd_gens_fd < 0)
		return true;
	if (bpf_map_lookup_elem(p->fd_gens_fd, &key, &now))
		now = 0;
	return now == e->gen;
}

/*
 * What is mapped at e->addr now is this record's mapping (or nothing): no
 * mmap(2) of the process in flight, and none recorded at that address since.
 * Asked before and after reading /proc.
 */
static bool latest_at(const struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct {
		__u32 tgid;
		__u32 pad;
		__u64 addr;
	} key = {.tgid = e->pid, .addr = e->addr};
	__u32 now = 0, busy = 0;

	if (p->mmap_seqs_fd < 0)
		return true;
	if (!bpf_map_lookup_elem(p->mmaps_inflight_fd, &e->pid, &busy) && busy)
		return false;
	if (bpf_map_lookup_elem(p->mmap_seqs_fd, &key, &now))
		now = 0;
	return now == e->dev;
}

static void announce_mmap(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	char link[96], buf[PATH_MAX + 16];
	struct pfw_mapping x;
	struct stat st;

	if (!e->ip || !pfw_maps_known(maps, e->pid)) {
		pfw_maps_load_proc(maps, "/proc", e->pid);
		if (!e->ip)
			return;
	}
	if (!(e->flags & PFW_BPF_F_MMAP_FD)) {
		pfw_maps_mmap(maps, e->pid, e->addr, e->ip, 0, 0, 0, 0, NULL);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%u/fd/%llu", e->pid, (unsigned long long)e->ino);
	if (fd_unchanged(p, e) && file_of_link(link, &st, buf, sizeof(buf)))
		goto found;
	/* a newer mapping at the same place would be another file's */
	if (!latest_at(p, e))
		goto unknown;
	snprintf(link, sizeof(link), "/proc/%u/map_files/%llx-%llx", e->pid,
		 (unsigned long long)e->addr, (unsigned long long)(e->addr + e->ip));
	if (file_of_link(link, &st, buf, sizeof(buf))) {
		if (!latest_at(p, e))
			goto unknown;
		goto found;
	}
	/* split since (ld.so maps a library whole, then its segments over it) */
	if (!pfw_maps_proc_at(maps, "/proc", e->pid, e->addr, &x) && x.file && x.start == e->addr &&
	    x.pgoff == e->offset && latest_at(p, e)) {
		pfw_maps_mmap(maps, e->pid, e->addr, e->ip, e->offset, x.dev_major, x.dev_minor,
			      x.inode, x.path);
		return;
	}
unknown:
	/*
	 * gone already, its fd reused: unnamed rather than misnamed (a hole
	 * would re-read the maps, which show what is there now)
	 */
	pfw_maps_mmap(maps, e->pid, e->addr, e->ip, 0, 0, 0, 0, "[unknown]");
	return;
found:
	pfw_maps_mmap(maps, e->pid, e->addr, e->ip, e->offset, major(st.st_dev), minor(st.st_dev),
		      st.st_ino, buf);
}

static const char *name_of(const struct bpf_priv *p, uint64_t ino, uint32_t major, uint32_t minor,
			   uint32_t gen)
{
	const char *n = p->names ? pfw_agg_file_path(p->names, ino, major, minor, gen) : NULL;

	/* newest first */
	for (unsigned i = 0; !n && i < RECENT_NAMES; i++) {
		const struct recent_name *r =
			&p->recent[(p->recent_next + RECENT_NAMES - 1 - i) % RECENT_NAMES];

		if (!r->path)
			break;
		if (r->ino == ino && r->gen == gen && r->major == major && r->minor == minor)
			n = r->path;
	}
	return n;
}

static struct recent_name *remember_name(struct bpf_priv *p, uint64_t ino, uint32_t major,
					 uint32_t minor, uint32_t gen, const char *path)
{
	struct recent_name *r = &p->recent[p->recent_next];
	char *copy = strdup(path);

	if (!copy)
		return NULL;
	free(r->path);
	*r = (struct recent_name){
		.ino = ino, .major = major, .minor = minor, .gen = gen, .path = copy};
	p->recent_next = (p->recent_next + 1) % RECENT_NAMES;
	return r;
}

/*
 * The file mapped at @addr in @pid at @time_ns, from the MMAP2 records:
 * the newest mapping made before the fault that covers the address. A
 * fault tp could not look its vma up for is read after its thread (or a
 * sibling) may have unmapped the file and mapped another one at the same
 * address: neither /proc/PID/maps now nor the newest record would do.
 */
static const struct recent_name *mapping_at(const struct bpf_priv *p, uint32_t pid, uint64_t addr,
					    uint64_t time_ns)
{
	for (unsigned i = 0; i < RECENT_NAMES; i++) {
		const struct recent_name *r =
			&p->recent[(p->recent_next + RECENT_NAMES - 1 - i) % RECENT_NAMES];

		if (!r->path)
			break;
		if (r->pid == pid && r->time_ns && r->time_ns <= time_ns && addr >= r->start &&
		    addr < r->end)
			return r;
	}
	return NULL;
}

/*
 * Names in-band: a dummy software event per CPU with mmap/mmap_data/mmap2
 * set delivers a PERF_RECORD_MMAP2 for every file mapping in the system,
 * with the path, the device, the inode and its generation, as it is made.
 * A file's name is then known even when its process has exited before
 * pfwatch reads its first fault, and a new file that reuses an inode
 * number cannot take an older file's name (/proc/PID/maps has no
 * generation). Optional: without it (no perf events), names come from
 * /proc at the first fault.
 */
#define MMAP_RING_PAGES 16

static void open_mmaps(struct bpf_priv *p)
{
	int ncpu = libbpf_num_possible_cpus();
	long pg = sysconf(_SC_PAGESIZE);
	struct perf_event_attr a = {0};

	if (ncpu <= 0 || pg <= 0)
		return;
	p->mmap_fds = calloc(ncpu, sizeof(*p->mmap_fds));
	p->mmap_bases = calloc(ncpu, sizeof(*p->mmap_bases));
	p->mmap_rings = calloc(ncpu, sizeof(*p->mmap_rings));
	if (!p->mmap_fds || !p->mmap_bases || !p->mmap_rings)
		return;
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.mmap = 1;
	a.mmap_data = 1;
	a.mmap2 = 1;
	/* each record ends with its time, on the clock of bpf_ktime_get_ns() */
	a.sample_id_all = 1;
	a.sample_type = PERF_SAMPLE_TIME;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.disabled = 1;
	a.watermark = 1;
	a.wakeup_watermark = (MMAP_RING_PAGES * pg) / 2;
	for (int c = 0; c < ncpu; c++) {
		int fd = (int)perf_event_open(&a, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		void *base;

		if (fd < 0) {
			if (errno == ENODEV) /* a possible CPU that is not online */
				continue;
			pfw_session_verbose(p->s, "bpf: no MMAP2 names (%s): from /proc instead",
					    strerror(errno));
			break;
		}
		base = mmap(NULL, (MMAP_RING_PAGES + 1) * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
		if (base == MAP_FAILED ||
		    pfw_ring_init(&p->mmap_rings[p->nr_mmap], base, pg, MMAP_RING_PAGES * pg)) {
			if (base != MAP_FAILED)
				munmap(base, (MMAP_RING_PAGES + 1) * pg);
			close(fd);
			break;
		}
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
		p->mmap_fds[p->nr_mmap] = fd;
		p->mmap_bases[p->nr_mmap] = base;
		p->nr_mmap++;
	}
}

static void close_mmaps(struct bpf_priv *p)
{
	long pg = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < p->nr_mmap; i++) {
		pfw_ring_fini(&p->mmap_rings[i]);
		munmap(p->mmap_bases[i], (MMAP_RING_PAGES + 1) * pg);
		close(p->mmap_fds[i]);
	}
	p->nr_mmap = 0;
	free(p->mmap_fds);
	free(p->mmap_bases);
	free(p->mmap_rings);
	p->mmap_fds = NULL;
	p->mmap_bases = NULL;
	p->mmap_rings = NULL;
}

/* MMAP2 body: pid tid addr len pgoff maj min ino ino_gen prot flags name, then the time */
static void drain_mmaps(struct bpf_priv *p)
{
	for (int i = 0; i < p->nr_mmap; i++) {
		struct pfw_ring *r = &p->mmap_rings[i];
		const struct perf_event_header *h;

		if (!pfw_ring_read_init(r))
			continue;
		while ((h = pfw_ring_read_event(r))) {
			const uint8_t *b = (const uint8_t *)(h + 1);
			uint64_t ino, gen;
			uint32_t maj, min;
			size_t room;

			if (h->type == PERF_RECORD_MMAP2 && h->size > sizeof(*h) + 64 + 8 &&
			    !(h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
				struct recent_name *rn;
				uint32_t pid;
				uint64_t addr, len, pgoff, t;

				memcpy(&pid, b, 4);
				memcpy(&addr, b + 8, 8);
				memcpy(&len, b + 16, 8);
				memcpy(&pgoff, b + 24, 8);
				memcpy(&maj, b + 32, 4);
				memcpy(&min, b + 36, 4);
				memcpy(&ino, b + 40, 8);
				memcpy(&gen, b + 48, 8);
				memcpy(&t, (const uint8_t *)h + h->size - 8, 8);
				room = h->size - sizeof(*h) - 64 - 8;
				/*
				 * "//anon", "[heap]", "//toolong" (no inode): not
				 * files; pid 0: a process outside pfwatch's pid
				 * namespace (perf_event_pid()), not visible to it
				 */
				if (pid && ino && b[64] == '/' && b[65] != '/' &&
				    strnlen((const char *)b + 64, room) < room &&
				    (rn = remember_name(p, ino, maj, min, (uint32_t)gen,
							(const char *)b + 64))) {
					rn->pid = pid;
					rn->start = addr;
					rn->end = addr + len;
					rn->pgoff = pgoff;
					rn->time_ns = t;
				}
			}
			pfw_ring_consume(r);
		}
		pfw_ring_read_done(r);
	}
}

/*
 * The name of a new in-kernel file row, taken now, at its first fault:
 * the mapping at the faulting address is that very file, and at stop (or
 * the exporter's next scrape) the process, the mapping and the name the
 * maps keep for (dev, ino) may be gone or belong to a newer file that
 * reuses the inode number.
 */
static void name_file(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	struct pfw_file_stats r = {0};
	const struct pfw_mapping *m;

	if (!p->names || !maps || !(e->flags & PFW_BPF_F_FILE))
		return;
	r.file = true;
	r.inode = e->ino;
	r.dev_major = e->dev >> 20;
	r.dev_minor = e->dev & 0xfffff;
	r.gen = e->gen;
	/* its mmap came before its first fault: the record is in the rings */
	drain_mmaps(p);
	r.path = name_of(p, r.inode, r.dev_major, r.dev_minor, r.gen);
	/*
	 * The mapping at the faulting address; read the process's maps again
	 * when ours do not show this file there (a new process, a new
	 * mapping): once per row, so once per file. Only when the mapping is
	 * gone already, the last name the maps knew for (dev, ino).
	 */
	for (int pass = 0; pass < 2 && !r.path; pass++) {
		if (pass)
			pfw_maps_load_proc(maps, "/proc", e->pid);
		m = pfw_maps_find(maps, e->pid, e->addr);
		if (m && m->file && m->inode == e->ino && m->dev_major == r.dev_major &&
		    m->dev_minor == r.dev_minor)
			r.path = m->path;
	}
	if (!r.path)
		r.path = pfw_maps_path_of(maps, r.dev_major, r.dev_minor, r.inode);
	if (r.path)
		pfw_agg_add_file(p->names, &r);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct bpf_priv *p = ctx;
	const struct pfw_bpf_event *e = data;
	struct pfw_event ev = {0};
	size_t hdr = sizeof(*e) - sizeof(e->stack);

	if (size < hdr)
		return 0;
	if (e->flags & PFW_BPF_F_MMAP) {
		if (p->s->maps)
			announce_mmap(p, e);
		return 0;
	}
	/*
	 * A file we have no name for: re-read the maps now, once per file
	 * and process, before a short-lived mapping (or process) is gone.
	 */
	if (e->flags & PFW_BPF_F_FILE)
		learn_path(p, e);
	if (e->flags & PFW_BPF_F_NEWFILE) {
		name_file(p, e);
		return 0;
	}
	if (e->flags & PFW_BPF_F_NOVMA) {
		const struct recent_name *r;

		/* its mmap came before it: the record is in the rings */
		drain_mmaps(p);
		r = mapping_at(p, e->pid, e->addr, e->time_ns);
		if (r) {
			ev.path = r->path;
			ev.inode = r->ino;
			ev.dev_major = r->major;
			ev.dev_minor = r->minor;
			ev.offset = r->pgoff + ((e->addr & ~(uint64_t)4095) - r->start);
			ev.flags |= PFW_EV_FILE;
		}
	}
	ev.time_ns = e->time_ns;
	ev.addr = e->addr;
	ev.ip = e->ip;
	ev.pid = e->pid;
	ev.tid = e->tid;
	/* PFW_BPF_F_* below bit 16 are the PFW_EV_* bits */
	ev.flags |= e->flags & 0xffff;
	ev.latency_ns = e->latency_ns;
	if (e->flags & PFW_BPF_F_FILE) {
		ev.inode = e->ino;
		ev.offset = e->offset;
		/* the kernel's internal dev_t: MINORBITS = 20 */
		ev.dev_major = e->dev >> 20;
		ev.dev_minor = e->dev & 0xfffff;
	}
	ev.kind = e->kind ? PFW_MAJOR : PFW_MINOR;
	/*
	 * The kernel's verdict (the superblock's magic) where it read the vma;
	 * kprobe-nobtf's faults and a NOVMA fault are named, and classified,
	 * from the maps.
	 */
	if (e->flags & PFW_BPF_F_FILE)
		ev.backing = e->flags & PFW_BPF_F_SHMEM ? PFW_BACKING_SHMEM : PFW_BACKING_FILE;
	else if (!(e->flags & PFW_BPF_F_NOVMA) && p->mode != MODE_KPROBE_NOBTF)
		ev.backing = PFW_BACKING_ANON;
	memcpy(ev.comm, e->comm, sizeof(ev.comm));
	ev.comm[PFW_COMM_LEN - 1] = '\0';
	if (e->nr_stack && size >= hdr + e->nr_stack * sizeof(__u64)) {
		ev.stack = (const uint64_t *)e->stack;
		ev.nr_stack = e->nr_stack;
	}
	pfw_session_emit(p->s, &ev);
	/*
	 * Counting in the kernel, a fault arrives here only when tp could not
	 * take mmap_lock to name its file: it joins the rows through
	 * p->retired, named by its address (path set by the frontend when it
	 * passed the filters). Its page is not in the kernel's page set: a
	 * later fault on it counts it as distinct once more, and whether it
	 * is a refault is not known (PFW_EV_UNTRACKED: the rows say so).
	 */
	if (p->aggregate && p->retired && ev.path) {
		ev.flags |= PFW_EV_UNTRACKED;
		pfw_agg_add(p->retired, &ev, NULL);
	}
	p->delivered++;
	return 0;
}

static void handle_perf_event(void *ctx, int cpu, void *data, __u32 size)
{
	(void)cpu;
	handle_event(ctx, data, size);
}

static void handle_perf_lost(void *ctx, int cpu, __u64 n)
{
	struct bpf_priv *p = ctx;

	(void)cpu;
	pfw_session_lost(p->s, n);
}

static void set_autoload(struct pfwatch_bpf *skel, enum bpf_mode m, bool agg)
{
	bpf_program__set_autoload(skel->progs.pfw_fentry, m == MODE_FENTRY);
	bpf_program__set_autoload(skel->progs.pfw_fexit, m == MODE_FENTRY && !agg);
	bpf_program__set_autoload(skel->progs.pfw_fexit_agg, m == MODE_FENTRY && agg);
	bpf_program__set_autoload(skel->progs.pfw_kprobe, m == MODE_KPROBE);
	bpf_program__set_autoload(skel->progs.pfw_kretprobe, m == MODE_KPROBE && !agg);
	bpf_program__set_autoload(skel->progs.pfw_kretprobe_agg, m == MODE_KPROBE && agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry_user, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_entry_kernel, m == MODE_TP);
	bpf_program__set_autoload(skel->progs.pfw_tp_major, m == MODE_TP && !agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_minor, m == MODE_TP && !agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_major_agg, m == MODE_TP && agg);
	bpf_program__set_autoload(skel->progs.pfw_tp_minor_agg, m == MODE_TP && agg);
}

/*
 * BPF atomics with fetch (5.12, 5ca419f2864a): the in-kernel page set
 * needs one (pfwatch.bpf.c, file_page_seen()). Tried with a 5-instruction
 * program, as libbpf-tools decide by trying; older kernels refuse the
 * instruction even in dead code, hence the separate _agg programs.
 */
static bool probe_atomic_fetch(void)
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
static bool pid_numbers_flexible(void)
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

/*
 * pfwatch in a child pid namespace: the programs index struct pid at that
 * namespace's level, which nothing in /proc tells (NS_GET_PARENT stops at
 * the namespace's own boundary). Ask the kernel instead: pfw_level alone,
 * on a page-fault event of this process, and one fresh page touched.
 */
static int learn_pidns_level(bool task_btf, __u32 *level, char *err, size_t errlen)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_PAGE_FAULTS,
		.sample_period = 1,
		.disabled = 1,
	};
	struct pfwatch_bpf *skel = pfwatch_bpf__open();
	struct bpf_program *prog;
	struct bpf_map *map;
	struct bpf_link *link = NULL;
	long pg = sysconf(_SC_PAGESIZE);
	volatile char *page = MAP_FAILED;
	int fd = -1, ret;

	if (!skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.pfw_level);
	/* the maps are created all the same: as small as they go */
	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__type(map) == BPF_MAP_TYPE_TASK_STORAGE)
			bpf_map__set_autocreate(map, false);
		else if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_max_entries(map, (__u32)pg);
		else if (!bpf_map__is_internal(map))
			bpf_map__set_max_entries(map, 1);
	}
	skel->rodata->have_task_btf = task_btf;
	libbpf_last[0] = '\0';
	ret = pfwatch_bpf__load(skel);
	if (ret) {
		snprintf(err, errlen, "loading the pid-namespace level probe failed: %s%s%s",
			 strerror(-ret), libbpf_last[0] ? ": " : "", libbpf_last);
		goto out;
	}
	fd = perf_event_open(&attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "page-fault event on pfwatch itself refused: %s",
			 strerror(errno));
		goto out;
	}
	link = bpf_program__attach_perf_event(skel->progs.pfw_level, fd);
	if (!link) {
		ret = -errno;
		snprintf(err, errlen, "attaching the pid-namespace level probe failed: %s",
			 strerror(errno));
		goto out;
	}
	fd = -1; /* the link's now (libbpf enabled the event) */
	/* a fresh anonymous page faults on its first write */
	page = mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		goto out;
	}
	page[0] = 1;
	ret = -EIO;
	if (skel->bss->self_level) {
		*level = skel->bss->self_level - 1;
		ret = 0;
	} else {
		snprintf(err, errlen, "the pid-namespace level probe never ran");
	}
out:
	if (page != MAP_FAILED)
		munmap((void *)page, (size_t)pg);
	bpf_link__destroy(link);
	if (fd >= 0)
		close(fd);
	pfwatch_bpf__destroy(skel);
	return ret;
}

static int configure(struct bpf_priv *p, char *err, size_t errlen)
{
	const struct pfw_opts *o = p->s->opts;
	const struct pfw_target *t = &p->s->target;
	struct pfwatch_bpf *skel = p->skel;
	int ncpu = libbpf_num_possible_cpus();
	const char *env;

	skel->rodata->target_kind = t->kind == PFW_TARGET_COMMAND ? PFW_BPF_TARGET_COMMAND
				    : t->kind == PFW_TARGET_PIDS  ? PFW_BPF_TARGET_PIDS
								  : PFW_BPF_TARGET_SYSTEM;
	skel->rodata->cgroup_id = o->cgroup_id;
	if (o->comm && *o->comm) {
		/* the kernel keeps TASK_COMM_LEN - 1 characters: match what it keeps */
		skel->rodata->filter_comm = true;
		strncpy((char *)skel->rodata->want_comm, o->comm, PFW_BPF_COMM_LEN - 1);
	}
	skel->rodata->want_faults = o->faults ? o->faults : (PFW_WANT_MAJOR | PFW_WANT_MINOR);
	skel->rodata->call_graph = o->call_graph && !p->aggregate;
	skel->rodata->measure_latency = !o->no_latency;
	skel->rodata->have_task_btf =
		libbpf_probe_bpf_helper(p->mode == MODE_TP ? BPF_PROG_TYPE_PERF_EVENT
							   : BPF_PROG_TYPE_KPROBE,
					BPF_FUNC_get_current_task_btf, NULL) > 0;
	if (pfw_privs_get()->pidns) {
		/* the level probe is a perf_event program: ask for that type's helper */
		bool task_btf = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
							BPF_FUNC_get_current_task_btf, NULL) > 0;
		__u32 level = 0;
		int ret;

		skel->rodata->pid_typed = pid_numbers_flexible();
		if (!skel->rodata->pid_typed && pfw_privs_get()->confidentiality) {
			snprintf(err, errlen,
				 "in a child pid namespace under lockdown=confidentiality: this "
				 "kernel's struct pid can only be read with bpf_probe_read_kernel, "
				 "which lockdown refuses; choose --backend=perf");
			return -ENOTSUP;
		}
		ret = learn_pidns_level(task_btf, &level, err, errlen);
		if (ret)
			return ret;
		skel->rodata->pidns_level = level;
		skel->rodata->pidns_ino = (__u32)pfw_privs_get()->pidns_ino;
		pfw_session_verbose(p->s,
				    "bpf: pid namespace at level %u (inode %u): pids as it sees "
				    "them, tasks outside it skipped (struct pid read %s)",
				    level, skel->rodata->pidns_ino,
				    skel->rodata->pid_typed ? "through BTF" : "with probe reads");
	}

	/*
	 * ringbuf is 5.8; before that libbpf-tools' perf-buffer fallback.
	 * PFW_BPF_NO_RINGBUF=1 forces the fallback and PFW_BPF_RINGBUF_KB
	 * shrinks the buffer, so tests exercise both and the drop accounting
	 * on any kernel.
	 */
	p->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	env = getenv("PFW_BPF_NO_RINGBUF");
	if (env && *env && strcmp(env, "0"))
		p->ringbuf = false;
	env = getenv("PFW_BPF_RINGBUF_KB");
	if (p->ringbuf && env && atoi(env) > 0) {
		/* a power of two of pages, as BPF_MAP_TYPE_RINGBUF requires */
		unsigned kb = 4;

		while (kb < (unsigned)atoi(env) && kb < (1u << 20))
			kb <<= 1;
		bpf_map__set_max_entries(skel->maps.events, kb * 1024);
	}
	skel->rodata->use_ringbuf = p->ringbuf;
	if (!p->ringbuf) {
		bpf_map__set_type(skel->maps.events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
		bpf_map__set_key_size(skel->maps.events, sizeof(int));
		bpf_map__set_value_size(skel->maps.events, sizeof(int));
		bpf_map__set_max_entries(skel->maps.events, ncpu > 0 ? ncpu : 1);
	}
	/* preallocated hash maps: shrink what this run does not use */
	if (!p->aggregate) {
		bpf_map__set_max_entries(skel->maps.agg_threads, 1);
		bpf_map__set_max_entries(skel->maps.agg_files, 1);
		bpf_map__set_max_entries(skel->maps.agg_pages, 1);
	} else {
		/* a test hook: a tiny page set, to see what a full one does */
		env = getenv("PFW_BPF_CHUNKS");
		if (env && atoi(env) > 0)
			bpf_map__set_max_entries(skel->maps.agg_pages, (__u32)atoi(env));
		/* only new-file announcements go through it */
		if (p->ringbuf)
			bpf_map__set_max_entries(skel->maps.events, 64 * 1024);
		/* the exporter reports no distinct pages: over days they would fill the set */
		skel->rodata->anon_pages = !p->serving;
	}
	if (p->mode == MODE_TP) {
		bpf_map__set_max_entries(skel->maps.inflights, 1);
		/* a benchmark hook: the cost of asking bpf_find_vma() on every fault */
		env = getenv("PFW_BPF_NO_VMA_CACHE");
		skel->rodata->use_vma_cache = !(env && *env && strcmp(env, "0"));
		/*
		 * a test hook: every Nth page as if mmap_lock were contended, so
		 * the tests place such faults by the MMAP2 records on any kernel
		 */
		env = getenv("PFW_BPF_NOVMA_EVERY");
		if (env && atoi(env) > 0)
			skel->rodata->novma_every = (__u32)atoi(env);
	} else {
		/* task storage is 5.11 (tracing programs 5.13); fentry and kprobe run on older */
		bpf_map__set_autocreate(skel->maps.tp_tasks, false);
		/*
		 * Their fault in flight in task storage where kprobe programs
		 * may use it (tracing programs could earlier): else the hash.
		 */
		skel->rodata->inflight_task =
			skel->rodata->have_task_btf &&
			libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_task_storage_get,
						NULL) > 0;
		env = getenv("PFW_BPF_INFLIGHT_HASH");
		if (env && *env && strcmp(env, "0"))
			skel->rodata->inflight_task = false; /* a benchmark hook */
	}
	if (p->mode == MODE_TP || !skel->rodata->inflight_task)
		bpf_map__set_autocreate(skel->maps.inflight_tasks, false);
	if (skel->rodata->inflight_task)
		bpf_map__set_max_entries(skel->maps.inflights, 1);
	if (t->kind == PFW_TARGET_SYSTEM)
		bpf_map__set_max_entries(skel->maps.targets, 1);
	set_autoload(skel, p->mode, p->aggregate);
	/*
	 * The fork follower: raw_tp with bpf_probe_read_kernel where that is
	 * allowed, else (confidentiality lockdown) tp_btf where BTF tracing
	 * programs load, else none: the ancestor walk at fault time alone.
	 * Lockdown is asked of the kernel, not of libbpf: its helper probe
	 * looks for "unknown func", and 6.x kernels say "program of this type
	 * cannot use helper" (libbpf then assumes supported; seen on 6.12).
	 * fentry's and tp's programs read BTF-typed pointers, which lockdown
	 * allows (locked-down lane: both pass --validate exactly); kprobe mode
	 * cannot attach there at all (probe_kprobe()).
	 */
	if (t->kind == PFW_TARGET_COMMAND) {
		char why[128];

		if (!pfw_privs_get()->confidentiality &&
		    libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
					    BPF_FUNC_probe_read_kernel, NULL) > 0)
			p->follow_forks = true;
		else if (probe_fentry(why, sizeof(why)) == 0)
			p->follow_forks = p->fork_btf = true;
	}
	bpf_program__set_autoload(skel->progs.pfw_fork, p->follow_forks && !p->fork_btf);
	bpf_program__set_autoload(skel->progs.pfw_fork_btf, p->fork_btf);
	if (t->kind == PFW_TARGET_COMMAND && !p->follow_forks)
		pfw_session_verbose(p->s,
				    "bpf: neither bpf_probe_read_kernel nor BTF tracing programs: "
				    "forks followed by ancestry at fault time (misses children "
				    "reparented before their first fault)");
	if (p->mode == MODE_TP && !skel->rodata->have_task_btf) {
		snprintf(err, errlen, "tp mode needs bpf_get_current_task_btf() (kernel 5.11+)");
		return -ENOTSUP;
	}
	return 0;
}

static int configure_nobtf(struct bpf_priv *p)
{
	const struct pfw_opts *o = p->s->opts;
	const struct pfw_target *t = &p->s->target;
	struct pfwatch_nobtf_bpf *nb = p->nb;
	int ncpu = libbpf_num_possible_cpus();
	const char *env;

	nb->rodata->target_kind = t->kind == PFW_TARGET_COMMAND ? PFW_BPF_TARGET_COMMAND
				  : t->kind == PFW_TARGET_PIDS	? PFW_BPF_TARGET_PIDS
								: PFW_BPF_TARGET_SYSTEM;
	nb->rodata->cgroup_id = o->cgroup_id;
	if (o->comm && *o->comm) {
		nb->rodata->filter_comm = true;
		strncpy((char *)nb->rodata->want_comm, o->comm, PFW_BPF_COMM_LEN - 1);
	}
	nb->rodata->want_faults = o->faults ? o->faults : (PFW_WANT_MAJOR | PFW_WANT_MINOR);
	nb->rodata->call_graph = o->call_graph;
	nb->rodata->measure_latency = !o->no_latency;
	p->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	env = getenv("PFW_BPF_NO_RINGBUF");
	if (env && *env && strcmp(env, "0"))
		p->ringbuf = false;
	nb->rodata->use_ringbuf = p->ringbuf;
	if (!p->ringbuf) {
		bpf_map__set_type(nb->maps.events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
		bpf_map__set_key_size(nb->maps.events, sizeof(int));
		bpf_map__set_value_size(nb->maps.events, sizeof(int));
		bpf_map__set_max_entries(nb->maps.events, ncpu > 0 ? ncpu : 1);
	}
	if (t->kind == PFW_TARGET_SYSTEM)
		bpf_map__set_max_entries(nb->maps.targets, 1);
	p->follow_forks = t->kind == PFW_TARGET_COMMAND;
	bpf_program__set_autoload(nb->progs.pfw_nb_fork, p->follow_forks);
	bpf_program__set_autoload(nb->progs.pfw_nb_exit, p->follow_forks);
	return 0;
}

static int load_objects(struct bpf_priv *p, char *err, size_t errlen)
{
	int ret;

	if (p->mode == MODE_KPROBE_NOBTF) {
		p->nb = pfwatch_nobtf_bpf__open();
		if (!p->nb)
			goto open_failed;
		configure_nobtf(p);
		libbpf_last[0] = '\0';
		ret = pfwatch_nobtf_bpf__load(p->nb);
		if (ret)
			goto load_failed;
		p->m_events = p->nb->maps.events;
		p->m_counters = p->nb->maps.counters;
		p->m_targets = p->nb->maps.targets;
		return 0;
	}
	p->skel = pfwatch_bpf__open();
	if (!p->skel)
		goto open_failed;
	ret = configure(p, err, errlen);
	if (ret)
		return ret;
	libbpf_last[0] = '\0';
	ret = pfwatch_bpf__load(p->skel);
	if (ret)
		goto load_failed;
	p->m_events = p->skel->maps.events;
	p->m_counters = p->skel->maps.counters;
	p->m_targets = p->skel->maps.targets;
	return 0;
open_failed:
	ret = -errno;
	snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
	return ret ? ret : -EINVAL;
load_failed:
	snprintf(err, errlen, "loading the BPF programs (%s mode) failed: %s%s%s",
		 mode_names[p->mode], strerror(-ret), libbpf_last[0] ? ": " : "", libbpf_last);
	return ret;
}

static void bpf_close(void *priv);

static int bpf_open(struct pfw_session *s, void **privp, char *err, size_t errlen)
{
	struct bpf_priv *p;
	char detail[PFW_DETAIL_LEN];
	int m, ret;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*privp = p;
	p->s = s;
	p->fd_gens_fd = -1;
	p->mmap_seqs_fd = -1;
	p->mmaps_inflight_fd = -1;
	libbpf_session = s;
	m = choose_mode(s->opts, detail, sizeof(detail));
	if (m < 0) {
		snprintf(err, errlen, "bpf backend unavailable: %s", detail);
		return m;
	}
	p->mode = m;
	if (detail[0])
		pfw_session_verbose(s, "bpf: using %s; %s", mode_names[m], detail);
	else
		pfw_session_verbose(s, "bpf: using %s", mode_names[m]);
	/*
	 * Count in the kernel whenever the view needs no per-fault record:
	 * summary and hist read the maps at stop, top and the exporter
	 * (--serve, --metrics-file) through snapshot() at each refresh. File
	 * rows are keyed by (dev, ino, i_generation) and named at their first
	 * fault, so a new file that reuses a deleted file's inode number gets
	 * its own row and name (tests/fleet/churn.sh: thousands of files).
	 */
	p->aggregate = s->opts->view == PFW_VIEW_SUMMARY || s->opts->view == PFW_VIEW_TOP ||
		       s->opts->view == PFW_VIEW_HIST || s->opts->serve || s->opts->metrics_file;
	p->serving = s->opts->serve || s->opts->metrics_file;
	/* hist -v: a histogram per file, and the in-kernel rows hold one per kind */
	if (s->opts->view == PFW_VIEW_HIST && pfw_verbose)
		p->aggregate = false;
	/* the in-kernel rows are keyed by (dev, ino), which kprobe-nobtf cannot see */
	if (m == MODE_KPROBE_NOBTF)
		p->aggregate = false;
	/* refaults need the in-kernel page set; without it user space counts every fault */
	if (p->aggregate && !probe_atomic_fetch()) {
		p->aggregate = false;
		pfw_session_verbose(s, "bpf: no BPF atomics (kernel 5.12+): faults counted in user "
				       "space");
	}
	if (p->aggregate) {
		const char *env = getenv("PFW_BPF_PRUNE_MS");

		/* a test hook, so the move is exercised within a short run */
		p->prune_interval_ns =
			env && atoi(env) > 0 ? (uint64_t)atoi(env) * 1000000ull : PRUNE_INTERVAL_NS;
		p->retired = pfw_agg_new();
		p->names = pfw_agg_new();
		if (!p->retired || !p->names) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}

	ret = load_objects(p, err, errlen);
	if (ret)
		return ret;

	for (size_t i = 0; i < s->target.nr_pids; i++) {
		__u32 pid = s->target.pids[i];
		__u8 one = 1;

		if (bpf_map__update_elem(p->m_targets, &pid, sizeof(pid), &one, sizeof(one),
					 BPF_ANY)) {
			ret = -errno;
			snprintf(err, errlen, "cannot add pid %u to the BPF target set: %s", pid,
				 strerror(errno));
			return ret;
		}
	}
	if (s->target.kind == PFW_TARGET_COMMAND && s->target.child > 0) {
		__u32 pid = s->target.child;
		__u8 one = 1;

		bpf_map__update_elem(p->m_targets, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
	}

	if (p->ringbuf)
		p->rb = ring_buffer__new(bpf_map__fd(p->m_events), handle_event, p, NULL);
	else
		p->pb = perf_buffer__new(bpf_map__fd(p->m_events), 64, handle_perf_event,
					 handle_perf_lost, p, NULL);
	if (!p->rb && !p->pb) {
		ret = -errno;
		snprintf(err, errlen, "cannot set up the BPF event buffer: %s", strerror(errno));
		return ret ? ret : -ENOMEM;
	}
	s->kernel_aggregates = p->aggregate;
	return 0;
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

static void destroy_links(struct bpf_priv *p)
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
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = config,
		.sample_period = 1,
		.disabled = 1,
	};
	int ncpu = libbpf_num_possible_cpus();
	int ret, fd, attached = 0;

	for (int cpu = 0; cpu < ncpu; cpu++) {
		fd = perf_event_open(&attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
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

static int start_nobtf(struct bpf_priv *p)
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

static int bpf_start(void *priv)
{
	struct bpf_priv *p = priv;
	struct pfwatch_bpf *skel = p->skel;
	int ret = 0;

	if (p->mode == MODE_KPROBE_NOBTF) {
		ret = start_nobtf(p);
		goto out;
	}

	/*
	 * before the child is released: its first mmap must already be seen
	 * (names for the in-kernel rows; tp's faults whose vma it could not
	 * look up are placed by the mappings as they were made)
	 */
	if (p->aggregate || p->mode == MODE_TP)
		open_mmaps(p);
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
		pfw_session_verbose(p->s, "bpf: attaching %s failed: %s", mode_names[p->mode],
				    strerror(-ret));
		destroy_links(p);
	}
	return ret;
}

static void prune(struct bpf_priv *p);

static int bpf_poll(void *priv, int timeout_ms)
{
	struct bpf_priv *p = priv;
	int ret;

	p->delivered = 0;
	if (p->rb)
		ret = ring_buffer__poll(p->rb, timeout_ms);
	else if (p->pb)
		ret = perf_buffer__poll(p->pb, timeout_ms);
	else
		return 0;
	if (ret < 0 && ret != -EINTR)
		return ret;
	drain_mmaps(p);
	if (p->aggregate && !p->serving && pfw_now_ns() - p->last_prune_ns > p->prune_interval_ns)
		prune(p);
	return p->delivered;
}

static void read_counters(struct bpf_priv *p)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (__u32 i = 0; i < PFW_BPF_CNT_NR; i++) {
		uint64_t sum = 0;

		if (bpf_map__lookup_elem(p->m_counters, &i, sizeof(i), vals, ncpu * sizeof(*vals),
					 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		p->counters[i] = sum;
	}
	free(vals);
}

static void lat_merge(uint64_t *cnt, uint64_t *tot, uint64_t *mn, uint64_t *mx, __u64 c, __u64 t,
		      __u64 lo, __u64 hi)
{
	if (!c)
		return;
	if (!*cnt || lo < *mn)
		*mn = lo;
	if (hi > *mx)
		*mx = hi;
	*cnt += c;
	*tot += t;
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen_row *x = a, *y = b;

	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	return (x->k2 > y->k2) - (x->k2 < y->k2);
}

static const struct seen_row *seen_find(const struct seen_row *v, size_t n, uint64_t k1,
					uint64_t k2)
{
	struct seen_row key = {.k1 = k1, .k2 = k2};

	return n ? bsearch(&key, v, n, sizeof(*v), seen_cmp) : NULL;
}

/* append to a growing array; false on ENOMEM (the row is then just not remembered) */
static bool seen_push(struct seen_row **v, size_t *n, size_t *cap, struct seen_row r)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct seen_row *nv = realloc(*v, ncap * sizeof(*nv));

		if (!nv)
			return false;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = r;
	return true;
}

static bool task_alive(uint32_t pid, uint32_t tid);

/* a kernel thread row's refault and backing counts, minus @was's (NULL: none) */
static void thread_refaults(struct pfw_thread_stats *t, const struct pfw_bpf_thread *v,
			    const struct pfw_bpf_thread *was)
{
	t->refaults = v->refaults - (was ? was->refaults : 0);
	t->untracked = v->untracked - (was ? was->untracked : 0);
	t->major_by[PFW_BACKING_FILE] = v->major_file - (was ? was->major_file : 0);
	t->major_by[PFW_BACKING_ANON] = v->major_anon - (was ? was->major_anon : 0);
	t->major_by[PFW_BACKING_SHMEM] = v->major_shmem - (was ? was->major_shmem : 0);
}

/* an in-kernel thread row as the frontend's; its cgroup named from its id */
static void thread_row(__u32 tid, const struct pfw_bpf_thread *v, struct pfw_thread_stats *t)
{
	memset(t, 0, sizeof(*t));
	t->pid = v->pid;
	t->tid = tid;
	memcpy(t->comm, v->comm, sizeof(t->comm));
	t->comm[PFW_COMM_LEN - 1] = '\0';
	t->major = v->major;
	t->minor = v->minor;
	t->lat_count = v->lat_count;
	t->lat_total_ns = v->lat_total;
	t->lat_min_ns = v->lat_min;
	t->lat_max_ns = v->lat_max;
	t->cgroup = pfw_cgroup_path_of_id(v->cgroup_id);
	t->cgroup_looked = true;
	thread_refaults(t, v, NULL);
}

/*
 * The exporter forgets a row the previous snapshot saw with the same
 * counts and that can count no more: an exited thread, or a file idle for
 * two refreshes. Its counts were reported; dropping it from this snapshot
 * adds nothing (the exporter diffs snapshots row by row) and a row created
 * later under the same key starts from zero against nothing. The row is
 * taken out with lookup-and-delete (5.14+), so a fault that raced in since
 * it was read is kept (in p->retired, which snapshots add); before 5.14 a
 * plain delete, and such a fault (on a file idle for two refreshes, within
 * microseconds) is lost. A thread id reused since the read lands in the
 * same way. Returns true when the row is gone.
 */
static bool forget_thread(struct bpf_priv *p, __u32 tid, const struct pfw_bpf_thread *was)
{
	struct bpf_map *m = p->skel->maps.agg_threads;
	struct pfw_bpf_thread v;

	if (bpf_map__lookup_and_delete_elem(m, &tid, sizeof(tid), &v, sizeof(v), 0)) {
		if (bpf_map__delete_elem(m, &tid, sizeof(tid), 0))
			return false;
		return true;
	}
	if (v.major != was->major || v.minor != was->minor) {
		struct pfw_thread_stats t;

		thread_row(tid, &v, &t);
		t.major = v.major - was->major;
		t.minor = v.minor - was->minor;
		t.lat_count = t.lat_total_ns = t.lat_min_ns = t.lat_max_ns = 0;
		thread_refaults(&t, &v, was);
		pfw_agg_add_thread(p->retired, &t);
	}
	return true;
}

static bool forget_file(struct bpf_priv *p, const struct pfw_bpf_file_key *fk,
			const struct pfw_file_stats *was, struct pfw_bpf_file *fv, int ncpu)
{
	struct bpf_map *m = p->skel->maps.agg_files;
	struct pfw_file_stats d = *was;

	if (bpf_map__lookup_and_delete_elem(m, fk, sizeof(*fk), fv, ncpu * sizeof(*fv), 0)) {
		if (bpf_map__delete_elem(m, fk, sizeof(*fk), 0))
			return false;
		return true;
	}
	d.major = d.minor = d.pages = d.refaults = d.untracked = 0;
	d.lat_count = d.lat_total_ns = d.lat_min_ns = d.lat_max_ns = 0;
	for (int c = 0; c < ncpu; c++) {
		d.major += fv[c].major;
		d.minor += fv[c].minor;
		d.refaults += fv[c].refaults;
		d.untracked += fv[c].untracked;
	}
	if (d.major != was->major || d.minor != was->minor) {
		d.major -= was->major;
		d.minor -= was->minor;
		d.refaults -= was->refaults;
		d.untracked -= was->untracked;
		pfw_agg_add_file(p->retired, &d);
	}
	return true;
}

/* the per-CPU values of a file row, summed (min and max folded) */
static void file_row_sum(const struct pfw_bpf_file *fv, int ncpu, struct pfw_file_stats *f)
{
	for (int c = 0; c < ncpu; c++) {
		f->major += fv[c].major;
		f->minor += fv[c].minor;
		f->pages += fv[c].pages;
		f->refaults += fv[c].refaults;
		f->untracked += fv[c].untracked;
		if (fv[c].shmem)
			f->backing = PFW_BACKING_SHMEM;
		lat_merge(&f->lat_count, &f->lat_total_ns, &f->lat_min_ns, &f->lat_max_ns,
			  fv[c].lat_count, fv[c].lat_total, fv[c].lat_min, fv[c].lat_max);
	}
}

static void read_aggregates(struct bpf_priv *p)
{
	struct pfw_session *s = p->s;
	struct pfwatch_bpf *skel = p->skel;
	int ncpu = libbpf_num_possible_cpus();
	__u32 tid, next;
	struct pfw_bpf_file_key fk, fnext;
	struct pfw_bpf_file *fv;
	struct seen_row *nt = NULL, *nf = NULL;
	size_t nnt = 0, cnt = 0, nnf = 0, cnf = 0;
	struct forget_t {
		__u32 tid;
		struct pfw_bpf_thread v;
		struct pfw_thread_stats t;
	} *ft = NULL;
	struct forget_f {
		struct pfw_bpf_file_key fk;
		struct pfw_file_stats f;
		char *path;
	} *ff = NULL;
	size_t nft = 0, cft = 0, nff = 0, cff = 0;
	struct pfw_agg *names = NULL;
	uint64_t now = pfw_now_ns();
	uint64_t idle_ns = 2 * s->opts->interval_ns;
	__u64 *hv;
	bool first;

	if (ncpu <= 0 || !s->agg)
		return;
	if (idle_ns < IDLE_FILE_MIN_NS)
		idle_ns = IDLE_FILE_MIN_NS;
	/* the exporter keeps the names of the rows the kernel holds, and recent ones */
	if (p->serving)
		names = pfw_agg_new();

	/* everything since start: the retired rows and what the maps hold now */
	pfw_agg_reset(s->agg);
	if (p->retired) {
		struct pfw_thread_stats *old;
		const struct pfw_totals *rt = pfw_agg_totals(p->retired);
		size_t n = pfw_agg_threads(p->retired, &old);

		for (size_t i = 0; i < n; i++)
			pfw_agg_add_thread(s->agg, &old[i]);
		free(old);
		for (int k = 0; k < 2; k++)
			for (unsigned b = 0; b < PFW_HIST_BUCKETS; b++)
				if (rt->hist[k][b])
					pfw_agg_add_hist(s->agg, (enum pfw_kind)k, b,
							 rt->hist[k][b]);
	}
	first = true;
	while (!bpf_map__get_next_key(skel->maps.agg_threads, first ? NULL : &tid, &next,
				      sizeof(next))) {
		struct pfw_bpf_thread v;
		struct pfw_thread_stats t;

		first = false;
		tid = next;
		if (bpf_map__lookup_elem(skel->maps.agg_threads, &tid, sizeof(tid), &v, sizeof(v),
					 0))
			continue;
		thread_row(tid, &v, &t);
		if (p->serving) {
			const struct seen_row *was = seen_find(p->seen_t, p->nseen_t, tid, 0);
			bool same = was && was->total == v.major + v.minor;

			/* deleted after the walk: get_next_key of a deleted key restarts it */
			if (same && !task_alive(v.pid, tid)) {
				if (nft == cft) {
					size_t nc = cft ? cft * 2 : 64;
					struct forget_t *n = realloc(ft, nc * sizeof(*n));

					if (n) {
						ft = n;
						cft = nc;
					}
				}
				if (nft < cft) {
					ft[nft].tid = tid;
					ft[nft].v = v;
					ft[nft++].t = t;
					continue;
				}
			}
			seen_push(&nt, &nnt, &cnt,
				  (struct seen_row){.k1 = tid,
						    .total = v.major + v.minor,
						    .since_ns = same ? was->since_ns : now});
		}
		/* learn the processes' files while they live */
		if (s->maps && !pfw_maps_known(s->maps, v.pid))
			pfw_maps_load_proc(s->maps, "/proc", v.pid);
		pfw_agg_add_thread(s->agg, &t);
	}

	fv = calloc(ncpu, sizeof(*fv));
	if (!fv)
		return;
	first = true;
	while (!bpf_map__get_next_key(skel->maps.agg_files, first ? NULL : &fk, &fnext,
				      sizeof(fnext))) {
		struct pfw_file_stats f = {0};

		first = false;
		fk = fnext;
		if (bpf_map__lookup_elem(skel->maps.agg_files, &fk, sizeof(fk), fv,
					 ncpu * sizeof(*fv), 0))
			continue;
		file_row_sum(fv, ncpu, &f);
		f.file = true;
		if (f.backing != PFW_BACKING_SHMEM)
			f.backing = PFW_BACKING_FILE;
		f.inode = fk.ino;
		f.dev_major = fk.dev >> 20;
		f.dev_minor = fk.dev & 0xfffff;
		f.gen = fk.gen;
		f.path = name_of(p, f.inode, f.dev_major, f.dev_minor, f.gen);
		if (!f.path && s->maps)
			f.path = pfw_maps_path_of(s->maps, f.dev_major, f.dev_minor, f.inode);
		if (!f.path)
			f.path = "[unknown]";
		if (p->serving) {
			uint64_t k2 = (uint64_t)fk.dev << 32 | fk.gen;
			const struct seen_row *was = seen_find(p->seen_f, p->nseen_f, fk.ino, k2);
			bool same = was && was->total == f.major + f.minor;

			if (same && f.file && now - was->since_ns >= idle_ns) {
				if (nff == cff) {
					size_t nc = cff ? cff * 2 : 64;
					struct forget_f *n = realloc(ff, nc * sizeof(*n));

					if (n) {
						ff = n;
						cff = nc;
					}
				}
				/* its own copy: remember_name() may reuse the slot f.path is in */
				if (nff < cff && (ff[nff].path = strdup(f.path))) {
					ff[nff].fk = fk;
					ff[nff].f = f;
					ff[nff].f.path = ff[nff].path;
					nff++;
					continue;
				}
			}
			seen_push(&nf, &nnf, &cnf,
				  (struct seen_row){.k1 = fk.ino,
						    .k2 = k2,
						    .total = f.major + f.minor,
						    .since_ns = same ? was->since_ns : now});
			if (names && f.file)
				pfw_agg_add_file(names, &(struct pfw_file_stats){
								.file = true,
								.inode = f.inode,
								.dev_major = f.dev_major,
								.dev_minor = f.dev_minor,
								.gen = f.gen,
								.path = f.path,
							});
		}
		pfw_agg_add_file(s->agg, &f);
	}
	/* every anonymous fault: one row, per CPU in an array (pfwatch.bpf.c, agg_anon) */
	if (!bpf_map__lookup_elem(skel->maps.agg_anon, &(__u32){0}, sizeof(__u32), fv,
				  ncpu * sizeof(*fv), 0)) {
		struct pfw_file_stats f = {.path = "[anon]", .backing = PFW_BACKING_ANON};

		file_row_sum(fv, ncpu, &f);
		if (f.major || f.minor)
			pfw_agg_add_file(s->agg, &f);
	}
	/* a row that would not go stays: it is reported (and seen) as it was */
	for (size_t i = 0; i < nft; i++)
		if (!forget_thread(p, ft[i].tid, &ft[i].v)) {
			pfw_agg_add_thread(s->agg, &ft[i].t);
			seen_push(&nt, &nnt, &cnt,
				  (struct seen_row){.k1 = ft[i].tid,
						    .total = ft[i].v.major + ft[i].v.minor,
						    .since_ns = now});
		}
	for (size_t i = 0; i < nff; i++) {
		struct forget_f *x = &ff[i];

		if (forget_file(p, &x->fk, &x->f, fv, ncpu)) {
			remember_name(p, x->f.inode, x->f.dev_major, x->f.dev_minor, x->f.gen,
				      x->path);
		} else {
			pfw_agg_add_file(s->agg, &x->f);
			seen_push(&nf, &nnf, &cnf,
				  (struct seen_row){.k1 = x->fk.ino,
						    .k2 = (uint64_t)x->fk.dev << 32 | x->fk.gen,
						    .total = x->f.major + x->f.minor,
						    .since_ns = now});
		}
		free(x->path);
	}
	free(ft);
	free(ff);
	free(fv);
	/*
	 * Faults streamed because tp could not name their file in the kernel
	 * (and the lookup-and-delete remainders): user space named them by
	 * address, without the inode generation; the kernel's row for the
	 * same (dev, ino) has it, so they join that row, not one of their own.
	 */
	if (p->retired) {
		struct pfw_file_stats *of = NULL, *cur = NULL;
		size_t n = pfw_agg_files(p->retired, &of), nc = n ? pfw_agg_files(s->agg, &cur) : 0;

		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; of[i].file && !of[i].gen && j < nc; j++)
				if (cur[j].file && cur[j].inode == of[i].inode &&
				    cur[j].dev_major == of[i].dev_major &&
				    cur[j].dev_minor == of[i].dev_minor) {
					of[i].gen = cur[j].gen;
					break;
				}
			pfw_agg_add_file(s->agg, &of[i]);
		}
		free(of);
		free(cur);
	}
	if (p->serving) {
		qsort(nt, nnt, sizeof(*nt), seen_cmp);
		qsort(nf, nnf, sizeof(*nf), seen_cmp);
		free(p->seen_t);
		free(p->seen_f);
		p->seen_t = nt;
		p->nseen_t = nnt;
		p->seen_f = nf;
		p->nseen_f = nnf;
		if (names) {
			pfw_agg_free(p->names);
			p->names = names;
		}
	}

	hv = calloc(ncpu, sizeof(*hv));
	if (!hv)
		return;
	for (__u32 i = 0; i < 2 * PFW_BPF_HIST; i++) {
		uint64_t sum = 0;

		if (bpf_map__lookup_elem(skel->maps.agg_hist, &i, sizeof(i), hv, ncpu * sizeof(*hv),
					 0))
			continue;
		for (int c = 0; c < ncpu; c++)
			sum += hv[c];
		if (sum)
			pfw_agg_add_hist(s->agg, i >= PFW_BPF_HIST ? PFW_MAJOR : PFW_MINOR,
					 i % PFW_BPF_HIST, sum);
	}
	free(hv);
}

static bool task_alive(uint32_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", pid, tid);
	return access(path, F_OK) == 0;
}

/*
 * Kernel memory must stay bounded over days of process churn. agg_threads
 * is a plain hash, not an LRU: an evicted row would lose its counts. Only
 * its own thread updates a row, so once the thread has exited the row is
 * final: it moves to user space (p->retired) and its slot is freed, here,
 * exactly. Descendants in the COMMAND target set that exited go too. The
 * per-file rows are bounded by the files faulted on, and the page set is
 * an LRU (pfwatch.bpf.c says what an eviction costs).
 */
#define PRUNE_BATCH 1024

static void prune(struct bpf_priv *p)
{
	struct pfwatch_bpf *skel = p->skel;
	__u32 key, next, dead[PRUNE_BATCH];
	size_t nd = 0;
	bool first = true;

	p->last_prune_ns = pfw_now_ns();
	while (nd < PRUNE_BATCH &&
	       !bpf_map__get_next_key(skel->maps.agg_threads, first ? NULL : &key, &next,
				      sizeof(next))) {
		struct pfw_bpf_thread v;

		first = false;
		key = next;
		if (!bpf_map__lookup_elem(skel->maps.agg_threads, &key, sizeof(key), &v, sizeof(v),
					  0) &&
		    !task_alive(v.pid, key))
			dead[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++) {
		struct pfw_bpf_thread v;
		struct pfw_thread_stats t;

		if (bpf_map__lookup_elem(skel->maps.agg_threads, &dead[i], sizeof(dead[i]), &v,
					 sizeof(v), 0))
			continue;
		thread_row(dead[i], &v, &t);
		pfw_agg_add_thread(p->retired, &t);
		bpf_map__delete_elem(skel->maps.agg_threads, &dead[i], sizeof(dead[i]), 0);
		p->nr_pruned++;
	}
	if (p->s->target.kind != PFW_TARGET_COMMAND)
		return;
	nd = 0;
	first = true;
	while (nd < PRUNE_BATCH && !bpf_map__get_next_key(skel->maps.targets, first ? NULL : &key,
							  &next, sizeof(next))) {
		first = false;
		key = next;
		if (key != (__u32)p->s->target.child && !task_alive(key, key))
			dead[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++)
		bpf_map__delete_elem(skel->maps.targets, &dead[i], sizeof(dead[i]), 0);
}

static int bpf_snapshot(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p || !p->skel || !p->aggregate || p->stopped)
		return 0;
	/* new-file announcements first, so the rows' paths resolve */
	if (p->rb)
		ring_buffer__consume(p->rb);
	else if (p->pb)
		perf_buffer__consume(p->pb);
	if (!p->serving)
		prune(p);
	drain_mmaps(p);
	read_aggregates(p);
	return 0;
}

static int bpf_stop(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p || p->stopped || (!p->skel && !p->nb))
		return 0;
	p->stopped = true;
	destroy_links(p);
	/* the programs are detached: whatever is in the buffer is all there is */
	p->delivered = 0;
	if (p->rb)
		ring_buffer__consume(p->rb);
	else if (p->pb)
		perf_buffer__consume(p->pb);
	read_counters(p);
	if (p->counters[PFW_BPF_CNT_LOST])
		pfw_session_lost(p->s, p->counters[PFW_BPF_CNT_LOST]);
	if (p->counters[PFW_BPF_CNT_VMA_BUSY])
		pfw_session_verbose(p->s,
				    "bpf: %llu faults without file identity (mmap_lock busy), "
				    "resolved by address",
				    (unsigned long long)p->counters[PFW_BPF_CNT_VMA_BUSY]);
	if (p->counters[PFW_BPF_CNT_PAGES_FULL])
		pfw_session_verbose(p->s,
				    "bpf: page set full (PFW_BPF_CHUNKS): %llu faults on "
				    "untracked pages; pages and refaults are lower bounds",
				    (unsigned long long)p->counters[PFW_BPF_CNT_PAGES_FULL]);
	if (p->counters[PFW_BPF_CNT_AGG_FULL]) {
		/* a fault the summary does not hold is a lost one */
		pfw_session_lost(p->s, p->counters[PFW_BPF_CNT_AGG_FULL]);
	}
	if (p->aggregate) {
		read_aggregates(p);
		pfw_session_verbose(p->s,
				    "bpf: %llu rows of exited threads moved out of the kernel",
				    (unsigned long long)p->nr_pruned);
	}
	return p->delivered;
}

static void bpf_close(void *priv)
{
	struct bpf_priv *p = priv;

	if (!p)
		return;
	destroy_links(p);
	ring_buffer__free(p->rb);
	perf_buffer__free(p->pb);
	pfwatch_bpf__destroy(p->skel);
	pfwatch_nobtf_bpf__destroy(p->nb);
	pfw_agg_free(p->retired);
	pfw_agg_free(p->names);
	for (int i = 0; i < RECENT_NAMES; i++)
		free(p->recent[i].path);
	close_mmaps(p);
	free(p->seen_t);
	free(p->seen_f);
	if (libbpf_session == p->s)
		libbpf_session = NULL;
	free(p);
}

static const char *bpf_attach(void *priv)
{
	struct bpf_priv *p = priv;

	return p ? mode_names[p->mode] : "-";
}

const struct pfw_backend pfw_backend_bpf = {
	.name = "bpf",
	.help = "libbpf CO-RE programs on the fault path (fentry, kprobe or perf-event attach)",
	.modes = mode_names,
	.probe = bpf_probe,
	.open = bpf_open,
	.start = bpf_start,
	.poll = bpf_poll,
	.stop = bpf_stop,
	.close = bpf_close,
	.attach = bpf_attach,
	.snapshot = bpf_snapshot,
};
