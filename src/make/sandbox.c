/* sandbox.c -- every process partsfs starts for a library runs under
 * bubblewrap: user, PID, network, IPC, UTS, cgroup and mount namespaces of
 * its own, an unprivileged user, no capabilities and no new privileges,
 * the system and the library read-only, its scratch directory the only
 * place it may write, and a limit on its processes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "partsfs/make/sandbox.h"
#include "partsfs/util/confine.h"
#include "partsfs/util/log.h"

/*
 * What engines need of /etc, and nothing else (no shadow, ssh keys,
 * sudoers, the configuration of partsfs): the loader's cache; the links
 * through which freecadcmd and FreeCAD's own libraries are found;
 * fontconfig (OpenSCAD's text()) and its caches; the time zone (STEP
 * headers).  /etc/passwd and /etc/group are made for the job: FreeCAD
 * crashes when its user has no entry.
 */
static const char *const system_ro[] = {
	"/etc/ld.so.cache",
	"/etc/alternatives",
	"/etc/fonts",
	"/etc/localtime",
	"/var/cache/fontconfig",
	NULL,
};

/* The top directories that are links into /usr on a merged-/usr system
 * (or directories, bound as they are). */
static const char *const top_dirs[] = {
	"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", NULL,
};

/* The descriptors bwrap is given in the child. */
#define FD_PASSWD 3
#define FD_GROUP 4
#define FD_INFO 5
#define FD_BLOCK 6
#define FD_FIRST_FREE 7
/* As root, the paths of the view are opened here in the child, and bound
 * into a small tmpfs at STAGE (in the child's own mount namespace) that
 * the job user can reach whatever the modes of the directories above
 * them (a cache under /root). */
#define FD_STAGE 20
#define STAGE "/tmp"
#define MAX_STAGE 24

/* How long bwrap may take to say it made the namespaces. */
#define INFO_MS 30000

struct sandbox {
	bool want;                /* jobs.sandbox is bwrap */
	char *bwrap_name;
	uint64_t processes;
	uint64_t tmp_size;
	char **ro;                /* jobs.paths */
	bool switch_user;         /* we are root: jobs run as uid/gid */
	uid_t uid;
	gid_t gid;
	char *user;
	char *warning;            /* about the user chosen, or NULL */
	/* found once, when first needed, and tried (a run of bwrap) when
	 * the mode is asked for or a job could not enter it (under lock) */
	pthread_mutex_t lock;
	bool found;
	bool tried;
	enum sandbox_mode mode;
	char *reason;
	char *bwrap;              /* absolute */
	char *top[8][2];          /* { path, its link's target or NULL } */
	size_t ntop;
};

struct sandbox_cmd {
	char **argv;
	int passwd_fd;            /* memfds, moved to FD_PASSWD, FD_GROUP */
	int group_fd;
	int info_rd, info_wr;     /* --info-fd; the child's end at FD_INFO */
	int block_rd, block_wr;   /* --block-fd; the child's end at FD_BLOCK:
				   * the job's pid 1 waits on it, before it
				   * starts the command, until block_wr is
				   * closed */
	uint64_t processes;       /* the job's process limit, 0: none */
	bool switch_user;
	uid_t uid;
	gid_t gid;
	/* staging (as root): each path, and where it is bound */
	size_t nstage;
	char *stage_path[MAX_STAGE];
	char *stage_src[MAX_STAGE];      /* /proc/self/fd/N */
	char *stage_dst[MAX_STAGE];      /* STAGE/N */
	int init;                 /* pidfd of the job's pid 1, or -1 */
	pid_t init_pid;           /* its pid (0: not known), and its start
				   * time, for a system without pidfds */
	unsigned long long init_start;
};

static void
strv_add(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void
strv_addf(char ***v, size_t *n, const char *fmt, ...) PF_PRINTF(3, 4);

static void
strv_addf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	strv_add(v, n, s);
	free(s);
}

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A program of the system: the packaged one first (a bwrap in someone's
 * ~/bin is trusted no more than theirs), then PATH. */
static char *
system_program(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *found = NULL;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? realpath(name, NULL) : NULL;
	dirs = xasprintf("/usr/bin:/bin:%s", path != NULL ? path : "");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && found == NULL;
	    d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		if (d[0] == '/' && access(p, X_OK) == 0)
			found = realpath(p, NULL);
		free(p);
	}
	free(dirs);
	return found;
}

struct sandbox *
sandbox_new(const struct conf *conf, struct perr *e)
{
	struct sandbox *sb = xcalloc(1, sizeof *sb);
	struct passwd *pw;
	const char *name;

	sb->want = conf->sandbox;
	sb->bwrap_name = xstrdup(conf->bwrap != NULL ? conf->bwrap : "bwrap");
	sb->processes = conf->processes;
	sb->tmp_size = conf->tmp_size;
	sb->ro = xcalloc(conf->nro_paths + 1, sizeof *sb->ro);
	for (size_t i = 0; i < conf->nro_paths; i++)
		sb->ro[i] = xstrdup(conf->ro_paths[i]);
	pthread_mutex_init(&sb->lock, NULL);
	if (geteuid() != 0) {
		/* the job runs as ourselves, in a user namespace of its own */
		pw = getpwuid(getuid());
		sb->uid = getuid();
		sb->gid = getgid();
		sb->user = xstrdup(pw != NULL ? pw->pw_name : "partsfs");
		return sb;
	}
	name = conf->job_user != NULL ? conf->job_user : "partsfs";
	if ((pw = getpwnam(name)) == NULL && conf->job_user == NULL) {
		/* shared with other daemons, whose processes could trace the
		 * engines: a fallback, said so */
		pw = getpwnam(name = "nobody");
		sb->warning = xstrdup("there is no user partsfs (adduser "
		    "--system --group --no-create-home partsfs): engines run "
		    "as nobody, whose other processes can trace them");
	}
	if (pw == NULL) {
		perr_set(e, ENOENT, "jobs.user: there is no user %s", name);
		sandbox_free(sb);
		return NULL;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		perr_set(e, EPERM, "jobs.user: %s is root (uid or gid 0): "
		    "engines never run as root", name);
		sandbox_free(sb);
		return NULL;
	}
	sb->switch_user = true;
	sb->uid = pw->pw_uid;
	sb->gid = pw->pw_gid;
	sb->user = xstrdup(pw->pw_name);
	return sb;
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	free(sb->bwrap_name);
	strv_free(sb->ro);
	free(sb->user);
	free(sb->warning);
	free(sb->reason);
	free(sb->bwrap);
	for (size_t i = 0; i < sb->ntop; i++) {
		free(sb->top[i][0]);
		free(sb->top[i][1]);
	}
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

/* A sealed memfd holding `text`, out of the way of the numbers the child
 * moves descriptors to; -1 with errno set. */
static int
memfd_text(const char *name, const char *text)
{
	size_t n = strlen(text);
	int fd, hi;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return -1;
	if (write_all(fd, text, n) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL);
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	close(fd);
	return hi;
}

/* A pipe whose ends (close-on-exec) are numbered 100 or above, clear of
 * the numbers the child gives bwrap: 0, or -1 with errno and both -1. */
static int
high_pipe(int *rd, int *wr)
{
	int p[2], err;

	*rd = *wr = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	*rd = fcntl(p[0], F_DUPFD_CLOEXEC, 100);
	*wr = fcntl(p[1], F_DUPFD_CLOEXEC, 100);
	err = errno;
	close(p[0]);
	close(p[1]);
	if (*rd != -1 && *wr != -1)
		return 0;
	if (*rd != -1)
		close(*rd);
	if (*wr != -1)
		close(*wr);
	*rd = *wr = -1;
	errno = err;
	return -1;
}

/* Bind `path` with bwrap option `opt` at the same place inside: from the
 * staging area as root, else from where it is. */
static int
bind(struct sandbox_cmd *c, char ***argv, size_t *n, const char *opt,
    const char *path, struct perr *e)
{
	size_t i = c->nstage;

	if (access(path, F_OK) == -1)
		return perr_set(e, errno, "sandbox: %s: %s", path,
		    strerror(errno));
	strv_add(argv, n, opt);
	if (!c->switch_user)
		strv_add(argv, n, path);
	else {
		if (i == MAX_STAGE)
			return perr_set(e, E2BIG, "sandbox: more than %d paths "
			    "to show an engine", MAX_STAGE);
		c->stage_path[i] = xstrdup(path);
		c->stage_src[i] = xasprintf("/proc/self/fd/%zu", FD_STAGE + i);
		c->stage_dst[i] = xasprintf("%s/%zu", STAGE, i);
		c->nstage++;
		strv_add(argv, n, c->stage_dst[i]);
	}
	strv_add(argv, n, path);
	return 0;
}

/* The options every sandboxed process has: the namespaces, the system
 * read-only, the made /etc/passwd and /etc/group, a private /proc, /dev,
 * /tmp and /dev/shm (memory, bounded). */
static void
common_options(const struct sandbox *sb, char ***argv, size_t *n)
{
	strv_add(argv, n, sb->bwrap);
	/* --unshare-user spelled out: --disable-userns wants it, and as
	 * root --unshare-all makes no user namespace */
	strv_add(argv, n, "--unshare-all");
	strv_add(argv, n, "--unshare-user");
	strv_add(argv, n, "--disable-userns");
	/* the job's pid 1 dies with bwrap, and everything with it */
	strv_add(argv, n, "--die-with-parent");
	strv_add(argv, n, "--new-session");
	strv_add(argv, n, "--cap-drop");
	strv_add(argv, n, "ALL");
	strv_add(argv, n, "--hostname");
	strv_add(argv, n, "partsfs");
	strv_add(argv, n, "--ro-bind");
	strv_add(argv, n, "/usr");
	strv_add(argv, n, "/usr");
	for (size_t i = 0; i < sb->ntop; i++) {
		if (sb->top[i][1] != NULL) {
			strv_add(argv, n, "--symlink");
			strv_add(argv, n, sb->top[i][1]);
		} else {
			strv_add(argv, n, "--ro-bind");
			strv_add(argv, n, sb->top[i][0]);
		}
		strv_add(argv, n, sb->top[i][0]);
	}
	for (size_t i = 0; system_ro[i] != NULL; i++) {
		strv_add(argv, n, "--ro-bind-try");
		strv_add(argv, n, system_ro[i]);
		strv_add(argv, n, system_ro[i]);
	}
	strv_add(argv, n, "--ro-bind-data");
	strv_addf(argv, n, "%d", FD_PASSWD);
	strv_add(argv, n, "/etc/passwd");
	strv_add(argv, n, "--ro-bind-data");
	strv_addf(argv, n, "%d", FD_GROUP);
	strv_add(argv, n, "/etc/group");
	strv_add(argv, n, "--proc");
	strv_add(argv, n, "/proc");
	strv_add(argv, n, "--dev");
	strv_add(argv, n, "/dev");
	strv_add(argv, n, "--size");
	strv_addf(argv, n, "%ju", (uintmax_t)sb->tmp_size);
	strv_add(argv, n, "--tmpfs");
	strv_add(argv, n, "/tmp");
	strv_add(argv, n, "--size");
	strv_addf(argv, n, "%ju", (uintmax_t)sb->tmp_size);
	strv_add(argv, n, "--tmpfs");
	strv_add(argv, n, "/dev/shm");
	strv_add(argv, n, "--info-fd");
	strv_addf(argv, n, "%d", FD_INFO);
	strv_add(argv, n, "--block-fd");
	strv_addf(argv, n, "%d", FD_BLOCK);
}

static struct sandbox_cmd *
cmd_new(const struct sandbox *sb)
{
	struct sandbox_cmd *c = xcalloc(1, sizeof *c);

	c->passwd_fd = c->group_fd = -1;
	c->info_rd = c->info_wr = -1;
	c->block_rd = c->block_wr = -1;
	c->init = -1;
	c->processes = sb->processes;
	c->switch_user = sb->switch_user;
	c->uid = sb->uid;
	c->gid = sb->gid;
	return c;
}

/* Is the scratch directory `scratch` inside `path` (which the job may
 * read): then the job would see the cache it is in. */
static bool
contains(const char *path, const char *scratch)
{
	char *rp = realpath(path, NULL), *rs = realpath(scratch, NULL);
	bool in = rp != NULL && rs != NULL && path_beneath(rs, rp);

	free(rp);
	free(rs);
	return in;
}

/* The command for `argv` in view `v`, whatever the mode (the probe makes
 * one before the mode is known). */
static struct sandbox_cmd *
cmd_make(const struct sandbox *sb, const struct sandbox_view *v,
    const char *const *argv, struct perr *e)
{
	struct sandbox_cmd *c = cmd_new(sb);
	char **av = NULL, *text;
	size_t n = 0;

	text = xasprintf("%s:x:%d:%d:partsfs job:%s:/usr/sbin/nologin\n",
	    sb->user, (int)sb->uid, (int)sb->gid,
	    v->scratch != NULL ? v->scratch : "/");
	c->passwd_fd = memfd_text("passwd", text);
	free(text);
	text = xasprintf("%s:x:%d:\n", sb->user, (int)sb->gid);
	c->group_fd = memfd_text("group", text);
	free(text);
	if (c->passwd_fd == -1 || c->group_fd == -1 ||
	    high_pipe(&c->info_rd, &c->info_wr) != 0 ||
	    high_pipe(&c->block_rd, &c->block_wr) != 0) {
		perr_set(e, errno, "sandbox: %s", strerror(errno));
		goto fail;
	}
	common_options(sb, &av, &n);
	if (v->scratch != NULL) {
		const char *in = v->library != NULL && contains(v->library,
		    v->scratch) ? v->library : NULL;
		for (size_t i = 0; in == NULL && sb->ro[i] != NULL; i++)
			in = contains(sb->ro[i], v->scratch) ? sb->ro[i] : NULL;
		if (in != NULL) {
			perr_set(e, EPERM, "sandbox: the cache (%s) is inside "
			    "%s, which engines may read: keep the cache out "
			    "of it", v->scratch, in);
			goto fail;
		}
	}
	if (v->library != NULL && bind(c, &av, &n, "--ro-bind", v->library,
	    e) != 0)
		goto fail;
	for (size_t i = 0; sb->ro[i] != NULL; i++) {
		if (access(sb->ro[i], F_OK) == 0 &&
		    bind(c, &av, &n, "--ro-bind", sb->ro[i], e) != 0)
			goto fail;
	}
	for (size_t i = 0; v->ro != NULL && v->ro[i] != NULL; i++) {
		if (bind(c, &av, &n, "--ro-bind", v->ro[i], e) != 0)
			goto fail;
	}
	if (v->scratch != NULL) {
		/* the job user's, as its only place to write; readable by
		 * partsfs even without the capabilities that let root
		 * ignore modes (no one else can reach it: the directories
		 * above are partsfs's alone) */
		if (sb->switch_user && (chown(v->scratch, sb->uid,
		    sb->gid) == -1 || chmod(v->scratch, 0755) == -1)) {
			perr_set(e, errno, "sandbox: %s: %s", v->scratch,
			    strerror(errno));
			goto fail;
		}
		if (bind(c, &av, &n, "--bind", v->scratch, e) != 0)
			goto fail;
		strv_add(&av, &n, "--chdir");
		strv_add(&av, &n, v->scratch);
	}
	/* last: nothing else in the sandbox's root can be written */
	strv_add(&av, &n, "--remount-ro");
	strv_add(&av, &n, "/");
	strv_add(&av, &n, "--");
	for (size_t i = 0; argv[i] != NULL; i++)
		strv_add(&av, &n, argv[i]);
	c->argv = av;
	return c;
fail:
	c->argv = av;
	sandbox_cmd_free(c);
	return NULL;
}

/* The advice for what bwrap said when it could not start a job. */
static char *
explain(const char *said, int status)
{
	const char *fix = NULL;
	size_t len = strcspn(said, "\n");

	if (strstr(said, "No permissions to create new namespace") != NULL)
		fix = "unprivileged user namespaces are disabled "
		    "(kernel.unprivileged_userns_clone=0 on a Debian kernel, "
		    "kernel.apparmor_restrict_unprivileged_userns=1 on "
		    "Ubuntu): allow them (sysctl -w "
		    "kernel.unprivileged_userns_clone=1)";
	else if (strstr(said, "ENOSPC") != NULL ||
	    strstr(said, "max_user_namespaces") != NULL)
		fix = "user namespaces are disabled: user.max_user_namespaces "
		    "is 0 (sysctl -w user.max_user_namespaces=10000)";
	else if (strstr(said, "Unknown option") != NULL ||
	    strstr(said, "Unrecognized") != NULL)
		fix = "bwrap is too old: bubblewrap 0.8.0 or later is needed";
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		fix = "the job user could not be set up (sandbox_child)";
	if (fix == NULL)
		return xasprintf("bwrap said: %.*s", (int)len,
		    len > 0 ? said : "nothing (exit status unknown)");
	return len > 0 ? xasprintf("%s; bwrap said: %.*s", fix, (int)len,
	    said) : xstrdup(fix);
}

/* Run bwrap once as a job runs it, with /usr/bin/true: 0, or -1 with the
 * reason set.  A fork of its own (sandbox.c is below spawn.c); once per
 * process. */
static int
probe(struct sandbox *sb)
{
	const char *const argv[] = { "/usr/bin/true", NULL };
	struct sandbox_view v = { 0 };
	struct perr e = { 0 };
	struct sandbox_cmd *c;
	char said[1024];
	int errp[2], status = 0, devnull;
	size_t len = 0;
	pid_t pid, parent = getpid();
	ssize_t got;

	if ((c = cmd_make(sb, &v, argv, &e)) == NULL) {
		sb->reason = xstrdup(e.msg);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) == -1 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		sb->reason = xasprintf("sandbox: %s", strerror(errno));
		sandbox_cmd_free(c);
		return -1;
	}
	if ((pid = fork()) == 0) {
		if (dup2(devnull, 0) == -1 || dup2(errp[1], 1) == -1 ||
		    dup2(errp[1], 2) == -1 || sandbox_child(c, parent) != 0)
			_exit(126);
		execv(c->argv[0], c->argv);
		_exit(127);
	}
	close(devnull);
	close(errp[1]);
	sandbox_cmd_started(c);
	/* the trial runs true: it goes on even when its limit was not set
	 * (its pid not said), not to wait here for ever */
	if (c->block_wr != -1) {
		close(c->block_wr);
		c->block_wr = -1;
	}
	while (len < sizeof said - 1 &&
	    (got = read(errp[0], said + len, sizeof said - 1 - len)) > 0)
		len += (size_t)got;
	said[len] = '\0';
	close(errp[0]);
	while (pid != -1 && waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	sandbox_cmd_finish(c);
	sandbox_cmd_free(c);
	if (pid != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	sb->reason = explain(said, status);
	return -1;
}

/* Find what the sandbox needs: sb->mode is SANDBOX_BWRAP when it is all
 * there (not tried yet), else says why not in sb->reason. */
static void
find(struct sandbox *sb)
{
	char *path, link[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (!sb->want) {
		sb->mode = SANDBOX_OFF;
		return;
	}
	sb->mode = SANDBOX_UNAVAILABLE;
	for (size_t i = 0; top_dirs[i] != NULL; i++) {
		if (lstat(top_dirs[i], &st) == -1)
			continue;
		path = xstrdup(top_dirs[i]);
		sb->top[sb->ntop][0] = path;
		sb->top[sb->ntop][1] = NULL;
		if (S_ISLNK(st.st_mode) &&
		    (n = readlink(path, link, sizeof link - 1)) > 0) {
			link[n] = '\0';
			sb->top[sb->ntop][1] = xstrdup(link);
		}
		sb->ntop++;
	}
	if ((sb->bwrap = system_program(sb->bwrap_name)) == NULL) {
		sb->reason = xasprintf("%s is not installed (Debian package "
		    "bubblewrap)", sb->bwrap_name);
		return;
	}
	sb->mode = SANDBOX_BWRAP;
}

/* The mode, found (and with `try`, tried) as far as it was not yet; under
 * sb->lock. */
static enum sandbox_mode
mode_locked(struct sandbox *sb, bool try)
{
	if (!sb->found) {
		find(sb);
		sb->found = true;
	}
	if (try && !sb->tried && sb->mode == SANDBOX_BWRAP &&
	    probe(sb) != 0)
		sb->mode = SANDBOX_UNAVAILABLE;
	sb->tried |= try;
	return sb->mode;
}

enum sandbox_mode
sandbox_mode(struct sandbox *sb)
{
	enum sandbox_mode mode;

	pthread_mutex_lock(&sb->lock);
	mode = mode_locked(sb, true);
	pthread_mutex_unlock(&sb->lock);
	return mode;
}

enum sandbox_mode
sandbox_mode_untried(struct sandbox *sb)
{
	enum sandbox_mode mode;

	pthread_mutex_lock(&sb->lock);
	mode = mode_locked(sb, false);
	pthread_mutex_unlock(&sb->lock);
	return mode;
}

int
sandbox_cmd_failed(struct sandbox *sb, const struct sandbox_cmd *c,
    const char *said, struct perr *e)
{
	char *why;

	if (c->init_pid > 0)
		return 0;
	/* bwrap never made the namespaces: try it alone, for the reason
	 * (and no job tries again) */
	if (sandbox_mode(sb) != SANDBOX_BWRAP) {
		why = sandbox_describe(sb);
		perr_set(e, EPERM, "%s", why);
		free(why);
		return -EPERM;
	}
	return perr_set(e, EPERM, "bwrap could not set up the job's sandbox "
	    "(it could for a trial run): %.*s", (int)strcspn(said, "\n"),
	    said);
}

const char *
sandbox_reason(struct sandbox *sb)
{
	sandbox_mode(sb);
	return sb->reason != NULL ? sb->reason : "";
}

char *
sandbox_describe(struct sandbox *sb)
{
	switch (sandbox_mode(sb)) {
	case SANDBOX_BWRAP:
		return xasprintf("engines run sandboxed (%s), as %s%s%s",
		    sb->bwrap, sb->user, sb->warning != NULL ? "; warning: " :
		    "", sb->warning != NULL ? sb->warning : "");
	case SANDBOX_OFF:
		return xasprintf("jobs.sandbox is off: engines run "
		    "unconfined, as %s", geteuid() == 0 ? "root" : sb->user);
	case SANDBOX_UNAVAILABLE:
		break;
	}
	return xasprintf("engines are not run: no sandbox can be set up "
	    "here: %s; set jobs.sandbox: off in partsfs.conf to run them "
	    "without one", sb->reason != NULL ? sb->reason : "?");
}

struct sandbox_cmd *
sandbox_cmd_new(struct sandbox *sb, const struct sandbox_view *v,
    const char *const *argv, struct perr *e)
{
	/* not tried first: a job that cannot enter it says so after
	 * (sandbox_cmd_failed), and a trial run then explains why */
	if (sandbox_mode_untried(sb) != SANDBOX_BWRAP) {
		char *why = sandbox_describe(sb);
		perr_set(e, EPERM, "%s", why);
		free(why);
		return NULL;
	}
	return cmd_make(sb, v, argv, e);
}

const char *const *
sandbox_cmd_argv(const struct sandbox_cmd *c)
{
	return (const char *const *)c->argv;
}

int
sandbox_child(const struct sandbox_cmd *c, pid_t parent)
{
	/* dup2 leaves the new descriptor open across exec */
	if (dup2(c->passwd_fd, FD_PASSWD) == -1 ||
	    dup2(c->group_fd, FD_GROUP) == -1 ||
	    dup2(c->info_wr, FD_INFO) == -1 ||
	    dup2(c->block_rd, FD_BLOCK) == -1)
		return errno;
	if (c->nstage > 0) {
		/*
		 * A mount namespace of the child's own, still in the host's
		 * user namespace: a small tmpfs with the view's paths bound
		 * in.  They are opened after the unshare (a bind from a mount
		 * of another namespace fails) and before the tmpfs hides
		 * STAGE (a library under /tmp).  The kernel ignores the
		 * type of these mounts; "none" rather than NULL keeps
		 * memory checkers from taking it for a string unset.
		 */
		if (unshare(CLONE_NEWNS) == -1 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
			return errno;
		for (size_t i = 0; i < c->nstage; i++) {
			int fd = open(c->stage_path[i], O_PATH | O_CLOEXEC);
			if (fd == -1)
				return errno;
			if (fd != (int)(FD_STAGE + i)) {
				if (dup3(fd, (int)(FD_STAGE + i), O_CLOEXEC) ==
				    -1)
					return errno;
				close(fd);
			}
		}
		if (mount("partsfs-stage", STAGE, "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, "mode=0755,size=64k") == -1)
			return errno;
		for (size_t i = 0; i < c->nstage; i++) {
			struct stat st;
			int fd;
			/* a directory or a file to bind on, as the path is */
			if (fstat((int)(FD_STAGE + i), &st) == -1)
				return errno;
			if (S_ISDIR(st.st_mode)) {
				if (mkdir(c->stage_dst[i], 0755) == -1)
					return errno;
			} else {
				if ((fd = open(c->stage_dst[i], O_WRONLY |
				    O_CREAT | O_EXCL | O_CLOEXEC, 0644)) == -1)
					return errno;
				close(fd);
			}
			if (mount(c->stage_src[i], c->stage_dst[i], "none",
			    MS_BIND | MS_REC, NULL) == -1)
				return errno;
		}
	}
	if (c->switch_user) {
		/*
		 * The system calls, not glibc's functions: those change the
		 * credentials of every thread of the process, through its
		 * list of threads and a lock of it, which are the parent's
		 * here (shared memory, or copied by a fork, as under
		 * valgrind, with the lock perhaps held by a thread that
		 * is not in the copy: the child then waited for ever).  The
		 * calls change this thread only, which is all the child is.
		 */
		if (syscall(SYS_setgroups, 0, NULL) == -1 ||
		    syscall(SYS_setresgid, c->gid, c->gid, c->gid) == -1 ||
		    syscall(SYS_setresuid, c->uid, c->uid, c->uid) == -1)
			return errno;
		if (getuid() != c->uid || geteuid() != c->uid)
			return EPERM;
	}
	/* after the change of user, which clears it: die with the parent,
	 * which may be gone already */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		return errno;
	if (getppid() != parent)
		return ESRCH;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return errno;
	/* what the job writes, partsfs reads back */
	umask(022);
	syscall(SYS_close_range, FD_FIRST_FREE, ~0U, 0);
	return 0;
}

/* The start time of process `pid` (field 22 of /proc/PID/stat), or 0
 * when it is gone or a zombie: it has ended. */
static unsigned long long
proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	/* the name is in parentheses and may hold anything: after the
	 * last ')' come the state (field 3) and the rest */
	if (n <= 0 || (buf[n] = '\0', p = strrchr(buf, ')')) == NULL ||
	    p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (field = 3, p += 2; *p != '\0' && field < 22; p++) {
		if (*p == ' ')
			field++;
	}
	if (field == 22)
		start = strtoull(p, NULL, 10);
	return start;
}

/* sandbox_cmd_finish where pidfds are missing (kernels before 5.3,
 * valgrind, seccomp filters): the job's pid 1 by its pid, as long as it is
 * the process it was (its start time), polled until it has ended. */
static void
finish_without_pidfd(struct sandbox_cmd *c)
{
	unsigned long long start;
	uint64_t t0 = now_ns();
	bool said = false;

	if (c->init_pid <= 0 || c->init_start == 0)
		return;
	while ((start = proc_start(c->init_pid)) == c->init_start) {
		kill(c->init_pid, SIGKILL);
		if (!said && now_ns() - t0 > 5000000000ull) {
			log_warning("an engine's processes take more than 5 s "
			    "to end after it was killed");
			said = true;
		}
		usleep(1000);
	}
}

/* Kill the job's pid 1, and with it the job. */
static void
kill_init(struct sandbox_cmd *c)
{
	if (c->init != -1)
		syscall(SYS_pidfd_send_signal, c->init, SIGKILL, NULL, 0);
	else if (c->init_pid > 0 && proc_start(c->init_pid) == c->init_start)
		kill(c->init_pid, SIGKILL);
}

/*
 * The job's process limit, on its pid 1 while it waits on --block-fd,
 * before it starts the command, which inherits it: the limit counts the
 * tasks of the job's user namespace (threads too), the job's own, where
 * set before bwrap it would count every task of the user on the machine
 * (every job, or the whole session of an unprivileged user).  Set from
 * here, not by a program run in the sandbox before the engine (prlimit,
 * an exec and a dynamic load more for every job).  A job whose limit
 * cannot be set is killed: no engine runs without it.  Whether it was
 * set (or none is wanted).
 */
static bool
limit(struct sandbox_cmd *c)
{
	struct rlimit rl;
	int r, err;

	if (c->processes == 0)
		return true;
	rl.rlim_cur = rl.rlim_max = (rlim_t)c->processes;
	r = (int)syscall(SYS_prlimit64, c->init_pid, RLIMIT_NPROC, &rl, NULL);
	if (r == -1 && errno == EPERM && c->switch_user) {
		/*
		 * Root without CAP_SYS_RESOURCE (a container's bounding
		 * set) may still set the limits of a process whose user and
		 * group are its real ones: this thread's real ids become
		 * the job user's for the call, its effective ids (and so its
		 * capabilities) stay.  The system calls change this thread
		 * only, not the whole process as glibc's do.
		 */
		if (syscall(SYS_setresgid, c->gid, -1, -1) == 0) {
			if (syscall(SYS_setresuid, c->uid, -1, -1) == 0) {
				r = (int)syscall(SYS_prlimit64, c->init_pid,
				    RLIMIT_NPROC, &rl, NULL);
				err = errno;
				if (syscall(SYS_setresuid, 0, -1, -1) != 0)
					abort();
				errno = err;
			}
			err = errno;
			if (syscall(SYS_setresgid, 0, -1, -1) != 0)
				abort();
			errno = err;
		}
	}
	if (r == -1) {
		log_warning("the process limit of a job could not be set: %s; "
		    "the job is stopped", strerror(errno));
		kill_init(c);
		return false;
	}
	return true;
}

void
sandbox_cmd_started(struct sandbox_cmd *c)
{
	char buf[1024];
	size_t len = 0;
	const char *p;
	bool go = c->processes == 0;
	pid_t pid;

	if (c->info_wr != -1)
		close(c->info_wr);
	c->info_wr = -1;
	if (c->block_rd != -1)
		close(c->block_rd);
	c->block_rd = -1;
	/* bwrap writes {"child-pid": N, ...} once the namespaces exist,
	 * and nothing when it fails before: the pipe then ends */
	while (len < sizeof buf - 1) {
		struct pollfd pfd = { .fd = c->info_rd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, INFO_MS) <= 0)
			break;
		if ((n = read(c->info_rd, buf + len, sizeof buf - 1 - len)) <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strchr(buf, '}') != NULL)
			break;
	}
	buf[len] = '\0';
	if ((p = strstr(buf, "\"child-pid\":")) != NULL &&
	    (pid = (pid_t)strtol(p + 12, NULL, 10)) > 0) {
		c->init = (int)syscall(SYS_pidfd_open, pid, 0);
		c->init_pid = pid;
		c->init_start = proc_start(pid);
		go = limit(c);
	}
	/* the job's pid 1 goes on (a read at the end of the pipe), unless
	 * its limit is not set: then it waits, until it is killed with
	 * bwrap (its time limit, or bwrap failed) */
	if (go) {
		close(c->block_wr);
		c->block_wr = -1;
	}
}

void
sandbox_cmd_finish(struct sandbox_cmd *c)
{
	struct pollfd pfd;
	uint64_t start = now_ns();
	bool said = false;

	if (c->init == -1) {
		finish_without_pidfd(c);
		return;
	}
	/*
	 * bwrap ends as soon as its pid 1 reports the command's status; the
	 * pid 1 and what the command left are still there for a moment.
	 * The pid 1's end kills every other process of the namespace, and
	 * comes only after they are gone: then the job is over.
	 */
	syscall(SYS_pidfd_send_signal, c->init, SIGKILL, NULL, 0);
	pfd.fd = c->init;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, 1000) != 1) {
		/* a process in uninterruptible sleep holds it (a library on
		 * a dead NFS server): say so once, and wait on */
		if (!said && now_ns() - start > 5000000000ull) {
			log_warning("an engine's processes take more than 5 s "
			    "to end after it was killed");
			said = true;
		}
	}
	close(c->init);
	c->init = -1;
}

void
sandbox_cmd_free(struct sandbox_cmd *c)
{
	if (c == NULL)
		return;
	strv_free(c->argv);
	if (c->passwd_fd != -1)
		close(c->passwd_fd);
	if (c->group_fd != -1)
		close(c->group_fd);
	if (c->info_rd != -1)
		close(c->info_rd);
	if (c->info_wr != -1)
		close(c->info_wr);
	if (c->block_rd != -1)
		close(c->block_rd);
	if (c->block_wr != -1)
		close(c->block_wr);
	if (c->init != -1)
		close(c->init);
	for (size_t i = 0; i < c->nstage; i++) {
		free(c->stage_path[i]);
		free(c->stage_src[i]);
		free(c->stage_dst[i]);
	}
	free(c);
}
