/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fleet mode: cumulative fault counters with a bounded label set, rendered
 * as Prometheus text (0.0.4) or OpenMetrics 1.0.
 *
 * The label rule (README "Fleet mode"): each family (file, comm, cgroup)
 * names at most N values; every fault is counted, at the moment it is
 * folded in, by exactly one series of each family: its value's series when
 * that value is named then, else the "[other]" series. A value is named as
 * soon as a slot is free; when the family is full, an unnamed value takes
 * the slot of the weakest named one only when it has at least twice its
 * count (hysteresis: two values of similar weight do not flap). A named
 * series is cumulative since pfwatch first saw its value (its series never
 * goes backwards); when it loses its slot or ages out (no fault for the
 * TTL) it disappears from the exposition, so sum(rate(...)) by family
 * equals the rate of pfwatch_faults_total and "[other]" never jumps.
 * Values that are not named are tracked (to find the next top ones) in a
 * table of fixed size; the least recently seen is forgotten first.
 */
#ifndef PFW_METRICS_H
#define PFW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agg.h"

enum pfw_family {
	PFW_FAM_FILE,
	PFW_FAM_COMM,
	PFW_FAM_CGROUP,
	PFW_FAM_NR,
};

struct pfw_metrics_limits {
	unsigned named[PFW_FAM_NR]; /* --top-files, --max-comms, --max-cgroups */
	uint64_t ttl_ns;	    /* --label-ttl: a value idle this long is forgotten */
	unsigned kinds;		    /* PFW_WANT_*: which kinds are counted */
};

struct pfw_metrics_info {
	const char *backend, *attach, *kernel, *version;
};

struct pfw_metrics;

struct pfw_metrics *pfw_metrics_new(const struct pfw_metrics_limits *lim);
void pfw_metrics_free(struct pfw_metrics *m);

/*
 * pfw_metrics_count() - fold @major and @minor faults of value @key of
 * family @fam in, as seen at @now_ns. Call pfw_metrics_settle() once after
 * a batch.
 */
void pfw_metrics_count(struct pfw_metrics *m, enum pfw_family fam, const char *key, uint64_t major,
		       uint64_t minor, uint64_t now_ns);
/*
 * pfw_metrics_count_refaults() - fold @refaults (and @untracked: faults on
 * pages the page set could not hold) of file @key in, right after its
 * pfw_metrics_count(): by its series if named, else by "[other]".
 */
void pfw_metrics_count_refaults(struct pfw_metrics *m, const char *key, uint64_t refaults,
				uint64_t untracked);
/* promotions and ageing, once per refresh */
void pfw_metrics_settle(struct pfw_metrics *m, uint64_t now_ns);

/* totals and latency (increments); @lat_sum_ns NULL when the sum per kind is unknown */
void pfw_metrics_add_totals(struct pfw_metrics *m, uint64_t major, uint64_t minor,
			    const uint64_t hist[2][PFW_HIST_BUCKETS]);
void pfw_metrics_add_lat_sum(struct pfw_metrics *m, unsigned kind, uint64_t ns);
/* the latency sum of @kind is not measured by this backend/mode: omit _sum */
void pfw_metrics_lat_sum_unknown(struct pfw_metrics *m, unsigned kind);
void pfw_metrics_set_lost(struct pfw_metrics *m, uint64_t lost);
void pfw_metrics_set_info(struct pfw_metrics *m, const struct pfw_metrics_info *info);

/* the number of named series of @fam (for tests and pfwatch_labels) */
size_t pfw_metrics_named(const struct pfw_metrics *m, enum pfw_family fam);
/* the value of a series, "[other]" for the fold; false if not exported */
bool pfw_metrics_value(const struct pfw_metrics *m, enum pfw_family fam, const char *key,
		       uint64_t *major, uint64_t *minor);
/* the refaults of file @key's series, "[other]" for the fold; false if not exported */
bool pfw_metrics_refaults(const struct pfw_metrics *m, const char *key, uint64_t *refaults);

/*
 * pfw_metrics_render() - the exposition to @fp: Prometheus text 0.0.4, or
 * OpenMetrics 1.0 (info type, "# EOF") when @openmetrics. pfwatch's own
 * CPU and memory (process_*) are read from /proc/self at this moment.
 */
void pfw_metrics_render(const struct pfw_metrics *m, FILE *fp, bool openmetrics);

/* a label value escaped for the exposition (\\, \", \n; invalid UTF-8 and controls as \\xNN) */
void pfw_metrics_put_label(FILE *fp, const char *s);

#define PFW_METRICS_OTHER "[other]"

#endif
