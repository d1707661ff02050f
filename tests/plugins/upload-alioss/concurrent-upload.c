/* Helper for test_upload_alioss.py: loads the built plugin the way the core does (GModule, the
 * entry symbol, the storage vtable) and calls its upload() from one thread per file at once, to
 * show that uploads through one loaded plugin do not disturb each other.
 *
 *   concurrent-upload PLUGIN.so ENDPOINT REGION|- FILE KEY [FILE KEY ...]
 * with ALIOSS_ACCESS_KEY and ALIOSS_SECRET in the environment. Prints "ok KEY LOCATION" or
 * "error KEY MESSAGE" per file; exits 0 when every upload succeeded. */
#include <sluice/plugin.h>

#include <stdio.h>
#include <string.h>

typedef struct {
  const SluiceStorageVTable *vtable;
  const GstStructure *target;
  const char *file;
  const char *key;
  char *location;
  GError *error;
} Job;

static gpointer run(gpointer data)
{
  Job *job = data;
  if (!job->vtable->upload(job->target, job->file, job->key, "video/mp4", &job->location,
                           &job->error) &&
      job->error == NULL)
    job->error =
        g_error_new_literal(g_quark_from_static_string("test"), 1, "failed without an error");
  return NULL;
}

int main(int argc, char **argv)
{
  GModule *module;
  SluicePluginEntryFunc entry = NULL;
  const SluicePluginDesc *desc;
  GstStructure *target;
  GPtrArray *threads = g_ptr_array_new();
  Job *jobs;
  guint n, failed = 0;

  if (argc < 6 || (argc - 4) % 2 != 0) {
    fprintf(stderr, "usage: %s PLUGIN.so ENDPOINT REGION|- FILE KEY [FILE KEY ...]\n", argv[0]);
    return 2;
  }
  gst_init(NULL, NULL);
  module = g_module_open(argv[1], G_MODULE_BIND_LOCAL);
  if (module == NULL || !g_module_symbol(module, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry)) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], g_module_error());
    return 2;
  }
  desc = entry();
  if (desc->kind != SLUICE_PLUGIN_KIND_STORAGE ||
      strcmp(((const SluiceStorageVTable *)desc->vtable)->scheme, "alioss") != 0) {
    fprintf(stderr, "%s is not the alioss storage plugin\n", argv[1]);
    return 2;
  }
  target = gst_structure_new("alioss", "access_key", G_TYPE_STRING, g_getenv("ALIOSS_ACCESS_KEY"),
                             "secret", G_TYPE_STRING, g_getenv("ALIOSS_SECRET"), "endpoint",
                             G_TYPE_STRING, argv[2], "bucket", G_TYPE_STRING, "media", NULL);
  if (strcmp(argv[3], "-") != 0)
    gst_structure_set(target, "region", G_TYPE_STRING, argv[3], NULL);

  n = (guint)(argc - 4) / 2;
  jobs = g_new0(Job, n);
  for (guint i = 0; i < n; i++) {
    jobs[i] = (Job){
        .vtable = desc->vtable, .target = target, .file = argv[4 + 2 * i], .key = argv[5 + 2 * i]};
    g_ptr_array_add(threads, g_thread_new("upload", run, &jobs[i]));
  }
  for (guint i = 0; i < n; i++) {
    g_thread_join(g_ptr_array_index(threads, i));
    if (jobs[i].error != NULL) {
      printf("error %s %s\n", jobs[i].key, jobs[i].error->message);
      failed++;
    } else {
      printf("ok %s %s\n", jobs[i].key, jobs[i].location);
    }
    g_free(jobs[i].location);
    g_clear_error(&jobs[i].error);
  }
  g_free(jobs);
  g_ptr_array_unref(threads);
  gst_structure_free(target);
  return failed == 0 ? 0 : 1;
}
