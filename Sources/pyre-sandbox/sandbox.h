// Shared by pyre-sandbox's files: the server mode (main.c), the build mode (build.c), the
// mounts both make (mounts.c, image_root.c) and how commands lose their privileges
// (privileges.c).
#ifndef PYRE_SANDBOX_H
#define PYRE_SANDBOX_H
#define _GNU_SOURCE
#include <sys/types.h>

/// Prints `pyre-sandbox: WHAT DETAIL: strerror(errno)` and exits with 125.
void fail(const char *what, const char *detail);

/// Waits for `child`, reaping any other process handed to us meanwhile (PID 1's duty);
/// returns the shell's convention: the exit code, or 128 plus the signal.
int wait_for(pid_t child);

/// Blocks (SIG_BLOCK) or unblocks the stop signals (SIGTERM, SIGINT, SIGHUP).
void block_stop_signals(int how);
/// Gives the stop signals their default action again and unblocks every signal (in a
/// command about to be run).
void reset_stop_signals(void);

/// Brings up `lo` in a new network namespace.
void bring_up_loopback(void);

// --- mounts.c
int starts_with_path(const char *path, const char *prefix);
int under_private_directory(const char *path);
void bind_read_only(const char *source, const char *target);
void make_directories(const char *path);
void make_host_read_only(void);
/// A /dev of the server's own at `dev` (`/dev`, or the new root's).
void make_private_dev(const char *dev);
/// A tmpfs on each private directory below `prefix` ("" for the host's) of at most
/// `size` bytes each (0: the kernel's default).
void mount_private_directories(const char *prefix, unsigned long long size);
/// /proc and /sys of the server's own at PREFIX/proc and PREFIX/sys.
void mount_proc_and_sys(const char *prefix);
void bind_etc_file(const char *netns, const char *name);

enum { max_hidden = 16 };

/// Paths to hide (`-h`), resolved before anything is mounted over them.
struct hidden {
    char paths[max_hidden][4096];
    int is_directory[max_hidden];
    int count;
};

void hide_paths(struct hidden *hidden, const char *image, int image_directory);

// --- image_root.c
/// Makes the image at `root` the root of this mount namespace (read-only, with private
/// /proc, /sys, /dev, /tmp, /var/tmp, /run and the network namespace's hosts and
/// resolv.conf), then enters `workdir` in it.
void enter_image_root(const char *root, const char *workdir, const char *netns, unsigned long long tmpfs_size);
/// pivot_root into `root` (a mount point) and detach the old root.
void pivot_into(const char *root);

// --- privileges.c
/// Who the command runs as.
struct identity {
    uid_t uid;
    gid_t gid;
};

struct identity resolve_identity(const char *text);
/// Becomes `who` keeping only the capabilities in `keep` (a bit per capability number).
void drop_privileges(struct identity who, unsigned long long keep);
void deny_keyrings(void);

// --- build.c
int run_build(int argc, char **argv);

#endif
