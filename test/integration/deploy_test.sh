#!/usr/bin/env bash
# Checks the deployment artefacts: the Elastic Beanstalk bundle's layout and settings, its nginx
# snippet under the real nginx, the glibc ceiling check itself and, given a binary, the Lambda zip.
#
# Usage: test/integration/deploy_test.sh [BINARY]
#   BINARY  a compresstest to package for Lambda (section c); without it, section c is skipped.
#           It must be the static build (cmake -DCOMPRESSTEST_STATIC=ON): a dynamically
#           linked Debian 12 build fails the ceiling, as it would fail on Amazon Linux 2023.
# Needs: zip or python3, nginx (Debian's nginx-light), readelf/objdump (binutils), curl, python3
# with PyYAML. Exits non-zero on the first failed check.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
binary="${1:-}"
tmp="$(mktemp -d)"
nginx_prefix=""
bootstrap_pid=""
cleanup() {
  if [ -n "$nginx_prefix" ] && [ -f "$nginx_prefix/nginx.pid" ]; then
    nginx -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" -s stop 2>/dev/null || true
  fi
  if [ -n "$bootstrap_pid" ]; then kill "$bootstrap_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
check() { printf 'ok   %s\n' "$1"; passed=$((passed + 1)); }
fail() { printf 'FAIL %s\n' "$1" >&2; exit 1; }
indented() {  # runs a command, printing its output indented; keeps its exit status
  local rc=0
  "$@" >"$tmp/indented.out" 2>&1 || rc=$?
  sed 's/^/     /' "$tmp/indented.out"
  return "$rc"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- (a) Elastic Beanstalk source bundle: layout and settings -----------------------------------
echo "== (a) Elastic Beanstalk source bundle"
bundle="$tmp/bundle.zip"
"$repo/deploy/elasticbeanstalk/build-bundle" "$bundle" >/dev/null
python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$bundle" >"$tmp/entries"

grep -qx 'Dockerfile' "$tmp/entries" || fail "bundle has the Dockerfile at its root"
check "bundle has the Dockerfile at its root, so it has no parent folder"
grep -qE '^\.platform/nginx/conf\.d/[^/]+\.conf$' "$tmp/entries" || fail "bundle has .platform/nginx/conf.d/*.conf"
check "bundle has .platform/nginx/conf.d/*.conf"
grep -qE '^\.ebextensions/[^/]+\.config$' "$tmp/entries" || fail "bundle has .ebextensions/*.config"
check "bundle has .ebextensions/*.config"
grep -qx '\.dockerignore' "$tmp/entries" || fail "bundle has the .dockerignore beside the Dockerfile"
check "bundle has the .dockerignore beside the Dockerfile"
if grep -E '^(build|\.git)/|(^|/)node_modules/' "$tmp/entries"; then
  fail "bundle holds no build/, .git/ or node_modules/ (entries above)"
fi
check "bundle holds no build/, .git/ or node_modules/"

mkdir "$tmp/bundle"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$tmp/bundle"
# EB builds the bundle's Dockerfile: it must be the one deploy/docker/verify checks, byte for byte.
cmp -s "$repo/Dockerfile" "$tmp/bundle/Dockerfile" || fail "the bundle's Dockerfile is the repository's"
cmp -s "$repo/.dockerignore" "$tmp/bundle/.dockerignore" || fail "the bundle's .dockerignore is the repository's"
check "the bundle's Dockerfile and .dockerignore are the repository's, byte for byte"
python3 - "$tmp/bundle/.ebextensions" <<'EOF' || fail "the .ebextensions settings are complete"
# Reads every .ebextensions/*.config as EB does (YAML) and checks the settings the service needs.
import glob, os, sys
import yaml

settings = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.config"))):
    for namespace, options in (yaml.safe_load(open(path)).get("option_settings") or {}).items():
        settings.setdefault(namespace, {}).update(options)

def want(namespace, option, predicate, what):
    value = settings.get(namespace, {}).get(option)
    ok = value is not None and predicate(value)
    print(f"{'ok  ' if ok else 'FAIL'} {namespace} {option} = {value!r} ({what})")
    return ok

trigger = "aws:autoscaling:trigger"
asg = "aws:autoscaling:asg"
results = [
    want(trigger, "MeasureName", lambda v: v == "CPUUtilization", "scales on CPU"),
    want(trigger, "Period", lambda v: int(v) == 1, "1-minute period"),
    want(trigger, "BreachDuration", lambda v: int(v) == 1, "1-minute breach duration"),
    want(trigger, "UpperThreshold", lambda v: 0 < float(v) <= 100, "a percentage"),
    want(trigger, "LowerThreshold",
         lambda v: 0 <= float(v) < float(settings[trigger].get("UpperThreshold", 0)), "below the upper one"),
    want("aws:autoscaling:launchconfiguration", "MonitoringInterval",
         lambda v: v == "1 minute", "1-minute datapoints for the 1-minute trigger"),
    want(asg, "MinSize", lambda v: int(v) >= 1, "at least one instance"),
    want(asg, "MaxSize", lambda v: int(v) >= int(settings[asg].get("MinSize", 1)), "not below MinSize"),
    want(asg, "Cooldown", lambda v: int(v) > 0, "a cooldown"),
    want("aws:ec2:instances", "InstanceTypes", lambda v: bool(str(v).strip()), "instance types named"),
    want("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath",
         lambda v: v == "/healthz", "the cheap health route"),
    want("aws:elasticbeanstalk:cloudwatch:logs", "StreamLogs", lambda v: v is True, "logs streamed"),
]
sys.exit(0 if all(results) else 1)
EOF
check "the .ebextensions settings are complete"

# --- (b) the nginx snippet under the real nginx, included as the EB platform includes it -------
echo "== (b) nginx snippet"
command -v nginx >/dev/null || fail "nginx is installed (scripts/install-deps: nginx-light)"
nginx_prefix="$tmp/nginx"
mkdir -p "$nginx_prefix/conf.d" "$nginx_prefix/html"
cp "$tmp/bundle/.platform/nginx/conf.d/"*.conf "$nginx_prefix/conf.d/"
port="$(free_port)"
# Every path nginx writes to is in the temporary prefix; the include sits inside http {} as in
# the platform's /etc/nginx/nginx.conf. The server stands in for the proxy to the container.
cat >"$nginx_prefix/nginx.conf" <<EOF
pid $nginx_prefix/nginx.pid;
error_log $nginx_prefix/error.log;
events {}
http {
  access_log $nginx_prefix/access.log;
  client_body_temp_path $nginx_prefix/client_body;
  proxy_temp_path $nginx_prefix/proxy;
  fastcgi_temp_path $nginx_prefix/fastcgi;
  uwsgi_temp_path $nginx_prefix/uwsgi;
  scgi_temp_path $nginx_prefix/scgi;
  include $nginx_prefix/conf.d/*.conf;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "accepted\n"; }
  }
}
EOF
indented nginx -t -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" || fail "nginx -t accepts the snippet inside http {}"
check "nginx -t accepts the snippet inside http {}"

# nginx compares Content-Length with client_max_body_size before reading the body.
nginx -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf"
post_status() {  # body size in bytes -> HTTP status nginx answers
  head -c "$1" /dev/zero >"$tmp/body"
  curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$tmp/body" "http://127.0.0.1:$port/compress"
}
for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break; sleep 0.1; done
limit_nbytes=$((3 * 1024 * 1024 + 64 * 1024))  # the 3 MiB input plus multipart framing
status="$(post_status "$limit_nbytes")"
[ "$status" = 200 ] || fail "nginx passes a 3 MiB upload with its multipart framing (got $status)"
check "nginx passes a 3 MiB upload with its multipart framing ($limit_nbytes bytes -> $status)"
status="$(post_status $((9 * 1024 * 1024)))"
[ "$status" = 413 ] || fail "nginx still refuses a body far over the limit (got $status)"
check "nginx still refuses a body far over the limit (9 MiB -> $status)"
nginx -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" -s stop 2>/dev/null
nginx_prefix=""

# --- (c) the glibc ceiling check, and the Lambda package of the given binary ---------------------
echo "== (c) Lambda package"
# The check must fail where Amazon Linux 2023 would: Debian 12's libstdc++ needs a 2.36 symbol.
mkdir -p "$tmp/too-new/lib"
cp "$(g++ -print-file-name=libstdc++.so.6)" "$tmp/too-new/lib/"
if "$repo/deploy/lambda/check-glibc" "$tmp/too-new" >"$tmp/too-new.out"; then
  cat "$tmp/too-new.out"
  fail "check-glibc refuses a library that needs GLIBC_2.36"
fi
grep -q 'GLIBC_2.36.*arc4random' "$tmp/too-new.out" || { cat "$tmp/too-new.out"; fail "check-glibc names the symbol"; }
check "check-glibc refuses Debian 12's libstdc++.so.6 and names arc4random@GLIBC_2.36"

if [ -z "$binary" ]; then
  echo "skip Lambda package: no binary given"
else
  lambda_zip="$tmp/function.zip"
  indented "$repo/deploy/lambda/package" "$binary" "$lambda_zip" || fail "deploy/lambda/package accepts $binary"
  check "deploy/lambda/package built the zip and its ceiling check passed"

  python3 - "$lambda_zip" <<'EOF' || fail "the zip has an executable bootstrap at its root"
# Reads the Unix mode bits Lambda will apply from each entry's external attributes.
import stat, sys, zipfile
entries = {i.filename: i for i in zipfile.ZipFile(sys.argv[1]).infolist()}
ok = True
for name in ("bootstrap", "compresstest"):
    info = entries.get(name)
    mode = (info.external_attr >> 16) if info else 0
    good = info is not None and info.create_system == 3 and stat.S_ISREG(mode) and mode & 0o555 == 0o555
    print(f"{'ok  ' if good else 'FAIL'} {name} at the root, mode {oct(mode & 0o7777)}")
    ok = ok and good
sys.exit(0 if ok else 1)
EOF
  check "the zip has an executable bootstrap at its root"

  # Unpack with the modes kept, as Lambda does into /var/task, and check what is actually shipped.
  task_root="$tmp/task"
  mkdir "$task_root"
  python3 - "$lambda_zip" "$task_root" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        os.chmod(path, (info.external_attr >> 16) & 0o7777)
EOF
  indented "$repo/deploy/lambda/check-glibc" "$task_root" || fail "every ELF file in the zip needs at most GLIBC_2.34"
  check "every ELF file in the zip needs at most GLIBC_2.34"

  # One invocation through the unpacked bootstrap against a stand-in Runtime API on loopback.
  api_port="$(free_port)"
  python3 - "$api_port" "$tmp/invocation.json" <<'EOF' &
# Serves one API Gateway REST (payload 1.0) event for GET /healthz on .../invocation/next and
# writes whatever the runtime posts back (response or error) to the result file.
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, result_path = int(sys.argv[1]), sys.argv[2]
event = {
    "resource": "/{proxy+}", "path": "/healthz", "httpMethod": "GET",
    "headers": {"Accept": "*/*", "Host": "example.execute-api.us-east-1.amazonaws.com"},
    "multiValueHeaders": {"Accept": ["*/*"], "Host": ["example.execute-api.us-east-1.amazonaws.com"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"proxy": "healthz"}, "stageVariables": None,
    "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "GET", "path": "/prod/healthz",
                       "stage": "prod", "requestId": "deploy-test", "identity": {"sourceIp": "127.0.0.1"}},
    "body": None, "isBase64Encoded": False,
}
done = threading.Event()
served = threading.Lock()

class runtime_api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next") or not served.acquire(blocking=False):
            done.wait(30)  # a second /next waits, as Lambda's does between invocations
            self.close_connection = True
            return
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", "deploy-test")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:compresstest")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        payload = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with open(result_path, "w") as f:
            json.dump({"path": self.path, "payload": payload.decode(errors="replace")}, f)
        done.set()

server = ThreadingHTTPServer(("127.0.0.1", port), runtime_api)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
open(result_path + ".ready", "w").close()
sys.exit(0 if done.wait(20) else 1)
EOF
  api_pid=$!
  for _ in $(seq 1 100); do [ -f "$tmp/invocation.json.ready" ] && break; sleep 0.1; done
  env -i PATH=/usr/bin:/bin LAMBDA_TASK_ROOT="$task_root" _HANDLER=bootstrap \
    AWS_LAMBDA_RUNTIME_API="127.0.0.1:$api_port" AWS_LAMBDA_FUNCTION_NAME=compresstest \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=3538 "$task_root/bootstrap" >"$tmp/bootstrap.log" 2>&1 &
  bootstrap_pid=$!
  api_rc=0
  wait "$api_pid" || api_rc=$?
  kill "$bootstrap_pid" 2>/dev/null || true
  wait "$bootstrap_pid" 2>/dev/null || true
  bootstrap_pid=""
  if ((api_rc != 0)); then
    sed 's/^/     /' "$tmp/bootstrap.log"
    fail "bootstrap answers a GET /healthz invocation (no answer within 20 s)"
  fi
  python3 - "$tmp/invocation.json" <<'EOF' || { sed 's/^/     /' "$tmp/bootstrap.log"; fail "bootstrap answers a GET /healthz invocation with 200"; }
import base64, json, sys
result = json.load(open(sys.argv[1]))
print(f"     runtime posted to {result['path']}: {result['payload'][:200]}")
assert result["path"].endswith("/invocation/deploy-test/response"), "posted an error, not a response"
response = json.loads(result["payload"])
body = response.get("body", "")
if response.get("isBase64Encoded"):
    body = base64.b64decode(body).decode()
assert response.get("statusCode") == 200, f"status {response.get('statusCode')}"
assert json.loads(body) == {"status": "ok"}, f"body {body!r}"
EOF
  check "bootstrap runs compresstest's lambda face: GET /healthz event -> 200 {\"status\":\"ok\"}"
fi

echo "$passed passed, 0 failed"
