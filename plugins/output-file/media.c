/* output-file — codecs of the options' caps and the input chains. See media.h. */
#include "media.h"

#include <sluice/output.h>
#include <string.h>

gboolean of_media_get_caps(const GstStructure *options, const char *field, GstCaps **caps,
                           GError **error)
{
  const GValue *v = gst_structure_get_value(options, field);
  const char *kind = g_str_has_prefix(field, "video") ? "video/" : "audio/";
  g_autoptr(GstCaps) got = NULL;
  const char *name;

  *caps = NULL;
  if (v == NULL)
    return TRUE;
  if (G_VALUE_HOLDS(v, GST_TYPE_CAPS)) {
    const GstCaps *c = gst_value_get_caps(v);
    got = c ? gst_caps_ref((GstCaps *)c) : NULL;
  } else if (G_VALUE_HOLDS_STRING(v) && g_value_get_string(v) != NULL) {
    got = gst_caps_from_string(g_value_get_string(v));
  }
  if (got == NULL || gst_caps_is_empty(got) || gst_caps_is_any(got)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "%s is not a usable caps value", field);
    return FALSE;
  }
  name = gst_structure_get_name(gst_caps_get_structure(got, 0));
  if (!g_str_has_prefix(name, kind)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS, "%s carries %s, not %s*",
                field, name, kind);
    return FALSE;
  }
  *caps = g_steal_pointer(&got);
  return TRUE;
}

OfCodec of_codec_from_caps(const GstCaps *caps, const char **media_type)
{
  const GstStructure *s;
  const char *name;
  int version = 0;

  if (media_type != NULL)
    *media_type = NULL;
  if (caps == NULL)
    return OF_CODEC_NONE;
  if (gst_caps_is_empty(caps) || gst_caps_is_any(caps))
    return OF_CODEC_OTHER;
  s = gst_caps_get_structure(caps, 0);
  name = gst_structure_get_name(s);
  if (media_type != NULL)
    *media_type = name;
  if (strcmp(name, "video/x-h264") == 0)
    return OF_CODEC_H264;
  if (strcmp(name, "video/x-h265") == 0)
    return OF_CODEC_H265;
  if (strcmp(name, "video/x-vp8") == 0)
    return OF_CODEC_VP8;
  if (strcmp(name, "video/x-vp9") == 0)
    return OF_CODEC_VP9;
  if (strcmp(name, "video/x-av1") == 0)
    return OF_CODEC_AV1;
  if (strcmp(name, "audio/x-opus") == 0)
    return OF_CODEC_OPUS;
  if (strcmp(name, "audio/mpeg") == 0 && gst_structure_get_int(s, "mpegversion", &version)) {
    /* mpegversion 2 and 4 are both AAC (MPEG-2 and MPEG-4 flavours); 1 is MP1/2/3. */
    if (version == 2 || version == 4)
      return OF_CODEC_AAC;
    if (version == 1)
      return OF_CODEC_MP3;
  }
  return OF_CODEC_OTHER;
}

GstElement *of_media_make_element(const char *factory, const char *name, GError **error)
{
  GstElement *e = gst_element_factory_make(factory, name);
  if (e == NULL)
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT,
                "the GStreamer element '%s' is not installed", factory);
  return e;
}

/* The parser each codec needs in front of a muxer, or NULL when the muxer takes the stream as it
 * comes. VP9's parser is optional (it only fills in caps fields), VP8 has none. */
static const char *parser_for(OfCodec codec, gboolean *optional)
{
  *optional = FALSE;
  switch (codec) {
  case OF_CODEC_H264:
    return "h264parse";
  case OF_CODEC_H265:
    return "h265parse";
  case OF_CODEC_AAC:
    return "aacparse";
  case OF_CODEC_MP3:
    return "mpegaudioparse";
  case OF_CODEC_OPUS:
    return "opusparse";
  case OF_CODEC_VP9:
    *optional = TRUE;
    return "vp9parse";
  case OF_CODEC_AV1:
    *optional = TRUE;
    return "av1parse";
  case OF_CODEC_VP8:
  case OF_CODEC_NONE:
  case OF_CODEC_OTHER:
    break;
  }
  return NULL;
}

/* Drops video until its first keyframe, then removes itself. A bin added to a running session
 * joins mid-GOP; frames that reference a picture it never got would only make the first second
 * of a file (or the first segment) undecodable. Runs on the input's streaming thread. */
static GstPadProbeReturn wait_for_keyframe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    return GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) ? GST_PAD_PROBE_DROP
                                                                   : GST_PAD_PROBE_REMOVE;
  }
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    GstBufferList *list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
    guint n = gst_buffer_list_length(list), first = 0;
    while (first < n &&
           GST_BUFFER_FLAG_IS_SET(gst_buffer_list_get(list, first), GST_BUFFER_FLAG_DELTA_UNIT))
      first++;
    if (first == n)
      return GST_PAD_PROBE_DROP;
    if (first > 0) {
      list = gst_buffer_list_make_writable(list);
      gst_buffer_list_remove(list, 0, first);
      GST_PAD_PROBE_INFO_DATA(info) = list;
    }
    return GST_PAD_PROBE_REMOVE;
  }
  return GST_PAD_PROBE_OK;
}

GstPad *of_media_add_input(GstBin *bin, const char *ghost_name, OfCodec codec,
                           gboolean in_band_headers, GstElement *sink, const char *sink_template,
                           GError **error)
{
  gboolean optional = FALSE;
  const char *factory = parser_for(codec, &optional);
  GstElement *parser = NULL;
  g_autoptr(GstPad) sink_pad = NULL;
  g_autoptr(GstPad) parser_src = NULL;
  g_autoptr(GstPad) entry = NULL;
  GstPadLinkReturn link;
  GstPad *ghost;

  if (factory != NULL) {
    g_autofree char *name = g_strdup_printf("%s-parse", ghost_name);
    parser = gst_element_factory_make(factory, name);
    if (parser == NULL && !optional) {
      g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT,
                  "the GStreamer element '%s' is not installed", factory);
      return NULL;
    }
  }
  if (parser != NULL && (codec == OF_CODEC_H264 || codec == OF_CODEC_H265) && in_band_headers)
    g_object_set(parser, "config-interval", -1, NULL);

  sink_pad = gst_element_request_pad_simple(sink, sink_template);
  if (sink_pad == NULL) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT,
                "%s gave no '%s' pad for %s", GST_ELEMENT_NAME(sink), sink_template,
                of_codec_name(codec));
    g_clear_object(&parser);
    return NULL;
  }

  if (parser != NULL) {
    gst_bin_add(bin, parser);
    parser_src = gst_element_get_static_pad(parser, "src");
    link = gst_pad_link(parser_src, sink_pad);
    if (GST_PAD_LINK_FAILED(link)) {
      g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS, "%s cannot feed %s (%s)",
                  factory, GST_ELEMENT_NAME(sink), gst_pad_link_get_name(link));
      return NULL;
    }
    entry = gst_element_get_static_pad(parser, "sink");
  } else {
    entry = gst_object_ref(sink_pad);
  }

  if (codec == OF_CODEC_H264 || codec == OF_CODEC_H265 || codec == OF_CODEC_VP8 ||
      codec == OF_CODEC_VP9 || codec == OF_CODEC_AV1)
    gst_pad_add_probe(entry, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                      wait_for_keyframe, NULL, NULL);

  ghost = gst_ghost_pad_new(ghost_name, entry);
  if (ghost == NULL || !gst_element_add_pad(GST_ELEMENT(bin), ghost)) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_ELEMENT, "cannot add the '%s' pad",
                ghost_name);
    return NULL;
  }
  /* `entry` stays alive inside its element; the reference taken here is dropped on return. */
  return entry;
}
