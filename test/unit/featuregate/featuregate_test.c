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

/* Every rejected value is answered with the list of gates. */
#define LISTED(msg)   msg "\nknown gates:\n" KNOWN_MSG
#define UNKNOWN(name) LISTED("unrecognized feature gate: " name)
#define MISSING(name) LISTED("missing bool value for " name)
#define INVALID(item) LISTED("invalid value of " item ", want true or false")
#define LOCKED(name)  LISTED("cannot set feature gate " name " to false, feature is locked to true")

#define EXT	"AllowExtTrafficLocalEndpoints"
#define NBSP	"\xc2\xa0"     /* U+00A0 no-break space */
#define NEL	"\xc2\x85"     /* U+0085 next line */
#define OGHAM	"\xe1\x9a\x80" /* U+1680 Ogham space mark */
#define EN_QUAD "\xe2\x80\x80" /* U+2000, first of U+2000..U+200A */
#define HAIR	"\xe2\x80\x8a" /* U+200A hair space, last of them */
#define LSEP	"\xe2\x80\xa8" /* U+2028 line separator */
#define PSEP	"\xe2\x80\xa9" /* U+2029 paragraph separator */
#define NNBSP	"\xe2\x80\xaf" /* U+202F narrow no-break space */
#define MMSP	"\xe2\x81\x9f" /* U+205F medium mathematical space */
#define IDSP	"\xe3\x80\x80" /* U+3000 ideographic space */
#define ZWSP	"\xe2\x80\x8b" /* U+200B zero width space: not white space in Go */
#define MVS	"\xe1\xa0\x8e" /* U+180E Mongolian vowel separator: no longer white space */

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
	{ "only commas", NULL, ",,,", NULL, DEFAULTS },
	{ "alpha on", NULL, EXT "=true", NULL, STATE("true", "true", "true", "true") },
	{ "beta off", NULL, "LoadBalancerIPMode=false", NULL,
	  STATE("false", "false", "true", "true") },
	{ "two gates", NULL, EXT "=true,LoadBalancerIPMode=false", NULL,
	  STATE("true", "false", "true", "true") },
	{ "blanks around commas and =", NULL, "  " EXT " = true ,\tLoadBalancerIPMode\t=\tfalse\t",
	  NULL, STATE("true", "false", "true", "true") },
	{ "empty items", NULL, ",," EXT "=true,,", NULL, STATE("true", "true", "true", "true") },
	{ "trailing comma", NULL, EXT "=true,", NULL, STATE("true", "true", "true", "true") },

	/* Names and values are trimmed as Go's strings.TrimSpace trims. */
	{ "ASCII white space", NULL, "\n\r" EXT "\v=\ftrue\r\n,\vLoadBalancerIPMode=\nfalse\f",
	  NULL, STATE("true", "false", "true", "true") },
	{ "Unicode white space, two-byte", NULL, NBSP EXT NEL "=" NEL "true" NBSP, NULL,
	  STATE("true", "true", "true", "true") },
	{ "Unicode white space, three-byte", NULL,
	  OGHAM EN_QUAD HAIR EXT LSEP PSEP "=" NNBSP MMSP "true" IDSP HAIR, NULL,
	  STATE("true", "true", "true", "true") },
	{ "Unicode white space mixed with ASCII", NULL,
	  " " IDSP "\t" EXT "\t" NBSP " =" IDSP " true " NEL "\n", NULL,
	  STATE("true", "true", "true", "true") },
	{ "zero width space is not white space", NULL, ZWSP EXT "=true", UNKNOWN("???" EXT),
	  DEFAULTS },
	{ "U+180E is not white space", NULL, EXT "=true" MVS, INVALID(EXT "=true???"), DEFAULTS },
	{ "a stray UTF-8 byte is not white space", NULL, EXT "\xa0=true", UNKNOWN(EXT "?"),
	  DEFAULTS },
	{ "half a no-break space is not white space", NULL, EXT "=true\xc2", INVALID(EXT "=true?"),
	  DEFAULTS },
	{ "white space inside a name", NULL, "Allow" NBSP "ExtTrafficLocalEndpoints=true",
	  UNKNOWN("Allow??ExtTrafficLocalEndpoints"), DEFAULTS },

	/* Only an empty item is skipped; a blank one is an item without a value. */
	{ "blank item at the end", NULL, EXT "=true, ", MISSING(""), DEFAULTS },
	{ "blank item in the middle", NULL, EXT "=true,\t,LoadBalancerIPMode=false", MISSING(""),
	  DEFAULTS },
	{ "only a blank", NULL, " ", MISSING(""), DEFAULTS },
	{ "only a newline", NULL, "\n", MISSING(""), DEFAULTS },
	{ "only a no-break space", NULL, NBSP, MISSING(""), DEFAULTS },
	{ "commas and blanks", NULL, " , ,\t,", MISSING(""), DEFAULTS },

	{ "duplicate: last wins (false)", NULL, EXT "=true," EXT "=false", NULL, DEFAULTS },
	{ "duplicate: last wins (true)", NULL, EXT "=false," EXT "=true", NULL,
	  STATE("true", "true", "true", "true") },
	{ "turn a gate back off", EXT "=true", EXT "=false", NULL, DEFAULTS },
	{ "AllAlpha=true", NULL, "AllAlpha=true", NULL, STATE("true", "true", "true", "true") },
	{ "AllAlpha=false", NULL, "AllAlpha=false", NULL, DEFAULTS },
	{ "AllAlpha then explicit", NULL, "AllAlpha=true," EXT "=false", NULL, DEFAULTS },
	{ "explicit then AllAlpha", NULL, EXT "=false,AllAlpha=true", NULL, DEFAULTS },
	{ "AllBeta=false", NULL, "AllBeta=false", NULL,
	  STATE5("false", "false", "true", "true", "false") },
	{ "AllBeta=false, explicit beta", NULL, "LoadBalancerIPMode=true,AllBeta=false", NULL,
	  STATE5("false", "true", "true", "true", "false") },
	{ "AllAlpha and AllBeta", NULL, "AllAlpha=true,AllBeta=false", NULL,
	  STATE5("true", "false", "true", "true", "false") },
	{ "AllAlpha/AllBeta leave GA alone", NULL, "AllAlpha=false,AllBeta=false", NULL,
	  STATE5("false", "false", "true", "true", "false") },
	{ "AllAlpha duplicate: last wins", NULL, "AllAlpha=true,AllAlpha=false", NULL, DEFAULTS },

	/*
	 * A later value (a repeated --feature-gates) applies AllAlpha/AllBeta
	 * only to gates that no earlier value set, by name or through
	 * AllAlpha/AllBeta; a name always applies.
	 */
	{ "AllAlpha later keeps an earlier name", EXT "=true", "AllAlpha=false", NULL,
	  STATE("true", "true", "true", "true") },
	{ "AllAlpha later keeps an earlier name (2)", EXT "=false", "AllAlpha=true", NULL,
	  DEFAULTS },
	{ "AllBeta later keeps an earlier name", "LoadBalancerIPMode=true", "AllBeta=false", NULL,
	  STATE5("false", "true", "true", "true", "false") },
	{ "AllAlpha later keeps an earlier AllAlpha", "AllAlpha=true", "AllAlpha=false", NULL,
	  STATE("true", "true", "true", "true") },
	{ "AllBeta later keeps an earlier AllBeta", "AllBeta=false", "AllBeta=true", NULL,
	  STATE5("false", "false", "true", "true", "false") },
	{ "AllBeta later sets what AllAlpha did not", "AllAlpha=true", "AllBeta=false", NULL,
	  STATE5("true", "false", "true", "true", "false") },
	{ "a name later beats an earlier AllAlpha", "AllAlpha=true", EXT "=false", NULL, DEFAULTS },
	{ "a name later beats an earlier AllBeta", "AllBeta=false", "UDPConntrackCleanup=true",
	  NULL, STATE5("false", "false", "true", "true", "true") },

	{ "locked gate to its default", NULL,
	  "ProxyTerminatingEndpoints=true,ServiceInternalTrafficPolicy=true", NULL, DEFAULTS },
	{ "locked gate, last value is the default", NULL,
	  "ProxyTerminatingEndpoints=false,ProxyTerminatingEndpoints=true", NULL, DEFAULTS },
	{ "locked gate off", NULL, "ProxyTerminatingEndpoints=false",
	  LOCKED("ProxyTerminatingEndpoints"), DEFAULTS },
	{ "locked gate off (2)", NULL, "ServiceInternalTrafficPolicy = false",
	  LOCKED("ServiceInternalTrafficPolicy"), DEFAULTS },
	{ "unknown gate", NULL, "NoSuchGate=true", UNKNOWN("NoSuchGate"), DEFAULTS },
	{ "names are case-sensitive", NULL, "allowexttrafficlocalendpoints=true",
	  UNKNOWN("allowexttrafficlocalendpoints"), DEFAULTS },
	{ "empty name", NULL, "=true", UNKNOWN(""), DEFAULTS },
	{ "value True", NULL, EXT "=True", INVALID(EXT "=True"), DEFAULTS },
	{ "value 1", NULL, EXT "=1", INVALID(EXT "=1"), DEFAULTS },
	{ "value t", NULL, EXT "=t", INVALID(EXT "=t"), DEFAULTS },
	{ "value yes", NULL, "LoadBalancerIPMode = yes", INVALID("LoadBalancerIPMode=yes"),
	  DEFAULTS },
	{ "empty value", NULL, EXT "=", INVALID(EXT "="), DEFAULTS },
	{ "blank value", NULL, EXT "= " NBSP, INVALID(EXT "="), DEFAULTS },
	{ "missing =", NULL, EXT, MISSING(EXT), DEFAULTS },
	{ "missing = with blanks", NULL, " LoadBalancerIPMode ", MISSING("LoadBalancerIPMode"),
	  DEFAULTS },
	{ "form errors come before unknown names", NULL, "NoSuchGate=true,LoadBalancerIPMode",
	  MISSING("LoadBalancerIPMode"), DEFAULTS },
	{ "form errors come in item order", NULL, "LoadBalancerIPMode=on," EXT,
	  INVALID("LoadBalancerIPMode=on"), DEFAULTS },
	{ "error leaves the set unchanged", EXT "=true",
	  EXT "=false,LoadBalancerIPMode=false,NoSuchGate=true", UNKNOWN("NoSuchGate"),
	  STATE("true", "true", "true", "true") },
	{ "locked error leaves the set unchanged", NULL,
	  "AllAlpha=true,LoadBalancerIPMode=false,ProxyTerminatingEndpoints=false",
	  LOCKED("ProxyTerminatingEndpoints"), DEFAULTS },
	{ "value error leaves the set unchanged", NULL, "AllAlpha=true,LoadBalancerIPMode=off",
	  INVALID("LoadBalancerIPMode=off"), DEFAULTS },
	/* A message repeats at most 64 bytes of a name or value, on one line. */
	{ "value with a newline", NULL, "LoadBalancerIPMode=true\n-j ACCEPT",
	  INVALID("LoadBalancerIPMode=true?-j ACCEPT"), DEFAULTS },
	{ "name with control bytes", NULL, "Gate\r\x1b[2J\"=true", UNKNOWN("Gate??[2J?"),
	  DEFAULTS },
	{ "long name", NULL, "G123456789G123456789G123456789G123456789G123456789G123456789G1234",
	  MISSING("G123456789G123456789G123456789G123456789G123456789G123456789G123..."),
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

/* A rejected value gives no gate a value: a later AllBeta still reaches them. */
static void test_rejected_not_given(void **state)
{
	struct featuregate_set set;

	(void)state;
	featuregate_init(&set);
	assert_int_equal(featuregate_parse(&set, "LoadBalancerIPMode=true,NoSuchGate=true", NULL),
			 -EINVAL);
	assert_int_equal(featuregate_parse(&set, "AllBeta=false", NULL), 0);
	assert_false(featuregate_enabled(&set, FEATUREGATE_LOADBALANCER_IP_MODE));
	assert_false(featuregate_enabled(&set, FEATUREGATE_UDP_CONNTRACK_CLEANUP));
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
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_stage_names),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_unknown_lists_gates),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_null_errbuf),
		cmocka_unit_test(test_rejected_not_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
