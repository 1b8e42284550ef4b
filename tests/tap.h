/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny TAP producer for C unit tests (automake's tap-driver.sh reads it).
 * The exit status is non-zero when any test failed (libtracefs' utest
 * returning 0 after failures is the counter-example).
 */
#ifndef PFW_TAP_H
#define PFW_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3))) int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline __attribute__((format(printf, 1, 2))) void tap_skip(const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("ok %d # SKIP ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline __attribute__((format(printf, 1, 2))) void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define tap_is_u64(got, want, name)                                                              \
	do {                                                                                       \
		uint64_t g_ = (got), w_ = (want);                                                  \
		if (!tap_ok(g_ == w_, "%s", name))                                                  \
			tap_diag("  got %" PRIu64 ", want %" PRIu64, g_, w_);                      \
	} while (0)

#define tap_is_str(got, want, name)                                                              \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!tap_ok(g_ && w_ && !strcmp(g_, w_), "%s", name))                              \
			tap_diag("  got '%s', want '%s'", g_ ? g_ : "(null)", w_ ? w_ : "(null)");  \
	} while (0)

/* end of the test program: the plan is printed last when none was given */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
