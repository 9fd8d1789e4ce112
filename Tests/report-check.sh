#!/usr/bin/env bash
# Renders a profile report in headless Chromium and checks what it drew: the page's DOM holds the
# timeline and parallelism SVGs with task bars, and the screenshot is not blank (enough non-white
# pixels, and pixels in the colours of the task categories).
#
#   Tests/report-check.sh                 # makes a sample report with the profile tests, checks it
#   Tests/report-check.sh DIR/report.html # checks a given report (e.g. from bench ... --profile DIR)
#
# Needs chromium and python3 (installed here with apt-get when missing). Leaves the screenshot
# and the DOM next to the report's sample copy, in $REPORT_CHECK_OUT (default: a temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."

install() {
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "report-check: installing $*" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then install chromium; browser=$(command -v chromium); fi
command -v python3 >/dev/null 2>&1 || install python3

out="${REPORT_CHECK_OUT:-$(mktemp -d)}"
mkdir -p "$out"
report="${1:-}"
if [ -z "$report" ]; then
    PROFILE_SAMPLE_DIR="$out/sample" swift test -c release --disable-testable-imports --filter writeProducesAllFiles >"$out/swift-test.log" 2>&1 \
        || { cat "$out/swift-test.log"; exit 1; }
    report="$out/sample/report.html"
fi
[ -f "$report" ] || { echo "report-check: no report at $report" >&2; exit 1; }
report="$(cd "$(dirname "$report")" && pwd)/$(basename "$report")"

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run
       --user-data-dir="$out/chromium-profile")
timeout 120 "$browser" "${flags[@]}" --window-size=1400,1400 --screenshot="$out/report.png" "file://$report" \
    >"$out/chromium.log" 2>&1 || { cat "$out/chromium.log"; exit 1; }
timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$report" >"$out/dom.html" 2>>"$out/chromium.log" \
    || { cat "$out/chromium.log"; exit 1; }

python3 - "$out/report.png" "$out/dom.html" <<'PY'
import re, struct, sys, zlib

def pixels(path):
    """Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of bytes."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), f"unsupported PNG: depth {depth}, colour type {color}"
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line); prev = line
    return width, height, bpp, rows

png, dom = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
width, height, bpp, rows = pixels(png)
total = width * height
ink = 0
colours = {"forward": (0x4e, 0x79, 0xa7), "backward": (0xf2, 0x8e, 0x2b), "update": (0x59, 0xa1, 0x4f), "other": (0x9c, 0x9c, 0x9c)}
found = dict.fromkeys(colours, 0)
for row in rows:
    for x in range(0, width * bpp, bpp):
        r, g, b = row[x], row[x + 1], row[x + 2]
        if min(r, g, b) < 235: ink += 1
        for name, (cr, cg, cb) in colours.items():
            if abs(r - cr) < 12 and abs(g - cg) < 12 and abs(b - cb) < 12: found[name] += 1
problems = []
if ink < total * 0.02: problems.append(f"screenshot nearly blank: {ink} of {total} pixels not white")
if max(found.values()) < 200: problems.append(f"no task bars visible (category-coloured pixels: {found})")
if not re.search(r'<svg[^>]*class="timeline"', dom): problems.append("DOM has no timeline <svg>")
if not re.search(r'<svg[^>]*class="parallelism"', dom): problems.append("DOM has no parallelism <svg>")
bars = len(re.findall(r"<rect[^>]*fill=", dom))
if bars == 0: problems.append("timeline has no task bars")
if re.search(r"<script|<link|\bsrc=", dom): problems.append("report loads external content")
print(f"report-check: {width}x{height} screenshot, {100 * ink / total:.1f}% inked, category pixels {found}, {bars} bars in the DOM")
if problems:
    print("report-check: FAILED: " + "; ".join(problems)); sys.exit(1)
print("report-check: ok")
PY
