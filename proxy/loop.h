/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loop - kproxy's one event loop: epoll over file descriptors, timers
 * (one timerfd each) and signals (signalfd). Single-threaded; every callback
 * runs on the loop and must not block. A timeout is just another event.
 */
#ifndef KPROXY_LOOP_H
#define KPROXY_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_signal_cb)(int signo, void *arg);

/* Returns a new loop, or NULL (errno set) when epoll cannot be created. */
struct loop *loop_new(void);
/* Frees the loop; fds added to it are not closed. */
void loop_free(struct loop *l);

/* Watches fd for events (EPOLLIN, EPOLLOUT...). Returns 0 or a negative errno. */
int loop_fd_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_fd_mod(struct loop *l, int fd, uint32_t events);
void loop_fd_del(struct loop *l, int fd);

/* Returns a new disarmed timer, or NULL (errno set). */
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg);
/* Fires once, ms milliseconds from now (0 fires at the next turn); re-arming replaces. */
void loop_timer_arm(struct loop_timer *t, uint64_t ms);
void loop_timer_disarm(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

/* Delivers signo through the loop instead of asynchronously (blocks it). */
int loop_signal_add(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* Runs until loop_stop(); returns 0 or a negative errno from epoll_wait. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t loop_now_ms(void);

#endif
