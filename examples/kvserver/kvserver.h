/*
 * kvserver.h: the types and limits shared by the kvserver demo service
 * (kvserver.c, store.c) and the patches written for it (livepatch-kvfix.c),
 * the way a kernel livepatch includes the kernel's own headers.
 *
 * Changing a layout here changes the running program's ABI: a patch must be
 * built against the header of the build it patches.
 */
#ifndef KVSERVER_H
#define KVSERVER_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

#define KV_MAX_KEY 250    /* bytes, no blanks */
#define KV_MAX_VALUE 1024 /* bytes, the rest of the SET line */

/* One connection; only kvserver.c knows its layout. */
struct conn;

/* Counters reported by STATS; one instance, `stats` in kvserver.c. */
struct kv_stats {
	atomic_ulong connections; /* accepted so far */
	atomic_ulong commands;    /* lines executed, valid or not */
	atomic_ulong gets, sets, dels;
	atomic_ulong hits, misses; /* GET and DEL outcomes */
};

/* The store (store.c): a hash table behind one mutex. Keys are
 * NUL-terminated; values are byte strings of a given length. */
int kv_set(const char *key, const char *value, size_t value_len); /* 0 or -ENOMEM */
ssize_t kv_get(const char *key, char *buf, size_t size); /* length, or -ENOENT */
int kv_del(const char *key);                             /* 0 or -ENOENT */
size_t kv_count(void);

#endif /* KVSERVER_H */
