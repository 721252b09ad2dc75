#!/bin/sh
# Installs the Debian packages berth runs and tests against, only those missing. Idempotent, no prompts.
set -eu
PACKAGES="crun runc conmon etcd-server etcd-client docker-registry skopeo umoci busybox-static containernetworking-plugins podman libcap2-bin iproute2 conntrack openssl apache2-utils zstd attr python3 git openssh-server kubetail curl chromium"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "berth: need root to install Debian packages:$missing" >&2
  exit 1
fi
echo "berth: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null; }
# Debian starts these as services on install; berth and its tests run their own on loopback. Only a service this
# run installed is stopped: an sshd the machine already had may be how its owner reaches it.
for pair in etcd-server:etcd docker-registry:docker-registry openssh-server:ssh; do
  case " $missing " in
  *" ${pair%%:*} "*) systemctl disable --now "${pair#*:}" >/dev/null 2>&1 || true ;;
  esac
done
