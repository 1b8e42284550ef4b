/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cgroups as /proc/PID/cgroup and systemd-cgls name them: paths relative to
 * pfwatch's cgroup namespace root ("/system.slice/x.service"), found under
 * wherever the hierarchy is mounted (/sys/fs/cgroup on a unified host,
 * /sys/fs/cgroup/unified on a hybrid one, anything in a container). The v1
 * perf_event hierarchy is the filter of hosts without cgroup v2 (RHEL 8,
 * Amazon Linux 2, Ubuntu 20.04 by default); only perf can use it.
 */
#ifndef PFW_CGROUP_H
#define PFW_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pfw_cgroup_kind {
	PFW_CGROUP_V2,
	PFW_CGROUP_V1_PERF, /* the v1 perf_event controller's hierarchy */
};

/* where a hierarchy is mounted (its root, not a bind of a subtree), or NULL */
const char *pfw_cgroup_mount(enum pfw_cgroup_kind kind);

/*
 * --cgroup @arg: a directory of a cgroup filesystem, or a path as
 * /proc/PID/cgroup shows it (with or without the leading slash) under the
 * v2 mount, else under the v1 perf_event one. On success *@dir (malloc()ed),
 * *@id (the directory's inode: the v2 cgroup id) and *@kind are set and 0
 * is returned; else -errno with one line in @err.
 */
int pfw_cgroup_resolve(const char *arg, char **dir, uint64_t *id, enum pfw_cgroup_kind *kind,
		       char *err, size_t errlen);

/*
 * The cgroup of task @tid in hierarchy @kind as /proc shows it (malloc()ed),
 * or NULL when it is gone or has none there.
 */
char *pfw_cgroup_of_task(pid_t tid, enum pfw_cgroup_kind kind);

/*
 * The cgroup a process is labelled with: its v2 path; on a host without
 * cgroup v2, its name=systemd path (what systemd tracks units by).
 * malloc()ed, or NULL.
 */
char *pfw_cgroup_label(pid_t pid);

/* the same from a /proc/PID directory's fd */
char *pfw_cgroup_label_at(int piddir);

/*
 * Call @fn for every process in cgroup directory @dir and in the cgroups
 * below it. Returns how many were found, or -errno.
 */
int pfw_cgroup_procs(const char *dir, void (*fn)(pid_t pid, void *ctx), void *ctx);

/* task @tid is in the cgroup whose directory has inode @id, or in one below it */
bool pfw_cgroup_task_in(pid_t tid, uint64_t id, enum pfw_cgroup_kind kind);

/*
 * The v2 path of cgroup id @id (what bpf_get_current_cgroup_id() returns),
 * looked up in the hierarchy, or NULL when no cgroup has it (any more).
 * The string is the cache's, valid until pfw_cgroup_cache_free().
 */
const char *pfw_cgroup_path_of_id(uint64_t id);
/* free what this module keeps (at exit) */
void pfw_cgroup_cache_free(void);

#endif
