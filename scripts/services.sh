# shellcheck shell=bash
# The servers the store tests need, on loopback, owned by this shell.
#
#   source scripts/services.sh
#   start_services      # Redis on 127.0.0.1:16379, PostgreSQL on 127.0.0.1:15432,
#                       # MariaDB on 127.0.0.1:13306, nx-27017 on 127.0.0.1:27117
#   cargo test --all-features -- --include-ignored
#   stop_services
#
# Needs the Debian packages redis-server, postgresql and mariadb-server
# (installed, not running as system services) and the PyPI package nx-27017
# (a MongoDB wire-protocol server backed by SQLite: MongoDB's own server is
# not packaged here). No server is a system service here: each is a process
# started from a private directory, killed and removed by stop_services.
# start_services first stops whatever an earlier start left, so running it
# twice in a row is fine. As root, PostgreSQL runs as the `postgres` user
# (it refuses root) and MariaDB as the `mysql` user; as anyone else, as that
# user. Each server gets a readiness wait with a time limit
# (SERVICES_READY_SECONDS, 60 by default) and a log line naming it, and its
# log, when it does not come up.
#
# Exports, for the tests and benches:
#   REDIS_URL            redis://127.0.0.1:16379/
#   REDIS_CLUSTER_URLS   redis://127.0.0.1:17001/,... (a 3-master Redis Cluster)
#   DATABASE_URL         postgres://postgres@127.0.0.1:15432/sealed_session
#   REDIS_SERVER_BIN     path of redis-server (fault tests start their own)
#   PG_BIN_DIR           directory of initdb/pg_ctl (fault tests start their own)
#   MYSQL_URL            mysql://sealed@127.0.0.1:13306/sealed_session (MariaDB)
#   MARIADBD_BIN         path of mariadbd (fault tests start their own)
#   MARIADB_INSTALL_DB_BIN  path of mariadb-install-db
#   MONGODB_URL          mongodb://127.0.0.1:27117/sealed_session (nx-27017)
#
# Ports and the directory can be overridden before sourcing:
#   SERVICES_REDIS_PORT, SERVICES_PG_PORT, SERVICES_CLUSTER_PORTS,
#   SERVICES_MYSQL_PORT, SERVICES_MONGO_PORT, SERVICES_DIR.

: "${SERVICES_REDIS_PORT:=16379}"
: "${SERVICES_CLUSTER_PORTS:=17001 17002 17003}"
: "${SERVICES_PG_PORT:=15432}"
: "${SERVICES_MYSQL_PORT:=13306}"
: "${SERVICES_MONGO_PORT:=27117}"
: "${SERVICES_READY_SECONDS:=60}"
: "${SERVICES_DIR:=${TMPDIR:-/tmp}/sealed-session-services}"

_services_log() { printf 'services: %s\n' "$*" >&2; }

# Retries `"$@"` (quietly) every 0.2 s until it succeeds or
# SERVICES_READY_SECONDS pass; on time-out logs that `$1` (a name) did not
# come up and prints the tail of the log file `$2`.
_services_wait() {
    local name=$1 log=$2 i tries
    shift 2
    tries=$((SERVICES_READY_SECONDS * 5))
    for i in $(seq 1 "$tries"); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    _services_log "$name did not accept connections within ${SERVICES_READY_SECONDS} s; its log ($log):"
    tail -n 30 "$log" >&2 2>/dev/null || true
    return 1
}

# MariaDB: a private data directory, loopback only, a passwordless user
# `sealed`@127.0.0.1 with every privilege (test data), no binary log.
_services_start_mariadb() {
    local mariadbd install_db client dir=$SERVICES_DIR/mysql user=()
    mariadbd=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
    install_db=$(command -v mariadb-install-db || true)
    client=$(command -v mariadb || true)
    if [ -z "$mariadbd" ] || [ -z "$install_db" ] || [ -z "$client" ]; then
        _services_log "mariadbd, mariadb-install-db or mariadb not found (apt-get install -y mariadb-server)"
        return 1
    fi
    mkdir -p "$dir/data" || return 1
    if [ "$(id -u)" -eq 0 ]; then
        chown -R mysql:mysql "$dir" || return 1
        user=(--user=mysql)
    fi
    "$install_db" --no-defaults "${user[@]}" --datadir="$dir/data" \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$dir/install.log" 2>&1 || {
        _services_log "mariadb-install-db failed:"
        tail -n 30 "$dir/install.log" >&2
        return 1
    }
    "$mariadbd" --no-defaults "${user[@]}" --datadir="$dir/data" \
        --bind-address=127.0.0.1 --port="$SERVICES_MYSQL_PORT" \
        --socket="$dir/mysqld.sock" --pid-file="$dir/mysqld.pid" \
        --log-error="$dir/error.log" --skip-log-bin \
        --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
        --max-connections=300 >/dev/null 2>&1 &
    _services_wait "mariadb" "$dir/error.log" \
        "$client" --no-defaults --socket="$dir/mysqld.sock" -uroot -e 'SELECT 1' || return 1
    "$client" --no-defaults --socket="$dir/mysqld.sock" -uroot -e \
        "CREATE DATABASE sealed_session; CREATE USER 'sealed'@'127.0.0.1'; GRANT ALL ON *.* TO 'sealed'@'127.0.0.1';" || {
        _services_log "mariadb: creating the database and user failed"
        return 1
    }
    export MYSQL_URL="mysql://sealed@127.0.0.1:$SERVICES_MYSQL_PORT/sealed_session"
    export MARIADBD_BIN="$mariadbd"
    export MARIADB_INSTALL_DB_BIN="$install_db"
}

# nx-27017: a MongoDB wire-protocol server over an in-memory SQLite database
# (a stand-in: MongoDB's own server is not installable here).
_services_start_mongo() {
    local nx dir=$SERVICES_DIR/mongo
    nx=$(command -v nx-27017 || true)
    if [ -z "$nx" ]; then
        _services_log "nx-27017 not found (python3 -m pip install nx-27017)"
        return 1
    fi
    mkdir -p "$dir" || return 1
    # nx-27017 refuses to start when its own --pid-file names a live
    # process, so the pid this script kills by is kept apart (server.pid).
    "$nx" --db memory --host 127.0.0.1 -p "$SERVICES_MONGO_PORT" \
        --log-file "$dir/nx.log" --pid-file "$dir/nx.pid" >"$dir/stdout.log" 2>&1 &
    echo $! >"$dir/server.pid"
    _services_wait "nx-27017" "$dir/nx.log" _services_port_busy "$SERVICES_MONGO_PORT" || return 1
    export MONGODB_URL="mongodb://127.0.0.1:$SERVICES_MONGO_PORT/sealed_session"
}

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
    for port in "$SERVICES_REDIS_PORT" "$SERVICES_PG_PORT" $SERVICES_CLUSTER_PORTS \
        "$SERVICES_MYSQL_PORT" "$SERVICES_MONGO_PORT"; do
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

    _services_start_mariadb || return 1
    _services_start_mongo || return 1
    _services_log "mariadb on $MYSQL_URL, nx-27017 (MongoDB wire protocol) on $MONGODB_URL"
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
    for pidfile in "$SERVICES_DIR"/mysql/mysqld.pid "$SERVICES_DIR"/mongo/server.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
    done
    rm -rf "$SERVICES_DIR"
    unset REDIS_URL REDIS_CLUSTER_URLS DATABASE_URL REDIS_SERVER_BIN PG_BIN_DIR
    unset MYSQL_URL MARIADBD_BIN MARIADB_INSTALL_DB_BIN MONGODB_URL
    return 0
}
