#!/bin/busybox sh
# PID 1 of the keepalived-rs test VM (built into the initramfs by crates/testlab/src/vm.rs).
#
# 1. mounts proc/sys/dev, loads the kernel modules listed in /etc/krs-modules (dependency order),
# 2. mounts the host root read-only (9p tag "hostroot") at /newroot with tmpfs on /tmp /run /var/tmp
#    /dev/shm, and the writable results share (9p tag "krsshare") at the same path as on the host,
# 3. prints the KRS-VM-READY marker, runs the job script written by the host inside the chroot,
#    stores its exit code in the share and powers off.
# Lines starting with "KRS-VM" are read by the host side; keep them stable.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /newroot /share
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

log() { echo "KRS-VM: [$(cut -d" " -f1 /proc/uptime 2>/dev/null)] $*"; }
halt() {
    sync
    poweroff -f
    reboot -f
}
fail() {
    echo "KRS-VM-FAIL: $*"
    halt
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
log "init started"

while read -r mod args; do
    [ -n "$mod" ] || continue
    # shellcheck disable=SC2086 # module parameters are split on purpose
    if ! insmod "/lib/modules/$mod" $args 2>/tmp/insmod.err; then
        log "insmod $mod failed: $(cat /tmp/insmod.err)"
    fi
done </etc/krs-modules
log "modules loaded"

P9OPTS=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$P9OPTS,ro,cache=loose" hostroot /newroot || fail "cannot mount the host root (9p tag hostroot)"
mount -t 9p -o "$P9OPTS" krsshare /share || fail "cannot mount the results share (9p tag krsshare)"
[ -r /share/krs-vm.conf ] || fail "no krs-vm.conf in the results share"
# Defines KRS_SHARE (host path of the share), KRS_JOB (job script, inside the share) and
# KRS_MODROOT (host path of the unpacked kernel package).
. /share/krs-vm.conf

R=/newroot
mount -t tmpfs -o mode=1777 tmpfs $R/tmp || fail "tmpfs on /tmp"
mount -t tmpfs -o mode=755 tmpfs $R/run || fail "tmpfs on /run"
[ -d $R/var/tmp ] && mount -t tmpfs -o mode=1777 tmpfs $R/var/tmp
mount -t proc proc $R/proc || fail "proc"
mount -t sysfs sysfs $R/sys || fail "sysfs"
mount -t devtmpfs devtmpfs $R/dev || fail "devtmpfs"
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
[ -d $R/sys/fs/cgroup ] && mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
[ -d $R/sys/kernel/debug ] && mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mkdir -p "$R$KRS_SHARE" || fail "no mount point $KRS_SHARE for the share"
mount --move /share "$R$KRS_SHARE" || fail "cannot move the share to $KRS_SHARE"

# On-demand module loading (rtnl-link-*, schedulers, netfilter...): the kernel runs this helper,
# which uses the host's kmod inside the new root on the unpacked Debian module tree (KRS_MODROOT,
# visible read-only over 9p), so every module of the package is available, not only those
# preloaded above.
if [ -n "${KRS_MODROOT:-}" ] && [ -d "$R$KRS_MODROOT/lib/modules" ]; then
    printf '#!/bin/busybox sh\nexec /bin/busybox chroot %s /sbin/modprobe -d %s "$@"\n' \
        "$R" "'$KRS_MODROOT'" >/bin/krs-modprobe
    chmod 755 /bin/krs-modprobe
    echo /bin/krs-modprobe >/proc/sys/kernel/modprobe
fi

ip link set lo up
hostname krs-vm
log "root ready"

echo "KRS-VM-READY"
chroot $R /usr/bin/env -i /bin/sh "$KRS_JOB" \
    >"$R$KRS_SHARE/krs-vm.stdout" 2>"$R$KRS_SHARE/krs-vm.stderr" </dev/null
rc=$?
echo "$rc" >"$R$KRS_SHARE/krs-vm.exit.tmp" && mv "$R$KRS_SHARE/krs-vm.exit.tmp" "$R$KRS_SHARE/krs-vm.exit"
echo "KRS-VM-EXIT $rc"
sync
umount "$R$KRS_SHARE" 2>/dev/null
halt
