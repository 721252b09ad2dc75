#!/bin/sh
# Builds a one-layer busybox image from Debian's busybox-static and pushes it to a registry. Idempotent.
#
#   hack/busybox-image.sh [REGISTRY]          (default 127.0.0.1:5000; pushes REGISTRY/library/busybox:latest)
#
# The OCI layout is written by hand rather than with umoci so the build is byte-for-byte reproducible
# (sorted tar, fixed mtimes, gzip -n): the same machine always pushes the same digest. The layout is kept in
# ${BERTH_BUSYBOX_OCI:-/tmp/berth-busybox-oci}; the manifest digest is printed last. For a registry with
# auth set BERTH_REGISTRY_CREDS=user:password.
set -eu
registry=${1:-127.0.0.1:5000}
out=${BERTH_BUSYBOX_OCI:-/tmp/berth-busybox-oci}
[ -x /bin/busybox ] && command -v skopeo >/dev/null || "$(dirname "$0")/install-debian-deps.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/var" "$root/usr/bin" "$root/usr/sbin" "$root/sbin"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
# perl (Debian's essential perl-base) makes the ~400 applet symlinks in one process, not 800.
/bin/busybox --list-full | ROOT="$root" perl -ne '
  chomp; next if $_ eq "bin/busybox" || -l "$ENV{ROOT}/$_";
  symlink("/bin/busybox", "$ENV{ROOT}/$_") or die "symlink $_: $!\n";'
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$work/layer.tar" .
diffid=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar.gz")

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
mv "$work/layer.tar.gz" "$out/blobs/sha256/$layer"
printf '%s' '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:'"$diffid"'"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/busybox-image.sh (Debian busybox-static)"}]}' >"$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$out/blobs/sha256/$config"
printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$config"'","size":'"$config_size"'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$layer"'","size":'"$layer_size"'}]}' >"$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$out/blobs/sha256/$manifest"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
printf '%s' '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'"$manifest"'","size":'"$manifest_size"',"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' >"$out/index.json"

# --preserve-digests: skopeo must push the manifest as built, so the printed digest is the pushed one.
if [ -n "${BERTH_REGISTRY_CREDS:-}" ]; then
  skopeo copy -q --preserve-digests --dest-tls-verify=false --dest-creds "$BERTH_REGISTRY_CREDS" "oci:$out:latest" "docker://$registry/library/busybox:latest" >&2
else
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$out:latest" "docker://$registry/library/busybox:latest" >&2
fi
echo "sha256:$manifest"
