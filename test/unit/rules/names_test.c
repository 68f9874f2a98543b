// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Chain names must be kube-proxy's hashes after the prefix, so that the test
 * vectors of its own tests give the same 16 characters here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct name_case {
	const char *kind;
	const char *svc_port;
	enum k8s_protocol proto;
	const char *endpoint;
	const char *want;
};

static const struct name_case name_cases[] = {
	{ "SVC", "ns1/svc1:p80", K8S_PROTO_TCP, NULL, "KPROXY-SVC-XPGD46QRK7WJZT7O" },
	{ "SVC", "ns2/svc2:p80", K8S_PROTO_TCP, NULL, "KPROXY-SVC-GNZBNJ2PO5MGZ6GT" },
	{ "EXT", "ns3/svc3:p80", K8S_PROTO_TCP, NULL, "KPROXY-EXT-X27LE4BHSL4DOUIK" },
	{ "FW", "ns4/svc4:p80", K8S_PROTO_TCP, NULL, "KPROXY-FW-4SW47YFZTEDKD3PK" },
	{ "SVL", "ns5/svc5:p80", K8S_PROTO_TCP, NULL, "KPROXY-SVL-NUKIZ6OKUXPJNT4C" },
	{ "SVC", "ns2/svc2:p8080", K8S_PROTO_TCP, NULL, "KPROXY-SVC-2VJB64SDSIJUP5T6" },
	{ "SVC", "ns1/svc1", K8S_PROTO_TCP, NULL, "KPROXY-SVC-AQI2S6QIMU7PVVRP" },
	{ "SEP", "ns1/svc1:p80", K8S_PROTO_TCP, "10.180.0.1:80", "KPROXY-SEP-SXIVWICOYRO3J4NJ" },
	{ "SEP", "ns5/svc5:p80", K8S_PROTO_TCP, "10.180.0.3:80", "KPROXY-SEP-I77PXRDZVX7PMWMN" },
	{ "SEP", "ns1/svc1", K8S_PROTO_TCP, "10.0.1.1:80", "KPROXY-SEP-3JOIVZTXZZRGORX4" },
	{ "SEP", "ns1/svc1:p80", K8S_PROTO_TCP, "[ff06::c1]:80", "KPROXY-SEP-LIGRYQQLSZN4UWQ5" },
};

static void test_chain_names(void **state)
{
	char name[RULES_CHAIN_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(name_cases); i++) {
		const struct name_case *c = &name_cases[i];

		rules_chain_name(name, c->kind, c->svc_port, c->proto, c->endpoint);
		assert_string_equal(name, c->want);
		assert_true(strlen(name) <= 28);
	}
}

static void test_protocol_changes_name(void **state)
{
	char tcp[RULES_CHAIN_MAX], udp[RULES_CHAIN_MAX], sctp[RULES_CHAIN_MAX];

	(void)state;
	rules_chain_name(tcp, "SVC", "ns/a:dns", K8S_PROTO_TCP, NULL);
	rules_chain_name(udp, "SVC", "ns/a:dns", K8S_PROTO_UDP, NULL);
	rules_chain_name(sctp, "SVC", "ns/a:dns", K8S_PROTO_SCTP, NULL);
	assert_string_not_equal(tcp, udp);
	assert_string_not_equal(tcp, sctp);
	assert_string_not_equal(udp, sctp);
}

/* The longest names the API allows still give a 28-character chain. */
static void test_long_input(void **state)
{
	char svc[600], name[RULES_CHAIN_MAX];

	(void)state;
	memset(svc, 'a', sizeof(svc) - 1);
	svc[sizeof(svc) - 1] = '\0';
	rules_chain_name(name, "SEP", svc, K8S_PROTO_UDP,
			 "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535");
	assert_int_equal(strlen(name), 27);
}

/* The hand-made formatter must print exactly what printf("%0.10f") prints. */
static void test_probability(void **state)
{
	char got[32], want[32];
	unsigned d;

	(void)state;
	for (d = 1; d <= 200000; d++) {
		rules_format_probability(got, sizeof(got), d);
		snprintf(want, sizeof(want), "%0.10f", 1.0 / (double)d);
		if (strcmp(got, want) != 0)
			fail_msg("1/%u: got %s, want %s", d, got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_names),
		cmocka_unit_test(test_protocol_changes_name),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_probability),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
