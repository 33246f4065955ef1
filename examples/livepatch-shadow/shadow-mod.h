/*
 * shadow-mod.h: what shadow-mod (the stand-in for the kernel's
 * samples/livepatch/livepatch-shadow-mod.c) shares with its patch modules:
 * the dummy structure, the periods, and the few kernel interfaces the
 * sample uses (jiffies, kzalloc/kfree, list_head), implemented by
 * shadow-mod itself so that the patches are written as the kernel's are.
 *
 * Time: one jiffy is one millisecond of demo time. shadow-mod --speed N
 * runs the demo's clock N times faster than real time (default 1), so the
 * periods below, in seconds as in the kernel sample, take 1/N of that.
 */
#ifndef SHADOW_MOD_H
#define SHADOW_MOD_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>

/* Allocate new dummies every second */
#define ALLOC_PERIOD	1
/* Check for expired dummies after a few new ones have been allocated */
#define CLEANUP_PERIOD	(3 * ALLOC_PERIOD)
/* Dummies expire after a few cleanup instances */
#define EXPIRE_PERIOD	(4 * CLEANUP_PERIOD)

/* include/linux/list.h, the part the sample uses */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define list_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define list_for_each_entry_safe(pos, n, head, member) \
	for (pos = list_entry((head)->next, __typeof__(*pos), member), \
	     n = list_entry(pos->member.next, __typeof__(*pos), member); \
	     &pos->member != (head); \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

static inline void list_add(struct list_head *item, struct list_head *head)
{
	item->next = head->next;
	item->prev = head;
	head->next->prev = item;
	head->next = item;
}

static inline void list_del(struct list_head *item)
{
	item->prev->next = item->next;
	item->next->prev = item->prev;
	item->next = item->prev = NULL;
}

struct dummy {
	struct list_head list;
	unsigned long jiffies_expire;
};

/* shadow-mod's list of dummies and its lock */
extern struct list_head dummy_list;
extern pthread_mutex_t dummy_list_mutex;

/* The clock (include/linux/jiffies.h): milliseconds of demo time, brought
 * up to date by shadow-mod's "timer tick" before each work function runs. */
extern volatile unsigned long jiffies;
#define msecs_to_jiffies(ms) ((unsigned long)(ms))
#define time_after(a, b) ((long)((b) - (a)) < 0)

/* The allocator (include/linux/slab.h). shadow-mod counts the
 * allocations that are live, which shows the leak. gfp_t comes from
 * <uklp/livepatch.h> in the patches. */
void *kzalloc(size_t size, unsigned int gfp);
void kfree(const void *p);
#ifndef GFP_KERNEL
#define GFP_KERNEL 0u
#endif

#endif /* SHADOW_MOD_H */
