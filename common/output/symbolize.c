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

#include "hashtab.h"
#include "maps.h"
#include "session.h"
#include "symbolize.h"

#ifdef HAVE_LIBDW
const int pfw_symbolize_available = 1;
#else
const int pfw_symbolize_available = 0;
#endif

/* ---- interned strings, never freed before exit ---- */
static struct pfw_strtab strs;

const char *pfw_sym_intern(const char *s)
{
	return s ? pfw_strtab_intern(&strs, s, strlen(s)) : NULL;
}

/* ---- per-binary caches ---- */
struct addr_ent {
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
	struct pfw_hashtab at; /* file offset -> index in addrs[] */
	struct addr_ent *addrs;
	size_t cap, n;
};

/* (inode, dev) -> struct bin * */
static struct pfw_hashtab bins;

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
	uint64_t dev = (uint64_t)m->dev_major << 32 | m->dev_minor;
	struct pfw_hent *h;
	struct bin *b;
	bool created;
	int fd;

	h = pfw_hashtab_get(&bins, m->inode, dev, 0, &created);
	if (!h)
		return NULL;
	if (!created)
		return (struct bin *)(uintptr_t)h->v;
	b = calloc(1, sizeof(*b));
	if (!b) {
		pfw_hashtab_delete(&bins, h, NULL);
		return NULL;
	}
	h->v = (uintptr_t)b;
	b->inode = m->inode;
	b->dev_major = m->dev_major;
	b->dev_minor = m->dev_minor;
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
	bool created;
	struct pfw_hent *h = pfw_hashtab_get(&b->at, off, 0, 0, &created);

	if (!h)
		return NULL;
	if (created) {
		if (pfw_array_room(&b->addrs, &b->cap, b->n, sizeof(*b->addrs))) {
			pfw_hashtab_delete(&b->at, h, NULL);
			return NULL;
		}
		lookup(b, off, &b->addrs[b->n]);
		h->v = b->n++;
	}
	return &b->addrs[h->v];
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
	struct pfw_htiter it;
	struct pfw_hent *h;

	pfw_hashtab_iter_init(&bins, &it);
	while ((h = pfw_hashtab_iter_next(&bins, &it))) {
		struct bin *b = (struct bin *)(uintptr_t)h->v;

#ifdef HAVE_LIBDW
		if (b->dwfl)
			dwfl_end(b->dwfl);
#endif
		pfw_hashtab_free(&b->at);
		free(b->addrs);
		free(b);
	}
	pfw_hashtab_free(&bins);
}
