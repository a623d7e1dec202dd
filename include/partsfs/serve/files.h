/* files.h -- GET /files/<path>: the mount's tree over HTTP, path for
 * path: directories as JSON listings, parts as their bytes (waited for
 * when not made, or a job with "Prefer: respond-async"), the .json
 * descriptions and the drawings. */
#ifndef PARTSFS_FILES_H
#define PARTSFS_FILES_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/site.h"

/*
 * Answer `r` for the tree path `path` (%-decoded by route_parse).  A
 * directory: {"path": its canonical path, "entries": [{"name", "type":
 * "directory"|"part"|"json"|"link"|"drawing", "format" (parts and
 * drawings), "size" and "etag" (parts only when made: the ETag a GET of
 * the part sends), "target" (links: the class directory's path)}]}, in
 * the mount's order, with a strong ETag (a digest of the body; 304 for
 * a matching If-None-Match); a link at the end of the path is followed.
 * With a "stat" query argument, any path the tree resolves (listed or
 * not) is answered with its one entry object as its directory lists it
 * (the root's name is ""; a link is not followed), nothing made.
 * Called again after each wait.
 */
void files_answer(struct serve *s, struct http_req *r, const char *path);

/* The JSON listing of directory `dir` of `lib` (its canonical path
 * `path`), as files_answer sends it.  NULL with `e` set on failure. */
json_t *files_listing(struct serve *s, const struct library *lib,
    const struct pnode *dir, struct perr *e);

#endif
