// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/decode: every kind decodes to the values it carries, and
 * every bad input is rejected with its exact message.
 *
 * The JSON written in this file uses ' where JSON has " so that it reads
 * without escapes; parse_sq() turns it back into JSON.
 */
#include <dirent.h>
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
#include "proxy/strbuf.h"

/* Relative to the repository root, where make unit and test/run.sh run the suites. */
#define FIXTURE_DIR   "test/fixtures/kubernetes-api"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format off */
/* ---- JSON builders ---- */

#define DEFAULT_META "'namespace':'default','name':'web'"
#define SVC_M(meta, spec) \
	"{'kind':'Service','apiVersion':'v1','metadata':{" meta "},'spec':{" spec "}}"
#define SVC(spec) SVC_M(DEFAULT_META, spec)
#define SVC_ST(spec, status) \
	"{'kind':'Service','apiVersion':'v1','metadata':{" DEFAULT_META "},'spec':{" spec \
	"},'status':{" status "}}"

#define SLICE_META \
	"'namespace':'default','name':'web-abc','labels':{'kubernetes.io/service-name':'web'}"
#define SLICE_M(meta, body) \
	"{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{" meta "}," body "}"
#define SLICE(body) SLICE_M(SLICE_META, body)

#define EPS(body) \
	"{'kind':'Endpoints','apiVersion':'v1','metadata':{'namespace':'default','name':'web'}," \
	body "}"

#define NODE_M(meta, body) "{'kind':'Node','apiVersion':'v1','metadata':{" meta "}," body "}"
#define NODE(body) NODE_M("'name':'node-a'", body)

#define S10 "aaaaaaaaaa"
#define S63 S10 S10 S10 S10 S10 S10 "aaa"
#define S64 S63 "a"
#define NAME253 S63 "." S63 "." S63 "." S10 S10 S10 S10 S10 S10 "a"
#define RV64 S64
/* clang-format on */

/* Returns the parsed form of JSON written with ' for "; the caller deletes it. */
static cJSON *parse_sq(const char *text)
{
	char *buf = strdup(text), *p;
	cJSON *json;

	assert_non_null(buf);
	for (p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	json = cJSON_Parse(buf);
	free(buf);
	if (!json)
		fail_msg("test JSON does not parse: %s", text);
	return json;
}

static void assert_addr(const struct k8s_addr *addr, const char *want)
{
	char buf[K8S_ADDR_STRLEN];

	assert_string_equal(k8s_addr_format(addr, buf), want);
}

static void assert_cidr(const struct k8s_cidr *cidr, const char *want)
{
	char buf[K8S_ADDR_STRLEN];

	assert_string_equal(k8s_cidr_format(cidr, buf), want);
}

/* ---- Checks of decoded values ---- */

static void check_svc_clusterip(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_string_equal(s->namespace, "default");
	assert_string_equal(s->name, "web");
	assert_string_equal(s->resource_version, "1234");
	assert_false(s->proxy_name_label);
	assert_false(s->headless);
	assert_int_equal(s->type, K8S_SVC_CLUSTER_IP);
	assert_int_equal(s->n_cluster_ips, 1);
	assert_addr(&s->cluster_ips[0], "10.96.0.10");
	assert_int_equal(s->n_ports, 3);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 0);
	assert_string_equal(s->ports[1].name, "dns-udp");
	assert_int_equal(s->ports[1].protocol, K8S_PROTO_UDP);
	assert_int_equal(s->ports[1].port, 53);
	assert_string_equal(s->ports[2].name, "sctp");
	assert_int_equal(s->ports[2].protocol, K8S_PROTO_SCTP);
	assert_int_equal(s->ports[2].port, 9999);
	assert_int_equal(s->n_external_ips, 0);
	assert_int_equal(s->n_lb_ingress, 0);
	assert_int_equal(s->n_source_ranges, 0);
	assert_int_equal(s->external_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->internal_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->health_check_node_port, 0);
	assert_int_equal(s->affinity, K8S_AFFINITY_NONE);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_int_equal(s->legacy_traffic, K8S_LEGACY_UNSET);
	assert_int_equal(s->legacy_hc_node_port, 0);
}

static void check_svc_nodeport(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->type, K8S_SVC_NODE_PORT);
	assert_addr(&s->cluster_ips[0], "10.96.0.11");
	assert_int_equal(s->n_ports, 2);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 30080);
	assert_int_equal(s->ports[1].port, 443);
	assert_int_equal(s->ports[1].node_port, 30443);
	assert_string_equal(s->ports[1].name, "https");
}

static void check_svc_lb(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->type, K8S_SVC_LOAD_BALANCER);
	assert_int_equal(s->ports[0].node_port, 31443);
	/* The hostname-only entry is skipped. */
	assert_int_equal(s->n_lb_ingress, 3);
	assert_addr(&s->lb_ingress[0].ip, "203.0.113.5");
	assert_int_equal(s->lb_ingress[0].ip_mode, K8S_IPMODE_VIP);
	assert_addr(&s->lb_ingress[1].ip, "2001:db8::5");
	assert_int_equal(s->lb_ingress[1].ip_mode, K8S_IPMODE_PROXY);
	assert_addr(&s->lb_ingress[2].ip, "203.0.113.6");
	assert_int_equal(s->lb_ingress[2].ip_mode, K8S_IPMODE_UNSET);
}

static void check_svc_external_ips(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->type, K8S_SVC_CLUSTER_IP);
	assert_int_equal(s->n_external_ips, 2);
	assert_addr(&s->external_ips[0], "192.0.2.10");
	assert_int_equal(s->external_ips[1].family, K8S_FAMILY_IPV6);
	assert_addr(&s->external_ips[1], "2001:db8::10");
}

static void check_svc_source_ranges(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->n_source_ranges, 3);
	assert_cidr(&s->source_ranges[0], "10.0.0.0/8");
	assert_cidr(&s->source_ranges[1], "192.168.1.0/24");
	assert_cidr(&s->source_ranges[2], "2001:db8::/32");
}

/* kube-proxy's sloppy parser: decimal leading zeros are dropped, never octal. */
static void check_svc_source_ranges_zeros(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->n_source_ranges, 5);
	assert_cidr(&s->source_ranges[0], "203.0.113.0/25");
	assert_cidr(&s->source_ranges[1], "10.1.2.0/24");
	assert_cidr(&s->source_ranges[2], "203.0.113.0/24");
	assert_cidr(&s->source_ranges[3], "0.0.0.0/0");
	assert_cidr(&s->source_ranges[4], "2001:db8::/32");
}

/* The same parser for every Service address: 010.096.000.010 is 10.96.0.10. */
static void check_svc_ips_zeros(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_addr(&s->cluster_ips[0], "10.96.0.10");
	assert_int_equal(s->n_external_ips, 2);
	assert_addr(&s->external_ips[0], "192.0.2.10");
	assert_addr(&s->external_ips[1], "198.51.100.7");
	assert_int_equal(s->n_lb_ingress, 1);
	assert_addr(&s->lb_ingress[0].ip, "203.0.113.5");
}

static void check_slice_hints(const struct k8s_object *o)
{
	const struct k8s_slice *s = o->u.slice;

	assert_int_equal(s->n_endpoints, 2);
	assert_int_equal(s->endpoints[0].n_zone_hints, 2);
	assert_string_equal(s->endpoints[0].zone_hints[0], "zone-a");
	assert_string_equal(s->endpoints[0].zone_hints[1], "zone-b");
	/* No hints, or an empty list: none. */
	assert_int_equal(s->endpoints[1].n_zone_hints, 0);
	assert_null(s->endpoints[1].zone_hints);
}

static void check_slice_zeros(const struct k8s_object *o)
{
	assert_int_equal(o->u.slice->n_endpoints, 1);
	assert_addr(&o->u.slice->endpoints[0].addr, "10.244.1.5");
}

static void check_svc_local(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_int_equal(s->external_policy, K8S_POLICY_LOCAL);
	assert_int_equal(s->internal_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->health_check_node_port, 32000);
}

static void check_svc_affinity(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->affinity, K8S_AFFINITY_CLIENT_IP);
	assert_int_equal(o->u.service->affinity_timeout, 600);
}

static void check_svc_affinity_default(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->affinity, K8S_AFFINITY_CLIENT_IP);
	assert_int_equal(o->u.service->affinity_timeout, 10800);
}

static void check_svc_itp_local(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->internal_policy, K8S_POLICY_LOCAL);
	assert_int_equal(o->u.service->external_policy, K8S_POLICY_CLUSTER);
}

static void check_svc_legacy_alpha(const struct k8s_object *o)
{
	assert_null(o->u.service->legacy_traffic_bad);
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_ONLY_LOCAL);
	assert_int_equal(o->u.service->legacy_hc_node_port, 32001);
	/* The annotations do not change the fields. */
	assert_int_equal(o->u.service->external_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(o->u.service->health_check_node_port, 0);
}

static void check_svc_legacy_beta(const struct k8s_object *o)
{
	assert_null(o->u.service->legacy_traffic_bad);
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_GLOBAL);
	assert_int_equal(o->u.service->legacy_hc_node_port, 31001);
}

static void check_svc_legacy_alpha_first(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_GLOBAL);
	assert_int_equal(o->u.service->legacy_hc_node_port, 30001);
}

/* A value that is neither OnlyLocal nor Global is kept (made printable) for a warning. */
static void check_svc_legacy_fallthrough(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_ONLY_LOCAL);
	assert_int_equal(o->u.service->legacy_hc_node_port, 30500);
	assert_string_equal(o->u.service->legacy_traffic_bad, "Bogus");
	assert_string_equal(o->u.service->legacy_traffic_bad_key,
			    "service.alpha.kubernetes.io/external-traffic");
}

static void check_svc_legacy_ignored(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_UNSET);
	assert_int_equal(o->u.service->legacy_hc_node_port, 0);
	assert_null(o->u.service->legacy_traffic_bad);
	assert_null(o->u.service->legacy_traffic_bad_key);
}

/* The first bad value counts; the next annotation's is not kept. */
static void check_svc_legacy_bad_values(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_UNSET);
	assert_int_equal(o->u.service->legacy_hc_node_port, 0);
	assert_string_equal(o->u.service->legacy_traffic_bad, "onlylocal");
	assert_string_equal(o->u.service->legacy_traffic_bad_key,
			    "service.alpha.kubernetes.io/external-traffic");
}

static void check_svc_legacy_hostile(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_UNSET);
	assert_string_equal(o->u.service->legacy_traffic_bad, "Only?Local???x");
	assert_string_equal(o->u.service->legacy_traffic_bad_key,
			    "service.beta.kubernetes.io/external-traffic");
}

static void check_svc_legacy_long(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->legacy_traffic, K8S_LEGACY_UNSET);
	assert_int_equal(o->u.service->legacy_hc_node_port, 0);
	assert_string_equal(o->u.service->legacy_traffic_bad, S64 "...");
}

static void check_svc_external_name(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->type, K8S_SVC_EXTERNAL_NAME);
	assert_false(o->u.service->headless);
	assert_int_equal(o->u.service->n_cluster_ips, 0);
}

static void check_svc_headless(const struct k8s_object *o)
{
	assert_true(o->u.service->headless);
	assert_int_equal(o->u.service->n_cluster_ips, 0);
	assert_int_equal(o->u.service->type, K8S_SVC_CLUSTER_IP);
}

static void check_svc_dual_stack(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_false(s->headless);
	assert_int_equal(s->n_cluster_ips, 2);
	assert_int_equal(s->cluster_ips[0].family, K8S_FAMILY_IPV6);
	assert_addr(&s->cluster_ips[0], "fd00::10");
	assert_int_equal(s->cluster_ips[1].family, K8S_FAMILY_IPV4);
	assert_addr(&s->cluster_ips[1], "10.96.0.20");
}

static void check_svc_cluster_ips_only(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->n_cluster_ips, 1);
	assert_addr(&o->u.service->cluster_ips[0], "10.96.0.30");
}

static void check_svc_proxy_name(const struct k8s_object *o)
{
	assert_true(o->u.service->proxy_name_label);
}

static void check_svc_defaults(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_null(s->resource_version);
	assert_true(s->headless);
	assert_int_equal(s->type, K8S_SVC_CLUSTER_IP);
	assert_int_equal(s->n_ports, 1);
	assert_string_equal(s->ports[0].name, "");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 0);
	assert_int_equal(s->external_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->internal_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->affinity, K8S_AFFINITY_NONE);
	assert_int_equal(s->affinity_timeout, 10800);
}

static void check_svc_nulls(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_false(s->proxy_name_label);
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].node_port, 0);
	assert_int_equal(s->n_external_ips, 0);
	assert_int_equal(s->affinity_timeout, 10800);
}

static void check_svc_default_policies(const struct k8s_object *o)
{
	assert_int_equal(o->u.service->external_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(o->u.service->internal_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(o->u.service->n_cluster_ips, 1);
}

static void check_svc_long_names(const struct k8s_object *o)
{
	assert_int_equal(strlen(o->u.service->namespace), 63);
	assert_int_equal(strlen(o->u.service->name), 63);
	assert_int_equal(strlen(o->u.service->resource_version), 64);
}

static void check_slice_v1(const struct k8s_object *o)
{
	const struct k8s_slice *s = o->u.slice;

	assert_string_equal(s->namespace, "shop");
	assert_string_equal(s->name, "web-x7k2p");
	assert_string_equal(s->service_name, "web");
	assert_string_equal(s->resource_version, "5511");
	assert_int_equal(s->address_type, K8S_ADDRTYPE_IPV4);
	/* The entry without a port number is skipped. */
	assert_int_equal(s->n_ports, 3);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 8080);
	assert_string_equal(s->ports[1].name, "dns");
	assert_int_equal(s->ports[1].protocol, K8S_PROTO_UDP);
	assert_int_equal(s->ports[1].port, 5353);
	assert_string_equal(s->ports[2].name, "");
	assert_int_equal(s->ports[2].port, 9090);
	assert_int_equal(s->n_endpoints, 3);
	assert_addr(&s->endpoints[0].addr, "10.244.1.5");
	assert_string_equal(s->endpoints[0].node_name, "node-a");
	assert_string_equal(s->endpoints[0].zone, "eu-west-1a");
	assert_true(s->endpoints[0].ready);
	assert_true(s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_addr(&s->endpoints[1].addr, "10.244.2.7");
	assert_string_equal(s->endpoints[1].node_name, "node-b.example.com");
	assert_false(s->endpoints[1].ready);
	assert_true(s->endpoints[1].serving);
	assert_true(s->endpoints[1].terminating);
	assert_addr(&s->endpoints[2].addr, "10.244.3.9");
	assert_null(s->endpoints[2].node_name);
	assert_null(s->endpoints[2].zone);
	assert_true(s->endpoints[2].ready);
	assert_true(s->endpoints[2].serving);
	assert_false(s->endpoints[2].terminating);
}

static void check_slice_v1beta1(const struct k8s_object *o)
{
	const struct k8s_slice *s = o->u.slice;

	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->n_endpoints, 3);
	assert_string_equal(s->endpoints[0].node_name, "node-a");
	assert_string_equal(s->endpoints[0].zone, "zone-a");
	assert_true(s->endpoints[0].ready);
	assert_true(s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_string_equal(s->endpoints[1].node_name, "node-b");
	assert_null(s->endpoints[1].zone);
	assert_false(s->endpoints[1].ready);
	assert_true(s->endpoints[1].serving);
	/* nodeName, where a late v1beta1 server sets it, wins over topology. */
	assert_string_equal(s->endpoints[2].node_name, "node-c");
	assert_string_equal(s->endpoints[2].zone, "zone-c");
}

static void check_slice_ipv6(const struct k8s_object *o)
{
	assert_int_equal(o->u.slice->address_type, K8S_ADDRTYPE_IPV6);
	assert_int_equal(o->u.slice->n_endpoints, 2);
	assert_addr(&o->u.slice->endpoints[1].addr, "fd00:10:244::7");
}

static void check_slice_fqdn(const struct k8s_object *o)
{
	assert_int_equal(o->u.slice->address_type, K8S_ADDRTYPE_FQDN);
	assert_int_equal(o->u.slice->n_endpoints, 0);
	assert_int_equal(o->u.slice->n_ports, 1);
	assert_int_equal(o->u.slice->ports[0].port, 5432);
}

static void check_slice_empty(const struct k8s_object *o)
{
	assert_int_equal(o->u.slice->n_endpoints, 0);
	assert_int_equal(o->u.slice->n_ports, 0);
	assert_null(o->u.slice->resource_version);
}

static void check_eps_two_subsets(const struct k8s_object *o)
{
	const struct k8s_endpoints *e = o->u.endpoints;
	const struct k8s_slice *s;

	assert_string_equal(e->namespace, "shop");
	assert_string_equal(e->name, "web");
	assert_string_equal(e->resource_version, "777");
	assert_int_equal(e->n_subsets, 2);

	s = &e->subsets[0];
	assert_string_equal(s->namespace, "shop");
	assert_string_equal(s->name, "web");
	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->address_type, K8S_ADDRTYPE_IPV4);
	assert_int_equal(s->n_endpoints, 2);
	assert_addr(&s->endpoints[0].addr, "10.244.1.5");
	assert_string_equal(s->endpoints[0].node_name, "node-a");
	assert_true(s->endpoints[0].ready);
	assert_true(s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
	assert_null(s->endpoints[0].zone);
	assert_addr(&s->endpoints[1].addr, "10.244.2.6");
	assert_string_equal(s->endpoints[1].node_name, "node-b");
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 8080);
	assert_string_equal(s->ports[1].name, "dns");
	assert_int_equal(s->ports[1].protocol, K8S_PROTO_UDP);

	s = &e->subsets[1];
	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->address_type, K8S_ADDRTYPE_IPV6);
	assert_int_equal(s->n_endpoints, 1);
	assert_addr(&s->endpoints[0].addr, "fd00::5");
	assert_null(s->endpoints[0].node_name);
	assert_int_equal(s->n_ports, 1);
	assert_string_equal(s->ports[0].name, "");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 9090);
}

static void check_eps_not_ready_only(const struct k8s_object *o)
{
	assert_int_equal(o->u.endpoints->n_subsets, 1);
	assert_int_equal(o->u.endpoints->subsets[0].address_type, K8S_ADDRTYPE_IPV4);
	assert_int_equal(o->u.endpoints->subsets[0].n_endpoints, 0);
	assert_int_equal(o->u.endpoints->subsets[0].n_ports, 1);
}

static void check_eps_empty(const struct k8s_object *o)
{
	assert_int_equal(o->u.endpoints->n_subsets, 0);
}

static void check_node_full(const struct k8s_object *o)
{
	const struct k8s_node *n = o->u.node;

	assert_string_equal(n->name, "node-a.example.com");
	assert_string_equal(n->resource_version, "99");
	assert_true(n->deleting);
	assert_true(n->to_be_deleted);
	assert_string_equal(n->zone, "eu-west-1a");
	assert_int_equal(n->n_addrs, 3);
	assert_addr(&n->addrs[0], "10.0.0.10");
	assert_addr(&n->addrs[1], "fd00::10");
	assert_addr(&n->addrs[2], "203.0.113.10");
}

static void check_node_plain(const struct k8s_object *o)
{
	const struct k8s_node *n = o->u.node;

	assert_string_equal(n->name, "node-a");
	assert_null(n->resource_version);
	assert_false(n->deleting);
	assert_false(n->to_be_deleted);
	assert_null(n->zone);
	assert_int_equal(n->n_addrs, 1);
	assert_addr(&n->addrs[0], "10.0.0.11");
}

static void check_node_long_name(const struct k8s_object *o)
{
	assert_int_equal(strlen(o->u.node->name), 253);
}

/* ---- The table ---- */

/**
 * struct test_case - one object to decode.
 * @any: decode with decode_object_any() instead of decode_object(kind).
 * @error: the exact message, or NULL when the object must decode.
 * @check: checks the decoded values (may be NULL).
 */
struct test_case {
	const char *name;
	enum k8s_kind kind;
	bool any;
	const char *json;
	const char *error;
	void (*check)(const struct k8s_object *obj);
};

/* clang-format off */
#define OK(n, k, j, c)	   { n, k, false, j, NULL, c }
#define BAD(n, k, j, e)	   { n, k, false, j, e, NULL }
#define ANY_OK(n, k, j, c) { n, k, true, j, NULL, c }
#define ANY_BAD(n, j, e)   { n, K8S_KIND_SERVICE, true, j, e, NULL }

#define SVC_K K8S_KIND_SERVICE
#define SLC_K K8S_KIND_ENDPOINTSLICE
#define EPS_K K8S_KIND_ENDPOINTS
#define NOD_K K8S_KIND_NODE

static const struct test_case cases[] = {
	/* Services that decode. */
	OK("service ClusterIP", SVC_K,
	   "{'kind':'Service','apiVersion':'v1','metadata':{'name':'web','namespace':'default',"
	   "'uid':'0b9e7d6c-5a4f-4e3d-8c2b-1a0f9e8d7c6b','resourceVersion':'1234',"
	   "'creationTimestamp':'2024-05-02T09:14:07Z','labels':{'app':'web'},"
	   "'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'{}'}},"
	   "'spec':{'ports':[{'name':'http','protocol':'TCP','port':80,'targetPort':8080},"
	   "{'name':'dns-udp','protocol':'UDP','port':53,'targetPort':'dns'},"
	   "{'name':'sctp','protocol':'SCTP','port':9999,'targetPort':9999}],"
	   "'selector':{'app':'web'},'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
	   "'type':'ClusterIP','sessionAffinity':'None','ipFamilies':['IPv4'],"
	   "'ipFamilyPolicy':'SingleStack','internalTrafficPolicy':'Cluster'},"
	   "'status':{'loadBalancer':{}}}",
	   check_svc_clusterip),
	OK("service NodePort", SVC_K,
	   SVC("'type':'NodePort','clusterIP':'10.96.0.11','clusterIPs':['10.96.0.11'],"
	       "'ports':[{'name':'http','protocol':'TCP','port':80,'nodePort':30080},"
	       "{'name':'https','protocol':'TCP','port':443,'targetPort':8443,'nodePort':30443}],"
	       "'externalTrafficPolicy':'Cluster'"),
	   check_svc_nodeport),
	OK("service LoadBalancer with ingress", SVC_K,
	   SVC_ST("'type':'LoadBalancer','clusterIP':'10.96.0.12',"
		  "'ports':[{'name':'https','port':443,'nodePort':31443}],"
		  "'allocateLoadBalancerNodePorts':true,'loadBalancerClass':'example.com/lb'",
		  "'loadBalancer':{'ingress':[{'ip':'203.0.113.5','ipMode':'VIP'},"
		  "{'hostname':'lb.example.com'},"
		  "{'ip':'2001:db8::5','ipMode':'Proxy','ports':[{'port':443,'protocol':'TCP'}]},"
		  "{'ip':'203.0.113.6','hostname':'lb2.example.com'}]},"
		  "'conditions':[{'type':'Ready','status':'True'}]"),
	   check_svc_lb),
	OK("service with externalIPs", SVC_K,
	   SVC("'clusterIP':'10.96.0.13','ports':[{'port':80}],"
	       "'externalIPs':['192.0.2.10','2001:db8::10']"),
	   check_svc_external_ips),
	OK("service addresses with leading zeros", SVC_K,
	   SVC_ST("'type':'LoadBalancer','clusterIP':'010.096.000.010',"
		  "'ports':[{'port':80,'nodePort':30001}],"
		  "'externalIPs':['192.000.002.010','198.051.100.007']",
		  "'loadBalancer':{'ingress':[{'ip':'203.000.113.005'}]}"),
	   check_svc_ips_zeros),
	OK("service source ranges with blanks and host bits", SVC_K,
	   SVC("'type':'LoadBalancer','clusterIP':'10.96.0.14',"
	       "'ports':[{'port':80,'nodePort':30001}],"
	       "'loadBalancerSourceRanges':[' 10.0.0.0/8','192.168.1.77/24 ','\\t2001:db8::1/32']"),
	   check_svc_source_ranges),
	OK("service source ranges with leading zeros", SVC_K,
	   SVC("'type':'LoadBalancer','clusterIP':'10.96.0.14',"
	       "'ports':[{'port':80,'nodePort':30001}],"
	       "'loadBalancerSourceRanges':['203.0.113.000/025',' 010.001.002.003/024 ',"
	       "'0203.00.0113.077/0024','000.0.0.0/00','2001:0db8::1/032']"),
	   check_svc_source_ranges_zeros),
	OK("service externalTrafficPolicy Local with healthCheckNodePort", SVC_K,
	   SVC("'type':'LoadBalancer','clusterIP':'10.96.0.15',"
	       "'ports':[{'port':80,'nodePort':30002}],"
	       "'externalTrafficPolicy':'Local','healthCheckNodePort':32000"),
	   check_svc_local),
	OK("service ClientIP affinity with timeout", SVC_K,
	   SVC("'clusterIP':'10.96.0.16','ports':[{'port':80}],'sessionAffinity':'ClientIP',"
	       "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':600}}"),
	   check_svc_affinity),
	OK("service ClientIP affinity default timeout", SVC_K,
	   SVC("'clusterIP':'10.96.0.16','ports':[{'port':80}],'sessionAffinity':'ClientIP'"),
	   check_svc_affinity_default),
	OK("service internalTrafficPolicy Local", SVC_K,
	   SVC("'clusterIP':'10.96.0.17','ports':[{'port':80}],'internalTrafficPolicy':'Local'"),
	   check_svc_itp_local),
	OK("service legacy alpha annotations", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.alpha.kubernetes.io/external-traffic':'OnlyLocal',"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':'32001'}",
		 "'type':'LoadBalancer','clusterIP':'10.96.0.18','ports':[{'port':80}]"),
	   check_svc_legacy_alpha),
	OK("service legacy beta annotations", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.beta.kubernetes.io/external-traffic':'Global',"
			      "'service.beta.kubernetes.io/healthcheck-nodeport':'31001'}",
		 "'type':'NodePort','clusterIP':'10.96.0.19','ports':[{'port':80}]"),
	   check_svc_legacy_beta),
	OK("service legacy alpha before beta", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.beta.kubernetes.io/external-traffic':'OnlyLocal',"
			      "'service.alpha.kubernetes.io/external-traffic':'Global',"
			      "'service.beta.kubernetes.io/healthcheck-nodeport':'30002',"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':'30001'}",
		 "'type':'LoadBalancer','clusterIP':'10.96.0.18','ports':[{'port':80}]"),
	   check_svc_legacy_alpha_first),
	OK("service legacy invalid alpha falls through to beta", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.alpha.kubernetes.io/external-traffic':'Bogus',"
			      "'service.beta.kubernetes.io/external-traffic':'OnlyLocal',"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':'x1',"
			      "'service.beta.kubernetes.io/healthcheck-nodeport':'30500'}",
		 "'type':'LoadBalancer','clusterIP':'10.96.0.18','ports':[{'port':80}]"),
	   check_svc_legacy_fallthrough),
	OK("service legacy invalid values ignored", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.alpha.kubernetes.io/external-traffic':'onlylocal',"
			      "'service.beta.kubernetes.io/external-traffic':'',"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':'70000',"
			      "'service.beta.kubernetes.io/healthcheck-nodeport':'0'}",
		 "'type':'LoadBalancer','clusterIP':'10.96.0.18','ports':[{'port':80}]"),
	   check_svc_legacy_bad_values),
	OK("service legacy hostile value", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.beta.kubernetes.io/external-traffic':'Only\\\"Local\\n\\u00e9x'}",
		 "'type':'LoadBalancer','clusterIP':'10.96.0.18','ports':[{'port':80}]"),
	   check_svc_legacy_hostile),
	OK("service legacy hc port with sign or blank ignored", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':'+3000',"
			      "'service.beta.kubernetes.io/healthcheck-nodeport':'3000 '}",
		 "'clusterIP':'10.96.0.18'"),
	   check_svc_legacy_ignored),
	OK("service legacy over-long value ignored", SVC_K,
	   SVC_M(DEFAULT_META ",'annotations':{"
			      "'service.alpha.kubernetes.io/external-traffic':"
			      "'" S64 S64 S64 S64 S64 "',"
			      "'service.alpha.kubernetes.io/healthcheck-nodeport':"
			      "'" S64 S64 S64 S64 "'}",
		 "'clusterIP':'10.96.0.18'"),
	   check_svc_legacy_long),
	OK("service ExternalName", SVC_K,
	   SVC("'type':'ExternalName','externalName':'db.example.com','ports':[{'port':5432}]"),
	   check_svc_external_name),
	OK("service headless None", SVC_K,
	   SVC("'clusterIP':'None','clusterIPs':['None'],'ports':[{'port':80}]"),
	   check_svc_headless),
	OK("service headless empty clusterIP", SVC_K, SVC("'clusterIP':'','ports':[{'port':80}]"),
	   check_svc_headless),
	OK("service dual stack", SVC_K,
	   SVC("'clusterIP':'fd00::10','clusterIPs':['fd00::10','10.96.0.20'],"
	       "'ipFamilies':['IPv6','IPv4'],'ipFamilyPolicy':'RequireDualStack',"
	       "'ports':[{'port':80}]"),
	   check_svc_dual_stack),
	OK("service clusterIPs without clusterIP", SVC_K,
	   SVC("'clusterIPs':['10.96.0.30'],'ports':[{'port':80}]"), check_svc_cluster_ips_only),
	OK("service with service-proxy-name label", SVC_K,
	   SVC_M(DEFAULT_META ",'labels':{'service.kubernetes.io/service-proxy-name':'other'}",
		 "'clusterIP':'10.96.0.21'"),
	   check_svc_proxy_name),
	OK("service defaults", SVC_K, SVC("'ports':[{'port':80}]"), check_svc_defaults),
	OK("service nulls read as absent", SVC_K,
	   "{'kind':'Service','apiVersion':'v1','metadata':{'namespace':'default','name':'web',"
	   "'labels':null,'annotations':null,'resourceVersion':null},"
	   "'spec':{'clusterIP':'10.96.0.22','ports':[{'port':80,'nodePort':null,'name':null}],"
	   "'externalIPs':null,'sessionAffinityConfig':null,'type':null},'status':null}",
	   check_svc_nulls),
	OK("service empty externalTrafficPolicy", SVC_K,
	   SVC("'clusterIP':'10.96.0.23','ports':[{'port':80}],'externalTrafficPolicy':'',"
	       "'internalTrafficPolicy':''"),
	   check_svc_default_policies),
	OK("service longest names", SVC_K,
	   SVC_M("'namespace':'" S63 "','name':'" S63 "','resourceVersion':'" RV64 "'",
		 "'clusterIP':'10.96.0.24'"),
	   check_svc_long_names),
	OK("service without spec", SVC_K,
	   "{'kind':'Service','apiVersion':'v1','metadata':{'namespace':'default','name':'web'}}",
	   check_svc_headless),
	OK("service item without kind", SVC_K,
	   "{'metadata':{'namespace':'default','name':'web'},'spec':{'ports':[{'port':80}]}}",
	   check_svc_defaults),

	/* Services that must fail. */
	BAD("port 70000", SVC_K, SVC("'ports':[{'name':'a','port':80},{'name':'b','port':70000}]"),
	    "service default/web: spec.ports[1].port: 70000 out of range"),
	BAD("port 0", SVC_K, SVC("'ports':[{'port':0}]"),
	    "service default/web: spec.ports[0].port: 0 out of range"),
	BAD("port negative", SVC_K, SVC("'ports':[{'port':-1}]"),
	    "service default/web: spec.ports[0].port: -1 out of range"),
	BAD("port 1.5", SVC_K, SVC("'ports':[{'port':1.5}]"),
	    "service default/web: spec.ports[0].port: 1.5 is not an integer"),
	BAD("port 1e300", SVC_K, SVC("'ports':[{'port':1e300}]"),
	    "service default/web: spec.ports[0].port: 1e+300 out of range"),
	BAD("port string", SVC_K, SVC("'ports':[{'port':'80'}]"),
	    "service default/web: spec.ports[0].port: not a number"),
	BAD("port boolean", SVC_K, SVC("'ports':[{'port':true}]"),
	    "service default/web: spec.ports[0].port: not a number"),
	BAD("port missing", SVC_K, SVC("'ports':[{'name':'http'}]"),
	    "service default/web: spec.ports[0].port: missing"),
	BAD("nodePort 70000", SVC_K, SVC("'ports':[{'port':80,'nodePort':70000}]"),
	    "service default/web: spec.ports[0].nodePort: 70000 out of range"),
	BAD("nodePort negative", SVC_K, SVC("'ports':[{'port':80,'nodePort':-5}]"),
	    "service default/web: spec.ports[0].nodePort: -5 out of range"),
	BAD("healthCheckNodePort 65536", SVC_K, SVC("'healthCheckNodePort':65536"),
	    "service default/web: spec.healthCheckNodePort: 65536 out of range"),
	BAD("bad protocol", SVC_K, SVC("'ports':[{'port':80,'protocol':'HTTP'}]"),
	    "service default/web: spec.ports[0].protocol: \"HTTP\" is not a valid protocol"),
	BAD("lower-case protocol", SVC_K, SVC("'ports':[{'port':80,'protocol':'tcp'}]"),
	    "service default/web: spec.ports[0].protocol: \"tcp\" is not a valid protocol"),
	BAD("protocol not a string", SVC_K, SVC("'ports':[{'port':80,'protocol':6}]"),
	    "service default/web: spec.ports[0].protocol: not a string"),
	BAD("port name upper case", SVC_K, SVC("'ports':[{'port':80,'name':'HTTP'}]"),
	    "service default/web: spec.ports[0].name: \"HTTP\" is not a DNS-1123 label"),
	BAD("clusterIP unspecified", SVC_K, SVC("'clusterIP':'0.0.0.0'"),
	    "service default/web: spec.clusterIP: \"0.0.0.0\" is the unspecified address"),
	BAD("clusterIP broadcast", SVC_K, SVC("'clusterIP':'255.255.255.255'"),
	    "service default/web: spec.clusterIP: \"255.255.255.255\" is the broadcast address"),
	BAD("clusterIP multicast", SVC_K, SVC("'clusterIP':'239.0.0.1'"),
	    "service default/web: spec.clusterIP: \"239.0.0.1\" is a multicast address"),
	BAD("clusterIP loopback", SVC_K, SVC("'clusterIP':'127.0.0.53'"),
	    "service default/web: spec.clusterIP: \"127.0.0.53\" is a loopback address"),
	BAD("clusterIP IPv4-mapped", SVC_K, SVC("'clusterIP':'::ffff:10.0.0.1'"),
	    "service default/web: spec.clusterIP: \"::ffff:10.0.0.1\" is an IPv4-mapped IPv6 "
	    "address"),
	BAD("clusterIPs IPv6 loopback", SVC_K, SVC("'clusterIPs':['10.0.0.1','::1']"),
	    "service default/web: spec.clusterIPs[1]: \"::1\" is a loopback address"),
	BAD("externalIP link-local", SVC_K, SVC("'externalIPs':['169.254.169.254']"),
	    "service default/web: spec.externalIPs[0]: \"169.254.169.254\" is a link-local "
	    "address"),
	BAD("externalIP IPv6 link-local", SVC_K, SVC("'externalIPs':['fe80::1']"),
	    "service default/web: spec.externalIPs[0]: \"fe80::1\" is a link-local address"),
	BAD("ingress IPv6 multicast", SVC_K,
	    SVC_ST("'type':'LoadBalancer'", "'loadBalancer':{'ingress':[{'ip':'ff02::1'}]}"),
	    "service default/web: status.loadBalancer.ingress[0].ip: \"ff02::1\" is a multicast "
	    "address"),
	BAD("ports unnamed", SVC_K, SVC("'ports':[{'port':80},{'name':'b','port':81}]"),
	    "service default/web: spec.ports[0].name: missing (required when there is more than "
	    "one port)"),
	BAD("ports same name", SVC_K,
	    SVC("'ports':[{'name':'a','port':80},{'name':'b','port':81},{'name':'a','port':82}]"),
	    "service default/web: spec.ports[2].name: \"a\" is already used by ports[0]"),
	BAD("ports same number", SVC_K,
	    SVC("'ports':[{'name':'a','port':80},{'name':'b','port':80,'protocol':'TCP'}]"),
	    "service default/web: spec.ports[1].port: 80/TCP is already used by ports[0]"),
	BAD("ports same nodePort", SVC_K,
	    SVC("'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30001},"
		"{'name':'b','port':81,'nodePort':30001}]"),
	    "service default/web: spec.ports[1].nodePort: 30001/TCP is already used by ports[0]"),
	BAD("bad clusterIP", SVC_K, SVC("'clusterIP':'1.2.3.256'"),
	    "service default/web: spec.clusterIP: \"1.2.3.256\" is not a valid IP address"),
	BAD("clusterIP over 255 after its leading zeros", SVC_K, SVC("'clusterIP':'010.0.0.0256'"),
	    "service default/web: spec.clusterIP: \"010.0.0.0256\" is not a valid IP address"),
	BAD("clusterIPs disagree", SVC_K,
	    SVC("'clusterIP':'10.0.0.1','clusterIPs':['10.0.0.2']"),
	    "service default/web: spec.clusterIPs[0]: \"10.0.0.2\" does not match spec.clusterIP"),
	BAD("clusterIPs too many", SVC_K,
	    SVC("'clusterIPs':['10.0.0.1','fd00::1','10.0.0.2']"),
	    "service default/web: spec.clusterIPs: too many entries (max 2)"),
	BAD("clusterIPs same family", SVC_K,
	    SVC("'clusterIP':'10.0.0.1','clusterIPs':['10.0.0.1','10.0.0.2']"),
	    "service default/web: spec.clusterIPs[1]: \"10.0.0.2\" is of the same family as "
	    "spec.clusterIPs[0]"),
	BAD("clusterIPs bad second", SVC_K,
	    SVC("'clusterIP':'10.0.0.1','clusterIPs':['10.0.0.1','fd00::g']"),
	    "service default/web: spec.clusterIPs[1]: \"fd00::g\" is not a valid IP address"),
	BAD("clusterIPs not strings", SVC_K, SVC("'clusterIPs':[1]"),
	    "service default/web: spec.clusterIPs[0]: not a string"),
	BAD("bad externalIP", SVC_K, SVC("'externalIPs':['192.0.2.1','1.2.3.256']"),
	    "service default/web: spec.externalIPs[1]: \"1.2.3.256\" is not a valid IP address"),
	BAD("externalIPs element not a string", SVC_K, SVC("'externalIPs':[{}]"),
	    "service default/web: spec.externalIPs[0]: not a string"),
	BAD("externalIPs not an array", SVC_K, SVC("'externalIPs':'192.0.2.1'"),
	    "service default/web: spec.externalIPs: not an array"),
	BAD("bad source range", SVC_K, SVC("'loadBalancerSourceRanges':['10.0.0.0/33']"),
	    "service default/web: spec.loadBalancerSourceRanges[0]: \"10.0.0.0/33\" is not a valid "
	    "CIDR"),
	BAD("source range over 255 after its leading zeros", SVC_K,
	    SVC("'loadBalancerSourceRanges':['10.0.0.0/8','203.0.113.0256/24']"),
	    "service default/web: spec.loadBalancerSourceRanges[1]: \"203.0.113.0256/24\" is not "
	    "a valid CIDR"),
	BAD("source range prefix over 32 after its leading zeros", SVC_K,
	    SVC("'loadBalancerSourceRanges':['203.0.113.0/033']"),
	    "service default/web: spec.loadBalancerSourceRanges[0]: \"203.0.113.0/033\" is not a "
	    "valid CIDR"),
	BAD("source range in hex", SVC_K, SVC("'loadBalancerSourceRanges':['0x0a.0.0.0/8']"),
	    "service default/web: spec.loadBalancerSourceRanges[0]: \"0x0a.0.0.0/8\" is not a "
	    "valid CIDR"),
	BAD("source range without prefix", SVC_K, SVC("'loadBalancerSourceRanges':['10.0.0.1']"),
	    "service default/web: spec.loadBalancerSourceRanges[0]: \"10.0.0.1\" is not a valid "
	    "CIDR"),
	BAD("bad type", SVC_K, SVC("'type':'Foo'"),
	    "service default/web: spec.type: \"Foo\" is not a valid service type"),
	BAD("externalTrafficPolicy Global", SVC_K, SVC("'externalTrafficPolicy':'Global'"),
	    "service default/web: spec.externalTrafficPolicy: \"Global\" is not a valid traffic "
	    "policy"),
	BAD("bad internalTrafficPolicy", SVC_K, SVC("'internalTrafficPolicy':'PreferLocal'"),
	    "service default/web: spec.internalTrafficPolicy: \"PreferLocal\" is not a valid "
	    "traffic policy"),
	BAD("bad sessionAffinity", SVC_K, SVC("'sessionAffinity':'Sticky'"),
	    "service default/web: spec.sessionAffinity: \"Sticky\" is not a valid session "
	    "affinity"),
	BAD("affinity timeout 0", SVC_K,
	    SVC("'sessionAffinity':'ClientIP','sessionAffinityConfig':{'clientIP':"
		"{'timeoutSeconds':0}}"),
	    "service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 0 out of "
	    "range"),
	BAD("affinity timeout 86401", SVC_K,
	    SVC("'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':86401}}"),
	    "service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 out "
	    "of range"),
	BAD("affinity clientIP not an object", SVC_K,
	    SVC("'sessionAffinityConfig':{'clientIP':[]}"),
	    "service default/web: spec.sessionAffinityConfig.clientIP: not an object"),
	BAD("bad ingress ip", SVC_K,
	    SVC_ST("'type':'LoadBalancer'", "'loadBalancer':{'ingress':[{'ip':'bogus'}]}"),
	    "service default/web: status.loadBalancer.ingress[0].ip: \"bogus\" is not a valid IP "
	    "address"),
	BAD("bad ingress ipMode", SVC_K,
	    SVC_ST("'type':'LoadBalancer'",
		   "'loadBalancer':{'ingress':[{'hostname':'a'},"
		   "{'ip':'1.2.3.4','ipMode':'Direct'}]}"),
	    "service default/web: status.loadBalancer.ingress[1].ipMode: \"Direct\" is not a valid "
	    "IP mode"),
	BAD("ingress entry not an object", SVC_K,
	    SVC_ST("'type':'LoadBalancer'", "'loadBalancer':{'ingress':['1.2.3.4']}"),
	    "service default/web: status.loadBalancer.ingress[0]: not an object"),
	BAD("status.loadBalancer not an object", SVC_K, SVC_ST("", "'loadBalancer':[]"),
	    "service default/web: status.loadBalancer: not an object"),
	BAD("status not an object", SVC_K,
	    "{'kind':'Service','metadata':{" DEFAULT_META "},'status':1}",
	    "service default/web: status: not an object"),
	BAD("name upper case", SVC_K, SVC_M("'namespace':'default','name':'Web'", ""),
	    "service default/?: metadata.name: \"Web\" is not a DNS-1123 label"),
	BAD("name with newline", SVC_K, SVC_M("'namespace':'default','name':'we\\nb'", ""),
	    "service default/?: metadata.name: \"we?b\" is not a DNS-1123 label"),
	BAD("name with dot", SVC_K, SVC_M("'namespace':'default','name':'web.v1'", ""),
	    "service default/?: metadata.name: \"web.v1\" is not a DNS-1123 label"),
	BAD("name hostile bytes", SVC_K,
	    SVC_M("'namespace':'default','name':'a\\'b\\\\c\\u00e9\\u0001'", ""),
	    "service default/?: metadata.name: \"a?b?c???\" is not a DNS-1123 label"),
	BAD("name echo truncated", SVC_K, SVC_M("'namespace':'default','name':'" S64 "A'", ""),
	    "service default/?: metadata.name: \"" S64 "\" is not a DNS-1123 label"),
	BAD("name too long", SVC_K, SVC_M("'namespace':'default','name':'" NAME253 "a'", ""),
	    "service default/?: metadata.name: too long (max 253)"),
	BAD("name missing", SVC_K, SVC_M("'namespace':'default'", ""),
	    "service default/?: metadata.name: missing"),
	BAD("name empty", SVC_K, SVC_M("'namespace':'default','name':''", ""),
	    "service default/?: metadata.name: \"\" is not a DNS-1123 label"),
	BAD("name not a string", SVC_K, SVC_M("'namespace':'default','name':7", ""),
	    "service default/?: metadata.name: not a string"),
	BAD("namespace missing", SVC_K, SVC_M("'name':'web'", ""),
	    "service ?: metadata.namespace: missing"),
	BAD("namespace upper case", SVC_K, SVC_M("'namespace':'Default','name':'web'", ""),
	    "service ?: metadata.namespace: \"Default\" is not a DNS-1123 label"),
	BAD("namespace not a string", SVC_K, SVC_M("'namespace':['default'],'name':'web'", ""),
	    "service ?: metadata.namespace: not a string"),
	BAD("metadata missing", SVC_K, "{'kind':'Service','spec':{}}",
	    "service ?: metadata.namespace: missing"),
	BAD("metadata not an object", SVC_K, "{'kind':'Service','metadata':'web'}",
	    "service ?: metadata: not an object"),
	BAD("resourceVersion too long", SVC_K,
	    SVC_M(DEFAULT_META ",'resourceVersion':'" RV64 "1'", ""),
	    "service default/web: metadata.resourceVersion: too long (max 64)"),
	BAD("resourceVersion not a string", SVC_K, SVC_M(DEFAULT_META ",'resourceVersion':42", ""),
	    "service default/web: metadata.resourceVersion: not a string"),
	BAD("labels not an object", SVC_K, SVC_M(DEFAULT_META ",'labels':'app=web'", ""),
	    "service default/web: metadata.labels: not an object"),
	BAD("annotations not an object", SVC_K, SVC_M(DEFAULT_META ",'annotations':[]", ""),
	    "service default/web: metadata.annotations: not an object"),
	BAD("proxy-name label not a string", SVC_K,
	    SVC_M(DEFAULT_META ",'labels':{'service.kubernetes.io/service-proxy-name':true}", ""),
	    "service default/web: metadata.labels[service.kubernetes.io/service-proxy-name]: not a "
	    "string"),
	BAD("legacy annotation not a string", SVC_K,
	    SVC_M(DEFAULT_META ",'annotations':{'service.beta.kubernetes.io/external-traffic':1}",
		  ""),
	    "service default/web: "
	    "metadata.annotations[service.beta.kubernetes.io/external-traffic]: not a string"),
	BAD("spec not an object", SVC_K,
	    "{'kind':'Service','metadata':{" DEFAULT_META "},'spec':[]}",
	    "service default/web: spec: not an object"),
	BAD("ports not an array", SVC_K, SVC("'ports':{'port':80}"),
	    "service default/web: spec.ports: not an array"),
	BAD("port entry not an object", SVC_K, SVC("'ports':[80]"),
	    "service default/web: spec.ports[0]: not an object"),
	BAD("document not an object", SVC_K, "['web']", "service ?: not an object"),
	BAD("apiVersion unsupported", SVC_K,
	    "{'kind':'Service','apiVersion':'v2','metadata':{" DEFAULT_META "}}",
	    "service default/web: apiVersion: \"v2\" is not a supported version"),
	BAD("kind mismatch", SVC_K,
	    "{'kind':'Node','apiVersion':'v1','metadata':{" DEFAULT_META "}}",
	    "service default/web: kind: \"Node\" is not Service"),

	/* EndpointSlices that decode. */
	OK("slice v1", SLC_K,
	   "{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{"
	   "'name':'web-x7k2p','generateName':'web-','namespace':'shop','resourceVersion':'5511',"
	   "'labels':{'kubernetes.io/service-name':'web',"
	   "'endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'},"
	   "'ownerReferences':[{'apiVersion':'v1','kind':'Service','name':'web','uid':'u1',"
	   "'controller':true,'blockOwnerDeletion':true}]},"
	   "'addressType':'IPv4',"
	   "'endpoints':["
	   "{'addresses':['10.244.1.5'],'conditions':{'ready':true,'serving':true,"
	   "'terminating':false},'nodeName':'node-a','zone':'eu-west-1a',"
	   "'targetRef':{'kind':'Pod','namespace':'shop','name':'web-1','uid':'u2'},"
	   "'hints':{'forZones':[{'name':'eu-west-1a'}],'forNodes':[{'name':'node-a'}]}},"
	   "{'addresses':['10.244.2.7'],'conditions':{'ready':false,'serving':true,"
	   "'terminating':true},'nodeName':'node-b.example.com'},"
	   "{'addresses':['10.244.3.9','10.244.3.10'],'conditions':{}}],"
	   "'ports':[{'name':'http','protocol':'TCP','port':8080,'appProtocol':'http'},"
	   "{'name':'dns','protocol':'UDP','port':5353},"
	   "{'name':'skipped','protocol':'TCP','port':null},"
	   "{'name':'also-skipped'},"
	   "{'port':9090}]}",
	   check_slice_v1),
	OK("slice zone hints", SLC_K,
	   SLICE("'addressType':'IPv4','endpoints':["
		 "{'addresses':['10.244.1.5'],'hints':{'forZones':[{'name':'zone-a'},"
		 "{'name':'zone-b'}],'forNodes':[{'name':'node-a'}]}},"
		 "{'addresses':['10.244.1.6'],'hints':{'forZones':[]}}],'ports':[{'port':8080}]"),
	   check_slice_hints),
	OK("slice address with leading zeros", SLC_K,
	   SLICE("'addressType':'IPv4','endpoints':[{'addresses':['010.244.001.005']}],"
		 "'ports':[{'port':8080}]"),
	   check_slice_zeros),
	OK("slice v1beta1 topology", SLC_K,
	   "{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1beta1','metadata':{"
	   "'name':'web-old','namespace':'shop','labels':{'kubernetes.io/service-name':'web'}},"
	   "'addressType':'IPv4','endpoints':["
	   "{'addresses':['10.244.1.5'],'conditions':{'ready':true},"
	   "'topology':{'kubernetes.io/hostname':'node-a','topology.kubernetes.io/zone':'zone-a',"
	   "'topology.kubernetes.io/region':'r1'}},"
	   "{'addresses':['10.244.1.6'],'conditions':{'ready':false},"
	   "'topology':{'kubernetes.io/hostname':'node-b'}},"
	   "{'addresses':['10.244.1.7'],'nodeName':'node-c',"
	   "'topology':{'kubernetes.io/hostname':'node-x','topology.kubernetes.io/zone':'zone-c'}}"
	   "],'ports':[{'name':'http','port':8080,'protocol':'TCP'}]}",
	   check_slice_v1beta1),
	OK("slice IPv6", SLC_K,
	   SLICE("'addressType':'IPv6','endpoints':[{'addresses':['fd00:10:244::5']},"
		 "{'addresses':['fd00:10:244:0::7']}],'ports':[{'port':80}]"),
	   check_slice_ipv6),
	OK("slice FQDN keeps no endpoints", SLC_K,
	   SLICE("'addressType':'FQDN','endpoints':[{'addresses':['db.example.com'],"
		 "'nodeName':'node-a'}],'ports':[{'name':'pg','port':5432}]"),
	   check_slice_fqdn),
	OK("slice empty", SLC_K, SLICE("'addressType':'IPv4','endpoints':null,'ports':[]"),
	   check_slice_empty),

	/* EndpointSlices that must fail. */
	BAD("slice port names repeat", SLC_K,
	    SLICE("'addressType':'IPv4','ports':[{'name':'a','port':80},{'name':'x'},"
		  "{'name':'a','port':81}]"),
	    "endpointslice default/web-abc: ports[2].name: \"a\" is already used by ports[0]"),
	BAD("slice unnamed ports repeat", SLC_K,
	    SLICE("'addressType':'IPv4','ports':[{'port':80},{'port':81}]"),
	    "endpointslice default/web-abc: ports[1].name: \"\" is already used by ports[0]"),
	BAD("slice zone hint without a name", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.244.1.5'],"
		  "'hints':{'forZones':[{'name':'zone-a'},{}]}}]"),
	    "endpointslice default/web-abc: endpoints[0].hints.forZones[1].name: missing"),
	BAD("slice zone hints not objects", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.244.1.5'],"
		  "'hints':{'forZones':['zone-a']}}]"),
	    "endpointslice default/web-abc: endpoints[0].hints.forZones[0]: not an object"),
	BAD("slice zone hints over the API's 8", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.244.1.5'],"
		  "'hints':{'forZones':[{'name':'a'},{'name':'b'},{'name':'c'},{'name':'d'},"
		  "{'name':'e'},{'name':'f'},{'name':'g'},{'name':'h'},{'name':'i'}]}}]"),
	    "endpointslice default/web-abc: endpoints[0].hints.forZones: too many entries (max 8)"),
	BAD("slice endpoint unspecified", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['0.0.0.0']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: \"0.0.0.0\" is the "
	    "unspecified address"),
	BAD("slice endpoint IPv6 unspecified", SLC_K,
	    SLICE("'addressType':'IPv6','endpoints':[{'addresses':['::']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: \"::\" is the unspecified "
	    "address"),
	BAD("slice endpoint IPv4-mapped", SLC_K,
	    SLICE("'addressType':'IPv6','endpoints':[{'addresses':['::ffff:10.0.0.1']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: \"::ffff:10.0.0.1\" is an "
	    "IPv4-mapped IPv6 address"),
	BAD("slice service-name label missing", SLC_K,
	    SLICE_M("'namespace':'default','name':'web-abc','labels':{'app':'web'}",
		    "'addressType':'IPv4'"),
	    "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: missing"),
	BAD("slice without labels", SLC_K,
	    SLICE_M("'namespace':'default','name':'web-abc'", "'addressType':'IPv4'"),
	    "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: missing"),
	BAD("slice service-name label empty", SLC_K,
	    SLICE_M("'namespace':'default','name':'web-abc','labels':"
		    "{'kubernetes.io/service-name':''}",
		    "'addressType':'IPv4'"),
	    "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: missing"),
	BAD("slice service-name label invalid", SLC_K,
	    SLICE_M("'namespace':'default','name':'web-abc','labels':"
		    "{'kubernetes.io/service-name':'Web'}",
		    "'addressType':'IPv4'"),
	    "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: "
	    "\"Web\" is not a DNS-1123 label"),
	BAD("slice service-name label not a string", SLC_K,
	    SLICE_M("'namespace':'default','name':'web-abc','labels':"
		    "{'kubernetes.io/service-name':['web']}",
		    "'addressType':'IPv4'"),
	    "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: not a "
	    "string"),
	BAD("slice name invalid", SLC_K,
	    SLICE_M("'namespace':'default','name':'web_abc'", "'addressType':'IPv4'"),
	    "endpointslice default/?: metadata.name: \"web_abc\" is not a DNS-1123 subdomain"),
	BAD("slice addressType missing", SLC_K, SLICE("'endpoints':[]"),
	    "endpointslice default/web-abc: addressType: missing"),
	BAD("slice addressType invalid", SLC_K, SLICE("'addressType':'IPv5'"),
	    "endpointslice default/web-abc: addressType: \"IPv5\" is not a valid address type"),
	BAD("slice port 70000", SLC_K, SLICE("'addressType':'IPv4','ports':[{'port':70000}]"),
	    "endpointslice default/web-abc: ports[0].port: 70000 out of range"),
	BAD("slice port 0", SLC_K, SLICE("'addressType':'IPv4','ports':[{'name':'a','port':0}]"),
	    "endpointslice default/web-abc: ports[0].port: 0 out of range"),
	BAD("slice port protocol", SLC_K,
	    SLICE("'addressType':'IPv4','ports':[{'port':80},{'port':81,'protocol':'ICMP'}]"),
	    "endpointslice default/web-abc: ports[1].protocol: \"ICMP\" is not a valid protocol"),
	BAD("slice ports not an array", SLC_K, SLICE("'addressType':'IPv4','ports':{}"),
	    "endpointslice default/web-abc: ports: not an array"),
	BAD("slice endpoints not an array", SLC_K, SLICE("'addressType':'IPv4','endpoints':{}"),
	    "endpointslice default/web-abc: endpoints: not an array"),
	BAD("slice endpoint not an object", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':['10.0.0.1']"),
	    "endpointslice default/web-abc: endpoints[0]: not an object"),
	BAD("slice addresses missing", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'nodeName':'node-a'}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses: missing"),
	BAD("slice addresses empty", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1']},{'addresses':[]}]"),
	    "endpointslice default/web-abc: endpoints[1].addresses: empty"),
	BAD("slice addresses not an array", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':'10.0.0.1'}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses: not an array"),
	BAD("slice address not a string", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':[10]}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: not a string"),
	BAD("slice address bad", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['1.2.3.256']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: "
	    "\"1.2.3.256\" is not a valid IP address"),
	BAD("slice address wrong family", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['fd00::1']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: \"fd00::1\" is not an IPv4 "
	    "address"),
	BAD("slice address wrong family v6", SLC_K,
	    SLICE("'addressType':'IPv6','endpoints':[{'addresses':['10.0.0.1']}]"),
	    "endpointslice default/web-abc: endpoints[0].addresses[0]: \"10.0.0.1\" is not an IPv6 "
	    "address"),
	BAD("slice ready not a boolean", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'conditions':{'ready':'true'}}]"),
	    "endpointslice default/web-abc: endpoints[0].conditions.ready: not a boolean"),
	BAD("slice terminating not a boolean", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'conditions':{'terminating':1}}]"),
	    "endpointslice default/web-abc: endpoints[0].conditions.terminating: not a boolean"),
	BAD("slice conditions not an object", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],'conditions':[]}]"),
	    "endpointslice default/web-abc: endpoints[0].conditions: not an object"),
	BAD("slice nodeName invalid", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'nodeName':'Node_A'}]"),
	    "endpointslice default/web-abc: endpoints[0].nodeName: \"Node_A\" is not a DNS-1123 "
	    "subdomain"),
	BAD("slice zone too long", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'zone':'" NAME253 "a'}]"),
	    "endpointslice default/web-abc: endpoints[0].zone: too long (max 253)"),
	BAD("slice topology hostname invalid", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'topology':{'kubernetes.io/hostname':'Bad Host'}}]"),
	    "endpointslice default/web-abc: endpoints[0].topology[kubernetes.io/hostname]: \"Bad "
	    "Host\" is not a DNS-1123 subdomain"),
	BAD("slice topology value not a string", SLC_K,
	    SLICE("'addressType':'IPv4','endpoints':[{'addresses':['10.0.0.1'],"
		  "'topology':{'topology.kubernetes.io/zone':5}}]"),
	    "endpointslice default/web-abc: "
	    "endpoints[0].topology[topology.kubernetes.io/zone]: not a string"),
	BAD("slice apiVersion unsupported", SLC_K,
	    "{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v2','metadata':{" SLICE_META
	    "},'addressType':'IPv4'}",
	    "endpointslice default/web-abc: apiVersion: \"discovery.k8s.io/v2\" is not a supported "
	    "version"),

	/* Endpoints. */
	OK("endpoints two subsets", EPS_K,
	   "{'kind':'Endpoints','apiVersion':'v1','metadata':{'name':'web','namespace':'shop',"
	   "'resourceVersion':'777','labels':{'app':'web'}},'subsets':["
	   "{'addresses':[{'ip':'10.244.1.5','nodeName':'node-a','targetRef':{'kind':'Pod',"
	   "'name':'web-1'}},{'ip':'10.244.2.6','nodeName':'node-b','hostname':'web-2'}],"
	   "'notReadyAddresses':[{'ip':'not-an-ip','nodeName':'Not A Node'}],"
	   "'ports':[{'name':'http','port':8080,'protocol':'TCP'},"
	   "{'name':'dns','port':53,'protocol':'UDP','appProtocol':'dns'}]},"
	   "{'addresses':[{'ip':'fd00::5'}],'ports':[{'port':9090}]}]}",
	   check_eps_two_subsets),
	OK("endpoints not-ready addresses only", EPS_K,
	   EPS("'subsets':[{'notReadyAddresses':[{'ip':'10.0.0.1'}],'ports':[{'port':80}]}]"),
	   check_eps_not_ready_only),
	OK("endpoints without subsets", EPS_K, EPS("'subsets':[]"), check_eps_empty),
	BAD("endpoints port 0", EPS_K,
	    EPS("'subsets':[{'ports':[{'port':80}]},{'addresses':[{'ip':'10.0.0.1'}],"
		"'ports':[{'port':0}]}]"),
	    "endpoints default/web: subsets[1].ports[0].port: 0 out of range"),
	BAD("endpoints ip loopback", EPS_K, EPS("'subsets':[{'addresses':[{'ip':'127.0.0.1'}]}]"),
	    "endpoints default/web: subsets[0].addresses[0].ip: \"127.0.0.1\" is a loopback "
	    "address"),
	BAD("endpoints ports unnamed", EPS_K,
	    EPS("'subsets':[{'ports':[{'name':'a','port':80},{'port':81}]}]"),
	    "endpoints default/web: subsets[0].ports[1].name: missing (required when there is "
	    "more than one port)"),
	BAD("endpoints port names repeat", EPS_K,
	    EPS("'subsets':[{'ports':[{'name':'a','port':80},{'name':'a','port':81}]}]"),
	    "endpoints default/web: subsets[0].ports[1].name: \"a\" is already used by ports[0]"),
	BAD("endpoints ip missing", EPS_K, EPS("'subsets':[{'addresses':[{'nodeName':'node-a'}]}]"),
	    "endpoints default/web: subsets[0].addresses[0].ip: missing"),
	BAD("endpoints ip invalid", EPS_K, EPS("'subsets':[{'addresses':[{'ip':'10.0.0'}]}]"),
	    "endpoints default/web: subsets[0].addresses[0].ip: \"10.0.0\" is not a valid IP "
	    "address"),
	BAD("endpoints mixed families", EPS_K,
	    EPS("'subsets':[{'addresses':[{'ip':'10.0.0.1'},{'ip':'fd00::1'}]}]"),
	    "endpoints default/web: subsets[0].addresses[1].ip: "
	    "\"fd00::1\" is not an IPv4 address"),
	BAD("endpoints nodeName invalid", EPS_K,
	    EPS("'subsets':[{'addresses':[{'ip':'10.0.0.1','nodeName':'-a'}]}]"),
	    "endpoints default/web: subsets[0].addresses[0].nodeName: \"-a\" is not a DNS-1123 "
	    "subdomain"),
	BAD("endpoints subsets not an array", EPS_K, EPS("'subsets':{}"),
	    "endpoints default/web: subsets: not an array"),
	BAD("endpoints subset not an object", EPS_K, EPS("'subsets':[null]"),
	    "endpoints default/web: subsets[0]: not an object"),
	BAD("endpoints address not an object", EPS_K, EPS("'subsets':[{'addresses':['10.0.0.1']}]"),
	    "endpoints default/web: subsets[0].addresses[0]: not an object"),
	BAD("endpoints namespace missing", EPS_K, "{'kind':'Endpoints','metadata':{'name':'web'}}",
	    "endpoints ?: metadata.namespace: missing"),

	/* Nodes. */
	OK("node deleting and tainted", NOD_K,
	   "{'kind':'Node','apiVersion':'v1','metadata':{'name':'node-a.example.com',"
	   "'resourceVersion':'99','deletionTimestamp':'2024-05-02T09:14:07Z',"
	   "'deletionGracePeriodSeconds':0,'finalizers':['x'],"
	   "'labels':{'topology.kubernetes.io/zone':'eu-west-1a',"
	   "'kubernetes.io/hostname':'node-a'}},"
	   "'spec':{'podCIDR':'10.244.1.0/24','podCIDRs':['10.244.1.0/24'],'taints':["
	   "{'key':'node.kubernetes.io/unschedulable','effect':'NoSchedule'},"
	   "{'key':'ToBeDeletedByClusterAutoscaler','value':'1700000000','effect':'NoSchedule'}]},"
	   "'status':{'addresses':[{'type':'Hostname','address':'node-a'},"
	   "{'type':'ExternalIP','address':'203.0.113.10'},"
	   "{'type':'InternalIP','address':'10.0.0.10'},"
	   "{'type':'InternalIP','address':'fd00::10'},"
	   "{'type':'InternalDNS','address':'node-a.internal'}],"
	   "'conditions':[{'type':'Ready','status':'True'}]}}",
	   check_node_full),
	OK("node plain", NOD_K,
	   NODE_M("'name':'node-a','deletionTimestamp':null,'labels':null",
		  "'spec':{'taints':[{'key':'other','effect':'NoExecute'},"
		  "{'effect':'NoSchedule'}]},"
		  "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.11'},"
		  "{'address':'10.0.0.99'}]}"),
	   check_node_plain),
	/* Loopback and link-local are refused for Services and endpoints, not for nodes. */
	OK("node link-local address", NOD_K,
	   NODE("'status':{'addresses':[{'type':'InternalIP','address':'169.254.3.4'}]}"), NULL),
	OK("node longest name", NOD_K, NODE_M("'name':'" NAME253 "'", "'status':{}"),
	   check_node_long_name),
	BAD("node address broadcast", NOD_K,
	    NODE("'status':{'addresses':[{'type':'ExternalIP','address':'255.255.255.255'}]}"),
	    "node node-a: status.addresses[0].address: \"255.255.255.255\" is the broadcast "
	    "address"),
	BAD("node name missing", NOD_K, NODE_M("'namespace':'x'", "'status':{}"),
	    "node ?: metadata.name: missing"),
	BAD("node name invalid", NOD_K, NODE_M("'name':'node..a'", "'status':{}"),
	    "node ?: metadata.name: \"node..a\" is not a DNS-1123 subdomain"),
	BAD("node name too long", NOD_K, NODE_M("'name':'" NAME253 "a'", "'status':{}"),
	    "node ?: metadata.name: too long (max 253)"),
	BAD("node InternalIP invalid", NOD_K,
	    NODE("'status':{'addresses':[{'type':'Hostname','address':'x'},"
		 "{'type':'InternalIP','address':'10.0.0.300'}]}"),
	    "node node-a: status.addresses[1].address: \"10.0.0.300\" is not a valid IP address"),
	BAD("node ExternalIP missing address", NOD_K,
	    NODE("'status':{'addresses':[{'type':'ExternalIP'}]}"),
	    "node node-a: status.addresses[0].address: missing"),
	BAD("node address type not a string", NOD_K,
	    NODE("'status':{'addresses':[{'type':1,'address':'10.0.0.1'}]}"),
	    "node node-a: status.addresses[0].type: not a string"),
	BAD("node addresses not an array", NOD_K, NODE("'status':{'addresses':{}}"),
	    "node node-a: status.addresses: not an array"),
	BAD("node taints not an array", NOD_K, NODE("'spec':{'taints':'x'}"),
	    "node node-a: spec.taints: not an array"),
	BAD("node taint not an object", NOD_K, NODE("'spec':{'taints':[[]]}"),
	    "node node-a: spec.taints[0]: not an object"),
	BAD("node taint key not a string", NOD_K, NODE("'spec':{'taints':[{'key':false}]}"),
	    "node node-a: spec.taints[0].key: not a string"),
	BAD("node zone label not a string", NOD_K,
	    NODE_M("'name':'node-a','labels':{'topology.kubernetes.io/zone':{}}", "'status':{}"),
	    "node node-a: metadata.labels[topology.kubernetes.io/zone]: not a string"),

	/* Dispatch on "kind". */
	ANY_OK("any Service", SVC_K, SVC("'ports':[{'port':80}]"), check_svc_defaults),
	ANY_OK("any EndpointSlice", SLC_K, SLICE("'addressType':'IPv4'"), check_slice_empty),
	ANY_OK("any Endpoints", EPS_K, EPS("'subsets':[]"), check_eps_empty),
	ANY_OK("any Node", NOD_K, NODE("'status':{'addresses':[{'type':'InternalIP',"
				       "'address':'10.0.0.11'}]}"),
	       check_node_plain),
	ANY_BAD("any unknown kind", "{'kind':'Pod','metadata':{'name':'p'}}",
		"object: kind: \"Pod\" is not a supported kind"),
	ANY_BAD("any kind missing", "{'metadata':{'name':'p'}}", "object: kind: missing"),
	ANY_BAD("any kind not a string", "{'kind':{}}", "object: kind: not a string"),
	ANY_BAD("any kind hostile", "{'kind':'Pod\\r\\nX-Injected: 1'}",
		"object: kind: \"Pod??X-Injected: 1\" is not a supported kind"),
	ANY_BAD("any not an object", "'Service'", "object: not an object"),
	ANY_BAD("any Service with bad port", SVC("'ports':[{'port':65536}]"),
		"service default/web: spec.ports[0].port: 65536 out of range"),
};
/* clang-format on */

static void run_case(const struct test_case *tc)
{
	struct errbuf err = { { 0 } };
	struct k8s_object obj;
	cJSON *json = parse_sq(tc->json);
	int r;

	if (tc->any)
		r = decode_object_any(json, &obj, &err);
	else
		r = decode_object(json, tc->kind, &obj, &err);
	cJSON_Delete(json);
	if (tc->error) {
		if (r == 0) {
			k8s_object_fini(&obj);
			fail_msg("%s: decoded; expected \"%s\"", tc->name, tc->error);
		}
		assert_int_equal(r, -EINVAL);
		if (strcmp(err.msg, tc->error) != 0)
			fail_msg("%s:\n  want: %s\n  got:  %s", tc->name, tc->error, err.msg);
		return;
	}
	if (r != 0)
		fail_msg("%s: %s", tc->name, err.msg);
	assert_int_equal(obj.kind, tc->kind);
	if (tc->check)
		tc->check(&obj);
	k8s_object_fini(&obj);
}

static void run_cases(bool any, enum k8s_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].any != any || (!any && cases[i].kind != kind))
			continue;
		run_case(&cases[i]);
		n++;
	}
	assert_true(n > 0);
}

static void test_service_cases(void **state)
{
	(void)state;
	run_cases(false, K8S_KIND_SERVICE);
}

static void test_slice_cases(void **state)
{
	(void)state;
	run_cases(false, K8S_KIND_ENDPOINTSLICE);
}

static void test_endpoints_cases(void **state)
{
	(void)state;
	run_cases(false, K8S_KIND_ENDPOINTS);
}

static void test_node_cases(void **state)
{
	(void)state;
	run_cases(false, K8S_KIND_NODE);
}

static void test_any_cases(void **state)
{
	(void)state;
	run_cases(true, K8S_KIND_SERVICE);
}

/* ---- Caps: max entries decode, one more is rejected ---- */

/**
 * struct cap_case - an array built from head, max (+1) copies of elem, tail.
 * A NULL elem stands for ports named p0, p1, ... numbered 1, 2, ...: the
 * ports of a Service or slice must differ.
 */
struct cap_case {
	const char *name;
	enum k8s_kind kind;
	const char *head;
	const char *elem;
	const char *tail;
	size_t max;
	const char *error;
};

/* clang-format off */
#define SVC_HEAD "{'kind':'Service','metadata':{" DEFAULT_META "},"
#define SLICE_HEAD "{'kind':'EndpointSlice','metadata':{" SLICE_META "},'addressType':'IPv4',"
#define EPS_HEAD "{'kind':'Endpoints','metadata':{'namespace':'default','name':'web'},"

static const struct cap_case cap_cases[] = {
	{ "service ports", SVC_K, SVC_HEAD "'spec':{'ports':[", NULL, "]}}",
	  K8S_MAX_PORTS, "service default/web: spec.ports: too many entries (max 1024)" },
	{ "service externalIPs", SVC_K, SVC_HEAD "'spec':{'externalIPs':[", "'192.0.2.1'", "]}}",
	  K8S_MAX_SERVICE_IPS,
	  "service default/web: spec.externalIPs: too many entries (max 256)" },
	{ "service source ranges", SVC_K, SVC_HEAD "'spec':{'loadBalancerSourceRanges':[",
	  "'10.0.0.0/8'", "]}}", K8S_MAX_SOURCE_RANGES,
	  "service default/web: spec.loadBalancerSourceRanges: too many entries (max 1024)" },
	{ "service ingress", SVC_K, SVC_HEAD "'status':{'loadBalancer':{'ingress':[",
	  "{'ip':'192.0.2.1'}", "]}}}", K8S_MAX_SERVICE_IPS,
	  "service default/web: status.loadBalancer.ingress: too many entries (max 256)" },
	{ "slice ports", SLC_K, SLICE_HEAD "'ports':[", NULL, "]}", K8S_MAX_SLICE_PORTS,
	  "endpointslice default/web-abc: ports: too many entries (max 100)" },
	{ "slice endpoints", SLC_K, SLICE_HEAD "'endpoints':[", "{'addresses':['10.0.0.1']}", "]}",
	  K8S_MAX_SLICE_ENDPOINTS,
	  "endpointslice default/web-abc: endpoints: too many entries (max 1000)" },
	{ "endpoints subsets", EPS_K, EPS_HEAD "'subsets':[", "{'ports':[{'port':80}]}", "]}",
	  K8S_MAX_SUBSETS, "endpoints default/web: subsets: too many entries (max 1000)" },
	{ "endpoints subset addresses", EPS_K, EPS_HEAD "'subsets':[{'addresses':[",
	  "{'ip':'10.0.0.1'}", "]}]}", K8S_MAX_SUBSET_ADDRS,
	  "endpoints default/web: subsets[0].addresses: too many entries (max 10000)" },
	{ "node addresses", NOD_K,
	  "{'kind':'Node','metadata':{'name':'node-a'},'status':{'addresses':[",
	  "{'type':'InternalIP','address':'10.0.0.1'}", "]}}", K8S_MAX_NODE_ADDRS,
	  "node node-a: status.addresses: too many entries (max 64)" },
};
/* clang-format on */

static char *build_array(const struct cap_case *cc, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	strbuf_adds(&sb, cc->head);
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_addc(&sb, ',');
		if (cc->elem)
			strbuf_adds(&sb, cc->elem);
		else
			strbuf_addf(&sb, "{'name':'p%zu','port':%zu}", i, i + 1);
	}
	strbuf_adds(&sb, cc->tail);
	return strbuf_detach(&sb, NULL);
}

static void test_caps(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cap_cases); i++) {
		const struct cap_case *cc = &cap_cases[i];
		struct test_case tc = { cc->name, cc->kind, false, NULL, NULL, NULL };
		char *at_max = build_array(cc, cc->max);
		char *over = build_array(cc, cc->max + 1);

		tc.json = at_max;
		run_case(&tc);
		tc.json = over;
		tc.error = cc->error;
		run_case(&tc);
		free(at_max);
		free(over);
	}
}

static void test_service_too_many_ports_exact(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct errbuf err = { { 0 } };
	struct k8s_object obj;
	cJSON *json;
	size_t i;

	(void)state;
	strbuf_adds(&sb, "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"
			 "\"spec\":{\"ports\":[");
	for (i = 0; i < K8S_MAX_PORTS + 1; i++)
		strbuf_addf(&sb, "%s{\"name\":\"p%zu\",\"port\":%zu}", i ? "," : "", i,
			    i % 65535 + 1);
	strbuf_adds(&sb, "]}}");
	json = cJSON_Parse(strbuf_str(&sb));
	assert_non_null(json);
	assert_int_equal(decode_object(json, K8S_KIND_SERVICE, &obj, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "service default/web: spec.ports: too many entries (max 1024)");
	cJSON_Delete(json);
	strbuf_fini(&sb);
}

/* ---- The kubernetes/api round-trip fixtures ---- */

/*
 * Each fixture is placeholder data and is rejected. To show that every field
 * is read, the test repairs the field named by each error in turn (a patch
 * whose objects merge into the document, with decimal keys for array
 * elements) until the object decodes.
 */
struct fixture_step {
	const char *error;
	const char *patch;
};

/* clang-format off */
static const struct fixture_step service_steps[] = {
	{ "service ?: metadata.namespace: \"namespaceValue\" is not a DNS-1123 label",
	  "{'metadata':{'namespace':'default'}}" },
	{ "service default/?: metadata.name: \"nameValue\" is not a DNS-1123 label",
	  "{'metadata':{'name':'web'}}" },
	{ "service default/web: spec.type: \"typeValue\" is not a valid service type",
	  "{'spec':{'type':'LoadBalancer'}}" },
	{ "service default/web: spec.clusterIP: \"clusterIPValue\" is not a valid IP address",
	  "{'spec':{'clusterIP':'10.0.0.1'}}" },
	{ "service default/web: spec.clusterIPs[0]: \"clusterIPsValue\" does not match "
	  "spec.clusterIP",
	  "{'spec':{'clusterIPs':{'0':'10.0.0.1'}}}" },
	{ "service default/web: spec.ports[0].name: \"nameValue\" is not a DNS-1123 label",
	  "{'spec':{'ports':{'0':{'name':'http'}}}}" },
	{ "service default/web: spec.ports[0].protocol: \"protocolValue\" is not a valid protocol",
	  "{'spec':{'ports':{'0':{'protocol':'TCP'}}}}" },
	{ "service default/web: spec.externalIPs[0]: \"externalIPsValue\" is not a valid IP "
	  "address",
	  "{'spec':{'externalIPs':{'0':'192.0.2.1'}}}" },
	{ "service default/web: spec.loadBalancerSourceRanges[0]: "
	  "\"loadBalancerSourceRangesValue\" is not a valid CIDR",
	  "{'spec':{'loadBalancerSourceRanges':{'0':'10.0.0.0/8'}}}" },
	{ "service default/web: spec.sessionAffinity: \"sessionAffinityValue\" is not a valid "
	  "session affinity",
	  "{'spec':{'sessionAffinity':'ClientIP'}}" },
	{ "service default/web: spec.externalTrafficPolicy: "
	  "\"externalTrafficPolicyValue\" is not a valid traffic policy",
	  "{'spec':{'externalTrafficPolicy':'Local'}}" },
	{ "service default/web: spec.internalTrafficPolicy: "
	  "\"internalTrafficPolicyValue\" is not a valid traffic policy",
	  "{'spec':{'internalTrafficPolicy':'Cluster'}}" },
	{ "service default/web: status.loadBalancer.ingress[0].ip: \"ipValue\" is not a valid IP "
	  "address",
	  "{'status':{'loadBalancer':{'ingress':{'0':{'ip':'198.51.100.1'}}}}}" },
	/* Only HEAD has ipMode; keep this step last. */
	{ "service default/web: status.loadBalancer.ingress[0].ipMode: \"ipModeValue\" is not a "
	  "valid IP mode",
	  "{'status':{'loadBalancer':{'ingress':{'0':{'ipMode':'VIP'}}}}}" },
};

static const struct fixture_step endpoints_steps[] = {
	{ "endpoints ?: metadata.namespace: \"namespaceValue\" is not a DNS-1123 label",
	  "{'metadata':{'namespace':'default'}}" },
	{ "endpoints default/?: metadata.name: \"nameValue\" is not a DNS-1123 subdomain",
	  "{'metadata':{'name':'web'}}" },
	{ "endpoints default/web: subsets[0].addresses[0].ip: "
	  "\"ipValue\" is not a valid IP address",
	  "{'subsets':{'0':{'addresses':{'0':{'ip':'10.1.0.1'}}}}}" },
	{ "endpoints default/web: subsets[0].addresses[0].nodeName: \"nodeNameValue\" is not a "
	  "DNS-1123 subdomain",
	  "{'subsets':{'0':{'addresses':{'0':{'nodeName':'node-a'}}}}}" },
	{ "endpoints default/web: subsets[0].ports[0].name: \"nameValue\" is not a DNS-1123 label",
	  "{'subsets':{'0':{'ports':{'0':{'name':'http'}}}}}" },
	{ "endpoints default/web: subsets[0].ports[0].protocol: \"protocolValue\" is not a valid "
	  "protocol",
	  "{'subsets':{'0':{'ports':{'0':{'protocol':'UDP'}}}}}" },
};

static const struct fixture_step slice_steps[] = {
	{ "endpointslice ?: metadata.namespace: \"namespaceValue\" is not a DNS-1123 label",
	  "{'metadata':{'namespace':'default'}}" },
	{ "endpointslice default/?: metadata.name: \"nameValue\" is not a DNS-1123 subdomain",
	  "{'metadata':{'name':'web-abc'}}" },
	{ "endpointslice default/web-abc: metadata.labels[kubernetes.io/service-name]: missing",
	  "{'metadata':{'labels':{'kubernetes.io/service-name':'web'}}}" },
	{ "endpointslice default/web-abc: addressType: \"addressTypeValue\" is not a valid address "
	  "type",
	  "{'addressType':'IPv4'}" },
	{ "endpointslice default/web-abc: ports[0].name: \"nameValue\" is not a DNS-1123 label",
	  "{'ports':{'0':{'name':'http'}}}" },
	{ "endpointslice default/web-abc: ports[0].protocol: \"protocolValue\" is not a valid "
	  "protocol",
	  "{'ports':{'0':{'protocol':'TCP'}}}" },
	{ "endpointslice default/web-abc: endpoints[0].addresses[0]: \"addressesValue\" is not a "
	  "valid IP address",
	  "{'endpoints':{'0':{'addresses':{'0':'10.1.0.1'}}}}" },
	{ "endpointslice default/web-abc: endpoints[0].nodeName: \"nodeNameValue\" is not a "
	  "DNS-1123 subdomain",
	  "{'endpoints':{'0':{'nodeName':'node-a'}}}" },
};

/* The v1beta1 fixture is fuzzed: unicode strings and a negative port. */
static const struct fixture_step slice_v1beta1_steps[] = {
	{ "endpointslice 4/2: metadata.labels[kubernetes.io/service-name]: missing",
	  "{'metadata':{'labels':{'kubernetes.io/service-name':'svc'}}}" },
	{ "endpointslice 4/2: addressType: \"??qJ???a8???`????.???\" is not a valid address type",
	  "{'addressType':'IPv4'}" },
	{ "endpointslice 4/2: ports[0].protocol: \"?????????????????y??????\" is not a valid "
	  "protocol",
	  "{'ports':{'0':{'protocol':'SCTP'}}}" },
	{ "endpointslice 4/2: ports[0].port: -591435092 out of range",
	  "{'ports':{'0':{'port':8080}}}" },
	{ "endpointslice 4/2: endpoints[0].addresses[0]: \"19\" is not a valid IP address",
	  "{'endpoints':{'0':{'addresses':{'0':'10.2.0.1'}}}}" },
};

static const struct fixture_step node_steps[] = {
	/* The fix also makes the placeholder address an InternalIP, to read it. */
	{ "node ?: metadata.name: \"nameValue\" is not a DNS-1123 subdomain",
	  "{'metadata':{'name':'node-a'},'status':{'addresses':{'0':{'type':'InternalIP'}}}}" },
	{ "node node-a: status.addresses[0].address: \"addressValue\" is not a valid IP address",
	  "{'status':{'addresses':{'0':{'address':'10.0.0.1'}}}}" },
};
/* clang-format on */

static void check_fixture_service(const struct k8s_object *o, enum k8s_ip_mode mode)
{
	const struct k8s_service *s = o->u.service;

	assert_string_equal(s->resource_version, "resourceVersionValue");
	assert_false(s->proxy_name_label);
	assert_int_equal(s->type, K8S_SVC_LOAD_BALANCER);
	assert_int_equal(s->n_cluster_ips, 1);
	assert_addr(&s->cluster_ips[0], "10.0.0.1");
	assert_int_equal(s->n_ports, 1);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].port, 3);
	assert_int_equal(s->ports[0].node_port, 5);
	assert_int_equal(s->n_external_ips, 1);
	assert_int_equal(s->n_source_ranges, 1);
	assert_int_equal(s->affinity, K8S_AFFINITY_CLIENT_IP);
	assert_int_equal(s->affinity_timeout, 1);
	assert_int_equal(s->external_policy, K8S_POLICY_LOCAL);
	assert_int_equal(s->health_check_node_port, 12);
	assert_int_equal(s->n_lb_ingress, 1);
	assert_addr(&s->lb_ingress[0].ip, "198.51.100.1");
	assert_int_equal(s->lb_ingress[0].ip_mode, mode);
}

static void check_fixture_service_head(const struct k8s_object *o)
{
	check_fixture_service(o, K8S_IPMODE_VIP);
}

static void check_fixture_service_v124(const struct k8s_object *o)
{
	check_fixture_service(o, K8S_IPMODE_UNSET);
}

static void check_fixture_endpoints(const struct k8s_object *o)
{
	const struct k8s_slice *s;

	assert_int_equal(o->u.endpoints->n_subsets, 1);
	s = &o->u.endpoints->subsets[0];
	assert_int_equal(s->n_endpoints, 1);
	assert_addr(&s->endpoints[0].addr, "10.1.0.1");
	assert_string_equal(s->endpoints[0].node_name, "node-a");
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 2);
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_UDP);
}

static void check_fixture_slice(const struct k8s_object *o)
{
	const struct k8s_slice *s = o->u.slice;

	assert_string_equal(s->service_name, "web");
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 3);
	assert_int_equal(s->n_endpoints, 1);
	assert_true(s->endpoints[0].ready);
	assert_true(s->endpoints[0].serving);
	assert_true(s->endpoints[0].terminating);
	assert_string_equal(s->endpoints[0].zone, "zoneValue");
}

static void check_fixture_slice_v1beta1(const struct k8s_object *o)
{
	const struct k8s_slice *s = o->u.slice;

	assert_string_equal(s->namespace, "4");
	assert_string_equal(s->name, "2");
	assert_string_equal(s->resource_version, "11042405498087606203");
	assert_string_equal(s->ports[0].name, "31");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_SCTP);
	assert_int_equal(s->n_endpoints, 1);
	assert_string_equal(s->endpoints[0].node_name, "29");
	assert_null(s->endpoints[0].zone);
	assert_false(s->endpoints[0].ready);
	assert_false(s->endpoints[0].serving);
	assert_false(s->endpoints[0].terminating);
}

static void check_fixture_node(const struct k8s_object *o)
{
	const struct k8s_node *n = o->u.node;

	assert_true(n->deleting);
	assert_false(n->to_be_deleted);
	assert_null(n->zone);
	assert_int_equal(n->n_addrs, 1);
	assert_addr(&n->addrs[0], "10.0.0.1");
}

static const struct fixture {
	const char *file;
	const struct fixture_step *steps;
	size_t n_steps;
	void (*check)(const struct k8s_object *obj);
} fixtures[] = {
	{ "HEAD.core.v1.Service.json", service_steps, ARRAY_SIZE(service_steps),
	  check_fixture_service_head },
	{ "v1.24.0.core.v1.Service.json", service_steps, ARRAY_SIZE(service_steps) - 1,
	  check_fixture_service_v124 },
	{ "HEAD.core.v1.Endpoints.json", endpoints_steps, ARRAY_SIZE(endpoints_steps),
	  check_fixture_endpoints },
	{ "v1.24.0.core.v1.Endpoints.json", endpoints_steps, ARRAY_SIZE(endpoints_steps),
	  check_fixture_endpoints },
	{ "HEAD.discovery.k8s.io.v1.EndpointSlice.json", slice_steps, ARRAY_SIZE(slice_steps),
	  check_fixture_slice },
	{ "v1.24.0.discovery.k8s.io.v1.EndpointSlice.json", slice_steps, ARRAY_SIZE(slice_steps),
	  check_fixture_slice },
	{ "v1.21.0.discovery.k8s.io.v1beta1.EndpointSlice.json", slice_v1beta1_steps,
	  ARRAY_SIZE(slice_v1beta1_steps), check_fixture_slice_v1beta1 },
	{ "HEAD.core.v1.Node.json", node_steps, ARRAY_SIZE(node_steps), check_fixture_node },
	{ "v1.33.0.core.v1.Node.json", node_steps, ARRAY_SIZE(node_steps), check_fixture_node },
	{ "v1.24.0.core.v1.Node.json", node_steps, ARRAY_SIZE(node_steps), check_fixture_node },
};

/* Merges patch into target; an object patch on an array patches elements by index. */
static void patch_json(cJSON *target, const cJSON *patch)
{
	const cJSON *p;

	for (p = patch->child; p; p = p->next) {
		int idx = cJSON_IsArray(target) ? atoi(p->string) : -1;
		cJSON *t = idx >= 0 ? cJSON_GetArrayItem(target, idx)
				    : cJSON_GetObjectItemCaseSensitive(target, p->string);
		cJSON *dup;

		if (t && cJSON_IsObject(p) && (cJSON_IsObject(t) || cJSON_IsArray(t))) {
			patch_json(t, p);
			continue;
		}
		dup = cJSON_Duplicate(p, 1);
		assert_non_null(dup);
		if (idx >= 0)
			assert_true(cJSON_ReplaceItemInArray(target, idx, dup));
		else if (t)
			assert_true(cJSON_ReplaceItemInObjectCaseSensitive(target, p->string, dup));
		else
			assert_true(cJSON_AddItemToObject(target, p->string, dup));
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (!f)
		fail_msg("cannot open %s: %s (run from the repository root)", path,
			 strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, len);
}

static void run_fixture(const struct fixture *fx)
{
	struct errbuf err = { { 0 } };
	struct k8s_object obj;
	char path[512], *text;
	cJSON *json;
	size_t i, len;

	snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, fx->file);
	text = read_file(path, &len);
	json = cJSON_ParseWithLength(text, len);
	free(text);
	if (!json)
		fail_msg("%s does not parse", fx->file);
	for (i = 0; i < fx->n_steps; i++) {
		cJSON *patch;

		if (decode_object_any(json, &obj, &err) == 0) {
			k8s_object_fini(&obj);
			fail_msg("%s: decoded at step %zu; expected \"%s\"", fx->file, i,
				 fx->steps[i].error);
		}
		if (strcmp(err.msg, fx->steps[i].error) != 0)
			fail_msg("%s step %zu:\n  want: %s\n  got:  %s", fx->file, i,
				 fx->steps[i].error, err.msg);
		patch = parse_sq(fx->steps[i].patch);
		patch_json(json, patch);
		cJSON_Delete(patch);
	}
	if (decode_object_any(json, &obj, &err) != 0)
		fail_msg("%s: after repair: %s", fx->file, err.msg);
	fx->check(&obj);
	k8s_object_fini(&obj);
	cJSON_Delete(json);
}

static void test_fixtures(void **state)
{
	struct dirent *de;
	size_t i, seen = 0;
	DIR *dir;

	(void)state;
	dir = opendir(FIXTURE_DIR);
	if (!dir)
		fail_msg("cannot open %s: %s (run from the repository root)", FIXTURE_DIR,
			 strerror(errno));
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		for (i = 0; i < ARRAY_SIZE(fixtures); i++)
			if (strcmp(fixtures[i].file, de->d_name) == 0)
				break;
		if (i == ARRAY_SIZE(fixtures)) {
			closedir(dir);
			fail_msg("fixture %s has no expectation in this test", de->d_name);
		}
		run_fixture(&fixtures[i]);
		seen++;
	}
	closedir(dir);
	assert_int_equal(seen, ARRAY_SIZE(fixtures));
}

/* ---- The hand-written watch stream ---- */

static void check_watch_added(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_string_equal(s->namespace, "shop");
	assert_string_equal(s->name, "web");
	assert_string_equal(s->resource_version, "184731");
	assert_int_equal(s->type, K8S_SVC_CLUSTER_IP);
	assert_addr(&s->cluster_ips[0], "10.96.41.17");
	assert_int_equal(s->n_ports, 1);
	assert_int_equal(s->ports[0].port, 80);
}

static void check_watch_modified(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_string_equal(s->namespace, "shop");
	assert_string_equal(s->name, "web");
	assert_string_equal(s->resource_version, "184790");
	assert_false(s->headless);
	assert_int_equal(s->type, K8S_SVC_LOAD_BALANCER);
	assert_int_equal(s->n_cluster_ips, 1);
	assert_addr(&s->cluster_ips[0], "10.96.41.17");
	assert_int_equal(s->n_ports, 2);
	assert_string_equal(s->ports[0].name, "http");
	assert_int_equal(s->ports[0].protocol, K8S_PROTO_TCP);
	assert_int_equal(s->ports[0].port, 80);
	assert_int_equal(s->ports[0].node_port, 31080);
	assert_string_equal(s->ports[1].name, "dns");
	assert_int_equal(s->ports[1].protocol, K8S_PROTO_UDP);
	assert_int_equal(s->ports[1].port, 53);
	assert_int_equal(s->ports[1].node_port, 31053);
	assert_int_equal(s->n_external_ips, 1);
	assert_addr(&s->external_ips[0], "192.0.2.10");
	assert_int_equal(s->affinity, K8S_AFFINITY_CLIENT_IP);
	assert_int_equal(s->affinity_timeout, 10800);
	assert_int_equal(s->n_source_ranges, 1);
	assert_cidr(&s->source_ranges[0], "203.0.113.0/24");
	assert_int_equal(s->external_policy, K8S_POLICY_LOCAL);
	assert_int_equal(s->internal_policy, K8S_POLICY_CLUSTER);
	assert_int_equal(s->health_check_node_port, 32456);
	assert_int_equal(s->n_lb_ingress, 1);
	assert_addr(&s->lb_ingress[0].ip, "198.51.100.7");
	assert_int_equal(s->lb_ingress[0].ip_mode, K8S_IPMODE_VIP);
	assert_int_equal(s->legacy_traffic, K8S_LEGACY_UNSET);
}

static void check_watch_deleted(const struct k8s_object *o)
{
	const struct k8s_service *s = o->u.service;

	assert_string_equal(s->name, "legacy-api");
	assert_int_equal(s->type, K8S_SVC_NODE_PORT);
	assert_int_equal(s->ports[0].node_port, 30443);
	/* The leftover annotation is read as it is; the field stays authoritative. */
	assert_int_equal(s->legacy_traffic, K8S_LEGACY_ONLY_LOCAL);
	assert_int_equal(s->external_policy, K8S_POLICY_CLUSTER);
}

static const struct watch_line {
	const char *type;
	bool any;
	const char *error;
	void (*check)(const struct k8s_object *obj);
} watch_lines[] = {
	{ "ADDED", false, NULL, check_watch_added },
	{ "MODIFIED", false, NULL, check_watch_modified },
	{ "BOOKMARK", false, "service ?: metadata.namespace: missing", NULL },
	{ "DELETED", false, NULL, check_watch_deleted },
	{ "ERROR", true, "object: kind: \"Status\" is not a supported kind", NULL },
};

static void test_watch_stream(void **state)
{
	char *text, *line, *save = NULL;
	size_t len, n = 0;

	(void)state;
	text = read_file(FIXTURE_DIR "/watch-stream-example.ndjson", &len);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const struct watch_line *wl = &watch_lines[n];
		struct errbuf err = { { 0 } };
		struct k8s_object obj;
		cJSON *event;
		int r;

		assert_true(n < ARRAY_SIZE(watch_lines));
		event = cJSON_Parse(line);
		assert_non_null(event);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(event, "type")),
				    wl->type);
		if (wl->any)
			r = decode_object_any(cJSON_GetObjectItem(event, "object"), &obj, &err);
		else
			r = decode_object(cJSON_GetObjectItem(event, "object"), K8S_KIND_SERVICE,
					  &obj, &err);
		cJSON_Delete(event);
		if (wl->error) {
			if (r == 0)
				k8s_object_fini(&obj);
			assert_int_equal(r, -EINVAL);
			assert_string_equal(err.msg, wl->error);
		} else {
			if (r != 0)
				fail_msg("%s: %s", wl->type, err.msg);
			wl->check(&obj);
			k8s_object_fini(&obj);
		}
		n++;
	}
	free(text);
	assert_int_equal(n, ARRAY_SIZE(watch_lines));
}

/* ---- Lists ---- */

#define MAX_LIST_EXPECT 5

/**
 * struct list_case - a document for decode_list_parse().
 * @error: the document-level message when it fails (rc -EINVAL), else NULL.
 * @kinds: the kinds of the decoded objects, in order.
 * @errors: the messages of the skipped items, in order.
 */
struct list_case {
	const char *name;
	const char *json;
	const char *error;
	size_t n_objects;
	enum k8s_kind kinds[MAX_LIST_EXPECT];
	size_t n_errors;
	const char *errors[MAX_LIST_EXPECT];
};

/* clang-format off */
static const struct list_case list_cases[] = {
	{ "List mixing good and bad items",
	  "{'kind':'List','apiVersion':'v1','metadata':{'resourceVersion':''},'items':["
	  "{'kind':'Service','apiVersion':'v1','metadata':{" DEFAULT_META
	  "},'spec':{'clusterIP':'10.0.0.1','ports':[{'port':80}]}},"
	  "{'kind':'Service','apiVersion':'v1','metadata':{" DEFAULT_META
	  "},'spec':{'ports':[{'name':'a','port':80},{'name':'b','port':70000}]}},"
	  "42,"
	  "{'kind':'Node','apiVersion':'v1','metadata':{'name':'node-a'}},"
	  "{'metadata':{'name':'no-kind'}},"
	  "{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{" SLICE_META
	  "},'addressType':'IPv4','endpoints':[{'addresses':['10.1.0.1']}]},"
	  "{'kind':'Status','status':'Failure'},"
	  "{'kind':'Endpoints','apiVersion':'v1','metadata':{'namespace':'default','name':'web'}},"
	  "{'kind':'EndpointSlice','metadata':{'namespace':'default','name':'orphan'},"
	  "'addressType':'IPv4'}"
	  "]}",
	  NULL,
	  4,
	  { K8S_KIND_SERVICE, K8S_KIND_NODE, K8S_KIND_ENDPOINTSLICE, K8S_KIND_ENDPOINTS },
	  5,
	  { "service default/web: spec.ports[1].port: 70000 out of range",
	    "list: items[2]: not an object", "list: items[4].kind: missing",
	    "object: kind: \"Status\" is not a supported kind",
	    "endpointslice default/orphan: "
	    "metadata.labels[kubernetes.io/service-name]: missing" } },
	{ "ServiceList items without kind",
	  "{'kind':'ServiceList','apiVersion':'v1','metadata':{'resourceVersion':'100'},'items':["
	  "{'metadata':{'namespace':'a','name':'one'},'spec':{'clusterIP':'10.0.0.1'}},"
	  "{'metadata':{'namespace':'a','name':'Two'},'spec':{'clusterIP':'10.0.0.2'}},"
	  "{'metadata':{'namespace':'b','name':'three'},'spec':{'clusterIP':'None'}}]}",
	  NULL,
	  2,
	  { K8S_KIND_SERVICE, K8S_KIND_SERVICE },
	  1,
	  { "service a/?: metadata.name: \"Two\" is not a DNS-1123 label" } },
	{ "EndpointSliceList",
	  "{'kind':'EndpointSliceList','apiVersion':'discovery.k8s.io/v1','items':["
	  "{'metadata':{" SLICE_META "},'addressType':'IPv6'}]}",
	  NULL,
	  1,
	  { K8S_KIND_ENDPOINTSLICE },
	  0,
	  { NULL } },
	{ "EndpointsList",
	  "{'kind':'EndpointsList','items':[{'metadata':{'namespace':'a','name':'b'}},"
	  "{'metadata':{'namespace':'a','name':'c'},'subsets':[{'ports':[{'port':0}]}]}]}",
	  NULL,
	  1,
	  { K8S_KIND_ENDPOINTS },
	  1,
	  { "endpoints a/c: subsets[0].ports[0].port: 0 out of range" } },
	{ "NodeList", "{'kind':'NodeList','items':[{'metadata':{'name':'node-a'}}]}", NULL, 1,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "PodList items without kind", "{'kind':'PodList','items':[{'metadata':{'name':'p'}}]}",
	  NULL, 0, { K8S_KIND_SERVICE }, 1, { "list: items[0].kind: missing" } },
	{ "List without kind field", "{'items':[{'kind':'Node','metadata':{'name':'n'}}]}", NULL,
	  1, { K8S_KIND_NODE }, 0, { NULL } },
	{ "empty list", "{'kind':'ServiceList','items':[]}", NULL, 0, { K8S_KIND_SERVICE }, 0,
	  { NULL } },
	{ "bare object", "{'kind':'Node','apiVersion':'v1','metadata':{'name':'node-a'}}", NULL, 1,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "bare bad object", "{'kind':'Node','apiVersion':'v1','metadata':{'name':'Node-A'}}",
	  NULL, 0, { K8S_KIND_NODE }, 1,
	  { "node ?: metadata.name: \"Node-A\" is not a DNS-1123 subdomain" } },
	{ "not JSON", "{'kind':", "list: not valid JSON (at byte 7)", 0, { K8S_KIND_NODE }, 0,
	  { NULL } },
	{ "empty document", "", "list: not valid JSON (at byte 0)", 0, { K8S_KIND_NODE }, 0,
	  { NULL } },
	{ "trailing data", "{'items':[]} {}", "list: not valid JSON (trailing data at byte 13)", 0,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "trailing blanks", "{'items':[]} \n\t ", NULL, 0, { K8S_KIND_NODE }, 0, { NULL } },
	{ "top level array", "[]", "list: not an object", 0, { K8S_KIND_NODE }, 0, { NULL } },
	{ "items not an array", "{'kind':'List','items':{}}", "list: items: not an array", 0,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "kind not a list", "{'kind':'Service','items':[]}",
	  "list: kind: \"Service\" is not a list kind", 0, { K8S_KIND_NODE }, 0, { NULL } },
	{ "kind not a string", "{'kind':1,'items':[]}", "list: kind: not a string", 0,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "unknown bare kind", "{'kind':'Pod','metadata':{}}", "list: items: missing", 0,
	  { K8S_KIND_NODE }, 0, { NULL } },
	{ "Status document",
	  "{'kind':'Status','apiVersion':'v1','status':'Failure','reason':'Forbidden','code':403}",
	  "list: items: missing", 0, { K8S_KIND_NODE }, 0, { NULL } },
};
/* clang-format on */

static void run_list(const struct list_case *lc, const char *text, size_t len)
{
	struct errbuf err = { { 0 } };
	struct decode_list list;
	size_t i;
	int r;

	r = decode_list_parse(text, len, &list, &err);
	if (lc->error) {
		assert_int_equal(r, -EINVAL);
		if (strcmp(err.msg, lc->error) != 0)
			fail_msg("%s:\n  want: %s\n  got:  %s", lc->name, lc->error, err.msg);
		assert_int_equal(list.n_objects, 0);
		assert_int_equal(list.n_errors, 0);
		decode_list_fini(&list);
		return;
	}
	if (r != 0)
		fail_msg("%s: %s", lc->name, err.msg);
	for (i = 0; i < list.n_errors && i < lc->n_errors; i++)
		if (strcmp(list.errors[i], lc->errors[i]) != 0)
			fail_msg("%s error %zu:\n  want: %s\n  got:  %s", lc->name, i,
				 lc->errors[i], list.errors[i]);
	assert_int_equal(list.n_errors, lc->n_errors);
	assert_int_equal(list.n_objects, lc->n_objects);
	for (i = 0; i < list.n_objects; i++)
		assert_int_equal(list.objects[i].kind, lc->kinds[i]);
	decode_list_fini(&list);
	assert_int_equal(list.n_objects, 0);
	assert_null(list.objects);
}

static void test_lists(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(list_cases); i++) {
		char *text = strdup(list_cases[i].json), *p;

		assert_non_null(text);
		for (p = text; *p; p++)
			if (*p == '\'')
				*p = '"';
		run_list(&list_cases[i], text, strlen(text));
		free(text);
	}
}

static void test_list_values(void **state)
{
	const char *text = "{\"kind\":\"ServiceList\",\"items\":[{\"metadata\":{\"namespace\":"
			   "\"shop\",\"name\":\"web\",\"resourceVersion\":\"9\"},\"spec\":{"
			   "\"clusterIP\":\"10.0.0.9\",\"ports\":[{\"port\":443}]}}]}";
	struct errbuf err = { { 0 } };
	struct decode_list list;

	(void)state;
	assert_int_equal(decode_list_parse(text, strlen(text), &list, &err), 0);
	assert_int_equal(list.n_objects, 1);
	assert_int_equal(list.objects[0].kind, K8S_KIND_SERVICE);
	assert_string_equal(list.objects[0].u.service->name, "web");
	assert_string_equal(list.objects[0].u.service->resource_version, "9");
	assert_int_equal(list.objects[0].u.service->ports[0].port, 443);
	decode_list_fini(&list);
}

/* The text need not end in a NUL: only len bytes are read. */
static void test_list_length_bounded(void **state)
{
	static const char text[] = "{\"kind\":\"NodeList\","
				   "\"items\":[{\"metadata\":{\"name\":\"n\"}}]}GARBAGE";
	struct errbuf err = { { 0 } };
	struct decode_list list;

	(void)state;
	assert_int_equal(decode_list_parse(text, sizeof(text) - 1 - 7, &list, &err), 0);
	assert_int_equal(list.n_objects, 1);
	decode_list_fini(&list);
	assert_int_equal(decode_list_parse(text, sizeof(text) - 1, &list, &err), -EINVAL);
	assert_string_equal(err.msg, "list: not valid JSON (trailing data at byte 55)");
	decode_list_fini(&list);
}

/*
 * A NUL cannot hide in a string: cJSON would end the string there, and
 * "node\u0000x" would be read as "node". A raw NUL makes the document
 * invalid; the escape turns into U+FFFD, which no name allows ("\\u0000" is
 * a backslash and "u0000", no NUL at all).
 */
static void test_list_nul(void **state)
{
	static const char raw[] =
		"{\"items\":[{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\0b\"}}]}";
	static const char esc[] =
		"{\"items\":[{\"kind\":\"Node\",\"metadata\":{\"name\":\"node\\u0000x\"}},"
		"{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\\\\u0000\"}},"
		"{\"kind\":\"Node\",\"metadata\":{\"name\":\"node\"}}]}";
	struct errbuf err = { { 0 } };
	struct decode_list list;

	(void)state;
	assert_int_equal(decode_list_parse(raw, sizeof(raw) - 1, &list, &err), -EINVAL);
	assert_string_equal(err.msg, "list: not valid JSON (NUL byte at byte 46)");
	decode_list_fini(&list);

	assert_int_equal(decode_list_parse(esc, sizeof(esc) - 1, &list, &err), 0);
	assert_int_equal(list.n_errors, 2);
	assert_string_equal(list.errors[0],
			    "node ?: metadata.name: \"node???x\" is not a DNS-1123 subdomain");
	assert_string_equal(list.errors[1],
			    "node ?: metadata.name: \"a?u0000\" is not a DNS-1123 subdomain");
	assert_int_equal(list.n_objects, 1);
	assert_string_equal(list.objects[0].u.node->name, "node");
	decode_list_fini(&list);
}

static void test_list_caps(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct errbuf err = { { 0 } };
	struct decode_list list;
	size_t i;

	(void)state;
	/* The size is checked before any byte is read. */
	assert_int_equal(decode_list_parse("{}", (size_t)K8S_MAX_DOCUMENT + 1, &list, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "list: too large (536870913 bytes, max 536870912)");
	decode_list_fini(&list);

	strbuf_adds(&sb, "{\"kind\":\"List\",\"items\":[");
	for (i = 0; i < K8S_MAX_LIST_ITEMS + 1; i++)
		strbuf_adds(&sb, i ? ",0" : "0");
	strbuf_adds(&sb, "]}");
	assert_int_equal(decode_list_parse(strbuf_str(&sb), sb.len, &list, &err), -EINVAL);
	assert_string_equal(err.msg, "list: items: too many entries (max 500000)");
	decode_list_fini(&list);
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_cases),
		cmocka_unit_test(test_slice_cases),
		cmocka_unit_test(test_endpoints_cases),
		cmocka_unit_test(test_node_cases),
		cmocka_unit_test(test_any_cases),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_service_too_many_ports_exact),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_watch_stream),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_list_values),
		cmocka_unit_test(test_list_length_bounded),
		cmocka_unit_test(test_list_nul),
		cmocka_unit_test(test_list_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
