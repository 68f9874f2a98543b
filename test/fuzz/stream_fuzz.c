// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes apiwatch/stream: a watch body cut into chunks whose sizes come from
 * the input must give exactly the events a plain line split gives (complete
 * lines, a CR before the newline dropped, blank lines skipped), stop at the
 * first line over the cap with -EMSGSIZE, stop where the callback says, and
 * hold exactly the unfinished tail between calls. The same body fed in one
 * piece after stream_reset() must give the same again.
 *
 * Input: byte 0 picks the cap (high bit: the default; else 16..2048 bytes),
 * byte 1 the event the callback stops at (low nibble; 0: none), byte 2 the
 * number (1..8) of chunk-size bytes that follow; the rest is the body.
 */
#include <errno.h>

#include "apiwatch/stream.h"
#include "proxy/strbuf.h"
#include "test/fuzz/fuzz.h"

#define STOP_VALUE 7

/* The events a run produced, each kept with its length (they may hold NULs). */
struct events {
	struct strbuf text;
	size_t *len;
	size_t n;
	size_t stop_at;
};

static int collect(const char *event, size_t len, void *arg)
{
	struct events *ev = arg;
	size_t *grown;

	FUZZ_ASSERT(memchr(event, '\n', len) == NULL, "event %zu holds a newline", ev->n);
	FUZZ_ASSERT(len > 0, "empty event %zu", ev->n);
	grown = realloc(ev->len, (ev->n + 1) * sizeof(*ev->len));
	if (!grown)
		abort();
	ev->len = grown;
	ev->len[ev->n++] = len;
	strbuf_add(&ev->text, event, len);
	return ev->n == ev->stop_at ? STOP_VALUE : 0;
}

static bool blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

/* Emits a line as the splitter must: one trailing CR dropped, blank lines skipped. */
static int ref_emit(const char *line, size_t n, struct events *ev)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (blank(line, n))
		return 0;
	return collect(line, n, ev);
}

/*
 * The reference: split the whole body on '\n'. Returns what the run must
 * return and sets *tail to the bytes held before stream_finish().
 */
static int reference(const char *body, size_t len, size_t max, struct events *ev, size_t *tail)
{
	const char *p = body, *end = body + len, *nl;
	size_t seg;
	int r;

	*tail = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		seg = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (seg > max)
			return -EMSGSIZE;
		if (!nl) {
			*tail = seg;
			return ref_emit(p, seg, ev);
		}
		r = ref_emit(p, seg, ev);
		if (r)
			return r;
		p = nl + 1;
	}
	return 0;
}

static void events_free(struct events *ev)
{
	strbuf_fini(&ev->text);
	free(ev->len);
}

static void events_compare(const struct events *want, const struct events *got, const char *how)
{
	size_t i;

	FUZZ_ASSERT(got->n == want->n, "%s: %zu events, want %zu", how, got->n, want->n);
	for (i = 0; i < want->n; i++)
		FUZZ_ASSERT(got->len[i] == want->len[i], "%s: event %zu has %zu bytes, want %zu",
			    how, i, got->len[i], want->len[i]);
	FUZZ_ASSERT(got->text.len == want->text.len &&
			    memcmp(strbuf_str(&got->text), strbuf_str(&want->text),
				   want->text.len) == 0,
		    "%s: events differ", how);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct events want = { STRBUF_INIT, NULL, 0, 0 }, got = { STRBUF_INIT, NULL, 0, 0 },
		      again = { STRBUF_INIT, NULL, 0, 0 };
	const uint8_t *sizes;
	const char *body;
	size_t max, n_sizes, len, off = 0, k = 0, chunk, tail, zeros = 0;
	struct stream s;
	int want_rc, rc = 0;

	if (size < 3)
		return 0;
	max = data[0] & 0x80 ? 0 : ((size_t)(data[0] & 0x7f) + 1) * 16;
	want.stop_at = got.stop_at = again.stop_at = data[1] & 0x0f;
	n_sizes = (size_t)(data[2] % 8) + 1;
	if (size < 3 + n_sizes)
		return 0;
	sizes = data + 3;
	body = (const char *)data + 3 + n_sizes;
	len = size - 3 - n_sizes;

	stream_init(&s, max);
	want_rc = reference(body, len, s.max, &want, &tail);

	while (off < len) {
		chunk = sizes[k++ % n_sizes];
		/* A cycle of zero sizes would never end: after one full cycle, use 1. */
		if (chunk == 0 && ++zeros > n_sizes)
			chunk = 1;
		if (chunk > len - off)
			chunk = len - off;
		rc = stream_feed(&s, body + off, chunk, collect, &got);
		off += chunk;
		if (rc)
			break;
	}
	if (rc == 0) {
		FUZZ_ASSERT(stream_pending(&s) == tail, "%zu bytes pending, want %zu",
			    stream_pending(&s), tail);
		rc = stream_finish(&s, collect, &got);
		FUZZ_ASSERT(stream_pending(&s) == 0, "%zu bytes pending after finish",
			    stream_pending(&s));
	}
	FUZZ_ASSERT(rc == want_rc, "chunked: returned %d, want %d", rc, want_rc);
	events_compare(&want, &got, "chunked");
	FUZZ_ASSERT(rc != -EMSGSIZE || stream_feed(&s, "x\n", 2, collect, &got) == -EMSGSIZE,
		    "a dead stream took more bytes");
	FUZZ_ASSERT(s.tail.len <= s.max, "tail of %zu bytes over the cap %zu", s.tail.len, s.max);

	stream_reset(&s);
	FUZZ_ASSERT(stream_pending(&s) == 0, "bytes pending after reset");
	rc = stream_feed(&s, body, len, collect, &again);
	if (rc == 0)
		rc = stream_finish(&s, collect, &again);
	FUZZ_ASSERT(rc == want_rc, "one piece: returned %d, want %d", rc, want_rc);
	events_compare(&want, &again, "one piece");

	stream_fini(&s);
	events_free(&want);
	events_free(&got);
	events_free(&again);
	return 0;
}
