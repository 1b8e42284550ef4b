// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfwatch: who and what is behind every page fault (SPEC.md).
 * main() only dispatches; everything else is in libpfw.a so the tests link
 * the same code.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cgroup.h"
#include "cli.h"
#include "log.h"
#include "opts.h"
#include "output.h"
#include "replay.h"
#include "run.h"
#include "serve.h"
#include "validate.h"

static int list_backends(const struct pfw_opts *o)
{
	struct pfw_probe_result pr[8];
	struct pfw_backend_row rows[8];
	struct pfw_output out;
	size_t n = 0;
	int r;

	for (size_t i = 0; pfw_backends[i] && n < 8; i++, n++) {
		memset(&pr[n], 0, sizeof(pr[n]));
		pfw_backend_probe(pfw_backends[i], o, &pr[n]);
		rows[n].backend = pfw_backends[i]->name;
		rows[n].available = pr[n].available;
		rows[n].attach = pr[n].attach[0] ? pr[n].attach : "-";
		rows[n].needs = pfw_backends[i]->needs ? pfw_backends[i]->needs : "-";
		rows[n].detail = pr[n].detail;
	}
	r = pfw_output_open(&out, o->output, pfw_format_get(o->format));
	if (r < 0) {
		pfw_output_open_error(o->output, r);
		return PFW_EXIT_RUNTIME;
	}
	out.fmt->backends(&out, rows, n);
	if (pfw_output_close(&out) < 0) {
		pfw_err("writing the backend table failed: %s", strerror(out.err));
		return PFW_EXIT_RUNTIME;
	}
	return PFW_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct pfw_run_result res;
	struct pfw_opts opts;
	int rc;

	rc = pfw_cli_parse(argc, argv, &opts);
	if (rc >= 0)
		goto out;
	if (opts.list_backends) {
		rc = list_backends(&opts);
		goto out;
	}
	if (opts.input) {
		rc = pfw_replay(&opts);
		goto out;
	}
	if (opts.serve || opts.metrics_file) {
		/* fleet mode: the exporter is the view */
		rc = pfw_serve_open(&opts);
		if (rc < 0) {
			rc = pfw_run(&opts, NULL, &pfw_view_metrics, false, &res);
			pfw_serve_close();
		}
		goto out;
	}
	if (opts.validate) {
		rc = pfw_validate(&opts);
		goto out;
	}
	rc = pfw_run(&opts, NULL, NULL, false, &res);
out:
	pfw_cli_free(&opts);
	pfw_cgroup_cache_free();
	return rc;
}
