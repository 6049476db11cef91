// pyre-sandbox: starts one namespace-mode server in a single process, where a shell script
// would spawn a dozen tools (this is what makes 20 servers start quickly on a small machine).
//
//   pyre-sandbox NETNS IMAGE SERVER_ID COMMAND [ARG...]
//
// Joins the named network namespace (/run/netns/NETNS), enters new mount, UTS, IPC and PID
// namespaces and forks PID 1 of the server, which:
//   - sets the hostname to SERVER_ID and mounts a /proc and /sys of its own;
//   - binds /etc/netns/NETNS/{hosts,resolv.conf} over /etc (as `ip netns exec` does);
//   - binds IMAGE read-only onto itself and makes it the working directory;
//   - mounts a private tmpfs on /tmp (re-exposing IMAGE if it lives under /tmp);
//   - remounts every other mount read-only, except /proc, /sys, /dev and /tmp;
//   - runs COMMAND as its child, forwards SIGTERM/SIGINT/SIGHUP to it, reaps orphans, and
//     exits with its status, which ends every process of the PID namespace.
// The outer process waits for PID 1, forwards the same signals, and exits with its status.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t forward_to = 0;

static void forward(int signal_number) {
    if (forward_to > 0) kill(forward_to, signal_number);
}

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "pyre-sandbox: %s %s: %s\n", what, detail ? detail : "", strerror(errno));
    exit(125);
}

static void install_forwarding(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
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

/// Remounts `target` read-only, keeping its other per-mount flags.
static void remount_read_only(const char *target) {
    struct statvfs info;
    if (statvfs(target, &info) != 0) return;
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    if (mount(NULL, target, NULL, flags, NULL) != 0) {
        fprintf(stderr, "pyre-sandbox: could not make %s read-only: %s\n", target, strerror(errno));
    }
}

static void make_host_read_only(void) {
    FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
    if (!mountinfo) fail("cannot read", "/proc/self/mountinfo");
    char *line = NULL;
    size_t capacity = 0;
    while (getline(&line, &capacity, mountinfo) > 0) {
        // Fields: id parent major:minor root mountpoint options ...
        char *saved = NULL, *field = strtok_r(line, " ", &saved);
        for (int index = 0; field && index < 4; index++) field = strtok_r(NULL, " ", &saved);
        if (!field) continue;
        unescape(field);
        if (starts_with_path(field, "/proc") || starts_with_path(field, "/sys") ||
            starts_with_path(field, "/dev") || starts_with_path(field, "/tmp")) continue;
        remount_read_only(field);
    }
    free(line);
    fclose(mountinfo);
}

static void bind_read_only(const char *source, const char *target) {
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) fail("cannot bind", target);
    remount_read_only(target);
}

static void bind_etc_file(const char *netns, const char *name) {
    char source[4096], target[4096];
    snprintf(source, sizeof source, "/etc/netns/%s/%s", netns, name);
    snprintf(target, sizeof target, "/etc/%s", name);
    if (access(source, F_OK) == 0 && mount(source, target, NULL, MS_BIND, NULL) != 0) fail("cannot bind", target);
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

/// PID 1 of the server: prepares its view of the filesystem, then runs the command.
static int run_init(const char *netns, const char *image, const char *id, char **command) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sethostname(id, strlen(id)) != 0) fail("cannot set hostname", id);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("cannot mount", "/proc");
    // The network namespace's own /sys (interfaces), as `ip netns exec` gives it.
    if (umount2("/sys", MNT_DETACH) == 0) mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    bind_etc_file(netns, "hosts");
    bind_etc_file(netns, "resolv.conf");

    bind_read_only(image, image);
    int image_directory = open(image, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (image_directory < 0) fail("cannot open", image);
    if (mount("pyre-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) fail("cannot mount", "/tmp");
    if (starts_with_path(image, "/tmp")) {
        // The tmpfs hid the image: put it back at its path from the descriptor still open.
        char source[64];
        snprintf(source, sizeof source, "/proc/self/fd/%d", image_directory);
        make_directories(image);
        bind_read_only(source, image);
    }
    close(image_directory);
    make_host_read_only();
    if (chdir(image) != 0) fail("cannot enter", image);

    pid_t app = fork();
    if (app < 0) fail("cannot fork", NULL);
    if (app == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        execvp(command[0], command);
        fprintf(stderr, "pyre-sandbox: cannot run %s: %s\n", command[0], strerror(errno));
        _exit(127);
    }
    forward_to = app;
    return wait_for(app);
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: pyre-sandbox NETNS IMAGE SERVER_ID COMMAND [ARG...]\n");
        return 125;
    }
    const char *netns = argv[1], *image = argv[2], *id = argv[3];
    install_forwarding();

    char path[4096];
    snprintf(path, sizeof path, "/run/netns/%s", netns);
    int namespace_descriptor = open(path, O_RDONLY | O_CLOEXEC);
    if (namespace_descriptor < 0) fail("cannot open", path);
    if (setns(namespace_descriptor, CLONE_NEWNET) != 0) fail("cannot join", path);
    close(namespace_descriptor);
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) != 0) fail("cannot unshare", "namespaces");
    // Nothing mounted here may reach the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("cannot make mounts private", NULL);

    pid_t init = fork();
    if (init < 0) fail("cannot fork", NULL);
    if (init == 0) return run_init(netns, image, id, argv + 4);
    forward_to = init;
    return wait_for(init);
}
