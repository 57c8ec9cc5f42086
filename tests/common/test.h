/* A small test harness: CHECK* record a failure and go on; main() built by
 * TEST_MAIN runs every test and exits non-zero if anything failed. */
#ifndef USTACK_TEST_H
#define USTACK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failures;
extern const char *test_current;

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, \
				test_current, #c);                                      \
			test_failures++;                                                \
		}                                                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long va_ = (long long)(a), vb_ = (long long)(b);                   \
		if (va_ != vb_) {                                                       \
			fprintf(stderr, "%s:%d: %s: CHECK_EQ(%s, %s) failed: %lld != %lld\n", \
				__FILE__, __LINE__, test_current, #a, #b, va_, vb_);    \
			test_failures++;                                                \
		}                                                                       \
	} while (0)

/* Stops the current test (for preconditions later checks depend on). */
#define REQUIRE(c)                                                                      \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "%s:%d: %s: REQUIRE(%s) failed\n", __FILE__, __LINE__, \
				test_current, #c);                                      \
			test_failures++;                                                \
			return;                                                         \
		}                                                                       \
	} while (0)

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_MAIN(...)                                                                  \
	int test_failures;                                                              \
	const char *test_current;                                                       \
	int main(int argc, char **argv)                                                 \
	{                                                                               \
		static const struct test_case cases[] = { __VA_ARGS__ };                \
		int ran = 0;                                                            \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {        \
			if (argc > 1 && strcmp(argv[1], cases[i].name))                \
				continue;                                               \
			test_current = cases[i].name;                                   \
			int before = test_failures;                                     \
			cases[i].fn();                                                  \
			ran++;                                                          \
			printf("%s %s\n", test_failures == before ? "ok  " : "FAIL",    \
			       cases[i].name);                                          \
		}                                                                       \
		if (ran == 0) {                                                         \
			fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "");   \
			return 2;                                                       \
		}                                                                       \
		return test_failures ? 1 : 0;                                           \
	}

#define T(fn) { #fn, fn }

#endif
