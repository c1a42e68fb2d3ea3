#!/usr/bin/env bash
# Starts the bundle the Dockerfile copies the way its runtime image runs it, and checks that it answers: the bundle
# is assembled with deploy/assemble-bundle.sh (as in the image's build stage), moved elsewhere (as COPY --from
# does), and started with the image's ENV, WORKDIR and CMD read from the Dockerfile; then its HEALTHCHECK command,
# /health/ready, the demo model (JSON and stream), the console's page and /metrics are tried, and SIGTERM must exit
# 0.
# Needs `pnpm build` first. CI runs it after the build (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "smoke-bundle: $*" >&2
  [ -f "$work/stderr" ] && tail -n 20 "$work/stderr" >&2
  exit 1
}

# The runtime stage's ENV (one assignment per line or joined with backslashes), WORKDIR, CMD and HEALTHCHECK CMD.
read_dockerfile() {
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const text = readFileSync("Dockerfile", "utf8").replace(/\\\n\s*/g, " ");
    const stage = text.split(/^FROM /m).at(-1);
    const env = {};
    for (const [, body] of stage.matchAll(/^ENV (.+)$/gm)) {
      for (const [, name, value] of body.matchAll(/(\w+)=(\S+)/g)) env[name] = value;
    }
    const json = (pattern) => JSON.parse(pattern.exec(stage)?.[1] ?? "null");
    const out = {
      env,
      workdir: /^WORKDIR (\S+)$/m.exec(stage)?.[1],
      copy: /^COPY --from=build (\S+) (\S+)$/m.exec(stage)?.slice(1),
      cmd: json(/^CMD (\[.*\])$/m),
      healthcheck: json(/^HEALTHCHECK .*?CMD (\[.*\])$/m),
    };
    process.stdout.write(JSON.stringify(out));
  '
}
spec=$(read_dockerfile)
field() { node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(Array.isArray(v) ? v.join("\n") : typeof v === "object" ? Object.entries(v).map(([k, x]) => `${k}=${x}`).join("\n") : v)' "$spec" "$1"; }
[ "$(field copy)" = $'/out\n/app' ] || fail "the Dockerfile no longer copies /out to /app: update this script"
[ "$(field workdir)" = /app ] || fail "the runtime WORKDIR is not /app: update this script"

# Build stage: the same script the Dockerfile runs. Runtime stage: the directory alone, somewhere else.
bash deploy/assemble-bundle.sh "$work/out" >/dev/null
mv "$work/out" "$work/app"
[ -f "$work/app/dist/main.js" ] || fail "no dist/main.js in the bundle: run pnpm build first"
[ ! -e "$work/app/src" ] || fail "the bundle carries the sources"
mkdir -p "$work/app/data"

# The image's environment only (paths under /app moved to the copy), plus PORT=0 so that runs never collide.
env_args=(PATH="$PATH")
while IFS= read -r assignment; do
  env_args+=("${assignment//\/app/$work/app}")
done < <(field env)
env_args+=(PORT=0)
mapfile -t cmd < <(field cmd)
(cd "$work/app" && exec env -i "${env_args[@]}" "${cmd[@]}" >"$work/stdout" 2>"$work/stderr") &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'listening on' "$work/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "the bundle exited before listening"
  sleep 0.2
done
listening=$(grep -o 'listening on http://[^ ]*' "$work/stdout" | head -n 1) || fail "no listening line"
port=${listening##*:}
[[ "$listening" == *"0.0.0.0:"* ]] || fail "expected to listen on 0.0.0.0 (HOST), got: $listening"
url="http://127.0.0.1:$port"

mapfile -t healthcheck < <(field healthcheck)
(cd "$work/app" && env -i PATH="$PATH" PORT="$port" "${healthcheck[@]}") || fail "the HEALTHCHECK command failed"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/health/ready")" = 200 ] || fail "/health/ready is not 200"

request='{"model":"demo","messages":[{"role":"user","content":"Hello from the bundle"}]}'
answer=$(curl -sf "$url/v1/chat/completions" -H 'content-type: application/json' -d "$request") || fail "demo JSON failed"
[[ "$answer" == *'"content":"[demo] '*'You said: Hello from the bundle"'* ]] || fail "unexpected demo answer: $answer"
stream=$(curl -sfN "$url/v1/chat/completions" -H 'content-type: application/json' -d "${request%\}},\"stream\":true}") ||
  fail "demo stream failed"
[[ "$stream" == *'data: [DONE]'* && "$stream" == *'"content":"[demo] "'* ]] || fail "unexpected demo stream: $stream"
console=$(curl -sf "$url/console/") || fail "/console/ failed"
[[ "$console" == *'<div id="app">'* ]] || fail "/console/ does not serve the console's index.html"
metrics=$(curl -sf "$url/metrics") || fail "/metrics failed"
[[ "$metrics" == *'llm_requests_total{provider="demo",model="demo",status="completed"} 2'* ]] ||
  fail "/metrics does not count the two demo requests"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "exit status $status after SIGTERM (expected 0)"
echo "smoke-bundle: the bundle started from a copy as the image runs it, answered the demo (JSON and stream), /console, /metrics, and drained"
