// floe_e2e.mjs: helpers for the Node end-to-end tests (the twin of lib.sh).
//
// A test creates a Suite, starts its own `floe serve` with suite.start(),
// checks with suite.eq / suite.check / suite.rejects and ends with
// suite.finish(). The server is killed when the process exits, and its log is
// scanned for sanitizer reports. Only 127.0.0.1 is contacted; every wait is
// bounded.
//
//   FLOE_BIN   binary to test (default $BUILD/asan/floe; BUILD defaults to build)
//   E2E_KEEP=1 keep the temporary directory afterwards

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual, inspect } from "node:util";

const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(E2E_DIR, "../..");
export const ACCESS_KEY = "e2e-access-key";
export const SECRET_KEY = "e2e-secret-key-0123456789";
export const REGION = "us-east-1";
const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer/;

export function floeBin() {
  if (process.env.FLOE_BIN) return process.env.FLOE_BIN;
  const b = process.env.BUILD || "build";
  return path.join(path.isAbsolute(b) ? b : path.join(ROOT, b), "asan", "floe");
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Suite {
  constructor(name) {
    this.name = name || path.basename(process.argv[1]);
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `floe-e2e.${this.name.replace(/\.[^.]*$/, "")}.`));
    this.cwd = path.join(this.tmp, "cwd");
    fs.mkdirSync(this.cwd);
    this.passed = 0;
    this.failed = 0;
    this.servers = [];
    // Keep the host's AWS settings out: the SDK reads these lazily.
    for (const k of Object.keys(process.env)) if (k.startsWith("AWS_")) delete process.env[k];
    fs.writeFileSync(path.join(this.tmp, "aws-config"), `[default]\nregion = ${REGION}\n`);
    fs.writeFileSync(path.join(this.tmp, "aws-credentials"), "");
    process.env.AWS_CONFIG_FILE = path.join(this.tmp, "aws-config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(this.tmp, "aws-credentials");
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    for (const k of ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
      delete process.env[k];
    process.on("exit", () => this.cleanup());
    process.on("SIGTERM", () => process.exit(143));
    // The SDK warns that future releases need Node 22; that is not news here.
    const emit = process.emitWarning.bind(process);
    process.emitWarning = (w, ...rest) => {
      const text = `${typeof w === "string" ? w : w?.message} ${typeof rest[0] === "string" ? rest[0] : rest[0]?.type ?? ""}`;
      if (!/NodeVersionSupportWarning|will require node/.test(text)) emit(w, ...rest);
    };
    process.on("SIGINT", () => process.exit(130));
  }

  cleanup() {
    for (const s of this.servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGKILL");
    if (process.env.E2E_KEEP === "1") console.log(`${this.name}: kept ${this.tmp}`);
    else fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  // Starts `floe serve` on fresh ports; resolves to {url, port, catalogUrl, log, stop()}.
  async start({ dataDir, extraArgs = [] } = {}) {
    const bin = floeBin();
    if (!fs.existsSync(bin)) throw new Error(`server binary ${bin} does not exist (run 'make asan' or set FLOE_BIN)`);
    dataDir = dataDir || path.join(this.tmp, "data");
    fs.mkdirSync(dataDir, { recursive: true });
    const [s3, cat, con] = [await freePort(), await freePort(), await freePort()];
    const log = path.join(this.tmp, `floe.${this.servers.length + 1}.log`);
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("FLOE_")) env[k] = v;
    env.FLOE_ACCESS_KEY = ACCESS_KEY;
    env.FLOE_SECRET_KEY = SECRET_KEY;
    // the catalog in PostgreSQL (test_catalog_pg.sh)
    if (process.env.E2E_CATALOG_URL) env.FLOE_CATALOG_URL = process.env.E2E_CATALOG_URL;
    env.ASAN_OPTIONS ??= "detect_leaks=1:abort_on_error=0:halt_on_error=1";
    env.UBSAN_OPTIONS ??= "print_stacktrace=1:halt_on_error=1";
    const fd = fs.openSync(log, "w");
    const proc = spawn(
      bin,
      ["serve", "--data", dataDir, "--s3-port", `${s3}`, "--catalog-port", `${cat}`, "--console-port", `${con}`,
        "--bind", "127.0.0.1", ...extraArgs],
      { cwd: this.cwd, env, stdio: ["ignore", fd, fd] },
    );
    fs.closeSync(fd);
    const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve({ code, sig })));
    const srv = {
      url: `http://127.0.0.1:${s3}`,
      port: s3,
      catalogUrl: `http://127.0.0.1:${cat}`,
      log,
      proc,
      exited,
      stopped: false,
    };
    srv.logTail = (n = 30) => fs.readFileSync(log, "utf8").split("\n").slice(-n).join("\n");
    srv.stop = async () => {
      if (srv.stopped) return;
      srv.stopped = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const r = await Promise.race([exited, sleep(10000).then(() => null)]);
      if (!r) {
        this.fail("server did not exit within 10 s of SIGTERM; killing it");
        proc.kill("SIGKILL");
        return;
      }
      const text = fs.readFileSync(log, "utf8");
      const m = SANITIZER.exec(text);
      if (m) this.fail(`sanitizer report in server log ${log}:\n${text.slice(m.index, m.index + 3000)}`);
      if (r.code !== 0) this.fail(`server exited with ${r.code ?? r.sig} on SIGTERM (expected 0):\n${srv.logTail(15)}`);
    };
    this.servers.push(srv);
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      try {
        const r = await fetch(`${srv.url}/_floe/health`, { signal: AbortSignal.timeout(1000) });
        // the catalog port comes up just after the S3 port
        const c = r.status === 200 ? await fetch(`${srv.catalogUrl}/health`, { signal: AbortSignal.timeout(1000) }) : null;
        if (c?.status === 200) return srv;
      } catch {
        /* not up yet */
      }
      await sleep(100);
    }
    srv.stopped = true; // a server that never came up has no clean stop to check
    const died = proc.exitCode !== null || proc.signalCode !== null;
    proc.kill("SIGKILL");
    throw new Error(
      died
        ? `server exited during start-up (${proc.exitCode ?? proc.signalCode}); log ${log}:\n${srv.logTail()}`
        : `server did not answer /_floe/health with 200 within 10 s; log ${log}:\n${srv.logTail()}`,
    );
  }

  ok(what) {
    this.passed++;
    console.log(`  ok   ${what}`);
  }

  fail(what) {
    this.failed++;
    console.log(`  FAIL ${what}`);
  }

  static show(v) {
    const s = inspect(v, { depth: 4, maxStringLength: 2000, breakLength: Infinity });
    return s.length > 2000 ? `${s.slice(0, 2000)}... (${s.length} chars)` : s;
  }

  check(cond, what, detail = "") {
    if (cond) this.ok(what);
    else this.fail(detail ? `${what}: ${detail}` : what);
    return !!cond;
  }

  eq(expected, actual, what) {
    if (isDeepStrictEqual(expected, actual)) {
      this.ok(what);
      return true;
    }
    this.fail(`${what}\n       expected: ${Suite.show(expected)}\n       actual:   ${Suite.show(actual)}`);
    return false;
  }

  // Awaits fn(); a thrown error is a failed check. Returns the value or undefined.
  async attempt(fn, what) {
    try {
      const r = await fn();
      this.ok(what);
      return r;
    } catch (e) {
      this.fail(`${what}: ${e.name}: ${e.message} (HTTP ${e.$metadata?.httpStatusCode ?? "-"})`);
      return undefined;
    }
  }

  // fn() must reject with an S3 error named `code` (and the HTTP status, when given).
  async rejects(code, fn, what, status) {
    try {
      const r = await fn();
      this.fail(`${what}: expected ${code}, but the call succeeded: ${Suite.show(r).slice(0, 300)}`);
      return false;
    } catch (e) {
      const st = e.$metadata?.httpStatusCode;
      if ((e.name === code || e.Code === code) && (status === undefined || st === status)) {
        this.ok(what);
        return true;
      }
      this.fail(`${what}: expected ${code}${status ? ` (HTTP ${status})` : ""}, got ${e.name} (HTTP ${st}): ${e.message}`);
      return false;
    }
  }

  async finish() {
    for (const s of this.servers) await s.stop();
    console.log(`${this.name}: ${this.passed} checks passed, ${this.failed} failed`);
    process.exit(this.failed || !this.passed ? 1 : 0);
  }
}
