/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One tracing run: the target, the chosen backend, the maps model, the
 * aggregation and the output. Backends see only this and pfw_session_emit().
 */
#ifndef PFW_SESSION_H
#define PFW_SESSION_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "opts.h"

struct pfw_maps;
struct pfw_agg;
struct pfw_output;
struct pfw_view;
struct pfw_backend;

enum pfw_target_kind {
	PFW_TARGET_SYSTEM,  /* no -p, no COMMAND */
	PFW_TARGET_PIDS,    /* -p: these processes and their threads */
	PFW_TARGET_COMMAND, /* -- COMMAND: the child and everything it forks/clones */
};

struct pfw_target {
	enum pfw_target_kind kind;
	pid_t *pids; /* PIDS: the tgids; COMMAND: { child } */
	size_t nr_pids;
	/*
	 * COMMAND: the forked child, blocked before execvp() until the
	 * session releases it after backend->start(): a backend arms its
	 * events on this pid (with inheritance) and so sees the first fault.
	 */
	pid_t child;
};

struct pfw_session {
	const struct pfw_opts *opts;
	struct pfw_target target;
	const struct pfw_backend *backend;
	void *priv;           /* the backend's */
	struct pfw_maps *maps;
	struct pfw_agg *agg;
	struct pfw_output *out;
	const struct pfw_view *view;
	/*
	 * Where a kept fault goes after it is counted: the view's event hook,
	 * set by the frontend (the model does not call up into output/).
	 */
	void (*sink)(struct pfw_session *s, const struct pfw_event *ev);
	/* the running backend's name, for pfw_session_verbose() */
	const char *backend_name;
	uint64_t start_ns;    /* CLOCK_MONOTONIC when tracing started */
	uint64_t lost;        /* events dropped by the kernel or by us */
	uint64_t nr_emitted;
	/* set by a backend that fills s->agg itself (in-kernel aggregation) */
	bool kernel_aggregates;
	/* what the chosen mode cannot see, for the run record and -v (e.g. unprivileged perf) */
	char limits[256];
	volatile int stop;    /* set from signal handlers */
};

/*
 * Deliver one fault. The frontend filters (--faults, --comm), fills what the
 * backend left unknown (path/inode/offset from the maps when ev->path is
 * NULL; comm from the maps or /proc when PFW_EV_COMM is clear), aggregates
 * and hands it to the view. @ev may be modified.
 */
void pfw_session_emit(struct pfw_session *s, struct pfw_event *ev);
void pfw_session_lost(struct pfw_session *s, uint64_t n);
/* a message for -v; backends use this instead of printing */
void pfw_session_verbose(struct pfw_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

uint64_t pfw_now_ns(void); /* CLOCK_MONOTONIC */

#endif
