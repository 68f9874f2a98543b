// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Health answers: freshness against the sync timeout, the bodies load
 * balancers and kubelet read, the local endpoint count and node eligibility.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
	{ 1000, 0, 60000, true },	  { 61000, 1000, 60000, false },
	{ 60999, 1000, 60000, true },	  { 500000, 499999, 60000, true },
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
	health_proxy_body(&sb, 1764131400.5, 1764131401.25, true, false);
	assert_string_equal(strbuf_str(&sb),
			    "{\"lastUpdated\": \"2025-11-26 04:30:00.500000000 +0000 UTC\","
			    "\"currentTime\": \"2025-11-26 04:30:01.250000000 +0000 UTC\", "
			    "\"nodeEligible\": false}");
	strbuf_reset(&sb);
	health_proxy_body(&sb, 1764131400.0, 1764131400.0, false, true);
	assert_string_equal(strbuf_str(&sb),
			    "{\"lastUpdated\": \"2025-11-26 04:30:00.000000000 +0000 UTC\","
			    "\"currentTime\": \"2025-11-26 04:30:00.000000000 +0000 UTC\"}");
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
	update(m, "{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"lb-1\","
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
	m.iptables_total[1] = 42;
	m.restore_failures_total = 3;
	m.no_local_endpoints_external = 1;
	metrics_format(&m, &sb);
	t = strbuf_str(&sb);
	assert_non_null(strstr(t, "# TYPE kproxy_sync_proxy_rules_duration_seconds histogram\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.002\"} 0\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 1\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.512\"} 2\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_count 3\n"));
	assert_non_null(strstr(t, "kproxy_sync_proxy_rules_duration_seconds_sum 100.503\n"));
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
		cmocka_unit_test(test_fresh),	      cmocka_unit_test(test_bodies),
		cmocka_unit_test(test_local_endpoints), cmocka_unit_test(test_node_eligible),
		cmocka_unit_test(test_metrics_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
