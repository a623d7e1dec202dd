/* plan.c -- planning a part: the chain of engine and converter that makes
 * its format, the parameters handed to the engine, its generator sources
 * and the cache key over everything that shapes the result. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/make/freecad.h"
#include "partsfs/make/openscad.h"
#include "partsfs/make/plan.h"
#include "partsfs/model/label.h"
#include "partsfs/model/params.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/confine.h"

/* Bump when anything about how parts are made changes. */
#define CACHE_SCHEMA "partsfs-cache-2"
/* What makes FreeCAD's driver print the version alone (its query). */
#define FREECAD_VERSION_ENV "PARTSFS_VERSION=1"

static const char *
missing_package(enum generator k)
{
	return k == GEN_OPENSCAD ? "openscad" : k == GEN_FREECAD ?
	    "freecad-python3" : NULL;
}

void
plan_clear(struct plan *p)
{
	free(p->path);
	free(p->coll);
	free(p->cls);
	free(p->label);
	free(p->script);
	free(p->entry);
	for (size_t i = 0; i < p->nargs; i++)
		free(p->args[i]);
	free(p->args);
	json_decref(p->params);
	free(p->program);
	free(p->version);
	for (size_t i = 0; i < p->nsources; i++) {
		free(p->sources[i].label);
		free(p->sources[i].path);
	}
	free(p->sources);
	for (size_t i = 0; i < p->nkeyparams; i++)
		free(p->keyparams[i].p);
	free(p->keyparams);
	memset(p, 0, sizeof *p);
}

void
plan_copy(struct plan *dst, const struct plan *src)
{
	*dst = *src;
	dst->path = xstrdup(src->path);
	dst->coll = xstrdup(src->coll);
	dst->cls = xstrdup(src->cls);
	dst->label = xstrdup(src->label);
	dst->script = xstrdup(src->script);
	dst->entry = xstrdup(src->entry);
	dst->args = xcalloc(src->nargs + 1, sizeof *dst->args);
	for (size_t i = 0; i < src->nargs; i++)
		dst->args[i] = xstrdup(src->args[i]);
	dst->params = json_deep_copy(src->params);
	dst->program = xstrdup(src->program);
	dst->version = src->version != NULL ? xstrdup(src->version) : NULL;
	dst->sources = xcalloc(src->nsources + 1, sizeof *dst->sources);
	for (size_t i = 0; i < src->nsources; i++) {
		dst->sources[i].label = xstrdup(src->sources[i].label);
		dst->sources[i].path = xstrdup(src->sources[i].path);
		memcpy(dst->sources[i].digest, src->sources[i].digest,
		    sizeof src->sources[i].digest);
	}
	dst->keyparams = xcalloc(src->nkeyparams + 1, sizeof *dst->keyparams);
	for (size_t i = 0; i < src->nkeyparams; i++) {
		dst->keyparams[i].n = src->keyparams[i].n;
		dst->keyparams[i].p = xmalloc(src->keyparams[i].n + 1);
		memcpy(dst->keyparams[i].p, src->keyparams[i].p,
		    src->keyparams[i].n + 1);
	}
}

/* The key from the plan's fields, its sources by the digests they were
 * keyed with: provisional while its version is pending. */
static void
hash_plan(const struct exec_env *env, struct plan *p)
{
	struct keyhash *h = keyhash_new();

	keyhash_add_str(h, "schema", CACHE_SCHEMA);
	keyhash_add_str(h, "format", format_ext(p->fmt));
	keyhash_add_str(h, "native", format_ext(p->native));
	keyhash_add_str(h, "executor", generator_name(p->kind));
	if (p->kind == GEN_OPENSCAD) {
		/* what OpenSCAD may warn of in a part that is made */
		char allow[16];
		snprintf(allow, sizeof allow, "%u", env->conf->openscad_allow);
		keyhash_add_str(h, "allow-warnings", allow);
	}
	if (p->cmd != NULL) {
		keyhash_add_str(h, "command", p->cmd->name);
		for (size_t i = 0; i < p->cmd->argc; i++)
			keyhash_add_str(h, "argv", p->cmd->argv[i]);
	}
	/* NULL, a field no version text gives, while it is pending */
	keyhash_add_str(h, "version", p->version_pending ? NULL :
	    p->version != NULL ? p->version : "");
	keyhash_add_str(h, "entry", p->entry != NULL ? p->entry : "");
	for (size_t i = 0; i < p->nargs; i++)
		keyhash_add_str(h, "arg", p->args[i]);
	for (size_t i = 0; i < p->nsources; i++)
		keyhash_add_str(h, p->sources[i].label, p->sources[i].digest);
	for (size_t i = 0; i < p->nkeyparams; i++)
		keyhash_add(h, "param", p->keyparams[i].p, p->keyparams[i].n);
	keyhash_add_str(h, "label", p->label);
	if (p->convert)
		keyhash_add_str(h, "converter", PACKAGE_VERSION);
	keyhash_final(h, &p->key);
}

static int
compute_key(const struct exec_env *env, struct plan *p,
    const struct pset *ps, const struct value *vals, bool quick,
    struct perr *e)
{
	struct buf b = BUF_INIT;
	char hex[CACHE_KEY_LEN + 1];
	int r;

	for (size_t i = 0; i < p->nsources; i++) {
		if ((r = sources_digest(env->sources, p->sources[i].path, hex,
		    quick)) != 0)
			return perr_set(e, -r, "cannot read %s: %s",
			    p->sources[i].path, strerror(-r));
		memcpy(p->sources[i].digest, hex, sizeof hex);
	}
	p->keyparams = xcalloc(ps->nparams + 1, sizeof *p->keyparams);
	for (size_t i = 0; i < ps->nparams; i++) {
		/* name:type:kind:value */
		buf_reset(&b);
		buf_adds(&b, ps->params[i].name);
		buf_addc(&b, ':');
		buf_adds(&b, ptype_name(ps->params[i].type));
		buf_addc(&b, ':');
		buf_addc(&b, (char)('0' + (int)vals[i].kind));
		buf_addc(&b, ':');
		value_canon(&vals[i], &b);
		p->keyparams[i].n = b.len;
		p->keyparams[i].p = xmalloc(b.len + 1);
		memcpy(p->keyparams[i].p, b.p, b.len);
		p->keyparams[i].p[b.len] = '\0';
		p->nkeyparams++;
	}
	buf_free(&b);
	hash_plan(env, p);
	return 0;
}

void
plan_set_version(const struct exec_env *env, struct plan *p,
    const char *version)
{
	free(p->version);
	p->version = version != NULL ? xstrdup(version) : NULL;
	p->version_pending = false;
	hash_plan(env, p);
}

int
plan_sources_check(const struct exec_env *env, const struct plan *p,
    struct perr *e)
{
	char hex[CACHE_KEY_LEN + 1];
	int fd;

	for (size_t i = 0; i < p->nsources; i++) {
		const struct exec_source *s = &p->sources[i];
		/* those of the library (not the driver, not an absolute
		 * prelude) must still be inside it */
		if (env->root != NULL && path_beneath(s->path, env->root)) {
			fd = open_inside(env->root, s->path, O_PATH);
			if (fd == -1 && (errno == EXDEV || errno == ELOOP))
				return perr_set(e, EXDEV, "%s leads outside the "
				    "library now; nothing was stored",
				    s->path);
			if (fd != -1)
				close(fd);
		}
		if (sources_digest(env->sources, s->path, hex, false) != 0 ||
		    strcmp(hex, s->digest) != 0)
			return perr_set(e, ESTALE, "%s changed while the part "
			    "was being made; nothing was stored", s->path);
	}
	return 0;
}

/* The program maker `m` of class `cls` runs, as configured (not yet
 * found on PATH), and for a command executor its entry in *cmd. */
static const char *
maker_program(const struct conf *conf, const struct pclass *cls,
    const struct maker *m, const struct conf_command **cmd)
{
	*cmd = NULL;
	switch (m->kind) {
	case GEN_OPENSCAD:
		return conf->openscad;
	case GEN_FREECAD:
		return conf->freecad;
	default:
		for (size_t c = 0; c < conf->ncommands; c++) {
			if (strcmp(conf->commands[c].name,
			    cls->extra->commands[m->index].name) == 0)
				*cmd = &conf->commands[c];
		}
		return *cmd != NULL ? (*cmd)->argv[0] : NULL;
	}
}

/* FreeCAD's version query: the driver run with FREECAD_VERSION_ENV; its
 * argv in `argv` (3).  The query's program, argv and environment name its
 * memo, for what it answers and for what a run reports alike. */
static void
freecad_query(const struct exec_env *env, const struct plan *p,
    char *argv[3])
{
	argv[0] = p->program;
	argv[1] = env->conf->freecad_driver;
	argv[2] = NULL;
}

char *
plan_version(const struct exec_env *env, const struct plan *p,
    unsigned flags, bool *unknown)
{
	if (p->kind == GEN_FREECAD) {
		char *argv[3];

		freecad_query(env, p, argv);
		return version_lookup(env->versions, env->cache, env->sandbox,
		    p->program, argv, FREECAD_VERSION_ENV,
		    flags | VERSION_MARKED, unknown);
	}
	if (p->cmd != NULL && p->cmd->version_argv == NULL)
		/* a command engine without a version command is not run to
		 * ask (it may not know --version): its program's identity
		 * stands for its version, and a new program changes it */
		return version_identity(env->versions, p->program,
		    (flags & VERSION_QUICK) != 0);
	return version_lookup(env->versions, env->cache, env->sandbox,
	    p->program, p->cmd != NULL ? p->cmd->version_argv : NULL, NULL,
	    flags, unknown);
}

bool
plan_reports_version(const struct plan *p)
{
	return p->kind == GEN_FREECAD;
}

char *
plan_version_reported(const struct exec_env *env, const struct plan *p,
    const char *scratch)
{
	char *argv[3], *report, *s;

	if (!plan_reports_version(p))
		return NULL;
	/* remembered as plan_version's query would be: the same memo */
	freecad_query(env, p, argv);
	report = freecad_report(scratch);
	s = version_reported(env->versions, env->cache, p->program, argv,
	    FREECAD_VERSION_ENV, report);
	free(report);
	return s;
}

/* plan_make, plan_make_now, plan_make_deferred and plan_key_recent;
 * `ask`: the engine may be run for its version; `defer`: a version not
 * known leaves it pending; `quick`: what was seen in the last second stands
 * (see SEEN_NS); `key_only`: no more than the key is wanted. */
static int
plan_build(const struct exec_env *env, const struct pnode *part,
    struct plan *out, bool ask, bool defer, bool quick, bool key_only,
    struct perr *e)
{
	const struct conf *conf = env->conf;
	const struct pclass *cls = part->cls;
	const struct pset *ps = part->ps;
	const struct maker *m;
	struct value *vals;
	struct buf b = BUF_INIT;
	const char *want;
	bool unknown = false;
	unsigned vflags;
	int r;

	memset(out, 0, sizeof *out);
	if (part->kind != PN_PART || part->fmt == FMT_JSON ||
	    !(cls->formats & FMT_BIT(part->fmt)))
		return perr_set(e, ENOENT, "nothing makes this part");
	m = &cls->makers[part->fmt];
	vals = xcalloc(ps->nparams + 1, sizeof *vals);
	if ((r = pset_collect(ps, part->free, vals, e)) != 0) {
		free(vals);
		return r;
	}
	out->fmt = part->fmt;
	out->convert = m->convert;
	out->native = m->convert ? FMT_STL : part->fmt;
	/* a key alone needs neither the path, nor the names, nor the
	 * parameters as the engine gets them (only the messages that name
	 * the path, and they go nowhere then) */
	if (!key_only) {
		pnode_path(part, &b);
		out->path = buf_steal(&b);
		out->coll = xstrdup(cls->coll->id);
		out->cls = xstrdup(cls->id);
		out->params = json_object();
	} else
		out->path = xstrdup("");
	class_label(cls, ps, vals, false, &b);
	out->label = buf_steal(&b);
	/* the values the engine gets: lengths in mm */
	for (size_t i = 0; i < ps->nparams; i++) {
		struct value v = vals[i];
		if (ps->params[i].type == PT_LENGTH_IN && v.kind == V_NUM)
			v.u.num *= 25.4;
		vals[i] = v;
		if (out->params != NULL)
			json_object_set_new(out->params, ps->params[i].name,
			    value_to_json(&v));
	}
	switch (m->kind) {
	case GEN_OPENSCAD:
		out->kind = GEN_OPENSCAD;
		out->script = xstrdup(cls->scad->file->path);
		out->entry = xstrdup(cls->scad->module);
		out->nargs = cls->scad->nargs;
		out->args = xcalloc(out->nargs + 1, sizeof *out->args);
		for (size_t i = 0; i < out->nargs; i++)
			out->args[i] = openscad_literal(&vals[pset_find(ps,
			    cls->scad->args[i])]);
		sources_add_script(env->sources, out, env->root,
		    out->script, quick);
		if ((r = openscad_preludes(env, out, e)) != 0) {
			free(vals);
			plan_clear(out);
			return r;
		}
		break;
	case GEN_FREECAD:
		out->kind = GEN_FREECAD;
		out->script = xstrdup(cls->freecad->file->path);
		out->entry = xstrdup(cls->freecad->function);
		sources_add_script(env->sources, out, env->root,
		    out->script, quick);
		sources_add(out, "driver", conf->freecad_driver);
		break;
	default:
		out->kind = GEN_COMMAND;
		out->script = xstrdup(cls->extra->commands[m->index].file->path);
		out->entry = xstrdup(cls->extra->commands[m->index].name);
		sources_add_script(env->sources, out, env->root,
		    out->script, quick);
		break;
	}
	/* loading keeps only classes of configured commands: never NULL */
	want = maker_program(conf, cls, m, &out->cmd);
	free(vals);
	vals = NULL;
	if (out->cmd != NULL && want != NULL && strcmp(want, "{script}") == 0) {
		/* the script is the program */
		if (access(out->script, X_OK) != 0) {
			r = perr_set(e, ENOEXEC, "%s: the script %s of the %s "
			    "engine is not executable", out->path, out->script,
			    out->cmd->name);
			plan_clear(out);
			return r;
		}
		out->program = xstrdup(out->script);
	} else if (want == NULL ||
	    (out->program = version_program(env->versions, want,
	    quick)) == NULL) {
		if (want == NULL)
			want = "?";
		const char *pkg = missing_package(out->kind);
		r = pkg != NULL ? perr_set(e, ENOEXEC, "%s: the %s engine '%s' "
		    "is not installed (Debian package %s: apt-get install %s)",
		    out->path, generator_name(out->kind), want, pkg, pkg) :
		    perr_set(e, ENOEXEC, "%s: the %s engine '%s' is not "
		    "installed or not on PATH", out->path, out->entry, want);
		plan_clear(out);
		return r;
	}
	vflags = (ask ? VERSION_ASK : 0) | (quick ? VERSION_QUICK : 0);
	out->version = plan_version(env, out, vflags, &unknown);
	if (unknown && defer)
		out->version_pending = true;
	else if (unknown) {
		r = perr_set(e, EWOULDBLOCK, "%s: the version of %s is not "
		    "known yet", out->path, out->program);
		plan_clear(out);
		return r;
	}
	vals = xcalloc(ps->nparams + 1, sizeof *vals);
	pset_collect(ps, part->free, vals, NULL);
	r = compute_key(env, out, ps, vals, quick, e);
	free(vals);
	if (r != 0)
		plan_clear(out);
	return r;
}

int
plan_make(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e)
{
	return plan_build(env, part, out, true, false, false, false, e);
}

int
plan_make_now(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e)
{
	return plan_build(env, part, out, false, false, false, false, e);
}

int
plan_make_deferred(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e)
{
	return plan_build(env, part, out, false, true, false, false, e);
}

void
plan_forget_recent(const struct exec_env *env)
{
	versions_forget(env->versions);
	sources_forget(env->sources);
}

int
plan_key_recent(const struct exec_env *env, const struct pnode *part,
    struct cache_key *key)
{
	struct plan plan;
	int r;

	if ((r = plan_build(env, part, &plan, false, false, true, true, NULL)) != 0)
		return r;
	*key = plan.key;
	plan_clear(&plan);
	return 0;
}
