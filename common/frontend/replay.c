// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --input (replay.h). Only the fault records and the run record are read:
 * the thread, file and hist records of a recording are derived from its
 * faults, so recomputing them from the faults reproduces them exactly and
 * lets --faults and --comm filter a recording like a live run. Nothing is
 * looked up on this machine: the recorded comm, path and symbolized frames
 * are the truth (a pid in a recording is not a pid here).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "log.h"
#include "maps.h"
#include "output.h"
#include "replay.h"
#include "backing.h"
#include "session.h"
#include "symbolize.h"

struct jp {
	const char *p, *end;
	bool bad;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static bool eat(struct jp *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A JSON string into @buf (NUL terminated). pfw_fput_json_str() writes an
 * invalid byte as \u00XX of its Latin-1 value while valid U+00A0..U+00FF
 * pass through raw, so \u00a0..\u00ff here is the original byte; C1 code
 * points (\u0080..\u009f) were valid UTF-8 and are re-encoded as such.
 * Returns false on malformed input or when @size is too small.
 */
static bool str(struct jp *j, char *buf, size_t size)
{
	size_t n = 0;

	if (!eat(j, '"'))
		return false;
	while (j->p < j->end && *j->p != '"') {
		char c = *j->p++;
		char tmp[4];
		size_t l = 1;

		tmp[0] = c;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = *j->p++;
			switch (c) {
			case 'n':
				tmp[0] = '\n';
				break;
			case 't':
				tmp[0] = '\t';
				break;
			case 'r':
				tmp[0] = '\r';
				break;
			case 'b':
				tmp[0] = '\b';
				break;
			case 'f':
				tmp[0] = '\f';
				break;
			case 'u': {
				unsigned cp = 0;

				if (j->end - j->p < 4)
					return false;
				for (int i = 0; i < 4; i++) {
					int h = hexval(j->p[i]);

					if (h < 0)
						return false;
					cp = cp * 16 + (unsigned)h;
				}
				j->p += 4;
				if (cp >= 0xa0 && cp <= 0xff)
					tmp[0] = (char)cp;
				else
					l = put_utf8(tmp, cp);
				break;
			}
			default:
				tmp[0] = c; /* \" \\ \/ */
			}
		}
		if (n + l >= size)
			return false;
		memcpy(buf + n, tmp, l);
		n += l;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	buf[n] = '\0';
	return true;
}

static bool null(struct jp *j)
{
	ws(j);
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
		j->p += 4;
		return true;
	}
	return false;
}

static bool num(struct jp *j, int64_t *v)
{
	char *e;

	ws(j);
	if (j->p >= j->end)
		return false;
	errno = 0;
	if (*j->p == '-')
		*v = strtoll(j->p, &e, 10);
	else
		*v = (int64_t)strtoull(j->p, &e, 10);
	if (e == j->p || errno)
		return false;
	j->p = e;
	return true;
}

/* skip any value (strings, numbers, literals, arrays, objects) */
static bool skip(struct jp *j)
{
	static char scratch[65536];
	int64_t v;

	ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return str(j, scratch, sizeof(scratch));
	case '{':
	case '[': {
		char close = *j->p == '{' ? '}' : ']';

		j->p++;
		if (eat(j, close))
			return true;
		do {
			if (close == '}' && (!str(j, scratch, sizeof(scratch)) || !eat(j, ':')))
				return false;
			if (!skip(j))
				return false;
		} while (eat(j, ','));
		return eat(j, close);
	}
	case 't':
	case 'f':
		while (j->p < j->end && *j->p >= 'a' && *j->p <= 'z')
			j->p++;
		return true;
	case 'n':
		return null(j);
	default:
		if (num(j, &v))
			return true;
		/* a fraction or exponent: never written by pfwatch, still valid JSON */
		while (j->p < j->end && strchr("0123456789.eE+-", *j->p))
			j->p++;
		return true;
	}
}

static bool hex(const char *s, uint64_t *v)
{
	char *e;

	if (strncmp(s, "0x", 2))
		return false;
	errno = 0;
	*v = strtoull(s + 2, &e, 16);
	return !*e && !errno;
}

/* a string or null into @out (interned); false when malformed */
static bool opt_str(struct jp *j, char *buf, size_t size, const char **out)
{
	if (null(j)) {
		*out = NULL;
		return true;
	}
	if (!str(j, buf, size))
		return false;
	*out = pfw_sym_intern(buf);
	return *out != NULL;
}

static bool frame(struct jp *j, struct pfw_frame *f, char *buf, size_t size)
{
	char key[32];
	int64_t v;

	memset(f, 0, sizeof(*f));
	if (!eat(j, '{'))
		return false;
	if (eat(j, '}'))
		return true;
	do {
		if (!str(j, key, sizeof(key)) || !eat(j, ':'))
			return false;
		if (!strcmp(key, "ip")) {
			if (!str(j, buf, size) || !hex(buf, &f->ip))
				return false;
		} else if (!strcmp(key, "sym")) {
			if (!opt_str(j, buf, size, &f->sym))
				return false;
			if (f->sym) {
				/* "name+0x1f" -> "name" for the views that group by function */
				char *plus = strrchr(buf, '+');

				if (plus && plus != buf && !strncmp(plus, "+0x", 3))
					*plus = '\0';
				f->func = pfw_sym_intern(buf);
			}
		} else if (!strcmp(key, "obj")) {
			if (!opt_str(j, buf, size, &f->obj))
				return false;
		} else if (!strcmp(key, "file")) {
			if (!opt_str(j, buf, size, &f->src))
				return false;
		} else if (!strcmp(key, "line")) {
			if (!null(j)) {
				if (!num(j, &v) || v < 0 || v > UINT32_MAX)
					return false;
				f->line = (uint32_t)v;
			}
		} else if (!skip(j)) {
			return false;
		}
	} while (eat(j, ','));
	return eat(j, '}');
}

struct run_rec {
	bool seen;
	const char *backend, *attach, *kernel, *limits;
	uint64_t duration_ns, lost;
	int exit_status;
};

struct rec {
	char kind[16];
	struct pfw_event ev;
	uint64_t ips[PFW_MAX_STACK];
	struct pfw_frame fr[PFW_MAX_STACK];
	size_t nr_fr;
	bool has_stack;
	struct run_rec run;
	const char *cgroup; /* a thread record's */
};

/* one line; false when it is not a JSON object pfwatch could have written */
static bool parse_line(struct pfw_maps *maps, const char *line, size_t len, struct rec *r)
{
	static char buf[16384];
	struct jp j = {.p = line, .end = line + len};
	struct pfw_event *ev = &r->ev;
	char key[64];
	int64_t v;

	memset(r, 0, offsetof(struct rec, ips));
	r->nr_fr = 0;
	r->has_stack = false;
	memset(&r->run, 0, sizeof(r->run));
	r->cgroup = NULL;
	if (!eat(&j, '{'))
		return false;
	if (eat(&j, '}'))
		return true;
	do {
		if (!str(&j, key, sizeof(key)) || !eat(&j, ':'))
			return false;
		if (!strcmp(key, "record")) {
			if (!str(&j, r->kind, sizeof(r->kind)))
				return false;
		} else if (!strcmp(key, "time_ns")) {
			if (!num(&j, &v))
				return false;
			ev->time_ns = (uint64_t)v;
		} else if (!strcmp(key, "pid") || !strcmp(key, "tid")) {
			if (!num(&j, &v))
				return false;
			*(key[0] == 'p' ? &ev->pid : &ev->tid) = (int32_t)v;
		} else if (!strcmp(key, "comm")) {
			if (!null(&j)) {
				if (!str(&j, buf, sizeof(buf)))
					return false;
				snprintf(ev->comm, PFW_COMM_LEN, "%.*s", PFW_COMM_LEN - 1, buf);
				ev->flags |= PFW_EV_COMM;
			}
		} else if (!strcmp(key, "kind")) {
			if (!str(&j, buf, sizeof(buf)))
				return false;
			if (!strcmp(buf, "major"))
				ev->kind = PFW_MAJOR;
			else if (!strcmp(buf, "minor"))
				ev->kind = PFW_MINOR;
			else
				return false;
		} else if (!strcmp(key, "addr") || !strcmp(key, "ip")) {
			bool is_ip = key[0] == 'i';

			if (!null(&j)) {
				if (!str(&j, buf, sizeof(buf)) ||
				    !hex(buf, is_ip ? &ev->ip : &ev->addr))
					return false;
				ev->flags |= is_ip ? PFW_EV_IP : PFW_EV_ADDR;
			}
		} else if (!strcmp(key, "path")) {
			if (!null(&j)) {
				if (!str(&j, buf, sizeof(buf)))
					return false;
				ev->path = pfw_maps_intern(maps, buf);
			}
		} else if (!strcmp(key, "inode")) {
			if (!null(&j)) {
				if (!num(&j, &v))
					return false;
				ev->inode = (uint64_t)v;
				ev->flags |= PFW_EV_FILE;
			}
		} else if (!strcmp(key, "dev")) {
			if (!null(&j)) {
				unsigned ma, mi;

				if (!str(&j, buf, sizeof(buf)) ||
				    sscanf(buf, "%u:%u", &ma, &mi) != 2)
					return false;
				ev->dev_major = ma;
				ev->dev_minor = mi;
			}
		} else if (!strcmp(key, "offset")) {
			if (!null(&j)) {
				if (!num(&j, &v))
					return false;
				ev->offset = (uint64_t)v;
			}
		} else if (!strcmp(key, "backing")) {
			if (!null(&j)) {
				if (!str(&j, buf, sizeof(buf)))
					return false;
				for (int b = 1; b < PFW_BACKING_NR; b++)
					if (!strcmp(buf, pfw_backing_name((enum pfw_backing)b)))
						ev->backing = (enum pfw_backing)b;
			}
		} else if (!strcmp(key, "latency_ns")) {
			if (!null(&j)) {
				if (!num(&j, &v))
					return false;
				ev->latency_ns = (uint64_t)v;
				ev->flags |= PFW_EV_LATENCY;
			}
		} else if (!strcmp(key, "stack")) {
			r->has_stack = true;
			if (!eat(&j, '['))
				return false;
			if (!eat(&j, ']')) {
				do {
					struct pfw_frame f;

					if (!frame(&j, &f, buf, sizeof(buf)))
						return false;
					if (r->nr_fr < PFW_MAX_STACK) {
						r->ips[r->nr_fr] = f.ip;
						r->fr[r->nr_fr++] = f;
					}
				} while (eat(&j, ','));
				if (!eat(&j, ']'))
					return false;
			}
		} else if (!strcmp(key, "cgroup")) {
			if (!opt_str(&j, buf, sizeof(buf), &r->cgroup))
				return false;
		} else if (!strcmp(key, "backend") || !strcmp(key, "attach") ||
			   !strcmp(key, "kernel") || !strcmp(key, "limits")) {
			const char *sv;

			if (!opt_str(&j, buf, sizeof(buf), &sv))
				return false;
			if (key[0] == 'b')
				r->run.backend = sv;
			else if (key[0] == 'a')
				r->run.attach = sv;
			else if (key[0] == 'k')
				r->run.kernel = sv;
			else
				r->run.limits = sv;
		} else if (!strcmp(key, "duration_ns") || !strcmp(key, "lost") ||
			   !strcmp(key, "exit_status")) {
			if (!num(&j, &v))
				return false;
			if (key[0] == 'd')
				r->run.duration_ns = (uint64_t)v;
			else if (key[0] == 'l')
				r->run.lost = (uint64_t)v;
			else
				r->run.exit_status = (int)v;
		} else if (!skip(&j)) {
			return false;
		}
	} while (eat(&j, ','));
	if (!eat(&j, '}'))
		return false;
	ws(&j);
	return j.p == j.end;
}

int pfw_replay(const struct pfw_opts *opts)
{
	struct pfw_session s = {.opts = opts};
	struct pfw_run_info info = {0};
	struct run_rec run = {0};
	struct pfw_output out;
	struct rec *r = NULL;
	char *line = NULL;
	size_t cap = 0, lineno = 0, bad = 0, records = 0;
	ssize_t len;
	FILE *in;
	int rc = PFW_EXIT_OK, e;

	in = strcmp(opts->input, "-") ? fopen(opts->input, "re") : stdin;
	if (!in) {
		pfw_err("cannot read '%s': %s", opts->input, strerror(errno));
		return PFW_EXIT_RUNTIME;
	}
	e = pfw_output_open(&out, opts->output, pfw_format_get(opts->format));
	if (e < 0) {
		pfw_err("cannot create '%s': %s", opts->output, strerror(-e));
		if (in != stdin)
			fclose(in);
		return PFW_EXIT_RUNTIME;
	}
	/* top of a recording: plain tables; a heatmap keeps its shades on a terminal */
	if (opts->view != PFW_VIEW_HEATMAP)
		out.tty = false;
	s.out = &out;
	/* a recording has no "live": top prints its tables once */
	pfw_view_attach(&s,
			pfw_view_of(opts->view == PFW_VIEW_TOP ? PFW_VIEW_SUMMARY : opts->view));
	s.maps = pfw_maps_new();
	s.agg = pfw_agg_new();
	r = malloc(sizeof(*r));
	if (!s.maps || !s.agg || !r) {
		pfw_err("out of memory");
		rc = PFW_EXIT_RUNTIME;
		goto out;
	}
	/* the view begins at the first record: a file without one shows nothing */
	while (!s.stop && (len = getline(&line, &cap, in)) >= 0) {
		unsigned want;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (!len)
			continue;
		if (!parse_line(s.maps, line, (size_t)len, r)) {
			if (bad++ < 3)
				pfw_warn("%s:%zu: not a pfwatch JSON record, skipped", opts->input,
					 lineno);
			continue;
		}
		if (!r->kind[0])
			continue; /* JSON, but no "record": not ours */
		if (!records++)
			s.view->begin(&s);
		if (!strcmp(r->kind, "run")) {
			run = r->run;
			run.seen = true;
			continue;
		}
		/* thread records follow the faults: their rows exist by now */
		if (!strcmp(r->kind, "thread")) {
			pfw_agg_tid_cgroup(s.agg, r->ev.tid, r->cgroup);
			continue;
		}
		if (strcmp(r->kind, "fault"))
			continue; /* thread, file, hist: derived from the faults again */
		want = r->ev.kind == PFW_MAJOR ? PFW_WANT_MAJOR : PFW_WANT_MINOR;
		if (!(opts->faults & want))
			continue;
		if (opts->comm &&
		    (!(r->ev.flags & PFW_EV_COMM) || strncmp(r->ev.comm, opts->comm, PFW_COMM_LEN)))
			continue;
		if (!r->ev.path)
			r->ev.path = "[unknown]";
		/*
		 * A recording made before "backing" existed: a mapping without
		 * a file is anonymous memory; a file's is not known here (this
		 * machine's mounts say nothing about the recorded one's).
		 */
		if (!r->ev.backing && !(r->ev.flags & PFW_EV_FILE))
			r->ev.backing = pfw_backing_of(&r->ev);
		if (r->has_stack) {
			r->ev.stack = r->ips;
			r->ev.nr_stack = (uint32_t)r->nr_fr;
		}
		/* the recorded frames, never this machine's binaries (or none) */
		pfw_stack_given(r->fr, r->nr_fr);
		s.nr_emitted++;
		/* refaults are decided again, in the recorded order, and marked for the views */
		r->ev.flags |= pfw_agg_add(s.agg, &r->ev, NULL);
		if (s.view->event)
			s.view->event(&s, &r->ev);
		pfw_stack_given(NULL, 0);
	}
	if (ferror(in)) {
		pfw_err("reading '%s' failed: %s", opts->input, strerror(errno));
		rc = PFW_EXIT_RUNTIME;
		if (!records)
			goto out;
	}
	if (!records) {
		/* empty, /dev/null, a directory's worth of anything else: no tables */
		pfw_err("'%s' holds no pfwatch record: not a recording; make one with "
			"--format=json",
			opts->input);
		rc = PFW_EXIT_RUNTIME;
		goto out;
	}
	if (!run.seen)
		pfw_warn("'%s' has no run record: the recording was cut short", opts->input);
	info.backend = run.backend;
	info.attach = run.attach;
	info.kernel = run.kernel;
	info.limits = run.limits;
	info.duration_ns = run.duration_ns;
	info.lost = run.lost;
	info.exit_status = run.exit_status;
	pfw_run_info_totals(&info, pfw_agg_totals(s.agg));
	s.lost = run.lost;
	if (!out.err)
		s.view->end(&s, &info);
	if (bad) {
		pfw_err("%zu line%s of '%s' %s not pfwatch JSON records; the views above skip them",
			bad, bad > 1 ? "s" : "", opts->input, bad > 1 ? "are" : "is");
		rc = PFW_EXIT_RUNTIME;
	}
out:
	rc = pfw_output_finish(&out, opts->output, rc);
	if (run.lost && out.err != EPIPE)
		pfw_err("%" PRIu64 " events lost in the recording: the counts above are lower "
			"bounds",
			run.lost);
	if (in != stdin)
		fclose(in);
	free(line);
	free(r);
	pfw_agg_free(s.agg);
	pfw_maps_free(s.maps);
	return rc;
}
