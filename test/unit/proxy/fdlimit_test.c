// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for proxy/fdlimit: the reserve at small and large limits, the
 * admission rule at its edges, and the edge half against descriptors the
 * test opens itself, and the raise of a lowered soft limit.
 */
#include <fcntl.h>
#include <sys/resource.h>
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

/* The soft limit goes up to the hard one (and a lowered one comes back). */
static void test_raise(void **state)
{
	struct rlimit rl, low;
	struct errbuf err;
	size_t limit = 0;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max < 256)
		skip();
	low = rl;
	low.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(fdlimit_limit(), 128);
	assert_int_equal(fdlimit_raise(&limit, &err), 0);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &low), 0);
	assert_true(low.rlim_cur == rl.rlim_max);
	assert_true(limit == (rl.rlim_max == RLIM_INFINITY ? (size_t)-1 : (size_t)rl.rlim_max));
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_raise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
