/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Maps resolution, shared by every backend: a model of each traced process's
 * address space (from /proc/PID/maps and then the backend's mmap/fork/exec/
 * exit updates) and of its threads' command names. Answers
 * address -> path, inode, dev, file offset.
 *
 * Keyed by pid (tgid). Paths are interned and stay valid until
 * pfw_maps_free(), so a struct pfw_event may point at them.
 */
#ifndef PFW_MAPS_H
#define PFW_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pfw_maps;

struct pfw_mapping {
	uint64_t start, end; /* [start, end) */
	uint64_t pgoff;	     /* file offset of start, in bytes */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	const char *path; /* interned: "/abs/path", "/abs/path (deleted)", "[heap]",
			      * "[stack]", "[vdso]", "[anon:NAME]", "[anon]" */
	bool file;	  /* backed by a file (inode != 0 and path not "[...]") */
};

struct pfw_maps *pfw_maps_new(void);
void pfw_maps_free(struct pfw_maps *m);

/**
 * pfw_maps_load_proc() - (re)read /proc/PID/maps and the comm of every thread
 * in /proc/PID/task, replacing what is known of @pid. A name the maps text
 * escapes (any with a backslash) is taken exactly from
 * /proc/PID/map_files/START-END, else "\012" is decoded to "\n" (a literal
 * "\012" in a name is then misread). Comms keep every byte but the one
 * "\n" /proc appends. A process that is gone, or whose maps read empty
 * (a zombie: its mm is released before it is reaped), keeps the table
 * known so far: its faults may still be queued.
 * @procfs: "/proc" (tests point it elsewhere)
 * Return: 0 or -errno (-ESRCH when the process is gone or a zombie).
 */
int pfw_maps_load_proc(struct pfw_maps *m, const char *procfs, pid_t pid);

/**
 * pfw_maps_proc_at() - the line of /proc/PID/maps that covers @addr now,
 * without changing what is known of @pid (faults still queued may need
 * mappings that are gone). Its path is interned in @m; an escaped name
 * is taken as the maps text gives it.
 * Return: 0 and *@out filled, -ENOENT when nothing is mapped there, or
 * -errno (-ESRCH when the process is gone).
 */
int pfw_maps_proc_at(struct pfw_maps *m, const char *procfs, pid_t pid, uint64_t addr,
		     struct pfw_mapping *out);

/**
 * pfw_maps_learn_fd_path() - name (dev, inode) from @pid's open file
 * descriptors (/proc/PID/fd links are d_path(), exact), for a file whose
 * mapping is already gone when its fault is read: a process usually still
 * holds the file open. Feeds pfw_maps_path_of().
 * Return: 0, -ENOENT (no such open file), -ESRCH or -errno.
 */
int pfw_maps_learn_fd_path(struct pfw_maps *m, const char *procfs, pid_t pid, uint32_t dev_major,
			   uint32_t dev_minor, uint64_t inode);

/**
 * pfw_maps_path_by_inode() - name (dev, inode) with no process to ask: the
 * mapping and the process may be gone before a backend's buffer is read.
 * Opens the inode by a file handle (FILEID_INO32_GEN, generation 0, which
 * ext2/3/4 accept) on a mount of the device whose root is the filesystem's
 * root, and reads the name back from /proc/self/fd (" (deleted)" appended
 * like maps). Needs CAP_DAC_READ_SEARCH; filesystems with other handle
 * formats refuse it. One attempt per (dev, inode); a name found feeds
 * pfw_maps_path_of().
 * Return: the interned path (the known one if any), or NULL.
 */
const char *pfw_maps_path_by_inode(struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor,
				   uint64_t inode);

/**
 * pfw_maps_parse() - parse the text of a /proc/PID/maps file into @pid's
 * table (replacing it). Hostile paths (spaces, newlines are impossible in
 * maps but "\012" escapes are not, " (deleted)", 4096 bytes) are kept as the
 * kernel printed them. Return: number of mappings, or -EINVAL on a malformed
 * line (lines that parse are kept).
 */
int pfw_maps_parse(struct pfw_maps *m, pid_t pid, const char *text, size_t len);

/**
 * pfw_maps_name_inode() - (dev, inode) is named @path, learnt without a
 * mapping to keep (a backend's in-band record of a mapping whose process
 * is gone): feeds pfw_maps_path_of(), last wins.
 */
void pfw_maps_name_inode(struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
			 const char *path);

/* PERF_RECORD_MMAP2-style update: the new mapping replaces any overlap */
void pfw_maps_mmap(struct pfw_maps *m, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		   uint32_t dev_major, uint32_t dev_minor, uint64_t inode, const char *path);
void pfw_maps_munmap(struct pfw_maps *m, pid_t pid, uint64_t start, uint64_t len);
/* a new process: copies the parent's mappings (fork) unless they are known */
void pfw_maps_fork(struct pfw_maps *m, pid_t parent, pid_t child);
/* exec: the address space is replaced; drop it */
void pfw_maps_exec(struct pfw_maps *m, pid_t pid);
void pfw_maps_exit(struct pfw_maps *m, pid_t pid);
/*
 * The process' cgroup label (cgroup.h), learnt with its maps from /proc and
 * inherited by its children; NULL when unknown.
 */
void pfw_maps_set_cgroup(struct pfw_maps *m, pid_t pid, const char *cgroup);
const char *pfw_maps_cgroup(const struct pfw_maps *m, pid_t pid);
bool pfw_maps_known(const struct pfw_maps *m, pid_t pid);

/* NULL when @addr is in no known mapping of @pid; valid until @pid's table next changes */
const struct pfw_mapping *pfw_maps_find(struct pfw_maps *m, pid_t pid, uint64_t addr);

/* thread names (PERF_RECORD_COMM, /proc/PID/task/TID/comm) */
void pfw_maps_set_comm(struct pfw_maps *m, pid_t pid, pid_t tid, const char *comm);
/* NULL if unknown */
const char *pfw_maps_comm(const struct pfw_maps *m, pid_t tid);
/* path of (dev, inode) seen in any mapping, NULL if never seen */
const char *pfw_maps_path_of(const struct pfw_maps *m, uint32_t dev_major, uint32_t dev_minor,
			     uint64_t inode);
/*
 * Long runs (--serve): free interned strings that no live address space
 * maps any more, whenever the pool has doubled. Only for callers that copy
 * every path they keep beyond the event it came with (the exporter does);
 * off by default, when interned pointers stay valid until pfw_maps_free().
 */
void pfw_maps_set_collect(struct pfw_maps *m, bool on);
/* intern a string for the lifetime of @m */
const char *pfw_maps_intern(struct pfw_maps *m, const char *s);

#endif
