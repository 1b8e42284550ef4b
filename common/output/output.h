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
#include "escape.h"
#include "event.h"
#include "opts.h"

struct pfw_session;

struct pfw_run_info {
	const char *backend;  /* NULL when none ran */
	const char *attach;
	const char *kernel;   /* uname -r */
	const char *limits;   /* what the mode could not see, or NULL */
	uint64_t duration_ns;
	uint64_t faults, major, minor, lost;
	uint64_t refaults, untracked; /* pfw_totals' */
	int exit_status;      /* the command's, or pfwatch's own */
};

/* the fault counts of @r from the aggregation's totals */
void pfw_run_info_totals(struct pfw_run_info *r, const struct pfw_totals *t);

struct pfw_backend_row {
	const char *backend;
	bool available;
	const char *attach;
	const char *detail;
	const char *needs; /* privileges the backend needs ("CAP_BPF+CAP_PERFMON or root"), or NULL */
};

struct pfw_frame;

/* --view=callsites: one user call site (innermost frame), symbolized */
struct pfw_callsite {
	const char *func; /* NULL: [unknown] */
	const char *obj;  /* NULL: not in any mapping */
	const char *src;  /* NULL without debug info */
	uint32_t line;    /* 0 when unknown */
	uint64_t count, major, minor;
	uint64_t lat_count, lat_total_ns, lat_max_ns;
};

struct pfw_output {
	FILE *fp;
	/* the symbolized stack of the fault being printed (fault()), NULL if none */
	const struct pfw_frame *frames;
	size_t nr_frames;
	const struct pfw_format *fmt;
	bool header_done; /* the format printed its column header */
	bool tty;         /* fp is a terminal */
	unsigned state;   /* private to the format (e.g. which CSV table is open) */
	int err;          /* first write error (errno), 0 if none; EPIPE = reader went away */
	/* the fault lines' last path and command name, escaped (escape.h) */
	struct pfw_esc_memo memo_path, memo_comm;
};

/*
 * Open --output (NULL or "-" = stdout) for @fmt: O_NOFOLLOW|O_CREAT|O_TRUNC|
 * O_CLOEXEC, mode 0644. Return 0 or -errno (nothing printed).
 */
int pfw_output_open(struct pfw_output *o, const char *path, const struct pfw_format *fmt);
/* say why pfw_output_open() failed with @err (-errno), with the remedy, on one line */
void pfw_output_open_error(const char *path, int err);
/* flush and close (stdout is flushed, not closed); returns 0 or -errno of the first write error */
int pfw_output_close(struct pfw_output *o);
/*
 * How a run ends its output: pfw_output_close(), and a write error other
 * than EPIPE (the reader went away) said and made the exit code when @rc,
 * the run's exit code so far, has no error yet. Returns the exit code.
 */
int pfw_output_finish(struct pfw_output *o, const char *path, int rc);
/* the format named by --format */
const struct pfw_format *pfw_format_get(int format_id);

struct pfw_format {
	const char *name;
	/* @rel_ns: time since tracing started; @ev NULL: only print the column header if not done */
	void (*fault)(struct pfw_output *o, const struct pfw_event *ev, uint64_t rel_ns);
	void (*threads)(struct pfw_output *o, const struct pfw_thread_stats *t, size_t n);
	void (*files)(struct pfw_output *o, const struct pfw_file_stats *f, size_t n);
	/* @path: NULL for the histogram of all faults of @kind */
	void (*hist)(struct pfw_output *o, enum pfw_kind kind, const char *path,
		     const uint64_t buckets[PFW_HIST_BUCKETS]);
	void (*run)(struct pfw_output *o, const struct pfw_run_info *r);
	void (*backends)(struct pfw_output *o, const struct pfw_backend_row *rows, size_t n);
	/* --view=folded: one "comm;outer;...;inner" stack and its fault count */
	void (*folded)(struct pfw_output *o, const char *stack, uint64_t count);
	/* --view=callsites: most frequent first */
	void (*callsites)(struct pfw_output *o, const struct pfw_callsite *c, size_t n);
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
	/* every poll round (<= 100 ms), for a view that reads keys; may be NULL */
	void (*input)(struct pfw_session *s);
};

extern const struct pfw_view pfw_view_events;
extern const struct pfw_view pfw_view_summary;
extern const struct pfw_view pfw_view_hist;
extern const struct pfw_view pfw_view_folded;
extern const struct pfw_view pfw_view_callsites;
extern const struct pfw_view pfw_view_top;
extern const struct pfw_view pfw_view_heatmap;

/* the view --view names (NULL if not built in) */
const struct pfw_view *pfw_view_of(enum pfw_view_id v);
/* make @v the session's view: its event hook becomes the session's sink */
void pfw_view_attach(struct pfw_session *s, const struct pfw_view *v);

/* views.c helpers the other views share */
void pfw_view_print_tables(struct pfw_session *s);
void pfw_view_print_run(struct pfw_session *s, const struct pfw_run_info *r);
void pfw_view_check_io(struct pfw_session *s);
/* the run record, then flush and note a write error: how a view ends */
void pfw_view_finish(struct pfw_session *s, const struct pfw_run_info *r);

/*
 * --svg: a self-contained flame graph (inline script: hover details, click
 * to zoom, search) of folded @stacks ("comm;outer;...;inner") with @counts.
 * Return 0 or -errno.
 */
int pfw_svg_write(const char *path, const char *title, const char *const *stacks,
		  const uint64_t *counts, size_t n);
/* @s as SVG/XML text: markup escaped, invalid UTF-8 and controls as '?' */
void pfw_svg_put_text(FILE *fp, const char *s);

#endif
