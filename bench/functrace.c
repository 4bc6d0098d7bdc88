// functrace: which functions of a program run, in the order they first run.
//
//     functrace FUNCTIONS OUT -- PROGRAM [ARGUMENTS...]
//
// FUNCTIONS is a line `load ADDRESS` (the first LOAD segment's address, from `readelf -l`), then the program's
// functions, one hexadecimal address (as in its symbol table) per line; PIE or not.
// functrace runs PROGRAM under ptrace with a breakpoint (int3) on each of them. The first time a function
// runs, its breakpoint is removed and its address is appended to OUT, so every function costs one stop, and
// the program runs at full speed once its functions have run. Threads are followed; child processes are not
// (a forked child would stop on the breakpoints it inherits: `shop` starts none). SIGTERM and SIGINT are
// passed on to PROGRAM; functrace exits with its status. Linux x86-64 only; used by bench/link-order.
//
// The kernel maps code 64 KB around each page a process touches, so code run once at start brings in its
// neighbours: bench/link-order gives the linker this list, to put the code that runs next to each other.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    uint64_t address;   // in the process
    unsigned char saved; // the byte the int3 replaced
    int armed;
} breakpoint;

static breakpoint *breakpoints;
static size_t count;
static pid_t program;

static void forward(int signal_number) {
    if (program > 0) kill(program, signal_number);
}

static int by_address(const void *a, const void *b) {
    uint64_t x = ((const breakpoint *)a)->address, y = ((const breakpoint *)b)->address;
    return x < y ? -1 : x > y;
}

static breakpoint *find(uint64_t address) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (breakpoints[middle].address < address) low = middle + 1; else high = middle;
    }
    return low < count && breakpoints[low].address == address ? &breakpoints[low] : NULL;
}

// Where the program's first mapping (file offset 0) starts, minus the address its symbol table gives that
// byte: 0 for a non-PIE executable, the load address for a PIE one.
static uint64_t load_bias(pid_t pid, uint64_t first_load_address) {
    char path[64], exe[4096], line[4096 + 256];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t length = readlink(path, exe, sizeof exe - 1);
    if (length < 0) { perror("functrace: readlink"); exit(2); }
    exe[length] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) { perror("functrace: maps"); exit(2); }
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char mapped[4096] = "";
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &start, &end, &offset, mapped) >= 3
            && offset == 0 && strcmp(mapped, exe) == 0) {
            fclose(maps);
            return start - first_load_address;
        }
    }
    fprintf(stderr, "functrace: %s is not mapped\n", exe);
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: functrace FUNCTIONS OUT -- PROGRAM [ARGUMENTS...]\n"
                        "FUNCTIONS starts with a line 'load ADDRESS' (the first LOAD segment's address)\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) { perror(argv[1]); return 2; }
    char line[512];
    uint64_t first_load = 0;
    size_t capacity = 1 << 16;
    breakpoints = malloc(capacity * sizeof *breakpoints);
    while (fgets(line, sizeof line, list)) {
        if (strncmp(line, "load ", 5) == 0) { first_load = strtoull(line + 5, NULL, 16); continue; }
        if (count == capacity) breakpoints = realloc(breakpoints, (capacity *= 2) * sizeof *breakpoints);
        breakpoints[count].address = strtoull(line, NULL, 16);
        breakpoints[count].armed = 0;
        count++;
    }
    fclose(list);
    FILE *out = fopen(argv[2], "w");
    if (!out) { perror(argv[2]); return 2; }
    setvbuf(out, NULL, _IOLBF, 0);

    program = fork();
    if (program == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execvp(argv[4], argv + 4);
        perror(argv[4]);
        _exit(127);
    }
    signal(SIGTERM, forward);
    signal(SIGINT, forward);
    int status;
    if (waitpid(program, &status, 0) < 0 || !WIFSTOPPED(status)) { fprintf(stderr, "functrace: exec failed\n"); return 2; }
    ptrace(PTRACE_SETOPTIONS, program, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);

    // Stopped at exec: the program is mapped, nothing of it has run.
    uint64_t bias = load_bias(program, first_load);
    for (size_t i = 0; i < count; i++) breakpoints[i].address += bias;
    qsort(breakpoints, count, sizeof *breakpoints, by_address);
    size_t armed = 0;
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && breakpoints[i].address == breakpoints[i - 1].address) continue;
        errno = 0;
        long word = ptrace(PTRACE_PEEKTEXT, program, (void *)breakpoints[i].address, 0);
        if (errno) continue;
        breakpoints[i].saved = word & 0xff;
        word = (word & ~0xffL) | 0xcc;
        if (ptrace(PTRACE_POKETEXT, program, (void *)breakpoints[i].address, (void *)word) == 0) {
            breakpoints[i].armed = 1;
            armed++;
        }
    }
    fprintf(stderr, "functrace: %zu breakpoints in %s\n", armed, argv[4]);
    ptrace(PTRACE_CONT, program, 0, 0);

    size_t hits = 0;
    int code = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == program) {
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int signal_number = WSTOPSIG(status);
        if (status >> 16) { ptrace(PTRACE_CONT, pid, 0, 0); continue; } // a new thread (PTRACE_EVENT_CLONE)
        if (signal_number == SIGTRAP) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, pid, 0, &registers);
            breakpoint *hit = find(registers.rip - 1);
            if (hit) {
                // Two threads may stop on one breakpoint: the second finds it removed and only steps back.
                if (hit->armed) {
                    long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)hit->address, 0);
                    word = (word & ~0xffL) | hit->saved;
                    ptrace(PTRACE_POKETEXT, pid, (void *)hit->address, (void *)word);
                    hit->armed = 0;
                    fprintf(out, "%lx\n", (unsigned long)(hit->address - bias));
                    hits++;
                }
                registers.rip -= 1;
                ptrace(PTRACE_SETREGS, pid, 0, &registers);
            }
            ptrace(PTRACE_CONT, pid, 0, 0);
            continue;
        }
        if (signal_number == SIGSTOP) { ptrace(PTRACE_CONT, pid, 0, 0); continue; } // a new thread's first stop
        ptrace(PTRACE_CONT, pid, 0, (void *)(long)signal_number);
    }
    fclose(out);
    fprintf(stderr, "functrace: %zu of %zu functions ran\n", hits, armed);
    return code;
}
