/*
 * rtmp/streamkey.h - derive the stream key from what an RTMP publisher sends.
 *
 * Publishers split the URL differently: ffmpeg and OBS put the first path segment in the connect
 * command's "app" and the rest in the publish name; others put everything in "app" and publish
 * an empty name; some append "?token=..." query strings to either. The key is the last path
 * component of the publish name with any query string removed, so "rtmp://host/live/KEY",
 * "rtmp://host/live" + key "KEY" and "KEY?token=..." all give "KEY", and the app name is
 * otherwise ignored (as LiveKit's ingress does). Only when the publish name yields nothing does
 * the app's last path component count, so app "live/KEY" with an empty name gives "KEY" too.
 *
 * Ownership: the result is (transfer full), g_free() it; inputs are (transfer none).
 * Thread-safety: pure function, callable from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Returns the stream key, or NULL when there is none. Either argument may be NULL. */
gchar *rtmp_stream_key_extract(const gchar *app, const gchar *publish_name);

G_END_DECLS
