// Tests of the postgres test bed's scripts, on a test-bed directory of their
// own (a cluster of their own, a port of their own).
// Run: node --test tools/testbed/postgres/postgres.test.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pgBin = "/usr/lib/postgresql/15/bin";
let testbed;

/** Runs one of the scripts (start, stop, restart) on this test's test bed. */
function run(script) {
  execFileSync(join(here, `${script}.sh`), {
    env: { ...process.env, VIRTRIGAUD_TESTBED: testbed, VIRTRIGAUD_TEST_POSTGRES_DATA: "" },
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** The variables postgres.env sets (written with printf %q: bash reads it). */
function envFile() {
  const out = execFileSync("bash", ["-c", '. "$1"; env -0', "_", join(testbed, "postgres.env")], {
    encoding: "utf8",
    env: {},
    stdio: ["ignore", "pipe", "inherit"],
  });
  return Object.fromEntries(
    out
      .split("\0")
      .filter((entry) => entry.startsWith("VIRTRIGAUD_TEST_POSTGRES_"))
      .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
}

/** The server's PID, from its postmaster.pid. */
function serverPid() {
  return Number(readFileSync(join(testbed, "postgres/data/postmaster.pid"), "utf8").split("\n")[0]);
}

function psql(url, sql) {
  return execFileSync(
    join(pgBin, "psql"),
    ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    },
  ).trim();
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is gone within 5 s (pg_ctl stop returns when postmaster.pid is, a moment before the process). */
async function gone(pid) {
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  return !alive(pid);
}

before(() => {
  testbed = mkdtempSync(join(tmpdir(), "testbed-postgres-"));
  // The user postgres runs the server: it must reach the directory.
  chmodSync(testbed, 0o755);
});

after(() => {
  try {
    run("stop");
  } finally {
    rmSync(testbed, { recursive: true, force: true });
  }
});

test("start serves on 127.0.0.1 and writes postgres.env; a second start leaves the server as it is", () => {
  run("start");
  const env = envFile();
  assert.match(
    env.VIRTRIGAUD_TEST_POSTGRES_URL,
    /^postgres:\/\/postgres@127\.0\.0\.1:[0-9]+\/postgres$/,
  );
  assert.equal(
    env.VIRTRIGAUD_TEST_POSTGRES_URL,
    `postgres://postgres@127.0.0.1:${env.VIRTRIGAUD_TEST_POSTGRES_PORT}/postgres`,
  );
  assert.equal(env.VIRTRIGAUD_TEST_POSTGRES_DATA, join(testbed, "postgres/data"));
  assert.equal(env.VIRTRIGAUD_TEST_POSTGRES_RESTART, join(here, "restart.sh"));
  assert.equal(psql(env.VIRTRIGAUD_TEST_POSTGRES_URL, "SHOW listen_addresses"), "127.0.0.1");
  assert.equal(psql(env.VIRTRIGAUD_TEST_POSTGRES_URL, "SHOW max_connections"), "200");
  psql(env.VIRTRIGAUD_TEST_POSTGRES_URL, "CREATE DATABASE kept");
  const pid = serverPid();

  run("start");
  assert.deepEqual(envFile(), env);
  assert.equal(serverPid(), pid);
});

test("restart keeps the port and the data, with a new server process", () => {
  const env = envFile();
  const pid = serverPid();
  execFileSync(env.VIRTRIGAUD_TEST_POSTGRES_RESTART, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  assert.notEqual(serverPid(), pid);
  assert.equal(
    psql(
      env.VIRTRIGAUD_TEST_POSTGRES_URL,
      "SELECT count(*) FROM pg_database WHERE datname = 'kept'",
    ),
    "1",
  );
});

test("stop ends the server and removes postgres.env; the next start keeps the cluster", async () => {
  const pid = serverPid();
  run("stop");
  assert.equal(await gone(pid), true);
  assert.equal(existsSync(join(testbed, "postgres.env")), false);
  run("stop");

  run("start");
  const env = envFile();
  assert.equal(
    psql(
      env.VIRTRIGAUD_TEST_POSTGRES_URL,
      "SELECT count(*) FROM pg_database WHERE datname = 'kept'",
    ),
    "1",
  );
});
