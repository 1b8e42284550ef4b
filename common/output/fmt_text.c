// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The text format: aligned columns for people. Numbers are printed from
 * integers (no floating point, no locale), so the output is the same
 * everywhere and the golden tests can compare bytes.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "log.h"
#include "output.h"
#include "symbolize.h"

enum {
	ST_PRINTED = 1u << 0, /* something was written: separate tables by a blank line */
};

/* display columns of an escaped (ASCII + valid UTF-8) string */
static size_t width_of(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if ((*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* escaped @s, left-aligned in @w columns (never truncated), then a space */
static void put_col(FILE *fp, const char *s, size_t w)
{
	char buf[256];
	size_t n = pfw_escape_text(buf, sizeof(buf), s);

	if (n >= sizeof(buf)) {
		pfw_fput_text_str(fp, s);
		fputc(' ', fp);
		return;
	}
	fputs(buf, fp);
	for (size_t i = width_of(buf); i < w; i++)
		fputc(' ', fp);
	fputc(' ', fp);
}

/* @v / @div with 3 decimals of the quotient, e.g. ns -> us: v=1234567, div=1000 -> 1234.567 */
static char *fixed3(char *buf, size_t len, uint64_t v, uint64_t div)
{
	uint64_t milli = div / 1000;

	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, v / div, (v % div) / milli);
	return buf;
}

static void begin_table(struct pfw_output *o)
{
	if (o->state & ST_PRINTED)
		fputc('\n', o->fp);
	o->state |= ST_PRINTED;
}

/*
 * The fault line is assembled in a buffer with these rather than printf():
 * it is written once per fault, and printf's format parsing was a third of
 * pfwatch's CPU under a fault storm. Same bytes as the printf formats
 * named in the comments.
 */
static size_t dec(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		out[i++] = tmp[--n];
	return i;
}

static size_t dec_i32(char *out, int32_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + dec(out + 1, (uint64_t) - (int64_t)v);
	}
	return dec(out, (uint64_t)v);
}

/* %*s: right-aligned in @w */
static char *put_right(char *p, const char *s, size_t n, size_t w)
{
	for (size_t i = n; i < w; i++)
		*p++ = ' ';
	memcpy(p, s, n);
	return p + n;
}

/* %-*s: left-aligned in @w */
static char *put_left(char *p, const char *s, size_t n, size_t w)
{
	memcpy(p, s, n);
	p += n;
	for (size_t i = n; i < w; i++)
		*p++ = ' ';
	return p;
}

/* after the path: " " OFFSET "\n" */
#define TEXT_TAIL_MAX 32

static void text_fault(struct pfw_output *o, const struct pfw_event *ev, uint64_t rel_ns)
{
	FILE *fp = o->fp;
	char line[1024], num[24], comm[PFW_COMM_LEN + 1], esc[256], *p = line;
	uint64_t us;
	size_t n;

	if (!o->header_done) {
		if (pfw_verbose)
			fprintf(fp, "%14s %7s %7s %-16s %-5s %-7s %11s %-18s %s %s\n", "TIME(s)",
				"PID", "TID", "COMM", "KIND", "BACKING", "LAT(us)", "ADDRESS",
				"FILE", "OFFSET");
		else
			fprintf(fp, "%14s %7s %7s %-16s %-5s %11s %-18s %s %s\n", "TIME(s)", "PID",
				"TID", "COMM", "KIND", "LAT(us)", "ADDRESS", "FILE", "OFFSET");
		o->header_done = true;
		o->state |= ST_PRINTED;
	}
	if (!ev)
		return;
	/* "%7" PRIu64 ".%06" PRIu64 " %7d %7d " */
	p = put_right(p, num, dec(num, rel_ns / 1000000000), 7);
	*p++ = '.';
	us = (rel_ns % 1000000000) / 1000;
	n = dec(num, us);
	p = put_right(p, "000000", 6 - n, 6 - n);
	p = put_right(p, num, n, n);
	*p++ = ' ';
	p = put_right(p, num, dec_i32(num, ev->pid), 7);
	*p++ = ' ';
	p = put_right(p, num, dec_i32(num, ev->tid), 7);
	*p++ = ' ';
	/* put_col(comm, 16) */
	if (ev->flags & PFW_EV_COMM) {
		memcpy(comm, ev->comm, PFW_COMM_LEN);
		comm[PFW_COMM_LEN] = '\0';
		n = pfw_escape_text_memo(&o->memo_comm, esc, sizeof(esc), comm);
	} else {
		n = pfw_escape_text(esc, sizeof(esc), NULL);
	}
	if (n >= sizeof(esc)) {
		/* cannot happen for 15 bytes (at most 4 escaped bytes each); stay correct */
		fwrite(line, 1, (size_t)(p - line), fp);
		put_col(fp, ev->flags & PFW_EV_COMM ? comm : NULL, 16);
		p = line;
	} else {
		size_t w = width_of(esc);

		p = put_left(p, esc, n, n + (w < 16 ? 16 - w : 0));
		*p++ = ' ';
	}
	/* "%-5s %11s %-18s " */
	n = strlen(pfw_kind_name(ev->kind));
	p = put_left(p, pfw_kind_name(ev->kind), n, 5);
	*p++ = ' ';
	if (pfw_verbose) {
		const char *b = pfw_backing_name(ev->backing);

		b = b ? b : "-";
		p = put_left(p, b, strlen(b), 7);
		*p++ = ' ';
	}
	if (ev->flags & PFW_EV_LATENCY) {
		char lat[32];

		n = dec(lat, ev->latency_ns / 1000);
		lat[n++] = '.';
		us = ev->latency_ns % 1000;
		lat[n++] = (char)('0' + us / 100);
		lat[n++] = (char)('0' + us / 10 % 10);
		lat[n++] = (char)('0' + us % 10);
		p = put_right(p, lat, n, 11);
	} else {
		p = put_right(p, "-", 1, 11);
	}
	*p++ = ' ';
	if (ev->flags & PFW_EV_ADDR) {
		static const char digits[] = "0123456789abcdef";
		char hex[20], tmp[16];
		uint64_t v = ev->addr;
		size_t k = 0;

		n = 0;
		do
			tmp[k++] = digits[v & 15];
		while (v >>= 4);
		hex[n++] = '0';
		hex[n++] = 'x';
		while (k)
			hex[n++] = tmp[--k];
		p = put_left(p, hex, n, 18);
	} else {
		p = put_left(p, "-", 1, 18);
	}
	*p++ = ' ';
	/* the path into the line too, for one fwrite() a line, when it fits */
	p = pfw_line_put_text(fp, &o->memo_path, line, sizeof(line), p, TEXT_TAIL_MAX, ev->path);
	/* " %" PRIu64 "\n" or " -\n" */
	*p++ = ' ';
	if (ev->flags & PFW_EV_FILE) {
		p = put_right(p, num, dec(num, ev->offset), 0);
	} else {
		*p++ = '-';
	}
	*p++ = '\n';
	fwrite(line, 1, (size_t)(p - line), fp);
}

/* "-" when nothing was measured */
static const char *lat_col(char *buf, size_t len, uint64_t count, uint64_t ns, uint64_t div)
{
	if (!count)
		return "-";
	return fixed3(buf, len, ns, div);
}

/* a count that the bounded page set may have undercounted: ">=N" */
static const char *bound_col(char *buf, size_t len, uint64_t v, bool lower_bound)
{
	snprintf(buf, len, "%s%" PRIu64, lower_bound ? ">=" : "", v);
	return buf;
}

/* -v: which backings a thread's major faults had, "file" or "file:12,anon:3" */
static const char *backing_col(char *buf, size_t len, const uint64_t by[PFW_BACKING_NR])
{
	unsigned kinds = 0;
	size_t n = 0;

	for (int b = 0; b < PFW_BACKING_NR; b++)
		kinds += by[b] != 0;
	buf[0] = '\0';
	for (int b = 1; b <= PFW_BACKING_NR && n < len; b++) {
		int k = b % PFW_BACKING_NR; /* unknown ("-") last */
		const char *name = pfw_backing_name(k);

		if (!by[k])
			continue;
		if (kinds == 1)
			return name ? name : "-";
		n += (size_t)snprintf(buf + n, len - n, "%s%s:%" PRIu64, n ? "," : "",
				      name ? name : "-", by[k]);
	}
	return kinds ? buf : "-";
}

static void text_threads(struct pfw_output *o, const struct pfw_thread_stats *t, size_t n)
{
	FILE *fp = o->fp;
	char a[32], b[32], c[32], d[32], r[32], bk[128], comm[PFW_COMM_LEN + 1];

	begin_table(o);
	fprintf(fp, "%7s %7s %-16s %8s %8s %8s %12s %11s %11s %11s%s\n", "PID", "TID", "COMM",
		"MAJOR", "MINOR", "REFAULTS", "TOTAL_MS", "AVG_US", "MAX_US", "MIN_US",
		pfw_verbose ? " BACKING CGROUP" : "");
	for (size_t i = 0; i < n; i++) {
		memcpy(comm, t[i].comm, PFW_COMM_LEN);
		comm[PFW_COMM_LEN] = '\0';
		fprintf(fp, "%7d %7d ", t[i].pid, t[i].tid);
		put_col(fp, comm[0] ? comm : NULL, 16);
		fprintf(fp, "%8" PRIu64 " %8" PRIu64 " %8s %12s %11s %11s %11s", t[i].major,
			t[i].minor, bound_col(r, sizeof(r), t[i].refaults, t[i].untracked > 0),
			lat_col(a, sizeof(a), t[i].lat_count, t[i].lat_total_ns, 1000000),
			lat_col(b, sizeof(b), t[i].lat_count,
				t[i].lat_count ? t[i].lat_total_ns / t[i].lat_count : 0, 1000),
			lat_col(c, sizeof(c), t[i].lat_count, t[i].lat_max_ns, 1000),
			lat_col(d, sizeof(d), t[i].lat_count, t[i].lat_min_ns, 1000));
		/* -v: how the majors split, and the cgroup (container, service) */
		if (pfw_verbose) {
			fprintf(fp, " %-7s ", backing_col(bk, sizeof(bk), t[i].major_by));
			pfw_fput_text_str(fp, t[i].cgroup ? t[i].cgroup : "-");
		}
		fputc('\n', fp);
	}
}

/* the share of a file's major faults that were refaults, "37.5%" */
static const char *share_col(char *buf, size_t len, const struct pfw_file_stats *f)
{
	uint64_t permille;

	if (!f->file || !f->major)
		return "-";
	permille = (f->refaults * 1000 + f->major / 2) / f->major;
	snprintf(buf, len, "%s%" PRIu64 ".%" PRIu64 "%%", f->untracked ? ">=" : "", permille / 10,
		 permille % 10);
	return buf;
}

static void text_files(struct pfw_output *o, const struct pfw_file_stats *f, size_t n)
{
	FILE *fp = o->fp;
	char a[32], b[32], c[32], pg[32], rf[32], sh[32], esc[256];
	size_t w = 4;

	for (size_t i = 0; i < n; i++) {
		size_t l = pfw_escape_text(esc, sizeof(esc), f[i].path);

		l = l < sizeof(esc) ? width_of(esc) : l;
		if (l > w)
			w = l;
	}
	begin_table(o);
	fprintf(fp, "%-*s %8s %8s %8s %8s %8s %12s %11s %11s%s\n", (int)w, "FILE", "MAJOR", "MINOR",
		"PAGES", "REFAULTS", "REFAULT%", "TOTAL_MS", "AVG_US", "MAX_US",
		pfw_verbose ? " BACKING" : "");
	for (size_t i = 0; i < n; i++) {
		const char *bk = pfw_backing_name(f[i].backing);

		put_col(fp, f[i].path, w);
		fprintf(fp, "%8" PRIu64 " %8" PRIu64 " %8s %8s %8s %12s %11s %11s", f[i].major,
			f[i].minor, bound_col(pg, sizeof(pg), f[i].pages, f[i].untracked > 0),
			f[i].file ? bound_col(rf, sizeof(rf), f[i].refaults, f[i].untracked > 0)
				  : "-",
			share_col(sh, sizeof(sh), &f[i]),
			lat_col(a, sizeof(a), f[i].lat_count, f[i].lat_total_ns, 1000000),
			lat_col(b, sizeof(b), f[i].lat_count,
				f[i].lat_count ? f[i].lat_total_ns / f[i].lat_count : 0, 1000),
			lat_col(c, sizeof(c), f[i].lat_count, f[i].lat_max_ns, 1000));
		if (pfw_verbose)
			fprintf(fp, " %s", bk ? bk : "-");
		fputc('\n', fp);
	}
}

static int hist_range(char *buf, size_t len, int i)
{
	uint64_t lo = i ? UINT64_C(1) << i : 0;

	if (i == PFW_HIST_BUCKETS - 1)
		return snprintf(buf, len, "[%" PRIu64 ", ...)", lo);
	return snprintf(buf, len, "[%" PRIu64 ", %" PRIu64 ")", lo, UINT64_C(1) << (i + 1));
}

/* bpftrace's and bcc's familiar shape: [lo, hi)  count |@@@@   | */
static void text_hist(struct pfw_output *o, enum pfw_kind kind, const char *path,
		      const uint64_t buckets[PFW_HIST_BUCKETS])
{
	FILE *fp = o->fp;
	int first = -1, last = -1, w = 0;
	uint64_t max = 0;
	const int bar = 52;
	char range[64];

	for (int i = 0; i < PFW_HIST_BUCKETS; i++) {
		if (!buckets[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (buckets[i] > max)
			max = buckets[i];
	}
	begin_table(o);
	fprintf(fp, "%s fault latency (ns)", pfw_kind_name(kind));
	if (path) {
		fputs(", ", fp);
		pfw_fput_text_str(fp, path);
	}
	fputs(":\n", fp);
	if (first < 0) {
		fputs("(no measured faults)\n", fp);
		return;
	}
	/* the widest label is the last one: align the counts on it */
	w = hist_range(range, sizeof(range), last);
	for (int i = first; i <= last; i++) {
		int fill = (int)((buckets[i] * (uint64_t)bar + max - 1) / max);

		hist_range(range, sizeof(range), i);
		fprintf(fp, "%-*s %10" PRIu64 " |", w, range, buckets[i]);
		for (int j = 0; j < bar; j++)
			fputc(j < fill ? '@' : ' ', fp);
		fputs("|\n", fp);
	}
}

static void text_run(struct pfw_output *o, const struct pfw_run_info *r)
{
	FILE *fp = o->fp;

	begin_table(o);
	fprintf(fp,
		"run: backend=%s attach=%s kernel=%s duration=%" PRIu64 ".%06" PRIu64
		"s faults=%" PRIu64 " major=%" PRIu64 " minor=%" PRIu64 " refaults=%" PRIu64,
		r->backend ? r->backend : "-", r->attach ? r->attach : "-",
		r->kernel ? r->kernel : "-", r->duration_ns / 1000000000,
		(r->duration_ns % 1000000000) / 1000, r->faults, r->major, r->minor, r->refaults);
	/* the page set was full: refaults is a lower bound, by at most this */
	if (r->untracked)
		fprintf(fp, " refaults_untracked=%" PRIu64, r->untracked);
	fprintf(fp, " lost=%" PRIu64 " exit_status=%d", r->lost, r->exit_status);
	if (r->limits && *r->limits) {
		fputs(" limits=", fp);
		pfw_fput_text_str(fp, r->limits);
	}
	fputc('\n', fp);
}

static void text_backends(struct pfw_output *o, const struct pfw_backend_row *rows, size_t n)
{
	FILE *fp = o->fp;
	int w = 14; /* SPEC's layout; wider when a mode name needs it */

	for (size_t i = 0; i < n; i++)
		if (rows[i].attach && (int)strlen(rows[i].attach) > w)
			w = (int)strlen(rows[i].attach);
	fprintf(fp, "%-8s %-12s %-*s %s\n", "BACKEND", "STATUS", w, "ATTACH", "DETAIL");
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "%-8s %-12s %-*s ", rows[i].backend,
			rows[i].available ? "available" : "unavailable", w,
			rows[i].attach && *rows[i].attach ? rows[i].attach : "-");
		pfw_fput_text_str(fp, rows[i].detail && *rows[i].detail ? rows[i].detail : "-");
		fputc('\n', fp);
	}
	/* after the table: its columns stay as SPEC shows them */
	for (size_t i = 0; i < n; i++)
		if (rows[i].needs)
			fprintf(fp, "%s  %-8s %s\n", i ? "" : "\nPrivileges needed:\n",
				rows[i].backend, rows[i].needs);
}

/* folded stacks are already made safe (stackviews.c): one line each, as flamegraph.pl reads */
static void text_folded(struct pfw_output *o, const char *stack, uint64_t count)
{
	fprintf(o->fp, "%s %" PRIu64 "\n", stack, count);
}

static void callsite_where(char *buf, size_t len, const struct pfw_callsite *c)
{
	char esc[4200];

	if (c->src && c->line) {
		pfw_escape_text(esc, sizeof(esc), c->src);
		snprintf(buf, len, "%s:%u", esc, c->line);
	} else {
		snprintf(buf, len, "-");
	}
}

static void text_callsites(struct pfw_output *o, const struct pfw_callsite *c, size_t n)
{
	FILE *fp = o->fp;
	char a[32], b[32], where[4300];
	size_t wf = 8, ws = 6;

	for (size_t i = 0; i < n; i++) {
		size_t l = c[i].func ? width_of(c[i].func) : 9;

		if (l > wf && l < 80)
			wf = l;
		callsite_where(where, sizeof(where), &c[i]);
		l = width_of(where);
		if (l > ws && l < 120)
			ws = l;
	}
	begin_table(o);
	fprintf(fp, "%8s %8s %8s %11s %11s %-*s %-*s %s\n", "COUNT", "MAJOR", "MINOR", "AVG_US",
		"MAX_US", (int)wf, "FUNCTION", (int)ws, "SOURCE", "OBJECT");
	for (size_t i = 0; i < n; i++) {
		fprintf(fp, "%8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %11s %11s ", c[i].count,
			c[i].major, c[i].minor,
			lat_col(a, sizeof(a), c[i].lat_count,
				c[i].lat_count ? c[i].lat_total_ns / c[i].lat_count : 0, 1000),
			lat_col(b, sizeof(b), c[i].lat_count, c[i].lat_max_ns, 1000));
		put_col(fp, c[i].func ? c[i].func : "[unknown]", wf);
		callsite_where(where, sizeof(where), &c[i]);
		fputs(where, fp);
		for (size_t k = width_of(where); k <= ws; k++)
			fputc(' ', fp);
		pfw_fput_text_str(fp, c[i].obj ? c[i].obj : "[unknown]");
		fputc('\n', fp);
	}
}

const struct pfw_format pfw_format_text = {
	.name = "text",
	.fault = text_fault,
	.threads = text_threads,
	.files = text_files,
	.hist = text_hist,
	.run = text_run,
	.backends = text_backends,
	.folded = text_folded,
	.callsites = text_callsites,
};
