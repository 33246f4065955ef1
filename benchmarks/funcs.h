/*
 * funcs.h: 1000 names, func_000 to func_999, for the patch-size benchmark
 * (funcs.c, livepatch-bench-funcs.c): FUNCS_1000(X) expands X(nnn) for each
 * three-digit number nnn. X receives the digits as one token (func_##n,
 * "func_" #n); as a number they would be octal.
 */
#pragma once

#define FUNCS_10(X, a, b) X(a##b##0) X(a##b##1) X(a##b##2) X(a##b##3) X(a##b##4) \
	X(a##b##5) X(a##b##6) X(a##b##7) X(a##b##8) X(a##b##9)
#define FUNCS_100(X, a) FUNCS_10(X, a, 0) FUNCS_10(X, a, 1) FUNCS_10(X, a, 2) FUNCS_10(X, a, 3) \
	FUNCS_10(X, a, 4) FUNCS_10(X, a, 5) FUNCS_10(X, a, 6) FUNCS_10(X, a, 7) FUNCS_10(X, a, 8) FUNCS_10(X, a, 9)
#define FUNCS_1000(X) FUNCS_100(X, 0) FUNCS_100(X, 1) FUNCS_100(X, 2) FUNCS_100(X, 3) FUNCS_100(X, 4) \
	FUNCS_100(X, 5) FUNCS_100(X, 6) FUNCS_100(X, 7) FUNCS_100(X, 8) FUNCS_100(X, 9)
