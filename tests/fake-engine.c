/* fake-engine.c -- a CAD engine for the tests of the `command` executor:
 * reads the parameter file partsfs writes and makes a box, or misbehaves
 * in the way its "mode" parameter asks (hang, crash, garbage, stamped
 * output that differs from run to run, the script's first line as the
 * part's name, a big STL of the box repeated, ...).
 *
 * usage: fake-engine [--record DIR] PARAMS.json OUTPUT FORMAT SCRIPT [ARG...]
 * With --record, the run is recorded in DIR first, for tests of how the
 * engine is started: DIR/argv (every element, each ended by a NUL), DIR/env
 * (the environment, the same way), DIR/cwd and DIR/params.json (a copy of
 * PARAMS); further ARGs are then allowed, and ignored.
 * Parameters used: mode (text), size (mm), seconds (number), counter (a
 * file to which each run appends its pid), note (written into the output
 * as the part's name, to show that values arrive as data). */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *
text(json_t *params, const char *name, const char *def)
{
	json_t *v = json_object_get(params, name);

	return json_is_string(v) ? json_string_value(v) : def;
}

static double
number(json_t *params, const char *name, double def)
{
	json_t *v = json_object_get(params, name);

	return json_is_number(v) ? json_number_value(v) : def;
}

/* Write `n` strings, each ended by a NUL, to dir/name. */
static int
record_strings(const char *dir, const char *name, char *const *v, size_t n)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		fwrite(v[i], 1, strlen(v[i]) + 1, fp);
	return fclose(fp);
}

static int
record_copy(const char *from, const char *dir, const char *name)
{
	char path[4096], buf[8192];
	FILE *in, *out;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((in = fopen(from, "rb")) == NULL)
		return -1;
	if ((out = fopen(path, "wb")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out);
}

/* The run as --record DIR asks (see above). */
static int
record_run(const char *dir, int argc, char **argv)
{
	extern char **environ;
	char cwd[4096], *cwdv[1] = { cwd };
	size_t nenv = 0;

	while (environ[nenv] != NULL)
		nenv++;
	if (getcwd(cwd, sizeof cwd) == NULL)
		strcpy(cwd, "?");
	if (record_strings(dir, "argv", argv, (size_t)argc) != 0 ||
	    record_strings(dir, "env", environ, nenv) != 0 ||
	    record_strings(dir, "cwd", cwdv, 1) != 0 ||
	    record_copy(argv[3], dir, "params.json") != 0) {
		fprintf(stderr, "fake-engine: cannot record into %s\n", dir);
		return -1;
	}
	return 0;
}

static void
put_float(FILE *fp, float f)
{
	fwrite(&f, sizeof f, 1, fp);
}

/* A binary STL of an axis-aligned box of side s from the origin, its 12
 * triangles written `reps` times (a big part when reps is large). */
static int
write_box_stl(const char *path, double s, const char *name, uint32_t reps)
{
	static const int tris[12][3] = {
		{ 0, 2, 1 }, { 0, 3, 2 }, { 4, 5, 6 }, { 4, 6, 7 },
		{ 0, 1, 5 }, { 0, 5, 4 }, { 2, 3, 7 }, { 2, 7, 6 },
		{ 1, 2, 6 }, { 1, 6, 5 }, { 0, 4, 7 }, { 0, 7, 3 },
	};
	float v[8][3];
	char header[80] = { 0 };
	uint32_t n = 12 * reps;
	uint16_t attr = 0;
	FILE *fp = fopen(path, "wb");

	if (fp == NULL)
		return -1;
	for (int i = 0; i < 8; i++) {
		v[i][0] = (i == 1 || i == 2 || i == 5 || i == 6) ? (float)s : 0;
		v[i][1] = (i == 2 || i == 3 || i == 6 || i == 7) ? (float)s : 0;
		v[i][2] = i >= 4 ? (float)s : 0;
	}
	snprintf(header, sizeof header, "fake-engine %s", name);
	fwrite(header, 1, sizeof header, fp);
	fwrite(&n, sizeof n, 1, fp);
	for (uint32_t t = 0; t < n; t++) {
		put_float(fp, 0);
		put_float(fp, 0);
		put_float(fp, 0);
		for (int k = 0; k < 3; k++)
			for (int c = 0; c < 3; c++)
				put_float(fp, v[tris[t % 12][k]][c]);
		fwrite(&attr, sizeof attr, 1, fp);
	}
	return fclose(fp);
}

/* A STEP file that passes the signature check; its product is named after
 * the label and note. */
static int
write_step(const char *path, const char *label, const char *note, double s)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return -1;
	fprintf(fp, "ISO-10303-21;\nHEADER;\nFILE_NAME('fake');\nENDSEC;\n"
	    "DATA;\n#1=PRODUCT('%s','%s','',());\n#2=BOX(%g);\nENDSEC;\n"
	    "END-ISO-10303-21;\n", label, note, s);
	return fclose(fp);
}

int
main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *job, *params;
	const char *mode, *counter, *note, *label;
	double size, seconds;

	if (argc >= 7 && strcmp(argv[1], "--record") == 0) {
		if (record_run(argv[2], argc, argv) != 0)
			return 2;
		argv[2] = argv[0];
		argv += 2;
		argc = 5;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: fake-engine [--record DIR] PARAMS OUTPUT "
		    "FORMAT SCRIPT [ARG...]\n");
		return 2;
	}
	if ((job = json_load_file(argv[1], 0, &jerr)) == NULL) {
		fprintf(stderr, "fake-engine: %s: %s\n", argv[1], jerr.text);
		return 2;
	}
	params = json_object_get(job, "params");
	label = text(job, "label", "");
	mode = text(params, "mode", "box");
	counter = text(params, "counter", "");
	note = text(params, "note", "");
	size = number(params, "size", 10);
	seconds = number(params, "seconds", 0);
	if (counter[0] != '\0') {
		FILE *fp = fopen(counter, "a");
		if (fp != NULL) {
			fprintf(fp, "%ld\n", (long)getpid());
			fclose(fp);
		}
	}
	fprintf(stderr, "fake-engine: mode %s, note [%s]\n", mode, note);
	if (strcmp(mode, "hang") == 0)
		for (;;)
			pause();
	if (strcmp(mode, "crash") == 0)
		raise(SIGSEGV);
	if (strcmp(mode, "fail") == 0) {
		fprintf(stderr, "fake-engine: giving up as asked\n");
		return 3;
	}
	if (strcmp(mode, "nothing") == 0)
		return 0;
	if (strcmp(mode, "empty") == 0) {
		FILE *fp = fopen(argv[2], "w");
		return fp != NULL && fclose(fp) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "garbage") == 0) {
		FILE *fp = fopen(argv[2], "w");
		for (int i = 0; fp != NULL && i < 1000; i++)
			fputs("this is not a CAD file\n", fp);
		return fp != NULL && fclose(fp) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "flood") == 0) {
		/* 100 MB of stderr, then a failure */
		static char line[1024];
		memset(line, 'x', sizeof line - 1);
		line[sizeof line - 2] = '\n';
		for (int i = 0; i < 100 * 1024; i++)
			fputs(line, stderr);
		fprintf(stderr, "fake-engine: the last line of the flood\n");
		return 1;
	}
	if (strcmp(mode, "memory") == 0) {
		/* more than the address space limit allows */
		size_t n = (size_t)8 << 30;
		char *p = malloc(n);
		if (p == NULL) {
			fprintf(stderr, "fake-engine: out of memory\n");
			return 4;
		}
		memset(p, 1, n);
		return 0;
	}
	if (strcmp(mode, "orphan") == 0) {
		/* a helper that outlives the engine in its process group */
		if (fork() == 0) {
			if (counter[0] != '\0') {
				FILE *fp = fopen(counter, "a");
				if (fp != NULL) {
					fprintf(fp, "%ld\n", (long)getpid());
					fclose(fp);
				}
			}
			for (;;)
				pause();
		}
	}
	if (seconds > 0) {
		struct timespec ts = { (time_t)seconds,
		    (long)((seconds - (double)(time_t)seconds) * 1e9) };
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (strcmp(mode, "stamped") == 0 && strcmp(argv[3], "step") == 0) {
		/* as engines stamp the time: each run its own bytes and a
		 * length of its own, over a few pages */
		FILE *fp = fopen(argv[2], "w");
		long pid = (long)getpid();

		if (fp == NULL)
			return 1;
		fprintf(fp, "ISO-10303-21;\n/* run %ld ", pid);
		for (long i = 0; i < 8192 + pid % 4093; i++)
			fputc('a' + (int)((pid + i) % 26), fp);
		fprintf(fp, " */\nHEADER;\nENDSEC;\nDATA;\n#2=BOX(%g);\n"
		    "ENDSEC;\nEND-ISO-10303-21;\n", size);
		return fclose(fp) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "script") == 0) {
		/* the script's first line, read at the end as an engine
		 * reads its module, is the part's name */
		static char line[64];
		FILE *fp = fopen(argv[4], "r");
		if (fp == NULL || fgets(line, sizeof line, fp) == NULL)
			return 1;
		fclose(fp);
		line[strcspn(line, "\n")] = '\0';
		note = line;
	}
	if (strcmp(argv[3], "step") == 0)
		return write_step(argv[2], label, note, size) == 0 ? 0 : 1;
	/* big: the box 16384 times over, 9.8 MB (a long transfer) */
	return write_box_stl(argv[2], size, note,
	    strcmp(mode, "big") == 0 ? 16384 : 1) == 0 ? 0 : 1;
}
