// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Each watched fd has a small record; epoll hands it back in data.ptr. A
 * record deleted from inside a callback is only marked dead and freed after
 * the current batch of events, so a later event of the same batch never
 * touches freed memory.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "proxy/loop.h"
#include "proxy/xalloc.h"

struct watch {
	int fd;
	loop_fd_cb cb;
	void *arg;
	bool dead;
	struct watch *next; /* all watches, for lookup and deferred free */
};

struct loop {
	int epfd;
	bool stop;
	int depth; /* > 0 while dispatching */
	struct watch *watches;
	sigset_t sigmask;
	int sigfd;
	struct {
		loop_signal_cb cb;
		void *arg;
	} signals[65];
};

struct loop_timer {
	struct loop *loop;
	int fd;
	bool armed;
	loop_timer_cb cb;
	void *arg;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	return l;
}

static void reap_dead(struct loop *l)
{
	struct watch **pp = &l->watches, *w;

	while ((w = *pp) != NULL) {
		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void loop_free(struct loop *l)
{
	struct watch *w;

	if (!l)
		return;
	while ((w = l->watches) != NULL) {
		l->watches = w->next;
		free(w);
	}
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigmask, NULL);
	}
	close(l->epfd);
	free(l);
}

static struct watch *find(struct loop *l, int fd)
{
	struct watch *w;

	for (w = l->watches; w; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { 0 };
	struct watch *w = xcalloc(1, sizeof(*w));

	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.events = events;
	ev.data.ptr = w;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		free(w);
		return err;
	}
	w->next = l->watches;
	l->watches = w;
	return 0;
}

int loop_fd_mod(struct loop *l, int fd, uint32_t events)
{
	struct watch *w = find(l, fd);
	struct epoll_event ev = { 0 };

	if (!w)
		return -ENOENT;
	ev.events = events;
	ev.data.ptr = w;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void loop_fd_del(struct loop *l, int fd)
{
	struct watch *w = find(l, fd);

	if (!w)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	w->dead = true;
	if (l->depth == 0)
		reap_dead(l);
}

static void timer_ready(int fd, uint32_t events, void *arg)
{
	struct loop_timer *t = arg;
	uint64_t expirations;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	t->armed = false;
	t->cb(t->arg);
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = xcalloc(1, sizeof(*t));

	t->loop = l;
	t->cb = cb;
	t->arg = arg;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0)
		goto fail;
	if (loop_fd_add(l, t->fd, EPOLLIN, timer_ready, t) < 0) {
		close(t->fd);
		goto fail;
	}
	return t;
fail:
	free(t);
	return NULL;
}

void loop_timer_arm(struct loop_timer *t, uint64_t ms)
{
	struct itimerspec its = { 0 };

	/* A zero it_value would disarm; one nanosecond fires at the next turn. */
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1;
	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = true;
}

void loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its = { 0 };

	timerfd_settime(t->fd, 0, &its, NULL);
	t->armed = false;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	loop_fd_del(t->loop, t->fd);
	close(t->fd);
	free(t);
}

static void signal_ready(int fd, uint32_t events, void *arg)
{
	struct loop *l = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo < 65 && l->signals[si.ssi_signo].cb)
			l->signals[si.ssi_signo].cb((int)si.ssi_signo,
						    l->signals[si.ssi_signo].arg);
	}
}

int loop_signal_add(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	int fd;

	if (signo <= 0 || signo >= 65)
		return -EINVAL;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		int ret = loop_fd_add(l, fd, EPOLLIN, signal_ready, l);

		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	l->sigfd = fd;
	l->signals[signo].cb = cb;
	l->signals[signo].arg = arg;
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

int loop_run(struct loop *l)
{
	struct epoll_event events[64];
	int n, i;

	l->stop = false;
	while (!l->stop) {
		n = epoll_wait(l->epfd, events, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->depth++;
		for (i = 0; i < n && !l->stop; i++) {
			struct watch *w = events[i].data.ptr;

			if (!w->dead)
				w->cb(w->fd, events[i].events, w->arg);
		}
		l->depth--;
		reap_dead(l);
	}
	return 0;
}
