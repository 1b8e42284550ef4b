/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Messages to stderr: one line, "pfwatch: " + what went wrong + what to do. */
#ifndef PFW_LOG_H
#define PFW_LOG_H

extern int pfw_verbose; /* -v count */
extern int pfw_quiet;   /* -q */

void pfw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pfw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pfw_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
