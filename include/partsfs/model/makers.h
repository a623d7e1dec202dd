/* makers.h -- which engine makes each format of a class: the cheapest
 * chain of an executor and the converter under the configuration, chosen
 * when a collection is loaded, and the parameter set each format is made
 * with. */
#ifndef PARTSFS_MAKERS_H
#define PARTSFS_MAKERS_H

#include "partsfs/model/library.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/format.h"

/* "openscad", "freecad", "command" ("none" for GEN_NONE). */
const char *generator_name(enum generator g);

/* Choose the cheapest chain for every format of a class under `conf`
 * (NULL: the defaults), setting cls->makers and cls->formats. */
void class_makers(struct pclass *cls, const struct conf *conf);

/* Which engine makes a format of a class (GEN_NONE for json and formats
 * the class does not offer). */
enum generator class_generator(const struct pclass *cls, enum format fmt);

/* The parameter set a format of a class is made with: the class's for
 * json, else the union with the base parameters of the OpenSCAD module or
 * FreeCAD function that makes the format.  NULL if the class does not offer
 * the format. */
const struct pset *class_pset_for_format(const struct pclass *cls,
    enum format fmt);

#endif
