#!/usr/bin/env bash
# Start the study's private nginx (the server YAML's startworkload).
#
# Renders WORK/conf/nginx.conf from the knobs (param.sh), writes the static site once, stops
# any nginx still running from this work folder (also orphans of a killed run, whatever the
# pid file says), checks the config and starts nginx with its own prefix, config, pid file,
# error log and temp paths, listening on 127.0.0.1:$NGINX_STUDY_PORT only. No root needed;
# the system's nginx (/etc/nginx, /run/nginx.pid, /var/log/nginx) is never touched.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$SCRIPTS/knobs.sh"
source "$SCRIPTS/site.sh"

[ -n "$NGINX_BIN" ] || die "nginx not found: install it (apt-get install -y nginx)"
work_dir create
make_site

for k in $KNOBS; do
    v=$(knob_value "$k")
    knob_valid "$k" "$v" || die "$WORK/params.env: value '$v' is not allowed for $k"
    printf -v "K_$k" '%s' "$v"
done

case $K_access_log in
    off) access_log="access_log off;" ;;
    on) access_log="access_log $WORK/logs/access.log;" ;;
    buffered) access_log="access_log $WORK/logs/access.log combined buffer=64k flush=5s;" ;;
esac
affinity=""
[ "$K_worker_cpu_affinity" = auto ] && affinity="worker_cpu_affinity auto;"
listen="127.0.0.1:$PORT"
[ "$K_reuseport" = on ] && listen="$listen reuseport"
# In a namespace made for the study net.core.somaxconn is tuned, so ask for a large backlog
# and let the sysctl cap it. On the host keep nginx's default (511).
[ -n "$NETNS" ] && listen="$listen backlog=65535"
open_file_cache="open_file_cache off;"
[ "$K_open_file_cache" = on ] && open_file_cache="open_file_cache max=1000 inactive=20s; open_file_cache_valid 30s; open_file_cache_min_uses 1; open_file_cache_errors on;"
case $K_gzip in
    on|off) gzip="gzip $K_gzip; gzip_static off;" ;;
    static) gzip="gzip off; gzip_static on;" ;;   # the .gz files make_site wrote
esac
user=""
if [ "$(id -u)" = 0 ]; then
    # As root nginx would switch its workers to "nobody", who may not be able to read the
    # work folder; run them as the folder's owner instead.
    user="user $(stat -c %U "$WORK") $(stat -c %G "$WORK");"
fi

cat > "$WORK/conf/mime.types" <<MIME
types {
    text/html html htm;
    text/css css;
    application/javascript js;
    application/json json;
    image/png png;
    text/plain txt;
}
MIME

cat > "$WORK/conf/nginx.conf.tmp" <<CONF
# Rendered by studies/nginx/scripts/start.sh from params.env; edits are overwritten.
$user
worker_processes $K_worker_processes;
$affinity
pid $WORK/logs/nginx.pid;
error_log $WORK/logs/error.log warn;

events {
    worker_connections $K_worker_connections;
    multi_accept $K_multi_accept;
}

http {
    include $WORK/conf/mime.types;
    default_type application/octet-stream;
    types_hash_max_size 2048;
    server_tokens off;

    client_body_temp_path $WORK/tmp/client_body;
    proxy_temp_path $WORK/tmp/proxy;
    fastcgi_temp_path $WORK/tmp/fastcgi;
    uwsgi_temp_path $WORK/tmp/uwsgi;
    scgi_temp_path $WORK/tmp/scgi;

    $access_log
    sendfile $K_sendfile;
    tcp_nopush $K_tcp_nopush;
    tcp_nodelay $K_tcp_nodelay;
    keepalive_requests $K_keepalive_requests;
    keepalive_timeout $K_keepalive_timeout;
    $open_file_cache

    $gzip
    gzip_comp_level $K_gzip_comp_level;
    gzip_vary on;
    gzip_proxied any;
    gzip_buffers 16 8k;
    gzip_http_version 1.1;
    gzip_types text/plain text/css application/json application/javascript text/xml application/xml;

    server {
        listen $listen;
        server_name localhost;
        root $WORK/html;
        index index.html;
        location / {
            try_files \$uri \$uri/ =404;
        }
    }
}
CONF
mv -f "$WORK/conf/nginx.conf.tmp" "$WORK/conf/nginx.conf"

# A running nginx of this work folder is replaced (a restart, not a reload: the runner asks
# for one after changing a knob). Orphaned workers of a killed master are stopped too.
NGINX_STUDY_QUIET=1 bash "$SCRIPTS/stop.sh"
rm -f "$WORK/logs/nginx.pid"
: > "$WORK/logs/access.log"

nginx_args=(-p "$WORK/" -c "$WORK/conf/nginx.conf" -e "$WORK/logs/error.log")
if ! out=$(in_ns "$NGINX_BIN" "${nginx_args[@]}" -t -q 2>&1); then
    die "nginx -t rejected $WORK/conf/nginx.conf: $out"
fi
if ! out=$(in_ns timeout 20 "$NGINX_BIN" "${nginx_args[@]}" 2>&1); then
    die "nginx did not start (port $PORT busy? see $WORK/logs/error.log): $out"
fi

# nginx has bound its socket and written the pid file when the command returns; wait (at
# most 5 s) until the port answers, so the first benchmark does not race the workers.
for _ in $(seq 1 50); do
    if in_ns timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
        [ -n "${NGINX_STUDY_QUIET:-}" ] || note "nginx up on 127.0.0.1:$PORT${NETNS:+ in netns $NETNS} (pid $(cat "$WORK/logs/nginx.pid"), prefix $WORK)"
        exit 0
    fi
    sleep 0.1
done
die "nginx started but 127.0.0.1:$PORT does not answer; see $WORK/logs/error.log"
