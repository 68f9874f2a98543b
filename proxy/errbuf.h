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

#endif
