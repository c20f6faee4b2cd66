/*
 * task_ice.c: the table steps of the table task types (task_int.h):
 * open a table on a catalog ref, creating its namespace and itself when a
 * schema says how; commit written files in a mode (append, overwrite by
 * filter, dynamic partition overwrite); report the snapshot. All through
 * the catalog and iceberg libraries, as `floe table` does.
 */
#include <string.h>

#include "pipeline/task_int.h"

bool task_mode_parse(const pipe_task_ctx *c, const char *text, task_mode def, task_mode *out, floe_err *err) {
    if (!text)
        *out = def;
    else if (!strcmp(text, "append"))
        *out = TASK_APPEND;
    else if (!strcmp(text, "overwrite"))
        *out = TASK_OVERWRITE;
    else if (!strcmp(text, "overwrite_partitions"))
        *out = TASK_OVERWRITE_PARTITIONS;
    else {
        json_t *v = json_string(text);
        targ_bad(c, "mode", v, "append, overwrite or overwrite_partitions", err);
        json_decref(v);
        return false;
    }
    return true;
}

bool task_mode_validate(json_t *args, floe_err *err) {
    json_t *m = json_object_get(args, "mode"), *f = json_object_get(args, "filter");
    const char *mode = json_is_string(m) ? json_string_value(m) : NULL;
    if (tval_is_template(m)) return true;
    if (mode && strcmp(mode, "append") && strcmp(mode, "overwrite") && strcmp(mode, "overwrite_partitions"))
        return floe_err_set(err, FLOE_EINVAL, "mode '%s': expected append, overwrite or overwrite_partitions", mode);
    if (f && !json_is_null(f) && (!mode || strcmp(mode, "overwrite")))
        return floe_err_set(err, FLOE_EINVAL,
                            "filter: only mode overwrite takes a filter (the rows it replaces); set mode: overwrite "
                            "or drop the filter");
    return true;
}

const char *task_mode_name(task_mode m) {
    return m == TASK_APPEND ? "append" : m == TASK_OVERWRITE ? "overwrite" : "overwrite_partitions";
}

/* Creates ns and each of its parents ("a", then "a.b"); existing ones are fine. */
static bool namespace_ensure(cat_t *cat, const char *ref, const char *ns, arena_t *a, floe_err *err) {
    for (const char *p = ns;; p++) {
        if (*p != '.' && *p) continue;
        const char *level = arena_strndup(a, ns, (size_t)(p - ns));
        floe_err e2 = {0};
        if (!cat_namespace_create(cat, ref, level, NULL, &e2) && e2.code != FLOE_EEXIST) {
            *err = e2;
            return floe_err_wrap(err, "creating namespace %s", level);
        }
        if (!*p) return true;
    }
}

bool task_table_open(const pipe_task_ctx *c, const char *ident, const char *ref, const fmt_schema_t *schema,
                     const char *partition, task_table *out, floe_err *err) {
    memset(out, 0, sizeof *out);
    out->ref = ref;
    const char *dot = strrchr(ident, '.');
    if (!dot || dot == ident || !dot[1]) {
        json_t *v = json_string(ident);
        targ_bad(c, "table", v, "NAMESPACE.TABLE, like market.trades", err);
        json_decref(v);
        return false;
    }
    const char *ns = arena_strndup(c->arena, ident, (size_t)(dot - ident)), *name = dot + 1;
    out->ice = arena_zalloc(c->arena, sizeof *out->ice);
    cat_as_ice(c->env->cat, ref, out->ice);
    floe_err e2 = {0};
    if (ice_table_load(out->ice, ns, name, c->arena, &out->t, &e2)) return true;
    if (e2.code != FLOE_ENOENT) {
        *err = e2;
        return false;
    }
    if (!schema)
        return floe_err_set(err, FLOE_EINVAL,
                            "task %s: table %s cannot be loaded on catalog ref %s (%s); create it with `floe table "
                            "create %s --schema ...`, or give write_table a `schema:` (like \"id long not null, ts "
                            "timestamptz\") so the task creates it",
                            c->task_id, ident, ref ? ref : CAT_MAIN, e2.msg, ident);
    ice_table_meta m;
    if (!ice_table_new_meta(schema, partition, NULL, 0, c->arena, &m, err)) {
        err->code = FLOE_EINVAL;
        return floe_err_wrap(err, "task %s: creating table %s", c->task_id, ident);
    }
    if (!namespace_ensure(c->env->cat, ref, ns, c->arena, err)) return false;
    cat_table ct;
    if (cat_table_create(c->env->cat, ref, ns, name, &m, c->arena, &ct, &e2))
        out->created = true;
    else if (e2.code != FLOE_EEXIST) { /* EEXIST: another task created it meanwhile */
        *err = e2;
        return floe_err_wrap(err, "creating table %s", ident);
    }
    return ice_table_load(out->ice, ns, name, c->arena, &out->t, err);
}

void task_table_note_schema(pipe_task_ctx *c, const task_table *tt, const fmt_schema_t *schema) {
    if (!schema || tt->created) return;
    buf_t have = {0}, want = {0};
    fmt_schema_format(ice_meta_current_schema(&tt->t.meta), &have);
    fmt_schema_format(schema, &want);
    if (have.len != want.len || memcmp(have.data, want.data, have.len))
        pipe_log(c, "table %s.%s exists with schema (%.*s); the task's schema (%.*s) only serves to create it",
                 tt->t.ns, tt->t.name, (int)have.len, have.data, (int)want.len, want.data);
    buf_free(&have);
    buf_free(&want);
}

bool task_table_commit(pipe_task_ctx *c, task_table *tt, ice_writer *w, task_mode mode, const char *filter,
                       ice_commit_result *res, int64_t *nfiles, floe_err *err) {
    memset(res, 0, sizeof *res);
    ice_data_file *files = NULL;
    size_t n = 0;
    if (!ice_writer_close(w, &files, &n, err)) {
        ice_writer_abort(w);
        return false;
    }
    *nfiles = (int64_t)n;
    if (n == 0 && mode != TASK_OVERWRITE) {
        ice_writer_free(w);
        res->snapshot_id = tt->t.meta.current_snapshot_id;
        pipe_log(c, "no rows: nothing to commit to %s.%s", tt->t.ns, tt->t.name);
        return true;
    }
    ice_commit_opts co = {.max_attempts = tt->max_attempts,
                          .kind = mode == TASK_APPEND      ? ICE_OP_APPEND
                                  : mode == TASK_OVERWRITE ? ICE_OP_OVERWRITE_FILTER
                                                           : ICE_OP_OVERWRITE_DYNAMIC};
    if (mode == TASK_OVERWRITE) {
        const char *text = filter ? filter : "true";
        ice_expr *parsed, *bound;
        if (!ice_expr_parse(text, c->arena, &parsed, err) ||
            !ice_expr_bind(parsed, ice_meta_current_schema(&tt->t.meta), true, c->arena, &bound, err)) {
            ice_writer_abort(w);
            err->code = FLOE_EINVAL;
            return floe_err_wrap(err, "task %s: key 'filter' (\"%s\")", c->task_id, text);
        }
        co.filter = bound;
    }
    if (!ice_table_commit_files(&tt->t, &co, files, n, c->arena, res, err)) {
        ice_writer_abort(w);
        return floe_err_wrap(err, "committing to %s.%s", tt->t.ns, tt->t.name);
    }
    ice_writer_free(w);
    pipe_log(c, "%s.%s: %s snapshot %lld: +%lld files (%lld rows), -%lld files (%lld rows)%s", tt->t.ns, tt->t.name,
             task_mode_name(mode), (long long)res->snapshot_id, (long long)res->added_files, (long long)res->added_rows,
             (long long)res->deleted_files, (long long)res->deleted_rows,
             res->attempts > 1 ? " after a concurrent commit" : "");
    return true;
}

void task_table_output(pipe_task_ctx *c, const task_table *tt, const ice_commit_result *res, int64_t rows,
                       int64_t files) {
    json_object_set_new(c->output, "table", json_sprintf("%s.%s", tt->t.ns, tt->t.name));
    json_object_set_new(c->output, "snapshot_id", res->snapshot_id >= 0 ? json_integer(res->snapshot_id) : json_null());
    json_object_set_new(c->output, "rows", json_integer(rows));
    json_object_set_new(c->output, "files", json_integer(files));
}
