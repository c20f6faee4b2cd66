/*
 * yaml.h: YAML files read into jansson values, keeping the line of every
 * key and item, for the hand-written files (pipeline specs, crawler
 * endpoints) whose errors must name the file, the line and the key.
 *
 * Scalars follow the YAML core schema: plain null, ~, true/false, integers
 * and floats become JSON null, booleans and numbers; every other scalar, and
 * every quoted one, is a string. Anchors and aliases are resolved. Mapping
 * keys must be scalars; a duplicate key is an error (libfyaml's).
 */
#ifndef FLOE_BASE_YAML_H
#define FLOE_BASE_YAML_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

typedef struct yaml_doc yaml_doc;

/* Reads a file. A syntax error is FLOE_EINVAL "PATH:LINE:COL: what is
 * wrong"; a missing file is FLOE_ENOENT. An empty document has a null
 * root. */
yaml_doc *yaml_load_file(const char *path, floe_err *err);
/* The same from memory; name is what errors call it. */
yaml_doc *yaml_load_str(const char *text, size_t len, const char *name, floe_err *err);
void yaml_free(yaml_doc *d);

/* The document as JSON, owned by the doc (borrowed). */
json_t *yaml_root(const yaml_doc *d);
/* The file name given when loading. */
const char *yaml_name(const yaml_doc *d);

/* 1-based line of the key `key` of the mapping `obj`, or of item `index` of
 * the sequence `arr` (pass key NULL), both nodes of this document; 0 when
 * unknown. The line of a mapping or sequence itself is yaml_node_line. */
int yaml_line(const yaml_doc *d, const json_t *container, const char *key, size_t index);
int yaml_node_line(const yaml_doc *d, const json_t *container);

#endif
