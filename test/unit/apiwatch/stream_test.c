// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/stream: the same events come out wherever the body is
 * cut into chunks; blank lines and CRs are skipped; an event over the cap
 * kills the stream without growing the buffer; an unfinished tail is held
 * until more bytes or stream_finish().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/stream.h"
#include "proxy/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_EVENTS    8

/* What the callback saw: the events joined with '|'. */
struct seen {
	struct strbuf text;
	int n;
	int stop_at; /* return 1 on this event (1-based); 0 never */
};

static int collect(const char *event, size_t len, void *arg)
{
	struct seen *s = arg;

	if (s->n > 0)
		strbuf_addc(&s->text, '|');
	strbuf_add(&s->text, event, len);
	s->n++;
	return s->n == s->stop_at ? 1 : 0;
}

/**
 * struct feed_case - a body fed in one piece, then finished.
 * @max: the stream's cap (0: default).
 * @events: what the callback must have seen, joined with '|'.
 * @ret: what stream_feed() returns; @fin: what stream_finish() returns.
 * @pending: bytes held after the feed.
 */
static const struct feed_case {
	const char *name;
	const char *body;
	size_t max;
	int stop_at;
	const char *events;
	int ret;
	size_t pending;
	int fin;
	const char *events_after_finish;
} feed_cases[] = {
	{ "three events", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 0, 0,
	  "{\"a\":1}|{\"b\":2}|{\"c\":3}", 0, 0, 0, "{\"a\":1}|{\"b\":2}|{\"c\":3}" },
	{ "empty body", "", 0, 0, "", 0, 0, 0, "" },
	{ "blank lines skipped", "\n\n{\"a\":1}\n \t\r\n\r\n{\"b\":2}\n\n", 0, 0,
	  "{\"a\":1}|{\"b\":2}", 0, 0, 0, "{\"a\":1}|{\"b\":2}" },
	{ "crlf stripped", "{\"a\":1}\r\n{\"b\":2}\r\n", 0, 0, "{\"a\":1}|{\"b\":2}", 0, 0, 0,
	  "{\"a\":1}|{\"b\":2}" },
	{ "partial tail held, delivered by finish", "{\"a\":1}\n{\"b\":", 0, 0, "{\"a\":1}", 0, 5,
	  0, "{\"a\":1}|{\"b\":" },
	{ "blank tail dropped by finish", "{\"a\":1}\n  \r", 0, 0, "{\"a\":1}", 0, 3, 0,
	  "{\"a\":1}" },
	{ "event exactly at the cap", "0123456789\n", 10, 0, "0123456789", 0, 0, 0, "0123456789" },
	{ "a cr before the newline counts toward the cap", "0123456789\r\n", 10, 0, "", -EMSGSIZE,
	  0, -EMSGSIZE, "" },
	{ "event over the cap", "01234\n0123456789A\n56789\n", 10, 0, "01234", -EMSGSIZE, 0,
	  -EMSGSIZE, "01234" },
	{ "unfinished tail over the cap", "01234\n0123456789A", 10, 0, "01234", -EMSGSIZE, 0,
	  -EMSGSIZE, "01234" },
	{ "callback stops the feed", "1\n2\n3\n", 0, 2, "1|2", 1, 0, 0, "1|2" },
};

static void test_feed_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(feed_cases); i++) {
		const struct feed_case *c = &feed_cases[i];
		struct seen seen = { STRBUF_INIT, 0, c->stop_at };
		struct stream s;
		int r;

		print_message("case: %s\n", c->name);
		stream_init(&s, c->max);
		r = stream_feed(&s, c->body, strlen(c->body), collect, &seen);
		assert_int_equal(r, c->ret);
		assert_string_equal(strbuf_str(&seen.text), c->events);
		assert_int_equal(stream_pending(&s), c->pending);
		r = stream_finish(&s, collect, &seen);
		assert_int_equal(r, c->fin);
		assert_string_equal(strbuf_str(&seen.text), c->events_after_finish);
		assert_int_equal(stream_pending(&s), 0);
		stream_fini(&s);
		strbuf_fini(&seen.text);
	}
}

static const char multi_body[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
	"\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\r\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";

static const char multi_events[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}|"
	"{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}|"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}|"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}";

/* Feeds body cut at the given points (ascending) and checks the events. */
static void feed_cut(const char *body, size_t len, const size_t *cuts, size_t n_cuts)
{
	struct seen seen = { STRBUF_INIT, 0, 0 };
	struct stream s;
	size_t from = 0, i;

	stream_init(&s, 128);
	for (i = 0; i <= n_cuts; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;

		assert_int_equal(stream_feed(&s, body + from, to - from, collect, &seen), 0);
		from = to;
	}
	assert_int_equal(stream_pending(&s), 0);
	assert_int_equal(stream_finish(&s, collect, &seen), 0);
	assert_string_equal(strbuf_str(&seen.text), multi_events);
	assert_int_equal(seen.n, 4);
	stream_fini(&s);
	strbuf_fini(&seen.text);
}

/* Every way of cutting the body in two and in three gives the same events. */
static void test_every_split_point(void **state)
{
	size_t len = strlen(multi_body), i, j;
	size_t cuts[2];

	(void)state;
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		feed_cut(multi_body, len, cuts, 1);
		for (j = i; j <= len; j++) {
			cuts[1] = j;
			feed_cut(multi_body, len, cuts, 2);
		}
	}
}

static void test_byte_at_a_time(void **state)
{
	size_t len = strlen(multi_body), i;
	size_t cuts[sizeof(multi_body)];

	(void)state;
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	feed_cut(multi_body, len, cuts, len - 1);
}

/*
 * An event over the cap, however it is split, kills the stream before the
 * held tail passes the cap; reset revives it for the next response.
 */
static void test_oversized_event_split(void **state)
{
	static const char body[] = "ok\n0123456789ABCDEF\nnext\n";
	size_t len = strlen(body), i;

	(void)state;
	for (i = 0; i <= len; i++) {
		struct seen seen = { STRBUF_INIT, 0, 0 };
		struct stream s;
		int r;

		stream_init(&s, 8);
		r = stream_feed(&s, body, i, collect, &seen);
		if (r == 0)
			r = stream_feed(&s, body + i, len - i, collect, &seen);
		assert_int_equal(r, -EMSGSIZE);
		assert_string_equal(strbuf_str(&seen.text), "ok");
		assert_true(s.tail.len <= 8);
		assert_true(s.dead);
		assert_int_equal(stream_feed(&s, "x\n", 2, collect, &seen), -EMSGSIZE);
		assert_int_equal(stream_finish(&s, collect, &seen), -EMSGSIZE);
		stream_reset(&s);
		assert_int_equal(stream_feed(&s, "x\n", 2, collect, &seen), 0);
		assert_string_equal(strbuf_str(&seen.text), "ok|x");
		stream_fini(&s);
		strbuf_fini(&seen.text);
	}
}

/* A big event of many chunks is delivered whole; the buffer stays near its size. */
static void test_large_event_many_chunks(void **state)
{
	size_t size = 1u << 20, i;
	char *event = malloc(size + 1);
	struct seen seen = { STRBUF_INIT, 0, 0 };
	struct stream s;

	(void)state;
	assert_non_null(event);
	memset(event, 'x', size);
	event[size] = '\n';
	stream_init(&s, size);
	for (i = 0; i < size + 1; i += 16384) {
		size_t n = size + 1 - i < 16384 ? size + 1 - i : 16384;

		assert_int_equal(stream_feed(&s, event + i, n, collect, &seen), 0);
	}
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.text.len, size);
	assert_true(s.tail.cap <= 2 * size);
	stream_reset(&s);
	assert_int_equal(s.tail.cap, 0);
	stream_fini(&s);
	strbuf_fini(&seen.text);
	free(event);
}

/* After the callback stops the feed, reset gives a clean stream. */
static void test_reset_drops_tail(void **state)
{
	struct seen seen = { STRBUF_INIT, 0, 0 };
	struct stream s;

	(void)state;
	stream_init(&s, 0);
	assert_int_equal(s.max, STREAM_DEFAULT_MAX);
	assert_int_equal(stream_feed(&s, "{\"half", 6, collect, &seen), 0);
	assert_int_equal(stream_pending(&s), 6);
	stream_reset(&s);
	assert_int_equal(stream_pending(&s), 0);
	assert_int_equal(stream_feed(&s, "{}\n", 3, collect, &seen), 0);
	assert_string_equal(strbuf_str(&seen.text), "{}");
	stream_fini(&s);
	strbuf_fini(&seen.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_cases),
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_oversized_event_split),
		cmocka_unit_test(test_large_event_many_chunks),
		cmocka_unit_test(test_reset_drops_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
