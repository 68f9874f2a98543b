/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * model - the cluster state kproxy proxies. Pure: no I/O.
 *
 * Holds Services, the EndpointSlices (or, on clusters without slices, the
 * Endpoints) that belong to them, and this node's Node object. Every k8s value
 * handed to an update function is owned by the model from then on. Endpoints
 * of a service port are merged from all slices of the Service on demand.
 *
 * Change tracking: each Service whose spec or endpoints changed since the last
 * model_dirty_clear() is dirty; the sync engine rewrites only those.
 */
#ifndef KPROXY_MODEL_H
#define KPROXY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"
#include "proxy/strbuf.h"

#define MODEL_MAX_SLICES_PER_SERVICE 10000

struct model;

/**
 * struct model_service - one Service and what is known of its endpoints.
 * @key: "namespace/name".
 * @spec: the Service, or NULL while only its endpoints are known.
 * @slices: its EndpointSlices sorted by name.
 * @endpoints: its core/v1 Endpoints, used only when it has no slices.
 * @dirty: changed since the last model_dirty_clear().
 * @spec_gen, @slice_gen, @endpoints_gen: the reconciliation generation in which
 *	each object was last seen (see model_reconcile_begin()).
 */
struct model_service {
	char *key;
	struct k8s_service *spec;
	struct k8s_slice **slices;
	size_t n_slices;
	struct k8s_endpoints *endpoints;
	bool dirty;
	unsigned spec_gen;
	unsigned *slice_gen;
	unsigned endpoints_gen;
};

/**
 * struct model_endpoint - one endpoint of a service port after merging.
 * @str: "IP:port" ("[IP]:port" for IPv6), the sort and dedup key.
 * @local: on this node (its nodeName is this node's name).
 * @zone_hinted: the slice gives it zone hints (hints.forZones);
 *	@for_this_zone: one of them is this node's zone (its
 *	topology.kubernetes.io/zone label).
 */
struct model_endpoint {
	struct k8s_addr addr;
	uint16_t port;
	bool local;
	bool zone_hinted;
	bool for_this_zone;
	bool ready;
	bool serving;
	bool terminating;
	char str[K8S_ADDR_STRLEN + 8];
};

/* Returns a new empty model for the node called node_name (copied). */
struct model *model_new(const char *node_name);
void model_free(struct model *m);

const char *model_node_name(const struct model *m);

/*
 * Adds or replaces an object (taking its pointer, which obj no longer owns):
 * Service, EndpointSlice, Endpoints or this node's Node. A Node of another name
 * is dropped. Returns 0, or -EINVAL with err when the object cannot be taken
 * (a Service with too many slices); the object is then freed.
 */
int model_object_update(struct model *m, struct k8s_object *obj, struct errbuf *err);

/*
 * An object equal to the one the model holds (same content hash) changes
 * nothing: it is freed and no Service becomes dirty.
 */

/*
 * Reconciliation against a complete new state (a re-read file, a relist):
 * model_reconcile_begin() starts a generation, every object updated after it
 * counts as seen, and model_reconcile_end() removes every object not seen.
 * Returns the number of objects removed.
 */
void model_reconcile_begin(struct model *m);
size_t model_reconcile_end(struct model *m);

/* Removes the object named like obj (borrowed); unknown objects are ignored. */
void model_object_delete(struct model *m, const struct k8s_object *obj);

/* Counts the times this node's Node object changed (not re-delivered unchanged). */
unsigned long model_node_changes(const struct model *m);

/* Returns this node's Node, or NULL before it is known (borrowed). */
const struct k8s_node *model_node(const struct model *m);

/* Returns the number of Services with a spec. */
size_t model_service_count(const struct model *m);

/*
 * Returns a new array of the Services that have a spec, sorted by
 * namespace/name; the caller frees the array (not the elements, borrowed).
 */
const struct model_service **model_services_sorted(const struct model *m, size_t *n);

const struct model_service *model_service_lookup(const struct model *m, const char *ns,
						 const char *name);

/*
 * Returns a new array of the endpoints of one port of a Service: from all its
 * slices of the given family (or its Endpoints when it has no slices), matched
 * by port name and protocol, deduplicated by IP:port (a local copy wins) and
 * sorted by their "IP:port" text. The caller frees the array.
 */
struct model_endpoint *model_port_endpoints(const struct model *m, const struct model_service *svc,
					    const struct k8s_service_port *port,
					    enum k8s_family family, size_t *n);

/* Service and endpoint (slice, Endpoints) updates and deletions since the last clear. */
void model_changes_pending(const struct model *m, size_t *services, size_t *endpoints);

/*
 * Appends the model as JSON for /debug/model: this node, and every Service
 * with its ports and their merged endpoints, sorted.
 */
void model_format_json(const struct model *m, struct strbuf *out);

/* Number of Services (with or without spec) changed since the last clear. */
size_t model_dirty_count(const struct model *m);
/* Number of Services deleted since the last clear. */
size_t model_deleted_count(const struct model *m);
void model_dirty_clear(struct model *m);
/* Marks every Service dirty (after a failed sync, the next one is full). */
void model_dirty_all(struct model *m);

#endif
