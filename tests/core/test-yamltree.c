/* Unit tests for core/yamltree.c: the YAML → tree conversion, its line numbers and its limits. */
#include "yamltree.h"

#include <string.h>

#define SRC "test.yaml"

static SlYamlNode *parse_ok(const char *text)
{
  g_autoptr(GError) error = NULL;
  SlYamlNode *root = sl_yaml_parse(text, strlen(text), SRC, &error);
  g_assert_no_error(error);
  g_assert_nonnull(root);
  g_assert_cmpint(root->kind, ==, SL_YAML_MAP);
  return root;
}

/* Parses text that must be refused and returns the error (transfer full). */
static GError *parse_fail(const char *text, gsize len)
{
  GError *error = NULL;
  SlYamlNode *root = sl_yaml_parse(text, len, SRC, &error);
  g_assert_null(root);
  g_assert_nonnull(error);
  g_assert_true(error->domain == SL_YAML_ERROR);
  return error;
}

static const SlYamlNode *get(const SlYamlNode *map, const char *key)
{
  const SlYamlPair *p = sl_yaml_map_get(map, key);
  g_assert_nonnull(p);
  return p->value;
}

static void test_map_lines(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("# a comment\n"
                                        "name: value\n"
                                        "section:\n"
                                        "  child: 1\n"
                                        "  list:\n"
                                        "    - a\n"
                                        "    - b: c\n"
                                        "\n"
                                        "last: {x: 1}\n");
  const SlYamlPair *p;
  const SlYamlNode *section, *list, *item;

  g_assert_cmpuint(root->items->len, ==, 3);
  p = g_ptr_array_index(root->items, 0);
  g_assert_cmpstr(p->key, ==, "name");
  g_assert_cmpuint(p->line, ==, 2);
  g_assert_cmpint(p->value->kind, ==, SL_YAML_SCALAR);
  g_assert_cmpstr(p->value->scalar, ==, "value");
  g_assert_cmpuint(p->value->line, ==, 2);

  p = g_ptr_array_index(root->items, 1);
  g_assert_cmpstr(p->key, ==, "section");
  g_assert_cmpuint(p->line, ==, 3);
  section = p->value;
  g_assert_cmpint(section->kind, ==, SL_YAML_MAP);
  g_assert_cmpuint(section->line, ==, 4);
  g_assert_cmpuint(section->items->len, ==, 2);
  g_assert_cmpuint(sl_yaml_map_get(section, "child")->line, ==, 4);
  g_assert_cmpstr(get(section, "child")->scalar, ==, "1");

  p = sl_yaml_map_get(section, "list");
  g_assert_cmpuint(p->line, ==, 5);
  list = p->value;
  g_assert_cmpint(list->kind, ==, SL_YAML_SEQ);
  g_assert_cmpuint(list->line, ==, 6);
  g_assert_cmpuint(list->items->len, ==, 2);
  item = g_ptr_array_index(list->items, 0);
  g_assert_cmpint(item->kind, ==, SL_YAML_SCALAR);
  g_assert_cmpstr(item->scalar, ==, "a");
  g_assert_cmpuint(item->line, ==, 6);
  item = g_ptr_array_index(list->items, 1);
  g_assert_cmpint(item->kind, ==, SL_YAML_MAP);
  g_assert_cmpuint(item->line, ==, 7);
  g_assert_cmpstr(get(item, "b")->scalar, ==, "c");

  p = g_ptr_array_index(root->items, 2);
  g_assert_cmpstr(p->key, ==, "last");
  g_assert_cmpuint(p->line, ==, 9);
  g_assert_cmpint(p->value->kind, ==, SL_YAML_MAP);
  g_assert_cmpuint(sl_yaml_map_get(p->value, "x")->line, ==, 9);
}

static void test_crlf_lines(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("a: 1\r\nb:\r\n  - x\r\n  - y\r\n");
  const SlYamlNode *b = get(root, "b");

  g_assert_cmpuint(sl_yaml_map_get(root, "b")->line, ==, 2);
  g_assert_cmpstr(get(root, "a")->scalar, ==, "1");
  g_assert_cmpuint(b->items->len, ==, 2);
  g_assert_cmpuint(((SlYamlNode *)g_ptr_array_index(b->items, 1))->line, ==, 4);
}

static void test_block_scalar(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("a: 1\n"
                                        "text: |\n"
                                        "  line one\n"
                                        "  line two\n"
                                        "after: 2\n");
  const SlYamlNode *text = get(root, "text");

  g_assert_cmpstr(text->scalar, ==, "line one\nline two\n");
  g_assert_false(text->plain);
  g_assert_cmpuint(text->line, ==, 2);
  g_assert_cmpuint(sl_yaml_map_get(root, "after")->line, ==, 5);
}

static void test_scalar_styles(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("plain: some text\n"
                                        "double: \"quoted\\ttext\"\n"
                                        "single: 'it''s'\n"
                                        "number: 0x1F\n");

  g_assert_true(get(root, "plain")->plain);
  g_assert_cmpstr(get(root, "plain")->scalar, ==, "some text");
  g_assert_false(get(root, "double")->plain);
  g_assert_cmpstr(get(root, "double")->scalar, ==, "quoted\ttext");
  g_assert_false(get(root, "single")->plain);
  g_assert_cmpstr(get(root, "single")->scalar, ==, "it's");
  g_assert_true(get(root, "number")->plain);
  g_assert_cmpstr(get(root, "number")->scalar, ==, "0x1F");
}

static void test_null_detection(void)
{
  static const char *const nulls[] = {"tilde", "word", "empty", "title", "upper", NULL};
  static const char *const not_nulls[] = {
      "quoted_word", "quoted_tilde", "quoted_empty", "zero", "nul", "mixed", NULL};
  g_autoptr(SlYamlNode) root = parse_ok("tilde: ~\n"
                                        "word: null\n"
                                        "empty:\n"
                                        "title: Null\n"
                                        "upper: NULL\n"
                                        "quoted_word: \"null\"\n"
                                        "quoted_tilde: '~'\n"
                                        "quoted_empty: \"\"\n"
                                        "zero: 0\n"
                                        "nul: nul\n"
                                        "mixed: nULL\n"
                                        "map: {}\n"
                                        "seq: []\n");

  for (guint i = 0; nulls[i] != NULL; i++) {
    g_test_message("%s", nulls[i]);
    g_assert_true(sl_yaml_is_null(get(root, nulls[i])));
  }
  for (guint i = 0; not_nulls[i] != NULL; i++) {
    g_test_message("%s", not_nulls[i]);
    g_assert_false(sl_yaml_is_null(get(root, not_nulls[i])));
  }
  g_assert_cmpstr(get(root, "quoted_word")->scalar, ==, "null");
  g_assert_false(sl_yaml_is_null(get(root, "map")));
  g_assert_false(sl_yaml_is_null(get(root, "seq")));
  g_assert_true(sl_yaml_is_null(NULL));
}

static void test_map_get(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("a: first\n"
                                        "list: [1]\n"
                                        "a: second\n");
  const SlYamlPair *p = sl_yaml_map_get(root, "a");

  g_assert_cmpuint(root->items->len, ==, 3);
  g_assert_cmpstr(p->value->scalar, ==, "first");
  g_assert_cmpuint(p->line, ==, 1);
  g_assert_null(sl_yaml_map_get(root, "missing"));
  g_assert_null(sl_yaml_map_get(root, "A"));
  g_assert_null(sl_yaml_map_get(get(root, "list"), "a"));
  g_assert_null(sl_yaml_map_get(get(root, "a"), "a"));
  g_assert_null(sl_yaml_map_get(NULL, "a"));
}

static void test_empty_document(void)
{
  static const char *const empties[] = {"", "\n\n", "# only a comment\n", "   \n# x\n  \n", NULL};

  for (guint i = 0; empties[i] != NULL; i++) {
    g_autoptr(SlYamlNode) root = parse_ok(empties[i]);
    g_assert_nonnull(root->items);
    g_assert_cmpuint(root->items->len, ==, 0);
  }
}

static void test_length_bounds_input(void)
{
  /* No terminating NUL: the parser must stop at `len`. */
  const char buf[] = {'a', ':', ' ', '1', '2'};
  g_autoptr(GError) error = NULL;
  g_autoptr(SlYamlNode) root = sl_yaml_parse(buf, 4, SRC, &error);

  g_assert_no_error(error);
  g_assert_nonnull(root);
  g_assert_cmpstr(get(root, "a")->scalar, ==, "1");
}

static void test_syntax_error(void)
{
  const char *text = "a: 1\n"
                     "b: 2\n"
                     "  c: 3\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX);
  g_assert_true(g_str_has_prefix(error->message, SRC ":3: "));
}

static void test_syntax_error_unclosed(void)
{
  const char *text = "a: 1\n"
                     "b: [1, 2\n"
                     "c: \"open\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX);
  g_assert_true(g_str_has_prefix(error->message, SRC ":"));
  g_assert_true(g_ascii_isdigit(error->message[strlen(SRC ":")]));
}

static void test_two_documents(void)
{
  const char *text = "a: 1\n"
                     "---\n"
                     "b: 2\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_cmpstr(error->message, ==, SRC ":2: only one YAML document is allowed");
}

static void test_second_document_syntax_error(void)
{
  const char *text = "a: 1\n"
                     "---\n"
                     "b: [\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_SYNTAX);
  g_assert_true(g_str_has_prefix(error->message, SRC ":"));
}

static void test_document_markers(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("---\n"
                                        "a: 1\n"
                                        "...\n");

  g_assert_cmpuint(root->items->len, ==, 1);
  g_assert_cmpuint(sl_yaml_map_get(root, "a")->line, ==, 2);
}

static void test_top_level_not_map(void)
{
  static const char *const texts[] = {"- a\n- b\n", "just a value\n", "[1, 2]\n", NULL};

  for (guint i = 0; texts[i] != NULL; i++) {
    g_autoptr(GError) error = parse_fail(texts[i], strlen(texts[i]));
    g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
    g_assert_cmpstr(error->message, ==, SRC ":1: the top level must be a mapping of keys");
  }
}

static void test_non_scalar_key(void)
{
  const char *seq_key = "ok: 1\n"
                        "? [a, b]\n"
                        ": value\n";
  const char *map_key = "outer:\n"
                        "  {k: v}: value\n";
  g_autoptr(GError) e1 = parse_fail(seq_key, strlen(seq_key));
  g_autoptr(GError) e2 = parse_fail(map_key, strlen(map_key));

  g_assert_error(e1, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_cmpstr(e1->message, ==, SRC ":2: a mapping key must be a plain value");
  g_assert_error(e2, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_cmpstr(e2->message, ==, SRC ":2: a mapping key must be a plain value");
}

static void test_alias_expanded(void)
{
  g_autoptr(SlYamlNode) root = parse_ok("base: &b\n"
                                        "  x: 1\n"
                                        "  y: [a, b]\n"
                                        "copy: *b\n"
                                        "again: *b\n");
  const SlYamlNode *base = get(root, "base");
  const SlYamlNode *copy = get(root, "copy");
  const SlYamlNode *again = get(root, "again");

  /* Each use is a tree of its own, so freeing the root frees each node once. */
  g_assert_true(copy != base);
  g_assert_true(again != copy);
  g_assert_cmpint(copy->kind, ==, SL_YAML_MAP);
  g_assert_cmpstr(get(copy, "x")->scalar, ==, "1");
  g_assert_cmpuint(get(again, "y")->items->len, ==, 2);
  g_assert_true(get(copy, "y") != get(base, "y"));
}

static void test_alias_bomb(void)
{
  /* Billion laughs: nine levels of ten references each describe 10^9 nodes in a few lines. */
  GString *text = g_string_new("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  g_autoptr(GError) error = NULL;

  for (guint level = 1; level <= 9; level++) {
    g_string_append_printf(text, "l%u: &l%u [", level, level);
    for (guint i = 0; i < 10; i++)
      g_string_append_printf(text, "%s*l%u", i ? ", " : "", level - 1);
    g_string_append(text, "]\n");
  }
  error = parse_fail(text->str, text->len);
  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_true(g_str_has_prefix(error->message, SRC ":"));
  g_assert_nonnull(strstr(error->message, "more than 100000 nodes"));
  g_string_free(text, TRUE);
}

static void test_alias_below_cap(void)
{
  /* 10 + 100 + 1000 expanded nodes: aliases are fine while the total stays reasonable. */
  g_autoptr(SlYamlNode) root = parse_ok("a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                        "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n");
  const SlYamlNode *c = get(root, "c");
  const SlYamlNode *inner = g_ptr_array_index(c->items, 9);

  g_assert_cmpuint(c->items->len, ==, 10);
  g_assert_cmpuint(inner->items->len, ==, 10);
  g_assert_cmpuint(((SlYamlNode *)g_ptr_array_index(inner->items, 9))->items->len, ==, 10);
}

static void test_alias_self_reference(void)
{
  const char *text = "a: &a [x, *a]\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
}

static void test_undefined_alias(void)
{
  const char *text = "a: 1\n"
                     "b: *nowhere\n";
  g_autoptr(GError) error = parse_fail(text, strlen(text));

  g_assert_true(g_str_has_prefix(error->message, SRC ":2: "));
}

static char *nested_flow(guint depth)
{
  GString *s = g_string_new("a: ");
  for (guint i = 0; i < depth; i++)
    g_string_append_c(s, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c(s, ']');
  g_string_append_c(s, '\n');
  return g_string_free(s, FALSE);
}

static void test_depth_limit(void)
{
  /* The root map is level 0, so 64 nested sequences under a key are the deepest allowed. */
  g_autofree char *ok = nested_flow(64);
  g_autofree char *deep = nested_flow(65);
  g_autoptr(SlYamlNode) root = parse_ok(ok);
  g_autoptr(GError) error = parse_fail(deep, strlen(deep));
  const SlYamlNode *n = get(root, "a");
  guint levels = 1;

  while (n->items->len > 0) {
    g_assert_cmpint(n->kind, ==, SL_YAML_SEQ);
    n = g_ptr_array_index(n->items, 0);
    levels++;
  }
  g_assert_cmpuint(levels, ==, 64);
  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_cmpstr(error->message, ==, SRC ":1: nesting deeper than 64");
}

static void test_very_deep_nesting(void)
{
  g_autofree char *deep = nested_flow(20000);
  g_autoptr(GError) error = parse_fail(deep, strlen(deep));

  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_nonnull(strstr(error->message, "nesting deeper than 64"));
}

static void test_deep_block_maps(void)
{
  GString *s = g_string_new(NULL);
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 80; i++) {
    for (guint j = 0; j < i; j++)
      g_string_append(s, " ");
    g_string_append_printf(s, "k%u:\n", i);
  }
  error = parse_fail(s->str, s->len);
  g_assert_error(error, SL_YAML_ERROR, SL_YAML_ERROR_STRUCTURE);
  g_assert_cmpstr(error->message, ==, SRC ":66: nesting deeper than 64");
  g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/yamltree/lines/maps-and-sequences", test_map_lines);
  g_test_add_func("/yamltree/lines/crlf", test_crlf_lines);
  g_test_add_func("/yamltree/lines/block-scalar", test_block_scalar);
  g_test_add_func("/yamltree/scalar/styles", test_scalar_styles);
  g_test_add_func("/yamltree/scalar/null-detection", test_null_detection);
  g_test_add_func("/yamltree/map-get", test_map_get);
  g_test_add_func("/yamltree/document/empty", test_empty_document);
  g_test_add_func("/yamltree/document/length-bounds-input", test_length_bounds_input);
  g_test_add_func("/yamltree/document/markers", test_document_markers);
  g_test_add_func("/yamltree/error/syntax-line", test_syntax_error);
  g_test_add_func("/yamltree/error/syntax-unclosed", test_syntax_error_unclosed);
  g_test_add_func("/yamltree/error/two-documents", test_two_documents);
  g_test_add_func("/yamltree/error/second-document-syntax", test_second_document_syntax_error);
  g_test_add_func("/yamltree/error/top-level-not-map", test_top_level_not_map);
  g_test_add_func("/yamltree/error/non-scalar-key", test_non_scalar_key);
  g_test_add_func("/yamltree/error/undefined-alias", test_undefined_alias);
  g_test_add_func("/yamltree/alias/expanded", test_alias_expanded);
  g_test_add_func("/yamltree/alias/below-cap", test_alias_below_cap);
  g_test_add_func("/yamltree/alias/bomb", test_alias_bomb);
  g_test_add_func("/yamltree/alias/self-reference", test_alias_self_reference);
  g_test_add_func("/yamltree/depth/limit", test_depth_limit);
  g_test_add_func("/yamltree/depth/very-deep", test_very_deep_nesting);
  g_test_add_func("/yamltree/depth/block-maps", test_deep_block_maps);
  return g_test_run();
}
