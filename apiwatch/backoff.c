// SPDX-License-Identifier: GPL-2.0-or-later
#include "apiwatch/backoff.h"

void backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms, uint64_t reset_ms)
{
	b->initial_ms = initial_ms ? initial_ms : BACKOFF_INITIAL_MS;
	b->max_ms = max_ms ? max_ms : BACKOFF_MAX_MS;
	if (b->max_ms < b->initial_ms)
		b->max_ms = b->initial_ms;
	b->reset_ms = reset_ms ? reset_ms : BACKOFF_RESET_MS;
	b->failures = 0;
	b->healthy = false;
	b->healthy_since = 0;
}

void backoff_healthy(struct backoff *b, uint64_t now_ms)
{
	if (b->healthy)
		return;
	b->healthy = true;
	b->healthy_since = now_ms;
}

uint64_t backoff_ceiling(const struct backoff *b)
{
	uint64_t c = b->initial_ms;
	unsigned int i;

	if (b->failures == 0)
		return 0;
	/* Doubling stops at the cap, so no failure count can overflow it. */
	for (i = 1; i < b->failures && c < b->max_ms; i++)
		c *= 2;
	return c < b->max_ms ? c : b->max_ms;
}

uint64_t backoff_delay(struct backoff *b, uint64_t now_ms, uint64_t random)
{
	uint64_t ceiling;

	if (b->healthy && now_ms - b->healthy_since >= b->reset_ms)
		b->failures = 0;
	b->healthy = false;
	if (b->failures < 64)
		b->failures++;
	ceiling = backoff_ceiling(b);
	return ceiling == UINT64_MAX ? random : random % (ceiling + 1);
}
