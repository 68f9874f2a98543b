// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/backoff: the ceiling doubles from 800 ms to the 30 s cap,
 * the delay is the random number folded into [0, ceiling], and two minutes
 * of health forget the failures while a shorter spell does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "apiwatch/backoff.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The ceilings after each of the first failures, with the defaults. */
static const uint64_t schedule[] = {
	800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000,
};

static void test_schedule(void **state)
{
	struct backoff b;
	size_t i;

	(void)state;
	backoff_init(&b, 0, 0, 0);
	assert_int_equal(backoff_ceiling(&b), 0);
	for (i = 0; i < ARRAY_SIZE(schedule); i++) {
		/* The largest random number that maps to the ceiling itself. */
		assert_int_equal(backoff_delay(&b, 1000, schedule[i]), schedule[i]);
		assert_int_equal(backoff_ceiling(&b), schedule[i]);
	}
	/* Many more failures never pass the cap nor overflow. */
	for (i = 0; i < 1000; i++)
		backoff_delay(&b, 1000, 7);
	assert_int_equal(backoff_ceiling(&b), 30000);
}

/* Full jitter: every random number lands in [0, ceiling]. */
static void test_jitter(void **state)
{
	static const struct {
		uint64_t random;
		uint64_t delay; /* after the first failure: ceiling 800 */
	} cases[] = {
		{ 0, 0 },
		{ 1, 1 },
		{ 799, 799 },
		{ 800, 800 },
		{ 801, 0 },
		{ 1602, 0 },
		{ UINT64_MAX, UINT64_MAX % 801 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct backoff b;

		backoff_init(&b, 0, 0, 0);
		assert_int_equal(backoff_delay(&b, 0, cases[i].random), cases[i].delay);
	}
}

/* Two minutes of health reset the count; less does not; health ends at a failure. */
static void test_reset(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 0, 0, 0);
	backoff_delay(&b, 0, 0);
	backoff_delay(&b, 0, 0);
	backoff_delay(&b, 0, 0);
	assert_int_equal(backoff_ceiling(&b), 3200);

	backoff_healthy(&b, 10000);
	backoff_healthy(&b, 100000); /* still the same healthy spell */
	backoff_delay(&b, 10000 + 119999, 0);
	assert_int_equal(backoff_ceiling(&b), 6400);

	backoff_healthy(&b, 200000);
	backoff_delay(&b, 200000 + 120000, 0);
	assert_int_equal(backoff_ceiling(&b), 800);

	/* Without a healthy spell, time alone forgets nothing. */
	backoff_delay(&b, 10000000, 0);
	assert_int_equal(backoff_ceiling(&b), 1600);
}

static void test_custom(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 50, 200, 1000);
	assert_int_equal(backoff_delay(&b, 0, 1000), 1000 % 51);
	assert_int_equal(backoff_ceiling(&b), 50);
	backoff_delay(&b, 0, 0);
	backoff_delay(&b, 0, 0);
	backoff_delay(&b, 0, 0);
	assert_int_equal(backoff_ceiling(&b), 200);
	backoff_healthy(&b, 0);
	backoff_delay(&b, 1000, 0);
	assert_int_equal(backoff_ceiling(&b), 50);

	/* A cap below the start is raised to it. */
	backoff_init(&b, 500, 100, 0);
	backoff_delay(&b, 0, 0);
	backoff_delay(&b, 0, 0);
	assert_int_equal(backoff_ceiling(&b), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_custom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
