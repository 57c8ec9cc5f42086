#include "ctl_out.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void out_init(struct ctl_out *o)
{
	memset(o, 0, sizeof(*o));
}

void out_free(struct ctl_out *o)
{
	free(o->buf);
	out_init(o);
}

void out_reset(struct ctl_out *o)
{
	o->len = 0;
	o->oom = false;
	o->depth = 0;
	memset(o->need_comma, 0, sizeof(o->need_comma));
}

static bool out_room(struct ctl_out *o, size_t n)
{
	if (o->oom)
		return false;
	if (o->len + n + 1 <= o->cap)
		return true;
	size_t ncap = o->cap ? o->cap : 4096;
	while (ncap < o->len + n + 1)
		ncap *= 2;
	if (ncap > CTL_OUT_MAX) {
		o->oom = true;
		return false;
	}
	char *nb = realloc(o->buf, ncap);
	if (!nb) {
		o->oom = true;
		return false;
	}
	o->buf = nb;
	o->cap = ncap;
	return true;
}

void out_write(struct ctl_out *o, const char *s, size_t n)
{
	if (!out_room(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

void out_puts(struct ctl_out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

void out_printf(struct ctl_out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		out_write(o, small, (size_t)n);
		return;
	}
	if (!out_room(o, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

/* ---- JSON ---- */

void j_quote(struct ctl_out *o, const char *s)
{
	out_write(o, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			out_write(o, "\\\"", 2);
			break;
		case '\\':
			out_write(o, "\\\\", 2);
			break;
		case '\n':
			out_write(o, "\\n", 2);
			break;
		case '\t':
			out_write(o, "\\t", 2);
			break;
		case '\r':
			out_write(o, "\\r", 2);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				out_printf(o, "\\u%04x", *p);
			} else if (*p < 0x80) {
				out_write(o, (const char *)p, 1);
			} else {
				/* Valid UTF-8 passes; a stray byte becomes U+FFFD. */
				int n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
					: (*p & 0xf8) == 0xf0 ? 4 : 0;
				int i = 1;
				while (n && i < n && (p[i] & 0xc0) == 0x80)
					i++;
				if (n && i == n && *p >= 0xc2 && *p <= 0xf4) {
					out_write(o, (const char *)p, (size_t)n);
					p += n - 1;
				} else {
					out_puts(o, "\\ufffd");
				}
			}
		}
	}
	out_write(o, "\"", 1);
}

static void j_key(struct ctl_out *o, const char *key)
{
	int d = o->depth < CTL_JSON_DEPTH ? o->depth : CTL_JSON_DEPTH - 1;
	if (o->need_comma[d])
		out_write(o, ",", 1);
	o->need_comma[d] = true;
	if (key) {
		j_quote(o, key);
		out_write(o, ":", 1);
	}
}

static void j_open(struct ctl_out *o, const char *key, char c)
{
	j_key(o, key);
	out_write(o, &c, 1);
	if (o->depth < CTL_JSON_DEPTH - 1)
		o->depth++;
	o->need_comma[o->depth] = false;
}

static void j_close(struct ctl_out *o, char c)
{
	out_write(o, &c, 1);
	if (o->depth > 0)
		o->depth--;
	if (o->depth == 0)
		out_write(o, "\n", 1);
}

void j_obj(struct ctl_out *o, const char *key)
{
	j_open(o, key, '{');
}

void j_obj_end(struct ctl_out *o)
{
	j_close(o, '}');
}

void j_arr(struct ctl_out *o, const char *key)
{
	j_open(o, key, '[');
}

void j_arr_end(struct ctl_out *o)
{
	j_close(o, ']');
}

void j_str(struct ctl_out *o, const char *key, const char *val)
{
	j_key(o, key);
	j_quote(o, val ? val : "");
}

void j_u64(struct ctl_out *o, const char *key, uint64_t v)
{
	j_key(o, key);
	out_printf(o, "%llu", (unsigned long long)v);
}

void j_i64(struct ctl_out *o, const char *key, int64_t v)
{
	j_key(o, key);
	out_printf(o, "%lld", (long long)v);
}

void j_dbl(struct ctl_out *o, const char *key, double v)
{
	j_key(o, key);
	if (isfinite(v))
		out_printf(o, "%.3f", v);
	else
		out_puts(o, "null");
}

void j_bool(struct ctl_out *o, const char *key, bool v)
{
	j_key(o, key);
	out_puts(o, v ? "true" : "false");
}
