/* test-storage: a storage plugin for the uploader's tests.
 *
 * It serves the "s3" scheme so that targets from config and requests reach it, and reads two
 * fields: `endpoint`, a directory standing in for the server, and `bucket`, a directory inside
 * it. An upload copies the file to <endpoint>/<bucket>/<key> and answers the location
 * "file://<that path>". Files in <endpoint> steer it:
 *   DOWN   every upload fails ("storage is down"), as a dead server would after its retries;
 *   SLOW   each upload first sleeps for the number of milliseconds the file holds.
 * Each upload appends "start <key>" and "done <key>" (or "fail <key>") lines to
 * <endpoint>/<bucket>.log, so a test can check the order uploads ran in.
 */
#include <sluice/plugin.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>

static GMutex log_lock;

static void note(const char *root, const char *bucket, const char *what, const char *key)
{
  g_autofree char *path = g_strdup_printf("%s/%s.log", root, bucket);
  FILE *f;
  g_mutex_lock(&log_lock);
  f = fopen(path, "a");
  if (f != NULL) {
    fprintf(f, "%s %s\n", what, key);
    fclose(f);
  }
  g_mutex_unlock(&log_lock);
}

static gboolean ts_upload(const GstStructure *target, const char *local_path, const char *key,
                          const char *content_type, char **location, GError **error)
{
  const char *root = gst_structure_get_string(target, "endpoint");
  const char *bucket = gst_structure_get_string(target, "bucket");
  g_autofree char *down = NULL;
  g_autofree char *slow = NULL;
  g_autofree char *slow_text = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GFile) from = NULL;
  g_autoptr(GFile) to = NULL;

  if (root == NULL || bucket == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "endpoint and bucket are needed");
    return FALSE;
  }
  note(root, bucket, "start", key);
  slow = g_build_filename(root, "SLOW", NULL);
  if (g_file_get_contents(slow, &slow_text, NULL, NULL))
    g_usleep(1000 * (gulong)atol(slow_text));
  down = g_build_filename(root, "DOWN", NULL);
  if (g_file_test(down, G_FILE_TEST_EXISTS)) {
    note(root, bucket, "fail", key);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "storage is down");
    return FALSE;
  }
  dest = g_build_filename(root, bucket, key, NULL);
  dir = g_path_get_dirname(dest);
  g_mkdir_with_parents(dir, 0755);
  from = g_file_new_for_path(local_path);
  to = g_file_new_for_path(dest);
  if (!g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error)) {
    note(root, bucket, "fail", key);
    return FALSE;
  }
  note(root, bucket, "done", key);
  *location = g_strconcat("file://", dest, NULL);
  return TRUE;
}

static gboolean ts_init(const SluiceHost *host, GError **error)
{
  return TRUE;
}

static const SluiceStorageVTable storage = {
    .size = sizeof(SluiceStorageVTable),
    .scheme = "s3",
    .upload = ts_upload,
};

static const SluicePluginDesc desc =
    SLUICE_PLUGIN_DESC_INIT(.kind = SLUICE_PLUGIN_KIND_STORAGE, .name = "test-storage",
                            .version = "0.0.1",
                            .description = "copies uploads into a directory (tests)",
                            .init = ts_init, .vtable = &storage);

SLUICE_PLUGIN_DEFINE(desc)
