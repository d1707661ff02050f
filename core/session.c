/* Sessions and handler processes. See session.h. */
#include "session.h"

#include "ids.h"
#include "ipc.h"
#include "log.h"
#include "redact.h"
#include "outputs.h"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long a handler may take to finalise its outputs once its input has ended. */
#define FINALISE_TIMEOUT_S 60

struct _SluiceSession {
  SlSessions *mgr;
  char *id;         /* RT_... */
  char *ingress_id; /* the ingress may be deleted while the session runs */
  char *job_type;   /* admission type */
  char *input_type;
  SlPlugin *input;
  GPid pid;
  guint child_watch;
  guint kill_timer;
  SlIpcChannel *ctl;
  gboolean publisher_gone;
  gboolean handler_gone;
  gboolean transcoding;
  SlIngressStatus reported; /* last state the handler reported */
  gboolean ended_msg;       /* the handler said how it ended */
  gboolean busy;            /* inside a callback that may re-enter: do not free yet */
  SlIngressStatus final_status;
  char *error; /* first error wins */
  char *log;   /* component name for log lines: "session:RT_..." */
};

struct _SlSessions {
  SlSessionsEnv env;
  char *exe;
  char *output_dir;
  GHashTable *live; /* id → SluiceSession* (until both sides are done) */
  guint active;     /* handlers running */
  SlMetricFamily *m_requests;
  SlMetricFamily *m_bytes;
  SlMetricFamily *m_publish;
  SlMetricFamily *m_ended;
  SlMetricFamily *m_upload_bytes; /* handlers' uploads, reported over IPC (uploader.h) */
  SlMetricFamily *m_upload_seconds;
  SlMetricFamily *m_upload_results;
};

SlSessions *sl_sessions_new(const SlSessionsEnv *env, GError **error)
{
  static const char *req_labels[] = {"node_id", "type", "transcoding", NULL};
  static const char *type_labels[] = {"type", NULL};
  static const char *status_labels[] = {"type", "status", NULL};
  static const char *backend_labels[] = {"backend", NULL};
  static const char *result_labels[] = {"backend", "status", NULL};
  SlSessions *mgr = g_new0(SlSessions, 1);
  const char *out = sl_config_get_string(env->config, "output_dir");

  mgr->env = *env;
  mgr->live = g_hash_table_new(g_str_hash, g_str_equal);
  mgr->exe = g_file_read_link("/proc/self/exe", error);
  if (mgr->exe == NULL)
    goto fail;
  mgr->output_dir =
      g_path_is_absolute(out) ? g_strdup(out) : g_canonicalize_filename(out, g_get_current_dir());
#define REG(var, kind, name, help, labels)                                                         \
  if ((var = sl_metrics_register(env->metrics, kind, name, help, labels, error)) == NULL)          \
  goto fail
  REG(mgr->m_requests, SL_METRIC_GAUGE, "livekit_ingress_requests",
      "Ingress sessions running, by input type (LiveKit name)", req_labels);
  REG(mgr->m_bytes, SL_METRIC_COUNTER, "sluice_ingress_bytes_in_total",
      "Bytes received from publishers", type_labels);
  REG(mgr->m_publish, SL_METRIC_COUNTER, "sluice_ingress_publish_status_total",
      "Publish attempts by result: success, 4xx (refused), 5xx (no capacity), internal",
      status_labels);
  REG(mgr->m_ended, SL_METRIC_COUNTER, "sluice_ingress_sessions_ended_total",
      "Sessions ended, by final ingress state", status_labels);
  REG(mgr->m_upload_bytes, SL_METRIC_COUNTER, "sluice_upload_bytes_total",
      "Bytes stored by handlers' uploads, by storage backend", backend_labels);
  REG(mgr->m_upload_seconds, SL_METRIC_COUNTER, "sluice_upload_seconds_total",
      "Seconds spent in handlers' uploads, by storage backend", backend_labels);
  REG(mgr->m_upload_results, SL_METRIC_COUNTER, "sluice_upload_results_total",
      "Upload attempts by storage backend and result (success, failure)", result_labels);
#undef REG
  return mgr;
fail:
  sl_sessions_free(mgr);
  return NULL;
}

static void session_free(SluiceSession *s)
{
  if (s->kill_timer)
    g_source_remove(s->kill_timer);
  g_clear_pointer(&s->ctl, sl_ipc_channel_free);
  g_free(s->id);
  g_free(s->ingress_id);
  g_free(s->job_type);
  g_free(s->input_type);
  g_free(s->error);
  g_free(s->log);
  g_free(s);
}

void sl_sessions_free(SlSessions *mgr)
{
  if (mgr == NULL)
    return;
  if (mgr->live)
    g_hash_table_unref(mgr->live);
  g_free(mgr->exe);
  g_free(mgr->output_dir);
  g_free(mgr);
}

guint sl_sessions_active(SlSessions *mgr)
{
  return mgr->active;
}

static void count_publish(SlSessions *mgr, const char *type, const char *status)
{
  const char *labels[] = {type, status, NULL};
  sl_metric_add(mgr->m_publish, labels, 1);
}

static void update_requests(SlSessions *mgr, SluiceSession *s, double delta)
{
  const char *labels[] = {mgr->env.node_id, s->input_type, s->transcoding ? "true" : "false", NULL};
  double cur = 0;
  sl_metric_get(mgr->m_requests, labels, &cur);
  sl_metric_set(mgr->m_requests, labels, MAX(0.0, cur + delta));
}

static void set_error(SluiceSession *s, const char *error)
{
  if (s->error == NULL && error != NULL)
    s->error = g_strdup(error);
}

/* Both sides done: forget the session. */
static void maybe_finish(SluiceSession *s)
{
  if (!s->publisher_gone || !s->handler_gone || s->busy)
    return;
  g_hash_table_remove(s->mgr->live, s->id);
  session_free(s);
}

/* ---- outputs ----------------------------------------------------------------------------- */

/* Turns the ingress's configured outputs into the handler's list (outputs.h). */
static JsonArray *expand_outputs(SlSessions *mgr, SlIngress *ing, GError **error)
{
  static const char *const types[] = {"file", "segments"};
  g_autoptr(JsonArray) list = json_array_new();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  SlTemplateVars vars = {
      .room_name = ing->room_name,
      .room_id = "",
      .publisher_identity = ing->participant_identity,
      .ingress_id = ing->id,
      .now = now,
  };
  for (guint i = 0; ing->outputs && i < G_N_ELEMENTS(types); i++) {
    JsonObject *req;
    JsonObject *o;
    JsonObject *opts;
    if (!json_object_has_member(ing->outputs, types[i]))
      continue;
    req = json_object_get_object_member(ing->outputs, types[i]);
    opts = sl_outputs_resolve(mgr->output_dir, types[i], req, ing->room_name, &vars, error);
    if (opts == NULL)
      return NULL;
    o = json_object_new();
    json_object_set_string_member(o, "type", types[i]);
    json_object_set_object_member(o, "options", opts);
    json_array_add_object_element(list, o);
  }
  return g_steal_pointer(&list);
}

/* ---- handler process --------------------------------------------------------------------- */

static void on_control(SlIpcChannel *ch, JsonObject *msg, const GError *error, gpointer data);
static gboolean kill_handler(gpointer data);
static void on_child_exit(GPid pid, gint status, gpointer data);

static char *describe_exit(gint status)
{
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return g_strdup_printf("handler process was killed by signal %d (%s)", sig, g_strsignal(sig));
  }
  if (WIFEXITED(status))
    return g_strdup_printf("handler process failed with exit status %d", WEXITSTATUS(status));
  return g_strdup("handler process ended abnormally");
}

static gboolean spawn_handler(SlSessions *mgr, SluiceSession *s, JsonObject *desc, int media_rd,
                              int ctl_child, GError **error)
{
  g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);
  g_autofree char *desc_text = NULL;
  g_auto(GStrv) envp = g_get_environ();
  char *argv[] = {mgr->exe, (char *)"handler", NULL};
  gint source_fds[] = {media_rd, ctl_child};
  gint target_fds[] = {3, 4};

  json_node_set_object(node, desc);
  desc_text = json_to_string(node, FALSE);
  envp = g_environ_setenv(envp, "SLUICE_HANDLER_SESSION", desc_text, TRUE);
  envp = g_environ_setenv(envp, "SLUICE_HANDLER_CONFIG", sl_config_text(mgr->env.config), TRUE);
  envp = g_environ_setenv(envp, "SLUICE_HANDLER_CONFIG_SOURCE", sl_config_source(mgr->env.config),
                          TRUE);
  envp = g_environ_unsetenv(envp, "SLUICE_CONFIG_FILE");
  envp = g_environ_unsetenv(envp, "SLUICE_CONFIG_BODY");

  return g_spawn_async_with_pipes_and_fds(
      NULL, (const char *const *)argv, (const char *const *)envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
      NULL, -1, -1, -1, source_fds, target_fds, G_N_ELEMENTS(source_fds), &s->pid, NULL, NULL, NULL,
      error);
}

static JsonObject *describe_session(SlSessions *mgr, SluiceSession *s, SlIngress *ing,
                                    const SluiceSessionRequest *req, JsonArray *outputs)
{
  JsonObject *d = json_object_new();
  JsonObject *i = json_object_new();
  JsonArray *path = json_array_new();
  json_object_set_string_member(d, "session_id", s->id);
  json_object_set_string_member(d, "node_id", mgr->env.node_id);
  json_object_set_string_member(d, "input_plugin", s->input->name);
  json_object_set_string_member(d, "media_format", req->media_format ? req->media_format : "flv");
  json_object_set_string_member(d, "output_dir", mgr->output_dir);
  json_object_set_boolean_member(d, "transcoding", s->transcoding);
  json_object_set_string_member(i, "ingress_id", ing->id);
  json_object_set_string_member(i, "name", ing->name);
  json_object_set_string_member(i, "room_name", ing->room_name);
  json_object_set_string_member(i, "participant_identity", ing->participant_identity);
  json_object_set_string_member(i, "input_type", ing->input_type);
  json_object_set_object_member(d, "ingress", i);
  json_object_set_array_member(d, "outputs", json_array_ref(outputs));
  for (guint k = 0; mgr->env.plugin_path && mgr->env.plugin_path[k]; k++)
    json_array_add_string_element(path, mgr->env.plugin_path[k]);
  json_object_set_array_member(d, "plugin_path", path);
  return d;
}

SluiceSession *sl_sessions_start(SlSessions *mgr, SlPlugin *plugin, const SluiceSessionRequest *req,
                                 int *media_fd, GError **error)
{
  SlIngress *ing = sl_ingress_store_by_key(mgr->env.ingresses, req->stream_key);
  const char *type = req->input_type ? req->input_type : "rtmp";
  g_autofree char *shown_key = sl_redact_secret(req->stream_key);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonArray) outputs = NULL;
  g_autoptr(JsonObject) desc = NULL;
  SluiceSession *s;
  int media[2] = {-1, -1};
  int ctl[2] = {-1, -1};

  if (ing == NULL) {
    count_publish(mgr, type, "4xx");
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_UNKNOWN_KEY,
                "no ingress has stream key %s", shown_key);
    return NULL;
  }
  if (!ing->enabled) {
    count_publish(mgr, type, "4xx");
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_DISABLED,
                "ingress %s (%s) is disabled", ing->name, ing->id);
    return NULL;
  }
  if (g_ascii_strcasecmp(ing->input_type, type) != 0) {
    count_publish(mgr, type, "4xx");
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_WRONG_TYPE,
                "ingress %s takes %s, not %s", ing->name, ing->input_type, type);
    return NULL;
  }
  if (ing->status == SL_INGRESS_BUFFERING || ing->status == SL_INGRESS_PUBLISHING) {
    count_publish(mgr, type, "4xx");
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_ALREADY_LIVE,
                "ingress %s already has a live publisher (session %s%s%s); a second publisher "
                "on the same stream key is refused",
                ing->name, ing->resource_id ? ing->resource_id : "?",
                ing->owner && g_strcmp0(ing->owner, mgr->env.node_id) != 0 ? " on worker " : "",
                ing->owner && g_strcmp0(ing->owner, mgr->env.node_id) != 0 ? ing->owner : "");
    return NULL;
  }

  s = g_new0(SluiceSession, 1);
  s->mgr = mgr;
  s->id = sl_id_random("RT_", 12);
  s->log = g_strdup_printf("session:%s", s->id);
  s->ingress_id = g_strdup(ing->id);
  s->input = plugin;
  s->input_type = g_strdup(type);
  s->transcoding = ing->transcoding;
  s->job_type = g_strdup_printf("%s%s", type, ing->transcoding ? "" : "_bypass_transcoding");
  s->final_status = SL_INGRESS_INACTIVE;

  if (!sl_admission_reserve(mgr->env.admission, s->job_type, s->id, g_get_monotonic_time(),
                            &local)) {
    count_publish(mgr, type, "5xx");
    g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_NO_CAPACITY, "%s",
                local->message);
    session_free(s);
    return NULL;
  }

  outputs = expand_outputs(mgr, ing, &local);
  if (outputs == NULL)
    goto internal;
  if (pipe2(media, O_CLOEXEC) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) != 0) {
    local = g_error_new(G_IO_ERROR, g_io_error_from_errno(errno), "%s", g_strerror(errno));
    goto internal;
  }
  /* A larger pipe means fewer wake-ups per second of media on both sides. */
  (void)fcntl(media[1], F_SETPIPE_SZ, 1 << 20);
  desc = describe_session(mgr, s, ing, req, outputs);
  if (!spawn_handler(mgr, s, desc, media[0], ctl[1], &local))
    goto internal;
  close(media[0]);
  close(ctl[1]);
  g_unix_set_fd_nonblocking(media[1], TRUE, NULL);

  s->child_watch = g_child_watch_add(s->pid, on_child_exit, s);
  s->ctl = sl_ipc_channel_new(ctl[0], on_control, s);
  sl_cpu_monitor_track_pid(mgr->env.cpu, s->pid);
  g_hash_table_insert(mgr->live, s->id, s);
  mgr->active++;
  update_requests(mgr, s, +1);
  count_publish(mgr, type, "success");
  if (mgr->env.on_count_changed)
    mgr->env.on_count_changed(mgr->active, mgr->env.user_data);

  g_free(ing->resource_id);
  ing->resource_id = g_strdup(s->id);
  g_free(ing->owner);
  ing->owner = g_strdup(mgr->env.node_id);
  sl_ingress_set_status(ing, SL_INGRESS_BUFFERING, NULL);
  if (mgr->env.on_ingress_changed)
    mgr->env.on_ingress_changed(ing, mgr->env.user_data);
  sl_info(s->log, "ingress %s (%s): %s publisher from %s, handler pid %d, %s",
          ing->name ? ing->name : "", ing->id, type, req->remote_addr ? req->remote_addr : "?",
          (int)s->pid, sl_ingress_status_name(ing->status));
  *media_fd = media[1];
  return s;

internal:
  count_publish(mgr, type, "internal");
  g_set_error(error, SLUICE_SESSION_ERROR, SLUICE_SESSION_ERROR_INTERNAL,
              "cannot start the session: %s", local ? local->message : "unknown error");
  sl_error("sessions", "ingress %s: cannot start a session: %s", ing->name,
           local ? local->message : "unknown error");
  for (int i = 0; i < 2; i++) {
    if (media[i] >= 0)
      close(media[i]);
    if (ctl[i] >= 0)
      close(ctl[i]);
  }
  sl_admission_release(mgr->env.admission, s->id);
  session_free(s);
  return NULL;
}

static SlIngress *ingress_of(SluiceSession *s)
{
  SlIngress *ing = sl_ingress_store_by_id(s->mgr->env.ingresses, s->ingress_id);
  /* Only the session that owns the ingress's live state may change it. */
  return ing && g_strcmp0(ing->resource_id, s->id) == 0 ? ing : NULL;
}

static SlIngressStatus parse_status(const char *name)
{
  for (int st = SL_INGRESS_INACTIVE; st <= SL_INGRESS_COMPLETE; st++)
    if (g_strcmp0(name, sl_ingress_status_name(st)) == 0)
      return st;
  return SL_INGRESS_ERROR;
}

static void on_control(SlIpcChannel *ch, JsonObject *msg, const GError *error, gpointer data)
{
  SluiceSession *s = data;
  const char *type;
  SlIngress *ing = ingress_of(s);

  if (msg == NULL)
    return; /* closed: the child watch decides how the session ended */
  type = json_object_get_string_member_with_default(msg, "type", "");
  if (strcmp(type, "state") == 0) {
    SlIngressStatus st =
        parse_status(json_object_get_string_member_with_default(msg, "status", ""));
    s->reported = st;
    if (ing != NULL && st == SL_INGRESS_PUBLISHING) {
      g_clear_pointer(&ing->video, json_object_unref);
      g_clear_pointer(&ing->audio, json_object_unref);
      if (json_object_has_member(msg, "video"))
        ing->video = json_object_ref(json_object_get_object_member(msg, "video"));
      if (json_object_has_member(msg, "audio"))
        ing->audio = json_object_ref(json_object_get_object_member(msg, "audio"));
    }
    if (ing != NULL && (st == SL_INGRESS_BUFFERING || st == SL_INGRESS_PUBLISHING) &&
        ing->status != st) {
      sl_ingress_set_status(ing, st, NULL);
      sl_info(s->log, "ingress %s: %s", ing->id, sl_ingress_status_name(st));
      if (s->mgr->env.on_ingress_changed)
        s->mgr->env.on_ingress_changed(ing, s->mgr->env.user_data);
    }
  } else if (strcmp(type, "output-added") == 0 || strcmp(type, "output-removed") == 0) {
    if (s->mgr->env.on_output_message)
      s->mgr->env.on_output_message(s->id, msg, s->mgr->env.user_data);
  } else if (strcmp(type, "output") == 0) {
    if (s->mgr->env.on_output_message)
      s->mgr->env.on_output_message(s->id, msg, s->mgr->env.user_data);
    const char *event = json_object_get_string_member_with_default(msg, "event", "");
    const char *file = json_object_get_string_member_with_default(msg, "filename", "");
    gint64 size = json_object_get_int_member_with_default(msg, "size", 0);
    gint64 dur = json_object_get_int_member_with_default(msg, "duration", 0);
    const char *location = json_object_get_string_member_with_default(msg, "location", NULL);
    if (strcmp(event, "file-closed") == 0 && location != NULL)
      sl_info(s->log, "recording %s closed: %.1f s, %.1f MB", location, dur / 1e9, size / 1e6);
    else if (strcmp(event, "file-closed") == 0)
      sl_info(s->log, "recording %s/%s closed: %.1f s, %.1f MB", s->mgr->output_dir, file,
              dur / 1e9, size / 1e6);
    else if (strcmp(event, "playlist-updated") == 0)
      sl_debug(s->log, "playlist %s: %" G_GINT64_FORMAT " segments", file,
               json_object_get_int_member_with_default(msg, "segment_count", 0));
  } else if (strcmp(type, "ended") == 0) {
    s->ended_msg = TRUE;
    s->final_status = parse_status(json_object_get_string_member_with_default(msg, "status", ""));
    if (s->final_status == SL_INGRESS_ERROR)
      set_error(s, json_object_get_string_member_with_default(msg, "error", "handler failed"));
  } else if (strcmp(type, "upload") == 0) {
    const char *backend = json_object_get_string_member_with_default(msg, "backend", "?");
    const char *status = json_object_get_string_member_with_default(msg, "status", "?");
    const char *b[] = {backend, NULL};
    const char *r[] = {backend, status, NULL};
    sl_metric_add(s->mgr->m_upload_results, r, 1);
    sl_metric_add(s->mgr->m_upload_bytes, b,
                  (double)json_object_get_int_member_with_default(msg, "bytes", 0));
    sl_metric_add(s->mgr->m_upload_seconds, b,
                  json_object_get_double_member_with_default(msg, "seconds", 0));
  } else if (strcmp(type, "upload-progress") == 0) {
    /* A handler still uploading what it recorded is finishing, not stuck. */
    if (s->kill_timer != 0) {
      g_source_remove(s->kill_timer);
      s->kill_timer = g_timeout_add_seconds(FINALISE_TIMEOUT_S, kill_handler, s);
    }
  } else if (strcmp(type, "log") == 0) {
    /* handlers log to the shared stderr themselves; nothing to do */
  } else {
    sl_warn(s->log, "unknown control message '%s' from the handler", type);
  }
}

static void on_child_exit(GPid pid, gint status, gpointer data)
{
  SluiceSession *s = data;
  SlSessions *mgr = s->mgr;
  SlIngress *ing = ingress_of(s);
  SlIngressStatus final;
  const char *labels[3];

  g_spawn_close_pid(pid);
  s->child_watch = 0;
  s->handler_gone = TRUE;
  if (s->kill_timer) {
    g_source_remove(s->kill_timer);
    s->kill_timer = 0;
  }
  if (s->ctl != NULL)
    sl_ipc_channel_drain(s->ctl);
  g_clear_pointer(&s->ctl, sl_ipc_channel_free);

  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    g_autofree char *why = describe_exit(status);
    set_error(s, why);
    final = SL_INGRESS_ERROR;
  } else {
    /* Exit status 0 is the handler's word that it finished its outputs; its last message only
     * adds the detail, and may be lost when the host is very busy. */
    if (!s->ended_msg)
      sl_debug(s->log, "handler exited cleanly without its final report");
    final = s->error ? SL_INGRESS_ERROR : (s->ended_msg ? s->final_status : SL_INGRESS_INACTIVE);
  }

  if (ing != NULL) {
    sl_ingress_set_status(ing, final, s->error);
    g_clear_pointer(&ing->owner, g_free);
    if (mgr->env.on_ingress_changed)
      mgr->env.on_ingress_changed(ing, mgr->env.user_data);
    g_clear_pointer(&ing->resource_id, g_free);
  }
  if (final == SL_INGRESS_ERROR)
    sl_error(s->log, "ended: %s: %s", sl_ingress_status_name(final), s->error);
  else
    sl_info(s->log, "ended: %s", sl_ingress_status_name(final));

  labels[0] = s->input_type;
  labels[1] = sl_ingress_status_name(final);
  labels[2] = NULL;
  sl_metric_add(mgr->m_ended, labels, 1);
  sl_admission_release(mgr->env.admission, s->id);
  sl_cpu_monitor_forget_pid(mgr->env.cpu, s->pid);
  update_requests(mgr, s, -1);
  mgr->active--;

  /* The plugin may call session_end from inside stop_session; keep the session until then. */
  s->busy = TRUE;
  if (!s->publisher_gone && s->input->input.stop_session != NULL)
    s->input->input.stop_session(s, s->error ? s->error : "the session ended");
  s->busy = FALSE;
  if (mgr->env.on_session_ended)
    mgr->env.on_session_ended(s->id, final, s->error, mgr->env.user_data);
  if (mgr->env.on_count_changed)
    mgr->env.on_count_changed(mgr->active, mgr->env.user_data);
  maybe_finish(s);
}

static gboolean kill_handler(gpointer data)
{
  SluiceSession *s = data;
  s->kill_timer = 0;
  set_error(s, "handler did not finish its outputs in time and was stopped");
  sl_error(s->log, "handler pid %d did not finish within %d s; killing it", (int)s->pid,
           FINALISE_TIMEOUT_S);
  kill(s->pid, SIGKILL);
  return G_SOURCE_REMOVE;
}

void sl_sessions_publisher_ended(SlSessions *mgr, SluiceSession *s, const char *error)
{
  if (s->publisher_gone)
    return;
  s->publisher_gone = TRUE;
  if (error != NULL) {
    g_autofree char *clean = sl_log_scrub(error);
    set_error(s, clean);
    sl_warn(s->log, "publisher failed: %s", clean);
  } else {
    sl_info(s->log, "publisher left");
  }
  if (!s->handler_gone && s->kill_timer == 0)
    s->kill_timer = g_timeout_add_seconds(FINALISE_TIMEOUT_S, kill_handler, s);
  maybe_finish(s);
}

void sl_sessions_add_bytes(SlSessions *mgr, SluiceSession *s, guint64 bytes)
{
  const char *labels[] = {s->input_type, NULL};
  sl_metric_add(mgr->m_bytes, labels, (double)bytes);
}

void sl_session_stop(SluiceSession *s, const char *reason)
{
  if (!s->handler_gone && s->ctl != NULL) {
    g_autoptr(JsonObject) msg = sl_ipc_message_new("stop");
    json_object_set_string_member(msg, "reason", reason);
    sl_ipc_channel_send(s->ctl, msg);
    if (s->kill_timer == 0)
      s->kill_timer = g_timeout_add_seconds(FINALISE_TIMEOUT_S, kill_handler, s);
  }
  if (!s->publisher_gone && s->input->input.stop_session != NULL) {
    s->busy = TRUE;
    s->input->input.stop_session(s, reason);
    s->busy = FALSE;
    maybe_finish(s);
  }
}

void sl_sessions_stop_all(SlSessions *mgr, const char *reason)
{
  GHashTableIter it;
  gpointer v;
  g_autoptr(GPtrArray) all = g_ptr_array_new();
  g_hash_table_iter_init(&it, mgr->live);
  while (g_hash_table_iter_next(&it, NULL, &v))
    g_ptr_array_add(all, v);
  for (guint i = 0; i < all->len; i++) {
    SluiceSession *s = g_ptr_array_index(all, i);
    if (!s->handler_gone && s->ctl != NULL) {
      g_autoptr(JsonObject) msg = sl_ipc_message_new("stop");
      json_object_set_string_member(msg, "reason", reason);
      sl_ipc_channel_send(s->ctl, msg);
      if (s->kill_timer == 0)
        s->kill_timer = g_timeout_add_seconds(FINALISE_TIMEOUT_S, kill_handler, s);
    }
  }
  /* Publishers go after their handlers were told, so the last media still gets written. */
  for (guint i = 0; i < all->len; i++) {
    SluiceSession *s = g_ptr_array_index(all, i);
    if (g_hash_table_contains(mgr->live, s->id) && !s->publisher_gone &&
        s->input->input.stop_session != NULL)
      s->input->input.stop_session(s, reason);
  }
}

SluiceSession *sl_sessions_get(SlSessions *mgr, const char *session_id)
{
  SluiceSession *s = session_id ? g_hash_table_lookup(mgr->live, session_id) : NULL;
  return s && !s->handler_gone ? s : NULL;
}

const char *sl_session_id(SluiceSession *s)
{
  return s->id;
}

const char *sl_session_ingress_id(SluiceSession *s)
{
  return s->ingress_id;
}

const char *sl_sessions_output_dir(SlSessions *mgr)
{
  return mgr->output_dir;
}

gboolean sl_session_add_output(SluiceSession *s, const char *output_id, const char *output_type,
                               JsonObject *options)
{
  g_autoptr(JsonObject) msg = sl_ipc_message_new("add-output");
  if (s->handler_gone || s->ctl == NULL)
    return FALSE;
  json_object_set_string_member(msg, "output_id", output_id);
  json_object_set_string_member(msg, "output_type", output_type);
  json_object_set_object_member(msg, "options", json_object_ref(options));
  return sl_ipc_channel_send(s->ctl, msg);
}

gboolean sl_session_remove_output(SluiceSession *s, const char *output_id)
{
  g_autoptr(JsonObject) msg = sl_ipc_message_new("remove-output");
  if (s->handler_gone || s->ctl == NULL)
    return FALSE;
  json_object_set_string_member(msg, "output_id", output_id);
  return sl_ipc_channel_send(s->ctl, msg);
}

void sl_sessions_sample(SlSessions *mgr)
{
  GHashTableIter it;
  gpointer v;
  gint64 now = g_get_monotonic_time();
  g_hash_table_iter_init(&it, mgr->live);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    SluiceSession *s = v;
    if (!s->handler_gone)
      sl_admission_update_job(mgr->env.admission, s->id,
                              sl_cpu_monitor_pid_cores(mgr->env.cpu, s->pid), now);
  }
}
