/* describe.h -- JSON descriptions of collections, classes and parts: the
 * <coll>.json, <class>.json and <stem>.json files of the tree and the
 * output of `partsctl params`. */
#ifndef PARTSFS_DESCRIBE_H
#define PARTSFS_DESCRIBE_H

#include <jansson.h>

#include "partsfs/model/library.h"
#include "partsfs/tree/path.h"

/* New references; NULL only on allocation failure inside jansson.  A
 * class's "parameters" give the units and the defaults as an engine is
 * given them ("defaults_given"); its "provenance" is a json part's. */
json_t *describe_collection(const struct collection *c);
json_t *describe_class(const struct pclass *cls);
/*
 * A part: "params" (every collected parameter; numbers as JSON numbers,
 * no-value cells as null), "units" (of each parameter that has one: "mm",
 * "in" or "deg"), "given" (every parameter as an engine is given it:
 * lengths in mm), "free" (the free values used), "label" (nice and safe),
 * "class", "collection", "standard", "license", "formats" and
 * "provenance" (source, authors, the generator that makes the part: the
 * engine of its class's model, for json too).  Returns NULL with `e` set
 * when the parameters cannot be collected.
 */
json_t *describe_part(const struct pnode *part, struct perr *e);

/* Serialise with two-space indentation and numbers in their shortest
 * round-trip form; ends with a newline.  Caller frees. */
char *describe_dump(const json_t *j);
/* The length of describe_dump(j), counted without writing it. */
size_t describe_dump_len(const json_t *j);
/* The same on one line, without spaces or a final newline (an xattr's
 * value); any JSON value, not only objects and arrays.  Caller frees. */
char *describe_dump_compact(const json_t *j);

/* A value as JSON: numbers (integers when integral and exact), booleans,
 * strings, null. */
json_t *value_to_json(const struct value *v);

#endif
