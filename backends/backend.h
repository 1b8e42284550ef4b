/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backend interface (pciutils' struct pci_methods is the model): a cheap,
 * side-effect-free probe() that says whether the backend can run here and
 * why not, then open/start/poll/stop/close. Backends never print and never
 * exit: they return -errno with a reason in @err, and deliver faults through
 * pfw_session_emit().
 */
#ifndef PFW_BACKEND_H
#define PFW_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

struct pfw_opts;
struct pfw_session;

#define PFW_ATTACH_LEN 32
#define PFW_DETAIL_LEN 512

struct pfw_probe_result {
	bool available;
	char attach[PFW_ATTACH_LEN]; /* the mode it would use, "-" if none */
	char detail
		[PFW_DETAIL_LEN]; /* why not / what this mode cannot see / modes not chosen and why */
};

struct pfw_backend {
	const char *name; /* "bpf", "perf", "ftrace" */
	const char *help; /* one line for --help and the man page */
	/* what it needs beyond an unprivileged user, for --list-backends (SPEC.md backend table) */
	const char *needs;
	/* the attach modes --bpf-attach etc. accept, best first, NULL terminated; --validate runs each */
	const char *const *modes;

	/*
	 * Must not change kernel or process state (no mounts, no instances,
	 * no attached programs); loading and unloading a tiny test program or
	 * opening and closing a perf event is fine. Honors the forced mode in
	 * opts (bpf_attach / ftrace_attach) when one is given.
	 */
	void (*probe)(const struct pfw_opts *opts, struct pfw_probe_result *res);

	/*
	 * Set everything up for s->target and s->opts, armed but not yet
	 * delivering. On failure return -errno, put one line (what failed +
	 * remedy, no "pfwatch:" prefix) in @err, and leave nothing behind.
	 * *priv may be set even on failure; close(priv) must then be safe.
	 */
	int (*open)(struct pfw_session *s, void **priv, char *err, size_t errlen);
	int (*start)(void *priv);
	/*
	 * Wait up to @timeout_ms for data and deliver it with
	 * pfw_session_emit() / pfw_session_lost(). Returns the number of
	 * faults delivered (>= 0), or -errno on a fatal error (-EINTR is not
	 * fatal: return 0).
	 */
	int (*poll)(void *priv, int timeout_ms);
	/* disable, then deliver everything still buffered (and in-kernel aggregates) */
	int (*stop)(void *priv);
	/* free everything and remove all kernel state; idempotent; NULL ok */
	void (*close)(void *priv);
	/* the attach mode in use after open(), e.g. "tp", "sw-events", "graph" */
	const char *(*attach)(void *priv);
	/*
	 * Optional (NULL when the backend streams every fault): for a backend
	 * that counts in the kernel (s->kernel_aggregates), make s->agg hold
	 * everything counted since start, without stopping, so that a live
	 * view (top) or the metrics exporter (--serve) costs nothing per fault
	 * in user space between refreshes. Returns 0 or -errno.
	 */
	int (*snapshot)(void *priv);
};

extern const struct pfw_backend pfw_backend_bpf;
extern const struct pfw_backend pfw_backend_perf;
extern const struct pfw_backend pfw_backend_ftrace;

/* all backends in preference order (bpf, perf, ftrace), NULL terminated */
/*
 * What each backend needs beyond an unprivileged user (SPEC.md backend
 * table): its ops' .needs, and the registry's when it is not built.
 */
#define PFW_BPF_NEEDS "CAP_BPF+CAP_PERFMON or root"
#define PFW_PERF_NEEDS                                                                  \
	"CAP_PERFMON for other users' processes and system-wide; none for your own at " \
	"perf_event_paranoid<=2"
#define PFW_FTRACE_NEEDS "root (tracefs)"

#define PFW_NR_BACKENDS 3 /* entries of pfw_backends[] before its NULL */
extern const struct pfw_backend *const pfw_backends[PFW_NR_BACKENDS + 1];
const struct pfw_backend *pfw_backend_find(const char *name);

/*
 * b->probe(), after what rules out every backend alike: a /proc that
 * belongs to another pid namespace (no pid could be resolved through it).
 * The frontend probes through this, never b->probe() directly.
 */
void pfw_backend_probe(const struct pfw_backend *b, const struct pfw_opts *opts,
		       struct pfw_probe_result *res);

#endif
