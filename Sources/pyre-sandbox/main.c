// pyre-sandbox: starts one namespace-mode server in a single process, where a shell script
// would spawn a dozen tools (this is what makes 20 servers start quickly on a small machine).
//
//   pyre-sandbox [-u USER[:GROUP]] [-b] [-h PATH]... [-r [-w WORKDIR] [-t BYTES]]
//                NETNS ADDRESS/PREFIX GATEWAY IMAGE SERVER_ID COMMAND [ARG...]
//   pyre-sandbox build ...   (a bake's build step, see build.c)
//
// Joins the named network namespace (/run/netns/NETNS), brings up its loopback and its
// `eth0` with ADDRESS/PREFIX and a default route via GATEWAY, enters new mount, UTS, IPC and
// PID namespaces and forks PID 1 of the server, which:
//   - sets the hostname to SERVER_ID and mounts a /proc and /sys of its own (the host
//     kernel's files in /proc that root could write without a capability read-only);
//   - gives it a /dev of its own (a tmpfs with the host's null, zero, full, random, urandom
//     and tty bound in, a new devpts, a /dev/shm);
//   - mounts a private tmpfs on /tmp, /var/tmp and /run (`-t`: at most BYTES each);
//   - binds /etc/netns/NETNS/{hosts,resolv.conf} read-only over /etc (as `ip netns exec` does);
//   - with `-r` (a whole-server image): makes IMAGE, read-only, the root of the server with
//     pivot_root, with all of the above inside it, so nothing of the host's filesystem is
//     left in view, and enters WORKDIR (default /);
//   - without `-r` (a host-OS image): binds IMAGE read-only onto itself and makes it the
//     working directory, remounts every other mount read-only, except /proc, /sys, /dev and
//     the private ones, and hides each `-h PATH` (an empty read-only tmpfs over a directory,
//     /dev/null over a file), re-exposing IMAGE if that or a private directory covered it;
//   - runs COMMAND as its child as USER (`-u`, a name or number; nobody, 65534, by default)
//     with no capabilities at all (`-b`: only CAP_NET_BIND_SERVICE), no_new_privs and no
//     kernel keyrings (a seccomp filter), reaps
//     orphans, and exits with the command's status, which ends every process of the PID namespace.
// The outer process waits for PID 1 and exits with its status.
//
// Signals: Pyre stops a server by signalling its whole process group, which holds the outer
// process, PID 1 and the command. The command gets that SIGTERM once, directly; the two
// sandbox processes catch it and keep waiting, so the command can finish its work.
#include "sandbox.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const int stop_signals[] = {SIGTERM, SIGINT, SIGHUP};

static void ignore_stop(int signal_number) { (void)signal_number; }

void fail(const char *what, const char *detail) {
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

void bring_up_loopback(void) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail("cannot open", "a socket to configure the network");
    interface_up(sock, "lo");
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
int wait_for(pid_t child) {
    for (;;) {
        int status = 0;
        pid_t ended = waitpid(-1, &status, 0);
        if (ended == child) return exit_code(status);
        if (ended < 0 && errno != EINTR) return 125;
    }
}

void block_stop_signals(int how) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t index = 0; index < sizeof stop_signals / sizeof *stop_signals; index++) sigaddset(&set, stop_signals[index]);
    sigprocmask(how, &set, NULL);
}

void reset_stop_signals(void) {
    for (size_t index = 0; index < sizeof stop_signals / sizeof *stop_signals; index++) signal(stop_signals[index], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

struct options {
    struct identity who;
    int bind_service;
    struct hidden hidden;
    int image_is_root;
    const char *workdir;
    unsigned long long tmpfs_size;
};

/// A host-OS image: the host's filesystem read-only around the image, the state paths hidden.
static void enter_host_view(struct options *options, const char *netns, const char *image) {
    mount_proc_and_sys("");
    make_private_dev("/dev");
    bind_read_only(image, image);
    int image_directory = open(image, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (image_directory < 0) fail("cannot open", image);
    mount_private_directories("", options->tmpfs_size);
    bind_etc_file(netns, "hosts");
    bind_etc_file(netns, "resolv.conf");
    make_host_read_only();
    hide_paths(&options->hidden, image, image_directory);
    close(image_directory);
    if (chdir(image) != 0) fail("cannot enter", image);
}

/// PID 1 of the server: prepares its view of the filesystem, then runs the command.
static int run_init(struct options *options, const char *netns, const char *image, const char *id, char **command) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sethostname(id, strlen(id)) != 0) fail("cannot set hostname", id);
    if (options->image_is_root) {
        enter_image_root(image, options->workdir, netns, options->tmpfs_size);
    } else {
        enter_host_view(options, netns, image);
    }

    // Blocked across the fork, so the command cannot get a stop signal while it still has
    // our handler (it would be swallowed).
    block_stop_signals(SIG_BLOCK);
    pid_t app = fork();
    if (app < 0) fail("cannot fork", "the command");
    if (app == 0) {
        reset_stop_signals();
        drop_privileges(options->who, options->bind_service ? 1ULL << CAP_NET_BIND_SERVICE : 0);
        deny_keyrings();
        execvp(command[0], command);
        fprintf(stderr, "pyre-sandbox: cannot run %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    block_stop_signals(SIG_UNBLOCK);
    return wait_for(app);
}

static void usage(void) {
    fprintf(stderr, "usage: pyre-sandbox [-u USER[:GROUP]] [-b] [-h PATH]... [-r [-w WORKDIR] [-t BYTES]] "
                    "NETNS ADDRESS/PREFIX GATEWAY IMAGE SERVER_ID COMMAND [ARG...]\n"
                    "       pyre-sandbox build [-n] [-t SECONDS] LOWERDIRS UPPER WORK WORKDIR COMMAND\n");
    exit(125);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "build") == 0) return run_build(argc - 1, argv + 1);
    static struct options options = {.who = {65534, 65534}, .workdir = "/"};
    int option;
    while ((option = getopt(argc, argv, "+u:bh:rw:t:")) != -1) {
        if (option == 'u') {
            options.who = resolve_identity(optarg);
        } else if (option == 'b') {
            options.bind_service = 1;
        } else if (option == 'r') {
            options.image_is_root = 1;
        } else if (option == 'w') {
            if (optarg[0] != '/') usage();
            options.workdir = optarg;
        } else if (option == 't') {
            char *end = NULL;
            options.tmpfs_size = strtoull(optarg, &end, 10);
            if (!*optarg || *end) usage();
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
