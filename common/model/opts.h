/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsed command line (SPEC.md "Invocation"). Filled by cli.c, read by all. */
#ifndef PFW_OPTS_H
#define PFW_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* documented exit codes (SPEC.md) */
enum {
	PFW_EXIT_OK = 0,
	PFW_EXIT_RUNTIME = 1,  /* runtime error, missing target, unwritable output */
	PFW_EXIT_USAGE = 2,    /* bad option or value */
	PFW_EXIT_NOBACKEND = 3, /* no backend can run here */
	PFW_EXIT_DISAGREE = 4, /* --validate: backends disagree with the ground truth */
	PFW_EXIT_NOEXEC = 126,
	PFW_EXIT_NOTFOUND = 127,
};

enum pfw_view_id {
	PFW_VIEW_EVENTS,
	PFW_VIEW_SUMMARY,
	PFW_VIEW_TOP,
	PFW_VIEW_HIST,
	PFW_VIEW_FOLDED,
	PFW_VIEW_CALLSITES,
	PFW_VIEW_HEATMAP,
};
/* how many --view values there are (a define: no switch must handle it) */
#define PFW_VIEW_NR (PFW_VIEW_HEATMAP + 1)

enum pfw_format_id {
	PFW_FMT_TEXT,
	PFW_FMT_JSON,
	PFW_FMT_CSV,
};
#define PFW_FMT_NR (PFW_FMT_CSV + 1)

/* --faults */
enum {
	PFW_WANT_MAJOR = 1u << 0,
	PFW_WANT_MINOR = 1u << 1,
};

struct pfw_opts {
	const char *backend;	   /* "auto" or a pfw_backends[] name */
	const char *bpf_attach;	   /* "auto" or one of pfw_backend_bpf.modes */
	const char *ftrace_attach; /* "auto" or one of pfw_backend_ftrace.modes */
	pid_t *pids;            /* --pid, nr_pids entries */
	size_t nr_pids;
	const char *cgroup;     /* --cgroup, resolved to its directory */
	uint64_t cgroup_id;     /* the directory's inode (v2: the cgroup id), 0 = none */
	bool cgroup_v1;         /* a directory of the v1 perf_event hierarchy (perf only) */
	const char *comm;       /* --comm */
	unsigned faults;        /* PFW_WANT_* */
	enum pfw_view_id view;
	enum pfw_format_id format;
	const char *output;     /* NULL = stdout */
	uint64_t duration_ns;   /* 0 = until done */
	uint64_t interval_ns;
	bool call_graph;
	bool no_latency;
	bool list_backends;
	bool validate;
	const char *input;
	const char *svg;
	bool ascii;             /* --ascii: the heatmap in plain ASCII on a terminal too */
	const char *user;       /* -u */
	int verbose;
	bool quiet;
	char **command;         /* argv after "--", NULL if none */
	/* fleet mode (common/fleet/serve.h): either one makes pfwatch an exporter */
	const char *serve;        /* --serve ADDR:PORT, NULL = off */
	const char *metrics_file; /* --metrics-file, NULL = off */
	unsigned top_files;       /* --top-files: named file series */
	unsigned max_comms;       /* --max-comms */
	unsigned max_cgroups;     /* --max-cgroups */
	uint64_t label_ttl_ns;    /* --label-ttl: idle label values are forgotten */
};

#endif
