#!/usr/bin/env bash
# Builds the quickstart's demo image offline: an OCI image layout archive holding one
# uncompressed layer with the host's static busybox (Debian's busybox-static) and a web page,
# named NAME (default localhost/berth-demo/web:1), whose default command is
#   httpd -f -p 80 -h /www
# Usage: demo-image.sh OUTPUT.tar [NAME]. Needs only bash, tar, sha256sum and coreutils.
# The bytes are deterministic: the same busybox gives the same image id.
set -euo pipefail

out=${1:?usage: demo-image.sh OUTPUT.tar [NAME]}
name=${2:-localhost/berth-demo/web:1}
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "demo-image.sh: $busybox must be a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi
case "$(uname -m)" in
  x86_64) arch=amd64 variant="" ;;
  aarch64) arch=arm64 variant=v8 ;;
  armv7l) arch=arm variant=v7 ;;
  *) arch=$(uname -m) variant="" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in sh httpd cat ls echo sleep wget; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
cat >"$root/www/index.html" <<'HTML'
<!doctype html>
<title>Berth</title>
<h1>Hello from a Berth pod</h1>
<p>busybox httpd, started by berthd through runc.</p>
HTML

digest() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
blobs=$work/layout/blobs/sha256
mkdir -p "$blobs"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$root" -cf "$work/layer.tar" bin etc tmp www
layer=$(digest "$work/layer.tar")
layer_size=$(size "$work/layer.tar")
mv "$work/layer.tar" "$blobs/$layer"

variant_field=""
[ -n "$variant" ] && variant_field=",\"variant\":\"$variant\""
printf '%s' "{\"architecture\":\"$arch\",\"os\":\"linux\"$variant_field,\
\"created\":\"1970-01-01T00:00:00Z\",\
\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"httpd\",\"-f\",\"-p\",\"80\",\"-h\",\"/www\"],\
\"ExposedPorts\":{\"80/tcp\":{}},\"WorkingDir\":\"/\"},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer\"]},\
\"history\":[{\"created\":\"1970-01-01T00:00:00Z\",\"created_by\":\"deploy/demo-image.sh\"}]}" \
  >"$work/config.json"
config=$(digest "$work/config.json")
config_size=$(size "$work/config.json")
mv "$work/config.json" "$blobs/$config"

printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\
\"digest\":\"sha256:$config\",\"size\":$config_size},\
\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\
\"digest\":\"sha256:$layer\",\"size\":$layer_size}]}" >"$work/manifest.json"
manifest=$(digest "$work/manifest.json")
manifest_size=$(size "$work/manifest.json")
mv "$work/manifest.json" "$blobs/$manifest"

printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"sha256:$manifest\",\"size\":$manifest_size,\
\"platform\":{\"architecture\":\"$arch\",\"os\":\"linux\"$variant_field},\
\"annotations\":{\"org.opencontainers.image.ref.name\":\"$name\"}}]}" >"$work/layout/index.json"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/layout" \
  -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
echo "$out: $name (image id sha256:$config)"
