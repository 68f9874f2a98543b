/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * k8s - plain values decoded from Kubernetes API objects. Pure: no I/O.
 *
 * Every value here has been validated by apiwatch/decode: names follow
 * DNS-1123, addresses went through inet_pton and can be used (never the
 * unspecified, broadcast, a multicast or an IPv4-mapped address, nor a
 * loopback or link-local one for a Service or endpoint), ports are in range
 * and each port name and number comes once per object, and enums are known. Nothing else in kproxy reads JSON. Each object owns all its memory and
 * is freed with its k8s_*_free(), which accepts NULL.
 */
#ifndef KPROXY_K8S_H
#define KPROXY_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Caps on every size that API input drives (tested in decode_test). */
#define K8S_MAX_NAME		253	     /* DNS-1123 subdomain */
#define K8S_MAX_LABEL_NAME	63	     /* DNS-1123 label */
#define K8S_MAX_PORTS		1024	     /* ports per Service */
#define K8S_MAX_SLICE_PORTS	100	     /* ports per EndpointSlice (API limit) */
#define K8S_MAX_SLICE_ENDPOINTS 1000	     /* endpoints per EndpointSlice (API limit) */
#define K8S_MAX_SUBSETS		1000	     /* subsets per Endpoints */
#define K8S_MAX_SUBSET_ADDRS	10000	     /* addresses per Endpoints subset */
#define K8S_MAX_SERVICE_IPS	256	     /* externalIPs, ingress entries per Service */
#define K8S_MAX_SOURCE_RANGES	1024	     /* loadBalancerSourceRanges per Service */
#define K8S_MAX_NODE_ADDRS	64	     /* addresses per Node */
#define K8S_MAX_ZONE_HINTS	8	     /* hints.forZones per endpoint (API limit) */
#define K8S_MAX_LIST_ITEMS	500000	     /* items in one List */
#define K8S_MAX_DOCUMENT	(512u << 20) /* bytes of one JSON document */

/* Enough for "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" plus "/128". */
#define K8S_ADDR_STRLEN 64

enum k8s_family {
	K8S_FAMILY_IPV4,
	K8S_FAMILY_IPV6,
};

/**
 * struct k8s_addr - an IP address with its family.
 * @family: which of the two families.
 * @bytes: network order; 4 bytes used for IPv4, 16 for IPv6.
 */
struct k8s_addr {
	enum k8s_family family;
	uint8_t bytes[16];
};

struct k8s_cidr {
	struct k8s_addr addr; /* host bits cleared */
	uint8_t prefix;
};

enum k8s_protocol {
	K8S_PROTO_TCP,
	K8S_PROTO_UDP,
	K8S_PROTO_SCTP,
};
#define K8S_PROTO_COUNT (K8S_PROTO_SCTP + 1)

enum k8s_service_type {
	K8S_SVC_CLUSTER_IP,
	K8S_SVC_NODE_PORT,
	K8S_SVC_LOAD_BALANCER,
	K8S_SVC_EXTERNAL_NAME,
};

enum k8s_traffic_policy {
	K8S_POLICY_CLUSTER,
	K8S_POLICY_LOCAL,
};

enum k8s_affinity {
	K8S_AFFINITY_NONE,
	K8S_AFFINITY_CLIENT_IP,
};

/* The 1.4 alpha / 1.5 beta external-traffic annotation, as read. */
enum k8s_legacy_traffic {
	K8S_LEGACY_UNSET,
	K8S_LEGACY_ONLY_LOCAL,
	K8S_LEGACY_GLOBAL,
};

enum k8s_ip_mode {
	K8S_IPMODE_UNSET,
	K8S_IPMODE_VIP,
	K8S_IPMODE_PROXY,
};

struct k8s_service_port {
	char *name; /* "" when unnamed */
	enum k8s_protocol protocol;
	uint16_t port;
	uint16_t node_port; /* 0 = none */
};

struct k8s_lb_ingress {
	struct k8s_addr ip;
	enum k8s_ip_mode ip_mode;
};

/**
 * struct k8s_service - the fields of a core/v1 Service that kproxy uses.
 * @proxy_name_label: has the service.kubernetes.io/service-proxy-name label
 *	(the Service belongs to another proxy).
 * @headless: spec.clusterIP is "None" (or empty for a non-ExternalName Service).
 * @cluster_ips: spec.clusterIPs (or spec.clusterIP), at most one per family.
 * @external_policy_set: spec.externalTrafficPolicy was present (servers since
 *	1.7 always set it; then the 1.4/1.5 annotations mean nothing).
 * @legacy_traffic, @legacy_hc_node_port: the 1.4/1.5 annotations; honoured
 *	only when the AllowExtTrafficLocalEndpoints gate is on and the field is
 *	absent.
 * @legacy_traffic_bad, @legacy_traffic_bad_key: the first external-traffic
 *	annotation value that is neither OnlyLocal nor Global, made printable
 *	(errbuf_echo(), owned), and its annotation's name (static); NULL: none.
 */
struct k8s_service {
	uint64_t hash; /* of the object's JSON; equal hashes: nothing changed */
	char *namespace;
	char *name;
	char *resource_version;
	bool proxy_name_label;
	bool headless;
	enum k8s_service_type type;
	struct k8s_addr cluster_ips[2];
	size_t n_cluster_ips;
	struct k8s_service_port *ports;
	size_t n_ports;
	struct k8s_addr *external_ips;
	size_t n_external_ips;
	struct k8s_lb_ingress *lb_ingress;
	size_t n_lb_ingress;
	struct k8s_cidr *source_ranges;
	size_t n_source_ranges;
	enum k8s_traffic_policy external_policy;
	bool external_policy_set;
	enum k8s_traffic_policy internal_policy;
	uint16_t health_check_node_port;
	enum k8s_affinity affinity;
	uint32_t affinity_timeout; /* seconds; 10800 when unset */
	enum k8s_legacy_traffic legacy_traffic;
	uint16_t legacy_hc_node_port;
	char *legacy_traffic_bad;
	const char *legacy_traffic_bad_key;
};

struct k8s_slice_port {
	char *name; /* "" when unnamed */
	enum k8s_protocol protocol;
	uint16_t port;
};

/**
 * struct k8s_endpoint - one endpoint address of a slice (addresses[0]).
 * @node_name: NULL when the slice does not say.
 * @ready, @serving, @terminating: the conditions, with the API defaults
 *	(absent ready/serving mean true, absent terminating means false).
 */
struct k8s_endpoint {
	struct k8s_addr addr;
	char *node_name;
	char *zone;
	char **zone_hints; /* hints.forZones[].name: the zones that should use it */
	size_t n_zone_hints;
	bool ready;
	bool serving;
	bool terminating;
};

enum k8s_address_type {
	K8S_ADDRTYPE_IPV4,
	K8S_ADDRTYPE_IPV6,
	K8S_ADDRTYPE_FQDN,
};

/**
 * struct k8s_slice - a discovery.k8s.io EndpointSlice (v1 or v1beta1), or one
 * subset of a core/v1 Endpoints object.
 * @service_name: the kubernetes.io/service-name label (the owning Service).
 */
struct k8s_slice {
	uint64_t hash; /* of the object's JSON; equal hashes: nothing changed */
	char *namespace;
	char *name;
	char *service_name;
	char *resource_version;
	enum k8s_address_type address_type;
	struct k8s_slice_port *ports;
	size_t n_ports;
	struct k8s_endpoint *endpoints;
	size_t n_endpoints;
};

/**
 * struct k8s_endpoints - a core/v1 Endpoints object, for clusters without
 * EndpointSlices. Each subset is a slice named after the object; only ready
 * addresses (subsets[].addresses) are kept.
 */
struct k8s_endpoints {
	uint64_t hash; /* of the object's JSON; equal hashes: nothing changed */
	char *namespace;
	char *name;
	char *resource_version;
	struct k8s_slice *subsets;
	size_t n_subsets;
};

/**
 * struct k8s_node - the fields of this node's Node object that kproxy uses.
 * @addrs: InternalIP addresses first, then ExternalIP.
 * @deleting: metadata.deletionTimestamp is set.
 * @to_be_deleted: tainted ToBeDeletedByClusterAutoscaler.
 */
struct k8s_node {
	uint64_t hash; /* of the object's JSON; equal hashes: nothing changed */
	char *name;
	char *resource_version;
	struct k8s_addr *addrs;
	size_t n_addrs;
	char *zone;
	bool deleting;
	bool to_be_deleted;
};

enum k8s_kind {
	K8S_KIND_SERVICE,
	K8S_KIND_ENDPOINTSLICE,
	K8S_KIND_ENDPOINTS,
	K8S_KIND_NODE,
};

/* One decoded object of any kind. */
struct k8s_object {
	enum k8s_kind kind;
	union {
		struct k8s_service *service;
		struct k8s_slice *slice;
		struct k8s_endpoints *endpoints;
		struct k8s_node *node;
	} u;
};

void k8s_service_free(struct k8s_service *svc);
void k8s_slice_free(struct k8s_slice *slice);
/* Frees what a slice holds but not the slice itself (for arrays of slices). */
/* Frees what one endpoint owns (not the struct itself). */
void k8s_endpoint_fini(struct k8s_endpoint *ep);
void k8s_slice_fini(struct k8s_slice *slice);
void k8s_endpoints_free(struct k8s_endpoints *eps);
void k8s_node_free(struct k8s_node *node);
void k8s_object_fini(struct k8s_object *obj);
/* Sets the content hash of whatever obj holds. */
void k8s_object_set_hash(struct k8s_object *obj, uint64_t hash);

const char *k8s_kind_name(enum k8s_kind kind);
const char *k8s_protocol_name(enum k8s_protocol proto);	 /* "TCP" */
const char *k8s_protocol_lower(enum k8s_protocol proto); /* "tcp" */

/* Parses a textual address with inet_pton; false if it is not one. */
bool k8s_addr_parse(const char *s, struct k8s_addr *out);
/* Writes the canonical text of addr into buf (K8S_ADDR_STRLEN bytes). */
const char *k8s_addr_format(const struct k8s_addr *addr, char *buf);
int k8s_addr_cmp(const struct k8s_addr *a, const struct k8s_addr *b);
/* Parses "ADDR/PREFIX" (surrounding blanks allowed); clears host bits. */
bool k8s_cidr_parse(const char *s, struct k8s_cidr *out);
const char *k8s_cidr_format(const struct k8s_cidr *cidr, char *buf);
bool k8s_cidr_contains(const struct k8s_cidr *cidr, const struct k8s_addr *addr);

/* DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters. */
bool k8s_is_dns1123_label(const char *s);
/* DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
bool k8s_is_dns1123_subdomain(const char *s);

#endif
