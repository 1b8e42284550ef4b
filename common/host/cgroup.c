// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cgroup paths and directories (cgroup.h): the hierarchies are found in
 * /proc/self/mountinfo, never assumed at /sys/fs/cgroup.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>

#include "cgroup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

struct hier {
	bool looked;
	char *mnt;  /* mount point */
	char *root; /* the cgroup the mount shows ("/" unless a subtree is bind-mounted) */
};

static struct hier hiers[2];

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);

	for (const char *p = list; p && *p;) {
		if (!strncmp(p, tok, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

static void find_mount(enum pfw_cgroup_kind kind)
{
	struct hier *h = &hiers[kind];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	h->looked = true;
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		char root[4096], mnt[4096], fstype[64], super[1024];
		char *sep = strstr(line, " - ");

		/* "id parent maj:min root mountpoint opts [optional...] - fstype source super" */
		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (kind == PFW_CGROUP_V2
			    ? strcmp(fstype, "cgroup2")
			    : strcmp(fstype, "cgroup") || !has_token(super, "perf_event"))
			continue;
		unescape(root);
		unescape(mnt);
		/* the namespace's whole hierarchy wins over a bind of a subtree */
		if (h->mnt && strcmp(root, "/"))
			continue;
		free(h->mnt);
		free(h->root);
		h->mnt = strdup(mnt);
		h->root = strdup(root);
		if (!strcmp(root, "/"))
			break;
	}
	free(line);
	fclose(f);
}

const char *pfw_cgroup_mount(enum pfw_cgroup_kind kind)
{
	if (!hiers[kind].looked)
		find_mount(kind);
	return hiers[kind].mnt;
}

/* the directory of cgroup @path (as /proc shows it) in hierarchy @kind, malloc()ed */
static char *dir_of(enum pfw_cgroup_kind kind, const char *path)
{
	const struct hier *h = &hiers[kind];
	size_t rl;
	char *d;

	if (!pfw_cgroup_mount(kind))
		return NULL;
	rl = strcmp(h->root, "/") ? strlen(h->root) : 0;
	/* a bind of a subtree shows only the cgroups below its root */
	if (rl && (strncmp(path, h->root, rl) || (path[rl] && path[rl] != '/')))
		return NULL;
	path += rl;
	while (*path == '/')
		path++;
	if (asprintf(&d, "%s%s%s", h->mnt, *path ? "/" : "", path) < 0)
		return NULL;
	return d;
}

static bool is_cgroup_dir(const char *dir, enum pfw_cgroup_kind *kind, uint64_t *id)
{
	struct statfs sfs;
	struct stat st;

	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || statfs(dir, &sfs))
		return false;
	if ((unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC)
		*kind = PFW_CGROUP_V2;
	else if ((unsigned long)sfs.f_type == CGROUP_SUPER_MAGIC)
		*kind = PFW_CGROUP_V1_PERF;
	else
		return false;
	*id = (uint64_t)st.st_ino;
	return true;
}

static void cache_prime(void);

int pfw_cgroup_resolve(const char *arg, char **dir, uint64_t *id, enum pfw_cgroup_kind *kind,
		       char *err, size_t errlen)
{
	const enum pfw_cgroup_kind order[] = {PFW_CGROUP_V2, PFW_CGROUP_V1_PERF};
	char *d;

	/* a cgroupfs directory (a container runtime's, a bind mount) as it is */
	if (arg[0] == '/' && is_cgroup_dir(arg, kind, id)) {
		/* a v1 directory filters only through the perf_event controller */
		if (*kind == PFW_CGROUP_V2 ||
		    (pfw_cgroup_mount(PFW_CGROUP_V1_PERF) &&
		     !strncmp(arg, pfw_cgroup_mount(PFW_CGROUP_V1_PERF),
			      strlen(pfw_cgroup_mount(PFW_CGROUP_V1_PERF))))) {
			*dir = strdup(arg);
			if (*dir && *kind == PFW_CGROUP_V2)
				cache_prime();
			return *dir ? 0 : -ENOMEM;
		}
		snprintf(err, errlen,
			 "'%s' is a cgroup v1 directory of another controller than perf_event; "
			 "give a cgroup v2 path or one of the perf_event hierarchy%s%s",
			 arg, pfw_cgroup_mount(PFW_CGROUP_V1_PERF) ? " under " : "",
			 pfw_cgroup_mount(PFW_CGROUP_V1_PERF) ? pfw_cgroup_mount(PFW_CGROUP_V1_PERF)
							      : "");
		return -EINVAL;
	}
	/* a cgroup path, as /proc/PID/cgroup and systemd-cgls print it */
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum pfw_cgroup_kind k;

		d = dir_of(order[i], arg);
		if (d && is_cgroup_dir(d, &k, id) && k == order[i]) {
			*dir = d;
			*kind = k;
			if (k == PFW_CGROUP_V2)
				cache_prime();
			return 0;
		}
		free(d);
	}
	if (!pfw_cgroup_mount(PFW_CGROUP_V2) && !pfw_cgroup_mount(PFW_CGROUP_V1_PERF))
		snprintf(err, errlen,
			 "no cgroup v2 hierarchy and no v1 perf_event hierarchy is mounted here");
	else
		snprintf(err, errlen,
			 "no such cgroup under %s%s%s; give the path /proc/PID/cgroup shows "
			 "(e.g. /system.slice/cron.service) or a cgroupfs directory",
			 pfw_cgroup_mount(PFW_CGROUP_V2) ? pfw_cgroup_mount(PFW_CGROUP_V2)
							 : pfw_cgroup_mount(PFW_CGROUP_V1_PERF),
			 pfw_cgroup_mount(PFW_CGROUP_V2) && pfw_cgroup_mount(PFW_CGROUP_V1_PERF)
				 ? " or "
				 : "",
			 pfw_cgroup_mount(PFW_CGROUP_V2) && pfw_cgroup_mount(PFW_CGROUP_V1_PERF)
				 ? pfw_cgroup_mount(PFW_CGROUP_V1_PERF)
				 : "");
	return -ENOENT;
}

/* the path of the /proc/TID/cgroup line whose controller list satisfies @want */
static char *line_of(FILE *f, const char *want)
{
	char *line = NULL, *r = NULL;
	size_t cap = 0;

	/* "hierarchy-id:controllers:path"; v2 is "0::path" */
	while (!r && getline(&line, &cap, f) > 0) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (!p)
			continue;
		*p = '\0';
		if (want ? has_token(c + 1, want) : !strcmp(line, "0:") && !c[1]) {
			p[1 + strcspn(p + 1, "\n")] = '\0';
			r = strdup(p + 1);
		}
	}
	free(line);
	return r;
}

static char *proc_line(pid_t tid, const char *want)
{
	char path[64], *r;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	r = line_of(f, want);
	fclose(f);
	return r;
}

char *pfw_cgroup_of_task(pid_t tid, enum pfw_cgroup_kind kind)
{
	return proc_line(tid, kind == PFW_CGROUP_V2 ? NULL : "perf_event");
}

char *pfw_cgroup_label(pid_t pid)
{
	char *r = proc_line(pid, NULL);

	return r ? r : proc_line(pid, "name=systemd");
}

char *pfw_cgroup_label_at(int piddir)
{
	int fd = openat(piddir, "cgroup", O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
	char *r = NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	r = line_of(f, NULL);
	if (!r) {
		rewind(f);
		r = line_of(f, "name=systemd");
	}
	fclose(f);
	return r;
}

int pfw_cgroup_procs(const char *dir, void (*fn)(pid_t pid, void *ctx), void *ctx)
{
	char path[4200], *line = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		long pid = strtol(line, NULL, 10);

		if (pid > 0) {
			fn((pid_t)pid, ctx);
			n++;
		}
	}
	free(line);
	fclose(f);
	/* and every cgroup below: a container's processes may sit in sub-cgroups */
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int r;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		r = pfw_cgroup_procs(path, fn, ctx);
		if (r > 0)
			n += r;
	}
	if (d)
		closedir(d);
	return n;
}

bool pfw_cgroup_task_in(pid_t tid, uint64_t id, enum pfw_cgroup_kind kind)
{
	char *path = pfw_cgroup_of_task(tid, kind), *dir = path ? dir_of(kind, path) : NULL;
	size_t floor = pfw_cgroup_mount(kind) ? strlen(pfw_cgroup_mount(kind)) : 0;
	bool in = false;

	/* the cgroup or one of its ancestors, up to the mount's root */
	while (dir && !in) {
		struct stat st;
		char *slash;

		in = !stat(dir, &st) && (uint64_t)st.st_ino == id;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < floor)
			break;
		*slash = '\0';
	}
	free(dir);
	free(path);
	return in;
}

/* ---- cgroup id -> path ---- */

/*
 * Every (id, path) pair seen, sorted by id, kept until
 * pfw_cgroup_cache_free(): a path handed out stays valid however often the
 * hierarchy is walked again (a renamed cgroup's old name stays in the
 * graveyard). It grows with the cgroups a run sees, a hundred bytes each.
 */
struct id_path {
	uint64_t id;
	char *path;
};

static struct {
	struct id_path *v;
	size_t n, cap;
	char **grave;
	size_t ngrave;
	struct timespec walked;
} ids;

static int id_cmp(const void *a, const void *b)
{
	const struct id_path *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct id_path *id_find(uint64_t id)
{
	struct id_path key = {.id = id};

	return ids.n ? bsearch(&key, ids.v, ids.n, sizeof(*ids.v), id_cmp) : NULL;
}

/* ids.v is sorted up to @sorted; new ones are appended and sorted at the end of a walk */
static size_t sorted;

static int walk_one(const char *fpath, const struct stat *st, int type, struct FTW *ftw)
{
	const struct hier *h = &hiers[PFW_CGROUP_V2];
	const char *rel = fpath + strlen(h->mnt);
	struct id_path key = {.id = (uint64_t)st->st_ino}, *e;
	char *path;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	/* the path /proc shows: the mount's root, then the directory below it */
	if (asprintf(&path, "%s%s", strcmp(h->root, "/") ? h->root : (*rel ? "" : "/"), rel) < 0)
		return 1;
	e = sorted ? bsearch(&key, ids.v, sorted, sizeof(*ids.v), id_cmp) : NULL;
	if (e) {
		if (!strcmp(e->path, path)) {
			free(path);
			return 0;
		}
		/* renamed: the old name may still be held by a caller */
		char **g = realloc(ids.grave, (ids.ngrave + 1) * sizeof(*g));

		if (!g) {
			free(path);
			return 1;
		}
		ids.grave = g;
		ids.grave[ids.ngrave++] = e->path;
		e->path = path;
		return 0;
	}
	if (ids.n == ids.cap) {
		size_t cap = ids.cap ? ids.cap * 2 : 256;
		struct id_path *v = realloc(ids.v, cap * sizeof(*v));

		if (!v) {
			free(path);
			return 1;
		}
		ids.v = v;
		ids.cap = cap;
	}
	ids.v[ids.n].id = key.id;
	ids.v[ids.n++].path = path;
	return 0;
}

/* every v2 cgroup there is now into the cache */
static void walk_all(void)
{
	if (!pfw_cgroup_mount(PFW_CGROUP_V2))
		return;
	sorted = ids.n;
	nftw(hiers[PFW_CGROUP_V2].mnt, walk_one, 16, FTW_PHYS | FTW_MOUNT);
	qsort(ids.v, ids.n, sizeof(*ids.v), id_cmp);
	sorted = 0;
}

const char *pfw_cgroup_path_of_id(uint64_t id)
{
	struct id_path *e = id_find(id);
	struct timespec now;

	if (e)
		return e->path;
	/* a new cgroup: walk again, at most once a second (a miss may be a removed one) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((ids.walked.tv_sec || ids.walked.tv_nsec) && now.tv_sec - ids.walked.tv_sec < 1)
		return NULL;
	ids.walked = now;
	walk_all();
	e = id_find(id);
	return e ? e->path : NULL;
}

/*
 * Names the cgroups there are now: ids are mostly named when rows are read,
 * at the end of a run, and a container's cgroup is removed when it exits
 * (before a run on its cgroup ends). The once-a-second limit is left alone:
 * the first miss after this still walks.
 */
static void cache_prime(void)
{
	walk_all();
}

void pfw_cgroup_cache_free(void)
{
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i].path);
	for (size_t i = 0; i < ids.ngrave; i++)
		free(ids.grave[i]);
	free(ids.v);
	free(ids.grave);
	memset(&ids, 0, sizeof(ids));
	for (size_t k = 0; k < sizeof(hiers) / sizeof(hiers[0]); k++) {
		free(hiers[k].mnt);
		free(hiers[k].root);
	}
	memset(hiers, 0, sizeof(hiers));
}
