// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Naming the files faults land in: the per-CPU MMAP2 records (the name
 * in-band, with the inode generation, as each mapping is made), a ring of
 * recent names, /proc at a file's first fault, and kprobe-nobtf's mmap
 * announcements inserted as exact ranges. Every name is taken while the
 * mapping most likely still exists.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agg.h"
#include "maps.h"
#include "session.h"

#include "bpf/bpf_priv.h"

/*
 * A file's path, learnt when its first fault arrives, while the mapping
 * most likely still exists: the maps keep (dev, ino) -> path after the mapping or
 * the process is gone. The MMAP2 record of a mapping of that very inode
 * (generation included) comes first: it was taken as the mapping was made,
 * so it is there when a short-lived process exited before its faults were
 * read, which /proc is not. Then /proc/PID/maps (pfw_maps_load_proc() takes
 * the exact name where it escapes it), then the process's open files. Once
 * per (pid, dev, ino): the session's own reload on a miss is rate-limited
 * per pid, and several threads mapping new files at once would leave all
 * but one "[unknown]".
 */
void pfw_bpf_learn_path(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	unsigned slot = (unsigned)(e->ino * 31 + e->dev * 7 + e->pid) % 256;
	uint32_t major = e->dev >> 20, minor = e->dev & 0xfffff;
	const char *name;

	if (!maps || pfw_maps_path_of(maps, major, minor, e->ino))
		return;
	if (p->tried[slot].ino == e->ino && p->tried[slot].dev == e->dev &&
	    p->tried[slot].pid == (int32_t)e->pid)
		return;
	p->tried[slot].ino = e->ino;
	p->tried[slot].dev = e->dev;
	p->tried[slot].pid = e->pid;
	/* its mmap came before its fault: the record is in the rings */
	pfw_bpf_drain_mmaps(p);
	name = pfw_bpf_name_of(p, e->ino, major, minor, e->gen);
	if (name) {
		pfw_maps_name_inode(maps, major, minor, e->ino, name);
		return;
	}
	pfw_maps_load_proc(maps, "/proc", e->pid);
	/* the mapping already gone (we read late): the file is likely still open */
	if (!pfw_maps_path_of(maps, major, minor, e->ino))
		pfw_maps_learn_fd_path(maps, "/proc", e->pid, major, minor, e->ino);
}

/*
 * The first fault of a process the maps do not know yet: its mappings from
 * /proc, or, when it is gone already (it faulted and exited within one of
 * our reads), from its MMAP2 records in the ring of recent ones, oldest
 * first, so that its faults' files and call stacks still resolve. Asked
 * when the pid changes from one record to the next: a storm of one process
 * asks nothing.
 */
void pfw_bpf_track_pid(struct bpf_priv *p, uint32_t pid)
{
	struct pfw_maps *maps = p->s->maps;
	const struct recent_name *mine[RECENT_NAMES];
	size_t n = 0;

	p->last_pid = pid;
	if (!maps || !p->nr_mmap)
		return;
	if (pfw_maps_known(maps, (pid_t)pid))
		return;
	pfw_bpf_drain_mmaps(p);
	if (pfw_maps_load_proc(maps, "/proc", (pid_t)pid) == 0 || pfw_maps_known(maps, (pid_t)pid))
		return;
	for (unsigned i = 0; i < RECENT_NAMES; i++) {
		const struct recent_name *r = &p->recent[(p->recent_next + i) % RECENT_NAMES];

		if (r->path && r->pid == pid && r->time_ns)
			mine[n++] = r;
	}
	/* by time: the ring is in the order the per-CPU rings were read */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && mine[j - 1]->time_ns > mine[j]->time_ns; j--) {
			const struct recent_name *t = mine[j];

			mine[j] = mine[j - 1];
			mine[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		pfw_maps_mmap(maps, (pid_t)pid, mine[i]->start, mine[i]->end - mine[i]->start,
			      mine[i]->pgoff, mine[i]->major, mine[i]->minor, mine[i]->ino,
			      mine[i]->path);
}

/*
 * The file behind @link (a /proc/PID/fd or map_files entry): stat() follows
 * it to the open file itself, readlink() gives d_path(), exact.
 */
static bool file_of_link(const char *link, struct stat *st, char *buf, size_t len)
{
	ssize_t n;

	if (stat(link, st) || !S_ISREG(st->st_mode))
		return false;
	n = readlink(link, buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1 || buf[0] != '/')
		return false;
	buf[n] = '\0';
	return true;
}

/*
 * kprobe-nobtf: a new mapping, announced before the faults on it. Insert
 * the exact range now: its faults may be read after a munmap(), when
 * neither /proc/PID/maps nor map_files show it, and a whole re-read of the
 * maps then would also drop other threads' mappings whose faults are still
 * queued. The file comes from the fd the caller mapped while that number
 * still holds the file it held at the mmap (no fd_install() at it since:
 * ld.so closes each library's fd and the number is soon another file's);
 * else from the mapping itself while it exists (map_files, or the maps
 * line at its address with the same file offset). The ELF loader's
 * mappings (no length) re-read the maps: it runs in exec, before any fault
 * of the new image.
 */
static bool fd_unchanged(const struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	__u64 key = (__u64)e->pid << 32 | (__u32)e->ino;
	__u32 now = 0;

	if (p->fd_gens_fd < 0)
		return true;
	if (bpf_map_lookup_elem(p->fd_gens_fd, &key, &now))
		now = 0;
	return now == e->gen;
}

/*
 * What is mapped at e->addr now is this record's mapping (or nothing): no
 * mmap(2) of the process in flight, and none recorded at that address since.
 * Asked before and after reading /proc.
 */
static bool latest_at(const struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct {
		__u32 tgid;
		__u32 pad;
		__u64 addr;
	} key = {.tgid = e->pid, .addr = e->addr};
	__u32 now = 0, busy = 0;

	if (p->mmap_seqs_fd < 0)
		return true;
	if (!bpf_map_lookup_elem(p->mmaps_inflight_fd, &e->pid, &busy) && busy)
		return false;
	if (bpf_map_lookup_elem(p->mmap_seqs_fd, &key, &now))
		now = 0;
	return now == e->dev;
}

void pfw_bpf_announce_mmap(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	char link[96], buf[PATH_MAX + 16];
	struct pfw_mapping x;
	struct stat st;

	if (!e->ip || !pfw_maps_known(maps, e->pid)) {
		pfw_maps_load_proc(maps, "/proc", e->pid);
		if (!e->ip)
			return;
	}
	if (!(e->flags & PFW_BPF_F_MMAP_FD)) {
		pfw_maps_mmap(maps, e->pid, e->addr, e->ip, 0, 0, 0, 0, NULL);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%u/fd/%llu", e->pid, (unsigned long long)e->ino);
	/*
	 * fd_install() is probed at its entry, before the new file is in the
	 * table: a count unchanged after the readlink means the link still
	 * showed the mapped file (asked before too, to skip /proc when it moved)
	 */
	if (fd_unchanged(p, e) && file_of_link(link, &st, buf, sizeof(buf)) && fd_unchanged(p, e))
		goto found;
	/* a newer mapping at the same place would be another file's */
	if (!latest_at(p, e))
		goto unknown;
	snprintf(link, sizeof(link), "/proc/%u/map_files/%llx-%llx", e->pid,
		 (unsigned long long)e->addr, (unsigned long long)(e->addr + e->ip));
	if (file_of_link(link, &st, buf, sizeof(buf))) {
		if (!latest_at(p, e))
			goto unknown;
		goto found;
	}
	/* split since (ld.so maps a library whole, then its segments over it) */
	if (!pfw_maps_proc_at(maps, "/proc", e->pid, e->addr, &x) && x.file && x.start == e->addr &&
	    x.pgoff == e->offset && latest_at(p, e)) {
		pfw_maps_mmap(maps, e->pid, e->addr, e->ip, e->offset, x.dev_major, x.dev_minor,
			      x.inode, x.path);
		return;
	}
unknown:
	/*
	 * gone already, its fd reused: unnamed rather than misnamed (a hole
	 * would re-read the maps, which show what is there now)
	 */
	pfw_maps_mmap(maps, e->pid, e->addr, e->ip, 0, 0, 0, 0, "[unknown]");
	return;
found:
	pfw_maps_mmap(maps, e->pid, e->addr, e->ip, e->offset, major(st.st_dev), minor(st.st_dev),
		      st.st_ino, buf);
}

const char *pfw_bpf_name_of(const struct bpf_priv *p, uint64_t ino, uint32_t major, uint32_t minor,
			    uint32_t gen)
{
	const char *n = p->names ? pfw_agg_file_path(p->names, ino, major, minor, gen) : NULL;

	/* newest first */
	for (unsigned i = 0; !n && i < RECENT_NAMES; i++) {
		const struct recent_name *r =
			&p->recent[(p->recent_next + RECENT_NAMES - 1 - i) % RECENT_NAMES];

		if (!r->path)
			break;
		if (r->ino == ino && r->gen == gen && r->major == major && r->minor == minor)
			n = r->path;
	}
	return n;
}

struct recent_name *pfw_bpf_remember_name(struct bpf_priv *p, uint64_t ino, uint32_t major,
					  uint32_t minor, uint32_t gen, const char *path)
{
	struct recent_name *r = &p->recent[p->recent_next];
	char *copy = strdup(path);

	if (!copy)
		return NULL;
	free(r->path);
	*r = (struct recent_name){
		.ino = ino, .major = major, .minor = minor, .gen = gen, .path = copy};
	p->recent_next = (p->recent_next + 1) % RECENT_NAMES;
	return r;
}

/*
 * The file mapped at @addr in @pid at @time_ns, from the MMAP2 records:
 * the newest mapping made before the fault that covers the address. A
 * fault tp could not look its vma up for is read after its thread (or a
 * sibling) may have unmapped the file and mapped another one at the same
 * address: neither /proc/PID/maps now nor the newest record would do.
 */
const struct recent_name *pfw_bpf_mapping_at(const struct bpf_priv *p, uint32_t pid, uint64_t addr,
					     uint64_t time_ns)
{
	for (unsigned i = 0; i < RECENT_NAMES; i++) {
		const struct recent_name *r =
			&p->recent[(p->recent_next + RECENT_NAMES - 1 - i) % RECENT_NAMES];

		if (!r->path)
			break;
		if (r->pid == pid && r->time_ns && r->time_ns <= time_ns && addr >= r->start &&
		    addr < r->end)
			return r;
	}
	return NULL;
}

/*
 * Names in-band: a dummy software event per CPU with mmap/mmap_data/mmap2
 * set delivers a PERF_RECORD_MMAP2 for every file mapping in the system,
 * with the path, the device, the inode and its generation, as it is made.
 * A file's name is then known even when its process has exited before
 * pfwatch reads its first fault, and a new file that reuses an inode
 * number cannot take an older file's name (/proc/PID/maps has no
 * generation). Optional: without it (no perf events), names come from
 * /proc at the first fault.
 */
#define MMAP_RING_PAGES 16

void pfw_bpf_open_mmaps(struct bpf_priv *p)
{
	int ncpu = libbpf_num_possible_cpus();
	long pg = sysconf(_SC_PAGESIZE);
	struct perf_event_attr a = {0};

	if (ncpu <= 0 || pg <= 0)
		return;
	p->mmap_fds = calloc(ncpu, sizeof(*p->mmap_fds));
	p->mmap_bases = calloc(ncpu, sizeof(*p->mmap_bases));
	p->mmap_rings = calloc(ncpu, sizeof(*p->mmap_rings));
	if (!p->mmap_fds || !p->mmap_bases || !p->mmap_rings)
		return;
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_DUMMY;
	a.mmap = 1;
	a.mmap_data = 1;
	a.mmap2 = 1;
	/* each record ends with its time, on the clock of bpf_ktime_get_ns() */
	a.sample_id_all = 1;
	a.sample_type = PERF_SAMPLE_TIME;
	a.use_clockid = 1;
	a.clockid = CLOCK_MONOTONIC;
	a.disabled = 1;
	a.watermark = 1;
	a.wakeup_watermark = (MMAP_RING_PAGES * pg) / 2;
	for (int c = 0; c < ncpu; c++) {
		int fd = (int)pfw_bpf_perf_event_open(&a, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		void *base;

		if (fd < 0) {
			if (errno == ENODEV) /* a possible CPU that is not online */
				continue;
			pfw_session_verbose(p->s, "bpf: no MMAP2 names (%s): from /proc instead",
					    strerror(errno));
			break;
		}
		base = mmap(NULL, (MMAP_RING_PAGES + 1) * pg, PROT_READ | PROT_WRITE, MAP_SHARED,
			    fd, 0);
		if (base == MAP_FAILED ||
		    pfw_ring_init(&p->mmap_rings[p->nr_mmap], base, pg, MMAP_RING_PAGES * pg)) {
			if (base != MAP_FAILED)
				munmap(base, (MMAP_RING_PAGES + 1) * pg);
			close(fd);
			break;
		}
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
		p->mmap_fds[p->nr_mmap] = fd;
		p->mmap_bases[p->nr_mmap] = base;
		p->nr_mmap++;
	}
}

void pfw_bpf_close_mmaps(struct bpf_priv *p)
{
	long pg = sysconf(_SC_PAGESIZE);

	for (int i = 0; i < p->nr_mmap; i++) {
		pfw_ring_fini(&p->mmap_rings[i]);
		munmap(p->mmap_bases[i], (MMAP_RING_PAGES + 1) * pg);
		close(p->mmap_fds[i]);
	}
	p->nr_mmap = 0;
	free(p->mmap_fds);
	free(p->mmap_bases);
	free(p->mmap_rings);
	p->mmap_fds = NULL;
	p->mmap_bases = NULL;
	p->mmap_rings = NULL;
}

/* MMAP2 body: pid tid addr len pgoff maj min ino ino_gen prot flags name, then the time */
void pfw_bpf_drain_mmaps(struct bpf_priv *p)
{
	for (int i = 0; i < p->nr_mmap; i++) {
		struct pfw_ring *r = &p->mmap_rings[i];
		const struct perf_event_header *h;

		if (!pfw_ring_read_init(r))
			continue;
		while ((h = pfw_ring_read_event(r))) {
			const uint8_t *b = (const uint8_t *)(h + 1);
			uint64_t ino, gen;
			uint32_t maj, min;
			size_t room;

			if (h->type == PERF_RECORD_MMAP2 && h->size > sizeof(*h) + 64 + 8 &&
			    !(h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
				struct recent_name *rn;
				uint32_t pid;
				uint64_t addr, len, pgoff, t;

				memcpy(&pid, b, 4);
				memcpy(&addr, b + 8, 8);
				memcpy(&len, b + 16, 8);
				memcpy(&pgoff, b + 24, 8);
				memcpy(&maj, b + 32, 4);
				memcpy(&min, b + 36, 4);
				memcpy(&ino, b + 40, 8);
				memcpy(&gen, b + 48, 8);
				memcpy(&t, (const uint8_t *)h + h->size - 8, 8);
				room = h->size - sizeof(*h) - 64 - 8;
				/*
				 * "//anon", "[heap]", "//toolong" (no inode): not
				 * files; pid 0: a process outside pfwatch's pid
				 * namespace (perf_event_pid()), not visible to it
				 */
				if (pid && ino && b[64] == '/' && b[65] != '/' &&
				    strnlen((const char *)b + 64, room) < room &&
				    (rn = pfw_bpf_remember_name(p, ino, maj, min, (uint32_t)gen,
								(const char *)b + 64))) {
					rn->pid = pid;
					rn->start = addr;
					rn->end = addr + len;
					rn->pgoff = pgoff;
					rn->time_ns = t;
					/*
					 * an address space the maps hold stays
					 * current (a process mapping a file, or
					 * exec'ing, after its maps were read)
					 */
					if (p->s->maps && pfw_maps_known(p->s->maps, (pid_t)pid))
						pfw_maps_mmap(p->s->maps, (pid_t)pid, addr, len,
							      pgoff, maj, min, ino, rn->path);
				}
			}
			pfw_ring_consume(r);
		}
		pfw_ring_read_done(r);
	}
}

/*
 * The name of a new in-kernel file row, taken now, at its first fault:
 * the mapping at the faulting address is that very file, and at stop (or
 * the exporter's next scrape) the process, the mapping and the name the
 * maps keep for (dev, ino) may be gone or belong to a newer file that
 * reuses the inode number.
 */
void pfw_bpf_name_file(struct bpf_priv *p, const struct pfw_bpf_event *e)
{
	struct pfw_maps *maps = p->s->maps;
	struct pfw_file_stats r = {0};
	const struct pfw_mapping *m;

	if (!p->names || !maps || !(e->flags & PFW_BPF_F_FILE))
		return;
	r.file = true;
	r.inode = e->ino;
	r.dev_major = e->dev >> 20;
	r.dev_minor = e->dev & 0xfffff;
	r.gen = e->gen;
	/* its mmap came before its first fault: the record is in the rings */
	pfw_bpf_drain_mmaps(p);
	r.path = pfw_bpf_name_of(p, r.inode, r.dev_major, r.dev_minor, r.gen);
	/*
	 * The mapping at the faulting address; read the process's maps again
	 * when ours do not show this file there (a new process, a new
	 * mapping): once per row, so once per file. Only when the mapping is
	 * gone already, the last name the maps knew for (dev, ino).
	 */
	for (int pass = 0; pass < 2 && !r.path; pass++) {
		if (pass)
			pfw_maps_load_proc(maps, "/proc", e->pid);
		m = pfw_maps_find(maps, e->pid, e->addr);
		if (m && m->file && m->inode == e->ino && m->dev_major == r.dev_major &&
		    m->dev_minor == r.dev_minor)
			r.path = m->path;
	}
	if (!r.path)
		r.path = pfw_maps_path_of(maps, r.dev_major, r.dev_minor, r.inode);
	if (r.path)
		pfw_agg_add_file(p->names, &r);
}
