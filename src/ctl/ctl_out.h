/* A growing reply buffer for the control plane, with a small JSON writer
 * (compact, one document per reply, commas placed automatically). */
#ifndef US_CTL_OUT_H
#define US_CTL_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_OUT_MAX (64u << 20)   /* a reply larger than this is refused */
#define CTL_JSON_DEPTH 16

struct ctl_out {
	char *buf;
	size_t len, cap;
	bool oom;                      /* an allocation failed or the reply grew too large */
	int depth;
	bool need_comma[CTL_JSON_DEPTH];
};

void out_init(struct ctl_out *o);
void out_free(struct ctl_out *o);
void out_reset(struct ctl_out *o);
void out_write(struct ctl_out *o, const char *s, size_t n);
void out_puts(struct ctl_out *o, const char *s);
void out_printf(struct ctl_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON. key is NULL for array elements and the top-level value. */
void j_obj(struct ctl_out *o, const char *key);
void j_obj_end(struct ctl_out *o);
void j_arr(struct ctl_out *o, const char *key);
void j_arr_end(struct ctl_out *o);
void j_str(struct ctl_out *o, const char *key, const char *val);
void j_u64(struct ctl_out *o, const char *key, uint64_t v);
void j_i64(struct ctl_out *o, const char *key, int64_t v);
void j_dbl(struct ctl_out *o, const char *key, double v);
void j_bool(struct ctl_out *o, const char *key, bool v);
/* A JSON string literal of s (quotes included). */
void j_quote(struct ctl_out *o, const char *s);

#endif
