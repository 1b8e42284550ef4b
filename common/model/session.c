// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one path every fault takes from a backend to the output: filter,
 * complete what the backend could not see (comm, path, file offset), count,
 * show. It runs once per fault, so it allocates nothing once the maps and
 * the aggregation have seen a thread and a file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "cgroup.h"
#include "backing.h"
#include "log.h"
#include "maps.h"
#include "session.h"

#define PFW_PAGE_MASK (~(uint64_t)4095)
/*
 * A fault in a mapping we do not know yet (mmap raced with our snapshot, or a
 * backend without mmap events) costs one re-read of /proc/PID/maps; a
 * process faulting in memory that /proc does not show either must not make
 * us re-read it per fault.
 */
#define RELOAD_INTERVAL_NS 50000000ull
#define RELOAD_SLOTS	   256

static struct {
	pid_t pid;
	uint64_t when;
} reloads[RELOAD_SLOTS];

uint64_t pfw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* true when @pid's maps may be re-read now (and records that they are) */
static bool may_reload(pid_t pid)
{
	unsigned slot = (unsigned)pid % RELOAD_SLOTS;
	uint64_t now = pfw_now_ns();

	if (reloads[slot].pid == pid && now - reloads[slot].when < RELOAD_INTERVAL_NS)
		return false;
	reloads[slot].pid = pid;
	reloads[slot].when = now;
	return true;
}

static bool read_comm(pid_t pid, pid_t tid, char comm[PFW_COMM_LEN])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, PFW_COMM_LEN);
	close(fd);
	if (n <= 0)
		return false;
	if (comm[n - 1] == '\n')
		n--;
	comm[n < PFW_COMM_LEN ? n : PFW_COMM_LEN - 1] = '\0';
	return true;
}

static void fill_comm(struct pfw_session *s, struct pfw_event *ev)
{
	const char *c = pfw_maps_comm(s->maps, ev->tid);

	if (c) {
		strncpy(ev->comm, c, PFW_COMM_LEN - 1);
		ev->comm[PFW_COMM_LEN - 1] = '\0';
		ev->flags |= PFW_EV_COMM;
	} else if (read_comm(ev->pid, ev->tid, ev->comm)) {
		ev->flags |= PFW_EV_COMM;
		pfw_maps_set_comm(s->maps, ev->pid, ev->tid, ev->comm);
	}
}

static void from_mapping(struct pfw_event *ev, const struct pfw_mapping *m)
{
	ev->path = m->path;
	if (!m->file)
		return;
	ev->inode = m->inode;
	ev->dev_major = m->dev_major;
	ev->dev_minor = m->dev_minor;
	ev->offset = m->pgoff + ((ev->addr & PFW_PAGE_MASK) - m->start);
	ev->flags |= PFW_EV_FILE;
}

static void resolve_path(struct pfw_session *s, struct pfw_event *ev)
{
	const struct pfw_mapping *m;

	if (ev->flags & PFW_EV_FILE) {
		/*
		 * The backend saw the inode: only the name is missing. The
		 * process's own mapping at the address is asked first: the
		 * (dev, inode) index keeps the last name seen for that inode
		 * number, which is a deleted file's when the number was reused.
		 */
		if (ev->flags & PFW_EV_ADDR) {
			m = pfw_maps_find(s->maps, ev->pid, ev->addr);
			if ((!m || m->inode != ev->inode) && may_reload(ev->pid) &&
			    pfw_maps_load_proc(s->maps, "/proc", ev->pid) == 0)
				m = pfw_maps_find(s->maps, ev->pid, ev->addr);
			if (m && m->inode == ev->inode && m->dev_major == ev->dev_major &&
			    m->dev_minor == ev->dev_minor) {
				ev->path = m->path;
				return;
			}
		}
		ev->path = pfw_maps_path_of(s->maps, ev->dev_major, ev->dev_minor, ev->inode);
		/* the mapping (or the process) is gone before its fault was read */
		if (!ev->path)
			ev->path = pfw_maps_path_by_inode(s->maps, ev->dev_major, ev->dev_minor,
							  ev->inode);
	} else if (ev->flags & PFW_EV_ADDR) {
		m = pfw_maps_find(s->maps, ev->pid, ev->addr);
		if (!m && may_reload(ev->pid) && pfw_maps_load_proc(s->maps, "/proc", ev->pid) == 0)
			m = pfw_maps_find(s->maps, ev->pid, ev->addr);
		/*
		 * The backend read the vma and it had no file: a file mapped
		 * at that address now came later (the maps are read after the
		 * fault), and must not take the fault.
		 */
		if (m && m->file && ev->backing == PFW_BACKING_ANON)
			ev->path = "[anon]";
		else if (m)
			from_mapping(ev, m);
	}
	if (!ev->path)
		ev->path = "[unknown]";
}

void pfw_session_emit(struct pfw_session *s, struct pfw_event *ev)
{
	const struct pfw_opts *o = s->opts;
	unsigned want = ev->kind == PFW_MAJOR ? PFW_WANT_MAJOR : PFW_WANT_MINOR;

	static pid_t self;

	if (!(o->faults & want))
		return;
	/*
	 * Our own faults, system-wide, feed back: each new page the
	 * aggregation touches is a fault that adds a page to it (measured:
	 * gigabytes of output per minute). A tracer is not its own subject.
	 */
	if (!self)
		self = getpid();
	if (ev->pid == self)
		return;
	if (!(ev->flags & PFW_EV_COMM))
		fill_comm(s, ev);
	/* an unknown name cannot be the one asked for */
	if (o->comm && (!(ev->flags & PFW_EV_COMM) || strncmp(ev->comm, o->comm, PFW_COMM_LEN)))
		return;
	if (!ev->path)
		resolve_path(s, ev);
	if (ev->backing == PFW_BACKING_UNKNOWN)
		ev->backing = pfw_backing_of(ev);
	s->nr_emitted++;
	/* refaults are marked on the event for the views (heatmap) */
	if (!s->kernel_aggregates) {
		struct pfw_thread_stats *t;

		ev->flags |= pfw_agg_add(s->agg, ev, &t);
		/* once per thread row, while the process most likely lives */
		if (t && !t->cgroup_looked) {
			const char *known = pfw_maps_cgroup(s->maps, ev->pid);
			char *cg = known ? NULL : pfw_cgroup_label(ev->pid);

			pfw_agg_thread_cgroup(s->agg, t, known ? known : cg);
			free(cg);
		}
	}
	if (s->sink)
		s->sink(s, ev);
}

void pfw_session_lost(struct pfw_session *s, uint64_t n)
{
	s->lost += n;
}

void pfw_session_verbose(struct pfw_session *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!pfw_verbose || pfw_quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (s && s->backend_name)
		pfw_info(1, "%s backend: %s", s->backend_name, buf);
	else
		pfw_info(1, "%s", buf);
}
