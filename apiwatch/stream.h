/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stream - splits a watch response body into its events (core). Pure: no I/O.
 *
 * The API server writes one compact JSON object per line. Bytes arrive in
 * chunks that have nothing to do with event boundaries, so the splitter keeps
 * the unfinished tail of the last line and hands every complete line to a
 * callback. Blank lines (and a '\r' before the '\n') are skipped. An event
 * longer than the stream's cap is an error, never an allocation: the stream
 * is then dead until stream_reset().
 */
#ifndef KPROXY_STREAM_H
#define KPROXY_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/strbuf.h"

/* Largest event a watch accepts by default: an EndpointSlice of 1000 endpoints is well below. */
#define STREAM_DEFAULT_MAX (16u << 20)

/*
 * Receives one event of len bytes (not NUL-terminated; borrowed for the call).
 * Returns 0 to go on; any other value stops the feed and is passed back.
 */
typedef int (*stream_event_cb)(const char *event, size_t len, void *arg);

/**
 * struct stream - the splitter's state.
 * @tail: the bytes of the unfinished last line.
 * @max: the largest event accepted, in bytes without the newline.
 * @dead: an event went over @max; every call fails until stream_reset().
 */
struct stream {
	struct strbuf tail;
	size_t max;
	bool dead;
};

/* Prepares an empty stream accepting events up to max bytes (0: STREAM_DEFAULT_MAX). */
void stream_init(struct stream *s, size_t max);
void stream_fini(struct stream *s);
/* Forgets any unfinished event and revives a dead stream (for a new response). */
void stream_reset(struct stream *s);

/*
 * Feeds n bytes (borrowed), calling cb for each line they complete. Returns 0,
 * -EMSGSIZE when an event exceeds the cap (the stream is then dead), or the
 * first non-zero value cb returned (the rest of data is then dropped).
 */
int stream_feed(struct stream *s, const char *data, size_t n, stream_event_cb cb, void *arg);

/*
 * At the end of the body: hands an unfinished last line to cb as a final
 * event (the parser then tells whether it was complete). Returns as
 * stream_feed() does; the stream is empty afterwards.
 */
int stream_finish(struct stream *s, stream_event_cb cb, void *arg);

/* Bytes of an unfinished event held by the stream. */
size_t stream_pending(const struct stream *s);

#endif
