// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stderr messages. Every line starts with "pfwatch: " so that a user piping
 * the tool's stdout into jq can still tell our complaints from the traced
 * command's own stderr.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int pfw_verbose;
int pfw_quiet;

static void vlog(const char *fmt, va_list ap)
{
	/* one fprintf per line would interleave with the child's stderr less, but
	 * stderr is unbuffered anyway: build the line first and write it once */
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "pfwatch: %s\n", buf);
}

void pfw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void pfw_warn(const char *fmt, ...)
{
	va_list ap;

	if (pfw_quiet)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void pfw_info(int level, const char *fmt, ...)
{
	va_list ap;

	if (pfw_quiet || pfw_verbose < level)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
