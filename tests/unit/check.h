/* Minimal unit test harness: each test file defines test functions and a main that
   RUNs them; the program prints "NAME: N passed, N failed" and exits non-zero on
   any failure. */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_here;
static int check_tests_passed;
static int check_tests_failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                              \
			check_failed_here = 1;                                       \
		}                                                                    \
	} while (0)

#define CHECK_INT(a, b)                                                              \
	do {                                                                         \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
		if (check_a_ != check_b_) {                                          \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",   \
				__FILE__, __LINE__, #a, check_a_, #b, check_b_);     \
			check_failed_here = 1;                                       \
		}                                                                    \
	} while (0)

#define CHECK_STR(a, b)                                                              \
	do {                                                                         \
		const char *check_a_ = (a), *check_b_ = (b);                         \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {     \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",     \
				__FILE__, __LINE__, #a, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                     \
			check_failed_here = 1;                                       \
		}                                                                    \
	} while (0)

#define CHECK_MEM(a, alen, b, blen)                                                  \
	do {                                                                         \
		size_t check_al_ = (alen), check_bl_ = (blen);                       \
		if (check_al_ != check_bl_ || memcmp((a), (b), check_al_) != 0) {     \
			fprintf(stderr, "%s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", \
				__FILE__, __LINE__, #a, check_al_, #b, check_bl_);   \
			check_failed_here = 1;                                       \
		}                                                                    \
	} while (0)

#define RUN(fn)                                                                      \
	do {                                                                         \
		check_failed_here = 0;                                               \
		fn();                                                                \
		if (check_failed_here) {                                             \
			fprintf(stderr, "FAIL %s\n", #fn);                           \
			check_tests_failed++;                                        \
		} else {                                                             \
			check_tests_passed++;                                        \
		}                                                                    \
	} while (0)

#define CHECK_DONE(name)                                                             \
	(printf("%s: %d passed, %d failed\n", (name), check_tests_passed,            \
		check_tests_failed),                                                 \
	 check_tests_failed ? 1 : 0)

#endif
