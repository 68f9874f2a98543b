/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tracer - follows one packet through an iptables-restore payload (test
 * helper). Pure: no I/O. Calls apiwatch/k8s for addresses, proxy/strbuf,
 * proxy/errbuf and proxy/xalloc.
 *
 * tracer_new() parses the text kproxy hands to iptables-restore into tables,
 * chains and rules, refusing what iptables-restore would refuse (unknown
 * options, undeclared chains, missing COMMIT, ...). tracer_trace() then walks
 * a packet the way kube-proxy's packet-flow tests do, which is a model of the
 * kernel, not the kernel:
 *   1. nat KPROXY-SERVICES, with its NodePort tail into KPROXY-NODEPORTS;
 *   2. if a DNAT happened, the destination address becomes the first
 *      endpoint's (the port stays the service port);
 *   3. filter KPROXY-SERVICES, KPROXY-EXTERNAL-SERVICES, KPROXY-NODEPORTS and
 *      KPROXY-FIREWALL, run directly in that order (so conntrack guards in the
 *      base chains do not apply).
 * A jump to KPROXY-MARK-MASQ marks the packet for masquerade and the walk goes
 * on. A jump with -m statistic does not end the calling chain even when the
 * chain it entered ended in a DNAT, so every endpoint a service could pick is
 * reported. Rules that test history the tracer does not keep (-m mark,
 * -m conntrack) never match; -m recent --rcheck/--update match a source put
 * in that list with tracer_recent_add() (whatever --seconds says), and
 * -m recent --set, -i and -o are ignored. addrtype LOCAL is true for 127.0.0.0/8, ::1 and the
 * addresses given to tracer_set_local_ips().
 */
#ifndef KPROXY_TEST_TRACER_H
#define KPROXY_TEST_TRACER_H

#include <stddef.h>

#include "proxy/errbuf.h"

/*
 * A trace gives up with "LOOP" beyond this many nested jumps, or this many
 * matched rules (a fan-out of random jumps).
 */
#define TRACER_MAX_DEPTH   64
#define TRACER_MAX_MATCHES 65536

struct tracer;

/*
 * Parses payload. Returns a new tracer freed with tracer_free(), or NULL with
 * err (may be NULL) set to "line N: <what>", e.g.
 * `line 7: jump to undeclared chain "KPROXY-SVC-X"` or
 * `end of input: table "nat" has no COMMIT`.
 */
struct tracer *tracer_new(const char *payload, struct errbuf *err);
void tracer_free(struct tracer *t);

/*
 * Replaces the node's addresses (besides 127.0.0.0/8 and ::1, which are always
 * LOCAL). Returns 0, or -EINVAL if one is not an address (nothing changes).
 */
int tracer_set_local_ips(struct tracer *t, const char *const *ips, size_t n);

/*
 * Puts src_ip in the xt_recent list called name, as if it had connected
 * within the list's timeout: a --rcheck or --update of that list then matches
 * packets from it. Returns 0, or -EINVAL if src_ip is not an address.
 */
int tracer_recent_add(struct tracer *t, const char *name, const char *src_ip);

/*
 * Traces one packet (proto "tcp", "udp" or "sctp"). Returns a new string the
 * caller frees, one of:
 *   "10.180.0.1:80, 10.180.0.2:80"  every DNAT reached, in rule order, joined
 *       with ", "; " masq" is appended when KPROXY-MARK-MASQ was reached;
 *   "DROP", "REJECT"  a filter verdict (it wins over a DNAT);
 *   "ACCEPT"  a filter ACCEPT without a DNAT (after one, the endpoints);
 *   "NONE"    no DNAT and no verdict: the packet passes untouched;
 *   "LOOP"    more than TRACER_MAX_DEPTH nested jumps or TRACER_MAX_MATCHES
 *       matched rules;
 *   "ERROR: ..."  src_ip, dst_ip or dport is not valid.
 */
char *tracer_trace(struct tracer *t, const char *src_ip, const char *dst_ip, const char *proto,
		   unsigned dport);

/*
 * Returns the rules the last trace matched, one per line as "table: rule"
 * (borrowed, valid until the next trace), for failure messages.
 */
const char *tracer_matches(const struct tracer *t);

#endif
