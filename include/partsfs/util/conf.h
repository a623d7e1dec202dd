/* conf.h -- partsfs.conf: executors, job limits, the cache and the bound
 * of values, read from a YAML file, with defaults that work with no file
 * at all. */
#ifndef PARTSFS_CONF_H
#define PARTSFS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/util/diag.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

/* A `command` executor: a database directory of the library holding its
 * scripts, and how to run the engine. */
struct conf_command {
	char *name;              /* database directory name, e.g. cadquery */
	char **argv;             /* template: {script} {params} {output}
	                          * {format} {scratch} are replaced */
	size_t argc;
	char **version_argv;     /* prints the engine's version; may be NULL */
	uint32_t formats;        /* FMT_BIT set it can write */
	int cost;
};

/* executors.models: the engine of the classes of one collection, or of
 * one class. */
struct conf_model {
	char *id;                /* a collection's or a class's id */
	char *engine;
};

struct conf {
	char *file;              /* the file read, NULL for defaults */
	/* executors */
	char *openscad;          /* program, found on PATH if not absolute */
	char **openscad_include; /* prelude files, relative to the library */
	size_t nopenscad_include;
	bool openscad_include_set; /* the file names them (even none): no
				    * BOLTS helpers are looked for */
	unsigned openscad_allow; /* CONF_SCAD_* kinds that fail no job */
	char **png_wrapper;      /* argv prefix for PNG without $DISPLAY */
	size_t npng_wrapper;
	int openscad_cost;
	char *freecad;           /* freecadcmd */
	char *freecad_driver;    /* our driver script */
	int freecad_cost;
	char *converter;         /* partsfs-convert */
	struct conf_command *commands;
	size_t ncommands;
	/* which engine makes a class's model (executors.model, models):
	 * "openscad", "freecad" or a command's name */
	char *model;
	struct conf_model *models;   /* per collection or class id */
	size_t nmodels;
	/* jobs */
	bool sandbox;            /* engines in bubblewrap (jobs.sandbox) */
	char *bwrap;             /* its program, found on PATH if not
				  * absolute */
	char *job_user;          /* jobs.user: who engines run as when
				  * partsfs is root; NULL: partsfs, else
				  * nobody */
	uint64_t processes;      /* tasks of one job; 0 none */
	uint64_t tmp_size;       /* a job's private /tmp and /dev/shm */
	char **ro_paths;         /* more directories engines may read */
	size_t nro_paths;
	int workers;             /* 0: one per CPU */
	double timeout;          /* seconds */
	uint64_t memory;         /* address space limit, bytes; 0 none */
	double cpu;              /* CPU seconds; 0 none */
	size_t stderr_max;       /* captured bytes of stderr */
	uint64_t output_max;     /* largest output file, bytes */
	/* cache */
	char *cache_dir;
	uint64_t cache_max;      /* bytes */
	double negative_ttl;     /* seconds a failure is remembered */
	/* values */
	double value_max;        /* values.max: the largest magnitude of a
				  * Length (mm) or Number a part is made
				  * with */
	/* serve: partsctl serve */
	char **serve_listen;     /* "ADDR:PORT" of the native API */
	size_t nserve_listen;
	char **serve_occi_listen;  /* ... and of the OCCI API (none) */
	size_t nserve_occi_listen;
	int serve_connections;   /* connections at once, beyond: refused */
	int serve_per_ip;        /* connections of one address; 0 none */
	double serve_timeout;    /* seconds: idle, and to send a request */
	int serve_threads;       /* 0: one per CPU */
	int serve_queue;         /* parts queued at once, beyond: 503 */
	char *serve_web;         /* the web page's files; NULL: the
				  * default (see serve_webdir) */
	/* what the OCCI API says of itself; NULL: from the request and
	 * the library (serve/occi.h) */
	char *serve_occi_url;    /* the public base URL */
	char *serve_occi_library;
	char *serve_occi_maintainer;
	char *serve_occi_email;
	/* remote: the client of a served library (partsctl on a URL) */
	char *remote_netrc;          /* user and password; NULL none */
	char *remote_token_file;     /* a bearer token; NULL none */
	double remote_connect_timeout;   /* seconds */
	double remote_dir_cache;     /* seconds a listing is kept (mount) */
};

/* What OpenSCAD says when its output cannot be the part asked for, by
 * kind; executors.openscad.allow-warnings lets kinds through. */
enum {
	CONF_SCAD_UNKNOWN_MODULE = 1 << 0,   /* "Ignoring unknown module" */
	CONF_SCAD_UNKNOWN_FUNCTION = 1 << 1,
	CONF_SCAD_UNKNOWN_VARIABLE = 1 << 2,
	CONF_SCAD_MISSING_FILE = 1 << 3,     /* include, use, import */
	CONF_SCAD_BOLTS_ERROR = 1 << 4,      /* ECHO: "BOLTS Error: ..." */
};
#define CONF_SCAD_ALL 0x1fu
/* The name of one kind as partsfs.conf writes it ("unknown-module"), or
 * NULL when `kind` is not one bit of CONF_SCAD_ALL. */
const char *conf_scad_kind_name(unsigned kind);

/* serve.listen when the file does not say: loopback only. */
#define CONF_SERVE_LISTEN "127.0.0.1:8080"

/* values.max when the file does not say: a kilometre. */
#define CONF_VALUE_MAX 1e6

/*
 * The configuration: `path` when given, else $PARTSFS_CONFIG, else
 * ~/.config/partsfs/partsfs.conf, else /etc/partsfs/partsfs.conf, else the
 * defaults alone.  Problems are added to `diags` as file:line:col errors;
 * NULL is returned when there were errors.  Unknown keys are errors too
 * (a misspelt key should not be silently ignored).
 */
struct conf *conf_load(const char *path, struct diags *diags);
/* The defaults (no file). */
struct conf *conf_default(void);
/* The engine conf wants for the model of class `cls` of collection
 * `coll`: executors.models for the class, else for the collection, else
 * executors.model. */
const char *conf_model_for(const struct conf *conf, const char *coll,
    const char *cls);
void conf_free(struct conf *c);

/* Set one option from text, as `partsfs -o name=value` does: cache=,
 * cache_max=, jobs=, timeout=, memory=, cpu=, negative_ttl=, sandbox=,
 * model=, and of a remote mount dir_cache=, connect_timeout=, netrc= and
 * token_file= (the files made absolute, and they must exist).
 * 0 or -errno (EINVAL). */
int conf_set(struct conf *c, const char *name, const char *value,
    struct perr *e);

/* "1G", "512M", "64K", "1000" -> bytes; false when not a size. */
bool parse_size(const char *s, uint64_t *out);
/* A path with a leading ~/ expanded; caller frees. */
char *expand_home(const char *path);

#endif
