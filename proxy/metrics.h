/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics - the figures operators chart, kept as plain counters, gauges and
 * histograms and printed in the Prometheus text format. Pure: no I/O.
 * Names follow kube-proxy's with the kproxy_ prefix.
 */
#ifndef KPROXY_METRICS_H
#define KPROXY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/strbuf.h"

#define METRICS_MAX_BUCKETS 80

struct metrics_histogram {
	const double *bounds; /* upper bounds, ascending */
	size_t n_bounds;
	uint64_t counts[METRICS_MAX_BUCKETS]; /* per bucket, not cumulative */
	uint64_t count;
	double sum;
};

/**
 * struct metrics - every figure kproxy exports.
 * @sync_duration: every sync; @sync_full_duration, @sync_partial_duration by kind.
 * @programming_latency: from a change arriving to its rules being in the kernel.
 * @iptables_total: rules kproxy owns per table; @iptables_last: rules written in
 *	the last restore.
 */
struct metrics {
	struct metrics_histogram sync_duration;
	struct metrics_histogram sync_full_duration;
	struct metrics_histogram sync_partial_duration;
	struct metrics_histogram programming_latency;
	double last_sync_timestamp;
	double last_queued_timestamp;
	uint64_t endpoint_changes_pending;
	uint64_t endpoint_changes_total;
	uint64_t service_changes_pending;
	uint64_t service_changes_total;
	uint64_t iptables_total[2]; /* filter, nat */
	uint64_t iptables_last[2];
	uint64_t restore_failures_total;
	uint64_t partial_restore_failures_total;
	uint64_t no_local_endpoints_internal;
	uint64_t no_local_endpoints_external;
	uint64_t healthz_200_total;
	uint64_t healthz_503_total;
	uint64_t livez_200_total;
	uint64_t livez_503_total;
	uint64_t conntrack_deleted_total;
	uint64_t healthcheck_bind_failures_total;
	uint64_t services;
	uint64_t endpoints;
	uint64_t open_fds; /* these four are set when scraped */
	uint64_t max_fds;
	uint64_t http_refused_total;
	uint64_t http_header_timeouts_total;
};

/* Sets the bucket bounds of every histogram and zeroes the rest. */
void metrics_init(struct metrics *m);

void metrics_observe(struct metrics_histogram *h, double value);

/* Appends the whole exposition text, sorted by metric name. */
void metrics_format(const struct metrics *m, struct strbuf *out);

#endif
