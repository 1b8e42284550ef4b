// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The three encoders against golden files in tests/expected/, for a fixed
 * set of faults (known and unknown fields, hostile names), summary rows,
 * histograms, a run record and the backend table. PFW_REGEN=1 rewrites the
 * golden files (review the diff before committing them).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "escape.h"
#include "output.h"

#ifndef PFW_EXPECTED
#define PFW_EXPECTED "tests/expected"
#endif

static const uint64_t stack[] = {0x401136, 0x7f0000001000};

static const struct pfw_event events[] = {
	{.time_ns = 1234567,
	 .addr = 0x7f1234567890,
	 .ip = 0x401136,
	 .latency_ns = 123456,
	 .inode = 1310723,
	 .offset = 8192,
	 .path = "/var/lib/data.bin",
	 .dev_major = 259,
	 .dev_minor = 1,
	 .pid = 4242,
	 .tid = 4243,
	 .kind = PFW_MAJOR,
	 .backing = PFW_BACKING_FILE,
	 .comm = "reader",
	 .flags = PFW_EV_IP | PFW_EV_LATENCY | PFW_EV_FILE | PFW_EV_COMM | PFW_EV_ADDR |
		  PFW_EV_USER},
	/* nothing optional known: null / empty / "-" */
	{.time_ns = 2000000000, .path = "[unknown]", .pid = 7, .tid = 7, .kind = PFW_MINOR},
	/* anonymous memory, a stack, a hostile name */
	{.time_ns = 3000000001,
	 .addr = 0x5555deadb000,
	 .ip = 0x5555aaaa0001,
	 .path = "[heap]",
	 .pid = 100,
	 .tid = 101,
	 .kind = PFW_MINOR,
	 .backing = PFW_BACKING_ANON,
	 .comm = "evil\n\x1b[1m,\"x",
	 .stack = stack,
	 .nr_stack = 2,
	 .flags = PFW_EV_IP | PFW_EV_COMM | PFW_EV_ADDR},
	/* a hostile, invalid-UTF-8, deleted path */
	{.time_ns = 59999999999,
	 .addr = 0x10000,
	 .latency_ns = 999,
	 .inode = 12,
	 .offset = 0,
	 .path = "/tmp/a,b\n\"c\"\xff (deleted)",
	 .dev_major = 8,
	 .dev_minor = 3,
	 .pid = 1,
	 .tid = 1,
	 .kind = PFW_MAJOR,
	 .backing = PFW_BACKING_SHMEM,
	 .comm = "init",
	 .flags = PFW_EV_LATENCY | PFW_EV_FILE | PFW_EV_COMM | PFW_EV_ADDR},
};

static const struct pfw_thread_stats threads[] = {
	{.pid = 4242,
	 .tid = 4243,
	 .comm = "reader",
	 .major = 1000,
	 .minor = 20,
	 .lat_count = 1000,
	 .lat_total_ns = 123456789,
	 .lat_min_ns = 4100,
	 .lat_max_ns = 9876543,
	 .refaults = 250,
	 .major_by = {[PFW_BACKING_FILE] = 990, [PFW_BACKING_ANON] = 10},
	 .cgroup = "/system.slice/db.service"},
	/* anyone may name a cgroup: its path is as untrusted as a file's */
	{.pid = 100,
	 .tid = 101,
	 .comm = "evil\n\x1b[1m,\"x",
	 .major = 0,
	 .minor = 3,
	 .cgroup = "/user.slice/a,b\n\"c\"\x1b"},
};

static const struct pfw_file_stats files[] = {
	{.path = "/var/lib/data.bin",
	 .file = true,
	 .inode = 1310723,
	 .dev_major = 259,
	 .dev_minor = 1,
	 .major = 1000,
	 .minor = 0,
	 .pages = 998,
	 .lat_count = 1000,
	 .lat_total_ns = 123456789,
	 .lat_min_ns = 4100,
	 .lat_max_ns = 9876543,
	 .refaults = 2,
	 .backing = PFW_BACKING_FILE},
	{.path = "[heap]", .major = 0, .minor = 3, .pages = 3, .backing = PFW_BACKING_ANON},
	{.path = "/tmp/a,b\n\"c\"\xff (deleted)",
	 .file = true,
	 .inode = 12,
	 .dev_major = 8,
	 .dev_minor = 3,
	 .major = 1,
	 .pages = 1,
	 .lat_count = 1,
	 .lat_total_ns = 999,
	 .lat_min_ns = 999,
	 .lat_max_ns = 999,
	 /* the page set was full: pages and refaults are lower bounds */
	 .untracked = 1,
	 .backing = PFW_BACKING_SHMEM},
};

static const struct pfw_run_info run = {
	.backend = "perf",
	.attach = "sw-events",
	.kernel = "6.18.0-test",
	.limits = "user-mode faults only",
	.duration_ns = 60000000123ull,
	.faults = 1004,
	.major = 1001,
	.minor = 3,
	.refaults = 252,
	.untracked = 1,
	.lost = 2,
	.exit_status = 0,
};

static const struct pfw_backend_row rows[] = {
	{"bpf", true, "tp",
	 "fentry: BPF tracing programs refused (EPERM); kprobe: kernel built without "
	 "CONFIG_KPROBES",
	 NULL},
	{"perf", true, "sw-events", "perf_event_paranoid=2: own processes, user-mode faults only",
	 NULL},
	{"ftrace", false, "-", "function_graph tracer missing (CONFIG_FUNCTION_GRAPH_TRACER)",
	 NULL},
};

static uint64_t hist[2][PFW_HIST_BUCKETS];

static const uint64_t start_ns = 1000;

static char *render(const struct pfw_format *f, unsigned what)
{
	struct pfw_output o = {.fmt = f};
	char *buf = NULL;
	size_t len;

	o.fp = open_memstream(&buf, &len);
	if (what & 1) {
		f->fault(&o, NULL, 0);
		for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			f->fault(&o, &events[i], events[i].time_ns - start_ns);
	}
	if (what & 2) {
		f->threads(&o, threads, 2);
		f->files(&o, files, 3);
	}
	if (what & 4) {
		f->hist(&o, PFW_MAJOR, NULL, hist[PFW_MAJOR]);
		f->hist(&o, PFW_MINOR, NULL, hist[PFW_MINOR]);
	}
	if (what & 8)
		f->run(&o, &run);
	if (what & 16)
		f->backends(&o, rows, 3);
	fclose(o.fp);
	return buf;
}

/* one fault line (after the text header) of @f for @ev */
static char *fault_line(const struct pfw_format *f, const struct pfw_event *ev)
{
	struct pfw_output o = {.fmt = f, .header_done = true};
	char *buf = NULL;
	size_t len;

	o.fp = open_memstream(&buf, &len);
	f->fault(&o, ev, 1);
	fclose(o.fp);
	return buf;
}

/*
 * The encoders build a fault line in a buffer and write a path that does
 * not fit on its own: whatever its length, the line must be the one with a
 * one-byte path, that path's escaped form in its place.
 */
static void long_paths(const struct pfw_format *f, void (*esc)(FILE *, const char *),
		       const char *name)
{
	static char path[4096];
	struct pfw_event ev = events[0];
	char *got, *one, *escaped = NULL, *at, *want = NULL;
	size_t elen, wlen, len, bad = 0;
	FILE *fp;

	/* every other field at its longest (the sanitizer lane sees an overrun) */
	ev.inode = ev.offset = ev.latency_ns = ev.time_ns = ev.addr = ev.ip = UINT64_MAX;
	ev.dev_major = ev.dev_minor = UINT32_MAX;
	ev.pid = ev.tid = INT32_MIN;
	ev.flags |= PFW_EV_COMM | PFW_EV_ADDR | PFW_EV_IP | PFW_EV_FILE | PFW_EV_LATENCY;
	memset(ev.comm, '\x01', sizeof(ev.comm) - 1);
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	for (len = 1; len < sizeof(path); len += len < 1200 ? 1 : 97) {
		memset(path, 'p', len);
		path[len] = '\0';
		path[len / 2] = '\n'; /* escaped: two bytes for one */
		ev.path = "@";
		one = fault_line(f, &ev);
		ev.path = path;
		got = fault_line(f, &ev);
		fp = open_memstream(&escaped, &elen);
		esc(fp, path);
		fclose(fp);
		/* "@" is the path's only "@" in the line; JSON's has its quotes around it */
		at = strchr(one, '@');
		fp = open_memstream(&want, &wlen);
		if (esc == pfw_fput_json_str)
			fprintf(fp, "%.*s%s%s", (int)(at - 1 - one), one, escaped, at + 2);
		else
			fprintf(fp, "%.*s%s%s", (int)(at - one), one, escaped, at + 1);
		fclose(fp);
		if (strcmp(got, want) && !bad++)
			tap_diag("%s: path of %zu bytes: %.200s", name, len, got);
		free(one);
		free(got);
		free(escaped);
		free(want);
		escaped = want = NULL;
	}
	tap_ok(!bad, "%s: fault lines with paths of 1 to 4095 bytes (%zu differ)", name, bad);
}

static void golden(const char *name, const char *got)
{
	char path[4096], *want = NULL;
	size_t len = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", PFW_EXPECTED, name);
	if (getenv("PFW_REGEN")) {
		fp = fopen(path, "w");
		fputs(got, fp);
		fclose(fp);
	}
	fp = fopen(path, "r");
	if (!fp) {
		tap_ok(0, "%s: cannot open %s", name, path);
		return;
	}
	want = malloc(1 << 20);
	len = fread(want, 1, (1 << 20) - 1, fp);
	want[len] = '\0';
	fclose(fp);
	if (!tap_ok(!strcmp(got, want), "%s matches the golden file", name)) {
		size_t line = 1, i = 0;

		for (; got[i] && got[i] == want[i]; i++)
			line += got[i] == '\n';
		tap_diag("  first difference at line %zu, byte %zu", line, i);
	}
	free(want);
}

/* every line of @json must parse; python3's json is the independent judge */
static void json_valid(const char *json)
{
	FILE *p;
	int st;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		tap_skip("python3 not found: JSON Lines not checked by a parser");
		return;
	}
	p = popen("python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]'", "w");
	fputs(json, p);
	st = pclose(p);
	tap_ok(st == 0, "every JSON line parses (python3 json)");
}

static bool rectangular(const char *csv, int cols)
{
	/* count fields per record, honouring quotes (RFC 4180) */
	int n = 1;
	bool q = false;

	for (const char *p = csv; *p; p++) {
		if (*p == '"')
			q = !q;
		else if (!q && *p == ',')
			n++;
		else if (!q && *p == '\n') {
			if (n != cols)
				return false;
			n = 1;
		}
	}
	return !q;
}

int main(void)
{
	char *s;

	hist[PFW_MAJOR][10] = 5;
	hist[PFW_MAJOR][12] = 100;
	hist[PFW_MAJOR][13] = 1;
	hist[PFW_MINOR][0] = 2;
	hist[PFW_MINOR][20] = 1;
	hist[PFW_MINOR][63] = 0;

	s = render(&pfw_format_text, 1 | 2 | 8 | 16);
	golden("format.txt", s);
	free(s);
	s = render(&pfw_format_text, 4);
	golden("hist.txt", s);
	free(s);

	s = render(&pfw_format_json, 1 | 2 | 4 | 8 | 16);
	golden("format.json", s);
	json_valid(s);
	free(s);

	s = render(&pfw_format_csv, 1);
	golden("format.csv", s);
	tap_ok(rectangular(s, 13), "fault csv: 13 fields on every row");
	free(s);
	s = render(&pfw_format_csv, 2 | 8);
	golden("summary.csv", s);
	tap_ok(rectangular(s, 20), "summary csv: 20 fields on every row");
	free(s);
	/* a second table in the same csv output is refused, not appended */
	s = render(&pfw_format_csv, 1 | 2);
	tap_ok(rectangular(s, 13), "csv keeps one table per output");
	free(s);

	long_paths(&pfw_format_json, pfw_fput_json_str, "json");
	long_paths(&pfw_format_text, pfw_fput_text_str, "text");

	s = render(&pfw_format_text, 1);
	tap_ok(!strchr(s, '\x1b') && !strchr(s, '\xff'),
	       "text has no raw ESC and no invalid UTF-8");
	free(s);
	return tap_done();
}
