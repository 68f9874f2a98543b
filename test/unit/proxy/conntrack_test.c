// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Conntrack cleanup without the kernel: requests built with libmnl and parsed
 * back with libmnl attribute by attribute, dump answers built here and parsed
 * into entries, the stale-entry decision, and targets built from the model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "apiwatch/decode.h"
#include "proxy/conntrack.h"
#include "proxy/model.h"

static struct k8s_addr addr(const char *s)
{
	struct k8s_addr a;

	memset(&a, 0, sizeof(a));
	if (!k8s_addr_parse(s, &a))
		fail_msg("bad address %s", s);
	return a;
}

/* Parses "IP:port" or "[IPv6]:port". */
static void addr_port(const char *s, struct k8s_addr *a, uint16_t *port)
{
	char buf[K8S_ADDR_STRLEN + 8];
	char *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	assert_non_null(colon);
	*colon = '\0';
	*port = (uint16_t)atoi(colon + 1);
	if (buf[0] == '[') {
		buf[strlen(buf) - 1] = '\0';
		*a = addr(buf + 1);
	} else {
		*a = addr(buf);
	}
}

/* An entry from text: orig src -> orig dst, reply from reply_src. */
static struct conntrack_entry entry(uint8_t proto, const char *src, const char *dst,
				    const char *reply_src)
{
	struct conntrack_entry e;

	memset(&e, 0, sizeof(e));
	e.l4proto = proto;
	addr_port(src, &e.orig.src, &e.orig.sport);
	addr_port(dst, &e.orig.dst, &e.orig.dport);
	addr_port(reply_src, &e.reply.src, &e.reply.sport);
	e.reply.dst = e.orig.src;
	e.reply.dport = e.orig.sport;
	e.family = e.orig.src.family;
	return e;
}

static void assert_addr_equal(const struct k8s_addr *a, const struct k8s_addr *b)
{
	char x[K8S_ADDR_STRLEN], y[K8S_ADDR_STRLEN];

	if (k8s_addr_cmp(a, b) != 0)
		fail_msg("address %s != %s", k8s_addr_format(a, x), k8s_addr_format(b, y));
}

/* ------------------------------------------------------------------------ */
/* An independent reader of the requests: plain mnl_attr_parse, no validation
 * shared with the code under test. */

struct attrs {
	const struct nlattr *tb[64];
};

static int keep_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	uint16_t type = mnl_attr_get_type(attr);

	assert_true(type < 64);
	assert_null(a->tb[type]); /* each attribute once */
	a->tb[type] = attr;
	return MNL_CB_OK;
}

static struct attrs nested(const struct nlattr *nest)
{
	struct attrs a;

	memset(&a, 0, sizeof(a));
	assert_true(nest->nla_type & NLA_F_NESTED);
	assert_int_equal(mnl_attr_parse_nested(nest, keep_cb, &a), MNL_CB_OK);
	return a;
}

static struct attrs top(const struct nlmsghdr *nlh)
{
	struct attrs a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), keep_cb, &a), MNL_CB_OK);
	return a;
}

static void assert_header(const struct nlmsghdr *nlh, int len, uint8_t msg, uint16_t flags,
			  uint8_t af, uint32_t seq)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

	assert_int_equal(nlh->nlmsg_len, len);
	assert_int_equal(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | msg);
	assert_int_equal(nlh->nlmsg_flags, flags);
	assert_int_equal(nlh->nlmsg_seq, seq);
	assert_int_equal(nfg->nfgen_family, af);
	assert_int_equal(nfg->version, NFNETLINK_V0);
	assert_int_equal(nfg->res_id, 0);
}

/* ------------------------------------------------------------------------ */
/* Delete requests */

static const struct {
	const char *name;
	const char *src, *dst;
	uint16_t zone;
	bool has_id;
	uint32_t id;
} delete_cases[] = {
	{ "ipv4", "198.18.0.1:40000", "198.19.0.10:53", 0, false, 0 },
	{ "ipv4 with zone and id", "203.0.113.9:1", "192.0.2.10:30053", 7, true, 0xdeadbeef },
	{ "ipv6", "[2001:db8::1]:65535", "[fd00::10]:53", 0, true, 1 },
	{ "ipv6 with zone", "[2001:db8::1]:12345", "[2001:db8:ffff::ffff]:123", 65535, false, 0 },
};

static void test_delete_round_trip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(delete_cases) / sizeof(delete_cases[0]); i++) {
		_Alignas(struct nlmsghdr) char buf[CONNTRACK_MSG_SIZE];
		struct conntrack_entry e = entry(IPPROTO_UDP, delete_cases[i].src,
						 delete_cases[i].dst, delete_cases[i].dst);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		bool v4 = e.family == K8S_FAMILY_IPV4;
		struct attrs a, tuple, ip, l4;
		struct k8s_addr got;
		int len;

		print_message("case %s\n", delete_cases[i].name);
		e.zone = delete_cases[i].zone;
		e.has_id = delete_cases[i].has_id;
		e.id = delete_cases[i].id;
		memset(buf, 0xa5, sizeof(buf));
		len = conntrack_build_delete(buf, sizeof(buf), &e, 4242 + (uint32_t)i);
		assert_true(len > 0);
		assert_header(nlh, len, IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK,
			      v4 ? AF_INET : AF_INET6, 4242 + (uint32_t)i);

		a = top(nlh);
		assert_non_null(a.tb[CTA_TUPLE_ORIG]);
		assert_null(a.tb[CTA_TUPLE_REPLY]);
		assert_null(a.tb[CTA_FILTER]);
		tuple = nested(a.tb[CTA_TUPLE_ORIG]);
		assert_non_null(tuple.tb[CTA_TUPLE_IP]);
		assert_non_null(tuple.tb[CTA_TUPLE_PROTO]);
		ip = nested(tuple.tb[CTA_TUPLE_IP]);
		l4 = nested(tuple.tb[CTA_TUPLE_PROTO]);

		/* Addresses: exactly the family's two attributes, in network order. */
		assert_int_equal(
			mnl_attr_get_payload_len(ip.tb[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC]),
			v4 ? 4 : 16);
		assert_null(ip.tb[v4 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC]);
		assert_null(ip.tb[v4 ? CTA_IP_V6_DST : CTA_IP_V4_DST]);
		memset(&got, 0, sizeof(got));
		got.family = e.family;
		memcpy(got.bytes, mnl_attr_get_payload(ip.tb[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC]),
		       v4 ? 4 : 16);
		assert_addr_equal(&got, &e.orig.src);
		memcpy(got.bytes, mnl_attr_get_payload(ip.tb[v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST]),
		       v4 ? 4 : 16);
		assert_addr_equal(&got, &e.orig.dst);

		assert_int_equal(mnl_attr_get_u8(l4.tb[CTA_PROTO_NUM]), IPPROTO_UDP);
		assert_int_equal(ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_SRC_PORT])), e.orig.sport);
		assert_int_equal(ntohs(mnl_attr_get_u16(l4.tb[CTA_PROTO_DST_PORT])), e.orig.dport);

		if (e.zone)
			assert_int_equal(ntohs(mnl_attr_get_u16(a.tb[CTA_ZONE])), e.zone);
		else
			assert_null(a.tb[CTA_ZONE]);
		if (e.has_id)
			assert_int_equal(ntohl(mnl_attr_get_u32(a.tb[CTA_ID])), e.id);
		else
			assert_null(a.tb[CTA_ID]);
	}
}

static void test_delete_errors(void **state)
{
	struct conntrack_entry e =
		entry(IPPROTO_UDP, "[2001:db8::1]:1", "[fd00::10]:53", "[fd00::10]:53");
	_Alignas(struct nlmsghdr) char buf[CONNTRACK_MSG_SIZE];
	int len, size;

	(void)state;
	e.zone = 3;
	e.has_id = true;
	len = conntrack_build_delete(buf, sizeof(buf), &e, 1);
	assert_true(len > 0 && len <= CONNTRACK_MSG_SIZE);
	/* Every buffer one byte too short, down to none, is refused. */
	for (size = len - 1; size >= 0; size--)
		assert_int_equal(conntrack_build_delete(buf, (size_t)size, &e, 1), -ENOSPC);
	assert_int_equal(conntrack_build_delete(buf, (size_t)len, &e, 1), len);
	/* Entries without ports cannot be named by this request. */
	e.l4proto = IPPROTO_ICMPV6;
	assert_int_equal(conntrack_build_delete(buf, sizeof(buf), &e, 1), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Dump requests */

static void test_dump_request(void **state)
{
	_Alignas(struct nlmsghdr) char buf[CONNTRACK_MSG_SIZE];
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	struct attrs a, tuple, l4, filter;
	int len, size;

	(void)state;
	/* Unfiltered: the header alone. */
	len = conntrack_build_dump(buf, sizeof(buf), K8S_FAMILY_IPV6, 0, 9);
	assert_header(nlh, len, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, AF_INET6, 9);
	assert_int_equal(len, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)));

	/* Filtered to UDP: the protocol number in the original tuple, and a
	 * filter that compares only that. */
	len = conntrack_build_dump(buf, sizeof(buf), K8S_FAMILY_IPV4, IPPROTO_UDP, 10);
	assert_header(nlh, len, IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, AF_INET, 10);
	a = top(nlh);
	tuple = nested(a.tb[CTA_TUPLE_ORIG]);
	assert_null(tuple.tb[CTA_TUPLE_IP]);
	l4 = nested(tuple.tb[CTA_TUPLE_PROTO]);
	assert_int_equal(mnl_attr_get_u8(l4.tb[CTA_PROTO_NUM]), IPPROTO_UDP);
	assert_null(l4.tb[CTA_PROTO_SRC_PORT]);
	assert_null(l4.tb[CTA_PROTO_DST_PORT]);
	filter = nested(a.tb[CTA_FILTER]);
	assert_int_equal(mnl_attr_get_u32(filter.tb[CTA_FILTER_ORIG_FLAGS]), 1u << 3);
	assert_null(filter.tb[CTA_FILTER_REPLY_FLAGS]);

	for (size = len - 1; size >= 0; size--)
		assert_int_equal(
			conntrack_build_dump(buf, (size_t)size, K8S_FAMILY_IPV4, IPPROTO_UDP, 10),
			-ENOSPC);
}

/* ------------------------------------------------------------------------ */
/* Dump answers, built here as the kernel writes them */

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct conntrack_tuple *t,
		      uint8_t proto)
{
	bool v4 = t->src.family == K8S_FAMILY_IPV4;
	struct nlattr *tuple, *ip, *l4;

	tuple = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, v4 ? 4 : 16, t->src.bytes);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, v4 ? 4 : 16, t->dst.bytes);
	mnl_attr_nest_end(nlh, ip);
	l4 = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	if (proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(77));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, 8);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, 0);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, l4);
	/* Kernels since 4.6 add the tuple's zone; the parser does not need it. */
	mnl_attr_put_u16(nlh, CTA_TUPLE_ZONE, htons(0));
	mnl_attr_nest_end(nlh, tuple);
}

/* Writes a dump answer for e the way ctnetlink_fill_info orders it. */
static struct nlmsghdr *put_answer(char *buf, const struct conntrack_entry *e)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nlattr *nest;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 5;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = e->family == K8S_FAMILY_IPV4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	put_tuple(nlh, CTA_TUPLE_ORIG, &e->orig, e->l4proto);
	put_tuple(nlh, CTA_TUPLE_REPLY, &e->reply, e->l4proto);
	if (e->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(e->zone));
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(0x18e));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(29));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(e->mark));
	nest = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	mnl_attr_nest_end(nlh, nest);
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	if (e->has_id)
		mnl_attr_put_u32(nlh, CTA_ID, htonl(e->id));
	/* An attribute from a kernel newer than the headers. */
	mnl_attr_put_u32(nlh, CTA_MAX + 5, 1);
	return nlh;
}

static void assert_entry_equal(const struct conntrack_entry *got,
			       const struct conntrack_entry *want)
{
	assert_int_equal(got->family, want->family);
	assert_int_equal(got->l4proto, want->l4proto);
	assert_addr_equal(&got->orig.src, &want->orig.src);
	assert_addr_equal(&got->orig.dst, &want->orig.dst);
	assert_int_equal(got->orig.sport, want->orig.sport);
	assert_int_equal(got->orig.dport, want->orig.dport);
	assert_addr_equal(&got->reply.src, &want->reply.src);
	assert_addr_equal(&got->reply.dst, &want->reply.dst);
	assert_int_equal(got->reply.sport, want->reply.sport);
	assert_int_equal(got->reply.dport, want->reply.dport);
	assert_int_equal(got->zone, want->zone);
	assert_int_equal(got->mark, want->mark);
	assert_int_equal(got->has_id, want->has_id);
	assert_int_equal(got->id, want->id);
}

static const struct {
	const char *name;
	uint8_t proto;
	const char *src, *dst, *reply_src;
	uint16_t zone;
	uint32_t mark;
	bool has_id;
	uint32_t id;
} answer_cases[] = {
	{ "udp via DNAT", IPPROTO_UDP, "198.18.0.1:40000", "198.19.0.10:53", "198.18.1.5:5353", 0,
	  0x4000, true, 123456 },
	{ "udp to a NodePort, zone", IPPROTO_UDP, "203.0.113.9:1", "192.0.2.10:30053",
	  "198.18.1.5:5353", 12, 0, true, 0xffffffff },
	{ "tcp", IPPROTO_TCP, "198.18.0.1:40000", "198.19.0.10:80", "198.19.0.10:80", 0, 0, false,
	  0 },
	{ "ipv6 udp", IPPROTO_UDP, "[2001:db8::1]:40000", "[fd00::10]:53", "[fd00:1::5]:5353", 0,
	  0xffffffff, true, 2 },
};

static void test_parse_answer(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
		_Alignas(struct nlmsghdr) char buf[1024];
		struct conntrack_entry want = entry(answer_cases[i].proto, answer_cases[i].src,
						    answer_cases[i].dst, answer_cases[i].reply_src);
		struct conntrack_entry got;
		struct nlmsghdr *nlh;

		print_message("case %s\n", answer_cases[i].name);
		want.zone = answer_cases[i].zone;
		want.mark = answer_cases[i].mark;
		want.has_id = answer_cases[i].has_id;
		want.id = answer_cases[i].id;
		nlh = put_answer(buf, &want);
		assert_int_equal(conntrack_parse_entry(nlh, &got), 0);
		assert_entry_equal(&got, &want);

		/* What was read names the same entry when deleted. */
		if (want.l4proto == IPPROTO_UDP) {
			_Alignas(struct nlmsghdr) char del[CONNTRACK_MSG_SIZE];
			struct attrs a;

			assert_true(conntrack_build_delete(del, sizeof(del), &got, 1) > 0);
			a = top((struct nlmsghdr *)del);
			assert_int_equal(a.tb[CTA_ZONE] != NULL, want.zone != 0);
			assert_int_equal(a.tb[CTA_ID] != NULL, want.has_id);
		}
	}
}

static void test_parse_icmp_has_no_ports(void **state)
{
	struct conntrack_entry want =
		entry(IPPROTO_ICMP, "198.18.0.1:0", "198.19.0.10:0", "198.19.0.10:0");
	struct conntrack_entry got;
	_Alignas(struct nlmsghdr) char buf[1024];

	(void)state;
	assert_int_equal(conntrack_parse_entry(put_answer(buf, &want), &got), 0);
	assert_int_equal(got.l4proto, IPPROTO_ICMP);
	assert_int_equal(got.orig.sport, 0);
	assert_int_equal(got.orig.dport, 0);
}

/* Builds a message from pieces so that each can be broken on its own. */
enum broken {
	BROKEN_NONE,
	BROKEN_SHORT_ADDR,
	BROKEN_NO_REPLY,
	BROKEN_NO_PROTO_NUM,
	BROKEN_PROTO_MISMATCH,
	BROKEN_WRONG_FAMILY_ADDR,
	BROKEN_SUBSYS,
	BROKEN_MSG_TYPE,
	BROKEN_AF,
	BROKEN_NO_NFGENMSG,
	BROKEN_TRUNCATED_ATTR,
	BROKEN_MARK_SIZE,
};

static void put_broken_tuple(struct nlmsghdr *nlh, uint16_t type, enum broken b, uint8_t proto)
{
	static const uint8_t a4[4] = { 198, 19, 0, 10 };
	static const uint8_t a6[16] = { 0xfd };
	struct nlattr *tuple, *ip, *l4;

	tuple = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (b == BROKEN_WRONG_FAMILY_ADDR) {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, a6);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, a6);
	} else {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, b == BROKEN_SHORT_ADDR ? 3 : 4, a4);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, a4);
	}
	mnl_attr_nest_end(nlh, ip);
	l4 = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	if (b != BROKEN_NO_PROTO_NUM)
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(1));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(2));
	mnl_attr_nest_end(nlh, l4);
	mnl_attr_nest_end(nlh, tuple);
}

static struct nlmsghdr *put_broken(char *buf, enum broken b)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	uint8_t subsys = b == BROKEN_SUBSYS ? NFNL_SUBSYS_CTNETLINK_EXP : NFNL_SUBSYS_CTNETLINK;

	nlh->nlmsg_type = (uint16_t)((subsys << 8) | (b == BROKEN_MSG_TYPE ? IPCTNL_MSG_CT_GET
									   : IPCTNL_MSG_CT_NEW));
	if (b == BROKEN_NO_NFGENMSG)
		return nlh;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = b == BROKEN_AF ? AF_UNSPEC : AF_INET;
	put_broken_tuple(nlh, CTA_TUPLE_ORIG, b, IPPROTO_UDP);
	if (b != BROKEN_NO_REPLY)
		put_broken_tuple(nlh, CTA_TUPLE_REPLY, b,
				 b == BROKEN_PROTO_MISMATCH ? IPPROTO_TCP : IPPROTO_UDP);
	if (b == BROKEN_MARK_SIZE)
		mnl_attr_put_u16(nlh, CTA_MARK, 1);
	else
		mnl_attr_put_u32(nlh, CTA_MARK, 1);
	if (b == BROKEN_TRUNCATED_ATTR)
		nlh->nlmsg_len -= 2;
	return nlh;
}

static void test_parse_malformed(void **state)
{
	static const struct {
		const char *name;
		enum broken b;
		int want;
	} cases[] = {
		{ "well formed", BROKEN_NONE, 0 },
		{ "ipv4 address of 3 bytes", BROKEN_SHORT_ADDR, -EINVAL },
		{ "no reply tuple", BROKEN_NO_REPLY, -EINVAL },
		{ "no protocol number", BROKEN_NO_PROTO_NUM, -EINVAL },
		{ "tuples of two protocols", BROKEN_PROTO_MISMATCH, -EINVAL },
		{ "ipv6 addresses in an ipv4 entry", BROKEN_WRONG_FAMILY_ADDR, -EINVAL },
		{ "expectation subsystem", BROKEN_SUBSYS, -EINVAL },
		{ "GET message", BROKEN_MSG_TYPE, -EINVAL },
		{ "family AF_UNSPEC", BROKEN_AF, -EINVAL },
		{ "no nfgenmsg", BROKEN_NO_NFGENMSG, -EINVAL },
		{ "last attribute cut short", BROKEN_TRUNCATED_ATTR, -EINVAL },
		{ "mark of 2 bytes", BROKEN_MARK_SIZE, -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_Alignas(struct nlmsghdr) char buf[1024];
		struct conntrack_entry e;

		memset(buf, 0, sizeof(buf));
		print_message("case %s\n", cases[i].name);
		assert_int_equal(conntrack_parse_entry(put_broken(buf, cases[i].b), &e),
				 cases[i].want);
	}
}

/* ------------------------------------------------------------------------ */
/* The decision */

static struct k8s_addr t0_ips[3], t1_ips[1], t2_ips[2], t3_ips[1];
static struct conntrack_endpoint t0_eps[2], t2_eps[2], t3_eps[1];
static struct conntrack_target targets[4];

static void endpoint(struct conntrack_endpoint *ep, const char *s)
{
	addr_port(s, &ep->addr, &ep->port);
}

static int setup_targets(void **state)
{
	(void)state;
	/* dns: cluster IP, external IP and LB IP, NodePort, two endpoints. */
	t0_ips[0] = addr("198.19.0.10");
	t0_ips[1] = addr("203.0.113.50");
	t0_ips[2] = addr("198.51.100.7");
	endpoint(&t0_eps[0], "198.18.1.5:5353");
	endpoint(&t0_eps[1], "198.18.2.6:5353");
	targets[0] = (struct conntrack_target){ t0_ips, 3, 53, 30053, t0_eps, 2 };
	/* quiet: no serving endpoint, so it is ignored. */
	t1_ips[0] = addr("198.19.0.20");
	targets[1] = (struct conntrack_target){ t1_ips, 1, 53, 30054, NULL, 0 };
	/* ntp: dual-stack, no NodePort. */
	t2_ips[0] = addr("198.19.0.30");
	t2_ips[1] = addr("fd00::30");
	endpoint(&t2_eps[0], "198.18.1.9:123");
	endpoint(&t2_eps[1], "[fd00:1::9]:123");
	targets[2] = (struct conntrack_target){ t2_ips, 2, 123, 0, t2_eps, 2 };
	/* A second port on dns's cluster IP with its own endpoint. */
	t3_ips[0] = addr("198.19.0.10");
	endpoint(&t3_eps[0], "198.18.1.5:5000");
	targets[3] = (struct conntrack_target){ t3_ips, 1, 5000, 0, t3_eps, 1 };
	return 0;
}

static const struct {
	const char *name;
	enum k8s_family family; /* of the index */
	uint8_t proto;
	const char *src, *dst, *reply_src;
	bool stale;
} decision_cases[] = {
	{ "cluster IP, serving endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:53", "198.18.1.5:5353", false },
	{ "cluster IP, other serving endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:53", "198.18.2.6:5353", false },
	{ "cluster IP, endpoint gone", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:53", "198.18.3.3:5353", true },
	{ "cluster IP, endpoint address on another port", K8S_FAMILY_IPV4, IPPROTO_UDP,
	  "198.18.0.1:40000", "198.19.0.10:53", "198.18.1.5:53", true },
	{ "cluster IP, never DNATed", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:53", "198.19.0.10:53", true },
	{ "external IP, endpoint gone", K8S_FAMILY_IPV4, IPPROTO_UDP, "203.0.113.9:40000",
	  "203.0.113.50:53", "198.18.9.9:5353", true },
	{ "external IP, serving endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "203.0.113.9:40000",
	  "203.0.113.50:53", "198.18.2.6:5353", false },
	{ "LB IP, never DNATed", K8S_FAMILY_IPV4, IPPROTO_UDP, "203.0.113.9:40000",
	  "198.51.100.7:53", "198.51.100.7:53", true },
	{ "cluster IP, port that is not a service port", K8S_FAMILY_IPV4, IPPROTO_UDP,
	  "198.18.0.1:40000", "198.19.0.10:54", "198.19.0.10:54", false },
	{ "second port, its endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:5000", "198.18.1.5:5000", false },
	{ "second port, the first port's endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP,
	  "198.18.0.1:40000", "198.19.0.10:5000", "198.18.1.5:5353", true },
	{ "NodePort, serving endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "203.0.113.9:41000",
	  "192.0.2.10:30053", "198.18.1.5:5353", false },
	{ "NodePort, never DNATed", K8S_FAMILY_IPV4, IPPROTO_UDP, "203.0.113.9:41000",
	  "192.0.2.10:30053", "192.0.2.10:30053", true },
	{ "NodePort on any address", K8S_FAMILY_IPV4, IPPROTO_UDP, "127.0.0.1:41000",
	  "127.0.0.1:30053", "198.18.7.7:5353", true },
	{ "source port equal to the NodePort", K8S_FAMILY_IPV4, IPPROTO_UDP, "192.0.2.10:30053",
	  "203.0.113.9:41000", "203.0.113.9:41000", false },
	{ "tcp is left alone", K8S_FAMILY_IPV4, IPPROTO_TCP, "198.18.0.1:40000", "198.19.0.10:53",
	  "198.18.3.3:5353", false },
	{ "sctp is left alone", K8S_FAMILY_IPV4, IPPROTO_SCTP, "198.18.0.1:40000",
	  "192.0.2.10:30053", "192.0.2.10:30053", false },
	{ "service without serving endpoints", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.20:53", "198.19.0.20:53", false },
	{ "NodePort of a service without serving endpoints", K8S_FAMILY_IPV4, IPPROTO_UDP,
	  "203.0.113.9:41000", "192.0.2.10:30054", "192.0.2.10:30054", false },
	{ "unrelated destination", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "192.0.2.53:53", "192.0.2.53:53", false },
	{ "ntp, serving endpoint", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.30:123", "198.18.1.9:123", false },
	{ "ntp, endpoint gone", K8S_FAMILY_IPV4, IPPROTO_UDP, "198.18.0.1:40000", "198.19.0.30:123",
	  "198.18.1.8:123", true },
	{ "ipv6 entry, ipv4 index", K8S_FAMILY_IPV4, IPPROTO_UDP, "[2001:db8::1]:40000",
	  "[fd00::30]:123", "[fd00::30]:123", false },
	{ "ipv6, serving endpoint", K8S_FAMILY_IPV6, IPPROTO_UDP, "[2001:db8::1]:40000",
	  "[fd00::30]:123", "[fd00:1::9]:123", false },
	{ "ipv6, endpoint gone", K8S_FAMILY_IPV6, IPPROTO_UDP, "[2001:db8::1]:40000",
	  "[fd00::30]:123", "[fd00:1::8]:123", true },
	{ "ipv6, NodePort of an ipv4-only service", K8S_FAMILY_IPV6, IPPROTO_UDP,
	  "[2001:db8::1]:40000", "[2001:db8::10]:30053", "[2001:db8::10]:30053", false },
	{ "ipv4 entry, ipv6 index", K8S_FAMILY_IPV6, IPPROTO_UDP, "198.18.0.1:40000",
	  "198.19.0.10:53", "198.19.0.10:53", false },
};

static void test_decision(void **state)
{
	struct conntrack_index *v4 = conntrack_index_new(targets, 4, K8S_FAMILY_IPV4);
	struct conntrack_index *v6 = conntrack_index_new(targets, 4, K8S_FAMILY_IPV6);
	size_t i;

	(void)state;
	assert_false(conntrack_index_empty(v4));
	assert_false(conntrack_index_empty(v6));
	for (i = 0; i < sizeof(decision_cases) / sizeof(decision_cases[0]); i++) {
		struct conntrack_entry e =
			entry(decision_cases[i].proto, decision_cases[i].src, decision_cases[i].dst,
			      decision_cases[i].reply_src);
		struct conntrack_index *idx = decision_cases[i].family == K8S_FAMILY_IPV4 ? v4 : v6;

		if (conntrack_index_stale(idx, &e) != decision_cases[i].stale)
			fail_msg("case \"%s\": want %s", decision_cases[i].name,
				 decision_cases[i].stale ? "stale" : "kept");
	}
	conntrack_index_free(v4);
	conntrack_index_free(v6);
}

static void test_decision_shared_node_port(void **state)
{
	/* Two services claim one NodePort for a moment: an entry is stale
	 * unless every claimant serves from its reply source. */
	struct k8s_addr none[1];
	struct conntrack_endpoint a = { addr("198.18.1.1"), 80 }, b = { addr("198.18.1.2"), 80 };
	struct conntrack_target t[2] = { { none, 0, 80, 30080, &a, 1 },
					 { none, 0, 81, 30080, &b, 1 } };
	struct conntrack_index *idx = conntrack_index_new(t, 2, K8S_FAMILY_IPV4);
	struct conntrack_entry e =
		entry(IPPROTO_UDP, "203.0.113.9:1", "192.0.2.10:30080", "198.18.1.1:80");

	(void)state;
	assert_true(conntrack_index_stale(idx, &e));
	conntrack_index_free(idx);
}

static void test_index_empty(void **state)
{
	struct conntrack_index *idx;

	(void)state;
	idx = conntrack_index_new(NULL, 0, K8S_FAMILY_IPV4);
	assert_true(conntrack_index_empty(idx));
	conntrack_index_free(idx);
	/* Only the target without serving endpoints. */
	idx = conntrack_index_new(&targets[1], 1, K8S_FAMILY_IPV4);
	assert_true(conntrack_index_empty(idx));
	conntrack_index_free(idx);
	/* ntp's endpoints are of both families; dns's only IPv4. */
	idx = conntrack_index_new(&targets[0], 1, K8S_FAMILY_IPV6);
	assert_true(conntrack_index_empty(idx));
	conntrack_index_free(idx);
	conntrack_index_free(NULL);
}

static void test_cleanup_without_targets(void **state)
{
	struct errbuf err;
	size_t deleted = 99;

	(void)state;
	/* Nothing to clean: no socket is needed, so this works without privileges. */
	assert_int_equal(conntrack_cleanup(&targets[1], 1, K8S_FAMILY_IPV4, &deleted, &err), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(conntrack_cleanup(NULL, 0, K8S_FAMILY_IPV6, &deleted, &err), 0);
}

/* ------------------------------------------------------------------------ */
/* Targets from the model */

#define DNS_SVC(extra)                                                                             \
	"{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"dns\"},"              \
	"\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"198.19.0.10\","                       \
	"\"externalIPs\":[\"203.0.113.50\",\"2001:db8::50\"],"                                     \
	"\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"nodePort\":30053},"       \
	"{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\",\"nodePort\":30054}]" extra "},"   \
	"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.7\"},"                    \
	"{\"ip\":\"198.51.100.8\",\"ipMode\":\"Proxy\"}]}}}"

#define DNS_SLICE                                                                                  \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"dns-1\","       \
	"\"labels\":{\"kubernetes.io/service-name\":\"dns\"}},\"addressType\":\"IPv4\","           \
	"\"ports\":[{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"},"                        \
	"{\"name\":\"dns-tcp\",\"port\":5353,\"protocol\":\"TCP\"}],\"endpoints\":["               \
	"{\"addresses\":[\"198.18.1.5\"]},"                                                        \
	"{\"addresses\":[\"198.18.2.6\"],\"conditions\":{\"ready\":false,\"serving\":true,"        \
	"\"terminating\":true}},"                                                                  \
	"{\"addresses\":[\"198.18.3.7\"],\"conditions\":{\"ready\":false,\"serving\":false}}]}"

/* A UDP Service named name with one endpoint (or none), for the skip rules. */
#define UDP_SVC(name, spec)                                                                        \
	"{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\"},"         \
	"\"spec\":{" spec "\"ports\":[{\"name\":\"u\",\"port\":99,\"protocol\":\"UDP\"}]}}"
#define UDP_SLICE(name)                                                                            \
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "-1\","  \
	"\"labels\":{\"kubernetes.io/service-name\":\"" name "\"}},\"addressType\":\"IPv4\","      \
	"\"ports\":[{\"name\":\"u\",\"port\":99,\"protocol\":\"UDP\"}],"                           \
	"\"endpoints\":[{\"addresses\":[\"198.18.5.5\"]}]}"

static void update(struct model *m, const char *json)
{
	struct k8s_object obj;
	struct errbuf err;
	cJSON *j = cJSON_Parse(json);

	assert_non_null(j);
	if (decode_object_any(j, &obj, &err) != 0)
		fail_msg("decode: %s", err.msg);
	cJSON_Delete(j);
	if (model_object_update(m, &obj, &err) != 0)
		fail_msg("update: %s", err.msg);
}

/* Formats a target as "ips port node_port serving" for comparison. */
static const char *target_str(const struct conntrack_target *t)
{
	static char out[512];
	char a[K8S_ADDR_STRLEN];
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < t->n_ips; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "",
					k8s_addr_format(&t->ips[i], a));
	len += (size_t)snprintf(out + len, sizeof(out) - len, " %u %u ", t->port, t->node_port);
	for (i = 0; i < t->n_serving; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s:%u", i ? "," : "",
					k8s_addr_format(&t->serving[i].addr, a),
					t->serving[i].port);
	return out;
}

static void test_targets_from_model(void **state)
{
	struct featuregate_set gates;
	struct model *m = model_new("node-a");
	struct conntrack_target *t;
	struct errbuf err;
	size_t n;

	(void)state;
	featuregate_init(&gates);
	update(m, DNS_SVC(""));
	update(m, DNS_SLICE);
	update(m, UDP_SVC("quiet", "\"clusterIP\":\"198.19.0.20\","));
	update(m, UDP_SVC("headless", "\"clusterIP\":\"None\","));
	update(m, UDP_SLICE("headless"));
	update(m, "{\"kind\":\"Service\",\"metadata\":{\"namespace\":\"ns\",\"name\":\"other\","
		  "\"labels\":{\"service.kubernetes.io/service-proxy-name\":\"x\"}},"
		  "\"spec\":{\"clusterIP\":\"198.19.0.40\",\"ports\":[{\"port\":99,"
		  "\"protocol\":\"UDP\"}]}}");
	update(m, UDP_SLICE("other"));

	/* The UDP port only; the serving endpoints, terminating or not; the LB
	 * IP in Proxy mode left out (LoadBalancerIPMode is on by default). */
	t = conntrack_targets_build(m, K8S_FAMILY_IPV4, &gates, NULL, NULL, &n);
	assert_int_equal(n, 1);
	assert_string_equal(target_str(&t[0]), "198.19.0.10,203.0.113.50,198.51.100.7 53 30053 "
					       "198.18.1.5:5353,198.18.2.6:5353");
	conntrack_targets_free(t, n);

	assert_int_equal(featuregate_parse(&gates, "LoadBalancerIPMode=false", &err), 0);
	t = conntrack_targets_build(m, K8S_FAMILY_IPV4, &gates, NULL, NULL, &n);
	assert_int_equal(n, 1);
	assert_string_equal(target_str(&t[0]),
			    "198.19.0.10,203.0.113.50,198.51.100.7,198.51.100.8 53 30053 "
			    "198.18.1.5:5353,198.18.2.6:5353");
	conntrack_targets_free(t, n);

	/* No IPv6 endpoints: nothing to clean in that family. */
	t = conntrack_targets_build(m, K8S_FAMILY_IPV6, &gates, NULL, NULL, &n);
	assert_int_equal(n, 0);
	conntrack_targets_free(t, n);

	/* The quiet Service gets an endpoint and is the only one changed. */
	model_dirty_clear(m);
	update(m, UDP_SLICE("quiet"));
	t = conntrack_targets_build(m, K8S_FAMILY_IPV4, &gates, conntrack_service_dirty, NULL, &n);
	assert_int_equal(n, 1);
	assert_string_equal(target_str(&t[0]), "198.19.0.20 99 0 198.18.5.5:99");
	conntrack_targets_free(t, n);
	t = conntrack_targets_build(m, K8S_FAMILY_IPV4, &gates, NULL, NULL, &n);
	assert_int_equal(n, 2);
	conntrack_targets_free(t, n);

	model_dirty_clear(m);
	t = conntrack_targets_build(m, K8S_FAMILY_IPV4, &gates, conntrack_service_dirty, NULL, &n);
	assert_int_equal(n, 0);
	conntrack_targets_free(t, n);
	conntrack_targets_free(NULL, 0);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delete_round_trip),
		cmocka_unit_test(test_delete_errors),
		cmocka_unit_test(test_dump_request),
		cmocka_unit_test(test_parse_answer),
		cmocka_unit_test(test_parse_icmp_has_no_ports),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_decision),
		cmocka_unit_test(test_decision_shared_node_port),
		cmocka_unit_test(test_index_empty),
		cmocka_unit_test(test_cleanup_without_targets),
		cmocka_unit_test(test_targets_from_model),
	};

	return cmocka_run_group_tests(tests, setup_targets, NULL);
}
