// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * CSV (RFC 4180): one rectangular table per output, a header line first.
 * The events view is the fault table; summary/hist are their own tables, a
 * spreadsheet cannot hold two shapes in one file. The run record is not a
 * row: it goes to stderr with -v (views.c).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "output.h"

/* o->state: which table's header was printed */
enum {
	TBL_NONE,
	TBL_FAULTS,
	TBL_SUMMARY,
	TBL_HIST,
	TBL_BACKENDS,
	TBL_FOLDED,
	TBL_CALLSITES,
};

/* print @hdr unless a table is open; false: another table is open, drop the rows */
static bool table(struct pfw_output *o, unsigned id, const char *hdr)
{
	if (o->state == TBL_NONE) {
		fputs(hdr, o->fp);
		o->state = id;
		o->header_done = true;
	}
	return o->state == id;
}

static void u64_field(FILE *fp, bool known, uint64_t v)
{
	fputc(',', fp);
	if (known)
		fprintf(fp, "%" PRIu64, v);
}

static void comm_field(FILE *fp, const char comm[PFW_COMM_LEN], bool known)
{
	char c[PFW_COMM_LEN + 1];

	fputc(',', fp);
	if (!known)
		return;
	memcpy(c, comm, PFW_COMM_LEN);
	c[PFW_COMM_LEN] = '\0';
	pfw_fput_csv_str(fp, c);
}

static void dev_field(FILE *fp, bool known, uint32_t maj, uint32_t min)
{
	fputc(',', fp);
	if (known)
		fprintf(fp, "%u:%u", maj, min);
}

static void csv_fault(struct pfw_output *o, const struct pfw_event *ev, uint64_t rel_ns)
{
	FILE *fp = o->fp;
	bool file;

	if (!table(o, TBL_FAULTS,
		   "time_ns,pid,tid,comm,kind,addr,ip,path,inode,dev,offset,latency_ns,"
		   "backing\n") ||
	    !ev)
		return;
	file = ev->flags & PFW_EV_FILE;
	fprintf(fp, "%" PRIu64 ",%d,%d", rel_ns, ev->pid, ev->tid);
	comm_field(fp, ev->comm, ev->flags & PFW_EV_COMM);
	fprintf(fp, ",%s,", pfw_kind_name(ev->kind));
	if (ev->flags & PFW_EV_ADDR)
		fprintf(fp, "0x%" PRIx64, ev->addr);
	fputc(',', fp);
	if (ev->flags & PFW_EV_IP)
		fprintf(fp, "0x%" PRIx64, ev->ip);
	fputc(',', fp);
	pfw_fput_csv_str(fp, ev->path);
	u64_field(fp, file, ev->inode);
	dev_field(fp, file, ev->dev_major, ev->dev_minor);
	u64_field(fp, file, ev->offset);
	u64_field(fp, ev->flags & PFW_EV_LATENCY, ev->latency_ns);
	fputc(',', fp);
	if (pfw_backing_name(ev->backing))
		fputs(pfw_backing_name(ev->backing), fp);
	fputc('\n', fp);
}

#define SUMMARY_HDR                                                                             \
	"record,pid,tid,comm,path,inode,dev,major,minor,pages,latency_total_ns,latency_min_ns," \
	"latency_max_ns,refaults,refaults_untracked,backing,major_file,major_anon,major_shmem,cgroup\n"

static void csv_threads(struct pfw_output *o, const struct pfw_thread_stats *t, size_t n)
{
	FILE *fp = o->fp;

	if (!table(o, TBL_SUMMARY, SUMMARY_HDR))
		return;
	for (size_t i = 0; i < n; i++) {
		bool lat = t[i].lat_count > 0;

		fprintf(fp, "thread,%d,%d", t[i].pid, t[i].tid);
		comm_field(fp, t[i].comm, t[i].comm[0] != '\0');
		fprintf(fp, ",,,,%" PRIu64 ",%" PRIu64 ",", t[i].major, t[i].minor);
		u64_field(fp, lat, t[i].lat_total_ns);
		u64_field(fp, lat, t[i].lat_min_ns);
		u64_field(fp, lat, t[i].lat_max_ns);
		fprintf(fp, ",%" PRIu64 ",%" PRIu64 ",%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
			t[i].refaults, t[i].untracked,
			pfw_thread_backing(&t[i]) ? pfw_thread_backing(&t[i]) : "",
			t[i].major_by[PFW_BACKING_FILE], t[i].major_by[PFW_BACKING_ANON],
			t[i].major_by[PFW_BACKING_SHMEM]);
		if (t[i].cgroup)
			pfw_fput_csv_str(fp, t[i].cgroup);
		fputc('\n', fp);
	}
}

static void csv_files(struct pfw_output *o, const struct pfw_file_stats *f, size_t n)
{
	FILE *fp = o->fp;

	if (!table(o, TBL_SUMMARY, SUMMARY_HDR))
		return;
	for (size_t i = 0; i < n; i++) {
		bool lat = f[i].lat_count > 0;

		fputs("file,,,,", fp);
		pfw_fput_csv_str(fp, f[i].path);
		u64_field(fp, f[i].file, f[i].inode);
		dev_field(fp, f[i].file, f[i].dev_major, f[i].dev_minor);
		fprintf(fp, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, f[i].major, f[i].minor,
			f[i].pages);
		u64_field(fp, lat, f[i].lat_total_ns);
		fputc(',', fp); /* no per-file minimum in the record */
		u64_field(fp, lat, f[i].lat_max_ns);
		u64_field(fp, f[i].file, f[i].refaults);
		u64_field(fp, f[i].file, f[i].untracked);
		/* a file has no split by backing, nor a cgroup */
		fprintf(fp, ",%s,,,,\n",
			pfw_backing_name(f[i].backing) ? pfw_backing_name(f[i].backing) : "");
	}
}

static void csv_hist(struct pfw_output *o, enum pfw_kind kind, const char *path,
		     const uint64_t buckets[PFW_HIST_BUCKETS])
{
	FILE *fp = o->fp;

	if (!table(o, TBL_HIST, "kind,path,low,high,count\n"))
		return;
	for (int i = 0; i < PFW_HIST_BUCKETS; i++) {
		if (!buckets[i])
			continue;
		fprintf(fp, "%s,", pfw_kind_name(kind));
		pfw_fput_csv_str(fp, path);
		fprintf(fp, ",%" PRIu64 ",", i ? UINT64_C(1) << i : 0);
		if (i < PFW_HIST_BUCKETS - 1)
			fprintf(fp, "%" PRIu64, UINT64_C(1) << (i + 1));
		fprintf(fp, ",%" PRIu64 "\n", buckets[i]);
	}
}

/* the run record is not part of any table (see the top of the file) */
static void csv_run(struct pfw_output *o, const struct pfw_run_info *r)
{
}

static void csv_backends(struct pfw_output *o, const struct pfw_backend_row *rows, size_t n)
{
	FILE *fp = o->fp;

	if (!table(o, TBL_BACKENDS, "backend,available,attach,detail,needs\n"))
		return;
	for (size_t i = 0; i < n; i++) {
		pfw_fput_csv_str(fp, rows[i].backend);
		fprintf(fp, ",%s,", rows[i].available ? "true" : "false");
		pfw_fput_csv_str(fp, rows[i].attach);
		fputc(',', fp);
		pfw_fput_csv_str(fp, rows[i].detail);
		fputc(',', fp);
		pfw_fput_csv_str(fp, rows[i].needs ? rows[i].needs : "");
		fputc('\n', fp);
	}
}

static void csv_folded(struct pfw_output *o, const char *stack, uint64_t count)
{
	if (!table(o, TBL_FOLDED, "stack,count\n"))
		return;
	pfw_fput_csv_str(o->fp, stack);
	fprintf(o->fp, ",%" PRIu64 "\n", count);
}

static void csv_callsites(struct pfw_output *o, const struct pfw_callsite *c, size_t n)
{
	FILE *fp = o->fp;

	if (!table(o, TBL_CALLSITES,
		   "count,major,minor,latency_total_ns,latency_max_ns,function,file,line,obj\n"))
		return;
	for (size_t i = 0; i < n; i++) {
		bool lat = c[i].lat_count > 0;

		fprintf(fp, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, c[i].count, c[i].major, c[i].minor);
		u64_field(fp, lat, c[i].lat_total_ns);
		u64_field(fp, lat, c[i].lat_max_ns);
		fputc(',', fp);
		if (c[i].func)
			pfw_fput_csv_str(fp, c[i].func);
		fputc(',', fp);
		if (c[i].src)
			pfw_fput_csv_str(fp, c[i].src);
		u64_field(fp, c[i].line > 0, c[i].line);
		fputc(',', fp);
		if (c[i].obj)
			pfw_fput_csv_str(fp, c[i].obj);
		fputc('\n', fp);
	}
}

const struct pfw_format pfw_format_csv = {
	.name = "csv",
	.fault = csv_fault,
	.threads = csv_threads,
	.files = csv_files,
	.hist = csv_hist,
	.run = csv_run,
	.backends = csv_backends,
	.folded = csv_folded,
	.callsites = csv_callsites,
};
