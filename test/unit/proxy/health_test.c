// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Health answers: freshness against the sync timeout, the bodies load
 * balancers and kubelet read, the local endpoint count and node eligibility.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/decode.h"
#include "proxy/health.h"
#include "proxy/metrics.h"

struct fresh_case {
	uint64_t now, pending, timeout;
	bool want;
};

static const struct fresh_case fresh_cases[] = {
	{ 1000, 0, 60000, true },	 { 61000, 1000, 60000, false },
	{ 60999, 1000, 60000, true },	 { 500000, 499999, 60000, true },
	{ 120001, 60000, 60000, false },
};

static void test_fresh(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fresh_cases) / sizeof(fresh_cases[0]); i++)
		assert_int_equal(health_is_fresh(fresh_cases[i].now, fresh_cases[i].pending,
						 fresh_cases[i].timeout),
				 fresh_cases[i].want);
}

static void test_bodies(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	health_service_body(&sb, "ns1", "svc1", 2, true);
	assert_string_equal(strbuf_str(&sb), "{\n\t\"service\": {\n\t\t\"namespace\": \"ns1\",\n"
					     "\t\t\"name\": \"svc1\"\n\t},\n"
					     "\t\"localEndpoints\": 2,\n"
					     "\t\"serviceProxyHealthy\": true\n}");
	strbuf_reset(&sb);
	/* Go trims the fraction's trailing zeros; the monotonic reading keeps 9 digits. */
	health_proxy_body(
		&sb, &(struct health_time){ true, { 1764131400, 500000000 }, { 12, 0 } },
		&(struct health_time){ true, { 1764131401, 250000000 }, { 12, 750000001 } }, true,
		false);
	assert_string_equal(
		strbuf_str(&sb),
		"{\"lastUpdated\": \"2025-11-26 04:30:00.5 +0000 UTC m=+12.000000000\","
		"\"currentTime\": \"2025-11-26 04:30:01.25 +0000 UTC m=+12.750000001\", "
		"\"nodeEligible\": false}");
	strbuf_reset(&sb);
	/* No fraction at all on a whole second; every digit when none is zero. */
	health_proxy_body(&sb, &(struct health_time){ true, { 1764131400, 0 }, { 0, 5 } },
			  &(struct health_time){ true, { 1764131400, 123456789 }, { 3600, 0 } },
			  false, true);
	assert_string_equal(strbuf_str(&sb),
			    "{\"lastUpdated\": \"2025-11-26 04:30:00 +0000 UTC m=+0.000000005\","
			    "\"currentTime\": \"2025-11-26 04:30:00.123456789 +0000 UTC "
			    "m=+3600.000000000\"}");
	strbuf_reset(&sb);
	/* Before any sync succeeded, lastUpdated is Go's zero Time (no monotonic reading). */
	health_proxy_body(&sb, &(struct health_time){ 0 },
			  &(struct health_time){ true, { 1764131400, 100 }, { 1, 10 } }, true,
			  true);
	assert_string_equal(
		strbuf_str(&sb),
		"{\"lastUpdated\": \"0001-01-01 00:00:00 +0000 UTC\","
		"\"currentTime\": \"2025-11-26 04:30:00.0000001 +0000 UTC m=+1.000000010\", "
		"\"nodeEligible\": true}");
	strbuf_fini(&sb);
}

static void update(struct model *m, const char *json)
{
	struct k8s_object obj;
	struct errbuf err;
	cJSON *j = cJSON_Parse(json);

	assert_non_null(j);
	if (decode_object_any(j, &obj, &err))
		fail_msg("%s", err.msg);
	cJSON_Delete(j);
	assert_int_equal(model_object_update(m, &obj, &err), 0);
}

/* Distinct local ready IPs over all ports; terminating and remote ones do not count. */
static void test_local_endpoints(void **state)
{
	struct model *m = model_new("node-a");

	(void)state;
	update(m, "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"lb\"},"
		  "\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.9\","
		  "\"externalTrafficPolicy\":\"Local\",\"healthCheckNodePort\":32000,"
		  "\"ports\":[{\"name\":\"a\",\"port\":80,\"nodePort\":30001},"
		  "{\"name\":\"b\",\"port\":81,\"nodePort\":30002}]}}");
	assert_int_equal(health_local_endpoints(m, model_service_lookup(m, "ns", "lb")), 0);
	update(m,
	       "{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"lb-1\","
	       "\"labels\":{\"kubernetes.io/service-name\":\"lb\"}},\"addressType\":\"IPv4\","
	       "\"ports\":[{\"name\":\"a\",\"port\":11},{\"name\":\"b\",\"port\":12}],"
	       "\"endpoints\":["
	       "{\"addresses\":[\"10.1.1.2\"],\"nodeName\":\"node-a\"},"
	       "{\"addresses\":[\"10.1.1.4\"],\"nodeName\":\"node-a\"},"
	       "{\"addresses\":[\"10.1.1.5\"],\"nodeName\":\"node-a\",\"conditions\":"
	       "{\"ready\":false,\"serving\":true,\"terminating\":true}},"
	       "{\"addresses\":[\"10.1.2.2\"],\"nodeName\":\"node-b\"}]}");
	assert_int_equal(health_local_endpoints(m, model_service_lookup(m, "ns", "lb")), 2);
	model_free(m);
}

static bool always_healthy(void *arg)
{
	(void)arg;
	return true;
}

#define HC_SERVICE                                                                                 \
	"{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"lb\"},"               \
	"\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.0.9\","                         \
	"\"externalTrafficPolicy\":\"%s\",\"healthCheckNodePort\":%u,"                             \
	"\"ports\":[{\"name\":\"a\",\"port\":80,\"nodePort\":30001}]}}"
#define HC_SLICE                                                                                   \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"lb-1\","        \
	"\"labels\":{\"kubernetes.io/service-name\":\"lb\"}},\"addressType\":\"IPv4\","            \
	"\"ports\":[{\"name\":\"a\",\"port\":11}],\"endpoints\":[%s]}"
#define HC_LOCAL(ip) "{\"addresses\":[\"" ip "\"],\"nodeName\":\"node-a\"}"

static void update_fmt(struct model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void update_fmt(struct model *m, const char *fmt, ...)
{
	char json[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	update(m, json);
}

/*
 * The health-check port answers with what the kernel's rules say: a change
 * to the model moves nothing until the sync carrying it is applied, and a
 * sync that was built but failed (never committed) moves nothing either.
 * Ports open and close the same way. Listeners are on 127.0.0.1; whether the
 * port could be bound does not change what the listener answers.
 */
static void test_hcports_follow_applied_syncs(void **state)
{
	struct model *m = model_new("node-a");
	struct loop *l = loop_new();
	struct featuregate_set gates;
	struct k8s_addr lo = { 0 };
	struct hcports *h;

	(void)state;
	assert_non_null(l);
	featuregate_init(&gates);
	assert_true(k8s_addr_parse("127.0.0.1", &lo));
	h = hcports_new(l, &gates, always_healthy, NULL, NULL);
	update_fmt(m, HC_SERVICE, "Local", 32123u);
	update_fmt(m, HC_SLICE, HC_LOCAL("10.1.1.2"));
	/* Nothing listens before a sync is applied. */
	hcports_prepare(h, m, &lo, 1);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), -1);
	hcports_commit(h);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 1);

	/* A second local endpoint arrives: no answer changes until it is applied. */
	update_fmt(m, HC_SLICE, HC_LOCAL("10.1.1.2") "," HC_LOCAL("10.1.1.3"));
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 1);
	hcports_prepare(h, m, &lo, 1);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 1);
	hcports_commit(h);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 2);

	/* Built, then failed: the next build replaces it and the answer stays. */
	update_fmt(m, HC_SLICE, "");
	hcports_prepare(h, m, &lo, 1);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 2);
	/* A change after the build is not in its rules: the commit ignores it. */
	update_fmt(m, HC_SLICE, HC_LOCAL("10.1.1.2"));
	hcports_prepare(h, m, &lo, 1);
	update_fmt(m, HC_SLICE, "");
	hcports_commit(h);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 1);

	/* Policy Cluster: the listener goes, once applied. */
	update_fmt(m, HC_SERVICE, "Cluster", 32123u);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), 1);
	hcports_prepare(h, m, &lo, 1);
	hcports_commit(h);
	assert_int_equal(hcports_local_endpoints(h, "ns", "lb"), -1);
	assert_int_equal(hcports_count(h), 0);

	hcports_free(h);
	loop_free(l);
	model_free(m);
}

static void test_node_eligible(void **state)
{
	struct k8s_node node = { 0 };

	(void)state;
	assert_true(health_node_eligible(NULL));
	assert_true(health_node_eligible(&node));
	node.deleting = true;
	assert_false(health_node_eligible(&node));
	node.deleting = false;
	node.to_be_deleted = true;
	assert_false(health_node_eligible(&node));
}

#define LAT "kproxy_network_programming_duration_seconds"

static void test_metrics_text(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct metrics m;
	const char *t;

	(void)state;
	metrics_init(&m);
	metrics_observe(&m.sync_duration, 0.003);
	metrics_observe(&m.sync_duration, 0.5);
	metrics_observe(&m.sync_duration, 100);
	metrics_observe(&m.programming_latency, 0.3);
	metrics_observe(&m.programming_latency, 200);
	m.iptables_total[1] = 42;
	m.restore_failures_total = 3;
	m.no_local_endpoints_external = 1;
	metrics_format(&m, &sb);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "# TYPE kproxy_sync_proxy_rules_duration_seconds histogram\n"));
	assert_non_null(
		strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.002\"} 0\n"));
	assert_non_null(
		strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 1\n"));
	assert_non_null(
		strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.512\"} 2\n"));
	assert_non_null(
		strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_count 3\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_sum 100.503\n"));
	/* Network programming: kube-proxy's 80 buckets, up to 5 minutes. */
	assert_non_null(strstr(t, LAT "_bucket{le=\"0.25\"} 0\n"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"0.5\"} 1\n"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"115\"} 1\n"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"180\"} 1\n"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"210\"} 2\n"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"300\"} 2\n"));
	assert_null(strstr(t, LAT "_bucket{le=\"330\"}"));
	assert_non_null(strstr(t, LAT "_bucket{le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_iptables_total{table=\"nat\"} 42\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_iptables_restore_failures_total 3\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_no_local_endpoints_total"
				  "{traffic_policy=\"external\"} 1\n"));
	assert_non_null(strstr(t, "kproxy_proxy_healthz_total{code=\"503\"} 0\n"));
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_local_endpoints),
		cmocka_unit_test(test_hcports_follow_applied_syncs),
		cmocka_unit_test(test_node_eligible),
		cmocka_unit_test(test_metrics_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
