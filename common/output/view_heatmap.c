// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --view=heatmap: for the files with the most major faults, a grid of time
 * (x) by file offset (y) whose cells count the major faults there, refaults
 * apart. Read at a glance: a sequential scan is a diagonal, random access
 * noise, a hot region a band, thrash the same band faulting again and again
 * in red.
 *
 * The grid is exact and bounded: each file keeps HM_COLS x HM_ROWS cells;
 * when a fault falls beyond them the cell size doubles (two columns or two
 * rows merge into one), so every major fault with a file offset is in
 * exactly one cell whatever the run's length or the file's size, and the
 * cells of a file add up to its major faults. The drawn grids merge cells
 * by whole factors to fit the terminal, which keeps the sums. At most
 * HM_FILES files get a grid; later ones are counted and said to be left out.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"
#include "output.h"
#include "session.h"

#define HM_COLS	     96
#define HM_ROWS	     48
#define HM_FILES     64
#define HM_SHOW	     4	/* grids in the terminal */
#define HM_SVG_SHOW  6	/* grids in the SVG */
#define HM_TEXT_ROWS 16 /* terminal rows per grid, at most */

struct cell {
	uint64_t lat_total_ns, lat_max_ns;
	uint32_t major, refaults, lat_count;
};

struct hfile {
	char *path;
	uint64_t major, refaults;
	uint64_t row_pages; /* pages per row, a power of two */
	uint64_t max_page;
	struct cell *cells; /* [col * HM_ROWS + row] */
};

static struct {
	struct hfile f[HM_FILES];
	size_t n;
	uint64_t col_ns; /* time per column, a power of two */
	uint64_t t_last;
	uint64_t left_major; /* on files beyond HM_FILES */
	bool oom;
} hm;

static struct cell *cell_at(struct hfile *f, uint64_t col, uint64_t row)
{
	return &f->cells[col * HM_ROWS + row];
}

static const struct cell *cell_get(const struct hfile *f, uint64_t col, uint64_t row)
{
	return &f->cells[col * HM_ROWS + row];
}

static void cell_add(struct cell *to, const struct cell *c)
{
	to->major += c->major;
	to->refaults += c->refaults;
	to->lat_count += c->lat_count;
	to->lat_total_ns += c->lat_total_ns;
	if (c->lat_max_ns > to->lat_max_ns)
		to->lat_max_ns = c->lat_max_ns;
}

/* twice the time per column: columns 2i and 2i+1 become column i, in every file */
static void widen_cols(void)
{
	for (size_t k = 0; k < hm.n; k++) {
		struct hfile *f = &hm.f[k];

		for (uint64_t c = 0; c < HM_COLS; c++)
			for (uint64_t r = 0; r < HM_ROWS; r++) {
				struct cell m = {0};

				if (2 * c < HM_COLS)
					cell_add(&m, cell_at(f, 2 * c, r));
				if (2 * c + 1 < HM_COLS)
					cell_add(&m, cell_at(f, 2 * c + 1, r));
				*cell_at(f, c, r) = m;
			}
	}
	hm.col_ns *= 2;
}

/* twice the pages per row of @f */
static void widen_rows(struct hfile *f)
{
	for (uint64_t c = 0; c < HM_COLS; c++)
		for (uint64_t r = 0; r < HM_ROWS; r++) {
			struct cell m = {0};

			if (2 * r < HM_ROWS)
				cell_add(&m, cell_at(f, c, 2 * r));
			if (2 * r + 1 < HM_ROWS)
				cell_add(&m, cell_at(f, c, 2 * r + 1));
			*cell_at(f, c, r) = m;
		}
	f->row_pages *= 2;
}

static struct hfile *file_of(const char *path)
{
	struct hfile *f;

	/* most faults hit the file of the previous one: look there first */
	for (size_t i = hm.n; i-- > 0;)
		if (!strcmp(hm.f[i].path, path))
			return &hm.f[i];
	if (hm.n == HM_FILES)
		return NULL;
	f = &hm.f[hm.n];
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	f->cells = calloc(HM_COLS * HM_ROWS, sizeof(*f->cells));
	if (!f->path || !f->cells) {
		free(f->path);
		free(f->cells);
		hm.oom = true;
		return NULL;
	}
	f->row_pages = 1;
	hm.n++;
	return f;
}

static int heatmap_begin(struct pfw_session *s)
{
	(void)s;
	memset(&hm, 0, sizeof(hm));
	hm.col_ns = 1u << 20; /* ~1 ms; doubles as the run goes on */
	return 0;
}

static void heatmap_event(struct pfw_session *s, const struct pfw_event *ev)
{
	uint64_t t = ev->time_ns > s->start_ns ? ev->time_ns - s->start_ns : 0;
	uint64_t page = ev->offset >> 12, col, row;
	struct cell one = {0};
	struct hfile *f;

	/* a file offset is what the y axis is: major faults on files (and shmem) only */
	if (ev->kind != PFW_MAJOR || !(ev->flags & PFW_EV_FILE))
		return;
	f = file_of(ev->path ? ev->path : "[unknown]");
	if (!f) {
		hm.left_major++;
		return;
	}
	while (t / hm.col_ns >= HM_COLS)
		widen_cols();
	while (page / f->row_pages >= HM_ROWS)
		widen_rows(f);
	col = t / hm.col_ns;
	row = page / f->row_pages;
	one.major = 1;
	one.refaults = !!(ev->flags & PFW_EV_REFAULT);
	if (ev->flags & PFW_EV_LATENCY) {
		one.lat_count = 1;
		one.lat_total_ns = one.lat_max_ns = ev->latency_ns;
	}
	cell_add(cell_at(f, col, row), &one);
	f->major++;
	f->refaults += one.refaults;
	if (page > f->max_page)
		f->max_page = page;
	if (t > hm.t_last)
		hm.t_last = t;
}

static int by_major(const void *a, const void *b)
{
	const struct hfile *x = a, *y = b;

	if (x->major != y->major)
		return x->major > y->major ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* "0", "512K", "1.5M", "12G": a byte offset for a label */
static void human(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	uint64_t v = bytes, frac = 0;
	int u = -1;

	while (v >= 1024 && u < 5) {
		frac = v % 1024;
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%" PRIu64, v);
	else if (frac && v < 100)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c", v, frac * 10 / 1024, units[u]);
	else
		snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
}

/* a time for a label: "850us", "4.1ms", "1.532s" */
static void secs(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000000)
		snprintf(buf, len, "%" PRIu64 "us", ns / 1000);
	else if (ns < 1000000000)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "ms", ns / 1000000, ns / 100000 % 10);
	else
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 "s", ns / 1000000000,
			 ns / 1000000 % 1000);
}

static uint64_t cols_used(void)
{
	return hm.t_last / hm.col_ns + 1;
}

static uint64_t rows_used(const struct hfile *f)
{
	return f->max_page / f->row_pages + 1;
}

static unsigned term_width(const struct pfw_output *o)
{
	struct winsize ws;

	if (o->tty && !ioctl(fileno(o->fp), TIOCGWINSZ, &ws) && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

/*
 * One grid in the terminal: display cells merge fx columns and fy rows.
 * Shades by the cell's share of the grid's busiest cell; a cell with
 * refaults in red (Unicode) or in its own alphabet (ASCII).
 */
static void text_grid(struct pfw_session *s, const struct hfile *f, uint64_t fx, uint64_t fy,
		      bool unicode, bool colour)
{
	static const char *const shade[4] = {"\u2591", "\u2592", "\u2593", "\u2588"};
	static const char first_ascii[4] = {'.', ':', 'o', 'O'};
	static const char refault_ascii[4] = {'-', '+', 'x', 'X'};
	FILE *fp = s->out->fp;
	uint64_t ncol = (cols_used() + fx - 1) / fx, nrow = (rows_used(f) + fy - 1) / fy, max = 1;
	char lab[32], a[32], b[32];

	for (uint64_t y = 0; y < nrow; y++)
		for (uint64_t x = 0; x < ncol; x++) {
			uint64_t m = 0;

			for (uint64_t c = x * fx; c < (x + 1) * fx && c < HM_COLS; c++)
				for (uint64_t r = y * fy; r < (y + 1) * fy && r < HM_ROWS; r++)
					m += cell_get(f, c, r)->major;
			if (m > max)
				max = m;
		}
	fputs("FILE ", fp);
	pfw_fput_text_str(fp, f->path);
	fprintf(fp, "  major %" PRIu64 "  refaults %" PRIu64, f->major, f->refaults);
	if (f->major)
		fprintf(fp, " (%" PRIu64 ".%" PRIu64 "%%)", f->refaults * 100 / f->major,
			f->refaults * 1000 / f->major % 10);
	human(a, sizeof(a), f->row_pages * fy * 4096);
	secs(b, sizeof(b), hm.col_ns * fx);
	fprintf(fp, "\n%9s %s time, one column = %s; offset, one row = %sB\n", "OFFSET",
		unicode ? "\u2502" : "|", b, a);
	for (uint64_t y = 0; y < nrow; y++) {
		human(lab, sizeof(lab), y * fy * f->row_pages * 4096);
		fprintf(fp, "%9s %s", lab, unicode ? "\u2502" : "|");
		for (uint64_t x = 0; x < ncol; x++) {
			struct cell m = {0};
			int lvl;

			for (uint64_t c = x * fx; c < (x + 1) * fx && c < HM_COLS; c++)
				for (uint64_t r = y * fy; r < (y + 1) * fy && r < HM_ROWS; r++)
					cell_add(&m, cell_get(f, c, r));
			if (!m.major) {
				fputc(' ', fp);
				continue;
			}
			lvl = (int)((m.major * 4 + max - 1) / max) - 1;
			lvl = lvl < 0 ? 0 : lvl > 3 ? 3 : lvl;
			if (!unicode)
				fputc(m.refaults ? refault_ascii[lvl] : first_ascii[lvl], fp);
			else if (colour && m.refaults)
				fprintf(fp, "\033[31m%s\033[0m", shade[lvl]);
			else
				fputs(shade[lvl], fp);
		}
		fputc('\n', fp);
	}
	fprintf(fp, "%9s %s", "", unicode ? "\u2514" : "+");
	for (uint64_t x = 0; x < ncol; x++)
		fputs(unicode ? "\u2500" : "-", fp);
	secs(b, sizeof(b), hm.t_last);
	fprintf(fp, "\n%9s  0s%*s\n", "", (int)(ncol > 2 + strlen(b) ? ncol - 2 : strlen(b)), b);
}

static void text_out(struct pfw_session *s, struct hfile *v, size_t n)
{
	FILE *fp = s->out->fp;
	bool unicode = s->out->tty && !s->opts->ascii;
	bool colour = unicode && !getenv("NO_COLOR");
	unsigned width = term_width(s->out);
	uint64_t avail = width > 20 ? width - 12 : 8, fx = (cols_used() + avail - 1) / avail;

	if (!n) {
		fputs("(no major faults on files: nothing to draw)\n", fp);
		return;
	}
	for (size_t i = 0; i < n && i < HM_SHOW; i++) {
		uint64_t fy = (rows_used(&v[i]) + HM_TEXT_ROWS - 1) / HM_TEXT_ROWS;

		if (i)
			fputc('\n', fp);
		text_grid(s, &v[i], fx ? fx : 1, fy ? fy : 1, unicode, colour);
	}
	if (unicode)
		fprintf(fp,
			"\nshades: major faults per cell (%s light .. %s heaviest); %s%s%s: cells "
			"with "
			"refaults\n",
			"\u2591", "\u2588", colour ? "\033[31m" : "",
			colour ? "red" : "(no colour)", colour ? "\033[0m" : "");
	else
		fputs("\ncells: . : o O first reads (light .. heaviest), - + x X with refaults\n",
		      fp);
	if (n > HM_SHOW)
		fprintf(fp,
			"%zu more file%s with major faults not drawn (-f json has every grid)\n",
			n - HM_SHOW, n - HM_SHOW > 1 ? "s" : "");
}

static void json_out(struct pfw_session *s, struct hfile *v, size_t n)
{
	FILE *fp = s->out->fp;

	for (size_t i = 0; i < n; i++) {
		bool first = true;

		fputs("{\"record\":\"heatmap\",\"path\":", fp);
		pfw_fput_json_str(fp, v[i].path);
		fprintf(fp,
			",\"major\":%" PRIu64 ",\"refaults\":%" PRIu64 ",\"col_ns\":%" PRIu64
			",\"row_bytes\":%" PRIu64 ",\"cols\":%" PRIu64 ",\"rows\":%" PRIu64
			",\"cells\":[",
			v[i].major, v[i].refaults, hm.col_ns, v[i].row_pages * 4096, cols_used(),
			rows_used(&v[i]));
		for (uint64_t c = 0; c < HM_COLS; c++)
			for (uint64_t r = 0; r < HM_ROWS; r++) {
				const struct cell *x = cell_get(&v[i], c, r);

				if (!x->major)
					continue;
				fprintf(fp,
					"%s{\"col\":%" PRIu64 ",\"row\":%" PRIu64 ",\"major\":%u"
					",\"refaults\":%u",
					first ? "" : ",", c, r, x->major, x->refaults);
				if (x->lat_count)
					fprintf(fp,
						",\"latency_total_ns\":%" PRIu64
						",\"latency_max_ns\":%" PRIu64,
						x->lat_total_ns, x->lat_max_ns);
				else
					fputs(",\"latency_total_ns\":null,\"latency_max_ns\":null",
					      fp);
				fputc('}', fp);
				first = false;
			}
		fputs("]}\n", fp);
	}
}

static void csv_out(struct pfw_session *s, struct hfile *v, size_t n)
{
	FILE *fp = s->out->fp;

	fputs("path,col,row,time_lo_ns,time_hi_ns,offset_lo,offset_hi,major,refaults,"
	      "latency_total_ns,latency_max_ns\n",
	      fp);
	for (size_t i = 0; i < n; i++)
		for (uint64_t c = 0; c < HM_COLS; c++)
			for (uint64_t r = 0; r < HM_ROWS; r++) {
				const struct cell *x = cell_get(&v[i], c, r);
				uint64_t rb = v[i].row_pages * 4096;

				if (!x->major)
					continue;
				pfw_fput_csv_str(fp, v[i].path);
				fprintf(fp,
					",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
					",%" PRIu64 ",%u,%u,",
					c, r, c * hm.col_ns, (c + 1) * hm.col_ns, r * rb,
					(r + 1) * rb, x->major, x->refaults);
				if (x->lat_count)
					fprintf(fp, "%" PRIu64 ",%" PRIu64, x->lat_total_ns,
						x->lat_max_ns);
				else
					fputc(',', fp);
				fputc('\n', fp);
			}
}

/* --svg: the top files' grids at full resolution, a <title> per cell for hover */
#define SVG_W	   1000
#define SVG_LEFT   80
#define SVG_GRID_H 240
#define SVG_PANEL  (SVG_GRID_H + 70)

static void svg_fill(char *buf, size_t len, const struct cell *c, uint64_t max)
{
	/* first reads: blues; refaults: reds, so a thrashing band stands out */
	unsigned k = (unsigned)(40 + 200 * (c->major > max ? max : c->major) / (max ? max : 1));

	if (c->refaults)
		snprintf(buf, len, "rgb(%u,%u,%u)", 255, 230 - k * 200 / 240, 200 - k * 190 / 240);
	else
		snprintf(buf, len, "rgb(%u,%u,%u)", 220 - k * 200 / 240, 230 - k * 140 / 240, 255);
}

static int svg_write(const char *path, const char *title, struct hfile *v, size_t n)
{
	size_t show = n < HM_SVG_SHOW ? n : HM_SVG_SHOW;
	int height = 60 + (int)(show ? show : 1) * SVG_PANEL + 30, fd, ret = 0;
	uint64_t ncol = cols_used();
	double cw = (double)(SVG_W - SVG_LEFT - 20) / (double)ncol;
	char a[32], b[32], fill[48];
	FILE *fp;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || !(fp = fdopen(fd, "w"))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return ret;
	}
	fprintf(fp,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style type=\"text/css\">text{font-family:Verdana,sans-serif;font-size:12px;"
		"fill:rgb(0,0,0)} .t{font-size:17px;text-anchor:middle} .c:hover{stroke:black;"
		"stroke-width:1}</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(250,250,250)\"/>\n"
		"<text class=\"t\" x=\"%d\" y=\"26\">",
		SVG_W, height, SVG_W, height, SVG_W, height, SVG_W / 2);
	pfw_svg_put_text(fp, title);
	fputs("</text>\n", fp);
	if (!show)
		fprintf(fp, "<text x=\"%d\" y=\"60\">no major faults on files</text>\n", SVG_LEFT);
	for (size_t i = 0; i < show; i++) {
		const struct hfile *f = &v[i];
		uint64_t nrow = rows_used(f), max = 1;
		double rh = (double)SVG_GRID_H / (double)nrow;
		int y0 = 60 + (int)i * SVG_PANEL + 20;

		for (uint64_t c = 0; c < ncol && c < HM_COLS; c++)
			for (uint64_t r = 0; r < nrow; r++)
				if (cell_get(f, c, r)->major > max)
					max = cell_get(f, c, r)->major;
		fprintf(fp, "<g class=\"file\">\n<text x=\"%d\" y=\"%d\">", SVG_LEFT, y0 - 6);
		pfw_svg_put_text(fp, f->path);
		fprintf(fp, " \xe2\x80\x94 %" PRIu64 " major faults, %" PRIu64 " refaults</text>\n",
			f->major, f->refaults);
		fprintf(fp,
			"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"white\" "
			"stroke=\"rgb(180,180,180)\"/>\n",
			SVG_LEFT, y0, SVG_W - SVG_LEFT - 20, SVG_GRID_H);
		for (uint64_t r = 0; r <= nrow; r += (nrow + 3) / 4) {
			human(a, sizeof(a), r * f->row_pages * 4096);
			fprintf(fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
				SVG_LEFT - 6, y0 + r * rh + 4, a);
		}
		for (uint64_t c = 0; c < ncol && c < HM_COLS; c++)
			for (uint64_t r = 0; r < nrow; r++) {
				const struct cell *x = cell_get(f, c, r);

				if (!x->major)
					continue;
				svg_fill(fill, sizeof(fill), x, max);
				human(a, sizeof(a), r * f->row_pages * 4096);
				human(b, sizeof(b), (r + 1) * f->row_pages * 4096);
				fprintf(fp,
					"<rect class=\"c\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
					"height=\"%.2f\" fill=\"%s\"><title>offset %s-%s, ",
					SVG_LEFT + c * cw, y0 + r * rh, cw, rh, fill, a, b);
				secs(a, sizeof(a), c * hm.col_ns);
				secs(b, sizeof(b), (c + 1) * hm.col_ns);
				fprintf(fp, "%s-%s: %u major faults, %u refaults", a, b, x->major,
					x->refaults);
				if (x->lat_count)
					fprintf(fp,
						", latency avg %" PRIu64 " us, max %" PRIu64 " us",
						x->lat_total_ns / x->lat_count / 1000,
						x->lat_max_ns / 1000);
				fputs("</title></rect>\n", fp);
			}
		secs(a, sizeof(a), hm.t_last);
		fprintf(fp,
			"<text x=\"%d\" y=\"%d\">0s</text><text x=\"%d\" y=\"%d\" "
			"text-anchor=\"end\">%s</text></g>\n",
			SVG_LEFT, y0 + SVG_GRID_H + 16, SVG_W - 20, y0 + SVG_GRID_H + 16, a);
	}
	fprintf(fp,
		"<text x=\"%d\" y=\"%d\">time \xe2\x86\x92 (x), file offset \xe2\x86\x93 (y); "
		"blue: first reads, red: refaults (read again after eviction); hover a cell "
		"for its numbers</text>\n</svg>\n",
		SVG_LEFT, height - 12);
	if (fflush(fp) || ferror(fp))
		ret = -(errno ? errno : EIO);
	if (fclose(fp) && !ret)
		ret = -(errno ? errno : EIO);
	return ret;
}

static void heatmap_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	struct hfile *v = hm.n ? malloc(hm.n * sizeof(*v)) : NULL;
	size_t n = v ? hm.n : 0;

	if (n)
		memcpy(v, hm.f, n * sizeof(*v));
	if (n)
		qsort(v, n, sizeof(*v), by_major);
	if (s->out->fmt == &pfw_format_json)
		json_out(s, v, n);
	else if (s->out->fmt == &pfw_format_csv)
		csv_out(s, v, n);
	else
		text_out(s, v, n);
	if (hm.left_major || hm.oom)
		pfw_warn("%" PRIu64 " major faults on files beyond the first %d are not in any "
			 "heatmap",
			 hm.left_major, HM_FILES);
	if (s->opts->svg) {
		char title[256];
		int ret;

		snprintf(title, sizeof(title), "Major faults by time and file offset, %s backend",
			 r->backend ? r->backend : "recorded");
		ret = svg_write(s->opts->svg, title, v, n);
		if (ret < 0) {
			pfw_err("cannot write the heatmap '%s': %s", s->opts->svg, strerror(-ret));
			if (!s->out->err)
				s->out->err = -ret;
		}
	}
	free(v);
	for (size_t i = 0; i < hm.n; i++) {
		free(hm.f[i].path);
		free(hm.f[i].cells);
	}
	hm.n = 0;
	if (s->out->fmt == &pfw_format_text)
		fputc('\n', s->out->fp);
	pfw_view_finish(s, r);
}

const struct pfw_view pfw_view_heatmap = {
	.name = "heatmap",
	.begin = heatmap_begin,
	.event = heatmap_event,
	.end = heatmap_end,
};
