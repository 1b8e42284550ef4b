// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Views decide what is printed and when; formats decide how. The run record
 * is always the last thing a view writes, also after a signal, so a reader
 * of a truncated recording can tell it was cut short (no run record).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg.h"
#include "backend.h"
#include "log.h"
#include "opts.h"
#include "output.h"
#include "session.h"
#include "symbolize.h"

const struct pfw_format *pfw_format_get(int format_id)
{
	switch (format_id) {
	case PFW_FMT_JSON:
		return &pfw_format_json;
	case PFW_FMT_CSV:
		return &pfw_format_csv;
	default:
		return &pfw_format_text;
	}
}

int pfw_output_open(struct pfw_output *o, const char *path, const struct pfw_format *fmt)
{
	memset(o, 0, sizeof(*o));
	o->fmt = fmt;
	if (!path || !strcmp(path, "-")) {
		o->fp = stdout;
	} else {
		/*
		 * O_NOFOLLOW: pfwatch usually runs as root, and a symlink planted
		 * at the output path must not make it truncate another file.
		 */
		/*
		 * O_NONBLOCK: open() of a FIFO without a reader would block
		 * forever (before any tracing starts, with no message); this
		 * way it fails with ENXIO. Cleared below for the writes.
		 */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
			      0644);

		if (fd < 0)
			return -errno;
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		o->fp = fdopen(fd, "w");
		if (!o->fp) {
			int e = errno;

			close(fd);
			return -e;
		}
		/* stdio's 4 KiB would cost a write() per ~16 fault lines */
		setvbuf(o->fp, NULL, _IOFBF, 1 << 16);
	}
	o->tty = isatty(fileno(o->fp));
	return 0;
}

void pfw_output_open_error(const char *path, int err)
{
	switch (-err) {
	case ELOOP:
		pfw_err("cannot create '%s': it is a symbolic link; give the real path", path);
		break;
	case ENXIO:
		pfw_err("cannot create '%s': it is a FIFO with no reader; start the reader first",
			path);
		break;
	case ENOENT:
		pfw_err("cannot create '%s': %s; create the directory first or choose another "
			"--output",
			path, strerror(-err));
		break;
	default:
		pfw_err("cannot create '%s': %s; choose another --output", path, strerror(-err));
		break;
	}
}

int pfw_output_close(struct pfw_output *o)
{
	int ret;

	if (!o->fp)
		return 0;
	if (fflush(o->fp) && !o->err)
		o->err = errno ? errno : EIO;
	if (o->fp != stdout && fclose(o->fp) && !o->err)
		o->err = errno ? errno : EIO;
	o->fp = NULL;
	ret = -o->err;
	return ret;
}

int pfw_output_finish(struct pfw_output *o, const char *path, int rc)
{
	if (pfw_output_close(o) < 0 && o->err != EPIPE && !rc) {
		pfw_err("writing %s failed: %s", path ? path : "the output", strerror(o->err));
		rc = PFW_EXIT_RUNTIME;
	}
	return rc;
}

void pfw_run_info_totals(struct pfw_run_info *r, const struct pfw_totals *t)
{
	r->faults = t->faults;
	r->major = t->major;
	r->minor = t->minor;
	r->refaults = t->refaults;
	r->untracked = t->untracked;
}

/* remember the first write error: EPIPE means "stop quietly" (run.c) */
static void check_io(struct pfw_session *s)
{
	if (ferror(s->out->fp) && !s->out->err) {
		s->out->err = errno ? errno : EIO;
		s->stop = 1;
	}
}

static uint64_t rel_time(const struct pfw_session *s, uint64_t t)
{
	/* backends may deliver a fault stamped just before start (arming races) */
	return t > s->start_ns ? t - s->start_ns : 0;
}

static void print_tables(struct pfw_session *s)
{
	struct pfw_thread_stats *t = NULL;
	struct pfw_file_stats *f = NULL;
	size_t nt = pfw_agg_threads(s->agg, &t);
	size_t nf = pfw_agg_files(s->agg, &f);

	s->out->fmt->threads(s->out, t, nt);
	s->out->fmt->files(s->out, f, nf);
	free(t);
	free(f);
}

static void print_run(struct pfw_session *s, const struct pfw_run_info *r)
{
	if (s->out->fmt == &pfw_format_csv) {
		/* not a row of any table: stderr, and only when asked */
		if (pfw_verbose)
			fprintf(stderr,
				"pfwatch: run: backend=%s attach=%s kernel=%s duration_ns=%llu "
				"faults=%llu major=%llu minor=%llu lost=%llu exit_status=%d\n",
				r->backend ? r->backend : "-", r->attach ? r->attach : "-",
				r->kernel ? r->kernel : "-", (unsigned long long)r->duration_ns,
				(unsigned long long)r->faults, (unsigned long long)r->major,
				(unsigned long long)r->minor, (unsigned long long)r->lost,
				r->exit_status);
		return;
	}
	s->out->fmt->run(s->out, r);
}

void pfw_view_print_tables(struct pfw_session *s)
{
	print_tables(s);
}

void pfw_view_print_run(struct pfw_session *s, const struct pfw_run_info *r)
{
	print_run(s, r);
}

void pfw_view_check_io(struct pfw_session *s)
{
	check_io(s);
}

void pfw_view_finish(struct pfw_session *s, const struct pfw_run_info *r)
{
	print_run(s, r);
	fflush(s->out->fp);
	check_io(s);
}

static int events_begin(struct pfw_session *s)
{
	s->out->fmt->fault(s->out, NULL, 0);
	check_io(s);
	return 0;
}

static void events_event(struct pfw_session *s, const struct pfw_event *ev)
{
	struct pfw_frame fr[PFW_MAX_STACK];

	s->out->frames = fr;
	s->out->nr_frames = ev->nr_stack ? pfw_stack_frames(s, ev, fr) : 0;
	s->out->fmt->fault(s->out, ev, rel_time(s, ev->time_ns));
	s->out->frames = NULL;
	s->out->nr_frames = 0;
	/* line-buffered for people watching a terminal or `tail -f` */
	if (s->out->tty)
		fflush(s->out->fp);
	check_io(s);
}

static void events_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	/* a CSV file holds one table: the faults */
	if (s->out->fmt != &pfw_format_csv)
		print_tables(s);
	pfw_view_finish(s, r);
}

const struct pfw_view pfw_view_events = {
	.name = "events",
	.begin = events_begin,
	.event = events_event,
	.end = events_end,
};

static int summary_begin(struct pfw_session *s)
{
	return 0;
}

static void summary_event(struct pfw_session *s, const struct pfw_event *ev)
{
}

static void summary_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	print_tables(s);
	pfw_view_finish(s, r);
}

const struct pfw_view pfw_view_summary = {
	.name = "summary",
	.begin = summary_begin,
	.event = summary_event,
	.end = summary_end,
};

/*
 * -v: one histogram per file and kind too. Kept here, not in the
 * aggregation: only this view needs it, and a fault costs a lookup only
 * when it was asked for.
 */
struct file_hist {
	const char *path;
	uint64_t b[2][PFW_HIST_BUCKETS];
};

static struct {
	struct file_hist *v;
	size_t n, cap;
} fh;

static int hist_begin(struct pfw_session *s)
{
	free(fh.v);
	memset(&fh, 0, sizeof(fh));
	return 0;
}

static void hist_event(struct pfw_session *s, const struct pfw_event *ev)
{
	const char *path = ev->path ? ev->path : "[unknown]";
	size_t i;

	if (!pfw_verbose || !(ev->flags & PFW_EV_LATENCY))
		return;
	/* most faults hit the file of the previous one: look there first */
	for (i = fh.n; i-- > 0;)
		if (fh.v[i].path == path || !strcmp(fh.v[i].path, path))
			break;
	if (i == (size_t)-1) {
		if (fh.n == fh.cap) {
			size_t ncap = fh.cap ? fh.cap * 2 : 16;
			struct file_hist *nv = realloc(fh.v, ncap * sizeof(*nv));

			if (!nv)
				return;
			fh.v = nv;
			fh.cap = ncap;
		}
		i = fh.n++;
		memset(&fh.v[i], 0, sizeof(fh.v[i]));
		fh.v[i].path = path;
	}
	fh.v[i].b[ev->kind == PFW_MAJOR][pfw_hist_bucket(ev->latency_ns)]++;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct file_hist *)a)->path, ((const struct file_hist *)b)->path);
}

static void hist_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	const struct pfw_totals *tot = pfw_agg_totals(s->agg);
	static const enum pfw_kind kinds[2] = {PFW_MAJOR, PFW_MINOR};

	if (s->opts->faults & PFW_WANT_MAJOR)
		s->out->fmt->hist(s->out, PFW_MAJOR, NULL, tot->hist[PFW_MAJOR]);
	if (s->opts->faults & PFW_WANT_MINOR)
		s->out->fmt->hist(s->out, PFW_MINOR, NULL, tot->hist[PFW_MINOR]);
	if (pfw_verbose && s->kernel_aggregates)
		pfw_info(1, "per-file histograms need every fault in user space; %s counted in "
			    "the kernel (use --backend=perf for them)",
			 s->backend ? s->backend->name : "the backend");
	if (fh.n)
		qsort(fh.v, fh.n, sizeof(*fh.v), by_path);
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < fh.n; i++) {
			bool any = false;

			for (unsigned b = 0; b < PFW_HIST_BUCKETS && !any; b++)
				any = fh.v[i].b[kinds[k]][b] != 0;
			if (any)
				s->out->fmt->hist(s->out, kinds[k], fh.v[i].path, fh.v[i].b[kinds[k]]);
		}
	}
	free(fh.v);
	memset(&fh, 0, sizeof(fh));
	pfw_view_finish(s, r);
}

const struct pfw_view pfw_view_hist = {
	.name = "hist",
	.begin = hist_begin,
	.event = hist_event,
	.end = hist_end,
};

const struct pfw_view *pfw_view_of(enum pfw_view_id v)
{
	switch (v) {
	case PFW_VIEW_EVENTS:
		return &pfw_view_events;
	case PFW_VIEW_SUMMARY:
		return &pfw_view_summary;
	case PFW_VIEW_HIST:
		return &pfw_view_hist;
	case PFW_VIEW_FOLDED:
		return &pfw_view_folded;
	case PFW_VIEW_CALLSITES:
		return &pfw_view_callsites;
	case PFW_VIEW_HEATMAP:
		return &pfw_view_heatmap;
	case PFW_VIEW_TOP:
		return &pfw_view_top;
	default:
		return NULL;
	}
}

void pfw_view_attach(struct pfw_session *s, const struct pfw_view *v)
{
	s->view = v;
	s->sink = v ? v->event : NULL;
}
