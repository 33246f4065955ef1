/*
 * branch_distance.c: what a site costs as a function of where the
 * replacement lies, without uklp (docs/design.md, "Benchmarks").
 *
 *   bench_branch_distance [--calls N] [--rounds R]
 *
 * A hand-made site, laid out like the runtime's (entry `jmp rel8` to a pad
 * `jmp *slot(%rip)`), jumps to a copy of the body `lea 1(%rdi,%rdi),%eax;
 * ret` placed at the site's page address with bit K flipped (mmap at a fixed
 * address), for K from 20 to 46: the copy and the site differ in bit K and,
 * unlike an offset of 2^K, in no higher bit. Each round times a batch of
 * calls of the site and of the body called directly, alternating; the line
 * `bit K NS` gives the median over the rounds of (site - direct) in ns per
 * call (`bit near NS`: the body next to the site). On the AMD Zen 4 where the
 * numbers of design.md were taken, the cost steps up by about 3 cycles from
 * K = 37 on: a branch whose target differs from its own address in a bit
 * above 36 costs more, and the main program (PIE, 0x55..) and a patch module
 * mapped among the libraries (0x7f..) differ in bit 41 and up. K values
 * whose address cannot be mapped are skipped.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* The body, a site whose slot the program sets, and nothing else nearby. */
__asm__(".text\n"
	".p2align 6\n"
	"bd_body: lea 1(%rdi,%rdi),%eax\n"
	"	ret\n"
	".p2align 4\n"
	"bd_pad: jmp *bd_slot(%rip)\n"
	"	.fill 8,1,0x90\n"
	"bd_site: jmp bd_pad\n"
	".data\n"
	".p2align 3\n"
	".hidden bd_slot\n"
	"bd_slot: .quad bd_body\n"
	".text\n");
int bd_body(int);
int bd_site(int);
extern void *bd_slot;

static volatile unsigned g_sink;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  /* see calls.cc */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ns per call; the loop starts a 64-byte block in both instances */
#define TIMER(F)                                                                 \
	__attribute__((noinline, aligned(64))) static double time_##F(long calls) \
	{                                                                        \
		unsigned acc = 0;                                                \
		uint64_t t0 = now_ns();                                          \
		for (long i = 0; i < calls; ++i)                                 \
			acc += (unsigned)F((int)(i & 0xffff));                   \
		uint64_t t1 = now_ns();                                          \
		g_sink = acc;                                                    \
		return (double)(t1 - t0) / (double)calls;                        \
	}
TIMER(bd_body)
TIMER(bd_site)

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median over `rounds` of (site - direct), alternating which goes first. */
static double site_cost(long calls, int rounds)
{
	double *d = malloc(sizeof(double) * (size_t)rounds);
	time_bd_site(calls / 4 + 1);
	time_bd_body(calls / 4 + 1);
	for (int r = 0; r < rounds; ++r) {
		double site, direct;
		if (r & 1) {
			site = time_bd_site(calls);
			direct = time_bd_body(calls);
		} else {
			direct = time_bd_body(calls);
			site = time_bd_site(calls);
		}
		d[r] = site - direct;
	}
	qsort(d, (size_t)rounds, sizeof *d, compare);
	double median = d[rounds / 2];
	free(d);
	return median;
}

/* A copy of the body on the site's page with bit k of the address flipped, or NULL. */
static void *copy_body_at(int k)
{
	uintptr_t at = ((uintptr_t)&bd_site & ~(uintptr_t)0xfff) ^ ((uintptr_t)1 << k);
	void *p = mmap((void *)at, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memcpy((char *)p + 64, (const void *)&bd_body, 5);
	return p;
}

static long option(int argc, char **argv, const char *name, long fallback)
{
	for (int i = 1; i + 1 < argc; ++i)
		if (strcmp(argv[i], name) == 0)
			return strtol(argv[i + 1], NULL, 10);
	return fallback;
}

int main(int argc, char **argv)
{
	long calls = option(argc, argv, "--calls", 200000);
	int rounds = (int)option(argc, argv, "--rounds", 51);
	printf("bit near %.4f\n", site_cost(calls, rounds));  /* the slot holds bd_body itself */
	for (int k = 20; k <= 46; ++k) {
		void *page = copy_body_at(k);
		if (!page)
			continue;
		__atomic_store_n(&bd_slot, (char *)page + 64, __ATOMIC_RELEASE);
		printf("bit %d %.4f\n", k, site_cost(calls, rounds));
		__atomic_store_n(&bd_slot, (void *)&bd_body, __ATOMIC_RELEASE);
		munmap(page, 4096);
	}
	return 0;
}
