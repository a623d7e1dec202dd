/* serve.h -- partsctl serve: the library over HTTP (the native API, and
 * the OCCI API where asked), with the same core and cache as the mount,
 * until SIGTERM or SIGINT. */
#ifndef PARTSFS_SERVE_H
#define PARTSFS_SERVE_H

#include <stdio.h>

/*
 * `partsctl serve LIBRARY [--listen ADDR:PORT]... [--occi-listen
 * ADDR:PORT]... [--config FILE] [--cache DIR]` with argv[0] "serve":
 * runs until a signal ends it, then stops accepting, answers those
 * waiting with 503, stops the jobs and closes the cache.  Its exit
 * status: 0, 1 when the library cannot be served, 2 for usage, 4 for a
 * system error (an address that cannot be bound).
 */
int serve_main(int argc, char **argv);
/* Its usage text. */
void serve_usage(FILE *fp);

#endif
