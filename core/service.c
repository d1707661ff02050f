/* The service process. See service.h. */
#include "service.h"

#include "api.h"
#include "cluster.h"
#include "cpu.h"
#include "pbjson.h"
#include "webhook.h"
#include "egress.h"
#include "host.h"
#include "http.h"
#include "ids.h"
#include "ingress.h"
#include "log.h"
#include "redact.h"
#include "session.h"
#include "sluice-build.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Job types and the cpu_cost key each one's cost comes from ("<type>_cpu_cost"). */
static const char *const ingress_types[] = {
    "rtmp", "rtmp_bypass_transcoding", "whip", "whip_bypass_transcoding", "srt", "url", NULL,
};
static const char *const egress_types[] = {
    "room_composite",
    "audio_room_composite",
    "sdk_audio_room_composite",
    "web",
    "audio_web",
    "participant",
    "track_composite",
    "track",
    NULL,
};

struct _SlService {
  SlConfig *config;
  SlPluginSet *plugins;
  SlMetrics *metrics;
  SlCpuMonitor *cpu;
  SlAdmission *admission;
  SlHttp *http;
  SlIngressStore *ingresses;
  SlSessions *session_mgr;
  SlEgresses *egresses;
  SlApi *api;
  SlCluster *cluster;
  SlWebhooks *webhooks;
  GHashTable *egress_started; /* egress ids an egress_started webhook went out for */
  GStrv plugin_path;
  GMainLoop *loop;
  char *node_id;
  GStrv ingress_fit; /* job types whose cost fits this node at all */
  GStrv egress_fit;
  guint sessions;
  gboolean draining;
  gboolean stopping;
  guint sample_source;
  double busy_smoothed; /* exponentially smoothed busy cores, fed to admission */
  guint busy_samples;
  guint sigterm_source;
  guint sigint_source;
  int exit_status;

  SlMetricFamily *m_cpu_load;
  SlMetricFamily *m_ingress_available;
  SlMetricFamily *m_egress_available;
  SlMetricFamily *m_capacity;
  SlMetricFamily *m_available_cores;
  SlMetricFamily *m_draining;
  SlMetricFamily *m_sessions;
};

/* ---- config and plugins ------------------------------------------------------------------ */

GStrv sl_service_plugin_path(SlConfig *config, GPtrArray *diags)
{
  return sl_config_plugin_path(config, SLUICE_PLUGIN_INSTALL_DIR, diags);
}

GStrv sl_service_plugin_enable(SlConfig *config, GPtrArray *diags)
{
  g_auto(GStrv) defaults = g_strsplit(SLUICE_DEFAULT_PLUGINS, ",", -1);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (guint i = 0; defaults[i]; i++)
    if (*defaults[i])
      g_strv_builder_add(b, defaults[i]);
  {
    g_auto(GStrv) clean = g_strv_builder_end(b);
    return sl_config_plugin_enable(config, (const char *const *)clean, diags);
  }
}

static void print_diags(GPtrArray *diags, gboolean quiet_ok)
{
  for (guint i = 0; i < diags->len; i++) {
    SlDiag *d = g_ptr_array_index(diags, i);
    const char *tag = d->level == SL_DIAG_ERROR     ? "error"
                      : d->level == SL_DIAG_WARNING ? "warning"
                                                    : "note";
    g_autofree char *clean = sl_log_scrub(d->text);
    if (quiet_ok && d->level == SL_DIAG_NOTE)
      continue;
    fprintf(stderr, "%s: %s\n", tag, clean);
  }
}

gboolean sl_service_prepare_config(SlConfig *config, SlPluginSet **out_set, gboolean quiet_ok,
                                   GError **error)
{
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_auto(GStrv) path = sl_service_plugin_path(config, diags);
  g_auto(GStrv) enable = sl_service_plugin_enable(config, diags);
  g_autoptr(SlPluginSet) set = sl_plugin_set_scan((const char *const *)path);
  gboolean ok;

  if (!sl_plugin_set_load(set, (const char *const *)enable, error)) {
    print_diags(diags, quiet_ok);
    return FALSE;
  }
  if (!sl_host_declare_keys(set, config, error)) {
    print_diags(diags, quiet_ok);
    return FALSE;
  }
  sl_config_apply_env(config);
  ok = sl_config_validate(config, diags);
  print_diags(diags, quiet_ok);
  if (!ok) {
    guint n = 0;
    for (guint i = 0; i < diags->len; i++)
      n += ((SlDiag *)g_ptr_array_index(diags, i))->level == SL_DIAG_ERROR;
    g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID, "%s: %u problem%s in the config",
                sl_config_source(config), n, n == 1 ? "" : "s");
    return FALSE;
  }
  *out_set = g_steal_pointer(&set);
  return TRUE;
}

/* ---- admission and metrics --------------------------------------------------------------- */

/* Job types whose cost fits this node at all. The others can never be admitted here, so they
 * would make the node report "unavailable" forever; they are named once at start-up instead and
 * left out of the availability rule (a request of that type is still refused with its reason). */
static GStrv fitting_types(SlService *svc, const char *const *types, GString *too_big)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  double cap = sl_admission_capacity(svc->admission);
  for (guint i = 0; types[i]; i++) {
    double cost = sl_admission_get_cost(svc->admission, types[i]);
    if (cost <= cap)
      g_strv_builder_add(b, types[i]);
    else
      g_string_append_printf(too_big, "%s%s (%.2f)", too_big->len ? ", " : "", types[i], cost);
  }
  return g_strv_builder_end(b);
}

static gboolean setup_admission(SlService *svc, GError **error)
{
  double max_util = sl_config_get_double(svc->config, "cpu_cost.max_cpu_utilization");
  double hold = sl_config_get_double(svc->config, "cpu_cost.hold_time");
  guint ncpu;

  if (!sl_config_is_set(svc->config, "cpu_cost.max_cpu_utilization") &&
      sl_config_is_set(svc->config, "cpu_cost.min_idle_ratio"))
    max_util = 1.0 - sl_config_get_double(svc->config, "cpu_cost.min_idle_ratio");

  svc->cpu = sl_cpu_monitor_new();
  if (!sl_cpu_monitor_sample(svc->cpu, error))
    return FALSE;
  ncpu = sl_cpu_monitor_ncpu(svc->cpu);
  svc->admission = sl_admission_new(ncpu, max_util, hold);
  for (int pass = 0; pass < 2; pass++) {
    const char *const *types = pass == 0 ? ingress_types : egress_types;
    for (guint i = 0; types[i]; i++) {
      g_autofree char *key = g_strdup_printf("cpu_cost.%s_cpu_cost", types[i]);
      sl_admission_set_cost(svc->admission, types[i], sl_config_get_double(svc->config, key));
    }
  }
  {
    g_autoptr(GString) too_big = g_string_new(NULL);
    svc->ingress_fit = fitting_types(svc, ingress_types, too_big);
    svc->egress_fit = fitting_types(svc, egress_types, too_big);
    if (too_big->len > 0)
      sl_warn("admission",
              "this node has %.2f cores for jobs (%u x max_cpu_utilization %.2f); these job types "
              "cost more and will be refused here: %s",
              sl_admission_capacity(svc->admission), ncpu, max_util, too_big->str);
  }
  return TRUE;
}

static gboolean availability(gpointer data, char **why)
{
  SlService *svc = data;
  gint64 now = g_get_monotonic_time();
  if (svc->draining) {
    *why = g_strdup("draining: this node is shutting down and takes no new work");
    return FALSE;
  }
  if (sl_admission_type_fits(svc->admission, (const char *const *)svc->ingress_fit, now) &&
      sl_admission_type_fits(svc->admission, (const char *const *)svc->egress_fit, now))
    return TRUE;
  *why = g_strdup_printf("no capacity: %.2f of %.2f cores free, not enough for the largest job",
                         MAX(0.0, sl_admission_available_cores(svc->admission, now)),
                         sl_admission_capacity(svc->admission));
  return FALSE;
}

static void collect(SlMetrics *metrics, gpointer data)
{
  SlService *svc = data;
  gint64 now = g_get_monotonic_time();
  const char *ingress_labels[] = {svc->node_id, "INGRESS", NULL};
  const char *egress_labels[] = {svc->node_id, "EGRESS", NULL};
  const char *node[] = {svc->node_id, NULL};
  double load = sl_cpu_monitor_load(svc->cpu);
  gboolean in_ok =
      !svc->draining &&
      sl_admission_type_fits(svc->admission, (const char *const *)svc->ingress_fit, now);
  gboolean eg_ok = !svc->draining && sl_admission_type_fits(
                                         svc->admission, (const char *const *)svc->egress_fit, now);

  sl_metric_set(svc->m_cpu_load, ingress_labels, load);
  sl_metric_set(svc->m_cpu_load, egress_labels, load);
  sl_metric_set(svc->m_ingress_available, node, in_ok ? 1 : 0);
  sl_metric_set(svc->m_egress_available, node, eg_ok ? 1 : 0);
  sl_metric_set(svc->m_capacity, NULL, sl_admission_capacity(svc->admission));
  sl_metric_set(svc->m_available_cores, NULL,
                MAX(0.0, sl_admission_available_cores(svc->admission, now)));
  sl_metric_set(svc->m_draining, NULL, svc->draining ? 1 : 0);
  sl_metric_set(svc->m_sessions, NULL, svc->sessions);
}

static gboolean setup_metrics(SlService *svc, GError **error)
{
  static const char *node_type[] = {"node_id", "node_type", NULL};
  static const char *node[] = {"node_id", NULL};
  static const char *build[] = {"version", "abi", NULL};
  static const char *plugin_labels[] = {"plugin", "kind", "version", NULL};
  SlMetricFamily *info;
  SlMetricFamily *plugins;
  g_autofree char *abi = g_strdup_printf("%d.%d", SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
  const char *build_values[] = {SLUICE_VERSION, abi, NULL};
  GPtrArray *all;

  svc->metrics = sl_metrics_new();
  if (!sl_metrics_add_process_collector(svc->metrics, error))
    return FALSE;
#define REG(var, kind, name, help, labels)                                                         \
  if ((var = sl_metrics_register(svc->metrics, kind, name, help, labels, error)) == NULL)          \
  return FALSE
  REG(svc->m_cpu_load, SL_METRIC_GAUGE, "livekit_node_cpu_load",
      "CPU load of the node, 0 to 1 (LiveKit name)", node_type);
  REG(svc->m_ingress_available, SL_METRIC_GAUGE, "livekit_ingress_available",
      "1 when the node can take the largest ingress job (LiveKit name)", node);
  REG(svc->m_egress_available, SL_METRIC_GAUGE, "livekit_egress_available",
      "1 when the node can take the largest egress job (LiveKit name)", node);
  REG(svc->m_capacity, SL_METRIC_GAUGE, "sluice_cpu_capacity_cores",
      "Cores jobs may use: cores x max_cpu_utilization", NULL);
  REG(svc->m_available_cores, SL_METRIC_GAUGE, "sluice_cpu_available_cores",
      "Cores free for new jobs after measured load and held reservations", NULL);
  REG(svc->m_draining, SL_METRIC_GAUGE, "sluice_draining", "1 while the node drains", NULL);
  REG(svc->m_sessions, SL_METRIC_GAUGE, "sluice_sessions_active", "Sessions running", NULL);
  REG(info, SL_METRIC_GAUGE, "sluice_build_info", "Version and plugin ABI of this build", build);
  REG(plugins, SL_METRIC_GAUGE, "sluice_plugin_info", "Plugins loaded in this process",
      plugin_labels);
#undef REG
  sl_metric_set(info, build_values, 1);
  all = sl_plugin_set_list(svc->plugins);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    const char *v[] = {pl->name, sl_plugin_kind_name(pl->desc.kind), pl->desc.version, NULL};
    if (pl->state == SL_PLUGIN_LOADED && pl->enabled)
      sl_metric_set(plugins, v, 1);
  }
  sl_metrics_add_collector(svc->metrics, collect, svc);
  return TRUE;
}

/* ---- life cycle -------------------------------------------------------------------------- */

static void on_session_count(guint active, gpointer data);

/* One LiveKit webhook carrying an IngressInfo or an EgressInfo. */
static void send_ingress_webhook(SlService *svc, const char *event, SlIngress *ing)
{
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;
  if (svc->webhooks == NULL)
    return;
  info = sl_api_ingress_info(svc->api, ing);
  text = sl_pbjson_to_string(&sl_pb_livekit_IngressInfo, info, SL_PBJSON_NONE, NULL);
  if (text != NULL)
    sl_webhooks_send(svc->webhooks, event, "ingressInfo", text);
}

static void send_egress_webhook(SlService *svc, const char *event, JsonObject *info)
{
  g_autofree char *text = NULL;
  if (svc->webhooks == NULL)
    return;
  text = sl_pbjson_to_string(&sl_pb_livekit_EgressInfo, info, SL_PBJSON_NONE, NULL);
  if (text != NULL)
    sl_webhooks_send(svc->webhooks, event, "egressInfo", text);
}

/* Ingress state → LiveKit webhooks: ingress_started when it publishes, ingress_ended when it
 * ends (inactive, complete or error). */
static void on_ingress_changed(SlIngress *ing, gpointer data)
{
  SlService *svc = data;
  if (svc->cluster != NULL)
    sl_cluster_ingress_changed(svc->cluster, ing);
  if (ing->status == SL_INGRESS_PUBLISHING)
    send_ingress_webhook(svc, "ingress_started", ing);
  else if (ing->status == SL_INGRESS_INACTIVE || ing->status == SL_INGRESS_COMPLETE ||
           ing->status == SL_INGRESS_ERROR)
    send_ingress_webhook(svc, "ingress_ended", ing);
}

/* Egress changes → egress_started (first), egress_updated, egress_ended (final status). */
static void on_egress_changed(JsonObject *info, gpointer data)
{
  SlService *svc = data;
  const char *id = json_object_get_string_member_with_default(info, "egress_id", "");
  gint64 st = json_object_get_int_member_with_default(info, "status", 0);
  const char *event;
  if (svc->cluster != NULL)
    sl_cluster_egress_changed(svc->cluster, info);
  if (st >= SL_EGRESS_COMPLETE)
    event = "egress_ended";
  else if (!g_hash_table_contains(svc->egress_started, id))
    event = "egress_started";
  else
    event = "egress_updated";
  g_hash_table_add(svc->egress_started, g_strdup(id));
  send_egress_webhook(svc, event, info);
}

/* This worker reaped a dead worker's ingress or egress: the webhooks that worker cannot send. */
static void on_reaped_ingress(SlIngress *ing, gpointer data)
{
  send_ingress_webhook(data, "ingress_ended", ing);
}

static void on_reaped_egress(JsonObject *info, gpointer data)
{
  send_egress_webhook(data, "egress_ended", info);
}

static void on_output_message(const char *session_id, JsonObject *msg, gpointer data)
{
  SlService *svc = data;
  if (svc->egresses)
    sl_egresses_on_output_message(svc->egresses, session_id, msg);
}

static void on_session_ended(const char *session_id, SlIngressStatus status, const char *error,
                             gpointer data)
{
  SlService *svc = data;
  if (svc->egresses)
    sl_egresses_on_session_ended(svc->egresses, session_id, status, error);
}

SlService *sl_service_new(SlConfig *config, GError **error)
{
  g_autoptr(SlService) svc = g_new0(SlService, 1);
  SluiceLogLevel level;
  const char *level_name;

  svc->config = config;
  if (!sl_service_prepare_config(config, &svc->plugins, FALSE, error))
    return NULL;

  level_name = sl_config_get_string(config, "logging.level");
  if (!sl_log_parse_level(level_name, &level)) {
    g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID,
                "%s:%u: logging.level: '%s' is not one of debug, info, warn, error",
                sl_config_source(config), sl_config_line(config, "logging.level"), level_name);
    return NULL;
  }
  sl_log_configure(level, sl_config_get_bool(config, "logging.json"));

  svc->node_id = sl_config_get_string(config, "node_id")
                     ? g_strdup(sl_config_get_string(config, "node_id"))
                     : sl_id_random("SN_", 12);
  if (!setup_admission(svc, error))
    return NULL;
  if (!setup_metrics(svc, error))
    return NULL;
  svc->ingresses = sl_ingress_store_new();
  if (!sl_ingress_store_load_config(svc->ingresses, config, error))
    return NULL;
  {
    g_autoptr(GPtrArray) diags = sl_diag_array_new();
    svc->plugin_path = sl_service_plugin_path(config, diags);
  }
  {
    SlSessionsEnv env = {
        .config = config,
        .ingresses = svc->ingresses,
        .admission = svc->admission,
        .cpu = svc->cpu,
        .metrics = svc->metrics,
        .node_id = svc->node_id,
        .plugin_path = (const char *const *)svc->plugin_path,
        .on_count_changed = on_session_count,
        .on_output_message = on_output_message,
        .on_session_ended = on_session_ended,
        .on_ingress_changed = on_ingress_changed,
        .user_data = svc,
    };
    svc->session_mgr = sl_sessions_new(&env, error);
    if (svc->session_mgr == NULL)
      return NULL;
  }
  svc->egresses = sl_egresses_new(svc->session_mgr, svc->ingresses);
  svc->egress_started = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  sl_egresses_set_listener(svc->egresses, on_egress_changed, svc);
  {
    SlClusterEnv cenv = {
        .config = config,
        .ingresses = svc->ingresses,
        .sessions = svc->session_mgr,
        .egresses = svc->egresses,
        .node_id = svc->node_id,
        .on_reaped_ingress = on_reaped_ingress,
        .on_reaped_egress = on_reaped_egress,
        .user_data = svc,
    };
    svc->cluster = sl_cluster_new(&cenv, error);
    if (svc->cluster == NULL)
      return NULL;
  }
  {
    GError *local = NULL;
    svc->webhooks = sl_webhooks_new(config, &local);
    if (local != NULL) {
      g_propagate_error(error, local);
      return NULL;
    }
  }
  return g_steal_pointer(&svc);
}

void sl_service_free(SlService *svc)
{
  if (svc == NULL)
    return;
  if (svc->sample_source)
    g_source_remove(svc->sample_source);
  if (svc->sigterm_source)
    g_source_remove(svc->sigterm_source);
  if (svc->sigint_source)
    g_source_remove(svc->sigint_source);
  g_clear_pointer(&svc->http, sl_http_free);
  g_clear_pointer(&svc->webhooks, sl_webhooks_free);
  g_clear_pointer(&svc->egress_started, g_hash_table_unref);
  g_clear_pointer(&svc->api, sl_api_free);
  g_clear_pointer(&svc->cluster, sl_cluster_free);
  g_clear_pointer(&svc->egresses, sl_egresses_free);
  g_clear_pointer(&svc->session_mgr, sl_sessions_free);
  g_clear_pointer(&svc->ingresses, sl_ingress_store_free);
  g_strfreev(svc->plugin_path);
  g_clear_pointer(&svc->admission, sl_admission_free);
  g_clear_pointer(&svc->cpu, sl_cpu_monitor_free);
  g_clear_pointer(&svc->metrics, sl_metrics_free);
  g_clear_pointer(&svc->plugins, sl_plugin_set_free);
  g_clear_pointer(&svc->config, sl_config_free);
  g_clear_pointer(&svc->loop, g_main_loop_unref);
  g_strfreev(svc->ingress_fit);
  g_strfreev(svc->egress_fit);
  g_free(svc->node_id);
  g_free(svc);
}

SlConfig *sl_service_config(SlService *svc)
{
  return svc->config;
}
SlMetrics *sl_service_metrics(SlService *svc)
{
  return svc->metrics;
}
SlAdmission *sl_service_admission(SlService *svc)
{
  return svc->admission;
}
SlEgresses *sl_service_egresses(SlService *svc)
{
  return svc->egresses;
}
SlIngressStore *sl_service_ingresses(SlService *svc)
{
  return svc->ingresses;
}
SlSessions *sl_service_sessions(SlService *svc)
{
  return svc->session_mgr;
}
SlPluginSet *sl_service_plugins(SlService *svc)
{
  return svc->plugins;
}
const char *sl_service_node_id(SlService *svc)
{
  return svc->node_id;
}

static gboolean sample_cpu(gpointer data)
{
  SlService *svc = data;
  g_autoptr(GError) err = NULL;
  if (!sl_cpu_monitor_sample(svc->cpu, &err)) {
    sl_warn("admission", "CPU sample failed: %s", err->message);
    return G_SOURCE_CONTINUE;
  }
  /* Admission reads a smoothed load (a time constant of about three samples): the CPU a burst of
   * handlers spends starting up, or another process's spike, should not refuse publishers that
   * arrive in the same second, while a load that lasts is seen within a few seconds. */
  {
    double busy = sl_cpu_monitor_busy_cores(svc->cpu);
    svc->busy_smoothed = svc->busy_samples++ == 0 ? busy : 0.7 * svc->busy_smoothed + 0.3 * busy;
    sl_admission_set_node_busy(svc->admission, svc->busy_smoothed);
  }
  sl_sessions_sample(svc->session_mgr);
  sl_admission_tick(svc->admission, g_get_monotonic_time());
  return G_SOURCE_CONTINUE;
}

static void stop_inputs(SlService *svc)
{
  GPtrArray *all = sl_plugin_set_list(svc->plugins);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state == SL_PLUGIN_LOADED && pl->enabled && pl->desc.kind == SLUICE_PLUGIN_KIND_INPUT)
      pl->input.stop_accepting();
  }
}

static void maybe_quit(SlService *svc)
{
  if ((svc->draining || svc->stopping) && svc->sessions == 0 && svc->loop != NULL)
    g_main_loop_quit(svc->loop);
}

static gboolean on_sigterm(gpointer data)
{
  SlService *svc = data;
  if (!svc->draining) {
    sl_info("service", "SIGTERM: draining (%u session%s running); no new work is accepted",
            svc->sessions, svc->sessions == 1 ? "" : "s");
    svc->draining = TRUE;
    sl_admission_set_draining(svc->admission, TRUE);
    stop_inputs(svc);
  }
  maybe_quit(svc);
  return G_SOURCE_CONTINUE;
}

static gboolean on_sigint(gpointer data)
{
  SlService *svc = data;
  sl_info("service", "SIGINT: stopping %u session%s and exiting", svc->sessions,
          svc->sessions == 1 ? "" : "s");
  if (!svc->draining) {
    svc->draining = TRUE;
    sl_admission_set_draining(svc->admission, TRUE);
    stop_inputs(svc);
  }
  if (!svc->stopping) {
    svc->stopping = TRUE;
    sl_sessions_stop_all(svc->session_mgr, "sluice is stopping (SIGINT)");
  }
  maybe_quit(svc);
  return G_SOURCE_CONTINUE;
}

static void on_session_count(guint active, gpointer data)
{
  SlService *svc = data;
  svc->sessions = active;
  maybe_quit(svc);
}

static gboolean start_inputs(SlService *svc, GError **error)
{
  GPtrArray *all = sl_plugin_set_list(svc->plugins);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    GError *local = NULL;
    if (pl->state != SL_PLUGIN_LOADED || !pl->enabled || pl->desc.kind != SLUICE_PLUGIN_KIND_INPUT)
      continue;
    if (!pl->input.start(&local)) {
      g_set_error(error, SL_LOADER_ERROR, SL_LOADER_ERROR_OPEN, "input '%s' could not start: %s",
                  pl->name, local ? local->message : "start() returned FALSE without a reason");
      g_clear_error(&local);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean rtmp_loaded(SlService *svc)
{
  GPtrArray *all = sl_plugin_set_list(svc->plugins);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state == SL_PLUGIN_LOADED && pl->enabled && pl->desc.kind == SLUICE_PLUGIN_KIND_INPUT &&
        g_strcmp0(pl->input.input_type, "rtmp") == 0)
      return TRUE;
  }
  return FALSE;
}

/* Tells a person where to push. The stream key is shown in full only where they can read it and
 * nowhere else: on a terminal, or when the key was generated at start-up (the only way to learn
 * it). Log lines always carry the redacted form. */
static void announce_ingresses(SlService *svc)
{
  GPtrArray *all = sl_ingress_store_list(svc->ingresses);
  gint64 port = sl_config_get_int(svc->config, "rtmp_port");
  gboolean tty = isatty(STDOUT_FILENO);
  if (!rtmp_loaded(svc) || port <= 0)
    return;
  for (guint i = 0; i < all->len; i++) {
    SlIngress *ing = g_ptr_array_index(all, i);
    g_autofree char *shown =
        (tty || ing->key_generated) ? g_strdup(ing->stream_key) : sl_redact_secret(ing->stream_key);
    printf("ingress '%s' (%s, room '%s'): publish to rtmp://127.0.0.1:%" G_GINT64_FORMAT
           "/live/%s%s\n",
           ing->name, ing->id, ing->room_name, port, shown,
           ing->key_generated ? "  (key generated for this run)" : "");
  }
  fflush(stdout);
}

int sl_service_run(SlService *svc)
{
  g_autoptr(GError) err = NULL;
  const char *bind = sl_config_get_string(svc->config, "bind_address");
  gint health = (gint)sl_config_get_int(svc->config, "health_port");
  gint prom = (gint)sl_config_get_int(svc->config, "prometheus_port");
  SlHostEnv env = {
      .config = svc->config,
      .metrics = svc->metrics,
      .node_id = svc->node_id,
      .process = "service",
      .sessions = svc->session_mgr,
  };

  svc->loop = g_main_loop_new(NULL, FALSE);
  svc->sigterm_source = g_unix_signal_add(SIGTERM, on_sigterm, svc);
  svc->sigint_source = g_unix_signal_add(SIGINT, on_sigint, svc);

  svc->http = sl_http_new();
  if (!sl_http_serve_health(svc->http, bind, health, availability, svc, &err) ||
      !sl_http_serve_metrics(svc->http, bind, prom, svc->metrics, &err)) {
    sl_error("service", "cannot open the HTTP surfaces: %s", err->message);
    return 1;
  }
  {
    SlApiEnv api_env = {.config = svc->config,
                        .ingresses = svc->ingresses,
                        .sessions = svc->session_mgr,
                        .egresses = svc->egresses,
                        .cluster = svc->cluster};
    svc->api = sl_api_new(&api_env, &err);
    if (svc->api == NULL) {
      sl_error("service", "%s", err->message);
      return 1;
    }
  }
  if (!sl_host_init_plugins(svc->plugins, &env, &err) || !start_inputs(svc, &err)) {
    sl_error("service", "%s", err->message);
    sl_host_shutdown_plugins(svc->plugins);
    return 1;
  }
  svc->sample_source = g_timeout_add_seconds(1, sample_cpu, svc);
  {
    g_autoptr(JsonObject) info = json_object_new();
    json_object_set_string_member(info, "node_id", svc->node_id);
    json_object_set_string_member(info, "version", SLUICE_VERSION);
    json_object_set_double_member(info, "capacity_cores", sl_admission_capacity(svc->admission));
    sl_cluster_start(svc->cluster, info);
  }
  announce_ingresses(svc);

  {
    g_autofree char *h = health > 0 ? g_strdup_printf("%d", health) : g_strdup("off");
    g_autofree char *p = prom > 0 ? g_strdup_printf("%d", prom) : g_strdup("off");
    sl_info("service",
            "sluice %s ready: node %s, config %s, health port %s, metrics port %s, %s bus",
            SLUICE_VERSION, svc->node_id, sl_config_source(svc->config), h, p,
            sl_cluster_backend(svc->cluster));
  }
  g_main_loop_run(svc->loop);

  sl_cluster_leave(svc->cluster);
  sl_http_close(svc->http);
  sl_host_shutdown_plugins(svc->plugins);
  sl_info("service", "stopped");
  return svc->exit_status;
}
