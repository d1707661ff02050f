/* The `sluice` command: runs the service, and small subcommands for people. */
#include "cli.h"
#include "config.h"
#include "handler.h"
#include "loader.h"
#include "log.h"
#include "service.h"
#include "storage.h"
#include "host.h"
#include "metrics.h"
#include "sluice-build.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage:\n"
    "  sluice [--config FILE | --config-body YAML]   run the service\n"
    "  sluice config check [FILE]                    validate a config and exit\n"
    "  sluice plugins [--config FILE] [--keys]       list the plugins on the plugin path\n"
    "  sluice ingress create|list|update|delete ...  manage ingresses through the API\n"
    "  sluice egress start|list|stop ...             record live sessions through the API\n"
    "  sluice upload [--backup] FILE [KEY]           upload a file to the configured storage\n"
    "  sluice --version                              print the version and plugin ABI\n"
    "\n"
    "Without --config, the config comes from SLUICE_CONFIG_FILE, SLUICE_CONFIG_BODY,\n"
    "INGRESS_CONFIG_FILE|BODY or EGRESS_CONFIG_FILE|BODY, else the embedded single-node default.\n"
    "Plugins are searched in plugins.path, then SLUICE_PLUGIN_PATH, then " SLUICE_PLUGIN_INSTALL_DIR
    ".\n";

typedef struct {
  const char *config_file;
  const char *config_body;
  gboolean keys;
  gboolean backup;    /* upload: use the backup: section */
  const char *forced; /* "version" or "help" from --version / --help */
  GPtrArray *rest;    /* positional arguments */
} Args;

/* Options may come before or after the subcommand, as people type them. */
static gboolean parse_args(int argc, char **argv, Args *a)
{
  a->rest = g_ptr_array_new();
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if ((strcmp(arg, "--config") == 0 || strcmp(arg, "-c") == 0) && i + 1 < argc) {
      a->config_file = argv[++i];
    } else if (g_str_has_prefix(arg, "--config=")) {
      a->config_file = arg + strlen("--config=");
    } else if (strcmp(arg, "--config-body") == 0 && i + 1 < argc) {
      a->config_body = argv[++i];
    } else if (strcmp(arg, "--keys") == 0) {
      a->keys = TRUE;
    } else if (strcmp(arg, "--backup") == 0) {
      a->backup = TRUE;
    } else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
      a->forced = "version";
    } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      a->forced = "help";
    } else if (arg[0] == '-' && strcmp(arg, "-") != 0) {
      fprintf(stderr, "sluice: unknown option %s\n\n%s", arg, usage);
      return FALSE;
    } else {
      g_ptr_array_add(a->rest, (gpointer)arg);
    }
  }
  return TRUE;
}

static int cmd_version(void)
{
  printf("sluice %s (plugin ABI %d.%d)\n", SLUICE_VERSION, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
  return 0;
}

static int cmd_config_check(Args *a)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(SlPluginSet) set = NULL;
  const char *file = a->rest->len > 2 ? g_ptr_array_index(a->rest, 2) : a->config_file;

  cfg = sl_config_load(file, file ? NULL : a->config_body, &err);
  if (cfg == NULL) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  if (!sl_service_prepare_config(cfg, &set, FALSE, &err)) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  printf("%s: OK\n", sl_config_source(cfg));
  return 0;
}

static const char *type_label(SluiceConfigType t)
{
  switch (t) {
  case SLUICE_CONFIG_BOOL:
    return "bool";
  case SLUICE_CONFIG_INT:
    return "int";
  case SLUICE_CONFIG_DOUBLE:
    return "number";
  case SLUICE_CONFIG_STRING:
    return "string";
  case SLUICE_CONFIG_PORT:
    return "port";
  case SLUICE_CONFIG_DURATION:
    return "duration";
  case SLUICE_CONFIG_STRING_LIST:
    return "list";
  }
  return "?";
}

static int cmd_plugins(Args *a)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(SlConfig) cfg = sl_config_load(a->config_file, a->config_body, &err);
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) path = NULL;
  g_auto(GStrv) enable = NULL;
  g_autoptr(SlPluginSet) set = NULL;
  GPtrArray *all;

  if (cfg == NULL) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  path = sl_service_plugin_path(cfg, diags);
  enable = sl_service_plugin_enable(cfg, diags);
  for (guint i = 0; i < diags->len; i++)
    fprintf(stderr, "error: %s\n", ((SlDiag *)g_ptr_array_index(diags, i))->text);
  set = sl_plugin_set_scan((const char *const *)path);
  sl_plugin_set_inspect_all(set);
  all = sl_plugin_set_list(set);

  printf("plugin path:");
  for (guint i = 0; path[i]; i++)
    printf(" %s", path[i]);
  printf("\n");
  if (all->len == 0) {
    printf("no plugins found\n");
  } else {
    printf("%-16s %-8s %-10s %-5s %-12s %s\n", "NAME", "KIND", "VERSION", "ABI", "STATUS", "FILE");
  }
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    gboolean en = g_strv_contains((const char *const *)enable, pl->name);
    if (pl->state == SL_PLUGIN_LOADED) {
      g_autofree char *abi = g_strdup_printf("%u.%u", pl->desc.abi_major, pl->desc.abi_minor);
      printf("%-16s %-8s %-10s %-5s %-12s %s\n", pl->name, sl_plugin_kind_name(pl->desc.kind),
             pl->desc.version, abi, en ? "enabled" : "not enabled", pl->file);
      if (a->keys) {
        for (const SluiceConfigKey *k = pl->desc.config_keys; k && k->name; k++) {
          g_autofree char *where = (k->flags & SLUICE_CONFIG_FLAG_TOP_LEVEL)
                                       ? g_strdup(k->name)
                                       : g_strdup_printf("plugins.%s.%s", pl->name, k->name);
          printf("    %-36s %-8s default %-10s %s\n", where, type_label(k->type),
                 k->default_value ? k->default_value : "-", k->help ? k->help : "");
        }
      }
    } else {
      printf("%-16s %-8s %-10s %-5s %-12s %s\n", pl->name, "-", "-", "-", "refused", pl->file);
      printf("    refused: %s\n", pl->refusal);
    }
  }
  for (guint i = 0; enable[i]; i++) {
    gboolean found = FALSE;
    for (guint j = 0; j < all->len && !found; j++)
      found = strcmp(((SlPlugin *)g_ptr_array_index(all, j))->name, enable[i]) == 0;
    if (!found)
      printf("%-16s enabled in the config but %s%s.so is not on the plugin path\n", enable[i],
             SLUICE_PLUGIN_FILE_PREFIX, enable[i]);
  }
  return 0;
}

/* Uploads one file to the storage the config names (storage:, else the top-level s3:/azure:/
 * gcp:/alioss:, or backup: with --backup), through the same plugins recordings use. Prints the
 * location. Exit 0 stored, 1 not stored, 2 bad usage or config. */
static int cmd_upload(Args *a)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(SlConfig) cfg = NULL;
  g_autoptr(SlPluginSet) set = NULL;
  g_autoptr(SlMetrics) metrics = NULL;
  g_autoptr(GstStructure) target = NULL;
  g_autofree char *key = NULL;
  g_autofree char *location = NULL;
  SlHostEnv env = {0};
  const char *file, *prefix;

  if (a->rest->len < 2 || a->rest->len > 3) {
    fprintf(stderr, "usage: sluice upload [--config FILE] [--backup] FILE [KEY]\n");
    return 2;
  }
  file = g_ptr_array_index(a->rest, 1);
  if (!g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
    fprintf(stderr, "error: %s: not a regular file\n", file);
    return 2;
  }
  cfg = sl_config_load(a->config_file, a->config_body, &err);
  if (cfg == NULL || !sl_service_prepare_config(cfg, &set, TRUE, &err)) {
    fprintf(stderr, "error: %s\n", err->message);
    return 2;
  }
  target = a->backup ? sl_storage_target_from_config(cfg, "backup", &err)
                     : sl_storage_default_target(cfg, &err);
  if (target == NULL) {
    fprintf(stderr, "error: %s\n",
            err ? err->message
                : (a->backup
                       ? "the config has no backup: storage"
                       : "the config names no storage (storage: or s3:/azure:/gcp:/alioss:)"));
    return 2;
  }
  gst_init(NULL, NULL);
  metrics = sl_metrics_new();
  env.config = cfg;
  env.metrics = metrics;
  env.node_id = "cli";
  env.process = "handler";
  if (!sl_host_init_plugins(set, &env, &err)) {
    fprintf(stderr, "error: %s\n", err->message);
    return 2;
  }
  prefix = a->backup ? NULL : sl_config_get_string(cfg, "storage.prefix");
  if (a->rest->len == 3)
    key = g_strdup(g_ptr_array_index(a->rest, 2));
  else
    key = g_path_get_basename(file);
  if (prefix != NULL && *prefix != '\0') {
    char *full = g_build_path("/", prefix, key, NULL);
    g_free(key);
    key = full;
  }
  if (!sl_storage_upload(set, target, file, key, &location, &err)) {
    fprintf(stderr, "error: upload to %s failed: %s\n", gst_structure_get_name(target),
            err->message);
    return 1;
  }
  printf("%s\n", location);
  return 0;
}

static int cmd_run(Args *a)
{
  g_autoptr(GError) err = NULL;
  SlConfig *cfg = sl_config_load(a->config_file, a->config_body, &err);
  g_autoptr(SlService) svc = NULL;
  if (cfg == NULL) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  svc = sl_service_new(cfg, &err);
  if (svc == NULL) {
    fprintf(stderr, "error: %s\n", err->message);
    return 1;
  }
  return sl_service_run(svc);
}

int main(int argc, char **argv)
{
  Args a = {0};
  int status;
  const char *cmd;

  sl_log_init();
  /* A handler that dies closes its pipe; the writer must see EPIPE, not be killed by SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  /* The API client commands have options of their own; they parse their whole command line. */
  if (sl_cli_handles(argc, argv))
    return sl_cli_main(argc, argv);
  if (!parse_args(argc, argv, &a)) {
    g_ptr_array_unref(a.rest);
    return 2;
  }
  cmd = a.rest->len > 0 ? g_ptr_array_index(a.rest, 0) : NULL;

  if (a.forced != NULL)
    cmd = a.forced;

  if (cmd == NULL || strcmp(cmd, "run") == 0) {
    status = cmd_run(&a);
  } else if (strcmp(cmd, "version") == 0) {
    status = cmd_version();
  } else if (strcmp(cmd, "help") == 0) {
    fputs(usage, stdout);
    status = 0;
  } else if (strcmp(cmd, "config") == 0 && a.rest->len > 1 &&
             strcmp(g_ptr_array_index(a.rest, 1), "check") == 0) {
    status = cmd_config_check(&a);
  } else if (strcmp(cmd, "handler") == 0) {
    /* internal: started by the service, one process per session */
    status = sl_handler_main();
  } else if (strcmp(cmd, "plugins") == 0) {
    status = cmd_plugins(&a);
  } else if (strcmp(cmd, "upload") == 0) {
    status = cmd_upload(&a);
  } else {
    fprintf(stderr, "sluice: unknown command '%s'\n\n%s", cmd, usage);
    status = 2;
  }
  g_ptr_array_unref(a.rest);
  return status;
}
