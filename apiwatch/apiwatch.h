/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * apiwatch - follows the Kubernetes API server for this node (edge: HTTP
 * through libcurl's multi-socket interface on kproxy's loop; no threads, no
 * blocking calls).
 *
 * For each watched kind (Services, EndpointSlices or, when the discovery API
 * is not served, core/v1 Endpoints, and this Node) it LISTs page by page, then
 * WATCHes from the list's resourceVersion, and reconnects with backoff.
 * Decoded objects are handed to the caller through ops; the caller's model is
 * the only place they go. After a relist, objects that were not in the new
 * list are reported deleted, so nothing stale survives an API server restart.
 */
#ifndef KPROXY_APIWATCH_H
#define KPROXY_APIWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"
#include "proxy/loop.h"

/**
 * struct apiwatch_ops - what the watcher tells its owner. All are called from
 * the loop.
 * @update: an object was added or changed; the callee takes obj's pointer
 *	(and must leave obj->u empty or free it).
 * @remove: an object is gone (obj borrowed).
 * @synced: every watched kind has completed its first list (called once);
 *	rules must not be synced before, or a start-up would flush working rules.
 * @error: a problem worth an operator's attention (a bad object, a failed
 *	request), already worded with the object and field.
 */
struct apiwatch_ops {
	void (*update)(struct k8s_object *obj, void *arg);
	void (*remove)(const struct k8s_object *obj, void *arg);
	void (*synced)(void *arg);
	void (*error)(const char *msg, void *arg);
};

/**
 * struct apiwatch_config - where the API server is and how to talk to it.
 * @master: --master URL, or NULL.
 * @kubeconfig: --kubeconfig path, or NULL (then in-cluster configuration).
 * @node_name: this node (the Node is watched with a field selector on it).
 */
struct apiwatch_config {
	const char *master;
	const char *kubeconfig;
	const char *node_name;
};

struct apiwatch;

/*
 * Returns a new watcher, or NULL with err when the configuration cannot be
 * loaded (kubeconfig unreadable, no in-cluster environment...). Nothing is
 * sent before apiwatch_start().
 */
struct apiwatch *apiwatch_new(struct loop *l, const struct apiwatch_config *cfg,
			      const struct apiwatch_ops *ops, void *arg, struct errbuf *err);
int apiwatch_start(struct apiwatch *w);
void apiwatch_free(struct apiwatch *w);

/*
 * Posts a Kubernetes Event about kproxy's own problem (e.g. a health-check
 * port that cannot be bound) on this node's Node object; best effort.
 */
void apiwatch_event(struct apiwatch *w, const char *reason, const char *message);

#endif
