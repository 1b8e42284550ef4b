/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Output: formats (text, json, csv) are ops tables (sysstat's struct
 * report_format); views (events, summary, later top/hist/folded/callsites)
 * are ops tables over a session. A view decides *what* to print and calls
 * the format to encode it.
 */
#ifndef PFW_OUTPUT_H
#define PFW_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agg.h"
#include "event.h"

struct pfw_session;

struct pfw_run_info {
	const char *backend;  /* NULL when none ran */
	const char *attach;
	const char *kernel;   /* uname -r */
	const char *limits;   /* what the mode could not see, or NULL */
	uint64_t duration_ns;
	uint64_t faults, major, minor, lost;
	int exit_status;      /* the command's, or pfwatch's own */
};

struct pfw_backend_row {
	const char *backend;
	bool available;
	const char *attach;
	const char *detail;
};

struct pfw_output {
	FILE *fp;
	const struct pfw_format *fmt;
	bool header_done; /* the format printed its column header */
	bool tty;         /* fp is a terminal */
};

struct pfw_format {
	const char *name;
	/* @rel_ns: time since tracing started */
	void (*fault)(struct pfw_output *o, const struct pfw_event *ev, uint64_t rel_ns);
	void (*threads)(struct pfw_output *o, const struct pfw_thread_stats *t, size_t n);
	void (*files)(struct pfw_output *o, const struct pfw_file_stats *f, size_t n);
	/* @path: NULL for the histogram of all faults of @kind */
	void (*hist)(struct pfw_output *o, enum pfw_kind kind, const char *path,
		     const uint64_t buckets[PFW_HIST_BUCKETS]);
	void (*run)(struct pfw_output *o, const struct pfw_run_info *r);
	void (*backends)(struct pfw_output *o, const struct pfw_backend_row *rows, size_t n);
};

extern const struct pfw_format pfw_format_text;
extern const struct pfw_format pfw_format_json;
extern const struct pfw_format pfw_format_csv;

struct pfw_view {
	const char *name;
	int (*begin)(struct pfw_session *s);
	void (*event)(struct pfw_session *s, const struct pfw_event *ev);
	void (*tick)(struct pfw_session *s); /* every --interval, may be NULL */
	void (*end)(struct pfw_session *s, const struct pfw_run_info *r);
};

extern const struct pfw_view pfw_view_events;
extern const struct pfw_view pfw_view_summary;

#endif
