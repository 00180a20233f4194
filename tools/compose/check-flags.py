#!/usr/bin/env python3
"""Checks docker-compose.yml against the binaries it runs (tools/compose/check.sh calls it).

Reads the rendered file (`docker-compose config`, every profile) on stdin, and for
every service that runs one of this repository's apps:
  - finds the binary the image runs (the Dockerfile's ENTRYPOINT, or the service's
    own entrypoint) and runs `node apps/<app>/bin/<bin>.js --help` (the apps must be
    built: npx tsc -b apps/<app>/tsconfig.lib.json);
  - every --flag the service passes must be in that help;
  - every VIRTRIGAUD_* / VSPHERE_* variable the service or its Dockerfile sets must
    be one the help names as a flag's environment fallback ([NAME]), or follow the
    binary's stated VIRTRIGAUD_<FLAG> rule for a flag it has;
  - every /run/secrets/... path in the environment must be a mounted secret (or a
    directory of them), and the health check's port must be the ops port
    (VIRTRIGAUD_OPS_LISTEN) the image listens on.
Prints one line per service checked; exits 1 listing every mismatch.
"""
import os
import re
import shlex
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV_PREFIXES = ("VIRTRIGAUD_", "VSPHERE_")


def dockerfile_facts(path):
    """ENV names/values and the ENTRYPOINT of a Dockerfile's last stage."""
    env, entrypoint = {}, None
    with open(os.path.join(ROOT, path)) as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            env, entrypoint = {}, None
        elif line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                if "=" in pair:
                    k, v = pair.split("=", 1)
                    env[k] = v
        elif line.startswith("ENTRYPOINT "):
            entrypoint = yaml.safe_load(line[len("ENTRYPOINT "):])
    return env, entrypoint


def binary_of(argv):
    """apps/<app>/bin/<bin>.js for an argv like [node, /app/apps/<app>/bin/<bin>.js, ...]."""
    for i, arg in enumerate(argv or []):
        m = re.fullmatch(r"/app/(apps/[^/]+/bin/[^/]+\.js)", str(arg))
        if m:
            return m.group(1), [str(a) for a in argv[i + 1:]]
    return None, []


help_cache = {}


def help_of(binary):
    if binary not in help_cache:
        path = os.path.join(ROOT, binary)
        if not os.path.exists(path):
            raise SystemExit(f"check-flags: {binary} does not exist")
        out = subprocess.run(["node", path, "--help"], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0 or "Usage" not in out.stdout:
            raise SystemExit(
                f"check-flags: `node {binary} --help` failed (built? npx tsc -b "
                f"{os.path.dirname(os.path.dirname(binary))}/tsconfig.lib.json):\n{out.stderr.strip()}"
            )
        help_cache[binary] = out.stdout
    return help_cache[binary]


def env_known(help_text, name):
    if re.search(r"\[" + re.escape(name) + r"[]=]", help_text):
        return True
    # "environment fallback: VIRTRIGAUD_<FLAG>": VIRTRIGAUD_SSH_HOST is --ssh-host.
    if "VIRTRIGAUD_<FLAG>" in help_text and name.startswith("VIRTRIGAUD_"):
        flag = "--" + name[len("VIRTRIGAUD_"):].lower().replace("_", "-")
        return re.search(r"(^|\s)" + re.escape(flag) + r"(\s|$)", help_text, re.M) is not None
    return False


def main():
    config = yaml.safe_load(sys.stdin)
    problems, checked = [], 0
    for name, svc in sorted(config["services"].items()):
        dockerfile = (svc.get("build") or {}).get("dockerfile")
        image_env, image_entrypoint = {}, None
        if not dockerfile:
            # A service running another service's image (vrtg runs the manager's).
            image = svc.get("image", "").split(":")[0]
            for other in config["services"].values():
                if other.get("build") and other.get("image", "").split(":")[0] == image:
                    dockerfile = other["build"]["dockerfile"]
        if dockerfile:
            image_env, image_entrypoint = dockerfile_facts(dockerfile)
        entrypoint = svc.get("entrypoint", image_entrypoint)
        if isinstance(entrypoint, str):
            entrypoint = shlex.split(entrypoint)
        binary, args = binary_of(entrypoint)
        if not binary:
            continue  # not one of the apps (vcsim)
        checked += 1
        help_text = help_of(binary)
        command = svc.get("command") or []
        if isinstance(command, str):
            command = shlex.split(command)
        for arg in args + [str(c) for c in command]:
            flag = arg.split("=", 1)[0]
            if flag.startswith("--") and not re.search(r"(^|[\s,])" + re.escape(flag) + r"([\s,=]|$)", help_text, re.M):
                problems.append(f"{name}: {binary} has no flag {flag}")
        # The image's ENV is for the image's own entrypoint (vrtg runs in the manager's image).
        env = dict(image_env) if "entrypoint" not in svc else {}
        env.update({k: ("" if v is None else str(v)) for k, v in (svc.get("environment") or {}).items()})
        for var in sorted(env):
            if var.startswith(ENV_PREFIXES) and not env_known(help_text, var):
                problems.append(f"{name}: {binary} reads no {var}")
        targets = ["/run/secrets/" + s["target"] for s in svc.get("secrets") or []]
        for var, value in sorted(env.items()):
            if value.startswith("/run/secrets/") and not any(t == value or t.startswith(value.rstrip("/") + "/") for t in targets):
                problems.append(f"{name}: {var}={value} is not a mounted secret")
        test = " ".join(str(t) for t in (svc.get("healthcheck") or {}).get("test") or [])
        port = re.search(r"127\.0\.0\.1:(\d+)/readyz", test)
        ops = env.get("VIRTRIGAUD_OPS_LISTEN", "")
        if svc.get("healthcheck") and (not port or not ops.endswith(":" + port.group(1))):
            problems.append(f"{name}: the health check probes {port.group(0) if port else test!r}, the ops port is {ops!r}")
        print(f"[check-flags] {name}: {binary} ({len(env)} settings, {len(args) + len(command)} arguments) ok"
              if not any(p.startswith(name + ":") for p in problems) else f"[check-flags] {name}: MISMATCH", file=sys.stderr)
    if checked == 0:
        problems.append("no service runs one of the apps: the rendered file was not understood")
    for p in problems:
        print(f"[check-flags] {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


main()
