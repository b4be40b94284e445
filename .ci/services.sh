#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on their standard loopback ports, installing them
# from Debian's packages and starting them when needed. Idempotent.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# openssl makes the test PKI (scripts/test-servers.sh); redis-cli creates the cluster.
have openssl || apt_install openssl
have redis-cli || apt_install redis-tools

# Redis
if ! (have redis-cli && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG); then
  have redis-server || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

# PostgreSQL
pg_ready() { have pg_isready && pg_isready -h 127.0.0.1 -p 5432 -q; }
if ! pg_ready; then
  if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 50); do pg_ready && break; sleep 0.2; done
fi
pg_ready && echo "postgresql accepting connections"
# The tests connect as postgres to database `test` with trust auth on loopback.
psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test"
