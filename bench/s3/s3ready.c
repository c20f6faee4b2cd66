/*
 * s3ready.c: measures start-to-ready for `make bench` (bench/s3/run.sh).
 *
 * Starts a server command, polls a health URL in a tight loop (a fresh
 * TCP connection and an HTTP/1.0 GET every 0.2 ms until the first 200), and
 * prints the time from just before the fork to that first 200:
 *
 *   s3ready --url http://127.0.0.1:9000/_floe/health [--timeout S] [--log FILE] -- CMD ARGS...
 *   -> ready_ms=12.345 pid=1234
 *
 * Then it stops the server (SIGTERM, SIGKILL after 5 s) unless --keep is
 * given, in which case the server keeps running and its pid is printed.
 * Raw sockets, not libcurl, keep the poll itself as cheap as possible.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

typedef struct health_url {
    struct sockaddr_in addr;
    char request[512];
} health_url;

/* Accepts http://A.B.C.D:PORT/PATH only: the bench runs on 127.0.0.1. */
static bool url_parse(const char *url, health_url *h) {
    char ip[64];
    int port = 0, n = 0;
    if (sscanf(url, "http://%63[0-9.]:%d%n", ip, &port, &n) != 2 || port <= 0 || port > 65535) return false;
    const char *path = url + n;
    if (*path != '/') path = "/";
    memset(&h->addr, 0, sizeof h->addr);
    h->addr.sin_family = AF_INET;
    h->addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, ip, &h->addr.sin_addr) != 1) return false;
    snprintf(h->request, sizeof h->request, "GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n", path, ip, port);
    return true;
}

/* One attempt: true when the server answered with status 200. */
static bool health_ok(const health_url *h) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    bool ok = false;
    char resp[64];
    size_t got = 0;
    if (connect(fd, (const struct sockaddr *)&h->addr, sizeof h->addr) != 0) goto done;
    if (send(fd, h->request, strlen(h->request), MSG_NOSIGNAL) != (ssize_t)strlen(h->request)) goto done;
    while (got < 12) {
        ssize_t n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (n <= 0) goto done;
        got += (size_t)n;
    }
    resp[got] = '\0';
    ok = strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200", 4) == 0;
done:
    close(fd);
    return ok;
}

static volatile pid_t child_pid;

/* Interrupted (Ctrl-C, or the runner's cleanup): take the server down too. */
static void on_signal(int sig) {
    if (child_pid > 0) kill(child_pid, SIGKILL);
    _exit(128 + sig);
}

static void stop_child(pid_t pid) {
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        sleep_s(0.01);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
    static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"log", required_argument, NULL, 'l'},
                                             {"keep", no_argument, NULL, 'k'},
                                             {NULL, 0, NULL, 0}};
    const char *url = NULL, *log = NULL;
    double timeout = 10;
    bool keep = false;
    int c;
    while ((c = getopt_long(argc, argv, "+u:t:l:k", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 't': timeout = atof(optarg); break;
        case 'l': log = optarg; break;
        case 'k': keep = true; break;
        default:
            fprintf(stderr, "usage: s3ready --url http://IP:PORT/PATH [--timeout S] [--log FILE] [--keep] -- CMD...\n");
            return 2;
        }
    }
    health_url h;
    if (!url || !url_parse(url, &h)) {
        fprintf(stderr, "s3ready: --url: expected http://IP:PORT/PATH, e.g. http://127.0.0.1:9000/_floe/health\n");
        return 2;
    }
    if (optind >= argc) {
        fprintf(stderr, "s3ready: no command to start (put it after --)\n");
        return 2;
    }
    if (!(timeout > 0 && timeout <= 600)) {
        fprintf(stderr, "s3ready: --timeout: expected seconds in (0, 600]\n");
        return 2;
    }
    if (health_ok(&h)) {
        fprintf(stderr, "s3ready: something already answers at %s; pick a free port\n", url);
        return 2;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("s3ready: fork");
        return 2;
    }
    if (pid == 0) {
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "s3ready: cannot run %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }

    child_pid = pid;
    double ready = -1;
    while (now_s() - t0 < timeout) {
        if (health_ok(&h)) {
            ready = now_s() - t0;
            break;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "s3ready: %s exited (status %d) before it was ready\n", argv[optind],
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 1;
        }
        sleep_s(0.0002);
    }
    if (ready < 0) {
        fprintf(stderr, "s3ready: no 200 from %s within %.1f s\n", url, timeout);
        stop_child(pid);
        return 1;
    }
    printf("ready_ms=%.3f pid=%d\n", ready * 1e3, (int)pid);
    fflush(stdout);
    if (!keep) stop_child(pid);
    child_pid = 0;
    return 0;
}
