# shellcheck shell=bash
# The servers the store tests need, on loopback, owned by this shell.
#
#   source scripts/services.sh
#   start_services      # Redis on 127.0.0.1:16379, PostgreSQL on 127.0.0.1:15432
#   cargo test --all-features -- --include-ignored
#   stop_services
#
# Needs the Debian packages redis-server and postgresql (installed, not
# running as system services). Neither server is a system service here: each
# is a process started from a private directory, killed and removed by
# stop_services. start_services first stops whatever an earlier start left,
# so running it twice in a row is fine. As root, PostgreSQL runs as the
# `postgres` user (it refuses root); as anyone else, as that user.
#
# Exports, for the tests and benches:
#   REDIS_URL            redis://127.0.0.1:16379/
#   REDIS_CLUSTER_URLS   redis://127.0.0.1:17001/,... (a 3-master Redis Cluster)
#   DATABASE_URL         postgres://postgres@127.0.0.1:15432/sealed_session
#   REDIS_SERVER_BIN     path of redis-server (fault tests start their own)
#   PG_BIN_DIR           directory of initdb/pg_ctl (fault tests start their own)
#
# Ports and the directory can be overridden before sourcing:
#   SERVICES_REDIS_PORT, SERVICES_PG_PORT, SERVICES_CLUSTER_PORTS, SERVICES_DIR.

: "${SERVICES_REDIS_PORT:=16379}"
: "${SERVICES_CLUSTER_PORTS:=17001 17002 17003}"
: "${SERVICES_PG_PORT:=15432}"
: "${SERVICES_DIR:=${TMPDIR:-/tmp}/sealed-session-services}"

_services_log() { printf 'services: %s\n' "$*" >&2; }

# Runs a command as the postgres user when we are root, else as ourselves.
_services_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_services_port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_services_pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/pg_ctl" ]; then
        _services_log "no PostgreSQL under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)"
        return 1
    fi
    printf '%s\n' "$dir"
}

start_services() {
    stop_services >/dev/null 2>&1 || true

    local redis_bin pg_bin port
    redis_bin=$(command -v redis-server || true)
    if [ -z "$redis_bin" ]; then
        _services_log "redis-server not found (apt-get install -y redis-server)"
        return 1
    fi
    pg_bin=$(_services_pg_bin) || return 1
    # shellcheck disable=SC2086 # the cluster ports are a list
    for port in "$SERVICES_REDIS_PORT" "$SERVICES_PG_PORT" $SERVICES_CLUSTER_PORTS; do
        if _services_port_busy "$port"; then
            _services_log "127.0.0.1:$port is already in use by another process"
            return 1
        fi
    done

    mkdir -p "$SERVICES_DIR/redis" "$SERVICES_DIR/pg" || return 1
    chmod 755 "$SERVICES_DIR" || return 1
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$SERVICES_DIR/pg" || return 1
    fi

    # Redis: no persistence, loopback only, daemonized with a pid file.
    "$redis_bin" --bind 127.0.0.1 --port "$SERVICES_REDIS_PORT" \
        --save '' --appendonly no --dir "$SERVICES_DIR/redis" \
        --daemonize yes --pidfile "$SERVICES_DIR/redis/redis.pid" \
        --logfile "$SERVICES_DIR/redis/redis.log" || {
        _services_log "redis-server failed to start"
        return 1
    }

    # A Redis Cluster of three masters, no replicas: enough to route by slot.
    local nodes=() urls=()
    for port in $SERVICES_CLUSTER_PORTS; do
        mkdir -p "$SERVICES_DIR/cluster/$port" || return 1
        "$redis_bin" --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
            --cluster-config-file "$SERVICES_DIR/cluster/$port/nodes.conf" \
            --save '' --appendonly no --dir "$SERVICES_DIR/cluster/$port" \
            --daemonize yes --pidfile "$SERVICES_DIR/cluster/$port/redis.pid" \
            --logfile "$SERVICES_DIR/cluster/$port/redis.log" || {
            _services_log "redis-server (cluster node $port) failed to start"
            return 1
        }
        nodes+=("127.0.0.1:$port")
        urls+=("redis://127.0.0.1:$port/")
    done

    # PostgreSQL: a private cluster, trust auth on loopback, no fsync (test data).
    _services_as_pg "$pg_bin/initdb" -D "$SERVICES_DIR/pg/data" -U postgres \
        --auth=trust -E UTF8 --no-sync >"$SERVICES_DIR/pg/initdb.log" 2>&1 || {
        _services_log "initdb failed:"
        cat "$SERVICES_DIR/pg/initdb.log" >&2
        return 1
    }
    _services_as_pg "$pg_bin/pg_ctl" -D "$SERVICES_DIR/pg/data" \
        -l "$SERVICES_DIR/pg/postgres.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $SERVICES_PG_PORT -k $SERVICES_DIR/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || {
        _services_log "postgres failed to start:"
        cat "$SERVICES_DIR/pg/postgres.log" >&2
        return 1
    }

    local i
    for i in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "$SERVICES_REDIS_PORT" ping 2>/dev/null | grep -q PONG &&
            "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$SERVICES_PG_PORT"; then
            break
        fi
        if [ "$i" -eq 100 ]; then
            _services_log "servers did not accept connections within 10 s"
            return 1
        fi
        sleep 0.1
    done
    "$pg_bin/createdb" -h 127.0.0.1 -p "$SERVICES_PG_PORT" -U postgres sealed_session || return 1

    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
        >"$SERVICES_DIR/cluster/create.log" 2>&1 || {
        _services_log "redis cluster create failed:"
        cat "$SERVICES_DIR/cluster/create.log" >&2
        return 1
    }
    for i in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "${nodes[0]##*:}" cluster info 2>/dev/null |
            grep -q 'cluster_state:ok'; then
            break
        fi
        if [ "$i" -eq 100 ]; then
            _services_log "redis cluster did not reach cluster_state:ok within 10 s"
            return 1
        fi
        sleep 0.1
    done

    export REDIS_URL="redis://127.0.0.1:$SERVICES_REDIS_PORT/"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$SERVICES_PG_PORT/sealed_session"
    REDIS_CLUSTER_URLS=$(IFS=,; printf '%s' "${urls[*]}")
    export REDIS_CLUSTER_URLS
    export REDIS_SERVER_BIN="$redis_bin"
    export PG_BIN_DIR="$pg_bin"
    _services_log "redis on $REDIS_URL, cluster on $REDIS_CLUSTER_URLS, postgres on $DATABASE_URL"
}

stop_services() {
    local pid pg_bin pidfile
    for pidfile in "$SERVICES_DIR"/redis/redis.pid "$SERVICES_DIR"/cluster/*/redis.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
    done
    if [ -f "$SERVICES_DIR/pg/data/postmaster.pid" ]; then
        if pg_bin=$(_services_pg_bin); then
            _services_as_pg "$pg_bin/pg_ctl" -D "$SERVICES_DIR/pg/data" -m fast -w -t 30 stop \
                >/dev/null 2>&1 || true
        fi
    fi
    rm -rf "$SERVICES_DIR"
    unset REDIS_URL REDIS_CLUSTER_URLS DATABASE_URL REDIS_SERVER_BIN PG_BIN_DIR
    return 0
}
