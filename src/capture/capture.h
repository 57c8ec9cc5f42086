/* Capture sessions (the library side of include/ustack/capture.h), for
 * the control plane, which runs inside the stack and so calls these
 * without the public calls' lock. */
#ifndef US_CAPTURE_H
#define US_CAPTURE_H

#include "ustack/capture.h"

struct us_stack;

int capture_start(struct us_stack *s, const struct us_capture_opts *o, char *err, size_t errlen);
int capture_stop(struct us_stack *s, int id, struct us_capture_stats *st);
int capture_stats(struct us_stack *s, int id, struct us_capture_stats *st);
void capture_foreach(struct us_stack *s, us_capture_fn fn, void *arg);
/* Stops every capture (ids in ids[], at most max; returns how many). */
int capture_ids(struct us_stack *s, int *ids, int max);

#endif
