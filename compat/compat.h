/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shims for libc and kernel-header differences. Each says what it covers.
 */
#ifndef PFW_COMPAT_H
#define PFW_COMPAT_H

#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

/* glibc has no wrapper for perf_event_open(2) */
static inline int pfw_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
				      int group_fd, unsigned long flags)
{
	return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}

/* PERF_RECORD_MISC_MMAP_BUILD_ID: uapi 5.12; not needed, but keep older headers building */
#ifndef PERF_RECORD_MISC_MMAP_BUILD_ID
#define PERF_RECORD_MISC_MMAP_BUILD_ID (1 << 14)
#endif

#endif
