// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Text reaches a rule only through rules_quote_comment(); whatever it is
 * given, the result must stay one argument on one line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/strbuf.h"
#include "rules/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct quote_case {
	const char *in;
	const char *want;
};

static const struct quote_case quote_cases[] = {
	{ "ns1/svc1:p80", "ns1/svc1:p80" },
	{ "ns1/svc1:p80 cluster IP", "\"ns1/svc1:p80 cluster IP\"" },
	{ "", "\"\"" },
	{ "a\nb", "\"a?b\"" },
	{ "a\r\n-A KPROXY-SERVICES -j ACCEPT", "\"a?"
					       "?-A KPROXY-SERVICES -j ACCEPT\"" },
	{ "x\" -j ACCEPT \"", "\"x? -j ACCEPT ?\"" },
	{ "back\\slash", "\"back?slash\"" },
	{ "it's", "\"it?s\"" },
	{ "caf\xc3\xa9", "\"caf??\"" },
	{ "tab\there", "\"tab?here\"" },
	{ "nul-free \x7f del", "\"nul-free ? del\"" },
	{ "-j", "-j" },
};

static void test_quote(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(quote_cases); i++) {
		struct strbuf sb = STRBUF_INIT;

		rules_quote_comment(&sb, quote_cases[i].in);
		assert_string_equal(strbuf_str(&sb), quote_cases[i].want);
		strbuf_fini(&sb);
	}
}

/* Every byte value: never a newline, never an unescaped quote inside. */
static void test_every_byte(void **state)
{
	char in[3] = { 'a', 0, 0 };
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		struct strbuf sb = STRBUF_INIT;
		const char *out;
		size_t n, i;

		in[1] = (char)c;
		rules_quote_comment(&sb, in);
		out = strbuf_str(&sb);
		n = strlen(out);
		for (i = 0; i < n; i++) {
			unsigned char o = (unsigned char)out[i];

			assert_true(o >= 0x20 && o < 0x7f);
			assert_true(o != '\\');
			if (o == '"')
				assert_true(i == 0 || i == n - 1);
		}
		strbuf_fini(&sb);
	}
}

static void test_long_comment_cut(void **state)
{
	char in[1000];
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	in[10] = ' ';
	rules_quote_comment(&sb, in);
	assert_int_equal(sb.len, RULES_COMMENT_MAX + 2);
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_long_comment_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
