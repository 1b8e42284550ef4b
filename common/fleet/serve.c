// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fleet mode: the exporter loop's pieces (common/fleet/serve.h). The counters
 * live in common/fleet/metrics.c; this file feeds them from the session, turns
 * them into text once per --interval, and hands that text out: over HTTP
 * from a thread of its own (no library: one request per connection,
 * GET/HEAD /metrics) and atomically into --metrics-file for
 * node_exporter's textfile collector.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "agg.h"
#include "cgroup.h"
#include "backend.h"
#include "log.h"
#include "maps.h"
#include "metrics.h"
#include "output.h"
#include "serve.h"
#include "session.h"

/* a pid's cgroup is re-read after this many refreshes without a fault */
#define CG_KEEP_EPOCHS 30

struct cg_entry {
	pid_t pid; /* 0: empty */
	unsigned epoch;
	char *path;
};

/*
 * Streamed faults counted by file name for one interval. The aggregation's
 * file rows are keyed by (dev, inode), and a file created after another was
 * deleted often gets its inode number: within one interval the churn of
 * short-lived files would merge into the first name.
 */
struct path_slot {
	char *path; /* NULL: empty */
	uint64_t hash;
	uint64_t n[2]; /* [enum pfw_kind] */
	uint64_t refaults, untracked;
};

struct pfw_serve {
	const struct pfw_opts *o;
	struct pfw_metrics *m;
	int lfd;
	int wake[2];
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	char *text, *om; /* the last refresh, Prometheus text and OpenMetrics */
	size_t text_len, om_len;
	/* kernel aggregation: the previous cumulative snapshot */
	struct pfw_agg *prev;
	bool kernel;
	struct path_slot *paths;
	size_t paths_cap, paths_n;
	/* pid -> cgroup v2 path, while the process lives */
	struct cg_entry *cg;
	size_t cg_cap, cg_n;
	unsigned epoch;
};

static struct pfw_serve *cur;

int pfw_serve_parse_addr(const char *arg, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		h = arg + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || memchr(arg, ':', (size_t)(colon - arg)))
			return -EINVAL; /* a bare IPv6 address needs brackets */
		hl = (size_t)(colon - arg);
	}
	if (hl >= hostlen || strlen(colon + 1) >= portlen || !colon[1])
		return -EINVAL;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (atol(colon + 1) < 1 || atol(colon + 1) > 65535 || strlen(colon + 1) > 5)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

static int listen_on(const char *arg, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res, *ai;
	char host[256], port[8];
	int fd = -1, r, one = 1, e = 0;

	if (pfw_serve_parse_addr(arg, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, errlen, "invalid --serve '%s': expected ADDR:PORT, e.g. %s", arg,
			 PFW_SERVE_DEFAULT);
		return -EINVAL;
	}
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "--serve '%s': %s", arg, gai_strerror(r));
		return -ENOENT;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		/* a restart must not wait for the old connections' TIME_WAIT */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s%s", arg, strerror(e),
			 e == EADDRINUSE ? "; another exporter has the port, give --serve=ADDR:PORT"
					 : "");
		return -e;
	}
	return fd;
}

/* write @len bytes of @text to --metrics-file through a temporary file and rename() */
static int write_file(const char *path, const char *text, size_t len)
{
	char *tmp = NULL;
	const char *base = strrchr(path, '/');
	int fd, r = 0;

	/* hidden and not *.prom: the textfile collector never reads a half-written file */
	if (base)
		r = asprintf(&tmp, "%.*s/.%s.XXXXXX", (int)(base - path), path, base + 1);
	else
		r = asprintf(&tmp, ".%s.XXXXXX", path);
	if (r < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = 0;
	/* node_exporter runs as its own user */
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	for (size_t off = 0; !r && off < len;) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	return r;
}

static void serve_close(struct pfw_serve *sv);

/* bind and check the file before any tracing: a taken port is the user's to fix */
static int serve_open(const struct pfw_opts *o, struct pfw_serve **out)
{
	struct pfw_metrics_limits lim = {
		.named = {o->top_files, o->max_comms, o->max_cgroups},
		.ttl_ns = o->label_ttl_ns,
		.kinds = o->faults,
	};
	struct pfw_serve *sv = calloc(1, sizeof(*sv));
	char err[512];

	*out = NULL;
	/*
	 * An interval's aggregation can be large (its page set under a storm of
	 * minor faults) and is freed at the next refresh. glibc raises its mmap
	 * threshold after such a free and then serves the next one from the
	 * heap, which it rarely gives back: measured +10 MiB RSS over 1200
	 * short-lived processes system-wide. A fixed threshold keeps big tables
	 * in their own mappings, returned on free, so RSS follows the live data.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (!sv || !(sv->m = pfw_metrics_new(&lim))) {
		free(sv);
		pfw_err("out of memory");
		return PFW_EXIT_RUNTIME;
	}
	sv->o = o;
	sv->lfd = -1;
	sv->wake[0] = sv->wake[1] = -1;
	pthread_mutex_init(&sv->mu, NULL);
	if (o->serve) {
		sv->lfd = listen_on(o->serve, err, sizeof(err));
		if (sv->lfd < 0) {
			pfw_err("%s", err);
			serve_close(sv);
			return PFW_EXIT_RUNTIME;
		}
	}
	if (o->metrics_file) {
		int r = write_file(o->metrics_file, "", 0);

		if (r < 0) {
			pfw_err("cannot write --metrics-file '%s': %s; give a file in a writable "
				"directory (node_exporter's --collector.textfile.directory)",
				o->metrics_file, strerror(-r));
			serve_close(sv);
			return PFW_EXIT_RUNTIME;
		}
	}
	*out = sv;
	return -1;
}

static size_t cg_slot(const struct pfw_serve *sv, pid_t pid)
{
	size_t mask = sv->cg_cap - 1, i = ((size_t)(uint32_t)pid * 0x9e3779b1u) & mask;

	while (sv->cg[i].pid && sv->cg[i].pid != pid)
		i = (i + 1) & mask;
	return i;
}

/*
 * Rebuild without the entries not used for CG_KEEP_EPOCHS refreshes, at
 * least @cap slots; also shrinks after a burst of processes.
 */
static int cg_rebuild(struct pfw_serve *sv, size_t cap)
{
	struct cg_entry *old = sv->cg;
	size_t ocap = sv->cg_cap, live = 0;

	for (size_t i = 0; i < ocap; i++)
		live += old[i].pid && sv->epoch - old[i].epoch <= CG_KEEP_EPOCHS;
	while (cap > 256 && live * 4 < cap / 2)
		cap /= 2;

	sv->cg = calloc(cap, sizeof(*sv->cg));
	if (!sv->cg) {
		sv->cg = old;
		return -ENOMEM;
	}
	sv->cg_cap = cap;
	sv->cg_n = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].pid)
			continue;
		if (sv->epoch - old[i].epoch > CG_KEEP_EPOCHS) {
			free(old[i].path);
			continue;
		}
		sv->cg[cg_slot(sv, old[i].pid)] = old[i];
		sv->cg_n++;
	}
	free(old);
	return 0;
}

/* the cgroup label of @pid; read from /proc the first time the process is seen */
static const char *cg_of(struct pfw_serve *sv, pid_t pid)
{
	size_t i;

	if (pid <= 0)
		return "[unknown]";
	if ((sv->cg_n + 1) * 2 > sv->cg_cap && cg_rebuild(sv, sv->cg_cap ? sv->cg_cap * 2 : 256))
		return "[unknown]";
	i = cg_slot(sv, pid);
	if (!sv->cg[i].pid) {
		sv->cg[i].pid = pid;
		sv->cg[i].path = pfw_cgroup_label(pid);
		sv->cg_n++;
	}
	sv->cg[i].epoch = sv->epoch;
	return sv->cg[i].path ? sv->cg[i].path : "[unknown]";
}

static uint64_t path_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h | 1;
}

static void paths_add(struct pfw_serve *sv, const char *path, const struct pfw_event *ev)
{
	uint64_t h = path_hash(path);
	size_t mask, i;

	if ((sv->paths_n + 1) * 2 > sv->paths_cap) {
		size_t ncap = sv->paths_cap ? sv->paths_cap * 2 : 256;
		struct path_slot *n = calloc(ncap, sizeof(*n));

		if (!n)
			return;
		for (size_t j = 0; j < sv->paths_cap; j++) {
			if (!sv->paths[j].path)
				continue;
			for (i = sv->paths[j].hash & (ncap - 1); n[i].path;
			     i = (i + 1) & (ncap - 1))
				;
			n[i] = sv->paths[j];
		}
		free(sv->paths);
		sv->paths = n;
		sv->paths_cap = ncap;
	}
	mask = sv->paths_cap - 1;
	for (i = h & mask; sv->paths[i].path; i = (i + 1) & mask)
		if (sv->paths[i].hash == h && !strcmp(sv->paths[i].path, path))
			break;
	if (!sv->paths[i].path) {
		sv->paths[i].path = strdup(path);
		if (!sv->paths[i].path)
			return;
		sv->paths[i].hash = h;
		sv->paths_n++;
	}
	sv->paths[i].n[ev->kind]++;
	sv->paths[i].refaults += !!(ev->flags & PFW_EV_REFAULT);
	sv->paths[i].untracked += !!(ev->flags & PFW_EV_UNTRACKED);
}

/* fold the interval's names in and start the next interval empty */
static void paths_fold(struct pfw_serve *sv, uint64_t now)
{
	for (size_t i = 0; i < sv->paths_cap; i++) {
		struct path_slot *p = &sv->paths[i];

		if (!p->path)
			continue;
		pfw_metrics_count(sv->m, PFW_FAM_FILE, p->path, p->n[PFW_MAJOR], p->n[PFW_MINOR],
				  now);
		pfw_metrics_count_refaults(sv->m, p->path, p->refaults, p->untracked);
		free(p->path);
	}
	free(sv->paths);
	sv->paths = NULL;
	sv->paths_cap = sv->paths_n = 0;
}

static int tid_cmp(const void *a, const void *b)
{
	const struct pfw_thread_stats *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int file_key_cmp(const void *a, const void *b)
{
	const struct pfw_file_stats *x = a, *y = b;

	if (x->file != y->file)
		return x->file - y->file;
	if (!x->file)
		return strcmp(x->path, y->path);
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	if (x->dev_major != y->dev_major)
		return x->dev_major < y->dev_major ? -1 : 1;
	if (x->dev_minor != y->dev_minor)
		return x->dev_minor < y->dev_minor ? -1 : 1;
	return (x->gen > y->gen) - (x->gen < y->gen);
}

/* a kernel counter that went down was deleted and recreated: count it from zero */
static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

/* the counters a thread row and a file row both carry, as increments: @d = @c - @p */
#define DELTA_COUNTERS(d, c, p)                                               \
	do {                                                                  \
		(d).major = delta((c).major, (p).major);                      \
		(d).minor = delta((c).minor, (p).minor);                      \
		(d).refaults = delta((c).refaults, (p).refaults);             \
		(d).untracked = delta((c).untracked, (p).untracked);          \
		(d).lat_count = delta((c).lat_count, (p).lat_count);          \
		(d).lat_total_ns = delta((c).lat_total_ns, (p).lat_total_ns); \
	} while (0)

/*
 * In-kernel aggregation hands over cumulative rows: the increment is the
 * difference to the previous snapshot, row by row (threads by tid, files by
 * (dev, inode) or name), so that rows the kernel side forgets (an exited
 * thread's) cannot make a counter go down.
 */
static struct pfw_agg *diff(struct pfw_agg *cum, struct pfw_agg *prev)
{
	struct pfw_agg *inc = pfw_agg_new();
	struct pfw_thread_stats *ct = NULL, *pt = NULL;
	struct pfw_file_stats *cf = NULL, *pf = NULL;
	size_t nct, npt = 0, ncf, npf = 0, j;
	const struct pfw_totals *c = pfw_agg_totals(cum), *p = prev ? pfw_agg_totals(prev) : NULL;

	if (!inc)
		return NULL;
	nct = pfw_agg_threads(cum, &ct);
	ncf = pfw_agg_files(cum, &cf);
	if (prev) {
		npt = pfw_agg_threads(prev, &pt);
		npf = pfw_agg_files(prev, &pf);
	}
	qsort(ct, nct, sizeof(*ct), tid_cmp);
	qsort(pt, npt, sizeof(*pt), tid_cmp);
	qsort(cf, ncf, sizeof(*cf), file_key_cmp);
	qsort(pf, npf, sizeof(*pf), file_key_cmp);
	j = 0;
	for (size_t i = 0; i < nct; i++) {
		struct pfw_thread_stats d = ct[i];

		while (j < npt && pt[j].tid < ct[i].tid)
			j++;
		if (j < npt && pt[j].tid == ct[i].tid)
			DELTA_COUNTERS(d, ct[i], pt[j]);
		if (d.major || d.minor)
			pfw_agg_add_thread(inc, &d);
	}
	j = 0;
	for (size_t i = 0; i < ncf; i++) {
		struct pfw_file_stats d = cf[i];

		while (j < npf && file_key_cmp(&pf[j], &cf[i]) < 0)
			j++;
		if (j < npf && !file_key_cmp(&pf[j], &cf[i])) {
			DELTA_COUNTERS(d, cf[i], pf[j]);
			d.pages = 0;
		}
		if (d.major || d.minor)
			pfw_agg_add_file(inc, &d);
	}
	for (int k = 0; k < 2; k++)
		for (unsigned b = 0; b < PFW_HIST_BUCKETS; b++) {
			uint64_t v = delta(c->hist[k][b], p ? p->hist[k][b] : 0);

			if (v)
				pfw_agg_add_hist(inc, (enum pfw_kind)k, b, v);
		}
	free(ct);
	free(pt);
	free(cf);
	free(pf);
	return inc;
}

static void fold(struct pfw_serve *sv, struct pfw_agg *inc, uint64_t now)
{
	struct pfw_thread_stats *t = NULL;
	struct pfw_file_stats *f = NULL;
	size_t nt = pfw_agg_threads(inc, &t), nf = pfw_agg_files(inc, &f);
	const struct pfw_totals *tot = pfw_agg_totals(inc);
	bool one_kind = sv->o->faults != (PFW_WANT_MAJOR | PFW_WANT_MINOR);

	for (size_t i = 0; i < nt; i++) {
		pfw_metrics_count(sv->m, PFW_FAM_COMM, t[i].comm[0] ? t[i].comm : "[unknown]",
				  t[i].major, t[i].minor, now);
		/* an in-kernel row names its cgroup by id, even after its process exited */
		pfw_metrics_count(sv->m, PFW_FAM_CGROUP,
				  t[i].cgroup ? t[i].cgroup : cg_of(sv, t[i].pid), t[i].major,
				  t[i].minor, now);
		/* rows carry one latency sum over both kinds: a sum per kind only when one is traced */
		if (sv->kernel && one_kind)
			pfw_metrics_add_lat_sum(
				sv->m, sv->o->faults & PFW_WANT_MAJOR ? PFW_MAJOR : PFW_MINOR,
				t[i].lat_total_ns);
	}
	if (sv->kernel)
		for (size_t i = 0; i < nf; i++) {
			pfw_metrics_count(sv->m, PFW_FAM_FILE, f[i].path ? f[i].path : "[unknown]",
					  f[i].major, f[i].minor, now);
			pfw_metrics_count_refaults(sv->m, f[i].path ? f[i].path : "[unknown]",
						   f[i].refaults, f[i].untracked);
		}
	else
		paths_fold(sv, now);
	pfw_metrics_add_totals(sv->m, tot->major, tot->minor, tot->hist);
	free(t);
	free(f);
}

static char *render(const struct pfw_metrics *m, bool om, size_t *len)
{
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, len);

	if (!fp)
		return NULL;
	pfw_metrics_render(m, fp, om);
	if (fclose(fp)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void refresh(struct pfw_serve *sv, struct pfw_session *s, bool final)
{
	uint64_t now = pfw_now_ns();
	struct pfw_agg *fresh = pfw_agg_new(), *inc;
	char *text, *om;
	size_t text_len = 0, om_len = 0;

	if (!fresh)
		return;
	sv->epoch++;
	if (sv->kernel) {
		/*
		 * s->agg was left empty after the last refresh; snapshot() (or
		 * stop(), when @final) fills it with everything since start.
		 */
		if (!final && s->backend->snapshot(s->priv) < 0) {
			pfw_agg_free(fresh);
			return;
		}
		inc = diff(s->agg, sv->prev);
		pfw_agg_free(sv->prev);
		sv->prev = s->agg;
		s->agg = fresh;
	} else {
		/* streamed faults: s->agg holds exactly the faults since the last refresh */
		inc = s->agg;
		/* the distinct file pages of the whole run decide refaults */
		pfw_agg_take_pages(fresh, inc);
		s->agg = fresh;
	}
	if (inc) {
		fold(sv, inc, now);
		if (inc != sv->prev)
			pfw_agg_free(inc);
	}
	pfw_metrics_settle(sv->m, now);
	pfw_metrics_set_lost(sv->m, s->lost);
	if (sv->epoch % 8 == 0)
		cg_rebuild(sv, sv->cg_cap ? sv->cg_cap : 256);

	text = render(sv->m, false, &text_len);
	om = render(sv->m, true, &om_len);
	if (text && sv->o->metrics_file) {
		int r = write_file(sv->o->metrics_file, text, text_len);

		if (r < 0)
			pfw_warn("writing --metrics-file '%s' failed: %s", sv->o->metrics_file,
				 strerror(-r));
	}
	if (!text || !om) {
		free(text);
		free(om);
		return;
	}
	pthread_mutex_lock(&sv->mu);
	free(sv->text);
	free(sv->om);
	sv->text = text;
	sv->text_len = text_len;
	sv->om = om;
	sv->om_len = om_len;
	pthread_mutex_unlock(&sv->mu);
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len,
		    bool head)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n",
			 status, type, len,
			 strncmp(status, "405", 3) ? "" : "Allow: GET, HEAD\r\n");

	send_all(fd, hdr, (size_t)n);
	if (!head)
		send_all(fd, body, len);
}

static bool wants_openmetrics(const char *req)
{
	const char *p = req;

	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, "accept:", 7)) {
			size_t l = strcspn(p, "\r\n");
			char line[2048];

			snprintf(line, sizeof(line), "%.*s", (int)l, p);
			return strstr(line, "application/openmetrics-text") != NULL;
		}
	}
	return false;
}

static void handle(struct pfw_serve *sv, int fd)
{
	static const char index_html[] =
		"<html><head><title>pfwatch</title></head><body><h1>pfwatch</h1>"
		"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";
	struct timeval tv = {.tv_sec = 5};
	char req[8192], method[8], target[1024];
	size_t n = 0;
	bool head, om;
	char *body;
	size_t len;

	/* a client that sends nothing must not hold the only server thread for long */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		ssize_t r = recv(fd, req + n, sizeof(req) - 1 - n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	req[n] = '\0';
	if (sscanf(req, "%7s %1023s HTTP/1.", method, target) != 2) {
		respond(fd, "400 Bad Request", "text/plain", "bad request\n", 12, false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		respond(fd, "405 Method Not Allowed", "text/plain", "GET or HEAD\n", 12, false);
		return;
	}
	target[strcspn(target, "?")] = '\0';
	if (!strcmp(target, "/")) {
		respond(fd, "200 OK", "text/html; charset=utf-8", index_html,
			sizeof(index_html) - 1, head);
		return;
	}
	if (strcmp(target, "/metrics")) {
		respond(fd, "404 Not Found", "text/plain", "not found; try /metrics\n", 24, head);
		return;
	}
	om = wants_openmetrics(req);
	pthread_mutex_lock(&sv->mu);
	len = om ? sv->om_len : sv->text_len;
	body = malloc(len + 1);
	if (body && len)
		memcpy(body, om ? sv->om : sv->text, len);
	pthread_mutex_unlock(&sv->mu);
	if (!body) {
		respond(fd, "503 Service Unavailable", "text/plain", "out of memory\n", 14, head);
		return;
	}
	respond(fd, "200 OK",
		om ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		   : "text/plain; version=0.0.4; charset=utf-8",
		body, len, head);
	free(body);
}

static void *server(void *arg)
{
	struct pfw_serve *sv = arg;
	struct pollfd pfd[2] = {{.fd = sv->lfd, .events = POLLIN},
				{.fd = sv->wake[0], .events = POLLIN}};

	for (;;) {
		int fd;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(sv->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue; /* ECONNABORTED, EMFILE: the next scrape retries */
		handle(sv, fd);
		close(fd);
	}
	return NULL;
}

static int serve_begin(struct pfw_serve *sv, struct pfw_session *s)
{
	const char *attach = s->backend && s->backend->attach ? s->backend->attach(s->priv) : NULL;
	struct pfw_metrics_info info = {
		.backend = s->backend ? s->backend->name : NULL,
		.attach = attach,
		.version = PACKAGE_VERSION,
	};
	char kernel[256] = "-";
	FILE *f = fopen("/proc/sys/kernel/osrelease", "re");
	sigset_t all, old;
	int r;

	/*
	 * Days of churn: let the maps free the paths of files nobody maps any
	 * more. Safe here: the exporter's tables copy every name they keep.
	 */
	if (s->maps)
		pfw_maps_set_collect(s->maps, true);
	if (f) {
		if (fgets(kernel, sizeof(kernel), f))
			kernel[strcspn(kernel, "\n")] = '\0';
		fclose(f);
	}
	info.kernel = kernel;
	pfw_metrics_set_info(sv->m, &info);
	sv->kernel = s->kernel_aggregates && s->backend && s->backend->snapshot;
	if (s->kernel_aggregates && !sv->kernel)
		pfw_warn("%s backend counts in the kernel but cannot be read while it runs; the "
			 "metrics stay at zero until pfwatch stops",
			 s->backend ? s->backend->name : "the");
	if (sv->kernel && sv->o->faults == (PFW_WANT_MAJOR | PFW_WANT_MINOR)) {
		pfw_metrics_lat_sum_unknown(sv->m, PFW_MAJOR);
		pfw_metrics_lat_sum_unknown(sv->m, PFW_MINOR);
	}
	refresh(sv, s, false);
	if (sv->lfd < 0)
		return 0;
	if (pipe2(sv->wake, O_CLOEXEC) < 0)
		return -errno;
	/* signals go to the main thread, whose poll() they must interrupt */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&sv->thread, NULL, server, sv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	sv->running = true;
	return 0;
}

static void serve_close(struct pfw_serve *sv)
{
	if (!sv)
		return;
	if (cur == sv)
		cur = NULL;
	if (sv->running) {
		ssize_t n = write(sv->wake[1], "x", 1);

		(void)n;
		pthread_join(sv->thread, NULL);
	}
	for (int i = 0; i < 2; i++)
		if (sv->wake[i] >= 0)
			close(sv->wake[i]);
	if (sv->lfd >= 0)
		close(sv->lfd);
	for (size_t i = 0; i < sv->cg_cap; i++)
		free(sv->cg[i].path);
	free(sv->cg);
	pfw_agg_free(sv->prev);
	paths_fold(sv, 0);
	pfw_metrics_free(sv->m);
	free(sv->text);
	free(sv->om);
	pthread_mutex_destroy(&sv->mu);
	free(sv);
}

static int metrics_begin(struct pfw_session *s)
{
	int r = cur ? serve_begin(cur, s) : -EINVAL;

	if (r < 0) {
		pfw_err("cannot start the metrics server: %s", strerror(-r));
		s->stop = 1;
	}
	return r;
}

static void metrics_tick(struct pfw_session *s)
{
	if (cur)
		refresh(cur, s, false);
}

/*
 * Streamed faults: learn the process' cgroup while it lives (a short-lived
 * one is gone by the next refresh), count by file name, and sum the latency
 * per kind, which the aggregation's rows do not split.
 */
static void metrics_event(struct pfw_session *s, const struct pfw_event *ev)
{
	if (!cur || cur->kernel)
		return;
	cg_of(cur, ev->pid);
	paths_add(cur, ev->path ? ev->path : "[unknown]", ev);
	if (ev->flags & PFW_EV_LATENCY)
		pfw_metrics_add_lat_sum(cur->m, ev->kind, ev->latency_ns);
}

/* after the backend's stop(): everything it still had is in s->agg */
static void metrics_end(struct pfw_session *s, const struct pfw_run_info *r)
{
	if (cur)
		refresh(cur, s, true);
}

const struct pfw_view pfw_view_metrics = {
	.name = "metrics",
	.begin = metrics_begin,
	.event = metrics_event,
	.tick = metrics_tick,
	.end = metrics_end,
};

int pfw_serve_open(const struct pfw_opts *o)
{
	return serve_open(o, &cur);
}

void pfw_serve_close(void)
{
	serve_close(cur);
}
