#include "mt.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "../core/stack.h"
#include "ustack/socket.h"

struct stack_mt {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool quit;
	bool pending;      /* a wake-up to broadcast */
};

void mt_lock_slow(struct us_stack *s)
{
	pthread_mutex_lock(&s->mt->lock);
}

void mt_unlock_slow(struct us_stack *s)
{
	struct stack_mt *mt = s->mt;
	if (mt->pending) {
		mt->pending = false;
		pthread_cond_broadcast(&mt->cond);
	}
	bool other = !pthread_equal(pthread_self(), mt->thread);
	pthread_mutex_unlock(&mt->lock);
	/* The call may have armed timers or queued work: let the stack
	 * thread recompute its sleep. */
	if (other)
		stack_kick(s);
}

void mt_note_wakeup(struct us_stack *s)
{
	s->mt->pending = true;
}

void mt_wait(struct us_stack *s, uint64_t deadline)
{
	struct stack_mt *mt = s->mt;
	if (mt->pending) {
		mt->pending = false;
		pthread_cond_broadcast(&mt->cond);
	}
	stack_kick(s);
	if (deadline == US_TIME_NEVER) {
		pthread_cond_wait(&mt->cond, &mt->lock);
		return;
	}
	/* The stack's clock is CLOCK_MONOTONIC (threads need a real clock),
	 * and so is the condition variable's. */
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000u),
			       .tv_nsec = (long)(deadline % 1000000000u) };
	pthread_cond_timedwait(&mt->cond, &mt->lock, &ts);
}

static void *stack_thread(void *arg)
{
	struct us_stack *s = arg;
	struct stack_mt *mt = s->mt;
	pthread_mutex_lock(&mt->lock);
	while (!atomic_load(&mt->quit)) {
		uint64_t next = us_stack_poll(s);
		if (mt->pending) {
			mt->pending = false;
			pthread_cond_broadcast(&mt->cond);
		}
		uint64_t now = stack_now_ns(s);
		if (next <= now)
			continue;
		pthread_mutex_unlock(&mt->lock);
		stack_wait_fd(s, next);
		pthread_mutex_lock(&mt->lock);
	}
	pthread_mutex_unlock(&mt->lock);
	return NULL;
}

int us_stack_start_thread(us_stack *s)
{
	if (!s || us_clock_is_virtual(s->clock)) {
		errno = EINVAL;
		return -1;
	}
	if (s->mt) {
		errno = EBUSY;
		return -1;
	}
	if (stack_ensure_fd(s) < 0)
		return -1;
	struct stack_mt *mt = calloc(1, sizeof(*mt));
	if (!mt) {
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_init(&mt->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mt->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&mt->quit, false);
	/* Published before the thread starts; callers start the thread before
	 * sharing the stack with other threads. */
	s->mt = mt;
	int e = pthread_create(&mt->thread, NULL, stack_thread, s);
	if (e) {
		s->mt = NULL;
		pthread_cond_destroy(&mt->cond);
		pthread_mutex_destroy(&mt->lock);
		free(mt);
		errno = e;
		return -1;
	}
	return 0;
}

int us_stack_stop_thread(us_stack *s)
{
	if (!s || !s->mt) {
		errno = EINVAL;
		return -1;
	}
	struct stack_mt *mt = s->mt;
	atomic_store(&mt->quit, true);
	stack_kick(s);
	pthread_join(mt->thread, NULL);
	pthread_mutex_lock(&mt->lock);
	pthread_cond_broadcast(&mt->cond);
	pthread_mutex_unlock(&mt->lock);
	s->mt = NULL;
	pthread_cond_destroy(&mt->cond);
	pthread_mutex_destroy(&mt->lock);
	free(mt);
	return 0;
}

void mt_free(struct us_stack *s)
{
	if (s->mt)
		us_stack_stop_thread(s);
}
