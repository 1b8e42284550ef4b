// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tracefs state owned by pfwatch and its removal on every path: the mount,
 * the private instance "pfwatch-<pid>-<random>", the kprobe group
 * "pfwatch_<pid>", and the top level borrowed on kernels whose
 * function_graph cannot run in an instance (6.1: no .allow_instances).
 * A pfwatch killed with SIGKILL cannot clean up: the next run removes what
 * it left, keyed by the dead pid in the names.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <time.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <tracefs/tracefs.h>

#include "ftrace.h"

#define TRACEFS_MAGIC 0x74726163
#define STATE_DIR     "/run/pfwatch"

bool pfw_ft_is_mounted(void)
{
	struct statfs sf;

	return !statfs(PFW_FT_TRACEFS, &sf) && sf.f_type == TRACEFS_MAGIC;
}

int pfw_ft_mount(bool *mounted, char *err, size_t errlen)
{
	*mounted = false;
	if (pfw_ft_is_mounted())
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "tracefs is not mounted at " PFW_FT_TRACEFS
			 "; run as root or mount it with 'mount -t tracefs nodev " PFW_FT_TRACEFS
			 "', or choose --backend=perf");
		return -EACCES;
	}
	if (mount("nodev", PFW_FT_TRACEFS, "tracefs", 0, NULL)) {
		int e = errno;

		snprintf(err, errlen,
			 "cannot mount tracefs on " PFW_FT_TRACEFS
			 ": %s; mount it with 'mount -t tracefs nodev " PFW_FT_TRACEFS
			 "' or choose --backend=perf",
			 strerror(e));
		return -e;
	}
	*mounted = true;
	return 0;
}

bool pfw_ft_file_exists(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), PFW_FT_TRACEFS "/%s", path);
	return !access(p, F_OK);
}

bool pfw_ft_has_tracer(struct tracefs_instance *inst, const char *name)
{
	char *buf = tracefs_instance_file_read(inst, "available_tracers", NULL);
	bool found = false;

	if (!buf)
		return false;
	for (char *save = NULL, *tok = strtok_r(buf, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save))
		if (!strcmp(tok, name))
			found = true;
	free(buf);
	return found;
}

/* alive, or not ours to judge (EPERM: alive under another uid) */
static bool pid_alive(pid_t pid)
{
	return pid > 0 && (!kill(pid, 0) || errno != ESRCH);
}

static void say(void (*fn)(void *, const char *), void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(void (*fn)(void *, const char *), void *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(ctx, msg);
}

struct name_list {
	char names[64][160];
	int n;
};

static int collect_stale(const char *name, void *ctx)
{
	struct name_list *l = ctx;
	int pid;

	if (sscanf(name, "pfwatch-%d-", &pid) == 1 && !pid_alive(pid) && l->n < 64)
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
	return 0;
}

static int write_file(const char *path, const char *s, int oflags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | oflags);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	return 0;
}

static void toplevel_restore_file(const char *path);

int pfw_ft_cleanup_stale(void (*sayfn)(void *ctx, const char *msg), void *ctx)
{
	struct name_list *l = calloc(1, sizeof(*l));
	int removed = 0;
	FILE *f;
	DIR *d;

	if (!l)
		return 0;
	/* the top level first: it may have enabled our kprobe events */
	d = opendir(STATE_DIR);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d))) {
			char path[300];
			int pid;

			if (sscanf(de->d_name, "toplevel-%d", &pid) != 1 || pid_alive(pid))
				continue;
			snprintf(path, sizeof(path), STATE_DIR "/%s", de->d_name);
			toplevel_restore_file(path);
			say(sayfn, ctx,
			    "restored the tracefs top level left armed by pfwatch %d, which was "
			    "killed",
			    pid);
			removed++;
		}
		closedir(d);
	}

	tracefs_instances_walk(collect_stale, l);
	for (int i = 0; i < l->n; i++) {
		struct tracefs_instance *inst = tracefs_instance_alloc(NULL, l->names[i]);

		if (!inst)
			continue;
		if (!tracefs_instance_destroy(inst)) {
			say(sayfn, ctx, "removed stale tracefs instance %s (its pfwatch is gone)",
			    l->names[i]);
			removed++;
		} else {
			say(sayfn, ctx, "cannot remove stale tracefs instance %s: %s", l->names[i],
			    strerror(errno));
		}
		tracefs_instance_free(inst);
	}

	/* kprobe groups "pfwatch_<pid>" of dead owners */
	l->n = 0;
	f = fopen(PFW_FT_TRACEFS "/kprobe_events", "re");
	if (f) {
		char line[1024];

		while (fgets(line, sizeof(line), f) && l->n < 64) {
			char grp[64], ev[64];
			int pid;

			/* "p:pfwatch_123/hmf handle_mm_fault ..." / "r10:..." */
			if (sscanf(line, "%*[^:]:%63[^/]/%63s", grp, ev) != 2)
				continue;
			if (sscanf(grp, "pfwatch_%d", &pid) != 1 || pid_alive(pid))
				continue;
			snprintf(l->names[l->n++], sizeof(l->names[0]), "-:%s/%s", grp, ev);
		}
		fclose(f);
	}
	for (int i = 0; i < l->n; i++)
		if (!write_file(PFW_FT_TRACEFS "/kprobe_events", l->names[i], O_APPEND)) {
			say(sayfn, ctx, "removed stale kprobe event %s (its pfwatch is gone)",
			    l->names[i] + 2);
			removed++;
		}
	free(l);
	return removed;
}

struct tracefs_instance *pfw_ft_instance_new(void)
{
	struct tracefs_instance *inst;
	unsigned int rnd;
	char name[64];

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	snprintf(name, sizeof(name), "pfwatch-%d-%08x", (int)getpid(), rnd);
	inst = tracefs_instance_create(name);
	if (!inst)
		return NULL;
	if (!tracefs_instance_is_new(inst)) {
		/* not ours: never destroy what someone else created */
		tracefs_instance_free(inst);
		errno = EEXIST;
		return NULL;
	}
	return inst;
}

void pfw_ft_instance_remove(struct tracefs_instance *inst)
{
	if (!inst)
		return;
	tracefs_trace_off(inst);
	/* rmdir of an instance disables its tracer and events itself */
	tracefs_instance_destroy(inst);
	tracefs_instance_free(inst);
}

int pfw_ft_kprobe_add(const char *def)
{
	return write_file(PFW_FT_TRACEFS "/kprobe_events", def, O_APPEND);
}

void pfw_ft_kprobe_remove_group(const char *group)
{
	char dels[8][160];
	int n = 0;
	char line[1024];
	FILE *f = fopen(PFW_FT_TRACEFS "/kprobe_events", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && n < 8) {
		char grp[64], ev[64];

		if (sscanf(line, "%*[^:]:%63[^/]/%63s", grp, ev) == 2 && !strcmp(grp, group))
			snprintf(dels[n++], sizeof(dels[0]), "-:%s/%s", grp, ev);
	}
	fclose(f);
	for (int i = 0; i < n; i++)
		write_file(PFW_FT_TRACEFS "/kprobe_events", dels[i], O_APPEND);
}

/* ---- the top level ---- */

#define TOP_MAX 40

struct pfw_ft_toplevel {
	int n;
	char file[TOP_MAX][128];
	char val[TOP_MAX][128];
	char state_path[128];
	int lock_fd;
};

/*
 * What a file reads back as, in the form it is written: "nop", "0",
 * "[mono] local ..." -> "mono", "no pid" and "#### all functions enabled"
 * -> "" (empty: written with O_TRUNC clears the list).
 */
static void normalize(const char *file, char *buf, char *out, size_t outlen)
{
	char *p;

	buf[strcspn(buf, "\n")] = '\0';
	if (!strcmp(file, "trace_clock") && (p = strchr(buf, '['))) {
		p++;
		p[strcspn(p, "]")] = '\0';
		snprintf(out, outlen, "%s", p);
		return;
	}
	if (buf[0] == '#' || !strcmp(buf, "no pid"))
		buf[0] = '\0';
	snprintf(out, outlen, "%s", buf);
}

/*
 * Read with plain read(2): tracefs_instance_file_read() returns NULL with
 * errno 0 for an empty file, and an idle set_event or set_event_pid is
 * empty, so through it an idle top level read as busy (6.1 lane).
 */
static int read_normalized(const char *file, char *out, size_t outlen)
{
	char path[256], buf[4096];
	size_t len = 0;
	ssize_t n;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), PFW_FT_TRACEFS "/%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return -e;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	normalize(file, buf, out, outlen);
	return 0;
}

/*
 * Without this file a SIGKILLed run's top level stays armed for good, so a
 * state that cannot be written refuses the top level (-errno). /run may
 * not exist at all (a bare initramfs: the 6.1 lane left function_graph
 * and our kprobes enabled that way).
 */
static int save_state(struct pfw_ft_toplevel *t)
{
	char tmp[160];
	FILE *f;
	int e;

	if (mkdir("/run", 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(STATE_DIR, 0700) && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->state_path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	for (int i = 0; i < t->n; i++)
		fprintf(f, "%s\t%s\n", t->file[i], t->val[i]);
	if (fflush(f) || fsync(fileno(f))) {
		e = errno;
		fclose(f);
		unlink(tmp);
		return -e;
	}
	if (fclose(f) || rename(tmp, t->state_path)) {
		e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

static int top_write(const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), PFW_FT_TRACEFS "/%s", file);
	/* an empty value clears a list file (set_ftrace_filter, set_ftrace_pid, ...) */
	return write_file(path, val[0] ? val : "\n", O_TRUNC);
}

bool pfw_ft_toplevel_busy(char *why, size_t len)
{
	static const char *const must_be_empty[] = {
		"set_ftrace_filter", "set_graph_function", "set_ftrace_pid",
		"set_event",	     "set_event_pid",
	};
	char v[128];

	if (read_normalized("current_tracer", v, sizeof(v)) || strcmp(v, "nop")) {
		snprintf(why, len, "current_tracer=%s", v[0] ? v : "?");
		return true;
	}
	for (size_t i = 0; i < sizeof(must_be_empty) / sizeof(must_be_empty[0]); i++) {
		if (!pfw_ft_file_exists(must_be_empty[i]))
			continue;
		if (read_normalized(must_be_empty[i], v, sizeof(v)) || v[0]) {
			snprintf(why, len, "%s is set", must_be_empty[i]);
			return true;
		}
	}
	return false;
}

int pfw_ft_fgraph_in_instance(void)
{
	struct tracefs_instance *inst = pfw_ft_instance_new();
	bool yes;

	if (!inst)
		return -(errno ?: EIO);
	yes = pfw_ft_has_tracer(inst, "function_graph");
	pfw_ft_instance_remove(inst);
	return yes;
}

/*
 * Two pfwatch runs starting together both find the top level idle, both
 * save "idle" and arm it, and the second saves the first's values as the
 * ones to restore: the 6.1 lane's "two at once" left function_graph armed
 * with the first run's pid filter. One holder at a time, by a lock the
 * kernel drops when its holder dies (SIGKILL included).
 */
static int toplevel_lock(void)
{
	int fd;

	if (mkdir("/run", 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(STATE_DIR, 0700) && errno != EEXIST)
		return -errno;
	fd = open(STATE_DIR "/toplevel.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return fd;
}

struct pfw_ft_toplevel *pfw_ft_toplevel_take(int *errp, char *err, size_t errlen)
{
	struct pfw_ft_toplevel *t;
	char why[160];
	int lock_fd = toplevel_lock();

	if (lock_fd < 0) {
		*errp = lock_fd;
		if (lock_fd == -EBUSY)
			snprintf(
				err, errlen,
				"another pfwatch holds the tracefs top level, and this kernel runs "
				"function_graph only there");
		else
			snprintf(err, errlen, "cannot lock " STATE_DIR "/toplevel.lock: %s",
				 strerror(-lock_fd));
		return NULL;
	}
	if (pfw_ft_toplevel_busy(why, sizeof(why))) {
		close(lock_fd);
		snprintf(err, errlen,
			 "the tracefs top level is in use (%s) and this kernel runs "
			 "function_graph only there; stop the other tracer or use "
			 "--ftrace-attach=events",
			 why);
		*errp = -EBUSY;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(lock_fd);
		*errp = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(t->state_path, sizeof(t->state_path), STATE_DIR "/toplevel-%d", (int)getpid());
	*errp = save_state(t);
	if (*errp) {
		snprintf(err, errlen,
			 "cannot save the tracefs top level's state to " STATE_DIR ": %s",
			 strerror(-*errp));
		close(lock_fd);
		free(t);
		return NULL;
	}
	t->lock_fd = lock_fd;
	return t;
}

int pfw_ft_toplevel_set(struct pfw_ft_toplevel *t, const char *file, const char *val)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->file[i], file))
			break;
	if (i == t->n) {
		if (t->n == TOP_MAX)
			return -ENOSPC;
		snprintf(t->file[i], sizeof(t->file[i]), "%s", file);
		if (read_normalized(file, t->val[i], sizeof(t->val[i])))
			return -ENOENT;
		t->n++;
		/* on disk before the change, so a SIGKILL right after is recoverable */
		if (save_state(t)) {
			t->n--;
			return -EIO;
		}
	}
	return top_write(file, val);
}

void pfw_ft_toplevel_restore(struct pfw_ft_toplevel *t)
{
	if (!t)
		return;
	/* reverse order: current_tracer (set last) goes back to nop first */
	for (int i = t->n - 1; i >= 0; i--)
		top_write(t->file[i], t->val[i]);
	unlink(t->state_path);
	/* only now may the next run look at the top level */
	close(t->lock_fd);
	free(t);
}

static void toplevel_restore_file(const char *path)
{
	char lines[TOP_MAX][260];
	char line[260];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		while (n < TOP_MAX && fgets(line, sizeof(line), f))
			snprintf(lines[n++], sizeof(lines[0]), "%s", line);
		fclose(f);
	}
	for (int i = n - 1; i >= 0; i--) {
		char *tab = strchr(lines[i], '\t');

		if (!tab)
			continue;
		*tab++ = '\0';
		tab[strcspn(tab, "\n")] = '\0';
		top_write(lines[i], tab);
	}
	unlink(path);
}
