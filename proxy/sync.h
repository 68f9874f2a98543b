/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync - keeps the kernel's rules in step with the model (edge: runs
 * iptables-save/-restore children through the loop, reads interfaces).
 *
 * A change asks for a sync; syncs are at least --iptables-min-sync-period
 * apart, so changes that arrive together are applied by one restore. A sync
 * reads what the kernel holds only when it does not know (at start and after
 * a failure), builds the payload and applies it with one
 * `iptables-restore --noflush`. A failed restore leaves the kernel with its
 * previous rules; the last good payload is kept and a full sync is retried
 * with backoff (1 s doubling up to --iptables-sync-period).
 */
#ifndef KPROXY_SYNC_H
#define KPROXY_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/config.h"
#include "proxy/loop.h"
#include "proxy/model.h"
#include "rules/restore.h"

/* How long one iptables-restore may take before it is killed. */
#define SYNC_RESTORE_TIMEOUT_MS (300u * 1000u)

struct sync;

/* Returns a new sync engine for the model (borrowed; see sync_set_model). */
struct sync *sync_new(struct loop *l, const struct config *cfg, enum restore_backend backend,
		      struct model *m);
void sync_free(struct sync *s);

/* Points the engine at another model (borrowed) and asks for a full sync. */
void sync_set_model(struct sync *s, struct model *m);

/* Something in the model changed: sync soon. */
void sync_request(struct sync *s);

/* Returns the last payload that was applied successfully, or NULL (borrowed). */
const char *sync_last_good(const struct sync *s);

/* Number of successful and failed restores so far. */
unsigned long sync_successes(const struct sync *s);
unsigned long sync_failures(const struct sync *s);

#endif
