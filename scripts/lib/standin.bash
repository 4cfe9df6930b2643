# Shared by scripts/demo and scripts/bench-build (source it; bash only).
# Loopback registries and a stand-in builder made from busybox, so nothing is
# pulled from a public registry. Callers set $work (a scratch directory) and call
# standin_cleanup from their EXIT trap.

standin_pids=()
standin_images=()

standin_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 1; }
    done
}

standin_cleanup() {
    local pid image
    for pid in "${standin_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for image in "${standin_images[@]}"; do docker rmi -f "$image" >/dev/null 2>&1 || true; done
}

# A free loopback port (bounded tries).
standin_free_port() {
    local _ port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        if ! ss -Hltn "sport = :$port" | grep -q .; then echo "$port"; return; fi
    done
    echo "no free loopback port found" >&2
    exit 1
}

# standin_registry NAME: starts a registry on 127.0.0.1:<port> storing under
# $work/NAME; sets $port and $pid.
standin_registry() {
    local name=$1 _
    port=$(standin_free_port)
    mkdir -p "$work/$name"
    cat >"$work/$name.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/$name}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$port}
YML
    docker-registry serve "$work/$name.yml" >"$work/$name.log" 2>&1 &
    pid=$!
    standin_pids+=("$pid")
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "registry $name did not start; see $work/$name.log" >&2
    exit 1
}

# standin_images BUILDER RUN_IMAGE [EXTRA_MB]: builds a stand-in builder whose
# /cnb/lifecycle/creator prints what it was given (arguments, CNB_* variables,
# /platform/env, the app files) and a busybox run image, tagged BUILDER and
# RUN_IMAGE in the daemon. EXTRA_MB adds a layer of that many random megabytes
# to the builder (for pull benchmarks).
standin_images() {
    local builder=$1 run_image=$2 extra_mb=${3:-0}
    local ctx=$work/standin-context metadata
    mkdir -p "$ctx"
    cp "$(command -v busybox)" "$ctx/busybox"
    cat >"$ctx/creator" <<'SH'
#!/bin/sh
echo "creator: $*"
echo "creator: running as uid $(id -u) gid $(id -g)"
env | grep '^CNB_' | sort | sed 's/^/creator: env /'
for f in /platform/env/*; do
    [ -f "$f" ] && echo "creator: platform env $(basename "$f")=$(cat "$f")"
done
ls -ln /workspace | sed 's/^/creator: app /'
echo "creator: (a real lifecycle would now build and export the app image)"
SH
    chmod +x "$ctx/creator"
    if [ "$extra_mb" -gt 0 ]; then
        head -c "$((extra_mb * 1024 * 1024))" /dev/urandom >"$ctx/ballast"
    else
        : >"$ctx/ballast"
    fi
    metadata='{"description":"cnb stand-in builder","stack":{"runImage":{"image":"'$run_image'","mirrors":[]}},"images":[{"image":"'$run_image'","mirrors":[]}],"lifecycle":{"version":"0.20.0","apis":{"buildpack":{"deprecated":[],"supported":["0.10"]},"platform":{"deprecated":["0.7"],"supported":["0.8","0.9","0.10","0.11","0.12","0.13","0.14"]}}}}'
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /workspace /platform/env /cache /launch-cache /layers /etc /tmp \
 && chmod 1777 /tmp \
 && echo "root:x:0:0:root:/root:/bin/sh" >/etc/passwd \
 && echo "cnb:x:1000:1001:cnb:/workspace:/bin/sh" >>/etc/passwd \
 && printf 'root:x:0:\ncnb:x:1001:\n' >/etc/group \
 && chown 1000:1001 /workspace /layers /cache /launch-cache
COPY ballast /ballast
COPY creator /cnb/lifecycle/creator
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1001 PATH=/bin
USER 1000:1001
LABEL io.buildpacks.builder.metadata='$metadata'
DOCKERFILE
    printf 'FROM scratch\nCOPY busybox /bin/busybox\n' >"$ctx/Dockerfile.run"
    standin_images+=("$builder" "$run_image")
    DOCKER_BUILDKIT=0 docker build -q -t "$builder" "$ctx" >/dev/null 2>"$work/docker-build.log" \
        || { cat "$work/docker-build.log" >&2; exit 1; }
    DOCKER_BUILDKIT=0 docker build -q -t "$run_image" -f "$ctx/Dockerfile.run" "$ctx" >/dev/null 2>"$work/docker-build.log" \
        || { cat "$work/docker-build.log" >&2; exit 1; }
}

# standin_push IMAGE TARGET: pushes IMAGE as TARGET (the daemon trusts 127.0.0.0/8
# for plain HTTP) and drops the TARGET tag again.
standin_push() {
    local image=$1 target=$2
    standin_images+=("$target")
    docker tag "$image" "$target"
    docker push -q "$target" >/dev/null
    if [ "$image" != "$target" ]; then docker rmi "$target" >/dev/null; fi
}
