/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --input: a JSON Lines recording made with --format=json, read back and
 * shown through any view, as if its faults were arriving live.
 */
#ifndef PFW_REPLAY_H
#define PFW_REPLAY_H

#include "opts.h"

/*
 * Returns the exit code: 0, or PFW_EXIT_RUNTIME (unreadable, malformed lines,
 * or not a single pfwatch record in it: then no view is shown at all).
 */
int pfw_replay(const struct pfw_opts *opts);

#endif
