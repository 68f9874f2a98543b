/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * errbuf - the message a parser of untrusted input leaves for its caller (core).
 *
 * Messages name the object and the field, e.g.
 * "service default/web: spec.ports[1].port: 70000 out of range". Pure.
 */
#ifndef KPROXY_ERRBUF_H
#define KPROXY_ERRBUF_H

#include <stdarg.h>
#include <stdio.h>

#define ERRBUF_SIZE 1024

struct errbuf {
	char msg[ERRBUF_SIZE];
};

static inline void errbuf_clear(struct errbuf *e)
{
	if (e)
		e->msg[0] = '\0';
}

/* Sets the message (truncated to fit); a NULL errbuf is ignored. Returns -EINVAL
 * so that parsers can write "return errbuf_set(err, ...)". */
int errbuf_set(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Puts "prefix: " in front of the current message. */
void errbuf_prefix(struct errbuf *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The most bytes of a value errbuf_echo() repeats. */
#define ERRBUF_ECHO_MAX 100

/* A value of untrusted input made fit to repeat in a message. */
struct errbuf_echo {
	char s[ERRBUF_ECHO_MAX + sizeof("...")];
};

/*
 * Copies at most max (at most ERRBUF_ECHO_MAX) bytes of s[0..n) into e for a
 * message, each byte that is not printable ASCII (and the double quote and
 * backslash) replaced by '?', with "..." after a value that was cut: the
 * message stays on one line whatever the value holds, and a long value
 * cannot push the reason after it out of the buffer. Returns e->s.
 */
const char *errbuf_echo(struct errbuf_echo *e, const char *s, size_t n, size_t max);

#endif
