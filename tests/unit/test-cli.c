// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfw_cli_parse(): every malformed value is exit 2 with the exact first
 * stderr line; well-formed but absent targets are exit 1; good command
 * lines parse to the right values.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../tap.h"
#include "cli.h"
#include "opts.h"

#define HINT "Try 'pfwatch --help' for more information."

static char err1[1024], err2[1024], outbuf[16384];

/* parse argv (NULL terminated, without argv[0]); capture stderr and stdout */
static int parse(struct pfw_opts *o, const char *const *args)
{
	char *argv[64];
	int argc = 0, rc, save_err, save_out;
	FILE *ef = tmpfile(), *of = tmpfile();
	size_t n;

	argv[argc++] = (char *)"pfwatch";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	save_err = dup(2);
	save_out = dup(1);
	dup2(fileno(ef), 2);
	dup2(fileno(of), 1);
	rc = pfw_cli_parse(argc, argv, o);
	fflush(stdout);
	fflush(stderr);
	dup2(save_err, 2);
	dup2(save_out, 1);
	close(save_err);
	close(save_out);

	err1[0] = err2[0] = '\0';
	rewind(ef);
	if (fgets(err1, sizeof(err1), ef))
		err1[strcspn(err1, "\n")] = '\0';
	if (fgets(err2, sizeof(err2), ef))
		err2[strcspn(err2, "\n")] = '\0';
	rewind(of);
	n = fread(outbuf, 1, sizeof(outbuf) - 1, of);
	outbuf[n] = '\0';
	fclose(ef);
	fclose(of);
	return rc;
}

struct bad {
	const char *args[8];
	const char *line;
};

/* usage errors: exit 2, this first line, then the --help hint */
static const struct bad bad[] = {
	{{"--bogus", NULL}, "pfwatch: unrecognized option '--bogus'"},
	{{"-x", NULL}, "pfwatch: invalid option -- 'x'"},
	{{"-vx", NULL}, "pfwatch: invalid option -- 'x'"},
	{{"--pid", NULL}, "pfwatch: option '--pid' requires an argument"},
	{{"-p", NULL}, "pfwatch: option requires an argument -- 'p'"},
	{{"--call-graph=yes", NULL}, "pfwatch: option '--call-graph' doesn't allow an argument"},
	{{"--backend=foo", NULL},
	 "pfwatch: invalid --backend 'foo' (choose auto, bpf, perf or ftrace)"},
	{{"-b", "", NULL}, "pfwatch: invalid --backend '' (choose auto, bpf, perf or ftrace)"},
	{{"--bpf-attach=uprobe", NULL},
	 "pfwatch: invalid --bpf-attach 'uprobe' (choose auto, fentry, kprobe, tp or "
	 "kprobe-nobtf)"},
	{{"--bpf-attach=sw-events", NULL},
	 "pfwatch: invalid --bpf-attach 'sw-events' (choose auto, fentry, kprobe, tp or "
	 "kprobe-nobtf)"},
	{{"--ftrace-attach=fprobe", NULL},
	 "pfwatch: invalid --ftrace-attach 'fprobe' (choose auto, graph or events)"},
	{{"--view=tree", NULL},
	 "pfwatch: invalid --view 'tree' (choose events, summary, top, hist, folded, "
	 "callsites or heatmap)"},
	{{"--ftrace-attach=graph", "--ftrace-attach=kprobe", NULL},
	 "pfwatch: invalid --ftrace-attach 'kprobe' (choose auto, graph or events)"},
	{{"-f", "xml", NULL}, "pfwatch: invalid --format 'xml' (choose text, json or csv)"},
	{{"-F", "both", NULL}, "pfwatch: invalid --faults 'both' (choose major, minor or all)"},
	{{"-F", "MAJOR", NULL}, "pfwatch: invalid --faults 'MAJOR' (choose major, minor or all)"},
	{{"-p", "", NULL}, "pfwatch: invalid --pid '': expected PID[,PID...]"},
	{{"-p", "abc", NULL}, "pfwatch: invalid --pid 'abc': 'abc' is not a process id"},
	{{"-p", "1,x,3", NULL}, "pfwatch: invalid --pid '1,x,3': 'x' is not a process id"},
	{{"-p", "1,,3", NULL}, "pfwatch: invalid --pid '1,,3': empty element"},
	{{"-p", "1,", NULL}, "pfwatch: invalid --pid '1,': empty element"},
	{{"-p", "-5", NULL}, "pfwatch: invalid --pid '-5': '-5' is not a process id"},
	{{"-p", "0", NULL}, "pfwatch: invalid --pid '0': '0' is not a process id"},
	{{"-p", " 1", NULL}, "pfwatch: invalid --pid ' 1': ' 1' is not a process id"},
	{{"-p", "99999999999", NULL},
	 "pfwatch: invalid --pid '99999999999': '99999999999' is out of range"},
	{{"-d", "abc", NULL},
	 "pfwatch: invalid --duration 'abc': expected seconds, like 10 or 0.5"},
	{{"-d", "", NULL}, "pfwatch: invalid --duration '': expected seconds, like 10 or 0.5"},
	{{"-d", "-1", NULL}, "pfwatch: invalid --duration '-1': expected seconds, like 10 or 0.5"},
	{{"-d", "1e3", NULL},
	 "pfwatch: invalid --duration '1e3': expected seconds, like 10 or 0.5"},
	{{"-d", "1s", NULL}, "pfwatch: invalid --duration '1s': expected seconds, like 10 or 0.5"},
	{{"-d", ".", NULL}, "pfwatch: invalid --duration '.': expected seconds, like 10 or 0.5"},
	{{"-d", "0", NULL}, "pfwatch: invalid --duration '0': must be greater than 0"},
	{{"-d", "99999999999999999999", NULL},
	 "pfwatch: --duration '99999999999999999999' is out of range"},
	{{"-d", "18446744074", NULL}, "pfwatch: --duration '18446744074' is out of range"},
	{{"--interval=0", NULL}, "pfwatch: invalid --interval '0': must be greater than 0"},
	{{"-i", "0.000", NULL}, "pfwatch: invalid --interval '0.000': must be greater than 0"},
	{{"--svg=x.svg", NULL}, "pfwatch: --svg needs --view=folded or --view=heatmap"},
	{{"--svg=x.svg", "--view=events", NULL},
	 "pfwatch: --svg needs --view=folded or --view=heatmap"},
	{{"--ascii", NULL}, "pfwatch: --ascii needs --view=heatmap"},
	{{"-u", "root", NULL}, "pfwatch: --user needs a COMMAND to run"},
	{{"-u", "", "true", NULL}, "pfwatch: invalid --user '': expected a user name"},
	{{"--list-backends", "--", "true", NULL}, "pfwatch: --list-backends takes no COMMAND"},
	{{"--list-backends", "-p", "1", NULL},
	 "pfwatch: --list-backends cannot be combined with --pid"},
	{{"--list-backends", "--validate", NULL},
	 "pfwatch: --list-backends cannot be combined with --validate"},
	{{"-p", "1", "--", "true", NULL}, "pfwatch: --pid and a COMMAND cannot be combined"},
	{{"--validate", "-p", "1", NULL},
	 "pfwatch: --validate runs its own workload; it cannot take --pid"},
	{{"--input=x.jsonl", "true", NULL},
	 "pfwatch: --input reads a recording; it cannot take a COMMAND"},
	{{"-c", "", NULL}, "pfwatch: invalid --comm '': expected a command name"},
	{{"-c", "0123456789abcdef", NULL},
	 "pfwatch: invalid --comm '0123456789abcdef': the kernel keeps at most 15 bytes of a "
	 "command name"},
	{{"-o", "", NULL}, "pfwatch: invalid --output '': expected a file name"},
	{{"-G", "", NULL}, "pfwatch: invalid --cgroup '': expected a cgroup v2 directory"},
};

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pfw_opts o;
		char name[256];
		int rc = parse(&o, bad[i].args);

		snprintf(name, sizeof(name), "usage error: %s %s", bad[i].args[0],
			 bad[i].args[1] ? bad[i].args[1] : "");
		if (!tap_ok(rc == PFW_EXIT_USAGE && !strcmp(err1, bad[i].line) &&
				    !strcmp(err2, HINT),
			    "%s", name))
			tap_diag("  rc %d, got '%s' / '%s', want '%s'", rc, err1, err2,
				 bad[i].line);
		pfw_cli_free(&o);
	}
}

static void test_good(void)
{
	struct pfw_opts o;
	int rc;

	rc = parse(&o, (const char *[]){NULL});
	tap_ok(rc == -1 && !strcmp(o.backend, "auto") && o.faults == PFW_WANT_MAJOR &&
		       o.view == PFW_VIEW_EVENTS && o.format == PFW_FMT_TEXT &&
		       o.interval_ns == 1000000000ull && !o.command && !err1[0],
	       "defaults");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-d", "0.5", "-i", "2.25", "-F", "all", "--view=hist", "-f",
					"json", "-b", "perf", "-g", "--no-latency", "-vv", NULL});
	tap_ok(rc == -1 && o.duration_ns == 500000000ull && o.interval_ns == 2250000000ull &&
		       o.faults == (PFW_WANT_MAJOR | PFW_WANT_MINOR) && o.view == PFW_VIEW_HIST &&
		       o.format == PFW_FMT_JSON && !strcmp(o.backend, "perf") && o.call_graph &&
		       o.no_latency && o.verbose == 2,
	       "values parse");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-p", "1,2,2", "--pid=3", "-p", "1", NULL});
	tap_ok(rc == -1 && o.nr_pids == 3 && o.pids[0] == 1 && o.pids[1] == 2 && o.pids[2] == 3,
	       "pid lists append across options and drop duplicates");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-F", "minor", "ls", "-l", NULL});
	tap_ok(rc == -1 && o.command && !strcmp(o.command[0], "ls") &&
		       !strcmp(o.command[1], "-l") && !o.command[2] && o.faults == PFW_WANT_MINOR,
	       "the command's own options are not taken");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"--", "-weird", NULL});
	tap_ok(rc == -1 && o.command && !strcmp(o.command[0], "-weird"), "'--' ends options");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"--bpf-attach=kprobe", "--ftrace-attach=events",
					"--view=summary", "-f", "csv", NULL});
	tap_ok(rc == -1 && !strcmp(o.bpf_attach, "kprobe") && !strcmp(o.ftrace_attach, "events") &&
		       o.view == PFW_VIEW_SUMMARY && o.format == PFW_FMT_CSV,
	       "attach modes, view, format");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"--bpf-attach=kprobe-nobtf", "--view=heatmap", "-F", "all",
					NULL});
	tap_ok(rc == -1 && !strcmp(o.bpf_attach, "kprobe-nobtf") && o.view == PFW_VIEW_HEATMAP &&
		       o.faults == (PFW_WANT_MAJOR | PFW_WANT_MINOR),
	       "kprobe-nobtf and heatmap are accepted");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-d", "1.123456789123", NULL});
	tap_is_u64(o.duration_ns, 1123456789ull, "digits beyond ns are ignored");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"--view=folded", "--svg=a.svg", NULL});
	tap_ok(rc == -1 && o.svg && o.view == PFW_VIEW_FOLDED, "--svg with --view=folded");
	pfw_cli_free(&o);
	rc = parse(&o, (const char *[]){"--view=heatmap", "--svg=h.svg", "--ascii", NULL});
	tap_ok(rc == -1 && o.svg && o.ascii && o.view == PFW_VIEW_HEATMAP,
	       "--svg and --ascii with --view=heatmap");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"--help", NULL});
	tap_ok(rc == 0 && !strncmp(outbuf, "Usage:\n pfwatch ", 16) &&
		       strstr(outbuf, "--ftrace-attach") && strstr(outbuf, "Exit status:") &&
		       strstr(outbuf, " perf ") && !err1[0],
	       "--help on stdout, exit 0");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-V", NULL});
	tap_ok(rc == 0 && !strcmp(outbuf, "pfwatch " PACKAGE_VERSION "\n"), "--version");
	pfw_cli_free(&o);
}

/* @s with every run of blanks and newlines one space */
static void squeeze(char *s)
{
	char *o = s;

	for (const char *p = s; *p; p++) {
		bool blank = *p == ' ' || *p == '\n';

		if (blank && o > s && o[-1] == ' ')
			continue;
		*o++ = blank ? ' ' : *p;
	}
	*o = '\0';
}

/*
 * --help names every value of every option that has a fixed set, exactly as
 * the parser's own "choose ..." message lists them (the parser's list comes
 * from the registry, the views and the formats: this keeps --help honest).
 */
static void test_help_lists(void)
{
	static const char *const opts[] = {"backend", "bpf-attach", "ftrace-attach",
					   "faults",  "view",	    "format"};
	static char help[sizeof(outbuf)];
	struct pfw_opts o;

	parse(&o, (const char *[]){"--help", NULL});
	pfw_cli_free(&o);
	snprintf(help, sizeof(help), "%s", outbuf);
	squeeze(help);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		char arg[64], want[512], *list, *end;

		snprintf(arg, sizeof(arg), "--%s=@", opts[i]);
		parse(&o, (const char *[]){arg, NULL});
		pfw_cli_free(&o);
		list = strstr(err1, "(choose ");
		end = list ? strrchr(list, ')') : NULL;
		if (!end) {
			tap_ok(false, "--%s: the error lists the choices", opts[i]);
			tap_diag("  got '%s'", err1);
			continue;
		}
		*end = '\0';
		snprintf(want, sizeof(want), " --%s=", opts[i]); /* not "[--format=" */
		list += strlen("(choose ");
		end = strstr(help, want);
		end = end ? strchr(end + 1, ' ') : NULL; /* past the metavariable */
		if (!tap_ok(end && !strncmp(end + 1, list, strlen(list)) &&
				    (end[1 + strlen(list)] == ' ' || !end[1 + strlen(list)]),
			    "--help names the values of --%s as the parser does: %s", opts[i],
			    list))
			tap_diag("  --help: '%.80s'", end ? end + 1 : "(no such option)");
	}
}

static bool cgroup2_mount(char *buf, size_t len)
{
	char dev[256], dir[4096], type[64];
	bool found = false;
	FILE *fp = fopen("/proc/self/mounts", "r");

	if (!fp)
		return false;
	while (!found && fscanf(fp, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			found = true;
		}
	fclose(fp);
	return found;
}

static void test_runtime(void)
{
	struct pfw_opts o;
	char mnt[4096];
	struct stat st;
	int rc;

	rc = parse(&o, (const char *[]){"-u", "no-such-user-pfw", "--", "true", NULL});
	tap_ok(rc == PFW_EXIT_RUNTIME &&
		       !strcmp(err1, "pfwatch: unknown user 'no-such-user-pfw'") && !err2[0],
	       "unknown user: exit 1, no usage hint");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-u", "root", "--", "true", NULL});
	tap_ok(rc == -1, "-u root resolves");
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-G", "/no/such/cgroup", NULL});
	tap_ok(rc == PFW_EXIT_RUNTIME &&
		       !strncmp(err1, "pfwatch: --cgroup '/no/such/cgroup': no such cgroup under ",
				58),
	       "missing cgroup: exit 1");
	if (rc != PFW_EXIT_RUNTIME)
		tap_diag("  rc %d '%s'", rc, err1);
	pfw_cli_free(&o);

	rc = parse(&o, (const char *[]){"-G", "/tmp", NULL});
	tap_ok(rc == PFW_EXIT_RUNTIME && strstr(err1, "no such cgroup"),
	       "a directory that is no cgroup: exit 1");
	pfw_cli_free(&o);

	if (cgroup2_mount(mnt, sizeof(mnt)) && stat(mnt, &st) == 0) {
		char self[4096] = "", dir[8192];
		struct stat sst;
		FILE *f;

		rc = parse(&o, (const char *[]){"-G", mnt, NULL});
		tap_ok(rc == -1 && o.cgroup_id == (uint64_t)st.st_ino,
		       "cgroup id is the directory's inode");
		pfw_cli_free(&o);
		/* "/" is the root cgroup, as /proc/PID/cgroup writes it, wherever v2 is mounted */
		rc = parse(&o, (const char *[]){"--cgroup", "/", NULL});
		tap_ok(rc == -1 && o.cgroup_id == (uint64_t)st.st_ino && !o.cgroup_v1,
		       "'/' is the v2 root at %s", mnt);
		pfw_cli_free(&o);
		/* this process' own cgroup, given as /proc/self/cgroup shows it */
		f = fopen("/proc/self/cgroup", "r");
		while (f && fgets(dir, sizeof(dir), f))
			if (!strncmp(dir, "0::", 3))
				snprintf(self, sizeof(self), "%.*s", (int)strcspn(dir + 3, "\n"),
					 dir + 3);
		if (f)
			fclose(f);
		snprintf(dir, sizeof(dir), "%s%s", mnt, self);
		if (self[0] == '/' && stat(dir, &sst) == 0) {
			rc = parse(&o, (const char *[]){"--cgroup", self, NULL});
			tap_ok(rc == -1 && o.cgroup_id == (uint64_t)sst.st_ino,
			       "the path /proc/self/cgroup shows (%s)", self);
			pfw_cli_free(&o);
			if (self[1]) {
				rc = parse(&o, (const char *[]){"--cgroup", self + 1, NULL});
				tap_ok(rc == -1 && o.cgroup_id == (uint64_t)sst.st_ino,
				       "the same without the leading slash");
				pfw_cli_free(&o);
			} else {
				tap_skip("this process is in the root cgroup: no relative form");
			}
		} else {
			tap_skip("no cgroup v2 line in /proc/self/cgroup under %s", mnt);
			tap_skip("no cgroup v2 line in /proc/self/cgroup under %s", mnt);
		}
	} else {
		for (int i = 0; i < 4; i++)
			tap_skip("no cgroup2 mount");
	}
}

static void test_seconds(void)
{
	uint64_t ns = 0;

	tap_ok(pfw_parse_seconds("18446744073", &ns) == 0 && ns == 18446744073000000000ull,
	       "largest whole seconds");
	tap_ok(pfw_parse_seconds("18446744073.709551615", &ns) == 0 && ns == UINT64_MAX,
	       "the very last nanosecond");
	tap_ok(pfw_parse_seconds("18446744073.709551616", &ns) == -ERANGE, "one ns too many");
	tap_ok(pfw_parse_seconds(".5", &ns) == 0 && ns == 500000000ull, "'.5'");
	tap_ok(pfw_parse_seconds("2.", &ns) == 0 && ns == 2000000000ull, "'2.'");
	tap_ok(pfw_parse_seconds("+1", &ns) == -EINVAL, "no sign");
	tap_ok(pfw_parse_seconds("1.2.3", &ns) == -EINVAL, "one dot");
}

int main(void)
{
	test_bad();
	test_good();
	test_help_lists();
	test_runtime();
	test_seconds();
	return tap_done();
}
