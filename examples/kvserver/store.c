/*
 * store.c: the kvserver's key-value store, a chained hash table with a
 * fixed number of buckets behind one mutex.
 *
 * Allocation and freeing happen outside the lock; the lock only covers the
 * bucket walk and the pointer swap, so a worker holds it for well under a
 * microsecond per command.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvserver.h"

#define STORE_BUCKETS 4096 /* power of two */

struct entry {
	struct entry *next;
	size_t key_len, value_len;
	char data[]; /* key, NUL, value, NUL */
};

static struct entry *buckets[STORE_BUCKETS];
static size_t store_count;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a, 64 bits. */
static size_t bucket_of(const char *key)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3u;
	return h & (STORE_BUCKETS - 1);
}

/* The link that points at key's entry, or at the NULL ending its chain.
 * Called with store_lock held. */
static struct entry **find_link(const char *key)
{
	struct entry **link = &buckets[bucket_of(key)];

	while (*link && strcmp((*link)->data, key) != 0)
		link = &(*link)->next;
	return link;
}

static struct entry *entry_new(const char *key, const char *value, size_t value_len)
{
	size_t key_len = strlen(key);
	struct entry *e = malloc(sizeof(*e) + key_len + 1 + value_len + 1);

	if (!e)
		return NULL;
	e->next = NULL;
	e->key_len = key_len;
	e->value_len = value_len;
	memcpy(e->data, key, key_len + 1);
	memcpy(e->data + key_len + 1, value, value_len);
	e->data[key_len + 1 + value_len] = '\0';
	return e;
}

int kv_set(const char *key, const char *value, size_t value_len)
{
	struct entry *e = entry_new(key, value, value_len);
	struct entry **link, *old;

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&store_lock);
	link = find_link(key);
	old = *link;
	e->next = old ? old->next : NULL;
	*link = e;
	if (!old)
		store_count++;
	pthread_mutex_unlock(&store_lock);
	free(old);
	return 0;
}

ssize_t kv_get(const char *key, char *buf, size_t size)
{
	struct entry *e;
	ssize_t len = -ENOENT;

	pthread_mutex_lock(&store_lock);
	e = *find_link(key);
	if (e) {
		len = e->value_len < size ? (ssize_t)e->value_len : (ssize_t)size;
		memcpy(buf, e->data + e->key_len + 1, (size_t)len);
	}
	pthread_mutex_unlock(&store_lock);
	return len;
}

int kv_del(const char *key)
{
	struct entry **link, *old;

	pthread_mutex_lock(&store_lock);
	link = find_link(key);
	old = *link;
	if (old) {
		*link = old->next;
		store_count--;
	}
	pthread_mutex_unlock(&store_lock);
	free(old);
	return old ? 0 : -ENOENT;
}

size_t kv_count(void)
{
	size_t n;

	pthread_mutex_lock(&store_lock);
	n = store_count;
	pthread_mutex_unlock(&store_lock);
	return n;
}
