// pyre-sandbox: starts one namespace-mode server in a single process, where a shell script
// would spawn a dozen tools (this is what makes 20 servers start quickly on a small machine).
//
//   pyre-sandbox [-u USER[:GROUP]] [-b] [-h PATH]... NETNS ADDRESS/PREFIX GATEWAY IMAGE SERVER_ID COMMAND [ARG...]
//
// Joins the named network namespace (/run/netns/NETNS), brings up its loopback and its
// `eth0` with ADDRESS/PREFIX and a default route via GATEWAY, enters new mount, UTS, IPC and
// PID namespaces and forks PID 1 of the server, which:
//   - sets the hostname to SERVER_ID and mounts a /proc and /sys of its own (the host
//     kernel's files in /proc that root could write without a capability read-only);
//   - gives it a /dev of its own (a tmpfs with the host's null, zero, full, random, urandom
//     and tty bound in, a new devpts, a /dev/shm);
//   - binds IMAGE read-only onto itself and makes it the working directory;
//   - mounts a private tmpfs on /tmp, /var/tmp and /run (the host's UNIX sockets live there);
//   - binds /etc/netns/NETNS/{hosts,resolv.conf} read-only over /etc (as `ip netns exec` does);
//   - remounts every other mount read-only, except /proc, /sys, /dev and the private ones;
//   - hides each `-h PATH` (an empty read-only tmpfs over a directory, /dev/null over a
//     file), re-exposing IMAGE if that or a private directory covered it;
//   - runs COMMAND as its child as USER (`-u`, a name or number; nobody, 65534, by default)
//     with no capabilities at all (`-b`: only CAP_NET_BIND_SERVICE), no_new_privs and no
//     kernel keyrings (a seccomp filter), reaps
//     orphans, and exits with the command's status, which ends every process of the PID namespace.
// The outer process waits for PID 1 and exits with its status.
//
// Signals: Pyre stops a server by signalling its whole process group, which holds the outer
// process, PID 1 and the command. The command gets that SIGTERM once, directly; the two
// sandbox processes catch it and keep waiting, so the command can finish its work.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};

static void ignore_stop(int signal_number) { (void)signal_number; }

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "pyre-sandbox: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror(errno));
    exit(125);
}

static struct sockaddr_in ipv4(const char *text, const char *what) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    if (inet_pton(AF_INET, text, &address.sin_addr) != 1) {
        fprintf(stderr, "pyre-sandbox: %s is not an IPv4 address: %s\n", what, text);
        exit(125);
    }
    return address;
}

static void interface_up(int sock, const char *name) {
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &request) != 0) fail("cannot read the flags of", name);
    request.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &request) != 0) fail("cannot bring up", name);
}

/// Configures the joined network namespace with a few ioctls, where `ip` would be one
/// more process per server.
static void configure_network(const char *cidr, const char *gateway) {
    char address[INET_ADDRSTRLEN];
    const char *slash = strchr(cidr, '/');
    char *end = NULL;
    long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
    if (!slash || (size_t)(slash - cidr) >= sizeof address || *end != 0 || prefix < 1 || prefix > 32) {
        fprintf(stderr, "pyre-sandbox: expected ADDRESS/PREFIX, got %s\n", cidr);
        exit(125);
    }
    memcpy(address, cidr, (size_t)(slash - cidr));
    address[slash - cidr] = 0;

    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail("cannot open", "a socket to configure the network");
    interface_up(sock, "lo");
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, "eth0", IFNAMSIZ - 1);
    struct sockaddr_in value = ipv4(address, "ADDRESS");
    memcpy(&request.ifr_addr, &value, sizeof value);
    if (ioctl(sock, SIOCSIFADDR, &request) != 0) fail("cannot set the address of", "eth0");
    value.sin_addr.s_addr = htonl(0xffffffffu << (32 - prefix));
    memcpy(&request.ifr_netmask, &value, sizeof value);
    if (ioctl(sock, SIOCSIFNETMASK, &request) != 0) fail("cannot set the netmask of", "eth0");
    interface_up(sock, "eth0");

    struct rtentry route;
    memset(&route, 0, sizeof route);
    struct sockaddr_in any = ipv4("0.0.0.0", "destination"), via = ipv4(gateway, "GATEWAY");
    memcpy(&route.rt_dst, &any, sizeof any);
    memcpy(&route.rt_genmask, &any, sizeof any);
    memcpy(&route.rt_gateway, &via, sizeof via);
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(sock, SIOCADDRT, &route) != 0) fail("cannot add the default route via", gateway);
    close(sock);
}

/// Catches the stop signals without acting on them. PID 1 of a PID namespace must have a
/// handler to receive them at all; the outer process must not die of them, or PID 1 would
/// get SIGKILL (PR_SET_PDEATHSIG) and take the command down before it stopped gracefully.
static void catch_stop_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = ignore_stop;
    sigemptyset(&action.sa_mask);
    for (size_t index = 0; index < sizeof stop_signals / sizeof *stop_signals; index++) {
        sigaction(stop_signals[index], &action, NULL);
    }
}

/// The shell's convention: the exit code, or 128 plus the signal that ended the process.
static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

/// Waits for `child`, reaping any other process handed to us meanwhile (PID 1's duty).
static int wait_for(pid_t child) {
    for (;;) {
        int status = 0;
        pid_t ended = waitpid(-1, &status, 0);
        if (ended == child) return exit_code(status);
        if (ended < 0 && errno != EINTR) return 125;
    }
}

static int starts_with_path(const char *path, const char *prefix) {
    size_t length = strlen(prefix);
    return strncmp(path, prefix, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

/// Where the server gets a private tmpfs instead of the host's directory: the writable
/// places programs expect, and where the host keeps its UNIX sockets (/run: D-Bus, systemd,
/// container runtimes, databases), which a read-only mount does not keep anyone from
/// connecting to.
static const char *const private_directories[] = {"/tmp", "/var/tmp", "/run"};
enum { private_count = sizeof private_directories / sizeof *private_directories };

static int under_private_directory(const char *path) {
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

static void make_host_read_only(void) {
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
static void bind_read_only(const char *source, const char *target) {
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind", target);
    if (remount_read_only(target, MS_NOSUID | MS_NODEV) != 0) fail("cannot make read-only", target);
}

/// Who the command runs as.
struct identity {
    uid_t uid;
    gid_t gid;
};

static int parse_number(const char *text, unsigned long *value) {
    char *end = NULL;
    if (!*text) return 0;
    errno = 0;
    *value = strtoul(text, &end, 10);
    return errno == 0 && *end == 0 && *value < 0xffffffffUL;
}

/// USER[:GROUP], each a name of the host's or a number; the group defaults to the user's.
static struct identity resolve_identity(const char *text) {
    char user[256];
    snprintf(user, sizeof user, "%s", text);
    char *group = strchr(user, ':');
    if (group) *group++ = '\0';
    struct identity who;
    unsigned long number;
    struct passwd *entry = parse_number(user, &number) ? getpwuid((uid_t)number) : getpwnam(user);
    if (entry) {
        who.uid = entry->pw_uid;
        who.gid = entry->pw_gid;
    } else if (parse_number(user, &number)) {
        who.uid = (uid_t)number;
        who.gid = (gid_t)number;
    } else {
        fprintf(stderr, "pyre-sandbox: no user named %s on this machine\n", user);
        exit(125);
    }
    if (group) {
        struct group *found = parse_number(group, &number) ? NULL : getgrnam(group);
        if (found) {
            who.gid = found->gr_gid;
        } else if (parse_number(group, &number)) {
            who.gid = (gid_t)number;
        } else {
            fprintf(stderr, "pyre-sandbox: no group named %s on this machine\n", group);
            exit(125);
        }
    }
    return who;
}

/// Becomes `who` with empty bounding, permitted, effective, inheritable and ambient sets
/// (`bind_service`: CAP_NET_BIND_SERVICE in all of them, for a port below 1024) and
/// no_new_privs. An empty bounding set also keeps a root user from regaining capabilities
/// when it runs a program.
static void drop_privileges(struct identity who, int bind_service) {
    for (int capability = 0; prctl(PR_CAPBSET_READ, capability, 0, 0, 0) >= 0; capability++) {
        if (bind_service && capability == CAP_NET_BIND_SERVICE) continue;
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0) fail("cannot drop a capability", NULL);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("cannot clear", "ambient capabilities");
    // Keeps the permitted set across setresuid, so CAP_NET_BIND_SERVICE can be made ambient.
    if (bind_service && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail("cannot keep", "capabilities");
    if (setgroups(0, NULL) != 0) fail("cannot drop", "supplementary groups");
    if (setresgid(who.gid, who.gid, who.gid) != 0) fail("cannot set", "the group");
    if (setresuid(who.uid, who.uid, who.uid) != 0) fail("cannot set", "the user");
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct sets[_LINUX_CAPABILITY_U32S_3];
    memset(sets, 0, sizeof sets);
    if (bind_service) {
        sets[0].effective = sets[0].permitted = sets[0].inheritable = 1u << CAP_NET_BIND_SERVICE;
    }
    if (syscall(SYS_capset, &header, sets) != 0) fail("cannot set", "capabilities");
    if (bind_service && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0) {
        fail("cannot keep", "CAP_NET_BIND_SERVICE");
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("cannot set no_new_privs", NULL);
}

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define COMPAT_ARCH AUDIT_ARCH_I386
enum { compat_add_key = 286, compat_request_key = 287, compat_keyctl = 288 };
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define COMPAT_ARCH AUDIT_ARCH_ARM
enum { compat_add_key = 309, compat_request_key = 310, compat_keyctl = 311 };
#else
#error "pyre-sandbox: no seccomp filter for this architecture"
#endif

/// Takes the kernel's keyrings away (add_key, request_key and keyctl fail with ENOSYS, as
/// on a kernel without them; Docker's default profile denies them too). Keyrings are not
/// namespaced: a root server would read every key of the host's root (Kerberos tickets,
/// say) in its user keyring, and servers running as the same user would share one.
static void deny_keyrings(void) {
    const unsigned int denied = SECCOMP_RET_ERRNO | ENOSYS;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_ARCH, 6, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, 8),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        // x32 system calls (x86-64's other, all but unused ABI: same arch, numbers from
        // 0x40000000) are all refused, as are those of an architecture not named here.
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 6, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_add_key, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_request_key, 4, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_keyctl, 3, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, compat_add_key, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, compat_keyctl, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, denied),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    _Static_assert(compat_request_key == compat_add_key + 1 && compat_keyctl == compat_add_key + 2, "a range");
    struct sock_fprog program = {sizeof filter / sizeof *filter, filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) fail("cannot install", "the seccomp filter");
}

static void block_stop_signals(int how) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t index = 0; index < sizeof stop_signals / sizeof *stop_signals; index++) sigaddset(&set, stop_signals[index]);
    sigprocmask(how, &set, NULL);
}

static void make_directories(const char *path) {
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
static void bind_etc_file(const char *netns, const char *name) {
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

/// A /dev of the server's own, never the host's: a tmpfs holding the harmless devices
/// (bound from the host's, opened before the tmpfs hides them), a new devpts instance,
/// a /dev/shm and the usual links; read-only apart from /dev/shm and the devices.
static void make_private_dev(void) {
    static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    enum { device_count = sizeof devices / sizeof *devices };
    int descriptors[device_count];
    char path[64], source[64];
    for (size_t index = 0; index < device_count; index++) {
        snprintf(path, sizeof path, "/dev/%s", devices[index]);
        descriptors[index] = open(path, O_PATH | O_CLOEXEC);
        if (descriptors[index] < 0) fail("cannot open", path);
    }
    if (mount("pyre-dev", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) fail("cannot mount", "/dev");
    for (size_t index = 0; index < device_count; index++) {
        snprintf(path, sizeof path, "/dev/%s", devices[index]);
        snprintf(source, sizeof source, "/proc/self/fd/%d", descriptors[index]);
        int target = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (target < 0) fail("cannot create", path);
        close(target);
        if (mount(source, path, NULL, MS_BIND, NULL) != 0) fail("cannot bind", path);
        close(descriptors[index]);
    }
    if (mkdir("/dev/pts", 0755) != 0 || mkdir("/dev/shm", 0755) != 0) fail("cannot create", "/dev/pts and /dev/shm");
    if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0) {
        fail("cannot mount", "/dev/pts");
    }
    if (mount("pyre-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) fail("cannot mount", "/dev/shm");
    static const char *const links[][2] = {{"pts/ptmx", "/dev/ptmx"}, {"/proc/self/fd", "/dev/fd"},
        {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}};
    for (size_t index = 0; index < sizeof links / sizeof *links; index++) {
        if (symlink(links[index][0], links[index][1]) != 0) fail("cannot create", links[index][1]);
    }
    if (mount(NULL, "/dev", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) != 0) fail("cannot make read-only", "/dev");
}

enum { max_hidden = 16 };

/// Paths to hide (`-h`), resolved before anything is mounted over them.
struct hidden {
    char paths[max_hidden][4096];
    int is_directory[max_hidden];
    int count;
};

static int compare_paths(const void *left, const void *right) { return strcmp(left, right); }

/// Mounts a private tmpfs on each private directory the host has (`/tmp` and `/var/tmp`
/// world-writable, `/run` root's).
static void mount_private_directories(void) {
    for (size_t index = 0; index < private_count; index++) {
        const char *path = private_directories[index];
        struct stat info;
        if (stat(path, &info) != 0 || !S_ISDIR(info.st_mode)) continue;
        const char *options = strcmp(path, "/run") == 0 ? "mode=0755" : "mode=1777";
        if (mount("pyre-private", path, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) fail("cannot mount", path);
    }
}

/// Hides every path (an empty tmpfs over a directory, /dev/null over a file). When that or
/// a private directory covers the image, it is put back at its path from the descriptor
/// opened before; then the hiding tmpfs are made read-only.
static void hide_paths(struct hidden *hidden, const char *image, int image_directory) {
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

struct options {
    struct identity who;
    int bind_service;
    struct hidden hidden;
};

/// PID 1 of the server: prepares its view of the filesystem, then runs the command.
static int run_init(struct options *options, const char *netns, const char *image, const char *id, char **command) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sethostname(id, strlen(id)) != 0) fail("cannot set hostname", id);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("cannot mount", "/proc");
    // Kernel settings are the host's: read-only. So are the other files of /proc a root user
    // could write without any capability (the host's interrupt affinities, sysrq).
    static const char *const kernel_files[] = {"/proc/sys", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/sysrq-trigger"};
    for (size_t index = 0; index < sizeof kernel_files / sizeof *kernel_files; index++) {
        if (access(kernel_files[index], F_OK) == 0) bind_read_only(kernel_files[index], kernel_files[index]);
    }
    // The network namespace's own /sys (interfaces), as `ip netns exec` gives it, read-only.
    if (umount2("/sys", MNT_DETACH) != 0 ||
        mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) != 0) fail("cannot mount", "/sys");
    make_private_dev();

    bind_read_only(image, image);
    int image_directory = open(image, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (image_directory < 0) fail("cannot open", image);
    mount_private_directories();
    bind_etc_file(netns, "hosts");
    bind_etc_file(netns, "resolv.conf");
    make_host_read_only();
    hide_paths(&options->hidden, image, image_directory);
    close(image_directory);
    if (chdir(image) != 0) fail("cannot enter", image);

    // Blocked across the fork, so the command cannot get a stop signal while it still has
    // our handler (it would be swallowed).
    block_stop_signals(SIG_BLOCK);
    pid_t app = fork();
    if (app < 0) fail("cannot fork", "the command");
    if (app == 0) {
        for (size_t index = 0; index < sizeof stop_signals / sizeof *stop_signals; index++) signal(stop_signals[index], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        drop_privileges(options->who, options->bind_service);
        deny_keyrings();
        execvp(command[0], command);
        fprintf(stderr, "pyre-sandbox: cannot run %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    block_stop_signals(SIG_UNBLOCK);
    return wait_for(app);
}

static void usage(void) {
    fprintf(stderr, "usage: pyre-sandbox [-u USER[:GROUP]] [-b] [-h PATH]... NETNS ADDRESS/PREFIX GATEWAY IMAGE SERVER_ID COMMAND [ARG...]\n");
    exit(125);
}

int main(int argc, char **argv) {
    static struct options options = {.who = {65534, 65534}};
    int option;
    while ((option = getopt(argc, argv, "+u:bh:")) != -1) {
        if (option == 'u') {
            options.who = resolve_identity(optarg);
        } else if (option == 'b') {
            options.bind_service = 1;
        } else if (option == 'h') {
            if (options.hidden.count == max_hidden) {
                fprintf(stderr, "pyre-sandbox: at most %d paths can be hidden\n", max_hidden);
                return 125;
            }
            // A path that does not exist has nothing to hide.
            if (realpath(optarg, options.hidden.paths[options.hidden.count])) options.hidden.count++;
        } else {
            usage();
        }
    }
    argv += optind;
    argc -= optind;
    if (argc < 6) usage();
    const char *netns = argv[0], *id = argv[4];
    // The tmpfs on /tmp must not hide the image: compare real paths, not what was given.
    char image[4096];
    if (!realpath(argv[3], image)) fail("cannot resolve", argv[3]);
    if (strcmp(image, "/tmp") == 0 || strcmp(image, "/") == 0) {
        fprintf(stderr, "pyre-sandbox: the image cannot be %s itself\n", image);
        return 125;
    }
    catch_stop_signals();

    char path[4096];
    snprintf(path, sizeof path, "/run/netns/%s", netns);
    int namespace_descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (namespace_descriptor < 0) fail("cannot open", path);
    if (setns(namespace_descriptor, CLONE_NEWNET) != 0) fail("cannot join", path);
    close(namespace_descriptor);
    configure_network(argv[1], argv[2]);
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) != 0) fail("cannot unshare", "namespaces");
    // Nothing mounted here may reach the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("cannot make mounts private", NULL);

    pid_t init = fork();
    if (init < 0) fail("cannot fork", "the server's PID 1");
    if (init == 0) return run_init(&options, netns, image, id, argv + 5);
    return wait_for(init);
}
