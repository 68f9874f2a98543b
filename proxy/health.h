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
 * fatal.
 */
#ifndef KPROXY_HEALTH_H
#define KPROXY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "featuregate/featuregate.h"
#include "proxy/loop.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"

/* True when nothing waits (oldest_pending_ms 0) or it has waited less than timeout_ms. */
bool health_is_fresh(uint64_t now_ms, uint64_t oldest_pending_ms, uint64_t timeout_ms);

/* Appends the /healthz (with_node) or /livez body; times are Unix seconds. */
void health_proxy_body(struct strbuf *out, double last_updated, double now, bool with_node,
		       bool node_eligible);

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
 * Opens and closes listeners to match the model (borrowed until the next
 * call): one per Local-policy LoadBalancer with a health-check node port, on
 * each of addrs (NULL/0: every address). Failed ports are retried at the
 * next call. Returns the number of ports that could not be bound.
 */
size_t hcports_sync(struct hcports *h, const struct model *m, const struct k8s_addr *addrs,
		    size_t n_addrs);

/* Number of open listeners. */
size_t hcports_count(const struct hcports *h);

#endif
