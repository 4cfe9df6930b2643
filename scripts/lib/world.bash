# Shared by scripts/demo, scripts/bench-build and scripts/bench-pack (source it; bash only).
# Loopback registries and the test world's real builder, so nothing is pulled from a
# public registry. Callers set $root (the repository) and $work (a scratch directory)
# and call world_cleanup from their EXIT trap.

world_pids=()
world_images=()

world_need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$0 needs $tool" >&2; exit 1; }
    done
}

world_cleanup() {
    local pid image
    for pid in "${world_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for image in "${world_images[@]}"; do docker rmi -f "$image" >/dev/null 2>&1 || true; done
}

# A free loopback port (bounded tries).
world_free_port() {
    local _ port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 20000))
        if ! ss -Hltn "sport = :$port" | grep -q .; then echo "$port"; return; fi
    done
    echo "no free loopback port found" >&2
    exit 1
}

# world_registry NAME: starts a registry on 127.0.0.1:<port> storing under
# $work/NAME; sets $port and $pid.
world_registry() {
    local name=$1 _
    port=$(world_free_port)
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
    world_pids+=("$pid")
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "registry $name did not start; see $work/$name.log" >&2
    exit 1
}

# world_builder RUN_IMAGE BUILDER: makes a real builder (the pinned lifecycle built from its
# Go module, the project's buildpack, `pack builder create`; the same code as the tests,
# through `cargo run --example test-world`) whose run image is RUN_IMAGE, and tags it
# BUILDER. RUN_IMAGE is tagged in the daemon too.
world_builder() {
    local run_image=$1 builder=$2 made
    made=$(cd "$root" && cargo run --quiet --example test-world -- builder "$run_image") || exit 1
    docker tag "$made" "$builder"
    docker rmi "$made" >/dev/null
    world_images+=("$builder" "$run_image")
}

# world_push IMAGE TARGET: pushes IMAGE as TARGET (the daemon trusts 127.0.0.0/8
# for plain HTTP) and drops the TARGET tag again.
world_push() {
    local image=$1 target=$2
    world_images+=("$target")
    docker tag "$image" "$target"
    docker push -q "$target" >/dev/null
    if [ "$image" != "$target" ]; then docker rmi "$target" >/dev/null; fi
}
