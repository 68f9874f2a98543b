/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdlimit - kproxy's file descriptor budget.
 *
 * kproxy needs descriptors for its own work at any moment: the pipes and
 * pidfd of an iptables-restore child, the state file, API connections,
 * conntrack's netlink socket. Health-check listeners (three descriptors
 * each) and HTTP connections are optional by comparison: they are opened
 * only while a reserve stays free for the rest, so running out of
 * descriptors costs health checks, never the rules.
 *
 * The pure half computes the reserve; the edge half reads the limit and the
 * count of open descriptors.
 */
#ifndef KPROXY_FDLIMIT_H
#define KPROXY_FDLIMIT_H

#include <stddef.h>

#include "proxy/errbuf.h"

/* Descriptors one health-check listener takes: socket, epoll fd, timerfd. */
#define FDLIMIT_PER_LISTENER 3

/*
 * The descriptors kept free for kproxy's own work under a limit of limit:
 * 64, or a quarter of the limit when that is smaller, but never under 8.
 */
size_t fdlimit_reserve(size_t limit);

/*
 * Whether n more descriptors may be opened with in_use open under limit,
 * keeping fdlimit_reserve(limit) free.
 */
int fdlimit_allows(size_t limit, size_t in_use, size_t n);

/*
 * Raises the soft RLIMIT_NOFILE to the hard one (as Go programs, kube-proxy
 * among them, do at start). Returns 0 and sets *limit to the soft limit now
 * in force, or -1 with err.
 */
int fdlimit_raise(size_t *limit, struct errbuf *err);

/* The soft RLIMIT_NOFILE. */
size_t fdlimit_limit(void);

/* The number of descriptors open in this process (from /proc/self/fd), or SIZE_MAX if unknown. */
size_t fdlimit_in_use(void);

/*
 * A cheap lower bound of the descriptors in use: the lowest free descriptor
 * number (every lower one is open), probed with F_DUPFD of any_fd; 0 on
 * error. Used per accepted connection, where reading /proc is too slow.
 */
size_t fdlimit_lowest_free(int any_fd);

#endif
