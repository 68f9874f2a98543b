// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "proxy/metrics.h"

/* 1 ms doubling, 15 buckets: the sync-duration buckets kube-proxy uses. */
static const double sync_bounds[] = { 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128,
				      0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384 };

/*
 * kube-proxy's network-programming histogram: 0.25 s and 0.5 s, then 1 to
 * 59 s by 1 s, 60 to 115 s by 5 s, 120 to 300 s by 30 s.
 */
/* clang-format off */
static const double latency_bounds[] = {
	0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
	22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
	44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85,
	90, 95, 100, 105, 110, 115, 120, 150, 180, 210, 240, 270, 300
};
/* clang-format on */

#define N(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(N(sync_bounds) <= METRICS_MAX_BUCKETS, "sync_bounds: raise METRICS_MAX_BUCKETS");
_Static_assert(N(latency_bounds) <= METRICS_MAX_BUCKETS,
	       "latency_bounds: raise METRICS_MAX_BUCKETS");

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->sync_duration.bounds = sync_bounds;
	m->sync_duration.n_bounds = N(sync_bounds);
	m->sync_full_duration = m->sync_duration;
	m->sync_partial_duration = m->sync_duration;
	m->programming_latency.bounds = latency_bounds;
	m->programming_latency.n_bounds = N(latency_bounds);
}

void metrics_observe(struct metrics_histogram *h, double value)
{
	size_t i;

	for (i = 0; i < h->n_bounds; i++) {
		if (value <= h->bounds[i]) {
			h->counts[i]++;
			break;
		}
	}
	h->count++;
	h->sum += value;
}

static void header(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP kproxy_%s %s\n# TYPE kproxy_%s %s\n", name, help, name, type);
}

static void counter(struct strbuf *out, const char *name, const char *help, uint64_t v)
{
	header(out, name, "counter", help);
	strbuf_addf(out, "kproxy_%s %llu\n", name, (unsigned long long)v);
}

static void gauge(struct strbuf *out, const char *name, const char *help, double v)
{
	header(out, name, "gauge", help);
	strbuf_addf(out, "kproxy_%s %.17g\n", name, v);
}

static void labelled(struct strbuf *out, const char *name, const char *type, const char *help,
		     const char *label, const char *const *values, const uint64_t *v, size_t n)
{
	size_t i;

	header(out, name, type, help);
	for (i = 0; i < n; i++)
		strbuf_addf(out, "kproxy_%s{%s=\"%s\"} %llu\n", name, label, values[i],
			    (unsigned long long)v[i]);
}

static void histogram(struct strbuf *out, const char *name, const char *help,
		      const struct metrics_histogram *h)
{
	uint64_t cum = 0;
	size_t i;

	header(out, name, "histogram", help);
	for (i = 0; i < h->n_bounds; i++) {
		cum += h->counts[i];
		strbuf_addf(out, "kproxy_%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
			    (unsigned long long)cum);
	}
	strbuf_addf(out, "kproxy_%s_bucket{le=\"+Inf\"} %llu\n", name,
		    (unsigned long long)h->count);
	strbuf_addf(out, "kproxy_%s_sum %.17g\n", name, h->sum);
	strbuf_addf(out, "kproxy_%s_count %llu\n", name, (unsigned long long)h->count);
}

void metrics_format(const struct metrics *m, struct strbuf *out)
{
	static const char *const tables[] = { "filter", "nat" };
	static const char *const policies[] = { "external", "internal" };
	static const char *const codes[] = { "200", "503" };
	uint64_t v[2];

	counter(out, "conntrack_deleted_entries_total",
		"UDP conntrack entries deleted because their endpoint is gone",
		m->conntrack_deleted_total);
	gauge(out, "endpoints", "endpoint chains", (double)m->endpoints);
	counter(out, "healthcheck_bind_failures_total",
		"health-check node ports that could not be opened",
		m->healthcheck_bind_failures_total);
	counter(out, "http_connections_refused_total",
		"HTTP connections refused to keep file descriptors for syncing",
		m->http_refused_total);
	counter(out, "http_header_timeouts_total",
		"HTTP connections closed for not sending a request in time",
		m->http_header_timeouts_total);
	histogram(out, "network_programming_duration_seconds",
		  "time from a change arriving to its rules being in the kernel",
		  &m->programming_latency);
	gauge(out, "process_max_fds", "the soft limit of open file descriptors",
	      (double)m->max_fds);
	gauge(out, "process_open_fds", "open file descriptors", (double)m->open_fds);
	v[0] = m->healthz_200_total;
	v[1] = m->healthz_503_total;
	labelled(out, "proxy_healthz_total", "counter", "/healthz answers by status code", "code",
		 codes, v, 2);
	v[0] = m->livez_200_total;
	v[1] = m->livez_503_total;
	labelled(out, "proxy_livez_total", "counter", "/livez answers by status code", "code",
		 codes, v, 2);
	gauge(out, "services", "service ports with rules", (double)m->services);
	histogram(out, "sync_full_proxy_rules_duration_seconds", "duration of full syncs",
		  &m->sync_full_duration);
	histogram(out, "sync_partial_proxy_rules_duration_seconds", "duration of partial syncs",
		  &m->sync_partial_duration);
	histogram(out, "sync_proxy_rules_duration_seconds", "duration of syncs", &m->sync_duration);
	gauge(out, "sync_proxy_rules_endpoint_changes_pending", "endpoint changes not yet synced",
	      (double)m->endpoint_changes_pending);
	counter(out, "sync_proxy_rules_endpoint_changes_total", "endpoint changes seen",
		m->endpoint_changes_total);
	labelled(out, "sync_proxy_rules_iptables_last", "gauge",
		 "rules written by the last restore, per table", "table", tables, m->iptables_last,
		 2);
	counter(out, "sync_proxy_rules_iptables_partial_restore_failures_total",
		"failed partial restores", m->partial_restore_failures_total);
	counter(out, "sync_proxy_rules_iptables_restore_failures_total", "failed restores",
		m->restore_failures_total);
	labelled(out, "sync_proxy_rules_iptables_total", "gauge", "rules kproxy owns, per table",
		 "table", tables, m->iptables_total, 2);
	gauge(out, "sync_proxy_rules_last_queued_timestamp_seconds",
	      "when a change last asked for a sync", m->last_queued_timestamp);
	gauge(out, "sync_proxy_rules_last_timestamp_seconds", "when the last sync succeeded",
	      m->last_sync_timestamp);
	v[0] = m->no_local_endpoints_external;
	v[1] = m->no_local_endpoints_internal;
	labelled(out, "sync_proxy_rules_no_local_endpoints_total", "gauge",
		 "Local-policy service ports with endpoints, none of them on this node",
		 "traffic_policy", policies, v, 2);
	gauge(out, "sync_proxy_rules_service_changes_pending", "service changes not yet synced",
	      (double)m->service_changes_pending);
	counter(out, "sync_proxy_rules_service_changes_total", "service changes seen",
		m->service_changes_total);
}
