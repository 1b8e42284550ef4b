/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running one tracing session end to end: pick/open the backend, start the
 * target, loop until done, drain, print the view's end, tear down. Used by
 * main() once and by --validate once per backend and attach mode.
 */
#ifndef PFW_RUN_H
#define PFW_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "opts.h"

struct pfw_agg;
struct pfw_backend;
struct pfw_view;

struct pfw_run_result {
	int exit_code;            /* what pfwatch should exit with */
	const struct pfw_backend *backend; /* the one that ran, NULL if none */
	char attach[32];
	uint64_t lost;
	struct pfw_agg *agg;      /* when keep_agg: the run's aggregation; caller frees */
	bool have_rusage;         /* COMMAND: the child's rusage (ru_majflt: the ground truth) */
	struct rusage rusage;
};

/*
 * Run @opts once. @backend NULL = choose as --backend says (auto: first that
 * probes available and opens). @view NULL = the one --view names (fleet mode
 * passes its exporter). When @keep_agg, res->agg is kept for the caller.
 * Installs and removes its own signal handlers.
 */
int pfw_run(const struct pfw_opts *opts, const struct pfw_backend *backend,
	    const struct pfw_view *view, bool keep_agg, struct pfw_run_result *res);

#endif
