/* memo.h -- memos: short values remembered in the cache's index (executor
 * versions by binary, and spare ones that only save work), and the memo
 * files of the cache directory.  The functions taking a struct cache may
 * be called from any thread. */
#ifndef PARTSFS_CACHE_MEMO_H
#define PARTSFS_CACHE_MEMO_H

#include <stdint.h>

struct cache;

/* A value remembered in the index (executor versions by binary).  Get:
 * the value (caller frees), or NULL when there is none or the index
 * cannot be read.  Set: a NULL value deletes the memo; best effort, as a
 * memo not kept is only worked out again. */
char *cache_memo_get(struct cache *c, const char *name);
void cache_memo_set(struct cache *c, const char *name, const char *value);
/* Memos named with this prefix only save work: eviction drops them all
 * first whenever the cache is over its limit. */
#define CACHE_MEMO_SPARE "spare:"
/* How many memos have names starting with `prefix` (no glob characters),
 * 0 also when the index cannot be read; drop them all, and the memo files
 * with them when the prefix takes in spare memos. */
uint64_t cache_memo_count(struct cache *c, const char *prefix);
void cache_memo_drop(struct cache *c, const char *prefix);
/*
 * Memo files: what a spare memo says may also be kept in a file of the
 * cache directory's memo/ (caller frees the path), for a reader that
 * wants no index at all.  They are removed whenever spare memos are
 * dropped, and by cache_clear.
 */
#define CACHE_MEMO_DIR "memo"
char *cache_memo_dir(const char *dir);

#endif
