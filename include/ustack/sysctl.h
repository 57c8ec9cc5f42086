/*
 * The stack's knobs under their Linux sysctl names where Linux has one
 * (net.ipv4.ip_forward, net.core.rmem_max, net.ipv4.neigh.default.
 * gc_thresh3...). Values are text, as in /proc/sys: a number, or several
 * separated by a tab ("32768\t60999"); any whitespace separates them on
 * input. The list is in docs/CAPTURE.md and `ustack ctl PATH sysctl -a`.
 */
#ifndef USTACK_SYSCTL_H
#define USTACK_SYSCTL_H

#include <stddef.h>

#include "ustack/ustack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The value of name into buf. -1 with ENOENT (no such knob) or ENOSPC
 * (buf too small). */
int us_sysctl_get(us_stack *s, const char *name, char *buf, size_t len);
/* Sets name from text. -1 with ENOENT, or EINVAL (not a number, out of
 * range: the range is in docs/CAPTURE.md). */
int us_sysctl_set(us_stack *s, const char *name, const char *value);
/* Every knob, in name order. */
typedef void (*us_sysctl_fn)(void *arg, const char *name, const char *value);
void us_sysctl_foreach(us_stack *s, us_sysctl_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif
