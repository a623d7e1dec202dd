/* makers.h -- one part, one shape: the engine that makes the model of a
 * class, the formats it writes and those derived from its STL by the
 * converter, and the parameter set of the model. */
#ifndef PARTSFS_MAKERS_H
#define PARTSFS_MAKERS_H

#include "partsfs/model/library.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/format.h"

/* "openscad", "freecad", "command" ("none" for GEN_NONE). */
const char *generator_name(enum generator g);

/*
 * Choose the engine of the class's model under `conf` (NULL: the
 * defaults): the one executors.models or executors.model names when the
 * class has it, else FreeCAD, the commands in their order, OpenSCAD.
 * Every format of the class comes from that engine, written by it or
 * converted from its STL (glb), so that the formats of one part are one
 * shape; a format it cannot reach is not offered.  Sets cls->model,
 * cls->makers and cls->formats.
 */
void class_makers(struct pclass *cls, const struct conf *conf);

/* Which engine makes a format of a class (GEN_NONE for json and formats
 * the class does not offer). */
enum generator class_generator(const struct pclass *cls, enum format fmt);

/* The parameter set of the class's model: the class's own joined with the
 * base parameters of its OpenSCAD module or FreeCAD function, for every
 * format, json included. */
const struct pset *class_pset(const struct pclass *cls);
/* The same, or NULL if the class does not offer format `fmt`. */
const struct pset *class_pset_for_format(const struct pclass *cls,
    enum format fmt);

#endif
