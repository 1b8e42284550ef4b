// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bounded, monotonic fault counters for the exporter (common/fleet/metrics.h has
 * the label rule). Everything here is sized by the limits, never by the
 * workload: a family holds at most named + (4 * named + 64) values.
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "opts.h"

struct label {
	char *key; /* NULL: free slot */
	uint64_t hash;
	uint64_t major, minor; /* since the value was first seen */
	uint64_t refaults;     /* file family only */
	uint64_t last_ns;      /* last fault folded in */
	bool named;
};

struct family {
	struct label *v;
	size_t cap, used; /* slots, slots in use */
	size_t named, max_named;
	uint64_t other_major, other_minor, other_refaults;
};

struct pfw_metrics {
	struct pfw_metrics_limits lim;
	struct family fam[PFW_FAM_NR];
	uint64_t major, minor;
	uint64_t hist[2][PFW_HIST_BUCKETS];
	uint64_t lat_sum_ns[2];
	bool lat_sum_unknown[2];
	uint64_t lost;
	uint64_t untracked; /* refaults: faults on pages the page set could not hold */
	char *info[4];
};

static const char *const fam_label[PFW_FAM_NR] = {"file", "comm", "cgroup"};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct pfw_metrics *pfw_metrics_new(const struct pfw_metrics_limits *lim)
{
	struct pfw_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->lim = *lim;
	for (int f = 0; f < PFW_FAM_NR; f++) {
		struct family *fa = &m->fam[f];

		fa->max_named = lim->named[f];
		fa->cap = 5 * (size_t)lim->named[f] + 64;
		fa->v = calloc(fa->cap, sizeof(*fa->v));
		if (!fa->v) {
			pfw_metrics_free(m);
			return NULL;
		}
	}
	return m;
}

void pfw_metrics_free(struct pfw_metrics *m)
{
	if (!m)
		return;
	for (int f = 0; f < PFW_FAM_NR; f++) {
		for (size_t i = 0; m->fam[f].v && i < m->fam[f].cap; i++)
			free(m->fam[f].v[i].key);
		free(m->fam[f].v);
	}
	for (int i = 0; i < 4; i++)
		free(m->info[i]);
	free(m);
}

static void forget(struct family *fa, struct label *l)
{
	if (l->named)
		fa->named--;
	free(l->key);
	memset(l, 0, sizeof(*l));
	fa->used--;
}

/* the ranking weight: major faults first, minor ones break ties */
static bool heavier(const struct label *a, const struct label *b, unsigned factor)
{
	if (a->major != b->major)
		return a->major > factor * b->major;
	return factor == 1 && a->minor > b->minor;
}

static struct label *find(struct family *fa, const char *key, uint64_t h)
{
	for (size_t i = 0; i < fa->cap; i++)
		if (fa->v[i].key && fa->v[i].hash == h && !strcmp(fa->v[i].key, key))
			return &fa->v[i];
	return NULL;
}

/* a slot for a new value: a free one, else the least recently seen unnamed one */
static struct label *slot(struct family *fa)
{
	struct label *victim = NULL;

	for (size_t i = 0; i < fa->cap; i++) {
		struct label *l = &fa->v[i];

		if (!l->key)
			return l;
		if (!l->named && (!victim || l->last_ns < victim->last_ns ||
				  (l->last_ns == victim->last_ns && heavier(victim, l, 1))))
			victim = l;
	}
	if (victim)
		forget(fa, victim);
	return victim;
}

void pfw_metrics_count(struct pfw_metrics *m, enum pfw_family fam, const char *key, uint64_t major,
		       uint64_t minor, uint64_t now_ns)
{
	struct family *fa = &m->fam[fam];
	uint64_t h = hash_str(key);
	struct label *l = find(fa, key, h);

	if (!major && !minor)
		return;
	if (!l) {
		char *copy = strdup(key);

		l = copy ? slot(fa) : NULL;
		if (!l) {
			free(copy);
			fa->other_major += major;
			fa->other_minor += minor;
			return;
		}
		l->key = copy;
		l->hash = h;
		fa->used++;
		/* a free slot names the value at once: its faults never pass through [other] */
		if (fa->named < fa->max_named) {
			l->named = true;
			fa->named++;
		}
	}
	l->major += major;
	l->minor += minor;
	l->last_ns = now_ns;
	if (!l->named) {
		fa->other_major += major;
		fa->other_minor += minor;
	}
}

void pfw_metrics_count_refaults(struct pfw_metrics *m, const char *key, uint64_t refaults,
				uint64_t untracked)
{
	struct family *fa = &m->fam[PFW_FAM_FILE];
	struct label *l = find(fa, key, hash_str(key));

	m->untracked += untracked;
	if (!refaults)
		return;
	/* as its faults a moment ago: the value keeps its count, [other] what is not named */
	if (l)
		l->refaults += refaults;
	if (!l || !l->named)
		fa->other_refaults += refaults;
}

static void settle_family(struct family *fa, uint64_t now_ns, uint64_t ttl_ns)
{
	/* age out: an exited process' comm, a file nobody faults on any more */
	for (size_t i = 0; ttl_ns && i < fa->cap; i++)
		if (fa->v[i].key && now_ns - fa->v[i].last_ns >= ttl_ns)
			forget(fa, &fa->v[i]);

	for (;;) {
		struct label *best = NULL, *weakest = NULL;

		for (size_t i = 0; i < fa->cap; i++) {
			struct label *l = &fa->v[i];

			if (!l->key)
				continue;
			if (!l->named && (!best || heavier(l, best, 1)))
				best = l;
			if (l->named && (!weakest || heavier(weakest, l, 1)))
				weakest = l;
		}
		if (!best)
			return;
		if (fa->named < fa->max_named) {
			best->named = true;
			fa->named++;
			continue;
		}
		if (!weakest || !heavier(best, weakest, 2))
			return;
		weakest->named = false;
		best->named = true;
	}
}

void pfw_metrics_settle(struct pfw_metrics *m, uint64_t now_ns)
{
	for (int f = 0; f < PFW_FAM_NR; f++)
		settle_family(&m->fam[f], now_ns, m->lim.ttl_ns);
}

void pfw_metrics_add_totals(struct pfw_metrics *m, uint64_t major, uint64_t minor,
			    const uint64_t hist[2][PFW_HIST_BUCKETS])
{
	m->major += major;
	m->minor += minor;
	for (int k = 0; k < 2; k++)
		for (int b = 0; b < PFW_HIST_BUCKETS; b++)
			m->hist[k][b] += hist[k][b];
}

void pfw_metrics_add_lat_sum(struct pfw_metrics *m, unsigned kind, uint64_t ns)
{
	if (kind < 2)
		m->lat_sum_ns[kind] += ns;
}

void pfw_metrics_lat_sum_unknown(struct pfw_metrics *m, unsigned kind)
{
	if (kind < 2)
		m->lat_sum_unknown[kind] = true;
}

void pfw_metrics_set_lost(struct pfw_metrics *m, uint64_t lost)
{
	/* s->lost only grows; keep the counter monotonic whatever happens */
	if (lost > m->lost)
		m->lost = lost;
}

void pfw_metrics_set_info(struct pfw_metrics *m, const struct pfw_metrics_info *in)
{
	const char *v[4] = {in->backend, in->attach, in->kernel, in->version};

	for (int i = 0; i < 4; i++) {
		free(m->info[i]);
		m->info[i] = strdup(v[i] ? v[i] : "-");
	}
}

size_t pfw_metrics_named(const struct pfw_metrics *m, enum pfw_family fam)
{
	return m->fam[fam].named;
}

/* the exported series of @key: named, or NULL (also for "[other]") */
static const struct label *exported(const struct family *fa, const char *key)
{
	for (size_t i = 0; i < fa->cap; i++) {
		const struct label *l = &fa->v[i];

		if (l->key && l->named && !strcmp(l->key, key))
			return l;
	}
	return NULL;
}

bool pfw_metrics_value(const struct pfw_metrics *m, enum pfw_family fam, const char *key,
		       uint64_t *major, uint64_t *minor)
{
	const struct family *fa = &m->fam[fam];
	const struct label *l = strcmp(key, PFW_METRICS_OTHER) ? exported(fa, key) : NULL;

	if (!l && strcmp(key, PFW_METRICS_OTHER))
		return false;
	*major = l ? l->major : fa->other_major;
	*minor = l ? l->minor : fa->other_minor;
	return true;
}

bool pfw_metrics_refaults(const struct pfw_metrics *m, const char *key, uint64_t *refaults)
{
	const struct family *fa = &m->fam[PFW_FAM_FILE];
	const struct label *l = strcmp(key, PFW_METRICS_OTHER) ? exported(fa, key) : NULL;

	if (!l && strcmp(key, PFW_METRICS_OTHER))
		return false;
	*refaults = l ? l->refaults : fa->other_refaults;
	return true;
}

/* length of the valid UTF-8 sequence at @s (no overlongs, no surrogates), 0 if invalid */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Prometheus rejects a whole scrape for one label value that is not UTF-8,
 * and paths are whatever bytes their creator chose: such bytes (and control
 * bytes, which would reach a terminal through curl) become the four
 * characters \xNN, the escape pfwatch's text output uses too.
 */
void pfw_metrics_put_label(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = utf8_len(p);

		if (*p == '\\') {
			fputs("\\\\", fp);
		} else if (*p == '"') {
			fputs("\\\"", fp);
		} else if (*p == '\n') {
			fputs("\\n", fp);
		} else if (!n || *p < 0x20 || *p == 0x7f) {
			fprintf(fp, "\\\\x%02x", *p);
			n = 1;
		} else {
			fwrite(p, 1, n, fp);
		}
		p += n ? n : 1;
	}
}

/* TYPE names: OpenMetrics names a counter without its _total suffix */
static void head(FILE *fp, bool om, const char *name, const char *type, const char *help)
{
	size_t len = strlen(name);

	if (om && !strcmp(type, "counter") && len > 6 && !strcmp(name + len - 6, "_total"))
		len -= 6;
	fprintf(fp, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)len, name, help, (int)len, name, type);
}

static const char *const kind_names[2] = {"minor", "major"};

static void put_family(const struct pfw_metrics *m, FILE *fp, bool om, enum pfw_family f,
		       const char *name, const char *help)
{
	const struct family *fa = &m->fam[f];

	head(fp, om, name, "counter", help);
	for (int k = 1; k >= 0; k--) {
		if (!(m->lim.kinds & (k ? PFW_WANT_MAJOR : PFW_WANT_MINOR)))
			continue;
		for (size_t i = 0; i < fa->cap; i++) {
			const struct label *l = &fa->v[i];

			if (!l->key || !l->named)
				continue;
			fprintf(fp, "%s{%s=\"", name, fam_label[f]);
			pfw_metrics_put_label(fp, l->key);
			fprintf(fp, "\",kind=\"%s\"} %" PRIu64 "\n", kind_names[k],
				k ? l->major : l->minor);
		}
		fprintf(fp, "%s{%s=\"%s\",kind=\"%s\"} %" PRIu64 "\n", name, fam_label[f],
			PFW_METRICS_OTHER, kind_names[k], k ? fa->other_major : fa->other_minor);
	}
}

/*
 * Refaults by file, under the file family's label rule: a named file's
 * series counts its refaults since pfwatch first saw it, the rest go to
 * [other], so the sum is every refault. Exported only where major faults
 * are traced (a refault is a major fault).
 */
static void put_refaults(const struct pfw_metrics *m, FILE *fp, bool om)
{
	static const char name[] = "pfwatch_file_refaults_total";
	const struct family *fa = &m->fam[PFW_FAM_FILE];

	if (!(m->lim.kinds & PFW_WANT_MAJOR))
		return;
	head(fp, om, name, "counter",
	     "Major faults on file pages that faulted earlier (evicted and read again), by "
	     "file (the file family's series; the rest in [other]).");
	for (size_t i = 0; i < fa->cap; i++) {
		const struct label *l = &fa->v[i];

		if (!l->key || !l->named)
			continue;
		fprintf(fp, "%s{file=\"", name);
		pfw_metrics_put_label(fp, l->key);
		fprintf(fp, "\"} %" PRIu64 "\n", l->refaults);
	}
	fprintf(fp, "%s{file=\"%s\"} %" PRIu64 "\n", name, PFW_METRICS_OTHER, fa->other_refaults);
	head(fp, om, "pfwatch_refaults_untracked_total", "counter",
	     "Faults on file pages the bounded page set could not hold: refaults are lower "
	     "bounds by at most this much.");
	fprintf(fp, "pfwatch_refaults_untracked_total %" PRIu64 "\n", m->untracked);
}

/* pfwatch's own cost, read now (the process_* names client libraries use) */
static void put_self(FILE *fp, bool om)
{
	char buf[1024], *p;
	unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
	long long rss = 0;
	long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	double boot = 0;
	DIR *d;
	int fds = 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss) */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %llu %llu %lld",
			 &utime, &stime, &start, &vsize, &rss) != 5)
		return;
	f = fopen("/proc/stat", "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "btime ", 6))
			boot = strtod(buf + 6, NULL);
	if (f)
		fclose(f);
	head(fp, om, "process_cpu_seconds_total", "counter",
	     "CPU time pfwatch itself used (user + system), in seconds.");
	fprintf(fp, "process_cpu_seconds_total %.2f\n", (double)(utime + stime) / (double)tck);
	head(fp, om, "process_resident_memory_bytes", "gauge", "pfwatch's resident memory.");
	fprintf(fp, "process_resident_memory_bytes %lld\n", rss * page);
	head(fp, om, "process_virtual_memory_bytes", "gauge", "pfwatch's virtual memory.");
	fprintf(fp, "process_virtual_memory_bytes %llu\n", vsize);
	if (boot > 0) {
		head(fp, om, "process_start_time_seconds", "gauge",
		     "When pfwatch started, in seconds since the epoch.");
		fprintf(fp, "process_start_time_seconds %.2f\n",
			boot + (double)start / (double)tck);
	}
	d = opendir("/proc/self/fd");
	if (d) {
		while (readdir(d))
			fds++;
		closedir(d);
		head(fp, om, "process_open_fds", "gauge", "File descriptors pfwatch holds open.");
		/* ".", ".." and the directory's own descriptor */
		fprintf(fp, "process_open_fds %d\n", fds > 3 ? fds - 3 : 0);
	}
}

static void put_hist(const struct pfw_metrics *m, FILE *fp, bool om)
{
	static const char name[] = "pfwatch_fault_latency_seconds";

	head(fp, om, name, "histogram",
	     "Time from a fault's entry into the kernel's fault handler to its completion.");
	for (int k = 1; k >= 0; k--) {
		uint64_t cum = 0;

		if (!(m->lim.kinds & (k ? PFW_WANT_MAJOR : PFW_WANT_MINOR)))
			continue;
		/*
		 * log2 buckets below 1 us fold into the first bound; above 2^35 ns
		 * (34 s) only +Inf: a fault that long is one to look at in the
		 * events view, not a bucket boundary.
		 */
		for (int b = 0; b < PFW_HIST_BUCKETS; b++) {
			cum += m->hist[k][b];
			if (b < 9 || b > 34)
				continue;
			fprintf(fp, "%s_bucket{kind=\"%s\",le=\"%.9g\"} %" PRIu64 "\n", name,
				kind_names[k], (double)(2ull << b) / 1e9, cum);
		}
		fprintf(fp, "%s_bucket{kind=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", name, kind_names[k],
			cum);
		fprintf(fp, "%s_count{kind=\"%s\"} %" PRIu64 "\n", name, kind_names[k], cum);
		if (!m->lat_sum_unknown[k])
			fprintf(fp, "%s_sum{kind=\"%s\"} %.9f\n", name, kind_names[k],
				(double)m->lat_sum_ns[k] / 1e9);
	}
}

void pfw_metrics_render(const struct pfw_metrics *m, FILE *fp, bool om)
{
	static const char *const info_keys[4] = {"backend", "attach", "kernel", "version"};

	if (om) {
		fputs("# HELP pfwatch pfwatch's backend, attach mode, kernel and version.\n"
		      "# TYPE pfwatch info\n",
		      fp);
	} else {
		head(fp, false, "pfwatch_info", "gauge",
		     "pfwatch's backend, attach mode, kernel and version (value 1).");
	}
	fputs("pfwatch_info{", fp);
	for (int i = 0; i < 4; i++) {
		fprintf(fp, "%s%s=\"", i ? "," : "", info_keys[i]);
		pfw_metrics_put_label(fp, m->info[i] ? m->info[i] : "-");
		fputc('"', fp);
	}
	fputs("} 1\n", fp);

	head(fp, om, "pfwatch_faults_total", "counter",
	     "Page faults counted since pfwatch started, by kind.");
	for (int k = 1; k >= 0; k--)
		if (m->lim.kinds & (k ? PFW_WANT_MAJOR : PFW_WANT_MINOR))
			fprintf(fp, "pfwatch_faults_total{kind=\"%s\"} %" PRIu64 "\n",
				kind_names[k], k ? m->major : m->minor);
	put_family(m, fp, om, PFW_FAM_FILE, "pfwatch_file_faults_total",
		   "Faults by mapped file (the top files by major faults; the rest in [other]).");
	put_family(m, fp, om, PFW_FAM_COMM, "pfwatch_comm_faults_total",
		   "Faults by thread command name (bounded; the rest in [other]).");
	put_family(m, fp, om, PFW_FAM_CGROUP, "pfwatch_cgroup_faults_total",
		   "Faults by cgroup v2 path of the faulting process (bounded; the rest in "
		   "[other]).");
	put_refaults(m, fp, om);
	put_hist(m, fp, om);
	head(fp, om, "pfwatch_lost_events_total", "counter",
	     "Fault events the kernel dropped or pfwatch could not keep: the counts above "
	     "are lower bounds by this much.");
	fprintf(fp, "pfwatch_lost_events_total %" PRIu64 "\n", m->lost);
	head(fp, om, "pfwatch_labels", "gauge",
	     "Named series per label family now (bounded by --top-files, --max-comms, "
	     "--max-cgroups).");
	for (int f = 0; f < PFW_FAM_NR; f++)
		fprintf(fp, "pfwatch_labels{family=\"%s\"} %zu\n", fam_label[f], m->fam[f].named);
	put_self(fp, om);
	if (om)
		fputs("# EOF\n", fp);
}
