/*
 * sched_specs.c: the pipelines directory. Every *.yaml and *.yml file
 * directly in it is a pipeline named after the file. A scan reads each
 * file, skips those whose sha256 is unchanged, and loads the rest; the
 * loop installs the result. A spec that fails to load is logged and its
 * error kept for the API; a pipeline that had loaded before keeps running
 * its last good version meanwhile. A file that disappears stops its
 * pipeline's scheduling; its runs' history stays.
 *
 * Unless no_watch, a thread watches the directory with inotify (files
 * written, moved in or out, deleted) and reloads the files named in the
 * events, after 30 ms without further events so an editor's several
 * writes make one reload.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/str.h"
#include "pipeline/sched_int.h"

#define WATCH_QUIET_MS 30

static bool is_spec_name(const char *name) {
    return name[0] != '.' && (str_ends_with(name, ".yaml") || str_ends_with(name, ".yml"));
}

static char *pipeline_name(const char *file) {
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base) - (str_ends_with(base, ".yaml") ? 5 : 4);
    return strndup(base, n);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The spec files in the directory, sorted. */
static char **list_dir(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        log_warn("pipeline", "pipelines directory %s: %s; no pipelines loaded from it", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_spec_name(e->d_name)) continue;
        if (e->d_type != DT_REG && e->d_type != DT_LNK && e->d_type != DT_UNKNOWN) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            names = realloc(names, cap * sizeof *names);
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*n) qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

typedef struct known_file {
    char *file;
    uint8_t hash[32];
} known_file;

bool sched_specs_scan(pipe_sched *s, char **files, size_t nfiles, spec_found **out, size_t *n, bool *full) {
    /* The hashes the pipelines hold now, so unchanged files are not parsed. */
    sched_map known = {0};
    known_file *kf = NULL;
    size_t nk = 0;
    pthread_mutex_lock(&s->mu);
    kf = calloc(s->pipes.n ? s->pipes.n : 1, sizeof *kf);
    for (size_t i = 0; i < s->pipes.cap; i++) {
        sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
        if (!p || !p->file) continue;
        kf[nk].file = strdup(p->file);
        memcpy(kf[nk].hash, p->hash, 32);
        nk++;
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < nk; i++) sched_map_put(&known, kf[i].file, &kf[i]);

    *full = files == NULL;
    size_t nnames = nfiles;
    char **names = files ? files : list_dir(s->pipelines_dir, &nnames);
    spec_found *f = calloc(nnames ? nnames : 1, sizeof *f);
    size_t k = 0;
    for (size_t i = 0; i < nnames; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", s->pipelines_dir, names[i]);
        spec_found *e = &f[k++];
        e->file = strdup(path);
        e->name = pipeline_name(names[i]);
        char *data = NULL;
        size_t len = 0;
        floe_err err = {0};
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !fs_read_all(path, &data, &len, &err)) {
            e->removed = true;
            continue;
        }
        hash_sha256(data, len, e->hash);
        known_file *old = sched_map_get(&known, path);
        if (old && !memcmp(old->hash, e->hash, 32)) {
            e->unchanged = true;
        } else {
            e->spec = pipe_spec_load_str(data, len, path, &err);
            if (!e->spec) e->error = strdup(err.msg[0] ? err.msg : "the spec did not load");
        }
        free(data);
    }
    if (!files) {
        for (size_t i = 0; i < nnames; i++) free(names[i]);
        free(names);
    }
    for (size_t i = 0; i < nk; i++) free(kf[i].file);
    free(kf);
    sched_map_free(&known);
    *out = f;
    *n = k;
    return true;
}

void sched_specs_found_free(spec_found *f, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].file);
        free(f[i].error);
        if (f[i].spec) pipe_spec_free(f[i].spec);
    }
    free(f);
}

/* The pipeline's file is gone: no new runs. Runs already made finish with
 * the spec they started with; history stays readable. */
static void spec_removed(pipe_sched *s, sched_pipe *p) {
    log_info("pipeline", "%s: %s was removed; no new runs will be scheduled", p->name, p->file);
    free(p->file);
    p->file = NULL;
    free(p->error);
    p->error = NULL;
    memset(p->hash, 0, sizeof p->hash);
    sched_spec_unref(p->cur);
    p->cur = NULL;
    sched_heap_disarm(&s->heap, &p->check);
    p->next_run_ms = INT64_MAX;
}

void sched_specs_install(pipe_sched *s, spec_found *f, size_t n, bool full) {
    sched_map seen = {0};
    for (size_t i = 0; i < n; i++) {
        spec_found *e = &f[i];
        sched_pipe *p = sched_map_get(&s->pipes, e->name);
        if (e->removed) {
            if (p && p->file && str_eq(p->file, e->file)) spec_removed(s, p);
            continue;
        }
        if (sched_map_get(&seen, e->name) || (p && p->file && !str_eq(p->file, e->file) && fs_exists(p->file))) {
            log_error("pipeline", "%s: pipeline '%s' is already defined by %s; remove one of the two files", e->file,
                      e->name, p && p->file ? p->file : "another file");
            continue;
        }
        sched_map_put(&seen, e->name, e);
        if (!p) p = sched_pipe_get(s, e->name);
        if (e->unchanged && p->file) continue;
        free(p->file);
        p->file = strdup(e->file);
        memcpy(p->hash, e->hash, 32);
        if (e->spec) {
            sched_spec_unref(p->cur);
            p->cur = sched_spec_new(e->spec);
            e->spec = NULL;
            free(p->error);
            p->error = NULL;
            /* at start, one line for all (pipe_sched_start); later, one per change */
            log_msg(s->recovered ? LOG_INFO : LOG_DEBUG, "pipeline", "%s: loaded %s (%zu tasks, schedule %s)", p->name,
                    p->file, p->cur->spec->ntasks,
                    p->cur->spec->schedule.text[0] ? p->cur->spec->schedule.text : "none");
            sched_spec_installed(s, p);
        } else {
            free(p->error);
            p->error = strdup(e->error);
            if (p->cur)
                log_error("pipeline", "%s; pipeline '%s' keeps its last good spec until the file is fixed", e->error,
                          p->name);
            else
                log_error("pipeline", "%s", e->error);
        }
    }
    if (full)
        for (size_t i = 0; i < s->pipes.cap; i++) {
            sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
            if (p && p->file && !sched_map_get(&seen, p->name)) spec_removed(s, p);
        }
    sched_map_free(&seen);
    int np = 0, ne = 0;
    for (size_t i = 0; i < s->pipes.cap; i++) {
        sched_pipe *p = s->pipes.ents[i].key ? s->pipes.ents[i].val : NULL;
        if (!p || !p->file) continue;
        np++;
        ne += p->error != NULL;
    }
    s->stats.pipelines = np;
    s->stats.specs_with_errors = ne;
}

/* ---------------------------------------------------------------- watching */

static void reload_files(pipe_sched *s, char **names, size_t n, bool full) {
    pthread_mutex_lock(&s->reload_mu);
    spec_found *found = NULL;
    size_t nfound = 0;
    bool was_full = full;
    sched_specs_scan(s, full ? NULL : names, n, &found, &nfound, &was_full);
    sched_op op = {.kind = OP_RELOAD, .found = found, .nfound = nfound, .full_scan = was_full};
    floe_err err = {0};
    if (!sched_op_run(s, &op, &err)) log_warn("pipeline", "reload: %s", err.msg);
    sched_specs_found_free(found, nfound);
    pthread_mutex_unlock(&s->reload_mu);
}

static void *watch_main(void *arg) {
    pipe_sched *s = arg;
    int fd = s->watch_fd;
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool full = false;
    char evbuf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->watch_pipe[0], .events = POLLIN}};
        int r = poll(pfd, 2, n || full ? WATCH_QUIET_MS : -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            log_error("pipeline", "watch %s: %s; reload with pipe_reload", s->pipelines_dir, strerror(errno));
            break;
        }
        if (pfd[1].revents) break;
        if (r == 0) {
            reload_files(s, names, n, full);
            for (size_t i = 0; i < n; i++) free(names[i]);
            n = 0;
            full = false;
            continue;
        }
        ssize_t len = read(fd, evbuf, sizeof evbuf);
        if (len <= 0) continue;
        for (char *p = evbuf; p < evbuf + len;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) full = true;
            if (!ev->len || !is_spec_name(ev->name)) continue;
            bool dup = false;
            for (size_t i = 0; i < n && !dup; i++) dup = !strcmp(names[i], ev->name);
            if (dup) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                names = realloc(names, cap * sizeof *names);
            }
            names[n++] = strdup(ev->name);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return NULL;
}

bool sched_watch_start(pipe_sched *s, floe_err *err) {
    s->watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (s->watch_fd < 0) return floe_err_errno(err, errno, "inotify_init1");
    if (inotify_add_watch(s->watch_fd, s->pipelines_dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) <
        0) {
        int e = errno;
        close(s->watch_fd);
        s->watch_fd = -1;
        return floe_err_errno(err, e, "watch the pipelines directory %s (set no_watch to reload by hand)",
                              s->pipelines_dir);
    }
    if (pipe2(s->watch_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        close(s->watch_fd);
        s->watch_fd = -1;
        return floe_err_errno(err, e, "pipe");
    }
    if (pthread_create(&s->watch_thread, NULL, watch_main, s) != 0) {
        int e = errno;
        close(s->watch_fd);
        close(s->watch_pipe[0]);
        close(s->watch_pipe[1]);
        s->watch_fd = s->watch_pipe[0] = s->watch_pipe[1] = -1;
        return floe_err_errno(err, e, "start the pipelines directory watcher");
    }
    s->watching = true;
    return true;
}

void sched_watch_stop(pipe_sched *s) {
    if (!s->watching) return;
    char c = 1;
    if (write(s->watch_pipe[1], &c, 1) < 0) log_warn("pipeline", "stop the watcher: %s", strerror(errno));
    pthread_join(s->watch_thread, NULL);
    close(s->watch_fd);
    close(s->watch_pipe[0]);
    close(s->watch_pipe[1]);
    s->watch_fd = s->watch_pipe[0] = s->watch_pipe[1] = -1;
    s->watching = false;
}
