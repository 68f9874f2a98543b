/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conntrack - deletes UDP conntrack entries that lead to no serving endpoint
 * (edge: conntrack_cleanup() talks ctnetlink through libmnl; the message
 * builders, the parser, the decision and the target builder are pure).
 *
 * UDP has no end of connection, so a conntrack entry outlives the rule that
 * made it: a client that keeps sending from one port keeps following an entry
 * created while the Service had no endpoint (its packets went to the service
 * IP itself) or one that DNATs to an endpoint that is gone. After a successful
 * sync kproxy lists the family's conntrack table and deletes each UDP entry
 * whose original destination is a service IP:port, or whose original
 * destination port is a NodePort (any IP), while its reply source IP:port is
 * not one of that service port's serving endpoints. Service ports without a
 * serving endpoint are left alone: their entries are cleaned once endpoints
 * appear. Traffic policy, topology and terminating state play no part.
 *
 * Calls libmnl, apiwatch/k8s and (for conntrack_targets_build only)
 * proxy/model and featuregate. Never runs the conntrack binary.
 */
#ifndef KPROXY_CONNTRACK_H
#define KPROXY_CONNTRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "featuregate/featuregate.h"
#include "proxy/errbuf.h"
#include "proxy/model.h"

struct nlmsghdr;

/* Enough for any request the builders write. */
#define CONNTRACK_MSG_SIZE 256
/* conntrack_cleanup() stops reading the table after this many entries. */
#define CONNTRACK_MAX_ENTRIES 1000000u

/**
 * struct conntrack_tuple - one direction of a connection.
 * @sport, @dport: host order; 0 for protocols without ports.
 */
struct conntrack_tuple {
	struct k8s_addr src;
	struct k8s_addr dst;
	uint16_t sport;
	uint16_t dport;
};

/**
 * struct conntrack_entry - the fields of one conntrack entry kproxy uses.
 * @l4proto: IPPROTO_UDP, IPPROTO_TCP, ...
 * @orig: the tuple of the first packet (client -> service IP:port).
 * @reply: the tuple of the answers (endpoint -> client once DNATed).
 * @zone: the conntrack zone, 0 by default; a delete must name it.
 * @mark: the connection mark (CTA_MARK), 0 when absent.
 * @id: the kernel's id of the entry; with @has_id a delete removes this
 *	entry only, not one created since with the same tuple.
 */
struct conntrack_entry {
	enum k8s_family family;
	uint8_t l4proto;
	struct conntrack_tuple orig;
	struct conntrack_tuple reply;
	uint16_t zone;
	uint32_t mark;
	uint32_t id;
	bool has_id;
};

/*
 * Writes into buf (size bytes) a request to dump the conntrack table of the
 * family, asking the kernel to return only entries of l4proto (0: all). The
 * kernel filters from Linux 5.8 and ignores the filter before; callers check
 * the protocol themselves. Returns the message length, or -ENOSPC.
 */
int conntrack_build_dump(void *buf, size_t size, enum k8s_family family, uint8_t l4proto,
			 uint32_t seq);

/*
 * Writes into buf (size bytes) a request to delete the entry e (borrowed) by
 * its original tuple, zone and id. Returns the message length, -ENOSPC, or
 * -EINVAL when e's protocol has no ports (ICMP).
 */
int conntrack_build_delete(void *buf, size_t size, const struct conntrack_entry *e, uint32_t seq);

/*
 * Parses one conntrack message of a dump (or an event) into out. Returns 0, or
 * -EINVAL when the message is not a conntrack entry with both tuples, or is
 * malformed (out is then undefined).
 */
int conntrack_parse_entry(const struct nlmsghdr *nlh, struct conntrack_entry *out);

/* A serving endpoint of a service port. */
struct conntrack_endpoint {
	struct k8s_addr addr;
	uint16_t port;
};

/**
 * struct conntrack_target - one UDP service port, as the cleanup sees it.
 * @ips: the service IPs (cluster IP, external IPs, load-balancer IPs).
 * @port: the service port.
 * @node_port: its NodePort, 0 for none.
 * @serving: its serving endpoints; a target without any is ignored.
 */
struct conntrack_target {
	struct k8s_addr *ips;
	size_t n_ips;
	uint16_t port;
	uint16_t node_port;
	struct conntrack_endpoint *serving;
	size_t n_serving;
};

/* The targets in a form that answers conntrack_index_stale() quickly. */
struct conntrack_index;

/*
 * Returns a new index of the targets (borrowed, copied) for one family;
 * addresses of the other family are ignored. Free with conntrack_index_free().
 */
struct conntrack_index *conntrack_index_new(const struct conntrack_target *targets, size_t n,
					    enum k8s_family family);
void conntrack_index_free(struct conntrack_index *idx);

/* True when no target has a serving endpoint: nothing can be stale. */
bool conntrack_index_empty(const struct conntrack_index *idx);

/*
 * True when e is a UDP entry of the index's family that should be deleted:
 * its original destination is a target's IP and port, or its original
 * destination port is a target's NodePort, and its reply source IP:port is
 * not one of that target's serving endpoints.
 */
bool conntrack_index_stale(const struct conntrack_index *idx, const struct conntrack_entry *e);

/* Chooses the Services conntrack_targets_build() looks at. */
typedef bool (*conntrack_service_pred)(const struct model_service *svc, void *arg);

/* A conntrack_service_pred: the Service changed since the last model_dirty_clear(). */
bool conntrack_service_dirty(const struct model_service *svc, void *arg);

/*
 * Returns a new array of targets (*n of them) for the UDP ports of the
 * model's Services (borrowed) that pred accepts (NULL: all), in the family:
 * the cluster IP, external IPs and load-balancer IPs (without those whose
 * ipMode is Proxy when the LoadBalancerIPMode gate is on), the NodePort and
 * the serving endpoints. Ports without serving endpoints, and Services that
 * get no rules (headless, ExternalName, owned by another proxy), are left out.
 * Free with conntrack_targets_free().
 */
struct conntrack_target *conntrack_targets_build(const struct model *m, enum k8s_family family,
						 const struct featuregate_set *gates,
						 conntrack_service_pred pred, void *arg, size_t *n);
void conntrack_targets_free(struct conntrack_target *targets, size_t n);

/*
 * Lists the conntrack table of the family through ctnetlink and deletes every
 * entry conntrack_index_stale() picks for the targets (borrowed); an entry that
 * expires before its delete is not an error. Blocks until done; does not open
 * a socket when no target has a serving endpoint. Sets *deleted to the number
 * of entries deleted (also on failure). Returns 0, or a negative errno with
 * err: the socket could not be opened, the kernel refused the dump or a
 * delete, or the table held more than CONNTRACK_MAX_ENTRIES entries (-E2BIG,
 * after cleaning those read).
 */
int conntrack_cleanup(const struct conntrack_target *targets, size_t n, enum k8s_family family,
		      size_t *deleted, struct errbuf *err);

#endif
