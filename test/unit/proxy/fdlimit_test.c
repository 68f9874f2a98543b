// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for proxy/fdlimit: the reserve at small and large limits, the
 * admission rule at its edges, and the edge half against descriptors the
 * test opens itself.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/fdlimit.h"

static void test_reserve(void **state)
{
	(void)state;
	assert_int_equal(fdlimit_reserve(0), 8);
	assert_int_equal(fdlimit_reserve(20), 8);
	assert_int_equal(fdlimit_reserve(40), 10);
	assert_int_equal(fdlimit_reserve(256), 64);
	assert_int_equal(fdlimit_reserve(1024), 64);
	assert_int_equal(fdlimit_reserve(1u << 20), 64);
}

static void test_allows(void **state)
{
	(void)state;
	/* 1024: the reserve is 64; 3 more with 957 open leaves exactly 64. */
	assert_true(fdlimit_allows(1024, 957, 3));
	assert_false(fdlimit_allows(1024, 958, 3));
	assert_true(fdlimit_allows(1024, 0, 0));
	assert_false(fdlimit_allows(1024, 1024, 0));
	assert_false(fdlimit_allows(1024, 2000, 3));
	assert_false(fdlimit_allows(40, 30, 3));
	assert_true(fdlimit_allows(40, 27, 3));
	assert_false(fdlimit_allows(8, 0, 1));
	assert_false(fdlimit_allows(100, 10, (size_t)-1));
}

static void test_counts(void **state)
{
	size_t before, lowest;
	int fds[4], i;

	(void)state;
	before = fdlimit_in_use();
	assert_true(before >= 3);
	for (i = 0; i < 4; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(fdlimit_in_use(), before + 4);
	/* Every descriptor under the lowest free one is open. */
	lowest = fdlimit_lowest_free(fds[0]);
	assert_true(lowest > (size_t)fds[3] || lowest < (size_t)fds[0]);
	assert_true(lowest <= fdlimit_in_use());
	for (i = 0; i < 4; i++)
		close(fds[i]);
	assert_int_equal(fdlimit_in_use(), before);
	assert_true(fdlimit_limit() >= before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
