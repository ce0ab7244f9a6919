/* cmd_keygen.c - `fedsyn keygen`: make a node identity. */
#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crypto/identity.h"
#include "node/cli/cli.h"

#define CMD "keygen"
#define KEYGEN_CERT_FILE "curve.cert" // czmq writes curve.cert and curve.cert_secret

static void s_help(void)
{
    printf("usage: fedsyn keygen --dir DIR [--name NAME] [--force]\n\n"
           "Makes a node identity in DIR: an Ed25519 signing key (the member's id), an\n"
           "X25519 key for sealed updates and an X25519 CurveZMQ key for the transport,\n"
           "all derived from one secret seed.\n\n"
           "  DIR/identity.secret   the seed (mode 0600; never share it)\n"
           "  DIR/identity.pub      one line to give the other members\n"
           "  DIR/curve.cert(_secret)  the CurveZMQ certificate (czmq format)\n\n"
           "  --dir DIR     where to write (created, mode 0700)\n"
           "  --name NAME   display name, [A-Za-z0-9._-], default: DIR's last part\n"
           "  --force       replace an existing identity (its members will not know it)\n\n"
           "Prints the public line and its fingerprint (compare it by voice or in\n"
           "person before you add a member).\n\n"
           "example: fedsyn keygen --dir keys/hospital-a\n");
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", 1, 0, 'd'},
                                         {"name", 1, 0, 'n'},
                                         {"force", 0, 0, 'f'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *name = NULL;
    int force = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n': name = optarg; break;
        case 'f': force = 1; break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!dir) {
        return cli_usage(CMD, "--dir is required");
    }
    if (optind < argc) {
        return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    }
    char base[IDENTITY_NAME_MAX + 1];
    if (!name) {
        const char *slash = strrchr(dir, '/');
        const char *last = slash && slash[1] ? slash + 1 : dir;
        snprintf(base, sizeof base, "%s", last);
        name = base;
    }
    fs_err_t err = {0, ""};
    identity_t *id = identity_new(name, &err);
    if (!id) {
        return cli_fail(CMD, &err, "choose a --name of letters, digits, '.', '_' or '-'");
    }
    if (identity_save(id, dir, force, &err) < 0) {
        identity_destroy(&id);
        return cli_fail(CMD, &err, NULL);
    }
    // The CurveZMQ certificate carries the identity's transport key pair.
    zsys_handler_set(NULL);
    zcert_t *cert = zcert_new_from(identity_public(id)->curve_pk, identity_curve_sk(id));
    zcert_set_meta(cert, "name", "%s", name);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, KEYGEN_CERT_FILE);
    int rc = zcert_save(cert, path);
    zcert_destroy(&cert);
    if (rc != 0) {
        identity_destroy(&id);
        fs_err_set(&err, FS_EIO, "%s: cannot write the CurveZMQ certificate", path);
        return cli_fail(CMD, &err, NULL);
    }
    char line[IDENTITY_LINE_MAX], fpr[IDENTITY_FPR_CHARS];
    identity_pub_format(identity_public(id), line);
    identity_fingerprint(identity_public(id), fpr);
    printf("%s\n", line);
    fprintf(stderr, "fedsyn keygen: identity '%s' in %s, fingerprint %s\n", name, dir, fpr);
    identity_destroy(&id);
    return EXIT_OK;
}
