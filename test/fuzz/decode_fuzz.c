// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes apiwatch/decode: the input is an API server response (a List, one
 * object or a watch event). decode_list_parse() must either refuse it with a
 * one-line message or return objects that hold what decode promises
 * (DNS-1123 names, capped sizes), with one one-line message per skipped item.
 * The same JSON is then decoded directly as each kind, at the top level, as
 * each list item and as a watch event's "object", with the same checks.
 * ASan's leak check at exit makes every object freed part of the contract.
 */
#include <cjson/cJSON.h>

#include "apiwatch/decode.h"
#include "apiwatch/k8s.h"
#include "test/fuzz/fuzz.h"

/* Items decoded one by one as every kind; a List may have many more. */
#define DIRECT_ITEMS 16

static void check_name(const char *s, bool label, const char *what)
{
	FUZZ_ASSERT(s != NULL, "%s: missing", what);
	FUZZ_ASSERT(label ? k8s_is_dns1123_label(s) : k8s_is_dns1123_subdomain(s),
		    "%s: \"%s\" is not a DNS-1123 %s", what, s, label ? "label" : "subdomain");
}

static void check_slice(const struct k8s_slice *sl, bool from_endpoints)
{
	size_t i;

	check_name(sl->namespace, true, "slice namespace");
	check_name(sl->name, false, "slice name");
	FUZZ_ASSERT(sl->service_name != NULL, "slice without a service name");
	FUZZ_ASSERT(sl->n_ports <= (from_endpoints ? K8S_MAX_PORTS : K8S_MAX_SLICE_PORTS),
		    "slice with %zu ports", sl->n_ports);
	FUZZ_ASSERT(from_endpoints || sl->n_endpoints <= K8S_MAX_SLICE_ENDPOINTS,
		    "slice with %zu endpoints", sl->n_endpoints);
	FUZZ_ASSERT(!from_endpoints || sl->n_endpoints <= K8S_MAX_SUBSET_ADDRS,
		    "subset with %zu addresses", sl->n_endpoints);
	for (i = 0; i < sl->n_ports; i++)
		FUZZ_ASSERT(sl->ports[i].name != NULL, "slice port without a name string");
	for (i = 0; i < sl->n_endpoints; i++) {
		const struct k8s_endpoint *ep = &sl->endpoints[i];

		if (ep->node_name)
			check_name(ep->node_name, false, "endpoint nodeName");
		FUZZ_ASSERT(!ep->zone || ep->zone[0], "empty zone kept");
	}
}

static void check_object(const struct k8s_object *obj)
{
	size_t i;

	switch (obj->kind) {
	case K8S_KIND_SERVICE: {
		const struct k8s_service *svc = obj->u.service;

		check_name(svc->namespace, true, "service namespace");
		check_name(svc->name, true, "service name");
		FUZZ_ASSERT(svc->n_ports <= K8S_MAX_PORTS, "%zu ports", svc->n_ports);
		FUZZ_ASSERT(svc->n_cluster_ips <= 2, "%zu cluster IPs", svc->n_cluster_ips);
		FUZZ_ASSERT(svc->n_cluster_ips < 2 ||
				    svc->cluster_ips[0].family != svc->cluster_ips[1].family,
			    "two cluster IPs of one family");
		FUZZ_ASSERT(svc->n_external_ips <= K8S_MAX_SERVICE_IPS, "%zu external IPs",
			    svc->n_external_ips);
		FUZZ_ASSERT(svc->n_lb_ingress <= K8S_MAX_SERVICE_IPS, "%zu ingress IPs",
			    svc->n_lb_ingress);
		FUZZ_ASSERT(svc->n_source_ranges <= K8S_MAX_SOURCE_RANGES, "%zu source ranges",
			    svc->n_source_ranges);
		for (i = 0; i < svc->n_ports; i++)
			FUZZ_ASSERT(svc->ports[i].name != NULL, "port without a name string");
		break;
	}
	case K8S_KIND_ENDPOINTSLICE:
		FUZZ_ASSERT(obj->u.slice != NULL, "no slice");
		check_slice(obj->u.slice, false);
		break;
	case K8S_KIND_ENDPOINTS: {
		const struct k8s_endpoints *eps = obj->u.endpoints;

		check_name(eps->namespace, true, "endpoints namespace");
		check_name(eps->name, false, "endpoints name");
		FUZZ_ASSERT(eps->n_subsets <= K8S_MAX_SUBSETS, "%zu subsets", eps->n_subsets);
		for (i = 0; i < eps->n_subsets; i++)
			check_slice(&eps->subsets[i], true);
		break;
	}
	case K8S_KIND_NODE:
		check_name(obj->u.node->name, false, "node name");
		FUZZ_ASSERT(obj->u.node->n_addrs <= K8S_MAX_NODE_ADDRS, "%zu node addresses",
			    obj->u.node->n_addrs);
		FUZZ_ASSERT(!obj->u.node->zone || obj->u.node->zone[0], "empty zone kept");
		break;
	}
}

static void decode_as_every_kind(const cJSON *json)
{
	static const enum k8s_kind kinds[] = { K8S_KIND_SERVICE, K8S_KIND_ENDPOINTSLICE,
					       K8S_KIND_ENDPOINTS, K8S_KIND_NODE };
	struct k8s_object obj;
	struct errbuf err;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		memset(&err, 0x5a, sizeof(err));
		if (decode_object(json, kinds[i], &obj, &err) == 0) {
			FUZZ_ASSERT(obj.kind == kinds[i], "decoded as %d, asked %d", obj.kind,
				    kinds[i]);
			check_object(&obj);
			k8s_object_fini(&obj);
		} else {
			fuzz_check_one_line(&err, "decode_object");
		}
	}
	memset(&err, 0x5a, sizeof(err));
	if (decode_object_any(json, &obj, &err) == 0) {
		check_object(&obj);
		k8s_object_fini(&obj);
	} else {
		fuzz_check_one_line(&err, "decode_object_any");
	}
}

static void decode_direct(const uint8_t *data, size_t size)
{
	const cJSON *items, *item, *event_obj;
	cJSON *root;
	size_t n = 0;

	root = cJSON_ParseWithLength((const char *)data, size);
	if (!root)
		return;
	decode_as_every_kind(root);
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	if (cJSON_IsArray(items))
		for (item = items->child; item && n < DIRECT_ITEMS; item = item->next, n++)
			decode_as_every_kind(item);
	event_obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (event_obj)
		decode_as_every_kind(event_obj);
	cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_list list;
	struct errbuf err;
	size_t i;

	memset(&err, 0x5a, sizeof(err));
	if (decode_list_parse((const char *)data, size, &list, &err) == 0) {
		FUZZ_ASSERT(list.n_objects + list.n_errors <= K8S_MAX_LIST_ITEMS,
			    "%zu objects, %zu errors", list.n_objects, list.n_errors);
		for (i = 0; i < list.n_objects; i++)
			check_object(&list.objects[i]);
		for (i = 0; i < list.n_errors; i++) {
			FUZZ_ASSERT(list.errors[i] != NULL, "errors[%zu] is NULL", i);
			FUZZ_ASSERT(list.errors[i][0] != '\0', "errors[%zu] is empty", i);
			FUZZ_ASSERT(strlen(list.errors[i]) < ERRBUF_SIZE, "errors[%zu] too long",
				    i);
			FUZZ_ASSERT(strchr(list.errors[i], '\n') == NULL,
				    "errors[%zu] has a newline: %s", i, list.errors[i]);
		}
		decode_list_fini(&list);
		FUZZ_ASSERT(list.objects == NULL && list.n_objects == 0,
			    "decode_list_fini left objects");
	} else {
		fuzz_check_one_line(&err, "decode_list_parse");
		FUZZ_ASSERT(list.n_objects == 0 && list.objects == NULL,
			    "failed parse returned %zu objects", list.n_objects);
	}
	decode_direct(data, size);
	return 0;
}
