/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config - kproxy's command line: one static table of flags parsed with
 * getopt_long into struct config. Pure apart from reading the environment for
 * defaults (NODE_NAME) and gethostname(); prints nothing: errors come back in
 * an errbuf that names the flag, and main.c exits 2.
 */
#ifndef KPROXY_CONFIG_H
#define KPROXY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "apiwatch/k8s.h"
#include "featuregate/featuregate.h"
#include "proxy/errbuf.h"

#define CONFIG_MAX_CIDRS 64

enum config_backend {
	CONFIG_BACKEND_AUTO,
	CONFIG_BACKEND_NFT,
	CONFIG_BACKEND_LEGACY,
};

enum config_mode {
	CONFIG_MODE_RUN,     /* daemon */
	CONFIG_MODE_DRY_RUN, /* print one full payload and exit */
	CONFIG_MODE_CLEANUP, /* remove everything kproxy created and exit */
	CONFIG_MODE_HELP,
	CONFIG_MODE_VERSION,
};

/* An ADDR:PORT value; an empty flag value leaves enabled false (server off). */
struct config_hostport {
	bool enabled;
	struct k8s_addr addr;
	uint16_t port;
};

/**
 * struct config - every flag of the command-line contract, with defaults.
 * Durations are in milliseconds. Strings are owned and freed by config_fini().
 * @nodeport_primary: --nodeport-addresses=primary (the Node's own IPs).
 */
struct config {
	enum config_mode mode;
	char *master;
	char *kubeconfig;
	char *from_file;
	char *hostname;
	struct k8s_cidr cluster_cidrs[CONFIG_MAX_CIDRS];
	size_t n_cluster_cidrs;
	struct k8s_cidr nodeport_cidrs[CONFIG_MAX_CIDRS];
	size_t n_nodeport_cidrs;
	bool nodeport_primary;
	bool masquerade_all;
	unsigned masquerade_bit;
	bool localhost_nodeports;
	struct featuregate_set gates;
	uint64_t sync_period_ms;
	uint64_t min_sync_period_ms;
	unsigned dispatch_split;
	uint64_t restore_timeout_ms;
	enum config_backend backend;
	struct config_hostport healthz;
	struct config_hostport metrics;
	bool debug_handlers;
	int verbosity;
};

/* Fills cfg with the defaults of the contract. */
void config_init(struct config *cfg);
void config_fini(struct config *cfg);

/*
 * Parses argv into cfg (already initialised). Returns 0, or -EINVAL with a
 * message naming the flag in err. Reads NODE_NAME and the host name when
 * --hostname-override is absent.
 */
int config_parse_argv(struct config *cfg, int argc, char **argv, struct errbuf *err);

/* Prints --help: every flag with its argument, meaning and default. */
void config_usage(FILE *out);

/* Parses a Go duration ("1s", "500ms", "1m30s", "0") into milliseconds. */
int config_parse_duration(const char *s, uint64_t *ms);

#endif
