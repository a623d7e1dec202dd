/* occi.h -- the OCCI site of `partsctl serve` (--occi-listen): the routes
 * of the reference occi-server, as the OCCI FreeCAD plugin calls them,
 * answered from the server's library, cache and jobs (occi-map.h has the
 * mapping). */
#ifndef PARTSFS_OCCI_H
#define PARTSFS_OCCI_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/occi-map.h"
#include "partsfs/serve/site.h"

/* Seconds a model request waits for its part before it is redirected to
 * its job (the reference server's WAIT_FOR_COMPUTE_RESULT_UNTIL_REDIRECT). */
#define OCCI_WAIT 3.0

/*
 * The OCCI site of server `s`, for http_start.  What `conf` says is
 * copied (NULL members, or conf NULL: taken from the library, see
 * occi_info); without a `url` the base URL of a request's answers is
 * http://<its Host header> when that is a plain host[:port], else
 * http://<the address the listener is bound to> (occi_site_set_address).
 * Free it with
 * occi_site_free after the daemon stopped.
 *
 *   GET /                                 occi_info
 *   GET /search?q=TEXT                    occi_search
 *   GET /<org>/<name>                     307 to .../<version>, query kept
 *   GET /<org>/<name>/versions            ["<version>"]
 *   GET /<org>/<name>/<version>?...       200 the model (within OCCI_WAIT
 *                                         s), or 307 to its job; with
 *                                         output=full the result JSON
 *   GET /<org>/<name>/<version>/params    occi_params
 *   GET /<org>/<name>/<version>/presets   occi_presets
 *   GET /<org>/<name>/<hash>/job/<id>     202 working, 200 the result
 *                                         JSON (success or not), 404
 *
 * Errors are {"detail": ...} as the reference's: 404 for no such route,
 * script, version or job, 422 for bad arguments, 500 for a failed job,
 * 503 when the server is overloaded; other methods than GET and HEAD
 * are 405.
 */
struct http_site *occi_site_new(struct serve *s,
    const struct occi_site *conf);
/* The address the site's listener is bound to (http_address), for
 * requests without a usable Host header: the first one set is kept (a
 * site on several listeners).  Thread-safe. */
void occi_site_set_address(struct http_site *site, const char *addr);
void occi_site_free(struct http_site *site);

#endif
