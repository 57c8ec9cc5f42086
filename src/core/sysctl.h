/* The sysctl registry (sysctl.c): a table of knobs over fields of the
 * stack, under Linux's names. The public calls are in ustack/sysctl.h;
 * the control plane uses these to report why a value was refused. */
#ifndef US_SYSCTL_H
#define US_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct us_stack;

enum sysctl_type { SC_BOOL, SC_U8, SC_U32, SC_INT, SC_U64, SC_CUSTOM };

struct sysctl_entry {
	const char *name;
	enum sysctl_type type;
	size_t off;              /* of the field in struct us_stack */
	int64_t min, max;        /* as shown (before scaling) */
	uint32_t scale;          /* field = shown value * scale */
	/* SC_CUSTOM: text out; text in (0, or -EINVAL with a reason in err). */
	int (*get)(struct us_stack *s, char *buf, size_t len);
	int (*set)(struct us_stack *s, const char *val, bool check_only, char *err, size_t errlen);
};

const struct sysctl_entry *sysctl_lookup(const char *name);
/* The i-th knob in name order, NULL past the end. */
const struct sysctl_entry *sysctl_entry_at(size_t i);
int sysctl_get(struct us_stack *s, const struct sysctl_entry *e, char *buf, size_t len);
/* check_only: validate without changing anything. */
int sysctl_set(struct us_stack *s, const struct sysctl_entry *e, const char *val, bool check_only,
	       char *err, size_t errlen);

#endif
