/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * restore - runs iptables-restore, iptables-save and friends as children of
 * the event loop (edge: forks and execs, never through a shell). The payload
 * is written to the child's stdin without blocking, its stdout and stderr are
 * collected (capped), its exit is seen through a pidfd, and a timeout kills it.
 * The loop keeps serving while a child runs.
 */
#ifndef KPROXY_RESTORE_H
#define KPROXY_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/loop.h"
#include "proxy/strbuf.h"

/* Largest stdout kept (an iptables-save of 10k services is about 60 MB). */
#define RESTORE_MAX_STDOUT (512u << 20)
#define RESTORE_MAX_STDERR (64u << 10)

enum restore_backend {
	RESTORE_BACKEND_NFT,
	RESTORE_BACKEND_LEGACY,
};

/**
 * struct restore_result - how a child ended.
 * @status: its exit status, or -1 when it was killed by a signal or timed out.
 * @timed_out: killed after the timeout.
 * @out, @err: what it printed (borrowed until the callback returns).
 * @elapsed_ms: from start to exit.
 */
struct restore_result {
	int status;
	bool timed_out;
	const struct strbuf *out;
	const struct strbuf *err;
	uint64_t elapsed_ms;
};

struct restore_child;

typedef void (*restore_done_cb)(const struct restore_result *res, void *arg);

/*
 * Starts argv[0] (a path or a name looked up in PATH) with argv, feeding it
 * input (len bytes, borrowed until done; NULL for none). done is called once
 * from the loop when it has exited; the child object is then freed by the
 * caller with restore_child_free() (from inside done is fine). Returns NULL
 * with errno set when the child cannot be started. Sets SIGPIPE to be ignored
 * for the process, so that a child that stops reading cannot kill kproxy.
 */
struct restore_child *restore_child_start(struct loop *l, const char *const argv[],
					  const char *input, size_t len, uint64_t timeout_ms,
					  restore_done_cb done, void *arg);
/* Kills the child if it still runs (no callback) and frees it. NULL is fine. */
void restore_child_free(struct restore_child *c);

/* Runs a child to completion on a private loop; fills out/err (if not NULL). Returns
 * the exit status, or -1 when it could not run, was killed or timed out. */
int restore_run_sync(const char *const argv[], const char *input, size_t len, uint64_t timeout_ms,
		     struct strbuf *out, struct strbuf *err);

/* The command names of a backend: "iptables-nft-restore", "iptables-nft-save", "iptables-nft". */
const char *restore_cmd(enum restore_backend b, const char *what);

/*
 * Builds the argument vector of `iptables-restore --noflush --counters -w 5`
 * for the backend into argv (at least 8 entries).
 */
void restore_argv(enum restore_backend b, bool noflush, const char *argv[8]);

/*
 * Returns the payload line number iptables-restore blamed in err ("line N
 * failed", "line N: ...", "Error occurred at line: N"), or 0.
 */
unsigned restore_failed_line(const char *err);

/* Appends lines line-2 .. line+2 of payload, each prefixed by its number. */
void restore_context(const char *payload, unsigned line, struct strbuf *out);

#endif
