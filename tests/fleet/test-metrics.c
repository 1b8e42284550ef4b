// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The exporter's label rule on hand-fed counts (common/fleet/metrics.h): bounds,
 * [other], hysteresis, ageing, monotonic series, and escaping of label
 * values Prometheus would reject.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "opts.h"
#include "../tap.h"

#define S 1000000000ull

static uint64_t major_of(struct pfw_metrics *m, enum pfw_family f, const char *key)
{
	uint64_t ma = 0, mi = 0;

	return pfw_metrics_value(m, f, key, &ma, &mi) ? ma : UINT64_MAX;
}

static char *label(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	pfw_metrics_put_label(fp, s);
	fclose(fp);
	return buf;
}

int main(void)
{
	struct pfw_metrics_limits lim = {
		.named = {2, 2, 2}, .ttl_ns = 10 * S, .kinds = PFW_WANT_MAJOR};
	struct pfw_metrics *m = pfw_metrics_new(&lim);
	uint64_t t = 0, prev_other;
	char name[32], *l, *text = NULL;
	size_t len = 0;
	FILE *fp;

	/* two slots free: a and b are named at once, c goes to [other] */
	pfw_metrics_count(m, PFW_FAM_FILE, "/a", 10, 0, t);
	pfw_metrics_count(m, PFW_FAM_FILE, "/b", 5, 0, t);
	pfw_metrics_count(m, PFW_FAM_FILE, "/c", 7, 0, t);
	pfw_metrics_settle(m, t);
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/a"), 10, "a named from its first fault");
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/c"), UINT64_MAX, "c not named: family full");
	tap_is_u64(major_of(m, PFW_FAM_FILE, "[other]"), 7, "c's faults in [other]");

	/* c at 9 is not twice b's 5: no flapping */
	pfw_metrics_count(m, PFW_FAM_FILE, "/c", 2, 0, ++t);
	pfw_metrics_settle(m, t);
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/c"), UINT64_MAX, "hysteresis: 9 < 2 x 5 keeps b");

	/* c at 7 + 2 + 2 = 11 > 2 x 5: takes b's slot with its whole count; [other] does not move */
	prev_other = major_of(m, PFW_FAM_FILE, "[other]");
	pfw_metrics_count(m, PFW_FAM_FILE, "/c", 2, 0, ++t);
	pfw_metrics_settle(m, t);
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/c"), 11, "c promoted, cumulative since first seen");
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/b"), UINT64_MAX, "b left the exposition");
	tap_ok(major_of(m, PFW_FAM_FILE, "[other]") >= prev_other, "[other] never goes back");
	tap_is_u64(major_of(m, PFW_FAM_FILE, "[other]"), 11, "c's faults before promotion stay");

	/* b faults again while not named: [other] counts it, b's series stays gone */
	pfw_metrics_count(m, PFW_FAM_FILE, "/b", 1, 0, ++t);
	pfw_metrics_settle(m, t);
	tap_is_u64(major_of(m, PFW_FAM_FILE, "[other]"), 12, "an unnamed value's fault in [other]");

	/* thousands of values: never more than the bound named, memory fixed */
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "/churn/%d", i);
		pfw_metrics_count(m, PFW_FAM_FILE, name, 1, 0, t + (uint64_t)i);
		pfw_metrics_count(m, PFW_FAM_COMM, name + 7, 1, 0, t + (uint64_t)i);
	}
	t += 5000;
	pfw_metrics_settle(m, t);
	tap_ok(pfw_metrics_named(m, PFW_FAM_FILE) <= 2, "files named: %zu <= 2",
	       pfw_metrics_named(m, PFW_FAM_FILE));
	tap_ok(pfw_metrics_named(m, PFW_FAM_COMM) <= 2, "comms named: %zu <= 2",
	       pfw_metrics_named(m, PFW_FAM_COMM));
	tap_is_u64(major_of(m, PFW_FAM_FILE, "/a"), 10, "a still named with its count");

	/* idle past the TTL: everything ages out, counts stay in the totals */
	t += 11 * S;
	pfw_metrics_settle(m, t);
	tap_is_u64(pfw_metrics_named(m, PFW_FAM_FILE), 0, "idle values aged out");

	/* hostile label values: Prometheus must still parse the scrape */
	l = label("a\"b\\c\nd");
	tap_is_str(l, "a\\\"b\\\\c\\nd", "quote, backslash, newline escaped");
	free(l);
	l = label("/x\xff\x1b[31m\xc3\xa9");
	tap_is_str(l, "/x\\\\xff\\\\x1b[31m\xc3\xa9",
		   "invalid UTF-8 and controls as \\xNN, UTF-8 kept");
	free(l);

	fp = open_memstream(&text, &len);
	pfw_metrics_render(m, fp, true);
	fclose(fp);
	tap_ok(len > 6 && !strcmp(text + len - 6, "# EOF\n"), "OpenMetrics ends with # EOF");
	tap_ok(strstr(text, "# TYPE pfwatch_faults counter\n") != NULL,
	       "OpenMetrics counter family named without _total");
	free(text);
	pfw_metrics_free(m);

	/* refaults follow the file family's series: a named file's, else [other] */
	m = pfw_metrics_new(&lim);
	pfw_metrics_count(m, PFW_FAM_FILE, "/a", 10, 0, 0);
	pfw_metrics_count_refaults(m, "/a", 4, 0);
	pfw_metrics_count(m, PFW_FAM_FILE, "/b", 5, 0, 0);
	pfw_metrics_count_refaults(m, "/b", 1, 0);
	pfw_metrics_count(m, PFW_FAM_FILE, "/c", 7, 0, 0);
	pfw_metrics_count_refaults(m, "/c", 3, 2);
	pfw_metrics_settle(m, 0);
	{
		uint64_t ra = 0, ro = 0;

		tap_ok(pfw_metrics_refaults(m, "/a", &ra) && ra == 4, "refaults of a named file");
		tap_ok(pfw_metrics_refaults(m, "[other]", &ro) && ro == 3,
		       "refaults of an unnamed file in [other]");
		tap_ok(!pfw_metrics_refaults(m, "/c", &ro),
		       "an unnamed file has no refaults series");
	}
	text = NULL;
	fp = open_memstream(&text, &len);
	pfw_metrics_render(m, fp, false);
	fclose(fp);
	tap_ok(strstr(text, "pfwatch_file_refaults_total{file=\"/a\"} 4\n") &&
		       strstr(text, "pfwatch_file_refaults_total{file=\"[other]\"} 3\n") &&
		       strstr(text, "pfwatch_refaults_untracked_total 2\n"),
	       "the exposition has the refaults series and the untracked count");
	free(text);
	pfw_metrics_free(m);
	return tap_done();
}
