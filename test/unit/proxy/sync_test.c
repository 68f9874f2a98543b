// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sync engine's scheduler on a fake clock: changes are coalesced within
 * the minimum sync period, a burst during a restore costs one more sync,
 * failures back off from 1 s to the sync period and make the next sync full,
 * a missing canary or jump forces a full sync, a full sync comes at start and
 * hourly without any change, and the periodic check is not starved by churn.
 *
 * The scheduler is driven as sync.c drives it: sync_sched_next() is asked
 * after every event and when the time it gave arrives, never in between, so
 * a wrong wake-up time shows as a sync or check that never comes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/sync.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MIN_PERIOD  1000
#define SYNC_PERIOD 30000
#define HOUR	    SYNC_FULL_PERIOD_MS
#define T0	    100000 /* the fake clock at start: loop time is not 0 at start */
#define NEVER	    UINT64_MAX
#define MAX_EVENTS  2048

struct delay_case {
	uint64_t now, last_start, min_period, not_before, want;
};

static const struct delay_case delay_cases[] = {
	{ 10000, 0, 1000, 0, 0 },	    /* first sync: at once */
	{ 10000, 9500, 1000, 0, 500 },	    /* within min period: wait the rest */
	{ 10000, 9000, 1000, 0, 0 },	    /* min period over */
	{ 10000, 9999, 0, 0, 0 },	    /* min period 0: every change at once */
	{ 10000, 9500, 1000, 14000, 4000 }, /* a retry's backoff wins */
	{ 10000, 9900, 1000, 10500, 900 },  /* the min period wins */
	{ 10000, 0, 1000, 9000, 0 },	    /* a backoff already over */
};

static void test_delay(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(delay_cases); i++) {
		const struct delay_case *c = &delay_cases[i];

		assert_int_equal(
			sync_plan_delay(c->now, c->last_start, c->min_period, c->not_before),
			c->want);
	}
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

/* What the scheduler started, and when. */
struct event {
	uint64_t at;
	enum sync_sched_action action;
	enum sync_sched_full full;
};

/*
 * The engine's side: a sync takes sync_ms and a check check_ms of fake time;
 * syncs fail while fail_syncs is set, checks while fail_checks is.
 */
struct sim {
	struct sync_sched *ss;
	uint64_t now;
	uint64_t wake_at; /* 0: not armed */
	uint64_t done_at; /* 0: nothing runs */
	enum sync_sched_action running;
	bool running_full;
	uint64_t sync_ms, check_ms;
	bool fail_syncs, fail_checks;
	uint64_t last_retry_delay;
	struct event events[MAX_EVENTS];
	size_t n_events;
	size_t n_syncs, n_checks;
};

static void sim_init(struct sim *s, uint64_t min_period, uint64_t sync_ms)
{
	memset(s, 0, sizeof(*s));
	s->now = T0;
	s->sync_ms = sync_ms;
	s->check_ms = 50;
	s->ss = sync_sched_new(T0, min_period, SYNC_PERIOD);
}

static void sim_fini(struct sim *s)
{
	sync_sched_free(s->ss);
}

/* Asks the scheduler what to do now and does it, as sync.c's drive(). */
static void sim_drive(struct sim *s)
{
	struct sync_sched_decision d;

	sync_sched_next(s->ss, s->now, &d);
	switch (d.action) {
	case SYNC_SCHED_WAIT:
		/* The scheduler never asks to be woken in the past. */
		if (d.wake_at)
			assert_true(d.wake_at > s->now);
		s->wake_at = d.wake_at;
		return;
	case SYNC_SCHED_SYNC:
		assert_int_equal(s->done_at, 0);
		s->n_syncs++;
		s->running_full = d.full != SYNC_SCHED_PARTIAL;
		s->done_at = s->now + s->sync_ms;
		break;
	case SYNC_SCHED_CHECK:
		assert_int_equal(s->done_at, 0);
		s->n_checks++;
		s->done_at = s->now + s->check_ms;
		break;
	}
	s->running = d.action;
	s->wake_at = 0;
	assert_true(s->n_events < MAX_EVENTS);
	s->events[s->n_events++] = (struct event){ s->now, d.action, d.full };
}

static void sim_change(struct sim *s)
{
	sync_sched_change(s->ss);
	sim_drive(s);
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Runs the fake clock to until: what runs ends, the timer fires, and a change
 * arrives every change_every ms from now (0: none), each followed by a drive.
 */
static void sim_run(struct sim *s, uint64_t until, uint64_t change_every)
{
	uint64_t next_change = change_every ? s->now + change_every : NEVER;

	for (;;) {
		uint64_t t = earliest(
			earliest(s->done_at ? s->done_at : NEVER, s->wake_at ? s->wake_at : NEVER),
			next_change);

		if (t > until) {
			s->now = until;
			return;
		}
		s->now = t;
		if (s->done_at == t) {
			s->done_at = 0;
			if (s->running == SYNC_SCHED_SYNC)
				s->last_retry_delay = sync_sched_sync_done(s->ss, t, !s->fail_syncs,
									   s->running_full);
			else
				sync_sched_check_done(s->ss, !s->fail_checks);
			sim_drive(s);
		}
		if (next_change == t) {
			next_change += change_every;
			sim_change(s);
		}
		if (s->wake_at == t) {
			s->wake_at = 0;
			sim_drive(s);
		}
	}
}

/* The events from index from on that are syncs, in order; returns how many. */
static size_t syncs_since(const struct sim *s, size_t from, const struct event **out, size_t max)
{
	size_t i, n = 0;

	for (i = from; i < s->n_events && n < max; i++)
		if (s->events[i].action == SYNC_SCHED_SYNC)
			out[n++] = &s->events[i];
	return n;
}

static const struct event *last_event(const struct sim *s)
{
	assert_true(s->n_events > 0);
	return &s->events[s->n_events - 1];
}

/* Nothing is synced before the first change; the first sync is full. */
static void test_first_sync_full(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, MIN_PERIOD, 10);
	sim_drive(&s);
	sim_run(&s, T0 + 5 * SYNC_PERIOD, 0);
	assert_int_equal(s.n_events, 0); /* no rules yet: not even a check */
	sim_change(&s);
	assert_int_equal(s.n_events, 1);
	assert_int_equal(last_event(&s)->action, SYNC_SCHED_SYNC);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_FULL_START);
	assert_int_equal(last_event(&s)->at, T0 + 5 * SYNC_PERIOD);
	sim_run(&s, s.now + 100, 0);
	sim_change(&s); /* within the min period */
	sim_run(&s, s.now + MIN_PERIOD, 0);
	assert_int_equal(s.n_syncs, 2);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_PARTIAL);
	sim_fini(&s);
}

struct debounce_case {
	uint64_t min_period;
	uint64_t change_every;
	uint64_t sync_ms;
	size_t want_syncs; /* in the 4 s of changes and the second after */
};

static const struct debounce_case debounce_cases[] = {
	/* 0: every change at once (40 changes, 40 syncs). */
	{ 0, 100, 10, 40 },
	/* 1 s: one sync a second, whatever comes in between. */
	{ 1000, 100, 10, 5 },
	/* 1 s with changes rarer than that: each at once. */
	{ 1000, 1200, 10, 3 },
	/* 0, but each sync takes 250 ms: one more after each, not one a change. */
	{ 0, 100, 250, 17 },
};

/*
 * --iptables-min-sync-period: no sync sooner than min_period after the last
 * one started, and a sync at once when the period is over (0: every change).
 */
static void test_debounce(void **state)
{
	const struct event *syncs[MAX_EVENTS];
	size_t i, k, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(debounce_cases); i++) {
		const struct debounce_case *c = &debounce_cases[i];
		struct sim s;
		uint64_t start;

		sim_init(&s, c->min_period, c->sync_ms);
		sim_change(&s);
		sim_run(&s, s.now + 1000, 0); /* the first (full) sync is done */
		start = s.now;
		n = s.n_events;
		sim_run(&s, start + 4000, c->change_every);
		sim_run(&s, start + 5000, 0);
		k = syncs_since(&s, n, syncs, MAX_EVENTS);
		print_message("min period %llu, a change every %llu ms: %zu syncs\n",
			      (unsigned long long)c->min_period,
			      (unsigned long long)c->change_every, k);
		assert_int_equal(k, c->want_syncs);
		/* The first change's sync is not delayed: the last one is long over. */
		assert_int_equal(syncs[0]->at, start + c->change_every);
		for (n = 1; n < k; n++)
			assert_true(syncs[n]->at - syncs[n - 1]->at >=
				    (c->min_period > c->sync_ms ? c->min_period : c->sync_ms));
		sim_fini(&s);
	}
}

/* Changes while a restore runs cost exactly one more sync, right after it. */
static void test_burst_during_restore(void **state)
{
	struct sim s;
	uint64_t started;
	int i;

	(void)state;
	sim_init(&s, MIN_PERIOD, 3000);
	sim_change(&s);
	started = s.now;
	for (i = 1; i <= 20; i++) {
		sim_run(&s, started + (uint64_t)i * 100, 0);
		sim_change(&s);
	}
	assert_int_equal(s.n_syncs, 1); /* the restore still runs */
	sim_run(&s, started + 3000 + 5 * SYNC_PERIOD, 0);
	/* One more sync when the first ended (the min period is long over)... */
	assert_int_equal(s.n_syncs, 2);
	assert_int_equal(s.events[1].action, SYNC_SCHED_SYNC);
	assert_int_equal(s.events[1].at, started + 3000);
	assert_int_equal(s.events[1].full, SYNC_SCHED_PARTIAL);
	/* ... and after it only the periodic checks, no third sync. */
	for (i = 2; i < (int)s.n_events; i++)
		assert_int_equal(s.events[i].action, SYNC_SCHED_CHECK);
	sim_fini(&s);
}

/*
 * A failed sync is retried as a full sync after 1 s, 2 s, 4 s... up to the
 * sync period, without a new change; a success ends the backoff.
 */
static void test_failure_backoff_full(void **state)
{
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	struct sim s;
	uint64_t failed_at;
	size_t i;

	(void)state;
	sim_init(&s, MIN_PERIOD, 10);
	sim_change(&s);
	sim_run(&s, s.now + 5000, 0);
	assert_int_equal(s.n_syncs, 1);
	sim_change(&s);
	assert_int_equal(s.n_syncs, 2);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_PARTIAL);
	s.fail_syncs = true;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		size_t n = s.n_syncs;

		failed_at = s.done_at;
		sim_run(&s, failed_at, 0);
		assert_int_equal(s.last_retry_delay, want[i]);
		sim_run(&s, failed_at + want[i] - 1, 0);
		assert_int_equal(s.n_syncs, n); /* not a millisecond early */
		sim_run(&s, failed_at + want[i], 0);
		assert_int_equal(s.n_syncs, n + 1);
		assert_int_equal(last_event(&s)->action, SYNC_SCHED_SYNC);
		assert_int_equal(last_event(&s)->full, SYNC_SCHED_FULL_FAILURE);
	}
	/* The retry succeeds: no more syncs until a change, and it is partial. */
	s.fail_syncs = false;
	sim_run(&s, s.now + 2 * SYNC_PERIOD, 0);
	assert_int_equal(s.n_syncs, ARRAY_SIZE(want) + 2);
	sim_change(&s);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_PARTIAL);
	/* The next failure starts the backoff again at 1 s. */
	s.fail_syncs = true;
	sim_run(&s, s.done_at, 0);
	assert_int_equal(s.last_retry_delay, 1000);
	sim_fini(&s);
}

/* A canary or jump found missing forces a full sync (after the min period). */
static void test_check_failure_forces_full(void **state)
{
	struct sim s;
	size_t n;

	(void)state;
	sim_init(&s, MIN_PERIOD, 10);
	sim_change(&s);
	sim_run(&s, T0 + SYNC_PERIOD + s.check_ms, 0);
	/* The first sync's rules are checked a sync period after start. */
	assert_int_equal(s.n_checks, 1);
	assert_int_equal(last_event(&s)->at, T0 + SYNC_PERIOD);
	sim_run(&s, T0 + 2 * SYNC_PERIOD + s.check_ms, 0);
	assert_int_equal(s.n_checks, 2);
	assert_int_equal(s.n_syncs, 1); /* checks that pass change nothing */
	n = s.n_events;
	s.fail_checks = true;
	sim_run(&s, T0 + 3 * SYNC_PERIOD + 1000, 0);
	assert_int_equal(s.n_events, n + 2);
	assert_int_equal(s.events[n].action, SYNC_SCHED_CHECK);
	assert_int_equal(s.events[n + 1].action, SYNC_SCHED_SYNC);
	assert_int_equal(s.events[n + 1].full, SYNC_SCHED_FULL_CHECK);
	assert_int_equal(s.events[n + 1].at, s.events[n].at + s.check_ms);
	/* Once the full sync succeeded, the next change is partial. */
	s.fail_checks = false;
	sim_run(&s, s.now + 5000, 0);
	sim_change(&s);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_PARTIAL);
	sim_fini(&s);
}

/* On a node where nothing changes, a full sync still comes every hour. */
static void test_hourly_full_without_change(void **state)
{
	const struct event *syncs[MAX_EVENTS];
	struct sim s;
	uint64_t first_full;
	size_t n, k, i;

	(void)state;
	/* Syncs of 1 s: the hour does not end while a 50 ms check runs. */
	sim_init(&s, MIN_PERIOD, 1000);
	sim_change(&s);
	first_full = s.done_at;
	sim_run(&s, first_full + HOUR - 1, 0);
	assert_int_equal(s.n_syncs, 1);
	n = s.n_events;
	sim_run(&s, first_full + 3 * (HOUR + s.sync_ms), 0);
	k = syncs_since(&s, n, syncs, MAX_EVENTS);
	assert_int_equal(k, 3);
	/* On time to the millisecond, each an hour after the last full one ended. */
	assert_int_equal(syncs[0]->at, first_full + HOUR);
	for (i = 0; i < k; i++) {
		assert_int_equal(syncs[i]->full, SYNC_SCHED_FULL_PERIODIC);
		if (i)
			assert_int_equal(syncs[i]->at, syncs[i - 1]->at + s.sync_ms + HOUR);
	}
	/* A periodic full sync leaves nothing to do: the next change is partial. */
	sim_change(&s);
	assert_int_equal(last_event(&s)->full, SYNC_SCHED_PARTIAL);
	sim_fini(&s);
}

/*
 * With changes, the first sync an hour after the last full one is full (and
 * not followed by another full one); partial syncs do not delay it.
 */
static void test_hourly_full_with_changes(void **state)
{
	const struct event *syncs[MAX_EVENTS];
	struct sim s;
	uint64_t first_full;
	size_t k, i, n_full = 0, n_partial = 0;

	(void)state;
	sim_init(&s, MIN_PERIOD, 10);
	sim_change(&s);
	first_full = s.done_at;
	sim_run(&s, first_full + HOUR - 3000, 0);
	sim_run(&s, first_full + HOUR + 3000, 300);
	k = syncs_since(&s, 0, syncs, MAX_EVENTS);
	for (i = 1; i < k; i++) {
		if (syncs[i]->full == SYNC_SCHED_PARTIAL) {
			n_partial++;
			continue;
		}
		n_full++;
		assert_int_equal(syncs[i]->full, SYNC_SCHED_FULL_PERIODIC);
		assert_true(syncs[i]->at >= first_full + HOUR);
		assert_true(syncs[i]->at <= first_full + HOUR + MIN_PERIOD);
	}
	assert_int_equal(n_full, 1);
	assert_true(n_partial >= 4);
	sim_fini(&s);
}

/*
 * Constant churn does not starve the periodic check: when it is due while a
 * change waits, it runs right after that change's sync, before the next.
 */
static void test_check_not_starved_by_churn(void **state)
{
	struct sim s;
	uint64_t due, last_check = 0;
	size_t i, checks = 0;

	(void)state;
	sim_init(&s, MIN_PERIOD, 100);
	sim_change(&s);
	/* A change every 50 ms: one always waits when a sync ends. */
	sim_run(&s, T0 + 10 * SYNC_PERIOD, 50);
	for (i = 0; i < s.n_events; i++) {
		if (s.events[i].action != SYNC_SCHED_CHECK)
			continue;
		checks++;
		/* Due every sync period; at most one sync (min period + its run) late. */
		due = last_check ? last_check + SYNC_PERIOD : T0 + SYNC_PERIOD;
		assert_true(s.events[i].at >= due);
		assert_true(s.events[i].at <= due + MIN_PERIOD + s.sync_ms);
		/* It came right after a sync ended, with a change waiting. */
		assert_int_equal(s.events[i - 1].action, SYNC_SCHED_SYNC);
		assert_int_equal(s.events[i].at, s.events[i - 1].at + s.sync_ms);
		last_check = s.events[i].at;
	}
	assert_int_equal(checks, 9);
	sim_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_first_sync_full),
		cmocka_unit_test(test_debounce),
		cmocka_unit_test(test_burst_during_restore),
		cmocka_unit_test(test_failure_backoff_full),
		cmocka_unit_test(test_check_failure_forces_full),
		cmocka_unit_test(test_hourly_full_without_change),
		cmocka_unit_test(test_hourly_full_with_changes),
		cmocka_unit_test(test_check_not_starved_by_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
