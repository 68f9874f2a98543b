/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rules - turns the model into the iptables-restore payload kproxy loads.
 * Pure: no I/O. Also chain naming and the one quoting function through which
 * text reaches a rule.
 *
 * The payload has kube-proxy's iptables-mode layout with the KPROXY- prefix:
 * "*filter", its chain lines, its rules, "COMMIT", then the same for "*nat".
 * It is meant for `iptables-restore --noflush`: every chain kproxy owns is
 * declared (which flushes it), base-chain jumps are inserted only where the
 * kernel lacks them, and stale chains are flushed and deleted in the same
 * payload that stops referencing them.
 */
#ifndef KPROXY_RULES_H
#define KPROXY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "apiwatch/k8s.h"
#include "featuregate/featuregate.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"

#define RULES_CHAIN_PREFIX "KPROXY-"
/* iptables' limit is 28 characters plus the NUL. */
#define RULES_CHAIN_MAX 29
/* xt_comment keeps at most 255 bytes. */
#define RULES_COMMENT_MAX 255

enum rules_table {
	RULES_TABLE_FILTER,
	RULES_TABLE_NAT,
	RULES_TABLE_COUNT,
};

/**
 * struct rules_config - the node's flags that shape the rules.
 * @cluster_cidr: pod CIDR of this family for local-traffic detection, or NULL
 *	(then cluster-IP traffic is masqueraded only with masquerade_all).
 * @nodeport_cidrs: --nodeport-addresses; NodePorts answer only on the
 *	local_addrs inside them (n_nodeport_cidrs 0 and !nodeport_primary: all).
 * @nodeport_primary: NodePorts answer only on the Node object's addresses.
 * @local_addrs: this node's addresses (used with nodeport_cidrs and for the
 *	loadBalancerSourceRanges rule that lets the node reach its own LB IPs).
 */
struct rules_config {
	enum k8s_family family;
	const struct k8s_cidr *cluster_cidr;
	bool masquerade_all;
	unsigned masquerade_bit;
	bool localhost_nodeports;
	const struct k8s_cidr *nodeport_cidrs;
	size_t n_nodeport_cidrs;
	bool nodeport_primary;
	const struct k8s_addr *local_addrs;
	size_t n_local_addrs;
	const struct featuregate_set *gates;
};

/* The jumps from the kernel's base chains into kproxy's chains. */
struct rules_jump {
	enum rules_table table;
	const char *base;   /* "INPUT" */
	const char *spec;   /* the rule after "-A INPUT ", as iptables-save prints it */
	const char *target; /* "KPROXY-SERVICES" */
};

/* Returns the table of jumps (static) and its length. */
const struct rules_jump *rules_jumps(size_t *n);

/**
 * struct rules_existing - what the kernel holds now, read by the chain reader.
 * @chains: the KPROXY- chains of each table (any order).
 * @jump_count: how many copies of each rules_jumps() entry exist.
 * @jump_on_top: whether the jumps of that base chain come before any other rule.
 */
struct rules_existing {
	char **chains[RULES_TABLE_COUNT];
	size_t n_chains[RULES_TABLE_COUNT];
	unsigned *jump_count;
	bool *jump_on_top;
};

struct rules_stats {
	size_t services;
	size_t endpoints;
	size_t chains[RULES_TABLE_COUNT];
	size_t rules[RULES_TABLE_COUNT];
	size_t deleted_chains;
	size_t no_local_internal; /* Local iTP services with endpoints but none here */
	size_t no_local_external; /* Local eTP services with endpoints but none here */
};

/*
 * Appends the payload of one sync to out. With full false only the chains of
 * dirty Services are rewritten (the others stay in the kernel as they are).
 * existing may be NULL (an empty kernel). Warnings about objects (one line
 * each, e.g. an ignored 1.4 annotation) are appended to warnings when it is not
 * NULL. Fills stats when not NULL. Cannot fail: the model holds validated data.
 */
void rules_build(const struct model *m, const struct rules_config *cfg,
		 const struct rules_existing *existing, bool full, struct strbuf *out,
		 struct strbuf *warnings, struct rules_stats *stats);

/*
 * Writes a per-service chain name: prefix ("SVC", "SVL", "EXT", "FW", "SEP")
 * after "KPROXY-", then the first 16 base32 characters of the SHA-256 of
 * svc_port_name + lower-case protocol (+ endpoint for SEP), as kube-proxy names
 * its chains. out holds RULES_CHAIN_MAX bytes.
 */
void rules_chain_name(char *out, const char *kind, const char *svc_port_name,
		      enum k8s_protocol proto, const char *endpoint);

/*
 * Appends a comment argument for "--comment": bare when it is one token of
 * safe characters, otherwise in double quotes. Any byte that could end the
 * line, close the quote or start a new argument is replaced by '?', and the
 * text is cut at RULES_COMMENT_MAX bytes. This is the only way text reaches a
 * rule.
 */
void rules_quote_comment(struct strbuf *out, const char *text);

#endif
