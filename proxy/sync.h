/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync - keeps the kernel's rules in step with the model (edge: runs
 * iptables-save/-restore children through the loop, reads interfaces).
 *
 * A change asks for a sync; syncs are at least --iptables-min-sync-period
 * apart, so changes that arrive together are applied by one restore. A sync
 * is partial (only the chains of changed Services are written) unless a full
 * one is due: at start, after any failure, when a canary chain or a
 * base-chain jump has gone (someone flushed the tables) and hourly, with or
 * without a change. A full sync first reads the kernel's state (filter and
 * nat tables); a partial one trusts what kproxy last wrote. A failed restore
 * leaves the kernel with its previous rules; a full sync is retried after
 * 1 s, doubling up to --iptables-sync-period. Every sync period the canary
 * chains and the base-chain jumps are checked (after the next sync, when a
 * change is waiting for one).
 */
#ifndef KPROXY_SYNC_H
#define KPROXY_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/config.h"
#include "proxy/loop.h"
#include "proxy/metrics.h"
#include "proxy/model.h"
#include "rules/restore.h"
#include "rules/rules.h"

/* Per-service chains per restore batch on the nft backend. */
#define SYNC_BATCH_CHAINS 1000
/* A full sync at least this often, with or without changes. */
#define SYNC_FULL_PERIOD_MS (3600u * 1000u)

/**
 * struct sync_hooks - what the owner hears about. Called from the loop.
 * @built: a sync has built its rules from the model as it is now; @applied
 *	or a failure follows (the model may change in between).
 * @applied: a restore succeeded; changed lists the "namespace/name" keys of
 *	the Services whose rules it changed (n_changed of them); first is true
 *	for the first success since kproxy started.
 */
struct sync_hooks {
	void (*built)(void *arg);
	void (*applied)(const struct rules_stats *stats, bool full, bool first,
			char *const *changed, size_t n_changed, void *arg);
};

/*
 * The engine's timing decisions, pure so they can be tested on a fake clock
 * (times in milliseconds, 0 = never):
 * sync_plan_delay: how long to wait before the next sync, given when the last
 *	one started, --iptables-min-sync-period and a retry's earliest time.
 * sync_plan_retry: the wait after the Nth failure in a row: 1 s doubling up
 *	to --iptables-sync-period.
 */
uint64_t sync_plan_delay(uint64_t now, uint64_t last_start, uint64_t min_period,
			 uint64_t not_before);
uint64_t sync_plan_retry(unsigned consecutive_failures, uint64_t sync_period);

/*
 * sync_sched - the engine's scheduler: when to sync, whether fully, when to
 * check the canaries. Pure and clock-free (no I/O, no clock: every time is
 * passed in, loop milliseconds). The engine reports events (a change, the end
 * of a sync or of a check) and, after each event and when the wake-up time it
 * was given arrives, asks sync_sched_next() what to do and does it. One sync
 * or check runs at a time; nothing is synced before the first change. Syncs
 * start at least min_sync_period apart; a failed one is retried (1 s doubling
 * up to sync_period) without waiting for a change. The first sync, a retry
 * and the sync after a failed check are full, and so is the first sync once
 * the last full one is SYNC_FULL_PERIOD_MS old: when no change comes, that
 * one runs by itself. A check is due every sync_period once a sync
 * succeeded; when a change waits, it runs right after that change's sync.
 */
enum sync_sched_action {
	SYNC_SCHED_WAIT,  /* nothing now; ask again at wake_at (0: at the next event) */
	SYNC_SCHED_SYNC,  /* start a sync now, full as said */
	SYNC_SCHED_CHECK, /* check the canary chains and base-chain jumps now */
};

/* Whether a sync is full, and why: a full sync reads the kernel's state first. */
enum sync_sched_full {
	SYNC_SCHED_PARTIAL,
	SYNC_SCHED_FULL_START,	  /* kproxy's first sync */
	SYNC_SCHED_FULL_FAILURE,  /* the last sync failed */
	SYNC_SCHED_FULL_CHECK,	  /* a canary chain or a base-chain jump has gone */
	SYNC_SCHED_FULL_PERIODIC, /* the last full sync is SYNC_FULL_PERIOD_MS old */
};

struct sync_sched_decision {
	enum sync_sched_action action;
	enum sync_sched_full full; /* with SYNC_SCHED_SYNC */
	uint64_t wake_at;	   /* with SYNC_SCHED_WAIT; 0: none */
};

struct sync_sched;

/* Returns a new scheduler started at now (free with sync_sched_free()). */
struct sync_sched *sync_sched_new(uint64_t now, uint64_t min_sync_period, uint64_t sync_period);
void sync_sched_free(struct sync_sched *ss);

/* Decides what to do at now; a sync or check it starts is running until its _done. */
void sync_sched_next(struct sync_sched *ss, uint64_t now, struct sync_sched_decision *d);

/* Something in the model changed: a sync is wanted. */
void sync_sched_change(struct sync_sched *ss);

/*
 * The running sync ended at now; full: it wrote every Service (the build may
 * turn a partial sync into a full one). Returns the wait before the full sync
 * that retries a failure, 0 after a success.
 */
uint64_t sync_sched_sync_done(struct sync_sched *ss, uint64_t now, bool ok, bool full);

/* The running check ended; ok false: something was missing, a full sync is due. */
void sync_sched_check_done(struct sync_sched *ss, bool ok);

struct sync;

/* Returns a new sync engine for the model (borrowed; see sync_set_model). */
struct sync *sync_new(struct loop *l, const struct config *cfg, enum restore_backend backend,
		      struct model *m, const struct sync_hooks *hooks, void *arg);
void sync_free(struct sync *s);

/* Points the engine at another model (borrowed) and asks for a full sync. */
void sync_set_model(struct sync *s, struct model *m);

/* Something in the model changed: sync soon. */
void sync_request(struct sync *s);

/* Payloads above this are not kept for /debug/rules. */
#define SYNC_LAST_GOOD_MAX (4u << 20)

/*
 * Appends the last payload applied, or, when it was not kept (it came after
 * batches, or was larger than SYNC_LAST_GOOD_MAX), a comment saying so and
 * the whole of kproxy's rules for the current model. False: nothing applied yet.
 */
bool sync_describe_applied(struct sync *s, struct strbuf *out);

/* Appends the payload a full sync would apply now. */
void sync_build_pending(struct sync *s, struct strbuf *out);

/* Fills the generator's view of the flags for IPv4 (local_addrs borrowed). */
void sync_rules_config_from(const struct config *cfg, const struct k8s_addr *local_addrs,
			    size_t n_local_addrs, struct rules_config *rc);

/* Fills the generator's view of the flags (local addresses as last read). */
void sync_rules_config(struct sync *s, struct rules_config *rc);

/* When the oldest change not yet in the kernel arrived (loop ms), or 0. */
uint64_t sync_oldest_pending(const struct sync *s);

struct metrics *sync_metrics(struct sync *s);

unsigned long sync_successes(const struct sync *s);
unsigned long sync_failures(const struct sync *s);

#endif
