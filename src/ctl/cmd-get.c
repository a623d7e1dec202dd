/* cmd-get.c -- partsctl get: produce one part without FUSE, from the cache
 * or by running its engine, showing progress on a terminal. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "partsfs/core/core.h"
#include "partsfs/core/fetch.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/log.h"
#include "partsfs/core/resmemo.h"
#include "partsfs/remote/client.h"

static void
get_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl get LIBRARY|URL PATH [-o FILE] [-q] "
	    "[--config FILE] [--cache DIR] [--timeout SECONDS]\n"
	    "Produce the part at PATH (bolts/hex_screw/M8/length=20.step) as the\n"
	    "mount would: from the cache when it was made before, otherwise by\n"
	    "running its engine.  Writes to FILE, or to standard output when it\n"
	    "is not a terminal.  On a terminal, progress goes to standard error.\n"
	    "Exit status: 0 done, 1 invalid path, 2 usage, 3 the engine failed\n"
	    "or is missing (its command, status and last stderr lines are\n"
	    "printed), 4 a system error.\n\n"
	    "  -o, --output FILE    write the part to FILE (-: standard output)\n"
	    "  -q, --quiet          no progress\n"
	    "  -c, --config FILE    partsfs.conf to use (see partsfs.conf(5))\n"
	    "      --cache DIR      the cache directory\n"
	    "      --timeout SECONDS  the engine's time limit\n"
	    "  -h, --help           this help\n%s"
	    "With the URL of a partsctl serve (http:// or https://) in place of\n"
	    "LIBRARY, the part is fetched from it (the server makes it),\n"
	    "verified (Content-Length, Repr-Digest) and kept in the local\n"
	    "cache: a second get is served from there.\n", ctl_remote_help);
}

/* Copy the open file `in` to fd with sendfile. */
static int
copy_fd(int in, int out)
{
	struct stat st;
	off_t off = 0;
	int r = 0;

	if (fstat(in, &st) == -1)
		return -errno;
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* not a file or socket: copy by hand */
			char buf[65536];
			ssize_t got;
			while ((got = pread(in, buf, sizeof buf, off)) > 0) {
				for (ssize_t w = 0; w < got;) {
					ssize_t k = write(out, buf + w,
					    (size_t)(got - w));
					if (k < 0 && errno == EINTR)
						continue;
					if (k <= 0) {
						r = -errno;
						goto out;
					}
					w += k;
				}
				off += got;
			}
			if (got < 0)
				r = -errno;
			goto out;
		}
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
	}
out:
	return r;
}

/*
 * Where the part goes.  A FILE that is (or will be) a regular file is
 * written whole or not at all: into a temporary file beside it, renamed
 * over it at the end, so that a full disk, an error or a kill leaves
 * whatever was there before, not a truncated part.  Anything else (a
 * FIFO, /dev/stdout, a directory we may not write in) is written in
 * place, as is standard output.
 */
struct output {
	const char *file;       /* NULL: standard output */
	char *target;           /* the file the temporary file replaces */
	char *tmp;              /* the temporary file, or NULL */
	int fd;
};

static int
output_open(struct output *o, const char *file, enum format fmt)
{
	struct stat st;
	bool existed;
	char *slash;

	memset(o, 0, sizeof *o);
	o->file = file;
	o->fd = -1;
	if (file != NULL && strcmp(file, "-") == 0) {
		/* standard output asked for by name: even a terminal (a
		 * file named "-" is ./-) */
		o->file = NULL;
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (file == NULL) {
		if (isatty(STDOUT_FILENO) && fmt != FMT_JSON) {
			ctl_error("not writing a %s file to a terminal: use -o "
			    "FILE", format_ext(fmt));
			return -1;
		}
		o->fd = STDOUT_FILENO;
		return 0;
	}
	existed = stat(file, &st) == 0;
	if (!existed || S_ISREG(st.st_mode)) {
		/* beside the file itself when FILE is a link to it */
		o->target = existed ? realpath(file, NULL) : NULL;
		if (o->target == NULL)
			o->target = xstrdup(file);
		slash = strrchr(o->target, '/');
		/* a name of this process's, made with the mode a new file
		 * gets (the umask applies), never over another file */
		for (unsigned n = 0; n < 100; n++) {
			o->tmp = xasprintf("%.*s.%s.partsctl-%ld-%u",
			    slash ? (int)(slash - o->target + 1) : 0,
			    o->target, slash ? slash + 1 : o->target,
			    (long)getpid(), n);
			o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, 0666);
			if (o->fd != -1 || errno != EEXIST)
				break;
			free(o->tmp);
			o->tmp = NULL;
		}
		if (o->fd != -1) {
			if (existed) {
				/* as writing over it would keep them */
				fchmod(o->fd, st.st_mode & 07777);
				if (fchown(o->fd, st.st_uid, st.st_gid) == -1)
					fchmod(o->fd, st.st_mode & 0777);
			}
			return 0;
		}
		/* no room for another name there (a directory we may not
		 * write in): in place, then */
		free(o->tmp);
		o->tmp = NULL;
	}
	o->fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o->fd == -1) {
		ctl_error("%s: %s", file, strerror(errno));
		free(o->target);
		o->target = NULL;
	}
	return o->fd == -1 ? -1 : 0;
}

/* Finish the output: a CTL code.  `ok`: everything was written (else the
 * temporary file goes, and what was there stays). */
static int
output_close(struct output *o, bool ok)
{
	int rc = ok ? CTL_OK : CTL_SYSTEM;

	if (o->fd != -1 && o->fd != STDOUT_FILENO && close(o->fd) == -1 &&
	    rc == CTL_OK) {
		ctl_error("%s: %s", o->file, strerror(errno));
		rc = CTL_SYSTEM;
	}
	o->fd = -1;
	if (o->tmp != NULL) {
		if (rc == CTL_OK && rename(o->tmp, o->target) == -1) {
			ctl_error("%s: %s", o->file, strerror(errno));
			rc = CTL_SYSTEM;
		}
		if (rc != CTL_OK)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->target);
	o->tmp = o->target = NULL;
	return rc;
}

static int
write_json(const struct pnode *part, const char *file)
{
	struct perr e = { 0 };
	struct output o;
	json_t *j = describe_part(part, &e);
	char *text;
	bool ok;

	if (j == NULL) {
		ctl_error("%s", e.msg);
		return CTL_INVALID;
	}
	text = describe_dump(j);
	json_decref(j);
	if (output_open(&o, file, FMT_JSON) == -1) {
		free(text);
		return CTL_SYSTEM;
	}
	ok = write(o.fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (!ok)
		ctl_error("writing %s: %s", file ? file : "the output",
		    strerror(errno));
	free(text);
	return output_close(&o, ok);
}

/* Write a cached part, open as `in`, to the output: a CTL code. */
static int
write_part_fd(int in, const char *output, enum format fmt)
{
	struct output o;
	int r;

	if (output_open(&o, output, fmt) == -1)
		return CTL_SYSTEM;
	if ((r = copy_fd(in, o.fd)) != 0)
		ctl_error("writing %s: %s", output ? output : "the output",
		    strerror(-r));
	return output_close(&o, r == 0);
}

/*
 * A part made before, found without loading the library: the resolution
 * memo gives its key while the library's files are as they were.  True
 * when it was written (*rc set); false when the library must be loaded.
 */
static bool
get_remembered(const char *root, const char *path, const struct conf *conf,
    const char *output, struct cache **cachep, int *rc)
{
	struct cache_entry hit = { 0 };
	struct perr e = { 0 };
	struct cache_key key;
	struct cache *cache;
	const char *dot = strrchr(path, '.');
	char *real;
	bool done = false;
	int fmt, in;

	*cachep = NULL;
	if (dot == NULL || (fmt = format_from_ext(dot + 1,
	    strlen(dot + 1))) < 0 || fmt == FMT_JSON ||
	    (real = realpath(root, NULL)) == NULL)
		return false;
	/* made in the last minute: not even the index is opened */
	if ((in = resmemo_fast_open(real, path, conf, &key)) != -1) {
		log_debug("%s: made before as %s (resolution memo) without "
		    "the index", path, key.hex);
		*rc = write_part_fd(in, output, (enum format)fmt);
		close(in);
		free(real);
		return true;
	}
	/* an error opening the cache is core_open_cache's to report */
	cache = cache_open(conf->cache_dir, conf->cache_max,
	    conf->negative_ttl, &e);
	/* opened as it is checked: a part gone since (another process
	 * evicted it) or damaged is made again */
	if (cache != NULL && resmemo_lookup(cache, real, path, conf, &key) &&
	    cache_lookup_open(cache, &key, &hit, &in, NULL) == 1) {
		log_debug("%s: made before as %s (resolution memo)", path,
		    key.hex);
		*rc = write_part_fd(in, output, (enum format)fmt);
		close(in);
		if (*rc == CTL_OK)
			resmemo_fast_record(cache, real, path, conf, &key,
			    &hit);
		done = true;
	}
	cache_entry_clear(&hit);
	if (done)
		cache_close(cache);
	else
		*cachep = cache;     /* for the library's turn */
	free(real);
	return done;
}

/*
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP while engines may run: a thread of
 * their own takes them, stops the jobs (engines are killed with their
 * whole process group, helpers included, and nothing is remembered as a
 * failure) and ends the process by the same signal.  Without it the
 * engine died with us (PR_SET_PDEATHSIG) but what it had started (Xvfb
 * under xvfb-run, say) ran on.  What the job left in the cache's scratch
 * area goes at the next start, as after any crash.
 */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static struct core *stop_core;
static int stop_signal;
static sigset_t stop_set;

static void *
stop_waiter(void *arg)
{
	int sig;

	(void)arg;
	while (sigwait(&stop_set, &sig) != 0)
		;
	pthread_mutex_lock(&stop_lock);
	stop_signal = sig;
	if (stop_core != NULL)
		core_stop(stop_core);
	pthread_mutex_unlock(&stop_lock);
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
	raise(sig);
	return NULL;
}

/* Take those signals on a thread of their own from now on (before any job
 * worker starts: threads inherit the mask). */
static void
stop_on_signals(void)
{
	pthread_t t;

	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
	if (pthread_create(&t, NULL, stop_waiter, NULL) == 0)
		pthread_detach(t);
	else
		pthread_sigmask(SIG_UNBLOCK, &stop_set, NULL);
}

static void
stop_watch(struct core *core)
{
	pthread_mutex_lock(&stop_lock);
	stop_core = core;
	pthread_mutex_unlock(&stop_lock);
}

/* A job failed because a signal stopped it: nothing to say, as the
 * stopping thread is ending the process. */
static void
stop_if_stopped(void)
{
	int sig;

	pthread_mutex_lock(&stop_lock);
	sig = stop_signal;
	pthread_mutex_unlock(&stop_lock);
	if (sig != 0)
		for (;;)
			pause();
}

/* Wait for the part, telling a terminal what runs and for how long. */
static enum fetch_state
wait_fetch(struct fetch *f, bool progress)
{
	enum fetch_state st;
	const char *with;

	if (!progress)
		return fetch_wait(f, -1);
	while ((st = fetch_wait(f, 0.1)) != FETCH_DONE && st != FETCH_FAILED) {
		st = fetch_state(f);
		with = fetch_executor(f);
		fprintf(stderr, "\r\033[Kpartsctl: %s %s%s%s: %.1f s",
		    st == FETCH_RUNNING ? "making" : "waiting to make",
		    fetch_path(f), with != NULL ? " with " : "",
		    with != NULL ? with : "", fetch_elapsed(f));
	}
	fprintf(stderr, "\r\033[K");
	if (st == FETCH_DONE && (with = fetch_executor(f)) != NULL)
		fprintf(stderr, "partsctl: made %s with %s in %.1f s\n",
		    fetch_path(f), with, fetch_elapsed(f));
	return st;
}

/* get on a URL: a .json as the server answers it; a part through the
 * local cache. */
static int
get_remote(const char *url, const char *path, const struct conf *conf,
    const char *output, const struct ctl_remote *ro, bool quiet)
{
	static const char *const how[] = {
		[REMOTE_FRESH] = "from the local cache",
		[REMOTE_REVALIDATED] = "from the local cache, unchanged on "
		    "the server",
		[REMOTE_FETCHED] = "fetched",
		[REMOTE_OFFLINE] = "from the local cache, the server being "
		    "unreachable",
	};
	struct perr e = { 0 };
	struct remote *r = NULL;
	struct cache *cache = NULL;
	struct output o;
	enum remote_via via;
	struct stat st;
	const char *base = strrchr(path, '/'), *dot;
	bool progress = !quiet && isatty(STDERR_FILENO);
	int fmt = -1, fd, rc;

	base = base != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) != NULL)
		fmt = format_from_ext(dot + 1, strlen(dot + 1));
	if (fmt < 0) {
		ctl_error("%s is not a part file", path);
		return CTL_INVALID;
	}
	if (fmt == FMT_JSON) {
		size_t len;
		char *text;
		bool ok;
		if ((r = ctl_remote_open(url, ro, conf, NULL)) == NULL)
			return CTL_SYSTEM;
		if ((text = remote_text(r, path, &len, &e)) == NULL) {
			rc = ctl_remote_fail(&e);
			remote_close(r);
			return rc;
		}
		remote_close(r);
		if (output_open(&o, output, FMT_JSON) == -1) {
			free(text);
			return CTL_SYSTEM;
		}
		ok = write(o.fd, text, len) == (ssize_t)len;
		if (!ok)
			ctl_error("writing %s: %s", output ? output :
			    "the output", strerror(errno));
		free(text);
		return output_close(&o, ok);
	}
	if ((cache = cache_open(conf->cache_dir, conf->cache_max,
	    conf->negative_ttl, &e)) == NULL) {
		ctl_error("%s", e.msg);
		return CTL_SYSTEM;
	}
	if ((r = ctl_remote_open(url, ro, conf, cache)) == NULL) {
		cache_close(cache);
		return CTL_SYSTEM;
	}
	if (progress)
		fprintf(stderr, "partsctl: %s from %s ...", path, url);
	fd = remote_part_open(r, path, (enum format)fmt, NULL, &st, &via,
	    &e);
	if (progress)
		fprintf(stderr, "\r\033[K");
	if (fd < 0) {
		rc = ctl_remote_fail(&e);
	} else {
		log_debug("%s: %s (%s)", path, how[via], remote_base(r));
		if (progress)
			fprintf(stderr, "partsctl: %s %s\n", path, how[via]);
		rc = write_part_fd(fd, output, (enum format)fmt);
		close(fd);
	}
	remote_close(r);
	cache_close(cache);
	return rc;
}

int
cmd_get(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "cache", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		CTL_REMOTE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_remote ro = { 0 };
	const char *output = NULL, *config = NULL, *cache = NULL;
	const char *timeout = NULL;
	struct perr e = { 0 };
	struct library *lib = NULL;
	struct fetch *f = NULL;
	struct resmemo_snap *snap = NULL;
	struct resmemo_rec *rec = NULL;
	struct cache *opened;
	struct conf *conf;
	char *real;
	struct core *core;
	struct pnode node;
	bool quiet = false;
	int c, in, rc = CTL_OK;

	while ((c = getopt_long(argc, argv, "o:qc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			cache = optarg;
			break;
		case 'T':
			timeout = optarg;
			break;
		case 'h':
			get_usage(stdout);
			return CTL_OK;
		default:
			if (ctl_remote_opt(&ro, c, optarg))
				break;
			get_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 2) {
		get_usage(stderr);
		return CTL_USAGE;
	}
	if ((conf = ctl_conf(config, cache, timeout)) == NULL)
		return CTL_USAGE;
	/* what the core says on the way (a part planned again) is progress */
	if (quiet)
		log_quiet();
	if (remote_is_url(argv[optind])) {
		rc = get_remote(argv[optind], argv[optind + 1], conf, output,
		    &ro, quiet);
		conf_free(conf);
		return rc;
	}
	if (get_remembered(argv[optind], argv[optind + 1], conf, output,
	    &opened, &rc)) {
		conf_free(conf);
		return rc;
	}
	if ((real = realpath(argv[optind], NULL)) != NULL)
		snap = resmemo_snap(real, conf);
	stop_on_signals();
	if ((core = core_open(argv[optind], conf, opened, &e)) == NULL) {
		ctl_error("%s", e.msg);
		resmemo_snap_free(snap);
		free(real);
		return e.code == ENOTDIR || e.code == ENOENT ? CTL_INVALID :
		    CTL_SYSTEM;
	}
	stop_watch(core);
	lib = core_library(core);
	if (pnode_lookup(lib, argv[optind + 1], &node, &e) != 0) {
		ctl_error("%s: %s", argv[optind + 1], e.msg);
		rc = CTL_INVALID;
		goto out;
	}
	if (node.kind != PN_PART) {
		ctl_error("%s is not a part file", argv[optind + 1]);
		rc = CTL_INVALID;
		goto clear;
	}
	if (node.fmt == FMT_JSON) {
		rc = write_json(&node, output);
		goto clear;
	}
	/* the plan is kept for the memo: the next get of this path need not
	 * load the library */
	core_fetch(core, &node, FETCH_PLAN, NULL, NULL, &f);
	/* while its engine runs (on a thread of the jobs), what the path
	 * resolved to is remembered, off the part's way */
	rec = resmemo_begin(core, snap, argv[optind + 1]);
	if (fetch_state(f) != FETCH_DONE)
		resmemo_plan(rec, f);
	if (wait_fetch(f, !quiet && isatty(STDERR_FILENO)) != FETCH_DONE) {
		stop_if_stopped();
		if (fetch_errno(f) == EIO) {
			/* the engine failed, or the part could not be kept */
			ctl_error("%s: %s", fetch_path(f), fetch_error(f));
			rc = fetch_system(f) ? CTL_SYSTEM : CTL_FAILED;
		} else {
			/* it cannot be planned: nothing makes it, or its
			 * engine is not installed */
			ctl_error("%s", fetch_error(f));
			rc = fetch_errno(f) == ENOEXEC ? CTL_FAILED :
			    CTL_INVALID;
		}
		goto clear;
	}
	resmemo_end(rec, f);
	rec = NULL;
	if ((in = fetch_fd(f)) == -1) {
		ctl_error("%s: %s", fetch_path(f), strerror(errno));
		rc = CTL_SYSTEM;
		goto clear;
	}
	rc = write_part_fd(in, output, node.fmt);
	close(in);
clear:
	resmemo_end(rec, NULL);
	pnode_clear(&node);
out:
	fetch_unref(f);
	library_unref(lib);
	stop_watch(NULL);
	core_close(core);
	resmemo_snap_free(snap);
	free(real);
	return rc;
}
