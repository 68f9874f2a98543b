// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * featuregate: the table, --feature-gates parsing as Kubernetes does it, and the
 * two formatters.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "featuregate/featuregate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KNOWN                                                                                      \
	"AllAlpha=true|false (ALPHA - default=false)\n"                                            \
	"AllBeta=true|false (BETA - default=false)\n"                                              \
	"AllowExtTrafficLocalEndpoints=true|false (ALPHA - default=false)\n"                       \
	"LoadBalancerIPMode=true|false (BETA - default=true)\n"                                    \
	"ProxyTerminatingEndpoints=true|false (GA - default=true)\n"                               \
	"ServiceInternalTrafficPolicy=true|false (GA - default=true)\n"                            \
	"UDPConntrackCleanup=true|false (BETA - default=true)\n"

/* KNOWN without its last line end, as the error message carries it. */
#define KNOWN_MSG                                                                                  \
	"AllAlpha=true|false (ALPHA - default=false)\n"                                            \
	"AllBeta=true|false (BETA - default=false)\n"                                              \
	"AllowExtTrafficLocalEndpoints=true|false (ALPHA - default=false)\n"                       \
	"LoadBalancerIPMode=true|false (BETA - default=true)\n"                                    \
	"ProxyTerminatingEndpoints=true|false (GA - default=true)\n"                               \
	"ServiceInternalTrafficPolicy=true|false (GA - default=true)\n"                            \
	"UDPConntrackCleanup=true|false (BETA - default=true)"

#define UNKNOWN(name) "unrecognized feature gate: " name "\nknown gates:\n" KNOWN_MSG

/* featuregate_format() of the state, with the gates in name order. */
#define STATE5(ext, lbip, term, itp, udp)                                                          \
	"AllowExtTrafficLocalEndpoints=" ext ",LoadBalancerIPMode=" lbip                           \
	",ProxyTerminatingEndpoints=" term ",ServiceInternalTrafficPolicy=" itp                    \
	",UDPConntrackCleanup=" udp
#define STATE(ext, lbip, term, itp) STATE5(ext, lbip, term, itp, "true")

#define DEFAULTS STATE("false", "true", "true", "true")

static void test_defaults(void **state)
{
	static const struct {
		enum featuregate_id id;
		const char *name;
		enum featuregate_stage stage;
		bool default_on;
		bool locked;
	} want[] = {
		{ FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS, "AllowExtTrafficLocalEndpoints",
		  FEATUREGATE_ALPHA, false, false },
		{ FEATUREGATE_LOADBALANCER_IP_MODE, "LoadBalancerIPMode", FEATUREGATE_BETA, true,
		  false },
		{ FEATUREGATE_PROXY_TERMINATING_ENDPOINTS, "ProxyTerminatingEndpoints",
		  FEATUREGATE_GA, true, true },
		{ FEATUREGATE_SERVICE_INTERNAL_TRAFFIC_POLICY, "ServiceInternalTrafficPolicy",
		  FEATUREGATE_GA, true, true },
		{ FEATUREGATE_UDP_CONNTRACK_CLEANUP, "UDPConntrackCleanup", FEATUREGATE_BETA, true,
		  false },
	};
	struct featuregate_set set;
	size_t i;

	(void)state;
	assert_int_equal(ARRAY_SIZE(want), FEATUREGATE_COUNT);
	featuregate_init(&set);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct featuregate_spec *spec = featuregate_spec(want[i].id);

		assert_non_null(spec);
		assert_string_equal(spec->name, want[i].name);
		assert_int_equal(spec->stage, want[i].stage);
		assert_int_equal(spec->default_on, want[i].default_on);
		assert_int_equal(spec->locked, want[i].locked);
		assert_int_equal(featuregate_enabled(&set, want[i].id), want[i].default_on);
	}
	assert_null(featuregate_spec(FEATUREGATE_COUNT));
	assert_false(featuregate_enabled(&set, FEATUREGATE_COUNT));
}

static void test_stage_names(void **state)
{
	static const struct {
		enum featuregate_stage stage;
		const char *name;
	} cases[] = {
		{ FEATUREGATE_ALPHA, "ALPHA" },
		{ FEATUREGATE_BETA, "BETA" },
		{ FEATUREGATE_GA, "GA" },
		{ FEATUREGATE_DEPRECATED, "DEPRECATED" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(featuregate_stage_name(cases[i].stage), cases[i].name);
}

/**
 * struct parse_case - one --feature-gates value applied on top of the defaults.
 * @before: applied first (must succeed), or NULL.
 * @err: the exact error, or NULL when the value must be accepted.
 * @want: featuregate_format() afterwards; after an error, the state before.
 */
struct parse_case {
	const char *name;
	const char *before;
	const char *spec;
	const char *err;
	const char *want;
};

static const struct parse_case cases[] = {
	{ "empty", NULL, "", NULL, DEFAULTS },
	{ "only commas and blanks", NULL, " , ,\t,", NULL, DEFAULTS },
	{ "alpha on", NULL, "AllowExtTrafficLocalEndpoints=true", NULL,
	  STATE("true", "true", "true", "true") },
	{ "beta off", NULL, "LoadBalancerIPMode=false", NULL,
	  STATE("false", "false", "true", "true") },
	{ "two gates", NULL, "AllowExtTrafficLocalEndpoints=true,LoadBalancerIPMode=false", NULL,
	  STATE("true", "false", "true", "true") },
	{ "blanks around commas and =", NULL,
	  "  AllowExtTrafficLocalEndpoints = true ,\tLoadBalancerIPMode\t=\tfalse\t", NULL,
	  STATE("true", "false", "true", "true") },
	{ "empty items", NULL, ",,AllowExtTrafficLocalEndpoints=true,,", NULL,
	  STATE("true", "true", "true", "true") },
	{ "duplicate: last wins (false)", NULL,
	  "AllowExtTrafficLocalEndpoints=true,AllowExtTrafficLocalEndpoints=false", NULL,
	  DEFAULTS },
	{ "duplicate: last wins (true)", NULL,
	  "AllowExtTrafficLocalEndpoints=false,AllowExtTrafficLocalEndpoints=true", NULL,
	  STATE("true", "true", "true", "true") },
	{ "turn a gate back off", "AllowExtTrafficLocalEndpoints=true",
	  "AllowExtTrafficLocalEndpoints=false", NULL, DEFAULTS },
	{ "AllAlpha=true", NULL, "AllAlpha=true", NULL, STATE("true", "true", "true", "true") },
	{ "AllAlpha=false", "AllowExtTrafficLocalEndpoints=true", "AllAlpha=false", NULL,
	  DEFAULTS },
	{ "AllAlpha then explicit", NULL, "AllAlpha=true,AllowExtTrafficLocalEndpoints=false", NULL,
	  DEFAULTS },
	{ "explicit then AllAlpha", NULL, "AllowExtTrafficLocalEndpoints=false,AllAlpha=true", NULL,
	  DEFAULTS },
	{ "AllBeta=false", NULL, "AllBeta=false", NULL,
	  STATE5("false", "false", "true", "true", "false") },
	{ "AllBeta=false, explicit beta", NULL, "LoadBalancerIPMode=true,AllBeta=false", NULL,
	  STATE5("false", "true", "true", "true", "false") },
	{ "AllAlpha and AllBeta", NULL, "AllAlpha=true,AllBeta=false", NULL,
	  STATE5("true", "false", "true", "true", "false") },
	{ "AllAlpha/AllBeta leave GA alone", NULL, "AllAlpha=false,AllBeta=false", NULL,
	  STATE5("false", "false", "true", "true", "false") },
	{ "AllAlpha duplicate: last wins", NULL, "AllAlpha=true,AllAlpha=false", NULL, DEFAULTS },
	{ "AllAlpha in an earlier value only", "AllAlpha=true",
	  "AllowExtTrafficLocalEndpoints=false", NULL, DEFAULTS },
	{ "locked gate to its default", NULL,
	  "ProxyTerminatingEndpoints=true,ServiceInternalTrafficPolicy=true", NULL, DEFAULTS },
	{ "locked gate, last value is the default", NULL,
	  "ProxyTerminatingEndpoints=false,ProxyTerminatingEndpoints=true", NULL, DEFAULTS },
	{ "locked gate off", NULL, "ProxyTerminatingEndpoints=false",
	  "cannot set feature gate ProxyTerminatingEndpoints to false, feature is locked to true",
	  DEFAULTS },
	{ "locked gate off (2)", NULL, "ServiceInternalTrafficPolicy = false",
	  "cannot set feature gate ServiceInternalTrafficPolicy to false, feature is locked to "
	  "true",
	  DEFAULTS },
	{ "unknown gate", NULL, "NoSuchGate=true", UNKNOWN("NoSuchGate"), DEFAULTS },
	{ "names are case-sensitive", NULL, "allowexttrafficlocalendpoints=true",
	  UNKNOWN("allowexttrafficlocalendpoints"), DEFAULTS },
	{ "empty name", NULL, "=true", UNKNOWN(""), DEFAULTS },
	{ "value True", NULL, "AllowExtTrafficLocalEndpoints=True",
	  "invalid value of AllowExtTrafficLocalEndpoints=True, want true or false", DEFAULTS },
	{ "value 1", NULL, "AllowExtTrafficLocalEndpoints=1",
	  "invalid value of AllowExtTrafficLocalEndpoints=1, want true or false", DEFAULTS },
	{ "value yes", NULL, "LoadBalancerIPMode = yes",
	  "invalid value of LoadBalancerIPMode=yes, want true or false", DEFAULTS },
	{ "empty value", NULL, "AllowExtTrafficLocalEndpoints=",
	  "invalid value of AllowExtTrafficLocalEndpoints=, want true or false", DEFAULTS },
	{ "missing =", NULL, "AllowExtTrafficLocalEndpoints",
	  "missing bool value for AllowExtTrafficLocalEndpoints", DEFAULTS },
	{ "missing = with blanks", NULL, " LoadBalancerIPMode ",
	  "missing bool value for LoadBalancerIPMode", DEFAULTS },
	{ "form errors come before unknown names", NULL, "NoSuchGate=true,LoadBalancerIPMode",
	  "missing bool value for LoadBalancerIPMode", DEFAULTS },
	{ "error leaves the set unchanged", "AllowExtTrafficLocalEndpoints=true",
	  "AllowExtTrafficLocalEndpoints=false,LoadBalancerIPMode=false,NoSuchGate=true",
	  UNKNOWN("NoSuchGate"), STATE("true", "true", "true", "true") },
	{ "locked error leaves the set unchanged", NULL,
	  "AllAlpha=true,LoadBalancerIPMode=false,ProxyTerminatingEndpoints=false",
	  "cannot set feature gate ProxyTerminatingEndpoints to false, feature is locked to true",
	  DEFAULTS },
	{ "value error leaves the set unchanged", NULL, "AllAlpha=true,LoadBalancerIPMode=off",
	  "invalid value of LoadBalancerIPMode=off, want true or false", DEFAULTS },
	/* A message repeats at most 64 bytes of a name or value, on one line. */
	{ "value with a newline", NULL, "LoadBalancerIPMode=true\n-j ACCEPT",
	  "invalid value of LoadBalancerIPMode=true?-j ACCEPT, want true or false", DEFAULTS },
	{ "name with control bytes", NULL, "Gate\r\x1b[2J\"=true", UNKNOWN("Gate??[2J?"),
	  DEFAULTS },
	{ "long name", NULL, "G123456789G123456789G123456789G123456789G123456789G123456789G1234",
	  "missing bool value for "
	  "G123456789G123456789G123456789G123456789G123456789G123456789G123...",
	  DEFAULTS },
};

static void test_parse(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct featuregate_set set;
	struct errbuf err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct parse_case *c = &cases[i];

		featuregate_init(&set);
		if (c->before && featuregate_parse(&set, c->before, &err) != 0)
			fail_msg("%s: before %s: %s", c->name, c->before, err.msg);
		errbuf_clear(&err);
		rc = featuregate_parse(&set, c->spec, &err);
		if (c->err && rc != -EINVAL)
			fail_msg("%s: %s: rc %d, want -EINVAL", c->name, c->spec, rc);
		if (c->err && strcmp(err.msg, c->err) != 0)
			fail_msg("%s: %s:\n got: %s\nwant: %s", c->name, c->spec, err.msg, c->err);
		if (!c->err && rc != 0)
			fail_msg("%s: %s: rc %d: %s", c->name, c->spec, rc, err.msg);
		strbuf_reset(&sb);
		featuregate_format(&set, &sb);
		if (strcmp(strbuf_str(&sb), c->want) != 0)
			fail_msg("%s: %s:\n got: %s\nwant: %s", c->name, c->spec, strbuf_str(&sb),
				 c->want);
	}
	strbuf_fini(&sb);
}

/* The message for an unknown gate lists the gates for the person at the shell. */
static void test_unknown_lists_gates(void **state)
{
	static const char prefix[] = "unrecognized feature gate: Bogus\nknown gates:\n";
	struct featuregate_set set;
	struct errbuf err;

	(void)state;
	featuregate_init(&set);
	assert_int_equal(featuregate_parse(&set, "Bogus=false", &err), -EINVAL);
	assert_memory_equal(err.msg, prefix, strlen(prefix));
	assert_non_null(strstr(err.msg, "AllowExtTrafficLocalEndpoints=true|false (ALPHA - "
					"default=false)"));
	assert_non_null(
		strstr(err.msg, "ProxyTerminatingEndpoints=true|false (GA - default=true)"));
	assert_non_null(strstr(err.msg, "AllAlpha=true|false (ALPHA - default=false)"));
}

static void test_format(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct featuregate_set set;

	(void)state;
	featuregate_format_known(&sb);
	assert_string_equal(strbuf_str(&sb), KNOWN);

	/* Both formatters append. */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "gates: ");
	featuregate_init(&set);
	featuregate_format(&set, &sb);
	assert_string_equal(strbuf_str(&sb), "gates: " DEFAULTS);

	strbuf_reset(&sb);
	set.enabled[FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS] = true;
	set.enabled[FEATUREGATE_LOADBALANCER_IP_MODE] = false;
	featuregate_format(&set, &sb);
	assert_string_equal(strbuf_str(&sb), STATE("true", "false", "true", "true"));
	strbuf_fini(&sb);
}

/* A NULL errbuf is allowed: the caller only wants the verdict. */
static void test_null_errbuf(void **state)
{
	struct featuregate_set set;

	(void)state;
	featuregate_init(&set);
	assert_int_equal(featuregate_parse(&set, "Bogus=true", NULL), -EINVAL);
	assert_int_equal(featuregate_parse(&set, "AllAlpha=true", NULL), 0);
	assert_true(featuregate_enabled(&set, FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_stage_names),
		cmocka_unit_test(test_parse),	 cmocka_unit_test(test_unknown_lists_gates),
		cmocka_unit_test(test_format),	 cmocka_unit_test(test_null_errbuf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
