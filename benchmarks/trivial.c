/* trivial.c: the program whose runs the start-up benchmark times, prepared
 * like any uklp target (docs/design.md, "Benchmarks"). It only tells
 * bench_spawn when main() began: CLOCK_MONOTONIC in nanoseconds, 8 bytes
 * written to descriptor 3 (the write fails harmlessly when 3 is not open). */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	(void)!write(3, &ns, sizeof ns);
	return 0;
}
