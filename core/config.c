/* Configuration loading, schema validation and typed access. See config.h. */
#include "config.h"

#include "log.h"
#include "yamltree.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  SlKeyType type;
  gboolean set;
  guint line;
  gboolean b;
  gint64 i;
  double d;
  char *s;
  GStrv v;
  guint list_len;
} SlValue;

struct _SlConfig {
  char *source;
  char *text; /* the YAML as read, for handler processes */
  SlYamlNode *root;
  GHashTable *schema;   /* schema path → const SlKeyDef* */
  GHashTable *defaults; /* schema path → SlValue* parsed from SlKeyDef.def */
  GHashTable *values;   /* concrete path → SlValue* as written */
  GPtrArray *owned;     /* SlKeyDef* and strings allocated for plugin keys */
};

GQuark sl_config_error_quark(void)
{
  return g_quark_from_static_string("sl-config-error");
}

static void value_free(gpointer p)
{
  SlValue *v = p;
  if (v == NULL)
    return;
  g_free(v->s);
  g_strfreev(v->v);
  g_free(v);
}

static void diag_free(gpointer p)
{
  SlDiag *d = p;
  g_free(d->text);
  g_free(d);
}

GPtrArray *sl_diag_array_new(void)
{
  return g_ptr_array_new_with_free_func(diag_free);
}

static void diag_add(GPtrArray *diags, SlDiagLevel level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void diag_add(GPtrArray *diags, SlDiagLevel level, const char *fmt, ...)
{
  va_list ap;
  SlDiag *d = g_new0(SlDiag, 1);
  va_start(ap, fmt);
  d->level = level;
  d->text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(diags, d);
}

/* ---- scalar parsing ---------------------------------------------------------------------- */

gboolean sl_config_parse_bool(const char *t, gboolean *out)
{
  static const char *yes[] = {"true", "yes", "on", "y", NULL};
  static const char *no[] = {"false", "no", "off", "n", NULL};
  for (guint i = 0; yes[i]; i++) {
    if (g_ascii_strcasecmp(t, yes[i]) == 0) {
      *out = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp(t, no[i]) == 0) {
      *out = FALSE;
      return TRUE;
    }
  }
  return FALSE;
}

static gboolean parse_int(const char *t, gint64 *out)
{
  char *end = NULL;
  gint64 v;
  if (*t == '\0' || g_ascii_isspace(*t))
    return FALSE;
  errno = 0;
  v = g_ascii_strtoll(t, &end, 10);
  if (errno != 0 || end == t || *end != '\0')
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean parse_double(const char *t, double *out)
{
  char *end = NULL;
  double v;
  if (*t == '\0' || g_ascii_isspace(*t))
    return FALSE;
  errno = 0;
  v = g_ascii_strtod(t, &end);
  if (errno != 0 || end == t || *end != '\0' || !isfinite(v))
    return FALSE;
  *out = v;
  return TRUE;
}

/* Durations are written the way LiveKit's Go configs write them ("15s", "1m30s", "500ms"), or as
 * a bare number of seconds. */
gboolean sl_config_parse_duration(const char *t, double *seconds)
{
  static const struct {
    const char *unit;
    double scale;
  } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3},
               {"s", 1.0},   {"m", 60.0},  {"h", 3600.0}};
  double total = 0;
  gboolean neg = FALSE;
  const char *p = t;

  if (parse_double(t, seconds))
    return TRUE;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  if (*p == '\0')
    return FALSE;
  while (*p != '\0') {
    char *end = NULL;
    double n;
    gboolean matched = FALSE;
    if (!g_ascii_isdigit(*p) && *p != '.')
      return FALSE;
    n = g_ascii_strtod(p, &end);
    if (end == p)
      return FALSE;
    p = end;
    /* longest unit first: "ms" before "m" */
    for (guint u = 0; u < G_N_ELEMENTS(units) && !matched; u++) {
      gsize ul = strlen(units[u].unit);
      if (strncmp(p, units[u].unit, ul) == 0 &&
          !(units[u].unit[0] == 'm' && ul == 1 && p[1] == 's')) {
        total += n * units[u].scale;
        p += ul;
        matched = TRUE;
      }
    }
    if (!matched)
      return FALSE;
  }
  if (!isfinite(total))
    return FALSE;
  *seconds = neg ? -total : total;
  return TRUE;
}

/* ---- schema ------------------------------------------------------------------------------ */

static const char *type_name(SlKeyType t)
{
  switch (t) {
  case SL_KEY_BOOL:
    return "true or false";
  case SL_KEY_INT:
    return "a whole number";
  case SL_KEY_DOUBLE:
    return "a number";
  case SL_KEY_STRING:
    return "a text value";
  case SL_KEY_PORT:
    return "a port number (0-65535, or -1 to disable)";
  case SL_KEY_DURATION:
    return "a duration such as 15s, 500ms or 2m";
  case SL_KEY_STRING_LIST:
    return "a list of text values";
  case SL_KEY_SECTION:
  case SL_KEY_FREEMAP:
    return "a mapping of keys";
  case SL_KEY_LIST:
    return "a list of mappings";
  case SL_KEY_ANY:
    return "any value";
  }
  return "?";
}

static const char *kind_name(const SlYamlNode *n)
{
  switch (n->kind) {
  case SL_YAML_MAP:
    return "a mapping";
  case SL_YAML_SEQ:
    return "a list";
  default:
    return "a single value";
  }
}

static gboolean has_range(const SlKeyDef *def)
{
  return !(def->min == 0 && def->max == 0);
}

/* Converts scalar text to a typed value per `def`. On failure `problem` (transfer full) says
 * what is wrong in words a person can act on. */
static gboolean parse_scalar(const SlKeyDef *def, const char *t, SlValue *v, char **problem)
{
  v->type = def->type;
  switch (def->type) {
  case SL_KEY_BOOL:
    if (!sl_config_parse_bool(t, &v->b))
      goto bad;
    return TRUE;
  case SL_KEY_INT:
    if (!parse_int(t, &v->i))
      goto bad;
    if (has_range(def) && (v->i < def->min || v->i > def->max)) {
      *problem = g_strdup_printf("%s is out of range (%.0f to %.0f)", t, def->min, def->max);
      return FALSE;
    }
    v->d = (double)v->i;
    return TRUE;
  case SL_KEY_PORT:
    if (!parse_int(t, &v->i) || v->i < -1 || v->i > 65535)
      goto bad;
    v->d = (double)v->i;
    return TRUE;
  case SL_KEY_DOUBLE:
    if (!parse_double(t, &v->d))
      goto bad;
    if (has_range(def) && (v->d < def->min || v->d > def->max)) {
      *problem = g_strdup_printf("%s is out of range (%g to %g)", t, def->min, def->max);
      return FALSE;
    }
    return TRUE;
  case SL_KEY_DURATION:
    if (!sl_config_parse_duration(t, &v->d))
      goto bad;
    if (v->d < 0) {
      *problem = g_strdup_printf("%s is negative; a duration is 0 or more", t);
      return FALSE;
    }
    if (has_range(def) && (v->d < def->min || v->d > def->max)) {
      *problem = g_strdup_printf("%s is out of range (%gs to %gs)", t, def->min, def->max);
      return FALSE;
    }
    return TRUE;
  case SL_KEY_STRING:
    v->s = g_strdup(t);
    return TRUE;
  case SL_KEY_STRING_LIST: {
    char *one[] = {(char *)t, NULL};
    v->v = g_strdupv(one);
    return TRUE;
  }
  default:
    break;
  }
bad:
  *problem = g_strdup_printf("'%s' is not %s", t, type_name(def->type));
  return FALSE;
}

static void add_default(SlConfig *cfg, const char *path, const SlKeyDef *def)
{
  SlValue *v;
  g_autofree char *problem = NULL;
  if (def->def == NULL)
    return;
  v = g_new0(SlValue, 1);
  if (!parse_scalar(def, def->def, v, &problem)) {
    /* A bad default is a bug in a declaration; the key simply has no default. */
    sl_error("config", "default of %s: %s", path, problem);
    value_free(v);
    return;
  }
  g_hash_table_replace(cfg->defaults, g_strdup(path), v);
}

static void schema_add(SlConfig *cfg, const char *path, const SlKeyDef *def)
{
  g_hash_table_replace(cfg->schema, g_strdup(path), (gpointer)def);
  add_default(cfg, path, def);
}

static const SlKeyDef *schema_get(const SlConfig *cfg, const char *path)
{
  return g_hash_table_lookup(cfg->schema, path);
}

char *sl_config_schema_path(const char *path)
{
  g_auto(GStrv) parts = g_strsplit(path, ".", -1);
  GString *out = g_string_new(NULL);
  for (guint i = 0; parts[i]; i++) {
    gboolean digits = parts[i][0] != '\0';
    for (const char *c = parts[i]; *c; c++)
      digits = digits && g_ascii_isdigit(*c);
    if (digits && i > 0) {
      g_string_append(out, "[]");
      continue;
    }
    if (i > 0)
      g_string_append_c(out, '.');
    g_string_append(out, parts[i]);
  }
  return g_string_free(out, FALSE);
}

/* "ingresses.0.stream_key" → "ingresses[0].stream_key", for messages. */
static char *display_path(const char *path)
{
  g_auto(GStrv) parts = g_strsplit(path, ".", -1);
  GString *out = g_string_new(NULL);
  for (guint i = 0; parts[i]; i++) {
    gboolean digits = parts[i][0] != '\0';
    for (const char *c = parts[i]; *c; c++)
      digits = digits && g_ascii_isdigit(*c);
    if (digits && i > 0)
      g_string_append_printf(out, "[%s]", parts[i]);
    else
      g_string_append_printf(out, "%s%s", i > 0 ? "." : "", parts[i]);
  }
  return g_string_free(out, FALSE);
}

/* ---- construction ------------------------------------------------------------------------ */

SlConfig *sl_config_new_from_text(const char *text, gsize len, const char *source, GError **error)
{
  g_autoptr(SlConfig) cfg = g_new0(SlConfig, 1);
  cfg->source = g_strdup(source);
  cfg->text = g_strndup(text ? text : "", text ? len : 0);
  cfg->schema = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  cfg->defaults = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
  cfg->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, value_free);
  cfg->owned = g_ptr_array_new_with_free_func(g_free);
  for (const SlKeyDef *d = sl_core_keys; d->path != NULL; d++)
    schema_add(cfg, d->path, d);
  cfg->root = sl_yaml_parse(text ? text : "", text ? len : 0, source, error);
  if (cfg->root == NULL) {
    if (error && *error) {
      (*error)->domain = SL_CONFIG_ERROR;
      (*error)->code = SL_CONFIG_ERROR_PARSE;
    }
    return NULL;
  }
  return g_steal_pointer(&cfg);
}

SlConfig *sl_config_load(const char *cli_file, const char *cli_body, GError **error)
{
  static const struct {
    const char *env;
    gboolean is_file;
  } sources[] = {
      {"SLUICE_CONFIG_FILE", TRUE},   {"SLUICE_CONFIG_BODY", FALSE}, {"INGRESS_CONFIG_FILE", TRUE},
      {"INGRESS_CONFIG_BODY", FALSE}, {"EGRESS_CONFIG_FILE", TRUE},  {"EGRESS_CONFIG_BODY", FALSE},
  };
  const char *file = cli_file;
  const char *body = cli_body;
  g_autofree char *body_name = NULL;

  if (file == NULL && body == NULL) {
    for (guint i = 0; i < G_N_ELEMENTS(sources); i++) {
      const char *v = g_getenv(sources[i].env);
      if (v == NULL || *v == '\0')
        continue;
      if (sources[i].is_file) {
        file = v;
      } else {
        body = v;
        body_name = g_strdup_printf("<%s>", sources[i].env);
      }
      break;
    }
  }
  if (file != NULL) {
    g_autofree char *text = NULL;
    gsize len = 0;
    GError *local = NULL;
    if (!g_file_get_contents(file, &text, &len, &local)) {
      g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SOURCE, "cannot read config: %s",
                  local->message);
      g_error_free(local);
      return NULL;
    }
    return sl_config_new_from_text(text, len, file, error);
  }
  if (body != NULL)
    return sl_config_new_from_text(body, strlen(body), body_name ? body_name : "<--config-body>",
                                   error);
  return sl_config_new_from_text(sl_embedded_default_config, strlen(sl_embedded_default_config),
                                 "<embedded default>", error);
}

void sl_config_free(SlConfig *cfg)
{
  if (cfg == NULL)
    return;
  g_free(cfg->source);
  g_free(cfg->text);
  sl_yaml_node_free(cfg->root);
  g_clear_pointer(&cfg->schema, g_hash_table_unref);
  g_clear_pointer(&cfg->defaults, g_hash_table_unref);
  g_clear_pointer(&cfg->values, g_hash_table_unref);
  g_clear_pointer(&cfg->owned, g_ptr_array_unref);
  g_free(cfg);
}

const char *sl_config_source(const SlConfig *cfg)
{
  return cfg->source;
}

const char *sl_config_text(const SlConfig *cfg)
{
  return cfg->text;
}

/* Environment overrides are stored as values written on "line 0". */
static void set_override(SlConfig *cfg, const char *path, const char *value)
{
  SlValue *v = g_new0(SlValue, 1);
  v->type = SL_KEY_STRING;
  v->set = TRUE;
  v->s = g_strdup(value);
  g_hash_table_replace(cfg->values, g_strdup(path), v);
}

void sl_config_apply_env(SlConfig *cfg)
{
  const char *k = g_getenv("LIVEKIT_API_KEY");
  const char *s = g_getenv("LIVEKIT_API_SECRET");
  /* Stored apart and applied after validation, so the file's own values are still checked. */
  if (k != NULL && *k != '\0')
    g_hash_table_replace(
        cfg->defaults, g_strdup("\x01env.api_key"),
        g_memdup2(&(SlValue){.type = SL_KEY_STRING, .s = g_strdup(k)}, sizeof(SlValue)));
  if (s != NULL && *s != '\0')
    g_hash_table_replace(
        cfg->defaults, g_strdup("\x01env.api_secret"),
        g_memdup2(&(SlValue){.type = SL_KEY_STRING, .s = g_strdup(s)}, sizeof(SlValue)));
}

/* ---- plugin keys ------------------------------------------------------------------------- */

gboolean sl_config_add_plugin_keys(SlConfig *cfg, const char *plugin, const SluiceConfigKey *keys,
                                   GError **error)
{
  g_autofree char *section = g_strdup_printf("plugins.%s", plugin);
  SlKeyDef *sec = g_new0(SlKeyDef, 1);
  char *sec_path = g_strdup(section);
  sec->path = sec_path;
  sec->type = SL_KEY_SECTION;
  sec->help = "settings of this plugin";
  g_ptr_array_add(cfg->owned, sec);
  g_ptr_array_add(cfg->owned, sec_path);
  schema_add(cfg, section, sec);

  for (const SluiceConfigKey *k = keys; k != NULL && k->name != NULL; k++) {
    SlKeyDef *def;
    char *path;
    if (k->type < SLUICE_CONFIG_BOOL || k->type > SLUICE_CONFIG_STRING_LIST) {
      g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SCHEMA,
                  "plugin %s declares key %s with an unknown type %d", plugin, k->name, k->type);
      return FALSE;
    }
    if (k->flags & SLUICE_CONFIG_FLAG_TOP_LEVEL) {
      const SlKeyDef *core = schema_get(cfg, k->name);
      path = g_strdup(k->name);
      if (core != NULL && core->type != (SlKeyType)k->type) {
        g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_SCHEMA,
                    "plugin %s declares top-level key %s as %s, but sluice reads it as %s", plugin,
                    k->name, type_name((SlKeyType)k->type), type_name(core->type));
        g_free(path);
        return FALSE;
      }
    } else {
      path = g_strdup_printf("%s.%s", section, k->name);
    }
    def = g_new0(SlKeyDef, 1);
    def->path = path;
    def->type = (SlKeyType)k->type;
    def->def = k->default_value;
    def->min = k->min;
    def->max = k->max;
    def->help = k->help;
    def->flags = k->flags;
    g_ptr_array_add(cfg->owned, def);
    g_ptr_array_add(cfg->owned, path);
    schema_add(cfg, path, def);
  }
  return TRUE;
}

/* ---- the plugin bootstrap keys ----------------------------------------------------------- */

static GStrv read_string_list(SlConfig *cfg, const SlYamlPair *pair, const char *path,
                              GPtrArray *diags)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  const SlYamlNode *n = pair->value;
  if (sl_yaml_is_null(n))
    return g_strv_builder_end(b);
  if (n->kind == SL_YAML_SCALAR) {
    g_strv_builder_add(b, n->scalar);
  } else if (n->kind == SL_YAML_SEQ) {
    for (guint i = 0; i < n->items->len; i++) {
      const SlYamlNode *it = g_ptr_array_index(n->items, i);
      if (it->kind != SL_YAML_SCALAR) {
        diag_add(diags, SL_DIAG_ERROR, "%s:%u: %s: each item must be a single value, found %s",
                 cfg->source, it->line, path, kind_name(it));
        continue;
      }
      g_strv_builder_add(b, it->scalar);
    }
  } else {
    diag_add(diags, SL_DIAG_ERROR, "%s:%u: %s: expected a list of text values, found %s",
             cfg->source, n->line, path, kind_name(n));
  }
  return g_strv_builder_end(b);
}

GStrv sl_config_plugin_path(SlConfig *cfg, const char *install_dir, GPtrArray *diags)
{
  const SlYamlPair *plugins = sl_yaml_map_get(cfg->root, "plugins");
  const SlYamlPair *path = plugins ? sl_yaml_map_get(plugins->value, "path") : NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  const char *env = g_getenv("SLUICE_PLUGIN_PATH");

  if (path != NULL) {
    g_auto(GStrv) list = read_string_list(cfg, path, "plugins.path", diags);
    for (guint i = 0; list[i]; i++) {
      /* Relative directories are relative to the config file, as a person reading it expects. */
      if (!g_path_is_absolute(list[i]) && cfg->source[0] != '<') {
        g_autofree char *dir = g_path_get_dirname(cfg->source);
        g_autofree char *abs = g_build_filename(dir, list[i], NULL);
        g_strv_builder_add(b, abs);
      } else {
        g_strv_builder_add(b, list[i]);
      }
    }
  }
  if (env != NULL && *env != '\0') {
    g_auto(GStrv) dirs = g_strsplit(env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (guint i = 0; dirs[i]; i++)
      if (*dirs[i])
        g_strv_builder_add(b, dirs[i]);
  }
  if (install_dir != NULL)
    g_strv_builder_add(b, install_dir);
  return g_strv_builder_end(b);
}

GStrv sl_config_plugin_enable(SlConfig *cfg, const char *const *default_enable, GPtrArray *diags)
{
  const SlYamlPair *plugins = sl_yaml_map_get(cfg->root, "plugins");
  const SlYamlPair *en = plugins ? sl_yaml_map_get(plugins->value, "enable") : NULL;
  if (plugins != NULL && plugins->value->kind != SL_YAML_MAP && !sl_yaml_is_null(plugins->value)) {
    diag_add(diags, SL_DIAG_ERROR, "%s:%u: plugins: expected a mapping of keys, found %s",
             cfg->source, plugins->value->line, kind_name(plugins->value));
    return g_new0(char *, 1);
  }
  if (en == NULL || sl_yaml_is_null(en->value))
    return g_strdupv((char **)default_enable);
  return read_string_list(cfg, en, "plugins.enable", diags);
}

/* ---- validation -------------------------------------------------------------------------- */

static guint edit_distance(const char *a, const char *b)
{
  gsize la = strlen(a), lb = strlen(b);
  g_autofree guint *row = g_new(guint, lb + 1);
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint)j;
  for (gsize i = 1; i <= la; i++) {
    guint prev = row[0];
    row[0] = (guint)i;
    for (gsize j = 1; j <= lb; j++) {
      guint cur = row[j];
      guint sub = prev + (a[i - 1] != b[j - 1]);
      row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), sub);
      prev = cur;
    }
  }
  return row[lb];
}

/* The closest declared sibling of an unknown key, for "did you mean" hints on typos. */
static const char *suggest(const SlConfig *cfg, const char *schema_parent, const char *key)
{
  GHashTableIter it;
  gpointer k;
  const char *best = NULL;
  guint best_d = 3;
  gsize plen = schema_parent ? strlen(schema_parent) : 0;
  g_hash_table_iter_init(&it, cfg->schema);
  while (g_hash_table_iter_next(&it, &k, NULL)) {
    const char *path = k;
    const char *leaf;
    guint d;
    if (plen > 0) {
      if (strncmp(path, schema_parent, plen) != 0 || path[plen] != '.')
        continue;
      leaf = path + plen + 1;
    } else {
      leaf = path;
    }
    if (strchr(leaf, '.') != NULL || strchr(leaf, '[') != NULL)
      continue;
    d = edit_distance(key, leaf);
    if (d < best_d) {
      best_d = d;
      best = leaf;
    }
  }
  return best;
}

typedef struct {
  SlConfig *cfg;
  GPtrArray *diags;
} Walk;

static void walk_map(Walk *w, const SlYamlNode *map, const char *cpath, const char *spath);

static void check_required(Walk *w, const char *cpath, const char *spath, guint line)
{
  GHashTableIter it;
  gpointer k, v;
  gsize plen = spath ? strlen(spath) : 0;
  g_hash_table_iter_init(&it, w->cfg->schema);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const SlKeyDef *def = v;
    const char *path = k;
    const char *leaf;
    g_autofree char *concrete = NULL;
    if (!(def->flags & SL_KEY_REQUIRED))
      continue;
    if (plen > 0) {
      if (strncmp(path, spath, plen) != 0 || path[plen] != '.')
        continue;
      leaf = path + plen + 1;
    } else {
      leaf = path;
    }
    if (strchr(leaf, '.') != NULL || strchr(leaf, '[') != NULL)
      continue;
    concrete = cpath ? g_strdup_printf("%s.%s", cpath, leaf) : g_strdup(leaf);
    if (!g_hash_table_contains(w->cfg->values, concrete)) {
      g_autofree char *disp = display_path(concrete);
      diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: required key is missing", w->cfg->source, line,
               disp);
    }
  }
}

/* A required key inside a section that was not written at all (or written as "section:" with
 * nothing) is missed by the per-section check above; report it against the nearest written
 * parent, or line 1. Keys inside lists are only checked per item. */
static void check_required_unwritten(Walk *w)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, w->cfg->schema);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    const SlKeyDef *def = v;
    const char *path = k;
    g_autofree char *parent = NULL;
    const char *dot;
    guint line = 1;
    if (!(def->flags & SL_KEY_REQUIRED) || strchr(path, '[') != NULL)
      continue;
    dot = strrchr(path, '.');
    if (dot == NULL)
      continue; /* top-level keys: check_required(NULL) covers them */
    parent = g_strndup(path, dot - path);
    if (g_hash_table_contains(w->cfg->values, parent))
      continue; /* the section was written and checked as it was walked */
    for (;;) {
      SlValue *pv = g_hash_table_lookup(w->cfg->values, parent);
      char *up;
      if (pv != NULL) {
        line = pv->line;
        break;
      }
      up = strrchr(parent, '.');
      if (up == NULL)
        break;
      *up = '\0';
    }
    diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: required key is missing", w->cfg->source, line,
             path);
  }
}

static void store(Walk *w, const char *cpath, SlValue *v)
{
  g_hash_table_replace(w->cfg->values, g_strdup(cpath), v);
}

static void walk_value(Walk *w, const SlKeyDef *def, const SlYamlNode *n, const char *cpath,
                       const char *spath, guint line)
{
  g_autofree char *disp = display_path(cpath);
  SlValue *v = g_new0(SlValue, 1);
  v->type = def->type;
  v->set = TRUE;
  v->line = line;

  if (sl_yaml_is_null(n)) {
    /* "key:" with nothing after it: the key keeps its default. */
    value_free(v);
    return;
  }

  switch (def->type) {
  case SL_KEY_SECTION:
    if (n->kind != SL_YAML_MAP)
      goto wrong_kind;
    store(w, cpath, v);
    walk_map(w, n, cpath, spath);
    check_required(w, cpath, spath, line);
    return;
  case SL_KEY_FREEMAP:
    if (n->kind != SL_YAML_MAP)
      goto wrong_kind;
    {
      /* Scalar entries are kept as key, value, key, value, ...; nested values are not read. */
      g_autoptr(GStrvBuilder) b = g_strv_builder_new();
      for (guint i = 0; i < n->items->len; i++) {
        const SlYamlPair *pair = g_ptr_array_index(n->items, i);
        if (pair->value->kind != SL_YAML_SCALAR)
          continue;
        g_strv_builder_add(b, pair->key);
        g_strv_builder_add(b, pair->value->scalar ? pair->value->scalar : "");
      }
      v->v = g_strv_builder_end(b);
    }
    store(w, cpath, v);
    return;
  case SL_KEY_ANY:
    store(w, cpath, v);
    return;
  case SL_KEY_LIST:
    if (n->kind != SL_YAML_SEQ)
      goto wrong_kind;
    v->list_len = n->items->len;
    store(w, cpath, v);
    for (guint i = 0; i < n->items->len; i++) {
      const SlYamlNode *item = g_ptr_array_index(n->items, i);
      g_autofree char *ic = g_strdup_printf("%s.%u", cpath, i);
      g_autofree char *is = g_strdup_printf("%s[]", spath);
      if (item->kind != SL_YAML_MAP) {
        g_autofree char *idisp = display_path(ic);
        diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: expected a mapping of keys, found %s",
                 w->cfg->source, item->line, idisp, kind_name(item));
        continue;
      }
      walk_map(w, item, ic, is);
      check_required(w, ic, is, item->line);
    }
    return;
  case SL_KEY_STRING_LIST:
    if (n->kind == SL_YAML_SEQ) {
      g_autoptr(GStrvBuilder) b = g_strv_builder_new();
      for (guint i = 0; i < n->items->len; i++) {
        const SlYamlNode *it = g_ptr_array_index(n->items, i);
        if (it->kind != SL_YAML_SCALAR) {
          diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: each item must be a single value, found %s",
                   w->cfg->source, it->line, disp, kind_name(it));
          value_free(v);
          return;
        }
        g_strv_builder_add(b, it->scalar);
      }
      v->v = g_strv_builder_end(b);
      store(w, cpath, v);
      return;
    }
    break;
  default:
    break;
  }

  if (n->kind != SL_YAML_SCALAR)
    goto wrong_kind;
  {
    g_autofree char *problem = NULL;
    if (!parse_scalar(def, n->scalar, v, &problem)) {
      diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: %s", w->cfg->source, n->line, disp, problem);
      value_free(v);
      return;
    }
    v->set = TRUE;
    v->line = line;
    if (def->flags & SL_KEY_SECRET) {
      sl_log_register_secret(v->s ? v->s : n->scalar);
    }
    store(w, cpath, v);
  }
  return;

wrong_kind:
  diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: expected %s, found %s", w->cfg->source, n->line,
           disp, type_name(def->type), kind_name(n));
  value_free(v);
}

static void walk_map(Walk *w, const SlYamlNode *map, const char *cpath, const char *spath)
{
  for (guint i = 0; i < map->items->len; i++) {
    const SlYamlPair *p = g_ptr_array_index(map->items, i);
    g_autofree char *c = cpath ? g_strdup_printf("%s.%s", cpath, p->key) : g_strdup(p->key);
    g_autofree char *s = spath ? g_strdup_printf("%s.%s", spath, p->key) : g_strdup(p->key);
    g_autofree char *disp = display_path(c);
    const SlKeyDef *def = schema_get(w->cfg, s);

    /* A key is one level: "a.b" written as one (quoted) key is not the nested a: b. */
    if (strchr(p->key, '.') != NULL)
      def = NULL;
    if (def == NULL) {
      const char *hint;
      if (g_strcmp0(spath, "plugins") == 0 && p->value->kind == SL_YAML_MAP) {
        diag_add(w->diags, SL_DIAG_WARNING,
                 "%s:%u: %s: plugin '%s' is not enabled; its settings are ignored", w->cfg->source,
                 p->line, disp, p->key);
        continue;
      }
      hint = suggest(w->cfg, spath, p->key);
      if (hint != NULL)
        diag_add(w->diags, SL_DIAG_WARNING, "%s:%u: %s: unknown key, ignored (did you mean '%s'?)",
                 w->cfg->source, p->line, disp, hint);
      else
        diag_add(w->diags, SL_DIAG_WARNING, "%s:%u: %s: unknown key, ignored", w->cfg->source,
                 p->line, disp);
      continue;
    }
    if (def->alias_of != NULL) {
      const SlKeyDef *canon = schema_get(w->cfg, def->alias_of);
      if (g_hash_table_contains(w->cfg->values, def->alias_of)) {
        diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: also set as %s on line %u; keep one",
                 w->cfg->source, p->line, disp, def->alias_of,
                 ((SlValue *)g_hash_table_lookup(w->cfg->values, def->alias_of))->line);
        continue;
      }
      diag_add(w->diags, SL_DIAG_NOTE, "%s:%u: %s: older spelling of %s, accepted", w->cfg->source,
               p->line, disp, def->alias_of);
      walk_value(w, canon, p->value, def->alias_of, def->alias_of, p->line);
      continue;
    }
    if (g_hash_table_contains(w->cfg->values, c)) {
      diag_add(w->diags, SL_DIAG_ERROR, "%s:%u: %s: set more than once (first on line %u)",
               w->cfg->source, p->line, disp,
               ((SlValue *)g_hash_table_lookup(w->cfg->values, c))->line);
      continue;
    }
    if (def->flags & SL_KEY_UNUSED) {
      if (def->help != NULL)
        diag_add(w->diags, SL_DIAG_NOTE, "%s:%u: %s: accepted; not used by sluice (%s)",
                 w->cfg->source, p->line, disp, def->help);
      else
        diag_add(w->diags, SL_DIAG_NOTE, "%s:%u: %s: accepted; not used by sluice", w->cfg->source,
                 p->line, disp);
    }
    walk_value(w, def, p->value, c, s, p->line);
  }
}

gboolean sl_config_validate(SlConfig *cfg, GPtrArray *diags)
{
  Walk w = {.cfg = cfg, .diags = diags};
  SlValue *env;

  walk_map(&w, cfg->root, NULL, NULL);
  check_required(&w, NULL, NULL, 1);
  check_required_unwritten(&w);

  env = g_hash_table_lookup(cfg->defaults, "\x01env.api_key");
  if (env != NULL) {
    set_override(cfg, "api_key", env->s);
    sl_log_register_secret(env->s);
  }
  env = g_hash_table_lookup(cfg->defaults, "\x01env.api_secret");
  if (env != NULL) {
    set_override(cfg, "api_secret", env->s);
    sl_log_register_secret(env->s);
  }

  for (guint i = 0; i < diags->len; i++)
    if (((SlDiag *)g_ptr_array_index(diags, i))->level == SL_DIAG_ERROR)
      return FALSE;
  return TRUE;
}

/* ---- getters ----------------------------------------------------------------------------- */

static const SlValue *lookup(const SlConfig *cfg, const char *path, const SlKeyDef **out_def)
{
  g_autofree char *spath = sl_config_schema_path(path);
  const SlKeyDef *def = schema_get(cfg, spath);
  const SlValue *v;
  if (def != NULL && def->alias_of != NULL) {
    path = def->alias_of;
    g_free(spath);
    spath = g_strdup(path);
    def = schema_get(cfg, spath);
  }
  *out_def = def;
  if (def == NULL) {
    sl_error("config", "internal: no such key %s", path);
    return NULL;
  }
  v = g_hash_table_lookup(cfg->values, path);
  if (v != NULL)
    return v;
  return g_hash_table_lookup(cfg->defaults, spath);
}

static gboolean type_ok(const SlKeyDef *def, const char *path, gboolean ok)
{
  if (!ok)
    sl_error("config", "internal: %s read with the wrong type", path);
  return ok;
}

gboolean sl_config_get_bool(const SlConfig *cfg, const char *path)
{
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path, def->type == SL_KEY_BOOL))
    return FALSE;
  return v ? v->b : FALSE;
}

gint64 sl_config_get_int(const SlConfig *cfg, const char *path)
{
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path, def->type == SL_KEY_INT || def->type == SL_KEY_PORT))
    return 0;
  return v ? v->i : 0;
}

double sl_config_get_double(const SlConfig *cfg, const char *path)
{
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path,
                              def->type == SL_KEY_DOUBLE || def->type == SL_KEY_INT ||
                                  def->type == SL_KEY_DURATION || def->type == SL_KEY_PORT))
    return 0;
  return v ? v->d : 0;
}

const char *sl_config_get_string(const SlConfig *cfg, const char *path)
{
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path, def->type == SL_KEY_STRING))
    return NULL;
  return v ? v->s : NULL;
}

const char *const *sl_config_get_strv(const SlConfig *cfg, const char *path)
{
  static const char *const empty[] = {NULL};
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path, def->type == SL_KEY_STRING_LIST))
    return empty;
  return v && v->v ? (const char *const *)v->v : empty;
}

const char *const *sl_config_get_map_pairs(const SlConfig *cfg, const char *path)
{
  static const char *const empty[] = {NULL};
  const SlKeyDef *def;
  const SlValue *v = lookup(cfg, path, &def);
  if (def == NULL || !type_ok(def, path, def->type == SL_KEY_FREEMAP))
    return empty;
  return v && v->v ? (const char *const *)v->v : empty;
}

gboolean sl_config_is_set(const SlConfig *cfg, const char *path)
{
  const SlValue *v = g_hash_table_lookup(cfg->values, path);
  return v != NULL && v->set;
}

guint sl_config_list_len(const SlConfig *cfg, const char *path)
{
  const SlValue *v = g_hash_table_lookup(cfg->values, path);
  return v ? v->list_len : 0;
}

guint sl_config_line(const SlConfig *cfg, const char *path)
{
  const SlValue *v = g_hash_table_lookup(cfg->values, path);
  return v ? v->line : 0;
}

const SlKeyDef *sl_config_key(const SlConfig *cfg, const char *path)
{
  g_autofree char *spath = sl_config_schema_path(path);
  const SlKeyDef *def = schema_get(cfg, spath);
  if (def != NULL && def->alias_of != NULL)
    def = schema_get(cfg, def->alias_of);
  return def;
}
