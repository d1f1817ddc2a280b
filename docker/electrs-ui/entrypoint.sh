#!/bin/sh
# shellcheck disable=SC2016 # envsubst takes '${NAME}' literally: which variables to replace
# Renders electrs-ui's nginx config from the environment, then runs nginx in
# the foreground (as PID 1).
#
#   UI_PORT                 port the page listens on                  (50002)
#   ELECTRS_MONITORING_URL  electrs' Prometheus endpoint, base URL    (http://127.0.0.1:4224)
#   ELECTRUM_PORT           port wallets connect to, shown on the page (50001)
#
# electrs needs no credential for its metrics, so there is no secret here;
# if electrs is down the page still loads and /api/metrics answers 502.
set -eu

log() { printf 'electrs-ui: %s\n' "$*" >&2; }

check_url() { # NAME VALUE: an http(s) URL, nothing nginx could read as syntax
    case "$2" in
        http://* | https://*) ;;
        *) log "$1 must start with http:// or https://, got '$2'"; exit 1 ;;
    esac
    case "$2" in
        *[!][A-Za-z0-9.:/_-]*) log "$1 may hold only letters, digits and . : / _ - [ ], got '$2'"; exit 1 ;;
    esac
}

: "${UI_PORT:=50002}"
: "${ELECTRS_MONITORING_URL:=http://127.0.0.1:4224}"
: "${ELECTRUM_PORT:=50001}"

for port in "$UI_PORT" "$ELECTRUM_PORT"; do
    case "$port" in
        '' | *[!0-9]*) log "UI_PORT and ELECTRUM_PORT must be port numbers, got '$port'"; exit 1 ;;
    esac
done
check_url ELECTRS_MONITORING_URL "$ELECTRS_MONITORING_URL"

conf=/etc/nginx/archy
ELECTRS_MONITORING_URL="$ELECTRS_MONITORING_URL" ELECTRUM_PORT="$ELECTRUM_PORT" \
    envsubst '${ELECTRS_MONITORING_URL} ${ELECTRUM_PORT}' \
    <"$conf/api.conf.template" >"$conf/api.conf"
UI_PORT="$UI_PORT" envsubst '${UI_PORT}' \
    <"$conf/default.conf.template" >/etc/nginx/conf.d/default.conf

nginx -t -q
log "serving on port $UI_PORT; metrics from $ELECTRS_MONITORING_URL"
exec nginx -g 'daemon off;'
