// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The registry: every backend in preference order. A backend configured
 * out is still listed, as unavailable with the reason, so --list-backends
 * and auto-selection always show the whole picture. It keeps its attach
 * mode names too (the ones SPEC.md gives), so that the command line
 * accepts and lists the same --bpf-attach / --ftrace-attach values in
 * every build, and a forced mode of a missing backend is "not built"
 * (exit 3), not a usage error.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "privs.h"

#define NOT_BUILT(var, nm, what, need, ...)                                                      \
	static void var##_probe(const struct pfw_opts *opts, struct pfw_probe_result *res)       \
	{                                                                                        \
		(void)opts;                                                                      \
		res->available = false;                                                          \
		snprintf(res->attach, sizeof(res->attach), "-");                                 \
		snprintf(res->detail, sizeof(res->detail),                                       \
			 "not built in this version (configure --enable-" nm "=yes; needs " what \
			 ")");                                                                   \
	}                                                                                        \
	static const char *const var##_modes[] = {__VA_ARGS__, NULL};                            \
	const struct pfw_backend var = {                                                         \
		.name = nm,                                                                      \
		.help = "not built in this version",                                             \
		.needs = need,                                                                   \
		.modes = var##_modes,                                                            \
		.probe = var##_probe,                                                            \
	}

#ifndef HAVE_BPF
/* the names bpf/bpf_backend.c's mode_names[] gives, best first */
NOT_BUILT(pfw_backend_bpf, "bpf", "libbpf-dev, clang and bpftool", PFW_BPF_NEEDS, "fentry",
	  "kprobe", "tp", "kprobe-nobtf");
#endif
#ifndef HAVE_FTRACE
/* ftrace/ftrace_backend.c's ft_modes[] */
NOT_BUILT(pfw_backend_ftrace, "ftrace", "libtracefs-dev and libtraceevent-dev", PFW_FTRACE_NEEDS,
	  "graph", "events");
#endif

const struct pfw_backend *const pfw_backends[PFW_NR_BACKENDS + 1] = {
	&pfw_backend_bpf,
	&pfw_backend_perf,
	&pfw_backend_ftrace,
	NULL,
};

const struct pfw_backend *pfw_backend_find(const char *name)
{
	for (size_t i = 0; pfw_backends[i]; i++)
		if (!strcmp(pfw_backends[i]->name, name))
			return pfw_backends[i];
	return NULL;
}

void pfw_backend_probe(const struct pfw_backend *b, const struct pfw_opts *opts,
		       struct pfw_probe_result *res)
{
	const char *proc = pfw_privs_proc_refusal();

	if (proc) {
		res->available = false;
		snprintf(res->attach, sizeof(res->attach), "-");
		snprintf(res->detail, sizeof(res->detail), "%s", proc);
		return;
	}
	b->probe(opts, res);
}
