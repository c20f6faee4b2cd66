/*
 * test_template.c: {{ expr }} templates (src/pipeline/template.c): every
 * name, whitespace and escapes, params and upstream outputs by path, JSON
 * values keeping their type, errors that name the expression and what is
 * available, no expansion of rendered values, and the checks the spec
 * loader uses (pipe_template_check, pipe_template_task_refs).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pipeline/pipeline.h"

static json_t *params, *crawl_out;

static json_t *outputs(void *arg, const char *task_id) {
    cr_assert_str_eq((const char *)arg, "outputs-arg");
    return !strcmp(task_id, "crawl") ? crawl_out : NULL;
}

static pipe_tmpl_ctx ctx;

static void setup(void) {
    json_error_t je;
    params = json_loads("{\"symbol\": \"BTCUSDT\", \"limit\": 100, \"flag\": true, \"ratio\": 0.5, \"nul\": null,"
                        " \"raw\": \"{{ ds }}\", \"nested\": {\"a\": [1, {\"b\": \"x\"}]}, \"uni\": \"h\\u00e9\"}",
                        0, &je);
    crawl_out = json_loads("{\"s3_path\": \"s3://warehouse/raw/trades/x.jsonl.zst\", \"records\": 42,"
                           " \"meta\": {\"pages\": 3}}",
                           0, &je);
    cr_assert(params && crawl_out);
    int64_t start;
    cr_assert(pipe_time_parse("2026-11-22T10:05:00Z", &start));
    ctx = (pipe_tmpl_ctx){.run_id = "scheduled__2026-11-22T10:05:00Z",
                          .pipeline = "scraper",
                          .task_id = "load",
                          .try_number = 2,
                          .interval_start_ms = start,
                          .interval_end_ms = start + 300000,
                          .logical_ms = start,
                          .params = params,
                          .task_output = outputs,
                          .task_output_arg = "outputs-arg"};
}

static void teardown(void) {
    json_decref(params);
    json_decref(crawl_out);
}

TestSuite(pipe_template, .init = setup, .fini = teardown);

static void renders(const char *tmpl, const char *want) {
    buf_t b = BUF_INIT;
    floe_err err = {0};
    cr_assert(pipe_render(tmpl, &ctx, &b, &err), "\"%s\": %s", tmpl, err.msg);
    cr_assert_str_eq(b.data, want, "\"%s\" rendered \"%s\", want \"%s\"", tmpl, b.data, want);
    buf_free(&b);
}

static void render_fails(const char *tmpl, const char *expect) {
    buf_t b = BUF_INIT;
    floe_err err = {0};
    cr_assert_not(pipe_render(tmpl, &ctx, &b, &err), "\"%s\" rendered \"%s\"", tmpl, b.data ? b.data : "");
    cr_assert_eq(err.code, FLOE_EINVAL);
    cr_assert(strstr(err.msg, expect), "\"%s\": the error \"%s\" lacks \"%s\"", tmpl, err.msg, expect);
    buf_free(&b);
}

Test(pipe_template, every_name) {
    renders("{{ ds }}", "2026-11-22");
    renders("{{ ds_nodash }}", "20261122");
    renders("{{ ts }}", "2026-11-22T10:05:00Z");
    renders("{{ ts_nodash }}", "20261122T100500");
    renders("{{ data_interval_start }}", "2026-11-22T10:05:00Z");
    renders("{{ data_interval_end }}", "2026-11-22T10:10:00Z");
    renders("{{ data_interval_start_ms }}", "1795341900000");
    renders("{{ data_interval_end_ms }}", "1795342200000");
    renders("{{ hr }}", "10");
    renders("{{ min }}", "05");
    renders("{{ run_id }}", "scheduled__2026-11-22T10:05:00Z");
    renders("{{ pipeline }}", "scraper");
    renders("{{ task_id }}", "load");
    renders("{{ try_number }}", "2");
    renders("raw/trades/ds={{ ds }}/hr={{ hr }}/min={{ min }}/{{ run_id }}.jsonl",
            "raw/trades/ds=2026-11-22/hr=10/min=05/scheduled__2026-11-22T10:05:00Z.jsonl");
}

Test(pipe_template, times) {
    /* a manual run at a time with milliseconds keeps them in ts */
    ctx.logical_ms = ctx.interval_start_ms = ctx.interval_end_ms = 1795341900123LL;
    renders("{{ ts }}", "2026-11-22T10:05:00.123Z");
    renders("{{ ts_nodash }}", "20261122T100500");
    renders("{{ data_interval_end }}", "2026-11-22T10:05:00.123Z");
    /* ds and ts follow the logical date; hr and min the interval start */
    ctx.logical_ms = 0;
    ctx.interval_start_ms = 23 * 3600000LL + 59 * 60000LL;
    renders("{{ ds }} {{ ts }} {{ hr }}:{{ min }}", "1970-01-01 1970-01-01T00:00:00Z 23:59");
    /* before 1970 */
    ctx.logical_ms = ctx.interval_start_ms = -1;
    renders("{{ ds }} {{ ts }} {{ hr }} {{ min }}", "1969-12-31 1969-12-31T23:59:59.999Z 23 59");
    /* leap day */
    cr_assert(pipe_time_parse("2028-02-29T07:08", &ctx.logical_ms));
    renders("{{ ds }}/{{ ds_nodash }}", "2028-02-29/20280229");
}

Test(pipe_template, whitespace_escapes_and_literals) {
    renders("{{ds}}", "2026-11-22");
    renders("{{   ds \t }}", "2026-11-22");
    renders("{{\nds\n}}", "2026-11-22");
    renders("", "");
    renders("no templates at all", "no templates at all");
    renders("a { b } c }} d {", "a { b } c }} d {");
    renders("{{{{", "{{");
    renders("{{{{ ds }}", "{{ ds }}");
    renders("x{{{{y{{ ds }}z", "x{{y2026-11-22z");
    renders("{{ ds }}{{ hr }}", "2026-11-2210");
    renders("{{ ds }}}}", "2026-11-22}}");
    renders("{ {{ ds }} }", "{ 2026-11-22 }");
    renders("h\xc3\xa9 {{ params.uni }}", "h\xc3\xa9 h\xc3\xa9");
}

Test(pipe_template, params) {
    renders("{{ params.symbol }}", "BTCUSDT");
    renders("{{ params.limit }}", "100");
    renders("{{ params.flag }}", "true");
    renders("{{ params.ratio }}", "0.5");
    renders("{{ params.nul }}", "null");
    renders("{{ params.nested }}", "{\"a\":[1,{\"b\":\"x\"}]}");
    renders("{{ params.nested.a }}", "[1,{\"b\":\"x\"}]");
    renders("{{ params.nested.a.0 }}", "1");
    renders("{{ params.nested.a.1.b }}", "x");
    /* a value holding "{{" goes in as it is: no second expansion */
    renders("{{ params.raw }}", "{{ ds }}");
    renders("a{{ params.raw }}b", "a{{ ds }}b");
}

Test(pipe_template, upstream_outputs) {
    renders("{{ tasks.crawl.output.s3_path }}", "s3://warehouse/raw/trades/x.jsonl.zst");
    renders("{{ tasks.crawl.output.records }}", "42");
    renders("{{ tasks.crawl.output.meta.pages }}", "3");
    renders("{{ tasks.crawl.output }}",
            "{\"s3_path\":\"s3://warehouse/raw/trades/x.jsonl.zst\",\"records\":42,\"meta\":{\"pages\":3}}");
}

Test(pipe_template, errors) {
    render_fails("{{ dss }}", "template \"{{ dss }}\": unknown name \"dss\"; the names are ds, ds_nodash, ts");
    render_fails("{{ dss }}", "params.KEY and tasks.ID.output.KEY");
    render_fails("{{ DS }}", "unknown name \"DS\"");
    render_fails("{{ ds.x }}", "unknown name \"ds\"");
    render_fails("{{ }}", "template \"{{  }}\": not a name");
    render_fails("{{ ds | upper }}", "template \"{{ ds | upper }}\": not a name; an expression is one name");
    render_fails("{{ params..x }}", "not a name");
    render_fails("{{ params.x. }}", "not a name");
    render_fails("{{ params }}", "write params.KEY");
    render_fails("{{ params.nope }}", "template \"{{ params.nope }}\": params has no \"nope\"; it has symbol, limit");
    render_fails("{{ params.nested.zz }}", "params.nested has no \"zz\"; it has a");
    render_fails("{{ params.nested.a.5 }}", "params.nested.a has no \"5\"; it has indexes 0 to 1");
    render_fails("{{ params.nested.a.x }}", "params.nested.a has no \"x\"");
    render_fails("{{ params.symbol.x }}", "params.symbol is a string, not an object with key \"x\"");
    render_fails("{{ params.limit.x }}", "params.limit is a number or boolean");
    render_fails("{{ tasks.crawl }}", "write tasks.ID.output.KEY");
    render_fails("{{ tasks.crawl.s3_path }}", "write tasks.ID.output.KEY");
    render_fails("{{ tasks.ghost.output.x }}", "task ghost has no output here; it must be upstream of load");
    render_fails("{{ tasks.crawl.output.nope }}", "tasks.crawl.output has no \"nope\"; it has s3_path, records, meta");
    render_fails("ok {{ ds", "template \"ok {{ ds\": \"{{\" at offset 3 is never closed");
    render_fails("{{ ds }} {{", "never closed");
    /* the first bad expression stops the render */
    render_fails("{{ ds }} {{ nope }} {{ also_nope }}", "\"nope\"");
}

Test(pipe_template, missing_context) {
    ctx.params = NULL;
    ctx.task_output = NULL;
    ctx.run_id = NULL;
    render_fails("{{ params.x }}", "params has no \"x\"; it has none");
    render_fails("{{ tasks.crawl.output.x }}", "task crawl has no output here");
    render_fails("{{ run_id }}", "run_id is not known here");
    renders("{{ pipeline }}", "scraper");
}

/* ---- pipe_render_json ---- */

static json_t *render_json(const char *json) {
    json_error_t je;
    json_t *in = json_loads(json, JSON_DECODE_ANY, &je);
    cr_assert(in, "%s", je.text);
    char *before = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
    floe_err err = {0};
    json_t *out = pipe_render_json(in, &ctx, &err);
    cr_assert(out, "%s: %s", json, err.msg);
    char *after = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert_str_eq(before, after, "the input changed");
    free(before);
    free(after);
    json_decref(in);
    return out;
}

static void renders_json(const char *json, const char *want) {
    json_t *out = render_json(json);
    char *got = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
    cr_assert_str_eq(got, want, "%s", json);
    free(got);
    json_decref(out);
}

Test(pipe_template, json_values_keep_their_type) {
    renders_json("\"{{ params.limit }}\"", "100");
    renders_json("\"{{params.flag}}\"", "true");
    renders_json("\"{{ params.nul }}\"", "null");
    renders_json("\"{{ params.nested }}\"", "{\"a\":[1,{\"b\":\"x\"}]}");
    renders_json("\"{{ data_interval_start_ms }}\"", "1795341900000");
    renders_json("\"{{ try_number }}\"", "2");
    renders_json("\"{{ tasks.crawl.output.records }}\"", "42");
    renders_json("\"{{ params.symbol }}\"", "\"BTCUSDT\"");
    renders_json("\"{{ params.raw }}\"", "\"{{ ds }}\"");
    /* anything around the expression makes it text */
    renders_json("\" {{ params.limit }}\"", "\" 100\"");
    renders_json("\"{{ params.limit }}{{ params.limit }}\"", "\"100100\"");
    renders_json("\"{{{{ params.limit }}\"", "\"{{ params.limit }}\"");
    /* nested; keys stay as written; other values are copied */
    renders_json("{\"{{ ds }}\": [\"{{ ds }}\", 1, null, true, 2.5, {\"n\": \"{{ params.limit }}\"}], \"e\": {}}",
                 "{\"{{ ds }}\":[\"2026-11-22\",1,null,true,2.5,{\"n\":100}],\"e\":{}}");
    renders_json("7", "7");
}

Test(pipe_template, json_result_is_a_copy) {
    json_t *out = render_json("{\"n\": \"{{ params.nested }}\"}");
    json_object_set_new(json_object_get(out, "n"), "added", json_true());
    cr_assert_null(json_object_get(json_object_get(params, "nested"), "added"),
                   "changing the result changed the params");
    json_decref(out);
}

Test(pipe_template, json_errors) {
    json_error_t je;
    json_t *in = json_loads("{\"a\": [\"ok\", {\"b\": \"{{ params.nope }}\"}]}", 0, &je);
    floe_err err = {0};
    cr_assert_null(pipe_render_json(in, &ctx, &err));
    cr_assert(strstr(err.msg, "params has no \"nope\""), "%s", err.msg);
    json_decref(in);
    cr_assert_null(pipe_render_json(NULL, &ctx, &err));
}

/* ---- what the spec loader uses ---- */

typedef struct refs {
    char ids[8][64];
    int n;
} refs;

static void collect(const char *id, size_t n, void *arg) {
    refs *r = arg;
    cr_assert_lt(r->n, 8);
    snprintf(r->ids[r->n++], 64, "%.*s", (int)n, id);
}

Test(pipe_template, task_refs) {
    refs r = {0};
    cr_assert(pipe_template_task_refs("{{ tasks.a.output.x }} {{tasks.b-2.output.y.z}} {{ params.tasks }} "
                                      "{{{{ tasks.c.output.q }} {{ ds }} {{ tasks.a.output.w }}",
                                      collect, &r));
    cr_assert_eq(r.n, 3);
    cr_assert_str_eq(r.ids[0], "a");
    cr_assert_str_eq(r.ids[1], "b-2");
    cr_assert_str_eq(r.ids[2], "a");
    r.n = 0;
    cr_assert(pipe_template_task_refs("plain text", collect, &r));
    cr_assert_eq(r.n, 0);
    cr_assert_not(pipe_template_task_refs("{{ tasks.a.output.x }} {{ oops", collect, &r));
}

Test(pipe_template, check) {
    static const char *good[] = {"",
                                 "text",
                                 "{{ ds }}",
                                 "{{ params.anything.at.all }}",
                                 "{{ tasks.x.output }}",
                                 "{{ tasks.x.output.a.b }}",
                                 "{{{{ not checked }}",
                                 "{{ try_number }}-{{ data_interval_end_ms }}"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        floe_err err = {0};
        cr_assert(pipe_template_check(good[i], &err), "\"%s\": %s", good[i], err.msg);
    }
    static const struct {
        const char *tmpl, *expect;
    } bad[] = {
        {"{{ nope }}", "unknown name \"nope\""},
        {"{{ ds", "never closed"},
        {"{{ params }}", "write params.KEY"},
        {"{{ tasks.x }}", "write tasks.ID.output.KEY"},
        {"{{ tasks.x.y.z }}", "write tasks.ID.output.KEY"},
        {"{{ a b }}", "not a name"},
        {"{{ {{ ds }} }}", "not a name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_err err = {0};
        cr_assert_not(pipe_template_check(bad[i].tmpl, &err), "\"%s\"", bad[i].tmpl);
        cr_assert(strstr(err.msg, bad[i].expect), "\"%s\": %s", bad[i].tmpl, err.msg);
    }
}
