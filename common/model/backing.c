// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What a faulting page lives in (enum pfw_backing), for the backends that
 * do not say: a file system that is shmem (tmpfs, devtmpfs, and the
 * kernel's internal shm mount behind memfd, SysV shm and shared anonymous
 * memory) or a real one. The kernel's own test is the superblock's magic
 * (TMPFS_MAGIC), which the bpf backend reads; from user space the device
 * number is what a fault carries, so a device is looked up once in the
 * mount tables (/proc/self/mountinfo, then the faulting process's, which
 * may live in another mount namespace) and the answer kept.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backing.h"

#define DEV_CACHE 64

static struct {
	uint32_t major, minor;
	enum pfw_backing b;
} cache[DEV_CACHE];
static unsigned cache_n, cache_next;
/* the internal shm mount's device, learned from a memfd of our own; -1: unknown */
static long long shm_dev = -2;

static bool shm_device(uint32_t major, uint32_t minor)
{
	struct stat st;
	int fd;

	if (shm_dev == -2) {
		shm_dev = -1;
		fd = memfd_create("pfwatch-backing", MFD_CLOEXEC);
		if (fd >= 0) {
			if (!fstat(fd, &st))
				shm_dev = (long long)st.st_dev;
			close(fd);
		}
	}
	return shm_dev >= 0 && major == major((dev_t)shm_dev) && minor == minor((dev_t)shm_dev);
}

/* the file system type of MAJ:MIN in @path (a mountinfo), into @type; false if absent */
static bool mount_type(const char *path, uint32_t major, uint32_t minor, char *type, size_t len)
{
	char *line = NULL, want[32];
	size_t cap = 0;
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	snprintf(want, sizeof(want), " %u:%u ", major, minor);
	while (!found && getline(&line, &cap, f) > 0) {
		/* "36 35 98:0 /root /mnt opts [tags] - ext4 /dev/sda1 rw" */
		char *p = strstr(line, want), *sep = strstr(line, " - ");

		if (!p || !sep || p > sep)
			continue;
		if (sscanf(sep + 3, "%31s", want) == 1) {
			snprintf(type, len, "%s", want);
			found = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

enum pfw_backing pfw_backing_of_dev(uint32_t major, uint32_t minor, pid_t pid)
{
	char type[32], path[64];
	enum pfw_backing b = PFW_BACKING_UNKNOWN;
	bool found;

	/* tmpfs is never on a block device: only anonymous (major 0) devices need a look */
	if (major != 0)
		return PFW_BACKING_FILE;
	for (unsigned i = 0; i < cache_n; i++)
		if (cache[i].major == major && cache[i].minor == minor)
			return cache[i].b;
	if (shm_device(major, minor)) {
		b = PFW_BACKING_SHMEM;
	} else {
		found = mount_type("/proc/self/mountinfo", major, minor, type, sizeof(type));
		if (!found && pid > 0) {
			snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)pid);
			found = mount_type(path, major, minor, type, sizeof(type));
		}
		if (found)
			b = !strcmp(type, "tmpfs") || !strcmp(type, "devtmpfs") ? PFW_BACKING_SHMEM
										: PFW_BACKING_FILE;
		else
			/* a device no mount table we can read shows: do not guess, ask again later */
			return PFW_BACKING_UNKNOWN;
	}
	cache[cache_next].major = major;
	cache[cache_next].minor = minor;
	cache[cache_next].b = b;
	cache_next = (cache_next + 1) % DEV_CACHE;
	if (cache_n < DEV_CACHE)
		cache_n++;
	return b;
}

enum pfw_backing pfw_backing_of(const struct pfw_event *ev)
{
	if (ev->flags & PFW_EV_FILE)
		return pfw_backing_of_dev(ev->dev_major, ev->dev_minor, ev->pid);
	/* the mapping is known and has no file: anonymous memory ([anon], [heap], [stack]) */
	if (ev->path && ev->path[0] == '[' && strcmp(ev->path, "[unknown]"))
		return PFW_BACKING_ANON;
	return PFW_BACKING_UNKNOWN;
}
