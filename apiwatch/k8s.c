// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiwatch/k8s.h"
#include "proxy/xalloc.h"

void k8s_service_free(struct k8s_service *svc)
{
	size_t i;

	if (!svc)
		return;
	for (i = 0; i < svc->n_ports; i++)
		free(svc->ports[i].name);
	free(svc->ports);
	free(svc->external_ips);
	free(svc->lb_ingress);
	free(svc->source_ranges);
	free(svc->namespace);
	free(svc->name);
	free(svc->resource_version);
	free(svc->legacy_traffic_bad);
	free(svc);
}

void k8s_endpoint_fini(struct k8s_endpoint *ep)
{
	size_t i;

	free(ep->node_name);
	free(ep->zone);
	for (i = 0; i < ep->n_zone_hints; i++)
		free(ep->zone_hints[i]);
	free(ep->zone_hints);
}

void k8s_slice_fini(struct k8s_slice *slice)
{
	size_t i;

	if (!slice)
		return;
	for (i = 0; i < slice->n_ports; i++)
		free(slice->ports[i].name);
	for (i = 0; i < slice->n_endpoints; i++)
		k8s_endpoint_fini(&slice->endpoints[i]);
	free(slice->ports);
	free(slice->endpoints);
	free(slice->namespace);
	free(slice->name);
	free(slice->service_name);
	free(slice->resource_version);
	memset(slice, 0, sizeof(*slice));
}

void k8s_slice_free(struct k8s_slice *slice)
{
	k8s_slice_fini(slice);
	free(slice);
}

void k8s_endpoints_free(struct k8s_endpoints *eps)
{
	size_t i;

	if (!eps)
		return;
	for (i = 0; i < eps->n_subsets; i++)
		k8s_slice_fini(&eps->subsets[i]);
	free(eps->subsets);
	free(eps->namespace);
	free(eps->name);
	free(eps->resource_version);
	free(eps);
}

void k8s_node_free(struct k8s_node *node)
{
	if (!node)
		return;
	free(node->name);
	free(node->resource_version);
	free(node->addrs);
	free(node->zone);
	free(node);
}

void k8s_object_fini(struct k8s_object *obj)
{
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		k8s_service_free(obj->u.service);
		break;
	case K8S_KIND_ENDPOINTSLICE:
		k8s_slice_free(obj->u.slice);
		break;
	case K8S_KIND_ENDPOINTS:
		k8s_endpoints_free(obj->u.endpoints);
		break;
	case K8S_KIND_NODE:
		k8s_node_free(obj->u.node);
		break;
	}
	memset(&obj->u, 0, sizeof(obj->u));
}

void k8s_object_set_hash(struct k8s_object *obj, uint64_t hash)
{
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		obj->u.service->hash = hash;
		break;
	case K8S_KIND_ENDPOINTSLICE:
		obj->u.slice->hash = hash;
		break;
	case K8S_KIND_ENDPOINTS:
		obj->u.endpoints->hash = hash;
		break;
	case K8S_KIND_NODE:
		obj->u.node->hash = hash;
		break;
	}
}

const char *k8s_kind_name(enum k8s_kind kind)
{
	switch (kind) {
	case K8S_KIND_SERVICE:
		return "service";
	case K8S_KIND_ENDPOINTSLICE:
		return "endpointslice";
	case K8S_KIND_ENDPOINTS:
		return "endpoints";
	case K8S_KIND_NODE:
		return "node";
	}
	return "object";
}

const char *k8s_protocol_name(enum k8s_protocol proto)
{
	switch (proto) {
	case K8S_PROTO_TCP:
		return "TCP";
	case K8S_PROTO_UDP:
		return "UDP";
	case K8S_PROTO_SCTP:
		return "SCTP";
	}
	return "?";
}

const char *k8s_protocol_lower(enum k8s_protocol proto)
{
	switch (proto) {
	case K8S_PROTO_TCP:
		return "tcp";
	case K8S_PROTO_UDP:
		return "udp";
	case K8S_PROTO_SCTP:
		return "sctp";
	}
	return "?";
}

static size_t family_len(enum k8s_family family)
{
	return family == K8S_FAMILY_IPV4 ? 4 : 16;
}

bool k8s_addr_parse(const char *s, struct k8s_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->bytes) == 1) {
		out->family = K8S_FAMILY_IPV4;
		return true;
	}
	if (inet_pton(AF_INET6, s, out->bytes) == 1) {
		out->family = K8S_FAMILY_IPV6;
		return true;
	}
	return false;
}

const char *k8s_addr_format(const struct k8s_addr *addr, char *buf)
{
	int af = addr->family == K8S_FAMILY_IPV4 ? AF_INET : AF_INET6;

	if (!inet_ntop(af, addr->bytes, buf, K8S_ADDR_STRLEN))
		snprintf(buf, K8S_ADDR_STRLEN, "?");
	return buf;
}

int k8s_addr_cmp(const struct k8s_addr *a, const struct k8s_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, family_len(a->family));
}

bool k8s_cidr_parse(const char *s, struct k8s_cidr *out)
{
	char buf[K8S_ADDR_STRLEN];
	const char *slash, *end;
	char *num_end;
	unsigned long prefix;
	size_t n, i;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	slash = memchr(s, '/', (size_t)(end - s));
	if (!slash || slash == s || (size_t)(slash - s) >= sizeof(buf))
		return false;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (!k8s_addr_parse(buf, &out->addr))
		return false;
	if (slash + 1 == end || !isdigit((unsigned char)slash[1]) || end - slash > 4)
		return false;
	prefix = strtoul(slash + 1, &num_end, 10);
	if (num_end != end || prefix > family_len(out->addr.family) * 8)
		return false;
	out->prefix = (uint8_t)prefix;
	n = family_len(out->addr.family);
	for (i = 0; i < n; i++) {
		unsigned bits = i * 8 >= prefix ? 0 : (prefix - i * 8 >= 8 ? 8 : prefix - i * 8);

		out->addr.bytes[i] &= (uint8_t)(0xff00u >> bits);
	}
	return true;
}

const char *k8s_cidr_format(const struct k8s_cidr *cidr, char *buf)
{
	char addr[K8S_ADDR_STRLEN];

	k8s_addr_format(&cidr->addr, addr);
	snprintf(buf, K8S_ADDR_STRLEN, "%.50s/%u", addr, (unsigned)cidr->prefix);
	return buf;
}

bool k8s_cidr_contains(const struct k8s_cidr *cidr, const struct k8s_addr *addr)
{
	unsigned full = cidr->prefix / 8, rest = cidr->prefix % 8;

	if (cidr->addr.family != addr->family)
		return false;
	if (memcmp(cidr->addr.bytes, addr->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((cidr->addr.bytes[full] ^ addr->bytes[full]) & (0xff00u >> rest)) == 0;
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > K8S_MAX_LABEL_NAME || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!label_char(s[i]))
			return false;
	return true;
}

bool k8s_is_dns1123_label(const char *s)
{
	return label_ok(s, strlen(s));
}

bool k8s_is_dns1123_subdomain(const char *s)
{
	size_t n = strlen(s);
	const char *p = s, *dot;

	if (n == 0 || n > K8S_MAX_NAME)
		return false;
	for (;;) {
		dot = strchr(p, '.');
		if (!label_ok(p, dot ? (size_t)(dot - p) : strlen(p)))
			return false;
		if (!dot)
			return true;
		p = dot + 1;
	}
}
