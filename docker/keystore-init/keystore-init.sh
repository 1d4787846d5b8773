#!/bin/sh
# Berth's keystore-init sidecar (ENTRYPOINT in docker/keystore-init/Dockerfile): an init container
# that writes WSO2's stores from Secrets Manager into the task's shared volume, then exits, before
# the product starts (the product waits for SUCCESS: chalicelib/wso2/presets.py, docs/spec.md).
#
#   BERTH_KEYSTORE_B64    base64 of the keystore    -> /keystores/wso2carbon.jks
#   BERTH_TRUSTSTORE_B64  base64 of the truststore  -> /keystores/client-truststore.jks
#
# At least one must be given. Exit 0 once every given store is written; exit 1, saying why on
# stderr, when none is given or one does not decode (ECS then names this container and its exit
# code in the stopped task, and the product never starts). POSIX sh: the image is Alpine's
# busybox, the tests run it with the host's sh.
set -eu

out="${BERTH_KEYSTORE_DIR:-/keystores}"
written=0

fail() {
  printf 'keystore-init: %s\n' "$*" >&2
  exit 1
}

# write_store NAME VALUE FILE: decode VALUE (the variable NAME's base64) into $out/FILE.
write_store() {
  name=$1
  file=$3
  # Secrets Manager may keep a base64 text wrapped on several lines: whitespace is not data.
  text=$(printf '%s' "$2" | tr -d ' \t\r\n')
  [ -n "$text" ] || return 0
  case $text in
    *[!A-Za-z0-9+/=]*)
      fail "$name is not base64: it holds characters outside A-Z a-z 0-9 + / = (store the" \
        "output of 'base64 -w0 $3' in the secret, not the binary store or a file path)" ;;
    *=*[!=]*)
      fail "$name is not base64: '=' padding appears before the end" ;;
  esac
  if [ $((${#text} % 4)) -ne 0 ]; then
    fail "$name is not base64: its length (${#text}) is not a multiple of 4; was it cut short?"
  fi
  [ -d "$out" ] || fail "$out does not exist: mount the berth-keystores volume there"
  partial="$out/.$file.partial"
  # A store is written whole or not at all: decoded aside, then renamed over the old one.
  if ! printf '%s' "$text" | base64 -d >"$partial" 2>/dev/null || [ ! -s "$partial" ]; then
    rm -f "$partial"
    fail "$name does not decode to a store (base64 -d failed or gave nothing)"
  fi
  # Readable by the product's user, whichever uid its image runs as (APIM 10001, MI 10802); the
  # stores stay password-protected, and the volume is this task's only.
  chmod 0644 "$partial"
  mv -f "$partial" "$out/$file"
  printf 'keystore-init: wrote %s from %s (%s bytes)\n' \
    "$out/$file" "$name" "$(wc -c <"$out/$file" | tr -d ' ')"
  written=$((written + 1))
}

write_store BERTH_KEYSTORE_B64 "${BERTH_KEYSTORE_B64:-}" wso2carbon.jks
write_store BERTH_TRUSTSTORE_B64 "${BERTH_TRUSTSTORE_B64:-}" client-truststore.jks

if [ "$written" -eq 0 ]; then
  fail "no store given: set BERTH_KEYSTORE_B64 and/or BERTH_TRUSTSTORE_B64 (the container's" \
    "secrets, base64 of wso2carbon.jks and client-truststore.jks)"
fi
