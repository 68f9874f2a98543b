// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Complete lines are handed to the callback straight from the caller's chunk
 * when nothing is pending, so a chunk of many small events is never copied;
 * only the unfinished tail is. The tail is checked against the cap before it
 * grows, which keeps the buffer below the cap whatever the server sends.
 */
#include <errno.h>
#include <string.h>

#include "apiwatch/stream.h"

void stream_init(struct stream *s, size_t max)
{
	strbuf_init(&s->tail);
	s->max = max ? max : STREAM_DEFAULT_MAX;
	s->dead = false;
}

void stream_fini(struct stream *s)
{
	strbuf_fini(&s->tail);
	s->dead = false;
}

void stream_reset(struct stream *s)
{
	/* Give back a large buffer: the next response may never need it. */
	if (s->tail.cap > 65536)
		strbuf_fini(&s->tail);
	else
		strbuf_reset(&s->tail);
	s->dead = false;
}

size_t stream_pending(const struct stream *s)
{
	return s->tail.len;
}

static bool is_blank(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

static int emit(const char *line, size_t len, stream_event_cb cb, void *arg)
{
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (is_blank(line, len))
		return 0;
	return cb(line, len, arg);
}

static int overflow(struct stream *s)
{
	stream_reset(s);
	s->dead = true;
	return -EMSGSIZE;
}

int stream_feed(struct stream *s, const char *data, size_t n, stream_event_cb cb, void *arg)
{
	const char *p = data, *end = data + n, *nl;
	size_t seg;
	int r;

	if (s->dead)
		return -EMSGSIZE;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (s->tail.len + seg > s->max)
			return overflow(s);
		if (!nl) {
			strbuf_add(&s->tail, p, seg);
			return 0;
		}
		if (s->tail.len > 0) {
			strbuf_add(&s->tail, p, seg);
			r = emit(s->tail.buf, s->tail.len, cb, arg);
			strbuf_reset(&s->tail);
		} else {
			r = emit(p, seg, cb, arg);
		}
		p = nl + 1;
		if (r != 0)
			return r;
	}
	return 0;
}

int stream_finish(struct stream *s, stream_event_cb cb, void *arg)
{
	int r;

	if (s->dead)
		return -EMSGSIZE;
	if (s->tail.len == 0)
		return 0;
	r = emit(s->tail.buf, s->tail.len, cb, arg);
	stream_reset(s);
	return r;
}
