/* output-file — file-system access. See files.h. */
#include "files.h"

#include <sluice/output.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

gboolean of_make_parent_dirs(const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname(path);
  if (g_mkdir_with_parents(parent, 0755) != 0) {
    int saved = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "cannot create %s: %s", parent,
                g_strerror(saved));
    return FALSE;
  }
  return TRUE;
}

gboolean of_atomic_write(const char *path, const char *contents, gsize len, GError **error)
{
  if (!of_make_parent_dirs(path, error))
    return FALSE;
  /* CONSISTENT is GLib's write-to-temporary-then-rename; it syncs the temporary file before the
   * rename only where the file system needs it for the rename to be safe, so a playlist update
   * costs no full flush of the disk on every segment. */
  return g_file_set_contents_full(path, contents, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                  error);
}

guint64 of_file_size(const char *path)
{
  GStatBuf st;
  if (g_stat(path, &st) != 0)
    return 0;
  return (guint64)st.st_size;
}

gboolean of_check_relative_path(const char *path, const char *what, GError **error)
{
  g_auto(GStrv) parts = NULL;
  if (path == NULL || path[0] == '\0') {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS, "%s is empty", what);
    return FALSE;
  }
  if (g_path_is_absolute(path)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "%s '%s' must be relative to the output directory", what, path);
    return FALSE;
  }
  if (g_str_has_suffix(path, "/")) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "%s '%s' names a directory, not a file", what, path);
    return FALSE;
  }
  parts = g_strsplit(path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (strcmp(parts[i], "..") == 0) {
      g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                  "%s '%s' leaves the output directory", what, path);
      return FALSE;
    }
  }
  return TRUE;
}
