#!/bin/sh
# shellcheck disable=SC2016 # envsubst takes '${NAME}' literally: which variables to replace
# Renders lnd-ui's nginx config from the environment and LND's readonly
# macaroon, then runs nginx in the foreground (as PID 1).
#
#   UI_PORT            port the page listens on                 (8081)
#   LND_REST_URL       LND REST base URL                        (https://127.0.0.1:8080)
#   LND_MACAROON_FILE  LND's readonly macaroon, from the volume  (/lnd/readonly.macaroon)
#
# LND writes the macaroon only once its wallet exists, so it may be missing
# on a new node. Then the page is still served, /api/ answers 503 (failing
# closed, with a log line), and a background loop enables the proxy with a
# reload as soon as the file appears.
set -eu

log() { printf 'lnd-ui: %s\n' "$*" >&2; }

check_url() { # NAME VALUE: an http(s) URL, nothing nginx could read as syntax
    case "$2" in
        http://* | https://*) ;;
        *) log "$1 must start with http:// or https://, got '$2'"; exit 1 ;;
    esac
    case "$2" in
        *[!][A-Za-z0-9.:/_-]*) log "$1 may hold only letters, digits and . : / _ - [ ], got '$2'"; exit 1 ;;
    esac
}

: "${UI_PORT:=8081}"
: "${LND_REST_URL:=https://127.0.0.1:8080}"
: "${LND_MACAROON_FILE:=/lnd/readonly.macaroon}"

case "$UI_PORT" in
    '' | *[!0-9]*) log "UI_PORT must be a port number, got '$UI_PORT'"; exit 1 ;;
esac
check_url LND_REST_URL "$LND_REST_URL"

conf=/etc/nginx/archy
umask 077 # the rendered files may hold a credential: root only

macaroon_ready() { [ -r "$LND_MACAROON_FILE" ] && [ -s "$LND_MACAROON_FILE" ]; }

# LND takes the macaroon hex-encoded in a header. The value is handed to
# envsubst alone, never exported, so it stays out of nginx's environment.
render_api() {
    macaroon=$(od -An -v -tx1 "$LND_MACAROON_FILE" | tr -d ' \n')
    LND_REST_URL="$LND_REST_URL" LND_MACAROON_HEX="$macaroon" \
        envsubst '${LND_REST_URL} ${LND_MACAROON_HEX}' \
        <"$conf/api.conf.template" >"$conf/api.conf.new"
    mv "$conf/api.conf.new" "$conf/api.conf"
    unset macaroon
}

if macaroon_ready; then
    render_api
    log "LND proxy enabled: GET /api/* -> $LND_REST_URL with the readonly macaroon"
else
    cp "$conf/api-disabled.conf" "$conf/api.conf"
    log "no readonly macaroon at $LND_MACAROON_FILE: LND proxy disabled, /api/ answers 503 until it appears"
    (
        until macaroon_ready; do sleep 10; done
        render_api
        until nginx -s reload 2>/dev/null; do sleep 2; done
        log "readonly macaroon appeared: LND proxy enabled"
    ) &
fi

UI_PORT="$UI_PORT" envsubst '${UI_PORT}' \
    <"$conf/default.conf.template" >/etc/nginx/conf.d/default.conf

nginx -t -q
log "serving on port $UI_PORT"
exec nginx -g 'daemon off;'
