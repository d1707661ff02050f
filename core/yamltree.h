/* YAML document → a small tree of maps, sequences and scalars that keeps line numbers.
 *
 * Parsing is separate from validation (config.c) so that the parser alone can be fuzzed. The tree
 * is built with libyaml's document loader; aliases are expanded with a cap on the total number of
 * nodes so that an alias bomb is an error rather than an out-of-memory.
 *
 * Ownership: sl_yaml_parse() returns a tree the caller frees with sl_yaml_node_free(); every
 * pointer reachable from it is owned by the tree. Not thread-safe; one tree per caller.
 */
#ifndef SL_YAMLTREE_H
#define SL_YAMLTREE_H

#include <glib.h>

G_BEGIN_DECLS

#define SL_YAML_ERROR (sl_yaml_error_quark())
GQuark sl_yaml_error_quark(void);

typedef enum {
  SL_YAML_ERROR_SYNTAX,    /* not well-formed YAML; message carries the line */
  SL_YAML_ERROR_STRUCTURE, /* more than one document, non-scalar keys, too many nodes, ... */
} SlYamlError;

typedef enum {
  SL_YAML_SCALAR,
  SL_YAML_MAP,
  SL_YAML_SEQ,
} SlYamlKind;

typedef struct _SlYamlNode SlYamlNode;

typedef struct {
  char *key;  /* the key's scalar text */
  guint line; /* 1-based line of the key */
  SlYamlNode *value;
} SlYamlPair;

struct _SlYamlNode {
  SlYamlKind kind;
  guint line;       /* 1-based line where the node starts */
  char *scalar;     /* SL_YAML_SCALAR: the text */
  gboolean plain;   /* SL_YAML_SCALAR: written without quotes (so "~" / "null" mean null) */
  GPtrArray *items; /* SL_YAML_SEQ: SlYamlNode*; SL_YAML_MAP: SlYamlPair*, in file order */
};

/* Parse `text` (`len` bytes, need not be NUL-terminated). An empty document yields an empty map.
 * `source` names the input in error messages ("FILE:LINE: problem"). Returns NULL with `error`
 * set on failure. */
SlYamlNode *sl_yaml_parse(const char *text, gsize len, const char *source, GError **error);

void sl_yaml_node_free(SlYamlNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlYamlNode, sl_yaml_node_free)

/* Map lookup (first match), or NULL. `map` may be NULL or a non-map (then NULL). */
const SlYamlPair *sl_yaml_map_get(const SlYamlNode *map, const char *key);

/* TRUE for an unquoted ~, null, Null, NULL or empty scalar. */
gboolean sl_yaml_is_null(const SlYamlNode *node);

G_END_DECLS

#endif /* SL_YAMLTREE_H */
