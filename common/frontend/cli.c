// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line parsing, util-linux style: getopt_long, --help on stdout,
 * every other complaint one line on stderr plus the --help hint, exit 2.
 * Values are checked strictly here, so the rest of pfwatch never sees a
 * half-parsed number.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "backend.h"
#include "cgroup.h"
#include "cli.h"
#include "event.h"
#include "log.h"
#include "output.h"
#include "serve.h"

/* long-only options */
enum {
	OPT_BPF_ATTACH = 0x100,
	OPT_FTRACE_ATTACH,
	OPT_VIEW,
	OPT_NO_LATENCY,
	OPT_LIST_BACKENDS,
	OPT_VALIDATE,
	OPT_INPUT,
	OPT_SVG,
	OPT_ASCII,
	OPT_SERVE,
	OPT_METRICS_FILE,
	OPT_TOP_FILES,
	OPT_MAX_COMMS,
	OPT_MAX_CGROUPS,
	OPT_LABEL_TTL,
};

static const struct option longopts[] = {
	{"backend", required_argument, NULL, 'b'},
	{"bpf-attach", required_argument, NULL, OPT_BPF_ATTACH},
	{"ftrace-attach", required_argument, NULL, OPT_FTRACE_ATTACH},
	{"pid", required_argument, NULL, 'p'},
	{"cgroup", required_argument, NULL, 'G'},
	{"comm", required_argument, NULL, 'c'},
	{"faults", required_argument, NULL, 'F'},
	{"view", required_argument, NULL, OPT_VIEW},
	{"format", required_argument, NULL, 'f'},
	{"output", required_argument, NULL, 'o'},
	{"duration", required_argument, NULL, 'd'},
	{"interval", required_argument, NULL, 'i'},
	{"call-graph", no_argument, NULL, 'g'},
	{"no-latency", no_argument, NULL, OPT_NO_LATENCY},
	{"list-backends", no_argument, NULL, OPT_LIST_BACKENDS},
	{"validate", no_argument, NULL, OPT_VALIDATE},
	{"input", required_argument, NULL, OPT_INPUT},
	{"svg", required_argument, NULL, OPT_SVG},
	{"ascii", no_argument, NULL, OPT_ASCII},
	{"serve", optional_argument, NULL, OPT_SERVE},
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
	{"top-files", required_argument, NULL, OPT_TOP_FILES},
	{"max-comms", required_argument, NULL, OPT_MAX_COMMS},
	{"max-cgroups", required_argument, NULL, OPT_MAX_CGROUPS},
	{"label-ttl", required_argument, NULL, OPT_LABEL_TTL},
	{"user", required_argument, NULL, 'u'},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/*
 * '+': stop at the first non-option, so "pfwatch ls -l" traces "ls -l"
 * instead of taking -l for itself. ':': report a missing argument as ':'.
 */
static const char shortopts[] = "+:b:p:G:c:F:f:o:d:i:gu:vqhV";

static __attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "pfwatch: %s\nTry 'pfwatch --help' for more information.\n", buf);
	return PFW_EXIT_USAGE;
}

void pfw_cli_usage(FILE *fp)
{
	fputs("Usage:\n"
	      " pfwatch [options] [--] [COMMAND [ARG]...]\n"
	      " pfwatch --list-backends [--format=text|json|csv]\n"
	      " pfwatch --validate [options] [-- COMMAND [ARG]...]\n"
	      "\n"
	      "Trace page faults, above all major faults: which process, thread, file,\n"
	      "file offset, call site and wait time lies behind each one.\n"
	      "\n"
	      "Target (default: the whole system):\n"
	      " COMMAND                   run COMMAND, trace it and all it forks and clones\n"
	      " -p, --pid=PID[,PID...]    trace these processes and all their threads\n"
	      " -u, --user=USER           run COMMAND as USER\n"
	      " -G, --cgroup=PATH         only tasks in this cgroup: the path\n"
	      "                             /proc/PID/cgroup shows, or a cgroupfs directory\n"
	      " -c, --comm=NAME           only threads whose command name is NAME\n"
	      "\n"
	      "Tracing:\n"
	      " -b, --backend=NAME        auto, bpf, perf or ftrace (default: auto)\n"
	      "     --bpf-attach=MODE     auto, fentry, kprobe, tp or kprobe-nobtf\n"
	      "                             (default: auto)\n"
	      "     --ftrace-attach=MODE  auto, graph or events (default: auto)\n"
	      " -F, --faults=KIND         major, minor or all (default: major)\n"
	      " -d, --duration=SECONDS    stop after this long (fractions allowed: 0.5)\n"
	      " -g, --call-graph          capture user stacks (perf, bpf), symbolized with libdw\n"
	      "     --no-latency          skip latency measurement where it costs extra\n"
	      "\n"
	      "Output:\n"
	      "     --view=VIEW           events, summary, top, hist, folded, callsites or\n"
	      "                             heatmap (default: events); hist -v adds one per\n"
	      "                             file; heatmap: major faults by time and offset\n"
	      " -f, --format=FORMAT       text, json or csv (default: text); json: JSON Lines\n"
	      " -o, --output=FILE         write to FILE instead of standard output\n"
	      " -i, --interval=SECONDS    refresh period of periodic views (default: 1)\n"
	      "     --svg=FILE            with --view=folded: also write a flame graph;\n"
	      "                             with --view=heatmap: the heatmaps as SVG\n"
	      "     --ascii               the heatmap in plain ASCII (the default off a terminal)\n"
	      "     --input=FILE          show any view of a JSON Lines recording (--format=json)\n"
	      "\n"
	      "Fleet mode (an exporter for Prometheus; runs until SIGTERM/SIGINT):\n"
	      "     --serve[=ADDR:PORT]   serve /metrics over HTTP (default: " PFW_SERVE_DEFAULT
	      ")\n"
	      "     --metrics-file=PATH   write the metrics there atomically every --interval\n"
	      "                             (node_exporter's textfile collector)\n"
	      "     --top-files=N         file label values, the rest in [other] (default: 20)\n"
	      "     --max-comms=N         command name label values (default: 20)\n"
	      "     --max-cgroups=N       cgroup label values (default: 20)\n"
	      "     --label-ttl=SECONDS   forget a label value idle this long (default: 300)\n"
	      "\n"
	      "Other:\n"
	      "     --list-backends       probe every backend, print the table and exit\n"
	      "     --validate            run the workload under every available backend\n"
	      "                             and compare with the kernel's own counters\n"
	      " -v, --verbose             say more (backend choice, attach modes, limits)\n"
	      " -q, --quiet               say less\n"
	      " -h, --help                display this help\n"
	      " -V, --version             display version\n"
	      "\n"
	      "Backends (tried in this order by --backend=auto):\n",
	      fp);
	for (size_t i = 0; pfw_backends[i]; i++)
		fprintf(fp, " %-8s %s\n", pfw_backends[i]->name,
			pfw_backends[i]->help ? pfw_backends[i]->help : "");
	fputs("\n"
	      "Exit status:\n"
	      " COMMAND's exit status when one is given (128+N if it died of signal N,\n"
	      " 126 if it cannot be executed, 127 if it is not found); otherwise\n"
	      " 0  success\n"
	      " 1  runtime error (no such pid or cgroup, output cannot be created, ...)\n"
	      " 2  usage error\n"
	      " 3  no backend can run here (the reasons are printed)\n"
	      " 4  --validate: the backends disagree with the ground truth\n"
	      "\n"
	      "For more details see pfwatch(8).\n",
	      fp);
}

int pfw_parse_seconds(const char *s, uint64_t *ns)
{
	uint64_t sec = 0, frac = 0, scale = 100000000;
	const char *p = s;
	bool digits = false;

	for (; *p >= '0' && *p <= '9'; p++) {
		digits = true;
		if (sec > (UINT64_MAX / 1000000000 - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		/* digits beyond nanoseconds are accepted and ignored */
		for (p++; *p >= '0' && *p <= '9'; p++) {
			digits = true;
			frac += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	if (!digits || *p)
		return -EINVAL;
	if (sec * 1000000000 > UINT64_MAX - frac)
		return -ERANGE;
	*ns = sec * 1000000000 + frac;
	return 0;
}

static int parse_duration(const char *opt, const char *arg, uint64_t *ns)
{
	int r = pfw_parse_seconds(arg, ns);

	if (r == -ERANGE)
		return usage_error("--%s '%s' is out of range", opt, arg);
	if (r)
		return usage_error("invalid --%s '%s': expected seconds, like 10 or 0.5", opt, arg);
	if (!*ns)
		return usage_error("invalid --%s '%s': must be greater than 0", opt, arg);
	return -1;
}

/* a label bound: 1..10000 values (each is a series in every scrape) */
static int parse_bound(const char *opt, const char *arg, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (!*arg || *end || arg[0] == '-' || arg[0] == '+' || errno || n < 1 || n > 10000)
		return usage_error("invalid --%s '%s': expected a number from 1 to 10000", opt,
				   arg);
	*v = (unsigned)n;
	return -1;
}

/* "1,2,3": positive pids; appends to o->pids, dropping duplicates */
static int parse_pids(const char *arg, struct pfw_opts *o)
{
	const char *p = arg;

	if (!*arg)
		return usage_error("invalid --pid '': expected PID[,PID...]");
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		long long v = 0;
		bool dup = false;

		if (!len)
			return usage_error("invalid --pid '%s': empty element", arg);
		for (size_t i = 0; i < len; i++) {
			if (p[i] < '0' || p[i] > '9')
				return usage_error("invalid --pid '%s': '%.*s' is not a process id",
						   arg, (int)len, p);
			v = v * 10 + (p[i] - '0');
			if (v > INT_MAX)
				return usage_error("invalid --pid '%s': '%.*s' is out of range",
						   arg, (int)len, p);
		}
		if (v == 0)
			return usage_error("invalid --pid '%s': '%.*s' is not a process id", arg,
					   (int)len, p);
		for (size_t i = 0; i < o->nr_pids; i++)
			dup |= o->pids[i] == (pid_t)v;
		if (!dup) {
			pid_t *n = realloc(o->pids, (o->nr_pids + 1) * sizeof(*n));

			if (!n) {
				pfw_err("out of memory");
				return PFW_EXIT_RUNTIME;
			}
			o->pids = n;
			o->pids[o->nr_pids++] = (pid_t)v;
		}
		if (!end)
			return -1;
		p = end + 1;
	}
}

/*
 * The values an option takes, each with what it means, taken from the tables
 * that implement them (the registry, the views, the formats): the parser
 * accepts exactly these and its "choose ..." message lists exactly these.
 */
#define MAX_CHOICES 16

struct choices {
	const char *name[MAX_CHOICES];
	int value[MAX_CHOICES];
	size_t n;
};

static void add_choice(struct choices *c, const char *name, int value)
{
	if (name && c->n < MAX_CHOICES) {
		c->name[c->n] = name;
		c->value[c->n++] = value;
	}
}

/* --backend: auto, then the registry in preference order (value: index + 1) */
static void backend_choices(struct choices *c)
{
	add_choice(c, "auto", 0);
	for (size_t i = 0; pfw_backends[i]; i++)
		add_choice(c, pfw_backends[i]->name, (int)i + 1);
}

/* --bpf-attach, --ftrace-attach: auto, then the backend's own modes */
static void mode_choices(struct choices *c, const struct pfw_backend *b)
{
	add_choice(c, "auto", 0);
	for (size_t i = 0; b->modes && b->modes[i]; i++)
		add_choice(c, b->modes[i], (int)i + 1);
}

static void view_choices(struct choices *c)
{
	for (int v = 0; v < PFW_VIEW_NR; v++) {
		const struct pfw_view *view = pfw_view_of((enum pfw_view_id)v);

		add_choice(c, view ? view->name : NULL, v);
	}
}

static void format_choices(struct choices *c)
{
	for (int f = 0; f < PFW_FMT_NR; f++)
		add_choice(c, pfw_format_get(f)->name, f);
}

static void fault_choices(struct choices *c)
{
	add_choice(c, "major", PFW_WANT_MAJOR);
	add_choice(c, "minor", PFW_WANT_MINOR);
	add_choice(c, "all", PFW_WANT_MAJOR | PFW_WANT_MINOR);
}

/* @arg's index in @c, or -1 after the usage error that lists them all */
static int pick(const char *opt, const char *arg, const struct choices *c)
{
	char list[384];
	size_t len = 0;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(arg, c->name[i]))
			return (int)i;
	list[0] = '\0';
	for (size_t i = 0; i < c->n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					!i		? ""
					: i + 1 == c->n ? " or "
							: ", ",
					c->name[i]);
	usage_error("invalid --%s '%s' (choose %s)", opt, arg, list);
	return -1;
}

/*
 * --cgroup: the path /proc/PID/cgroup shows, or a cgroupfs directory. The
 * id backends filter on is the directory's inode (for v2, what
 * bpf_get_current_cgroup_id() returns since 4.18).
 */
static int resolve_cgroup(struct pfw_opts *o)
{
	char *arg = (char *)o->cgroup; /* strdup()ed by the parser, replaced by the directory */
	char *dir = NULL, err[512];
	enum pfw_cgroup_kind kind;
	int r;

	r = pfw_cgroup_resolve(arg, &dir, &o->cgroup_id, &kind, err, sizeof(err));
	if (r) {
		pfw_err("--cgroup '%s': %s", arg, err);
		return PFW_EXIT_RUNTIME;
	}
	o->cgroup = dir;
	o->cgroup_v1 = kind == PFW_CGROUP_V1_PERF;
	pfw_info(1, "--cgroup '%s': %s (cgroup %s, id %llu)", arg, dir,
		 o->cgroup_v1 ? "v1 perf_event" : "v2", (unsigned long long)o->cgroup_id);
	free(arg);
	return -1;
}

static int check_user(const char *user)
{
	char *end;
	unsigned long uid;

	errno = 0;
	if (getpwnam(user))
		return -1;
	/* a numeric uid that has a passwd entry, as su and sudo accept */
	uid = strtoul(user, &end, 10);
	if (*user && !*end && uid <= UINT32_MAX && getpwuid((uid_t)uid))
		return -1;
	pfw_err("unknown user '%s'", user);
	return PFW_EXIT_RUNTIME;
}

/* the name of the option in argv[optind - 1] as the user wrote it */
static int bad_option(char **argv, int optind_, int c)
{
	const char *arg = argv[optind_ - 1];

	if (c == ':' && strncmp(arg, "--", 2) && optopt && optopt < 0x100)
		return usage_error("option requires an argument -- '%c'", optopt);
	if (c == ':')
		return usage_error("option '%s' requires an argument", arg);
	if (optopt && optopt < 0x100 && strncmp(arg, "--", 2))
		return usage_error("invalid option -- '%c'", optopt);
	if (!strncmp(arg, "--", 2) && strchr(arg, '=')) {
		size_t len = (size_t)(strchr(arg, '=') - arg - 2);

		for (const struct option *lo = longopts; lo->name; lo++)
			if (lo->has_arg == no_argument && strlen(lo->name) == len &&
			    !strncmp(lo->name, arg + 2, len))
				return usage_error("option '--%s' doesn't allow an argument",
						   lo->name);
	}
	return usage_error("unrecognized option '%s'", arg);
}

int pfw_cli_parse(int argc, char **argv, struct pfw_opts *o)
{
	struct choices backends = {0}, bpf_modes = {0}, ftrace_modes = {0}, faults = {0};
	struct choices views = {0}, formats = {0};
	bool have_view = false;
	int c, r;

	backend_choices(&backends);
	mode_choices(&bpf_modes, &pfw_backend_bpf);
	mode_choices(&ftrace_modes, &pfw_backend_ftrace);
	fault_choices(&faults);
	view_choices(&views);
	format_choices(&formats);

	memset(o, 0, sizeof(*o));
	o->backend = "auto";
	o->bpf_attach = "auto";
	o->ftrace_attach = "auto";
	o->faults = PFW_WANT_MAJOR;
	o->view = PFW_VIEW_EVENTS;
	o->format = PFW_FMT_TEXT;
	o->interval_ns = 1000000000ull;
	o->top_files = 20;
	o->max_comms = 20;
	o->max_cgroups = 20;
	o->label_ttl_ns = 300000000000ull;

	opterr = 0;
	optind = 0; /* 0: full reinitialisation in glibc, the tests parse many times */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			r = pick("backend", optarg, &backends);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->backend = backends.name[r];
			break;
		case OPT_BPF_ATTACH:
			r = pick("bpf-attach", optarg, &bpf_modes);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->bpf_attach = optarg;
			break;
		case OPT_FTRACE_ATTACH:
			r = pick("ftrace-attach", optarg, &ftrace_modes);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->ftrace_attach = optarg;
			break;
		case 'p':
			r = parse_pids(optarg, o);
			if (r >= 0)
				return r;
			break;
		case 'G':
			if (!*optarg)
				return usage_error("invalid --cgroup '': expected a cgroup v2 "
						   "directory");
			free((char *)o->cgroup);
			o->cgroup = strdup(optarg);
			break;
		case 'c':
			if (!*optarg)
				return usage_error("invalid --comm '': expected a command name");
			/* TASK_COMM_LEN is 16 with the NUL: a longer name never matches */
			if (strlen(optarg) >= PFW_COMM_LEN)
				return usage_error("invalid --comm '%s': the kernel keeps at "
						   "most %d bytes of a command name",
						   optarg, PFW_COMM_LEN - 1);
			o->comm = optarg;
			break;
		case 'F':
			r = pick("faults", optarg, &faults);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->faults = (unsigned)faults.value[r];
			break;
		case OPT_VIEW:
			r = pick("view", optarg, &views);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->view = (enum pfw_view_id)views.value[r];
			have_view = true;
			break;
		case 'f':
			r = pick("format", optarg, &formats);
			if (r < 0)
				return PFW_EXIT_USAGE;
			o->format = (enum pfw_format_id)formats.value[r];
			break;
		case 'o':
			if (!*optarg)
				return usage_error("invalid --output '': expected a file name");
			o->output = optarg;
			break;
		case 'd':
			r = parse_duration("duration", optarg, &o->duration_ns);
			if (r >= 0)
				return r;
			break;
		case 'i':
			r = parse_duration("interval", optarg, &o->interval_ns);
			if (r >= 0)
				return r;
			break;
		case 'g':
			o->call_graph = true;
			break;
		case OPT_NO_LATENCY:
			o->no_latency = true;
			break;
		case OPT_LIST_BACKENDS:
			o->list_backends = true;
			break;
		case OPT_VALIDATE:
			o->validate = true;
			break;
		case OPT_INPUT:
			if (!*optarg)
				return usage_error("invalid --input '': expected a file name");
			o->input = optarg;
			break;
		case OPT_SVG:
			if (!*optarg)
				return usage_error("invalid --svg '': expected a file name");
			o->svg = optarg;
			break;
		case OPT_ASCII:
			o->ascii = true;
			break;
		case OPT_SERVE: {
			char host[256], port[8];

			o->serve = optarg ? optarg : PFW_SERVE_DEFAULT;
			if (pfw_serve_parse_addr(o->serve, host, sizeof(host), port, sizeof(port)) <
			    0)
				return usage_error("invalid --serve '%s': expected ADDR:PORT, "
						   "e.g. %s or [::1]:9412",
						   o->serve, PFW_SERVE_DEFAULT);
			break;
		}
		case OPT_METRICS_FILE:
			if (!*optarg)
				return usage_error("invalid --metrics-file '': expected a file "
						   "name");
			o->metrics_file = optarg;
			break;
		case OPT_TOP_FILES:
		case OPT_MAX_COMMS:
		case OPT_MAX_CGROUPS:
			r = parse_bound(c == OPT_TOP_FILES   ? "top-files"
					: c == OPT_MAX_COMMS ? "max-comms"
							     : "max-cgroups",
					optarg,
					c == OPT_TOP_FILES   ? &o->top_files
					: c == OPT_MAX_COMMS ? &o->max_comms
							     : &o->max_cgroups);
			if (r >= 0)
				return r;
			break;
		case OPT_LABEL_TTL:
			r = parse_duration("label-ttl", optarg, &o->label_ttl_ns);
			if (r >= 0)
				return r;
			break;
		case 'u':
			if (!*optarg)
				return usage_error("invalid --user '': expected a user name");
			o->user = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			pfw_cli_usage(stdout);
			return PFW_EXIT_OK;
		case 'V':
			printf("pfwatch %s\n", PACKAGE_VERSION);
			return PFW_EXIT_OK;
		default:
			return bad_option(argv, optind, c);
		}
	}
	if (optind < argc)
		o->command = &argv[optind];

	if (o->list_backends) {
		if (o->command)
			return usage_error("--list-backends takes no COMMAND");
		if (o->nr_pids || o->validate || o->input)
			return usage_error("--list-backends cannot be combined with %s",
					   o->nr_pids	 ? "--pid"
					   : o->validate ? "--validate"
							 : "--input");
	}
	if (o->nr_pids && o->command)
		return usage_error("--pid and a COMMAND cannot be combined");
	if (o->validate && o->nr_pids)
		return usage_error("--validate runs its own workload; it cannot take --pid");
	if (o->validate && o->input)
		return usage_error("--validate cannot be combined with --input");
	if (o->input && (o->command || o->nr_pids || o->cgroup))
		return usage_error("--input reads a recording; it cannot take %s",
				   o->command	? "a COMMAND"
				   : o->nr_pids ? "--pid"
						: "--cgroup");
	if (o->user && !o->command)
		return usage_error("--user needs a COMMAND to run");
	if (o->svg && (!have_view || (o->view != PFW_VIEW_FOLDED && o->view != PFW_VIEW_HEATMAP)))
		return usage_error("--svg needs --view=folded or --view=heatmap");
	if (o->ascii && (!have_view || o->view != PFW_VIEW_HEATMAP))
		return usage_error("--ascii needs --view=heatmap");
	if (o->serve || o->metrics_file) {
		const char *what = o->serve ? "--serve" : "--metrics-file";

		if (o->validate || o->input || o->list_backends || have_view)
			return usage_error("%s exports metrics; it cannot be combined with %s",
					   what,
					   o->validate ? "--validate"
					   : o->input  ? "--input"
					   : have_view ? "--view"
						       : "--list-backends");
	}

	pfw_verbose = o->verbose;
	pfw_quiet = o->quiet;

	/* well-formed but possibly absent targets: runtime errors */
	if (o->cgroup) {
		r = resolve_cgroup(o);
		if (r >= 0)
			return r;
	}
	if (o->user) {
		r = check_user(o->user);
		if (r >= 0)
			return r;
	}
	return -1;
}

void pfw_cli_free(struct pfw_opts *o)
{
	free(o->pids);
	free((char *)o->cgroup);
	o->pids = NULL;
	o->nr_pids = 0;
	o->cgroup = NULL;
}
