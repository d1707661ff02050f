/* The handler process: one per session, one GStreamer pipeline.
 *
 * `sluice handler` is started by the service (session.c) with the media on fd 3, the control
 * channel on fd 4, and the session in SLUICE_HANDLER_SESSION (JSON). It loads the same plugins
 * as the service, asks the input plugin for the source, and builds:
 *
 *   source ─ video ─ h264parse ─ (held until the first keyframe) ─ tee ─┬─ leaky queue ─ output bin
 *          └ audio ─ aacparse ───────────────────────────────────── tee ─┴─ leaky queue ─ ...
 *
 * Passthrough only: nothing is decoded when the outputs take the source's codecs. The outputs
 * are built once the source knows all its pads. An output that fails is removed and the others go
 * on. When the input ends (EOS) or the service says stop, every output is finalised, the results
 * are reported and the process exits 0; a source error ends it with status 1 and the reason.
 *
 * Threading: the main loop runs on the main thread; pad-added and pad probes run on streaming
 * threads and only touch state under the handler's lock or hand work to the main loop.
 */
#ifndef SL_HANDLER_H
#define SL_HANDLER_H

/* The `sluice handler` subcommand. Returns the process exit status. */
int sl_handler_main(void);

#endif /* SL_HANDLER_H */
