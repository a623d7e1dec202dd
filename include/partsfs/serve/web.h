/* web.h -- the files of the web page (GET / from a browser, /web/) and
 * three.js from Debian's libjs-three (/web/three/): regular files inside
 * their directory only. */
#ifndef PARTSFS_WEB_H
#define PARTSFS_WEB_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/site.h"

/* Where three.js is (Debian libjs-three). */
#define WEB_THREE_DIR "/usr/share/javascript/three"

/*
 * The web page's directory: serve.web when partsfs.conf sets it, else
 * $PARTSFS_WEBDIR when set and not empty, else `pkgdatadir`/web.  A new
 * string.
 */
char *web_dir(const char *conf_web, const char *pkgdatadir);

/* Answer `r` with the file `rel` (route_parse checked its names) of
 * `dir`: 404 for anything that is not a regular file beneath it. */
void web_answer(struct http_req *r, const char *dir, const char *rel);

#endif
