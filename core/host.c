/* Host services for plugins. See host.h and include/sluice/host.h. */
#include "host.h"

#include "log.h"
#include "redact.h"

#include <string.h>

typedef struct {
  SluiceHost pub; /* first: plugins see only this */
  SlPlugin *plugin;
  SlHostEnv env;
  char *component; /* "plugin:<name>" */
  gboolean initialised;
} HostCtx;

static HostCtx *ctx_of(const SluiceHost *host)
{
  return (HostCtx *)host;
}

static void host_log(const SluiceHost *host, SluiceLogLevel level, const char *message)
{
  if (level > SLUICE_LOG_DEBUG)
    level = SLUICE_LOG_DEBUG;
  sl_log(level, ctx_of(host)->component, "%s", message ? message : "");
}

/* Finds the declaration of `key` among the plugin's keys and the path where its value lives. */
static const SluiceConfigKey *declared(const SluiceHost *host, const char *key,
                                       SluiceConfigType want, char **path)
{
  HostCtx *ctx = ctx_of(host);
  for (const SluiceConfigKey *k = ctx->plugin->desc.config_keys; k && k->name; k++) {
    if (strcmp(k->name, key) != 0)
      continue;
    if (want != 0 && k->type != want &&
        !(want == SLUICE_CONFIG_DOUBLE &&
          (k->type == SLUICE_CONFIG_INT || k->type == SLUICE_CONFIG_DURATION ||
           k->type == SLUICE_CONFIG_PORT)) &&
        !(want == SLUICE_CONFIG_INT && k->type == SLUICE_CONFIG_PORT)) {
      sl_error(ctx->component, "config key %s read with the wrong type", key);
      return NULL;
    }
    *path = (k->flags & SLUICE_CONFIG_FLAG_TOP_LEVEL)
                ? g_strdup(k->name)
                : g_strdup_printf("plugins.%s.%s", ctx->plugin->name, k->name);
    return k;
  }
  sl_error(ctx->component, "config key %s was not declared by this plugin", key);
  return NULL;
}

static gboolean host_config_bool(const SluiceHost *host, const char *key)
{
  g_autofree char *path = NULL;
  if (!declared(host, key, SLUICE_CONFIG_BOOL, &path))
    return FALSE;
  return sl_config_get_bool(ctx_of(host)->env.config, path);
}

static gint64 host_config_int(const SluiceHost *host, const char *key)
{
  g_autofree char *path = NULL;
  if (!declared(host, key, SLUICE_CONFIG_INT, &path))
    return 0;
  return sl_config_get_int(ctx_of(host)->env.config, path);
}

static double host_config_double(const SluiceHost *host, const char *key)
{
  g_autofree char *path = NULL;
  if (!declared(host, key, SLUICE_CONFIG_DOUBLE, &path))
    return 0;
  return sl_config_get_double(ctx_of(host)->env.config, path);
}

static const char *host_config_string(const SluiceHost *host, const char *key)
{
  g_autofree char *path = NULL;
  if (!declared(host, key, SLUICE_CONFIG_STRING, &path))
    return NULL;
  return sl_config_get_string(ctx_of(host)->env.config, path);
}

static const char *const *host_config_strv(const SluiceHost *host, const char *key)
{
  static const char *const empty[] = {NULL};
  g_autofree char *path = NULL;
  if (!declared(host, key, SLUICE_CONFIG_STRING_LIST, &path))
    return empty;
  return sl_config_get_strv(ctx_of(host)->env.config, path);
}

static gboolean host_config_is_set(const SluiceHost *host, const char *key)
{
  g_autofree char *path = NULL;
  if (!declared(host, key, 0, &path))
    return FALSE;
  return sl_config_is_set(ctx_of(host)->env.config, path);
}

static SluiceMetric *host_metric_register(const SluiceHost *host, SluiceMetricType type,
                                          const char *name, const char *help,
                                          const char *const *label_names)
{
  HostCtx *ctx = ctx_of(host);
  g_autoptr(GError) err = NULL;
  SlMetricFamily *fam;
  if (type != SLUICE_METRIC_COUNTER && type != SLUICE_METRIC_GAUGE) {
    sl_error(ctx->component, "metric %s: unknown type %d", name ? name : "?", (int)type);
    return NULL;
  }
  fam = sl_metrics_register(ctx->env.metrics,
                            type == SLUICE_METRIC_COUNTER ? SL_METRIC_COUNTER : SL_METRIC_GAUGE,
                            name, help ? help : "", label_names, &err);
  if (fam == NULL)
    sl_error(ctx->component, "metric %s refused: %s", name ? name : "?", err->message);
  return (SluiceMetric *)fam;
}

static void host_metric_set(SluiceMetric *metric, const char *const *labels, double value)
{
  if (metric != NULL)
    sl_metric_set((SlMetricFamily *)metric, labels, value);
}

static void host_metric_add(SluiceMetric *metric, const char *const *labels, double delta)
{
  if (metric != NULL)
    sl_metric_add((SlMetricFamily *)metric, labels, delta);
}

static void host_emit_event(const SluiceHost *host, const char *event, const char *json_body)
{
  HostCtx *ctx = ctx_of(host);
  sl_debug(ctx->component, "event %s %s", event, json_body ? json_body : "{}");
  if (ctx->env.on_event != NULL)
    ctx->env.on_event(ctx->plugin->name, event, json_body, ctx->env.on_event_data);
}

static char *host_redact(const char *secret)
{
  return sl_redact_secret(secret);
}

static void host_register_secret(const SluiceHost *host, const char *secret)
{
  sl_log_register_secret(secret);
}

static SluiceSession *host_session_start(const SluiceHost *host, const SluiceSessionRequest *req,
                                         int *media_fd, GError **error)
{
  HostCtx *ctx = ctx_of(host);
  SluiceSessionRequest r = {0};
  if (ctx->env.sessions == NULL) {
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_INTERNAL,
                "sessions are started by the service process, not a handler");
    return NULL;
  }
  if (req == NULL ||
      req->size < G_STRUCT_OFFSET(SluiceSessionRequest, stream_key) + sizeof(const char *)) {
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_INTERNAL,
                "session request too small");
    return NULL;
  }
  /* Copy rule as for descriptors: an older plugin's request reads as zero past its size. */
  memcpy(&r, req, MIN(req->size, sizeof r));
  return sl_sessions_start(ctx->env.sessions, ctx->plugin, &r, media_fd, error);
}

static void host_session_end(const SluiceHost *host, SluiceSession *session, const char *error)
{
  HostCtx *ctx = ctx_of(host);
  if (ctx->env.sessions != NULL && session != NULL)
    sl_sessions_publisher_ended(ctx->env.sessions, session, error);
}

static void host_session_add_bytes(const SluiceHost *host, SluiceSession *session, guint64 bytes)
{
  HostCtx *ctx = ctx_of(host);
  if (ctx->env.sessions != NULL && session != NULL)
    sl_sessions_add_bytes(ctx->env.sessions, session, bytes);
}

const SluiceHost *sl_host_attach(SlPlugin *plugin, const SlHostEnv *env)
{
  HostCtx *ctx = g_new0(HostCtx, 1);
  ctx->plugin = plugin;
  ctx->env = *env;
  ctx->component = g_strdup_printf("plugin:%s", plugin->name);
  ctx->pub = (SluiceHost){
      .size = sizeof(SluiceHost),
      .abi_major = SLUICE_ABI_MAJOR,
      .abi_minor = SLUICE_ABI_MINOR,
      .plugin = plugin->name,
      .node_id = env->node_id,
      .process = env->process,
      .log = host_log,
      .config_bool = host_config_bool,
      .config_int = host_config_int,
      .config_double = host_config_double,
      .config_string = host_config_string,
      .config_strv = host_config_strv,
      .config_is_set = host_config_is_set,
      .metric_register = host_metric_register,
      .metric_set = host_metric_set,
      .metric_add = host_metric_add,
      .emit_event = host_emit_event,
      .redact = host_redact,
      .register_secret = host_register_secret,
      .session_start = host_session_start,
      .session_end = host_session_end,
      .session_add_bytes = host_session_add_bytes,
  };
  plugin->host = ctx;
  return &ctx->pub;
}

gboolean sl_host_declare_keys(SlPluginSet *set, SlConfig *config, GError **error)
{
  GPtrArray *all = sl_plugin_set_list(set);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state != SL_PLUGIN_LOADED || !pl->enabled)
      continue;
    if (!sl_config_add_plugin_keys(config, pl->name, pl->desc.config_keys, error))
      return FALSE;
  }
  return TRUE;
}

gboolean sl_host_init_plugins(SlPluginSet *set, const SlHostEnv *env, GError **error)
{
  GPtrArray *all = sl_plugin_set_list(set);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    const SluiceHost *host;
    GError *local = NULL;
    if (pl->state != SL_PLUGIN_LOADED || !pl->enabled)
      continue;
    host = sl_host_attach(pl, env);
    if (!pl->desc.init(host, &local)) {
      g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_OPEN, "plugin '%s' failed to start: %s",
                  pl->name, local ? local->message : "init() returned FALSE without a reason");
      g_clear_error(&local);
      return FALSE;
    }
    ctx_of(host)->initialised = TRUE;
    /* Every handler loads the plugins again; say so once, in the service. */
    sl_log(g_strcmp0(env->process, "service") == 0 ? SLUICE_LOG_INFO : SLUICE_LOG_DEBUG, "plugins",
           "loaded %s %s (%s, ABI %u.%u) from %s", pl->name, pl->desc.version,
           sl_plugin_kind_name(pl->desc.kind), pl->desc.abi_major, pl->desc.abi_minor, pl->file);
  }
  return TRUE;
}

void sl_host_shutdown_plugins(SlPluginSet *set)
{
  GPtrArray *all = sl_plugin_set_list(set);
  for (guint i = all->len; i > 0; i--) {
    SlPlugin *pl = g_ptr_array_index(all, i - 1);
    HostCtx *ctx = pl->host;
    if (ctx == NULL || !ctx->initialised)
      continue;
    if (pl->desc.shutdown != NULL)
      pl->desc.shutdown();
    ctx->initialised = FALSE;
  }
}
