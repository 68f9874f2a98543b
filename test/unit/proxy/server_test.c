// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for proxy/server with hostile clients: a real server on 127.0.0.1
 * (port 0) runs its loop in a thread of its own while the test talks to it
 * over TCP. GET and HEAD reach the handler and unknown paths get its 404;
 * a POST, a request line of 100 kB and a request of 1000 headers never reach
 * it and get no 200, and the server answers normally afterwards; a slowloris
 * client sending one byte every 200 ms does not delay 20 normal requests;
 * slowloris clients holding every slot one client IP may have (a byte every
 * 500 ms, never finishing the headers) are cut at the header deadline, and
 * the slots serve again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "apiwatch/k8s.h"
#include "proxy/loop.h"
#include "proxy/server.h"
#include "proxy/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A client gives up on a silent server after this long (a hostile one sooner). */
#define CLIENT_TIMEOUT_S  5
#define HOSTILE_TIMEOUT_S 1
#define HUGE_LINE	  (100u << 10)
#define MANY_HEADERS	  1000
#define SLOW_BYTE_MS	  200
#define SLOW_BYTES	  20
#define NORMAL_REQUESTS	  20
/* The 20 normal requests must all be answered within this. */
#define NORMAL_DEADLINE_MS 3000

/**
 * struct fixture - one server and the thread that runs its loop.
 * @stop: the test writes to stop[1]; the loop then stops.
 * @calls: requests that reached the handler; @pending: of them with ?pending.
 */
struct fixture {
	struct loop *loop;
	struct server *server;
	pthread_t thread;
	int stop[2];
	uint16_t port;
	atomic_int calls;
	atomic_int pending;
};

static const struct route {
	const char *path;
	const char *body;
} routes[] = {
	{ "/healthz", "ok\n" },
	{ "/metrics", "kproxy_up 1\n" },
};

/* A route table like admin's: known paths answer 200 with their body, others 404. */
static void handler(const struct server_request *req, struct server_response *resp, void *arg)
{
	struct fixture *f = arg;
	size_t i;

	atomic_fetch_add(&f->calls, 1);
	if (req->pending)
		atomic_fetch_add(&f->pending, 1);
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		if (strcmp(routes[i].path, req->path) == 0) {
			strbuf_adds(&resp->body, routes[i].body);
			return;
		}
	}
	resp->status = 404;
	strbuf_adds(&resp->body, "404 page not found\n");
}

static void on_stop(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	loop_stop(arg);
}

static void *run_loop(void *arg)
{
	struct fixture *f = arg;

	loop_run(f->loop);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct k8s_addr lo;
	struct errbuf err;

	assert_non_null(f);
	assert_true(k8s_addr_parse("127.0.0.1", &lo));
	f->loop = loop_new();
	assert_non_null(f->loop);
	f->server = server_new(f->loop, &lo, 0, handler, f, &err);
	if (!f->server)
		fail_msg("server_new: %s", err.msg);
	f->port = server_port(f->server);
	assert_int_not_equal(f->port, 0);
	assert_int_equal(pipe(f->stop), 0);
	assert_int_equal(loop_fd_add(f->loop, f->stop[0], EPOLLIN, on_stop, f->loop), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, run_loop, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(write(f->stop[1], "x", 1), 1);
	pthread_join(f->thread, NULL);
	loop_fd_del(f->loop, f->stop[0]);
	server_free(f->server);
	loop_free(f->loop);
	close(f->stop[0]);
	close(f->stop[1]);
	free(f);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int client_connect(const struct fixture *f, int timeout_s)
{
	struct timeval tv = { timeout_s, 0 };
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Sends what it can: a server may close the connection halfway through a hostile request. */
static void send_all(int fd, const char *data, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, data, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		data += w;
		n -= (size_t)w;
	}
}

/**
 * struct reply - what came back on one connection until the server closed it.
 * @status: the HTTP status, 0 when the connection closed without an answer,
 *	-1 when the server kept silent until the client gave up.
 * @body: the bytes after the header block.
 */
struct reply {
	int status;
	struct strbuf raw;
	const char *body;
};

static void read_reply(int fd, struct reply *r)
{
	char buf[4096];
	const char *p;
	ssize_t n;

	strbuf_init(&r->raw);
	r->status = 0;
	r->body = NULL;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r->status = -1;
			return;
		}
		if (n <= 0)
			break;
		strbuf_add(&r->raw, buf, (size_t)n);
	}
	p = strbuf_str(&r->raw);
	if (strncmp(p, "HTTP/1.", 7) == 0 && r->raw.len >= 12)
		r->status = atoi(p + 9);
	p = strstr(p, "\r\n\r\n");
	r->body = p ? p + 4 : "";
}

/* Sends one request on a new connection and reads the reply until the server closes. */
static void request(const struct fixture *f, const char *text, size_t len, int timeout_s,
		    struct reply *r)
{
	int fd = client_connect(f, timeout_s);

	send_all(fd, text, len);
	/* Say that nothing more comes, so that an incomplete request cannot hang. */
	shutdown(fd, SHUT_WR);
	read_reply(fd, r);
	close(fd);
}

static int get_status(const struct fixture *f, const char *method, const char *path,
		      struct reply *r)
{
	char text[512];
	int n;

	n = snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
		     method, path);
	request(f, text, (size_t)n, CLIENT_TIMEOUT_S, r);
	return r->status;
}

/* The server still answers a plain GET after a hostile request. */
static void assert_still_serving(const struct fixture *f)
{
	struct reply r;

	assert_int_equal(get_status(f, "GET", "/healthz", &r), 200);
	assert_string_equal(r.body, "ok\n");
	strbuf_fini(&r.raw);
}

static const struct get_case {
	const char *method;
	const char *path;
	int status;
	const char *body;
	int pending;
} get_cases[] = {
	{ "GET", "/healthz", 200, "ok\n", 0 },
	{ "GET", "/metrics", 200, "kproxy_up 1\n", 0 },
	{ "GET", "/debug/rules?pending=1", 404, "404 page not found\n", 1 },
	{ "GET", "/nope", 404, "404 page not found\n", 0 },
	{ "GET", "/healthz/", 404, "404 page not found\n", 0 },
	{ "GET", "/%00", 404, "404 page not found\n", 0 },
	{ "GET", "/../../etc/passwd", 404, "404 page not found\n", 0 },
	{ "HEAD", "/healthz", 200, "", 0 },
	{ "HEAD", "/nope", 404, "", 0 },
};

static void test_get_head_and_404(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(get_cases); i++) {
		const struct get_case *c = &get_cases[i];
		int pending = atomic_load(&f->pending);

		print_message("%s %s\n", c->method, c->path);
		assert_int_equal(get_status(f, c->method, c->path, &r), c->status);
		assert_string_equal(r.body, c->body);
		assert_int_equal(atomic_load(&f->pending) - pending, c->pending);
		strbuf_fini(&r.raw);
	}
}

/* A HEAD answer announces the GET body's length without sending it. */
static void test_head_content_length(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	assert_int_equal(get_status(f, "HEAD", "/healthz", &r), 200);
	assert_non_null(strstr(strbuf_str(&r.raw), "Content-Length: 3\r\n"));
	assert_string_equal(r.body, "");
	strbuf_fini(&r.raw);
}

/**
 * struct hostile_case - a malformed request.
 * @refused: it must not reach the handler nor get a 2xx; otherwise libmicrohttpd
 *	may be lenient (it answers HTTP/1.1 without Host, and a path with a NUL
 *	as the path up to the NUL), and all that counts is that the server goes
 *	on serving.
 */
static const struct hostile_case {
	const char *name;
	const char *text;
	size_t len; /* 0: strlen(text) */
	bool refused;
} hostile_cases[] = {
	{ "POST with a body",
	  "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
	  "hello world",
	  0, true },
	{ "POST without a body",
	  "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 0,
	  true },
	{ "PUT", "PUT /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi", 0, true },
	{ "DELETE", "DELETE /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0, true },
	{ "chunked POST",
	  "POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "5\r\nhello\r\n0\r\n\r\n",
	  0, true },
	{ "TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 0, true },
	{ "bad version", "GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n", 0, true },
	{ "nul in the path", "GET /heal\0thz HTTP/1.1\r\nHost: t\r\n\r\n",
	  sizeof("GET /heal\0thz HTTP/1.1\r\nHost: t\r\n\r\n") - 1, false },
	{ "incomplete", "GET /healthz HTTP/1.1\r\nHost: t\r\n", 0, true },
	{ "header without a colon", "GET /healthz HTTP/1.1\r\nHost: t\r\nnonsense\r\n\r\n", 0,
	  false },
	{ "no host", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 0, false },
	{ "bare newlines", "GET /healthz HTTP/1.1\nHost: t\nConnection: close\n\n", 0, false },
	{ "HTTP/1.0", "GET /healthz HTTP/1.0\r\n\r\n", 0, false },
};

/* Malformed requests: the refused ones get no 2xx and no handler call; the server goes on. */
static void test_hostile_requests(void **state)
{
	struct fixture *f = *state;
	struct reply r;
	size_t i;
	int calls;

	for (i = 0; i < ARRAY_SIZE(hostile_cases); i++) {
		const struct hostile_case *c = &hostile_cases[i];

		calls = atomic_load(&f->calls);
		request(f, c->text, c->len ? c->len : strlen(c->text), HOSTILE_TIMEOUT_S, &r);
		print_message("%s: %d\n", c->name, r.status);
		if (c->refused) {
			assert_true(r.status < 200 || r.status >= 300);
			assert_int_equal(atomic_load(&f->calls), calls);
		}
		strbuf_fini(&r.raw);
		assert_still_serving(f);
	}
}

/* A request line of 100 kB is refused (414 or a closed connection), not buffered. */
static void test_huge_request_line(void **state)
{
	struct fixture *f = *state;
	struct strbuf sb = STRBUF_INIT;
	struct reply r;
	size_t i;

	strbuf_adds(&sb, "GET /");
	for (i = 0; i < HUGE_LINE; i++)
		strbuf_addc(&sb, 'a');
	strbuf_adds(&sb, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	request(f, strbuf_str(&sb), sb.len, CLIENT_TIMEOUT_S, &r);
	print_message("status %d\n", r.status);
	assert_true(r.status == 0 || r.status == 414 || (r.status >= 400 && r.status < 500));
	assert_int_equal(atomic_load(&f->calls), 0);
	strbuf_fini(&r.raw);
	strbuf_fini(&sb);
	assert_still_serving(f);
}

/* 1000 header lines overflow the connection's memory: refused, not a crash. */
static void test_many_headers(void **state)
{
	struct fixture *f = *state;
	struct strbuf sb = STRBUF_INIT;
	struct reply r;
	int i;

	strbuf_adds(&sb, "GET /healthz HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < MANY_HEADERS; i++)
		strbuf_addf(&sb, "X-Header-%d: value-%d\r\n", i, i);
	strbuf_adds(&sb, "Connection: close\r\n\r\n");
	request(f, strbuf_str(&sb), sb.len, CLIENT_TIMEOUT_S, &r);
	print_message("status %d\n", r.status);
	assert_true(r.status == 0 || (r.status >= 400 && r.status < 500));
	assert_int_equal(atomic_load(&f->calls), 0);
	strbuf_fini(&r.raw);
	strbuf_fini(&sb);
	assert_still_serving(f);
}

struct slow_client {
	const struct fixture *f;
	atomic_int sent;
};

static void *slowloris(void *arg)
{
	static const char text[] = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct slow_client *s = arg;
	struct timespec pause = { 0, SLOW_BYTE_MS * 1000000L };
	int fd = client_connect(s->f, CLIENT_TIMEOUT_S), i;

	for (i = 0; i < SLOW_BYTES; i++) {
		send_all(fd, &text[i], 1);
		atomic_fetch_add(&s->sent, 1);
		nanosleep(&pause, NULL);
	}
	close(fd);
	return NULL;
}

/* One byte every 200 ms on one connection does not hold up the others. */
static void test_slowloris(void **state)
{
	struct fixture *f = *state;
	struct slow_client s = { f, 0 };
	struct timespec pause = { 0, 10 * 1000000L };
	struct reply r;
	pthread_t thread;
	uint64_t start, took;
	int i;

	assert_int_equal(pthread_create(&thread, NULL, slowloris, &s), 0);
	/* Start once the slow request is under way. */
	while (atomic_load(&s.sent) < 2)
		nanosleep(&pause, NULL);
	start = now_ms();
	for (i = 0; i < NORMAL_REQUESTS; i++) {
		assert_int_equal(get_status(f, "GET", "/healthz", &r), 200);
		assert_string_equal(r.body, "ok\n");
		strbuf_fini(&r.raw);
	}
	took = now_ms() - start;
	print_message("%d requests in %llu ms while %d slow bytes were sent\n", NORMAL_REQUESTS,
		      (unsigned long long)took, atomic_load(&s.sent));
	assert_true(took < NORMAL_DEADLINE_MS);
	/* They were all answered while the slow request was still coming in. */
	assert_true(atomic_load(&s.sent) < SLOW_BYTES);
	pthread_join(thread, NULL);
	assert_int_equal(atomic_load(&f->calls), NORMAL_REQUESTS);
}

/*
 * SERVER_MAX_CONNECTIONS_PER_IP connections trickle a header forever: the
 * server refuses a further one from the same IP, then cuts the slow ones at
 * SERVER_HEADER_DEADLINE_S (libmicrohttpd's idle timeout alone would never
 * fire: every byte restarts it) and serves again.
 */
static void test_header_deadline(void **state)
{
	struct fixture *f = *state;
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ";
	struct timespec pause = { 0, 500 * 1000000L };
	int fds[SERVER_MAX_CONNECTIONS_PER_IP];
	bool open[SERVER_MAX_CONNECTIONS_PER_IP];
	size_t i, n_open = SERVER_MAX_CONNECTIONS_PER_IP;
	uint64_t start = now_ms();
	struct reply r;
	char buf[64];

	for (i = 0; i < SERVER_MAX_CONNECTIONS_PER_IP; i++) {
		fds[i] = client_connect(f, CLIENT_TIMEOUT_S);
		send_all(fds[i], head, sizeof(head) - 1);
		open[i] = true;
	}
	nanosleep(&pause, NULL);
	/* Every slot of 127.0.0.1 is taken: a normal request is closed unanswered. */
	assert_int_equal(get_status(f, "GET", "/healthz", &r), 0);
	strbuf_fini(&r.raw);
	while (n_open > 0 && now_ms() - start < (SERVER_HEADER_DEADLINE_S + 5) * 1000u) {
		for (i = 0; i < SERVER_MAX_CONNECTIONS_PER_IP; i++) {
			ssize_t got;

			if (!open[i])
				continue;
			got = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
			    send(fds[i], "x", 1, MSG_NOSIGNAL) < 0) {
				open[i] = false;
				n_open--;
				close(fds[i]);
			}
		}
		nanosleep(&pause, NULL);
	}
	print_message("%zu slow connections cut after %llu ms\n",
		      (size_t)SERVER_MAX_CONNECTIONS_PER_IP - n_open,
		      (unsigned long long)(now_ms() - start));
	for (i = 0; i < SERVER_MAX_CONNECTIONS_PER_IP; i++)
		if (open[i])
			close(fds[i]);
	assert_int_equal(n_open, 0);
	/* Not before the deadline: they sent bytes all along. */
	assert_true(now_ms() - start >= SERVER_HEADER_DEADLINE_S * 1000u);
	assert_still_serving(f);
	assert_int_equal(atomic_load(&f->calls), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_head_and_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_request_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slowloris, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_deadline, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
