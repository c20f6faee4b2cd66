#!/usr/bin/env python3
"""cases_lib.py: reads the protocol case files of test_cases.sh, and does the
two things curl cannot: signing with a skewed clock, and hanging up in the
middle of a body.

  cases_lib.py parse CASE OUTDIR BUCKET MARKER
      Writes OUTDIR/{method,target,headers,body,auth,mode,status,
      expect_body,expect_header,setup,check,title} from the case file,
      placeholders expanded.
  cases_lib.py sign OUTDIR PORT SKEW_SECONDS AK SK
      Prints SigV4 header lines (Authorization, x-amz-date,
      x-amz-content-sha256) for the parsed request, dated SKEW_SECONDS from
      now.
  cases_lib.py send OUTDIR PORT AK SK
      Sends the parsed request, signed, over a raw socket, in its mode:
      "disconnect-after N" sends the headers and N body bytes, then hangs up
      (prints 000); "signed-chunks SIZE [tamper]" sends the body as signed
      aws-chunked chunks. Prints the status; the response goes to
      OUTDIR/resp.headers and OUTDIR/resp.body.

Case file format (see cases/README):

  # title: what the case shows
  # auth: sigv4 | none | skew SECONDS
  # mode: disconnect-after BYTES | signed-chunks SIZE [tamper]  (optional)
  # setup: object KEY TEXT              (optional, repeatable)
  # expect-status: 400 | 4xx | 200|400  (alternatives with |, a class as Nxx)
  # expect-body: <Code>MalformedXML</Code>   (repeatable; substrings)
  # expect-header: content-type: application/xml  (repeatable; substrings)
  # check: no-object KEY | object KEY TEXT | no-tmp | no-escape  (repeatable)
  METHOD /path?query
  Header: value
  (blank line)
  body: everything after the blank line, less one final newline

Placeholders, anywhere: {bucket}, {marker}, {crlf}, {nl} (a new line, so
one header line can expand to many), {repeat:TEXT:N}.
"""

import datetime
import hashlib
import hmac
import os
import re
import socket
import sys
import urllib.parse

REGION = "us-east-1"


def expand(text, bucket, marker):
    text = text.replace("{bucket}", bucket).replace("{marker}", marker).replace("{crlf}", "\r\n").replace("{nl}", "\n")
    return re.sub(r"\{repeat:(.*?):(\d+)\}", lambda m: m.group(1) * int(m.group(2)), text, flags=re.S)


def parse(case, outdir, bucket, marker):
    with open(case, encoding="utf-8") as f:
        raw = f.read()
    meta = {"title": [], "auth": [], "mode": [], "setup": [], "expect-status": [], "expect-body": [],
            "expect-header": [], "check": []}
    lines = raw.split("\n")
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        m = re.match(r"#\s*([a-z-]+):\s?(.*)$", lines[i])
        if m:
            if m.group(1) not in meta:
                sys.exit("%s: unknown directive '%s'" % (case, m.group(1)))
            meta[m.group(1)].append(expand(m.group(2).rstrip(), bucket, marker))
        i += 1
    if i >= len(lines):
        sys.exit("%s: no request line" % case)
    rest = "\n".join(lines[i:])
    head, sep, body = rest.partition("\n\n")
    if body.endswith("\n"):
        body = body[:-1]
    head_lines = head.split("\n")
    method, _, target = head_lines[0].partition(" ")
    target = expand(target.strip(), bucket, marker)
    headers = [expand(h, bucket, marker) for h in head_lines[1:] if h.strip()]
    os.makedirs(outdir, exist_ok=True)

    def put(name, value):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(value if isinstance(value, bytes) else value.encode("utf-8"))

    put("method", method.strip())
    put("target", target)
    put("headers", "".join(h + "\n" for h in headers))
    put("body", expand(body, bucket, marker).encode("utf-8"))
    put("auth", (meta["auth"] or ["sigv4"])[0])
    put("mode", (meta["mode"] or [""])[0])
    put("status", (meta["expect-status"] or [""])[0])
    put("title", (meta["title"] or [""])[0])
    for k in ("expect-body", "expect-header", "setup", "check"):
        put(k.replace("-", "_"), "".join(v + "\n" for v in meta[k]))


def load(outdir):
    def get(name):
        with open(os.path.join(outdir, name), "rb") as f:
            return f.read()

    headers = []
    for line in get("headers").decode().splitlines():
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return get("method").decode(), get("target").decode(), headers, get("body")


def _uri_encode(s):
    return urllib.parse.quote(s, safe="-_.~")


def sigv4_headers(method, target, headers, body, port, ak, sk, when):
    """SigV4 as S3 does it: the canonical URI is the decoded path encoded
    once again with '/' left alone (S3 encodes once and never normalises),
    the query sorted and re-encoded."""
    raw_path, _, query = target.partition("?")
    path = urllib.parse.quote(urllib.parse.unquote_to_bytes(raw_path), safe="/-_.~")
    params = []
    for part in query.split("&") if query else []:
        k, _, v = part.partition("=")
        params.append((_uri_encode(urllib.parse.unquote(k)), _uri_encode(urllib.parse.unquote(v))))
    canon_query = "&".join("%s=%s" % kv for kv in sorted(params))
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    payload = dict((n.lower(), v) for n, v in headers).get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    signed = {"host": "127.0.0.1:%d" % port, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
    for n, v in headers:
        if n.lower().startswith("x-amz-") or n.lower() in ("content-md5", "content-type"):
            signed[n.lower()] = v
    names = sorted(signed)
    canon = "\n".join([method, path, canon_query, "".join("%s:%s\n" % (n, signed[n]) for n in names),
                       ";".join(names), payload])
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canon.encode()).hexdigest()])
    key = ("AWS4" + sk).encode()
    for p in (amz_date[:8], REGION, "s3", "aws4_request"):
        key = hmac.new(key, p.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    auth = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ak, scope, ";".join(names), sig)
    return [("Authorization", auth), ("x-amz-date", amz_date), ("x-amz-content-sha256", payload)]


def sign(outdir, port, skew, ak, sk):
    method, target, headers, body = load(outdir)
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(skew))
    for n, v in sigv4_headers(method, target, headers, body, int(port), ak, sk, when):
        print("%s: %s" % (n, v))


def _encode_signed_chunks(body, size, key, amz_date, scope, seed_sig, tamper):
    """aws-chunked with a signature per chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)."""
    out, prev = [], seed_sig
    empty = hashlib.sha256(b"").hexdigest()
    pieces = [body[i:i + size] for i in range(0, len(body), size)] + [b""]
    for n, piece in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(piece).hexdigest()])
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper and n == 0 and piece:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        out.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(piece), prev.encode(), piece))
    return b"".join(out)


def _read_response(s, outdir):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head:
        return "000"
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    want = int(m.group(1)) if m else 0
    while len(rest) < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    with open(os.path.join(outdir, "resp.headers"), "wb") as f:
        f.write(head + b"\r\n\r\n")
    with open(os.path.join(outdir, "resp.body"), "wb") as f:
        f.write(rest)
    return head.split(b" ", 2)[1].decode()


def send(outdir, port, ak, sk):
    """Modes curl cannot do, over a raw socket:
      disconnect-after N        headers, N body bytes, then hang up (prints 000)
      signed-chunks SIZE [tamper]  the body as signed aws-chunked chunks of
                                SIZE bytes; 'tamper' flips a bit of the first
                                chunk after signing it"""
    with open(os.path.join(outdir, "mode")) as f:
        mode = f.read().split()
    method, target, headers, body = load(outdir)
    port = int(port)
    when = datetime.datetime.now(datetime.timezone.utc)
    wire_body = body
    if mode[0] == "signed-chunks":
        headers = [h for h in headers if h[0].lower() not in ("x-amz-content-sha256", "content-length")]
        headers += [("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
                    ("x-amz-decoded-content-length", str(len(body)))]
    auth = sigv4_headers(method, target, headers, body, port, ak, sk, when)
    if mode[0] == "signed-chunks":
        amz_date = when.strftime("%Y%m%dT%H%M%SZ")
        scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)
        key = ("AWS4" + sk).encode()
        for p in (amz_date[:8], REGION, "s3", "aws4_request"):
            key = hmac.new(key, p.encode(), hashlib.sha256).digest()
        seed = auth[0][1].rsplit("Signature=", 1)[1]
        wire_body = _encode_signed_chunks(body, int(mode[1]), key, amz_date, scope, seed, "tamper" in mode[2:])
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: 127.0.0.1:%d" % port]
    lines += ["%s: %s" % h for h in headers if h[0].lower() != "x-amz-content-sha256"]
    lines += ["%s: %s" % h for h in auth]
    if mode[0] != "disconnect-after":
        lines += ["Content-Length: %d" % len(wire_body), "Connection: close"]
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if mode[0] == "disconnect-after":
            s.sendall(wire_body[:int(mode[1])])
            s.shutdown(socket.SHUT_RDWR)
            print("000")
            return
        s.sendall(wire_body)
        print(_read_response(s, outdir))
    except OSError:
        print("000")
    finally:
        s.close()


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "parse":
        parse(*a[1:])
    elif len(a) == 6 and a[0] == "sign":
        sign(*a[1:])
    elif len(a) == 5 and a[0] == "send":
        send(*a[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
