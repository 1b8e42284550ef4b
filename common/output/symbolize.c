// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Symbolization (symbolize.h). The object is opened through
 * /proc/PID/map_files first: that is the very inode the process has mapped,
 * also when the file was deleted or replaced on disk since (a package
 * upgrade under a running daemon); only when the process is gone is the
 * path tried, and then only if its (dev, inode) still match the mapping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifdef HAVE_LIBDW
#include <elfutils/libdwfl.h>
#include <gelf.h>
#endif

#include "maps.h"
#include "session.h"
#include "symbolize.h"

#ifdef HAVE_LIBDW
const int pfw_symbolize_available = 1;
#else
const int pfw_symbolize_available = 0;
#endif

/* ---- interned strings: open addressing, never freed before exit ---- */
static struct {
	char **slot;
	size_t cap, n;
} strs;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

const char *pfw_sym_intern(const char *s)
{
	size_t i;

	if (!s)
		return NULL;
	if (strs.n * 2 >= strs.cap) {
		size_t ncap = strs.cap ? strs.cap * 2 : 1024;
		char **ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return NULL;
		for (size_t j = 0; j < strs.cap; j++) {
			if (!strs.slot[j])
				continue;
			for (i = hash_str(strs.slot[j]) & (ncap - 1); ns[i];
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = strs.slot[j];
		}
		free(strs.slot);
		strs.slot = ns;
		strs.cap = ncap;
	}
	for (i = hash_str(s) & (strs.cap - 1); strs.slot[i]; i = (i + 1) & (strs.cap - 1))
		if (!strcmp(strs.slot[i], s))
			return strs.slot[i];
	strs.slot[i] = strdup(s);
	if (!strs.slot[i])
		return NULL;
	strs.n++;
	return strs.slot[i];
}

/* ---- per-binary caches ---- */
struct addr_ent {
	uint64_t off; /* file offset looked up, +1 so 0 means empty */
	const char *func, *src;
	uint64_t symoff;
	uint32_t line;
	bool known;
};

struct bin {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	bool bad; /* cannot be read: every address is unknown */
#ifdef HAVE_LIBDW
	Dwfl *dwfl;
	Dwfl_Module *mod;
#endif
	struct addr_ent *addrs;
	size_t cap, n;
	struct bin *next;
};

#define BIN_BUCKETS 256
static struct bin *bins[BIN_BUCKETS];

static const struct pfw_frame *given;
static size_t nr_given;
static bool have_given;

void pfw_stack_given(const struct pfw_frame *frames, size_t n)
{
	given = frames;
	nr_given = n;
	have_given = frames != NULL;
}

#ifdef HAVE_LIBDW
static const Dwfl_Callbacks offline_cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};
#endif

static int open_object(const struct pfw_mapping *m, pid_t pid)
{
	char p[96];
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start,
		 m->end);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_ino != m->inode || major(st.st_dev) != m->dev_major ||
	    minor(st.st_dev) != m->dev_minor) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct bin *get_bin(const struct pfw_mapping *m, pid_t pid)
{
	unsigned h = (unsigned)((m->inode * 31 + m->dev_major * 7 + m->dev_minor) % BIN_BUCKETS);
	struct bin *b;
	int fd;

	for (b = bins[h]; b; b = b->next)
		if (b->inode == m->inode && b->dev_major == m->dev_major &&
		    b->dev_minor == m->dev_minor)
			return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->inode = m->inode;
	b->dev_major = m->dev_major;
	b->dev_minor = m->dev_minor;
	b->next = bins[h];
	bins[h] = b;
	fd = open_object(m, pid);
	if (fd < 0) {
		b->bad = true;
		return b;
	}
#ifdef HAVE_LIBDW
	b->dwfl = dwfl_begin(&offline_cb);
	if (b->dwfl) {
		/* libdwfl takes the descriptor and closes it with the module */
		b->mod = dwfl_report_offline(b->dwfl, m->path, m->path, fd);
		dwfl_report_end(b->dwfl, NULL, NULL);
	}
	if (!b->mod) {
		if (!b->dwfl)
			close(fd);
		b->bad = true;
	}
#else
	close(fd);
	b->bad = true;
#endif
	return b;
}

#ifdef HAVE_LIBDW
/* file offset -> the module's address, through the PT_LOAD that maps it */
static bool off_to_addr(struct bin *b, uint64_t off, Dwarf_Addr *addr)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(b->mod, &bias);
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (off >= ph.p_offset && off < ph.p_offset + ph.p_filesz) {
			*addr = off - ph.p_offset + ph.p_vaddr + bias;
			return true;
		}
	}
	return false;
}
#endif

static void lookup(struct bin *b, uint64_t off, struct addr_ent *e)
{
	memset(e, 0, sizeof(*e));
	e->off = off + 1;
#ifdef HAVE_LIBDW
	Dwarf_Addr addr;
	GElf_Off symoff = 0;
	GElf_Sym sym;
	const char *name;

	if (b->bad || !off_to_addr(b, off, &addr))
		return;
	name = dwfl_module_addrinfo(b->mod, addr, &symoff, &sym, NULL, NULL, NULL);
	if (name && *name) {
		e->func = pfw_sym_intern(name);
		e->symoff = symoff;
		e->known = e->func != NULL;
	}
	Dwfl_Line *l = dwfl_module_getsrc(b->mod, addr);
	int lineno = 0;
	const char *src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;

	if (src && lineno > 0) {
		e->src = pfw_sym_intern(src);
		e->line = (uint32_t)lineno;
	}
#else
	(void)b;
#endif
}

static const struct addr_ent *cached(struct bin *b, uint64_t off)
{
	size_t i;

	if (b->n * 2 >= b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		struct addr_ent *na = calloc(ncap, sizeof(*na));

		if (!na)
			return NULL;
		for (size_t j = 0; j < b->cap; j++) {
			if (!b->addrs[j].off)
				continue;
			for (i = (b->addrs[j].off * 0x9e3779b97f4a7c15ull >> 20) & (ncap - 1);
			     na[i].off; i = (i + 1) & (ncap - 1))
				;
			na[i] = b->addrs[j];
		}
		free(b->addrs);
		b->addrs = na;
		b->cap = ncap;
	}
	for (i = ((off + 1) * 0x9e3779b97f4a7c15ull >> 20) & (b->cap - 1); b->addrs[i].off;
	     i = (i + 1) & (b->cap - 1))
		if (b->addrs[i].off == off + 1)
			return &b->addrs[i];
	lookup(b, off, &b->addrs[i]);
	b->n++;
	return &b->addrs[i];
}

/* false when @ip is in no mapping: past the first frame, the walk went astray */
static bool resolve(struct pfw_session *s, pid_t pid, uint64_t ip, bool ret_addr,
		    struct pfw_frame *f)
{
	const struct pfw_mapping *m = pfw_maps_find(s->maps, pid, ip);
	const struct addr_ent *e;
	struct bin *b;
	uint64_t at = ret_addr && ip ? ip - 1 : ip;
	char buf[1024];

	memset(f, 0, sizeof(*f));
	f->ip = ip;
	/*
	 * No re-read of /proc/PID/maps on a miss here: events are read in
	 * batches, and a re-read made after the process exec'd or exited
	 * replaces the maps the fault happened in with later (or a zombie's
	 * empty) ones, losing every frame after it. A miss is [unknown].
	 */
	if (!m)
		return false;
	f->obj = m->path;
	if (!m->file)
		return true; /* JIT, anonymous, [vdso] without a file: [unknown] */
	b = get_bin(m, pid);
	if (!b)
		return true;
	e = cached(b, m->pgoff + at - m->start);
	if (!e || !e->known)
		return true;
	f->func = e->func;
	snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, e->func, e->symoff + (ip - at));
	f->sym = pfw_sym_intern(buf);
	f->src = e->src;
	f->line = e->line;
	return true;
}

size_t pfw_stack_frames(struct pfw_session *s, const struct pfw_event *ev,
			struct pfw_frame out[PFW_MAX_STACK])
{
	size_t n = 0;

	if (have_given) {
		n = nr_given < PFW_MAX_STACK ? nr_given : PFW_MAX_STACK;
		memcpy(out, given, n * sizeof(*out));
		return n;
	}
	if (ev->nr_stack && ev->stack) {
		for (uint32_t i = 0; i < ev->nr_stack && n < PFW_MAX_STACK; i++) {
			/* stop at the first unmapped return address: what follows is garbage */
			if (!resolve(s, ev->pid, ev->stack[i], i > 0, &out[n]) && i > 0)
				break;
			n++;
		}
	} else if (ev->flags & PFW_EV_IP) {
		resolve(s, ev->pid, ev->ip, false, &out[n++]);
	}
	return n;
}

void pfw_symbolize_reset(void)
{
	for (size_t h = 0; h < BIN_BUCKETS; h++) {
		while (bins[h]) {
			struct bin *b = bins[h];

			bins[h] = b->next;
#ifdef HAVE_LIBDW
			if (b->dwfl)
				dwfl_end(b->dwfl);
#endif
			free(b->addrs);
			free(b);
		}
	}
}
