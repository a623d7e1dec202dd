/* cmd-cache.c -- partsctl cache: statistics, pruning, clearing and
 * verifying the cache of made parts. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "partsfs/cache/cache.h"
#include "partsfs/util/conf.h"

static void
cache_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl cache stats|prune|clear|verify [--json] "
	    "[--config FILE] [--cache DIR]\n"
	    "Look after the cache of made parts (see partsfs.conf(5) for its\n"
	    "place and size limit).\n"
	    "  stats    entries, disk space used (parts and index) and allowed,\n"
	    "           failures remembered\n"
	    "  prune    check every part against the index, evict least\n"
	    "           recently used parts down to the size limit and forget\n"
	    "           expired failures\n"
	    "  clear    remove every part and failure\n"
	    "  verify   re-hash every part and remove the damaged ones\n\n"
	    "  -j, --json          print the result as JSON\n"
	    "  -c, --config FILE   partsfs.conf to use\n"
	    "      --cache DIR     the cache directory\n"
	    "  -h, --help          this help\n");
}

static double
mib(uint64_t n)
{
	return (double)n / (1024.0 * 1024.0);
}

int
cmd_cache(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "cache", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *dir = NULL, *what;
	struct cache_stats st;
	struct perr e = { 0 };
	struct cache *cache;
	struct conf *conf;
	const char *why = NULL;
	json_t *j = NULL;
	bool json = false;
	int c, err = 0, rc = CTL_OK;

	while ((c = getopt_long(argc, argv, "jc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			dir = optarg;
			break;
		case 'h':
			cache_usage(stdout);
			return CTL_OK;
		default:
			cache_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 1) {
		cache_usage(stderr);
		return CTL_USAGE;
	}
	what = argv[optind];
	if (strcmp(what, "stats") != 0 && strcmp(what, "prune") != 0 &&
	    strcmp(what, "clear") != 0 && strcmp(what, "verify") != 0) {
		ctl_error("unknown cache command '%s'", what);
		cache_usage(stderr);
		return CTL_USAGE;
	}
	if ((conf = ctl_conf(config, dir, NULL)) == NULL)
		return CTL_USAGE;
	cache = cache_open(conf->cache_dir, conf->cache_max, conf->negative_ttl,
	    &e);
	if (cache == NULL && e.code == ENOSPC && strcmp(what, "clear") == 0) {
		/* a disk too full to open the index on: the parts go first,
		 * then the index has room */
		ctl_error("%s; removing the parts' files first", e.msg);
		cache_remove_parts(conf->cache_dir);
		cache = cache_open(conf->cache_dir, conf->cache_max,
		    conf->negative_ttl, &e);
	}
	if (cache == NULL) {
		ctl_error("%s", e.msg);
		conf_free(conf);
		return CTL_SYSTEM;
	}
	if (strcmp(what, "stats") == 0) {
		if ((err = cache_stats(cache, &st)) != 0)
			rc = CTL_SYSTEM;
		else if (json)
			j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}",
			    "dir", cache_dir(cache),
			    "entries", (json_int_t)st.entries,
			    "bytes", (json_int_t)st.bytes,
			    "index_bytes", (json_int_t)st.index_bytes,
			    "max_bytes", (json_int_t)st.max_bytes,
			    "failures", (json_int_t)st.failures);
		else
			printf("cache: %s\nentries: %ju\nsize: %.1f MiB of "
			    "%.1f MiB (parts %.1f MiB, index %.1f MiB)\n"
			    "failures remembered: %ju\n",
			    cache_dir(cache), (uintmax_t)st.entries,
			    mib(st.bytes + st.index_bytes), mib(st.max_bytes),
			    mib(st.bytes), mib(st.index_bytes),
			    (uintmax_t)st.failures);
	} else if (strcmp(what, "prune") == 0) {
		uint64_t freed = 0;
		int n = cache_check(cache, &e) != 0 ? -1 :
		    cache_prune(cache, &freed);
		if (n < 0) {
			rc = CTL_SYSTEM;
			if (e.msg[0] == '\0')
				err = n;
			else
				why = e.msg;
		}
		else if (json)
			j = json_pack("{s:i, s:I}", "removed", n, "bytes_freed",
			    (json_int_t)freed);
		else
			printf("removed %d entries, %.1f MiB\n", n, mib(freed));
	} else if (strcmp(what, "clear") == 0) {
		/* what was there: cache_clear does not count */
		int n = (err = cache_stats(cache, &st)) != 0 ? err :
		    cache_clear(cache);
		if (n == 0)
			n = (int)st.entries;
		if (n < 0) {
			rc = CTL_SYSTEM;
			err = n;
		}
		else if (json)
			j = json_pack("{s:i}", "removed", n);
		else
			printf("removed %d entries\n", n);
	} else {
		uint64_t checked = 0, removed = 0;
		if ((err = cache_verify(cache, &checked, &removed)) < 0)
			rc = CTL_SYSTEM;
		else if (json)
			j = json_pack("{s:I, s:I}", "checked",
			    (json_int_t)checked, "removed", (json_int_t)removed);
		else
			printf("checked %ju entries, removed %ju damaged\n",
			    (uintmax_t)checked, (uintmax_t)removed);
	}
	if (rc != CTL_OK)
		ctl_error("cache %s failed: %s", what, why != NULL ? why :
		    strerror(err < 0 ? -err : EIO));
	if (j != NULL) {
		json_dumpf(j, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(j);
	}
	cache_close(cache);
	conf_free(conf);
	return rc;
}
