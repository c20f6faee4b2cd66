"""floe_e2e.py: helpers for the Python end-to-end tests (the twin of lib.sh).

A test creates one Suite, starts its own `floe serve` with suite.start(),
talks to it with boto3 or raw HTTP, checks with suite.eq / suite.check /
suite.raises, and ends with suite.finish(). Every server is killed when the
process exits, and every server log is scanned for sanitizer reports.

  FLOE_BIN   binary to test (default $BUILD/asan/floe; BUILD defaults to build)
  E2E_KEEP=1 keep the temporary directory afterwards

Only 127.0.0.1 is ever contacted, and every wait is bounded.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(E2E_DIR))
ACCESS_KEY = "e2e-access-key"
SECRET_KEY = "e2e-secret-key-0123456789"
REGION = "us-east-1"

_SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer")

for _v in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_v, None)
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def build_dir():
    b = os.environ.get("BUILD", "build")
    return b if os.path.isabs(b) else os.path.join(ROOT, b)


def floe_bin(default_flavour="asan"):
    if os.environ.get("FLOE_BIN"):
        return os.environ["FLOE_BIN"]
    if default_flavour == "asan":
        return os.path.join(build_dir(), "asan", "floe")
    return os.path.join(build_dir(), "floe")


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def http(method, url, body=None, headers=None, timeout=30):
    """Plain (unsigned unless the URL is presigned) HTTP request. Returns
    (status, headers dict with lower-case names, body bytes)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


class Server:
    def __init__(self, suite, data_dir, extra_args, config_text, binary):
        self.suite = suite
        self.data_dir = data_dir
        self.binary = binary
        self.proc = None
        self.stopped = False
        self.log_path = None
        self.port = None
        self.url = None
        self.catalog_url = None  # http://127.0.0.1:<catalog port>
        self.extra_args = list(extra_args)
        self.config_path = None
        if config_text is not None:
            self.config_path = os.path.join(suite.tmp, "floe-%d.yaml" % len(suite.servers))
            with open(self.config_path, "w") as f:
                f.write(config_text)

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOE_")}
        env["FLOE_ACCESS_KEY"] = ACCESS_KEY
        env["FLOE_SECRET_KEY"] = SECRET_KEY
        if os.environ.get("E2E_CATALOG_URL"):  # the catalog in PostgreSQL (test_catalog_pg.sh)
            env["FLOE_CATALOG_URL"] = os.environ["E2E_CATALOG_URL"]
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        return env

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("server binary %s does not exist (run 'make asan' or set FLOE_BIN)" % self.binary)
        os.makedirs(self.data_dir, exist_ok=True)
        for attempt in range(3):
            s3, cat, con = free_ports(3)
            self.port = s3
            self.url = "http://127.0.0.1:%d" % s3
            self.catalog_url = "http://127.0.0.1:%d" % cat
            self.log_path = os.path.join(self.suite.tmp, "floe.%d.log" % self.suite.next_log())
            args = [self.binary, "serve", "--data", self.data_dir, "--s3-port", str(s3),
                    "--catalog-port", str(cat), "--console-port", str(con), "--bind", "127.0.0.1"]
            if self.config_path:
                args += ["--config", self.config_path]
            args += self.extra_args
            self.stopped = False
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             env=self._env(), cwd=self.suite.cwd)
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    st, _, _ = http("GET", self.url + "/_floe/health", timeout=1)
                    # the catalog port comes up just after the S3 port
                    if st == 200 and http("GET", self.catalog_url + "/health", timeout=1)[0] == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.1)
            self.stopped = True  # a server that never came up has no clean stop to check
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not answer /_floe/health within 10 s:\n" + self.log_tail())
            if "in use" in self.log_tail().lower():
                continue
            break
        raise RuntimeError("server exited during start-up (status %s):\n%s" % (self.proc.returncode, self.log_tail()))

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def check_log(self):
        with open(self.log_path, errors="replace") as f:
            text = f.read()
        m = _SANITIZER.search(text)
        if m:
            self.suite.fail("sanitizer report in server log %s:\n%s" % (self.log_path, text[m.start():m.start() + 3000]))
            return False
        return True

    def stop(self):
        """SIGTERM, then a clean exit (status 0, no sanitizer report) within 10 s."""
        if not self.proc or self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.suite.fail("server did not exit within 10 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait()
                return
        self.check_log()
        if self.proc.returncode != 0:
            self.suite.fail("server exited with status %s on SIGTERM (expected 0):\n%s"
                            % (self.proc.returncode, self.log_tail(15)))

    def kill9(self):
        self.stopped = True
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.check_log()


class Suite:
    def __init__(self, name=None):
        self.name = name or os.path.basename(sys.argv[0])
        self.tmp = tempfile.mkdtemp(prefix="floe-e2e.%s." % os.path.splitext(self.name)[0])
        self.cwd = os.path.join(self.tmp, "cwd")
        os.makedirs(self.cwd)
        self.passed = 0
        self.failed = 0
        self.servers = []
        self._logs = 0
        self._aws_env()
        atexit.register(self._cleanup)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def _aws_env(self):
        for k in list(os.environ):
            if k.startswith("AWS_"):
                del os.environ[k]
        cfg = os.path.join(self.tmp, "aws-config")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = %s\n" % REGION)
        creds = os.path.join(self.tmp, "aws-credentials")
        open(creds, "w").close()
        os.environ.update({
            "AWS_CONFIG_FILE": cfg, "AWS_SHARED_CREDENTIALS_FILE": creds,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": REGION,
        })

    def next_log(self):
        self._logs += 1
        return self._logs

    # ---- servers
    def start(self, data_dir=None, extra_args=(), config_text=None, binary=None):
        srv = Server(self, data_dir or os.path.join(self.tmp, "data"), extra_args, config_text,
                     binary or floe_bin())
        self.servers.append(srv)
        srv.start()
        return srv

    def _cleanup(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        if os.environ.get("E2E_KEEP") == "1":
            print("%s: kept %s" % (self.name, self.tmp))
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- clients
    def client(self, server, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **config):
        import boto3
        from botocore.config import Config

        opts = dict(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"},
                    signature_version="s3v4", connect_timeout=5, read_timeout=60)
        opts.update(config)
        session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                        region_name=REGION)
        return session.client("s3", endpoint_url=server.url, config=Config(**opts))

    @staticmethod
    def with_headers(client, headers, fn):
        """Calls fn() with extra request headers added (and signed) on every
        request of client. For parameters an older botocore lacks (IfMatch,
        IfNoneMatch on writes), so the checks run with any boto3."""
        def add(request, **_):
            for k, v in headers.items():
                request.headers[k] = v

        client.meta.events.register("before-sign.s3", add)
        try:
            return fn()
        finally:
            client.meta.events.unregister("before-sign.s3", add)

    # ---- checks
    def ok(self, what):
        self.passed += 1
        print("  ok   " + what, flush=True)

    def fail(self, what):
        self.failed += 1
        print("  FAIL " + what, flush=True)

    @staticmethod
    def _show(v):
        s = repr(v)
        return s if len(s) <= 2000 else s[:2000] + "... (%d chars)" % len(s)

    def check(self, cond, what, detail=""):
        if cond:
            self.ok(what)
        else:
            self.fail(what + (": " + detail if detail else ""))
        return bool(cond)

    def eq(self, expected, actual, what):
        if expected == actual:
            self.ok(what)
            return True
        self.fail("%s\n       expected: %s\n       actual:   %s" % (what, self._show(expected), self._show(actual)))
        return False

    def raises(self, code, fn, what, status=None):
        """fn() must raise botocore ClientError with Error.Code == code (and
        the HTTP status, when given)."""
        from botocore.exceptions import ClientError

        try:
            r = fn()
        except ClientError as e:
            got = e.response.get("Error", {}).get("Code")
            st = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if got == code and (status is None or st == status):
                self.ok(what)
                return True
            self.fail("%s: expected error %s%s, got %s (HTTP %s): %s"
                      % (what, code, "" if status is None else " (HTTP %d)" % status, got, st, e))
            return False
        except Exception as e:  # noqa: BLE001 - any other failure is a wrong answer too
            self.fail("%s: expected error %s, got %s: %s" % (what, code, type(e).__name__, e))
            return False
        self.fail("%s: expected error %s, but the call succeeded: %s" % (what, code, self._show(r)[:500]))
        return False

    def attempt(self, fn, what):
        """Runs fn(); a raised exception is a failed check. Returns fn's value or None."""
        try:
            r = fn()
        except Exception as e:  # noqa: BLE001
            self.fail("%s: %s: %s" % (what, type(e).__name__, e))
            return None
        self.ok(what)
        return r

    def finish(self):
        for s in self.servers:
            s.stop()
        print("%s: %d checks passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed or not self.passed else 0)
