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
#include <stddef.h>
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"
#include "proxy/loop.h"

/**
 * struct apiwatch_ops - what the watcher tells its owner. All are called from
 * the loop; none may free the watcher.
 * @update: an object was added or changed; the callee takes obj's pointer
 *	(and must leave obj->u empty or free it). Headless Services are passed
 *	on too (k8s_service.headless is set); the owner ignores them.
 * @remove: an object is gone (obj borrowed). Only its identity is filled in:
 *	namespace and name, and a slice's service_name.
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
 * struct apiwatch_tuning - timings and caps; 0 picks the default of each, which
 * is what kproxy runs with. Tests shorten them.
 * @watch_timeout_s: timeoutSeconds of each watch (default random in 300-600).
 * @idle_timeout_ms: a watch silent for the smaller of this (default 180 s)
 *	and its timeout + @idle_grace_ms is dead and is reconnected; a list or
 *	probe silent this long (default 60 s) fails.
 * @idle_grace_ms: how long past its timeout a watch may be silent (60 s).
 * @backoff_initial_ms, @backoff_max_ms: reconnect backoff (800 ms, 30 s).
 * @token_reread_ms: how often the token file is re-read (60 s).
 * @max_event: bytes of one watch event (STREAM_DEFAULT_MAX, 16 MiB).
 * @max_body: bytes of one list response (K8S_MAX_DOCUMENT, 512 MiB).
 * @page_limit: items per list page (500).
 */
struct apiwatch_tuning {
	uint32_t watch_timeout_s;
	uint64_t idle_timeout_ms;
	uint64_t idle_grace_ms;
	uint64_t backoff_initial_ms;
	uint64_t backoff_max_ms;
	uint64_t token_reread_ms;
	size_t max_event;
	size_t max_body;
	uint32_t page_limit;
};

/**
 * struct apiwatch_config - where the API server is and how to talk to it.
 * @master: --master URL, or NULL. With @kubeconfig it replaces the server;
 *	alone it is used without credentials.
 * @kubeconfig: --kubeconfig path, or NULL (then in-cluster configuration
 *	unless @master is set).
 * @node_name: this node (the Node is watched with a field selector on it).
 * @serviceaccount_dir: where the in-cluster token and ca.crt are (NULL:
 *	/var/run/secrets/kubernetes.io/serviceaccount).
 * @tuning: all zero in production.
 */
struct apiwatch_config {
	const char *master;
	const char *kubeconfig;
	const char *node_name;
	const char *serviceaccount_dir;
	struct apiwatch_tuning tuning;
};

struct apiwatch;

/*
 * Returns a new watcher, or NULL with err when the configuration cannot be
 * loaded (kubeconfig unreadable, no in-cluster environment...). Nothing is
 * sent before apiwatch_start().
 */
struct apiwatch *apiwatch_new(struct loop *l, const struct apiwatch_config *cfg,
			      const struct apiwatch_ops *ops, void *arg, struct errbuf *err);
/* Sends the first requests. Returns 0, or -EALREADY when already started. */
int apiwatch_start(struct apiwatch *w);
/* Stops every request and frees the watcher; NULL is a no-op. */
void apiwatch_free(struct apiwatch *w);

/* Whether every watched kind has completed its first list. */
bool apiwatch_synced(const struct apiwatch *w);

/*
 * loop_now_ms() of the last good news from the API server (a list page or
 * bytes of a watch), 0 before any: for "seconds since the API was last
 * heard from" on a health endpoint.
 */
uint64_t apiwatch_last_contact_ms(const struct apiwatch *w);

/**
 * struct apiwatch_event - a Warning Event about one of kproxy's own problems.
 * @about: the kind of the object it is about: a Service (or another
 *	namespaced kind) named by @namespace and @name, or K8S_KIND_NODE for
 *	this node's Node (@namespace and @name unused).
 * @reason: why, in CamelCase ("FailedToStartServiceHealthcheck").
 * @action: what kproxy was doing ("Listen").
 * @message: for people; cut at 1024 bytes.
 */
struct apiwatch_event {
	enum k8s_kind about;
	const char *namespace;
	const char *name;
	const char *reason;
	const char *action;
	const char *message;
};

/*
 * Posts ev as a core/v1 Event in its object's namespace ("default" for the
 * Node), as kube-proxy does; best effort: a failure is logged, not retried.
 * The strings are copied.
 */
void apiwatch_event_post(struct apiwatch *w, const struct apiwatch_event *ev);

#endif
