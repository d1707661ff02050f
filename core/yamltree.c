/* YAML → SlYamlNode tree. See yaml.h. */
#include "yamltree.h"

#include <string.h>
#include <yaml.h>

/* Aliases let a few lines describe an exponential tree; no sane config has this many nodes. */
#define SL_YAML_MAX_NODES 100000
#define SL_YAML_MAX_DEPTH 64

GQuark sl_yaml_error_quark(void)
{
  return g_quark_from_static_string("sl-yaml-error");
}

typedef struct {
  yaml_document_t *doc;
  const char *source;
  guint budget;
} Builder;

void sl_yaml_node_free(SlYamlNode *node)
{
  if (node == NULL)
    return;
  g_free(node->scalar);
  if (node->items != NULL)
    g_ptr_array_unref(node->items);
  g_free(node);
}

static void pair_free(gpointer p)
{
  SlYamlPair *pair = p;
  g_free(pair->key);
  sl_yaml_node_free(pair->value);
  g_free(pair);
}

static void node_free_ptr(gpointer p)
{
  sl_yaml_node_free(p);
}

/* Converts one libyaml document node, recursing into collections. libyaml stores aliases as
 * shared node indices, so a node may be visited several times; the budget bounds the total. */
static SlYamlNode *build(Builder *b, int index, guint depth, GError **error)
{
  yaml_node_t *yn = yaml_document_get_node(b->doc, index);
  g_autoptr(SlYamlNode) node = NULL;

  if (yn == NULL) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE, "%s: dangling alias", b->source);
    return NULL;
  }
  if (depth > SL_YAML_MAX_DEPTH) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE, "%s:%lu: nesting deeper than %d",
                b->source, (unsigned long)yn->start_mark.line + 1, SL_YAML_MAX_DEPTH);
    return NULL;
  }
  if (b->budget == 0) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE,
                "%s:%lu: more than %d nodes (alias expansion?)", b->source,
                (unsigned long)yn->start_mark.line + 1, SL_YAML_MAX_NODES);
    return NULL;
  }
  b->budget--;

  node = g_new0(SlYamlNode, 1);
  node->line = (guint)yn->start_mark.line + 1;

  switch (yn->type) {
  case YAML_SCALAR_NODE:
    node->kind = SL_YAML_SCALAR;
    node->scalar = g_strndup((const char *)yn->data.scalar.value, yn->data.scalar.length);
    node->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    break;
  case YAML_SEQUENCE_NODE:
    node->kind = SL_YAML_SEQ;
    node->items = g_ptr_array_new_with_free_func(node_free_ptr);
    for (yaml_node_item_t *it = yn->data.sequence.items.start; it < yn->data.sequence.items.top;
         it++) {
      SlYamlNode *child = build(b, *it, depth + 1, error);
      if (child == NULL)
        return NULL;
      g_ptr_array_add(node->items, child);
    }
    break;
  case YAML_MAPPING_NODE:
    node->kind = SL_YAML_MAP;
    node->items = g_ptr_array_new_with_free_func(pair_free);
    for (yaml_node_pair_t *p = yn->data.mapping.pairs.start; p < yn->data.mapping.pairs.top; p++) {
      yaml_node_t *kn = yaml_document_get_node(b->doc, p->key);
      SlYamlPair *pair;
      SlYamlNode *value;
      if (kn == NULL || kn->type != YAML_SCALAR_NODE) {
        g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE,
                    "%s:%lu: a mapping key must be a plain value", b->source,
                    (unsigned long)(kn ? kn->start_mark.line : yn->start_mark.line) + 1);
        return NULL;
      }
      value = build(b, p->value, depth + 1, error);
      if (value == NULL)
        return NULL;
      pair = g_new0(SlYamlPair, 1);
      pair->key = g_strndup((const char *)kn->data.scalar.value, kn->data.scalar.length);
      pair->line = (guint)kn->start_mark.line + 1;
      pair->value = value;
      g_ptr_array_add(node->items, pair);
    }
    break;
  default:
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE, "%s:%u: empty node", b->source,
                node->line);
    return NULL;
  }
  return g_steal_pointer(&node);
}

SlYamlNode *sl_yaml_parse(const char *text, gsize len, const char *source, GError **error)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_document_t extra;
  SlYamlNode *root = NULL;
  gboolean have_doc = FALSE;

  if (!yaml_parser_initialize(&parser)) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX, "%s: cannot initialise parser", source);
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

  if (!yaml_parser_load(&parser, &doc)) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX, "%s:%lu: %s%s%s", source,
                (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "malformed YAML", parser.context ? " " : "",
                parser.context ? parser.context : "");
    goto out;
  }
  have_doc = TRUE;

  if (yaml_document_get_root_node(&doc) == NULL) {
    /* Empty input: every key takes its default. */
    root = g_new0(SlYamlNode, 1);
    root->kind = SL_YAML_MAP;
    root->line = 1;
    root->items = g_ptr_array_new_with_free_func(pair_free);
    goto out;
  }

  /* A second document would be silently ignored by a simpler loader; say so instead. */
  if (!yaml_parser_load(&parser, &extra)) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX, "%s:%lu: %s", source,
                (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "malformed YAML");
    goto out;
  }
  if (yaml_document_get_root_node(&extra) != NULL) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE,
                "%s:%lu: only one YAML document is allowed", source,
                (unsigned long)extra.start_mark.line + 1);
    yaml_document_delete(&extra);
    goto out;
  }
  yaml_document_delete(&extra);

  {
    Builder b = {.doc = &doc, .source = source, .budget = SL_YAML_MAX_NODES};
    root = build(&b, 1, 0, error);
  }
  if (root != NULL && sl_yaml_is_null(root)) {
    /* "---" alone, or "~": an explicitly empty document, the same as an empty file. */
    guint line = root->line;
    sl_yaml_node_free(root);
    root = g_new0(SlYamlNode, 1);
    root->kind = SL_YAML_MAP;
    root->line = line;
    root->items = g_ptr_array_new_with_free_func(pair_free);
  }
  if (root != NULL && root->kind != SL_YAML_MAP) {
    g_set_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE,
                "%s:%u: the top level must be a mapping of keys", source, root->line);
    g_clear_pointer(&root, sl_yaml_node_free);
  }

out:
  if (have_doc)
    yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return root;
}

const SlYamlPair *sl_yaml_map_get(const SlYamlNode *map, const char *key)
{
  if (map == NULL || map->kind != SL_YAML_MAP)
    return NULL;
  for (guint i = 0; i < map->items->len; i++) {
    const SlYamlPair *p = g_ptr_array_index(map->items, i);
    if (g_strcmp0(p->key, key) == 0)
      return p;
  }
  return NULL;
}

gboolean sl_yaml_is_null(const SlYamlNode *node)
{
  if (node == NULL)
    return TRUE;
  if (node->kind != SL_YAML_SCALAR || !node->plain)
    return FALSE;
  return node->scalar[0] == '\0' || strcmp(node->scalar, "~") == 0 ||
         strcmp(node->scalar, "null") == 0 || strcmp(node->scalar, "Null") == 0 ||
         strcmp(node->scalar, "NULL") == 0;
}
