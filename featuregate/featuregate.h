/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * featuregate - the table of kproxy's feature gates and the parser of
 * --feature-gates. Pure: no I/O, no dependencies beyond errbuf.
 *
 * Semantics follow Kubernetes: "Name=true,Other=false", names case-sensitive,
 * whitespace around names and values ignored (Go's strings.TrimSpace: ASCII
 * and Unicode spaces), empty items ("A=true,,B=false", "") skipped but a blank
 * one ("A=true, ") an error, a repeated name takes its last value, AllAlpha and
 * AllBeta set every alpha/beta gate that neither this value nor an earlier one
 * set (by name or by AllAlpha/AllBeta), and a locked gate cannot be set to the
 * opposite of its default. Stricter than Kubernetes in one point: a value is
 * exactly true or false (Kubernetes also takes 1, t, TRUE, True, 0, f, ...).
 */
#ifndef KPROXY_FEATUREGATE_H
#define KPROXY_FEATUREGATE_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/errbuf.h"
#include "proxy/strbuf.h"

enum featuregate_id {
	/* 1.4 service.alpha.kubernetes.io/external-traffic annotation honoured. */
	FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS,
	/* LoadBalancer ingress with ipMode Proxy gets no VIP rules. */
	FEATUREGATE_LOADBALANCER_IP_MODE,
	/* Serving+terminating endpoints used when no ready ones exist. */
	FEATUREGATE_PROXY_TERMINATING_ENDPOINTS,
	/* spec.internalTrafficPolicy honoured. */
	FEATUREGATE_SERVICE_INTERNAL_TRAFFIC_POLICY,
	/* Stale UDP conntrack entries are deleted after endpoints change. */
	FEATUREGATE_UDP_CONNTRACK_CLEANUP,
	FEATUREGATE_COUNT,
};

enum featuregate_stage {
	FEATUREGATE_ALPHA,
	FEATUREGATE_BETA,
	FEATUREGATE_GA,
	FEATUREGATE_DEPRECATED,
};

struct featuregate_spec {
	const char *name;
	enum featuregate_stage stage;
	bool default_on;
	bool locked;
};

/**
 * struct featuregate_set - the state of every gate.
 * @given: the gate got its value from a --feature-gates value (by name or by
 *	AllAlpha/AllBeta); a later AllAlpha/AllBeta leaves it alone.
 */
struct featuregate_set {
	bool enabled[FEATUREGATE_COUNT];
	bool given[FEATUREGATE_COUNT];
};

/* Fills set with every gate's default. */
void featuregate_init(struct featuregate_set *set);

/*
 * Applies a --feature-gates value on top of set (each repeated flag is one
 * call). On error set is unchanged, -EINVAL is returned and err names the gate
 * or value, then lists the known gates (as featuregate_format_known()).
 */
int featuregate_parse(struct featuregate_set *set, const char *spec, struct errbuf *err);

bool featuregate_enabled(const struct featuregate_set *set, enum featuregate_id id);

/* Returns the table entry of a gate (borrowed, static). */
const struct featuregate_spec *featuregate_spec(enum featuregate_id id);

/* Appends one line per known gate: "Name=true|false (STAGE - default=false)",
 * including AllAlpha and AllBeta, sorted by name. */
void featuregate_format_known(struct strbuf *out);

/* Appends the current state, "Name=true,Other=false", sorted by name. */
void featuregate_format(const struct featuregate_set *set, struct strbuf *out);

const char *featuregate_stage_name(enum featuregate_stage stage);

#endif
