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
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "featuregate/featuregate.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"

#define RULES_CHAIN_PREFIX "KPROXY-"
/* An empty chain in each table; if it disappears, someone flushed the table. */
#define RULES_CANARY "KPROXY-CANARY"
/* iptables' limit is 28 characters plus the NUL. */
#define RULES_CHAIN_MAX 29
/* More endpoint chains than this: endpoint rules carry no comment. */
#define RULES_LARGE_CLUSTER_ENDPOINTS 1000
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
 * @dispatch_split: above this many service-address rules, nat KPROXY-SERVICES
 *	dispatches through buckets by the address's last byte (16 chains by its
 *	low four bits, then 256 by the byte), so that a change rewrites one
 *	small bucket and a packet walks tens of rules, not thousands. 0: never.
 * @batch_chains: when a sync writes more per-service chains than this, they
 *	are written by batches of restores before the final one (whole Services
 *	per batch). iptables-nft's --noflush restore slows down with the square
 *	of the chains it declares; batches keep each small. 0: never.
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
	size_t dispatch_split;
	size_t batch_chains;
};

/*
 * Whether NodePorts answer on 127.0.0.1: --iptables-localhost-nodeports, IPv4,
 * and --nodeport-addresses (if given) include 127.0.0.1.
 */
bool rules_localhost_nodeports(const struct rules_config *cfg);

/* Whether a Service's 1.4/1.5 OnlyLocal annotation is honoured (gate on, field absent). */
bool rules_legacy_only_local(const struct k8s_service *spec, const struct featuregate_set *gates);

/* The health-check node port of a Service (LoadBalancer with Local policy), or 0. */
uint16_t rules_health_check_port(const struct k8s_service *spec,
				 const struct featuregate_set *gates);

/* The jumps from the kernel's base chains into kproxy's chains. */
struct rules_jump {
	enum rules_table table;
	const char *base;    /* "INPUT" */
	const char *spec;    /* the rule after "-A INPUT ", as iptables-save prints it */
	const char *target;  /* "KPROXY-SERVICES" */
	const char *comment; /* the text of its comment match */
};

/* Returns the table of jumps (static) and its length. */
const struct rules_jump *rules_jumps(size_t *n);

/* A chain name in a fixed-size slot: no allocation per name at 100,000 chains. */
struct rules_chain {
	char name[RULES_CHAIN_MAX];
	uint64_t hash; /* of the chain's rules text, for chains shared by all Services */
};

/**
 * struct rules_existing - what the kernel holds now, read by the chain reader.
 * @chains: the KPROXY- chains of each table (any order; sorted when @sorted).
 * @jump_count: how many copies of each rules_jumps() entry exist (NULL: none).
 * @jump_rules: every rule of a chain that is not kproxy's whose target is a
 *	KPROXY- chain (kproxy's own jumps, an older kproxy's, hand-made ones),
 *	as iptables-save prints it after "-A "; filled from iptables-save text
 *	only (chains_parse_save()), for --cleanup.
 */
struct rules_memo;

struct rules_existing {
	struct rules_chain *chains[RULES_TABLE_COUNT];
	size_t n_chains[RULES_TABLE_COUNT];
	size_t cap_chains[RULES_TABLE_COUNT];
	/* The shared chains (fixed, dispatch) with the hash of what kproxy wrote. */
	struct rules_chain *hashed[RULES_TABLE_COUNT];
	size_t n_hashed[RULES_TABLE_COUNT];
	unsigned *jump_count;
	char **jump_rules[RULES_TABLE_COUNT];
	size_t n_jump_rules[RULES_TABLE_COUNT];
	/*
	 * What each Service contributed to the build that produced this record
	 * (NULL: unknown, as when read from the kernel): a partial build
	 * replays it for Services that did not change instead of working them
	 * out again. Owned; see gen.c.
	 */
	struct rules_memo *memo;
};

struct rules_stats {
	size_t services;
	size_t endpoints;
	size_t chains[RULES_TABLE_COUNT];
	size_t rules[RULES_TABLE_COUNT];       /* rule lines written */
	size_t rules_total[RULES_TABLE_COUNT]; /* rules in kproxy's chains after the sync */
	size_t deleted_chains;
	size_t jump_changes;	  /* base-chain jumps inserted or deleted */
	size_t no_local_internal; /* Local iTP services with endpoints but none here */
	size_t no_local_external; /* Local eTP services with endpoints but none here */
};

/**
 * struct rules_output - what one build produces.
 * @batches: restores of whole Services' chains to apply, in order, before
 *	payload (see @batch_chains of struct rules_config).
 * @payload: the iptables-restore input that switches to the new rules.
 * @warnings: one line per problem worth logging (e.g. an ignored annotation).
 * @after: the KPROXY- chains and jumps the kernel holds once payload is applied.
 * @full: every Service's chains were written: asked for, or the context the
 *	chains were last written in changed (see rules_build()).
 */
struct rules_output {
	struct strbuf *batches; /* applied in order before payload; may be none */
	size_t n_batches;
	struct strbuf payload;
	struct strbuf warnings;
	struct rules_stats stats;
	struct rules_existing after;
	bool full;
};

/*
 * Builds the payload of one sync into out (initialised by the call; free it
 * with rules_output_fini()). With full false only the chains of dirty Services
 * are written (the others stay in the kernel as they are), unless what every
 * Service's chains depend on changed since existing was built (the flags,
 * large-cluster mode, the Node's primary address): then all are (out->full). existing is what
 * the kernel holds now, or NULL for an empty kernel. Cannot fail: the model
 * holds validated data.
 */
void rules_build(const struct model *m, const struct rules_config *cfg,
		 const struct rules_existing *existing, bool full, struct rules_output *out);
void rules_output_fini(struct rules_output *out);

/*
 * Builds the payload that removes every KPROXY- chain and every rule that
 * jumps to one (each deleted by its own text, so existing must have been read
 * from iptables-save text), and nothing else. Appends "" when there is nothing
 * to do.
 */
void rules_build_cleanup(const struct rules_existing *existing, struct strbuf *out);

/* Adds a chain name to ex (copied; names longer than a chain name are cut). */
void rules_existing_add(struct rules_existing *ex, enum rules_table t, const char *chain);
/* Adds a rule that jumps to a KPROXY- chain ("INPUT -s 10.0.0.0/8 -j KPROXY-FIREWALL",
 * len bytes, copied) to ex. */
void rules_existing_add_jump_rule(struct rules_existing *ex, enum rules_table t, const char *rule,
				  size_t len);
/* Frees what ex holds and zeroes it. */
void rules_existing_fini(struct rules_existing *ex);
/* Replaces dst by a copy of src (without its memo). */
void rules_existing_copy(struct rules_existing *dst, const struct rules_existing *src);
/* Frees a memo (rules_existing_fini() calls it). */
void rules_memo_free(struct rules_memo *memo);

/*
 * Writes a per-service chain name: prefix ("SVC", "SVL", "EXT", "FW", "SEP")
 * after "KPROXY-", then the first 16 base32 characters of the SHA-256 of
 * svc_port_name + lower-case protocol (+ endpoint for SEP), as kube-proxy names
 * its chains. out holds RULES_CHAIN_MAX bytes.
 */
void rules_chain_name(char *out, const char *kind, const char *svc_port_name,
		      enum k8s_protocol proto, const char *endpoint);

/* Writes 1/d with ten decimals, exactly as printf("%0.10f", 1.0 / d) would. */
void rules_format_probability(char *buf, size_t size, unsigned d);

/*
 * Appends a comment argument for "--comment": bare when it is one token of
 * safe characters, otherwise in double quotes. Any byte that could end the
 * line, close the quote or start a new argument is replaced by '?', and the
 * text is cut at RULES_COMMENT_MAX bytes. This is the only way text reaches a
 * rule.
 */
void rules_quote_comment(struct strbuf *out, const char *text);

#endif
