/* output-file — the "segments" output bin. See segments-bin.h. */
#include "segments-bin.h"

#include <sluice/output.h>
#include <string.h>

#include "files.h"
#include "hls-playlist.h"
#include "media.h"
#include "report.h"

#define FRAGMENT_OPENED "splitmuxsink-fragment-opened"
#define FRAGMENT_CLOSED "splitmuxsink-fragment-closed"

/* A segment splitmuxsink has opened and not closed yet. */
typedef struct {
  char *name;            /* relative to the output dir */
  GstClockTime start_rt; /* running time of the first sample format-location-full was given */
} OfOpenSegment;

/* A pad whose buffers the bin measures: one of splitmuxsink's inputs (what it was given), or
 * one of the muxer's inputs (what the open segment holds). Owned by its probe. */
typedef struct {
  struct _OfSegmentsBin *self;
  gboolean muxed;     /* a muxer input */
  gboolean ended;     /* a splitmuxsink input that has had its EOS */
  GstSegment segment; /* the pad's current segment; its streaming thread only */
} OfPadWatch;

struct _OfSegmentsBin {
  GstBin parent;

  /* Set while building, read-only afterwards. */
  char *dir;
  char *prefix;        /* relative to dir */
  char *playlist_name; /* relative to dir */
  char *live_name;     /* relative to dir, or NULL */
  char *playlist_path; /* absolute */
  char *live_path;     /* absolute, or NULL */
  gboolean timestamp_names;
  OfConfig config;
  GstElement *splitmux;

  GMutex lock; /* guards everything below, up to `times_lock` */
  OfHlsPlaylist *playlist;
  GHashTable *open;         /* absolute location -> OfOpenSegment */
  char *last_name;          /* the last segment name given out, to keep TIMESTAMP names unique */
  GstClockTime last_end_rt; /* where the previous segment ended: the next one starts there */
  gboolean ended;
  gboolean write_failed;

  /* What the buffers say, measured on the streaming threads (OfPadWatch). Taken after `lock`
   * when both are held; the probes take only this one, so a playlist write never stalls the
   * media. */
  GMutex times_lock;
  gboolean anchored;
  GstClockTime anchor_rt; /* running time that maps to anchor_wall_us */
  gint64 anchor_wall_us;
  guint inputs;             /* splitmuxsink inputs watched */
  guint inputs_ended;       /* of which have had their EOS */
  GstClockTime given_end;   /* latest end of anything splitmuxsink was given */
  GstClockTime muxed_start; /* earliest start of what the open segment holds */
  GstClockTime muxed_end;   /* latest end of what the open segment holds */
};

G_DEFINE_TYPE(OfSegmentsBin, of_segments_bin, GST_TYPE_BIN)

enum { PROP_0, PROP_PLAYLIST_NAME, PROP_LIVE_PLAYLIST_NAME, N_PROPS };
static GParamSpec *props[N_PROPS];

static void open_segment_free(gpointer data)
{
  OfOpenSegment *seg = data;
  g_free(seg->name);
  g_free(seg);
}

/* Wall clock (µs since the epoch) of running time `rt`. The first call fixes the anchor (the
 * first buffer splitmuxsink is given); every later time is derived from it, so program date
 * times advance with the media, not with however late a message happens to be handled. */
static gint64 wall_time_of(OfSegmentsBin *self, GstClockTime rt)
{
  gint64 wall;
  g_mutex_lock(&self->times_lock);
  if (!self->anchored) {
    self->anchored = TRUE;
    self->anchor_rt = GST_CLOCK_TIME_IS_VALID(rt) ? rt : 0;
    self->anchor_wall_us = g_get_real_time();
  }
  if (!GST_CLOCK_TIME_IS_VALID(rt))
    wall = g_get_real_time();
  else
    wall = self->anchor_wall_us + ((gint64)rt - (gint64)self->anchor_rt) / 1000;
  g_mutex_unlock(&self->times_lock);
  return wall;
}

/* --- what the buffers span --- */

static GstClockTime min_time(GstClockTime a, GstClockTime b)
{
  if (!GST_CLOCK_TIME_IS_VALID(a))
    return b;
  if (!GST_CLOCK_TIME_IS_VALID(b))
    return a;
  return MIN(a, b);
}

static GstClockTime max_time(GstClockTime a, GstClockTime b)
{
  if (!GST_CLOCK_TIME_IS_VALID(a))
    return b;
  if (!GST_CLOCK_TIME_IS_VALID(b))
    return a;
  return MAX(a, b);
}

/* The running times a buffer covers, by presentation time (what ffprobe and players measure a
 * segment by; decode times run ahead of it with B-frames). FALSE when it has none. */
static gboolean buffer_span(const GstSegment *segment, GstBuffer *buf, GstClockTime *start,
                            GstClockTime *end)
{
  GstClockTime ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
  GstClockTime stop;
  if (segment->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID(ts))
    return FALSE;
  *start = gst_segment_to_running_time(segment, GST_FORMAT_TIME, ts);
  if (!GST_CLOCK_TIME_IS_VALID(*start))
    return FALSE;
  *end = *start;
  if (GST_BUFFER_DURATION_IS_VALID(buf)) {
    stop = gst_segment_to_running_time(segment, GST_FORMAT_TIME, ts + GST_BUFFER_DURATION(buf));
    if (GST_CLOCK_TIME_IS_VALID(stop) && stop > *start)
      *end = stop;
  }
  return TRUE;
}

typedef struct {
  const GstSegment *segment;
  GstClockTime start, end;
} SpanAcc;

static gboolean add_list_span(GstBuffer **buf, guint idx, gpointer data)
{
  SpanAcc *acc = data;
  GstClockTime start, end;
  if (buffer_span(acc->segment, *buf, &start, &end)) {
    acc->start = min_time(acc->start, start);
    acc->end = max_time(acc->end, end);
  }
  return TRUE;
}

/* Records the span of what passed a watched pad. The first buffer splitmuxsink is given fixes
 * the wall-clock anchor: it arrives about when it was captured. */
static void note_span(OfPadWatch *w, GstClockTime start, GstClockTime end)
{
  OfSegmentsBin *self = w->self;
  gboolean anchor = FALSE;
  g_mutex_lock(&self->times_lock);
  if (w->muxed) {
    self->muxed_start = min_time(self->muxed_start, start);
    self->muxed_end = max_time(self->muxed_end, end);
  } else {
    self->given_end = max_time(self->given_end, end);
    anchor = !self->anchored;
  }
  g_mutex_unlock(&self->times_lock);
  if (anchor)
    (void)wall_time_of(self, start);
}

/* A segment's start and end are taken from what was muxed into it, not from splitmuxsink's
 * messages alone: splitmuxsink reports where it cut the reference (video) stream, but the first
 * segment also holds whatever came before its first keyframe on the other streams (audio that
 * flowed while video waited for a keyframe, as it does when the bin joins a running session),
 * and the last one runs to the end of its last samples. */
static GstPadProbeReturn watch_pad(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  OfPadWatch *w = data;
  SpanAcc acc = {&w->segment, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE};

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *event = GST_PAD_PROBE_INFO_EVENT(info);
    switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment(event, &w->segment);
      break;
    case GST_EVENT_EOS:
      if (!w->muxed && !w->ended) {
        w->ended = TRUE;
        g_mutex_lock(&w->self->times_lock);
        w->self->inputs_ended++;
        g_mutex_unlock(&w->self->times_lock);
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      if (!w->muxed && w->ended) {
        w->ended = FALSE;
        g_mutex_lock(&w->self->times_lock);
        w->self->inputs_ended--;
        g_mutex_unlock(&w->self->times_lock);
      }
      break;
    default:
      break;
    }
    return GST_PAD_PROBE_OK;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    add_list_span(&buf, 0, &acc);
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), add_list_span, &acc);
  if (GST_CLOCK_TIME_IS_VALID(acc.start))
    note_span(w, acc.start, acc.end);
  return GST_PAD_PROBE_OK;
}

/* "pad-added" of splitmuxsink (muxed FALSE) and of its muxer (muxed TRUE): watches each new
 * sink pad. */
static void watch_new_pad(GstElement *element, GstPad *pad, OfSegmentsBin *self, gboolean muxed)
{
  OfPadWatch *w;
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SINK)
    return;
  w = g_new0(OfPadWatch, 1);
  w->self = self;
  w->muxed = muxed;
  gst_segment_init(&w->segment, GST_FORMAT_UNDEFINED);
  if (!muxed) {
    g_mutex_lock(&self->times_lock);
    self->inputs++;
    g_mutex_unlock(&self->times_lock);
  }
  gst_pad_add_probe(pad,
                    GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    watch_pad, w, g_free);
}

static void on_splitmux_pad_added(GstElement *element, GstPad *pad, gpointer data)
{
  watch_new_pad(element, pad, data, FALSE);
}

static void on_muxer_pad_added(GstElement *element, GstPad *pad, gpointer data)
{
  watch_new_pad(element, pad, data, TRUE);
}

static GstClockTime sample_running_time(GstSample *sample)
{
  GstBuffer *buf = sample ? gst_sample_get_buffer(sample) : NULL;
  const GstSegment *seg = sample ? gst_sample_get_segment(sample) : NULL;
  GstClockTime ts;
  if (buf == NULL || seg == NULL || seg->format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(ts))
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time(seg, GST_FORMAT_TIME, ts);
}

/* splitmuxsink's "format-location-full": the name of the segment about to open. Streaming
 * thread. Returns the absolute location (transfer full). */
static char *on_format_location(GstElement *splitmux, guint fragment_id, GstSample *first_sample,
                                gpointer data)
{
  OfSegmentsBin *self = data;
  GstClockTime rt = sample_running_time(first_sample);
  OfOpenSegment *seg;
  char *name, *location;

  g_mutex_lock(&self->lock);
  if (self->timestamp_names) {
    name = of_hls_segment_name_timestamp(self->prefix, wall_time_of(self, rt));
    /* Two segments can start within one second (a short GOP after a long one); the second
     * must not overwrite the first. */
    if (self->last_name != NULL && strcmp(name, self->last_name) == 0) {
      g_autofree char *base = g_strndup(name, strlen(name) - strlen(".ts"));
      g_free(name);
      name = g_strdup_printf("%s_%u.ts", base, fragment_id);
    }
  } else {
    (void)wall_time_of(self, rt);
    name = of_hls_segment_name_index(self->prefix, fragment_id);
  }
  g_free(self->last_name);
  self->last_name = g_strdup(name);
  location = g_build_filename(self->dir, name, NULL);
  seg = g_new0(OfOpenSegment, 1);
  seg->name = name;
  seg->start_rt = rt;
  g_hash_table_replace(self->open, g_strdup(location), seg);
  g_mutex_unlock(&self->lock);
  return location;
}

/* Writes both playlists from the model and queues a report for each on `messages`. Lock held.
 * A failed write is an error of the output (the handler fails this output alone): reported
 * once, while the segments themselves go on being written. */
static void write_playlists(OfSegmentsBin *self, GPtrArray *messages)
{
  struct {
    const char *name, *path;
    gboolean live;
  } targets[2] = {{self->playlist_name, self->playlist_path, FALSE},
                  {self->live_name, self->live_path, TRUE}};
  guint total = of_hls_playlist_get_segment_count(self->playlist);

  for (guint i = 0; i < G_N_ELEMENTS(targets); i++) {
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    GstStructure *report;
    guint count = total;
    guint64 duration = of_hls_playlist_get_total_duration(self->playlist);
    gsize len;

    if (targets[i].name == NULL)
      continue;
    if (targets[i].live) {
      text = of_hls_playlist_render_live(self->playlist, OF_HLS_LIVE_WINDOW);
      count = MIN(total, OF_HLS_LIVE_WINDOW);
      duration = of_hls_playlist_get_window_duration(self->playlist, OF_HLS_LIVE_WINDOW);
    } else {
      text = of_hls_playlist_render_event(self->playlist);
    }
    len = strlen(text);
    if (!of_atomic_write(targets[i].path, text, len, &err)) {
      if (!self->write_failed) {
        g_autoptr(GError) gerr = g_error_new(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE,
                                             "cannot write playlist %s", targets[i].name);
        self->write_failed = TRUE;
        of_log(&self->config, SLUICE_LOG_ERROR, "segments output: %s", err->message);
        g_ptr_array_add(messages, gst_message_new_error(GST_OBJECT(self), gerr, err->message));
      }
      continue;
    }
    report = of_report_new("segments", "playlist-updated", targets[i].name, len, duration);
    gst_structure_set(report, "segment-count", G_TYPE_UINT, count, "live", G_TYPE_BOOLEAN,
                      targets[i].live, "ended", G_TYPE_BOOLEAN, self->ended, NULL);
    g_ptr_array_add(messages, gst_message_new_element(GST_OBJECT(self), report));
  }
}

static void on_fragment_closed(OfSegmentsBin *self, const GstStructure *s, GPtrArray *messages)
{
  const char *location = gst_structure_get_string(s, "location");
  GstClockTime cut_rt = GST_CLOCK_TIME_NONE, start_rt, end_rt, muxed_start, muxed_end;
  g_autofree char *uri = NULL;
  OfOpenSegment *seg = NULL;
  guint64 duration = 0;
  gboolean last;
  gint64 start_us;
  GstStructure *report;
  gpointer key = NULL;

  if (location == NULL)
    return;
  gst_structure_get_uint64(s, "running-time", &cut_rt);
  g_mutex_lock(&self->lock);
  if (!g_hash_table_steal_extended(self->open, location, &key, (gpointer *)&seg)) {
    g_mutex_unlock(&self->lock);
    return;
  }
  g_free(key);

  /* What this segment holds. splitmuxsink posts this message once the muxer has had its EOS
   * and before it lets anything of the next segment through, so the muxer's inputs have seen
   * exactly this segment's samples since the previous one closed. It is the last segment when
   * every input has ended and everything splitmuxsink was given is in it. */
  g_mutex_lock(&self->times_lock);
  muxed_start = self->muxed_start;
  muxed_end = self->muxed_end;
  last = self->inputs > 0 && self->inputs_ended == self->inputs &&
         GST_CLOCK_TIME_IS_VALID(muxed_end) && muxed_end >= self->given_end;
  self->muxed_start = self->muxed_end = GST_CLOCK_TIME_NONE;
  g_mutex_unlock(&self->times_lock);

  /* Segments are contiguous: each starts where the previous one was cut. The first starts at
   * its earliest sample, which is not necessarily the keyframe splitmuxsink started it on (nor
   * the sample format-location-full was given, nor the running time of fragment-opened, which
   * splitmuxsink posts once the first GOP is complete): audio that arrived before the first
   * keyframe is in it too. */
  if (GST_CLOCK_TIME_IS_VALID(self->last_end_rt))
    start_rt = self->last_end_rt;
  else
    start_rt = GST_CLOCK_TIME_IS_VALID(muxed_start) ? muxed_start : seg->start_rt;
  /* Each segment but the last ends where splitmuxsink cut (the keyframe the next one starts
   * on); the last one ends with its last sample's end, which the cut time (that sample's start,
   * on the reference stream only) falls short of. */
  end_rt = cut_rt;
  if (last || !GST_CLOCK_TIME_IS_VALID(end_rt))
    end_rt = max_time(end_rt, muxed_end);
  if (GST_CLOCK_TIME_IS_VALID(end_rt) && GST_CLOCK_TIME_IS_VALID(start_rt) && end_rt > start_rt)
    duration = end_rt - start_rt;
  if (GST_CLOCK_TIME_IS_VALID(end_rt))
    self->last_end_rt = max_time(self->last_end_rt, end_rt);
  start_us = wall_time_of(self, start_rt);
  uri = of_hls_relative_uri(self->playlist_name, seg->name);
  of_hls_playlist_add_segment(self->playlist, uri, duration, start_us);

  report = of_report_new("segments", "segment-closed", seg->name, of_file_size(location), duration);
  gst_structure_set(report, "start-time", G_TYPE_INT64, start_us * 1000, NULL);
  g_ptr_array_add(messages, gst_message_new_element(GST_OBJECT(self), report));
  write_playlists(self, messages);
  g_mutex_unlock(&self->lock);
  open_segment_free(seg);
}

/* The last segment is closed (splitmuxsink closes it before its EOS): end both playlists. */
static void on_eos(OfSegmentsBin *self, GPtrArray *messages)
{
  g_mutex_lock(&self->lock);
  if (!self->ended) {
    self->ended = TRUE;
    of_hls_playlist_end(self->playlist);
    write_playlists(self, messages);
  }
  g_mutex_unlock(&self->lock);
}

static gboolean from_splitmux(OfSegmentsBin *self, GstMessage *msg)
{
  GstObject *src = GST_MESSAGE_SRC(msg);
  return self->splitmux != NULL &&
         (src == GST_OBJECT(self->splitmux) ||
          (src != NULL && gst_object_has_as_ancestor(src, GST_OBJECT(self->splitmux))));
}

/* Messages are posted after the lock is released: posting runs the parents' message handling
 * (and whatever sync handler the handler installed) on this thread, which must not find the
 * bin locked. */
static void post_messages(OfSegmentsBin *self, GPtrArray *messages)
{
  while (messages->len > 0)
    gst_element_post_message(GST_ELEMENT(self), g_ptr_array_steal_index(messages, 0));
}

static void of_segments_bin_handle_message(GstBin *bin, GstMessage *msg)
{
  OfSegmentsBin *self = OF_SEGMENTS_BIN(bin);
  g_autoptr(GPtrArray) messages = NULL;

  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && from_splitmux(self, msg)) {
    const GstStructure *s = gst_message_get_structure(msg);
    if (gst_structure_has_name(s, FRAGMENT_OPENED)) {
      /* Nothing to learn from it: segments are measured when they close. */
      gst_message_unref(msg);
      return;
    }
    if (gst_structure_has_name(s, FRAGMENT_CLOSED)) {
      messages = g_ptr_array_new_with_free_func((GDestroyNotify)gst_message_unref);
      on_fragment_closed(self, s, messages);
      post_messages(self, messages);
      gst_message_unref(msg);
      return;
    }
  } else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS && from_splitmux(self, msg)) {
    messages = g_ptr_array_new_with_free_func((GDestroyNotify)gst_message_unref);
    on_eos(self, messages);
    post_messages(self, messages);
  }
  GST_BIN_CLASS(of_segments_bin_parent_class)->handle_message(bin, msg);
}

static void of_segments_bin_get_property(GObject *object, guint id, GValue *value,
                                         GParamSpec *pspec)
{
  OfSegmentsBin *self = OF_SEGMENTS_BIN(object);
  switch (id) {
  case PROP_PLAYLIST_NAME:
    g_value_set_string(value, self->playlist_name);
    break;
  case PROP_LIVE_PLAYLIST_NAME:
    g_value_set_string(value, self->live_name);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void of_segments_bin_finalize(GObject *object)
{
  OfSegmentsBin *self = OF_SEGMENTS_BIN(object);
  g_free(self->dir);
  g_free(self->prefix);
  g_free(self->playlist_name);
  g_free(self->live_name);
  g_free(self->playlist_path);
  g_free(self->live_path);
  g_free(self->last_name);
  of_hls_playlist_free(self->playlist);
  g_hash_table_unref(self->open);
  g_mutex_clear(&self->lock);
  g_mutex_clear(&self->times_lock);
  G_OBJECT_CLASS(of_segments_bin_parent_class)->finalize(object);
}

static void of_segments_bin_class_init(OfSegmentsBinClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS(klass);
  oclass->get_property = of_segments_bin_get_property;
  oclass->finalize = of_segments_bin_finalize;
  GST_BIN_CLASS(klass)->handle_message = of_segments_bin_handle_message;
  props[PROP_PLAYLIST_NAME] = g_param_spec_string("playlist-name", "Playlist name",
                                                  "The main playlist, relative to the output dir",
                                                  NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_LIVE_PLAYLIST_NAME] =
      g_param_spec_string("live-playlist-name", "Live playlist name",
                          "The live (sliding window) playlist, relative to the output dir, or NULL",
                          NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oclass, N_PROPS, props);
}

static void of_segments_bin_init(OfSegmentsBin *self)
{
  g_mutex_init(&self->lock);
  g_mutex_init(&self->times_lock);
  self->last_end_rt = GST_CLOCK_TIME_NONE;
  self->given_end = GST_CLOCK_TIME_NONE;
  self->muxed_start = GST_CLOCK_TIME_NONE;
  self->muxed_end = GST_CLOCK_TIME_NONE;
  self->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, open_segment_free);
}

/* --- options --- */

/* An integer option of any integer type (or its decimal text). FALSE when absent or not a
 * number. */
static gboolean get_int_option(const GstStructure *options, const char *field, gint64 *out)
{
  const GValue *v = gst_structure_get_value(options, field);
  GValue as_int = G_VALUE_INIT;
  if (v == NULL)
    return FALSE;
  if (G_VALUE_HOLDS_STRING(v))
    return g_value_get_string(v) != NULL &&
           g_ascii_string_to_signed(g_value_get_string(v), 10, G_MININT64, G_MAXINT64, out, NULL);
  if (G_VALUE_TYPE(v) == G_TYPE_DOUBLE || G_VALUE_TYPE(v) == G_TYPE_FLOAT ||
      !g_value_type_transformable(G_VALUE_TYPE(v), G_TYPE_INT64))
    return FALSE;
  g_value_init(&as_int, G_TYPE_INT64);
  g_value_transform(v, &as_int);
  *out = g_value_get_int64(&as_int);
  return TRUE;
}

/* A non-empty string option, or NULL. */
static const char *get_string_option(const GstStructure *options, const char *field)
{
  const char *s = gst_structure_get_string(options, field);
  return s != NULL && s[0] != '\0' ? s : NULL;
}

/* `name` with ".m3u8" unless it already ends so. */
static char *playlist_file_name(const char *name)
{
  if (g_str_has_suffix(name, ".m3u8"))
    return g_strdup(name);
  return g_strconcat(name, ".m3u8", NULL);
}

static gboolean parse_suffix(const GstStructure *options, gboolean *timestamp, GError **error)
{
  const char *text = get_string_option(options, "filename_suffix");
  gint64 number;
  *timestamp = FALSE;
  if (text != NULL) {
    if (g_ascii_strcasecmp(text, "TIMESTAMP") == 0) {
      *timestamp = TRUE;
      return TRUE;
    }
    if (g_ascii_strcasecmp(text, "INDEX") == 0)
      return TRUE;
  } else if (!gst_structure_has_field(options, "filename_suffix")) {
    return TRUE;
  } else if (get_int_option(options, "filename_suffix", &number) && (number == 0 || number == 1)) {
    *timestamp = number == 1;
    return TRUE;
  }
  g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
              "filename_suffix must be INDEX or TIMESTAMP");
  return FALSE;
}

/* Resolves prefix and playlist names. LiveKit's defaults: without a playlist name the playlist
 * is "playlist.m3u8" beside the segments; without a prefix the segments are named after the
 * playlist. */
static gboolean resolve_names(OfSegmentsBin *self, const GstStructure *options, GError **error)
{
  const char *prefix = get_string_option(options, "filename_prefix");
  const char *playlist = get_string_option(options, "playlist_name");
  const char *live = get_string_option(options, "live_playlist_name");

  if (prefix != NULL && !of_check_relative_path(prefix, "filename_prefix", error))
    return FALSE;
  if (playlist != NULL) {
    if (!of_check_relative_path(playlist, "playlist_name", error))
      return FALSE;
    self->playlist_name = playlist_file_name(playlist);
  } else if (prefix != NULL && strchr(prefix, '/') != NULL) {
    g_autofree char *prefix_dir = g_path_get_dirname(prefix);
    self->playlist_name = g_build_filename(prefix_dir, "playlist.m3u8", NULL);
  } else {
    self->playlist_name = g_strdup("playlist.m3u8");
  }
  if (prefix != NULL)
    self->prefix = g_strdup(prefix);
  else
    self->prefix = g_strndup(self->playlist_name, strlen(self->playlist_name) - strlen(".m3u8"));

  if (live != NULL) {
    if (!of_check_relative_path(live, "live_playlist_name", error))
      return FALSE;
    self->live_name = playlist_file_name(live);
    if (strcmp(self->live_name, self->playlist_name) == 0) {
      g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                  "live_playlist_name and playlist_name are both '%s'", self->live_name);
      return FALSE;
    }
    self->live_path = g_build_filename(self->dir, self->live_name, NULL);
  }
  self->playlist_path = g_build_filename(self->dir, self->playlist_name, NULL);
  return TRUE;
}

/* MPEG-TS segments for HLS carry H.264 and AAC; anything else needs a transcode. */
static gboolean check_codecs(const GstCaps *video_caps, const GstCaps *audio_caps, OfCodec *video,
                             OfCodec *audio, GError **error)
{
  const char *video_type = NULL, *audio_type = NULL;
  *video = of_codec_from_caps(video_caps, &video_type);
  *audio = of_codec_from_caps(audio_caps, &audio_type);
  if (*video == OF_CODEC_NONE && *audio == OF_CODEC_NONE) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "the segments output needs video-caps or audio-caps");
    return FALSE;
  }
  if (*video != OF_CODEC_NONE && *video != OF_CODEC_H264) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "HLS segments take H.264 video, not %s, without transcoding",
                *video == OF_CODEC_OTHER ? video_type : of_codec_name(*video));
    return FALSE;
  }
  if (*audio != OF_CODEC_NONE && *audio != OF_CODEC_AAC) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "HLS segments take AAC audio, not %s, without transcoding",
                *audio == OF_CODEC_OTHER ? audio_type : of_codec_name(*audio));
    return FALSE;
  }
  return TRUE;
}

GstElement *of_segments_bin_new(const GstStructure *options, const char *dir,
                                const OfConfig *config, GError **error)
{
  g_autoptr(GstCaps) video_caps = NULL;
  g_autoptr(GstCaps) audio_caps = NULL;
  g_autofree char *first_segment = NULL;
  OfSegmentsBin *self;
  OfCodec video, audio;
  GstElement *mux = NULL, *sink = NULL;
  gint64 seconds = 0;

  if (!of_media_get_caps(options, "video-caps", &video_caps, error) ||
      !of_media_get_caps(options, "audio-caps", &audio_caps, error) ||
      !check_codecs(video_caps, audio_caps, &video, &audio, error))
    return NULL;
  if (gst_structure_has_field(options, "segment_duration") &&
      (!get_int_option(options, "segment_duration", &seconds) || seconds < 0 || seconds > 3600)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "segment_duration must be a whole number of seconds (1-3600)");
    return NULL;
  }
  if (seconds == 0)
    seconds = config->default_segment_duration;

  self = g_object_new(OF_TYPE_SEGMENTS_BIN, NULL);
  gst_object_ref_sink(self);
  self->config = *config;
  self->dir = g_strdup(dir);
  self->playlist = of_hls_playlist_new((guint)seconds);
  if (!parse_suffix(options, &self->timestamp_names, error) || !resolve_names(self, options, error))
    goto fail;
  /* The segments' directory exists before splitmuxsink opens the first one. */
  first_segment = g_build_filename(dir, self->prefix, NULL);
  if (!of_make_parent_dirs(first_segment, error))
    goto fail;

  self->splitmux = of_media_make_element("splitmuxsink", "split", error);
  if (self->splitmux == NULL)
    goto fail;
  gst_bin_add(GST_BIN(self), self->splitmux);
  mux = of_media_make_element("mpegtsmux", "mux", error);
  if (mux == NULL)
    goto fail;
  sink = of_media_make_element("filesink", "sink", error);
  if (sink == NULL) {
    gst_object_unref(gst_object_ref_sink(mux));
    goto fail;
  }
  g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
  /* Passthrough: cuts fall on the source's keyframes once a segment has reached its length;
   * nothing upstream could honour a keyframe request anyway. */
  g_object_set(self->splitmux, "muxer", mux, "sink", sink, "max-size-time",
               (guint64)seconds * GST_SECOND, "send-keyframe-requests", FALSE, NULL);
  g_signal_connect(self->splitmux, "format-location-full", G_CALLBACK(on_format_location), self);
  /* Both connected before any input pad exists, so every one is watched. */
  g_signal_connect(self->splitmux, "pad-added", G_CALLBACK(on_splitmux_pad_added), self);
  g_signal_connect(mux, "pad-added", G_CALLBACK(on_muxer_pad_added), self);

  if (video != OF_CODEC_NONE && of_media_add_input(GST_BIN(self), "video", video, TRUE,
                                                   self->splitmux, "video", error) == NULL)
    goto fail;
  if (audio != OF_CODEC_NONE && of_media_add_input(GST_BIN(self), "audio", audio, TRUE,
                                                   self->splitmux, "audio_%u", error) == NULL)
    goto fail;
  of_log(config, SLUICE_LOG_DEBUG, "segments output: %s_*.ts every %" G_GINT64_FORMAT " s, %s%s%s",
         self->prefix, seconds, self->playlist_name, self->live_name ? " and " : "",
         self->live_name ? self->live_name : "");

  g_object_force_floating(G_OBJECT(self));
  return GST_ELEMENT(self);

fail:
  gst_object_unref(self);
  return NULL;
}
