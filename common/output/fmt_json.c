// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * JSON Lines: one object per line, each with a "record" member (SPEC.md
 * "Machine-readable output"). Unknown fields are null, never 0. Integers are
 * printed with PRIu64, so no locale can put a comma into a number.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "output.h"
#include "symbolize.h"

static void u64_or_null(FILE *fp, const char *key, bool known, uint64_t v)
{
	if (known)
		fprintf(fp, ",\"%s\":%" PRIu64, key, v);
	else
		fprintf(fp, ",\"%s\":null", key);
}

/* a file's or call site's latency: total and max, null when none was measured */
static void lat_or_null(FILE *fp, uint64_t count, uint64_t total_ns, uint64_t max_ns)
{
	u64_or_null(fp, "latency_total_ns", count > 0, total_ns);
	u64_or_null(fp, "latency_max_ns", count > 0, max_ns);
}

/* a string member: NULL is null (pfw_fput_json_str()) */
static void str_or_null(FILE *fp, const char *key, const char *v)
{
	fprintf(fp, ",\"%s\":", key);
	pfw_fput_json_str(fp, v);
}

static void dev_or_null(FILE *fp, bool known, uint32_t maj, uint32_t min)
{
	if (known)
		fprintf(fp, ",\"dev\":\"%u:%u\"", maj, min);
	else
		fputs(",\"dev\":null", fp);
}

static void comm_str(FILE *fp, const char comm[PFW_COMM_LEN], bool known)
{
	char c[PFW_COMM_LEN + 1];

	if (!known) {
		fputs("null", fp);
		return;
	}
	memcpy(c, comm, PFW_COMM_LEN);
	c[PFW_COMM_LEN] = '\0';
	pfw_fput_json_str(fp, c);
}

/*
 * The fault line is built in a buffer with these instead of fprintf(): under
 * a fault storm fprintf's format parsing was a third of pfwatch's CPU.
 */
static char *put_lit(char *p, const char *lit)
{
	size_t n = strlen(lit);

	memcpy(p, lit, n);
	return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_i32(char *p, int32_t v)
{
	if (v < 0) {
		*p++ = '-';
		return put_u64(p, (uint64_t) - (int64_t)v);
	}
	return put_u64(p, (uint64_t)v);
}

/* "0x..." as %#" PRIx64 " would, but 0 as "0x0" like the format it replaces */
static char *put_hex_str(char *p, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;

	do
		tmp[n++] = digits[v & 15];
	while (v >>= 4);
	*p++ = '"';
	*p++ = '0';
	*p++ = 'x';
	while (n)
		*p++ = tmp[--n];
	*p++ = '"';
	return p;
}

static char *put_u64_or_null(char *p, const char *key, bool known, uint64_t v)
{
	p = put_lit(p, key);
	return known ? put_u64(p, v) : put_lit(p, "null");
}

/* the line's parts after the path, at most: inode, dev, offset, backing, latency, "}\n" */
#define JSON_TAIL_MAX 192

static void json_fault(struct pfw_output *o, const struct pfw_event *ev, uint64_t rel_ns)
{
	FILE *fp = o->fp;
	bool file = ev && (ev->flags & PFW_EV_FILE);
	char buf[1024], comm[PFW_COMM_LEN + 1], *p = buf;
	bool stack;

	if (!ev)
		return;
	stack = (o->frames && o->nr_frames) || (ev->nr_stack && ev->stack);
	/*
	 * One fwrite() per line: the fixed parts and the escaped strings go
	 * into @buf (a storm's lines are ~230 bytes); only a path that does
	 * not fit is written on its own.
	 */
	p = put_lit(p, "{\"record\":\"fault\",\"time_ns\":");
	p = put_u64(p, rel_ns);
	p = put_lit(p, ",\"pid\":");
	p = put_i32(p, ev->pid);
	p = put_lit(p, ",\"tid\":");
	p = put_i32(p, ev->tid);
	p = put_lit(p, ",\"comm\":");
	memcpy(comm, ev->comm, PFW_COMM_LEN);
	comm[PFW_COMM_LEN] = '\0';
	/* at most 6 bytes for each of 15, and the quotes: it fits */
	p += pfw_escape_json_memo(&o->memo_comm, p, sizeof(buf) - (size_t)(p - buf),
				  ev->flags & PFW_EV_COMM ? comm : NULL);
	p = put_lit(p, ",\"kind\":\"");
	p = put_lit(p, pfw_kind_name(ev->kind));
	p = put_lit(p, "\",\"addr\":");
	p = ev->flags & PFW_EV_ADDR ? put_hex_str(p, ev->addr) : put_lit(p, "null");
	p = put_lit(p, ",\"ip\":");
	p = ev->flags & PFW_EV_IP ? put_hex_str(p, ev->ip) : put_lit(p, "null");
	p = put_lit(p, ",\"path\":");
	p = pfw_line_put_json(fp, &o->memo_path, buf, sizeof(buf), p, JSON_TAIL_MAX, ev->path);
	p = put_u64_or_null(p, ",\"inode\":", file, ev->inode);
	if (file) {
		p = put_lit(p, ",\"dev\":\"");
		p = put_u64(p, ev->dev_major);
		*p++ = ':';
		p = put_u64(p, ev->dev_minor);
		*p++ = '"';
	} else {
		p = put_lit(p, ",\"dev\":null");
	}
	p = put_u64_or_null(p, ",\"offset\":", file, ev->offset);
	p = put_lit(p, ",\"backing\":");
	if (pfw_backing_name(ev->backing)) {
		*p++ = '"';
		p = put_lit(p, pfw_backing_name(ev->backing));
		*p++ = '"';
	} else {
		p = put_lit(p, "null");
	}
	p = put_u64_or_null(p, ",\"latency_ns\":", ev->flags & PFW_EV_LATENCY, ev->latency_ns);
	if (!stack) {
		p = put_lit(p, "}\n");
		fwrite(buf, 1, (size_t)(p - buf), fp);
		return;
	}
	fwrite(buf, 1, (size_t)(p - buf), fp);
	if (o->frames && o->nr_frames) {
		/* "file" and "line" are an extension of SPEC's frame, present when known */
		fputs(",\"stack\":[", fp);
		for (size_t i = 0; i < o->nr_frames; i++) {
			const struct pfw_frame *f = &o->frames[i];

			fprintf(fp, "%s{\"ip\":\"0x%" PRIx64 "\",\"sym\":", i ? "," : "", f->ip);
			pfw_fput_json_str(fp, f->sym);
			fputs(",\"obj\":", fp);
			pfw_fput_json_str(fp, f->obj);
			if (f->src && f->line) {
				fputs(",\"file\":", fp);
				pfw_fput_json_str(fp, f->src);
				fprintf(fp, ",\"line\":%u", f->line);
			}
			fputc('}', fp);
		}
		fputc(']', fp);
	} else if (ev->nr_stack && ev->stack) {
		fputs(",\"stack\":[", fp);
		for (uint32_t i = 0; i < ev->nr_stack; i++)
			fprintf(fp, "%s{\"ip\":\"0x%" PRIx64 "\",\"sym\":null,\"obj\":null}",
				i ? "," : "", ev->stack[i]);
		fputc(']', fp);
	}
	fputs("}\n", fp);
}

static void json_threads(struct pfw_output *o, const struct pfw_thread_stats *t, size_t n)
{
	FILE *fp = o->fp;

	for (size_t i = 0; i < n; i++) {
		bool lat = t[i].lat_count > 0;

		fprintf(fp, "{\"record\":\"thread\",\"pid\":%d,\"tid\":%d,\"comm\":", t[i].pid,
			t[i].tid);
		comm_str(fp, t[i].comm, t[i].comm[0] != '\0');
		str_or_null(fp, "cgroup", t[i].cgroup);
		fprintf(fp, ",\"major\":%" PRIu64 ",\"minor\":%" PRIu64, t[i].major, t[i].minor);
		fprintf(fp,
			",\"refaults\":%" PRIu64 ",\"refaults_untracked\":%" PRIu64 ",\"backing\":",
			t[i].refaults, t[i].untracked);
		pfw_fput_json_str(fp, pfw_thread_backing(&t[i]));
		fprintf(fp,
			",\"major_file\":%" PRIu64 ",\"major_anon\":%" PRIu64
			",\"major_shmem\":%" PRIu64,
			t[i].major_by[PFW_BACKING_FILE], t[i].major_by[PFW_BACKING_ANON],
			t[i].major_by[PFW_BACKING_SHMEM]);
		u64_or_null(fp, "latency_total_ns", lat, t[i].lat_total_ns);
		u64_or_null(fp, "latency_min_ns", lat, t[i].lat_min_ns);
		u64_or_null(fp, "latency_max_ns", lat, t[i].lat_max_ns);
		fputs("}\n", fp);
	}
}

static void json_files(struct pfw_output *o, const struct pfw_file_stats *f, size_t n)
{
	FILE *fp = o->fp;

	for (size_t i = 0; i < n; i++) {
		fputs("{\"record\":\"file\",\"path\":", fp);
		pfw_fput_json_str(fp, f[i].path);
		u64_or_null(fp, "inode", f[i].file, f[i].inode);
		dev_or_null(fp, f[i].file, f[i].dev_major, f[i].dev_minor);
		fprintf(fp, ",\"major\":%" PRIu64 ",\"minor\":%" PRIu64 ",\"pages\":%" PRIu64,
			f[i].major, f[i].minor, f[i].pages);
		/* a refault is a file page's: none for anonymous memory */
		u64_or_null(fp, "refaults", f[i].file, f[i].refaults);
		u64_or_null(fp, "refaults_untracked", f[i].file, f[i].untracked);
		str_or_null(fp, "backing", pfw_backing_name(f[i].backing));
		lat_or_null(fp, f[i].lat_count, f[i].lat_total_ns, f[i].lat_max_ns);
		fputs("}\n", fp);
	}
}

static void json_hist(struct pfw_output *o, enum pfw_kind kind, const char *path,
		      const uint64_t buckets[PFW_HIST_BUCKETS])
{
	FILE *fp = o->fp;
	int first = -1, last = -1;

	for (int i = 0; i < PFW_HIST_BUCKETS; i++) {
		if (!buckets[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
	}
	fprintf(fp, "{\"record\":\"hist\",\"kind\":\"%s\"", pfw_kind_name(kind));
	if (path)
		str_or_null(fp, "path", path);
	fputs(",\"unit\":\"ns\",\"buckets\":[", fp);
	for (int i = first; first >= 0 && i <= last; i++) {
		fprintf(fp, "%s{\"low\":%" PRIu64 ",\"high\":", i > first ? "," : "",
			i ? UINT64_C(1) << i : 0);
		/* the last bucket has no representable upper bound */
		if (i == PFW_HIST_BUCKETS - 1)
			fputs("null", fp);
		else
			fprintf(fp, "%" PRIu64, UINT64_C(1) << (i + 1));
		fprintf(fp, ",\"count\":%" PRIu64 "}", buckets[i]);
	}
	fputs("]}\n", fp);
}

static void json_run(struct pfw_output *o, const struct pfw_run_info *r)
{
	FILE *fp = o->fp;

	fputs("{\"record\":\"run\",\"backend\":", fp);
	pfw_fput_json_str(fp, r->backend);
	str_or_null(fp, "attach", r->attach);
	str_or_null(fp, "kernel", r->kernel);
	fprintf(fp,
		",\"duration_ns\":%" PRIu64 ",\"faults\":%" PRIu64 ",\"major\":%" PRIu64
		",\"minor\":%" PRIu64 ",\"refaults\":%" PRIu64 ",\"refaults_untracked\":%" PRIu64
		",\"lost\":%" PRIu64 ",\"exit_status\":%d",
		r->duration_ns, r->faults, r->major, r->minor, r->refaults, r->untracked, r->lost,
		r->exit_status);
	if (r->limits && *r->limits)
		str_or_null(fp, "limits", r->limits);
	fputs("}\n", fp);
}

static void json_backends(struct pfw_output *o, const struct pfw_backend_row *rows, size_t n)
{
	FILE *fp = o->fp;

	for (size_t i = 0; i < n; i++) {
		fputs("{\"backend\":", fp);
		pfw_fput_json_str(fp, rows[i].backend);
		fprintf(fp, ",\"available\":%s,\"attach\":", rows[i].available ? "true" : "false");
		pfw_fput_json_str(fp, rows[i].attach);
		str_or_null(fp, "detail", rows[i].detail);
		if (rows[i].needs)
			str_or_null(fp, "needs", rows[i].needs);
		fputs("}\n", fp);
	}
}

static void json_folded(struct pfw_output *o, const char *stack, uint64_t count)
{
	fputs("{\"record\":\"folded\",\"stack\":", o->fp);
	pfw_fput_json_str(o->fp, stack);
	fprintf(o->fp, ",\"count\":%" PRIu64 "}\n", count);
}

static void json_callsites(struct pfw_output *o, const struct pfw_callsite *c, size_t n)
{
	FILE *fp = o->fp;

	for (size_t i = 0; i < n; i++) {
		fputs("{\"record\":\"callsite\",\"function\":", fp);
		pfw_fput_json_str(fp, c[i].func);
		str_or_null(fp, "file", c[i].src);
		u64_or_null(fp, "line", c[i].line > 0, c[i].line);
		str_or_null(fp, "obj", c[i].obj);
		fprintf(fp, ",\"count\":%" PRIu64 ",\"major\":%" PRIu64 ",\"minor\":%" PRIu64,
			c[i].count, c[i].major, c[i].minor);
		lat_or_null(fp, c[i].lat_count, c[i].lat_total_ns, c[i].lat_max_ns);
		fputs("}\n", fp);
	}
}

const struct pfw_format pfw_format_json = {
	.name = "json",
	.fault = json_fault,
	.threads = json_threads,
	.files = json_files,
	.hist = json_hist,
	.run = json_run,
	.backends = json_backends,
	.folded = json_folded,
	.callsites = json_callsites,
};
