/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * User stacks as symbols: ip -> (mapped object, file offset) with the maps
 * of the process at the time of the fault, then the object's symbol table
 * and DWARF line table (libdw's libdwfl) -> function+offset, file:line.
 * One cache per binary, keyed by (dev, inode), so a replaced binary of the
 * same path is never read for the old one's addresses.
 */
#ifndef PFW_SYMBOLIZE_H
#define PFW_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct pfw_session;
struct pfw_maps;

/* one resolved frame; strings are interned for the life of the process */
struct pfw_frame {
	uint64_t ip;
	const char *sym;  /* "name+0x1f", NULL when unknown (JIT, anonymous, stripped) */
	const char *func; /* "name", NULL when unknown */
	const char
		*obj; /* the mapped object ("/usr/lib/.../libc.so.6", "[anon]"), NULL if unmapped */
	const char *src; /* source file, NULL without debug info */
	uint32_t line;	 /* 0 when unknown */
};

/* true when this build can symbolize (libdw); otherwise frames carry ip and obj only */
extern const int pfw_symbolize_available;

/**
 * pfw_stack_frames() - the frames of @ev, innermost first: its stack when
 * it has one, else its ip alone, else none. Returns the number written
 * (<= PFW_MAX_STACK). Frames after the first are return addresses, looked
 * up at ip - 1 so the line is the call's, not the next statement's.
 * With --input the recorded frames (pfw_stack_given) are returned instead.
 */
size_t pfw_stack_frames(struct pfw_session *s, const struct pfw_event *ev,
			struct pfw_frame out[PFW_MAX_STACK]);

/* --input: the next pfw_stack_frames() returns these (NULL, 0: back to symbolizing) */
void pfw_stack_given(const struct pfw_frame *frames, size_t n);

/* a string interned for the life of the process (symbol names, replayed paths) */
const char *pfw_sym_intern(const char *s);

/* free the per-binary caches (tests, leak checkers) */
void pfw_symbolize_reset(void);

#endif
