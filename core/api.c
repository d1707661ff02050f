/* livekit.Ingress and livekit.Egress over Twirp. See api.h. */
#include "api.h"

#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "pbjson.h"
#include "twirp.h"

#include <string.h>

struct _SlApi {
  SlApiEnv env;
  SoupServer *server;
  SlTwirp *twirp;
  char *rtmp_base_url;
};

/* ---- IngressInfo ------------------------------------------------------------------------- */

static JsonObject *ingress_state(SlIngress *ing)
{
  JsonObject *st = json_object_new();
  json_object_set_int_member(st, "status", ing->status);
  if (ing->error)
    json_object_set_string_member(st, "error", ing->error);
  if (ing->video)
    json_object_set_object_member(st, "video", json_object_ref(ing->video));
  if (ing->audio)
    json_object_set_object_member(st, "audio", json_object_ref(ing->audio));
  json_object_set_int_member(st, "started_at", ing->started_at);
  json_object_set_int_member(st, "ended_at", ing->ended_at);
  json_object_set_int_member(st, "updated_at", ing->updated_at);
  if (ing->resource_id)
    json_object_set_string_member(st, "resource_id", ing->resource_id);
  /* The tracks a live session publishes, with the ids track egresses ask for. */
  if (ing->resource_id && (ing->video || ing->audio)) {
    JsonArray *tracks = json_array_new();
    if (ing->video) {
      JsonObject *t = json_object_new();
      g_autofree char *sid = sl_id_track(ing->resource_id, 'V');
      json_object_set_string_member(t, "sid", sid);
      json_object_set_int_member(t, "type", 1);   /* VIDEO */
      json_object_set_int_member(t, "source", 1); /* CAMERA */
      json_object_set_string_member(
          t, "mime_type", json_object_get_string_member_with_default(ing->video, "mime_type", ""));
      json_object_set_int_member(t, "width",
                                 json_object_get_int_member_with_default(ing->video, "width", 0));
      json_object_set_int_member(t, "height",
                                 json_object_get_int_member_with_default(ing->video, "height", 0));
      json_array_add_object_element(tracks, t);
    }
    if (ing->audio) {
      JsonObject *t = json_object_new();
      g_autofree char *sid = sl_id_track(ing->resource_id, 'A');
      json_object_set_string_member(t, "sid", sid);
      json_object_set_int_member(t, "type", 0);   /* AUDIO */
      json_object_set_int_member(t, "source", 2); /* MICROPHONE */
      json_object_set_string_member(
          t, "mime_type", json_object_get_string_member_with_default(ing->audio, "mime_type", ""));
      json_array_add_object_element(tracks, t);
    }
    json_object_set_array_member(st, "tracks", tracks);
  }
  return st;
}

JsonObject *sl_api_ingress_info(SlApi *api, SlIngress *ing)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "ingress_id", ing->id);
  json_object_set_string_member(o, "name", ing->name ? ing->name : "");
  json_object_set_string_member(o, "stream_key", ing->stream_key);
  json_object_set_string_member(o, "url", api ? api->rtmp_base_url : "");
  json_object_set_int_member(o, "input_type", 0); /* RTMP_INPUT */
  json_object_set_boolean_member(o, "bypass_transcoding", !ing->transcoding);
  json_object_set_boolean_member(o, "enable_transcoding", ing->transcoding);
  json_object_set_string_member(o, "room_name", ing->room_name ? ing->room_name : "");
  json_object_set_string_member(o, "participant_identity",
                                ing->participant_identity ? ing->participant_identity : "");
  if (ing->participant_name)
    json_object_set_string_member(o, "participant_name", ing->participant_name);
  if (ing->participant_metadata)
    json_object_set_string_member(o, "participant_metadata", ing->participant_metadata);
  json_object_set_boolean_member(o, "reusable", ing->reusable);
  json_object_set_boolean_member(o, "enabled", ing->enabled);
  json_object_set_object_member(o, "state", ingress_state(ing));
  return o;
}

/* ---- livekit.Ingress --------------------------------------------------------------------- */

static const char *str(JsonObject *req, const char *key)
{
  return json_object_get_string_member_with_default(req, key, NULL);
}

static void set_str(char **field, JsonObject *req, const char *key)
{
  const char *v = str(req, key);
  if (v != NULL) {
    g_free(*field);
    *field = g_strdup(v);
  }
}

static void create_ingress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  gint64 input = json_object_get_int_member_with_default(req, "input_type", 0);
  g_autoptr(GError) err = NULL;
  SlIngress *ing;
  if (input != 0) {
    sl_twirp_error(call, SL_TWIRP_UNIMPLEMENTED,
                   input == 1 ? "WHIP ingress is not available on this node yet"
                              : "URL ingress is not available on this node yet");
    return;
  }
  if (json_object_get_boolean_member_with_default(req, "enable_transcoding", FALSE)) {
    sl_twirp_error(call, SL_TWIRP_UNIMPLEMENTED,
                   "transcoding is not available on this node yet; RTMP is passed through");
    return;
  }
  ing = sl_ingress_new_random();
  set_str(&ing->name, req, "name");
  set_str(&ing->room_name, req, "room_name");
  set_str(&ing->participant_identity, req, "participant_identity");
  set_str(&ing->participant_name, req, "participant_name");
  set_str(&ing->participant_metadata, req, "participant_metadata");
  if (json_object_has_member(req, "enabled"))
    ing->enabled = json_object_get_boolean_member(req, "enabled");
  if (ing->room_name == NULL || *ing->room_name == '\0' || ing->participant_identity == NULL ||
      *ing->participant_identity == '\0') {
    /* LiveKit lets these be set later; the session needs both to be found by egresses. */
    if (ing->room_name == NULL)
      ing->room_name = g_strdup("");
    if (ing->participant_identity == NULL)
      ing->participant_identity = g_strdup("");
  }
  if (!sl_ingress_store_add(api->env.ingresses, ing, &err)) {
    sl_twirp_error(call, SL_TWIRP_ALREADY_EXISTS, err->message);
    return;
  }
  sl_cluster_ingress_created(api->env.cluster, ing);
  sl_info("api", "ingress %s created (room %s)", ing->id, ing->room_name);
  {
    g_autoptr(JsonObject) info = sl_api_ingress_info(api, ing);
    sl_twirp_reply(call, info);
  }
}

static SlIngress *lookup_ingress(SlApi *api, SlTwirpCall *call, JsonObject *req)
{
  const char *id = str(req, "ingress_id");
  SlIngress *ing = sl_ingress_store_by_id(api->env.ingresses, id);
  if (id == NULL || *id == '\0') {
    sl_twirp_error(call, SL_TWIRP_INVALID_ARGUMENT, "ingress_id is required");
    return NULL;
  }
  if (ing == NULL)
    sl_twirp_error(call, SL_TWIRP_NOT_FOUND, "ingress does not exist");
  return ing;
}

static void on_remote_stop(JsonObject *reply, const GError *error, gpointer user_data)
{
  g_autofree char *id = user_data;
  if (error != NULL)
    sl_warn("api", "ingress %s: its worker did not confirm the end of the session: %s", id,
            error->message);
}

/* Ends the ingress's live session, here or on the worker that runs it. */
static void end_live_session(SlApi *api, SlIngress *ing, const char *reason)
{
  SluiceSession *s = ing->resource_id ? sl_sessions_get(api->env.sessions, ing->resource_id) : NULL;
  if (s != NULL) {
    sl_session_stop(s, reason);
  } else if (ing->owner != NULL) {
    g_autoptr(JsonObject) req = json_object_new();
    json_object_set_string_member(req, "op", "stop_ingress");
    json_object_set_string_member(req, "ingress_id", ing->id);
    json_object_set_string_member(req, "reason", reason);
    sl_cluster_request(api->env.cluster, ing->owner, req, on_remote_stop, g_strdup(ing->id));
  }
}

static void update_ingress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  SlIngress *ing = lookup_ingress(api, call, req);
  if (ing == NULL)
    return;
  set_str(&ing->name, req, "name");
  set_str(&ing->room_name, req, "room_name");
  set_str(&ing->participant_identity, req, "participant_identity");
  set_str(&ing->participant_name, req, "participant_name");
  set_str(&ing->participant_metadata, req, "participant_metadata");
  if (json_object_has_member(req, "enabled"))
    ing->enabled = json_object_get_boolean_member(req, "enabled");
  /* As LiveKit: an ingress in error goes back to inactive; a live one is ended so the publisher
   * reconnects with the new settings. */
  if (ing->status == SL_INGRESS_ERROR)
    sl_ingress_set_status(ing, SL_INGRESS_INACTIVE, NULL);
  else if (ing->status == SL_INGRESS_BUFFERING || ing->status == SL_INGRESS_PUBLISHING)
    end_live_session(api, ing, "the ingress was updated");
  sl_cluster_ingress_changed(api->env.cluster, ing);
  {
    g_autoptr(JsonObject) info = sl_api_ingress_info(api, ing);
    sl_twirp_reply(call, info);
  }
}

static void list_ingress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  const char *room = str(req, "room_name");
  const char *id = str(req, "ingress_id");
  GPtrArray *all = sl_ingress_store_list(api->env.ingresses);
  g_autoptr(JsonObject) resp = json_object_new();
  JsonArray *items = json_array_new();
  for (guint i = 0; i < all->len; i++) {
    SlIngress *ing = g_ptr_array_index(all, i);
    if (room && *room && g_strcmp0(ing->room_name, room) != 0)
      continue;
    if (id && *id && g_strcmp0(ing->id, id) != 0)
      continue;
    json_array_add_object_element(items, sl_api_ingress_info(api, ing));
  }
  json_object_set_array_member(resp, "items", items);
  sl_twirp_reply(call, resp);
}

static void delete_ingress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  SlIngress *ing = lookup_ingress(api, call, req);
  g_autoptr(JsonObject) info = NULL;
  if (ing == NULL)
    return;
  end_live_session(api, ing, "the ingress was deleted");
  info = sl_api_ingress_info(api, ing);
  sl_cluster_ingress_deleted(api->env.cluster, ing);
  sl_ingress_store_remove(api->env.ingresses, ing); /* frees it */
  sl_twirp_reply(call, info);
}

/* ---- livekit.Egress ---------------------------------------------------------------------- */

static void egress_error(SlTwirpCall *call, const GError *err)
{
  SlTwirpCode code = SL_TWIRP_INTERNAL;
  if (err->domain == SL_EGRESS_ERROR) {
    switch (err->code) {
    case SL_EGRESS_ERROR_INVALID:
      code = SL_TWIRP_INVALID_ARGUMENT;
      break;
    case SL_EGRESS_ERROR_NOT_FOUND:
      code = SL_TWIRP_NOT_FOUND;
      break;
    case SL_EGRESS_ERROR_UNIMPLEMENTED:
      code = SL_TWIRP_UNIMPLEMENTED;
      break;
    case SL_EGRESS_ERROR_PRECONDITION:
      code = SL_TWIRP_FAILED_PRECONDITION;
      break;
    default:
      break;
    }
  }
  sl_twirp_error(call, code, err->message);
}

/* The answer of the worker a request was sent to: an EgressInfo or an egress error. */
static void on_owner_answer(JsonObject *reply, const GError *error, gpointer user_data)
{
  SlTwirpCall *call = user_data;
  if (error != NULL) {
    SlTwirpCode code = SL_TWIRP_UNAVAILABLE;
    if (g_error_matches(error, SL_BUS_ERROR, SL_BUS_ERROR_NOT_FOUND))
      code = SL_TWIRP_NOT_FOUND;
    else if (g_error_matches(error, SL_BUS_ERROR, SL_BUS_ERROR_DEADLINE_EXCEEDED))
      code = SL_TWIRP_DEADLINE_EXCEEDED;
    sl_twirp_error(call, code, error->message);
  } else if (json_object_has_member(reply, "info")) {
    sl_twirp_reply(call, json_object_get_object_member(reply, "info"));
  } else {
    g_autoptr(GError) err = g_error_new_literal(
        SL_EGRESS_ERROR,
        (gint)json_object_get_int_member_with_default(reply, "error_code",
                                                      SL_EGRESS_ERROR_INTERNAL),
        json_object_get_string_member_with_default(reply, "error", "the owning worker failed"));
    egress_error(call, err);
  }
}

static void start_kind(SlTwirpCall *call, JsonObject *req, gpointer data, const char *kind)
{
  SlApi *api = data;
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonObject) info = sl_egresses_start(api->env.egresses, kind, req, &err);
  if (info == NULL && g_error_matches(err, SL_EGRESS_ERROR, SL_EGRESS_ERROR_REMOTE)) {
    /* The session runs on another worker: the egress runs there too. */
    g_autoptr(JsonObject) fwd = json_object_new();
    json_object_set_string_member(fwd, "op", "start_egress");
    json_object_set_string_member(fwd, "kind", kind);
    json_object_set_object_member(fwd, "request", json_object_ref(req));
    sl_debug("api", "%s egress for a session on worker %s: sent there", kind, err->message);
    sl_cluster_request(api->env.cluster, err->message, fwd, on_owner_answer, call);
    return;
  }
  if (info == NULL) {
    egress_error(call, err);
    return;
  }
  sl_twirp_reply(call, info);
}

static void start_room_composite(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  start_kind(call, req, data, "room_composite");
}

static void start_participant(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  start_kind(call, req, data, "participant");
}

static void start_track_composite(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  start_kind(call, req, data, "track_composite");
}

static void start_track(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  start_kind(call, req, data, "track");
}

static void start_web(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  start_kind(call, req, data, "web");
}

static void start_egress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  sl_twirp_error(call, SL_TWIRP_UNIMPLEMENTED,
                 "StartEgress with a media source is not available on this node yet; use "
                 "StartRoomCompositeEgress, StartParticipantEgress or StartTrackEgress");
}

static void update_stream(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  const char *id = str(req, "egress_id") ? str(req, "egress_id") : "";
  g_autoptr(JsonObject) info = sl_egresses_get(api->env.egresses, id);
  if (info == NULL)
    info = sl_cluster_remote_egress(api->env.cluster, id);
  if (info == NULL) {
    sl_twirp_error(call, SL_TWIRP_NOT_FOUND, "egress not found");
    return;
  }
  sl_twirp_error(call, SL_TWIRP_FAILED_PRECONDITION, "this egress has no stream outputs to update");
}

static void list_egress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  g_autoptr(JsonObject) resp = json_object_new();
  gboolean active = json_object_get_boolean_member_with_default(req, "active", FALSE);
  JsonArray *items =
      sl_egresses_list(api->env.egresses, str(req, "room_name"), str(req, "egress_id"), active);
  sl_cluster_remote_egresses(api->env.cluster, str(req, "room_name"), str(req, "egress_id"), active,
                             items);
  json_object_set_array_member(resp, "items", items);
  sl_twirp_reply(call, resp);
}

static void stop_egress(SlTwirpCall *call, JsonObject *req, gpointer data)
{
  SlApi *api = data;
  g_autoptr(GError) err = NULL;
  const char *id = str(req, "egress_id");
  g_autoptr(JsonObject) info = NULL;
  g_autoptr(JsonObject) remote = NULL;
  if (id != NULL && *id != '\0' && sl_egresses_get(api->env.egresses, id) == NULL) {
    remote = sl_cluster_remote_egress(api->env.cluster, id);
    if (remote != NULL &&
        json_object_get_int_member_with_default(remote, "status", 0) >= SL_EGRESS_COMPLETE) {
      sl_twirp_reply(call, remote); /* already over, as a local one would answer */
      return;
    }
    if (remote != NULL) {
      /* Run by another worker: the stop goes to whichever worker holds it. */
      g_autoptr(JsonObject) fwd = json_object_new();
      json_object_set_string_member(fwd, "op", "stop_egress");
      json_object_set_string_member(fwd, "egress_id", id);
      sl_cluster_request_egress_owner(api->env.cluster, id, fwd, on_owner_answer, call);
      return;
    }
  }
  info = sl_egresses_stop(api->env.egresses, id, &err);
  if (info == NULL) {
    egress_error(call, err);
    return;
  }
  sl_twirp_reply(call, info);
}

static const SlTwirpMethod ingress_methods[] = {
    {"CreateIngress", &sl_pb_livekit_CreateIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", create_ingress},
    {"UpdateIngress", &sl_pb_livekit_UpdateIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", update_ingress},
    {"ListIngress", &sl_pb_livekit_ListIngressRequest, &sl_pb_livekit_ListIngressResponse,
     "ingressAdmin", list_ingress},
    {"DeleteIngress", &sl_pb_livekit_DeleteIngressRequest, &sl_pb_livekit_IngressInfo,
     "ingressAdmin", delete_ingress},
    {NULL, NULL, NULL, NULL, NULL},
};

static const SlTwirpMethod egress_methods[] = {
    {"StartRoomCompositeEgress", &sl_pb_livekit_RoomCompositeEgressRequest,
     &sl_pb_livekit_EgressInfo, "roomRecord", start_room_composite},
    {"StartParticipantEgress", &sl_pb_livekit_ParticipantEgressRequest, &sl_pb_livekit_EgressInfo,
     "roomRecord", start_participant},
    {"StartTrackCompositeEgress", &sl_pb_livekit_TrackCompositeEgressRequest,
     &sl_pb_livekit_EgressInfo, "roomRecord", start_track_composite},
    {"StartTrackEgress", &sl_pb_livekit_TrackEgressRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     start_track},
    {"StartWebEgress", &sl_pb_livekit_WebEgressRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     start_web},
    {"StartEgress", &sl_pb_livekit_StartEgressRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     start_egress},
    {"UpdateStream", &sl_pb_livekit_UpdateStreamRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     update_stream},
    {"ListEgress", &sl_pb_livekit_ListEgressRequest, &sl_pb_livekit_ListEgressResponse,
     "roomRecord", list_egress},
    {"StopEgress", &sl_pb_livekit_StopEgressRequest, &sl_pb_livekit_EgressInfo, "roomRecord",
     stop_egress},
    {NULL, NULL, NULL, NULL, NULL},
};

/* ---- set-up ------------------------------------------------------------------------------ */

static const char *lookup_secret(const char *api_key, gpointer data)
{
  SlApi *api = data;
  const char *key = sl_config_get_string(api->env.config, "api_key");
  if (key != NULL && g_strcmp0(api_key, key) == 0)
    return sl_config_get_string(api->env.config, "api_secret");
  return NULL;
}

SlApi *sl_api_new(const SlApiEnv *env, GError **error)
{
  SlApi *api = g_new0(SlApi, 1);
  gint64 port = sl_config_get_int(env->config, "api_port");
  const char *bind = sl_config_get_string(env->config, "bind_address");
  const char *base = sl_config_get_string(env->config, "ingress.rtmp_base_url");
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) sa = NULL;

  api->env = *env;
  api->rtmp_base_url = base ? g_strdup(base)
                            : g_strdup_printf("rtmp://%s:%" G_GINT64_FORMAT "/live",
                                              g_strcmp0(bind, "0.0.0.0") == 0 ? "127.0.0.1" : bind,
                                              sl_config_get_int(env->config, "rtmp_port"));
  if (port <= 0)
    return api;
  if (sl_config_get_string(env->config, "api_key") == NULL ||
      sl_config_get_string(env->config, "api_secret") == NULL) {
    g_set_error(error, SL_CONFIG_ERROR, SL_CONFIG_ERROR_INVALID,
                "api_port is set but api_key and api_secret are not (or LIVEKIT_API_KEY / "
                "LIVEKIT_API_SECRET)");
    sl_api_free(api);
    return NULL;
  }
  api->twirp = sl_twirp_new(lookup_secret, api);
  sl_twirp_add_service(api->twirp, "livekit.Ingress", ingress_methods, api);
  sl_twirp_add_service(api->twirp, "livekit.Egress", egress_methods, api);
  api->server = soup_server_new("server-header", "sluice", NULL);
  sl_twirp_attach(api->twirp, api->server);
  inet = g_inet_address_new_from_string(bind ? bind : "0.0.0.0");
  sa = g_inet_socket_address_new(inet, (guint16)port);
  if (!soup_server_listen(api->server, sa, 0, error)) {
    g_prefix_error(error, "API port %" G_GINT64_FORMAT ": ", port);
    sl_api_free(api);
    return NULL;
  }
  sl_info("api", "Twirp API (livekit.Ingress, livekit.Egress) on %s:%" G_GINT64_FORMAT,
          bind ? bind : "0.0.0.0", port);
  return api;
}

void sl_api_free(SlApi *api)
{
  if (api == NULL)
    return;
  if (api->server) {
    soup_server_disconnect(api->server);
    g_object_unref(api->server);
  }
  g_clear_pointer(&api->twirp, sl_twirp_free);
  g_free(api->rtmp_base_url);
  g_free(api);
}
