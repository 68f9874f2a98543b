/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server - small HTTP servers on kproxy's loop (edge: sockets), built on
 * libmicrohttpd in external-epoll mode. Used for /healthz, /metrics and the
 * per-service health-check node ports. Every server bounds its connections,
 * their memory and their idle time, so a slow or hostile client cannot starve
 * the others.
 */
#ifndef KPROXY_SERVER_H
#define KPROXY_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"
#include "proxy/loop.h"
#include "proxy/strbuf.h"

#define SERVER_MAX_CONNECTIONS 256
/* One client cannot take more than this: a slow one does not starve the others. */
#define SERVER_MAX_CONNECTIONS_PER_IP 8
#define SERVER_CONNECTION_TIMEOUT_S   10
#define SERVER_CONNECTION_MEMORY      (16u << 10)
/* Time a client has to send a request's headers (see server.c). */
#define SERVER_HEADER_DEADLINE_S 5

struct server_request {
	const char *method;
	const char *path;
	bool pending; /* the query string has "pending" (for /debug/rules?pending=1) */
};

/* What a handler fills; body starts empty, content_type defaults to text/plain. */
struct server_response {
	unsigned status;
	const char *content_type;
	struct strbuf body;
};

typedef void (*server_handler)(const struct server_request *req, struct server_response *resp,
			       void *arg);

struct server;

/*
 * Listens on addr:port (addr NULL: every IPv4 address; port 0: any) and calls
 * handler for every GET or HEAD request. Returns NULL with err (which names the
 * address) when the port cannot be bound.
 */
struct server *server_new(struct loop *l, const struct k8s_addr *addr, uint16_t port,
			  server_handler handler, void *arg, struct errbuf *err);
void server_free(struct server *s);
/* The port it listens on (useful with port 0). */
uint16_t server_port(const struct server *s);
/*
 * Over all servers: connections refused to keep descriptors free, and
 * connections shut down for not sending their headers within
 * SERVER_HEADER_DEADLINE_S.
 */
void server_stats(unsigned long long *refused, unsigned long long *cut);

#endif
