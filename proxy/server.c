// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libmicrohttpd runs without threads here: it hands us one epoll fd, which
 * the loop watches, and a timeout, which a loop timer follows. Each turn we
 * let it do what is ready and re-arm the timer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "proxy/server.h"
#include "proxy/xalloc.h"

struct server {
	struct loop *loop;
	struct MHD_Daemon *daemon;
	int epfd;
	struct loop_timer *timer;
	server_handler handler;
	void *arg;
	uint16_t port;
};

static void run(struct server *s)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(s->daemon);
	if (MHD_get_timeout(s->daemon, &ms) == MHD_YES)
		loop_timer_arm(s->timer, ms);
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

	(void)version;
	(void)upload_data;
	(void)con_cls;
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
	s->daemon = MHD_start_daemon(flags, port, NULL, NULL, answer, s, MHD_OPTION_SOCK_ADDR,
				     (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
				     (unsigned)SERVER_MAX_CONNECTIONS,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				     (unsigned)SERVER_MAX_CONNECTIONS_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
				     (unsigned)SERVER_CONNECTION_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				     (size_t)SERVER_CONNECTION_MEMORY, MHD_OPTION_END);
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
	loop_timer_free(s->timer);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	free(s);
}

uint16_t server_port(const struct server *s)
{
	return s->port;
}
