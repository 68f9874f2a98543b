/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * admin - kproxy's own HTTP endpoints (edge: two servers on the loop).
 *
 * --healthz-bind-address: /healthz (200 while no change has waited longer
 * than twice the sync period and the Node is not being deleted; 503
 * otherwise) and /livez (the same without the Node).
 * --metrics-bind-address: /metrics (Prometheus text), /debug/rules (the last
 * applied payload; ?pending=1 the one a full sync would apply now),
 * /debug/model (the model as JSON).
 */
#ifndef KPROXY_ADMIN_H
#define KPROXY_ADMIN_H

#include "proxy/config.h"
#include "proxy/errbuf.h"
#include "proxy/loop.h"
#include "proxy/model.h"
#include "proxy/sync.h"

struct admin;

/*
 * Starts the servers the configuration enables. model points at the owner's
 * current model pointer. A port that cannot be bound is logged and retried
 * every few seconds, never fatal. Returns NULL (with err) only when the loop
 * cannot give it a timer.
 */
struct admin *admin_new(struct loop *l, const struct config *cfg, struct sync *s,
			struct model *const *model, struct errbuf *err);
void admin_free(struct admin *a);

/* A sync succeeded: /healthz and /livez give its time as lastUpdated when they say 503. */
void admin_applied(struct admin *a);

/* Whether kproxy is healthy (the /livez answer): no change waited too long. */
bool admin_proxy_healthy(const struct admin *a);

#endif
