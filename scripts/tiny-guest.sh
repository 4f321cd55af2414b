#!/bin/sh
# Builds the tiny guest the QEMU tests boot: Debian's kernel (linux-image-amd64)
# and a busybox initramfs whose init mounts the config drive, prints the
# server's uuid, its user_data and a marker to the serial console, then
# prints /proc/partitions whenever it changes (a hot-plugged disk shows up),
# or with user_data "count" a counter every second.
#   scripts/tiny-guest.sh OUTDIR   ->  OUTDIR/vmlinux, OUTDIR/initrd.img
# The kernel is unpacked from its bzImage to the ELF that QEMU boots
# through its PVH entry: under TCG, decompressing it in the guest would
# take longer than the rest of the boot.
set -eu
out=${1:?usage: tiny-guest.sh OUTDIR}
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "no kernel in /boot: apt-get install linux-image-amd64" >&2; exit 1; }
release=${kernel#/boot/vmlinuz-}
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || { echo "no busybox: apt-get install busybox-static" >&2; exit 1; }
mkdir -p "$out"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/mnt" "$root/tmp" "$root/lib/modules"
cp "$busybox" "$root/bin/busybox"
for applet in sh mount umount cat grep sed sleep insmod mkdir ls cmp cp poweroff reboot echo head ifconfig ping seq dd; do
    ln -s busybox "$root/bin/$applet"
done
# The virtio, config-drive and NIC drivers, in the order modules.dep gives.
moddir=/lib/modules/$release
order=""
want() {
    for dep in $(grep "/$1.ko:" "$moddir/modules.dep" | cut -d: -f2); do
        want "$(basename "$dep" .ko)"
    done
    case " $order " in *" $1 "*) ;; *) order="$order $1" ;; esac
}
for m in virtio_pci virtio_mmio virtio_blk virtio_net isofs; do want "$m"; done
for m in $order; do
    cp "$(find "$moddir/kernel" -name "$m.ko")" "$root/lib/modules/"
done
echo "$order" > "$root/lib/modules/order"
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod /lib/modules/$m.ko 2>/dev/null; done
sleep 0.2
for dev in /dev/vd? /dev/sr?; do
    [ -b "$dev" ] || continue
    if mount -t iso9660 -o ro "$dev" /mnt 2>/dev/null; then
        [ -f /mnt/openstack/latest/meta_data.json ] && break
        umount /mnt
    fi
done
meta=/mnt/openstack/latest/meta_data.json
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" $meta 2>/dev/null; }
echo "ecsd-guest: uuid $(field uuid)"
echo "ecsd-guest: hostname $(field hostname)"
echo "ecsd-guest: user_data $(cat /mnt/openstack/latest/user_data 2>/dev/null)"
# The first NIC's static address from network_data.json, as cloud-init would set it.
net=/mnt/openstack/latest/network_data.json
ip=$(sed -n 's/.*"ip_address":"\([^"]*\)".*/\1/p' $net 2>/dev/null)
mask=$(sed -n 's/.*"netmask":"\([^"]*\)".*/\1/p' $net 2>/dev/null)
if [ -n "$ip" ] && ifconfig eth0 "$ip" netmask "$mask" up 2>/dev/null; then
    echo "ecsd-guest: eth0 $ip"
fi
echo "ECSD-GUEST-READY"
# user_data "count": a counter every second, for ever (a live migration
# must not restart it); "dirty": the counter after each rewrite of 32 MiB
# of memory (a live migration that does not converge).
# "ping ADDRESS": reach another guest on the network.
case "$(cat /mnt/openstack/latest/user_data 2>/dev/null)" in
dirty)
    # Random bytes: QEMU sends pages of zeros for next to nothing.
    dd if=/dev/urandom of=/tmp/random bs=1M count=32 2>/dev/null
    n=0
    while true; do
        dd if=/tmp/random of=/tmp/dirty bs=1M conv=notrunc 2>/dev/null
        n=$((n + 1))
        echo "ecsd-guest: count $n"
    done
    ;;
count)
    n=0
    while true; do
        n=$((n + 1))
        echo "ecsd-guest: count $n"
        sleep 1
    done
    ;;
ping\ *)
    peer=$(sed -n 's/^ping //p' /mnt/openstack/latest/user_data)
    result=failed
    for attempt in $(seq 60); do
        if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then result=ok; break; fi
    done
    echo "ecsd-guest: ping $peer $result"
    ;;
esac
cp /proc/partitions /tmp/partitions
echo "ecsd-guest: partitions"; cat /tmp/partitions
while true; do
    sleep 1
    if ! cmp -s /proc/partitions /tmp/partitions; then
        cp /proc/partitions /tmp/partitions
        echo "ecsd-guest: partitions"; cat /tmp/partitions
    fi
done
INIT
chmod +x "$root/init"
offset=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -1 | cut -d: -f1)
if [ -n "$offset" ] && tail -c +$((offset + 1)) "$kernel" | xz -dc > "$out/vmlinux" 2>/dev/null; [ -s "$out/vmlinux" ] &&
    [ "$(head -c 4 "$out/vmlinux" | od -An -c | tr -d ' ')" = "177ELF" ]; then
    :
else
    echo "cannot unpack $kernel; booting the compressed kernel" >&2
    cp "$kernel" "$out/vmlinux"
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.img"
echo "$out/vmlinux $out/initrd.img (kernel $release)"
