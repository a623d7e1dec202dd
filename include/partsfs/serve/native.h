/* native.h -- the native API of partsctl serve: the site answering
 * /files/, /blobs/, /jobs/, /status/, the web page and the index. */
#ifndef PARTSFS_NATIVE_H
#define PARTSFS_NATIVE_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/site.h"

/* The site's handler (struct http_site's answer; `arg` is the struct
 * serve): GET and HEAD only (405 with Allow otherwise), a route
 * (route_parse) or 404. */
void native_answer(void *arg, struct http_req *r);

/* The JSON index of the API (GET / for what is not a browser). */
json_t *native_index(struct serve *s);

#endif
