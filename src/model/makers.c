/* makers.c -- which engine makes each format of a class: the cheapest
 * chain of an executor and the converter under the configuration, chosen
 * when a collection is loaded, and the parameter set each format is made
 * with. */
#include "config.h"

#include <string.h>

#include "partsfs/model/makers.h"
#include "partsfs/util/conf.h"

#define COST_OPENSCAD 1
#define COST_FREECAD 2

static const uint32_t openscad_formats = FMT_BIT(FMT_STL) |
    FMT_BIT(FMT_OFF) | FMT_BIT(FMT_AMF) | FMT_BIT(FMT_3MF) |
    FMT_BIT(FMT_CSG) | FMT_BIT(FMT_PNG);
static const uint32_t freecad_formats = FMT_BIT(FMT_STEP) | FMT_BIT(FMT_STL);

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

static void
consider(struct maker *best, uint8_t kind, uint8_t index, int cost)
{
	if (best->kind == GEN_NONE || cost < best->cost) {
		best->kind = kind;
		best->index = index;
		best->cost = (uint8_t)cost;
		best->convert = false;
	}
}

void
class_makers(struct pclass *cls, const struct conf *conf)
{
	int cscad = conf != NULL ? conf->openscad_cost : COST_OPENSCAD;
	int cfc = conf != NULL ? conf->freecad_cost : COST_FREECAD;

	memset(cls->makers, 0, sizeof cls->makers);
	cls->formats = FMT_BIT(FMT_JSON);
	for (int f = 0; f < FMT__COUNT; f++) {
		struct maker *best = &cls->makers[f];
		if (f == FMT_JSON)
			continue;
		if (cls->scad != NULL && (openscad_formats & FMT_BIT(f)))
			consider(best, GEN_OPENSCAD, 0, cscad);
		if (cls->freecad != NULL && (freecad_formats & FMT_BIT(f)))
			consider(best, GEN_FREECAD, 0, cfc);
		for (size_t i = 0; conf != NULL && i < cls->ncommands; i++) {
			for (size_t c = 0; c < conf->ncommands; c++) {
				const struct conf_command *cc = &conf->commands[c];
				if (strcmp(cc->name, cls->commands[i].name) == 0 &&
				    (cc->formats & FMT_BIT(f)))
					consider(best, GEN_COMMAND, (uint8_t)i,
					    cc->cost);
			}
		}
	}
	/* glTF binary: converted from the cheapest STL, unless an engine
	 * writes it directly for less */
	if (cls->makers[FMT_STL].kind != GEN_NONE) {
		struct maker via = cls->makers[FMT_STL];
		struct maker *glb = &cls->makers[FMT_GLB];
		via.cost++;
		via.convert = true;
		if (glb->kind == GEN_NONE || via.cost < glb->cost)
			*glb = via;
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
class_pset_for_format(const struct pclass *cls, enum format fmt)
{
	if (!(cls->formats & FMT_BIT(fmt)))
		return NULL;
	switch (class_generator(cls, fmt)) {
	case GEN_OPENSCAD:
		return cls->scad->ps;
	case GEN_FREECAD:
		return cls->freecad->ps;
	case GEN_COMMAND:
	case GEN_NONE:
		break;
	}
	return &cls->ps;
}
