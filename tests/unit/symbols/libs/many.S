/*
 * many.S: libsymtest_many.so, assembled three times (SYMTEST_TU 1 to 3) into
 * one library, for the name index (symbols.cc, index_by_name()): each
 * translation unit defines the same 1000 local functions, so each of their
 * names occurs three times in the symbol table (sympos 1 to 3, in link
 * order), under names that share a long prefix as mangled C++ names do, and
 * 1000 global functions of its own (symtest_many_<tu>_<n>). One `ret` each.
 */
	.text
	.altmacro
	.macro shared_local n
	.type _ZN7symtest4many11shared_nameILi\n\()EEEvv, @function
_ZN7symtest4many11shared_nameILi\n\()EEEvv:
	ret
	.size _ZN7symtest4many11shared_nameILi\n\()EEEvv, 1
	.endm

	.macro own_global tu, n
	.globl symtest_many_\tu\()_\n
	.type symtest_many_\tu\()_\n, @function
symtest_many_\tu\()_\n:
	ret
	.size symtest_many_\tu\()_\n, 1
	.endm

	.set i, 0
	.rept 1000
	shared_local %i
	own_global SYMTEST_TU, %i
	.set i, i + 1
	.endr

	.section .note.GNU-stack, "", @progbits
