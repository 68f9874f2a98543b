// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/k8s: address and CIDR parsing and formatting, DNS-1123
 * name checks, the enum names and the free functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/k8s.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define S10	"aaaaaaaaaa"
#define S63	S10 S10 S10 S10 S10 S10 "aaa"
#define S64	S63 "a"
#define NAME253 S63 "." S63 "." S63 "." S10 S10 S10 S10 S10 S10 "a"

/* ---- Addresses ---- */

/**
 * struct addr_case - one text for k8s_addr_parse().
 * @canon: the canonical text that k8s_addr_format() gives back (when ok).
 */
struct addr_case {
	const char *in;
	bool ok;
	enum k8s_family family;
	const char *canon;
};

static const struct addr_case addr_cases[] = {
	{ "10.0.0.1", true, K8S_FAMILY_IPV4, "10.0.0.1" },
	{ "0.0.0.0", true, K8S_FAMILY_IPV4, "0.0.0.0" },
	{ "255.255.255.255", true, K8S_FAMILY_IPV4, "255.255.255.255" },
	{ "2001:0db8:0000::0001", true, K8S_FAMILY_IPV6, "2001:db8::1" },
	{ "FD00::A", true, K8S_FAMILY_IPV6, "fd00::a" },
	{ "::", true, K8S_FAMILY_IPV6, "::" },
	{ "::1", true, K8S_FAMILY_IPV6, "::1" },
	{ "::ffff:1.2.3.4", true, K8S_FAMILY_IPV6, "::ffff:1.2.3.4" },
	{ "1:2:3:4:5:6:7:8", true, K8S_FAMILY_IPV6, "1:2:3:4:5:6:7:8" },
	{ "1.2.3.256", false, K8S_FAMILY_IPV4, NULL },
	{ "1.2.3", false, K8S_FAMILY_IPV4, NULL },
	{ "1.2.3.4.5", false, K8S_FAMILY_IPV4, NULL },
	{ "01.2.3.4", false, K8S_FAMILY_IPV4, NULL },
	{ "", false, K8S_FAMILY_IPV4, NULL },
	{ " 1.2.3.4", false, K8S_FAMILY_IPV4, NULL },
	{ "1.2.3.4 ", false, K8S_FAMILY_IPV4, NULL },
	{ "1.2.3.4/32", false, K8S_FAMILY_IPV4, NULL },
	{ "::g", false, K8S_FAMILY_IPV4, NULL },
	{ "1:2:3:4:5:6:7:8:9", false, K8S_FAMILY_IPV4, NULL },
	{ "fe80::1%eth0", false, K8S_FAMILY_IPV4, NULL },
	{ "localhost", false, K8S_FAMILY_IPV4, NULL },
};

static void test_addr_parse_format(void **state)
{
	char buf[K8S_ADDR_STRLEN];
	struct k8s_addr addr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		const struct addr_case *ac = &addr_cases[i];
		bool ok = k8s_addr_parse(ac->in, &addr);

		if (ok != ac->ok)
			fail_msg("\"%s\": parse gave %d, want %d", ac->in, ok, ac->ok);
		if (!ok)
			continue;
		assert_int_equal(addr.family, ac->family);
		assert_string_equal(k8s_addr_format(&addr, buf), ac->canon);
	}
}

static void test_addr_bytes(void **state)
{
	static const uint8_t v4[16] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct k8s_addr addr;

	(void)state;
	/* Network order; the unused bytes of an IPv4 address are zero. */
	memset(&addr, 0xff, sizeof(addr));
	assert_true(k8s_addr_parse("192.0.2.1", &addr));
	assert_memory_equal(addr.bytes, v4, 16);
	assert_true(k8s_addr_parse("2001:db8::1", &addr));
	assert_memory_equal(addr.bytes, v6, 16);
}

struct cmp_case {
	const char *a;
	const char *b;
	int sign;
};

static const struct cmp_case cmp_cases[] = {
	{ "10.0.0.1", "10.0.0.1", 0 },
	{ "10.0.0.1", "10.0.0.2", -1 },
	{ "10.0.1.0", "10.0.0.255", 1 },
	{ "255.255.255.255", "::", -1 },
	{ "::1", "0.0.0.1", 1 },
	{ "2001:db8::1", "2001:db8::1", 0 },
	{ "2001:db8::1", "2001:db8::", 1 },
	{ "fd00::", "fe80::", -1 },
};

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_addr_cmp(void **state)
{
	struct k8s_addr a, b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cmp_cases); i++) {
		assert_true(k8s_addr_parse(cmp_cases[i].a, &a));
		assert_true(k8s_addr_parse(cmp_cases[i].b, &b));
		if (sign(k8s_addr_cmp(&a, &b)) != cmp_cases[i].sign)
			fail_msg("cmp(%s, %s) != %d", cmp_cases[i].a, cmp_cases[i].b,
				 cmp_cases[i].sign);
		assert_int_equal(sign(k8s_addr_cmp(&b, &a)), -cmp_cases[i].sign);
	}
}

/* ---- CIDRs ---- */

/**
 * struct cidr_case - one text for k8s_cidr_parse().
 * @canon: k8s_cidr_format() of the result: host bits cleared (when ok).
 */
struct cidr_case {
	const char *in;
	bool ok;
	const char *canon;
};

static const struct cidr_case cidr_cases[] = {
	{ "10.0.0.0/8", true, "10.0.0.0/8" },
	{ " 10.1.2.3/8 ", true, "10.0.0.0/8" },
	{ "\t192.168.1.77/26\t", true, "192.168.1.64/26" },
	{ "  2001:db8::1/32", true, "2001:db8::/32" },
	{ "2001:db8:ffff:ffff::1/33", true, "2001:db8:8000::/33" },
	{ "10.255.255.255/9", true, "10.128.0.0/9" },
	{ "172.16.5.4/12", true, "172.16.0.0/12" },
	{ "203.0.113.7/31", true, "203.0.113.6/31" },
	{ "1.2.3.4/0", true, "0.0.0.0/0" },
	{ "1.2.3.4/32", true, "1.2.3.4/32" },
	{ "::/0", true, "::/0" },
	{ "ffff::1/1", true, "8000::/1" },
	{ "fe80::1/128", true, "fe80::1/128" },
	{ "10.0.0.0/33", false, NULL },
	{ "::/129", false, NULL },
	{ "10.0.0.0", false, NULL },
	{ "10.0.0.0/", false, NULL },
	{ "/8", false, NULL },
	{ "10.0.0.0/8x", false, NULL },
	{ "10.0.0.0/8 x", false, NULL },
	{ "10.0.0.0/+8", false, NULL },
	{ "10.0.0.0/-1", false, NULL },
	{ "10.0.0.0/ 8", false, NULL },
	{ "10.0.0.0 /8", false, NULL },
	{ "10.0.0.0/8/8", false, NULL },
	{ "10.0.0.0/1000", false, NULL },
	{ "1.2.3.256/8", false, NULL },
	{ "", false, NULL },
	{ "   ", false, NULL },
	{ "web/8", false, NULL },
};

static void test_cidr_parse_format(void **state)
{
	char buf[K8S_ADDR_STRLEN];
	struct k8s_cidr cidr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cidr_cases); i++) {
		const struct cidr_case *cc = &cidr_cases[i];
		bool ok = k8s_cidr_parse(cc->in, &cidr);

		if (ok != cc->ok)
			fail_msg("\"%s\": parse gave %d, want %d", cc->in, ok, cc->ok);
		if (ok)
			assert_string_equal(k8s_cidr_format(&cidr, buf), cc->canon);
	}
}

struct contains_case {
	const char *cidr;
	const char *addr;
	bool in;
};

static const struct contains_case contains_cases[] = {
	{ "10.0.0.0/8", "10.255.1.2", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/9", "10.127.255.255", true },
	{ "10.0.0.0/9", "10.128.0.0", false },
	{ "192.168.1.64/26", "192.168.1.127", true },
	{ "192.168.1.64/26", "192.168.1.128", false },
	{ "192.168.1.64/26", "192.168.1.63", false },
	{ "1.2.3.4/32", "1.2.3.4", true },
	{ "1.2.3.4/32", "1.2.3.5", false },
	{ "0.0.0.0/0", "1.2.3.4", true },
	{ "0.0.0.0/0", "::1", false },
	{ "::/0", "::ffff:1.2.3.4", true },
	{ "::/0", "1.2.3.4", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::", false },
	{ "2001:db8::/33", "2001:db8:7fff::", true },
	{ "2001:db8::/33", "2001:db8:8000::", false },
};

static void test_cidr_contains(void **state)
{
	struct k8s_cidr cidr;
	struct k8s_addr addr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(contains_cases); i++) {
		const struct contains_case *cc = &contains_cases[i];

		assert_true(k8s_cidr_parse(cc->cidr, &cidr));
		assert_true(k8s_addr_parse(cc->addr, &addr));
		if (k8s_cidr_contains(&cidr, &addr) != cc->in)
			fail_msg("%s contains %s: want %d", cc->cidr, cc->addr, cc->in);
	}
}

/* ---- DNS-1123 names ---- */

struct name_case {
	const char *s;
	bool label;
	bool subdomain;
};

/* clang-format off */
static const struct name_case name_cases[] = {
	{ "a", true, true },
	{ "web", true, true },
	{ "web-1", true, true },
	{ "0", true, true },
	{ "1-2", true, true },
	{ "xn--bcher-kva", true, true },
	{ S63, true, true },
	{ S64, false, false },
	{ "a.b", false, true },
	{ "node-a.example.com", false, true },
	{ NAME253, false, true },
	{ NAME253 "a", false, false },
	{ "", false, false },
	{ "-a", false, false },
	{ "a-", false, false },
	{ "A", false, false },
	{ "Web", false, false },
	{ "a_b", false, false },
	{ "a b", false, false },
	{ "a\nb", false, false },
	{ "\xc3\xa9", false, false },
	{ "a..b", false, false },
	{ ".a", false, false },
	{ "a.", false, false },
	{ "a.-b", false, false },
	{ "a.b-", false, false },
	{ "a." S64, false, false },
};
/* clang-format on */

static void test_dns1123(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(name_cases); i++) {
		const struct name_case *nc = &name_cases[i];

		if (k8s_is_dns1123_label(nc->s) != nc->label)
			fail_msg("label \"%s\": want %d", nc->s, nc->label);
		if (k8s_is_dns1123_subdomain(nc->s) != nc->subdomain)
			fail_msg("subdomain \"%s\": want %d", nc->s, nc->subdomain);
	}
}

/* ---- Names of enums, free functions ---- */

static void test_names(void **state)
{
	static const struct {
		enum k8s_protocol proto;
		const char *upper;
		const char *lower;
	} protos[] = {
		{ K8S_PROTO_TCP, "TCP", "tcp" },
		{ K8S_PROTO_UDP, "UDP", "udp" },
		{ K8S_PROTO_SCTP, "SCTP", "sctp" },
	};
	static const struct {
		enum k8s_kind kind;
		const char *name;
	} kinds[] = {
		{ K8S_KIND_SERVICE, "service" },
		{ K8S_KIND_ENDPOINTSLICE, "endpointslice" },
		{ K8S_KIND_ENDPOINTS, "endpoints" },
		{ K8S_KIND_NODE, "node" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(protos); i++) {
		assert_string_equal(k8s_protocol_name(protos[i].proto), protos[i].upper);
		assert_string_equal(k8s_protocol_lower(protos[i].proto), protos[i].lower);
	}
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		assert_string_equal(k8s_kind_name(kinds[i].kind), kinds[i].name);
}

static void test_free_null(void **state)
{
	struct k8s_object obj;
	struct k8s_slice slice;

	(void)state;
	k8s_service_free(NULL);
	k8s_slice_free(NULL);
	k8s_slice_fini(NULL);
	k8s_endpoints_free(NULL);
	k8s_node_free(NULL);
	memset(&slice, 0, sizeof(slice));
	k8s_slice_fini(&slice);
	memset(&obj, 0, sizeof(obj));
	obj.kind = K8S_KIND_NODE;
	k8s_object_fini(&obj);
	assert_null(obj.u.node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse_format),
		cmocka_unit_test(test_addr_bytes),
		cmocka_unit_test(test_addr_cmp),
		cmocka_unit_test(test_cidr_parse_format),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_dns1123),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
