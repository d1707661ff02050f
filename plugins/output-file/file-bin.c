/* output-file — the "file" output bin. See file-bin.h. */
#include "file-bin.h"

#include <sluice/output.h>

#include "container.h"
#include "files.h"
#include "media.h"
#include "report.h"

struct _OfFileBin {
  GstBin parent;

  char *filename; /* relative to the output dir, extension fixed */
  char *location; /* absolute */
  GstElement *sink;

  GMutex lock; /* guards the fields below */
  gboolean have_media;
  GstClockTime first_rt; /* earliest running time seen on any input */
  GstClockTime last_rt;  /* latest running time (end of a buffer) seen on any input */
  gint64 start_wall_us;  /* wall clock when the first buffer arrived */
  gboolean reported;
};

G_DEFINE_TYPE(OfFileBin, of_file_bin, GST_TYPE_BIN)

enum { PROP_0, PROP_FILENAME, PROP_LOCATION, N_PROPS };
static GParamSpec *props[N_PROPS];

/* Per-input state of the duration probe. The segment is touched only by the input's own
 * streaming thread (events and buffers on one pad are serialised), so it needs no lock. */
typedef struct {
  OfFileBin *bin; /* not owned: the probe lives on a pad inside the bin */
  GstSegment segment;
} OfInputClock;

static void note_buffer(OfInputClock *ic, GstBuffer *buf)
{
  GstClockTime ts = GST_BUFFER_PTS_IS_VALID(buf) ? GST_BUFFER_PTS(buf) : GST_BUFFER_DTS(buf);
  GstClockTime rt, end;
  OfFileBin *self = ic->bin;

  if (!GST_CLOCK_TIME_IS_VALID(ts) || ic->segment.format != GST_FORMAT_TIME)
    return;
  rt = gst_segment_to_running_time(&ic->segment, GST_FORMAT_TIME, ts);
  if (!GST_CLOCK_TIME_IS_VALID(rt))
    return;
  end = GST_BUFFER_DURATION_IS_VALID(buf) ? rt + GST_BUFFER_DURATION(buf) : rt;

  g_mutex_lock(&self->lock);
  if (!self->have_media) {
    self->have_media = TRUE;
    self->first_rt = rt;
    self->last_rt = end;
    self->start_wall_us = g_get_real_time();
  } else {
    self->first_rt = MIN(self->first_rt, rt);
    self->last_rt = MAX(self->last_rt, end);
  }
  g_mutex_unlock(&self->lock);
}

static gboolean note_list_item(GstBuffer **buf, guint idx, gpointer data)
{
  note_buffer(data, *buf);
  return TRUE;
}

static GstPadProbeReturn on_input(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  OfInputClock *ic = data;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    note_buffer(ic, GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gst_buffer_list_foreach(GST_PAD_PROBE_INFO_BUFFER_LIST(info), note_list_item, ic);
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT)
      gst_event_copy_segment(ev, &ic->segment);
  }
  return GST_PAD_PROBE_OK;
}

static void watch_input(OfFileBin *self, GstPad *pad)
{
  OfInputClock *ic = g_new0(OfInputClock, 1);
  ic->bin = self;
  gst_segment_init(&ic->segment, GST_FORMAT_UNDEFINED);
  gst_pad_add_probe(pad,
                    GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                        GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                    on_input, ic, g_free);
}

/* filesink has its EOS: the muxer has written everything, the index included. Runs on the
 * streaming thread that carried the EOS, before GstBin sees the message. */
static void report_closed(OfFileBin *self)
{
  guint64 duration = 0;
  gint64 start_wall_us = 0;
  gboolean have_media;
  GstStructure *report;

  g_mutex_lock(&self->lock);
  if (self->reported) {
    g_mutex_unlock(&self->lock);
    return;
  }
  self->reported = TRUE;
  have_media = self->have_media;
  if (have_media) {
    duration = self->last_rt - self->first_rt;
    start_wall_us = self->start_wall_us;
  }
  g_mutex_unlock(&self->lock);

  report =
      of_report_new("file", "file-closed", self->filename, of_file_size(self->location), duration);
  if (have_media)
    gst_structure_set(report, "start-time", G_TYPE_INT64, start_wall_us * 1000, NULL);
  of_report_post(GST_ELEMENT(self), report);
}

static void of_file_bin_handle_message(GstBin *bin, GstMessage *msg)
{
  OfFileBin *self = OF_FILE_BIN(bin);
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS && self->sink != NULL &&
      GST_MESSAGE_SRC(msg) == GST_OBJECT(self->sink))
    report_closed(self);
  GST_BIN_CLASS(of_file_bin_parent_class)->handle_message(bin, msg);
}

static void of_file_bin_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  OfFileBin *self = OF_FILE_BIN(object);
  switch (id) {
  case PROP_FILENAME:
    g_value_set_string(value, self->filename);
    break;
  case PROP_LOCATION:
    g_value_set_string(value, self->location);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void of_file_bin_finalize(GObject *object)
{
  OfFileBin *self = OF_FILE_BIN(object);
  g_free(self->filename);
  g_free(self->location);
  g_mutex_clear(&self->lock);
  G_OBJECT_CLASS(of_file_bin_parent_class)->finalize(object);
}

static void of_file_bin_class_init(OfFileBinClass *klass)
{
  GObjectClass *oclass = G_OBJECT_CLASS(klass);
  oclass->get_property = of_file_bin_get_property;
  oclass->finalize = of_file_bin_finalize;
  GST_BIN_CLASS(klass)->handle_message = of_file_bin_handle_message;
  props[PROP_FILENAME] =
      g_param_spec_string("filename", "File name", "The file written, relative to the output dir",
                          NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  props[PROP_LOCATION] = g_param_spec_string("location", "Location", "The file written", NULL,
                                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oclass, N_PROPS, props);
}

static void of_file_bin_init(OfFileBin *self)
{
  g_mutex_init(&self->lock);
}

/* The muxer for `container`, set up for crash safety. */
static GstElement *make_muxer(OfContainer container, const OfConfig *config, GError **error)
{
  GstElement *mux = NULL;
  switch (container) {
  case OF_CONTAINER_MP4:
    mux = of_media_make_element("mp4mux", "mux", error);
    if (mux == NULL)
      return NULL;
    /* Plain fragmented MP4 (moov, then moof+mdat per fragment, mfra at the end): every
     * fragment written is readable by ffmpeg and browsers, during the recording and after a
     * SIGKILL. The "first-moov-then-finalise" mode would give a regular MP4 at the end, but
     * until then it writes mdat before moof, which ffmpeg cannot open: a killed recording
     * would only play in GStreamer. */
    g_object_set(mux, "fragment-duration", config->fragment_duration_ms, NULL);
    break;
  case OF_CONTAINER_WEBM:
    mux = of_media_make_element("webmmux", "mux", error);
    break;
  case OF_CONTAINER_OGG:
    mux = of_media_make_element("oggmux", "mux", error);
    break;
  case OF_CONTAINER_NONE:
    break;
  }
  return mux;
}

/* Turn an OF_CODEC_OTHER into a refusal that names the media type. */
static gboolean refuse_other(OfCodec codec, const char *media_type, const char *kind,
                             GError **error)
{
  if (codec != OF_CODEC_OTHER)
    return TRUE;
  g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
              "the file output cannot take %s %s without transcoding",
              media_type ? media_type : "this", kind);
  return FALSE;
}

GstElement *of_file_bin_new(const GstStructure *options, const char *dir, const OfConfig *config,
                            GError **error)
{
  g_autoptr(GstCaps) video_caps = NULL;
  g_autoptr(GstCaps) audio_caps = NULL;
  g_autofree char *filename = NULL;
  const char *filepath = gst_structure_get_string(options, "filepath");
  const char *video_type = NULL, *audio_type = NULL;
  OfCodec video, audio;
  OfContainer container;
  OfFileBin *self = NULL;
  GstElement *mux, *sink;
  GstPad *entry;

  if (filepath == NULL) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "the file output needs a filepath");
    return NULL;
  }
  if (!of_check_relative_path(filepath, "filepath", error))
    return NULL;
  if (!of_media_get_caps(options, "video-caps", &video_caps, error) ||
      !of_media_get_caps(options, "audio-caps", &audio_caps, error))
    return NULL;
  video = of_codec_from_caps(video_caps, &video_type);
  audio = of_codec_from_caps(audio_caps, &audio_type);
  if (!refuse_other(video, video_type, "video", error) ||
      !refuse_other(audio, audio_type, "audio", error))
    return NULL;
  container = of_container_choose(video, audio, filepath, &filename, error);
  if (container == OF_CONTAINER_NONE)
    return NULL;

  self = g_object_new(OF_TYPE_FILE_BIN, NULL);
  gst_object_ref_sink(self);
  self->filename = g_steal_pointer(&filename);
  self->location = g_build_filename(dir, self->filename, NULL);
  if (!of_make_parent_dirs(self->location, error))
    goto fail;

  mux = make_muxer(container, config, error);
  if (mux == NULL)
    goto fail;
  sink = of_media_make_element("filesink", "sink", error);
  if (sink == NULL) {
    gst_object_unref(gst_object_ref_sink(mux));
    goto fail;
  }
  /* The handler's pipeline runs live; the file takes data as fast as it comes and must not hold
   * the pipeline's preroll. Unbuffered: filesink's own 64 KiB buffer would otherwise hold back
   * seconds of a low-bitrate recording (minutes of an Opus one) from the kernel, and a SIGKILL
   * would lose them. The price is one write per muxed buffer, a few microseconds each, which
   * mp4mux issues in a burst once per fragment. */
  g_object_set(sink, "location", self->location, "sync", FALSE, "async", FALSE, NULL);
  gst_util_set_object_arg(G_OBJECT(sink), "buffer-mode", "unbuffered");
  gst_bin_add_many(GST_BIN(self), mux, sink, NULL);
  if (!gst_element_link(mux, sink)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT,
                "cannot link %s to filesink", GST_ELEMENT_NAME(mux));
    goto fail;
  }
  self->sink = sink;

  if (video != OF_CODEC_NONE) {
    entry = of_media_add_input(GST_BIN(self), "video", video, FALSE, mux, "video_%u", error);
    if (entry == NULL)
      goto fail;
    watch_input(self, entry);
  }
  if (audio != OF_CODEC_NONE) {
    entry = of_media_add_input(GST_BIN(self), "audio", audio, FALSE, mux, "audio_%u", error);
    if (entry == NULL)
      goto fail;
    watch_input(self, entry);
  }
  of_log(config, SLUICE_LOG_DEBUG, "file output: %s (%s%s%s) in %s", self->filename,
         video != OF_CODEC_NONE ? of_codec_name(video) : "",
         video != OF_CODEC_NONE && audio != OF_CODEC_NONE ? " + " : "",
         audio != OF_CODEC_NONE ? of_codec_name(audio) : "", of_container_extension(container));

  /* Hand back a floating reference, as the contract asks. */
  g_object_force_floating(G_OBJECT(self));
  return GST_ELEMENT(self);

fail:
  gst_object_unref(self);
  return NULL;
}
