/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a faulting page lives in: file, anonymous memory or shmem (event.h). */
#ifndef PFW_BACKING_H
#define PFW_BACKING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

/*
 * pfw_backing_of_dev() - FILE or SHMEM for a file on device MAJ:MIN as
 * process @pid (0: none) maps it; UNKNOWN when no readable mount table
 * shows the device. Answers are cached per device.
 */
enum pfw_backing pfw_backing_of_dev(uint32_t major, uint32_t minor, pid_t pid);

/* the backing of a resolved event (path set), from its file or mapping */
enum pfw_backing pfw_backing_of(const struct pfw_event *ev);

#endif
