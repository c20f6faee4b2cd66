/*
 * test_range.c: Range header parsing (src/store/s3/range.c).
 *
 * The cases are a table in tests/unit/store/data/range/cases.txt; each line
 * names the object size, the header and what S3 would serve.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "store/s3/s3_int.h"

#define RANGE_CASES "tests/unit/store/data/range/cases.txt"

static const char *result_name(s3_range_result r) {
    switch (r) {
    case S3_RANGE_NONE: return "none";
    case S3_RANGE_OK: return "ok";
    case S3_RANGE_UNSATISFIABLE: return "416";
    case S3_RANGE_IGNORE: return "ignore";
    }
    return "?";
}

Test(range, table) {
    FILE *f = fopen(RANGE_CASES, "r");
    cr_assert(f, "cannot open %s (tests run from the repository root)", RANGE_CASES);
    char line[1024];
    int lineno = 0, cases = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0') continue;
        /* size, result, first, last, then the header to the end of the line */
        char *fields[5], *rest = line;
        for (int i = 0; i < 4; i++) {
            fields[i] = strsep(&rest, "\t");
            cr_assert(rest, "%s:%d: expected size<TAB>result<TAB>first<TAB>last<TAB>header", RANGE_CASES, lineno);
        }
        fields[4] = rest;
        uint64_t size, want_first = 0, want_last = 0;
        cr_assert(str_to_u64(fields[0], &size), "%s:%d: bad size", RANGE_CASES, lineno);
        bool want_ok = strcmp(fields[1], "ok") == 0;
        if (want_ok)
            cr_assert(str_to_u64(fields[2], &want_first) && str_to_u64(fields[3], &want_last), "%s:%d: bad first/last",
                      RANGE_CASES, lineno);
        const char *header = strcmp(fields[4], "(null)") == 0 ? NULL : fields[4];
        uint64_t first = 12345, last = 12345;
        s3_range_result r = s3_range_parse(header, size, &first, &last);
        cr_expect_str_eq(result_name(r), fields[1], "%s:%d: '%s' on %s bytes", RANGE_CASES, lineno,
                         header ? header : "(null)", fields[0]);
        if (want_ok && r == S3_RANGE_OK) {
            cr_expect(first == want_first && last == want_last, "%s:%d: '%s' gave %llu-%llu, want %llu-%llu",
                      RANGE_CASES, lineno, header, (unsigned long long)first, (unsigned long long)last,
                      (unsigned long long)want_first, (unsigned long long)want_last);
            cr_expect(first <= last && last < size, "%s:%d: range outside the object", RANGE_CASES, lineno);
        }
        cases++;
    }
    fclose(f);
    cr_expect_gt(cases, 50, "only %d cases in %s", cases, RANGE_CASES);
}

/* Whatever the header, an OK range lies inside the object. */
Test(range, ok_is_always_inside) {
    const char *headers[] = {"bytes=0-", "bytes=-1", "bytes=-5", "bytes=3-", "bytes=3-4", "bytes=0-0", "bytes=4-100"};
    for (uint64_t size = 0; size < 8; size++) {
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
            uint64_t first, last;
            if (s3_range_parse(headers[i], size, &first, &last) == S3_RANGE_OK)
                cr_expect(first <= last && last < size, "'%s' on %llu bytes: %llu-%llu", headers[i],
                          (unsigned long long)size, (unsigned long long)first, (unsigned long long)last);
        }
    }
}
