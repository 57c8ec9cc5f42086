/* The blocking layer for threads: a stack thread runs the poll loop; any
 * thread may call the API under the stack's lock; blocked callers sleep on
 * a condition variable that every socket wake-up broadcasts. The core does
 * not know threads exist beyond these hooks, which cost one branch when no
 * stack thread runs. */
#ifndef US_MT_H
#define US_MT_H

#include <stdint.h>

struct us_stack;

void mt_lock_slow(struct us_stack *s);
void mt_unlock_slow(struct us_stack *s);
void mt_note_wakeup(struct us_stack *s);
/* Sleeps (lock released) until a wake-up or the deadline. */
void mt_wait(struct us_stack *s, uint64_t deadline);
void mt_free(struct us_stack *s);

#define mt_lock(s)                        \
	do {                              \
		if ((s)->mt)              \
			mt_lock_slow(s);  \
	} while (0)
#define mt_unlock(s)                       \
	do {                               \
		if ((s)->mt)               \
			mt_unlock_slow(s); \
	} while (0)

#endif
