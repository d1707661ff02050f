/* The handler process. See handler.h. */
#include "handler.h"

#include "branch.h"
#include "config.h"
#include "host.h"
#include "ipc.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "uploader.h"

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MEDIA_FD   3
#define CONTROL_FD 4

/* A leaky queue in front of each output holds this much before it drops the oldest data. */
#define OUTPUT_QUEUE_NS (3 * GST_SECOND)

typedef struct {
  char *id;   /* the egress id, or "default-N" for an ingress's configured outputs */
  char *type; /* "file", "segments", ... */
  GstStructure *options;
  GstElement *bin;   /* NULL until built, and again once removed */
  GstElement *spent; /* the bin once removed: its late messages are still told apart */
  GPtrArray *queues; /* its branches: one bin per tee, holding a leaky queue (add_queue) */
  gboolean failed;
  gboolean stopping;  /* EOS sent into it; removed once it reports its final file */
  gboolean finalised; /* it has posted its final report */
  guint stop_timer;   /* gives up waiting for that report */
} Output;

/* How long a stopped output may take to finalise before it is torn down regardless. */
#define OUTPUT_STOP_TIMEOUT_S 30

typedef struct {
  GMutex lock;
  char *component; /* log name "handler:RT_..." */
  JsonObject *desc;
  char *output_dir;
  SlConfig *config;
  SlPluginSet *plugins;
  SlMetrics *metrics;
  SlUploader *uploader; /* what outputs finish goes to storage through it */
  GMainLoop *loop;
  SlIpcChannel *ctl;
  GstElement *pipeline;
  GstElement *source;
  GstElement *video_tee;
  GstElement *audio_tee;
  GstCaps *video_caps;
  GstCaps *audio_caps;
  GPtrArray *outputs; /* Output*; streaming threads until outputs_built, then main thread */
  GPtrArray *pending; /* JsonObject* add-output requests that arrived before outputs_built */
  gboolean outputs_built;
  gboolean publishing_reported;
  gboolean video_keyframe_seen;
  gboolean eos_sent;
  guint tees;     /* streams the source exposed */
  guint tees_eos; /* of which have ended */
  gboolean finished;
  gboolean draining;        /* finishing: waiting for the uploads */
  gboolean uploads_drained; /* every upload is done and reported */
  char *error;              /* the first fatal error */
  int exit_status;
} Handler;

static void output_free(gpointer p)
{
  Output *o = p;
  if (o->stop_timer)
    g_source_remove(o->stop_timer);
  g_free(o->id);
  g_free(o->type);
  if (o->options)
    gst_structure_free(o->options);
  if (o->queues)
    g_ptr_array_unref(o->queues);
  gst_clear_object(&o->bin);
  gst_clear_object(&o->spent);
  g_free(o);
}

static void send_msg(Handler *h, JsonObject *msg)
{
  if (h->ctl != NULL)
    sl_ipc_channel_send(h->ctl, msg);
}

static void report_state(Handler *h, const char *status, JsonObject *extra)
{
  g_autoptr(JsonObject) msg = sl_ipc_message_new("state");
  json_object_set_string_member(msg, "status", status);
  if (extra != NULL) {
    GList *members = json_object_get_members(extra);
    for (GList *m = members; m; m = m->next)
      json_object_set_member(msg, m->data, json_node_copy(json_object_get_member(extra, m->data)));
    g_list_free(members);
  }
  send_msg(h, msg);
}

static void fail(Handler *h, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void fail(Handler *h, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (h->error == NULL)
    h->error = g_strdup(msg);
  sl_error(h->component, "%s", msg);
}

/* ---- media description ------------------------------------------------------------------- */

static JsonObject *describe_video(GstCaps *caps)
{
  JsonObject *o = json_object_new();
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  gint w = 0, hgt = 0, fn = 0, fd = 1;
  const char *name = gst_structure_get_name(s);
  json_object_set_string_member(o, "mime_type",
                                g_str_equal(name, "video/x-h264") ? "video/h264" : name);
  if (gst_structure_get_int(s, "width", &w))
    json_object_set_int_member(o, "width", w);
  if (gst_structure_get_int(s, "height", &hgt))
    json_object_set_int_member(o, "height", hgt);
  if (gst_structure_get_fraction(s, "framerate", &fn, &fd) && fd > 0 && fn > 0)
    json_object_set_double_member(o, "framerate", (double)fn / fd);
  return o;
}

static JsonObject *describe_audio(GstCaps *caps)
{
  JsonObject *o = json_object_new();
  const GstStructure *s = gst_caps_get_structure(caps, 0);
  gint ch = 0, rate = 0, ver = 0;
  const char *name = gst_structure_get_name(s);
  if (g_str_equal(name, "audio/mpeg") && gst_structure_get_int(s, "mpegversion", &ver) && ver == 4)
    json_object_set_string_member(o, "mime_type", "audio/aac");
  else
    json_object_set_string_member(o, "mime_type", name);
  if (gst_structure_get_int(s, "channels", &ch))
    json_object_set_int_member(o, "channels", ch);
  if (gst_structure_get_int(s, "rate", &rate))
    json_object_set_int_member(o, "sample_rate", rate);
  return o;
}

static gboolean report_publishing(gpointer data)
{
  Handler *h = data;
  g_autoptr(JsonObject) extra = json_object_new();
  g_mutex_lock(&h->lock);
  if (h->video_caps)
    json_object_set_object_member(extra, "video", describe_video(h->video_caps));
  if (h->audio_caps)
    json_object_set_object_member(extra, "audio", describe_audio(h->audio_caps));
  g_mutex_unlock(&h->lock);
  report_state(h, "ENDPOINT_PUBLISHING", extra);
  sl_info(h->component, "media flowing: ENDPOINT_PUBLISHING");
  return G_SOURCE_REMOVE;
}

/* ---- probes ------------------------------------------------------------------------------ */

/* Video is held until its first keyframe: a recording that starts on a delta frame shows grey
 * garbage until the next one. */
static GstPadProbeReturn hold_until_keyframe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Handler *h = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
    return GST_PAD_PROBE_DROP;
  g_mutex_lock(&h->lock);
  h->video_keyframe_seen = TRUE;
  g_mutex_unlock(&h->lock);
  return GST_PAD_PROBE_REMOVE;
}

/* Muxers refuse a buffer without a presentation time ("Buffer has no PTS"), which publishers'
 * streams occasionally carry (a parser's first output, a tag whose composition time is missing).
 * Such a buffer takes its decode time; one with neither time cannot be placed and is dropped,
 * rather than failing every output behind the tee. */
static GstPadProbeReturn ensure_pts(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  if (GST_BUFFER_PTS_IS_VALID(buf))
    return GST_PAD_PROBE_OK;
  if (!GST_BUFFER_DTS_IS_VALID(buf))
    return GST_PAD_PROBE_DROP;
  buf = gst_buffer_make_writable(buf);
  GST_BUFFER_PTS(buf) = GST_BUFFER_DTS(buf);
  GST_PAD_PROBE_INFO_DATA(info) = buf;
  return GST_PAD_PROBE_OK;
}

/* The first buffer that reaches a tee once outputs exist means the session is publishing. */
static GstPadProbeReturn first_media(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Handler *h = data;
  gboolean report = FALSE;
  g_mutex_lock(&h->lock);
  if (h->outputs_built && !h->publishing_reported) {
    h->publishing_reported = TRUE;
    report = TRUE;
  }
  g_mutex_unlock(&h->lock);
  if (report)
    g_idle_add(report_publishing, h);
  return report ? GST_PAD_PROBE_REMOVE : GST_PAD_PROBE_OK;
}

/* Every stream of the source has ended (any thread). */
static gboolean input_ended(Handler *h)
{
  gboolean ended;
  g_mutex_lock(&h->lock);
  ended = h->tees > 0 && h->tees_eos == h->tees;
  g_mutex_unlock(&h->lock);
  return ended;
}

static guint live_outputs(Handler *h)
{
  guint n = 0;
  for (guint i = 0; i < h->outputs->len; i++)
    n += ((Output *)g_ptr_array_index(h->outputs, i))->bin != NULL;
  return n;
}

static void finish(Handler *h);

/* Outputs still attached that have not posted their final report. */
static guint unfinished_outputs(Handler *h)
{
  guint n = 0;
  for (guint i = 0; i < h->outputs->len; i++) {
    Output *o = g_ptr_array_index(h->outputs, i);
    n += o->bin != NULL && !o->finalised;
  }
  return n;
}

static gboolean finish_idle(gpointer data)
{
  Handler *h = data;
  if (live_outputs(h) == 0) {
    sl_info(h->component, "input ended; no outputs to finalise");
    finish(h);
  } else if (unfinished_outputs(h) == 0) {
    sl_info(h->component, "input ended; outputs finalised");
    finish(h);
  }
  return G_SOURCE_REMOVE;
}

/* With outputs attached, the pipeline posts EOS once they are all finalised. Without any (none
 * configured, or all failed) nothing would: the end of every source stream ends the session. */
static GstPadProbeReturn watch_eos(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Handler *h = data;
  gboolean all;
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
    return GST_PAD_PROBE_OK;
  g_mutex_lock(&h->lock);
  h->tees_eos++;
  all = h->tees_eos == h->tees;
  g_mutex_unlock(&h->lock);
  if (all)
    g_idle_add(finish_idle, h);
  return GST_PAD_PROBE_OK;
}

/* ---- outputs ----------------------------------------------------------------------------- */

static SlPlugin *output_plugin_for(Handler *h, const char *type)
{
  GPtrArray *all = sl_plugin_set_list(h->plugins);
  for (guint i = 0; i < all->len; i++) {
    SlPlugin *pl = g_ptr_array_index(all, i);
    if (pl->state != SL_PLUGIN_LOADED || !pl->enabled || pl->desc.kind != SLUICE_PLUGIN_KIND_OUTPUT)
      continue;
    for (guint t = 0; pl->output.output_types[t]; t++)
      if (strcmp(pl->output.output_types[t], type) == 0)
        return pl;
  }
  return NULL;
}

static GstStructure *options_from_json(JsonObject *o)
{
  GstStructure *s = gst_structure_new_empty("options");
  GList *members = o ? json_object_get_members(o) : NULL;
  for (GList *m = members; m; m = m->next) {
    JsonNode *n = json_object_get_member(o, m->data);
    if (!JSON_NODE_HOLDS_VALUE(n))
      continue;
    switch (json_node_get_value_type(n)) {
    case G_TYPE_STRING:
      gst_structure_set(s, m->data, G_TYPE_STRING, json_node_get_string(n), NULL);
      break;
    case G_TYPE_INT64:
      gst_structure_set(s, m->data, G_TYPE_INT, (gint)json_node_get_int(n), NULL);
      break;
    case G_TYPE_BOOLEAN:
      gst_structure_set(s, m->data, G_TYPE_BOOLEAN, json_node_get_boolean(n), NULL);
      break;
    case G_TYPE_DOUBLE:
      gst_structure_set(s, m->data, G_TYPE_DOUBLE, json_node_get_double(n), NULL);
      break;
    default:
      break;
    }
  }
  g_list_free(members);
  return s;
}

#define QUEUE_KIND   "sluice-kind"   /* "video" / "audio": which tee a queue hangs off */
#define QUEUE_OUTPUT "sluice-output" /* the id of the output a branch feeds */
#define QUEUE_BLOCK  "sluice-block"  /* the id of the probe holding it until its output exists */
#define QUEUE_GUARD  "sluice-guard"  /* the id of the probe refusing serialized queries meanwhile */

static GstPadProbeReturn hold_queue(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  return GST_PAD_PROBE_OK;
}

/* A held queue would keep a serialized query (an encoder's ALLOCATION) waiting behind its
 * blocked output, and with it the thread that must expose the other streams: refused
 * instead, as if nothing were linked yet. */
static GstPadProbeReturn refuse_serialized_query(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  return GST_QUERY_IS_SERIALIZED(GST_PAD_PROBE_INFO_QUERY(info)) ? GST_PAD_PROBE_DROP
                                                                 : GST_PAD_PROBE_OK;
}

/* Hangs a leaky queue for output `o` off `tee` as soon as the source exposes the stream, its
 * output blocked until the output bin exists. The source pushes its first buffers before it has
 * exposed every stream (flvdemux pushes the first video tag before it has seen an audio one),
 * while the bins are built only once all are known: without the queue those buffers would
 * reach a tee with nothing behind it, and every output would lose the first GOP. Streaming
 * thread. */
static void add_queue(Handler *h, Output *o, GstElement *tee, const char *kind)
{
  GstElement *q = sl_branch_new(OUTPUT_QUEUE_NS);
  g_object_set_data_full(G_OBJECT(q), QUEUE_OUTPUT, g_strdup(o->id), g_free);
  GstPad *qsrc, *qsink, *tee_pad;
  gulong block, guard;
  g_object_set_data(G_OBJECT(q), QUEUE_KIND, (gpointer)kind);
  qsrc = gst_element_get_static_pad(q, "src");
  qsink = gst_element_get_static_pad(q, "sink");
  block = gst_pad_add_probe(qsrc, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold_queue, NULL, NULL);
  guard = gst_pad_add_probe(qsink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, refuse_serialized_query,
                            NULL, NULL);
  g_object_set_data(G_OBJECT(q), QUEUE_BLOCK, GSIZE_TO_POINTER(block));
  g_object_set_data(G_OBJECT(q), QUEUE_GUARD, GSIZE_TO_POINTER(guard));
  gst_object_unref(qsrc);
  gst_bin_add(GST_BIN(h->pipeline), q);
  /* Running before it is linked: the tee's streaming thread may push the moment the link is
   * made, and an inactive queue answers FLUSHING, which the tee passes upstream as fatal
   * (only NOT_LINKED is not): the source's task would pause, the publisher would no longer be
   * read, and with no more buffers no stopped output would ever be cut (cut_branch). */
  gst_element_sync_state_with_parent(q);
  /* A tee pad of its own, never gst_element_link(): that reuses any unlinked tee pad, and a
   * stopped output's pad is unlinked (cut_branch) some time before it is released
   * (release_tee_pad). Linked to it, this queue would be cut off by that release, get neither
   * media nor, once stopped, EOS, and its muxer would wait forever. */
  tee_pad = gst_element_request_pad_simple(tee, "src_%u");
  if (tee_pad == NULL || gst_pad_link(tee_pad, qsink) != GST_PAD_LINK_OK) {
    if (tee_pad != NULL) {
      gst_element_release_request_pad(tee, tee_pad);
      gst_object_unref(tee_pad);
    }
    gst_object_unref(qsink);
    gst_element_set_state(q, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(h->pipeline), q);
    return; /* linking the output fails later and says so */
  }
  gst_object_unref(tee_pad);
  gst_object_unref(qsink);
  g_ptr_array_add(o->queues, q);
}

/* Unlinks `queue` from its tee and takes it out of the pipeline. */
static void drop_queue(Handler *h, GstElement *queue)
{
  GstPad *qsink = gst_element_get_static_pad(queue, "sink");
  GstPad *peer = gst_pad_get_peer(qsink);
  if (peer != NULL) {
    GstElement *tee = gst_pad_get_parent_element(peer);
    gst_pad_unlink(peer, qsink);
    gst_element_release_request_pad(tee, peer);
    gst_object_unref(tee);
    gst_object_unref(peer);
  }
  gst_object_unref(qsink);
  gst_element_set_state(queue, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(h->pipeline), queue);
}

static void drop_queues(Handler *h, Output *o)
{
  for (guint q = 0; q < o->queues->len; q++)
    drop_queue(h, g_ptr_array_index(o->queues, q));
  g_ptr_array_set_size(o->queues, 0);
}

/* Links the queue of each kind to the bin's pad of that kind; a queue whose kind the bin does
 * not take is dropped. FALSE when the bin wants a kind no queue carries or a link fails. */
static gboolean link_queues(Handler *h, Output *o)
{
  const char *kinds[2] = {"video", "audio"};
  GstElement *tees[2] = {h->video_tee, h->audio_tee};
  gboolean ok = TRUE;

  for (guint k = 0; k < G_N_ELEMENTS(kinds); k++) {
    GstPad *sink = gst_element_get_static_pad(o->bin, kinds[k]);
    GstElement *q = NULL;
    guint i;
    for (i = 0; i < o->queues->len; i++) {
      GstElement *candidate = g_ptr_array_index(o->queues, i);
      if (g_strcmp0(g_object_get_data(G_OBJECT(candidate), QUEUE_KIND), kinds[k]) == 0) {
        q = candidate;
        break;
      }
    }
    if (sink == NULL) {
      if (q != NULL) {
        drop_queue(h, q);
        g_ptr_array_remove_index(o->queues, i);
      }
      continue; /* the output does not take this kind */
    }
    if (q == NULL && tees[k] != NULL)
      ok = FALSE; /* the queue could not be linked to the tee */
    if (q != NULL) {
      GstPad *qsrc = gst_element_get_static_pad(q, "src");
      ok = ok && gst_pad_link(qsrc, sink) == GST_PAD_LINK_OK;
      gst_object_unref(qsrc);
    }
    gst_object_unref(sink);
  }
  return ok;
}

/* Lets the queues' buffered media into the bin, which is running by now. */
static void release_queues(Output *o)
{
  for (guint i = 0; i < o->queues->len; i++) {
    GstElement *q = g_ptr_array_index(o->queues, i);
    GstPad *qsrc = gst_element_get_static_pad(q, "src");
    GstPad *qsink = gst_element_get_static_pad(q, "sink");
    gulong block = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(q), QUEUE_BLOCK));
    gulong guard = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(q), QUEUE_GUARD));
    if (guard != 0)
      gst_pad_remove_probe(qsink, guard);
    if (block != 0)
      gst_pad_remove_probe(qsrc, block);
    g_object_set_data(G_OBJECT(q), QUEUE_BLOCK, NULL);
    g_object_set_data(G_OBJECT(q), QUEUE_GUARD, NULL);
    gst_object_unref(qsrc);
    gst_object_unref(qsink);
  }
}

static void remove_output(Handler *h, Output *o);
static gboolean add_pending_outputs(gpointer data);
static void finish_output(Handler *h, Output *o, const char *error);
static Output *output_by_id(Handler *h, const char *id);
static gboolean is_final_report(const GstStructure *s);

/* Runs on the source's streaming thread (no-more-pads). What the source pushed before it is
 * waiting in each output's queues (add_queue), so no media is lost between the first pad
 * appearing and the outputs existing. */
static void build_outputs(Handler *h)
{
  for (guint i = 0; i < h->outputs->len; i++) {
    Output *o = g_ptr_array_index(h->outputs, i);
    SlPlugin *pl = output_plugin_for(h, o->type);
    g_autoptr(GError) err = NULL;
    if (pl == NULL) {
      fail(h, "no enabled output plugin builds '%s' outputs", o->type);
      o->failed = TRUE;
      drop_queues(h, o);
      continue;
    }
    if (h->video_caps)
      gst_structure_set(o->options, "video-caps", GST_TYPE_CAPS, h->video_caps, NULL);
    if (h->audio_caps)
      gst_structure_set(o->options, "audio-caps", GST_TYPE_CAPS, h->audio_caps, NULL);
    o->bin = pl->output.make_bin(o->type, o->options, h->output_dir, &err);
    if (o->bin == NULL) {
      sl_error(h->component, "%s output: %s", o->type,
               err ? err->message : "make_bin failed without a reason");
      o->failed = TRUE;
      drop_queues(h, o);
      continue;
    }
    gst_object_ref_sink(o->bin);
    gst_bin_add(GST_BIN(h->pipeline), o->bin);
    if (!link_queues(h, o)) {
      sl_error(h->component, "%s output: cannot link it to the source", o->type);
      remove_output(h, o);
      continue;
    }
    gst_element_sync_state_with_parent(o->bin);
    release_queues(o);
    sl_info(h->component, "%s output attached", o->type);
  }
  g_mutex_lock(&h->lock);
  h->outputs_built = TRUE;
  g_mutex_unlock(&h->lock);
  g_idle_add(add_pending_outputs, h);
}

static void on_no_more_pads(GstElement *src, gpointer data)
{
  Handler *h = data;
  gboolean build;
  g_mutex_lock(&h->lock);
  build = !h->outputs_built;
  g_mutex_unlock(&h->lock);
  if (build)
    build_outputs(h);
}

static void on_pad_added(GstElement *src, GstPad *pad, gpointer data)
{
  Handler *h = data;
  g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
  const char *name;
  GstElement *parse = NULL;
  GstElement *tee;
  GstPad *sink;
  gboolean is_video, build;

  if (caps == NULL)
    caps = gst_pad_query_caps(pad, NULL);
  name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  is_video = g_str_has_prefix(name, "video/");
  if ((is_video && h->video_tee) || (!is_video && h->audio_tee) ||
      !(is_video || g_str_has_prefix(name, "audio/"))) {
    sl_warn(h->component, "ignoring an extra %s stream", name);
    return;
  }
  if (g_str_equal(name, "video/x-h264"))
    parse = gst_element_factory_make("h264parse", NULL);
  else if (g_str_equal(name, "audio/mpeg"))
    parse = gst_element_factory_make("aacparse", NULL);
  else if (g_str_equal(name, "video/x-h265"))
    parse = gst_element_factory_make("h265parse", NULL);
  tee = gst_element_factory_make("tee", NULL);
  g_object_set(tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add(GST_BIN(h->pipeline), tee);
  if (parse != NULL) {
    gst_bin_add(GST_BIN(h->pipeline), parse);
    gst_element_link(parse, tee);
    gst_element_sync_state_with_parent(parse);
  }
  gst_element_sync_state_with_parent(tee);
  sink = gst_element_get_static_pad(parse ? parse : tee, "sink");
  if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
    fail(h, "cannot link the source's %s stream", name);
  gst_object_unref(sink);

  if (is_video && parse != NULL) {
    GstPad *out = gst_element_get_static_pad(parse, "src");
    gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, hold_until_keyframe, h, NULL);
    gst_object_unref(out);
  }
  {
    GstPad *tsink = gst_element_get_static_pad(tee, "sink");
    gst_pad_add_probe(tsink, GST_PAD_PROBE_TYPE_BUFFER, ensure_pts, h, NULL);
    gst_pad_add_probe(tsink, GST_PAD_PROBE_TYPE_BUFFER, first_media, h, NULL);
    gst_pad_add_probe(tsink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, watch_eos, h, NULL);
    gst_object_unref(tsink);
  }
  g_mutex_lock(&h->lock);
  build = !h->outputs_built;
  g_mutex_unlock(&h->lock);
  for (guint i = 0; build && i < h->outputs->len; i++)
    add_queue(h, g_ptr_array_index(h->outputs, i), tee, is_video ? "video" : "audio");
  g_mutex_lock(&h->lock);
  h->tees++;
  if (is_video) {
    h->video_tee = tee;
    h->video_caps = gst_caps_ref(caps);
  } else {
    h->audio_tee = tee;
    h->audio_caps = gst_caps_ref(caps);
  }
  g_mutex_unlock(&h->lock);
  sl_info(h->component, "source stream: %s", name);
}

/* ---- bus and control --------------------------------------------------------------------- */

static gboolean is_within(GstObject *src, GstElement *bin)
{
  return bin != NULL &&
         (src == GST_OBJECT(bin) || gst_object_has_as_ancestor(src, GST_OBJECT(bin)));
}

/* The output whose bin posted a message from `src`. With `spent`, also one already taken out
 * (its bin is kept for this; o->bin is then NULL) and one whose branch (queue) posted it: a
 * failing output's elements post their errors one after another, and the later ones arrive
 * after the first has removed it. */
static Output *output_of(Handler *h, GstObject *src, gboolean spent)
{
  for (guint i = 0; i < h->outputs->len; i++) {
    Output *o = g_ptr_array_index(h->outputs, i);
    if (is_within(src, o->bin) || (spent && is_within(src, o->spent)))
      return o;
  }
  for (GstObject *e = spent ? gst_object_ref(src) : NULL; e != NULL;) {
    const char *id = g_object_get_data(G_OBJECT(e), QUEUE_OUTPUT);
    GstObject *parent = gst_object_get_parent(e);
    gst_object_unref(e);
    if (id != NULL) {
      gst_clear_object(&parent);
      return output_by_id(h, id);
    }
    e = parent;
  }
  return NULL;
}

/* What an output's result says of its failure: GStreamer's message and, when its debug text
 * ends with the system's own words ("…GstFileSink:sink:\nError while writing to file
 * descriptor 10: No space left on device"), those words, which are what a person needs to act. */
static char *error_reason(const GError *err, const char *dbg)
{
  const char *nl = dbg ? strrchr(dbg, '\n') : NULL;
  if (nl == NULL || nl[1] == '\0' || strstr(err->message, nl + 1) != NULL)
    return g_strdup(err->message);
  return g_strdup_printf("%s (%s)", err->message, nl + 1);
}

/* Takes a failed output out of the pipeline; the tee goes on feeding the others. */
static void remove_output(Handler *h, Output *o)
{
  /* The bin first: a queue's thread may be blocked pushing into it (a sink stuck on its
   * server), and stopping the queue would wait for that push. Stopped, the bin answers
   * FLUSHING, which pauses the queue's thread quietly. */
  gst_element_set_state(o->bin, GST_STATE_NULL);
  drop_queues(h, o);
  gst_bin_remove(GST_BIN(h->pipeline), o->bin);
  gst_clear_object(&o->spent);
  o->spent = g_steal_pointer(&o->bin);
  o->failed = TRUE;
}

/* An output's report goes to the service once what it names is stored (uploader.h). */
static void forward_output_message(Handler *h, Output *o, const GstStructure *s, gboolean final)
{
  g_autoptr(JsonObject) msg = sl_ipc_message_new("output");
  guint64 u64;
  gint64 i64;
  guint u;
  const char *str;
  gboolean ended = FALSE;
  if (o != NULL)
    json_object_set_string_member(msg, "output_id", o->id);
  if ((str = gst_structure_get_string(s, "output-type")))
    json_object_set_string_member(msg, "output_type", str);
  if (gst_structure_get_boolean(s, "ended", &ended) && ended)
    json_object_set_boolean_member(msg, "ended", TRUE);
  if ((str = gst_structure_get_string(s, "event")))
    json_object_set_string_member(msg, "event", str);
  if ((str = gst_structure_get_string(s, "filename")))
    json_object_set_string_member(msg, "filename", str);
  if (gst_structure_get_uint64(s, "size", &u64))
    json_object_set_int_member(msg, "size", (gint64)u64);
  if (gst_structure_get_uint64(s, "duration", &u64))
    json_object_set_int_member(msg, "duration", (gint64)u64);
  if (gst_structure_get_int64(s, "start-time", &i64))
    json_object_set_int_member(msg, "start_time", i64);
  if (gst_structure_get_uint(s, "segment-count", &u))
    json_object_set_int_member(msg, "segment_count", u);
  if (o != NULL)
    sl_uploader_report(h->uploader, o->id, msg, final);
  else
    send_msg(h, msg);
}

/* A report is back from the uploader: on to the service; an output's final one ends it. */
static void on_uploaded(const char *output_id, JsonObject *report, gboolean final, gpointer data)
{
  Handler *h = data;
  Output *o = output_by_id(h, output_id);
  send_msg(h, report);
  if (!final || o == NULL)
    return;
  if (o->stopping)
    finish_output(h, o, NULL);
  else if (input_ended(h) && unfinished_outputs(h) == 0)
    /* At the end of the input every output finalises; the last one ends the session even when
     * the pipeline does not post EOS again (it may already have, for an output stopped
     * earlier). */
    g_idle_add(finish_idle, h);
}

static void send_from_uploader(JsonObject *msg, gpointer data)
{
  send_msg(data, msg);
}

static gboolean uploads_drained(gpointer data)
{
  Handler *h = data;
  h->uploads_drained = TRUE;
  finish(h);
  return G_SOURCE_REMOVE;
}

static void finish(Handler *h)
{
  g_autoptr(JsonObject) msg = NULL;
  if (h->finished)
    return;
  /* What the outputs wrote is stored (or kept, and said so) before the session ends. */
  if (h->uploader != NULL && !h->uploads_drained) {
    if (!h->draining) {
      h->draining = TRUE;
      h->uploads_drained = sl_uploader_drain(h->uploader, uploads_drained, h);
    }
    if (!h->uploads_drained)
      return;
  }
  msg = sl_ipc_message_new("ended");
  h->finished = TRUE;
  json_object_set_string_member(msg, "status", h->error ? "ENDPOINT_ERROR" : "ENDPOINT_INACTIVE");
  if (h->error)
    json_object_set_string_member(msg, "error", h->error);
  send_msg(h, msg);
  h->exit_status = h->error ? 1 : 0;
  g_main_loop_quit(h->loop);
}

static void send_eos(Handler *h)
{
  if (h->eos_sent)
    return;
  h->eos_sent = TRUE;
  gst_element_send_event(h->pipeline, gst_event_new_eos());
}

static gboolean on_bus(GstBus *bus, GstMessage *m, gpointer data)
{
  Handler *h = data;
  switch (GST_MESSAGE_TYPE(m)) {
  case GST_MESSAGE_EOS: {
    /* The pipeline also posts EOS when the outputs it still has are all ones that were stopped
     * (an egress removed while the session runs): only the end of the input ends the session. */
    if (input_ended(h) || h->eos_sent) {
      sl_info(h->component, "input ended; outputs finalised");
      finish(h);
    }
    break;
  }
  case GST_MESSAGE_ERROR: {
    g_autoptr(GError) err = NULL;
    g_autofree char *dbg = NULL;
    Output *o;
    gst_message_parse_error(m, &err, &dbg);
    o = output_of(h, GST_MESSAGE_SRC(m), TRUE);
    if (o != NULL && o->bin == NULL) {
      /* an output already taken out: the rest of its failure */
      sl_debug(h->component, "%s output %s, already removed: %s", o->type, o->id, err->message);
    } else if (o != NULL) {
      /* Outputs fail alone: the recording of the others goes on. */
      g_autofree char *reason = error_reason(err, dbg);
      sl_error(h->component, "%s output %s failed: %s (%s)", o->type, o->id, err->message,
               dbg ? dbg : "no detail");
      finish_output(h, o, reason);
    } else {
      fail(h, "%s", err->message);
      sl_debug(h->component, "%s", dbg ? dbg : "");
      finish(h);
    }
    break;
  }
  case GST_MESSAGE_WARNING: {
    g_autoptr(GError) err = NULL;
    gst_message_parse_warning(m, &err, NULL);
    sl_warn(h->component, "%s: %s", GST_MESSAGE_SRC_NAME(m), err->message);
    break;
  }
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(m);
    if (s != NULL && gst_structure_has_name(s, "sluice-output")) {
      Output *o = output_of(h, GST_MESSAGE_SRC(m), FALSE);
      gboolean final = o != NULL && is_final_report(s);
      if (final) {
        /* finalised; what is left is its upload (on_uploaded goes on from there) */
        o->finalised = TRUE;
        if (o->stop_timer) {
          g_source_remove(o->stop_timer);
          o->stop_timer = 0;
        }
      }
      forward_output_message(h, o, s, final);
    }
    break;
  }
  default:
    break;
  }
  return G_SOURCE_CONTINUE;
}

/* ---- outputs added and removed while the session runs (egresses) -------------------------- */

static Output *output_by_id(Handler *h, const char *id)
{
  for (guint i = 0; i < h->outputs->len; i++) {
    Output *o = g_ptr_array_index(h->outputs, i);
    if (g_strcmp0(o->id, id) == 0)
      return o;
  }
  return NULL;
}

static void report_output(Handler *h, const char *type, const char *id, const char *error)
{
  g_autoptr(JsonObject) msg = sl_ipc_message_new(type);
  json_object_set_string_member(msg, "output_id", id);
  if (error != NULL)
    json_object_set_string_member(msg, "error", error);
  send_msg(h, msg);
}

/* The last report an output bin posts once it has finalised what it wrote. */
static gboolean is_final_report(const GstStructure *s)
{
  const char *event = gst_structure_get_string(s, "event");
  gboolean ended = FALSE, live = FALSE;
  if (g_strcmp0(event, "file-closed") == 0)
    return TRUE;
  gst_structure_get_boolean(s, "live", &live);
  return g_strcmp0(event, "playlist-updated") == 0 &&
         gst_structure_get_boolean(s, "ended", &ended) && ended && !live;
}

/* Takes a stopped or failed output out of the pipeline and tells the service. Main thread. */
static void finish_output(Handler *h, Output *o, const char *error)
{
  if (o->bin == NULL)
    return;
  if (o->stop_timer) {
    g_source_remove(o->stop_timer);
    o->stop_timer = 0;
  }
  if (!o->finalised)
    sl_uploader_output_gone(h->uploader, o->id);
  remove_output(h, o);
  report_output(h, "output-removed", o->id, error);
  sl_info(h->component, "%s output %s removed%s%s", o->type, o->id, error ? ": " : "",
          error ? error : "");
}

static gboolean stop_timeout(gpointer data)
{
  Output *o = data;
  Handler *h = g_object_get_data(G_OBJECT(o->bin), "sluice-handler");
  o->stop_timer = 0;
  finish_output(h, o, "the output did not finalise within 30 s of being stopped");
  return G_SOURCE_REMOVE;
}

static gboolean release_tee_pad(gpointer data)
{
  GstPad *tee_pad = data;
  GstElement *tee = gst_pad_get_parent_element(tee_pad);
  if (tee != NULL) {
    gst_element_release_request_pad(tee, tee_pad);
    gst_object_unref(tee);
  }
  gst_object_unref(tee_pad);
  return G_SOURCE_REMOVE;
}

/* Streaming thread, with the tee's branch blocked: cut the branch and let EOS run down the
 * queue into the bin, which then finalises its files. */
static GstPadProbeReturn cut_branch(GstPad *tee_pad, GstPadProbeInfo *info, gpointer data)
{
  GstPad *qsink = data;
  gst_pad_unlink(tee_pad, qsink);
  gst_pad_send_event(qsink, gst_event_new_eos());
  g_idle_add(release_tee_pad, gst_object_ref(tee_pad));
  return GST_PAD_PROBE_REMOVE;
}

static void stop_output(Handler *h, Output *o)
{
  if (o->bin == NULL || o->stopping)
    return;
  o->stopping = TRUE;
  g_object_set_data(G_OBJECT(o->bin), "sluice-handler", h);
  for (guint i = 0; i < o->queues->len; i++) {
    GstElement *q = g_ptr_array_index(o->queues, i);
    GstPad *qsink = gst_element_get_static_pad(q, "sink");
    GstPad *tee_pad = gst_pad_get_peer(qsink);
    if (tee_pad != NULL) {
      /* Blocks on the next buffer, not on an event: a branch stopped right after it was added
       * has not been sent its stream-start, caps and segment yet, and an EOS cut in ahead of
       * them leaves the muxer without caps, waiting forever instead of finalising. */
      gst_pad_add_probe(tee_pad,
                        GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER |
                            GST_PAD_PROBE_TYPE_BUFFER_LIST,
                        cut_branch, gst_object_ref(qsink), gst_object_unref);
      gst_object_unref(tee_pad);
    }
    gst_object_unref(qsink);
  }
  o->stop_timer = g_timeout_add_seconds(OUTPUT_STOP_TIMEOUT_S, stop_timeout, o);
  sl_info(h->component, "%s output %s stopping: its branches end at the next buffer", o->type,
          o->id);
}

/* Builds `o` and joins it to the running tees. Main thread. */
static gboolean attach_output(Handler *h, Output *o, GError **error)
{
  SlPlugin *pl = output_plugin_for(h, o->type);
  if (pl == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "no enabled output plugin builds '%s' outputs", o->type);
    return FALSE;
  }
  /* "only" (an audio-only or video-only egress, or a single track) limits the streams the
   * output is offered; the other stream's queue is then dropped by link_queues. */
  const char *only = gst_structure_get_string(o->options, "only");
  if (h->video_caps && g_strcmp0(only, "audio") != 0)
    gst_structure_set(o->options, "video-caps", GST_TYPE_CAPS, h->video_caps, NULL);
  if (h->audio_caps && g_strcmp0(only, "video") != 0)
    gst_structure_set(o->options, "audio-caps", GST_TYPE_CAPS, h->audio_caps, NULL);
  o->bin = pl->output.make_bin(o->type, o->options, h->output_dir, error);
  if (o->bin == NULL)
    return FALSE;
  gst_object_ref_sink(o->bin);
  gst_bin_add(GST_BIN(h->pipeline), o->bin);
  if (h->video_tee)
    add_queue(h, o, h->video_tee, "video");
  if (h->audio_tee)
    add_queue(h, o, h->audio_tee, "audio");
  if (!link_queues(h, o)) {
    remove_output(h, o);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot link the output to the source");
    return FALSE;
  }
  gst_element_sync_state_with_parent(o->bin);
  release_queues(o);
  return TRUE;
}

/* The "upload" options the service resolved for an output (storage, disable_manifest). */
static JsonObject *upload_options(JsonObject *req)
{
  JsonObject *opts =
      json_object_has_member(req, "options") ? json_object_get_object_member(req, "options") : NULL;
  return opts != NULL && json_object_has_member(opts, "upload")
             ? json_object_get_object_member(opts, "upload")
             : NULL;
}

static void add_output(Handler *h, JsonObject *req)
{
  g_autoptr(GError) err = NULL;
  const char *id = json_object_get_string_member_with_default(req, "output_id", "");
  Output *o;
  if (*id == '\0' || output_by_id(h, id) != NULL) {
    report_output(h, "output-added", id, "output id missing or already in use");
    return;
  }
  o = g_new0(Output, 1);
  o->id = g_strdup(id);
  o->type = g_strdup(json_object_get_string_member_with_default(req, "output_type", ""));
  o->options = options_from_json(json_object_has_member(req, "options")
                                     ? json_object_get_object_member(req, "options")
                                     : NULL);
  o->queues = g_ptr_array_new();
  g_ptr_array_add(h->outputs, o);
  if (!sl_uploader_add_output(h->uploader, id, o->type, upload_options(req), &err) ||
      !attach_output(h, o, &err)) {
    o->failed = TRUE;
    sl_uploader_output_gone(h->uploader, id);
    sl_error(h->component, "%s output %s: %s", o->type, id, err->message);
    report_output(h, "output-added", id, err->message);
    return;
  }
  sl_info(h->component, "%s output %s attached", o->type, id);
  report_output(h, "output-added", id, NULL);
}

static gboolean add_pending_outputs(gpointer data)
{
  Handler *h = data;
  for (guint i = 0; i < h->pending->len; i++)
    add_output(h, g_ptr_array_index(h->pending, i));
  g_ptr_array_set_size(h->pending, 0);
  return G_SOURCE_REMOVE;
}

static void on_control(SlIpcChannel *ch, JsonObject *msg, const GError *error, gpointer data)
{
  Handler *h = data;
  if (msg == NULL) {
    /* The service is gone: finish what was recorded rather than lose it. */
    sl_warn(h->component, "control channel closed (%s); finalising",
            error ? error->message : "closed");
    h->ctl = NULL;
    send_eos(h);
    return;
  }
  const char *type = json_object_get_string_member_with_default(msg, "type", "");
  if (g_strcmp0(type, "stop") == 0) {
    sl_info(h->component, "stop requested: %s",
            json_object_get_string_member_with_default(msg, "reason", ""));
    send_eos(h);
  } else if (g_strcmp0(type, "add-output") == 0) {
    gboolean built;
    g_mutex_lock(&h->lock);
    built = h->outputs_built;
    if (!built)
      g_ptr_array_add(h->pending, json_object_ref(msg));
    g_mutex_unlock(&h->lock);
    if (built)
      add_output(h, msg);
  } else if (g_strcmp0(type, "remove-output") == 0) {
    const char *id = json_object_get_string_member_with_default(msg, "output_id", "");
    Output *o = output_by_id(h, id);
    if (o == NULL || o->bin == NULL)
      report_output(h, "output-removed", id, o == NULL ? "no such output" : NULL);
    else
      stop_output(h, o);
  }
}

/* ---- set-up ------------------------------------------------------------------------------ */

/* The handler reads the service's config again, silently: the service already reported every
 * problem, and a handler only starts once the config was valid. */
static gboolean load_plugins(Handler *h, JsonArray *path, GError **error)
{
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  g_auto(GStrv) dirs = NULL;
  g_auto(GStrv) enable = NULL;
  for (guint i = 0; path && i < json_array_get_length(path); i++)
    g_strv_builder_add(b, json_array_get_string_element(path, i));
  dirs = g_strv_builder_end(b);
  enable = sl_service_plugin_enable(h->config, diags);
  h->plugins = sl_plugin_set_scan((const char *const *)dirs);
  if (!sl_plugin_set_load(h->plugins, (const char *const *)enable, error) ||
      !sl_host_declare_keys(h->plugins, h->config, error))
    return FALSE;
  sl_config_apply_env(h->config);
  sl_config_validate(h->config, diags);
  return TRUE;
}

static GstStructure *session_structure(Handler *h)
{
  JsonObject *ing = json_object_get_object_member(h->desc, "ingress");
  return gst_structure_new(
      "session", "session-id", G_TYPE_STRING, json_object_get_string_member(h->desc, "session_id"),
      "ingress-id", G_TYPE_STRING,
      json_object_get_string_member_with_default(ing, "ingress_id", ""), "room-name", G_TYPE_STRING,
      json_object_get_string_member_with_default(ing, "room_name", ""), "participant-identity",
      G_TYPE_STRING, json_object_get_string_member_with_default(ing, "participant_identity", ""),
      "media-format", G_TYPE_STRING,
      json_object_get_string_member_with_default(h->desc, "media_format", "flv"), NULL);
}

static gboolean setup(Handler *h, GError **error)
{
  const char *desc_text = g_getenv("SLUICE_HANDLER_SESSION");
  const char *cfg_text = g_getenv("SLUICE_HANDLER_CONFIG");
  const char *cfg_source = g_getenv("SLUICE_HANDLER_CONFIG_SOURCE");
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GstStructure) sess = NULL;
  SluiceLogLevel level;
  JsonArray *outs;
  SlPlugin *input;
  SlHostEnv env = {0};

  if (desc_text == NULL || !json_parser_load_from_data(parser, desc_text, -1, error) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    if (error && !*error)
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                  "sluice handler is started by the sluice service, not by hand");
    return FALSE;
  }
  h->desc = json_object_ref(json_node_get_object(json_parser_get_root(parser)));
  h->component = g_strdup_printf(
      "handler:%s", json_object_get_string_member_with_default(h->desc, "session_id", "?"));
  h->output_dir = g_strdup(json_object_get_string_member(h->desc, "output_dir"));
  h->config = sl_config_new_from_text(cfg_text ? cfg_text : "", cfg_text ? strlen(cfg_text) : 0,
                                      cfg_source ? cfg_source : "<handler>", error);
  if (h->config == NULL)
    return FALSE;
  if (!load_plugins(h, json_object_get_array_member(h->desc, "plugin_path"), error))
    return FALSE;
  if (sl_log_parse_level(sl_config_get_string(h->config, "logging.level"), &level))
    sl_log_configure(level, sl_config_get_bool(h->config, "logging.json"));

  h->metrics = sl_metrics_new();
  env.config = h->config;
  env.metrics = h->metrics;
  env.node_id = json_object_get_string_member_with_default(h->desc, "node_id", "");
  env.process = "handler";
  if (!sl_host_init_plugins(h->plugins, &env, error))
    return FALSE;
  {
    JsonObject *ing = json_object_get_object_member(h->desc, "ingress");
    SlUploaderEnv up = {
        .config = h->config,
        .plugins = h->plugins,
        .output_dir = h->output_dir,
        .component = h->component,
        .session_id = json_object_get_string_member_with_default(h->desc, "session_id", ""),
        .room_name = json_object_get_string_member_with_default(ing, "room_name", NULL),
        .publisher = json_object_get_string_member_with_default(ing, "participant_identity", NULL),
        .ingress_name = json_object_get_string_member_with_default(ing, "name", NULL),
        .delivered = on_uploaded,
        .send = send_from_uploader,
        .user_data = h,
    };
    h->uploader = sl_uploader_new(&up);
  }

  input = sl_plugin_set_get(
      h->plugins, json_object_get_string_member_with_default(h->desc, "input_plugin", ""));
  if (input == NULL || input->input.make_source == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "input plugin '%s' cannot build a handler source",
                json_object_get_string_member_with_default(h->desc, "input_plugin", "?"));
    return FALSE;
  }

  outs = json_object_get_array_member(h->desc, "outputs");
  for (guint i = 0; outs && i < json_array_get_length(outs); i++) {
    JsonObject *jo = json_array_get_object_element(outs, i);
    Output *o = g_new0(Output, 1);
    o->id = g_strdup_printf("default-%u", i);
    o->type = g_strdup(json_object_get_string_member_with_default(jo, "type", ""));
    o->options = options_from_json(json_object_has_member(jo, "options")
                                       ? json_object_get_object_member(jo, "options")
                                       : NULL);
    o->queues = g_ptr_array_new();
    g_ptr_array_add(h->outputs, o);
    if (!sl_uploader_add_output(h->uploader, o->id, o->type, upload_options(jo), error))
      return FALSE;
  }

  h->pipeline = gst_pipeline_new("session");
  sess = session_structure(h);
  h->source = input->input.make_source(sess, MEDIA_FD, error);
  if (h->source == NULL)
    return FALSE;
  gst_bin_add(GST_BIN(h->pipeline), h->source);
  g_signal_connect(h->source, "pad-added", G_CALLBACK(on_pad_added), h);
  g_signal_connect(h->source, "no-more-pads", G_CALLBACK(on_no_more_pads), h);
  {
    GstBus *bus = gst_element_get_bus(h->pipeline);
    gst_bus_add_watch(bus, on_bus, h);
    gst_object_unref(bus);
  }
  return TRUE;
}

int sl_handler_main(void)
{
  Handler h = {0};
  g_autoptr(GError) err = NULL;
  int status;

  g_mutex_init(&h.lock);
  h.outputs = g_ptr_array_new_with_free_func(output_free);
  h.pending = g_ptr_array_new_with_free_func((GDestroyNotify)json_object_unref);
  h.component = g_strdup("handler");
  gst_init(NULL, NULL);
  h.loop = g_main_loop_new(NULL, FALSE);
  h.ctl = sl_ipc_channel_new(CONTROL_FD, on_control, &h);

  if (!setup(&h, &err)) {
    fail(&h, "%s", err->message);
    finish(&h);
  } else {
    report_state(&h, "ENDPOINT_BUFFERING", NULL);
    if (gst_element_set_state(h.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      fail(&h, "the pipeline could not start");
      finish(&h);
    } else {
      g_main_loop_run(h.loop);
    }
  }
  if (h.pipeline != NULL)
    gst_element_set_state(h.pipeline, GST_STATE_NULL);
  if (h.ctl != NULL)
    sl_ipc_channel_flush(h.ctl, 10000);
  status = h.exit_status;

  g_clear_pointer(&h.uploader, sl_uploader_free);
  if (h.plugins)
    sl_host_shutdown_plugins(h.plugins);
  g_clear_pointer(&h.ctl, sl_ipc_channel_free);
  g_clear_pointer(&h.outputs, g_ptr_array_unref);
  g_clear_pointer(&h.pending, g_ptr_array_unref);
  gst_clear_object(&h.pipeline);
  g_clear_pointer(&h.video_caps, gst_caps_unref);
  g_clear_pointer(&h.audio_caps, gst_caps_unref);
  g_clear_pointer(&h.desc, json_object_unref);
  g_clear_pointer(&h.loop, g_main_loop_unref);
  g_clear_pointer(&h.metrics, sl_metrics_free);
  g_clear_pointer(&h.plugins, sl_plugin_set_free);
  g_clear_pointer(&h.config, sl_config_free);
  g_free(h.output_dir);
  g_free(h.error);
  g_free(h.component);
  g_mutex_clear(&h.lock);
  return status;
}
