// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfwatch --validate: run one workload under every backend and attach mode
 * that probes available, and compare what each saw with the ground truth.
 *
 * Ground truth, in order of strength:
 *  - the bundled workload's own exact expectation (pfwatch-workload --exact
 *    --expect: MADV_RANDOM after eviction, one major fault per first touch)
 *    for the data file;
 *  - the traced process's majflt from wait4() (res->rusage): the kernel's
 *    mm_account_fault() counters, which is what SPEC.md says the totals must
 *    equal.
 *
 * Agreement rule: an exact mode must match both to the fault. A mode whose
 * detection is heuristic (ftrace "events": major is inferred from filemap
 * events, KERNEL-NOTES part 2 section 5) only fails when it is grossly off:
 * more than 25% and more than 2 faults away from the truth. Its error is
 * shown either way.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agg.h"
#include "backend.h"
#include "escape.h"
#include "log.h"
#include "run.h"
#include "validate.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

/* the default workload: small enough for qemu TCG lanes, two threads so
 * per-thread attribution is exercised too */
#define WL_SIZE	   "16M"
#define WL_THREADS "2"
#define WL_PATTERN "random"

#define MAX_FILES 8

enum vstatus { V_PASS, V_FAIL, V_SKIP, V_ERROR };

static const char *const vstatus_name[] = {"pass", "fail", "skip", "error"};

struct vfile {
	char path[PATH_MAX];
	uint64_t major;
};

struct vrow {
	const char *backend;
	char attach[PFW_ATTACH_LEN];
	bool approximate;
	enum vstatus status;
	uint64_t major;	     /* traced, all files */
	uint64_t data_major; /* traced, the workload's data file */
	bool have_truth;
	uint64_t truth; /* the child's ru_majflt */
	uint64_t lost;
	int exit_code;
	char detail[PFW_DETAIL_LEN];
	struct vfile files[MAX_FILES];
	size_t nr_files;
};

struct vctx {
	const struct pfw_opts *user;
	FILE *fp;
	bool json;
	bool bundled;
	int64_t expected;    /* the workload's --expect, -1 without one */
	char dir[PATH_MAX];  /* our temp dir */
	char data[PATH_MAX]; /* the workload's data file */
	char *argv[16];
	char argbuf[4][PATH_MAX + 16];
	struct vrow rows[16];
	size_t nr_rows;
};

static bool is_approximate(const char *backend, const char *attach)
{
	return !strcmp(backend, "ftrace") && !strcmp(attach, "events");
}

static bool close_enough(uint64_t got, uint64_t want)
{
	uint64_t diff = got > want ? got - want : want - got;

	return diff <= 2 || diff * 4 <= want;
}

/* next to our own binary first (an uninstalled build tree), then $PATH */
static int find_workload(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			int l = snprintf(buf, len, "%s/pfwatch-workload", self);

			if (l > 0 && (size_t)l < len && access(buf, X_OK) == 0)
				return 0;
		}
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t l = strcspn(path, ":");

		snprintf(buf, len, "%.*s/pfwatch-workload", (int)l, path);
		if (l && access(buf, X_OK) == 0)
			return 0;
		path += l + (path[l] == ':');
	}
	return -ENOENT;
}

/*
 * The data file must live on a block device: on tmpfs/ramfs every page is
 * already in memory and there are no major faults to count.
 */
static int make_temp_dir(char *out, size_t len)
{
	const char *cands[] = {getenv("TMPDIR"), "/var/tmp", ".", "/tmp"};
	char cwd[PATH_MAX];

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		struct statfs sf;
		const char *base = cands[i];

		if (!base || !*base)
			continue;
		if (!strcmp(base, ".")) {
			if (!getcwd(cwd, sizeof(cwd)))
				continue;
			base = cwd;
		}
		if (statfs(base, &sf) < 0 || (unsigned long)sf.f_type == TMPFS_MAGIC ||
		    (unsigned long)sf.f_type == RAMFS_MAGIC)
			continue;
		int l = snprintf(out, len, "%s/pfwatch-validate.XXXXXX", base);

		if (l > 0 && (size_t)l < len && mkdtemp(out)) {
			char real[PATH_MAX];

			/* the frontend reports canonical paths from the maps */
			if (realpath(out, real))
				snprintf(out, len, "%s", real);
			return 0;
		}
	}
	return -ENOENT;
}

/* run "WORKLOAD ARGS --expect" and read the number it prints */
static int64_t workload_expect(char *const argv[])
{
	char *xargv[20];
	int pfd[2], st;
	size_t n = 0;
	char buf[64];
	ssize_t got;
	pid_t pid;

	while (argv[n] && n < 18) {
		xargv[n] = argv[n];
		n++;
	}
	xargv[n++] = (char *)"--expect";
	xargv[n] = NULL;
	if (pipe(pfd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(xargv[0], xargv);
		_exit(127);
	}
	close(pfd[1]);
	got = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got <= 0)
		return -EINVAL;
	buf[got] = '\0';
	return strtoll(buf, NULL, 10);
}

static int setup_workload(struct vctx *c)
{
	char wl[PATH_MAX];
	size_t n = 0;

	if (c->user->command) {
		c->bundled = false;
		c->expected = -1;
		return 0;
	}
	if (find_workload(wl, sizeof(wl)) < 0) {
		pfw_err("--validate: pfwatch-workload not found next to pfwatch or in $PATH; "
			"install it or give a command after --");
		return -ENOENT;
	}
	if (make_temp_dir(c->dir, sizeof(c->dir)) < 0) {
		pfw_err("--validate: no writable disk-backed directory for the data file "
			"(tmpfs has no major faults); set TMPDIR to one");
		return -ENOENT;
	}
	if (snprintf(c->data, sizeof(c->data), "%s/data", c->dir) >= (int)sizeof(c->data)) {
		pfw_err("--validate: temporary directory path too long; set TMPDIR to a shorter "
			"one");
		rmdir(c->dir);
		return -ENAMETOOLONG;
	}
	c->bundled = true;
	snprintf(c->argbuf[0], sizeof(c->argbuf[0]), "%s", wl);
	snprintf(c->argbuf[1], sizeof(c->argbuf[1]), "--file=%s", c->data);
	c->argv[n++] = c->argbuf[0];
	c->argv[n++] = c->argbuf[1];
	c->argv[n++] = (char *)"--exact";
	/* kept between runs: every run evicts it first, so each sees the same faults */
	c->argv[n++] = (char *)"--keep";
	c->argv[n++] = (char *)"--size=" WL_SIZE;
	c->argv[n++] = (char *)"--threads=" WL_THREADS;
	c->argv[n++] = (char *)"--pattern=" WL_PATTERN;
	c->argv[n] = NULL;
	c->expected = workload_expect(c->argv);
	if (c->expected < 0) {
		pfw_err("--validate: '%s --expect' failed; check that pfwatch-workload runs", wl);
		return -EINVAL;
	}
	return 0;
}

static void cleanup_workload(struct vctx *c)
{
	if (!c->bundled)
		return;
	unlink(c->data);
	rmdir(c->dir);
}

static void fill_from_agg(struct vctx *c, struct vrow *r, struct pfw_agg *agg)
{
	const struct pfw_totals *t = pfw_agg_totals(agg);
	struct pfw_file_stats *f = NULL;
	size_t nf = pfw_agg_files(agg, &f);

	r->major = t->major;
	for (size_t i = 0; i < nf; i++) {
		if (!f[i].major)
			continue;
		if (c->bundled && f[i].path && !strcmp(f[i].path, c->data))
			r->data_major += f[i].major;
		if (r->nr_files < MAX_FILES) {
			snprintf(r->files[r->nr_files].path, sizeof(r->files[0].path), "%s",
				 f[i].path ? f[i].path : "[unknown]");
			r->files[r->nr_files].major = f[i].major;
			r->nr_files++;
		}
	}
	free(f);
}

static void judge(struct vctx *c, struct vrow *r)
{
	char *d = r->detail;
	size_t dl = sizeof(r->detail);
	bool ok = true;

	if (!r->have_truth) {
		r->status = V_ERROR;
		snprintf(d, dl, "no rusage for the workload");
		return;
	}
	if (r->approximate) {
		ok = close_enough(r->major, r->truth) &&
		     (!c->bundled || close_enough(r->data_major, (uint64_t)c->expected));
	} else {
		ok = r->major == r->truth &&
		     (!c->bundled || r->data_major == (uint64_t)c->expected);
	}
	r->status = ok ? V_PASS : V_FAIL;
	snprintf(d, dl, "%s%s: traced %" PRIu64 " vs majflt %" PRIu64 " (%+" PRId64 ")",
		 r->approximate ? "approximate" : "exact",
		 r->approximate ? " (fails beyond 25% and 2 faults)" : "", r->major, r->truth,
		 (int64_t)(r->major - r->truth));
	if (c->bundled) {
		size_t l = strlen(d);

		snprintf(d + l, dl - l, "; data file %" PRIu64 " vs expected %" PRId64,
			 r->data_major, c->expected);
	}
	if (r->lost) {
		size_t l = strlen(d);

		snprintf(d + l, dl - l, "; %" PRIu64 " events lost", r->lost);
	}
}

static void run_one(struct vctx *c, const struct pfw_backend *b, const char *mode)
{
	struct vrow *r;
	struct pfw_opts o = *c->user;
	struct pfw_probe_result pr = {0};
	struct pfw_run_result res;
	int rc;

	if (c->nr_rows >= sizeof(c->rows) / sizeof(c->rows[0]))
		return;
	r = &c->rows[c->nr_rows++];
	memset(r, 0, sizeof(*r));
	r->backend = b->name;

	o.backend = b->name;
	o.bpf_attach = "auto";
	o.ftrace_attach = "auto";
	/* each backend's mode option: the one the command line ties to it */
	if (mode && b == &pfw_backend_bpf)
		o.bpf_attach = mode;
	else if (mode && b == &pfw_backend_ftrace)
		o.ftrace_attach = mode;
	/* the validated runs print nothing per fault: summary view into /dev/null */
	o.view = PFW_VIEW_SUMMARY;
	o.format = PFW_FMT_TEXT;
	o.output = "/dev/null";
	o.faults = PFW_WANT_MAJOR;
	o.validate = false;
	o.list_backends = false;
	o.input = NULL;
	o.svg = NULL;
	o.pids = NULL;
	o.nr_pids = 0;
	o.comm = NULL;
	o.duration_ns = 0;
	o.command = c->bundled ? c->argv : c->user->command;

	pfw_backend_probe(b, &o, &pr);
	snprintf(r->attach, sizeof(r->attach), "%s", mode ? mode : pr.attach);
	r->approximate = is_approximate(b->name, r->attach);
	if (!pr.available) {
		r->status = V_SKIP;
		/* the probe's reason, as --list-backends gives it */
		snprintf(r->detail, sizeof(r->detail), "%s", pr.detail);
		return;
	}
	pfw_info(1, "--validate: running %s%s%s", b->name, mode ? "/" : "", mode ? mode : "");

	memset(&res, 0, sizeof(res));
	rc = pfw_run(&o, b, NULL, true, &res);
	if (!mode && res.attach[0])
		snprintf(r->attach, sizeof(r->attach), "%s", res.attach);
	r->approximate = is_approximate(b->name, r->attach);
	r->exit_code = res.exit_code;
	r->lost = res.lost;
	r->have_truth = res.have_rusage;
	if (res.have_rusage)
		r->truth = (uint64_t)res.rusage.ru_majflt;
	if (!res.backend || !res.agg) {
		r->status = V_ERROR;
		snprintf(r->detail, sizeof(r->detail),
			 "probed available but did not run (exit %d; see the error above)",
			 rc ? rc : res.exit_code);
	} else if (res.exit_code != 0) {
		fill_from_agg(c, r, res.agg);
		r->status = V_ERROR;
		snprintf(r->detail, sizeof(r->detail), "the workload exited %d", res.exit_code);
	} else {
		fill_from_agg(c, r, res.agg);
		judge(c, r);
	}
	if (res.agg)
		pfw_agg_free(res.agg);
}

/* the BACKEND and ATTACH columns: as wide as their header or longest value */
static void column_widths(const struct vctx *c, int *wb, int *wa)
{
	size_t b = strlen("BACKEND"), a = strlen("ATTACH");

	for (size_t i = 0; i < c->nr_rows; i++) {
		if (strlen(c->rows[i].backend) > b)
			b = strlen(c->rows[i].backend);
		if (strlen(c->rows[i].attach) > a)
			a = strlen(c->rows[i].attach);
	}
	*wb = (int)b;
	*wa = (int)a;
}

static void print_text(struct vctx *c)
{
	FILE *fp = c->fp;
	int wb, wa;

	column_widths(c, &wb, &wa);
	if (c->bundled)
		fprintf(fp,
			"workload: pfwatch-workload --exact --size=" WL_SIZE
			" --threads=" WL_THREADS " --pattern=" WL_PATTERN ", expected %" PRId64
			" major faults on %s\n\n",
			c->expected, c->data);
	fprintf(fp, "%-*s %-*s %-7s %10s %10s %10s %8s  %s\n", wb, "BACKEND", wa, "ATTACH",
		"RESULT", "MAJOR", "MAJFLT", c->bundled ? "EXPECTED" : "-", "LOST", "DETAIL");
	for (size_t i = 0; i < c->nr_rows; i++) {
		const struct vrow *r = &c->rows[i];
		bool ran = r->status == V_PASS || r->status == V_FAIL;

		fprintf(fp, "%-*s %-*s %-7s ", wb, r->backend, wa, r->attach,
			vstatus_name[r->status]);
		if (ran)
			fprintf(fp, "%10" PRIu64 " %10" PRIu64, r->major, r->truth);
		else
			fprintf(fp, "%10s %10s", "-", "-");
		if (c->bundled)
			fprintf(fp, " %10" PRId64, c->expected);
		else
			fprintf(fp, " %10s", "-");
		if (ran)
			fprintf(fp, " %8" PRIu64 "  ", r->lost);
		else
			fprintf(fp, " %8s  ", "-");
		pfw_fput_text_str(fp, r->detail);
		fputc('\n', fp);
	}

	/* per file: every file any run saw a major fault on, one column per run */
	fprintf(fp, "\nper file (major faults):\n");
	for (size_t i = 0; i < c->nr_rows; i++) {
		const struct vrow *r = &c->rows[i];

		if (r->status != V_PASS && r->status != V_FAIL)
			continue;
		for (size_t j = 0; j < r->nr_files; j++) {
			bool seen = false;

			for (size_t k = 0; k < i && !seen; k++)
				for (size_t m = 0; m < c->rows[k].nr_files; m++)
					if (!strcmp(c->rows[k].files[m].path, r->files[j].path))
						seen = true;
			if (seen)
				continue;
			fprintf(fp, "  ");
			pfw_fput_text_str(fp, r->files[j].path);
			if (c->bundled && !strcmp(r->files[j].path, c->data))
				fprintf(fp, "  (expected %" PRId64 ")", c->expected);
			fputc('\n', fp);
			for (size_t k = i; k < c->nr_rows; k++) {
				const struct vrow *q = &c->rows[k];
				uint64_t v = 0;

				if (q->status != V_PASS && q->status != V_FAIL)
					continue;
				for (size_t m = 0; m < q->nr_files; m++)
					if (!strcmp(q->files[m].path, r->files[j].path))
						v = q->files[m].major;
				fprintf(fp, "    %-*s %-*s %10" PRIu64 "%s\n", wb, q->backend, wa,
					q->attach, v,
					c->bundled && !strcmp(r->files[j].path, c->data)
						? (v == (uint64_t)c->expected ? "  agree"
									      : "  DISAGREE")
						: "");
			}
		}
	}
}

static void print_json_row(struct vctx *c, const struct vrow *r)
{
	FILE *fp = c->fp;
	bool ran = r->status == V_PASS || r->status == V_FAIL;

	fprintf(fp, "{\"record\":\"validate\",\"backend\":");
	pfw_fput_json_str(fp, r->backend);
	fprintf(fp, ",\"attach\":");
	pfw_fput_json_str(fp, r->attach);
	fprintf(fp, ",\"result\":\"%s\",\"exact\":%s", vstatus_name[r->status],
		r->approximate ? "false" : "true");
	if (ran)
		fprintf(fp, ",\"major\":%" PRIu64 ",\"majflt\":%" PRIu64 ",\"lost\":%" PRIu64,
			r->major, r->truth, r->lost);
	else
		fprintf(fp, ",\"major\":null,\"majflt\":null,\"lost\":null");
	if (c->bundled)
		fprintf(fp, ",\"expected\":%" PRId64, c->expected);
	else
		fprintf(fp, ",\"expected\":null");
	fprintf(fp, ",\"files\":[");
	for (size_t j = 0; ran && j < r->nr_files; j++) {
		fprintf(fp, "%s{\"path\":", j ? "," : "");
		pfw_fput_json_str(fp, r->files[j].path);
		fprintf(fp, ",\"major\":%" PRIu64, r->files[j].major);
		if (c->bundled && !strcmp(r->files[j].path, c->data))
			fprintf(fp, ",\"expected\":%" PRId64, c->expected);
		fputc('}', fp);
	}
	fprintf(fp, "],\"detail\":");
	pfw_fput_json_str(fp, r->detail);
	fprintf(fp, "}\n");
}

/**
 * pfw_validate() - pfwatch --validate (SPEC.md).
 * @opts: the parsed command line; its command, if any, replaces the bundled
 *        workload.
 *
 * Return: PFW_EXIT_OK when every run agrees with the ground truth,
 * PFW_EXIT_DISAGREE when one does not (or probed available and then failed),
 * PFW_EXIT_NOBACKEND when nothing could run, PFW_EXIT_RUNTIME on setup errors.
 */
int pfw_validate(const struct pfw_opts *opts)
{
	struct vctx *c = calloc(1, sizeof(*c));
	size_t ran = 0, pass = 0, fail = 0, skip = 0;
	int ret;

	if (!c) {
		pfw_err("--validate: out of memory");
		return PFW_EXIT_RUNTIME;
	}
	c->user = opts;
	c->json = opts->format == PFW_FMT_JSON;
	c->fp = stdout;
	if (opts->output && !(c->fp = fopen(opts->output, "w"))) {
		pfw_err("cannot create '%s': %s; choose another --output", opts->output,
			strerror(errno));
		free(c);
		return PFW_EXIT_RUNTIME;
	}
	if (setup_workload(c) < 0) {
		ret = PFW_EXIT_RUNTIME;
		goto out;
	}

	for (size_t i = 0; pfw_backends[i]; i++) {
		const struct pfw_backend *b = pfw_backends[i];

		/* a backend not built (no open()) has one reason for all its modes */
		if (b->open && b->modes && b->modes[0]) {
			for (size_t m = 0; b->modes[m]; m++)
				run_one(c, b, b->modes[m]);
		} else {
			run_one(c, b, NULL);
		}
	}

	for (size_t i = 0; i < c->nr_rows; i++) {
		switch (c->rows[i].status) {
		case V_PASS:
			ran++;
			pass++;
			break;
		case V_FAIL:
		case V_ERROR:
			ran++;
			fail++;
			break;
		case V_SKIP:
			skip++;
			break;
		}
		if (c->json)
			print_json_row(c, &c->rows[i]);
	}
	if (!c->json)
		print_text(c);

	if (!ran)
		ret = PFW_EXIT_NOBACKEND;
	else if (fail)
		ret = PFW_EXIT_DISAGREE;
	else
		ret = PFW_EXIT_OK;

	if (c->json) {
		fprintf(c->fp,
			"{\"record\":\"validate_summary\",\"runs\":%zu,\"passed\":%zu,"
			"\"failed\":%zu,\"skipped\":%zu,\"expected\":",
			ran, pass, fail, skip);
		if (c->bundled)
			fprintf(c->fp, "%" PRId64, c->expected);
		else
			fprintf(c->fp, "null");
		fprintf(c->fp, ",\"exit_status\":%d}\n", ret);
	} else
		fprintf(c->fp, "\n%zu run, %zu agree, %zu disagree, %zu unavailable: %s\n", ran,
			pass, fail, skip,
			ret == PFW_EXIT_OK	    ? "all backends agree with the ground truth"
			: ret == PFW_EXIT_NOBACKEND ? "no backend could run here"
						    : "backends DISAGREE with the ground truth");
	if (ret == PFW_EXIT_NOBACKEND)
		for (size_t i = 0; i < c->nr_rows; i++)
			pfw_err("%s: %s", c->rows[i].backend, c->rows[i].detail);
out:
	cleanup_workload(c);
	if (c->fp != stdout)
		fclose(c->fp);
	else
		fflush(stdout);
	free(c);
	return ret;
}
