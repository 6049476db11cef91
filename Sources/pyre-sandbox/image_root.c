// A whole-server image as the server's root: the host's filesystem is not hidden piece by
// piece, it is left behind (pivot_root, then the old root detached).
#include "sandbox.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/// The places the server gets mounts of its own must be real directories and files of the
/// image: a symlink there would be followed on the host's side before pivot_root (the
/// mount would land elsewhere and the server would miss it). The bake makes them.
static void check_mount_points(const char *root) {
    static const char *const directories[] = {"proc", "sys", "dev", "tmp", "run", "var/tmp", "etc"};
    static const char *const files[] = {"etc/hosts", "etc/resolv.conf"};
    char path[4096];
    struct stat info;
    for (size_t index = 0; index < sizeof directories / sizeof *directories; index++) {
        snprintf(path, sizeof path, "%s/%s", root, directories[index]);
        if (lstat(path, &info) != 0 || !S_ISDIR(info.st_mode)) {
            fprintf(stderr, "pyre-sandbox: the image has no directory /%s; bake it again with this Pyre\n", directories[index]);
            _exit(125);
        }
    }
    for (size_t index = 0; index < sizeof files / sizeof *files; index++) {
        snprintf(path, sizeof path, "%s/%s", root, files[index]);
        if (lstat(path, &info) != 0 || !S_ISREG(info.st_mode)) {
            fprintf(stderr, "pyre-sandbox: /%s in the image is not a file; bake it again with this Pyre\n", files[index]);
            _exit(125);
        }
    }
}

void pivot_into(const char *root) {
    if (chdir(root) != 0) fail("cannot enter", root);
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the
    // new root alone (no directory for the old root needed in a read-only image).
    if (syscall(SYS_pivot_root, ".", ".") != 0) fail("cannot make the image the root:", root);
    if (umount2(".", MNT_DETACH) != 0) fail("cannot detach", "the host's root");
    if (chdir("/") != 0) fail("cannot enter", "/");
}

/// Binds /etc/netns/NETNS/NAME, when there is one, over the image's /etc/NAME.
static void bind_image_etc_file(const char *root, const char *netns, const char *name) {
    char source[4096], target[4096];
    snprintf(source, sizeof source, "/etc/netns/%s/%s", netns, name);
    snprintf(target, sizeof target, "%s/etc/%s", root, name);
    if (access(source, F_OK) == 0) bind_read_only(source, target);
}

void enter_image_root(const char *root, const char *workdir, const char *netns, unsigned long long tmpfs_size) {
    check_mount_points(root);
    // A mount point of its own (pivot_root needs one), read-only, no setuid, no devices.
    bind_read_only(root, root);
    mount_proc_and_sys(root);
    char dev[4096];
    snprintf(dev, sizeof dev, "%s/dev", root);
    make_private_dev(dev);
    mount_private_directories(root, tmpfs_size);
    bind_image_etc_file(root, netns, "hosts");
    bind_image_etc_file(root, netns, "resolv.conf");
    pivot_into(root);
    if (chdir(workdir) != 0) fail("cannot enter the working directory", workdir);
}
