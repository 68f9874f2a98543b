// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sync engine's timing on a fake clock: changes are coalesced within the
 * minimum sync period, failures back off from 1 s to the sync period, and a
 * full sync comes at start, after a failure and at least hourly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proxy/sync.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct delay_case {
	uint64_t now, last_start, min_period, not_before, want;
};

static const struct delay_case delay_cases[] = {
	{ 10000, 0, 1000, 0, 0 },	 /* first sync: at once */
	{ 10000, 9500, 1000, 0, 500 },	 /* within min period: wait the rest */
	{ 10000, 9000, 1000, 0, 0 },	 /* min period over */
	{ 10000, 9999, 0, 0, 0 },	 /* min period 0: every change at once */
	{ 10000, 9500, 1000, 14000, 4000 }, /* a retry's backoff wins */
	{ 10000, 9900, 1000, 10500, 900 },  /* the min period wins */
	{ 10000, 0, 1000, 9000, 0 },	 /* a backoff already over */
};

static void test_delay(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(delay_cases); i++) {
		const struct delay_case *c = &delay_cases[i];

		assert_int_equal(sync_plan_delay(c->now, c->last_start, c->min_period,
						 c->not_before),
				 c->want);
	}
}

/* A burst of changes 100 ms apart with a 1 s minimum period: syncs 1 s apart. */
static void test_burst_coalesced(void **state)
{
	uint64_t now, next = 0, last_start = 0;
	unsigned syncs = 0;

	(void)state;
	for (now = 1000; now < 5000; now += 100) {
		/* A change arrives; a sync is planned unless one already is. */
		if (!next)
			next = now + sync_plan_delay(now, last_start, 1000, 0);
		if (now >= next) {
			syncs++;
			last_start = now;
			next = 0;
		}
	}
	assert_int_equal(syncs, 4);
}

static void test_retry(void **state)
{
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(sync_plan_retry((unsigned)i + 1, 30000), want[i]);
	assert_int_equal(sync_plan_retry(5, 1000), 1000);
	assert_int_equal(sync_plan_retry(1, 500), 500);
}

static void test_full(void **state)
{
	(void)state;
	assert_true(sync_plan_full(5000, false, 0));	 /* never had a full sync */
	assert_true(sync_plan_full(5000, true, 4000));	 /* after a failure or canary */
	assert_false(sync_plan_full(5000, false, 4000)); /* a change: partial */
	assert_false(sync_plan_full(4000 + SYNC_FULL_PERIOD_MS - 1, false, 4000));
	assert_true(sync_plan_full(4000 + SYNC_FULL_PERIOD_MS, false, 4000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_burst_coalesced),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
