/* cmd_member.c - `fedsyn member`: admitting and removing institutions by
 * the members' vote (docs/federation.md "Membership by the members'
 * vote").  Each subcommand asks the member's running node, which holds
 * its key, signs, and gossips the motion. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "node/base/fsio.h"
#include "node/base/mem.h"
#include "node/cli/cli.h"

static void s_help(void)
{
    printf("usage: fedsyn member propose --config FILE --admit IDENTITY.pub\n"
           "       fedsyn member propose --config FILE --remove NAME|KEY\n"
           "       fedsyn member sign --config FILE MOTION-ID\n"
           "       fedsyn member pending --config FILE\n\n"
           "In a federation that admits by vote (ledger init --admission vote, the\n"
           "default with majority-witnessed blocks), an institution joins, or a member\n"
           "is removed, once more than half of the active members have signed the same\n"
           "motion; the next block records it with their signatures, and every node's\n"
           "authenticator follows the ledger: an admitted newcomer can connect from that\n"
           "block on, a removed member's key is refused.  Each command asks this\n"
           "member's running node (FILE is its configuration), which signs with its key\n"
           "and gossips the motion to its peers.\n\n"
           "  propose --admit FILE   move to admit the institution whose public identity\n"
           "                         is FILE (its keys/NAME/identity.pub from fedsyn\n"
           "                         keygen, sent to you out of band: check its\n"
           "                         fingerprint with the institution)\n"
           "  propose --remove WHO   move to remove a member (or an admitted newcomer\n"
           "                         that has not joined), by name or signing key\n"
           "  sign MOTION-ID         sign a pending motion (its id, or its first 4+\n"
           "                         digits, as pending lists it)\n"
           "  pending                the motions under way, who signed them, and the\n"
           "                         newcomers admitted that have not joined yet\n\n"
           "A motion lapses when the genesis's request window (64 rounds by default)\n"
           "passes before a majority signs; propose it again then.\n\n"
           "example (a fourth institution, dave, joins alice, bob and carol):\n"
           "  dave:  fedsyn keygen --dir keys/dave --name dave   (sends identity.pub)\n"
           "  alice: fedsyn member propose --config alice.zpl --admit dave.pub\n"
           "  bob:   fedsyn member sign --config bob.zpl 3f2a9c1d\n"
           "  dave:  fedsyn node --config dave.zpl   (federation id + one peer)\n");
}

int cmd_member(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        s_help();
        return argc < 2 ? cli_usage("member", "expected propose, sign or pending") : EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "propose") != 0 && strcmp(sub, "sign") != 0 &&
        strcmp(sub, "pending") != 0) {
        return cli_usage("member", "unknown subcommand '%s' (expected propose, sign or pending)",
                         sub);
    }
    static const struct option opts[] = {{"config", 1, 0, 'c'}, {"admit", 1, 0, 'a'},
                                         {"remove", 1, 0, 'r'}, {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL, *admit = NULL, *remove = NULL;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "member %s", sub);
    optind = 1;
    opterr = 0;
    argc--;
    argv++;
    int c;
    while ((c = getopt_long(argc, argv, "hc:a:r:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'a': admit = optarg; break;
        case 'r': remove = optarg; break;
        case 'h': s_help(); return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (!config) {
        return cli_usage(cmd, "--config FILE (this member's node configuration) is required");
    }
    const char *motion = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) {
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    }
    char what[IDENTITY_LINE_MAX + 64];
    if (strcmp(sub, "pending") == 0) {
        if (motion || admit || remove) {
            return cli_usage(cmd, "pending takes only --config");
        }
        return cli_node_control(cmd, config, "MOTIONS");
    }
    if (strcmp(sub, "sign") == 0) {
        if (!motion || admit || remove) {
            return cli_usage(cmd, "expected one MOTION-ID (fedsyn member pending lists them)");
        }
        snprintf(what, sizeof what, "MOTION-SIGN %s", motion);
        return cli_node_control(cmd, config, what);
    }
    if (motion || !admit == !remove) {
        return cli_usage(cmd, "expected exactly one of --admit IDENTITY.pub or --remove WHO");
    }
    if (remove) {
        snprintf(what, sizeof what, "MOTION-REMOVE %s", remove);
        return cli_node_control(cmd, config, what);
    }
    // the newcomer's public identity: checked here, so a wrong file is named
    fs_err_t err = {0};
    uint8_t *text = NULL;
    size_t n = 0;
    if (fsio_read_all(admit, 4096, &text, &n, &err) < 0) {
        return cli_fail(cmd, &err, "give the newcomer's identity.pub (from fedsyn keygen)");
    }
    char line[IDENTITY_LINE_MAX];
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1),
             (const char *)text);
    free(text);
    line[strcspn(line, "\r\n")] = 0;
    identity_pub_t id;
    if (identity_pub_parse(line, &id, &err) < 0) {
        fs_err_prefix(&err, FS_EINVAL, "%s: ", admit);
        return cli_fail(cmd, &err, "give the newcomer's identity.pub (from fedsyn keygen)");
    }
    char fpr[IDENTITY_FPR_CHARS];
    identity_fingerprint(&id, fpr);
    fprintf(stderr, "proposing to admit %s, fingerprint %s (check it with the institution)\n",
            id.name, fpr);
    snprintf(what, sizeof what, "MOTION-ADMIT %s", line);
    return cli_node_control(cmd, config, what);
}
