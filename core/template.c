/* Output file names and path safety. See template.h. */
#include "template.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

GQuark sl_path_error_quark(void)
{
  return g_quark_from_static_string("sl-path-error");
}

char *sl_template_expand(const char *tmpl, const SlTemplateVars *vars)
{
  g_autoptr(GDateTime) utc = g_date_time_to_utc(vars->now);
  g_autofree char *time_s = g_date_time_format(utc, "%Y-%m-%dT%H%M%S");
  g_autofree char *utc_s = NULL;
  GString *out = g_string_new(NULL);
  struct {
    const char *name;
    const char *value;
  } table[] = {
      {"{room_name}", vars->room_name},
      {"{room_id}", vars->room_id},
      {"{publisher_identity}", vars->publisher_identity},
      {"{ingress_id}", vars->ingress_id},
      {"{time}", time_s},
      {"{utc}", NULL},
  };
  {
    g_autofree char *base = g_date_time_format(utc, "%Y%m%d%H%M%S");
    utc_s = g_strdup_printf("%s%03d", base, g_date_time_get_microsecond(utc) / 1000);
    table[5].value = utc_s;
  }

  for (const char *p = tmpl ? tmpl : ""; *p;) {
    gboolean matched = FALSE;
    if (*p == '{') {
      for (guint i = 0; i < G_N_ELEMENTS(table); i++) {
        gsize n = strlen(table[i].name);
        if (strncmp(p, table[i].name, n) == 0) {
          g_string_append(out, table[i].value ? table[i].value : "");
          p += n;
          matched = TRUE;
          break;
        }
      }
    }
    if (!matched)
      g_string_append_c(out, *p++);
  }
  return g_string_free(out, FALSE);
}

char *sl_template_default_name(const char *tmpl, const char *identifier, const SlTemplateVars *vars)
{
  g_autofree char *full = NULL;
  if (tmpl == NULL || *tmpl == '\0')
    full = g_strdup_printf("%s-{time}", identifier ? identifier : "output");
  else if (g_str_has_suffix(tmpl, "/"))
    full = g_strdup_printf("%s%s-{time}", tmpl, identifier ? identifier : "output");
  else
    full = g_strdup(tmpl);
  return sl_template_expand(full, vars);
}

char *sl_path_normalize(const char *relative, GError **error)
{
  g_auto(GStrv) parts = NULL;
  g_autoptr(GPtrArray) stack = g_ptr_array_new();
  GString *out;

  if (relative == NULL || *relative == '\0') {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_INVALID, "empty path");
    return NULL;
  }
  if (relative[0] == '/') {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_ABSOLUTE,
                "'%s' is absolute; output paths are relative to output_dir", relative);
    return NULL;
  }
  for (const char *c = relative; *c; c++) {
    if ((unsigned char)*c < 0x20 || *c == 0x7f) {
      g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_INVALID, "path contains a control character");
      return NULL;
    }
  }
  parts = g_strsplit(relative, "/", -1);
  for (guint i = 0; parts[i]; i++) {
    if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
      continue;
    if (strcmp(parts[i], "..") == 0) {
      if (stack->len == 0) {
        g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES, "'%s' leads outside output_dir",
                    relative);
        return NULL;
      }
      g_ptr_array_remove_index(stack, stack->len - 1);
      continue;
    }
    g_ptr_array_add(stack, parts[i]);
  }
  if (stack->len == 0) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_INVALID, "'%s' names no file", relative);
    return NULL;
  }
  out = g_string_new(NULL);
  for (guint i = 0; i < stack->len; i++) {
    if (i > 0)
      g_string_append_c(out, '/');
    g_string_append(out, g_ptr_array_index(stack, i));
  }
  return g_string_free(out, FALSE);
}

static gboolean inside(const char *root, const char *path)
{
  gsize n = strlen(root);
  return strncmp(root, path, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1);
}

char *sl_path_resolve(const char *base_dir, const char *relative, char **out_abs, GError **error)
{
  g_autofree char *norm = sl_path_normalize(relative, error);
  g_autofree char *root = NULL;
  g_autofree char *abs = NULL;
  g_autofree char *parent = NULL;
  char real_parent[PATH_MAX];
  struct stat st;

  if (norm == NULL)
    return NULL;
  if (g_mkdir_with_parents(base_dir, 0755) != 0) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_IO, "cannot create %s: %s", base_dir,
                g_strerror(errno));
    return NULL;
  }
  root = realpath(base_dir, NULL);
  if (root == NULL) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_IO, "%s: %s", base_dir, g_strerror(errno));
    return NULL;
  }
  abs = g_build_filename(root, norm, NULL);
  parent = g_path_get_dirname(abs);
  /* Every existing directory on the way must resolve inside the root: a symlinked directory
   * pointing elsewhere is refused before anything is created through it. */
  {
    g_auto(GStrv) parts = g_strsplit(norm, "/", -1);
    g_autofree char *walk = g_strdup(root);
    for (guint i = 0; parts[i] && parts[i + 1]; i++) {
      char *next = g_build_filename(walk, parts[i], NULL);
      g_free(walk);
      walk = next;
      if (lstat(walk, &st) == 0) {
        char real[PATH_MAX];
        if (realpath(walk, real) == NULL || !inside(root, real)) {
          g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES,
                      "'%s' leads outside output_dir through a symlink", relative);
          return NULL;
        }
      }
    }
  }
  if (g_mkdir_with_parents(parent, 0755) != 0) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_IO, "cannot create %s: %s", parent,
                g_strerror(errno));
    return NULL;
  }
  if (realpath(parent, real_parent) == NULL || !inside(root, real_parent)) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES, "'%s' leads outside output_dir",
                relative);
    return NULL;
  }
  if (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode)) {
    g_set_error(error, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES,
                "'%s' is a symlink; outputs never write through one", relative);
    return NULL;
  }
  if (out_abs != NULL)
    *out_abs = g_steal_pointer(&abs);
  return g_steal_pointer(&norm);
}
