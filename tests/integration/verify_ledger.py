#!/usr/bin/python3
"""verify_ledger.py - an independent fedsyn ledger verifier, written from
docs/ledger.md and docs/wire.md alone (PyNaCl + the standard library).  Usage:
    /usr/bin/python3 verify_ledger.py PATH
    /usr/bin/python3 verify_ledger.py --vectors DIR
Prints "valid N blocks" and exits 0, or prints the first failure and exits 1.
With --vectors it checks the golden vectors of DIR (tests/vectors, listed in
docs/wire.md) from outside: every signature, id, field and the envelope's
decryption, then prints "vectors ok N files".
It checks framing and CRCs (section 8), sigmsg frames and signatures (3), the
federation id (5), hash links, time, election, expected members, contributor
weights, quorum, close reason, the epsilon arithmetic (7), and each join and
leave request's frame, signer, round, the replay rule (7.7-7.8) and the
genesis's request window (5), and with record-level DP each contributor's
running epsilon and the budget (6c; the RDP of DP-SGD from dpsgd_rdp.py, the
independent accountant beside this file).  The
allow-list and inactivity rules are left to fedsyn (not re-implemented)."""
import math
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dpsgd_rdp  # noqa: E402

import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.public
import nacl.signing


class Bad(Exception):
    pass


def h(tag, data):
    person = tag.encode().ljust(16, b"\0")
    return nacl.hash.blake2b(data, digest_size=32, person=person, encoder=nacl.encoding.RawEncoder)


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        if self.o + n > len(self.b):
            raise Bad("truncated body")
        v = self.b[self.o:self.o + n]
        self.o += n
        return v

    def u(self, n):
        return int.from_bytes(self.take(n), "little")

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def text(self):
        return self.take(self.u(1)).decode()

    def identity(self):
        name = self.text()
        return name, self.take(32), self.take(32), self.take(32)

    def done(self):
        if self.o != len(self.b):
            raise Bad("bytes after the last field")


def sigmsg(rec):
    if len(rec) < 148 or rec[:4] != b"FSYN" or rec[4] != 1 or rec[6:8] != b"\0\0":
        raise Bad("bad message frame")
    body_len = int.from_bytes(rec[80:84], "little")
    if 84 + body_len + 64 != len(rec):
        raise Bad("message length")
    signed, sig = rec[:84 + body_len], rec[84 + body_len:]
    signer = rec[48:80]
    try:
        nacl.signing.VerifyKey(signer).verify(h("fedsyn.sigmsg", signed), sig)
    except nacl.exceptions.BadSignatureError:
        raise Bad("signature does not verify")
    return dict(type=rec[5], fed=rec[8:40], round=int.from_bytes(rec[40:48], "little"),
                signer=signer, body=rec[84:84 + body_len])


def same(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def rdp_eps(curve, delta):
    # min over alpha > 1 of curve(alpha) + ln((alpha-1)/alpha) - (ln delta + ln alpha)/(alpha-1):
    # a grid over log10(alpha - 1), then golden-section search around the best.
    def f(x):
        a = 1 + 10 ** x
        return max(0.0, curve(a) + math.log1p(-1 / a) - (math.log(delta) + math.log(a)) / (a - 1))
    xs = [-4 + 10 * i / 2000 for i in range(2001)]
    bx = min(xs, key=f)
    lo, hi = bx - 0.005, bx + 0.005
    g = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(a) < f(b):
            hi = b
        else:
            lo = a
    return min(f(bx), f((lo + hi) / 2))


# The orders of docs/ledger.md 6c: 1.1 to 10.9 by tenths, 12 to 24, 32 ... 512.
ORDERS = [1 + (i + 1) / 10 for i in range(99)] + list(range(12, 25)) + [32, 48, 64, 128, 256, 512]
CURVES = {}


def dpsgd_curve(q, sigma):
    if (q, sigma) not in CURVES:
        CURVES[(q, sigma)] = [dpsgd_rdp.rdp(q, sigma, a) for a in ORDERS]
    return CURVES[(q, sigma)]


def curve_eps(rdp, delta):
    return max(0.0, min(v + math.log1p(-1 / a) - (math.log(delta) + math.log(a)) / (a - 1)
                        for v, a in zip(rdp, ORDERS)))


def rdp_linear_eps(rho, delta):
    return rdp_eps(lambda a: a * rho, delta)


def laplace_tight(k, eps, delta):
    # the smallest of basic/advanced, zCDP and the Laplace RDP accountant
    if k == 0:
        return 0.0
    rho = k * eps * eps / 2
    zcdp = rho + 2 * math.sqrt(rho * math.log(1 / delta))
    lap = lambda a: k * (eps + math.log1p((a - 1) / (2 * a - 1) * math.expm1((1 - 2 * a) * eps)) / (a - 1))
    return min(advanced(k, eps, delta), zcdp, rdp_eps(lap, delta))


def round_privacy(mech, clip, bm, bg, delta, pmax, k1):
    # (eps_member, eps_aggregate, tight total after k1 charged rounds)
    if mech == 2:
        eps = 2 * clip / bm
        eps_agg = min(eps, 2 * clip * pmax / bg) if bg > 0 else eps
        return eps, eps_agg, laplace_tight(k1, eps, delta)
    if mech == 3:
        rho = (2 * clip) ** 2 / (2 * bm * bm)
        rho_agg = min(rho, (2 * clip * pmax) ** 2 / (2 * bg * bg)) if bg > 0 else rho
        return (rdp_linear_eps(rho, delta), rdp_linear_eps(rho_agg, delta),
                rdp_linear_eps(k1 * rho, delta))
    return 0.0, 0.0, 0.0


def advanced(k, eps, delta):
    if eps <= 0 or k == 0:
        return 0.0
    adv = eps * math.sqrt(2 * k * math.log(1 / delta)) + k * eps * math.expm1(eps)
    return min(adv, k * eps)


def records(data):
    if data[:8] != b"FSYNLDGR" or data[8:12] != b"\1\0\0\0":
        raise Bad("not a fedsyn ledger file")
    o, i = 16, 0
    while o < len(data):
        if len(data) - o < 4:
            return  # torn tail
        n = int.from_bytes(data[o:o + 4], "little")
        if n == 0 or n > 1 << 18:
            raise Bad("block %d: record length %d" % (i, n))
        if len(data) - o < n + 8:
            return  # torn tail
        rec = data[o + 4:o + 4 + n]
        crc = int.from_bytes(data[o + 4 + n:o + 8 + n], "little")
        if zlib.crc32(rec) != crc:
            if o + n + 8 == len(data):
                return  # torn tail
            raise Bad("block %d: checksum mismatch" % i)
        yield rec
        o += n + 8
        i += 1


def verify(path):
    return verify_data(open(path, "rb").read(), path)


def verify_data(data, path):
    index = 0
    for rec in records(data):
        try:
            m = sigmsg(rec)
            r = Reader(m["body"])
            if index == 0:
                if m["type"] != 1 or m["round"] != 0:
                    raise Bad("not a genesis")
                fed = h("fedsyn.fed", m["body"])
                if fed != m["fed"]:
                    raise Bad("federation id is not the hash of the genesis body")
                r.text()
                head_time = r.u(8)
                members = [r.identity() for _ in range(r.u(2))]
                r.text(), r.text(), r.u(8), r.take(32)
                mech = r.u(1)
                clip, bm, bg, delta = r.f64(), r.f64(), r.f64(), r.f64()
                r.u(4), r.u(4), r.u(4), r.u(4)
                quorum, _inactive = r.u(2), r.u(2)
                admission = r.u(1)  # 1 allow-list, 2 open, 3 vote (docs/ledger.md 5)
                allowed = {r.take(32) for _ in range(r.u(2))}
                window = 0  # the request window (docs/ledger.md 5): 0 = none
                witnessed = False  # majority-witnessed blocks (5, 6a)
                record = None  # record-level DP (5, 6c): (clip, delta, budget)
                if len(r.b) - r.o == 8:  # the optional server step alone
                    eta = r.f64()
                    if not (0 < eta <= 10) or eta == 1:
                        raise Bad("genesis server_lr trailer out of range")
                elif len(r.b) - r.o in (12, 13, 38):  # the server step, the request window
                    eta, window = r.f64(), r.u(4)
                    if not (0 < eta <= 10) or window == 0:
                        raise Bad("genesis server_lr or request_window trailer out of range")
                    if len(r.b) - r.o >= 1:  # then the finality byte
                        if r.u(1) != 1:
                            raise Bad("genesis finality trailer: expected 1 (majority)")
                        witnessed = True
                    if len(r.b) - r.o == 25:  # then record-level DP
                        if r.u(1) != 1:
                            raise Bad("genesis record_dp trailer: expected 1 (dp-sgd)")
                        record = (r.f64(), r.f64(), r.f64())
                        if not (record[0] > 0 and 0 < record[1] < 1 and record[2] > 0):
                            raise Bad("genesis record_dp fields out of range")
                r.done()
                if admission == 3 and not witnessed:
                    raise Bad("genesis: admission by vote needs majority-witnessed blocks")
                if m["signer"] not in [mm[1] for mm in members]:
                    raise Bad("genesis signer is not a founding member")
                active = {mm[1] for mm in members}
                voters = []  # the members active before the head block: its witnesses
                eps_total, k = 0.0, 0
                joined_at, left_at = {}, {}  # block indices, for the replay rule (7-8)
                ever = set(active)  # members ever recorded
                removed = set()  # members removed by the members' vote (6b)
                admitted = {}  # key -> (block of its last motion, revoked): admitted by vote
                record_rdp = {}  # key -> its records' RDP at ORDERS, every round composed

                def may_join(key):  # ledger_state_may_join
                    if key in active:
                        return False
                    if admission == 2:
                        return True
                    if key in admitted:
                        return not admitted[key][1]
                    if key in ever:
                        return key not in removed
                    return key in allowed
            else:
                if m["type"] != 2 or m["fed"] != fed or m["round"] != index:
                    raise Bad("type, federation or index")
                t = r.u(8)
                prev = r.take(32)
                rank, attempt = r.u(4), r.u(4)
                expected = [r.take(32) for _ in range(r.u(2))]
                contrib = [(r.take(32), r.take(32), r.u(8), r.f64()) for _ in range(r.u(2))]
                joined = []
                for _ in range(r.u(1)):
                    jm = sigmsg(r.take(r.u(2)))
                    jr = Reader(jm["body"])
                    key = jr.identity()[1]
                    if jm["type"] != 4 or jm["fed"] != fed or jm["round"] > index or jm["signer"] != key:
                        raise Bad("join request: type, federation, round or signer")
                    if key in left_at and jm["round"] <= left_at[key]:
                        raise Bad("join request older than the member's last leave (replayed)")
                    if window and index - jm["round"] > window:
                        raise Bad("join request outside the genesis's request window (stale)")
                    if not may_join(key):
                        raise Bad("join of a key the admission rule does not admit")
                    joined.append(key)
                left = []
                for _ in range(r.u(1)):
                    key, why = r.take(32), r.u(1)
                    req = r.take(r.u(2))
                    if why == 1:
                        lm = sigmsg(req)
                        if lm["type"] != 5 or lm["fed"] != fed or lm["round"] > index or lm["signer"] != key:
                            raise Bad("leave request: type, federation, round or signer")
                        if joined_at.get(key, 0) > 0 and lm["round"] <= joined_at[key]:
                            raise Bad("leave request older than the member's last admission (replayed)")
                        if window and index - lm["round"] > window:
                            raise Bad("leave request outside the genesis's request window (stale)")
                    left.append((key, why))
                pm = r.u(1)
                p = [r.f64() for _ in range(7)]
                r.take(32)
                close = r.u(1)
                if witnessed:  # the previous block's certificate (6a, 7 rule 9a)
                    ballot, votes = r.u(4), [(r.take(32), r.take(64)) for _ in range(r.u(2))]
                    if index == 1:
                        if votes or ballot:
                            raise Bad("commit: block 1's must be empty")
                    else:
                        vkeys = [v[0] for v in votes]
                        if len(votes) < len(voters) // 2 + 1:
                            raise Bad("commit: %d votes, a majority of %d needs %d" % (
                                len(votes), len(voters), len(voters) // 2 + 1))
                        if vkeys != sorted(set(vkeys)) or not set(vkeys) <= set(voters):
                            raise Bad("commit: voters not ascending, or not members before it")
                        digest = h("fedsyn.witness", fed + struct.pack("<QI", index - 1, ballot) + prev)
                        for key, sig in votes:
                            try:
                                nacl.signing.VerifyKey(key).verify(digest, sig)
                            except nacl.exceptions.BadSignatureError:
                                raise Bad("commit: a vote's signature does not verify")
                motions = []
                if admission == 3:  # the motions a majority signed (6b, 7 rule 9b)
                    for _ in range(r.u(1)):
                        action, mround = r.u(1), r.u(8)
                        start = r.o
                        cand = r.identity()
                        ident = r.b[start:r.o]
                        sigs = [(r.take(32), r.take(64)) for _ in range(r.u(2))]
                        motions.append((action, mround, cand, ident, sigs))
                spent = []  # (q, sigma, steps, eps) per contributor (6c)
                if record:
                    if r.u(1) != 0xD5 or r.u(2) != len(contrib):
                        raise Bad("record_dp: no tag, or not one entry per contributor")
                    spent = [(r.f64(), r.f64(), r.u(8), r.f64()) for _ in contrib]
                r.done()
                voters_now = sorted(active)
                subjects = set()
                for action, mround, cand, ident, sigs in motions:
                    key = cand[1]
                    if action not in (1, 2) or mround > index:
                        raise Bad("motion: unknown action, or made for a later round")
                    if window and index - mround > window:
                        raise Bad("motion outside the genesis's request window (stale)")
                    last = max(joined_at.get(key, 0), left_at.get(key, 0),
                               admitted.get(key, (0, False))[0])
                    if last and mround <= last:
                        raise Bad("motion not after the candidate's last membership change (replayed)")
                    if action == 1 and (key in active or may_join(key)):
                        raise Bad("motion to admit someone already free to join, or active")
                    if action == 2 and key not in active and not may_join(key):
                        raise Bad("motion to remove someone neither active nor admitted")
                    if key in subjects or key in joined or key in [k for k, _ in left]:
                        raise Bad("motion about a member another change of this block names")
                    subjects.add(key)
                    skeys = [k for k, _ in sigs]
                    if skeys != sorted(set(skeys)) or not set(skeys) <= set(voters_now):
                        raise Bad("motion: signers not ascending, or not active members")
                    if len(sigs) < len(voters_now) // 2 + 1:
                        raise Bad("motion: %d signatures, a majority of %d needs %d" % (
                            len(sigs), len(voters_now), len(voters_now) // 2 + 1))
                    digest = h("fedsyn.motion", fed + bytes([action]) + struct.pack("<Q", mround) + ident)
                    for skey, sig in sigs:
                        try:
                            nacl.signing.VerifyKey(skey).verify(digest, sig)
                        except nacl.exceptions.BadSignatureError:
                            raise Bad("motion: a signature does not verify")
                if prev != head:
                    raise Bad("prev_hash does not match the previous block")
                if t < head_time:
                    raise Bad("time goes back")
                if m["signer"] not in active:
                    raise Bad("aggregator is not an active member")
                keys = sorted(active)
                order = sorted(keys, key=lambda a: (h("fedsyn.elect", prev + struct.pack("<Q", index) + a), a))
                if order[attempt % len(keys)] != m["signer"] or rank != attempt % len(keys):
                    raise Bad("election: the signer is not the candidate of its attempt")
                if expected != keys:
                    raise Bad("expected members differ from the active set")
                total = sum(c[2] for c in contrib)
                ckeys = [c[0] for c in contrib]
                if ckeys != sorted(set(ckeys)) or not set(ckeys) <= set(keys):
                    raise Bad("contributors")
                if any(not same(c[3], c[2] / total) for c in contrib):
                    raise Bad("contributor weight")
                # close reason: 1 all arrived; 3 all but members leaving by request in
                # this block; 2 any other (and, as older ledgers have it, the case of 3)
                missing = set(keys) - set(ckeys)
                requested = {k for k, why in left if why == 1}
                want = 1 if not missing else 3 if missing <= requested else 2
                if len(contrib) < quorum or not (close == want or (close, want) == (2, 3)):
                    raise Bad("quorum or close reason")
                pmax = max(c[3] for c in contrib)
                k1 = k + (1 if mech in (2, 3) else 0)
                eps, eps_agg, tight = round_privacy(mech, clip, bm, bg, delta, pmax, k1)
                want = [eps, eps_agg, eps_total + eps, tight]
                if pm != mech or not all(same(a, b) for a, b in zip(p[3:], want)):
                    raise Bad("privacy numbers")
                for (key, _, _, _), (q, sigma, steps, reps) in zip(contrib, spent):
                    if not (0 < q <= 1 and sigma > 0 and 1 <= steps <= 10 ** 9):
                        raise Bad("record_dp: q, sigma or steps out of range")
                    c = dpsgd_curve(q, sigma)
                    now = [a + steps * b for a, b in zip(record_rdp.get(key, [0.0] * len(ORDERS)), c)]
                    want = curve_eps(now, record[1])
                    if abs(reps - want) > 1e-6 * max(1.0, want):
                        raise Bad("record_dp: a contributor's eps %.10g, recomputed %.10g" % (reps, want))
                    if reps > record[2] * (1 + 1e-9):
                        raise Bad("record_dp: a contributor's eps %g exceeds the budget %g" % (reps, record[2]))
                    record_rdp[key] = now
                eps_total, k = eps_total + eps, k1
                voters = keys
                active = (active - {k for k, _ in left}) | set(joined)
                for key, _ in left:
                    left_at[key] = index
                for key in joined:
                    joined_at[key] = index
                    ever.add(key)
                    removed.discard(key)
                    admitted.pop(key, None)
                for action, _, cand, _, _ in motions:
                    key = cand[1]
                    if action == 2 and key in active:
                        active.discard(key)
                        removed.add(key)
                        left_at[key] = index
                    else:
                        admitted[key] = (index, action == 2)
                head_time = t
        except Bad as e:
            print("%s: block %d: %s" % (path, index, e))
            return 1
        head = h("fedsyn.block", rec)
        index += 1
    if index == 0:
        print("%s: no genesis" % path)
        return 1
    print("valid %d blocks" % index)
    return 0


def load_vector(path):
    fields, hexdigits = {}, []
    for line in open(path):
        if line.startswith("#"):
            key, sep, value = line[1:].strip().partition(": ")
            if sep:
                fields[key] = value
        else:
            hexdigits.append(line.strip())
    return fields, bytes.fromhex("".join(hexdigits))


def floats(b):
    if len(b) % 4:
        raise Bad("a model of %d bytes" % len(b))
    return list(struct.unpack("<%df" % (len(b) // 4), b))


def want_model(fields, b):
    if floats(b) != [float(x) for x in fields["model"].split()]:
        raise Bad("model weights differ from the stated ones")


def endpoint_peer(r):
    ident = r.identity()
    return ident, r.take(r.u(2)).decode()


def check_vectors(d):
    v = {}
    import os
    for name in sorted(os.listdir(d)):
        if name.endswith(".hex"):
            v[name[:-4]] = load_vector(os.path.join(d, name))
    need = ["genesis", "block-1", "block-2", "join-request", "leave-request", "ledger",
            "wire-hello", "wire-block", "wire-syncrep", "envelope"]
    missing = [n for n in need if n not in v]
    if missing:
        raise Bad("missing vectors: " + ", ".join(missing))
    f, g = v["genesis"]
    m = sigmsg(g)
    fed = h("fedsyn.fed", m["body"])
    if m["type"] != 1 or m["fed"] != fed or fed.hex() != f["fed_id"]:
        raise Bad("genesis: type or federation id")
    r = Reader(m["body"])
    r.text(), r.u(8)
    members = [r.identity() for _ in range(r.u(2))]
    boxkey = {mm[1]: mm[2] for mm in members}
    for name in ("block-1", "block-2"):
        f, rec = v[name]
        m = sigmsg(rec)
        if m["type"] != 2 or m["fed"] != fed or m["round"] != int(f["index"]):
            raise Bad("%s: type, federation or index" % name)
        if h("fedsyn.block", rec).hex() != f["block_id"]:
            raise Bad("%s: block id" % name)
    for name, typ in (("join-request", 4), ("leave-request", 5)):
        f, rec = v[name]
        m = sigmsg(rec)
        if m["type"] != typ or m["fed"] != fed or m["round"] != int(f["round"]):
            raise Bad("%s: type, federation or round" % name)
        if typ == 4:
            r = Reader(m["body"])
            if r.identity()[1] != m["signer"]:
                raise Bad("join-request: signed by a key other than the joiner's")
            r.done()
        elif m["body"]:
            raise Bad("leave-request: a body")
        if m["signer"] not in v["block-2"][1]:
            raise Bad("%s: its signer is not in block-2" % name)
        if rec not in v["block-2"][1]:
            raise Bad("%s: block-2 does not embed it" % name)
    ledger = v["ledger"][1]
    if verify_data(ledger, "ledger.hex") != 0:
        raise Bad("ledger.hex does not verify")
    if list(records(ledger)) != [v["genesis"][1], v["block-1"][1], v["block-2"][1]]:
        raise Bad("ledger.hex does not hold genesis, block-1, block-2")
    # HELLO
    f, b = v["wire-hello"]
    m = sigmsg(b)
    if m["type"] != 6 or m["fed"] != fed or m["round"] != int(f["height"]):
        raise Bad("wire-hello: type, federation or height")
    r = Reader(m["body"])
    me, ep = endpoint_peer(r)
    head = r.take(32)
    peers = []
    for _ in range(r.u(1)):
        peers.append(endpoint_peer(r) + (r.u(1),))
    r.done()
    if me[1] != m["signer"] or ep != f["endpoint"] or len(peers) != int(f["peers"]):
        raise Bad("wire-hello: signer, endpoint or peers")
    if head != h("fedsyn.block", v["block-1"][1]):
        raise Bad("wire-hello: head is not block-1's id")
    # BLOCK and SYNCREP
    f, b = v["wire-block"]
    r = Reader(b)
    if r.take(r.u(4)) != v["block-1"][1]:
        raise Bad("wire-block: the record is not block-1")
    want_model(f, r.take(4 * r.u(4)))
    r.done()
    f, b = v["wire-syncrep"]
    r = Reader(b)
    recs = [r.take(r.u(4)) for _ in range(r.u(4))]
    if recs != [v["genesis"][1], v["block-1"][1]] or len(recs) != int(f["records"]):
        raise Bad("wire-syncrep: records")
    want_model(f, r.take(4 * r.u(4)))
    r.done()
    # UPDATE: the envelope, opened with the recipient's box key
    f, b = v["envelope"]
    m = sigmsg(b)
    if m["type"] != 3 or m["fed"] != fed or m["round"] != int(f["round"]):
        raise Bad("envelope: type, federation or round")
    r = Reader(m["body"])
    recipient, _base, samples = r.take(32), r.take(32), r.u(8)
    _mech, _clip, _scale = r.u(1), r.f64(), r.f64()
    _dp_q, _dp_sigma, _dp_steps = r.f64(), r.f64(), r.u(8)  # record-level DP (ledger.md 4)
    count, nonce, clen = r.u(4), r.take(24), r.u(4)
    box = r.take(clen)
    r.done()
    if recipient not in boxkey or m["signer"] not in boxkey or samples != int(f["samples"]):
        raise Bad("envelope: recipient, sender or samples")
    if clen != 4 * count + 16:
        raise Bad("envelope: ciphertext length")
    sk = nacl.public.PrivateKey(bytes.fromhex(f["recipient_box_sk"]))
    if bytes(sk.public_key) != boxkey[recipient]:
        raise Bad("envelope: the stated secret is not the recipient's box key")
    plain = nacl.public.Box(sk, nacl.public.PublicKey(boxkey[m["signer"]])).decrypt(box, nonce)
    want_model(f, plain)
    print("vectors ok %d files" % len(v))
    return 0


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--vectors":
            sys.exit(check_vectors(sys.argv[2]))
        sys.exit(verify(sys.argv[1]))
    except Bad as e:
        print("%s: %s" % (sys.argv[-1], e))
        sys.exit(1)
