/* The embedded single-node default: the configuration used when none is given (no --config and
 * none of the *_CONFIG_FILE / *_CONFIG_BODY variables). Unlike the per-key defaults, which keep
 * LiveKit's meaning (a port of 0 is off) so that LiveKit configs behave as before, this default is
 * meant for a person who just runs `sluice`: the health and metrics surfaces are on, and one
 * ingress records whatever is pushed to it. Its stream key is generated at start-up and printed
 * (declare the ingress in a config file for a key that stays the same). */
#include "config.h"

const char sl_embedded_default_config[] =
    "# sluice embedded single-node default\n"
    "health_port: 7888\n"
    "prometheus_port: 7889\n"
    "rtmp_port: 1935\n"
    "output_dir: ./recordings\n"
    "ingresses:\n"
    "  - name: studio\n"
    "    room_name: demo\n"
    "    participant_identity: studio\n"
    "    outputs:\n"
    "      file: { filepath: \"{room_name}-{time}.mp4\" }\n"
    "      segments: { filename_prefix: \"hls/{room_name}\", playlist_name: \"index.m3u8\", "
    "live_playlist_name: \"live.m3u8\", segment_duration: 2 }\n";
