/* index.c -- the sqlite index of the cache: its statements, opening it
 * (schema, upgrade, WAL), errors as errno values, and telling damage. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* 2: failures remember the time limit of a job that ran out of time.  An
 * index of schema 1 is upgraded in place (index_upgrade). */
#define SCHEMA_VERSION "2"

/* The WAL is checkpointed once it holds 64 pages (256 KB with sqlite's
 * 4 KB pages, where sqlite's default is 4 MB), and cut back to 256 KB
 * when it starts again from its beginning: on a small disk the index must
 * not outgrow the parts.  Eviction also truncates it. */
static const char wal_sql[] =
	"PRAGMA synchronous=NORMAL;"
	"PRAGMA wal_autocheckpoint=64;"
	"PRAGMA journal_size_limit=262144";

/* Statements are prepared on first use: opening stays cheap. */
static const char *const stmt_sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_TABLES] = "SELECT count(*) FROM sqlite_master",
	[S_META] = "SELECT name, value FROM meta",
	[S_REINDEXED] = "DELETE FROM meta WHERE name = 'reindex'",
	[S_WALKED] = "INSERT OR REPLACE INTO meta (name, value) "
	    "VALUES ('walked', ?1)",
	[S_ROWS] = "SELECT key, fmt, size, created, sha256 FROM parts",
	[S_LOOKUP] = "SELECT fmt, size, used, created, sha256 FROM parts "
	    "WHERE key = ?1",
	[S_TOUCH] = "UPDATE parts SET used = ?2 WHERE key = ?1",
	/* Only the row that was looked at: another process may have
	 * published the key again meanwhile. */
	[S_DROP] = "DELETE FROM parts WHERE key = ?1 AND created = ?2",
	[S_DROP_KEY] = "DELETE FROM parts WHERE key = ?1",
	[S_INSERT] = "INSERT OR REPLACE INTO parts "
	    "(key, fmt, size, sha256, created, used, label) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
	[S_REINDEX] = "INSERT OR IGNORE INTO parts "
	    "(key, fmt, size, sha256, created, used, label) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?5, NULL)",
	/* Blobs take whole blocks (?1 bytes each) on disk. */
	[S_TOTAL] = "SELECT count(*), coalesce(sum((size + ?1 - 1) / ?1 * ?1), "
	    "0) FROM parts",
	[S_LRU] = "SELECT key, fmt, size FROM parts ORDER BY used, key",
	[S_UNFAIL] = "DELETE FROM failures WHERE key = ?1",
	[S_FAIL] = "INSERT OR REPLACE INTO failures "
	    "(key, message, expires, timeout) VALUES (?1, ?2, ?3, ?4)",
	/* A timeout (the limit it ran under) holds for no longer limit. */
	[S_FAILED] = "SELECT message FROM failures "
	    "WHERE key = ?1 AND expires > ?2 "
	    "AND (timeout IS NULL OR timeout >= ?3)",
	[S_NFAILED] = "SELECT count(*) FROM failures WHERE expires > ?1",
	[S_NFAILURES] = "SELECT count(*) FROM failures",
	/* Those recorded first (with the same lifetime, they expire first)
	 * go first. */
	[S_FAIL_TRIM] = "DELETE FROM failures WHERE key IN "
	    "(SELECT key FROM failures ORDER BY expires LIMIT ?1)",
	[S_ANY_EXPIRED] = "SELECT 1 FROM failures WHERE expires <= ?1 LIMIT 1",
	[S_EXPIRE] = "DELETE FROM failures WHERE expires <= ?1",
	[S_CLEAR_PARTS] = "DELETE FROM parts",
	[S_CLEAR_FAILURES] = "DELETE FROM failures",
	[S_MEMO_GET] = "SELECT value FROM memo WHERE name = ?1",
	[S_MEMO_SET] = "INSERT OR REPLACE INTO memo (name, value) "
	    "VALUES (?1, ?2)",
	[S_MEMO_DEL] = "DELETE FROM memo WHERE name = ?1",
	[S_MEMO_COUNT] = "SELECT count(*) FROM memo WHERE name GLOB ?1",
	[S_MEMO_DROP] = "DELETE FROM memo WHERE name GLOB ?1",
};

/* A new index also asks for the blobs on disk to be indexed ('reindex'):
 * whoever opens the cache next finishes that job if this process dies. */
static const char schema_sql[] =
	"BEGIN IMMEDIATE;"
	"CREATE TABLE IF NOT EXISTS parts (key TEXT PRIMARY KEY, fmt TEXT, "
	"size INTEGER, sha256 TEXT, created REAL, used REAL, label TEXT);"
	"CREATE INDEX IF NOT EXISTS parts_used ON parts (used);"
	"CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, "
	"message TEXT, expires REAL, timeout REAL);"
	"CREATE TABLE IF NOT EXISTS memo (name TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);"
	"INSERT OR IGNORE INTO meta VALUES ('schema', '" SCHEMA_VERSION "');"
	"INSERT OR IGNORE INTO meta VALUES ('reindex', '1');"
	"COMMIT;";

/* From schema 1: the version moves on first, so that of the processes
 * opening the index at once only the first to get the write lock does the
 * rest.  The failures schema 1 remembers do not say which were timeouts:
 * they go (one more try each, at most). */
static const char upgrade_version_sql[] =
	"UPDATE meta SET value = '" SCHEMA_VERSION "' "
	"WHERE name = 'schema' AND value = '1'";
static const char upgrade_sql[] =
	"ALTER TABLE failures ADD COLUMN timeout REAL;"
	"DELETE FROM failures;";

/* The statement `id`, prepared once; NULL on error (the message is the
 * connection's). */
sqlite3_stmt *
stmt(struct cache *c, enum stmt id)
{
	if (c->stmts[id] == NULL && sqlite3_prepare_v3(c->db, stmt_sql[id],
	    -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL) != SQLITE_OK)
		return NULL;
	return c->stmts[id];
}

void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* An sqlite result as an errno value. */
int
db_errno(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	case SQLITE_NOMEM:
		return ENOMEM;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return EBADMSG;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		sys = sqlite3_system_errno(db);
		return sys > 0 ? sys : EIO;
	default:
		return EIO;
	}
}

/* Run a statement without parameters or results.  An sqlite code. */
int
db_run(struct cache *c, enum stmt id)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, id)) == NULL)
		return sqlite3_extended_errcode(c->db);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run a statement taking a key (and a number).  An sqlite code. */
int
db_run_key(struct cache *c, enum stmt id, const char *hex, double arg)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, id)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(s) > 1)
		sqlite3_bind_double(s, 2, arg);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Run a statement taking a time.  An sqlite code. */
int
db_run_time(struct cache *c, enum stmt id, double t)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, id)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_double(s, 1, t);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

void
db_rollback(struct cache *c)
{
	if (c->db != NULL && !sqlite3_get_autocommit(c->db))
		db_run(c, S_ROLLBACK);
}

/* End a failed transaction, keeping its error: -errno, and sqlite's
 * message in `msg` when not NULL (rolling back replaces both). */
int
db_abort(struct cache *c, int rc, struct buf *msg)
{
	int err = db_errno(c->db, rc);

	if (msg != NULL)
		buf_adds(msg, sqlite3_errmsg(c->db));
	db_rollback(c);
	return -err;
}

void
db_close(struct cache *c)
{
	/* without an index opened, sqlite may not even be loaded */
	if (c->db == NULL)
		return;
	for (int i = 0; i < S__COUNT; i++) {
		sqlite3_finalize(c->stmts[i]);
		c->stmts[i] = NULL;
	}
	sqlite3_close_v2(c->db);
	c->db = NULL;
}

/* A failure sqlite reports for the file itself, not its circumstances. */
bool
rc_damage(int rc)
{
	return (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT;
}

/* Failures that say nothing about the file: busy, no memory, no access. */
static bool
rc_transient(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_FULL:
	case SQLITE_AUTH:
		return true;
	}
	return false;
}

/* Is the index damaged, after an error that could mean either?  Only
 * asked when something failed, so a healthy open stays fast.  Damaged is
 * what the check finds, or sqlite's own word for it: a check that cannot
 * run (an I/O error, a full disk: sqlite cannot even map its WAL index
 * there) says nothing about the file, which must not be set aside for
 * it. */
static bool
db_damaged(sqlite3 *db)
{
	sqlite3_stmt *s;
	bool bad;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc_damage(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 0);
		bad = v == NULL || strcmp(v, "ok") != 0;
	} else
		bad = rc_damage(rc);
	sqlite3_finalize(s);
	return bad;
}

/* What an error while opening means: INDEX_DAMAGED (with the reason) or
 * -errno with the message. */
int
index_error(struct cache *c, int rc, struct buf *why, struct perr *e)
{
	/* Copied: the quick check replaces the connection's message. */
	char *msg = xstrdup(sqlite3_errmsg(c->db));
	int err = db_errno(c->db, rc), r;

	if (rc_damage(rc) || (!rc_transient(rc) &&
	    db_damaged(c->db))) {
		buf_adds(why, msg);
		r = INDEX_DAMAGED;
	} else if ((rc & 0xff) == SQLITE_IOERR && err != EIO)
		/* "disk I/O error" alone hides a full disk */
		r = perr_set(e, err, "cannot open the cache index %s: %s (%s)",
		    c->index, msg, strerror(err));
	else
		r = perr_set(e, err, "cannot open the cache index %s: %s",
		    c->index, msg);
	free(msg);
	return r;
}

/*
 * PRAGMA quick_check: INDEX_OK, INDEX_DAMAGED with its first complaint in
 * `why`, or -errno.  It reads every page of the index: for 10000 entries
 * (a 2.8 MB index) about 5 ms on a fresh connection, ten times what
 * opening the cache, looking a part up and closing takes (0.4 ms), but a
 * few percent of the full check (a stat per blob, 80 ms and more).  So it
 * is part of the full check and of cache_verify, never of every open.
 */
int
index_quick_check(struct cache *c, struct buf *why, struct perr *e)
{
	sqlite3_stmt *s;
	const char *v;
	int rc, r = INDEX_OK;

	rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return index_error(c, rc, why, e);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(s, 0);
		if (v == NULL || strcmp(v, "ok") != 0) {
			/* one line: it goes into a log message */
			buf_adds(why, "quick_check: ");
			for (; v != NULL && *v != '\0'; v++)
				buf_addc(why, *v == '\n' ? ' ' : *v);
			if (v == NULL)
				buf_adds(why, "no answer");
			r = INDEX_DAMAGED;
		}
	} else if (rc != SQLITE_DONE)
		r = index_error(c, rc, why, e);
	sqlite3_finalize(s);
	return r;
}

/* Has the index file been replaced (or removed) since we opened it? */
bool
index_moved(struct cache *c)
{
	struct stat st;

	if (stat(c->index, &st) == -1)
		return errno == ENOENT;
	return st.st_dev != c->index_dev || st.st_ino != c->index_ino;
}

/* Upgrade an index of schema 1 in place, keeping its parts and memos.
 * INDEX_OK, INDEX_DAMAGED with the reason in `why`, or -errno. */
static int
index_upgrade(struct cache *c, struct buf *why, struct perr *e)
{
	int rc, r;

	rc = db_run(c, S_BEGIN);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, upgrade_version_sql, NULL, NULL,
		    NULL);
	if (rc == SQLITE_OK && sqlite3_changes(c->db) > 0)
		rc = sqlite3_exec(c->db, upgrade_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = db_run(c, S_COMMIT);
	if (rc != SQLITE_OK) {
		r = index_error(c, rc, why, e);
		db_rollback(c);
		return r;
	}
	return INDEX_OK;
}

/* Read the schema version (upgrading an older one) and whether a re-index
 * is pending. */
int
index_meta(struct cache *c, bool *reindex, struct buf *why, struct perr *e)
{
	sqlite3_stmt *s;
	bool versioned = false, old = false;
	int rc;

	*reindex = false;
	if ((s = stmt(c, S_META)) == NULL) {
		rc = sqlite3_extended_errcode(c->db);
		if ((rc & 0xff) == SQLITE_ERROR) {
			buf_adds(why, "no schema version");
			return INDEX_DAMAGED;
		}
		return index_error(c, rc, why, e);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *value = (const char *)sqlite3_column_text(s, 1);

		if (name == NULL)
			continue;
		if (strcmp(name, "schema") == 0) {
			if (value != NULL && atoi(value) > atoi(SCHEMA_VERSION)) {
				/* not ours to throw away; `value` lives until
				 * the statement is reset */
				rc = perr_set(e, EPROTONOSUPPORT, "the cache "
				    "index %s was written by a newer partsfs "
				    "(schema %s); use another cache directory",
				    c->index, value);
				stmt_done(s);
				return rc;
			}
			if (value != NULL && strcmp(value, "1") == 0)
				old = true;
			else if (value == NULL ||
			    strcmp(value, SCHEMA_VERSION) != 0) {
				buf_printf(why, "schema version %s, not "
				    SCHEMA_VERSION, value ? value : "NULL");
				stmt_done(s);
				return INDEX_DAMAGED;
			}
			versioned = true;
		} else if (strcmp(name, "reindex") == 0)
			*reindex = true;
		else if (strcmp(name, "walked") == 0 && value != NULL)
			c->walked = strtod(value, NULL);
	}
	stmt_done(s);
	if (rc != SQLITE_DONE)
		return index_error(c, rc, why, e);
	if (!versioned) {
		buf_adds(why, "no schema version");
		return INDEX_DAMAGED;
	}
	return old ? index_upgrade(c, why, e) : INDEX_OK;
}

/*
 * PRAGMA journal_mode=WAL, waiting as long as the busy timeout for the
 * lock it needs.  When processes open a new cache at once, turning its
 * new index into WAL can fail with SQLITE_BUSY at once, the busy handler
 * not called (seen 1.3 ms into the 5 s timeout): the lock is taken while
 * the pragma already reads the file, which sqlite does not wait for.  It
 * is waited for here instead, as for any other lock; an index in WAL
 * already needs none for it.
 */
static int
index_wal(struct cache *c)
{
	uint64_t until = now_ns() + (uint64_t)BUSY_MS * 1000000u;
	struct timespec pause = { 0, 1000000 };
	int rc;

	while ((rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL,
	    NULL, NULL)) != SQLITE_OK && (rc & 0xff) == SQLITE_BUSY &&
	    now_ns() < until) {
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 16000000)
			pause.tv_nsec *= 2;
	}
	return rc;
}

/* Open the index file, creating the schema in an empty one.  INDEX_OK,
 * INDEX_DAMAGED with the reason in `why`, or -errno. */
int
index_open(struct cache *c, bool *reindex, struct buf *why, struct perr *e)
{
	sqlite3_stmt *s;
	struct stat st;
	int rc, flags, persist;
	int64_t ntables;

	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX;
	rc = sqlite3_open_v2(c->index, &c->db, flags, NULL);
	if (c->db == NULL)
		return perr_set(e, ENOMEM, "cannot open the cache index %s: %s",
		    c->index, sqlite3_errstr(rc));
	sqlite3_extended_result_codes(c->db, 1);
	if (rc != SQLITE_OK)
		return index_error(c, rc, why, e);
	sqlite3_busy_timeout(c->db, BUSY_MS);
	/* WAL lets readers and one writer of several processes share the
	 * index; NORMAL loses at most the last commits on power loss, and
	 * then a row at worst points to a blob the next open checks. */
	rc = index_wal(c);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, wal_sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return index_error(c, rc, why, e);
	/* Which file this is: another process may set it aside and put a
	 * new one in its place while we have it open. */
	if (stat(c->index, &st) == 0) {
		c->index_dev = st.st_dev;
		c->index_ino = st.st_ino;
	}
	/* The WAL is checkpointed when the last process closes the index
	 * (sqlite's default), so that the main file is whole on its own:
	 * frames kept would hide damage to the main file.  The emptied WAL
	 * and the shared-memory file stay (truncated to nothing by the
	 * journal_size_limit, which sqlite applies at that close), so that
	 * the next process does not create both again: a file created costs
	 * up to several hundred microseconds on a file system without a
	 * journal that has deleted many (bench/get.py T1). */
	persist = 1;
	sqlite3_file_control(c->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);

	if ((s = stmt(c, S_TABLES)) == NULL)
		return index_error(c, sqlite3_extended_errcode(c->db), why, e);
	rc = sqlite3_step(s);
	ntables = sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW)
		return index_error(c, rc, why, e);
	if (ntables == 0) {
		rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			int r = index_error(c, rc, why, e);
			db_rollback(c);
			return r;
		}
	}
	return index_meta(c, reindex, why, e);
}

/* Move the damaged index (with its -wal and -shm) aside, so the next
 * attempt creates a new one; under a name of its own, as an index may be
 * set aside more than once a second.  Called with the recovery lock
 * held. */
int
index_set_aside(struct cache *c, struct buf *note, struct perr *e)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char *base, *from, *to;
	long long t = (long long)time(NULL);
	struct stat st;
	int r = 0;

	base = xasprintf("%s.damaged-%lld", c->index, t);
	for (int n = 1; lstat(base, &st) == 0; n++) {
		free(base);
		base = xasprintf("%s.damaged-%lld.%d", c->index, t, n);
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(suffix) && r == 0; i++) {
		from = xasprintf("%s%s", c->index, suffix[i]);
		to = xasprintf("%s%s", base, suffix[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			r = perr_set(e, errno, "cannot set the damaged cache "
			    "index %s aside: %s", from, strerror(errno));
		else if (i == 0)
			buf_printf(note, "; set aside as %s", to);
		free(from);
		free(to);
	}
	free(base);
	return r;
}
