# The static site the study serves (sourced by start.sh): make_site writes it once into
# WORK/html. Deterministic, so every run and every machine serves the same bytes:
#   index.html  ~8 KiB HTML page (most requests)         compresses ~3.5x
#   style.css   ~23 KiB stylesheet                        compresses ~8x
#   app.js      ~94 KiB script (the big compressible one) compresses ~6x
#   logo.png    16 KiB of incompressible bytes (gzip does not apply to image/png)
# plus index.html.gz, style.css.gz and app.js.gz (gzip -9) for gzip_static.

SITE_VERSION=4

make_site() {
    local html=$WORK/html f
    [ "$(cat "$html/.site-version" 2>/dev/null)" = "$SITE_VERSION" ] && return 0
    # One awk run writes the three text files: pseudo-random words from a fixed vocabulary
    # and a fixed seed, so the content (and how well it compresses) is the same every time.
    awk -v dir="$html" '
        function words(n,    i, line) {
            line = ""
            for (i = 1; i <= n; i++) {
                line = line w[int(rand() * nw) + 1] (int(rand() * 7) == 0 ? int(rand() * 1000) : "") " "
                if (i % 12 == 0 && i < n) line = line "\n"
            }
            return line
        }
        BEGIN {
            nw = split("nginx worker request socket buffer kernel cache page client server upstream " \
                       "latency throughput connection keepalive header response static content file " \
                       "module event epoll accept listen queue backlog memory thread process signal " \
                       "config reload timeout compress level window segment packet loopback route", w, " ")
            srand(42)
            f = dir "/index.html"
            print "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nginx study</title>" > f
            print "<link rel=\"stylesheet\" href=\"/style.css\"><script src=\"/app.js\" defer></script></head><body>" > f
            for (i = 1; i <= 18; i++)
                printf "<section id=\"s%d\"><h2>Section %d</h2><p>\n%s\n</p></section>\n", i, i, words(48) > f
            print "<img src=\"/logo.png\" alt=\"logo\"></body></html>" > f
            close(f)
            f = dir "/style.css"
            for (i = 1; i <= 260; i++) {
                printf ".c%d { margin: %dpx %dpx; color: #%06x; }\n", i, i % 7, i % 5, (i * 40503) % 16777216 > f
                printf ".c%d:hover { padding: %dem; font-weight: %d; }\n", i, i % 3, (i % 9) * 100 + 100 > f
            }
            close(f)
            f = dir "/app.js"
            print "\"use strict\";" > f
            for (i = 1; i <= 560; i++) {
                printf "function f%d(a, b) { /* %s*/\n", i, words(6) > f
                printf "  const v = [%d, %d, %d].map(x => x * a + b);\n", (i * 7) % 101, (i * 13) % 97, (i * 31) % 89 > f
                printf "  return v.reduce((s, x) => s + x, %d) %% %d; }\n", i, i + 17 > f
            }
            close(f)
        }'
    # Compressed bytes are incompressible and, unlike /dev/urandom, the same every time.
    seq 1 30000 | gzip -1 -n > "$html/logo.tmp"
    head -c 16384 "$html/logo.tmp" > "$html/logo.png"
    rm -f "$html/logo.tmp"
    # Precompressed copies for gzip_static (the gzip knob's "static" value).
    for f in index.html style.css app.js; do gzip -9 -n -c "$html/$f" > "$html/$f.gz"; done
    echo "$SITE_VERSION" > "$html/.site-version"
}
