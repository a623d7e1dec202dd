/* serve.c -- partsctl serve: options, the core and the sites started,
 * and an orderly end on SIGTERM (no new connection, those waiting get a
 * 503, jobs stopped, the cache closed whole). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/core/reload.h"
#include "partsfs/serve/native.h"
#include "partsfs/serve/occi.h"
#include "partsfs/serve/problem.h"
#include "partsfs/serve/serve.h"
#include "partsfs/serve/web.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/log.h"

/* How long those still connected get to finish after a signal. */
#define DRAIN_SECONDS 3.0

void
serve_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl serve LIBRARY [--listen ADDR:PORT]... "
	    "[--occi-listen ADDR:PORT]...\n"
	    "                      [--config FILE] [--cache DIR]\n"
	    "Serve the library over HTTP, with the mount's tree, cache and "
	    "jobs:\n"
	    "/files/PATH, /blobs/KEY.EXT, /jobs/ID, /status/NAME and a web "
	    "page at /.\n\n"
	    "  -l, --listen ADDR:PORT       the native API (repeatable; "
	    "default\n"
	    "                               serve.listen, 127.0.0.1:8080)\n"
	    "  -O, --occi-listen ADDR:PORT  the OCCI API (repeatable; "
	    "default none)\n"
	    "  -c, --config FILE            partsfs.conf (the serve: section "
	    "and the rest)\n"
	    "  -C, --cache DIR              the cache directory\n"
	    "  -h, --help                   this help\n"
	    "It runs until SIGTERM or SIGINT.  man partsctl has the API.\n");
}

/* Replace a list of addresses by the one given first on the command
 * line, then append the others. */
static void
add_address(char ***v, size_t *n, bool *given, const char *a)
{
	if (!*given) {
		for (size_t i = 0; i < *n; i++)
			free((*v)[i]);
		*n = 0;
		*given = true;
	}
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = xstrdup(a);
	(*v)[*n] = NULL;
}

static bool
valid_address(const char *a)
{
	const char *colon = strrchr(a, ':');
	char *end;
	long port;

	if (colon == NULL || colon == a || colon[1] == '\0')
		return false;
	port = strtol(colon + 1, &end, 10);
	return *end == '\0' && port >= 0 && port <= 65535;
}

/* Many clients at once need many descriptors: the soft limit raised to
 * the hard one. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct conf *
load_conf(const char *path, const char *cache)
{
	struct diags d = DIAGS_INIT;
	struct conf *conf = conf_load(path, &d);
	struct perr e = { 0 };

	diags_print(&d, stderr);
	diags_free(&d);
	if (conf != NULL && cache != NULL &&
	    conf_set(conf, "cache", cache, &e) != 0) {
		fprintf(stderr, "partsctl: %s\n", e.msg);
		conf_free(conf);
		return NULL;
	}
	return conf;
}

static int
run(struct serve *s, const struct conf *conf, const struct http_site *native,
    const struct http_site *occi, const sigset_t *stop)
{
	struct http_limits lim = { conf->serve_connections, conf->serve_per_ip,
	    conf->serve_timeout, conf->serve_threads };
	size_t n = conf->nserve_listen + conf->nserve_occi_listen;
	struct perr e = { 0 };
	double until;
	int sig, rc = 0;

	s->daemons = xcalloc(n + 1, sizeof *s->daemons);
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool is_occi = i >= conf->nserve_listen;
		const char *a = is_occi ?
		    conf->serve_occi_listen[i - conf->nserve_listen] :
		    conf->serve_listen[i];
		struct http_daemon *d = http_start(a, is_occi ? occi : native,
		    &lim, &e);
		if (d == NULL) {
			fprintf(stderr, "partsctl: %s\n", e.msg);
			rc = 4;
			break;
		}
		s->daemons[s->ndaemons++] = d;
		if (is_occi)
			occi_site_set_address((struct http_site *)occi,
			    http_address(d));
		fprintf(stderr, "partsctl: serving %s on http://%s/ (%s API)\n",
		    s->core->root, http_address(d), is_occi ? "OCCI" :
		    "native");
	}
	if (rc == 0 && s->ndaemons == 0) {
		fprintf(stderr, "partsctl: no address to listen on\n");
		rc = 2;
	}
	if (rc == 0) {
		while (sigwait(stop, &sig) != 0)
			;
		fprintf(stderr, "partsctl: %s: stopping\n", strsignal(sig));
	}
	/* no new connection; those waiting get a 503, the jobs stop */
	for (size_t i = 0; i < s->ndaemons; i++)
		http_quiesce(s->daemons[i]);
	for (size_t i = 0; i < s->ndaemons; i++)
		http_stopping(s->daemons[i]);
	core_stop(s->core);
	until = now_s() + DRAIN_SECONDS;
	for (size_t i = 0; i < s->ndaemons; i++)
		while (http_connections(s->daemons[i]) > 0 && now_s() < until)
			usleep(20000);
	for (size_t i = 0; i < s->ndaemons; i++)
		http_stop(s->daemons[i]);
	return rc;
}

int
serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "occi-listen", required_argument, NULL, 'O' },
		{ "config", required_argument, NULL, 'c' },
		{ "cache", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *cache = NULL;
	char **listen = NULL, **occi = NULL;
	size_t nlisten = 0, nocci = 0;
	bool glisten = false, gocci = false;
	struct http_site native_site, *occi_site;
	static struct serve s;
	struct reload *reload;
	struct timespec loaded;
	struct perr e = { 0 };
	struct conf *conf;
	sigset_t stop;
	int c, rc;

	malloc_tune_daemon();
	while ((c = getopt_long(argc, argv, "l:O:c:C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'O':
			if (!valid_address(optarg)) {
				fprintf(stderr, "partsctl: '%s' is not an "
				    "address to listen on: HOST:PORT "
				    "(127.0.0.1:8080, [::1]:8080)\n", optarg);
				return 2;
			}
			if (c == 'l')
				add_address(&listen, &nlisten, &glisten,
				    optarg);
			else
				add_address(&occi, &nocci, &gocci, optarg);
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			cache = optarg;
			break;
		case 'h':
			serve_usage(stdout);
			return 0;
		default:
			serve_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		serve_usage(stderr);
		rc = 2;
		goto out;
	}
	if ((conf = load_conf(config, cache)) == NULL) {
		rc = 2;
		goto out;
	}
	if (glisten) {
		for (size_t i = 0; i < conf->nserve_listen; i++)
			free(conf->serve_listen[i]);
		free(conf->serve_listen);
		conf->serve_listen = listen;
		conf->nserve_listen = nlisten;
		listen = NULL;
		nlisten = 0;
	}
	if (gocci) {
		for (size_t i = 0; i < conf->nserve_occi_listen; i++)
			free(conf->serve_occi_listen[i]);
		free(conf->serve_occi_listen);
		conf->serve_occi_listen = occi;
		conf->nserve_occi_listen = nocci;
		occi = NULL;
		nocci = 0;
	}
	raise_nofile();
	/* the signals that end the server are taken by sigwait in this
	 * thread; every thread started from here on blocks them */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_REALTIME_COARSE, &loaded);
	if ((s.core = core_open(argv[optind], conf, NULL, &e)) == NULL) {
		fprintf(stderr, "partsctl: %s\n", e.msg);
		rc = e.code == ENOTDIR || e.code == ENOENT ? 1 : 4;
		goto out;
	}
	{
		struct library *lib = core_library(s.core);
		diags_print(&lib->diags, stderr);
		library_unref(lib);
	}
	if ((reload = reload_start(s.core, &loaded, NULL, &e)) == NULL)
		log_warning("live reloading is off: %s", e.msg);
	pthread_mutex_init(&s.touch_lock, NULL);
	pthread_mutex_init(&s.memo_lock, NULL);
	s.jobs = jobtab_new();
	s.webdir = web_dir(s.core->conf->serve_web, PF_PKGDATADIR);
	s.threedir = WEB_THREE_DIR;
	s.started = time(NULL);
	native_site = (struct http_site){ "native", native_answer, &s };
	occi_site = occi_site_new(&s, &(struct occi_site){
	    s.core->conf->serve_occi_url, s.core->conf->serve_occi_library,
	    s.core->conf->serve_occi_maintainer,
	    s.core->conf->serve_occi_email });
	rc = run(&s, s.core->conf, &native_site, occi_site, &stop);
	reload_stop(reload);
	jobtab_free(s.jobs);
	core_close(s.core);
	occi_site_free(occi_site);
	free(s.daemons);
	free(s.webdir);
	pthread_mutex_destroy(&s.touch_lock);
	pthread_mutex_destroy(&s.memo_lock);
out:
	for (size_t i = 0; i < nlisten; i++)
		free(listen[i]);
	free(listen);
	for (size_t i = 0; i < nocci; i++)
		free(occi[i]);
	free(occi);
	return rc;
}
