// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --cleanup payload: every KPROXY- chain flushed and deleted, every rule
 * that jumps into one deleted by its own text (kproxy's jumps, an older
 * kproxy's, hand-made ones, gotos from somebody else's chain), nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/strbuf.h"
#include "rules/chains.h"
#include "rules/rules.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct cleanup_case {
	const char *desc;
	const char *save;
	const char *want;
};

static const struct cleanup_case cleanup_cases[] = {
	{ "nothing of kproxy's",
	  "*filter\n:INPUT ACCEPT [0:0]\n:OTHER - [0:0]\n-A INPUT -j OTHER\nCOMMIT\n"
	  "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n",
	  "" },
	{ "own, older and hand-made jumps, a goto from another chain",
	  "*filter\n"
	  ":INPUT ACCEPT [0:0]\n"
	  ":KPROXY-FIREWALL - [0:0]\n"
	  ":KPROXY-SERVICES - [0:0]\n"
	  ":OTHER-FW - [0:0]\n"
	  "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
	  "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer "
	  "firewall\" -j KPROXY-FIREWALL\n"
	  "-A INPUT -m comment --comment \"kproxy firewall (v0.1)\" -j KPROXY-FIREWALL\n"
	  "-A INPUT -s 10.0.0.0/8 -j KPROXY-FIREWALL\n"
	  "-A INPUT -m comment --comment \"not -j KPROXY-FIREWALL\" -j ACCEPT\n"
	  "-A KPROXY-FIREWALL -j KPROXY-SERVICES\n"
	  "-A OTHER-FW -g KPROXY-SERVICES\n"
	  "COMMIT\n",
	  "*filter\n"
	  ":KPROXY-FIREWALL - [0:0]\n"
	  ":KPROXY-SERVICES - [0:0]\n"
	  "-D INPUT -m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer "
	  "firewall\" -j KPROXY-FIREWALL\n"
	  "-D INPUT -m comment --comment \"kproxy firewall (v0.1)\" -j KPROXY-FIREWALL\n"
	  "-D INPUT -s 10.0.0.0/8 -j KPROXY-FIREWALL\n"
	  "-D OTHER-FW -g KPROXY-SERVICES\n"
	  "-X KPROXY-FIREWALL\n"
	  "-X KPROXY-SERVICES\n"
	  "COMMIT\n" },
	{ "a jump left after its chains went: only the jump",
	  "*nat\n:POSTROUTING ACCEPT [0:0]\n"
	  "-A POSTROUTING -m comment --comment \"kproxy postrouting rules\" -j "
	  "KPROXY-POSTROUTING\nCOMMIT\n",
	  "*nat\n-D POSTROUTING -m comment --comment \"kproxy postrouting rules\" -j "
	  "KPROXY-POSTROUTING\nCOMMIT\n" },
	{ "chains without jumps, in both tables",
	  "*filter\n:KPROXY-CANARY - [0:0]\nCOMMIT\n*nat\n:KPROXY-CANARY - [0:0]\n"
	  ":KPROXY-SEP-ABCDEFGHIJKLMNOP - [0:0]\n"
	  "-A KPROXY-SEP-ABCDEFGHIJKLMNOP -p tcp -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n",
	  "*filter\n:KPROXY-CANARY - [0:0]\n-X KPROXY-CANARY\nCOMMIT\n"
	  "*nat\n:KPROXY-CANARY - [0:0]\n:KPROXY-SEP-ABCDEFGHIJKLMNOP - [0:0]\n"
	  "-X KPROXY-CANARY\n-X KPROXY-SEP-ABCDEFGHIJKLMNOP\nCOMMIT\n" },
};

static void test_cleanup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cleanup_cases); i++) {
		const struct cleanup_case *c = &cleanup_cases[i];
		struct rules_existing ex, copy = { 0 };
		struct strbuf out = STRBUF_INIT;

		print_message("case: %s\n", c->desc);
		chains_parse_save(c->save, &ex);
		rules_build_cleanup(&ex, &out);
		assert_string_equal(strbuf_str(&out), c->want);
		/* A copy of the record cleans up the same. */
		rules_existing_copy(&copy, &ex);
		strbuf_reset(&out);
		rules_build_cleanup(&copy, &out);
		assert_string_equal(strbuf_str(&out), c->want);
		rules_existing_fini(&copy);
		rules_existing_fini(&ex);
		strbuf_fini(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
