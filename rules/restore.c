// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A child is three pipes and a pidfd on the loop. It is done when it has
 * exited and both of its output pipes reached end of file, so nothing it
 * printed is lost. Write errors on stdin (EPIPE: the child quit early) are
 * not errors of ours: its exit status says what went wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rules/restore.h"
#include "proxy/xalloc.h"

extern char **environ;

struct restore_child {
	struct loop *loop;
	pid_t pid;
	int pidfd;
	int in_fd;
	int out_fd;
	int err_fd;
	const char *input;
	size_t len;
	size_t written;
	struct strbuf out;
	struct strbuf err;
	bool exited;
	bool timed_out;
	int status;
	uint64_t started;
	struct loop_timer *timer;
	restore_done_cb done;
	void *arg;
	bool reported;
};

static void close_fd(struct restore_child *c, int *fd)
{
	if (*fd < 0)
		return;
	loop_fd_del(c->loop, *fd);
	close(*fd);
	*fd = -1;
}

static void maybe_done(struct restore_child *c)
{
	struct restore_result res;

	if (c->reported || !c->exited || c->out_fd >= 0 || c->err_fd >= 0)
		return;
	c->reported = true;
	loop_timer_disarm(c->timer);
	res.status = c->status;
	res.timed_out = c->timed_out;
	res.out = &c->out;
	res.err = &c->err;
	res.elapsed_ms = loop_now_ms() - c->started;
	c->done(&res, c->arg);
}

static void on_input(int fd, uint32_t events, void *arg)
{
	struct restore_child *c = arg;
	ssize_t n;

	(void)events;
	while (c->written < c->len) {
		n = write(fd, c->input + c->written, c->len - c->written);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			break; /* EPIPE: the child stopped reading */
		}
		c->written += (size_t)n;
	}
	close_fd(c, &c->in_fd);
}

static void drain(struct restore_child *c, int *fd, struct strbuf *sb, size_t cap)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			if (sb->len + (size_t)n <= cap)
				strbuf_add(sb, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close_fd(c, fd);
		return;
	}
}

static void on_output(int fd, uint32_t events, void *arg)
{
	struct restore_child *c = arg;

	(void)events;
	if (fd == c->out_fd)
		drain(c, &c->out_fd, &c->out, RESTORE_MAX_STDOUT);
	else
		drain(c, &c->err_fd, &c->err, RESTORE_MAX_STDERR);
	maybe_done(c);
}

static void on_exit_event(int fd, uint32_t events, void *arg)
{
	struct restore_child *c = arg;
	siginfo_t si;

	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	c->exited = true;
	c->status = si.si_code == CLD_EXITED ? si.si_status : -1;
	close_fd(c, &c->pidfd);
	/* A child that exited cannot take more input. */
	close_fd(c, &c->in_fd);
	maybe_done(c);
}

static void on_timeout(void *arg)
{
	struct restore_child *c = arg;

	if (c->exited)
		return;
	c->timed_out = true;
	pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

struct restore_child *restore_child_start(struct loop *l, const char *const argv[],
					  const char *input, size_t len, uint64_t timeout_ms,
					  restore_done_cb done, void *arg)
{
	struct restore_child *c = xcalloc(1, sizeof(*c));
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int saved;

	/*
	 * A child that quits before reading all its input must make our write
	 * fail with EPIPE, not kill kproxy.
	 */
	signal(SIGPIPE, SIG_IGN);
	c->loop = l;
	c->pidfd = c->in_fd = c->out_fd = c->err_fd = -1;
	c->input = input;
	c->len = input ? len : 0;
	c->done = done;
	c->arg = arg;
	strbuf_init(&c->out);
	strbuf_init(&c->err);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	errno = posix_spawnp(&c->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (errno != 0)
		goto fail;
	c->started = loop_now_ms();
	close(in[0]);
	close(out[1]);
	close(err[1]);
	in[0] = out[1] = err[1] = -1;
	c->in_fd = in[1];
	c->out_fd = out[0];
	c->err_fd = err[0];
	c->pidfd = (int)pidfd_open(c->pid, 0);
	if (c->pidfd < 0) {
		saved = errno;
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		errno = saved;
		goto fail_started;
	}
	set_nonblock(c->in_fd);
	set_nonblock(c->out_fd);
	set_nonblock(c->err_fd);
	c->timer = loop_timer_new(l, on_timeout, c);
	if (!c->timer || loop_fd_add(l, c->pidfd, EPOLLIN, on_exit_event, c) < 0 ||
	    loop_fd_add(l, c->out_fd, EPOLLIN, on_output, c) < 0 ||
	    loop_fd_add(l, c->err_fd, EPOLLIN, on_output, c) < 0 ||
	    loop_fd_add(l, c->in_fd, EPOLLOUT, on_input, c) < 0) {
		saved = errno ? errno : ENOMEM;
		restore_child_free(c);
		errno = saved;
		return NULL;
	}
	if (timeout_ms)
		loop_timer_arm(c->timer, timeout_ms);
	return c;

fail:
	saved = errno;
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	errno = saved;
fail_started:
	saved = errno;
	if (c->in_fd >= 0)
		close(c->in_fd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	strbuf_fini(&c->out);
	strbuf_fini(&c->err);
	free(c);
	errno = saved;
	return NULL;
}

void restore_child_free(struct restore_child *c)
{
	if (!c)
		return;
	if (!c->exited && c->pidfd >= 0) {
		pidfd_send_signal(c->pidfd, SIGKILL, NULL, 0);
		waitpid(c->pid, NULL, 0);
	}
	close_fd(c, &c->pidfd);
	close_fd(c, &c->in_fd);
	close_fd(c, &c->out_fd);
	close_fd(c, &c->err_fd);
	loop_timer_free(c->timer);
	strbuf_fini(&c->out);
	strbuf_fini(&c->err);
	free(c);
}

struct sync_run {
	struct loop *loop;
	struct strbuf *out;
	struct strbuf *err;
	int status;
};

static void sync_done(const struct restore_result *res, void *arg)
{
	struct sync_run *s = arg;

	s->status = res->timed_out ? -1 : res->status;
	if (s->out)
		strbuf_add(s->out, strbuf_str(res->out), res->out->len);
	if (s->err)
		strbuf_add(s->err, strbuf_str(res->err), res->err->len);
	loop_stop(s->loop);
}

int restore_run_sync(const char *const argv[], const char *input, size_t len, uint64_t timeout_ms,
		     struct strbuf *out, struct strbuf *err)
{
	struct sync_run s = { 0 };
	struct restore_child *c;

	s.loop = loop_new();
	if (!s.loop)
		return -1;
	s.out = out;
	s.err = err;
	s.status = -1;
	c = restore_child_start(s.loop, argv, input, len, timeout_ms, sync_done, &s);
	if (c) {
		loop_run(s.loop);
		restore_child_free(c);
	} else if (err) {
		strbuf_addf(err, "%s: %s\n", argv[0], strerror(errno));
	}
	loop_free(s.loop);
	return s.status;
}

const char *restore_cmd(enum restore_backend b, const char *what)
{
	static const char *const names[2][3] = {
		[RESTORE_BACKEND_NFT] = { "iptables-nft-restore", "iptables-nft-save",
					  "iptables-nft" },
		[RESTORE_BACKEND_LEGACY] = { "iptables-legacy-restore", "iptables-legacy-save",
					     "iptables-legacy" },
	};
	int i = strcmp(what, "restore") == 0 ? 0 : strcmp(what, "save") == 0 ? 1 : 2;

	return names[b][i];
}

void restore_argv(enum restore_backend b, bool noflush, const char *argv[8])
{
	int i = 0;

	argv[i++] = restore_cmd(b, "restore");
	if (noflush)
		argv[i++] = "--noflush";
	argv[i++] = "--counters";
	/* Wait up to 5 s for the xtables lock (iptables 1.8.9 no longer takes -W). */
	argv[i++] = "-w";
	argv[i++] = "5";
	argv[i] = NULL;
}

/*
 * iptables-restore names the line it stopped at in three ways: "line 4
 * failed" (a command the kernel refused), "line 7: RULE_APPEND failed" (nft)
 * and "Error occurred at line: 4" (a line the parser refused). The first
 * "line" that stands as a word and is followed by an optional ':', blanks and
 * a number is the one.
 */
unsigned restore_failed_line(const char *err)
{
	const char *p;

	for (p = strstr(err, "line"); p; p = strstr(p + 4, "line")) {
		const char *q = p + 4;
		unsigned long n;
		char *end;

		if (p > err && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		if (*q == ':')
			q++;
		if (*q != ' ' && *q != '\t')
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (!isdigit((unsigned char)*q))
			continue;
		n = strtoul(q, &end, 10);
		if (n > 0 && n < 100000000)
			return (unsigned)n;
	}
	return 0;
}

void restore_context(const char *payload, unsigned line, struct strbuf *out)
{
	unsigned n = 1;
	const char *p = payload, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (n + 2 >= line && n <= line + 2)
			strbuf_addf(out, "%s%6u  %.*s\n", n == line ? "=>" : "  ", n,
				    (int)(nl - p > 300 ? 300 : nl - p), p);
		if (!*nl || n > line + 2)
			break;
		p = nl + 1;
		n++;
	}
}
