/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * health - what kproxy tells load balancers and kubelet about itself.
 *
 * The pure half decides and words the answers: kproxy is healthy while no
 * change has waited longer than twice the sync period; a Local-policy
 * Service's health-check node port answers 200 while this node has a ready
 * endpoint of it (and kproxy is healthy), 503 otherwise, so that a cloud load
 * balancer stops sending to nodes without endpoints.
 *
 * The edge half (hcports) keeps one HTTP listener per such Service open on
 * its health-check node port, opening and closing them as Services come, go
 * and change; a port that cannot be bound is reported and retried, never
 * fatal. Like kube-proxy, it follows the rules in the kernel rather than the
 * model: listeners and their endpoint counts change when the sync carrying
 * a change succeeds, not when the change arrives.
 */
#ifndef KPROXY_HEALTH_H
#define KPROXY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "featuregate/featuregate.h"
#include "proxy/loop.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"

/* True when nothing waits (oldest_pending_ms 0) or it has waited less than timeout_ms. */
bool health_is_fresh(uint64_t now_ms, uint64_t oldest_pending_ms, uint64_t timeout_ms);

/**
 * struct health_time - an instant as Go's time.Now() holds it, which is what
 * kube-proxy's /healthz and /livez bodies print.
 * @set: false for Go's zero Time (no sync has succeeded yet).
 * @wall: CLOCK_REALTIME.
 * @mono: CLOCK_MONOTONIC since kproxy started (Go's monotonic reading counts
 *	from the process's start).
 */
struct health_time {
	bool set;
	struct timespec wall;
	struct timespec mono;
};

/* Fills t with the current time; start is CLOCK_MONOTONIC when kproxy started. */
void health_time_now(struct health_time *t, const struct timespec *start);

/*
 * Appends the /healthz (with_node) or /livez body. The times are printed as
 * Go's %q of a time.Time from time.Now() in UTC:
 * "2025-11-26 04:30:00.5 +0000 UTC m=+12.000000000".
 */
void health_proxy_body(struct strbuf *out, const struct health_time *last_updated,
		       const struct health_time *now, bool with_node, bool node_eligible);

/* Appends a health-check node port's JSON body. */
void health_service_body(struct strbuf *out, const char *ns, const char *name, size_t local,
			 bool healthy);

/* Number of distinct IPs of this node's ready endpoints, over all ports of svc. */
size_t health_local_endpoints(const struct model *m, const struct model_service *svc);

/* Whether the Node lets kproxy report healthy: not being deleted, not tainted for deletion. */
bool health_node_eligible(const struct k8s_node *node);

typedef bool (*hcports_healthy_cb)(void *arg);
/* repeated: the port failed the same way at the previous attempt (log it once, count it always). */
typedef void (*hcports_report_cb)(const char *ns, const char *name, const char *msg, bool repeated,
				  void *arg);

struct hcports;

/*
 * Returns a new set of listeners. healthy tells whether kproxy itself is
 * healthy; report is told of ports that cannot be bound (may be NULL).
 */
struct hcports *hcports_new(struct loop *l, const struct featuregate_set *gates,
			    hcports_healthy_cb healthy, hcports_report_cb report, void *arg);
void hcports_free(struct hcports *h);

/*
 * Health-check answers follow the rules in the kernel, as kube-proxy's do: a
 * change to the model moves nothing until the sync that carries it succeeds.
 *
 * hcports_prepare: called when a sync builds its rules from m; notes the
 *	listeners those rules call for (one per Local-policy LoadBalancer with a
 *	health-check node port, on each of addrs, NULL/0: every address) and
 *	each Service's local ready endpoint count. m is not kept.
 * hcports_commit: that sync succeeded: opens and closes listeners to match
 *	the last prepare and answers with its counts from now on. Every commit
 *	follows its own prepare (a sync that is applied was built first); a
 *	sync that fails is never committed, and the next prepare replaces its
 *	notes.
 * hcports_retry: opens the listeners of the last commit that could not be
 *	bound (it reads no model).
 * Commit and retry return the number of ports that could not be bound.
 */
void hcports_prepare(struct hcports *h, const struct model *m, const struct k8s_addr *addrs,
		     size_t n_addrs);
size_t hcports_commit(struct hcports *h);
size_t hcports_retry(struct hcports *h);

/*
 * What the listeners are, for the unit tests (kproxy itself only sees the
 * answers): hcports_count is the number of open listeners;
 * hcports_local_endpoints the local endpoint count the health-check port of
 * Service ns/name answers with (as of the last commit), or -1 when kproxy
 * keeps no listener for it.
 */
size_t hcports_count(const struct hcports *h);
long hcports_local_endpoints(const struct hcports *h, const char *ns, const char *name);

#endif
