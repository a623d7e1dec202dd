/*
 * durable.c -- the floor of a sandboxed, durable, indexed cold part, with
 * nothing of partsfs in it, measured whole: one more process (this one)
 * runs a command (the engine, by hand or in bwrap), then keeps what it
 * wrote as any cache that survives a crash must: copied to a new file,
 * fsync, renamed into place, and one row committed to a sqlite index in
 * WAL mode (synchronous=NORMAL, the WAL kept between processes, as
 * partsfs opens its own).  bench/get.py runs it beside partsctl get.
 *
 *   durable OUTPUT DIR INDEX KEY -- COMMAND [ARG...]
 *
 * OUTPUT is the file COMMAND writes; the copy goes to DIR/KEY; INDEX must
 * hold a table parts (key, size, sha256, made).  Exit status 0, or 1 with
 * a message when the command or a step fails.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

static int
fail(const char *what, const char *detail)
{
	fprintf(stderr, "durable: %s: %s\n", what, detail);
	return 1;
}

/* Copy `src` to a new file `tmp`, make it durable and rename it to
 * `dst`: its size, or -1. */
static long long
keep(const char *src, const char *tmp, const char *dst)
{
	char buf[65536];
	long long size = 0;
	ssize_t n;
	int in, out;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
		size += n;
	}
	close(in);
	if (n < 0 || fsync(out) == -1 || close(out) == -1 ||
	    rename(tmp, dst) == -1)
		return -1;
	return size;
}

/* One row for `key` committed to the index at `path`. */
static int
index_row(const char *path, const char *key, long long size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int persist = 1, rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
		    "PRAGMA synchronous=NORMAL;"
		    "PRAGMA journal_size_limit=262144", NULL, NULL, NULL);
	}
	if (rc == SQLITE_OK)
		sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL,
		    &persist);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO parts "
		    "VALUES (?, ?, '', ?)", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, size);
		sqlite3_bind_double(s, 3, (double)time(NULL));
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "durable: %s: %s\n", path, sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char *tmp, *dst;
	long long size;
	pid_t pid;
	int status;

	if (argc < 7 || strcmp(argv[5], "--") != 0) {
		fprintf(stderr, "usage: durable OUTPUT DIR INDEX KEY -- "
		    "COMMAND [ARG...]\n");
		return 2;
	}
	if ((pid = fork()) == -1)
		return fail("fork", strerror(errno));
	if (pid == 0) {
		execvp(argv[6], argv + 6);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return fail("wait", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return fail(argv[6], "failed");
	if (asprintf(&tmp, "%s/.%s.new", argv[2], argv[4]) == -1 ||
	    asprintf(&dst, "%s/%s", argv[2], argv[4]) == -1)
		return fail("memory", strerror(ENOMEM));
	if ((size = keep(argv[1], tmp, dst)) < 0)
		return fail(dst, strerror(errno));
	if (index_row(argv[3], argv[4], size) != 0)
		return 1;
	free(tmp);
	free(dst);
	return 0;
}
