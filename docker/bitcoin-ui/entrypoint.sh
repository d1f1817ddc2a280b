#!/bin/sh
# shellcheck disable=SC2016 # envsubst takes '${NAME}' literally: which variables to replace
# Renders bitcoin-ui's nginx config from the environment and the RPC password
# secret, then runs nginx in the foreground (as PID 1).
#
#   UI_PORT                    port the page listens on            (8334)
#   BITCOIN_RPC_URL            bitcoind JSON-RPC base URL           (http://127.0.0.1:8332)
#   BITCOIN_RPC_USER           RPC user; bitcoind whitelists its methods (archy-ui)
#   BITCOIN_RPC_PASSWORD_FILE  file holding that user's password   (/run/secrets/bitcoin-ui-rpc-password)
#
# Without a readable, non-empty password file the page is still served and
# /api/ answers 503: the proxy fails closed and says so in the log.
set -eu

log() { printf 'bitcoin-ui: %s\n' "$*" >&2; }

check_url() { # NAME VALUE: an http(s) URL, nothing nginx could read as syntax
    case "$2" in
        http://* | https://*) ;;
        *) log "$1 must start with http:// or https://, got '$2'"; exit 1 ;;
    esac
    case "$2" in
        *[!][A-Za-z0-9.:/_-]*) log "$1 may hold only letters, digits and . : / _ - [ ], got '$2'"; exit 1 ;;
    esac
}

: "${UI_PORT:=8334}"
: "${BITCOIN_RPC_URL:=http://127.0.0.1:8332}"
: "${BITCOIN_RPC_USER:=archy-ui}"
: "${BITCOIN_RPC_PASSWORD_FILE:=/run/secrets/bitcoin-ui-rpc-password}"

case "$UI_PORT" in
    '' | *[!0-9]*) log "UI_PORT must be a port number, got '$UI_PORT'"; exit 1 ;;
esac
check_url BITCOIN_RPC_URL "$BITCOIN_RPC_URL"

conf=/etc/nginx/archy
umask 077 # the rendered files may hold a credential: root only

if [ -r "$BITCOIN_RPC_PASSWORD_FILE" ] && [ -s "$BITCOIN_RPC_PASSWORD_FILE" ]; then
    # $(...) drops trailing newlines; base64 output is safe inside the
    # quoted nginx string. The header is handed to envsubst alone, never
    # exported, so it does not end up in nginx's environment.
    authorization="Basic $(printf '%s:%s' "$BITCOIN_RPC_USER" "$(cat "$BITCOIN_RPC_PASSWORD_FILE")" | base64 | tr -d '\n')"
    BITCOIN_RPC_URL="$BITCOIN_RPC_URL" BITCOIN_RPC_AUTHORIZATION="$authorization" \
        envsubst '${BITCOIN_RPC_URL} ${BITCOIN_RPC_AUTHORIZATION}' \
        <"$conf/api.conf.template" >"$conf/api.conf"
    unset authorization
    log "RPC proxy enabled: POST /api/rpc -> $BITCOIN_RPC_URL as RPC user $BITCOIN_RPC_USER"
else
    cp "$conf/api-disabled.conf" "$conf/api.conf"
    log "no RPC password at $BITCOIN_RPC_PASSWORD_FILE: RPC proxy disabled, /api/ answers 503"
fi

UI_PORT="$UI_PORT" envsubst '${UI_PORT}' \
    <"$conf/default.conf.template" >/etc/nginx/conf.d/default.conf

nginx -t -q
log "serving on port $UI_PORT"
exec nginx -g 'daemon off;'
