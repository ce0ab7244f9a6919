/* cmd_version.c - `fedsyn --version`: this build's version and commit, and
 * the versions of the libraries it runs with (asked of each library at run
 * time, so they name what is loaded, not what the headers said). */
#include <cblas.h>
#include <czmq.h>
#include <png.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include <build_version.h> // generated in BUILD/gen by the Makefile: FEDSYN_VERSION, FEDSYN_COMMIT
#include "node/cli/cli.h"

int cmd_version(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: fedsyn --version   (or: fedsyn version)\n\n"
               "Prints this build's version and git commit, and the versions of the\n"
               "libraries it runs with (libzmq, czmq, libsodium, libpng, zlib, OpenBLAS\n"
               "and its build configuration).  Quote it in bug reports.\n");
        return EXIT_OK;
    }
    if (argc > 1) {
        return cli_usage("version", "takes no options, not '%s'", argv[1]);
    }
    int zmaj, zmin, zpat, cmaj, cmin, cpat;
    zmq_version(&zmaj, &zmin, &zpat);
    zsys_version(&cmaj, &cmin, &cpat);
    printf("fedsyn %s (commit %s)\n", FEDSYN_VERSION, FEDSYN_COMMIT);
    printf("libzmq %d.%d.%d, czmq %d.%d.%d, libsodium %s, libpng %s, zlib %s\n", zmaj, zmin,
           zpat, cmaj, cmin, cpat, sodium_version_string(), png_get_libpng_ver(NULL),
           zlibVersion());
    printf("OpenBLAS: %s\n", openblas_get_config());
    return EXIT_OK;
}
