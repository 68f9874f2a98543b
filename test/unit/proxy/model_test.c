// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The model: objects in any order, endpoints merged from slices (or from
 * Endpoints when there are no slices), deduplicated and sorted, locality by
 * node name, and change tracking.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/decode.h"
#include "proxy/model.h"

#define SVC(name, extra)                                                                           \
	"{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\"},"         \
	"\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"http\",\"port\":80},"        \
	"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}]" extra "}}"

#define SLICE(name, svc, eps)                                                                      \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\","    \
	"\"labels\":{\"kubernetes.io/service-name\":\"" svc "\"}},\"addressType\":\"IPv4\","       \
	"\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}],\"endpoints\":[" eps   \
	"]}"

#define EP(ip, node) "{\"addresses\":[\"" ip "\"],\"nodeName\":\"" node "\"}"

static struct k8s_object decode(const char *json)
{
	struct k8s_object obj;
	struct errbuf err;
	cJSON *j = cJSON_Parse(json);

	assert_non_null(j);
	if (decode_object_any(j, &obj, &err) != 0)
		fail_msg("decode: %s", err.msg);
	cJSON_Delete(j);
	return obj;
}

static void update(struct model *m, const char *json)
{
	struct k8s_object obj = decode(json);
	struct errbuf err;

	assert_int_equal(model_object_update(m, &obj, &err), 0);
}

static void delete (struct model *m, const char *json)
{
	struct k8s_object obj = decode(json);

	model_object_delete(m, &obj);
	k8s_object_fini(&obj);
}

/*
 * Returns the endpoints of port "http" as "ip:port[L][Z]" joined by spaces
 * (L: on this node; Z: hinted for this node's zone).
 */
static char *endpoints(struct model *m, const char *svc)
{
	const struct model_service *ms = model_service_lookup(m, "ns", svc);
	struct model_endpoint *eps;
	static char out[1024];
	size_t n, i;

	out[0] = '\0';
	if (!ms || !ms->spec)
		return out;
	eps = model_port_endpoints(m, ms, &ms->spec->ports[0], K8S_FAMILY_IPV4, &n);
	for (i = 0; i < n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, eps[i].str);
		if (eps[i].local)
			strcat(out, "L");
		assert_true(eps[i].zone_hinted || !eps[i].for_this_zone);
		if (eps[i].for_this_zone)
			strcat(out, "Z");
	}
	free(eps);
	return out;
}

/* Returns how many endpoints port "http" of svc has; *found: one is want ("ip:port[L]"). */
static size_t find_endpoint(struct model *m, const char *svc, const char *want, bool *found)
{
	const struct model_service *ms = model_service_lookup(m, "ns", svc);
	struct model_endpoint *eps;
	char buf[sizeof(eps->str) + 1];
	size_t n, i;

	*found = false;
	eps = model_port_endpoints(m, ms, &ms->spec->ports[0], K8S_FAMILY_IPV4, &n);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s%s", eps[i].str, eps[i].local ? "L" : "");
		*found |= strcmp(buf, want) == 0;
	}
	free(eps);
	return n;
}

static void test_slices_before_service(void **state)
{
	struct model *m = model_new("node-a");

	(void)state;
	update(m, SLICE("web-1", "web", EP("10.0.0.2", "node-b")));
	assert_int_equal(model_service_count(m), 0);
	update(m, SVC("web", ""));
	assert_int_equal(model_service_count(m), 1);
	assert_string_equal(endpoints(m, "web"), "10.0.0.2:8080");
	model_free(m);
}

static void test_merge_dedup_sort(void **state)
{
	struct model *m = model_new("node-a");

	(void)state;
	update(m, SVC("web", ""));
	update(m, SLICE("web-1", "web", EP("10.0.0.2", "node-b") "," EP("10.0.0.11", "node-b")));
	/* The same endpoint in a second slice, now on this node: the local copy wins. */
	update(m, SLICE("web-2", "web", EP("10.0.0.2", "node-a") "," EP("10.0.0.1", "node-a")));
	assert_string_equal(endpoints(m, "web"), "10.0.0.11:8080 10.0.0.1:8080L 10.0.0.2:8080L");
	delete (m, SLICE("web-2", "web", ""));
	assert_string_equal(endpoints(m, "web"), "10.0.0.11:8080 10.0.0.2:8080");
	model_free(m);
}

static void test_endpoints_fallback(void **state)
{
	static const char eps[] =
		"{\"kind\":\"Endpoints\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"web\"},"
		"\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.0.1\",\"nodeName\":\"node-a\"}],"
		"\"ports\":[{\"name\":\"http\",\"port\":9090}]}]}";
	struct model *m = model_new("node-a");

	(void)state;
	update(m, SVC("web", ""));
	update(m, eps);
	assert_string_equal(endpoints(m, "web"), "10.1.0.1:9090L");
	/* Slices win over Endpoints once they exist. */
	update(m, SLICE("web-1", "web", EP("10.0.0.2", "node-b")));
	assert_string_equal(endpoints(m, "web"), "10.0.0.2:8080");
	model_free(m);
}

static void test_port_matching(void **state)
{
	struct model *m = model_new("node-a");
	const struct model_service *ms;
	struct model_endpoint *eps;
	size_t n;

	(void)state;
	update(m, SVC("web", ""));
	update(m, SLICE("web-1", "web", EP("10.0.0.2", "node-b")));
	ms = model_service_lookup(m, "ns", "web");
	/* The slice has no "dns"/UDP port: that service port has no endpoints. */
	eps = model_port_endpoints(m, ms, &ms->spec->ports[1], K8S_FAMILY_IPV4, &n);
	assert_int_equal(n, 0);
	free(eps);
	eps = model_port_endpoints(m, ms, &ms->spec->ports[0], K8S_FAMILY_IPV6, &n);
	assert_int_equal(n, 0);
	free(eps);
	model_free(m);
}

static void test_dirty_tracking(void **state)
{
	struct model *m = model_new("node-a");

	(void)state;
	update(m, SVC("a", ""));
	update(m, SVC("b", ""));
	assert_int_equal(model_dirty_count(m), 2);
	model_dirty_clear(m);
	assert_int_equal(model_dirty_count(m), 0);
	update(m, SLICE("b-1", "b", EP("10.0.0.2", "node-b")));
	assert_int_equal(model_dirty_count(m), 1);
	assert_true(model_service_lookup(m, "ns", "b")->dirty);
	assert_false(model_service_lookup(m, "ns", "a")->dirty);
	delete (m, SVC("a", ""));
	assert_int_equal(model_deleted_count(m), 1);
	assert_null(model_service_lookup(m, "ns", "a"));
	model_dirty_clear(m);
	model_dirty_all(m);
	assert_int_equal(model_dirty_count(m), 1);
	model_free(m);
}

static void test_sorted_and_delete(void **state)
{
	struct model *m = model_new("node-a");
	const struct model_service **all;
	size_t n;

	(void)state;
	update(m, SVC("zeta", ""));
	update(m, SVC("alpha", ""));
	update(m, SVC("mid", ""));
	update(m, SVC("mid", ",\"type\":\"NodePort\""));
	all = model_services_sorted(m, &n);
	assert_int_equal(n, 3);
	assert_string_equal(all[0]->key, "ns/alpha");
	assert_string_equal(all[1]->key, "ns/mid");
	assert_int_equal(all[1]->spec->type, K8S_SVC_NODE_PORT);
	assert_string_equal(all[2]->key, "ns/zeta");
	free(all);
	delete (m, SVC("nope", ""));
	assert_int_equal(model_service_count(m), 3);
	model_free(m);
}

static void test_node(void **state)
{
	static const char mine[] = "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\"},"
				   "\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
				   "\"address\":\"192.0.2.10\"}]}}";
	static const char other[] = "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-b\"}}";
	struct model *m = model_new("node-a");

	(void)state;
	update(m, other);
	assert_null(model_node(m));
	update(m, mine);
	assert_non_null(model_node(m));
	assert_int_equal(model_node(m)->n_addrs, 1);
	assert_int_equal(model_node_changes(m), 1);
	/* A heartbeat: new status fields kproxy does not read change nothing. */
	update(m,
	       "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\",\"resourceVersion\":\"9\"},"
	       "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2.10\"}],"
	       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	assert_int_equal(model_node_changes(m), 1);
	update(m, "{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\","
		  "\"deletionTimestamp\":\"2026-11-26T00:00:00Z\"},"
		  "\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.0.2.10\"}]"
		  "}}");
	assert_int_equal(model_node_changes(m), 2);
	assert_true(model_node(m)->deleting);
	delete (m, mine);
	assert_null(model_node(m));
	model_free(m);
}

#define EP_HINT(ip, zone)                                                                          \
	"{\"addresses\":[\"" ip "\"],\"hints\":{\"forZones\":[{\"name\":\"" zone "\"}]}}"
#define NODE_ZONE(zone)                                                                            \
	"{\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\",\"labels\":"                         \
	"{\"topology.kubernetes.io/zone\":\"" zone "\"}}}"

/*
 * Zone hints are read against the node's zone label, and follow it; the
 * model's JSON shows the node's zone and, for hinted endpoints, whether they
 * are for it.
 */
static void test_zone_hints(void **state)
{
	struct model *m = model_new("node-a");
	struct strbuf json = STRBUF_INIT;

	(void)state;
	update(m, SVC("web", ""));
	update(m, SLICE("web-1", "web",
			EP_HINT("10.0.0.1", "zone-a") "," EP_HINT("10.0.0.2", "zone-b") "," EP(
				"10.0.0.3", "node-b")));
	/* No Node yet: no zone, no endpoint is for it. */
	assert_string_equal(endpoints(m, "web"), "10.0.0.1:8080 10.0.0.2:8080 10.0.0.3:8080");
	update(m, NODE_ZONE("zone-a"));
	assert_string_equal(endpoints(m, "web"), "10.0.0.1:8080Z 10.0.0.2:8080 10.0.0.3:8080");
	update(m, NODE_ZONE("zone-b"));
	assert_int_equal(model_node_changes(m), 2);
	assert_string_equal(endpoints(m, "web"), "10.0.0.1:8080 10.0.0.2:8080Z 10.0.0.3:8080");

	model_format_json(m, &json);
	/* Pretty-printed: compare without the layout (no value here has blanks). */
	{
		char *w = json.buf, *r = json.buf;

		for (; *r; r++)
			if (*r != ' ' && *r != '\t' && *r != '\n')
				*w++ = *r;
		*w = '\0';
		json.len = (size_t)(w - json.buf);
	}
	assert_non_null(strstr(strbuf_str(&json), "\"nodeZone\":\"zone-b\""));
	assert_non_null(strstr(strbuf_str(&json),
			       "\"endpoint\":\"10.0.0.2:8080\",\"local\":false,"
			       "\"ready\":true,\"serving\":true,"
			       "\"terminating\":false,\"hintedForThisZone\":true}"));
	assert_non_null(strstr(strbuf_str(&json),
			       "\"endpoint\":\"10.0.0.1:8080\",\"local\":false,"
			       "\"ready\":true,\"serving\":true,"
			       "\"terminating\":false,\"hintedForThisZone\":false}"));
	assert_non_null(strstr(strbuf_str(&json), "\"endpoint\":\"10.0.0.3:8080\",\"local\":false,"
						  "\"ready\":true,\"serving\":true,"
						  "\"terminating\":false}"));
	strbuf_fini(&json);
	model_free(m);
}

/*
 * A Service takes at most MODEL_MAX_SLICES_PER_SERVICE slices: one more is
 * refused with its error and leaves the others (and their endpoints) alone,
 * while a slice already held can still be replaced at the cap.
 */
static void test_slice_cap(void **state)
{
	struct model *m = model_new("node-a");
	const struct model_service *ms;
	struct k8s_object obj;
	struct errbuf err;
	char json[512];
	bool found;
	size_t i;

	(void)state;
	update(m, SVC("web", ""));
	for (i = 0; i < MODEL_MAX_SLICES_PER_SERVICE; i++) {
		snprintf(json, sizeof(json),
			 SLICE("web-%05zu", "web", EP("10.0.%zu.%zu", "node-b")), i, i / 250,
			 i % 250 + 1);
		update(m, json);
	}
	ms = model_service_lookup(m, "ns", "web");
	assert_int_equal(ms->n_slices, MODEL_MAX_SLICES_PER_SERVICE);
	assert_int_equal(find_endpoint(m, "web", "10.0.39.250:8080", &found),
			 MODEL_MAX_SLICES_PER_SERVICE);
	assert_true(found);

	obj = decode(SLICE("web-over", "web", EP("10.1.0.1", "node-a")));
	assert_int_equal(model_object_update(m, &obj, &err), -EINVAL);
	assert_string_equal(
		err.msg, "endpointslice ns/web-over: service web has too many slices (max 10000)");
	ms = model_service_lookup(m, "ns", "web");
	assert_non_null(ms);
	assert_int_equal(ms->n_slices, MODEL_MAX_SLICES_PER_SERVICE);
	assert_int_equal(find_endpoint(m, "web", "10.1.0.1:8080L", &found),
			 MODEL_MAX_SLICES_PER_SERVICE);
	assert_false(found);

	/* Replacing a slice the Service already has is not an addition. */
	update(m, SLICE("web-00000", "web", EP("10.2.0.1", "node-a")));
	assert_int_equal(ms->n_slices, MODEL_MAX_SLICES_PER_SERVICE);
	assert_int_equal(find_endpoint(m, "web", "10.2.0.1:8080L", &found),
			 MODEL_MAX_SLICES_PER_SERVICE);
	assert_true(found);
	find_endpoint(m, "web", "10.0.0.1:8080", &found);
	assert_false(found);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slices_before_service),
		cmocka_unit_test(test_merge_dedup_sort),
		cmocka_unit_test(test_endpoints_fallback),
		cmocka_unit_test(test_port_matching),
		cmocka_unit_test(test_dirty_tracking),
		cmocka_unit_test(test_sorted_and_delete),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_zone_hints),
		cmocka_unit_test(test_slice_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
