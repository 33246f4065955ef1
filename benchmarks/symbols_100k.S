/*
 * symbols_100k.S: libbench_symbols_100k.so, an object with 100,000 function
 * symbols (bench_symbol_0 to bench_symbol_99999, one `ret` each) for the
 * symbol-lookup benchmark (symbol_lookup.cc). Assembled from one macro
 * rather than generated C: it builds in about a second.
 */
	.text
	.altmacro
	.macro bench_symbol n
	.globl bench_symbol_\n
	.type bench_symbol_\n, @function
bench_symbol_\n:
	ret
	.size bench_symbol_\n, 1
	.endm

	.set i, 0
	.rept 100000
	bench_symbol %i
	.set i, i + 1
	.endr

	.section .note.GNU-stack, "", @progbits
