/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz - what every libFuzzer target under test/fuzz shares (test helper).
 *
 * Each target is one file with LLVMFuzzerTestOneInput(); it feeds the input to
 * one module through its public header and checks the module's contract.
 * A broken contract aborts with the file, line and condition, which libFuzzer
 * reports as a crash and saves as a reproducer. Nothing here does I/O except
 * the message on stderr before the abort.
 */
#ifndef KPROXY_TEST_FUZZ_H
#define KPROXY_TEST_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/errbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: contract broken: %s: ", __FILE__, __LINE__,        \
				#cond);                                                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Whether an error message is NUL-terminated inside its buffer. */
static inline bool fuzz_msg_terminated(const struct errbuf *err)
{
	return memchr(err->msg, '\0', sizeof(err->msg)) != NULL;
}

/* Whether every byte of s[0..n) is printable ASCII (0x20-0x7e). */
static inline bool fuzz_printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/*
 * The message a parser of untrusted input leaves: NUL-terminated, not empty,
 * and on one line (hostile text in it has been quoted).
 */
static inline void fuzz_check_one_line(const struct errbuf *err, const char *what)
{
	FUZZ_ASSERT(fuzz_msg_terminated(err), "%s: message not NUL-terminated", what);
	FUZZ_ASSERT(err->msg[0] != '\0', "%s: failed without a message", what);
	FUZZ_ASSERT(strchr(err->msg, '\n') == NULL, "%s: message has a newline: %s", what,
		    err->msg);
}

/* A NUL-terminated copy of the input (the caller frees it). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
