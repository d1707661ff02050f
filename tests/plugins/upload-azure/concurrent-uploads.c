/* A helper for test_upload_azure.mjs: loads the built upload-azure plugin the way the core does
 * (GModule, the entry symbol, init with a host table) and runs several uploads of one file at
 * once, one thread each, through the storage vtable — the situation the vtable's "reentrant"
 * promise is about, which `sluice upload` (one file per run) cannot create.
 *
 *   concurrent-uploads PLUGIN.so ENDPOINT ACCOUNT ACCOUNT_KEY CONTAINER FILE NAME...
 *
 * Prints "<name>\t<location>" per upload in argument order, or "<name>\tERROR <message>". Exits
 * 0 when every upload succeeded, 1 otherwise, 2 on bad usage or a plugin that does not load.
 */
#include <sluice/plugin.h>

#include <stdio.h>
#include <string.h>

typedef struct {
  const SluiceStorageVTable *vt;
  const GstStructure *target;
  const char *file;
  const char *name;
  char *location;
  GError *error;
} Job;

static void host_log(const SluiceHost *host, SluiceLogLevel level, const char *message)
{
  fprintf(stderr, "[plugin] %s\n", message);
}

static gpointer run(gpointer data)
{
  Job *j = data;
  j->vt->upload(j->target, j->file, j->name, "application/octet-stream", &j->location, &j->error);
  return NULL;
}

int main(int argc, char **argv)
{
  static SluiceHost host = {
      .size = sizeof(SluiceHost),
      .abi_major = SLUICE_ABI_MAJOR,
      .abi_minor = SLUICE_ABI_MINOR,
      .plugin = "upload-azure",
      .node_id = "test",
      .process = "handler",
      .log = host_log,
  };
  GModule *mod;
  SluicePluginEntryFunc entry = NULL;
  const SluicePluginDesc *desc;
  GstStructure *target;
  GError *err = NULL;
  guint n;
  Job *jobs;
  GThread **threads;
  int rc = 0;

  if (argc < 8) {
    fprintf(stderr, "usage: %s PLUGIN.so ENDPOINT ACCOUNT ACCOUNT_KEY CONTAINER FILE NAME...\n",
            argv[0]);
    return 2;
  }
  gst_init(NULL, NULL);
  mod = g_module_open(argv[1], G_MODULE_BIND_LOCAL);
  if (mod == NULL || !g_module_symbol(mod, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry)) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], g_module_error());
    return 2;
  }
  desc = entry();
  if (desc->kind != SLUICE_PLUGIN_KIND_STORAGE || !desc->init(&host, &err)) {
    fprintf(stderr, "%s is not a storage plugin that starts: %s\n", argv[1],
            err ? err->message : "wrong kind");
    return 2;
  }
  target = gst_structure_new("azure", "endpoint", G_TYPE_STRING, argv[2], "account_name",
                             G_TYPE_STRING, argv[3], "account_key", G_TYPE_STRING, argv[4],
                             "container_name", G_TYPE_STRING, argv[5], NULL);
  n = (guint)(argc - 7);
  jobs = g_new0(Job, n);
  threads = g_new0(GThread *, n);
  for (guint i = 0; i < n; i++) {
    jobs[i].vt = desc->vtable;
    jobs[i].target = target;
    jobs[i].file = argv[6];
    jobs[i].name = argv[7 + i];
    threads[i] = g_thread_new("upload", run, &jobs[i]);
  }
  for (guint i = 0; i < n; i++) {
    g_thread_join(threads[i]);
    if (jobs[i].error != NULL) {
      printf("%s\tERROR %s\n", jobs[i].name, jobs[i].error->message);
      g_error_free(jobs[i].error);
      rc = 1;
    } else {
      printf("%s\t%s\n", jobs[i].name, jobs[i].location);
      g_free(jobs[i].location);
    }
  }
  g_free(threads);
  g_free(jobs);
  gst_structure_free(target);
  return rc;
}
