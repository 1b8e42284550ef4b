/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The command line (SPEC.md "Invocation") -> struct pfw_opts. */
#ifndef PFW_CLI_H
#define PFW_CLI_H

#include <stdio.h>

#include "opts.h"

/**
 * pfw_cli_parse() - parse and check @argv into @o.
 *
 * Usage errors print one line plus the "Try 'pfwatch --help'" hint on stderr
 * and return PFW_EXIT_USAGE; a well-formed target that does not exist (no
 * such cgroup v2 directory, unknown user) prints one line and returns
 * PFW_EXIT_RUNTIME; --help / --version print to stdout and return
 * PFW_EXIT_OK. Return: -1 to go on, else the exit code. @o must be freed
 * with pfw_cli_free() in every case.
 */
int pfw_cli_parse(int argc, char **argv, struct pfw_opts *o);
void pfw_cli_free(struct pfw_opts *o);

/* --help text */
void pfw_cli_usage(FILE *fp);

/**
 * pfw_parse_seconds() - "10", "0.5", "1.25" -> nanoseconds. No sign, no
 * exponent, no units. Return: 0, -EINVAL (malformed) or -ERANGE.
 */
int pfw_parse_seconds(const char *s, uint64_t *ns);

#endif
