#!/usr/bin/env bash
# Berth's entrypoint for WSO2 Micro Integrator 4.4 (ENTRYPOINT in docker/mi/Dockerfile).
# Checks and completes what deployment.toml reads from the environment (docker/mi/
# config-contract.yaml), writes the operator's keystores, then runs WSO2's entrypoint as a child
# and turns SIGTERM/SIGINT into a graceful stop.
#
# Why a child and not exec: WSO2's MI entrypoint sets no trap and runs `sh micro-integrator.sh`
# in the foreground (wso2/docker-ei v4.4.0.5, dockerfiles/ubuntu/micro-integrator/
# docker-entrypoint.sh), so as PID 1 it ignores the SIGTERM ECS sends and is SIGKILLed after
# stopTimeout (docker-ei #139). MI's own stop is `kill -term $(cat $CARBON_HOME/wso2carbon.pid)`
# (wso2/product-micro-integrator v4.4.0, distribution/src/scripts/micro-integrator.sh, "stop"),
# the pid file being written by the JVM itself early in start-up (components/
# org.wso2.micro.integrator.server/src/main/java/org/wso2/micro/integrator/server/Main.java,
# writePID). The JVM then runs its shutdown hooks; micro-integrator.sh restarts Java only on exit
# status 121, so it ends, and so does WSO2's entrypoint, whose status this script returns.
set -euo pipefail

# --- berth shared: begin ---------------------------------------------------------------------
# Identical in docker/apim/berth-entrypoint.sh and docker/mi/berth-entrypoint.sh (each image builds
# from its own folder, so the two cannot share a file; tests/unit/test_wso2_config.py keeps the two
# copies equal). Exit status 78 (EX_CONFIG) marks a configuration error found before WSO2 starts.

berth_fail() {
  printf 'berth-entrypoint: %s\n' "$*" >&2
  exit 78
}

# WSO2's config mapper stops at the first $env{} it cannot resolve; name every missing one at once.
berth_require() {
  local name missing=()
  for name in "$@"; do
    [[ -n "${!name:-}" ]] || missing+=("$name")
  done
  if ((${#missing[@]} > 0)); then
    berth_fail "required variables not set: ${missing[*]} (docs/wso2.md lists what each one means)"
  fi
}

# NAME VALUE: give NAME a value when the task definition did not (or set it empty).
berth_default() {
  if [[ -z "${!1:-}" ]]; then
    export "$1=$2"
  fi
}

# VAR TARGET PASSWORD_VAR: write the base64 keystore in VAR (ECS injects it from Secrets Manager)
# to TARGET before WSO2 starts. A replaced store needs its own password: the shipped stores'
# "wso2carbon" will not open it.
berth_install_store() {
  local var=$1 target=$2 password_var=$3 tmp magic
  [[ -n "${!var:-}" ]] || return 0
  if [[ -z "${!password_var:-}" ]]; then
    berth_fail "$var is set but $password_var is not:" "give the password of the store in $var"
  fi
  tmp="$target.berth-tmp"
  if ! printf '%s' "${!var}" | base64 -d >"$tmp" 2>/dev/null || [[ ! -s "$tmp" ]]; then
    rm -f "$tmp"
    berth_fail "$var is not valid base64:" \
      "store the keystore file as one base64 string (base64 -w0 FILE)"
  fi
  # JKS files start with FEEDFEED, JCEKS with CECECECE, PKCS12 with a DER sequence (0x30).
  magic=$(od -An -tx1 -N4 "$tmp" | tr -d ' \n')
  case "$magic" in
    feedfeed | cececece | 30*) ;;
    *)
      rm -f "$tmp"
      berth_fail "$var decodes to something that is not a JKS or PKCS12 keystore"
      ;;
  esac
  mv -f "$tmp" "$target"
  printf 'berth-entrypoint: installed %s from %s\n' "$target" "$var" >&2
}

# VAR TRUSTSTORE PASSWORD_VAR: import the PEM certificates in VAR (ECS injects it from Secrets
# Manager: the peers' certificates, MI's for APIM and APIM's for MI) into TRUSTSTORE, each as
# berth-peer-N, so TLS calls between the products verify with real keystores (MI calls APIM's
# service catalog; APIM's gateway calls the services MI registers). keytool ships with the JDK
# in WSO2's images (JAVA_HOME). Run again on every start: an alias already there is replaced.
berth_trust_peers() {
  local var=$1 store=$2 password_var=$3 dir count=0 cert keytool
  [[ -n "${!var:-}" ]] || return 0
  [[ -f "$store" ]] || berth_fail "$var is set but $store does not exist"
  # keystore-init's stores arrive through the config volume, which WSO2's entrypoint copies over
  # the product home after this script: an import here would be overwritten.
  if [[ -f "${WORKING_DIRECTORY:-/home/wso2carbon}/wso2-config-volume/repository/resources/security/${store##*/}" ]]; then
    berth_fail "$var cannot be imported: keystore-init's ${store##*/} replaces $store when WSO2" \
      "starts; put the peers' certificates into the truststore you give keystore-init"
  fi
  keytool="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"
  dir=$(mktemp -d)
  # One file per certificate: the lines from BEGIN to END CERTIFICATE.
  printf '%s\n' "${!var}" | awk -v dir="$dir" '
    /-----BEGIN CERTIFICATE-----/ { n++; out = sprintf("%s/%03d.pem", dir, n) }
    out { print > out }
    /-----END CERTIFICATE-----/ { close(out); out = "" }'
  for cert in "$dir"/*.pem; do
    [[ -f "$cert" ]] || continue
    count=$((count + 1))
    "$keytool" -delete -alias "berth-peer-$count" -keystore "$store" \
      -storepass "${!password_var}" >/dev/null 2>&1 || true
    if ! "$keytool" -importcert -noprompt -alias "berth-peer-$count" -file "$cert" \
      -keystore "$store" -storepass "${!password_var}" >/dev/null 2>&1; then
      rm -rf "$dir"
      berth_fail "$var: certificate $count is not one keytool imports into $store" \
        "(give PEM certificates, -----BEGIN CERTIFICATE----- ...; is $password_var the store's?)"
    fi
  done
  rm -rf "$dir"
  ((count > 0)) || berth_fail "$var holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
  printf 'berth-entrypoint: trusted %s peer certificate(s) from %s in %s\n' "$count" "$var" \
    "$store" >&2
}

# NAME: the URL goes verbatim into an XML datasource file (wso2/carbon-kernel v4.11.18,
# repository/resources/conf/templates/repository/conf/datasources/master-datasources.xml.j2), so a
# raw `&` breaks it; WSO2's own compose writes `&amp;`.
berth_check_jdbc_url() {
  local rest=${!1//&amp;/}
  if [[ "$rest" == *'&'* ]]; then
    berth_fail "$1 contains a raw '&': write it as '&amp;' (the URL is written into an XML file)"
  fi
}

# URL_VAR TYPE_VAR DRIVER_VAR: the database type (config mapper names, wso2/carbon-kernel
# v4.11.18 infer.json) and JDBC driver class for a MySQL or PostgreSQL URL, unless already set.
# TYPE_VAR may be "" where the config has no type.
berth_jdbc_defaults() {
  local type driver
  case "${!1}" in
    jdbc:mysql:*) type=mysql driver=com.mysql.cj.jdbc.Driver ;;
    jdbc:postgresql:*) type=postgre driver=org.postgresql.Driver ;;
    *) type="" driver="" ;;
  esac
  if [[ -n "$2" && -z "${!2:-}" ]]; then
    [[ -n "$type" ]] || berth_fail "cannot tell the database type from $1; set $2"
    export "$2=$type"
  fi
  if [[ -z "${!3:-}" ]]; then
    [[ -n "$driver" ]] || berth_fail "cannot tell the JDBC driver from $1; set $3"
    export "$3=$driver"
  fi
}

# URL_VAR DIR...: stop before WSO2 starts when no driver jar in the DIRs serves the database that
# URL_VAR names (status 72, EX_OSFILE: a file the server needs is missing). WSO2's images ship no
# driver (wso2/docker-apim docker-compose/apim-with-mi adds mysql-connector-j itself); without one
# the server fails much later, deep in its log (docker-apim #344). Jars are known by WSO2's and the
# vendors' file names; H2 ships with the product; an unknown database is left to the server.
berth_require_driver() {
  local var=$1 pattern dir jar
  shift
  case "${!var}" in
    jdbc:mysql:*) pattern='mysql-connector-*.jar' ;;
    jdbc:postgresql:*) pattern='postgresql-*.jar' ;;
    jdbc:mariadb:*) pattern='mariadb-java-client-*.jar' ;;
    jdbc:sqlserver:*) pattern='mssql-jdbc-*.jar' ;;
    jdbc:oracle:*) pattern='ojdbc*.jar' ;;
    *) return 0 ;;
  esac
  for dir in "$@"; do
    for jar in "$dir"/$pattern; do
      [[ -f "$jar" ]] && return 0
    done
  done
  printf 'berth-entrypoint: no JDBC driver for %s (%s): no %s in %s (the image lists its drivers in %s); %s\n' \
    "$var" "${!var%%://*}" "$pattern" "$*" /home/wso2carbon/berth-jdbc-drivers.txt \
    "build the image with that driver (docker/build.py JDBC_DRIVERS, or JDBC_DRIVER_URL with JDBC_DRIVER_SHA256)" >&2
  exit 72
}

# The task's own IPv4 address (awsvpc: the task's network interface), as helm-apim passes the pod
# IP; loopback and link-local addresses (the ECS metadata interface) are skipped.
# shellcheck disable=SC2329
berth_task_ip() {
  local address addresses=()
  read -ra addresses <<<"$(hostname -I 2>/dev/null || hostname -i 2>/dev/null || true)"
  for address in "${addresses[@]}"; do
    case "$address" in
      127.* | 169.254.* | *:*) continue ;;
      *)
        printf '%s' "$address"
        return 0
        ;;
    esac
  done
  printf '127.0.0.1'
}
# --- berth shared: end -----------------------------------------------------------------------

if [[ -z "${WSO2_SERVER_HOME:-}" ]]; then
  berth_fail "WSO2_SERVER_HOME is not set: run this inside the wso2/wso2mi image"
fi
home="${WORKING_DIRECTORY:-/home/wso2carbon}"
entrypoint="$home/docker-entrypoint.sh"

# The service catalog login: a scoped APIM user (APIM_SERVICE_CATALOG_USER and _PASSWORD, both),
# or else APIM's super admin with APIM_ADMIN_PASSWORD, which `berth validate` accepts only in
# development environments (docker/mi/config/conf/deployment.toml, [[service_catalog]]).
required=(MI_HOSTNAME APIM_HOST)
if [[ -n "${APIM_SERVICE_CATALOG_USER:-}${APIM_SERVICE_CATALOG_PASSWORD:-}" ]]; then
  required+=(APIM_SERVICE_CATALOG_USER APIM_SERVICE_CATALOG_PASSWORD)
else
  required+=(APIM_ADMIN_PASSWORD)
fi
berth_require "${required[@]}"
berth_default APIM_SERVICE_CATALOG_USER admin
berth_default APIM_SERVICE_CATALOG_PASSWORD "${APIM_ADMIN_PASSWORD:-}"
# The management API's user; without a password MI keeps its stock admin/admin (development only).
berth_default MI_MANAGEMENT_USER admin
berth_default MI_MANAGEMENT_PASSWORD admin

security="$WSO2_SERVER_HOME/repository/resources/security"
berth_install_store BERTH_KEYSTORE_B64 "$security/wso2carbon.jks" KEYSTORE_PASSWORD
berth_install_store BERTH_TRUSTSTORE_B64 "$security/client-truststore.jks" TRUSTSTORE_PASSWORD

# The shipped stores' password (wso2/product-micro-integrator v4.4.0,
# distribution/src/conf/deployment.toml).
berth_default KEYSTORE_PASSWORD wso2carbon
berth_default TRUSTSTORE_PASSWORD wso2carbon
berth_trust_peers BERTH_TRUSTED_CERTS_PEM "$security/client-truststore.jks" TRUSTSTORE_PASSWORD
# Written to disk; no reason to hand the key material on to the JVM's environment.
unset BERTH_KEYSTORE_B64 BERTH_TRUSTSTORE_B64 BERTH_TRUSTED_CERTS_PEM

# What this script appends to, and WSO2's entrypoint then copies over conf/deployment.toml; the
# task's name among coordinating tasks and in the dashboard.
overlay="$home/wso2-config-volume/conf/deployment.toml"
berth_default MI_NODE_ID "${HOSTNAME:-$(hostname)}"

# Several MI tasks coordinate through a database (scheduled tasks and polling inbound endpoints run
# on one of them); a single task needs none, so the datasource is added only when asked for.
if [[ -n "${MI_COORDINATION_DB_URL:-}" ]]; then
  berth_require MI_COORDINATION_DB_USER MI_COORDINATION_DB_PASSWORD
  berth_check_jdbc_url MI_COORDINATION_DB_URL
  berth_jdbc_defaults MI_COORDINATION_DB_URL "" MI_COORDINATION_DB_DRIVER
  berth_require_driver MI_COORDINATION_DB_URL "$WSO2_SERVER_HOME/lib" "$WSO2_SERVER_HOME/dropins"
  if ! grep -q '^id = "WSO2_COORDINATION_DB"' "$overlay"; then
    printf '\n' >>"$overlay"
    cat "$home/berth-coordination.toml" >>"$overlay"
  fi
fi

# The MI dashboard / ICP, only when asked for: this node registers under MI_NODE_ID in
# MI_DASHBOARD_GROUP_ID, and the dashboard calls its management API back at the task's address.
if [[ -n "${MI_DASHBOARD_URL:-}" ]]; then
  berth_require MI_DASHBOARD_GROUP_ID
  berth_default MI_MANAGEMENT_HOSTNAME "$(berth_task_ip)"
  if ! grep -q '^\[dashboard_config\]' "$overlay"; then
    printf '\n' >>"$overlay"
    cat "$home/berth-dashboard.toml" >>"$overlay"
  fi
fi

pid_file="$WSO2_SERVER_HOME/wso2carbon.pid"
# Only this container's JVM may write it; a leftover would aim the stop at another process.
rm -f "$pid_file"
child=""
stop_requested=0

# shellcheck disable=SC2329  # invoked by the trap below
stop_gracefully() {
  local pid attempt
  if [[ -z "$child" ]]; then # the signal beat the start: stop right after it
    stop_requested=1
    return 0
  fi
  # The JVM writes its pid within seconds of starting; wait for it briefly (within ECS's
  # stopTimeout) rather than kill the shell scripts around a JVM that would then be orphaned.
  for ((attempt = 0; attempt < 20; attempt++)); do
    if [[ -s "$pid_file" ]]; then
      pid=$(<"$pid_file")
      if kill -TERM "$pid" 2>/dev/null; then
        printf 'berth-entrypoint: stopping Micro Integrator (pid %s) gracefully\n' "$pid" >&2
        return 0
      fi
    fi
    kill -0 "$child" 2>/dev/null || return 0
    sleep 0.5
  done
  printf 'berth-entrypoint: no Micro Integrator pid after 10 s; stopping the entrypoint\n' >&2
  kill -TERM "$child" 2>/dev/null || true
}

trap stop_gracefully TERM INT
"$entrypoint" "$@" &
child=$!
if ((stop_requested)); then
  stop_gracefully
fi

# `wait` returns early whenever a trapped signal arrives; keep waiting until the child has gone,
# then collect its real exit status.
while kill -0 "$child" 2>/dev/null; do
  wait "$child" || true
done
status=0
wait "$child" || status=$?
exit "$status"
