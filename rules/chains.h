/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chains - what the kernel holds of kproxy's rules: the KPROXY- chains of the
 * filter and nat tables and the jumps into them from the base chains.
 * chains_parse_save() is pure; chains_read_legacy() reads the kernel through
 * libiptc (no fork); on nft the sync engine runs `iptables-nft-save -t TABLE`
 * for each table (chains_save_argv(), through the loop) and parses the output,
 * and --cleanup runs them blocking (chains_read_save()).
 */
#ifndef KPROXY_CHAINS_H
#define KPROXY_CHAINS_H

#include "proxy/errbuf.h"
#include "proxy/strbuf.h"
#include "rules/restore.h"
#include "rules/rules.h"

/* Fills ex (zeroed first) from iptables-save text of the filter and nat tables,
 * the text of every rule that jumps into a KPROXY- chain included. */
void chains_parse_save(const char *text, struct rules_existing *ex);
/* Adds to ex (filled by this module, or zeroed) what iptables-save text holds. */
void chains_parse_save_add(const char *text, struct rules_existing *ex);

/* The tables kproxy reads with iptables-save: nat, then filter, one run each. */
#define CHAINS_SAVE_TABLES 2
/* Builds `iptables-nft-save -t TABLE` for the ith of them (i < CHAINS_SAVE_TABLES). */
void chains_save_argv(enum restore_backend b, size_t i, const char *argv[4]);
/*
 * Reads the filter and nat tables by running the backend's save command once
 * per table (blocking: for --cleanup). Returns 0 or -EIO with err.
 */
int chains_read_save(enum restore_backend b, uint64_t timeout_ms, struct rules_existing *ex,
		     struct errbuf *err);

/* Reads the legacy backend's filter and nat tables into ex. A table the kernel
 * does not have yet counts as empty. Returns 0 or a negative errno with err. */
int chains_read_legacy(struct rules_existing *ex, struct errbuf *err);

/**
 * struct chains_backend_facts - what the backend auto-detection looks at.
 * @kubelet_chain: kubelet's KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chain
 *	when the nft mangle table holds it, else NULL.
 * @nft_rules, @legacy_rules: the rules each backend holds.
 */
struct chains_backend_facts {
	const char *kubelet_chain;
	size_t nft_rules;
	size_t legacy_rules;
};

/*
 * Picks the backend the host uses, as kubelet's iptables wrapper does: nft
 * when kubelet's chain is in the nft mangle table, else whichever backend
 * holds more rules, else nft. Pure; why gets the reason.
 */
enum restore_backend chains_pick_backend(const struct chains_backend_facts *f, struct strbuf *why);

/* Returns the kubelet chain (a static string) declared in iptables-save text
 * of the mangle table, or NULL. Pure. */
const char *chains_kubelet_chain(const char *mangle_save);

/*
 * Gathers the facts by running the save commands (blocking; for start-up
 * only) and picks the backend with chains_pick_backend().
 */
enum restore_backend chains_detect_backend(struct strbuf *why);

/* Counts the rules ("-A" lines) in iptables-save text. */
size_t chains_count_rules(const char *save_text);

#endif
