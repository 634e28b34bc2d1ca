#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2153 # status, output, stderr, ROOTFS, ... are set by helpers.bash
# shellcheck disable=SC2030,SC2031 # bats runs each test in a subshell
# Registries: hutch pull, login and logout against Debian's docker-registry on
# 127.0.0.1, started here twice over HTTPS with a CA made here by openssl: once
# open, once behind htpasswd basic auth.  Images are built here (tar, gzip,
# sha256sum, printf) as OCI layouts and pushed with skopeo.

load helpers

REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}

# ---- building images ----

sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob DIR FILE: moves FILE into DIR/blobs/sha256 and prints "HEX SIZE".
blob() {
        local h s
        h=$(sha "$2")
        s=$(stat -c %s "$2")
        mv "$2" "$1/blobs/sha256/$h"
        echo "$h $s"
}

# image_manifest DIR ARCH LAYER.tar...: writes the layers (gzip, or zstd
# with LAYER_COMPRESSION=zstd), a config for ARCH and a manifest into
# DIR/blobs; prints "MANIFEST_HEX SIZE CONFIG_HEX".
image_manifest() {
        local dir=$1 arch=$2 diffs="" layers="" l d gz s cfg man comp=${LAYER_COMPRESSION:-gzip}
        shift 2
        mkdir -p "$dir/blobs/sha256"
        for l in "$@"; do
                d=$(sha "$l")
                if [ "$comp" = zstd ]; then
                        zstd -q -1 -c "$l" >"$dir/gz.tmp"
                else
                        gzip -n -1 -c "$l" >"$dir/gz.tmp"
                fi
                read -r gz s < <(blob "$dir" "$dir/gz.tmp")
                diffs="$diffs${diffs:+,}\"sha256:$d\""
                layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+$comp\",\"digest\":\"sha256:$gz\",\"size\":$s}"
        done
        printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
                "$arch" "$diffs" >"$dir/c.tmp"
        read -r cfg s < <(blob "$dir" "$dir/c.tmp")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
                "$cfg" "$s" "$layers" >"$dir/m.tmp"
        read -r man s < <(blob "$dir" "$dir/m.tmp")
        echo "$man $s $cfg"
}

# oci_index DIR TAG MEDIATYPE HEX SIZE: the layout's index.json naming one blob.
oci_index() {
        printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
        printf '{"schemaVersion":2,"manifests":[{"mediaType":"%s","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
                "$3" "$4" "$5" "$2" >"$1/index.json"
}

host_arch() {
        case "$(uname -m)" in
        x86_64) echo amd64 ;;
        aarch64) echo arm64 ;;
        *) uname -m ;;
        esac
}

other_arch() { if [ "$(host_arch)" = amd64 ]; then echo arm64; else echo amd64; fi; }

# ---- the registries ----

# start_registry NAME [HTPASSWD]: a registry over TLS; prints its port.
start_registry() {
        local htpasswd=${2:-} d="$BATS_FILE_TMPDIR/reg-$1" port
        mkdir -p "$d/data"
        for _ in 1 2 3 4 5 6 7 8; do
                port=$(shuf -i 20000-60000 -n 1)
                {
                        echo "version: 0.1"
                        echo "log:"
                        echo "  level: error"
                        echo "  accesslog:"
                        echo "    disabled: true"
                        echo "storage:"
                        echo "  filesystem:"
                        echo "    rootdirectory: $d/data"
                        echo "http:"
                        echo "  addr: 127.0.0.1:$port"
                        echo "  tls:"
                        echo "    certificate: $BATS_FILE_TMPDIR/certs/srv.crt"
                        echo "    key: $BATS_FILE_TMPDIR/certs/srv.key"
                        if [ -n "$htpasswd" ]; then
                                echo "auth:"
                                echo "  htpasswd:"
                                echo "    realm: hutch-test"
                                echo "    path: $htpasswd"
                        fi
                } >"$d/config.yml"
                "$REGISTRY_BIN" serve "$d/config.yml" >"$d/log" 2>&1 3>&- &
                echo $! >"$d/pid"
                for _ in $(seq 50); do
                        if curl -s -o /dev/null --cacert "$BATS_FILE_TMPDIR/certs/ca/ca.crt" \
                                "https://127.0.0.1:$port/v2/"; then
                                echo "$port"
                                return 0
                        fi
                        kill -0 "$(cat "$d/pid")" 2>/dev/null || break
                        sleep 0.1
                done
                kill "$(cat "$d/pid")" 2>/dev/null || true
        done
        echo "could not start $REGISTRY_BIN: $(cat "$d/log")" >&2
        return 1
}

stop_registry() {
        local f="$BATS_FILE_TMPDIR/reg-$1/pid"
        if [ -f "$f" ]; then
                kill "$(cat "$f")" 2>/dev/null || true
        fi
}

# ---- a misbehaving registry (python3): bearer tokens, redirects to another
# origin, 503s, dropped connections, corrupt blobs ----

write_fake_registry() {
        cat >"$BATS_FILE_TMPDIR/fake-registry.py" <<'PYEOF'
import base64, http.server, json, os, sys, threading
layout, port_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
mode = sys.argv[4]  # bearer | flaky | corrupt | stall
TOKEN = "tok-" + os.urandom(8).hex()
lock = threading.Lock()
attempts = {}

def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")

def blob(d):
    with open(os.path.join(layout, "blobs", "sha256", d.split(":", 1)[1]), "rb") as f:
        return f.read()

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def send(self, code, body=b"", ctype="application/json", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        host = self.headers.get("Host", "")
        log("GET %s host=%s auth=%s range=%s" % (self.path, host, auth.split(" ")[0] or "-",
                                                 self.headers.get("Range", "-")))
        p = self.path
        if p.startswith("/token"):
            want = "Basic " + base64.b64encode(b"alice:s3cret").decode()
            if auth != want:
                return self.send(401, b'{"errors":[{"message":"bad credentials"}]}')
            return self.send(200, json.dumps({"token": TOKEN}).encode())
        if p.startswith("/storage/"):
            if auth:
                log("LEAK " + auth)
                return self.send(403)
            return self.serve_blob(p[len("/storage/"):])
        if mode == "bearer" and auth != "Bearer " + TOKEN:
            realm = "http://127.0.0.1:%d/token" % self.server.server_port
            return self.send(401, b'{"errors":[{"message":"authentication required"}]}', headers=[
                ("WWW-Authenticate", 'Bearer realm="%s",service="fake",scope="repository:test/bb:pull"' % realm)])
        if p == "/v2/":
            return self.send(200, b"{}")
        if p.startswith("/v2/test/bb/manifests/"):
            idx = json.load(open(os.path.join(layout, "index.json")))
            d = idx["manifests"][0]["digest"]
            return self.send(200, blob(d), idx["manifests"][0]["mediaType"])
        if p.startswith("/v2/test/bb/blobs/"):
            d = p[len("/v2/test/bb/blobs/"):]
            if mode == "bearer":
                # blob storage elsewhere: another origin (localhost, not 127.0.0.1)
                loc = "http://localhost:%d/storage/%s" % (self.server.server_port, d)
                return self.send(307, b"", headers=[("Location", loc)])
            return self.serve_blob(d)
        self.send(404, b'{"errors":[{"message":"not found"}]}')
    def serve_blob(self, d):
        data = blob(d)
        with lock:
            n = attempts[d] = attempts.get(d, 0) + 1
        if mode == "stall" and len(data) > 1000 and n == 1:
            import time
            time.sleep(120)
            return
        if mode == "corrupt" and len(data) > 1000:
            data = data[:500] + bytes([data[500] ^ 1]) + data[501:]
        if mode == "flaky" and len(data) > 1000:
            if n == 1:
                return self.send(503, b'{"errors":[{"message":"try later"}]}')
            if n == 2:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])
            return
        self.send(200, data, "application/octet-stream")

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_port))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PYEOF
}

# start_fake MODE: starts the fake registry serving oci1; sets FAKE and FAKE_LOG.
start_fake() {
        local d="$BATS_TEST_TMPDIR/fake-$1"
        mkdir -p "$d"
        python3 "$BATS_FILE_TMPDIR/fake-registry.py" "$BATS_FILE_TMPDIR/oci1" "$d/port" "$d/log" "$1" \
                >"$d/out" 2>&1 3>&- &
        echo $! >"$d/pid"
        for _ in $(seq 50); do
                [ -s "$d/port" ] && break
                sleep 0.1
        done
        [ -s "$d/port" ] || die "the fake registry did not start: $(cat "$d/out")"
        FAKE=127.0.0.1:$(cat "$d/port")
        FAKE_LOG=$d/log
}

stop_fakes() {
        local f
        for f in "$BATS_TEST_TMPDIR"/fake-*/pid; do
                if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
        done
}

push() { skopeo copy --quiet --dest-cert-dir "$BATS_FILE_TMPDIR/certs/ca" "$@" >&2; }

setup_file() {
        basic_setup_file || return 1
        local t=$BATS_FILE_TMPDIR m1 s1 c1 m2 s2 c2 idx si
        command -v "$REGISTRY_BIN" >/dev/null && command -v skopeo >/dev/null &&
                command -v openssl >/dev/null && command -v htpasswd >/dev/null || return 0
        make_certs "$t/certs"
        write_fake_registry
        export CA_DIR="$t/certs/ca"
        htpasswd -Bbn alice s3cret >"$t/htpasswd"

        # two layers: busybox, and a file over it
        tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -cf "$t/l1.tar" .
        mkdir -p "$t/l2/etc" && echo hello-from-the-registry >"$t/l2/etc/greeting"
        tar --numeric-owner --owner=0 --group=0 -C "$t/l2" -cf "$t/l2.tar" .

        # oci1: one image; oci2: an index with this machine's and another platform
        read -r m1 s1 c1 < <(image_manifest "$t/oci1" "$(host_arch)" "$t/l1.tar" "$t/l2.tar")
        oci_index "$t/oci1" v1 application/vnd.oci.image.manifest.v1+json "$m1" "$s1"
        export IMAGE_ID=$c1 MANIFEST_DIGEST=sha256:$m1
        read -r m1 s1 c1 < <(image_manifest "$t/oci2" "$(host_arch)" "$t/l1.tar" "$t/l2.tar")
        read -r m2 s2 c2 < <(image_manifest "$t/oci2" "$(other_arch)" "$t/l1.tar")
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}]}' \
                "$m2" "$s2" "$(other_arch)" "$m1" "$s1" "$(host_arch)" >"$t/oci2/i.tmp"
        read -r idx si < <(blob "$t/oci2" "$t/oci2/i.tmp")
        oci_index "$t/oci2" multi application/vnd.oci.image.index.v1+json "$idx" "$si"
        export MULTI_HOST_ID=$c1 MULTI_OTHER_ID=$c2
        if command -v zstd >/dev/null; then
                read -r m1 s1 c1 < <(LAYER_COMPRESSION=zstd image_manifest "$t/oci3" "$(host_arch)" "$t/l1.tar" "$t/l2.tar")
                oci_index "$t/oci3" v1 application/vnd.oci.image.manifest.v1+json "$m1" "$s1"
                export ZSTD_ID=$c1
        fi

        OPEN_PORT=$(start_registry open) || return 1
        AUTH_PORT=$(start_registry auth "$t/htpasswd") || return 1
        export OPEN_PORT AUTH_PORT
        push "oci:$t/oci1:v1" "docker://127.0.0.1:$OPEN_PORT/test/bb:v1"
        push --all "oci:$t/oci2:multi" "docker://127.0.0.1:$OPEN_PORT/test/multi:latest"
        if [ -n "${ZSTD_ID:-}" ]; then
                push "oci:$t/oci3:v1" "docker://127.0.0.1:$OPEN_PORT/test/zstd:v1"
        fi
        push --dest-creds alice:s3cret "oci:$t/oci1:v1" "docker://127.0.0.1:$AUTH_PORT/private/bb:v1"
}

teardown_file() {
        stop_registry open
        stop_registry auth
}

setup() {
        basic_setup
        require_cmd "$REGISTRY_BIN" skopeo openssl htpasswd curl
        [ -n "${OPEN_PORT:-}" ] || die "the test registries did not start"
        # nothing from the machine's own configuration
        export CONTAINERS_REGISTRIES_CONF="$BATS_TEST_TMPDIR/registries.conf"
        : >"$CONTAINERS_REGISTRIES_CONF"
        export HOME="$BATS_TEST_TMPDIR/home"
        mkdir -p "$HOME"
        OPEN=127.0.0.1:$OPEN_PORT
        AUTH=127.0.0.1:$AUTH_PORT
}

teardown() {
        stop_fakes
        basic_teardown
        if [ -n "${SMALL:-}" ]; then rm -rf "$SMALL"; fi
}

@test "pull over TLS with --cert-dir, then run the image" {
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID" "pull prints the image ID"
        assert_match "$stderr" "Copying blob"
        run_hutch images --format json
        assert_match "$output" "$OPEN/test/bb"
        run_hutch run --rm "$OPEN/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
        run_hutch run --rm "$OPEN/test/bb:v1" /bin/busybox true

        # again: every layer is there already
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_match "$stderr" "skipped: already exists"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_equal "$output" "$IMAGE_ID" "-q prints only the ID"
        assert_equal "$stderr" ""
}

@test "pull finds the CA in certs.d; an untrusted CA is refused unless --tls-verify=false" {
        run_hutch 125 pull "$OPEN/test/bb:v1"
        assert_error_message "certificate"
        run_hutch images -q
        assert_equal "$output" "" "nothing stored"

        run_hutch pull --tls-verify=false "$OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch rmi "$OPEN/test/bb:v1"

        mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$OPEN"
        cp "$CA_DIR/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/$OPEN/ca.crt"
        run_hutch pull "$OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch 125 pull --tls-verify=maybe "$OPEN/test/bb:v1"
}

@test "pull by digest; run by name@digest" {
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/bb@$MANIFEST_DIGEST"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch run --rm "$OPEN/test/bb@$MANIFEST_DIGEST" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
        # a digest the registry does not have
        run_hutch 125 pull --cert-dir "$CA_DIR" \
                "$OPEN/test/bb@sha256:0000000000000000000000000000000000000000000000000000000000000000"
        assert_error_message "manifest unknown"
}

@test "pull refuses unknown images, repositories and registries" {
        run_hutch 125 pull --cert-dir "$CA_DIR" "$OPEN/test/bb:nope"
        assert_error_message "manifest unknown"
        run_hutch 125 pull --cert-dir "$CA_DIR" "$OPEN/no/such"
        assert_error_message "manifest unknown"
        run_hutch 125 pull --tls-verify=false "127.0.0.1:1/test/bb:v1"
        assert_error_message "127.0.0.1:1"
        run_hutch 125 pull "NotAValid/Name"
        run_hutch 125 pull
        run_hutch images -q
        assert_equal "$output" ""
}

@test "a multi-arch index: this machine's image by default, --platform and --arch choose" {
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/multi"
        assert_equal "${lines[-1]}" "$MULTI_HOST_ID"
        run_hutch pull --cert-dir "$CA_DIR" --platform "linux/$(other_arch)" "$OPEN/test/multi"
        assert_equal "${lines[-1]}" "$MULTI_OTHER_ID"
        run_hutch pull -q --cert-dir "$CA_DIR" --arch "$(host_arch)" "$OPEN/test/multi"
        assert_equal "$output" "$MULTI_HOST_ID"
        run_hutch 125 pull --cert-dir "$CA_DIR" --platform linux/s390x "$OPEN/test/multi"
        assert_error_message "no image for platform linux/s390x"
        run_hutch 125 pull --cert-dir "$CA_DIR" --platform nonsense "$OPEN/test/multi"
}

@test "basic auth: --creds, wrong password, login and logout" {
        run_hutch 125 pull --cert-dir "$CA_DIR" "$AUTH/private/bb:v1"
        assert_error_message "requires authentication|unauthorized"
        run_hutch 125 pull --cert-dir "$CA_DIR" --creds alice:wrong "$AUTH/private/bb:v1"
        assert_error_message "unauthorized|wrong"
        run_hutch pull --cert-dir "$CA_DIR" --creds alice:s3cret "$AUTH/private/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"

        run_hutch 125 login --cert-dir "$CA_DIR" -u alice -p wrong "$AUTH"
        assert_error_message "wrong user name or password"
        [ ! -e "$XDG_RUNTIME_DIR/containers/auth.json" ] || die "a failed login stored credentials"

        echo s3cret >"$BATS_TEST_TMPDIR/pw"
        RUN_HUTCH_STDIN="$BATS_TEST_TMPDIR/pw" run_hutch login --cert-dir "$CA_DIR" -u alice --password-stdin "$AUTH"
        assert_match "$output" "Login Succeeded"
        assert_equal "$(stat -c %a "$XDG_RUNTIME_DIR/containers/auth.json")" 600
        grep -q "$AUTH" "$XDG_RUNTIME_DIR/containers/auth.json"
        assert_match "$(tr -d ' \n' <"$XDG_RUNTIME_DIR/containers/auth.json")" \
                "\"$AUTH\":\\{\"auth\":\"$(printf alice:s3cret | base64)\"\\}" "stored as podman does"

        run_hutch rmi -f "$AUTH/private/bb:v1"
        run_hutch pull --cert-dir "$CA_DIR" "$AUTH/private/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"

        run_hutch logout "$AUTH"
        assert_match "$output" "Removed login credentials for $AUTH"
        run_hutch 125 logout "$AUTH"
        assert_error_message "not logged into"
        run_hutch 125 pull --cert-dir "$CA_DIR" "$AUTH/private/bb:v1"

        # --authfile, and Docker's config.json
        run_hutch login --cert-dir "$CA_DIR" -u alice -p s3cret --authfile "$BATS_TEST_TMPDIR/a.json" "$AUTH"
        run_hutch pull -q --cert-dir "$CA_DIR" --authfile "$BATS_TEST_TMPDIR/a.json" "$AUTH/private/bb:v1"
        mkdir -p "$HOME/.docker"
        printf '{"auths":{"%s":{"auth":"%s"}}}' "$AUTH" "$(printf alice:s3cret | base64)" >"$HOME/.docker/config.json"
        run_hutch pull -q --cert-dir "$CA_DIR" "$AUTH/private/bb:v1"
        assert_equal "$output" "$IMAGE_ID"
        run_hutch logout --all --authfile "$BATS_TEST_TMPDIR/a.json"
}

@test "registries.conf: search registries, aliases, prefix rewrites and blocked registries" {
        mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$OPEN"
        cp "$CA_DIR/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/$OPEN/ca.crt"
        cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
unqualified-search-registries = ["$OPEN"]
[aliases]
"greeter" = "$OPEN/test/bb"
[[registry]]
prefix = "registry.example.invalid/team"
location = "$OPEN/test"
[[registry]]
location = "blocked.example.invalid"
blocked = true
EOF
        run_hutch pull test/bb:v1
        assert_match "$stderr" "Trying to pull $OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch pull greeter:v1
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch pull registry.example.invalid/team/bb:v1
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch run --rm registry.example.invalid/team/bb:v1 cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
        run_hutch 125 pull blocked.example.invalid/x
        assert_error_message "blocked"

        # a mirror that does not answer, then the registry itself
        cat >"$CONTAINERS_REGISTRIES_CONF" <<EOF
[[registry]]
prefix = "registry.example.invalid/team"
location = "$OPEN/test"
[[registry.mirror]]
location = "127.0.0.1:1/nothing"
EOF
        run_hutch pull registry.example.invalid/team/bb:v1
        assert_equal "${lines[-1]}" "$IMAGE_ID"

        echo "unqualified-search-registries = []" >"$CONTAINERS_REGISTRIES_CONF"
        run_hutch 125 pull bb
        assert_error_message "did not resolve"
        echo "unqualified-search-registries = [1" >"$CONTAINERS_REGISTRIES_CONF"
        run_hutch 125 pull bb
        assert_error_message "registries.conf"
}

@test "bearer tokens: anonymous refused, --creds and login work, credentials never follow a redirect" {
        require_cmd python3
        start_fake bearer
        run_hutch 125 pull --tls-verify=false "$FAKE/test/bb:v1"
        assert_error_message "authentication failed|unauthorized"
        run_hutch 125 pull --tls-verify=false --creds alice:wrong "$FAKE/test/bb:v1"
        assert_error_message "wrong user name or password"
        run_hutch pull --tls-verify=false --creds alice:s3cret "$FAKE/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch run --rm "$FAKE/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
        grep -q "^GET /storage/.* host=localhost:" "$FAKE_LOG" || die "the blobs were not fetched through the redirect"
        grep -q "^GET /storage/.* auth=Bearer" "$FAKE_LOG" && die "a token went to another origin"
        grep -q "^LEAK" "$FAKE_LOG" && die "credentials leaked: $(grep LEAK "$FAKE_LOG")"
        grep -q "^GET /token.* auth=Basic" "$FAKE_LOG" || die "no credentialed token request"

        run_hutch 125 login --tls-verify=false -u alice -p nope "$FAKE"
        run_hutch login --tls-verify=false -u alice -p s3cret "$FAKE"
        run_hutch rmi "$FAKE/test/bb:v1"
        run_hutch pull -q --tls-verify=false "$FAKE/test/bb:v1"
        assert_equal "$output" "$IMAGE_ID"
}

@test "503s and dropped connections are retried, blobs resume with Range" {
        require_cmd python3
        start_fake flaky
        HUTCH_REGISTRY_RETRY_DELAY_MS=10 run_hutch pull --tls-verify=false "$FAKE/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        grep -q "range=bytes=[1-9]" "$FAKE_LOG" || die "no resumed transfer: $(cat "$FAKE_LOG")"
        run_hutch run --rm "$FAKE/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
}

@test "a corrupt blob is refused with nothing stored" {
        require_cmd python3
        start_fake corrupt
        run_hutch 125 pull --tls-verify=false "$FAKE/test/bb:v1"
        assert_error_message "digest|does not match"
        run_hutch images -q
        assert_equal "$output" ""
        # the corrupt (large) layer: neither its blob nor its tree; the small
        # intact one may stay for the next pull to reuse
        local big
        big=$(sha "$BATS_FILE_TMPDIR/l1.tar")
        [ ! -e "$HUTCH_ROOT/layers/$big" ] || die "the corrupt layer was stored"
        local n
        n=$(find "$HUTCH_ROOT/blobs" -type f -size +100k 2>/dev/null | wc -l)
        assert_equal "$n" 0 "no corrupt blob stored"
        n=$(find "$HUTCH_ROOT/tmp" -mindepth 1 2>/dev/null | wc -l)
        assert_equal "$n" 0 "nothing left in tmp/"
}

@test "push: round trips through the registry, blobs it has are skipped, auth and errors" {
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        run_hutch push --cert-dir "$CA_DIR" "$OPEN/test/bb:v1" "$OPEN/pushed/bb:v2"
        assert_match "$stderr" "Writing manifest"
        run_hutch push --cert-dir "$CA_DIR" "$OPEN/test/bb:v1" "docker://$OPEN/pushed/bb:v2"
        assert_match "$stderr" "skipped: already exists"
        assert_not_match "$stderr" "done"

        # an image hutch made itself, pushed and pulled into an empty store
        tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -cf "$BATS_TEST_TMPDIR/rootfs.tar" .
        run_hutch import -q --change "CMD=/bin/echo imported-and-pushed" "$BATS_TEST_TMPDIR/rootfs.tar" \
                "$OPEN/pushed/imported:1"
        local id=${lines[-1]}
        run_hutch push -q --cert-dir "$CA_DIR" "$OPEN/pushed/imported:1"
        assert_equal "$output" ""
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/pushed/imported:1"
        assert_equal "$output" "$id"
        run_hutch run --rm "$OPEN/pushed/imported:1"
        assert_equal "$output" "imported-and-pushed"
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/pushed/bb:v2"
        assert_equal "$output" "$IMAGE_ID"

        # a registry that wants credentials
        run_hutch 125 push --cert-dir "$CA_DIR" "$OPEN/pushed/bb:v2" "$AUTH/private/pushed:1"
        run_hutch push --cert-dir "$CA_DIR" --creds alice:s3cret "$OPEN/pushed/bb:v2" "$AUTH/private/pushed:1"
        run_hutch pull -q --cert-dir "$CA_DIR" --creds alice:s3cret "$AUTH/private/pushed:1"
        assert_equal "$output" "$IMAGE_ID"

        run_hutch 125 push "$OPEN/pushed/bb:v2" "ostree:$BATS_TEST_TMPDIR/out"
        assert_error_message "transport is not supported"
        run_hutch 125 push "$OPEN/pushed/bb:v2" app
        assert_error_message "names no registry"
        run_hutch 125 push no-such-image "$OPEN/x/y"
}

@test "zstd layers" {
        [ -n "${ZSTD_ID:-}" ] || skip "zstd is not installed"
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/zstd:v1"
        assert_equal "${lines[-1]}" "$ZSTD_ID"
        run_hutch run --rm "$OPEN/test/zstd:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
}

@test "a pull killed midway: the next one keeps the finished layers" {
        require_cmd python3
        start_fake stall
        start_hutch_bg "$BATS_TEST_TMPDIR/pull.out" pull --tls-verify=false "$FAKE/test/bb:v1"
        local i
        for ((i = 0; i < 200; i++)); do
                [ -n "$(ls -A "$HUTCH_ROOT/layers" 2>/dev/null)" ] && break
                sleep 0.1
        done
        [ -n "$(ls -A "$HUTCH_ROOT/layers" 2>/dev/null)" ] || die "no layer finished: $(cat "$BATS_TEST_TMPDIR/pull.out.err")"
        kill_tree "$HUTCH_PID"
        wait "$HUTCH_PID" 2>/dev/null || true
        run_hutch images -q
        assert_equal "$output" "" "no image record from the killed pull"
        run_hutch pull --tls-verify=false "$FAKE/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        assert_match "$stderr" "skipped: already exists"
        run_hutch run --rm "$FAKE/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
}

@test "a pull onto a full disk fails clearly, stores nothing half-made and gives the space back" {
        [ -n "${HUTCH_TEST_SMALLFS:-}" ] ||
                skip "no small filesystem to fill: as root, 'tests/setup-smallfs.sh up $(id -un)' mounts one; pass its path in HUTCH_TEST_SMALLFS"
        SMALL="$HUTCH_TEST_SMALLFS/pull$BATS_TEST_NUMBER"
        mkdir -m 0700 "$SMALL"
        export HUTCH_ROOT="$SMALL/store"
        run_hutch images -q
        # room for half the busybox layer, compressed
        local avail used
        avail=$(df -k --output=avail "$HUTCH_TEST_SMALLFS" | tail -n1)
        head -c "$(((avail - 400) * 1024))" /dev/zero >"$SMALL/fill"
        used=$(df -k --output=used "$HUTCH_TEST_SMALLFS" | tail -n1)
        run_hutch 125 pull --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_error_message "No space left on device"
        assert_match "$stderr" "$HUTCH_ROOT/tmp"
        run_hutch images -q
        assert_equal "$output" "" "no image record"
        assert_equal "$(find "$HUTCH_ROOT/tmp" -mindepth 1)" "" "nothing left in tmp/"
        local big
        big=$(sha "$BATS_FILE_TMPDIR/l1.tar")
        [ ! -e "$HUTCH_ROOT/layers/$big" ] || die "the layer that did not fit was stored"
        assert_equal "$(find "$HUTCH_ROOT/blobs" -type f -size +300k)" "" "no partial blob stored"
        assert "$(df -k --output=used "$HUTCH_TEST_SMALLFS" | tail -n1)" -le "$((used + 100))" "the space is given back"
        rm -f "$SMALL/fill"
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        run_hutch run --rm "$OPEN/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
}

@test "run pulls a missing image (--pull missing, the default); --pull never refuses; --pull always pulls again" {
        mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$OPEN"
        cp "$CA_DIR/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/$OPEN/ca.crt"
        run_hutch 125 run --rm --network none --pull never "$OPEN/test/bb:v1" true
        run_hutch images -q
        assert_equal "$output" "" "--pull never stores nothing"
        run_hutch run --rm --network none "$OPEN/test/bb:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry" "only the container's output on stdout"
        run_hutch images -q
        assert_equal "$output" "${IMAGE_ID:0:12}"
        run_hutch run --rm --network none --pull always "$OPEN/test/bb:v1" true
        run_hutch 125 run --rm --network none "$OPEN/test/no-such-image:v1" true
        assert_match "$stderr" "could not be pulled"
        run_hutch 125 run --rm --pull sometimes "$OPEN/test/bb:v1" true
}

@test "manifest inspect prints the registry's manifest; unknown images fail" {
        run_hutch manifest inspect --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_equal "$(jq -r .schemaVersion <<<"$output")" "2"
        assert_match "$(jq -r '.layers | length' <<<"$output")" "^[1-9]"
        run_hutch images -q
        assert_equal "$output" "" "inspecting stores nothing"
        run_hutch 125 manifest inspect --cert-dir "$CA_DIR" "$OPEN/test/no-such-image:v1"
        run_hutch 125 manifest inspect
}

@test "HTTP/2 over TLS; one pull reuses its connections" {
        run_hutch --log-level debug pull --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        assert_equal "${lines[-1]}" "$IMAGE_ID"
        local requests new
        requests=$(grep -cE "(new|reused) connection" <<<"$stderr" || true)
        new=$(grep -c "new connection" <<<"$stderr" || true)
        assert_match "$stderr" "GET [^ ]*/v2/test/bb/manifests/v1: HTTP/2 200" "the registry speaks HTTP/2 over TLS"
        [ "$requests" -ge 4 ] || die "only $requests requests logged" "$stderr"
        # the probe's connection serves the manifest and the config too; at most
        # one more for each other layer downloaded at the same time
        [ "$new" -le 3 ] || die "$new new connections for $requests requests" "$stderr"
}

@test "progress of pull and push: redrawn in place on a terminal, every layer's final state on the screen" {
        require_cmd script perl jq
        local cmd out final d digests
        run_hutch manifest inspect --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        digests=$(jq -r '.layers[].digest' <<<"$output")
        printf -v cmd '%q ' "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" pull --cert-dir "$CA_DIR" \
                "$OPEN/test/bb:v1"
        out=$(TERM=xterm script -qec "$cmd" /dev/null </dev/null)
        assert_match "$out" $'\e\\[[0-9]+A' "the cursor moves up to redraw"
        assert_match "$out" $'\e\\[K'
        final=$(perl -0777 -ne 'my @p = split /\e\[\d+A/; print $p[-1]' <<<"$out")
        for d in $digests; do
                assert_match "$final" "Copying blob ${d:0:19} +[0-9.]+[KM]?i?B / [0-9.]+[KM]?i?B .*done" \
                        "the final state of layer $d"
        done
        assert_match "$out" "$IMAGE_ID"

        printf -v cmd '%q ' "$HUTCH" --root "$HUTCH_ROOT" --runroot "$HUTCH_RUNROOT" push --cert-dir "$CA_DIR" \
                "$OPEN/test/bb:v1" "$OPEN/progress/bb:1"
        out=$(TERM=xterm script -qec "$cmd" /dev/null </dev/null)
        assert_match "$out" $'\e\\[[0-9]+A'
        final=$(perl -0777 -ne 'my @p = split /\e\[\d+A/; print $p[-1]' <<<"$out")
        for d in $digests; do
                assert_match "$final" "Copying blob ${d:0:19} .*done" "the final state of layer $d"
        done
        assert_match "$final" "Copying config sha256:${IMAGE_ID:0:12} .*done"
        assert_match "$out" "Writing manifest to image destination"

        # not a terminal: plain lines; -q: the ID only
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull --cert-dir "$CA_DIR" "$OPEN/progress/bb:1"
        assert_not_match "$stderr" $'\e'
        for d in $digests; do
                assert_match "$stderr" "Copying blob ${d:0:19} done"
        done
        run_hutch rmi -a
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/progress/bb:1"
        assert_equal "$output" "$IMAGE_ID"
        assert_equal "$stderr" ""
}

@test "push from a registry image to oci: and back to a registry" {
        require_cmd skopeo
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        run_hutch push "$OPEN/test/bb:v1" "oci:$BATS_TEST_TMPDIR/lay:bb"
        run skopeo inspect --raw "oci:$BATS_TEST_TMPDIR/lay:bb"
        assert_equal "$status" 0 "skopeo inspect: $output"
        run_hutch push --cert-dir "$CA_DIR" "$OPEN/test/bb:v1" "docker://$OPEN/from-layout/bb:1"
        export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
        run_hutch pull -q "oci:$BATS_TEST_TMPDIR/lay:bb"
        assert_equal "$output" "$IMAGE_ID"
        run_hutch push -q --cert-dir "$CA_DIR" "$IMAGE_ID" "$OPEN/from-layout/bb:2"
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/from-layout/bb:2"
        assert_equal "$output" "$IMAGE_ID"
}

# ---- reliability (checklist #34, #35) ----

# assert_only_leftovers: the last `system check` found nothing but files a
# killed command left (which the next command that finds the store idle
# removes); never a damaged or half-made image.
assert_only_leftovers() {
        local l
        [ "$status" -eq 0 ] || assert_match "$stderr" "problems? found in the store"
        for l in "${lines[@]}"; do
                case $l in
                "No problems found: "* | *" no image uses: 'hutch image prune' removes them.") ;;
                *": left by an interrupted command") ;;
                *) die "after a killed pull, system check found: $l" ;;
                esac
        done
}

# start_bg NAME ARGS...: starts hutch ARGS in a session of its own, output
# in $BATS_TEST_TMPDIR/NAME.out and .err; appends its PID to BG and NAME to
# BG_NAMES.
start_bg() {
        local name=$1
        shift
        hutch_cmd "$@"
        echo "\$ hutch $* &"
        setsid "${HUTCH_CMD[@]}" </dev/null >"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" 3>&- &
        BG+=("$!")
        BG_NAMES+=("$name")
}

# assert_no_session_left SID: no process of session SID is alive (one
# killed with it may take a moment to exit: 5 s at most; zombies are dead,
# whenever init reaps them).
assert_no_session_left() {
        local left i
        for ((i = 0; i < 100; i++)); do
                left=$(ps -eo sid=,pid=,stat=,comm= | awk -v s="$1" '$1 == s && $3 !~ /^Z/')
                [ -n "$left" ] || return 0
                sleep 0.05
        done
        die "processes of the killed command live on: $left"
}

@test "reliability #34: a pull SIGKILLed at 100 random points: the next command works, check is clean, nothing half-made, no mount left" {
        local i max image=$OPEN/test/bb:v1 mounts_before
        mounts_before=$(grep -c "$HUTCH_ROOT" /proc/self/mountinfo || true)
        max=$(duration_ms pull -q --cert-dir "$CA_DIR" "$image")
        run_hutch rmi -a
        for i in $(seq 1 100); do
                kill_at_random "$((max + 20))" pull -q --cert-dir "$CA_DIR" "$image"
                assert_no_session_left "$KILLED_SID"
                # what the kill left, right after it: leftovers at most
                run_hutch '?' system check --quick
                assert_only_leftovers
                # the next command works, and lists only whole images
                run_hutch images -q --no-trunc
                [ -z "$output" ] || assert_equal "$output" "$IMAGE_ID" "the killed pull's image is whole or absent"
                if [ $((i % 4)) -eq 0 ]; then
                        # a pull over what is there finishes it and tidies up
                        run_hutch pull -q --cert-dir "$CA_DIR" "$image"
                        assert_equal "$output" "$IMAGE_ID"
                        run_hutch system check
                        assert_match "$output" "^No problems found: 1 image, 2 layers, 4 blobs"
                        assert_equal "$(find "$HUTCH_ROOT/tmp" -mindepth 1)" "" "tmp/ is empty after the next pull"
                        assert_equal "$(find "$HUTCH_ROOT/layers" -maxdepth 1 -name '*.tmp-*')" "" "no incomplete layer"
                fi
                # half the time from an empty store, half over what is there
                if [ $((i % 2)) -eq 0 ]; then run_hutch rmi -a; fi
        done
        run_hutch pull -q --cert-dir "$CA_DIR" "$image"
        run_hutch run --rm "$image" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"
        run_hutch system check
        assert_match "$output" "^No problems found: 1 image, 2 layers, 4 blobs"
        assert_equal "$(grep -c "$HUTCH_ROOT" /proc/self/mountinfo || true)" "$mounts_before" "no mount of the store left"
}

@test "reliability #35: ten concurrent pulls plus rmi and run on one store stay consistent; a killed lock holder blocks nobody" {
        local i n=0 failed="" deadline
        BG=() BG_NAMES=()
        run_hutch pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        for i in 1 2 3; do run_hutch tag "$OPEN/test/bb:v1" "localhost/other:$i"; done
        # ten pulls (three names; the zstd image has other blobs of the same
        # layers), three rmi and three run, all at once
        for i in $(seq 1 10); do
                case $((i % 3)) in
                0) start_bg "p$i" pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1" ;;
                1) start_bg "p$i" pull -q --cert-dir "$CA_DIR" "$OPEN/test/zstd:v1" ;;
                2) start_bg "p$i" pull -q --cert-dir "$CA_DIR" "$OPEN/test/multi:latest" ;;
                esac
        done
        for i in 1 2 3; do
                start_bg "rmi$i" rmi "localhost/other:$i"
                start_bg "run$i" run --rm --network none "$OPEN/test/bb:v1" cat /etc/greeting
        done
        # no deadlock: everything ends within the time one command may take
        deadline=$((SECONDS + HUTCH_TEST_TIMEOUT))
        for i in "${!BG[@]}"; do
                while kill -0 "${BG[$i]}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
                if kill -0 "${BG[$i]}" 2>/dev/null; then
                        kill -KILL -- "-${BG[$i]}" 2>/dev/null || true
                        failed="$failed ${BG_NAMES[$i]}(hung)"
                fi
                if ! wait "${BG[$i]}"; then failed="$failed ${BG_NAMES[$i]}"; fi
                check_no_sanitizer_report "$(cat "$BATS_TEST_TMPDIR/${BG_NAMES[$i]}.err")"
                n=$((n + 1))
        done
        for i in "${BG_NAMES[@]}"; do
                [[ $failed != *" $i"* ]] || echo "$i: $(cat "$BATS_TEST_TMPDIR/$i.out" "$BATS_TEST_TMPDIR/$i.err")"
        done
        assert_equal "$failed" "" "every command succeeded"
        assert_equal "$n" 16
        for i in $(seq 1 3); do
                assert_equal "$(cat "$BATS_TEST_TMPDIR/run$i.out")" "hello-from-the-registry"
        done
        for i in $(seq 1 10); do
                assert_match "$(cat "$BATS_TEST_TMPDIR/p$i.out")" "^($IMAGE_ID|$ZSTD_ID|$MULTI_HOST_ID)$"
        done
        # consistent: the store checks clean and lists what was pulled
        run_hutch system check
        assert_match "$output" "^No problems found: [0-9]+ images?, 2 layers, "
        run_hutch images --format '{{.Repository}}:{{.Tag}}'
        assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "$OPEN/test/bb:v1 $OPEN/test/multi:latest $OPEN/test/zstd:v1 "
        run_hutch run --rm --network none "$OPEN/test/zstd:v1" cat /etc/greeting
        assert_equal "$output" "hello-from-the-registry"

        # a killed holder of the store lock (a foreground run keeps it shared
        # while its container runs): the next rmi collects the layers at once
        start_hutch_bg "$BATS_TEST_TMPDIR/holder.out" run --rm --network none "$OPEN/test/zstd:v1" sleep 100
        find_container_process "$HUTCH_PID" sleep >/dev/null
        run_hutch rmi "$OPEN/test/bb:v1" "$OPEN/test/multi:latest" "$OPEN/test/zstd:v1"
        assert_equal "$(find "$HUTCH_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 2 "layers kept while a container uses them"
        kill_tree "$HUTCH_PID"
        wait "$HUTCH_PID" 2>/dev/null || true
        run_hutch image prune
        assert_equal "$(find "$HUTCH_ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l)" 0 "layers collected once the holder died"
        # a pull waiting for the records lock, whose holder is killed with kill -9
        setsid flock "$HUTCH_ROOT/images/images.lock" -c "echo held >'$BATS_TEST_TMPDIR/held'; exec sleep 100" 3>&- &
        local holder=$!
        wait_for_file_content "$BATS_TEST_TMPDIR/held" held 10
        start_hutch_bg "$BATS_TEST_TMPDIR/waiter.out" pull -q --cert-dir "$CA_DIR" "$OPEN/test/bb:v1"
        sleep 1
        kill -0 "$HUTCH_PID" || die "the pull did not wait for the records lock: $(cat "$BATS_TEST_TMPDIR/waiter.out.err")"
        kill -KILL -- "-$holder"
        wait "$holder" 2>/dev/null || true
        wait_hutch_bg 30
        assert_equal "$status" 0 "the pull went on once the holder died: $(cat "$BATS_TEST_TMPDIR/waiter.out.err")"
        assert_equal "$(cat "$BATS_TEST_TMPDIR/waiter.out")" "$IMAGE_ID"
        run_hutch system check
        assert_match "$output" "^No problems found: 1 image"
}
