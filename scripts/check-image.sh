#!/usr/bin/env bash
# Builds the container image from ./Dockerfile with podman, without a Docker engine, and runs
# it as its non-root user the way a runtime would, checking:
#   the image's metadata (non-root numeric USER, HEALTHCHECK, volumes, port, entrypoint),
#   `trawler --version`, a one-shot crawl of a loopback site written to /data,
#   the image's default command (serve --config /config/service.yaml, with a token and
#   data_dir /data) on a loopback port answering GET /healthz, refusing /v1/crawls without the
#   token, the image's own HEALTHCHECK command (passing while it serves, failing once
#   stopped), and exit 0 on SIGTERM.
# `podman run` does not work on these machines, so the image's filesystem is exported into a
# folder (podman create + podman export) and its programs run with chroot --userspec.
# The Debian 12 base image is made once with debootstrap and cached in TRAWLER_IMAGE_CACHE.
#
# Usage: scripts/check-image.sh    (as root: it uses apt-get, debootstrap and chroot)
# Env:   TRAWLER_IMAGE_CHECK=required  fail, instead of skipping, where podman cannot run
#        TRAWLER_IMAGE_TAG             image name (default: trawler)
#        TRAWLER_IMAGE_CACHE           cache folder (default: /var/cache/trawler-image)
#        TRAWLER_DEBIAN_MIRROR         mirror for debootstrap (default: http://deb.debian.org/debian)
# Exit:  0 when every check passed (or skipped, see above), 1 on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

image=${TRAWLER_IMAGE_TAG:-trawler}
cache=${TRAWLER_IMAGE_CACHE:-/var/cache/trawler-image}
mirror=${TRAWLER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_ref=docker.io/library/debian:bookworm # what `FROM debian:bookworm` resolves to

started=$SECONDS
step_started=$SECONDS
step() {
  echo "== check-image: $* (at $((SECONDS - started)) s)" >&2
  step_started=$SECONDS
}
step_done() { echo "   done in $((SECONDS - step_started)) s" >&2; }
fail() {
  echo "check-image: FAILED: $*" >&2
  exit 1
}
skip() {
  if [ "${TRAWLER_IMAGE_CHECK:-}" = required ]; then
    fail "$* (TRAWLER_IMAGE_CHECK=required)"
  fi
  echo "check-image: skipped: $*"
  exit 0
}

scratch=""
serve_pid=""
site_pid=""
container=""
cleanup() {
  [ -z "$serve_pid" ] || kill -KILL "$serve_pid" 2>/dev/null || true
  [ -z "$site_pid" ] || kill "$site_pid" 2>/dev/null || true
  [ -z "$container" ] || podman rm -f "$container" >/dev/null 2>&1 || true
  # The exported root holds no mounts (nothing was mounted into it), so removing it is safe.
  [ -z "$scratch" ] || rm -rf "$scratch"
}
trap cleanup EXIT

# ---- environment --------------------------------------------------------------------------
[ "$(uname -s)" = Linux ] || skip "needs Linux"
[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get, debootstrap, podman storage, chroot)"

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  command -v apt-get >/dev/null || skip "cannot install ${missing[*]}: no apt-get"
  if ! { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    skip "cannot install ${missing[*]} with apt-get"
  fi
  step_done
fi
podman_info=$(podman info --format '{{.Store.GraphDriverName}}' 2>&1) ||
  skip "podman does not work here: $podman_info"

# Every FROM must be the base this script provides (or an earlier stage).
stages=()
while read -r _ from_image _ stage_name; do
  case "$from_image" in
    debian:bookworm | "$base_ref") ;;
    *) [[ " ${stages[*]} " == *" $from_image "* ]] ||
      fail "Dockerfile uses FROM $from_image; this script only provides debian:bookworm" ;;
  esac
  [ -z "${stage_name:-}" ] || stages+=("$stage_name")
done < <(grep -iE '^FROM[[:space:]]' Dockerfile)

# ---- base image (cached) --------------------------------------------------------------------
if podman image exists "$base_ref"; then
  echo "== check-image: base $base_ref already in podman storage" >&2
else
  mkdir -p "$cache"
  if [ ! -s "$cache/bookworm.tar" ]; then
    step "debootstrap a Debian 12 minbase into $cache (once per machine)"
    rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
    chmod 755 "$rootfs" # it becomes the image's /, which every user must traverse
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
      {
        tail -20 "$cache/debootstrap.log" >&2
        rm -rf "$rootfs"
        fail "debootstrap (log: $cache/debootstrap.log)"
      }
    # The same apt sources as the official debian:bookworm image, and no package lists or
    # downloaded .debs (the official image ships none either).
    rm -f "$rootfs/etc/apt/sources.list"
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" --numeric-owner -cf "$cache/bookworm.tar.part" .
    mv "$cache/bookworm.tar.part" "$cache/bookworm.tar"
    rm -rf "$rootfs"
    step_done
  fi
  step "import $cache/bookworm.tar as $base_ref"
  podman import --quiet "$cache/bookworm.tar" "$base_ref" >/dev/null || fail "podman import"
  step_done
fi

# ---- build ----------------------------------------------------------------------------------
step "podman build -t $image . (Debian packages, then a Release build of trawler)"
previous_id=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
build_log=$(mktemp /tmp/trawler-image-build.XXXXXX.log)
# --format docker: the OCI format has no HEALTHCHECK, and podman would drop it.
if ! podman build --pull=never --isolation=chroot --cgroup-manager=cgroupfs --format docker \
  -t "$image" . >"$build_log" 2>&1; then
  tail -40 "$build_log" >&2
  fail "podman build (full log: $build_log)"
fi
grep -E '^runtime packages:' "$build_log" >&2 || true
image_id=$(podman image inspect --format '{{.Id}}' "$image")
if [ -n "$previous_id" ] && [ "$previous_id" != "$image_id" ]; then
  podman rmi "$previous_id" >/dev/null 2>&1 || true # best effort: keep storage from growing
fi
rm -f "$build_log"
step_done

# ---- image metadata --------------------------------------------------------------------------
step "image metadata"
inspect=$(podman image inspect "$image")
meta=$(
  python3 - "$inspect" <<'EOF'
import json, shlex, sys
img = json.loads(sys.argv[1])[0]
cfg = img.get("Config") or {}
problems = []
user = cfg.get("User") or ""
uid, _, gid = user.partition(":")
if not (uid.isdigit() and gid.isdigit()) or uid == "0":
    problems.append(f"USER must be a numeric non-root uid:gid, got {user!r}")
health = (cfg.get("Healthcheck") or img.get("Healthcheck") or {}).get("Test") or []
if len(health) < 2 or health[0] != "CMD":
    problems.append(f"HEALTHCHECK must be an exec-form CMD, got {health!r}")
for v in ("/config", "/data"):
    if v not in (cfg.get("Volumes") or {}):
        problems.append(f"VOLUME {v} missing")
if "8080/tcp" not in (cfg.get("ExposedPorts") or {}):
    problems.append("EXPOSE 8080 missing")
if (cfg.get("Entrypoint") or []) != ["trawler"]:
    problems.append(f"ENTRYPOINT must be [\"trawler\"], got {cfg.get('Entrypoint')!r}")
for p in problems:
    print("problem=" + shlex.quote(p))
print("user=" + shlex.quote(user))
print("image_workdir=" + shlex.quote(cfg.get("WorkingDir") or "/"))
print("entrypoint=(" + " ".join(shlex.quote(a) for a in cfg.get("Entrypoint") or []) + ")")
print("cmd=(" + " ".join(shlex.quote(a) for a in cfg.get("Cmd") or []) + ")")
print("health=(" + " ".join(shlex.quote(a) for a in health[1:]) + ")")
print("image_env=(" + " ".join(shlex.quote(e) for e in cfg.get("Env") or []) + ")")
print("size_mb=%d" % round(img.get("Size", 0) / 1e6))
EOF
)
problem="" user="" image_workdir="/" entrypoint=() cmd=() health=() image_env=() size_mb=0
eval "$meta"
[ -z "$problem" ] || fail "image metadata: $problem"
echo "   user $user, workdir $image_workdir, size ${size_mb} MB" >&2
step_done

# ---- export the filesystem ------------------------------------------------------------------
step "podman create + podman export into a folder"
# tmpfs when it allows exec: deleting the exported tree from a disk mounted with online
# discard took 20 s here, longer than everything the check runs in it.
scratch_parent=/var/tmp
if [ -w /dev/shm ] && ! findmnt -no OPTIONS --target /dev/shm 2>/dev/null | grep -qw noexec; then
  scratch_parent=/dev/shm
fi
scratch=$(mktemp -d "$scratch_parent/trawler-image-check.XXXXXX")
root=$scratch/root
mkdir "$root"
container=$(podman create --no-healthcheck "$image")
podman export "$container" | tar -x -C "$root" --numeric-owner
podman rm "$container" >/dev/null
container=""
step_done

# A command prefix that runs in the image's root as its user, in its WORKDIR, with its
# environment. chroot and env exec, so a background "${in_image[@]}" has trawler's own pid.
in_image=(chroot --userspec="$user" "$root" /usr/bin/env -i -C "$image_workdir" "${image_env[@]}")
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for_port() { # PORT SECONDS PID: until something accepts on 127.0.0.1:PORT
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$3" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

# ---- trawler --version ------------------------------------------------------------------------
step "trawler --version as $user"
version=$("${in_image[@]}" trawler --version) || fail "trawler --version exited $?"
[[ "$version" =~ ^trawler\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "trawler --version printed '$version'"
echo "   $version" >&2
step_done

# ---- a one-shot crawl ---------------------------------------------------------------------------
step "trawler crawl of a loopback site, output in $image_workdir"
site=$scratch/site
mkdir -p "$site/b"
printf '<html><head><title>Home</title></head><body><a href="/b/">b</a></body></html>' >"$site/index.html"
printf '<html><head><title>B</title></head><body><a href="/">home</a></body></html>' >"$site/b/index.html"
site_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$site" "$site_port" >/dev/null 2>&1 &
site_pid=$!
wait_for_port "$site_port" 10 "$site_pid" || fail "the test site did not start"
"${in_image[@]}" timeout 60 trawler crawl "http://127.0.0.1:$site_port/" -o check.jsonl \
  --allow-private --max-pages 10 -q || fail "trawler crawl exited $?"
kill "$site_pid" 2>/dev/null || true
wait "$site_pid" 2>/dev/null || true
site_pid=""
records=$root$image_workdir/check.jsonl
[ "$(stat -c %u "$records")" = "${user%%:*}" ] || fail "check.jsonl is not owned by ${user%%:*}"
python3 - "$records" "$site_port" <<'EOF' || fail "crawl records"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
base = f"http://127.0.0.1:{sys.argv[2]}"
got = sorted((r["url"], r["status"], r["title"]) for r in records)
want = [(base + "/", 200, "Home"), (base + "/b/", 200, "B")]
if got != want:
    sys.exit(f"records {got}, expected {want}")
EOF
echo "   2 records, as expected" >&2
step_done

# ---- trawler serve, /healthz, the token, HEALTHCHECK, SIGTERM -----------------------------------
# The image's own ENTRYPOINT and CMD (serve --config /config/service.yaml) with the README's
# config: listen beyond loopback with a token, data in /data. --listen moves it to a free
# loopback port for this check.
port=$(free_port)
token=check-$RANDOM$RANDOM
cat >"$root/config/service.yaml" <<EOF
api:
  listen: "0.0.0.0:8080"
  token: "$token"
  data_dir: /data
EOF
step "${entrypoint[*]} ${cmd[*]} --listen 127.0.0.1:$port as $user"
serve_log=$scratch/serve.log
"${in_image[@]}" "${entrypoint[@]}" "${cmd[@]}" --listen "127.0.0.1:$port" 2>"$serve_log" &
serve_pid=$! # chroot and env exec, so this is trawler itself
if ! wait_for_port "$port" 30 "$serve_pid"; then
  cat "$serve_log" >&2
  fail "trawler serve did not listen on 127.0.0.1:$port within 30 s"
fi
serve_uid=$(awk '/^Uid:/ { print $2 }' "/proc/$serve_pid/status")
[ "$serve_uid" = "${user%%:*}" ] || fail "trawler serve runs as uid $serve_uid"
expect() { # STATUS JSON_BODY_OR_EMPTY PATH [HEADER]: GET 127.0.0.1:$port/PATH and compare
  local response
  # shellcheck disable=SC2016 # $1..$3 are expanded by the inner bash
  response=$(timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf "GET %s HTTP/1.1\r\nHost: localhost\r\n%sConnection: close\r\n\r\n" "$2" "$3" >&3
    cat <&3' _ "$port" "$3" "${4:+$4$'\r\n'}") || true
  python3 - "$response" "$1" "$2" <<'EOF' || fail "GET $3${4:+ with $4}: $response"
import json, sys
response, status, want = sys.argv[1:]
head, _, body = response.partition("\r\n\r\n")
if not head.startswith(f"HTTP/1.1 {status} "):
    sys.exit(1)
if want and json.loads(body) != json.loads(want):
    sys.exit(1)
EOF
  echo "   GET $3${4:+ (token)}: $1 ${response#*$'\r\n\r\n'}" >&2
}
expect 200 '{"status":"ok"}' /healthz
expect 401 '' /v1/crawls
expect 200 '' /v1/crawls "Authorization: Bearer $token"
# The HEALTHCHECK command, run in the image with the port this check serves on.
"${in_image[@]}" TRAWLER_HEALTH_PORT="$port" timeout 10 "${health[@]}" ||
  fail "the image's HEALTHCHECK failed while trawler serve was up"
echo "   HEALTHCHECK passed while serving" >&2
kill -TERM "$serve_pid"
deadline=$((SECONDS + 15))
while kill -0 "$serve_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
kill -0 "$serve_pid" 2>/dev/null && fail "trawler serve still running 15 s after SIGTERM"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
serve_pid=""
[ "$serve_rc" -eq 0 ] || {
  cat "$serve_log" >&2
  fail "trawler serve exited $serve_rc after SIGTERM"
}
echo "   exit 0 after SIGTERM" >&2
if "${in_image[@]}" TRAWLER_HEALTH_PORT="$port" timeout 10 "${health[@]}" 2>/dev/null; then
  fail "the image's HEALTHCHECK passed with nothing listening"
fi
echo "   HEALTHCHECK fails once stopped" >&2
step_done

echo "check-image: ok: $image ($size_mb MB) built and ran as $user: --version, crawl, serve (/healthz, token), HEALTHCHECK, SIGTERM (total $((SECONDS - started)) s)"
