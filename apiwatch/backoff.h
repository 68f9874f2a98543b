/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * backoff - how long to wait before reconnecting to the API server (core).
 * Pure: no I/O; the caller passes the clock and the random number.
 *
 * Exponential with full jitter: after the n-th failure in a row the delay is
 * uniform in [0, min(max, initial * 2^(n-1))]. Failures are forgotten once the
 * connection has been healthy for the reset period, so a watch that dies after
 * an hour of good service is retried quickly while a server that keeps failing
 * is asked at most about once every max/2 on average.
 */
#ifndef KPROXY_BACKOFF_H
#define KPROXY_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

#define BACKOFF_INITIAL_MS 800
#define BACKOFF_MAX_MS	   30000
#define BACKOFF_RESET_MS   120000

/**
 * struct backoff - one connection's failure history.
 * @failures: failures since the last reset.
 * @healthy: backoff_healthy() was called since the last failure, at @healthy_since.
 */
struct backoff {
	uint64_t initial_ms;
	uint64_t max_ms;
	uint64_t reset_ms;
	unsigned int failures;
	bool healthy;
	uint64_t healthy_since;
};

/* Starts with no failures; 0 for any value picks its default. */
void backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t reset_ms);

/* The connection works from now_ms on (a watch was established). */
void backoff_healthy(struct backoff *b, uint64_t now_ms);

/*
 * Records a failure at now_ms and returns the delay before the next attempt:
 * random modulo (ceiling + 1), where ceiling is backoff_ceiling() after the
 * failure was counted.
 */
uint64_t backoff_delay(struct backoff *b, uint64_t now_ms, uint64_t random);

/* The largest delay the current failure count allows (0 before any failure). */
uint64_t backoff_ceiling(const struct backoff *b);

#endif
