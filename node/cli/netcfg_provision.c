/* netcfg_provision.c - `fedsyn netcfg provision`: a federation's genesis
 * and one node configuration per site, from one small description
 * (docs/operations.md, docs/netcfg.md "Provisioning").
 *
 * The founder runs it with its own key; the other sites' public lines come
 * in the description (a file or the line itself), so no secret leaves its
 * site.  Every configuration written is read back by the node's own parser
 * before the command reports success. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/keyring.h"
#include "netcfg/config.h"
#include "netcfg/zpl.h"
#include "node/base/bytes.h"
#include "node/base/fsio.h"
#include "node/base/mem.h"
#include "node/cli/cli.h"
#include "node/fed/founding.h"

#define CMD "netcfg provision"
#define PROVISION_MAX_SITES 64
#define PROVISION_TEXT 65536 // 64 sites of about 300 bytes of peer lines each

typedef struct {
    char name[IDENTITY_NAME_MAX + 1];
    char endpoint[CONFIG_ENDPOINT_MAX];
    char labels[64];
    char data[CONFIG_PATH_MAX];
    identity_pub_t id;
    int has_id, line;
} site_t;

typedef struct {
    // federation (ledger init's choices)
    char name[IDENTITY_NAME_MAX + 1], model[64], dataset[16], noise[32], finality[16];
    double clip, scale, agg_scale, delta, server_lr;
    double record_clip, record_eps, record_delta; // record-level DP (dp-sgd = C)
    long rounds, iters, timeout, extra, quorum, inactive, seed, window;
    // sites (every site's configuration)
    char keys[CONFIG_PATH_MAX], state[CONFIG_PATH_MAX], genesis[CONFIG_PATH_MAX];
    char data[CONFIG_PATH_MAX], keep[16];
    site_t site[PROVISION_MAX_SITES];
    int n;
} desc_t;

void netcfg_provision_help(void)
{
    printf("usage: fedsyn netcfg provision DESC --key DIR --out DIR\n\n"
           "The founder's step of a federation's set-up: from DESC, a small ZPL\n"
           "description of the federation and its sites, writes DIR/genesis.fsl\n"
           "(signed with --key, the founder's identity, one of the sites) and\n"
           "DIR/SITE.zpl, the node configuration of each site, for the founder to\n"
           "send with the genesis (both are public: no secret is in them).  Each\n"
           "site then checks its kit with 'fedsyn netcfg check' and starts.\n\n"
           "  --key DIR   the founder's identity (fedsyn keygen); its public key must\n"
           "              be one of the sites'\n"
           "  --out DIR   where to write (created; an existing genesis is not replaced)\n\n"
           "DESC (relative paths from its folder):\n\n"
           "  federation                 what 'fedsyn ledger init' takes, same names:\n"
           "      name = hospitals       name, model, dataset, rounds, local-iters,\n"
           "      model = cgan:32        server-lr, noise, clip, scale, agg-scale,\n"
           "      rounds = 0             delta, timeout-ms, attempt-extra-ms, quorum,\n"
           "      quorum = 2             inactive-after, seed, request-window,\n"
           "      finality = majority    finality (default majority), dp-sgd,\n"
           "                             record-eps, record-delta (record-level DP)\n"
           "  sites                      what every site's configuration says:\n"
           "      keys = /etc/fedsyn/keys     each site's keys in KEYS/NAME\n"
           "      state = /var/lib/fedsyn     its state folder STATE/NAME\n"
           "      genesis = /etc/fedsyn/genesis.fsl   where each site puts the genesis\n"
           "      data = /srv/fedsyn/data     its data folder (a site may override)\n"
           "      keep-models = all           node/keep-models\n"
           "  site                       one per site:\n"
           "      name = alice\n"
           "      endpoint = tcp://alice.example.org:7100   where the others reach it\n"
           "      identity = alice.pub   its public line (or key = \"fedsyn-id1 ...\")\n"
           "      labels = 0,1,2         optional: the labels it holds\n"
           "      data = /data/mnist     optional: its data folder\n\n"
           "Each site's node listens on every interface at its endpoint's port and\n"
           "advertises the endpoint.  Exit 0; 2 for a mistake in DESC (file:line).\n\n"
           "example: fedsyn netcfg provision federation.zpl --key /etc/fedsyn/keys/alice "
           "--out kit\n");
}

// Reads number `e` of section `sec` into the right field; a usage error
// names the line.
static int s_number(const zpl_entry_t *e, const char *file, double lo, double hi, double *out,
                    fs_err_t *err)
{
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (end == e->value || *end || errno || !(v >= lo && v <= hi)) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: %s = '%s': expected a number from %g to %g",
                          file, e->line, e->name, e->value, lo, hi);
    }
    *out = v;
    return 0;
}

static int s_text(const zpl_entry_t *e, const char *file, char *dst, size_t cap, fs_err_t *err)
{
    if (strlen(e->value) >= cap) {
        return fs_err_set(err, FS_EINVAL, "%s:%d: %s: longer than %zu characters", file,
                          e->line, e->name, cap - 1);
    }
    snprintf(dst, cap, "%s", e->value);
    return 0;
}

static int s_federation_key(desc_t *d, const zpl_entry_t *e, const char *file, fs_err_t *err)
{
    static const struct {
        const char *key;
        double lo, hi;
    } nums[] = {{"rounds", 0, 1e6},         {"local-iters", 0, 1e6},
                {"timeout-ms", 1, 86400000}, {"attempt-extra-ms", 0, 86400000},
                {"quorum", 1, LEDGER_MAX_MEMBERS}, {"inactive-after", 0, 65535},
                {"seed", 0, 4e18},          {"request-window", 0, 1e6},
                {"clip", 0, 1e12},
                {"scale", 0, 1e6},          {"agg-scale", 0, 1e6},
                {"delta", 1e-300, 0.999},   {"server-lr", 1e-3, GENESIS_SERVER_LR_MAX},
                {"dp-sgd", 1e-6, 1e6},      {"record-eps", 1e-6, 1e6},
                {"record-delta", 1e-300, 0.1}};
    long *ints[] = {&d->rounds, &d->iters, &d->timeout, &d->extra, &d->quorum, &d->inactive,
                    &d->seed, &d->window};
    double *dbls[] = {&d->clip,      &d->scale,       &d->agg_scale,  &d->delta,
                      &d->server_lr, &d->record_clip, &d->record_eps, &d->record_delta};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(e->name, nums[i].key) == 0) {
            double v = 0;
            if (s_number(e, file, nums[i].lo, nums[i].hi, &v, err) < 0) {
                return err->code;
            }
            if (i < 8) {
                if (v != (double)(long)v) {
                    return fs_err_set(err, FS_EINVAL, "%s:%d: %s = '%s': expected a whole "
                                      "number", file, e->line, e->name, e->value);
                }
                *ints[i] = (long)v;
            } else {
                *dbls[i - 8] = v;
            }
            return 0;
        }
    }
    if (strcmp(e->name, "name") == 0) {
        return s_text(e, file, d->name, sizeof d->name, err);
    } else if (strcmp(e->name, "model") == 0) {
        return s_text(e, file, d->model, sizeof d->model, err);
    } else if (strcmp(e->name, "dataset") == 0) {
        return s_text(e, file, d->dataset, sizeof d->dataset, err);
    } else if (strcmp(e->name, "noise") == 0) {
        return s_text(e, file, d->noise, sizeof d->noise, err);
    } else if (strcmp(e->name, "finality") == 0) {
        if (strcmp(e->value, "majority") != 0 && strcmp(e->value, "signed") != 0) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: finality = '%s': expected majority or "
                              "signed", file, e->line, e->value);
        }
        return s_text(e, file, d->finality, sizeof d->finality, err);
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: unknown key '%s' in section 'federation' "
                      "(expected ledger init's option names: see --help)", file, e->line,
                      e->name);
}

static int s_sites_key(desc_t *d, const zpl_entry_t *e, const char *file, fs_err_t *err)
{
    if (strcmp(e->name, "keys") == 0) {
        return s_text(e, file, d->keys, sizeof d->keys, err);
    } else if (strcmp(e->name, "state") == 0) {
        return s_text(e, file, d->state, sizeof d->state, err);
    } else if (strcmp(e->name, "genesis") == 0) {
        return s_text(e, file, d->genesis, sizeof d->genesis, err);
    } else if (strcmp(e->name, "data") == 0) {
        return s_text(e, file, d->data, sizeof d->data, err);
    } else if (strcmp(e->name, "keep-models") == 0) {
        return s_text(e, file, d->keep, sizeof d->keep, err);
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: unknown key '%s' in section 'sites' (expected "
                      "keys, state, genesis, data, keep-models)", file, e->line, e->name);
}

static int s_site_key(site_t *s, const zpl_entry_t *e, const char *file, const char *base,
                      fs_err_t *err)
{
    if (strcmp(e->name, "name") == 0) {
        return s_text(e, file, s->name, sizeof s->name, err);
    } else if (strcmp(e->name, "endpoint") == 0) {
        return s_text(e, file, s->endpoint, sizeof s->endpoint, err);
    } else if (strcmp(e->name, "labels") == 0) {
        return s_text(e, file, s->labels, sizeof s->labels, err);
    } else if (strcmp(e->name, "data") == 0) {
        return s_text(e, file, s->data, sizeof s->data, err);
    } else if (strcmp(e->name, "key") == 0 || strcmp(e->name, "identity") == 0) {
        char line[ZPL_VALUE_MAX + 1] = "";
        if (strcmp(e->name, "identity") == 0) {
            char path[CONFIG_PATH_MAX + ZPL_VALUE_MAX + 2];
            snprintf(path, sizeof path, "%s%s%s", e->value[0] == '/' ? "" : base,
                     e->value[0] == '/' ? "" : "/", e->value);
            FILE *f = fopen(path, "r");
            if (!f || !fgets(line, sizeof line, f)) {
                if (f) {
                    fclose(f);
                }
                return fs_err_set(err, FS_EINVAL, "%s:%d: identity %s: cannot read it (the "
                                  "site's identity.pub, from 'fedsyn keygen')", file, e->line,
                                  path);
            }
            fclose(f);
            line[strcspn(line, "\r\n")] = '\0';
        } else {
            snprintf(line, sizeof line, "%s", e->value);
        }
        fs_err_t e2 = {0, ""};
        if (identity_pub_parse(line, &s->id, &e2) < 0) {
            return fs_err_set(err, FS_EINVAL, "%s:%d: %s: %s", file, e->line, e->name, e2.msg);
        }
        s->has_id = 1;
        return 0;
    }
    return fs_err_set(err, FS_EINVAL, "%s:%d: unknown key '%s' in section 'site' (expected "
                      "name, endpoint, identity or key, labels, data)", file, e->line, e->name);
}

// The description at path into d: every mistake stops it, naming its line.
static int s_read(const char *path, desc_t *d, fs_err_t *err)
{
    *d = (desc_t){.model = "cgan:32", .dataset = "mnist", .noise = "paper", .name = "fedsyn",
                  .scale = 1e-4, .agg_scale = -1, .delta = 1e-5, .server_lr = 1,
                  .record_delta = 1e-5,
                  .rounds = 10, .iters = 50, .timeout = 60000, .extra = 5000, .quorum = 1,
                  .inactive = 3, .seed = 1, .window = GENESIS_REQUEST_WINDOW_DEFAULT,
                  .keys = "/etc/fedsyn/keys",
                  .state = "/var/lib/fedsyn", .genesis = "/etc/fedsyn/genesis.fsl",
                  .data = "/srv/fedsyn/data", .keep = "all"};
    zpl_doc_t *doc = zpl_load(path, err);
    if (!doc) {
        return err->code;
    }
    char base[CONFIG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(base, sizeof base, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    const char *section = "";
    int rc = 0;
    site_t *site = NULL;
    for (size_t i = 0; i < doc->n && rc == 0; i++) {
        const zpl_entry_t *e = &doc->entry[i];
        if (e->depth == 0) {
            if (strcmp(e->name, "site") == 0) {
                if (d->n == PROVISION_MAX_SITES) {
                    rc = fs_err_set(err, FS_EINVAL, "%s:%d: more than %d sites", path, e->line,
                                    PROVISION_MAX_SITES);
                    break;
                }
                site = &d->site[d->n++];
                site->line = e->line;
            } else if (strcmp(e->name, "federation") && strcmp(e->name, "sites")) {
                rc = fs_err_set(err, FS_EINVAL, "%s:%d: unknown section '%s' (expected "
                                "federation, sites, site)", path, e->line, e->name);
                break;
            }
            section = e->name;
        } else if (e->depth > 1 || !e->has_value) {
            rc = fs_err_set(err, FS_EINVAL, "%s:%d: '%s': expected 'key = value' one level "
                            "under a section", path, e->line, e->name);
        } else if (strcmp(section, "federation") == 0) {
            rc = s_federation_key(d, e, path, err);
        } else if (strcmp(section, "sites") == 0) {
            rc = s_sites_key(d, e, path, err);
        } else {
            rc = s_site_key(site, e, path, base, err);
        }
    }
    zpl_destroy(&doc);
    for (int i = 0; i < d->n && rc == 0; i++) {
        const site_t *s = &d->site[i];
        if (!s->name[0] || !s->endpoint[0] || !s->has_id) {
            rc = fs_err_set(err, FS_EINVAL, "%s:%d: site needs name, endpoint and identity "
                            "(or key)", path, s->line);
        } else if (strncmp(s->endpoint, "tcp://", 6) || !strrchr(s->endpoint + 6, ':')) {
            rc = fs_err_set(err, FS_EINVAL, "%s:%d: site %s: endpoint '%s': expected "
                            "tcp://HOST:PORT", path, s->line, s->name, s->endpoint);
        }
        for (int k = 0; k < i && rc == 0; k++) {
            if (!strcmp(d->site[k].name, s->name) ||
                !memcmp(d->site[k].id.sign_pk, s->id.sign_pk, IDENTITY_KEY_BYTES)) {
                rc = fs_err_set(err, FS_EINVAL, "%s:%d: site %s repeats the name or key of "
                                "site %s", path, s->line, s->name, d->site[k].name);
            }
        }
    }
    if (rc == 0 && d->n < 1) {
        rc = fs_err_set(err, FS_EINVAL, "%s: no site (add one 'site' section per institution)",
                        path);
    }
    return rc;
}

// Site i's configuration into buf.
static size_t s_config(const desc_t *d, int i, char *buf, size_t cap)
{
    const site_t *s = &d->site[i];
    size_t k = 0;
#define OUT(...) k += (size_t)snprintf(buf + k, k < cap ? cap - k : 0, __VA_ARGS__)
    OUT("# %s: written by 'fedsyn netcfg provision' for federation %s\n", s->name, d->name);
    OUT("node\n    name = %s\n    keys = %s/%s\n    dir = %s/%s\n", s->name, d->keys, s->name,
        d->state, s->name);
    OUT("    listen = tcp://*:%s\n    advertise = %s\n", strrchr(s->endpoint + 6, ':') + 1,
        s->endpoint);
    OUT("    keep-models = %s\n", d->keep);
    OUT("federation\n    genesis = %s\n    model = %s\n    dataset = %s\n    rounds = %ld\n",
        d->genesis, d->model, d->dataset, d->rounds);
    OUT("    local-iters = %ld\n    quorum = %ld\n    timeout-ms = %ld\n", d->iters, d->quorum,
        d->timeout);
    OUT("peers\n");
    for (int p = 0; p < d->n; p++) {
        if (p == i) {
            continue;
        }
        char line[IDENTITY_LINE_MAX];
        identity_pub_format(&d->site[p].id, line);
        OUT("    peer\n        endpoint = %s\n        key = \"%s\"\n", d->site[p].endpoint,
            line);
    }
    OUT("data\n    set = %s\n    dir = %s\n", d->dataset, s->data[0] ? s->data : d->data);
    if (s->labels[0]) {
        OUT("    labels = %s\n", s->labels);
    }
#undef OUT
    return k;
}

int netcfg_provision(int argc, char **argv)
{
    const char *desc = NULL, *key = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "--key") || !strcmp(argv[i], "--out")) && i + 1 < argc) {
            *(argv[i][2] == 'k' ? &key : &out) = argv[i + 1];
            i++;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            netcfg_provision_help();
            return EXIT_OK;
        } else if (argv[i][0] == '-' || desc) {
            return cli_usage(CMD, "unexpected '%s' (DESC --key DIR --out DIR)", argv[i]);
        } else {
            desc = argv[i];
        }
    }
    if (!desc || !key || !out) {
        return cli_usage(CMD, "DESC, --key DIR and --out DIR are required");
    }
    fs_err_t err = {0, ""};
    desc_t *d = xcalloc(1, sizeof *d);
    identity_t *founder = NULL;
    keyring_t *members = keyring_new();
    genesis_t *g = xcalloc(1, sizeof *g);
    int rc = EXIT_OK, me = -1;
    if (s_read(desc, d, &err) < 0) {
        rc = cli_fail(CMD, &err, "fix the description and run again");
        goto done;
    }
    if (!(founder = identity_load(key, &err))) {
        rc = cli_fail(CMD, &err, "--key is the founder's folder from 'fedsyn keygen'");
        goto done;
    }
    for (int i = 0; i < d->n; i++) {
        if (!memcmp(d->site[i].id.sign_pk, identity_public(founder)->sign_pk,
                    IDENTITY_KEY_BYTES)) {
            me = i;
        } else {
            keyring_add(members, &d->site[i].id);
        }
    }
    if (me < 0) {
        fs_err_set(&err, FS_EINVAL, "%s: the founder's key (%s) is not one of the sites", desc,
                   identity_public(founder)->name);
        rc = cli_fail(CMD, &err, "the founder is a site: give its identity.pub in a site");
        goto done;
    }
    // Every configuration must read back clean before anything is written.
    char *text = xmalloc(PROVISION_TEXT);
    for (int i = 0; i < d->n && rc == EXIT_OK; i++) {
        size_t n = s_config(d, i, text, PROVISION_TEXT);
        node_config_t *cfg = xcalloc(1, sizeof *cfg);
        if (n >= PROVISION_TEXT) {
            fs_err_set(&err, FS_EINVAL, "site %s: its configuration exceeds %d bytes (fewer "
                       "sites, or shorter paths)", d->site[i].name, PROVISION_TEXT);
        }
        if (n >= PROVISION_TEXT || config_parse(text, n, d->site[i].name, "/", cfg, &err) < 0) {
            rc = cli_fail(CMD, &err, "a value of the description makes an invalid configuration");
        }
        free(cfg);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const founding_opts_t fo = {
        .name = d->name, .time_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000,
        .members = members, .model = d->model, .dataset = d->dataset, .seed = (uint64_t)d->seed,
        .noise = d->noise, .clip = d->clip, .scale = d->scale, .agg_scale = d->agg_scale,
        .delta = d->delta, .timeout_ms = (uint32_t)d->timeout,
        .attempt_extra_ms = (uint32_t)d->extra, .rounds = (uint32_t)d->rounds,
        .local_iters = (uint32_t)d->iters, .quorum = (uint16_t)d->quorum,
        .inactive_after = (uint16_t)d->inactive, .server_lr = d->server_lr,
        .request_window = (uint32_t)d->window,
        .finality = strcmp(d->finality, "signed") == 0 ? GENESIS_FINALITY_SIGNED
                                                       : GENESIS_FINALITY_MAJORITY,
        .record_clip = d->record_clip, .record_eps = d->record_eps,
        .record_delta = d->record_delta};
    char path[CONFIG_PATH_MAX + 64];
    uint8_t fed_id[HASH_BYTES];
    if (rc == EXIT_OK && founding_genesis(&fo, founder, g, &err) < 0) {
        rc = cli_fail(CMD, &err, "fix the federation section");
    }
    if (rc == EXIT_OK && fsio_mkdirs(out, &err) < 0) {
        rc = cli_fail(CMD, &err, NULL);
    }
    // The genesis last: a run cut short leaves no genesis, and runs again;
    // a folder with one already holds a federation and is left alone.
    snprintf(path, sizeof path, "%s/genesis.fsl", out);
    if (rc == EXIT_OK && access(path, F_OK) == 0) {
        fs_err_set(&err, FS_EINVAL, "%s exists: this folder holds a federation already", path);
        rc = cli_fail(CMD, &err, "give an empty --out folder");
    }
    for (int i = 0; i < d->n && rc == EXIT_OK; i++) {
        size_t n = s_config(d, i, text, PROVISION_TEXT);
        snprintf(path, sizeof path, "%s/%s.zpl", out, d->site[i].name);
        if (fsio_write_atomic(path, text, n, 0644, &err) < 0) {
            rc = cli_fail(CMD, &err, NULL);
        }
    }
    snprintf(path, sizeof path, "%s/genesis.fsl", out);
    if (rc == EXIT_OK && founding_write(g, founder, path, fed_id, &err) < 0) {
        rc = cli_fail(CMD, &err, "give an empty --out folder");
    }
    free(text);
    if (rc == EXIT_OK) {
        char hex[2 * HASH_BYTES + 1];
        bytes_to_hex(fed_id, HASH_BYTES, hex);
        printf("%s\n", hex);
        fprintf(stderr, "fedsyn %s: federation '%s' of %d sites -> %s/genesis.fsl and", CMD,
                d->name, d->n, out);
        for (int i = 0; i < d->n; i++) {
            fprintf(stderr, " %s.zpl", d->site[i].name);
        }
        fprintf(stderr, "\nnext: send each site the genesis and its .zpl; each puts the genesis "
                "at %s and checks its kit with 'fedsyn netcfg check'\n", d->genesis);
    }
done:
    free(g);
    keyring_destroy(&members);
    identity_destroy(&founder);
    free(d);
    return rc;
}
