/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pfwatch --validate (SPEC.md): run the workload once under every available
 * backend and attach mode, compare with the ground truth (the traced
 * processes' majflt and, for the bundled workload, its exact expectation),
 * print the agreement table. Returns the exit code: 0 agree, 4 disagree,
 * 3 no backend could run, 1/2 as usual.
 */
#ifndef PFW_VALIDATE_H
#define PFW_VALIDATE_H

#include "opts.h"

int pfw_validate(const struct pfw_opts *opts);

#endif
