/* Minimal unit-test harness: TAP-like lines the runner counts.
 *
 *	static void test_parse(void) { CHECK(x == 1); CHECK_STR(s, "a"); }
 *	int main(void) { RUN(test_parse); return test_done(); }
 */
#ifndef VPCNET_TEST_H
#define VPCNET_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static int test_cases_failed;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n",		\
			__FILE__, __LINE__, #c);			\
		test_failed_checks++;					\
	}								\
} while (0)

#define CHECK_INT(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_) {							\
		fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",	\
			__FILE__, __LINE__, #a, a_, b_);		\
		test_failed_checks++;					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (!a_ || !b_ || strcmp(a_, b_)) {				\
		fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n",	\
			__FILE__, __LINE__, #a, a_ ? a_ : "(null)",	\
			b_ ? b_ : "(null)");				\
		test_failed_checks++;					\
	}								\
} while (0)

#define RUN(fn) do {							\
	int before_ = test_failed_checks;				\
	fn();								\
	if (test_failed_checks == before_) {				\
		printf("ok - %s\n", #fn);				\
	} else {							\
		printf("not ok - %s\n", #fn);				\
		test_cases_failed++;					\
	}								\
	fflush(stdout);							\
} while (0)

#define SKIP(fn, why) printf("ok - %s # SKIP %s\n", #fn, why)

static inline int test_done(void)
{
	return test_cases_failed ? 1 : 0;
}

#endif
