// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The child runner: input is delivered, output and exit status come back,
 * a child that hangs is killed at the timeout, and iptables-restore's error
 * line is found and shown with its neighbours. The children here are small
 * sh scripts standing in for iptables-restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/loop.h"
#include "proxy/strbuf.h"
#include "rules/restore.h"

struct run_case {
	const char *script;
	const char *input;
	uint64_t timeout_ms;
	int want_status;
	const char *want_out;
	const char *want_err;
};

static const struct run_case run_cases[] = {
	{ "cat", "line one\nline two\n", 5000, 0, "line one\nline two\n", "" },
	{ "wc -l", "a\nb\nc\n", 5000, 0, "3\n", "" },
	{ "echo 'iptables-restore: line 3 failed' >&2; exit 1", "x\n", 5000, 1, "",
	  "iptables-restore: line 3 failed\n" },
	{ "exit 4", NULL, 5000, 4, "", "" },
	{ "exec sleep 30", NULL, 200, -1, "", "" },
	/* A child that quits without reading a large input is not an error of ours. */
	{ "exit 0", NULL, 5000, 0, "", "" },
};

static void test_run(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(run_cases) / sizeof(run_cases[0]); i++) {
		const struct run_case *c = &run_cases[i];
		const char *argv[] = { "sh", "-c", c->script, NULL };
		struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
		int status;

		status = restore_run_sync(argv, c->input, c->input ? strlen(c->input) : 0,
					  c->timeout_ms, &out, &err);
		assert_int_equal(status, c->want_status);
		assert_string_equal(strbuf_str(&out), c->want_out);
		assert_string_equal(strbuf_str(&err), c->want_err);
		strbuf_fini(&out);
		strbuf_fini(&err);
	}
}

static void test_large_input_early_exit(void **state)
{
	const char *argv[] = { "sh", "-c", "head -c 10 >/dev/null; exit 3", NULL };
	struct strbuf big = STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 100000; i++)
		strbuf_adds(&big, "-A KPROXY-SERVICES -j ACCEPT\n");
	assert_int_equal(restore_run_sync(argv, strbuf_str(&big), big.len, 5000, NULL, NULL), 3);
	strbuf_fini(&big);
}

static void test_missing_binary(void **state)
{
	const char *argv[] = { "/nonexistent/iptables-restore", NULL };
	struct strbuf err = STRBUF_INIT;

	(void)state;
	assert_int_equal(restore_run_sync(argv, NULL, 0, 1000, NULL, &err), -1);
	assert_non_null(strstr(strbuf_str(&err), "/nonexistent/iptables-restore"));
	strbuf_fini(&err);
}

/*
 * What iptables 1.8.9 prints on stderr, copied from real failures of both
 * backends (bad lines fed to them in a private network namespace).
 */
static const struct failed_line_case {
	const char *err;
	unsigned want;
} failed_line_cases[] = {
	/* A line the parser refuses (both backends). */
	{ "iptables-nft-restore v1.8.9 (nf_tables): unknown option \"--bogus\"\n"
	  "Error occurred at line: 10\n"
	  "Try `iptables-nft-restore -h' or 'iptables-nft-restore --help' for more information.\n",
	  10 },
	{ "iptables-restore v1.8.9 (legacy): unknown option \"--bogus\"\n"
	  "Error occurred at line: 4\n"
	  "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
	  4 },
	{ "iptables-restore v1.8.9 (legacy): Couldn't load target `NOSUCHCHAIN':No such file or "
	  "directory\n\nError occurred at line: 10\n"
	  "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
	  10 },
	{ "Bad argument `garbage'\nError occurred at line: 4\n"
	  "Try `iptables-nft-restore -h' or 'iptables-nft-restore --help' for more information.\n",
	  4 },
	/* A command the kernel refuses. */
	{ "iptables-restore: line 4 failed\n", 4 },
	{ "iptables-nft-restore: line 10 failed: Bad rule (does a matching rule exist in that "
	  "chain?).\n",
	  10 },
	{ "iptables-nft-restore: line 4 failed: No chain/target/match by that name.\n", 4 },
	/* A batch the nft kernel refuses (the wording of some iptables-nft releases). */
	{ "iptables-restore v1.8.9 (nf_tables): line 7: RULE_APPEND failed (No such file or "
	  "directory)",
	  7 },
	{ "iptables-restore: COMMIT expected at line 11\n", 11 },
	/* No line: a lock, or words that only contain "line". */
	{ "Another app is currently holding the xtables lock. Stopped waiting after 5s.\n", 0 },
	{ "pipeline 3 broke; linear 5; line: none\n", 0 },
	{ "", 0 },
};

static void test_failed_line(void **state)
{
	struct strbuf ctx = STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(failed_line_cases) / sizeof(failed_line_cases[0]); i++)
		assert_int_equal(restore_failed_line(failed_line_cases[i].err),
				 failed_line_cases[i].want);
	restore_context("a\nb\nc\nd\ne\nf\ng\n", 4, &ctx);
	assert_string_equal(strbuf_str(&ctx), "       2  b\n       3  c\n=>     4  d\n"
					      "       5  e\n       6  f\n");
	strbuf_reset(&ctx);
	restore_context("only\n", 1, &ctx);
	assert_string_equal(strbuf_str(&ctx), "=>     1  only\n");
	strbuf_fini(&ctx);
}

static void test_argv(void **state)
{
	const char *argv[8];

	(void)state;
	restore_argv(RESTORE_BACKEND_LEGACY, true, argv);
	assert_string_equal(argv[0], "iptables-legacy-restore");
	assert_string_equal(argv[1], "--noflush");
	assert_string_equal(argv[2], "--counters");
	assert_string_equal(argv[3], "-w");
	assert_null(argv[5]);
	restore_argv(RESTORE_BACKEND_NFT, false, argv);
	assert_string_equal(argv[0], "iptables-nft-restore");
	assert_string_equal(argv[1], "--counters");
}

/* The loop keeps running other work while a child runs. */
struct serving {
	struct loop *loop;
	struct loop_timer *timer;
	int ticks;
};

static void tick(void *arg)
{
	struct serving *sv = arg;

	sv->ticks++;
	loop_timer_arm(sv->timer, 10);
}

static void done(const struct restore_result *res, void *arg)
{
	struct serving *sv = arg;

	assert_int_equal(res->status, 0);
	loop_stop(sv->loop);
}

static void test_loop_keeps_serving(void **state)
{
	const char *argv[] = { "sleep", "0.3", NULL };
	struct serving sv = { 0 };
	struct restore_child *c;

	(void)state;
	sv.loop = loop_new();
	sv.timer = loop_timer_new(sv.loop, tick, &sv);
	loop_timer_arm(sv.timer, 10);
	c = restore_child_start(sv.loop, argv, NULL, 0, 5000, done, &sv);
	assert_non_null(c);
	loop_run(sv.loop);
	/* 300 ms of a 10 ms timer: far more than a handful of ticks. */
	assert_true(sv.ticks >= 5);
	restore_child_free(c);
	loop_timer_free(sv.timer);
	loop_free(sv.loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_large_input_early_exit),
		cmocka_unit_test(test_missing_binary),
		cmocka_unit_test(test_failed_line),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_loop_keeps_serving),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
