// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmicrohttpd runs without threads here: it hands us one epoll fd, which
 * the loop watches, and a timeout, which a loop timer follows. Each turn we
 * let it do what is ready and re-arm the timer.
 *
 * On top of libmicrohttpd's limits (connections in all and per client IP,
 * memory, idle time), two of our own:
 *  - a header deadline: a client has SERVER_HEADER_DEADLINE_S from its
 *    connection (or the end of its previous response) to send a request's
 *    headers; libmicrohttpd's idle timeout restarts with every byte, so a
 *    client trickling a header a byte at a time (slowloris) would otherwise
 *    hold its slot for ever. Overdue connections are shut down, which
 *    libmicrohttpd then sees and closes.
 *  - descriptors: a connection is refused while fewer than half of
 *    fdlimit_reserve() descriptors are free, so clients cannot take the ones
 *    kproxy needs to run iptables-restore.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "proxy/fdlimit.h"
#include "proxy/server.h"
#include "proxy/xalloc.h"

/**
 * struct conn - one open connection, while libmicrohttpd has it.
 * @since_ms: when its current request began (connection or last response).
 * @responding: its request's headers are in: no deadline until it is answered.
 * @cut: shut down for missing the deadline; closing.
 */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t since_ms;
	bool responding;
	bool cut;
};

struct server {
	struct loop *loop;
	struct MHD_Daemon *daemon;
	int epfd;
	struct loop_timer *timer;
	struct conn *conns;
	server_handler handler;
	void *arg;
	uint16_t port;
};

/* Totals over every server (they all run on the one loop). */
static unsigned long long refused_total, cut_total;

/*
 * Shuts down the connections that did not send their headers in time;
 * returns the ms until the next deadline (UINT64_MAX: none).
 */
static uint64_t sweep(struct server *s)
{
	uint64_t now = loop_now_ms(), next = UINT64_MAX;
	uint64_t deadline = SERVER_HEADER_DEADLINE_S * 1000u;
	struct conn *c;

	for (c = s->conns; c; c = c->next) {
		if (c->responding || c->cut || c->fd < 0)
			continue;
		if (now - c->since_ms >= deadline) {
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
			cut_total++;
		} else if (deadline - (now - c->since_ms) < next) {
			next = deadline - (now - c->since_ms);
		}
	}
	return next;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);

		c = xcalloc(1, sizeof(*c));
		c->fd = info ? info->connect_fd : -1;
		c->since_ms = loop_now_ms();
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		*socket_context = c;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && c) {
		if (c->prev)
			c->prev->next = c->next;
		else
			s->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		free(c);
		*socket_context = NULL;
	}
}

static struct conn *conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/* A response went out: the connection's next request has its own deadline. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct conn *c = conn_of(mc);

	(void)cls;
	(void)con_cls;
	(void)code;
	if (!c)
		return;
	c->responding = false;
	c->since_ms = loop_now_ms();
}

/* Refuses connections that would eat into the descriptors kproxy keeps for itself. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct server *s = cls;
	size_t limit = fdlimit_limit();
	size_t used = fdlimit_lowest_free(s->epfd);

	(void)addr;
	(void)addrlen;
	if (limit != (size_t)-1 && used + fdlimit_reserve(limit) / 2 > limit) {
		refused_total++;
		return MHD_NO;
	}
	return MHD_YES;
}

static void run(struct server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t next;

	MHD_run(s->daemon);
	next = sweep(s);
	if (MHD_get_timeout(s->daemon, &ms) == MHD_YES && ms < next)
		next = ms;
	if (next != UINT64_MAX)
		loop_timer_arm(s->timer, next);
	else
		loop_timer_disarm(s->timer);
}

static void on_ready(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	run(arg);
}

static void on_timer(void *arg)
{
	run(arg);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct server_request req;
	struct server_response resp;
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct conn *c;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	c = conn_of(conn);
	if (c)
		c->responding = true;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return MHD_NO;
	/* GET has no body; anything uploaded is refused by closing. */
	if (*upload_data_size)
		return MHD_NO;
	req.method = method;
	req.path = url;
	req.pending = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "pending") != NULL;
	resp.status = 200;
	resp.content_type = "text/plain; charset=utf-8";
	strbuf_init(&resp.body);
	s->handler(&req, &resp, s->arg);
	r = MHD_create_response_from_buffer(resp.body.len, (void *)strbuf_str(&resp.body),
					    MHD_RESPMEM_MUST_COPY);
	strbuf_fini(&resp.body);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", resp.content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(conn, resp.status, r);
	MHD_destroy_response(r);
	return ret;
}

struct server *server_new(struct loop *l, const struct k8s_addr *addr, uint16_t port,
			  server_handler handler, void *arg, struct errbuf *err)
{
	struct server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	char text[K8S_ADDR_STRLEN] = "0.0.0.0";

	memset(&ss, 0, sizeof(ss));
	if (addr && addr->family == K8S_FAMILY_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->bytes, 16);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (addr)
			memcpy(&sin->sin_addr, addr->bytes, 4);
	}
	if (addr)
		k8s_addr_format(addr, text);
	s->loop = l;
	s->handler = handler;
	s->arg = arg;
	s->epfd = -1;
	errno = 0;
	s->daemon = MHD_start_daemon(
		flags, port, accept_policy, s, answer, s, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)SERVER_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)SERVER_MAX_CONNECTIONS_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)SERVER_CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)SERVER_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		errbuf_set(err, "cannot listen on %s:%u: %s", text, port,
			   errno ? strerror(errno) : "address in use or not local");
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	s->epfd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	s->timer = loop_timer_new(l, on_timer, s);
	if (s->epfd < 0 || !s->timer || loop_fd_add(l, s->epfd, EPOLLIN, on_ready, s) < 0) {
		errbuf_set(err, "cannot serve on %s:%u: %s", text, port, strerror(errno));
		goto fail;
	}
	return s;
fail:
	server_free(s);
	return NULL;
}

void server_free(struct server *s)
{
	if (!s)
		return;
	if (s->epfd >= 0)
		loop_fd_del(s->loop, s->epfd);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	/* MHD_stop_daemon() closed them all, so the list is empty. */
	loop_timer_free(s->timer);
	free(s);
}

uint16_t server_port(const struct server *s)
{
	return s->port;
}

void server_stats(unsigned long long *refused, unsigned long long *cut)
{
	*refused = refused_total;
	*cut = cut_total;
}
