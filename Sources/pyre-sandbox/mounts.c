// The mounts that make a server's view of the filesystem: read-only binds, a private
// /dev, /proc and /sys, tmpfs on the writable places, and the host's paths hidden or made
// read-only (host-OS images).
#include "sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int starts_with_path(const char *path, const char *prefix) {
    size_t length = strlen(prefix);
    return strncmp(path, prefix, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

/// Where the server gets a private tmpfs instead of the host's directory: the writable
/// places programs expect, and where the host keeps its UNIX sockets (/run: D-Bus, systemd,
/// container runtimes, databases), which a read-only mount does not keep anyone from
/// connecting to.
static const char *const private_directories[] = {"/tmp", "/var/tmp", "/run"};
enum { private_count = sizeof private_directories / sizeof *private_directories };

int under_private_directory(const char *path) {
    for (size_t index = 0; index < private_count; index++) {
        if (starts_with_path(path, private_directories[index])) return 1;
    }
    return 0;
}

/// Undoes mountinfo's octal escapes (\040 for a space) in place.
static void unescape(char *text) {
    char *out = text;
    for (char *in = text; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] && in[3]) {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/// Per-mount flags named in mountinfo's options field (`rw,nosuid,nodev,relatime`), which a
/// bind remount must repeat. Read from mountinfo rather than statvfs: statvfs would trigger
/// automounts and can hang on a dead network mount.
static unsigned long mount_flags(const char *options) {
    unsigned long flags = 0;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", options);
    char *saved = NULL;
    for (char *option = strtok_r(copy, ",", &saved); option; option = strtok_r(NULL, ",", &saved)) {
        if (strcmp(option, "nosuid") == 0) flags |= MS_NOSUID;
        else if (strcmp(option, "nodev") == 0) flags |= MS_NODEV;
        else if (strcmp(option, "noexec") == 0) flags |= MS_NOEXEC;
        else if (strcmp(option, "noatime") == 0) flags |= MS_NOATIME;
        else if (strcmp(option, "nodiratime") == 0) flags |= MS_NODIRATIME;
        else if (strcmp(option, "relatime") == 0) flags |= MS_RELATIME;
    }
    return flags;
}

/// Remounts `target` read-only, keeping its other per-mount flags; returns 0 or -1 (errno).
static int remount_read_only(const char *target, unsigned long flags) {
    return mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL);
}

void make_host_read_only(void) {
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    if (!mountinfo) fail("cannot read", "/proc/self/mountinfo");
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, mountinfo) > 0) {
        // Fields: id parent major:minor root mountpoint options [optional...] - fstype source ...
        char *separator = strstr(line, " - ");
        if (!separator) continue;
        char *fstype = separator + 3;
        *separator = '\0';
        char *saved = NULL, *mountpoint = strtok_r(line, " ", &saved);
        for (int index = 0; mountpoint && index < 4; index++) mountpoint = strtok_r(NULL, " ", &saved);
        char *options = mountpoint ? strtok_r(NULL, " ", &saved) : NULL;
        if (!options || strncmp(fstype, "autofs ", 7) == 0) continue;
        unescape(mountpoint);
        if (starts_with_path(mountpoint, "/proc") || starts_with_path(mountpoint, "/sys") ||
            starts_with_path(mountpoint, "/dev") || under_private_directory(mountpoint)) continue;
        if (remount_read_only(mountpoint, mount_flags(options)) != 0) {
            fprintf(stderr, "pyre-sandbox: could not make %s read-only: %s\n", mountpoint, strerror(errno));
            if (strcmp(mountpoint, "/") == 0) exit(125);
        }
    }
    free(line);
    fclose(mountinfo);
}

/// Binds `source` onto `target` read-only; the image must never be writable, so any
/// failure stops the server.
void bind_read_only(const char *source, const char *target) {
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind", target);
    if (remount_read_only(target, MS_NOSUID | MS_NODEV) != 0) fail("cannot make read-only", target);
}

void make_directories(const char *path) {
    char partial[4096];
    snprintf(partial, sizeof partial, "%s", path);
    for (char *slash = partial + 1; *slash; slash++) {
        if (*slash != '/') continue;
        *slash = '\0';
        mkdir(partial, 0755);
        *slash = '/';
    }
    mkdir(partial, 0755);
}

/// Binds /etc/netns/NETNS/NAME read-only over /etc/NAME. When that is a link into a
/// private directory (/etc/resolv.conf into /run on systemd-resolved hosts), the file it
/// names is made first, so the link leads to ours.
void bind_etc_file(const char *netns, const char *name) {
    char source[4096], target[4096], link[4096], linked[8192];
    snprintf(source, sizeof source, "/etc/netns/%s/%s", netns, name);
    snprintf(target, sizeof target, "/etc/%s", name);
    if (access(source, F_OK) != 0) return;
    if (access(target, F_OK) != 0) {
        ssize_t length = readlink(target, link, sizeof link - 1);
        if (length <= 0) return;
        link[length] = '\0';
        snprintf(linked, sizeof linked, "%s%s", link[0] == '/' ? "" : "/etc/", link);
        char *slash = strrchr(linked, '/');
        *slash = '\0';
        make_directories(linked);
        *slash = '/';
        int created = open(linked, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (created < 0) return;
        close(created);
    }
    bind_read_only(source, target);
}

/// A /dev of the server's own at `dev`, never the host's: a tmpfs holding the harmless
/// devices (bound from the host's, opened before the tmpfs can hide them), a new devpts
/// instance, a /dev/shm and the usual links; read-only apart from /dev/shm and the devices.
void make_private_dev(const char *dev) {
    static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    enum { device_count = sizeof devices / sizeof *devices };
    int descriptors[device_count];
    char path[4096], source[64];
    for (size_t index = 0; index < device_count; index++) {
        snprintf(path, sizeof path, "/dev/%s", devices[index]);
        descriptors[index] = open(path, O_PATH | O_CLOEXEC);
        if (descriptors[index] < 0) fail("cannot open", path);
    }
    if (mount("pyre-dev", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) fail("cannot mount", dev);
    for (size_t index = 0; index < device_count; index++) {
        snprintf(path, sizeof path, "%s/%s", dev, devices[index]);
        snprintf(source, sizeof source, "/proc/self/fd/%d", descriptors[index]);
        int target = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (target < 0) fail("cannot create", path);
        close(target);
        if (mount(source, path, NULL, MS_BIND, NULL) != 0) fail("cannot bind", path);
        close(descriptors[index]);
    }
    char pts[4096], shm[4096];
    snprintf(pts, sizeof pts, "%s/pts", dev);
    snprintf(shm, sizeof shm, "%s/shm", dev);
    if (mkdir(pts, 0755) != 0 || mkdir(shm, 0755) != 0) fail("cannot create", "/dev/pts and /dev/shm");
    if (mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) {
        fail("cannot mount", pts);
    }
    if (mount("pyre-shm", shm, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) fail("cannot mount", shm);
    static const char *const links[][2] = {{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
    for (size_t index = 0; index < sizeof links / sizeof *links; index++) {
        snprintf(path, sizeof path, "%s/%s", dev, links[index][1]);
        if (symlink(links[index][0], path) != 0) fail("cannot create", path);
    }
    if (mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) != 0) fail("cannot make read-only", dev);
}

/// A fresh /proc at PREFIX/proc (the PID namespace's) with the host kernel's settings
/// read-only, as are the other files of /proc a root user could write without any
/// capability (the host's interrupt affinities, sysrq); and the network namespace's own
/// /sys (its interfaces), as `ip netns exec` gives it, read-only.
void mount_proc_and_sys(const char *prefix) {
    char path[4096];
    snprintf(path, sizeof path, "%s/proc", prefix);
    if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("cannot mount", path);
    static const char *const kernel_files[] = {"sys", "irq", "bus", "fs", "sysrq-trigger"};
    for (size_t index = 0; index < sizeof kernel_files / sizeof *kernel_files; index++) {
        snprintf(path, sizeof path, "%s/proc/%s", prefix, kernel_files[index]);
        if (access(path, F_OK) == 0) bind_read_only(path, path);
    }
    snprintf(path, sizeof path, "%s/sys", prefix);
    // The host's /sys is still mounted there when the prefix is the host's root.
    if (!*prefix && umount2(path, MNT_DETACH) != 0) fail("cannot unmount", path);
    if (mount("sysfs", path, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0) fail("cannot mount", path);
}

/// Mounts a private tmpfs on each private directory PREFIX has (`/tmp` and `/var/tmp`
/// world-writable, `/run` root's), of at most `size` bytes each (0: half the memory, the
/// kernel's default).
void mount_private_directories(const char *prefix, unsigned long long size) {
    for (size_t index = 0; index < private_count; index++) {
        char path[4096], options[64];
        snprintf(path, sizeof path, "%s%s", prefix, private_directories[index]);
        struct stat info;
        if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode)) continue;
        int length = snprintf(options, sizeof options, "%s",
                              strcmp(private_directories[index], "/run") == 0 ? "mode=0755" : "mode=1777");
        if (size) snprintf(options + length, sizeof options - (size_t)length, ",size=%llu", size);
        if (mount("pyre-private", path, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) fail("cannot mount", path);
    }
}

static int compare_paths(const void *left, const void *right) { return strcmp(left, right); }

/// Hides every path (an empty tmpfs over a directory, /dev/null over a file). When that or
/// a private directory covers the image, it is put back at its path from the descriptor
/// opened before; then the hiding tmpfs are made read-only.
void hide_paths(struct hidden *hidden, const char *image, int image_directory) {
    int covered = under_private_directory(image);
    // A directory sorts before what lies below it, which its tmpfs then hides already:
    // hiding tmpfs never stack, so each is still visible when it is made read-only.
    qsort(hidden->paths, (size_t)hidden->count, sizeof hidden->paths[0], compare_paths);
    for (int index = 0; index < hidden->count; index++) {
        const char *path = hidden->paths[index];
        // Gone from view already (under a private or an earlier hidden directory): nothing to do.
        struct stat info;
        if (stat(path, &info) != 0) { hidden->is_directory[index] = 0; continue; }
        hidden->is_directory[index] = S_ISDIR(info.st_mode);
        if (hidden->is_directory[index]) {
            if (mount("pyre-hidden", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") != 0) fail("cannot hide", path);
            covered |= starts_with_path(image, path);
        } else {
            bind_read_only("/dev/null", path);
        }
    }
    if (covered) {
        char source[64];
        snprintf(source, sizeof source, "/proc/self/fd/%d", image_directory);
        make_directories(image);
        bind_read_only(source, image);
    }
    for (int index = 0; index < hidden->count; index++) {
        if (hidden->is_directory[index] &&
            mount(NULL, hidden->paths[index], NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
            fail("cannot make read-only", hidden->paths[index]);
        }
    }
}
