/* upload-s3 test tool: loads the built plugin with GModule (nothing of the core is linked),
 * initialises it with a minimal host, and uploads one file through its storage vtable with a
 * target built from the command line:
 *
 *   s3-upload-tool PLUGIN.so FILE KEY CONTENT-TYPE field=value...
 *
 * Fields are the target's (core/storage.h): force_path_style takes true/false, max_retries an
 * integer, min_retry_delay/max_retry_delay seconds, metadata a comma-separated k,v,k,v list,
 * proxy_config.<url|username|password> fills the nested proxy_config structure; anything else is
 * a string. Prints the location and exits 0, or prints the error and exits 1.
 *
 * The e2e test uses it where the CLI cannot carry a setting to the plugin.
 */
#include <sluice/plugin.h>

#include <stdio.h>
#include <string.h>

static void tool_log(const SluiceHost *host, SluiceLogLevel level, const char *message)
{
  fprintf(stderr, "plugin: %s\n", message);
}

static void set_field(GstStructure *st, GstStructure *proxy, const char *name, const char *value)
{
  if (g_str_has_prefix(name, "proxy_config."))
    gst_structure_set(proxy, name + strlen("proxy_config."), G_TYPE_STRING, value, NULL);
  else if (strcmp(name, "force_path_style") == 0)
    gst_structure_set(st, name, G_TYPE_BOOLEAN, strcmp(value, "true") == 0, NULL);
  else if (strcmp(name, "max_retries") == 0)
    gst_structure_set(st, name, G_TYPE_INT64, g_ascii_strtoll(value, NULL, 10), NULL);
  else if (g_str_has_suffix(name, "_retry_delay"))
    gst_structure_set(st, name, G_TYPE_DOUBLE, g_ascii_strtod(value, NULL), NULL);
  else if (strcmp(name, "metadata") == 0) {
    g_auto(GStrv) pairs = g_strsplit(value, ",", -1);
    gst_structure_set(st, name, G_TYPE_STRV, pairs, NULL);
  } else
    gst_structure_set(st, name, G_TYPE_STRING, value, NULL);
}

int main(int argc, char **argv)
{
  static SluiceHost host = {
      .size = sizeof(SluiceHost),
      .abi_major = SLUICE_ABI_MAJOR,
      .abi_minor = SLUICE_ABI_MINOR,
      .plugin = "upload-s3",
      .node_id = "tool",
      .process = "handler",
      .log = tool_log,
  };
  g_autoptr(GError) err = NULL;
  g_autofree char *location = NULL;
  GstStructure *target, *proxy;
  const SluicePluginDesc *desc;
  const SluiceStorageVTable *vt;
  SluicePluginEntryFunc entry;
  GModule *module;
  gboolean ok;

  gst_init(&argc, &argv);
  if (argc < 5) {
    fprintf(stderr, "usage: %s PLUGIN FILE KEY CONTENT-TYPE field=value...\n", argv[0]);
    return 2;
  }
  module = g_module_open(argv[1], G_MODULE_BIND_LOCAL);
  if (module == NULL || !g_module_symbol(module, SLUICE_PLUGIN_ENTRY_SYMBOL, (gpointer *)&entry)) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], g_module_error());
    return 2;
  }
  desc = entry();
  vt = desc->vtable;
  if (desc->kind != SLUICE_PLUGIN_KIND_STORAGE || !desc->init(&host, &err)) {
    fprintf(stderr, "%s is not a working storage plugin\n", argv[1]);
    return 2;
  }
  target = gst_structure_new_empty(vt->scheme);
  proxy = gst_structure_new_empty("proxy_config");
  for (int i = 5; i < argc; i++) {
    g_auto(GStrv) kv = g_strsplit(argv[i], "=", 2);
    if (kv[0] == NULL || kv[1] == NULL) {
      fprintf(stderr, "not field=value: %s\n", argv[i]);
      return 2;
    }
    set_field(target, proxy, kv[0], kv[1]);
  }
  if (gst_structure_n_fields(proxy) > 0)
    gst_structure_set(target, "proxy_config", GST_TYPE_STRUCTURE, proxy, NULL);
  gst_structure_free(proxy);
  ok = vt->upload(target, argv[2], argv[3], argv[4], &location, &err);
  gst_structure_free(target);
  if (!ok) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  printf("%s\n", location);
  return 0;
}
