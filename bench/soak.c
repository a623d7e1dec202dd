/* soak.c -- the load of the soak benchmark: threads doing random lookups,
 * listings and reads across a mounted partsfs while others have parts made,
 * reporting throughput, p50/p99 latency and the daemon's RSS as it goes.
 *
 * usage: soak [-t READERS] [-m MAKERS] [-d SECONDS] [-i INTERVAL] [-p PID]
 *             [-n ENTRIES] [-c CLASSDIR] [-h HOT] [-r RANGE] MOUNTPOINT
 *
 * The tree is walked first (breadth first, at most ENTRIES names, default
 * 50000; links not followed).  Readers then pick, at random: a lookup
 * (stat) of a walked name, or one time in ten of a name that does not
 * exist (6 in 10); a listing of a walked directory (1 in 10); a read of a
 * walked .json file or of one of the hot parts CLASSDIR/size=N.step, N in
 * 1..HOT (3 in 10).  Makers read CLASSDIR/size=N.step for N in
 * HOT+1..RANGE (defaults 64 and 1000): with a small cache limit these are
 * evicted and made again all the time, while the hot parts stay cached.
 * Every name drawn comes from a bounded set, so what the kernel and the
 * daemon hold for them stops growing once the set has been seen, and the
 * RSS must then stay flat.
 *
 * One line per interval; at the end, the totals, the percentiles over the
 * whole run, the RSS at the end of the warm-up (the first third) and at
 * the end, and "RSS flat: yes" when it grew by at most 10% (+1 MiB).  The
 * exit status is 1 when an operation failed unexpectedly or a read
 * returned the wrong bytes, 2 on bad usage or an unusable mount. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum kind { K_LOOKUP, K_LIST, K_READ, K_MAKE, NKINDS };
static const char *const kind_names[NKINDS] = { "lookup", "list", "read",
    "make" };

/*
 * Latency histogram: 16 buckets per power of two of nanoseconds, so a
 * percentile is within 1/16 (6%) of the true value.  Each thread owns its
 * counters; the reporting thread reads them with relaxed loads.
 */
#define SUB 16
#define NBUCKETS (64 * SUB)

struct hist {
	_Atomic uint64_t n[NBUCKETS];
};

struct worker {
	pthread_t thread;
	unsigned id;
	bool maker;
	uint64_t rng;
	struct hist h[NKINDS];
	_Atomic uint64_t errors[NKINDS];
	char *buf;
};

static struct {
	const char *mnt;
	char **files;           /* walked names that are not directories */
	size_t nfiles;
	char **dirs;            /* walked directories ("" is the root) */
	size_t ndirs;
	char **json;            /* walked .json files */
	size_t njson;
	const char *classdir;
	size_t hot;             /* readers read parts 1..hot */
	size_t range;           /* makers read parts hot+1..range */
	_Atomic bool stop;
	_Atomic uint64_t bad;   /* reads that returned the wrong bytes */
	_Atomic uint64_t unexpected;
} S;

#define READ_BUF (1 << 20)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
rnd(struct worker *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545F4914F6CDD1Dull;
}

static size_t
pick(struct worker *w, size_t n)
{
	return (size_t)(rnd(w) % n);
}

static unsigned
bucket_of(uint64_t ns)
{
	unsigned b;

	if (ns < SUB)
		return (unsigned)ns;
	b = 63 - (unsigned)__builtin_clzll(ns);       /* ns >= 2^b */
	/* the top 4 bits after the leading one pick the sub-bucket */
	return (b - 3) * SUB + (unsigned)((ns >> (b - 4)) & (SUB - 1));
}

/* The smallest latency in bucket b, in nanoseconds. */
static double
bucket_ns(unsigned b)
{
	unsigned e = b / SUB + 3, s = b % SUB;

	if (b < SUB)
		return b;
	return (double)(1ull << e) * (1.0 + (double)s / SUB);
}

static void
record(struct worker *w, enum kind k, uint64_t t0)
{
	unsigned b = bucket_of(now_ns() - t0);

	atomic_fetch_add_explicit(&w->h[k].n[b < NBUCKETS ? b : NBUCKETS - 1],
	    1, memory_order_relaxed);
}

static void
fail(struct worker *w, enum kind k, const char *what, const char *path,
    int err)
{
	atomic_fetch_add_explicit(&w->errors[k], 1, memory_order_relaxed);
	if (atomic_fetch_add(&S.unexpected, 1) < 20)
		fprintf(stderr, "soak: %s %s: %s\n", what, path, strerror(err));
}

/* A read that returned the wrong bytes: what came, for the report. */
static void
fail_bytes(struct worker *w, enum kind k, const char *path, const char *buf,
    ssize_t len)
{
	char shown[4 * 24 + 1];
	size_t n = 0;

	atomic_fetch_add(&S.bad, 1);
	atomic_fetch_add_explicit(&w->errors[k], 1, memory_order_relaxed);
	for (ssize_t i = 0; i < len && i < 24; i++) {
		unsigned char c = (unsigned char)buf[i];
		n += (size_t)snprintf(shown + n, sizeof shown - n,
		    c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
	}
	shown[n] = '\0';
	if (atomic_fetch_add(&S.unexpected, 1) < 20)
		fprintf(stderr, "soak: read (wrong bytes) %s: %zd bytes, "
		    "starting \"%s\"\n", path, len, shown);
}

/* Read a whole file; returns its length or -1 with errno. */
static ssize_t
slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	size_t len = 0;
	ssize_t n;
	int err;

	if (fd == -1)
		return -1;
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap)
			len = 0;        /* only the start is checked */
	}
	err = errno;
	close(fd);
	errno = err;
	return n < 0 ? -1 : (ssize_t)len;
}

static void
do_lookup(struct worker *w)
{
	char path[4096];
	struct stat st;
	uint64_t t0;
	bool absent = pick(w, 10) == 0;

	if (absent)
		snprintf(path, sizeof path, "%s/%s/nosuch-%zu.step", S.mnt,
		    S.dirs[pick(w, S.ndirs)], pick(w, 1000));
	else
		snprintf(path, sizeof path, "%s/%s", S.mnt,
		    S.files[pick(w, S.nfiles)]);
	t0 = now_ns();
	if (lstat(path, &st) == -1 && !(absent && errno == ENOENT))
		fail(w, K_LOOKUP, "stat", path, errno);
	else if (!absent && S_ISDIR(st.st_mode))
		fail(w, K_LOOKUP, "stat (a directory)", path, EINVAL);
	record(w, K_LOOKUP, t0);
}

static void
do_list(struct worker *w)
{
	char path[4096];
	struct dirent *de;
	uint64_t t0;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof path, "%s/%s", S.mnt, S.dirs[pick(w, S.ndirs)]);
	t0 = now_ns();
	if ((d = opendir(path)) == NULL) {
		fail(w, K_LIST, "opendir", path, errno);
		return;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL)
		n++;
	if (errno != 0 || n < 2)
		fail(w, K_LIST, "readdir", path, errno ? errno : ENOENT);
	closedir(d);
	record(w, K_LIST, t0);
}

/* A maker's part: the fake engine writes an ISO 10303-21 file. */
static bool
is_step(const char *buf, ssize_t len)
{
	return len > 13 && memcmp(buf, "ISO-10303-21;", 13) == 0;
}

static void
do_read(struct worker *w)
{
	char path[4096];
	uint64_t t0;
	ssize_t len;
	bool part = S.classdir != NULL && pick(w, 2) == 0;

	/* half of the reads are of the hot parts, which stay in the cache
	 * because they are read so often */
	if (part)
		snprintf(path, sizeof path, "%s/%s/size=%zu.step", S.mnt,
		    S.classdir, 1 + pick(w, S.hot));
	else if (S.njson > 0)
		snprintf(path, sizeof path, "%s/%s", S.mnt,
		    S.json[pick(w, S.njson)]);
	else
		return;
	t0 = now_ns();
	len = slurp(path, w->buf, READ_BUF);
	if (len < 0)
		fail(w, K_READ, "read", path, errno);
	else if (part ? !is_step(w->buf, len) : len < 2 || w->buf[0] != '{')
		fail_bytes(w, K_READ, path, w->buf, len);
	record(w, K_READ, t0);
}

static void
do_make(struct worker *w)
{
	char path[4096];
	/* beyond the hot parts: evicted again and again, made again */
	size_t n = S.hot + 1 + pick(w, S.range - S.hot);
	uint64_t t0;
	ssize_t len;

	snprintf(path, sizeof path, "%s/%s/size=%zu.step", S.mnt, S.classdir,
	    n);
	t0 = now_ns();
	len = slurp(path, w->buf, READ_BUF);
	if (len < 0)
		fail(w, K_MAKE, "read", path, errno);
	else if (!is_step(w->buf, len))
		fail_bytes(w, K_MAKE, path, w->buf, len);
	record(w, K_MAKE, t0);
}

static void *
work(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
		size_t r;
		if (w->maker) {
			do_make(w);
			continue;
		}
		r = pick(w, 10);
		if (r < 6)
			do_lookup(w);
		else if (r < 7)
			do_list(w);
		else
			do_read(w);
	}
	return NULL;
}

/* The walk. */

static void
push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		if ((*v = realloc(*v, *cap * sizeof **v)) == NULL) {
			perror("soak");
			exit(2);
		}
	}
	(*v)[(*n)++] = s;
}

static char *
join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s%s%s", dir, *dir ? "/" : "", name) == -1) {
		perror("soak");
		exit(2);
	}
	return s;
}

static void
walk(size_t limit)
{
	size_t cap_f = 0, cap_d = 0, cap_j = 0, next = 0;

	push(&S.dirs, &S.ndirs, &cap_d, strdup(""));
	while (next < S.ndirs && S.nfiles + S.ndirs < limit) {
		char full[4096];
		struct dirent *de;
		DIR *d;

		snprintf(full, sizeof full, "%s/%s", S.mnt, S.dirs[next]);
		if ((d = opendir(full)) == NULL) {
			fprintf(stderr, "soak: %s: %s\n", full, strerror(errno));
			exit(2);
		}
		while ((de = readdir(d)) != NULL &&
		    S.nfiles + S.ndirs < limit) {
			char *p;
			unsigned char type = de->d_type;
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			p = join(S.dirs[next], de->d_name);
			if (type == DT_UNKNOWN) {
				struct stat st;
				char fp[4096];
				snprintf(fp, sizeof fp, "%s/%s", S.mnt, p);
				type = lstat(fp, &st) == 0 && S_ISDIR(st.st_mode) ?
				    DT_DIR : DT_REG;
			}
			if (type == DT_DIR) {
				push(&S.dirs, &S.ndirs, &cap_d, p);
				continue;
			}
			push(&S.files, &S.nfiles, &cap_f, p);
			if (strlen(p) > 5 && strcmp(p + strlen(p) - 5,
			    ".json") == 0)
				push(&S.json, &S.njson, &cap_j, p);
		}
		closedir(d);
		next++;
	}
}

/* The daemon, from /proc and from /.partsfs/stats. */

static long
proc_status_kib(long pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			v = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

static long
proc_fds(long pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%ld/fd", pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A counter of /.partsfs/stats, or -1. */
static long long
fs_stat(const char *name)
{
	char path[4096], line[256];
	size_t nlen = strlen(name);
	long long v = -1;
	FILE *fp;

	snprintf(path, sizeof path, "%s/.partsfs/stats", S.mnt);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (strncmp(line, name, nlen) == 0 && line[nlen] == ' ') {
			v = strtoll(line + nlen + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

/* Percentiles. */

static void
sum_hists(struct worker *ws, unsigned nw, enum kind k, uint64_t *out)
{
	memset(out, 0, NBUCKETS * sizeof *out);
	for (unsigned i = 0; i < nw; i++)
		for (unsigned b = 0; b < NBUCKETS; b++)
			out[b] += atomic_load_explicit(&ws[i].h[k].n[b],
			    memory_order_relaxed);
}

static uint64_t
total(const uint64_t *h)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < NBUCKETS; b++)
		n += h[b];
	return n;
}

/* The q-quantile of h in milliseconds (the bucket's lower edge), or -1. */
static double
quantile(const uint64_t *h, double q)
{
	uint64_t n = total(h), want, seen = 0;

	if (n == 0)
		return -1;
	want = (uint64_t)(q * (double)(n - 1));
	for (unsigned b = 0; b < NBUCKETS; b++) {
		seen += h[b];
		if (seen > want)
			return bucket_ns(b) / 1e6;
	}
	return bucket_ns(NBUCKETS - 1) / 1e6;
}

static void
print_ms(double ms)
{
	if (ms < 0)
		printf(" %7s", "-");
	else if (ms < 10)
		printf(" %7.3f", ms);
	else
		printf(" %7.1f", ms);
}

static void
usage(void)
{
	fprintf(stderr, "usage: soak [-t READERS] [-m MAKERS] [-d SECONDS] "
	    "[-i INTERVAL] [-p PID]\n            [-n ENTRIES] [-c CLASSDIR] "
	    "[-h HOT] [-r RANGE] MOUNTPOINT\n");
	exit(2);
}

static long
number(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	unsigned readers = 16, makers = 2, nw;
	long seconds = 300, interval = 10, pid = -1;
	size_t limit = 50000;
	uint64_t *cur, *prev, *delta, *whole;
	struct worker *ws;
	long rss_warm = -1, rss_end = -1, rss_max = -1, fds_warm = -1,
	    fds_end = -1;
	double t_start, t_next, t_last;
	int c;

	S.hot = 64;
	S.range = 1000;
	while ((c = getopt(argc, argv, "t:m:d:i:p:n:c:r:h:")) != -1) {
		switch (c) {
		case 't': readers = (unsigned)number(optarg, 1, 1024); break;
		case 'm': makers = (unsigned)number(optarg, 0, 1024); break;
		case 'd': seconds = number(optarg, 1, 86400 * 7); break;
		case 'i': interval = number(optarg, 1, 3600); break;
		case 'p': pid = number(optarg, 1, 1L << 30); break;
		case 'n': limit = (size_t)number(optarg, 10, 10000000); break;
		case 'c': S.classdir = optarg; break;
		case 'r': S.range = (size_t)number(optarg, 1, 100000000);
			break;
		case 'h': S.hot = (size_t)number(optarg, 1, 100000000);
			break;
		default: usage();
		}
	}
	if (optind + 1 != argc || (makers > 0 && S.classdir == NULL) ||
	    S.range <= S.hot)
		usage();
	S.mnt = argv[optind];

	t_start = now();
	walk(limit);
	if (S.nfiles == 0) {
		fprintf(stderr, "soak: %s: no files to read\n", S.mnt);
		return 2;
	}
	printf("walked %zu directories, %zu files (%zu .json) in %.1f s; "
	    "%u readers, %u makers, %ld s\n", S.ndirs, S.nfiles, S.njson,
	    now() - t_start, readers, makers, seconds);

	nw = readers + makers;
	if ((ws = calloc(nw, sizeof *ws)) == NULL) {
		perror("soak");
		return 2;
	}
	cur = calloc(NBUCKETS, sizeof *cur);
	prev = calloc((size_t)NKINDS * NBUCKETS, sizeof *prev);
	delta = calloc((size_t)NKINDS * NBUCKETS, sizeof *delta);
	whole = calloc(NBUCKETS, sizeof *whole);
	if (cur == NULL || prev == NULL || delta == NULL || whole == NULL) {
		perror("soak");
		return 2;
	}
	for (unsigned i = 0; i < nw; i++) {
		ws[i].id = i;
		ws[i].maker = i >= readers;
		ws[i].rng = 0x9E3779B97F4A7C15ull * (i + 1) ^
		    (uint64_t)now_ns();
		if ((ws[i].buf = malloc(READ_BUF)) == NULL) {
			perror("soak");
			return 2;
		}
		if ((errno = pthread_create(&ws[i].thread, NULL, work,
		    &ws[i])) != 0) {
			perror("soak: pthread_create");
			return 2;
		}
	}

	printf("%6s %9s", "t(s)", "ops/s");
	for (int k = 0; k < NKINDS; k++)
		printf(" %7.7s %7s", kind_names[k], "p99");
	printf(" %8s %7s %7s %8s %4s\n", "jobs", "inodes", "cacheMB",
	    "RSS(MiB)", "fds");
	printf("%6s %9s", "", "");
	for (int k = 0; k < NKINDS; k++)
		printf(" %7s %7s", "p50(ms)", "(ms)");
	printf("\n");

	t_start = t_last = now();
	t_next = t_start + (double)interval;
	for (;;) {
		double t = now(), elapsed;
		uint64_t ops = 0;
		long rss, fds;
		if (t < t_next) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		elapsed = t - t_start;
		/* this interval's histograms: the sums less the last ones */
		for (int k = 0; k < NKINDS; k++) {
			uint64_t *p = prev + (size_t)k * NBUCKETS;
			uint64_t *d = delta + (size_t)k * NBUCKETS;
			sum_hists(ws, nw, (enum kind)k, cur);
			for (unsigned b = 0; b < NBUCKETS; b++) {
				d[b] = cur[b] - p[b];
				p[b] = cur[b];
			}
			ops += total(d);
		}
		printf("%6.0f %9.0f", elapsed, (double)ops / (t - t_last));
		for (int k = 0; k < NKINDS; k++) {
			print_ms(quantile(delta + (size_t)k * NBUCKETS, 0.50));
			print_ms(quantile(delta + (size_t)k * NBUCKETS, 0.99));
		}
		rss = pid > 0 ? proc_status_kib(pid, "VmRSS") : -1;
		fds = pid > 0 ? proc_fds(pid) : -1;
		printf(" %8lld %7lld %7.1f %8.1f %4ld\n", fs_stat("jobs_done"),
		    fs_stat("inodes"), (double)fs_stat("cache_bytes") / 1e6,
		    rss >= 0 ? (double)rss / 1024 : -1.0, fds);
		fflush(stdout);
		if (rss > rss_max)
			rss_max = rss;
		if (rss_warm < 0 && elapsed >= (double)seconds / 3) {
			rss_warm = rss;
			fds_warm = fds;
		}
		rss_end = rss;
		fds_end = fds;
		t_last = t;
		t_next += (double)interval;
		if (elapsed >= (double)seconds)
			break;
	}
	atomic_store(&S.stop, true);
	for (unsigned i = 0; i < nw; i++)
		pthread_join(ws[i].thread, NULL);

	{
		double secs = now() - t_start;
		uint64_t all = 0, errs = 0;
		printf("\nwhole run (%.0f s):\n", secs);
		for (int k = 0; k < NKINDS; k++) {
			uint64_t e = 0, n;
			sum_hists(ws, nw, (enum kind)k, whole);
			n = total(whole);
			for (unsigned i = 0; i < nw; i++)
				e += atomic_load(&ws[i].errors[k]);
			all += n;
			errs += e;
			printf("  %-7s %10" PRIu64 " ops %9.0f/s  p50",
			    kind_names[k], n, (double)n / secs);
			print_ms(quantile(whole, 0.50));
			printf(" ms  p99");
			print_ms(quantile(whole, 0.99));
			printf(" ms  %" PRIu64 " unexpected errors\n", e);
		}
		printf("  total   %10" PRIu64 " ops %9.0f/s, %" PRIu64
		    " unexpected errors, %" PRIu64 " wrong reads\n", all,
		    (double)all / secs, errs, atomic_load(&S.bad));
		if (pid > 0) {
			bool flat = rss_end <= rss_warm + rss_warm / 10 + 1024;
			printf("  RSS after warm-up %.1f MiB, at the end %.1f "
			    "MiB, peak %.1f MiB (%+.1f%%); fds %ld -> %ld\n",
			    (double)rss_warm / 1024, (double)rss_end / 1024,
			    (double)rss_max / 1024, rss_warm > 0 ?
			    100.0 * (double)(rss_end - rss_warm) /
			    (double)rss_warm : 0.0, fds_warm, fds_end);
			printf("RSS flat: %s\n", flat ? "yes" : "no");
		}
		for (unsigned i = 0; i < nw; i++)
			free(ws[i].buf);
		return errs > 0 || atomic_load(&S.bad) > 0 ? 1 : 0;
	}
}
