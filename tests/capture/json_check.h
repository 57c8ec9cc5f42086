/* A strict JSON parser for the tests (RFC 8259: one value, no trailing
 * commas, valid escapes and UTF-8), giving a tree to query. */
#ifndef USTACK_JSON_CHECK_H
#define USTACK_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	bool b;
	double num;
	char *str;
	int n;              /* array/object members */
	struct jv *items;
	char **keys;        /* objects */
};

/* NULL, with the reason in err, unless s is exactly one JSON value. */
struct jv *json_parse(const char *s, char *err, size_t errlen);
void json_free(struct jv *v);
const struct jv *json_get(const struct jv *obj, const char *key);
const struct jv *json_at(const struct jv *arr, int i);
/* A path of keys and [i] indexes: "kernel.IcmpInEchos", "[1].stats64.rx.packets". */
const struct jv *json_path(const struct jv *v, const char *path);
/* The number at path, or -1 if absent or not a number. */
double json_num(const struct jv *v, const char *path);
const char *json_str(const struct jv *v, const char *path);

#endif
