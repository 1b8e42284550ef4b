// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --view=top: the aggregation redrawn every --interval. On a terminal a
 * full screen (ncursesw) with keys: f/p/t group by file, process, thread;
 * m/l sort by major faults or total latency; space pauses; q quits. When
 * stdout is not a terminal (or ncursesw was not built in) the same tables
 * are printed in the chosen format every interval, for logs and pipes.
 * A backend that counts in the kernel is asked for a snapshot per refresh,
 * so top costs nothing per fault in user space there.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_NCURSESW
#include <curses.h>
#endif

#include "agg.h"
#include "backend.h"
#include "escape.h"
#include "log.h"
#include "output.h"
#include "session.h"

enum group { G_FILE, G_PROC, G_THREAD };
enum sortby { S_MAJOR, S_LAT };

static struct {
	enum group group;
	enum sortby sort;
	bool paused, curses;
	uint64_t last_faults, last_ns, rate; /* rate: faults/s over the last interval */
	unsigned ticks;
} top;

/* one row of whichever grouping is shown */
struct row {
	char name[512];
	char id[32];
	uint64_t major, minor, pages, lat_count, lat_total_ns, lat_max_ns;
	uint64_t refaults, untracked;
	bool has_refaults; /* a file, or a thread: anonymous memory has none */
};

static int by_sort(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	if (top.sort == S_LAT && a->lat_total_ns != b->lat_total_ns)
		return a->lat_total_ns > b->lat_total_ns ? -1 : 1;
	if (a->major != b->major)
		return a->major > b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor > b->minor ? -1 : 1;
	return strcmp(a->id, b->id) ? strcmp(a->id, b->id) : strcmp(a->name, b->name);
}

static size_t build_rows(struct pfw_session *s, struct row **out)
{
	struct pfw_thread_stats *t = NULL;
	struct pfw_file_stats *f = NULL;
	struct row *r = NULL;
	size_t n = 0;

	if (top.group == G_FILE) {
		size_t nf = pfw_agg_files(s->agg, &f);

		r = calloc(nf ? nf : 1, sizeof(*r));
		for (size_t i = 0; r && i < nf; i++, n++) {
			pfw_escape_text(r[n].name, sizeof(r[n].name), f[i].path);
			r[n].major = f[i].major;
			r[n].minor = f[i].minor;
			r[n].pages = f[i].pages;
			r[n].lat_count = f[i].lat_count;
			r[n].lat_total_ns = f[i].lat_total_ns;
			r[n].lat_max_ns = f[i].lat_max_ns;
			r[n].refaults = f[i].refaults;
			r[n].untracked = f[i].untracked;
			r[n].has_refaults = f[i].file;
		}
	} else {
		size_t nt = pfw_agg_threads(s->agg, &t);

		r = calloc(nt ? nt : 1, sizeof(*r));
		for (size_t i = 0; r && i < nt; i++) {
			struct row *x = NULL;
			char comm[PFW_COMM_LEN + 1];

			if (top.group == G_PROC)
				for (size_t k = 0; k < n && !x; k++)
					if (atoi(r[k].id) == t[i].pid)
						x = &r[k];
			if (!x) {
				x = &r[n++];
				memcpy(comm, t[i].comm, PFW_COMM_LEN);
				comm[PFW_COMM_LEN] = '\0';
				pfw_escape_text(x->name, sizeof(x->name), comm[0] ? comm : NULL);
				if (top.group == G_PROC)
					snprintf(x->id, sizeof(x->id), "%d", t[i].pid);
				else
					snprintf(x->id, sizeof(x->id), "%d/%d", t[i].pid, t[i].tid);
			}
			x->major += t[i].major;
			x->minor += t[i].minor;
			x->refaults += t[i].refaults;
			x->untracked += t[i].untracked;
			x->has_refaults = true;
			x->pages++; /* threads, for the process grouping */
			x->lat_count += t[i].lat_count;
			x->lat_total_ns += t[i].lat_total_ns;
			if (t[i].lat_max_ns > x->lat_max_ns)
				x->lat_max_ns = t[i].lat_max_ns;
		}
	}
	free(t);
	free(f);
	if (!r)
		return 0;
	qsort(r, n, sizeof(*r), by_sort);
	*out = r;
	return n;
}

static const char *group_name(void)
{
	return top.group == G_FILE ? "file" : top.group == G_PROC ? "process" : "thread";
}

static void fmt_us(char *buf, size_t len, uint64_t count, uint64_t ns)
{
	if (!count)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

/* header + rows as text lines into @emit (curses or plain) */
static void render(struct pfw_session *s, void (*emit)(int y, const char *line, bool bold),
		   int max_rows)
{
	const struct pfw_totals *tot = pfw_agg_totals(s->agg);
	uint64_t el = pfw_now_ns() - s->start_ns;
	struct row *r = NULL;
	size_t n = build_rows(s, &r);
	char line[1024], avg[32], mx[32];

	snprintf(line, sizeof(line),
		 "pfwatch top - %s backend (%s)  %" PRIu64 ".%" PRIu64 "s  faults %" PRIu64
		 " (major %" PRIu64 ", minor %" PRIu64 ")  rate %" PRIu64 "/s  lost %" PRIu64 "%s",
		 s->backend ? s->backend->name : "-",
		 s->backend && s->backend->attach ? s->backend->attach(s->priv) : "-",
		 el / UINT64_C(1000000000), el / UINT64_C(100000000) % 10, tot->faults, tot->major,
		 tot->minor, top.rate, s->lost, top.paused ? "  [PAUSED]" : "");
	emit(0, line, true);
	snprintf(line, sizeof(line),
		 "group: %s  sort: %s   keys: f file  p process  t thread  m major  l latency  "
		 "space pause  q quit",
		 group_name(), top.sort == S_MAJOR ? "major" : "latency");
	emit(1, line, false);
	if (top.group == G_FILE)
		snprintf(line, sizeof(line), "%8s %8s %8s %11s %11s %12s %8s  %s", "MAJOR", "MINOR",
			 "PAGES", "AVG_US", "MAX_US", "TOTAL_MS", "REFAULTS", "FILE");
	else
		snprintf(line, sizeof(line), "%8s %8s %8s %11s %11s %12s %8s  %-15s %s", "MAJOR",
			 "MINOR", top.group == G_PROC ? "THREADS" : "", "AVG_US", "MAX_US",
			 "TOTAL_MS", "REFAULTS", top.group == G_PROC ? "PID" : "PID/TID", "COMM");
	emit(3, line, true);
	for (size_t i = 0; i < n && (int)i < max_rows; i++) {
		char pages[24] = "", ms[32], rf[32] = "-";

		fmt_us(avg, sizeof(avg), r[i].lat_count,
		       r[i].lat_count ? r[i].lat_total_ns / r[i].lat_count : 0);
		fmt_us(mx, sizeof(mx), r[i].lat_count, r[i].lat_max_ns);
		fmt_us(ms, sizeof(ms), r[i].lat_count, r[i].lat_total_ns / 1000);
		if (top.group != G_THREAD)
			snprintf(pages, sizeof(pages), "%" PRIu64, r[i].pages);
		/* ">=": the page set was full, a lower bound */
		if (r[i].has_refaults)
			snprintf(rf, sizeof(rf), "%s%" PRIu64, r[i].untracked ? ">=" : "",
				 r[i].refaults);
		if (top.group == G_FILE)
			snprintf(line, sizeof(line),
				 "%8" PRIu64 " %8" PRIu64 " %8s %11s %11s %12s %8s  %s", r[i].major,
				 r[i].minor, pages, avg, mx, ms, rf, r[i].name);
		else
			snprintf(line, sizeof(line),
				 "%8" PRIu64 " %8" PRIu64 " %8s %11s %11s %12s %8s  %-15s %s",
				 r[i].major, r[i].minor, pages, avg, mx, ms, rf, r[i].id,
				 r[i].name);
		emit(4 + (int)i, line, false);
	}
	free(r);
}

static FILE *plain_fp;

static void plain_emit(int y, const char *line, bool bold)
{
	(void)bold;
	if (y == 3)
		fputc('\n', plain_fp);
	fprintf(plain_fp, "%s\n", line);
}

#ifdef HAVE_NCURSESW
static void curses_emit(int y, const char *line, bool bold)
{
	if (y >= LINES)
		return;
	if (bold)
		attron(A_BOLD | (y == 0 ? A_REVERSE : 0));
	mvaddnstr(y, 0, line, COLS);
	if (bold)
		attroff(A_BOLD | A_REVERSE);
}

static void draw(struct pfw_session *s)
{
	erase();
	render(s, curses_emit, LINES - 5);
	refresh();
}
#endif

static int top_begin(struct pfw_session *s)
{
	memset(&top, 0, sizeof(top));
#ifdef HAVE_NCURSESW
	if (s->out->tty && s->out->fmt == &pfw_format_text && s->out->fp == stdout) {
		SCREEN *sc = newterm(NULL, stdout, stdin);

		if (sc) {
			set_term(sc);
			cbreak();
			noecho();
			nodelay(stdscr, TRUE);
			keypad(stdscr, TRUE);
			curs_set(0);
			top.curses = true;
		}
	}
#endif
	if (!top.curses && s->out->tty && s->out->fmt == &pfw_format_text)
		pfw_info(1, "top: full screen needs ncursesw; printing tables every interval");
	return 0;
}

static void refresh_agg(struct pfw_session *s)
{
	if (s->kernel_aggregates && s->backend && s->backend->snapshot) {
		int r = s->backend->snapshot(s->priv);

		if (r < 0)
			pfw_session_verbose(s, "snapshot of the in-kernel counts failed: %s",
					    strerror(-r));
	}
}

static void top_tick(struct pfw_session *s)
{
	const struct pfw_totals *tot;
	uint64_t now = pfw_now_ns(), last = top.last_ns ? top.last_ns : s->start_ns;

	refresh_agg(s);
	tot = pfw_agg_totals(s->agg);
	top.rate = now > last ? (tot->faults - top.last_faults) * 1000000000ull / (now - last) : 0;
	top.last_faults = tot->faults;
	top.last_ns = now;
	top.ticks++;
	if (top.paused)
		return;
#ifdef HAVE_NCURSESW
	if (top.curses) {
		draw(s);
		return;
	}
#endif
	if (s->out->fmt == &pfw_format_text) {
		plain_fp = s->out->fp;
		if (top.ticks > 1)
			fputc('\n', plain_fp);
		render(s, plain_emit, 1 << 30);
	} else {
		/* JSON/CSV: the summary records, once per interval */
		struct pfw_thread_stats *t = NULL;
		struct pfw_file_stats *f = NULL;
		size_t nt = pfw_agg_threads(s->agg, &t), nf = pfw_agg_files(s->agg, &f);

		s->out->fmt->threads(s->out, t, nt);
		s->out->fmt->files(s->out, f, nf);
		free(t);
		free(f);
	}
	fflush(s->out->fp);
	pfw_view_check_io(s);
}

static void top_input(struct pfw_session *s)
{
#ifdef HAVE_NCURSESW
	bool changed = false;
	int c;

	if (!top.curses)
		return;
	while ((c = getch()) != ERR) {
		switch (c) {
		case 'q':
		case 'Q':
			s->stop = 1;
			return;
		case 'f':
			top.group = G_FILE;
			break;
		case 'p':
			top.group = G_PROC;
			break;
		case 't':
			top.group = G_THREAD;
			break;
		case 'm':
			top.sort = S_MAJOR;
			break;
		case 'l':
			top.sort = S_LAT;
			break;
		case ' ':
			top.paused = !top.paused;
			break;
		case KEY_RESIZE:
			break;
		default:
			continue;
		}
		changed = true;
	}
	if (changed)
		draw(s); /* a key shows its effect now, also while paused */
#else
	(void)s;
#endif
}

static void top_end(struct pfw_session *s, const struct pfw_run_info *r)
{
#ifdef HAVE_NCURSESW
	if (top.curses) {
		endwin();
		top.curses = false;
	}
#endif
	/* the last state stays on the terminal (and in the file) as a summary */
	pfw_view_print_tables(s);
	pfw_view_finish(s, r);
}

const struct pfw_view pfw_view_top = {
	.name = "top",
	.begin = top_begin,
	.tick = top_tick,
	.end = top_end,
	.input = top_input,
};
