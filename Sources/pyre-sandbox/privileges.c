// How a command run by pyre-sandbox loses its privileges: its user, its capabilities and
// the kernel's keyrings.
#include "sandbox.h"
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int parse_number(const char *text, unsigned long *value) {
    char *end = NULL;
    if (!*text) return 0;
    errno = 0;
    *value = strtoul(text, &end, 10);
    return errno == 0 && *end == 0 && *value < 0xffffffffUL;
}

/// USER[:GROUP], each a name of the host's or a number; the group defaults to the user's.
struct identity resolve_identity(const char *text) {
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

/// Becomes `who` with the bounding, permitted, effective, inheritable and ambient sets
/// holding only `keep` (nothing for a server; CAP_NET_BIND_SERVICE for a port below 1024;
/// what package installs need for a build step) and no_new_privs. A bounding set without
/// the rest also keeps a root user from regaining capabilities when it runs a program.
void drop_privileges(struct identity who, unsigned long long keep) {
    for (int capability = 0; prctl(PR_CAPBSET_READ, capability, 0, 0, 0) >= 0; capability++) {
        if (keep & (1ULL << capability)) continue;
        if (prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0) fail("cannot drop a capability", NULL);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) fail("cannot clear", "ambient capabilities");
    // Keeps the permitted set across setresuid, so the kept ones can be made ambient.
    if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) fail("cannot keep", "capabilities");
    if (setgroups(0, NULL) != 0) fail("cannot drop", "supplementary groups");
    if (setresgid(who.gid, who.gid, who.gid) != 0) fail("cannot set", "the group");
    if (setresuid(who.uid, who.uid, who.uid) != 0) fail("cannot set", "the user");
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct sets[_LINUX_CAPABILITY_U32S_3];
    memset(sets, 0, sizeof sets);
    for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; word++) {
        unsigned int bits = (unsigned int)(keep >> (32 * word));
        sets[word].effective = sets[word].permitted = sets[word].inheritable = bits;
    }
    if (syscall(SYS_capset, &header, sets) != 0) fail("cannot set", "capabilities");
    for (int capability = 0; capability < 64; capability++) {
        if ((keep & (1ULL << capability)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, capability, 0, 0) != 0) {
            fail("cannot keep", "a capability");
        }
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
void deny_keyrings(void) {
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
