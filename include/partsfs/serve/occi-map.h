/* occi-map.h -- the OCCI API of `partsctl serve` as the OCCI FreeCAD
 * plugin calls it (the URL scheme of the reference occi-server): the
 * mapping of
 * the library onto its scripts, parameters and presets, the parsing of its
 * routes and model requests into tree paths, and the JSON it answers.
 *
 * The mapping: org = a collection's id, name = a class's id, version =
 * OCCI_VERSION (BOLTS collections carry no version of their own; their
 * blt-version is the format's).  A script's parameters are the free
 * parameters of the class as its STEP is made: Table Index -> "options",
 * Length (mm), Length (in), Number and Angle -> "number" (a float
 * default), Bool -> "boolean", String -> "text".  Its presets are the
 * class's `common` combinations, named by their paths below the class
 * directory as the mount lists them ("M8/length=20", "M8/default"). */
#ifndef PARTSFS_OCCI_MAP_H
#define PARTSFS_OCCI_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "partsfs/model/library.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/format.h"

/* The version of every script. */
#define OCCI_VERSION "1.0"
/* Characters of a request hash (URL-safe base64). */
#define OCCI_HASH_LEN 11

/*
 * What a server says of itself.  `url` is the public base URL the
 * plugin reaches the listener at (scheme, host, port, no trailing
 * slash): every script's "url" starts with it.  `library`,
 * `maintainer` and `maintainer_email` may be NULL: they are then taken
 * from the library (occi_info).
 */
struct occi_site {
	const char *url;
	const char *library;
	const char *maintainer;
	const char *maintainer_email;
};

/* The routes of the OCCI listener. */
enum occi_route_kind {
	OCCI_NOT_FOUND,
	OCCI_ROOT,            /* / */
	OCCI_SEARCH,          /* /search */
	OCCI_SCRIPT,          /* /<org>/<name> */
	OCCI_VERSIONS,        /* /<org>/<name>/versions */
	OCCI_MODEL,           /* /<org>/<name>/<version> */
	OCCI_PARAMS,          /* /<org>/<name>/<version>/params */
	OCCI_PRESETS,         /* /<org>/<name>/<version>/presets */
	OCCI_JOB,             /* /<org>/<name>/<hash>/job/<id> */
};

/* A route and its segments (NUL-terminated copies, at most 255 bytes
 * each; empty when the route has no such segment). */
struct occi_route {
	enum occi_route_kind kind;
	char org[256];
	char name[256];
	char version[256];    /* OCCI_MODEL, OCCI_PARAMS, OCCI_PRESETS */
	char hash[256];       /* OCCI_JOB */
	char job[256];        /* OCCI_JOB */
};

/*
 * Split the path of a request, as it came on the request line (not
 * %-decoded, without the query), into its route, each segment
 * %-decoded.  A path with an empty segment, a trailing slash, a segment
 * that is or decodes to "." or "..", a bad escape, an encoded NUL or a
 * segment too long is OCCI_NOT_FOUND, as is any shape not listed above.
 * Pure: no library needed.
 */
enum occi_route_kind occi_route(const char *path, struct occi_route *r);

/*
 * GET /: {"library", "maintainer", "maintainer_email"}.  What `site`
 * leaves NULL comes from the library: library = the name (else the id)
 * of its only collection, else the last component of its directory;
 * maintainer and
 * maintainer_email = the first author of its first collection ("Name
 * <mail>" split), else "partsfs" and null.  The plugin keys servers on
 * library and maintainer and splits on `~`, `<`, `>` and `"`, so these
 * are left out of both.  A new reference.
 */
json_t *occi_info(const struct occi_site *site, const struct library *lib);

/* The class `name` of collection `org`, or NULL. */
const struct pclass *occi_class(const struct library *lib, const char *org,
    const char *name);
/* Whether the plugin can use class `cls`: it can be made in STEP. */
bool occi_listed(const struct pclass *cls);

/* A script's "params": {name: {name, description, units, type, default,
 * ...}} in the order of the free parameters (the plugin's rows and query
 * order).  NULL when the class cannot be made in STEP. */
json_t *occi_params(const struct pclass *cls);
/* A script's "param_presets": {preset name: {param: value}}, one per
 * common combination, in the order of the class's `common` list. */
json_t *occi_presets(const struct pclass *cls);

/*
 * A script as the search lists it: id, namespace, status, org, name,
 * version, url, author, license, description, params, param_presets,
 * script_cad_language (the engine of the class's model: freecad,
 * openscad or a command's name), and partsfs's own "path" (the class
 * directory in the tree).  NULL when the class cannot be made in STEP.
 */
json_t *occi_script(const struct occi_site *site, const struct pclass *cls);

/*
 * GET /search?q=TEXT: a JSON array of the scripts (one per class that can
 * be made in STEP, in the tree's order) whose text holds every word of
 * `q` (blank-separated, case-insensitive): the ids, names, standards,
 * descriptions, the collection's authors, and the parameter
 * names.  An empty or NULL `q` lists every script.
 */
json_t *occi_search(const struct occi_site *site, const struct library *lib,
    const char *q);

/* One argument of a request's query string, decoded. */
struct occi_arg {
	const char *key;
	const char *value;
};

/* A parsed model request. */
struct occi_request {
	const struct pclass *cls;
	struct pnode part;            /* the part, in `fmt` */
	enum format fmt;              /* format=: step (default), stl, gltf */
	bool full;                    /* output=full: the result JSON */
	char *path;                   /* its canonical tree path */
	char hash[OCCI_HASH_LEN + 1]; /* occi_hash(path) */
	json_t *params;               /* request.params: {p: {value}} */
};

/*
 * Parse a model request /<org>/<name>/<version>?<args> against `lib`
 * (which must outlive `req`): the class, the version, format= and
 * output=, and one argument per free parameter, its value as the
 * plugin's widgets print it (numbers 20 or 20.0, booleans True/False
 * in any case, options and text as they are); parameters not given take
 * their defaults.  Every value goes through the tree's checks
 * (pnode_set_param, pnode_collect) exactly as a path's would.  The part
 * path is canonical with the values equal to their defaults left out, so
 * that every spelling of one part has one path and one hash.
 *
 * Returns 0 with `req` filled (free it with occi_request_clear), or the
 * HTTP status of the error with *err a new reference to its body: 404
 * {"detail": "..."} for an unknown script or version, 422 {"detail":
 * [{"loc": ["query", key], "msg", "type"}, ...]} listing every bad
 * argument (an unknown parameter, a value of the wrong type, out of
 * range or not a choice, a parameter given twice, an unknown format or
 * output).  Never starts a job.
 */
int occi_request_parse(const struct library *lib, const char *org,
    const char *name, const char *version, const struct occi_arg *args,
    size_t nargs, struct occi_request *req, json_t **err);
void occi_request_clear(struct occi_request *req);

/*
 * The request of the part at tree path `path` (a job's), with output
 * `full`: 0 with `req` filled, or -ENOENT when the path is no part of a
 * class the plugin can use.  Its path is `path` made canonical.
 */
int occi_request_of_path(const struct library *lib, const char *path,
    bool full, struct occi_request *req);

/* The request hash of a tree path: the first OCCI_HASH_LEN characters of
 * the URL-safe base64 of its SHA-256 (letters, digits, '-', '_'), and a
 * NUL. */
void occi_hash(const char *path, char out[OCCI_HASH_LEN + 1]);

/* The path-only Location of a request's job:
 * /<org>/<name>/<hash>/job/<id> (caller frees).  `job` is URL-safe. */
char *occi_job_location(const struct occi_request *req, const char *job);

/*
 * The body of a job still under way (202): {"status": "working",
 * "job_id", "job_status" (`state`: "queued" or "running"),
 * "elapsed_time" (ms), "script": the script with its "request"}.
 */
json_t *occi_job_json(const struct occi_site *site,
    const struct occi_request *req, const char *job, const char *state,
    double seconds);

/*
 * The full result JSON (output=full, and a finished job): the script with
 * "request" {hash, params, format, output} and "results" {success,
 * models, errors, messages, duration (ms)}.  On success `model` holds
 * the `len` bytes of the part: models.step is its STEP text, models.stl
 * and models.gltf its bytes in base64.  `error` (NULL on success) makes
 * success false with the error in errors.  A STEP that is not UTF-8 text
 * is an error too.  `job` may be NULL.
 */
json_t *occi_result(const struct occi_site *site,
    const struct occi_request *req, const char *job, const void *model,
    size_t len, double seconds, const char *error);

/* A {"detail": msg} body (errors other than bad arguments). */
json_t *occi_detail(const char *msg);
/* The OCCI name of a format: "step", "stl", "gltf" (glb). */
const char *occi_format_name(enum format f);
/* A body for the wire: `j` serialised, numbers in their shortest form
 * and reals keeping their ".0" (caller frees). */
char *occi_dump(const json_t *j);

#endif
