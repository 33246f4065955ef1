/*
 * empty.S: libsymtest_empty.so, an object without a single symbol: linked
 * without the C start files and stripped, its only table is a .dynsym that
 * holds the null entry alone.
 */
	.section .note.GNU-stack, "", @progbits
