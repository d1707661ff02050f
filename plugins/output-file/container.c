/* output-file — container choice for the "file" output. See container.h. */
#include "container.h"

#include <sluice/output.h>
#include <string.h>

const char *of_codec_name(OfCodec codec)
{
  switch (codec) {
  case OF_CODEC_NONE:
    return "none";
  case OF_CODEC_H264:
    return "H.264";
  case OF_CODEC_H265:
    return "H.265";
  case OF_CODEC_VP8:
    return "VP8";
  case OF_CODEC_VP9:
    return "VP9";
  case OF_CODEC_AV1:
    return "AV1";
  case OF_CODEC_AAC:
    return "AAC";
  case OF_CODEC_MP3:
    return "MP3";
  case OF_CODEC_OPUS:
    return "Opus";
  case OF_CODEC_OTHER:
    break;
  }
  return "unknown";
}

const char *of_container_extension(OfContainer container)
{
  switch (container) {
  case OF_CONTAINER_MP4:
    return "mp4";
  case OF_CONTAINER_WEBM:
    return "webm";
  case OF_CONTAINER_OGG:
    return "ogg";
  case OF_CONTAINER_NONE:
    break;
  }
  return NULL;
}

/* Extensions of media formats: a file name ending in one of these was meant as a media file of
 * that kind, so the extension is replaced rather than kept in front of ours ("a.mkv.webm"). */
static const char *const media_extensions[] = {
    "mp4", "m4a", "m4v", "mov", "ogg", "oga",  "opus", "webm", "mkv",  "mka", "ts", "m2ts",
    "flv", "mp3", "aac", "wav", "avi", "h264", "h265", "ivf",  "m3u8", "mpd", NULL,
};

/* The extension of the last path component (without the dot), or NULL. A leading dot is a
 * hidden file's name, not an extension. */
static const char *extension_of(const char *filepath)
{
  const char *base = strrchr(filepath, '/');
  const char *dot;
  base = base ? base + 1 : filepath;
  dot = strrchr(base, '.');
  if (dot == NULL || dot == base || dot[1] == '\0')
    return NULL;
  return dot + 1;
}

static gboolean is_media_extension(const char *ext)
{
  for (guint i = 0; media_extensions[i] != NULL; i++)
    if (g_ascii_strcasecmp(ext, media_extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

OfContainer of_container_from_extension(const char *filepath)
{
  const char *ext = extension_of(filepath);
  if (ext == NULL)
    return OF_CONTAINER_NONE;
  if (g_ascii_strcasecmp(ext, "mp4") == 0)
    return OF_CONTAINER_MP4;
  if (g_ascii_strcasecmp(ext, "webm") == 0)
    return OF_CONTAINER_WEBM;
  if (g_ascii_strcasecmp(ext, "ogg") == 0)
    return OF_CONTAINER_OGG;
  return OF_CONTAINER_NONE;
}

gboolean of_container_accepts(OfContainer container, OfCodec video, OfCodec audio)
{
  if (video == OF_CODEC_NONE && audio == OF_CODEC_NONE)
    return FALSE;
  switch (container) {
  case OF_CONTAINER_MP4:
    return (video == OF_CODEC_NONE || video == OF_CODEC_H264) &&
           (audio == OF_CODEC_NONE || audio == OF_CODEC_AAC);
  case OF_CONTAINER_WEBM:
    return (video == OF_CODEC_NONE || video == OF_CODEC_VP8 || video == OF_CODEC_VP9) &&
           (audio == OF_CODEC_NONE || audio == OF_CODEC_OPUS);
  case OF_CONTAINER_OGG:
    return video == OF_CODEC_NONE && audio == OF_CODEC_OPUS;
  case OF_CONTAINER_NONE:
    break;
  }
  return FALSE;
}

char *of_container_fix_extension(const char *filepath, OfContainer container)
{
  const char *want = of_container_extension(container);
  const char *ext = extension_of(filepath);
  if (ext != NULL && g_ascii_strcasecmp(ext, want) == 0)
    return g_strdup(filepath);
  if (ext != NULL && is_media_extension(ext))
    return g_strdup_printf("%.*s%s", (int)(ext - filepath), filepath, want);
  return g_strdup_printf("%s.%s", filepath, want);
}

/* Why nothing holds the codecs: a codec no container takes at all is named alone, since that
 * is what a transcode has to change; otherwise the pair is the problem. */
static void explain_refusal(OfCodec video, OfCodec audio, GError **error)
{
  static const OfContainer all[] = {OF_CONTAINER_MP4, OF_CONTAINER_WEBM, OF_CONTAINER_OGG};
  gboolean video_fits = video == OF_CODEC_NONE, audio_fits = audio == OF_CODEC_NONE;
  for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
    video_fits = video_fits || of_container_accepts(all[i], video, OF_CODEC_NONE);
    audio_fits = audio_fits || of_container_accepts(all[i], OF_CODEC_NONE, audio);
  }
  if (!video_fits)
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "no file container here takes %s video without transcoding "
                "(mp4: H.264, webm: VP8/VP9)",
                of_codec_name(video));
  else if (!audio_fits)
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "no file container here takes %s audio without transcoding "
                "(mp4: AAC, webm/ogg: Opus)",
                of_codec_name(audio));
  else
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_CAPS,
                "no file container here takes %s video with %s audio without transcoding "
                "(mp4: H.264 + AAC, webm: VP8/VP9 + Opus)",
                of_codec_name(video), of_codec_name(audio));
}

OfContainer of_container_choose(OfCodec video, OfCodec audio, const char *filepath,
                                char **final_path, GError **error)
{
  /* Preference when the extension does not decide: Opus alone is an .ogg (LiveKit's audio-only
   * choice), everything else prefers mp4, then webm. */
  static const OfContainer opus_only[] = {OF_CONTAINER_OGG, OF_CONTAINER_WEBM};
  static const OfContainer general[] = {OF_CONTAINER_MP4, OF_CONTAINER_WEBM, OF_CONTAINER_OGG};
  const OfContainer *order = general;
  guint n = G_N_ELEMENTS(general);
  OfContainer asked, chosen = OF_CONTAINER_NONE;

  if (video == OF_CODEC_NONE && audio == OF_CODEC_NONE) {
    g_set_error(error, SLUICE_OUTPUT_ERROR, SLUICE_OUTPUT_ERROR_OPTIONS,
                "the file output needs video-caps or audio-caps");
    return OF_CONTAINER_NONE;
  }
  if (video == OF_CODEC_NONE && audio == OF_CODEC_OPUS) {
    order = opus_only;
    n = G_N_ELEMENTS(opus_only);
  }
  asked = of_container_from_extension(filepath);
  if (asked != OF_CONTAINER_NONE && of_container_accepts(asked, video, audio)) {
    chosen = asked;
  } else {
    for (guint i = 0; i < n && chosen == OF_CONTAINER_NONE; i++)
      if (of_container_accepts(order[i], video, audio))
        chosen = order[i];
  }
  if (chosen == OF_CONTAINER_NONE) {
    explain_refusal(video, audio, error);
    return OF_CONTAINER_NONE;
  }
  *final_path = of_container_fix_extension(filepath, chosen);
  return chosen;
}
