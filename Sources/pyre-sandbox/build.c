// pyre-sandbox build: runs one build step of a whole-server bake inside the image's own
// root, never the host's.
//
//   pyre-sandbox build [-n] LOWERDIRS UPPER WORK MERGED WORKDIR COMMAND
//
// Mounts an overlay of LOWERDIRS (the image's layers so far, top first, `:`-separated)
// with UPPER as its writable layer at MERGED, in new mount, PID, IPC, UTS and (without
// `-n`) network namespaces; gives it a private /proc, /sys, /dev and tmpfs on /tmp, /var/tmp
// and /run (so what the step leaves there stays out of the layer), makes it the root and
// runs `/bin/sh -c COMMAND` in WORKDIR as root with only the capabilities package installs
// use (no CAP_SYS_ADMIN, CAP_MKNOD, CAP_NET_ADMIN, CAP_SYS_PTRACE, module loading or raw
// I/O), no_new_privs and no keyrings. What the step writes lands in UPPER: the layer.
// With `-n` the step shares the host's network and its /etc/resolv.conf (to fetch packages).
#include "sandbox.h"
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#define BIT(capability) (1ULL << (capability))
static const unsigned long long build_capabilities =
    BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH) | BIT(CAP_FOWNER) | BIT(CAP_FSETID) |
    BIT(CAP_KILL) | BIT(CAP_SETGID) | BIT(CAP_SETUID) | BIT(CAP_SETFCAP) | BIT(CAP_NET_BIND_SERVICE) |
    BIT(CAP_SYS_CHROOT) | BIT(CAP_AUDIT_WRITE);

static void build_usage(void) {
    fprintf(stderr, "usage: pyre-sandbox build [-n] LOWERDIRS UPPER WORK MERGED WORKDIR COMMAND\n");
    exit(125);
}

static int build_init(int network, char **argv) {
    const char *lowers = argv[0], *upper = argv[1], *work = argv[2], *merged = argv[3], *workdir = argv[4];
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (sethostname("pyre-build", 10) != 0) fail("cannot set hostname", "pyre-build");
    if (!network) bring_up_loopback();
    // Plain copy-up: whiteouts and opaque directories only, which Pyre's layer merge reads.
    char options[16384];
    int length = snprintf(options, sizeof options, "lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,index=off",
                          lowers, upper, work);
    if (length < 0 || (size_t)length >= sizeof options) {
        fprintf(stderr, "pyre-sandbox: too many layers for one overlay\n");
        exit(125);
    }
    if (mount("pyre-build", merged, "overlay", MS_NODEV, options) != 0) fail("cannot mount the layers at", merged);
    mount_proc_and_sys(merged);
    char path[4096];
    snprintf(path, sizeof path, "%s/dev", merged);
    make_private_dev(path);
    mount_private_directories(merged, 0);
    if (network) {
        char resolv[4096];
        snprintf(path, sizeof path, "%s/etc/resolv.conf", merged);
        if (realpath("/etc/resolv.conf", resolv) && access(path, F_OK) == 0) bind_read_only(resolv, path);
    }
    pivot_into(merged);
    if (chdir(workdir) != 0) fail("cannot enter the working directory", workdir);

    pid_t step = fork();
    if (step < 0) fail("cannot fork", "the build step");
    if (step == 0) {
        reset_stop_signals();
        drop_privileges((struct identity){0, 0}, build_capabilities);
        deny_keyrings();
        execl("/bin/sh", "/bin/sh", "-c", argv[5], (char *)NULL);
        fprintf(stderr, "pyre-sandbox: cannot run /bin/sh in the image: %s\n", strerror(errno));
        _exit(127);
    }
    return wait_for(step);
}

int run_build(int argc, char **argv) {
    int network = 0;
    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        network = 1;
        argv++;
        argc--;
    }
    if (argc != 7) build_usage();
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | (network ? 0 : CLONE_NEWNET);
    if (unshare(flags) != 0) fail("cannot unshare", "namespaces");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("cannot make mounts private", NULL);
    pid_t init = fork();
    if (init < 0) fail("cannot fork", "the build's PID 1");
    if (init == 0) return build_init(network, argv + 1);
    return wait_for(init);
}
