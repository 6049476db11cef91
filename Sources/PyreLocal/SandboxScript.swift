/// The shell script that becomes PID 1 of a namespace-mode server (run by
/// `unshare --pid --fork --mount --uts --ipc --mount-proc /bin/sh -c SCRIPT pyre-init IMAGE ID COMMAND…`,
/// inside `ip netns exec`, so in fresh mount, PID, UTS, IPC and network namespaces).
///
/// It sets the hostname to the server id, bind-mounts the image read-only and enters it,
/// mounts a private tmpfs on /tmp (re-exposing the image if it lives under /tmp, through the
/// still-open working directory), remounts every other mount read-only except /proc, /sys
/// and /dev, then runs the command with the server's environment. The command runs as a
/// child, not with exec: PID 1 ignores SIGTERM without a handler, while the command (in the
/// same process group) gets the provider's SIGTERM and the shell then exits with its status.
/// Mount changes stay in the namespace (unshare makes propagation private).
enum SandboxScript {
    static let text = #"""
    trap 'exit 143' TERM INT
    set -e
    image=$1; id=$2; shift 2
    server_path=$PATH
    PATH=/usr/sbin:/usr/bin:/sbin:/bin
    echo "$id" > /proc/sys/kernel/hostname
    mount --bind "$image" "$image"
    mount -o remount,bind,ro "$image"
    cd "$image"
    mount -t tmpfs -o mode=1777,nosuid,nodev pyre-tmp /tmp
    case "$image" in
    /tmp|/tmp/*)
        mkdir -p "$image"
        mount --no-canonicalize --bind . "$image"
        mount -o remount,bind,ro "$image"
        cd "$image";;
    esac
    while read -r _ _ _ _ mountpoint _; do
        case "$mountpoint" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/tmp|/tmp/*) continue;; esac
        mount -o remount,bind,ro "$mountpoint" 2>/dev/null || echo "pyre-init: could not make $mountpoint read-only" >&2
    done < /proc/self/mountinfo
    PATH=$server_path
    set +e
    "$@"
    status=$?
    exit $status
    """#
}
