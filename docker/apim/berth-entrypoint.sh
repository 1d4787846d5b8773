#!/usr/bin/env bash
# Berth's entrypoint for WSO2 API Manager 4.7 (ENTRYPOINT in docker/apim/Dockerfile).
# Checks and completes what deployment.toml reads from the environment (docker/apim/
# config-contract.yaml), writes the operator's keystores, then hands over with exec to WSO2's own
# entrypoint, which copies the config overlay, starts APIM, and on SIGTERM runs `api-manager.sh
# stop` and waits (wso2/docker-apim v4.7.0.1, dockerfiles/ubuntu/apim/docker-entrypoint.sh,
# stop_handler), so no signal handling is needed here.
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
  berth_fail "WSO2_SERVER_HOME is not set: run this inside the wso2/wso2am image"
fi
entrypoint="${WORKING_DIRECTORY:-/home/wso2carbon}/docker-entrypoint.sh"

berth_require APIM_HOSTNAME APIM_ADMIN_PASSWORD APIM_DB_URL SHARED_DB_URL APIM_DB_USER DB_PASSWORD \
  WSO2_ENCRYPTION_KEY

# helm-apim refuses to render without the key; a key of another length is used as raw bytes, not
# as AES-256 (wso2/carbon-crypto-service, SymmetricKeyInternalCryptoProvider.java).
if [[ ! "$WSO2_ENCRYPTION_KEY" =~ ^[0-9A-Fa-f]{64}$ ]]; then
  berth_fail "WSO2_ENCRYPTION_KEY must be 64 hexadecimal characters (256 bits, e.g." \
    "openssl rand -hex 32), the same on every APIM node; got ${#WSO2_ENCRYPTION_KEY} characters"
fi

berth_check_jdbc_url APIM_DB_URL
berth_check_jdbc_url SHARED_DB_URL

security="$WSO2_SERVER_HOME/repository/resources/security"
berth_install_store BERTH_KEYSTORE_B64 "$security/wso2carbon.jks" KEYSTORE_PASSWORD
berth_install_store BERTH_TRUSTSTORE_B64 "$security/client-truststore.jks" TRUSTSTORE_PASSWORD

# The shipped stores' password (wso2/carbon-kernel v4.11.18, default.json).
berth_default KEYSTORE_PASSWORD wso2carbon
berth_default TRUSTSTORE_PASSWORD wso2carbon
berth_trust_peers BERTH_TRUSTED_CERTS_PEM "$security/client-truststore.jks" TRUSTSTORE_PASSWORD
# Written to disk; no reason to hand the key material on to the JVM's environment.
unset BERTH_KEYSTORE_B64 BERTH_TRUSTSTORE_B64 BERTH_TRUSTED_CERTS_PEM
berth_default NODE_IP "$(berth_task_ip)"
berth_default APIM_GATEWAY_HOSTNAME "$APIM_HOSTNAME"
berth_default APIM_WEBSOCKET_HOSTNAME "$APIM_GATEWAY_HOSTNAME"
berth_default APIM_WEBSUB_HOSTNAME "$APIM_GATEWAY_HOSTNAME"
berth_jdbc_defaults APIM_DB_URL DB_TYPE DB_DRIVER
lib="$WSO2_SERVER_HOME/repository/components"
berth_require_driver APIM_DB_URL "$lib/lib" "$lib/dropins"
berth_require_driver SHARED_DB_URL "$lib/lib" "$lib/dropins"

# The local database and the search index ([database.local], [indexing] in deployment.toml), in the
# volume mounted at ~/solr when there is one: an empty access point has neither folder yet.
mkdir -p "${WORKING_DIRECTORY:-/home/wso2carbon}/solr/database" \
  "${WORKING_DIRECTORY:-/home/wso2carbon}/solr/indexed-data"

# One node of WSO2's two-node pair (a Berth service with `ha: true`): the peer's broker and both
# traffic managers, appended to the overlay, which WSO2's entrypoint then copies over
# repository/conf/deployment.toml; a single node gets none of it (helm-apim all-in-one renders it
# only with highAvailability).
if [[ -n "${APIM_HA_PEER_HOST:-}" ]]; then
  berth_require APIM_HA_NODE_1_HOST APIM_HA_NODE_2_HOST
  overlay="${WORKING_DIRECTORY:-/home/wso2carbon}/wso2-config-volume/repository/conf/deployment.toml"
  if ! grep -q '^event_duplicate_url = ' "$overlay"; then
    printf '\n' >>"$overlay"
    cat "${WORKING_DIRECTORY:-/home/wso2carbon}/berth-ha.toml" >>"$overlay"
  fi
fi

exec "$entrypoint" "$@"
