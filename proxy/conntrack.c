// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conntrack cleanup in three layers: ctnetlink messages built and parsed with
 * libmnl (pure), the stale-entry decision over an index of the targets (pure),
 * and one blocking pass over the kernel's table (I/O). The pass reads the
 * table with one dump socket and deletes through a second one, so that an
 * entry is deleted as soon as it is read and nothing but the index is held in
 * memory, whatever the size of the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "proxy/conntrack.h"
#include "proxy/log.h"
#include "proxy/xalloc.h"

/*
 * A bit of CTA_FILTER_ORIG_FLAGS: match the original tuple's protocol number.
 * The kernel keeps these bits out of its uapi headers (CTA_FILTER_F_CTA_PROTO_NUM
 * in nf_internals.h) but they are part of the ctnetlink ABI since Linux 5.8.
 */
#define FILTER_F_PROTO_NUM (1u << 3)

/* A dump answer skb is at most this big when the reader offers this much. */
#define DUMP_BUFFER_SIZE 32768
/* A delete's acknowledgement echoes at most the request. */
#define ACK_BUFFER_SIZE 4096
/* The kernel answers at once; a longer silence means something is wrong. */
#define RECV_TIMEOUT_SEC 10

static uint8_t family_af(enum k8s_family family)
{
	switch (family) {
	case K8S_FAMILY_IPV4:
		return AF_INET;
	case K8S_FAMILY_IPV6:
		return AF_INET6;
	}
	return AF_UNSPEC;
}

static size_t family_len(enum k8s_family family)
{
	switch (family) {
	case K8S_FAMILY_IPV4:
		return 4;
	case K8S_FAMILY_IPV6:
		return 16;
	}
	return 0;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_UDP || proto == IPPROTO_TCP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* ------------------------------------------------------------------------ */
/* Messages */

static struct nlmsghdr *put_header(void *buf, size_t size, uint8_t msg, uint16_t flags,
				   enum k8s_family family, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family_af(family);
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

/* Appends a tuple nest with addresses, protocol and ports; false when full. */
static bool put_tuple(struct nlmsghdr *nlh, size_t size, uint16_t type,
		      const struct conntrack_tuple *t, enum k8s_family family, uint8_t proto)
{
	size_t alen = family_len(family);
	bool v4 = family == K8S_FAMILY_IPV4;
	struct nlattr *tuple, *ip, *l4;

	tuple = mnl_attr_nest_start_check(nlh, size, type);
	if (!tuple)
		return false;
	ip = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_IP);
	if (!ip ||
	    !mnl_attr_put_check(nlh, size, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen,
				t->src.bytes) ||
	    !mnl_attr_put_check(nlh, size, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, t->dst.bytes))
		return false;
	mnl_attr_nest_end(nlh, ip);
	l4 = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_PROTO);
	if (!l4 || !mnl_attr_put_u8_check(nlh, size, CTA_PROTO_NUM, proto) ||
	    !mnl_attr_put_u16_check(nlh, size, CTA_PROTO_SRC_PORT, htons(t->sport)) ||
	    !mnl_attr_put_u16_check(nlh, size, CTA_PROTO_DST_PORT, htons(t->dport)))
		return false;
	mnl_attr_nest_end(nlh, l4);
	mnl_attr_nest_end(nlh, tuple);
	return true;
}

int conntrack_build_dump(void *buf, size_t size, enum k8s_family family, uint8_t l4proto,
			 uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nlattr *tuple, *l4, *filter;

	nlh = put_header(buf, size, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, family, seq);
	if (!nlh)
		return -ENOSPC;
	if (!l4proto)
		return (int)nlh->nlmsg_len;

	/*
	 * The filter names the protocol in an original tuple that holds nothing
	 * else, and CTA_FILTER says that only its protocol number is compared.
	 * Older kernels ignore both attributes in a dump request.
	 */
	tuple = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_ORIG);
	if (!tuple)
		return -ENOSPC;
	l4 = mnl_attr_nest_start_check(nlh, size, CTA_TUPLE_PROTO);
	if (!l4 || !mnl_attr_put_u8_check(nlh, size, CTA_PROTO_NUM, l4proto))
		return -ENOSPC;
	mnl_attr_nest_end(nlh, l4);
	mnl_attr_nest_end(nlh, tuple);
	filter = mnl_attr_nest_start_check(nlh, size, CTA_FILTER);
	if (!filter ||
	    !mnl_attr_put_u32_check(nlh, size, CTA_FILTER_ORIG_FLAGS, FILTER_F_PROTO_NUM))
		return -ENOSPC;
	mnl_attr_nest_end(nlh, filter);
	return (int)nlh->nlmsg_len;
}

int conntrack_build_delete(void *buf, size_t size, const struct conntrack_entry *e, uint32_t seq)
{
	struct nlmsghdr *nlh;

	/* The kernel finds an entry by ports only for protocols that have them. */
	if (!proto_has_ports(e->l4proto))
		return -EINVAL;
	nlh = put_header(buf, size, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, e->family,
			 seq);
	if (!nlh || !put_tuple(nlh, size, CTA_TUPLE_ORIG, &e->orig, e->family, e->l4proto))
		return -ENOSPC;
	/* A kernel without zones refuses CTA_ZONE, even zone 0: send it only when needed. */
	if (e->zone && !mnl_attr_put_u16_check(nlh, size, CTA_ZONE, htons(e->zone)))
		return -ENOSPC;
	if (e->has_id && !mnl_attr_put_u32_check(nlh, size, CTA_ID, htonl(e->id)))
		return -ENOSPC;
	return (int)nlh->nlmsg_len;
}

/*
 * A table of the attributes a nest may hold: the wanted type of each (the
 * others are skipped, as are types from newer kernels) and, for binary ones,
 * their exact length.
 */
struct attr_policy {
	uint16_t max;
	const enum mnl_attr_data_type *types; /* MNL_TYPE_UNSPEC: not kept */
	const size_t *lens;		      /* exact length of MNL_TYPE_BINARY ones */
};

/*
 * Fills tb (policy->max + 1 slots) from the len bytes of attributes at payload.
 * Unlike mnl_attr_parse(), which stops quietly at the first attribute that
 * does not fit, this insists that the attributes fill the payload exactly.
 */
static int parse_attrs(const void *payload, size_t len, const struct attr_policy *policy,
		       const struct nlattr **tb)
{
	const struct nlattr *attr = payload;

	memset(tb, 0, (policy->max + 1u) * sizeof(*tb));
	while (len > 0) {
		enum mnl_attr_data_type want;
		uint16_t type;
		size_t step;

		if (len > INT32_MAX || !mnl_attr_ok(attr, (int)len))
			return -EINVAL;
		type = mnl_attr_get_type(attr);
		want = type <= policy->max ? policy->types[type] : MNL_TYPE_UNSPEC;
		if (want != MNL_TYPE_UNSPEC) {
			if (want == MNL_TYPE_BINARY
				    ? mnl_attr_validate2(attr, want, policy->lens[type]) < 0
				    : mnl_attr_validate(attr, want) < 0)
				return -EINVAL;
			tb[type] = attr;
		}
		step = MNL_ALIGN(attr->nla_len);
		if (step > len)
			step = len;
		len -= step;
		attr = (const struct nlattr *)((const char *)attr + step);
	}
	return 0;
}

static int parse_nested(const struct nlattr *nest, const struct attr_policy *policy,
			const struct nlattr **tb)
{
	return parse_attrs(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), policy, tb);
}

static const enum mnl_attr_data_type ct_types[CTA_MAX + 1] = {
	[CTA_TUPLE_ORIG] = MNL_TYPE_NESTED, [CTA_TUPLE_REPLY] = MNL_TYPE_NESTED,
	[CTA_MARK] = MNL_TYPE_U32,	    [CTA_ID] = MNL_TYPE_U32,
	[CTA_ZONE] = MNL_TYPE_U16,
};

static const enum mnl_attr_data_type tuple_types[CTA_TUPLE_MAX + 1] = {
	[CTA_TUPLE_IP] = MNL_TYPE_NESTED,
	[CTA_TUPLE_PROTO] = MNL_TYPE_NESTED,
};

static const enum mnl_attr_data_type ip_types[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = MNL_TYPE_BINARY,
	[CTA_IP_V4_DST] = MNL_TYPE_BINARY,
	[CTA_IP_V6_SRC] = MNL_TYPE_BINARY,
	[CTA_IP_V6_DST] = MNL_TYPE_BINARY,
};
static const size_t ip_lens[CTA_IP_MAX + 1] = {
	[CTA_IP_V4_SRC] = 4,
	[CTA_IP_V4_DST] = 4,
	[CTA_IP_V6_SRC] = 16,
	[CTA_IP_V6_DST] = 16,
};

static const enum mnl_attr_data_type proto_types[CTA_PROTO_MAX + 1] = {
	[CTA_PROTO_NUM] = MNL_TYPE_U8,
	[CTA_PROTO_SRC_PORT] = MNL_TYPE_U16,
	[CTA_PROTO_DST_PORT] = MNL_TYPE_U16,
};

static const struct attr_policy ct_policy = { CTA_MAX, ct_types, NULL };
static const struct attr_policy tuple_policy = { CTA_TUPLE_MAX, tuple_types, NULL };
static const struct attr_policy ip_policy = { CTA_IP_MAX, ip_types, ip_lens };
static const struct attr_policy proto_policy = { CTA_PROTO_MAX, proto_types, NULL };

static void get_addr(const struct nlattr *attr, enum k8s_family family, struct k8s_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(attr), family_len(family));
}

static int parse_tuple(const struct nlattr *nest, enum k8s_family family,
		       struct conntrack_tuple *out, uint8_t *proto)
{
	const struct nlattr *tb[CTA_TUPLE_MAX + 1];
	const struct nlattr *ip[CTA_IP_MAX + 1];
	const struct nlattr *l4[CTA_PROTO_MAX + 1];
	bool v4 = family == K8S_FAMILY_IPV4;
	const struct nlattr *src, *dst;

	if (parse_nested(nest, &tuple_policy, tb) < 0 || !tb[CTA_TUPLE_IP] || !tb[CTA_TUPLE_PROTO])
		return -EINVAL;
	if (parse_nested(tb[CTA_TUPLE_IP], &ip_policy, ip) < 0)
		return -EINVAL;
	src = ip[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC];
	dst = ip[v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST];
	if (!src || !dst)
		return -EINVAL;
	get_addr(src, family, &out->src);
	get_addr(dst, family, &out->dst);

	if (parse_nested(tb[CTA_TUPLE_PROTO], &proto_policy, l4) < 0 || !l4[CTA_PROTO_NUM])
		return -EINVAL;
	*proto = mnl_attr_get_u8(l4[CTA_PROTO_NUM]);
	out->sport = l4[CTA_PROTO_SRC_PORT] ? ntohs(mnl_attr_get_u16(l4[CTA_PROTO_SRC_PORT])) : 0;
	out->dport = l4[CTA_PROTO_DST_PORT] ? ntohs(mnl_attr_get_u16(l4[CTA_PROTO_DST_PORT])) : 0;
	return 0;
}

int conntrack_parse_entry(const struct nlmsghdr *nlh, struct conntrack_entry *out)
{
	const struct nlattr *tb[CTA_MAX + 1];
	const struct nfgenmsg *nfg;
	uint8_t reply_proto;
	uint16_t type = nlh->nlmsg_type;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)))
		return -EINVAL;
	/* A dump answers with NEW messages; destroy events are DELETE messages. */
	if (NFNL_SUBSYS_ID(type) != NFNL_SUBSYS_CTNETLINK ||
	    (NFNL_MSG_TYPE(type) != IPCTNL_MSG_CT_NEW &&
	     NFNL_MSG_TYPE(type) != IPCTNL_MSG_CT_DELETE))
		return -EINVAL;
	nfg = mnl_nlmsg_get_payload(nlh);
	switch (nfg->nfgen_family) {
	case AF_INET:
		out->family = K8S_FAMILY_IPV4;
		break;
	case AF_INET6:
		out->family = K8S_FAMILY_IPV6;
		break;
	default:
		return -EINVAL;
	}
	if (parse_attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(*nfg)),
			nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*nfg)), &ct_policy,
			tb) < 0)
		return -EINVAL;
	if (!tb[CTA_TUPLE_ORIG] || !tb[CTA_TUPLE_REPLY])
		return -EINVAL;
	if (parse_tuple(tb[CTA_TUPLE_ORIG], out->family, &out->orig, &out->l4proto) < 0 ||
	    parse_tuple(tb[CTA_TUPLE_REPLY], out->family, &out->reply, &reply_proto) < 0 ||
	    reply_proto != out->l4proto)
		return -EINVAL;
	if (tb[CTA_MARK])
		out->mark = ntohl(mnl_attr_get_u32(tb[CTA_MARK]));
	if (tb[CTA_ZONE])
		out->zone = ntohs(mnl_attr_get_u16(tb[CTA_ZONE]));
	if (tb[CTA_ID]) {
		out->id = ntohl(mnl_attr_get_u32(tb[CTA_ID]));
		out->has_id = true;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The decision */

/* A service IP:port (or, with a zero address, a NodePort) and its target. */
struct dest_key {
	struct k8s_addr addr;
	uint16_t port;
	size_t target;
};

/* A serving endpoint of one target. */
struct serving_key {
	size_t target;
	struct k8s_addr addr;
	uint16_t port;
};

struct conntrack_index {
	enum k8s_family family;
	struct dest_key *dests; /* sorted by addr, port */
	size_t n_dests;
	struct dest_key *node_ports; /* sorted by port; addr unused */
	size_t n_node_ports;
	struct serving_key *serving; /* sorted by target, addr, port */
	size_t n_serving;
};

static int dest_cmp(const void *a, const void *b)
{
	const struct dest_key *x = a, *y = b;
	int c = k8s_addr_cmp(&x->addr, &y->addr);

	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

static int node_port_cmp(const void *a, const void *b)
{
	const struct dest_key *x = a, *y = b;

	return (int)x->port - (int)y->port;
}

static int serving_cmp(const void *a, const void *b)
{
	const struct serving_key *x = a, *y = b;
	int c;

	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	c = k8s_addr_cmp(&x->addr, &y->addr);
	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

/* Copies an address of the family with the unused bytes cleared. */
static struct k8s_addr addr_copy(const struct k8s_addr *a)
{
	struct k8s_addr out;

	memset(&out, 0, sizeof(out));
	out.family = a->family;
	memcpy(out.bytes, a->bytes, family_len(a->family));
	return out;
}

struct conntrack_index *conntrack_index_new(const struct conntrack_target *targets, size_t n,
					    enum k8s_family family)
{
	struct conntrack_index *idx = xcalloc(1, sizeof(*idx));
	size_t i, j, n_dests = 0, n_serving = 0;

	idx->family = family;
	for (i = 0; i < n; i++) {
		n_dests += targets[i].n_ips;
		n_serving += targets[i].n_serving;
	}
	idx->dests = xcalloc(n_dests + 1, sizeof(*idx->dests));
	idx->node_ports = xcalloc(n + 1, sizeof(*idx->node_ports));
	idx->serving = xcalloc(n_serving + 1, sizeof(*idx->serving));

	for (i = 0; i < n; i++) {
		const struct conntrack_target *t = &targets[i];
		size_t first = idx->n_serving;

		for (j = 0; j < t->n_serving; j++) {
			struct serving_key *s;

			if (t->serving[j].addr.family != family)
				continue;
			s = &idx->serving[idx->n_serving++];
			s->target = i;
			s->addr = addr_copy(&t->serving[j].addr);
			s->port = t->serving[j].port;
		}
		/* Without a serving endpoint the target's entries are left alone. */
		if (idx->n_serving == first)
			continue;
		for (j = 0; j < t->n_ips; j++) {
			struct dest_key *d;

			if (t->ips[j].family != family)
				continue;
			d = &idx->dests[idx->n_dests++];
			d->addr = addr_copy(&t->ips[j]);
			d->port = t->port;
			d->target = i;
		}
		if (t->node_port) {
			idx->node_ports[idx->n_node_ports].port = t->node_port;
			idx->node_ports[idx->n_node_ports++].target = i;
		}
	}
	qsort(idx->dests, idx->n_dests, sizeof(*idx->dests), dest_cmp);
	qsort(idx->node_ports, idx->n_node_ports, sizeof(*idx->node_ports), node_port_cmp);
	qsort(idx->serving, idx->n_serving, sizeof(*idx->serving), serving_cmp);
	return idx;
}

void conntrack_index_free(struct conntrack_index *idx)
{
	if (!idx)
		return;
	free(idx->dests);
	free(idx->node_ports);
	free(idx->serving);
	free(idx);
}

bool conntrack_index_empty(const struct conntrack_index *idx)
{
	return idx->n_dests == 0 && idx->n_node_ports == 0;
}

/* Returns the first of the n sorted keys that is not below key. */
static size_t lower_bound(const struct dest_key *keys, size_t n, const struct dest_key *key,
			  int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp(&keys[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_serving(const struct conntrack_index *idx, size_t target,
		       const struct conntrack_tuple *reply)
{
	struct serving_key key = { target, addr_copy(&reply->src), reply->sport };

	return bsearch(&key, idx->serving, idx->n_serving, sizeof(key), serving_cmp) != NULL;
}

/*
 * True when one of the keys equal to key belongs to a target that does not
 * serve from the entry's reply source. Several targets share a key only in a
 * transient state (two Services claiming one NodePort); the entry is then
 * stale if any of them disowns it.
 */
static bool disowned(const struct conntrack_index *idx, const struct dest_key *keys, size_t n,
		     const struct dest_key *key, int (*cmp)(const void *, const void *),
		     const struct conntrack_tuple *reply)
{
	size_t i;

	for (i = lower_bound(keys, n, key, cmp); i < n && cmp(&keys[i], key) == 0; i++)
		if (!is_serving(idx, keys[i].target, reply))
			return true;
	return false;
}

bool conntrack_index_stale(const struct conntrack_index *idx, const struct conntrack_entry *e)
{
	struct dest_key key;

	if (e->l4proto != IPPROTO_UDP || e->family != idx->family)
		return false;
	key.addr = addr_copy(&e->orig.dst);
	key.port = e->orig.dport;
	key.target = 0;
	if (disowned(idx, idx->dests, idx->n_dests, &key, dest_cmp, &e->reply))
		return true;
	return e->orig.dport &&
	       disowned(idx, idx->node_ports, idx->n_node_ports, &key, node_port_cmp, &e->reply);
}

/* ------------------------------------------------------------------------ */
/* Targets from the model */

bool conntrack_service_dirty(const struct model_service *svc, void *arg)
{
	(void)arg;
	return svc->dirty;
}

static void add_ip(struct conntrack_target *t, const struct k8s_addr *a, enum k8s_family family)
{
	if (a->family == family)
		t->ips[t->n_ips++] = addr_copy(a);
}

/* Fills t from one UDP port; false when the port has no serving endpoint. */
static bool target_init(struct conntrack_target *t, const struct model *m,
			const struct model_service *svc, const struct k8s_service_port *port,
			enum k8s_family family, bool ip_mode)
{
	const struct k8s_service *spec = svc->spec;
	struct model_endpoint *eps;
	size_t n_eps, i;

	memset(t, 0, sizeof(*t));
	eps = model_port_endpoints(m, svc, port, family, &n_eps);
	t->serving = xcalloc(n_eps + 1, sizeof(*t->serving));
	for (i = 0; i < n_eps; i++) {
		if (!eps[i].serving)
			continue;
		t->serving[t->n_serving].addr = addr_copy(&eps[i].addr);
		t->serving[t->n_serving++].port = eps[i].port;
	}
	free(eps);
	if (!t->n_serving) {
		free(t->serving);
		return false;
	}

	t->ips = xcalloc(spec->n_cluster_ips + spec->n_external_ips + spec->n_lb_ingress + 1,
			 sizeof(*t->ips));
	for (i = 0; i < spec->n_cluster_ips; i++)
		add_ip(t, &spec->cluster_ips[i], family);
	for (i = 0; i < spec->n_external_ips; i++)
		add_ip(t, &spec->external_ips[i], family);
	/* Traffic to a load balancer whose ipMode is Proxy is not DNATed here. */
	for (i = 0; i < spec->n_lb_ingress; i++)
		if (!ip_mode || spec->lb_ingress[i].ip_mode != K8S_IPMODE_PROXY)
			add_ip(t, &spec->lb_ingress[i].ip, family);
	t->port = port->port;
	t->node_port = port->node_port;
	return true;
}

struct conntrack_target *conntrack_targets_build(const struct model *m, enum k8s_family family,
						 const struct featuregate_set *gates,
						 conntrack_service_pred pred, void *arg, size_t *n)
{
	bool ip_mode = featuregate_enabled(gates, FEATUREGATE_LOADBALANCER_IP_MODE);
	const struct model_service **svcs;
	struct conntrack_target *targets = NULL;
	size_t n_svcs, cap = 0, i, j;

	*n = 0;
	svcs = model_services_sorted(m, &n_svcs);
	for (i = 0; i < n_svcs; i++) {
		const struct k8s_service *spec = svcs[i]->spec;

		/* Services that get no rules have no entries of kproxy's making. */
		if (spec->headless || spec->proxy_name_label || spec->type == K8S_SVC_EXTERNAL_NAME)
			continue;
		if (pred && !pred(svcs[i], arg))
			continue;
		for (j = 0; j < spec->n_ports; j++) {
			if (spec->ports[j].protocol != K8S_PROTO_UDP)
				continue;
			if (*n == cap) {
				cap = cap ? 2 * cap : 8;
				targets = xreallocarray(targets, cap, sizeof(*targets));
			}
			if (target_init(&targets[*n], m, svcs[i], &spec->ports[j], family, ip_mode))
				(*n)++;
		}
	}
	free(svcs);
	return targets;
}

void conntrack_targets_free(struct conntrack_target *targets, size_t n)
{
	size_t i;

	if (!targets)
		return;
	for (i = 0; i < n; i++) {
		free(targets[i].ips);
		free(targets[i].serving);
	}
	free(targets);
}

/* ------------------------------------------------------------------------ */
/* The pass over the kernel's table */

struct cleanup {
	const struct conntrack_index *idx;
	struct mnl_socket *del; /* deletes go through their own socket */
	uint32_t del_seq;
	size_t seen;
	size_t deleted;
	size_t unparsed;
	bool capped;
	int error; /* the first failed delete, negative errno */
};

static struct mnl_socket *socket_open(struct errbuf *err, int *r)
{
	struct timeval tv = { RECV_TIMEOUT_SEC, 0 };
	struct mnl_socket *nl;

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl) {
		*r = -errno;
		errbuf_set(err, "conntrack: netlink socket: %s", strerror(-*r));
		return NULL;
	}
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		*r = -errno;
		errbuf_set(err, "conntrack: netlink socket: %s", strerror(-*r));
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

static void log_entry(const struct conntrack_entry *e)
{
	char src[K8S_ADDR_STRLEN], dst[K8S_ADDR_STRLEN], ep[K8S_ADDR_STRLEN];

	if (log_verbosity() < 4)
		return;
	log_debug(4, "conntrack: deleted udp %s:%u -> %s:%u (reply from %s:%u)",
		  k8s_addr_format(&e->orig.src, src), e->orig.sport,
		  k8s_addr_format(&e->orig.dst, dst), e->orig.dport,
		  k8s_addr_format(&e->reply.src, ep), e->reply.sport);
}

/* Deletes one entry and waits for the answer; an entry already gone is fine. */
static int delete_entry(struct cleanup *c, const struct conntrack_entry *e)
{
	_Alignas(struct nlmsghdr) char req[CONNTRACK_MSG_SIZE];
	_Alignas(struct nlmsghdr) char ack[ACK_BUFFER_SIZE];
	uint32_t seq = ++c->del_seq;
	ssize_t len;
	int r;

	r = conntrack_build_delete(req, sizeof(req), e, seq);
	if (r < 0)
		return r;
	if (mnl_socket_sendto(c->del, req, (size_t)r) < 0)
		return -errno;
	len = mnl_socket_recvfrom(c->del, ack, sizeof(ack));
	if (len < 0)
		return -errno;
	if (mnl_cb_run(ack, (size_t)len, seq, mnl_socket_get_portid(c->del), NULL, NULL) < 0)
		return errno == ENOENT ? 0 : -errno;
	c->deleted++;
	log_entry(e);
	return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct cleanup *c = data;
	struct conntrack_entry e;
	int r;

	if (++c->seen > CONNTRACK_MAX_ENTRIES) {
		c->capped = true;
		return MNL_CB_STOP;
	}
	if (conntrack_parse_entry(nlh, &e) < 0) {
		c->unparsed++;
		return MNL_CB_OK;
	}
	if (!conntrack_index_stale(c->idx, &e))
		return MNL_CB_OK;
	r = delete_entry(c, &e);
	if (r < 0) {
		c->error = r;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/*
 * Sends one dump request and runs every answer through dump_cb. Returns 0, or
 * a negative errno: the kernel's answer to the request, a failed delete
 * (c->error) or a socket error.
 */
static int dump_run(struct mnl_socket *nl, struct cleanup *c, enum k8s_family family,
		    uint8_t l4proto, uint32_t seq, char *buf)
{
	uint32_t portid = mnl_socket_get_portid(nl);
	ssize_t len;
	int r;

	r = conntrack_build_dump(buf, DUMP_BUFFER_SIZE, family, l4proto, seq);
	if (r < 0)
		return r;
	if (mnl_socket_sendto(nl, buf, (size_t)r) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(nl, buf, DUMP_BUFFER_SIZE);
		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		errno = 0;
		r = mnl_cb_run(buf, (size_t)len, seq, portid, dump_cb, c);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return c->error ? c->error : (errno ? -errno : -EPROTO);
	}
}

int conntrack_cleanup(const struct conntrack_target *targets, size_t n, enum k8s_family family,
		      size_t *deleted, struct errbuf *err)
{
	uint32_t seq = (uint32_t)time(NULL);
	struct conntrack_index *idx;
	struct mnl_socket *dump;
	struct cleanup c;
	char *buf;
	int r = 0;

	memset(&c, 0, sizeof(c));
	idx = conntrack_index_new(targets, n, family);
	c.idx = idx;
	if (conntrack_index_empty(idx))
		goto out_index;

	dump = socket_open(err, &r);
	if (!dump)
		goto out_index;
	c.del = socket_open(err, &r);
	if (!c.del)
		goto out_dump;
	buf = xmalloc(DUMP_BUFFER_SIZE);

	r = dump_run(dump, &c, family, IPPROTO_UDP, seq, buf);
	/*
	 * A kernel that understands CTA_FILTER but not this use of it refuses the
	 * request before sending anything; list everything and filter here.
	 */
	if ((r == -EINVAL || r == -EOPNOTSUPP) && c.seen == 0 && c.error == 0)
		r = dump_run(dump, &c, family, 0, seq + 1, buf);
	if (r < 0)
		errbuf_set(err, "conntrack: %s: %s", c.error ? "delete" : "dump", strerror(-r));
	else if (c.capped) {
		r = -E2BIG;
		errbuf_set(err, "conntrack: stopped after %u entries", CONNTRACK_MAX_ENTRIES);
	}
	if (c.unparsed)
		log_debug(2, "conntrack: skipped %zu entries that could not be parsed", c.unparsed);

	free(buf);
	mnl_socket_close(c.del);
out_dump:
	mnl_socket_close(dump);
out_index:
	conntrack_index_free(idx);
	*deleted = c.deleted;
	return r;
}
