/* memo.c -- memos: values remembered in the index (spare ones only save
 * work), and the memo files of the cache directory. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "partsfs/cache/memo.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* Memo. */

/* A memo: SQLITE_ROW with the value in *value (NULL for a NULL value),
 * SQLITE_DONE, or an error. */
static int
memo_row(struct cache *c, const char *name, char **value)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_MEMO_GET)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		*value = xstrdup((const char *)sqlite3_column_text(s, 0));
	stmt_done(s);
	return rc;
}

char *
cache_memo_get(struct cache *c, const char *name)
{
	char *v = NULL;
	int rc, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (db_ready(c, false)) {
		do
			rc = memo_row(c, name, &v);
		while (rc != SQLITE_ROW && rc != SQLITE_DONE &&
		    index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

/* Set or (value NULL) delete a memo.  An sqlite code. */
static int
memo_write(struct cache *c, const char *name, const char *value)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, value != NULL ? S_MEMO_SET : S_MEMO_DEL)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (value != NULL)
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void
cache_memo_set(struct cache *c, const char *name, const char *value)
{
	int rc, tries = 0;

	pthread_mutex_lock(&c->lock);
	/* A memo not kept is only worked out again. */
	if (db_ready(c, true)) {
		do
			rc = memo_write(c, name, value);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
}

/* The memos whose names start with `prefix` (no glob characters in it):
 * how many (count true), or drop them all. */
int
memo_prefix(struct cache *c, const char *prefix, bool count, uint64_t *n)
{
	sqlite3_stmt *s;
	char *pattern;
	int rc;

	if ((s = stmt(c, count ? S_MEMO_COUNT : S_MEMO_DROP)) == NULL)
		return sqlite3_extended_errcode(c->db);
	pattern = xasprintf("%s*", prefix);
	sqlite3_bind_text(s, 1, pattern, -1, SQLITE_TRANSIENT);
	free(pattern);
	rc = sqlite3_step(s);
	if (count && rc == SQLITE_ROW) {
		*n = (uint64_t)sqlite3_column_int64(s, 0);
		rc = SQLITE_DONE;
	}
	stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

uint64_t
cache_memo_count(struct cache *c, const char *prefix)
{
	uint64_t n = 0;
	int rc, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (db_ready(c, false)) {
		do
			rc = memo_prefix(c, prefix, true, &n);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void
cache_memo_drop(struct cache *c, const char *prefix)
{
	int rc, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (db_ready(c, true)) {
		do
			rc = memo_prefix(c, prefix, false, NULL);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	}
	if (str_has_prefix(prefix, CACHE_MEMO_SPARE) ||
	    str_has_prefix(CACHE_MEMO_SPARE, prefix))
		memo_files_remove(c);
	pthread_mutex_unlock(&c->lock);
}

/* Memo files. */

char *
cache_memo_dir(const char *dir)
{
	return xasprintf("%.*s/" CACHE_MEMO_DIR, (int)dir_len(dir), dir);
}

/* Remove the memo files (they only save work, as spare memos do). */
void
memo_files_remove(const struct cache *c)
{
	char *dir = cache_memo_dir(c->dir), *path;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
			    (de->d_name[1] == '.' && de->d_name[2] == '\0')))
				continue;
			path = xasprintf("%s/%s", dir, de->d_name);
			unlink(path);
			free(path);
		}
		closedir(d);
	}
	free(dir);
}
