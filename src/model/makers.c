/* makers.c -- one part, one shape: the engine that makes the model of a
 * class (the B-rep engine, FreeCAD, unless the configuration chooses
 * another), the formats it writes and those derived from its STL by the
 * converter, and the parameter set of the model. */
#include "config.h"

#include <string.h>

#include "partsfs/model/makers.h"
#include "partsfs/util/conf.h"

static const uint32_t openscad_formats = FMT_BIT(FMT_STL) |
    FMT_BIT(FMT_OFF) | FMT_BIT(FMT_AMF) | FMT_BIT(FMT_3MF) |
    FMT_BIT(FMT_CSG) | FMT_BIT(FMT_PNG);
/* STEP, and meshes of the shape (see freecad-driver.py) */
static const uint32_t freecad_formats = FMT_BIT(FMT_STEP) |
    FMT_BIT(FMT_STL) | FMT_BIT(FMT_OFF) | FMT_BIT(FMT_3MF);

const char *
generator_name(enum generator g)
{
	switch (g) {
	case GEN_OPENSCAD:
		return "openscad";
	case GEN_FREECAD:
		return "freecad";
	case GEN_COMMAND:
		return "command";
	case GEN_NONE:
		break;
	}
	return "none";
}

/* Whether the class can be made by the engine called `name` ("openscad",
 * "freecad" or a command of conf), as *m. */
static bool
engine_of_class(const struct pclass *cls, const struct conf *conf,
    const char *name, struct maker *m)
{
	memset(m, 0, sizeof *m);
	if (strcmp(name, "openscad") == 0 && cls->scad != NULL)
		m->kind = GEN_OPENSCAD;
	else if (strcmp(name, "freecad") == 0 && cls->freecad != NULL)
		m->kind = GEN_FREECAD;
	else if (conf != NULL) {
		for (size_t i = 0; i < cls->extra->ncommands; i++) {
			if (strcmp(cls->extra->commands[i].name, name) == 0) {
				m->kind = GEN_COMMAND;
				m->index = (uint8_t)i;
			}
		}
	}
	return m->kind != GEN_NONE;
}

/* The formats the engine of `m` writes itself. */
static uint32_t
native_formats(const struct pclass *cls, const struct conf *conf,
    const struct maker *m)
{
	switch (m->kind) {
	case GEN_OPENSCAD:
		return openscad_formats;
	case GEN_FREECAD:
		return freecad_formats;
	case GEN_COMMAND:
		for (size_t c = 0; conf != NULL && c < conf->ncommands; c++) {
			const struct conf_command *cc = &conf->commands[c];
			if (strcmp(cc->name, cls->extra->commands[m->index].name) == 0)
				return cc->formats;
		}
		break;
	}
	return 0;
}

void
class_makers(struct pclass *cls, const struct conf *conf)
{
	const char *want = conf != NULL ? conf_model_for(conf, cls->coll->id,
	    cls->id) : "freecad";
	uint32_t native;
	bool found;

	memset(cls->makers, 0, sizeof cls->makers);
	cls->formats = FMT_BIT(FMT_JSON);
	/* the engine asked for when the class has it, else the B-rep
	 * engine, the commands in their order, OpenSCAD */
	found = engine_of_class(cls, conf, want, &cls->model) ||
	    engine_of_class(cls, conf, "freecad", &cls->model);
	for (size_t c = 0; !found && conf != NULL && c < conf->ncommands; c++)
		found = engine_of_class(cls, conf, conf->commands[c].name,
		    &cls->model);
	if (!found && !engine_of_class(cls, conf, "openscad", &cls->model))
		return;
	native = native_formats(cls, conf, &cls->model) & ~FMT_BIT(FMT_JSON);
	for (int f = 0; f < FMT__COUNT; f++) {
		if (native & FMT_BIT(f))
			cls->makers[f] = cls->model;
	}
	/* glTF binary: the model's STL through the converter */
	if ((native & FMT_BIT(FMT_STL)) && !(native & FMT_BIT(FMT_GLB))) {
		cls->makers[FMT_GLB] = cls->model;
		cls->makers[FMT_GLB].convert = true;
	}
	for (int f = 0; f < FMT__COUNT; f++) {
		if (cls->makers[f].kind != GEN_NONE)
			cls->formats |= FMT_BIT(f);
	}
}

enum generator
class_generator(const struct pclass *cls, enum format fmt)
{
	if (fmt == FMT_JSON || !(cls->formats & FMT_BIT(fmt)))
		return GEN_NONE;
	return (enum generator)cls->makers[fmt].kind;
}

const struct pset *
class_pset(const struct pclass *cls)
{
	switch (cls->model.kind) {
	case GEN_OPENSCAD:
		return cls->scad->ps;
	case GEN_FREECAD:
		return cls->freecad->ps;
	default:
		break;
	}
	return &cls->ps;
}

const struct pset *
class_pset_for_format(const struct pclass *cls, enum format fmt)
{
	if (!(cls->formats & FMT_BIT(fmt)))
		return NULL;
	return class_pset(cls);
}
